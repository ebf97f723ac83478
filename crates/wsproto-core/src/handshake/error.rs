//! Errors of the opening handshake (RFC 6455 §4) and what a server answers for each.
//!
//! Invariants:
//! - every way the peer's HTTP head can be wrong maps to one typed [`HandshakeError`] variant,
//!   never to a panic and never to a catch-all string;
//! - errors caused by the caller (bad URL, bad extra header, calling a method at the wrong time)
//!   are distinct variants and never damage a handshake that is still in progress;
//! - [`HandshakeError::http_status`] is the single place that decides which status a server
//!   answers a broken request with, so the queued response and the returned error agree.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use super::http::{find_header, header_values};

/// Why an opening handshake (RFC 6455 §4) failed or could not be started.
///
/// Peer errors are sticky: once a handshake machine returned one, it returns the same error for
/// every later input. Local misuse ([`InvalidUrl`](Self::InvalidUrl),
/// [`InvalidHeader`](Self::InvalidHeader), [`InvalidState`](Self::InvalidState),
/// [`InvalidStatus`](Self::InvalidStatus)) leaves the machine as it was.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The URL given to [`ClientRequest::from_url`](super::ClientRequest::from_url) is not a
    /// usable `ws://` or `wss://` URL (RFC 6455 §3); the text says why.
    InvalidUrl(&'static str),
    /// A header supplied by the caller has an invalid name, a value containing CR, LF or NUL, or
    /// duplicates a header the handshake generates itself.
    InvalidHeader {
        /// The offending header name, as the caller spelled it.
        name: String,
    },
    /// The peer sent something that is not valid HTTP/1.1 (RFC 7230 §3); the text says what.
    Malformed(&'static str),
    /// The client sent more than [`Limits::max_header_bytes`](crate::Limits::max_header_bytes)
    /// after its request head before the server answered. A client waits for the response
    /// before it sends anything else (RFC 6455 §4.1), so a server keeps only that much.
    EarlyData,
    /// The connection ended before the peer's head was complete (the peer hung up, or the
    /// network dropped it): nothing was wrong with what arrived, there was just not all of it.
    UnexpectedEof,
    /// The peer's head (start line and headers) exceeds
    /// [`Limits::max_header_bytes`](crate::Limits::max_header_bytes).
    HeadTooLarge,
    /// The peer's head has more header lines than
    /// [`Limits::max_headers`](crate::Limits::max_headers).
    TooManyHeaders,
    /// The server answered with a status other than 101 (RFC 6455 §4.1, point 1 of the client
    /// checks); the [`Rejection`] carries what it said.
    Rejected(Box<Rejection>),
    /// The server's request method is not `GET` (RFC 6455 §4.1, §4.2.1 point 1).
    MethodNotAllowed,
    /// A header the handshake requires is absent; the text is its lowercase name.
    MissingHeader(&'static str),
    /// A handshake header is present but its value is wrong (for example `Upgrade` without the
    /// `websocket` token, or a `Sec-WebSocket-Key` that is not 16 base64-encoded bytes); the text
    /// is its lowercase name.
    InvalidHeaderValue(&'static str),
    /// The server's `Sec-WebSocket-Accept` is not the hash of the key the client sent
    /// (RFC 6455 §4.1, §4.2.2).
    AcceptMismatch,
    /// The client asked for a `Sec-WebSocket-Version` other than 13 (RFC 6455 §4.2.2); the
    /// server answers 426 and advertises version 13.
    UnsupportedVersion,
    /// A plain HTTP `GET` without `Upgrade: websocket` (RFC 6455 §4.2.2 point 4): the server
    /// queues 426 Upgrade Required, which the application may replace with any response (a
    /// page, a redirect) through [`ServerHandshake::respond`](super::ServerHandshake::respond).
    NotWebSocket {
        /// The request target (path and query).
        path: String,
    },
    /// A subprotocol was selected that the client did not offer, or one was selected although
    /// the client offered none (RFC 6455 §4.1).
    UnexpectedSubprotocol,
    /// An extension was accepted that the client did not offer (RFC 6455 §9.1); the text is its
    /// name.
    UnofferedExtension(String),
    /// A `Sec-WebSocket-Extensions` header does not follow the grammar of RFC 6455 §9.1.
    InvalidExtensionHeader,
    /// The handshake did not complete before its deadline.
    Timeout,
    /// A method was called in a state that does not allow it (for example `accept` before a
    /// request was received, or input after the handshake finished); the text says which.
    InvalidState(&'static str),
    /// [`ServerHandshake::reject`](super::ServerHandshake::reject) was given a status outside
    /// 200..=599.
    InvalidStatus(u16),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with, or `None` for errors that only happen
    /// on the client side or are caused by the caller.
    ///
    /// [`ServerHandshake`](super::ServerHandshake) queues a response with this status itself;
    /// the method exists so that applications and logs can tell what was sent. `Timeout` maps to
    /// 408 for logging, although a timed-out server handshake queues nothing.
    #[must_use]
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Malformed(_)
            | Self::EarlyData
            | Self::InvalidHeaderValue(_)
            | Self::InvalidExtensionHeader
            | Self::MissingHeader(_) => {
                if self.is_version_problem() {
                    Some(426)
                } else {
                    Some(400)
                }
            }
            Self::UnsupportedVersion | Self::NotWebSocket { .. } => Some(426),
            Self::MethodNotAllowed => Some(405),
            Self::HeadTooLarge | Self::TooManyHeaders => Some(431),
            Self::Timeout => Some(408),
            Self::InvalidUrl(_)
            | Self::InvalidHeader { .. }
            | Self::Rejected(_)
            | Self::AcceptMismatch
            | Self::UnexpectedSubprotocol
            | Self::UnofferedExtension(_)
            | Self::InvalidState(_)
            | Self::InvalidStatus(_)
            | Self::UnexpectedEof => None,
        }
    }

    /// The headers an HTTP error response to this error carries besides its
    /// [status](Self::http_status) (the handshake adds its own `Connection`): `Allow: GET` for
    /// 405, and for a 426 the protocol to upgrade to and the version this server speaks
    /// (RFC 7231 §6.5.15, RFC 6455 §4.2.2 point 4). For HTTP stacks that write the response
    /// themselves.
    #[must_use]
    pub fn response_headers(&self) -> &'static [(&'static str, &'static str)] {
        if self.is_version_problem() {
            &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
        } else if self.http_status() == Some(405) {
            &[("Allow", "GET")]
        } else {
            &[]
        }
    }

    /// Whether the server should advertise `Sec-WebSocket-Version: 13` in its answer
    /// (RFC 6455 §4.2.2 point 4: a missing or unsupported version gets 426 Upgrade Required).
    pub(crate) fn is_version_problem(&self) -> bool {
        match self {
            Self::UnsupportedVersion | Self::NotWebSocket { .. } => true,
            Self::MissingHeader(name) => *name == "sec-websocket-version",
            _ => false,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(why) => write!(f, "invalid websocket url: {why}"),
            Self::InvalidHeader { name } => write!(
                f,
                "header {name:?} is invalid or is generated by the handshake itself \
                 (names must be tokens, values must not contain cr, lf or nul)"
            ),
            Self::Malformed(why) => write!(f, "malformed http head: {why}"),
            Self::EarlyData => f.write_str(
                "the client sent more than max_header_bytes after its request before the response",
            ),
            Self::UnexpectedEof => {
                f.write_str("the connection closed before the handshake was complete")
            }
            Self::HeadTooLarge => {
                f.write_str("http head is larger than the max_header_bytes limit")
            }
            Self::TooManyHeaders => {
                f.write_str("http head has more header lines than the max_headers limit")
            }
            Self::Rejected(rejection) => write!(
                f,
                "server refused the websocket upgrade with status {} {}",
                rejection.status, rejection.reason
            ),
            Self::MethodNotAllowed => f.write_str("only a get request can be upgraded"),
            Self::MissingHeader(name) => write!(f, "missing {name} header"),
            Self::InvalidHeaderValue(name) => write!(f, "invalid {name} header value"),
            Self::AcceptMismatch => {
                f.write_str("sec-websocket-accept does not match the sec-websocket-key sent")
            }
            Self::UnsupportedVersion => {
                f.write_str("unsupported websocket version (only version 13 is supported)")
            }
            Self::NotWebSocket { path } => {
                write!(
                    f,
                    "plain http request for {path:?}: this endpoint speaks websocket"
                )
            }
            Self::UnexpectedSubprotocol => {
                f.write_str("a subprotocol was selected that was not offered")
            }
            Self::UnofferedExtension(name) => write!(f, "extension {name:?} was not offered"),
            Self::InvalidExtensionHeader => {
                f.write_str("malformed sec-websocket-extensions header")
            }
            Self::Timeout => f.write_str("opening handshake timed out"),
            Self::InvalidState(why) => write!(f, "handshake misuse: {why}"),
            Self::InvalidStatus(status) => {
                write!(
                    f,
                    "status {status} cannot reject an upgrade (use 200 to 599)"
                )
            }
        }
    }
}

impl core::error::Error for HandshakeError {}

/// What a server said when it refused to upgrade: its non-101 response (RFC 6455 §4.1).
///
/// Applications use it to follow redirects, show an authentication prompt or log the server's
/// explanation. The body holds only the bytes that arrived together with the head; the client
/// handshake does not wait for the rest of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Bytes,
}

impl Rejection {
    /// The response status code, for example 401 or 404.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase of the status line, as the server sent it (possibly empty).
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
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

    /// The bytes received after the head so far: the start of the response body, if any.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The authentication challenges (for example `Basic realm="proxy"`), in order:
    /// `WWW-Authenticate` values, then `Proxy-Authenticate` ones (a proxy's 407 uses the
    /// latter; some proxies answer wrong credentials with 401 and the former); non-UTF-8
    /// values are skipped.
    pub fn authenticate(&self) -> impl Iterator<Item = &str> {
        header_values(&self.headers, "www-authenticate")
            .chain(header_values(&self.headers, "proxy-authenticate"))
            .filter_map(|value| core::str::from_utf8(value).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn statuses_match_the_rfc() {
        let cases: &[(HandshakeError, Option<u16>)] = &[
            (HandshakeError::Malformed("x"), Some(400)),
            (HandshakeError::MissingHeader("host"), Some(400)),
            (
                HandshakeError::MissingHeader("sec-websocket-version"),
                Some(426),
            ),
            (HandshakeError::InvalidHeaderValue("upgrade"), Some(400)),
            (HandshakeError::InvalidExtensionHeader, Some(400)),
            (HandshakeError::UnsupportedVersion, Some(426)),
            (HandshakeError::MethodNotAllowed, Some(405)),
            (HandshakeError::HeadTooLarge, Some(431)),
            (HandshakeError::TooManyHeaders, Some(431)),
            (HandshakeError::Timeout, Some(408)),
            (HandshakeError::AcceptMismatch, None),
            (HandshakeError::InvalidUrl("x"), None),
            (HandshakeError::InvalidState("x"), None),
        ];
        for (error, status) in cases {
            assert_eq!(error.http_status(), *status, "{error:?}");
        }
    }

    #[test]
    fn display_is_lowercase_without_trailing_period() {
        let errors = [
            HandshakeError::InvalidUrl("missing host"),
            HandshakeError::InvalidHeader { name: "x".into() },
            HandshakeError::Malformed("invalid token"),
            HandshakeError::HeadTooLarge,
            HandshakeError::TooManyHeaders,
            HandshakeError::Rejected(Box::new(Rejection {
                status: 404,
                reason: "Not Found".into(),
                headers: Vec::new(),
                body: Bytes::new(),
            })),
            HandshakeError::MethodNotAllowed,
            HandshakeError::MissingHeader("upgrade"),
            HandshakeError::InvalidHeaderValue("connection"),
            HandshakeError::AcceptMismatch,
            HandshakeError::UnsupportedVersion,
            HandshakeError::UnexpectedSubprotocol,
            HandshakeError::UnofferedExtension("foo".into()),
            HandshakeError::InvalidExtensionHeader,
            HandshakeError::Timeout,
            HandshakeError::InvalidState("x"),
            HandshakeError::InvalidStatus(101),
        ];
        for error in errors {
            let text = error.to_string();
            let first = text.chars().next();
            assert!(first.is_some_and(|c| c.is_ascii_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }
}
