//! The server's view of an upgrade (RFC 6455 §4.2): the validated client [`Request`] and the
//! application's [`Accept`] answer.
//!
//! Job: turn a parsed request head into a [`Request`] only if it satisfies every requirement of
//! RFC 6455 §4.2.1 (else a typed error whose [`HandshakeError::http_status`] the server
//! answers), and check and serialize the application's answer.
//!
//! Invariants: a [`Request`] always has method `GET`, HTTP/1.1, one `Host`, the `websocket` and
//! `upgrade` tokens, a key of 16 base64-encoded bytes, version 13, token subprotocols and
//! well-formed extension offers; an [`Accept`] is written only after it was
//! checked against the offers, so the 101 never selects what was not offered.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::http::{
    check_token, find_header, header_values, is_token, is_valid_header_name, is_valid_header_value,
    list_elements, required_single, single_value, write_header,
};
use super::{ExtensionParams, HandshakeError, parse_extensions};

/// Headers the 101 response writes itself (lowercase); `Server` too when
/// [`Accept::server_name`] is set. A 101 has no body, so framing headers are refused.
const ACCEPT_GENERATED: [&str; 7] = [
    "upgrade",
    "connection",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
];

/// The parsed upgrade request, for the application to inspect before accepting (RFC 6455
/// §4.2.1): where the client wants to go, who it claims to be, and what it offers.
///
/// Every handshake requirement has already been checked when you get one; what remains is
/// policy: check [`origin`](Self::origin) (RFC 6455 §10.2), authentication headers and the
/// path, pick a subprotocol and extensions, then [`ServerHandshake::accept`](super::ServerHandshake::accept) or
/// [`ServerHandshake::reject`](super::ServerHandshake::reject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    host: String,
    origin: Option<String>,
    key: String,
    subprotocols: Vec<String>,
    extensions: Vec<ExtensionParams>,
}

impl Request {
    /// Validates an upgrade request that another HTTP stack (hyper, axum, ...) already parsed,
    /// with the same RFC 6455 §4.2.1 checks the [`ServerHandshake`](super::ServerHandshake)
    /// applies; HTTP/1.1 is assumed. On error, [`HandshakeError::http_status`] is the status
    /// to answer with (426 wants `Sec-WebSocket-Version: 13` in the response).
    ///
    /// ```
    /// use wsproto_core::handshake::Request;
    /// let headers = [
    ///     ("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    ///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    /// ];
    /// let headers = headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
    /// let request = Request::from_parts("GET", "/chat", headers).unwrap();
    /// assert_eq!(request.accept_key(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// ```
    pub fn from_parts(
        method: &str,
        path: &str,
        headers: Vec<(String, Vec<u8>)>,
    ) -> Result<Self, HandshakeError> {
        validate(RawRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            version: 1,
            headers,
        })
    }

    /// The `Sec-WebSocket-Accept` value answering this request's key (RFC 6455 §4.2.2).
    #[must_use]
    pub fn accept_key(&self) -> String {
        super::accept_key(self.key.as_bytes())
    }

    /// The request method: always `GET` (RFC 6455 §4.1 point 2).
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: usually path and query (`/chat?room=1`), possibly an
    /// absolute URI (RFC 6455 §4.1 point 3, RFC 7230 §5.3).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// All request headers in the order received, names as the client spelled them.
    #[must_use]
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The value of the first header called `name` (compared case-insensitively).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    /// The `Host` header value, trimmed (RFC 6455 §4.1 point 4).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header value, trimmed, if the client sent one (RFC 6455 §4.1 point 8;
    /// browsers always do, and servers should check it, §10.2).
    #[must_use]
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The `Sec-WebSocket-Key`, trimmed: base64 of 16 bytes (RFC 6455 §4.1 point 7).
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The offered subprotocols in the client's order of preference, from every
    /// `Sec-WebSocket-Protocol` header and comma list, trimmed (RFC 6455 §4.1 point 10).
    pub fn subprotocols(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.subprotocols.iter().map(String::as_str)
    }

    /// The offered extensions, in order (RFC 6455 §9.1).
    #[must_use]
    pub fn extensions(&self) -> &[ExtensionParams] {
        &self.extensions
    }
}

/// The application's answer to a [`Request`]: what the `101 Switching Protocols` response
/// selects and carries (RFC 6455 §4.2.2).
///
/// ```
/// use wsproto_core::handshake::Accept;
///
/// let accept = Accept::new()
///     .subprotocol("chat")
///     .extension("permessage-deflate; server_no_context_takeover")
///     .server_name("example/1.0")
///     .header("Set-Cookie", "session=1");
/// # let _ = accept;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    subprotocol: Option<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
    server_name: Option<String>,
}

impl Accept {
    /// An answer selecting no subprotocol and no extension.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Selects `protocol` in `Sec-WebSocket-Protocol`; it must be one the client offered, or
    /// [`ServerHandshake::accept`](super::ServerHandshake::accept) refuses it (RFC 6455 §4.2.2 point 5.4).
    #[must_use]
    pub fn subprotocol(mut self, protocol: &str) -> Self {
        self.subprotocol = Some(protocol.to_owned());
        self
    }

    /// The selected subprotocol, if any.
    #[must_use]
    pub fn selected_subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// Selects the first of the client's offered subprotocols, in the client's order of
    /// preference, that is in `supported` (compared exactly); leaves the selection unchanged
    /// when none is.
    #[must_use]
    pub fn negotiate_subprotocol(mut self, request: &Request, supported: &[&str]) -> Self {
        if let Some(chosen) = request.subprotocols().find(|p| supported.contains(p)) {
            self.subprotocol = Some(chosen.to_owned());
        }
        self
    }

    /// Adds a raw `Sec-WebSocket-Extensions` response value (RFC 6455 §9.1), for example
    /// `permessage-deflate; server_no_context_takeover`; values are comma-joined in call order.
    /// Every extension named must have been offered.
    #[must_use]
    pub fn extension(mut self, value: &str) -> Self {
        self.extensions.push(value.to_owned());
        self
    }

    /// Adds an extra response header (a cookie, for instance), written after the handshake's
    /// own. The name must be a token, the value free of control characters, and it must not
    /// duplicate a header the handshake writes.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends a `Server` header with this value (none by default).
    #[must_use]
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    /// Checks the answer against what the client offered (RFC 6455 §4.2.2 point 5.4, §9.1) and
    /// validates every header it would write.
    pub(crate) fn validate(
        &self,
        offered_protocols: &[String],
        offered_extensions: &[String],
    ) -> Result<(), HandshakeError> {
        let invalid = |name: &str| HandshakeError::InvalidHeader {
            name: name.to_owned(),
        };
        if let Some(protocol) = &self.subprotocol
            && !offered_protocols.contains(protocol)
        {
            return Err(HandshakeError::UnexpectedSubprotocol);
        }
        for value in &self.extensions {
            let parsed = parse_extensions([value.as_bytes()])
                .ok()
                .filter(|p| !p.is_empty() && is_valid_header_value(value.as_bytes()))
                .ok_or_else(|| invalid("Sec-WebSocket-Extensions"))?;
            for extension in parsed {
                if !offered_extensions
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(extension.name()))
                {
                    return Err(HandshakeError::UnofferedExtension(
                        extension.name().to_owned(),
                    ));
                }
            }
        }
        if let Some(server) = &self.server_name
            && !is_valid_header_value(server.as_bytes())
        {
            return Err(invalid("Server"));
        }
        for (name, value) in &self.headers {
            let generated = ACCEPT_GENERATED
                .iter()
                .any(|g| g.eq_ignore_ascii_case(name))
                || (self.server_name.is_some() && name.eq_ignore_ascii_case("server"));
            if generated || !is_valid_header_name(name) || !is_valid_header_value(value.as_bytes())
            {
                return Err(invalid(name));
            }
        }
        Ok(())
    }

    /// The headers of the `101 Switching Protocols` answering `request` (RFC 6455 §4.2.2), in
    /// the order the handshake writes them, once this answer is checked against what the
    /// request offered: for an HTTP stack (hyper, axum) that writes the response itself.
    ///
    /// # Errors
    ///
    /// As [`ServerHandshake::accept`](super::ServerHandshake::accept) for an answer that
    /// selects what was not offered or carries an invalid header.
    pub fn response_headers(
        &self,
        request: &Request,
    ) -> Result<Vec<(String, String)>, HandshakeError> {
        let offered: Vec<String> = request
            .extensions()
            .iter()
            .map(|e| e.name().to_owned())
            .collect();
        self.validate(&request.subprotocols, &offered)?;
        let mut headers = Vec::new();
        self.for_each_header(&request.accept_key(), |name, value| {
            headers.push((name.to_owned(), value.to_owned()));
        });
        Ok(headers)
    }

    /// Appends the `101 Switching Protocols` head (RFC 6455 §4.2.2 point 5) carrying `accept`
    /// as `Sec-WebSocket-Accept`; [`validate`](Self::validate) must have passed.
    pub(crate) fn write_response(&self, accept: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        self.for_each_header(accept, |name, value| {
            write_header(out, name, value.as_bytes())
        });
        out.extend_from_slice(b"\r\n");
    }

    /// Every header of the 101, in order; `accept` is the `Sec-WebSocket-Accept` value.
    fn for_each_header(&self, accept: &str, mut header: impl FnMut(&str, &str)) {
        header("Upgrade", "websocket");
        header("Connection", "Upgrade");
        header("Sec-WebSocket-Accept", accept);
        if let Some(protocol) = &self.subprotocol {
            header("Sec-WebSocket-Protocol", protocol);
        }
        if !self.extensions.is_empty() {
            header("Sec-WebSocket-Extensions", &self.extensions.join(", "));
        }
        if let Some(server) = &self.server_name {
            header("Server", server);
        }
        for (name, value) in &self.headers {
            header(name, value);
        }
    }
}

/// A parsed request head, copied out of the read buffer.
pub(crate) struct RawRequest {
    /// The request method, for example `GET`.
    pub(crate) method: String,
    /// The request target.
    pub(crate) path: String,
    /// The minor HTTP version: 1 for HTTP/1.1.
    pub(crate) version: u8,
    /// All headers, in order.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
}

/// Applies the RFC 6455 §4.2.1 checks to a complete request head.
pub(crate) fn validate(raw: RawRequest) -> Result<Request, HandshakeError> {
    let RawRequest {
        method,
        path,
        version,
        headers,
    } = raw;
    if method != "GET" {
        return Err(HandshakeError::MethodNotAllowed);
    }
    if version != 1 {
        return Err(HandshakeError::Malformed("http version must be 1.1"));
    }
    // A body would be mistaken for WebSocket frames (and is a request-smuggling vector).
    let has_body = find_header(&headers, "transfer-encoding").is_some()
        || single_value(&headers, "content-length")?.is_some_and(|len| len != b"0");
    if has_body {
        return Err(HandshakeError::Malformed(
            "an upgrade request must not have a body",
        ));
    }
    let host = required_single(&headers, "host")?;
    let host = core::str::from_utf8(host)
        .ok()
        .filter(|h| !h.is_empty())
        .ok_or(HandshakeError::InvalidHeaderValue("host"))?
        .to_owned();
    if find_header(&headers, "upgrade").is_none() {
        return Err(HandshakeError::NotWebSocket { path });
    }
    check_token(&headers, "upgrade", "websocket")?;
    check_token(&headers, "connection", "upgrade")?;

    match single_value(&headers, "sec-websocket-version") {
        Ok(None) => return Err(HandshakeError::MissingHeader("sec-websocket-version")),
        Ok(Some(b"13")) => {}
        Ok(Some(_)) | Err(_) => return Err(HandshakeError::UnsupportedVersion),
    }

    let key = required_single(&headers, "sec-websocket-key")?;
    // 16 bytes encode to exactly 24 base64 characters; checking first bounds the decode.
    let decoded_len = if key.len() == 24 {
        STANDARD.decode(key).map_or(0, |k| k.len())
    } else {
        0
    };
    if decoded_len != 16 {
        return Err(HandshakeError::InvalidHeaderValue("sec-websocket-key"));
    }
    let key = core::str::from_utf8(key)
        .map_err(|_| HandshakeError::InvalidHeaderValue("sec-websocket-key"))?
        .to_owned();

    let mut subprotocols = Vec::new();
    for protocol in header_values(&headers, "sec-websocket-protocol").flat_map(list_elements) {
        let protocol = core::str::from_utf8(protocol)
            .ok()
            .filter(|p| is_token(p.as_bytes()))
            .ok_or(HandshakeError::InvalidHeaderValue("sec-websocket-protocol"))?;
        subprotocols.push(protocol.to_owned());
    }
    let extensions = parse_extensions(header_values(&headers, "sec-websocket-extensions"))?;

    let origin = match single_value(&headers, "origin")? {
        None => None,
        Some(origin) => Some(
            core::str::from_utf8(origin)
                .map_err(|_| HandshakeError::InvalidHeaderValue("origin"))?
                .to_owned(),
        ),
    };

    Ok(Request {
        method,
        path,
        headers,
        host,
        origin,
        key,
        subprotocols,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::handshake::test_util::{RFC_REQUEST, request_with, transmit_text};
    use crate::handshake::{Accept, ServerHandshake};
    use crate::time::Instant;
    use alloc::format;
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
    fn rfc_6455_request_split_at_every_point() {
        let mut input = RFC_REQUEST.as_bytes().to_vec();
        input.extend_from_slice(b"\x81\x85frame");
        let check = |chunks: &[&[u8]]| {
            let mut server = server();
            let mut request = None;
            for chunk in chunks {
                let got = server.handle_input(chunk).expect("valid request");
                assert!(
                    !(request.is_some() && got.is_some()),
                    "request returned twice"
                );
                request = request.or(got);
            }
            let request: Request = request.expect("complete request");
            assert_eq!(request.method(), "GET");
            assert_eq!(request.path(), "/chat");
            assert_eq!(request.host(), "server.example.com");
            assert_eq!(request.origin(), Some("http://example.com"));
            assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
            assert_eq!(
                request.subprotocols().collect::<Vec<_>>(),
                ["chat", "superchat"]
            );
            assert!(request.extensions().is_empty());
            assert_eq!(request.headers().len(), 7);
            assert_eq!(request.header("SEC-WEBSOCKET-VERSION"), Some(&b"13"[..]));
            assert!(server.transmit().is_empty());
            let leftover = server.accept(Accept::new()).expect("accept");
            assert_eq!(leftover.as_ref(), b"\x81\x85frame");
        };
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            check(&[a, b]);
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        check(&bytes);
    }

    #[test]
    fn bad_requests_queue_the_right_response() {
        let too_many = Limits::default().max_headers(6);
        let too_large = Limits::default().max_header_bytes(RFC_REQUEST.len() - 1);
        let default = Limits::default();
        let cases: Vec<(String, &Limits, HandshakeError, &[&str])> = vec![
            (
                RFC_REQUEST.replacen("GET", "POST", 1),
                &default,
                HandshakeError::MethodNotAllowed,
                &["HTTP/1.1 405 Method Not Allowed\r\n", "Allow: GET\r\n"],
            ),
            (
                RFC_REQUEST.replacen("HTTP/1.1", "HTTP/1.0", 1),
                &default,
                HandshakeError::Malformed("http version must be 1.1"),
                &["HTTP/1.1 400 Bad Request\r\n"],
            ),
            (
                request_with("Host", ""),
                &default,
                HandshakeError::MissingHeader("host"),
                &["HTTP/1.1 400 Bad Request\r\n"],
            ),
            (
                request_with("Host", "Host: a\r\nHost: b\r\n"),
                &default,
                HandshakeError::InvalidHeaderValue("host"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Host", "Host:\r\n"),
                &default,
                HandshakeError::InvalidHeaderValue("host"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Upgrade", ""),
                &default,
                HandshakeError::NotWebSocket {
                    path: "/chat".into(),
                },
                &[
                    "HTTP/1.1 426 ",
                    "Upgrade: websocket\r\n",
                    "Sec-WebSocket-Version: 13\r\n",
                ],
            ),
            (
                request_with("Upgrade", "Upgrade: h2c\r\n"),
                &default,
                HandshakeError::InvalidHeaderValue("upgrade"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Connection", ""),
                &default,
                HandshakeError::MissingHeader("connection"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Connection", "Connection: keep-alive\r\n"),
                &default,
                HandshakeError::InvalidHeaderValue("connection"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Sec-WebSocket-Key", ""),
                &default,
                HandshakeError::MissingHeader("sec-websocket-key"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with(
                    "Sec-WebSocket-Key",
                    "Sec-WebSocket-Key: not base64 at all!!!!!!\r\n",
                ),
                &default,
                HandshakeError::InvalidHeaderValue("sec-websocket-key"),
                &["HTTP/1.1 400 "],
            ),
            (
                // 15 bytes.
                request_with(
                    "Sec-WebSocket-Key",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n",
                ),
                &default,
                HandshakeError::InvalidHeaderValue("sec-websocket-key"),
                &["HTTP/1.1 400 "],
            ),
            (
                // 17 bytes.
                request_with(
                    "Sec-WebSocket-Key",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXM=\r\n",
                ),
                &default,
                HandshakeError::InvalidHeaderValue("sec-websocket-key"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n"),
                &default,
                HandshakeError::UnsupportedVersion,
                &[
                    "HTTP/1.1 426 Upgrade Required\r\n",
                    "Sec-WebSocket-Version: 13\r\n",
                    "Upgrade: websocket\r\n",
                ],
            ),
            (
                request_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8\r\n"),
                &default,
                HandshakeError::UnsupportedVersion,
                &["HTTP/1.1 426 ", "Sec-WebSocket-Version: 13\r\n"],
            ),
            (
                request_with("Sec-WebSocket-Version", ""),
                &default,
                HandshakeError::MissingHeader("sec-websocket-version"),
                &["HTTP/1.1 426 ", "Sec-WebSocket-Version: 13\r\n"],
            ),
            (
                request_with(
                    "Sec-WebSocket-Protocol",
                    "Sec-WebSocket-Protocol: chat, a b\r\n",
                ),
                &default,
                HandshakeError::InvalidHeaderValue("sec-websocket-protocol"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Origin", "Sec-WebSocket-Extensions: a; b=\r\n"),
                &default,
                HandshakeError::InvalidExtensionHeader,
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Origin", "Content-Length: 4\r\n"),
                &default,
                HandshakeError::Malformed("an upgrade request must not have a body"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Origin", "Transfer-Encoding: chunked\r\n"),
                &default,
                HandshakeError::Malformed("an upgrade request must not have a body"),
                &["HTTP/1.1 400 "],
            ),
            (
                request_with("Origin", "Bad Header\r\n"),
                &default,
                HandshakeError::Malformed("invalid header name"),
                &["HTTP/1.1 400 "],
            ),
            (
                "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03\r\n".into(),
                &default,
                HandshakeError::Malformed("invalid token in start line"),
                &["HTTP/1.1 400 "],
            ),
            (
                RFC_REQUEST.into(),
                &too_many,
                HandshakeError::TooManyHeaders,
                &["HTTP/1.1 431 Request Header Fields Too Large\r\n"],
            ),
            (
                RFC_REQUEST.into(),
                &too_large,
                HandshakeError::HeadTooLarge,
                &["HTTP/1.1 431 Request Header Fields Too Large\r\n"],
            ),
        ];
        for (input, limits, error, must_contain) in cases {
            let mut server = ServerHandshake::new(limits, Instant::ZERO, None);
            assert_eq!(
                server.handle_input(input.as_bytes()),
                Err(error.clone()),
                "{input:?}"
            );
            let text = transmit_text(&server);
            assert!(text.starts_with(must_contain[0]), "{input:?}: {text}");
            for needle in must_contain {
                assert!(text.contains(needle), "{input:?} lacks {needle:?}: {text}");
            }
            let body = format!("{error}\n");
            assert!(text.contains("close\r\n"), "{text}");
            assert!(
                text.contains(&format!("Content-Length: {}\r\n", body.len())),
                "{text}"
            );
            assert!(text.ends_with(&format!("\r\n\r\n{body}")), "{text}");
            // Sticky, and nothing more is queued.
            let queued = server.transmit().len();
            assert_eq!(
                server.handle_input(RFC_REQUEST.as_bytes()),
                Err(error.clone())
            );
            assert_eq!(server.transmit().len(), queued);
            assert!(matches!(
                server.accept(Accept::new()),
                Err(HandshakeError::InvalidState(_))
            ));
            assert_eq!(server.poll_timeout(), None);
        }
    }

    #[test]
    fn subprotocol_negotiation_follows_client_preference() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("Sec-WebSocket-Protocol: b, a\r\n", &["a", "b"], Some("b")),
            ("Sec-WebSocket-Protocol: a, b\r\n", &["b", "a"], Some("a")),
            (
                "Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: y, a\r\n",
                &["a", "y"],
                Some("y"),
            ),
            ("Sec-WebSocket-Protocol: x\r\n", &["a"], None),
            ("Sec-WebSocket-Protocol: Chat\r\n", &["chat"], None),
            ("", &["a"], None),
        ];
        for (line, supported, expected) in cases {
            let input = request_with("Sec-WebSocket-Protocol", line);
            let (mut server, request) = receive(input.as_bytes());
            let accept = Accept::new().negotiate_subprotocol(&request, supported);
            assert_eq!(accept.subprotocol.as_deref(), *expected, "{line}");
            assert!(server.accept(accept).is_ok());
            let text = transmit_text(&server);
            match expected {
                Some(p) => assert!(text.contains(&format!("Sec-WebSocket-Protocol: {p}\r\n"))),
                None => assert!(!text.contains("Sec-WebSocket-Protocol")),
            }
        }
    }

    #[test]
    fn lenient_but_valid_requests_are_accepted() {
        let cases = [
            request_with("Connection", "Connection: keep-alive, Upgrade\r\n"),
            request_with(
                "Connection",
                "Connection: keep-alive\r\nConnection: upgrade\r\n",
            ),
            request_with("Upgrade", "Upgrade: WebSocket\r\n"),
            request_with("Upgrade", "Upgrade: h2c, websocket\r\n"),
            RFC_REQUEST
                .to_lowercase()
                .replacen("get", "GET", 1)
                .replacen("http/1.1", "HTTP/1.1", 1)
                .replace(
                    "sec-websocket-key: dghlihnhbxbszsbub25jzq==",
                    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
                ),
            request_with(
                "Sec-WebSocket-Key",
                "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n",
            ),
            request_with("Origin", "Content-Length: 0\r\n"),
            format!("\r\n{RFC_REQUEST}"),
            RFC_REQUEST.replace("\r\n", "\n"),
        ];
        for input in cases {
            let mut server = server();
            let got = server.handle_input(input.as_bytes());
            assert!(matches!(got, Ok(Some(_))), "{input:?}: {got:?}");
            assert!(server.accept(Accept::new()).is_ok());
            assert!(transmit_text(&server).contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        }
    }

    #[test]
    fn bytes_after_the_head_are_kept_only_up_to_the_head_limit() {
        let limits = Limits::default().max_header_bytes(1024);
        let head = RFC_REQUEST.as_bytes();

        // In the chunk that completes the head: up to the limit is kept...
        let mut server = ServerHandshake::new(&limits, Instant::ZERO, None);
        let mut input = head.to_vec();
        input.extend_from_slice(&[0x82; 1024]);
        assert!(server.handle_input(&input).unwrap().is_some());
        // ...and so is later input, until the total passes it.
        assert_eq!(server.handle_input(&[]), Ok(None));
        assert_eq!(server.handle_input(&[0x82]), Err(HandshakeError::EarlyData));
        assert!(transmit_text(&server).starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert_eq!(
            server.handle_input(b"x"),
            Err(HandshakeError::EarlyData),
            "sticky"
        );
        assert!(server.accept(Accept::new()).is_err());

        // One chunk with a head and more than the limit after it is refused at once.
        let mut server = ServerHandshake::new(&limits, Instant::ZERO, None);
        input.push(0x82);
        assert_eq!(server.handle_input(&input), Err(HandshakeError::EarlyData));
        assert_eq!(HandshakeError::EarlyData.http_status(), Some(400));

        // A client that waits for the response, as RFC 6455 asks, never meets the limit.
        let mut server = ServerHandshake::new(&limits, Instant::ZERO, None);
        assert!(server.handle_input(head).unwrap().is_some());
        assert!(server.accept(Accept::new()).unwrap().is_empty());
    }
}
