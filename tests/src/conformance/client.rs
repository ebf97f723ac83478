//! The raw server side for testing our clients: [`RawListener`] and the echo loop a client under test runs ([`client_echo`]).

#[allow(clippy::wildcard_imports)]
use super::*;

/// A raw WebSocket server: a loopback listener that accepts one of our clients at a time and
/// completes (or deliberately botches) the opening handshake by hand.
#[derive(Debug)]
pub struct RawListener {
    listener: TcpListener,
    url: String,
}

impl RawListener {
    /// Listens on a free loopback port.
    ///
    /// # Errors
    ///
    /// Binding failed.
    pub fn bind() -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        Ok(Self {
            listener,
            url: format!("ws://{addr}/"),
        })
    }

    /// The `ws://` URL clients connect to.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Accepts the next TCP connection, waiting [`READ_LIMIT`] at most.
    ///
    /// # Errors
    ///
    /// Nobody connected in time, or accepting failed.
    pub fn accept_tcp(&self) -> Result<TcpStream, String> {
        let deadline = Instant::now() + READ_LIMIT;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                    let _ = stream.set_nodelay(true);
                    stream
                        .set_write_timeout(Some(READ_LIMIT))
                        .map_err(|e| e.to_string())?;
                    return Ok(stream);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err("no client connected within 10 s".to_owned());
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(format!("accept: {e}")),
            }
        }
    }

    /// Accepts a client and reads its upgrade request head; returns the stream, the request
    /// and the `Sec-WebSocket-Accept` value its key calls for.
    ///
    /// # Errors
    ///
    /// No client, no complete request, or no `Sec-WebSocket-Key`.
    pub fn accept_request(&self) -> Result<(TcpStream, Head, String), String> {
        let mut stream = self.accept_tcp()?;
        let (head, _) = read_head(&mut stream, Instant::now() + READ_LIMIT)?;
        let key = head
            .header("sec-websocket-key")
            .ok_or_else(|| format!("client request without Sec-WebSocket-Key: {head:?}"))?;
        let accept = accept_key(key.as_bytes());
        Ok((stream, head, accept))
    }

    /// Accepts a client and completes the handshake with a plain `101`: a raw server.
    ///
    /// # Errors
    ///
    /// As [`accept_request`](Self::accept_request), or the response could not be written.
    pub fn accept(&self) -> Result<RawPeer, String> {
        let (mut stream, _, accept) = self.accept_request()?;
        let response = switching_protocols(&accept, "");
        stream
            .write_all(response.as_bytes())
            .map_err(|e| format!("writing the 101: {e}"))?;
        Ok(RawPeer::over(stream, Role::Server, Vec::new()))
    }
}

/// A `101` response with `accept` and any `extra` header lines (each ending in CRLF).
#[must_use]
pub fn switching_protocols(accept: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
}

/// What one of our clients did while facing a raw server.
#[derive(Clone, Debug, Default)]
pub struct ClientLog {
    /// The connection error, if the handshake failed.
    pub connect_error: Option<String>,
    /// How many messages it echoed.
    pub echoed: usize,
    /// The error that ended it, if any.
    pub error: Option<String>,
}

/// The code the echo peers close with when asked by [`CLOSE_ME`].
pub(crate) fn close_me_code() -> CloseCode {
    CloseCode::new(SERVER_CLOSE_CODE).unwrap_or(CloseCode::NORMAL)
}

/// Connects `kind` to `url` and echoes every message until the connection ends — the client
/// counterpart of the echo servers (what the Autobahn client testee does). Like them, it
/// answers the text [`CLOSE_ME`] by closing with [`SERVER_CLOSE_CODE`] "bye".
#[must_use]
pub fn client_echo(kind: ClientKind, url: &str) -> ClientLog {
    let mut log = ClientLog::default();
    let mut ws = match kind.connect(url) {
        Ok(ws) => ws,
        Err(error) => {
            log.connect_error = Some(error);
            return log;
        }
    };
    loop {
        match ws.next_event() {
            Some(Ok(Event::Message(Message::Text(text)))) if text.as_str() == CLOSE_ME => {
                if let Err(error) = ws.close(close_me_code(), "bye") {
                    log.error = Some(error);
                }
                break;
            }
            Some(Ok(Event::Message(message))) => {
                if let Err(error) = ws.send(message) {
                    log.error = Some(error);
                    break;
                }
                log.echoed += 1;
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                log.error = Some(error);
                break;
            }
            None => break,
        }
    }
    log
}
