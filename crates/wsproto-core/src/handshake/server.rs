//! Server side of the opening handshake (RFC 6455 §4.2): parse and validate the client's
//! upgrade request, then write `101 Switching Protocols` or an HTTP error response.
//!
//! Invariants:
//! - a request that fails validation is answered automatically: the error is returned *and* a
//!   response with the matching status ([`HandshakeError::http_status`]), `Content-Length` and
//!   `Connection: close` is already queued in [`ServerHandshake::transmit`];
//! - a slow client that never completes its head within the deadline gets nothing queued, so the
//!   caller simply drops it;
//! - the first error is sticky; after a rejection further input is ignored;
//! - bytes that follow the request head are handed back by [`ServerHandshake::accept`], never
//!   dropped.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::mem;
use core::time::Duration;

use bytes::Bytes;

use super::http::{
    HeadReader, is_valid_header_name, is_valid_header_value, owned_headers, reason_phrase,
    write_header,
};
use super::server_request::{RawRequest, validate};
use super::{Accept, HandshakeError, Request, accept_key};
use crate::config::Limits;
use crate::time::Instant;

/// Headers an error response writes itself (lowercase).
const REJECT_GENERATED: [&str; 3] = ["connection", "content-length", "transfer-encoding"];

/// Where the server handshake stands.
#[derive(Debug)]
enum State {
    /// Reading the request head.
    Reading,
    /// A valid request was returned; waiting for `accept` or `reject`.
    Received {
        accept: String,
        offered_protocols: Vec<String>,
        offered_extensions: Vec<String>,
        leftover: Bytes,
    },
    /// The 101 response is queued; the connection owns all further bytes.
    Accepted,
    /// An application rejection is queued; input is ignored.
    Rejected,
    /// The request was invalid or timed out; the error is returned for every later input.
    Failed(HandshakeError),
}

/// Server side of the opening handshake: parses the request, writes the response (RFC 6455
/// §4.2).
///
/// Calling contract: feed received bytes to [`handle_input`](Self::handle_input) until it
/// returns a [`Request`] or an error, and after every call drain
/// [`transmit`](Self::transmit)/[`advance_transmit`](Self::advance_transmit). On a request,
/// answer with [`accept`](Self::accept) (then hand the returned leftover bytes to the
/// connection) or [`reject`](Self::reject); on an error, write out the queued error response and
/// close. Arm a timer from [`poll_timeout`](Self::poll_timeout) and call
/// [`handle_timeout`](Self::handle_timeout) when it fires.
#[derive(Debug)]
pub struct ServerHandshake {
    reader: HeadReader,
    out: Vec<u8>,
    written: usize,
    deadline: Option<Instant>,
    state: State,
}

impl ServerHandshake {
    /// A server handshake waiting for a request head, which must be complete before
    /// `now + timeout` (never, if `None`: a client that stays silent then holds its socket
    /// for ever). Pass `Some(`[`DEFAULT_HANDSHAKE_TIMEOUT`](super::DEFAULT_HANDSHAKE_TIMEOUT)`)`
    /// unless you have a reason to choose another.
    #[must_use]
    pub fn new(limits: &Limits, now: Instant, timeout: Option<Duration>) -> Self {
        Self {
            reader: HeadReader::new(limits),
            out: Vec::new(),
            written: 0,
            deadline: timeout.map(|t| now + t),
            state: State::Reading,
        }
    }

    /// Feeds bytes received from the client.
    ///
    /// Returns `Ok(None)` while the request head is incomplete, and `Ok(Some(request))` once a
    /// valid one arrived. Bytes received after that are kept for [`accept`](Self::accept) to
    /// return, up to [`Limits::max_header_bytes`](crate::Limits::max_header_bytes) (more is
    /// [`EarlyData`](HandshakeError::EarlyData), 400: a client waits for the response); input
    /// after a [`reject`](Self::reject) is ignored, and input after `accept` is an
    /// [`InvalidState`](HandshakeError::InvalidState) error.
    ///
    /// # Errors
    ///
    /// Any violation of RFC 6455 §4.2.1: not `GET` ([`MethodNotAllowed`](HandshakeError::MethodNotAllowed),
    /// 405), not HTTP/1.1, malformed or carrying a body ([`Malformed`](HandshakeError::Malformed),
    /// 400), over the limits ([`HeadTooLarge`](HandshakeError::HeadTooLarge),
    /// [`TooManyHeaders`](HandshakeError::TooManyHeaders), 431), a missing or wrong `Host`,
    /// `Upgrade`, `Connection`, `Sec-WebSocket-Key`, `Sec-WebSocket-Protocol` or
    /// `Sec-WebSocket-Extensions` (400), a missing or unsupported `Sec-WebSocket-Version` (426
    /// with `Sec-WebSocket-Version: 13`). The response is queued before the error is returned,
    /// and the error is sticky.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<Option<Request>, HandshakeError> {
        let max_early = self.reader.max_bytes();
        if matches!(&self.state, State::Received { leftover, .. }
            if leftover.len().saturating_add(bytes.len()) > max_early)
        {
            return Err(self.fail(HandshakeError::EarlyData));
        }
        match &mut self.state {
            State::Reading => {}
            State::Received { leftover, .. } => {
                if !bytes.is_empty() {
                    let mut joined = Vec::with_capacity(leftover.len() + bytes.len());
                    joined.extend_from_slice(leftover);
                    joined.extend_from_slice(bytes);
                    *leftover = Bytes::from(joined);
                }
                return Ok(None);
            }
            State::Accepted => {
                return Err(HandshakeError::InvalidState(
                    "handshake already finished; feed further bytes to the connection",
                ));
            }
            State::Rejected => return Ok(None),
            State::Failed(error) => return Err(error.clone()),
        }
        let parsed = self.reader.push(bytes, |buf, headers| {
            let mut request = httparse::Request::new(headers);
            Ok(match request.parse(buf)? {
                httparse::Status::Partial => None,
                httparse::Status::Complete(len) => Some((
                    len,
                    RawRequest {
                        method: request.method.unwrap_or_default().to_owned(),
                        path: request.path.unwrap_or_default().to_owned(),
                        version: request.version.unwrap_or_default(),
                        headers: owned_headers(request.headers),
                    },
                )),
            })
        });
        let validated = match parsed {
            Ok(None) => return Ok(None),
            Ok(Some((_, leftover))) if leftover.len() > max_early => Err(HandshakeError::EarlyData),
            Ok(Some((raw, leftover))) => validate(raw).map(|request| (request, leftover)),
            Err(error) => Err(error),
        };
        match validated {
            Ok((request, leftover)) => {
                self.state = State::Received {
                    accept: accept_key(request.key().as_bytes()),
                    offered_protocols: request.subprotocols().map(ToOwned::to_owned).collect(),
                    offered_extensions: request
                        .extensions()
                        .iter()
                        .map(|e| e.name().to_owned())
                        .collect(),
                    leftover,
                };
                Ok(Some(request))
            }
            Err(error) => Err(self.fail(error)),
        }
    }

    /// Queues the error's response and makes the error sticky; returns it.
    fn fail(&mut self, error: HandshakeError) -> HandshakeError {
        self.queue_error(&error);
        self.state = State::Failed(error.clone());
        error
    }

    /// Accepts the request returned by [`handle_input`](Self::handle_input): queues
    /// `101 Switching Protocols` with `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, the
    /// selected subprotocol and extensions, `Server` and the extra headers (RFC 6455 §4.2.2),
    /// and returns the bytes received after the request head, which belong to the connection.
    ///
    /// # Errors
    ///
    /// Local errors that leave the handshake unchanged, so a corrected answer can be given:
    /// [`InvalidState`](HandshakeError::InvalidState) when there is no request to answer,
    /// [`UnexpectedSubprotocol`](HandshakeError::UnexpectedSubprotocol) or
    /// [`UnofferedExtension`](HandshakeError::UnofferedExtension) for a selection the client
    /// did not offer, [`InvalidHeader`](HandshakeError::InvalidHeader) for an invalid or
    /// duplicated header or extension value.
    pub fn accept(&mut self, response: Accept) -> Result<Bytes, HandshakeError> {
        let State::Received {
            accept,
            offered_protocols,
            offered_extensions,
            ..
        } = &self.state
        else {
            return Err(HandshakeError::InvalidState(
                "no request to accept; wait until handle_input returns one",
            ));
        };
        response.validate(offered_protocols, offered_extensions)?;
        response.write_response(accept, &mut self.out);
        match mem::replace(&mut self.state, State::Accepted) {
            State::Received { leftover, .. } => Ok(leftover),
            _ => Ok(Bytes::new()),
        }
    }

    /// Accepts like [`accept`](Self::accept) and starts the server-role
    /// [`Connection`](crate::Connection) in one step: the part of the 101 response not yet
    /// written moves into the connection's transmit queue (ahead of any frame) and the
    /// leftover bytes are fed to it, so nothing can be written out of order or lost.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn accept_into_connection(
        mut self,
        response: Accept,
        config: crate::Config,
        limits: crate::Limits,
        now: Instant,
    ) -> Result<crate::Connection, HandshakeError> {
        let leftover = self.accept(response)?;
        let mut conn = crate::Connection::server(config, limits, now);
        conn.queue_raw(self.transmit());
        if !leftover.is_empty() {
            conn.handle_input(&leftover, now);
        }
        Ok(conn)
    }

    /// Refuses the upgrade with an HTTP response of `status` (200..=599, with its standard
    /// reason phrase) carrying `body` as `text/plain`, `Content-Length` and
    /// `Connection: close`. Allowed while reading the request too, to turn a client away early.
    ///
    /// # Errors
    ///
    /// [`InvalidStatus`](HandshakeError::InvalidStatus) for a status outside 200..=599,
    /// [`InvalidState`](HandshakeError::InvalidState) once a response is already queued.
    pub fn reject(&mut self, status: u16, body: &[u8]) -> Result<(), HandshakeError> {
        self.reject_with_headers(status, &[], body)
    }

    /// Like [`reject`](Self::reject), with extra headers such as `WWW-Authenticate` or
    /// `Location`; a `Content-Type` among them replaces the default `text/plain`.
    ///
    /// # Errors
    ///
    /// As [`reject`](Self::reject), plus [`InvalidHeader`](HandshakeError::InvalidHeader) for an
    /// invalid header or one the response writes itself (`Connection`, `Content-Length`,
    /// `Transfer-Encoding`).
    pub fn reject_with_headers(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HandshakeError> {
        self.respond(status, headers, body)
    }

    /// Answers with any HTTP response instead of an upgrade: as
    /// [`reject_with_headers`](Self::reject_with_headers), and also allowed after
    /// [`HandshakeError::NotWebSocket`] (a plain `GET`) as long as none of the queued 426 was
    /// written yet, which it replaces. This is how a WebSocket endpoint serves a page or a
    /// redirect to browsers on the same port.
    ///
    /// # Errors
    ///
    /// As [`reject_with_headers`](Self::reject_with_headers).
    pub fn respond(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HandshakeError> {
        let plain_get = matches!(
            self.state,
            State::Failed(HandshakeError::NotWebSocket { .. })
        ) && self.written == 0;
        if plain_get {
            self.out.clear();
        } else if !matches!(self.state, State::Reading | State::Received { .. }) {
            return Err(HandshakeError::InvalidState(
                "a response is already queued; there is nothing left to reject",
            ));
        }
        if !(200..=599).contains(&status) {
            return Err(HandshakeError::InvalidStatus(status));
        }
        for (name, value) in headers {
            if REJECT_GENERATED
                .iter()
                .any(|g| g.eq_ignore_ascii_case(name))
                || !is_valid_header_name(name)
                || !is_valid_header_value(value.as_bytes())
            {
                return Err(HandshakeError::InvalidHeader {
                    name: (*name).to_owned(),
                });
            }
        }
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        self.queue_response(status, &headers, b"close", body);
        self.state = State::Rejected;
        Ok(())
    }

    /// Response bytes not yet written: empty until a response is queued by
    /// [`handle_input`](Self::handle_input) (on an invalid request), [`accept`](Self::accept)
    /// or [`reject`](Self::reject). Changes only through those and
    /// [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.out.get(self.written..).unwrap_or_default()
    }

    /// Marks the first `n` bytes of [`transmit`](Self::transmit) as written (clamped to what is
    /// pending).
    pub fn advance_transmit(&mut self, n: usize) {
        self.written = self.written.saturating_add(n).min(self.out.len());
    }

    /// Whether response bytes are waiting to be written.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.transmit().is_empty()
    }

    /// The deadline for the request head, while it is being read; `None` without a timeout and
    /// once a request was received (the application then sets the pace) or a response queued.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Reading => self.deadline,
            _ => None,
        }
    }

    /// Tells the handshake the time is `now`.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::Timeout`] once `now` reached the deadline before a complete request
    /// head arrived. Nothing is queued then: a client that trickles its head (slowloris) is
    /// simply dropped. Returns the stored error if the handshake already failed.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match &self.state {
            State::Reading if self.deadline.is_some_and(|d| now >= d) => {
                self.state = State::Failed(HandshakeError::Timeout);
                Err(HandshakeError::Timeout)
            }
            State::Failed(error) => Err(error.clone()),
            _ => Ok(()),
        }
    }

    /// Queues the automatic answer to an invalid request (RFC 6455 §4.2.1, §4.2.2 point 4).
    fn queue_error(&mut self, error: &HandshakeError) {
        let Some(status) = error.http_status() else {
            return;
        };
        let headers: Vec<(&str, &[u8])> = error
            .response_headers()
            .iter()
            .map(|(name, value)| (*name, value.as_bytes()))
            .collect();
        // RFC 7230 §6.7: a 426 names the protocol to upgrade to, announced in Connection.
        let connection: &[u8] = if error.is_version_problem() {
            b"Upgrade, close"
        } else {
            b"close"
        };
        let mut body = error.to_string();
        body.push('\n');
        self.queue_response(status, &headers, connection, body.as_bytes());
    }

    /// Queues a complete response with a body and `Connection: {connection}`.
    fn queue_response(
        &mut self,
        status: u16,
        headers: &[(&str, &[u8])],
        connection: &[u8],
        body: &[u8],
    ) {
        let out = &mut self.out;
        out.extend_from_slice(
            format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes(),
        );
        for (name, value) in headers {
            write_header(out, name, value);
        }
        write_header(out, "Connection", connection);
        let has_type = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if !body.is_empty() && !has_type {
            write_header(out, "Content-Type", b"text/plain; charset=utf-8");
        }
        write_header(out, "Content-Length", body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::test_util::{
        self, CountingRng, RFC_REQUEST, request_with, transmit_text,
    };
    use crate::handshake::{ClientHandshake, ClientRequest};
    use alloc::vec;

    fn server() -> ServerHandshake {
        ServerHandshake::new(&Limits::default(), Instant::ZERO, None)
    }

    fn receive(input: &[u8]) -> (ServerHandshake, Request) {
        let mut server = server();
        let request = server
            .handle_input(input)
            .expect("valid request")
            .expect("complete");
        (server, request)
    }

    #[test]
    fn exact_101_responses() {
        let cases: &[(Accept, &str)] = &[
            (
                Accept::new().subprotocol("chat"),
                "HTTP/1.1 101 Switching Protocols\r\n\
                 Upgrade: websocket\r\n\
                 Connection: Upgrade\r\n\
                 Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
                 Sec-WebSocket-Protocol: chat\r\n\
                 \r\n",
            ),
            (
                Accept::new()
                    .extension("permessage-deflate; server_no_context_takeover")
                    .server_name("wsproto/0.1")
                    .header("Set-Cookie", "a=b"),
                "HTTP/1.1 101 Switching Protocols\r\n\
                 Upgrade: websocket\r\n\
                 Connection: Upgrade\r\n\
                 Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
                 Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
                 Server: wsproto/0.1\r\n\
                 Set-Cookie: a=b\r\n\
                 \r\n",
            ),
        ];
        let input = request_with(
            "Sec-WebSocket-Version",
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
        );
        for (accept, expected) in cases {
            let (mut server, _) = receive(input.as_bytes());
            assert_eq!(server.accept(accept.clone()), Ok(Bytes::new()));
            assert_eq!(transmit_text(&server), *expected);
            assert_eq!(server.poll_timeout(), None);
            assert!(matches!(
                server.handle_input(b"x"),
                Err(HandshakeError::InvalidState(_))
            ));
            assert!(matches!(
                server.accept(Accept::new()),
                Err(HandshakeError::InvalidState(_))
            ));
        }
    }

    #[test]
    fn exact_426_response() {
        let input = request_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n");
        let mut server = server();
        assert_eq!(
            server.handle_input(input.as_bytes()),
            Err(HandshakeError::UnsupportedVersion)
        );
        let body = "unsupported websocket version (only version 13 is supported)\n";
        let expected = format!(
            "HTTP/1.1 426 Upgrade Required\r\n\
             Upgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Connection: Upgrade, close\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\n\
             \r\n{body}",
            body.len()
        );
        assert_eq!(transmit_text(&server), expected);
    }

    #[test]
    fn bytes_after_the_head_are_returned_by_accept() {
        let mut input = RFC_REQUEST.as_bytes().to_vec();
        input.extend_from_slice(b"early");
        let (mut server, _) = receive(&input);
        assert_eq!(server.handle_input(b" frames"), Ok(None));
        assert_eq!(
            server.accept(Accept::new()).as_deref(),
            Ok(&b"early frames"[..])
        );
    }

    #[test]
    fn invalid_answers_leave_the_request_pending() {
        let input = request_with("Origin", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        let (mut server, _) = receive(input.as_bytes());
        let invalid = |name: &str| HandshakeError::InvalidHeader { name: name.into() };
        let cases: Vec<(Accept, HandshakeError)> = vec![
            (
                Accept::new().subprotocol("other"),
                HandshakeError::UnexpectedSubprotocol,
            ),
            (
                Accept::new().extension("x-foo"),
                HandshakeError::UnofferedExtension("x-foo".into()),
            ),
            (
                Accept::new().extension("permessage-deflate;"),
                invalid("Sec-WebSocket-Extensions"),
            ),
            (
                Accept::new().header("X-Evil", "a\r\nb: c"),
                invalid("X-Evil"),
            ),
            (Accept::new().header("Bad Name", "v"), invalid("Bad Name")),
            (
                Accept::new().header("sec-websocket-accept", "v"),
                invalid("sec-websocket-accept"),
            ),
            (
                Accept::new().header("Content-Length", "3"),
                invalid("Content-Length"),
            ),
            (
                Accept::new().server_name("a").header("Server", "b"),
                invalid("Server"),
            ),
            (Accept::new().server_name("a\nb"), invalid("Server")),
        ];
        for (accept, error) in cases {
            assert_eq!(server.accept(accept), Err(error));
            assert!(server.transmit().is_empty());
        }
        assert_eq!(
            server.reject(101, b""),
            Err(HandshakeError::InvalidStatus(101))
        );
        assert!(matches!(
            server.reject_with_headers(401, &[("Connection", "keep-alive")], b""),
            Err(HandshakeError::InvalidHeader { .. })
        ));
        let accept = Accept::new()
            .subprotocol("chat")
            .extension("permessage-deflate");
        assert!(server.accept(accept).is_ok());
    }

    #[test]
    fn reject_writes_status_and_body() {
        type Case<'a> = (u16, &'a [(&'a str, &'a str)], &'a [u8], &'a str);
        let cases: &[Case<'_>] = &[
            (
                403,
                &[],
                b"bad origin",
                "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\
                 Content-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nbad origin",
            ),
            (
                401,
                &[
                    ("WWW-Authenticate", "Basic realm=\"ws\""),
                    ("Content-Type", "application/json"),
                ],
                b"{}",
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ws\"\r\n\
                 Content-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
            ),
            (
                599,
                &[],
                b"",
                "HTTP/1.1 599 \r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            ),
        ];
        for (status, headers, body, expected) in cases {
            let (mut server, _) = receive(RFC_REQUEST.as_bytes());
            assert_eq!(server.reject_with_headers(*status, headers, body), Ok(()));
            assert_eq!(transmit_text(&server), *expected);
            assert_eq!(server.handle_input(b"ignored"), Ok(None));
            assert!(matches!(
                server.accept(Accept::new()),
                Err(HandshakeError::InvalidState(_))
            ));
            assert!(matches!(
                server.reject(400, b""),
                Err(HandshakeError::InvalidState(_))
            ));
            server.advance_transmit(5);
            assert_eq!(
                server.transmit(),
                expected.as_bytes().get(5..).unwrap_or_default()
            );
        }
        // Turning a client away before its request is complete.
        let mut server = server();
        assert_eq!(server.handle_input(b"GET / HT"), Ok(None));
        assert_eq!(server.reject(503, b""), Ok(()));
        assert!(transmit_text(&server).starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(matches!(
            server.accept(Accept::new()),
            Err(HandshakeError::InvalidState(_))
        ));
    }

    #[test]
    fn slow_request_times_out_with_nothing_queued() {
        let mut server = ServerHandshake::new(
            &Limits::default(),
            Instant::from_millis(100),
            Some(Duration::from_secs(2)),
        );
        let deadline = Instant::from_millis(2_100);
        assert_eq!(server.poll_timeout(), Some(deadline));
        assert_eq!(
            server.handle_input(b"GET /chat HTTP/1.1\r\nHost: a\r\n"),
            Ok(None)
        );
        assert_eq!(server.handle_timeout(Instant::from_millis(2_099)), Ok(()));
        assert_eq!(
            server.handle_timeout(deadline),
            Err(HandshakeError::Timeout)
        );
        assert!(server.transmit().is_empty());
        assert!(!server.wants_write());
        assert_eq!(server.poll_timeout(), None);
        assert_eq!(server.handle_input(b"\r\n"), Err(HandshakeError::Timeout));

        // The deadline stops once the request is in; the application sets the pace.
        let mut server = ServerHandshake::new(
            &Limits::default(),
            Instant::ZERO,
            Some(Duration::from_secs(2)),
        );
        assert!(matches!(
            server.handle_input(RFC_REQUEST.as_bytes()),
            Ok(Some(_))
        ));
        assert_eq!(server.poll_timeout(), None);
        assert_eq!(server.handle_timeout(Instant::from_millis(10_000)), Ok(()));
    }

    #[test]
    fn client_server_round_trip() {
        let limits = Limits::default();
        let request = ClientRequest::from_url("ws://localhost:9001/feed?v=2")
            .expect("valid url")
            .origin("http://localhost")
            .subprotocol("v2.feed")
            .subprotocol("v1.feed")
            .extension("permessage-deflate; client_max_window_bits")
            .header("X-Client", "test");
        let mut client =
            ClientHandshake::new(request, &limits, &mut CountingRng(7), Instant::ZERO, None)
                .expect("valid request");
        let mut server = ServerHandshake::new(&limits, Instant::ZERO, None);

        let mut wire = client.transmit().to_vec();
        client.advance_transmit(wire.len());
        wire.extend_from_slice(b"client-early");
        let request = server
            .handle_input(&wire)
            .expect("valid")
            .expect("complete");
        assert_eq!(request.path(), "/feed?v=2");
        assert_eq!(request.host(), "localhost:9001");
        assert_eq!(request.origin(), Some("http://localhost"));
        assert_eq!(request.header("x-client"), Some(&b"test"[..]));
        let offered = request.extensions().first().expect("one extension offered");
        assert_eq!(offered.name(), "permessage-deflate");
        assert_eq!(offered.param("client_max_window_bits"), Some(None));

        let accept = Accept::new()
            .negotiate_subprotocol(&request, &["v1.feed", "v2.feed"])
            .extension("permessage-deflate; client_max_window_bits=12");
        let leftover = server.accept(accept).expect("accept");
        assert_eq!(leftover.as_ref(), b"client-early");

        let mut wire = server.transmit().to_vec();
        server.advance_transmit(wire.len());
        assert!(!server.wants_write());
        wire.extend_from_slice(b"server-early");
        let accepted = client
            .handle_input(&wire)
            .expect("valid")
            .expect("complete");
        assert_eq!(accepted.subprotocol(), Some("v2.feed"));
        let extension = accepted
            .extensions()
            .first()
            .expect("one extension accepted");
        assert_eq!(extension.param("client_max_window_bits"), Some(Some("12")));
        assert_eq!(accepted.leftover().as_ref(), b"server-early");
    }

    #[test]
    fn mutated_heads_never_panic() {
        // A seeded xorshift: mutate valid heads, feed them in random chunks to both roles, and
        // require a typed outcome (no panic, no overflow) every time.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % 1_000_003).unwrap_or_default()
        };
        let limits = Limits::default().max_header_bytes(512).max_headers(12);
        let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: a; b=\"c\"\r\n\r\n";
        let alphabet = b"\r\n:;,=\" \t\0\x7f\xffaZ9-/";
        for round in 0..3_000 {
            let base = if round % 2 == 0 {
                RFC_REQUEST
            } else {
                response
            };
            let mut input = base.as_bytes().to_vec();
            for _ in 0..=next() % 4 {
                let at = next() % (input.len() + 1);
                let byte = alphabet.get(next() % alphabet.len()).copied().unwrap_or(0);
                match next() % 3 {
                    0 => input.insert(at, byte),
                    1 if at < input.len() => {
                        input.remove(at);
                    }
                    _ => {
                        if let Some(b) = input.get_mut(at) {
                            *b = byte;
                        }
                    }
                }
            }
            let mut server = ServerHandshake::new(&limits, Instant::ZERO, None);
            let request = ClientRequest::from_url("ws://h/")
                .expect("valid url")
                .subprotocol("chat")
                .extension("a");
            let mut client = ClientHandshake::new(
                request,
                &limits,
                &mut test_util::SampleNonce,
                Instant::ZERO,
                None,
            )
            .expect("valid request");
            let mut rest = input.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at((next() % 7 + 1).min(rest.len()));
                rest = tail;
                if let Ok(Some(request)) = server.handle_input(chunk) {
                    let accept = Accept::new().negotiate_subprotocol(&request, &["chat"]);
                    assert!(server.accept(accept).is_ok());
                }
                let _ = client.handle_input(chunk);
            }
        }
    }

    #[test]
    fn a_plain_get_can_be_answered_with_a_page() {
        let mut server = ServerHandshake::new(&Limits::default(), Instant::ZERO, None);
        let request = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
        assert_eq!(
            server.handle_input(request),
            Err(HandshakeError::NotWebSocket {
                path: "/index.html".into()
            })
        );
        assert!(server.transmit().starts_with(b"HTTP/1.1 426 "));
        server
            .respond(200, &[("Content-Type", "text/html")], b"<p>hi</p>")
            .unwrap();
        let response = core::str::from_utf8(server.transmit()).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("Content-Type: text/html\r\n"));
        assert!(response.ends_with("\r\n\r\n<p>hi</p>"));
        // Once any of the 426 went out, it can no longer be replaced.
        let mut server = ServerHandshake::new(&Limits::default(), Instant::ZERO, None);
        let _ = server.handle_input(request);
        server.advance_transmit(1);
        assert!(server.respond(200, &[], b"").is_err());
    }
}
