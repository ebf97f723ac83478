//! Opening a client connection: [`connect`] and [`connect_with`] over TCP; [`client_over`]
//! runs the handshake on a stream you connected yourself (TLS, a proxy tunnel).
//!
//! One deadline, the [`ClientOpening`]'s, covers the whole opening (TCP connect to each
//! resolved address, the proxy tunnel, TLS, writing the request, reading the response): it
//! bounds each connect and is mapped onto the socket's read timeout. Only DNS resolution is
//! outside it, as `std` offers no bounded lookup.

use std::io::{self, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::Instant as StdInstant;

use wsproto_setup::{ClientConfig, ClientOpening, Deadline, Error, Exchange, Result};

use crate::TcpWebSocket;
use crate::maybe_tls;
use crate::transport::{BlockingTransport, MIN_READ_TIMEOUT, is_retry};
use crate::websocket::WebSocket;

/// Bytes read per call while waiting for the handshake response.
const READ_CHUNK: usize = 4096;

/// Connects to a `ws://` URL with default options.
///
/// ```no_run
/// # fn run() -> wsproto_blocking::Result<()> {
/// let mut ws = wsproto_blocking::connect("ws://127.0.0.1:9001/")?;
/// ws.send_text("hello")?;
/// for message in &mut ws {
///     println!("{:?}", message?);
/// }
/// # Ok(()) }
/// ```
pub fn connect(url: &str) -> Result<TcpWebSocket> {
    connect_with(url, ClientConfig::default())
}

/// Connects to a `ws://` or `wss://` URL with `options`; the handshake timeout covers the TCP
/// connect, the proxy tunnel ([`ClientConfig::proxy`]), TLS and the handshake together.
///
/// Errors tell the stages apart: [`Error::Connect`] for DNS and TCP, [`Error::Proxy`] for
/// the proxy hop, `Error::Tls` for the TLS
/// handshake (untrusted, expired or misnamed certificate...), [`Error::Handshake`] for a
/// refusal (with [`Error::http_status`]), a malformed answer or a timeout
/// ([`HandshakeError::Timeout`](crate::HandshakeError::Timeout)).
pub fn connect_with(url: &str, options: ClientConfig) -> Result<TcpWebSocket> {
    let opening = ClientOpening::new(url, options)?;
    // Fails before connecting when `wss://` cannot be served (no `tls` feature, a bad name).
    opening.tls()?;
    let resolved = match opening.tunnel_resolve() {
        Some((host, port)) => Some(resolve(&opening, host, port)?),
        None => None,
    };
    let mut tcp = connect_tcp(&opening)?;
    // Small messages should not wait for Nagle's algorithm: the engine batches writes itself.
    tcp.set_nodelay(true).map_err(Error::Connect)?;
    if let Some(mut tunnel) = opening.tunnel(resolved)? {
        exchange(&mut tcp, &mut tunnel, opening.deadline())?;
    }
    let stream = maybe_tls::client_side(tcp, &opening)?;
    open(stream, opening)
}

/// The first address `host` resolves to (for a `socks5://` proxy, sent an address).
fn resolve(opening: &ClientOpening, host: &str, port: u16) -> Result<IpAddr> {
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|error| opening.resolve_error(error))?;
    addrs
        .next()
        .map(|addr| addr.ip())
        .ok_or_else(|| opening.resolve_error(io::ErrorKind::NotFound.into()))
}

/// Runs the client handshake for `url` over a stream you connected yourself, within the
/// handshake timeout. The URL's scheme only decides the default port in `Host`.
pub fn client_over<S: BlockingTransport>(
    stream: S,
    url: &str,
    options: ClientConfig,
) -> Result<WebSocket<S>> {
    open(stream, ClientOpening::new(url, options)?)
}

/// Tries each address of the opening's [`tcp_target`](ClientOpening::tcp_target) until one
/// accepts, within its deadline.
fn connect_tcp(opening: &ClientOpening) -> Result<TcpStream> {
    let (host, port) = opening.tcp_target();
    let deadline = opening.deadline().at();
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|error| opening.connect_error(error))?;
    let mut last_error = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(StdInstant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    if StdInstant::now() >= deadline {
        return Err(opening.connect_timeout_error());
    }
    Err(opening.connect_error(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the host resolved to no address")
    })))
}

/// Drives `opening` over `stream` until the response is complete, then starts the
/// connection.
fn open<S: BlockingTransport>(mut stream: S, mut opening: ClientOpening) -> Result<WebSocket<S>> {
    let deadline = opening.deadline();
    exchange(&mut stream, &mut opening, deadline)?;
    let (conn, info, origin) = opening.finish()?;
    Ok(WebSocket::from_parts(stream, conn, origin, info))
}

/// Drives one step of an opening (a proxy tunnel, the HTTP upgrade): writes what it says,
/// reads, feeds, until it is complete or `deadline` (mapped onto the socket's read timeout)
/// passes.
pub fn exchange<S: BlockingTransport, E: Exchange>(
    stream: &mut S,
    step: &mut E,
    deadline: Deadline,
) -> Result<()> {
    let mut buf = vec![0; READ_CHUNK];
    loop {
        let pending = step.transmit().len();
        if pending > 0 {
            if let Err(error) = write_all(stream, step.transmit()) {
                return Err(match error {
                    Error::Io(error) => step.io_error(error),
                    other => other,
                });
            }
            step.advance_transmit(pending);
        }
        let Ok(wait) = deadline.time_left(StdInstant::now()) else {
            return Err(step.timeout_error());
        };
        stream
            .set_read_timeout(Some(wait.max(MIN_READ_TIMEOUT)))
            .map_err(|error| step.io_error(error))?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(step.handle_eof()),
            Ok(n) => {
                if step.handle_input(buf.get(..n).unwrap_or_default())? {
                    return Ok(());
                }
            }
            Err(error) if is_retry(&error) => {}
            Err(error) => return Err(step.io_error(error)),
        }
    }
}

/// Writes all of `bytes` (a handshake request or response) and flushes.
pub(crate) fn write_all(stream: &mut impl Write, bytes: &[u8]) -> Result<()> {
    stream.write_all(bytes).map_err(Error::Io)?;
    stream.flush().map_err(Error::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;
    use wsproto_core::handshake::HandshakeError;

    #[test]
    fn connect_failures_are_told_apart_by_stage() {
        let closed_port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let refused = connect(&format!("ws://127.0.0.1:{closed_port}/")).unwrap_err();
        assert!(matches!(refused, Error::Connect(_)), "{refused}");
        // wss:// is served now: a closed port is refused like ws://.
        assert!(matches!(
            connect("wss://127.0.0.1:1/").unwrap_err(),
            Error::Connect(_)
        ));
        assert!(matches!(
            connect("http://x/").unwrap_err(),
            Error::Handshake(HandshakeError::InvalidUrl(_))
        ));
    }

    #[test]
    fn a_server_that_never_answers_times_the_handshake_out() {
        // The kernel completes the TCP handshake from the backlog; nobody ever answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let options = ClientConfig::default().handshake_timeout(Duration::from_millis(200));
        let started = StdInstant::now();
        let error = connect_with(&url, options).unwrap_err();
        assert!(error.is_timeout(), "{error}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(190), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
}
