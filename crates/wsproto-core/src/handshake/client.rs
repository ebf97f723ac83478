//! Client side of the opening handshake (RFC 6455 §4.1): write the upgrade request and check
//! the server's response.
//!
//! Invariants:
//! - the request bytes are fixed when [`ClientHandshake::new`] returns, built by
//!   [`ClientRequest`] from validated input only, so no header can be injected;
//! - the response head is buffered up to `max_header_bytes` only; bytes after it are returned
//!   as leftover (on success) or as the start of the body (on rejection), never dropped;
//! - the first error is sticky: later inputs and timeouts return it again.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use rand_core::RngCore;

use super::http::{
    HeadReader, check_token, find_header, header_values, is_token, owned_headers, required_single,
    trim_ows,
};
use super::{
    ClientRequest, ExtensionParams, HandshakeError, Rejection, accept_key, parse_extensions,
};
use crate::config::Limits;
use crate::time::Instant;

/// Where the client handshake stands.
#[derive(Debug)]
enum State {
    /// Writing the request and waiting for the whole response head.
    Waiting,
    /// A 101 response was accepted; the connection owns all further bytes.
    Done,
    /// The handshake failed; the error is returned again for every later input.
    Failed(HandshakeError),
}

/// Client side of the opening handshake (RFC 6455 §4.1): writes the request, checks the
/// response.
///
/// Calling contract: after [`new`](Self::new), write [`transmit`](Self::transmit) to the
/// socket and report progress with [`advance_transmit`](Self::advance_transmit); feed every
/// received byte to [`handle_input`](Self::handle_input) until it returns a [`ClientAccepted`]
/// (then feed its leftover to the connection) or an error (then close the socket). Arm a timer
/// from [`poll_timeout`](Self::poll_timeout) and call [`handle_timeout`](Self::handle_timeout)
/// when it fires.
pub struct ClientHandshake {
    out: Vec<u8>,
    written: usize,
    expected_accept: String,
    offered_protocols: Vec<String>,
    offered_extensions: Vec<String>,
    reader: HeadReader,
    deadline: Option<Instant>,
    state: State,
}

impl fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The request bytes may hold credentials; show only how much is left to write.
        f.debug_struct("ClientHandshake")
            .field("pending_bytes", &self.transmit().len())
            .field("deadline", &self.deadline)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ClientHandshake {
    /// Validates `request` and builds the upgrade request bytes (RFC 6455 §4.1).
    ///
    /// Writes `GET {resource} HTTP/1.1`, then `Host`, `Upgrade: websocket`,
    /// `Connection: Upgrade`, `Sec-WebSocket-Key` (16 bytes from `rng`, base64),
    /// `Sec-WebSocket-Version: 13`, and when set `Origin`, `Sec-WebSocket-Protocol`
    /// (comma-joined), `Sec-WebSocket-Extensions` (comma-joined), `Authorization`, followed by
    /// the extra headers. The response must arrive before `now + timeout` (never, if `None`;
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`](super::DEFAULT_HANDSHAKE_TIMEOUT) unless you have a reason
    /// to choose another).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidHeader`] for an invalid extra header, origin, subprotocol (not
    /// a token, or a duplicate) or extension offer (not valid RFC 6455 §9.1 syntax), and for
    /// an extra header that duplicates a generated one.
    pub fn new(
        request: ClientRequest,
        limits: &Limits,
        rng: &mut dyn RngCore,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<Self, HandshakeError> {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let key = STANDARD.encode(nonce);
        let built = request.build(&key)?;
        Ok(Self {
            out: built.head,
            written: 0,
            expected_accept: accept_key(key.as_bytes()),
            offered_protocols: built.offered_protocols,
            offered_extensions: built.offered_extensions,
            reader: HeadReader::new(limits),
            deadline: timeout.map(|t| now + t),
            state: State::Waiting,
        })
    }

    /// Request bytes not yet written; empty once everything was reported written.
    ///
    /// Changes only through [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.out.get(self.written..).unwrap_or_default()
    }

    /// Marks the first `n` bytes of [`transmit`](Self::transmit) as written (clamped to what is
    /// pending).
    pub fn advance_transmit(&mut self, n: usize) {
        self.written = self.written.saturating_add(n).min(self.out.len());
    }

    /// Whether request bytes are waiting to be written.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.transmit().is_empty()
    }

    /// Feeds bytes received from the server.
    ///
    /// Returns `Ok(None)` while the response head is incomplete (feed more bytes), and
    /// `Ok(Some(accepted))` once a valid 101 response arrived; bytes after its head are in
    /// [`ClientAccepted::leftover`] and belong to the WebSocket connection. Feeding more input
    /// after that is an [`InvalidState`](HandshakeError::InvalidState) error.
    ///
    /// # Errors
    ///
    /// Per RFC 6455 §4.1, the client fails the connection when the response is not a 101
    /// ([`Rejected`](HandshakeError::Rejected)), is not HTTP/1.1 or is malformed
    /// ([`Malformed`](HandshakeError::Malformed)), exceeds the limits
    /// ([`HeadTooLarge`](HandshakeError::HeadTooLarge),
    /// [`TooManyHeaders`](HandshakeError::TooManyHeaders)), lacks the `websocket` token in
    /// `Upgrade` or `upgrade` in `Connection` ([`MissingHeader`](HandshakeError::MissingHeader),
    /// [`InvalidHeaderValue`](HandshakeError::InvalidHeaderValue)), has a wrong or missing
    /// `Sec-WebSocket-Accept` ([`AcceptMismatch`](HandshakeError::AcceptMismatch)), selects a
    /// subprotocol that was not offered
    /// ([`UnexpectedSubprotocol`](HandshakeError::UnexpectedSubprotocol)) or an extension that
    /// was not offered ([`UnofferedExtension`](HandshakeError::UnofferedExtension),
    /// [`InvalidExtensionHeader`](HandshakeError::InvalidExtensionHeader)). Errors are sticky.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<Option<ClientAccepted>, HandshakeError> {
        match &self.state {
            State::Waiting => {}
            State::Done => {
                return Err(HandshakeError::InvalidState(
                    "handshake already finished; feed further bytes to the connection",
                ));
            }
            State::Failed(error) => return Err(error.clone()),
        }
        let parsed = self.reader.push(bytes, |buf, headers| {
            let mut response = httparse::Response::new(headers);
            Ok(match response.parse(buf)? {
                httparse::Status::Partial => None,
                httparse::Status::Complete(len) => Some((
                    len,
                    RawResponse {
                        version: response.version.unwrap_or_default(),
                        status: response.code.unwrap_or_default(),
                        reason: response.reason.unwrap_or_default().to_owned(),
                        headers: owned_headers(response.headers),
                    },
                )),
            })
        });
        let outcome = match parsed {
            Ok(None) => return Ok(None),
            Ok(Some((response, leftover))) => self.check(response, leftover),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(accepted) => {
                self.state = State::Done;
                Ok(Some(accepted))
            }
            Err(error) => {
                self.state = State::Failed(error.clone());
                Err(error)
            }
        }
    }

    /// The deadline by which the response must have arrived, while it has not; `None` without
    /// a timeout or once the handshake finished or failed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Waiting => self.deadline,
            State::Done | State::Failed(_) => None,
        }
    }

    /// Tells the handshake the time is `now`.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::Timeout`] once `now` reached the deadline before the response arrived
    /// (sticky, like every error), or the error the handshake already failed with.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match &self.state {
            State::Waiting if self.deadline.is_some_and(|d| now >= d) => {
                self.state = State::Failed(HandshakeError::Timeout);
                Err(HandshakeError::Timeout)
            }
            State::Waiting | State::Done => Ok(()),
            State::Failed(error) => Err(error.clone()),
        }
    }

    /// Applies the RFC 6455 §4.1 checks to a complete response head.
    fn check(
        &self,
        response: RawResponse,
        leftover: Bytes,
    ) -> Result<ClientAccepted, HandshakeError> {
        let RawResponse {
            version,
            status,
            reason,
            headers,
        } = response;
        if status != 101 {
            return Err(HandshakeError::Rejected(Box::new(Rejection {
                status,
                reason,
                headers,
                body: leftover,
            })));
        }
        if version != 1 {
            return Err(HandshakeError::Malformed("a 101 response must be http/1.1"));
        }
        check_token(&headers, "upgrade", "websocket")?;
        check_token(&headers, "connection", "upgrade")?;

        let accept = required_single(&headers, "sec-websocket-accept")?;
        if accept != self.expected_accept.as_bytes() {
            return Err(HandshakeError::AcceptMismatch);
        }

        let protocols: Vec<&[u8]> = header_values(&headers, "sec-websocket-protocol").collect();
        let subprotocol = match protocols.as_slice() {
            [] => None,
            _ if self.offered_protocols.is_empty() => {
                return Err(HandshakeError::UnexpectedSubprotocol);
            }
            [value] if is_token(trim_ows(value)) => {
                let chosen = core::str::from_utf8(trim_ows(value)).unwrap_or_default();
                if !self.offered_protocols.iter().any(|p| p == chosen) {
                    return Err(HandshakeError::UnexpectedSubprotocol);
                }
                Some(chosen.to_owned())
            }
            _ => return Err(HandshakeError::InvalidHeaderValue("sec-websocket-protocol")),
        };

        let extensions = parse_extensions(header_values(&headers, "sec-websocket-extensions"))?;
        if let Some(unoffered) = extensions.iter().find(|e| {
            !self
                .offered_extensions
                .iter()
                .any(|o| o.eq_ignore_ascii_case(e.name()))
        }) {
            return Err(HandshakeError::UnofferedExtension(
                unoffered.name().to_owned(),
            ));
        }

        Ok(ClientAccepted {
            status,
            headers,
            subprotocol,
            extensions,
            leftover,
        })
    }
}

/// A parsed response head, copied out of the read buffer.
struct RawResponse {
    version: u8,
    status: u16,
    reason: String,
    headers: Vec<(String, Vec<u8>)>,
}

/// A successful handshake as the client sees it: the server's 101 response, what it
/// negotiated, and the bytes that followed it (RFC 6455 §4.1, §4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAccepted {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    subprotocol: Option<String>,
    extensions: Vec<ExtensionParams>,
    leftover: Bytes,
}

impl ClientAccepted {
    /// The response status: always 101.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// All response headers in the order received, names as the server spelled them.
    #[must_use]
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The value of the first header called `name` (compared case-insensitively).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    /// The subprotocol the server selected, always one the client offered (RFC 6455 §4.1).
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions the server accepted, in its order; every name was offered, but the
    /// parameters still need checking by the extension itself (RFC 6455 §9.1).
    #[must_use]
    pub fn extensions(&self) -> &[ExtensionParams] {
        &self.extensions
    }

    /// Bytes received after the response head: the first WebSocket frames, which must be fed to
    /// the connection before anything read later.
    #[must_use]
    pub fn leftover(&self) -> &Bytes {
        &self.leftover
    }

    /// Consumes the result, returning [`leftover`](Self::leftover).
    #[must_use]
    pub fn into_leftover(self) -> Bytes {
        self.leftover
    }

    /// Starts the client-role [`Connection`](crate::Connection), already fed with the
    /// [`leftover`](Self::leftover) bytes so that no frame that followed the response is lost.
    #[must_use]
    pub fn into_connection(
        self,
        config: crate::Config,
        limits: crate::Limits,
        rng: alloc::boxed::Box<dyn rand_core::RngCore + Send>,
        now: Instant,
    ) -> crate::Connection {
        let mut conn = crate::Connection::client(config, limits, rng, now);
        if !self.leftover.is_empty() {
            conn.handle_input(&self.leftover, now);
        }
        conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::test_util::{CountingRng, SampleNonce};
    use alloc::format;
    use alloc::vec;

    const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn client_with(request: ClientRequest, limits: &Limits) -> ClientHandshake {
        ClientHandshake::new(request, limits, &mut SampleNonce, Instant::ZERO, None)
            .expect("valid request")
    }

    /// A client offering subprotocols `chat`, `superchat` and `permessage-deflate`.
    fn offering_client() -> ClientHandshake {
        let request = ClientRequest::from_url("ws://server.example.com/chat")
            .expect("valid url")
            .subprotocol("chat")
            .subprotocol("superchat")
            .extension("permessage-deflate; client_max_window_bits");
        client_with(request, &Limits::default())
    }

    fn response(extra: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n{extra}\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn request_bytes_are_exact() {
        let request = ClientRequest::from_url("wss://user:p%40ss@example.com:8443/chat?room=1")
            .expect("valid url")
            .origin("https://example.com")
            .subprotocol("chat")
            .subprotocol("superchat")
            .extension("permessage-deflate; client_max_window_bits")
            .header("X-Trace", "abc");
        let client = ClientHandshake::new(
            request,
            &Limits::default(),
            &mut CountingRng(0),
            Instant::ZERO,
            None,
        )
        .expect("valid request");
        let expected = "GET /chat?room=1 HTTP/1.1\r\n\
             Host: example.com:8443\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODw==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Origin: https://example.com\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Authorization: Basic dXNlcjpwQHNz\r\n\
             X-Trace: abc\r\n\
             \r\n";
        assert_eq!(core::str::from_utf8(client.transmit()), Ok(expected));
        assert_eq!(client.expected_accept, "Bz3qJYTGdOe8gUSpLosEdiLKDrk=");
    }

    #[test]
    fn transmit_advances() {
        let mut client = offering_client();
        let total = client.transmit().len();
        assert!(client.wants_write());
        client.advance_transmit(10);
        assert_eq!(client.transmit().len(), total - 10);
        client.advance_transmit(usize::MAX);
        assert!(client.transmit().is_empty());
        assert!(!client.wants_write());
    }

    #[test]
    fn debug_hides_the_request_bytes() {
        let request = ClientRequest::from_url("ws://user:secret@h/").expect("valid url");
        let client = client_with(request, &Limits::default());
        assert!(!format!("{client:?}").contains("secret"));
    }

    #[test]
    fn rfc_6455_example_response_is_accepted() {
        let mut client = offering_client();
        let accepted = client
            .handle_input(&response("Sec-WebSocket-Protocol: chat\r\n"))
            .expect("valid response")
            .expect("complete response");
        assert_eq!(accepted.status(), 101);
        assert_eq!(accepted.subprotocol(), Some("chat"));
        assert_eq!(
            accepted.header("sec-websocket-accept"),
            Some(RFC_ACCEPT.as_bytes())
        );
        assert_eq!(accepted.headers().len(), 4);
        assert!(accepted.extensions().is_empty());
        assert!(accepted.leftover().is_empty());
        assert_eq!(client.poll_timeout(), None);
        assert!(matches!(
            client.handle_input(b"x"),
            Err(HandshakeError::InvalidState(_))
        ));
    }

    #[test]
    fn response_split_at_every_point_keeps_leftover() {
        let mut full = response(
            "sec-websocket-protocol: superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n",
        );
        let frames = b"\x81\x05hello\x89\x00";
        full.extend_from_slice(frames);
        let check = |chunks: &[&[u8]]| {
            let mut client = offering_client();
            let mut accepted = None;
            let mut connection_bytes = Vec::new();
            for chunk in chunks {
                match &accepted {
                    None => accepted = client.handle_input(chunk).expect("valid response"),
                    Some(_) => connection_bytes.extend_from_slice(chunk),
                }
            }
            let accepted: ClientAccepted = accepted.expect("complete response");
            assert_eq!(accepted.subprotocol(), Some("superchat"));
            let extension = accepted.extensions().first().expect("one extension");
            assert_eq!(extension.name(), "permessage-deflate");
            assert_eq!(extension.param("client_max_window_bits"), Some(Some("10")));
            let mut leftover = accepted.into_leftover().to_vec();
            leftover.extend_from_slice(&connection_bytes);
            assert_eq!(leftover, frames);
        };
        for split in 0..=full.len() {
            let (a, b) = full.split_at(split);
            check(&[a, b]);
        }
        let bytes: Vec<&[u8]> = full.chunks(1).collect();
        check(&bytes);
    }

    #[test]
    fn non_101_is_rejected_with_status_headers_and_body() {
        let mut client = offering_client();
        let got = client.handle_input(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\nX-Why: origin\r\n\r\nnope!",
        );
        let expected = Rejection {
            status: 403,
            reason: "Forbidden".into(),
            headers: vec![
                ("Content-Length".into(), b"5".to_vec()),
                ("X-Why".into(), b"origin".to_vec()),
            ],
            body: Bytes::from_static(b"nope!"),
        };
        let Err(HandshakeError::Rejected(rejection)) = got else {
            panic!("expected a rejection, got {got:?}");
        };
        assert_eq!(*rejection, expected);
        assert_eq!(rejection.status(), 403);
        assert_eq!(rejection.reason(), "Forbidden");
        assert_eq!(rejection.header("x-why"), Some(&b"origin"[..]));
        assert_eq!(rejection.headers().len(), 2);
        assert_eq!(rejection.body().as_ref(), b"nope!");
        // Sticky.
        assert_eq!(
            client.handle_input(b"more"),
            Err(HandshakeError::Rejected(rejection))
        );
    }

    #[test]
    fn bad_responses_fail() {
        let accept = format!("Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n");
        let good_upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
        let head = |headers: &str| format!("HTTP/1.1 101 Switching Protocols\r\n{headers}\r\n");
        let cases: Vec<(String, HandshakeError)> = vec![
            (
                head(&format!(
                    "{good_upgrade}Sec-WebSocket-Accept: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
                )),
                HandshakeError::AcceptMismatch,
            ),
            (
                head(good_upgrade),
                HandshakeError::MissingHeader("sec-websocket-accept"),
            ),
            (
                head(&format!("{good_upgrade}{accept}{accept}")),
                HandshakeError::InvalidHeaderValue("sec-websocket-accept"),
            ),
            (
                head(&format!("Connection: Upgrade\r\n{accept}")),
                HandshakeError::MissingHeader("upgrade"),
            ),
            (
                head(&format!("Upgrade: h2c\r\nConnection: Upgrade\r\n{accept}")),
                HandshakeError::InvalidHeaderValue("upgrade"),
            ),
            (
                head(&format!("Upgrade: websocket\r\n{accept}")),
                HandshakeError::MissingHeader("connection"),
            ),
            (
                head(&format!(
                    "Upgrade: websocket\r\nConnection: keep-alive\r\n{accept}"
                )),
                HandshakeError::InvalidHeaderValue("connection"),
            ),
            (
                head(&format!(
                    "{good_upgrade}{accept}Sec-WebSocket-Protocol: other\r\n"
                )),
                HandshakeError::UnexpectedSubprotocol,
            ),
            (
                head(&format!(
                    "{good_upgrade}{accept}Sec-WebSocket-Protocol: chat, superchat\r\n"
                )),
                HandshakeError::InvalidHeaderValue("sec-websocket-protocol"),
            ),
            (
                head(&format!(
                    "{good_upgrade}{accept}Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n"
                )),
                HandshakeError::InvalidHeaderValue("sec-websocket-protocol"),
            ),
            (
                head(&format!(
                    "{good_upgrade}{accept}Sec-WebSocket-Extensions: x-foo\r\n"
                )),
                HandshakeError::UnofferedExtension("x-foo".into()),
            ),
            (
                head(&format!(
                    "{good_upgrade}{accept}Sec-WebSocket-Extensions: a;;b\r\n"
                )),
                HandshakeError::InvalidExtensionHeader,
            ),
            (
                format!("HTTP/1.0 101 Switching Protocols\r\n{good_upgrade}{accept}\r\n"),
                HandshakeError::Malformed("a 101 response must be http/1.1"),
            ),
            (
                "HTTP/1.1 1x1 Switching\r\n\r\n".into(),
                HandshakeError::Malformed("invalid status code"),
            ),
            (
                "SSH-2.0-OpenSSH\r\n\r\n".into(),
                HandshakeError::Malformed("invalid http version"),
            ),
            (
                head("Upgrade websocket\r\n"),
                HandshakeError::Malformed("invalid header name"),
            ),
            (
                head("Upgrade: web\x01socket\r\n"),
                HandshakeError::Malformed("invalid header value"),
            ),
        ];
        for (input, expected) in cases {
            let mut client = offering_client();
            assert_eq!(
                client.handle_input(input.as_bytes()),
                Err(expected.clone()),
                "{input}"
            );
            assert_eq!(
                client.handle_input(b""),
                Err(expected.clone()),
                "sticky: {input}"
            );
            assert_eq!(
                client.handle_timeout(Instant::from_millis(u64::MAX)),
                Err(expected)
            );
        }
    }

    #[test]
    fn subprotocol_without_offer_fails() {
        let request = ClientRequest::from_url("ws://server.example.com/chat").expect("valid url");
        let mut client = client_with(request, &Limits::default());
        let got = client.handle_input(&response("Sec-WebSocket-Protocol: chat\r\n"));
        assert_eq!(got, Err(HandshakeError::UnexpectedSubprotocol));
    }

    #[test]
    fn head_limits_are_enforced() {
        let good = response("Sec-WebSocket-Protocol: chat\r\n");
        let request = || {
            ClientRequest::from_url("ws://h/")
                .expect("valid url")
                .subprotocol("chat")
        };

        let mut client = client_with(request(), &Limits::default().max_header_bytes(good.len()));
        assert!(matches!(client.handle_input(&good), Ok(Some(_))));

        let mut client = client_with(
            request(),
            &Limits::default().max_header_bytes(good.len() - 1),
        );
        assert_eq!(
            client.handle_input(&good),
            Err(HandshakeError::HeadTooLarge)
        );

        // Trickled byte by byte, the limit still holds.
        let mut client = client_with(request(), &Limits::default().max_header_bytes(64));
        let mut result = Ok(None);
        for byte in good.chunks(1) {
            result = client.handle_input(byte);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(HandshakeError::HeadTooLarge));

        let mut client = client_with(request(), &Limits::default().max_headers(3));
        assert_eq!(
            client.handle_input(&good),
            Err(HandshakeError::TooManyHeaders)
        );
        let mut client = client_with(request(), &Limits::default().max_headers(4));
        assert!(matches!(client.handle_input(&good), Ok(Some(_))));
    }

    #[test]
    fn timeout_fires_at_the_deadline() {
        let start = Instant::from_millis(1_000);
        let request = ClientRequest::from_url("ws://h/").expect("valid url");
        let mut client = ClientHandshake::new(
            request,
            &Limits::default(),
            &mut SampleNonce,
            start,
            Some(Duration::from_secs(5)),
        )
        .expect("valid request");
        let deadline = Instant::from_millis(6_000);
        assert_eq!(client.poll_timeout(), Some(deadline));
        assert_eq!(client.handle_timeout(Instant::from_millis(5_999)), Ok(()));
        assert_eq!(client.handle_input(b"HTTP/1.1 101 Swi"), Ok(None));
        assert_eq!(
            client.handle_timeout(deadline),
            Err(HandshakeError::Timeout)
        );
        assert_eq!(client.poll_timeout(), None);
        assert_eq!(
            client.handle_input(&response("")),
            Err(HandshakeError::Timeout)
        );

        let mut no_timeout = offering_client();
        assert_eq!(no_timeout.poll_timeout(), None);
        assert_eq!(
            no_timeout.handle_timeout(Instant::from_millis(u64::MAX)),
            Ok(())
        );
    }
}
