//! The proxy targets: `http_tunnel` and `socks5_tunnel` feed a proxy's answers, arbitrary
//! bytes cut into chunks, to the core's [`Tunnel`] and check its contract: an open tunnel
//! consumed exactly the answers and nothing after them; a refusal says what the bytes said
//! within its bounds; errors are sticky; what it asks to write stays small; nothing panics.

use wsproto_core::Limits;
use wsproto_core::proxy::{MAX_REFUSAL_BODY, ProxyError, ProxyUrl, Target, Tunnel};

use crate::input::{Chunks, Input};

/// The longest message a tunnel may ask to write: a SOCKS5 request with a 255-byte name, or
/// an HTTP `CONNECT` with the longest target and credentials this target builds.
const MAX_MESSAGE: usize = 1024;

/// `http_tunnel`: `[cfg, seed, bytes...]`: the bytes, cut into chunks (`cfg` bits 0-1), are an
/// HTTP proxy's answer to `CONNECT`. `cfg` bit 2 adds credentials, bit 3 small header limits,
/// bits 4-5 pick the target (name, IPv4, IPv6), bit 6 writes the request only partly.
pub fn http_tunnel(data: &[u8]) {
    run("http", data);
}

/// `socks5_tunnel`: `[cfg, seed, bytes...]`: the bytes, cut into chunks (`cfg` bits 0-1), are a
/// SOCKS5 proxy's answers. `cfg` bit 2 offers credentials, bits 4-5 pick the target (name,
/// IPv4, IPv6), bit 6 leaves a message partly written before answers arrive.
pub fn socks5_tunnel(data: &[u8]) {
    run("socks5h", data);
}

fn run(scheme: &str, data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = input.byte();
    let seed = input.byte();
    let login = if cfg & 4 != 0 { "user:p%40ss@" } else { "" };
    let proxy = ProxyUrl::parse(&format!("{scheme}://{login}proxy:1080")).expect("valid url");
    let limits = if cfg & 8 != 0 {
        Limits::default()
            .max_header_bytes(64 + usize::from(seed) * 4)
            .max_headers(1 + usize::from(seed % 16))
    } else {
        Limits::default()
    };
    let target = match (cfg >> 4) & 3 {
        1 => Target::Ip("192.0.2.7".parse().expect("ipv4")),
        2 => Target::Ip("2001:db8::7".parse().expect("ipv6")),
        _ => Target::Name("ws.example.com"),
    };
    let mut tunnel = Tunnel::new(&proxy, target, 443, &limits).expect("target fits");
    let partial = cfg & 0x40 != 0;
    let mut fed = Vec::new();
    for chunk in Chunks::new(input.rest(), seed, cfg) {
        write(&mut tunnel, partial);
        fed.extend_from_slice(chunk);
        match tunnel.handle_input(chunk) {
            Ok(false) => check_pending(scheme, &fed, &limits),
            Ok(true) => return check_open(scheme, &mut tunnel, &fed),
            Err(error) => return check_failed(&mut tunnel, &error, &fed),
        }
    }
    let error = tunnel.handle_eof();
    match &error {
        ProxyError::Closed => {}
        ProxyError::Refused(_) => assert_eq!(scheme, "http", "{error:?}"),
        other => panic!("end of stream reported as {other:?}"),
    }
    // Asking again gives the same answer (the end of stream is not input: no stickiness).
    check_error(&error, &fed);
    assert_eq!(tunnel.handle_eof(), error);
}

/// Writes what the tunnel asks for: all of it, or (when `partial`) all but one byte.
fn write(tunnel: &mut Tunnel, partial: bool) {
    let pending = tunnel.transmit().len();
    assert!(pending <= MAX_MESSAGE, "asks to write {pending} bytes");
    let n = if partial {
        pending.saturating_sub(1)
    } else {
        pending
    };
    tunnel.advance_transmit(n);
}

/// While opening, the machine holds at most what its bounds allow.
fn check_pending(scheme: &str, fed: &[u8], limits: &Limits) {
    if scheme != "http" {
        // Method (2) + auth status (2) + a reply of at most 262 bytes.
        assert!(fed.len() <= 2 + 2 + 262, "{} bytes accepted", fed.len());
    } else if !fed.contains(&b'\n') {
        // No line yet: no more than one head's allowance is held (empty lines before the
        // status line are skipped, not held: RFC 7230 §3.5).
        let skipped = fed
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let held = fed.len() - skipped;
        assert!(
            held < limits.get_max_header_bytes(),
            "{held} bytes of head held"
        );
    }
}

/// An open tunnel consumed the answers exactly; it stays open and refuses data after them.
fn check_open(scheme: &str, tunnel: &mut Tunnel, fed: &[u8]) {
    if scheme == "http" {
        assert!(fed.ends_with(b"\n"), "opened before the end of a head");
        assert!(fed.windows(5).any(|w| w.eq_ignore_ascii_case(b"HTTP/")));
    } else {
        assert_eq!(fed.first(), Some(&5), "opened without a socks5 answer");
        assert!(fed.len() >= 2 + 7 && fed.len() <= 2 + 2 + 262);
    }
    assert!(
        tunnel.transmit().is_empty(),
        "open with bytes still to write"
    );
    assert_eq!(tunnel.handle_input(b""), Ok(true));
    assert_eq!(tunnel.handle_input(b"x"), Err(ProxyError::UnexpectedData));
    check_failed(tunnel, &ProxyError::UnexpectedData, fed);
}

/// A failed tunnel repeats its error, at end of stream too.
fn check_failed(tunnel: &mut Tunnel, error: &ProxyError, fed: &[u8]) {
    check_error(error, fed);
    assert_eq!(tunnel.handle_input(b"more").as_ref(), Err(error));
    assert_eq!(&tunnel.handle_eof(), error);
}

/// An error tells what the proxy sent, within bounds, and never the credentials.
fn check_error(error: &ProxyError, fed: &[u8]) {
    match error {
        ProxyError::Refused(refusal) => {
            assert!(!(100..300).contains(&refusal.status()), "{refusal:?}");
            assert!(refusal.body().len() <= MAX_REFUSAL_BODY);
            let body: &[u8] = refusal.body();
            assert!(
                body.is_empty() || fed.windows(body.len()).any(|w| w == body),
                "the body is not what the proxy sent"
            );
        }
        ProxyError::SocksRefused(reply) => assert_ne!(reply.code(), 0),
        ProxyError::InvalidUrl(_) | ProxyError::TooLong(_) => {
            panic!("a caller error from proxy input: {error:?}")
        }
        _ => {}
    }
    assert!(
        !error.to_string().contains("p@ss"),
        "credentials in {error}"
    );
}
