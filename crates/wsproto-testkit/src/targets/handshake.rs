//! The handshake targets: `server_handshake` (a client's request, arbitrary bytes, read by
//! [`ServerHandshake`]) and `client_handshake` (a server's response read by
//! [`ClientHandshake`]); after a 101 the rest of the stream goes to the new connection inside a
//! [`Checked`].

use std::time::Duration;

use wsproto_core::handshake::{
    Accept, ClientHandshake, ClientRequest, HandshakeError, ServerHandshake, accept_key,
};
use wsproto_core::{Config, Connection, Limits};

use crate::START;
use crate::checked::Checked;
use crate::input::{Chunks, FuzzRng, Input, SampleNonce};

/// `Sec-WebSocket-Accept` for the RFC 6455 §1.3 sample nonce.
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Whether `s` is an HTTP token (RFC 7230 §3.2.6), as a subprotocol name must be.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
}

/// Bytes of `fed` that count against `max_header_bytes`: empty lines before the start line
/// are skipped (RFC 7230 §3.5).
fn head_bytes(fed: &[u8]) -> usize {
    fed.len()
        - fed
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count()
}

/// A partial head never exceeds the limit.
fn check_partial_head(fed: &[u8], limits: &Limits) {
    let held = head_bytes(fed);
    assert!(
        held == 0 || held < limits.get_max_header_bytes(),
        "{held} bytes of head held"
    );
}

/// `leftover` is what followed a complete head of at most `max_header_bytes` in `fed`.
fn check_leftover(fed: &[u8], leftover: &[u8], limits: &Limits) {
    assert!(
        fed.ends_with(leftover),
        "leftover is not what followed the head"
    );
    let head = &fed[..fed.len() - leftover.len()];
    assert!(
        head.ends_with(b"\n"),
        "head does not end with an empty line"
    );
    assert!(head_bytes(head) <= limits.get_max_header_bytes());
}

/// Feeds the rest of a stream to a connection that took over from a handshake, then ends it.
fn continue_connection(mut side: Checked, chunks: Chunks<'_>) {
    for chunk in chunks {
        side.input(chunk, START, 2);
        side.transmit(usize::MAX, true);
    }
    side.eof(START);
    side.finish();
}

/// Handshake setup from `cfg`: bit 0 small limits (from `seed`), bit 1 a 500 ms timeout.
fn handshake_setup(cfg: u8, seed: u8) -> (Limits, Option<Duration>) {
    let mut limits = Limits::default();
    if cfg & 1 != 0 {
        limits = limits
            .max_header_bytes(64 + usize::from(seed) * 4)
            .max_headers(1 + usize::from(seed % 16));
    }
    (limits, (cfg & 2 != 0).then_some(Duration::from_millis(500)))
}

/// The sticky-error contract of a failed server handshake and its queued answer.
fn check_server_error(handshake: &mut ServerHandshake, error: &HandshakeError) {
    let queued = String::from_utf8_lossy(handshake.transmit()).into_owned();
    match error.http_status() {
        Some(status) if *error != HandshakeError::Timeout => {
            assert!(
                queued.starts_with(&format!("HTTP/1.1 {status} ")),
                "{error:?} answered with {queued:?}"
            );
            assert!(queued.contains("\r\n\r\n"));
        }
        _ => assert!(queued.is_empty(), "{error:?} queued {queued:?}"),
    }
    assert_eq!(handshake.handle_input(b"GET").as_ref(), Err(error));
    let later = START + Duration::from_secs(3600);
    assert_eq!(handshake.handle_timeout(later).as_ref(), Err(error));
    assert_eq!(handshake.poll_timeout(), None);
    if matches!(error, HandshakeError::NotWebSocket { .. }) {
        let page = handshake.respond(200, &[("Content-Type", "text/html")], b"<p>hi</p>");
        assert_eq!(page, Ok(()));
        assert!(handshake.transmit().starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
}

/// `server_handshake`: `[cfg, seed, bytes...]`: the bytes, cut into chunks (`cfg` bits 2-3),
/// are a client's request; a valid one is answered as `cfg` bits 4-5 say (accept, accept into
/// a connection, reject, or accept after more bytes arrived) and the rest of the stream goes
/// to the connection. `cfg` bit 0 sets small limits (from `seed`), bit 1 a 500 ms timeout.
pub fn server_handshake(data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = input.byte();
    let seed = input.byte();
    let (limits, timeout) = handshake_setup(cfg, seed);
    let mut handshake = ServerHandshake::new(&limits, START, timeout);
    assert_eq!(handshake.poll_timeout(), timeout.map(|t| START + t));
    let mut chunks = Chunks::new(input.rest(), seed, cfg >> 2);
    let mut fed = Vec::new();
    let request = loop {
        let Some(chunk) = chunks.next() else {
            if let Some(t) = timeout {
                let early = START + t.saturating_sub(Duration::from_millis(1));
                assert_eq!(handshake.handle_timeout(early), Ok(()));
                let error = handshake.handle_timeout(START + t).unwrap_err();
                assert_eq!(error, HandshakeError::Timeout);
                check_server_error(&mut handshake, &error);
            }
            return;
        };
        fed.extend_from_slice(chunk);
        match handshake.handle_input(chunk) {
            Ok(None) => check_partial_head(&fed, &limits),
            Ok(Some(request)) => break request,
            Err(error) => return check_server_error(&mut handshake, &error),
        }
    };
    assert_eq!(request.method(), "GET");
    assert_eq!(request.key().len(), 24, "key is not 16 base64 bytes");
    assert!(request.subprotocols().all(|p| is_token(p.as_bytes())));
    assert_eq!(handshake.poll_timeout(), None);
    let mut accept = Accept::new().negotiate_subprotocol(&request, &["chat", "superchat"]);
    if let Some(extension) = request.extensions().first() {
        accept = accept.extension(extension.name());
    }
    let chosen = accept.selected_subprotocol().map(str::to_owned);
    let answer = (cfg >> 4) & 3;
    if answer == 3 {
        // More bytes arrive before the application answers; they are kept for the connection,
        // up to `max_header_bytes` of them (a client waits for the response).
        for chunk in chunks.by_ref().take(usize::from(seed % 4)) {
            fed.extend_from_slice(chunk);
            match handshake.handle_input(chunk) {
                Ok(None) => {}
                Err(error) => {
                    assert_eq!(error, HandshakeError::EarlyData);
                    assert!(
                        fed.len() > limits.get_max_header_bytes(),
                        "refused too early"
                    );
                    return check_server_error(&mut handshake, &error);
                }
                Ok(Some(_)) => panic!("a second request"),
            }
        }
    }
    let config = Config::default();
    let side = match answer {
        1 => {
            let mut conn = handshake
                .accept_into_connection(accept, config, limits.clone(), START)
                .expect("accepting what was offered");
            let queued = conn.transmit().to_vec();
            let end = queued.windows(4).position(|w| w == b"\r\n\r\n");
            let head_len = end.expect("101 response queued first") + 4;
            conn.advance_transmit(head_len);
            assert!(queued.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            Checked::new(conn, fed.len())
        }
        2 => {
            let status = 400 + u16::from(seed % 100);
            assert_eq!(handshake.reject(status, b"no"), Ok(()));
            let queued = String::from_utf8_lossy(handshake.transmit()).into_owned();
            assert!(
                queued.starts_with(&format!("HTTP/1.1 {status} ")),
                "{queued:?}"
            );
            assert!(queued.ends_with("\r\n\r\nno"));
            assert_eq!(handshake.handle_input(b"more"), Ok(None));
            assert!(handshake.accept(Accept::new()).is_err());
            return;
        }
        _ => {
            let leftover = handshake
                .accept(accept)
                .expect("accepting what was offered");
            check_leftover(&fed, &leftover, &limits);
            let response = String::from_utf8_lossy(handshake.transmit()).into_owned();
            assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
            assert_eq!(response.find("\r\n\r\n"), Some(response.len() - 4));
            let expected = format!(
                "\r\nSec-WebSocket-Accept: {}\r\n",
                accept_key(request.key().as_bytes())
            );
            assert!(response.contains(&expected), "{response:?}");
            if let Some(protocol) = &chosen {
                assert!(response.contains(&format!("\r\nSec-WebSocket-Protocol: {protocol}\r\n")));
            }
            assert!(handshake.handle_input(b"x").is_err(), "input after accept");
            let mut side = Checked::new(Connection::server(config, limits, START), 0);
            side.input(&leftover, START, 0);
            side
        }
    };
    continue_connection(side, chunks);
}

/// `client_handshake`: `[cfg, seed, bytes...]`: a client built from
/// `ws://example.com/chat` (subprotocols `chat`, `superchat`; offering permessage-deflate; key
/// from the RFC 6455 sample nonce) reads the bytes, cut into chunks (`cfg` bits 2-3), as the
/// server's response; after a 101 the rest goes to the connection. `cfg` bit 0 sets small
/// limits (from `seed`), bit 1 a 500 ms timeout.
pub fn client_handshake(data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = input.byte();
    let seed = input.byte();
    let (limits, timeout) = handshake_setup(cfg, seed);
    let request = ClientRequest::from_url("ws://example.com/chat")
        .expect("fixed url")
        .subprotocol("chat")
        .subprotocol("superchat")
        .extension("permessage-deflate; client_max_window_bits");
    let mut handshake = ClientHandshake::new(request, &limits, &mut SampleNonce, START, timeout)
        .expect("fixed request");
    let head = String::from_utf8_lossy(handshake.transmit()).into_owned();
    assert!(head.starts_with("GET /chat HTTP/1.1\r\n"), "{head:?}");
    assert!(head.contains("\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    assert!(head.ends_with("\r\n\r\n"));
    handshake.advance_transmit(usize::from(seed));
    handshake.advance_transmit(usize::MAX);
    assert!(!handshake.wants_write());
    let mut chunks = Chunks::new(input.rest(), seed, cfg >> 2);
    let mut fed = Vec::new();
    let accepted = loop {
        let Some(chunk) = chunks.next() else {
            if let Some(t) = timeout {
                assert_eq!(handshake.poll_timeout(), Some(START + t));
                assert_eq!(
                    handshake.handle_timeout(START + t),
                    Err(HandshakeError::Timeout)
                );
                assert_eq!(handshake.handle_input(b"x"), Err(HandshakeError::Timeout));
            }
            return;
        };
        fed.extend_from_slice(chunk);
        match handshake.handle_input(chunk) {
            Ok(None) => check_partial_head(&fed, &limits),
            Ok(Some(accepted)) => break accepted,
            Err(error) => {
                if let HandshakeError::Rejected(rejection) = &error {
                    assert_ne!(rejection.status(), 101);
                    assert!(
                        fed.ends_with(rejection.body()),
                        "rejection body is not the rest"
                    );
                }
                assert_eq!(handshake.handle_input(b"HTTP").as_ref(), Err(&error));
                assert_eq!(handshake.handle_timeout(START).as_ref(), Err(&error));
                assert_eq!(handshake.poll_timeout(), None);
                return;
            }
        }
    };
    assert_eq!(accepted.status(), 101);
    assert!(matches!(
        accepted.subprotocol(),
        None | Some("chat" | "superchat")
    ));
    for extension in accepted.extensions() {
        assert!(extension.name().eq_ignore_ascii_case("permessage-deflate"));
    }
    let accept = accepted
        .header("sec-websocket-accept")
        .map(<[u8]>::trim_ascii);
    assert_eq!(accept, Some(RFC_ACCEPT.as_bytes()));
    check_leftover(&fed, accepted.leftover(), &limits);
    assert_eq!(handshake.poll_timeout(), None);
    assert!(matches!(
        handshake.handle_input(b"x"),
        Err(HandshakeError::InvalidState(_))
    ));
    let received = accepted.leftover().len();
    let rng = Box::new(FuzzRng::new(u64::from(seed)));
    let conn = accepted.into_connection(Config::default(), limits, rng, START);
    continue_connection(Checked::new(conn, received), chunks);
}
