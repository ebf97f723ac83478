//! [`accept_stream`]: the server side of the opening handshake on a blocking stream, within
//! the configured handshake timeout.
//!
//! This only moves bytes: the [`ServerOpening`] sequence, shared with the async adapters,
//! decides everything. Its deadline is mapped onto the stream's read timeout, so a silent or
//! trickling client is dropped when it passes, however its bytes are spread out.

use std::net::TcpStream;
use std::time::Instant as StdInstant;

use wsproto_setup::{Error, Result, ServerConfig, ServerOpening};

use crate::client::write_all;
use crate::maybe_tls::{self, MaybeTls};
use crate::transport::{BlockingTransport, MIN_READ_TIMEOUT, is_retry};
use crate::websocket::WebSocket;

/// Bytes read per call while waiting for the request head.
const READ_CHUNK: usize = 4096;

/// Runs the server side of the opening handshake on a stream you accepted yourself, within
/// the configured handshake timeout, and writes the `101` response.
///
/// On a refused or invalid request the HTTP response is written, the sending side shut down
/// and the error returned: [`Error::Handshake`] (e.g. a timeout, or
/// [`HandshakeError::NotWebSocket`](crate::HandshakeError::NotWebSocket) after serving a [`ServerConfig::plain_http`] page) or
/// [`Error::Refused`] with the status the request check chose.
pub fn accept_stream<S: BlockingTransport>(
    stream: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>> {
    open(stream, ServerOpening::new(config))
}

/// The opening of a TCP connection a [`Server`](crate::Server) accepted: TLS first when the
/// server has a certificate, then the upgrade, both within the one handshake deadline.
/// `claim` takes the connection out of eviction's reach once its request has arrived
/// ([`ServerOpening::claimed_by`]).
pub(crate) fn accept_tcp(
    tcp: TcpStream,
    config: &ServerConfig,
    claim: impl FnOnce() -> bool + Send + Sync,
) -> Result<WebSocket<MaybeTls<TcpStream>>> {
    let opening = ServerOpening::new(config).claimed_by(claim);
    let stream = maybe_tls::server_side(tcp, config, &opening.deadline())?;
    open(stream, opening)
}

/// Drives `opening` over `stream`: reads until the request is accepted or refused, or the
/// deadline (mapped onto the read timeout) passes.
fn open<S: BlockingTransport>(
    mut stream: S,
    mut opening: ServerOpening<'_>,
) -> Result<WebSocket<S>> {
    let mut buf = vec![0; READ_CHUNK];
    loop {
        let wait = opening.deadline().time_left(StdInstant::now())?;
        stream
            .set_read_timeout(Some(wait.max(MIN_READ_TIMEOUT)))
            .map_err(Error::Io)?;
        let n = match stream.read(&mut buf) {
            Ok(0) => return Err(opening.handle_eof()),
            Ok(n) => n,
            Err(error) if is_retry(&error) => continue,
            Err(error) => return Err(Error::Io(error)),
        };
        match opening.handle_input(&buf[..n]) {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => {
                finish_refusal(&mut stream, opening.transmit());
                return Err(error);
            }
        }
    }
    let (conn, info, origin) = opening.finish()?;
    // The 101 is queued in the connection ahead of any frame; write it now so the client can
    // start even if the application only sends later.
    let mut ws = WebSocket::from_parts(stream, conn, origin, info);
    ws.flush()?;
    Ok(ws)
}

/// Writes the error response and ends our sending side; failures are moot here.
fn finish_refusal<S: BlockingTransport>(stream: &mut S, response: &[u8]) {
    if write_all(stream, response).is_ok() {
        let _ = stream.shutdown_write();
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use wsproto_core::handshake::HandshakeError;
    use wsproto_setup::HttpResponse;

    use super::*;

    /// Accepts one connection with `config` on a thread and returns what the client read
    /// after writing `request`, and the server's result.
    fn exchange(config: ServerConfig, request: &[u8]) -> (String, Result<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            accept_stream(stream, &config).map(drop)
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client.write_all(request).unwrap();
        let mut response = String::new();
        let _ = client.read_to_string(&mut response);
        (response, server.join().unwrap())
    }

    #[test]
    fn a_plain_get_is_served_the_configured_page() {
        let config = ServerConfig::default()
            .plain_http(|path| (path == "/").then(|| HttpResponse::new(200).body("<h1>hi</h1>")));
        let (page, result) = exchange(config, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.ends_with("<h1>hi</h1>"), "{page}");
        assert!(matches!(
            result,
            Err(Error::Handshake(HandshakeError::NotWebSocket { .. }))
        ));
    }

    #[test]
    fn an_invalid_request_gets_its_error_status() {
        let (response, result) = exchange(
            ServerConfig::default(),
            b"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(response.starts_with("HTTP/1.1 405 "), "{response}");
        assert!(matches!(result, Err(Error::Handshake(_))));
    }
}
