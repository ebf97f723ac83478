//! What a client asks for (RFC 6455 §4.1): the URL's parts plus origin, subprotocols,
//! extension offers and extra headers, and the request head built from them.
//!
//! Job: record the caller's choices cheaply, then validate them all at once and serialize the
//! `GET` upgrade request.
//!
//! Invariants: the builder methods never fail; [`ClientRequest::build`] refuses any header name
//! that is not a token, any value with control characters, invalid subprotocols or extension
//! offers, and extra headers that would duplicate a generated one, so the head it returns is
//! well-formed HTTP/1.1 with exactly one of each handshake header.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::http::{is_token, is_valid_header_name, is_valid_header_value, write_header};
use super::url::{Url, default_port};
use super::{HandshakeError, parse_extensions};

/// What to ask for: built from a `ws://` or `wss://` URL (RFC 6455 §3, §4.1), plus the optional
/// `Origin`, subprotocols, extension offers and extra headers.
///
/// [`from_url`](Self::from_url) validates the URL; the builder methods only record their
/// arguments, which [`ClientHandshake::new`](super::ClientHandshake::new) validates when it builds the request. Credentials
/// in the URL (`ws://user:pass@host/`) become an `Authorization: Basic` header; `Debug` output
/// redacts them and prints only the names of extra headers.
///
/// ```
/// use wsproto_core::handshake::ClientRequest;
///
/// let request = ClientRequest::from_url("wss://example.com/feed?x=1")?
///     .origin("https://example.com")
///     .subprotocol("v2.feed")
///     .subprotocol("v1.feed");
/// assert_eq!((request.host(), request.port(), request.resource()), ("example.com", 443, "/feed?x=1"));
/// assert!(request.is_secure());
/// # Ok::<(), wsproto_core::handshake::HandshakeError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRequest {
    secure: bool,
    host: String,
    ipv6: bool,
    port: u16,
    resource: String,
    authorization: Option<String>,
    origin: Option<String>,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// Parses a `ws://` or `wss://` URL (RFC 6455 §3).
    ///
    /// Accepts a case-insensitive scheme, optional `user[:password]@` (percent-decoded into an
    /// `Authorization: Basic` header, RFC 7617), a host that is a registered name or IPv4 address
    /// made of letters, digits, `-`, `.`, `_`, `~`, or a bracketed IPv6 literal (no zone id), an
    /// optional port (default 80 for `ws`, 443 for `wss`; an empty port means the default), and
    /// a path with query (default `/`).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidUrl`] for another scheme, a `#fragment` (RFC 6455 §3 forbids
    /// it), any space, control or non-ASCII character (so nothing can inject a header line), a
    /// missing or malformed host, a port outside 1..=65535, or a malformed percent-escape.
    pub fn from_url(url: &str) -> Result<Self, HandshakeError> {
        let url = Url::parse(url)?;
        Ok(Self {
            secure: url.secure,
            host: url.host,
            ipv6: url.ipv6,
            port: url.port,
            resource: url.resource,
            authorization: url.authorization,
            origin: None,
            subprotocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
        })
    }

    /// Adds an extra request header, written after the handshake's own headers in call order.
    ///
    /// Validated by [`ClientHandshake::new`](super::ClientHandshake::new): the name must be a token, the value must not
    /// contain control characters (CR, LF, NUL, ...), and it must not duplicate a header the
    /// handshake writes (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-*`, and `Origin` or
    /// `Authorization` when those are set through [`origin`](Self::origin) or the URL).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the `Origin` header (RFC 6455 §4.1 point 8, §10.2); browsers always send one,
    /// other clients may.
    #[must_use]
    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.to_owned());
        self
    }

    /// Offers a subprotocol in `Sec-WebSocket-Protocol` (RFC 6455 §4.1 point 10, §1.9).
    ///
    /// Call once per protocol, most preferred first. Each must be a token and unique; the server
    /// picks at most one, and any other answer fails the handshake.
    #[must_use]
    pub fn subprotocol(mut self, protocol: &str) -> Self {
        self.subprotocols.push(protocol.to_owned());
        self
    }

    /// Adds a raw `Sec-WebSocket-Extensions` offer (RFC 6455 §9.1), for example
    /// `permessage-deflate; client_max_window_bits`.
    ///
    /// Offers are comma-joined in call order. The server may accept only extensions named in an
    /// offer; checking the accepted parameters is the extension's job.
    #[must_use]
    pub fn extension(mut self, offer: &str) -> Self {
        self.extensions.push(offer.to_owned());
        self
    }

    /// The host to connect to: a registered name, an IPv4 address, or an IPv6 address without
    /// its brackets.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port to connect to (the URL's, or 80 for `ws`, 443 for `wss`).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL was `wss://`, meaning the caller must run the handshake over TLS.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The request target: path and query, `/` when the URL had none (RFC 6455 §3).
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The offered subprotocols, most preferred first.
    #[must_use]
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The raw extension offers, in the order they will be sent.
    #[must_use]
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Validates what the builder methods recorded and writes the request head with `key` as
    /// `Sec-WebSocket-Key` (RFC 6455 §4.1); see [`ClientHandshake::new`](super::ClientHandshake::new).
    pub(crate) fn build(self, key: &str) -> Result<BuiltRequest, HandshakeError> {
        let invalid = |name: &str| HandshakeError::InvalidHeader {
            name: name.to_owned(),
        };
        for (name, value) in &self.headers {
            if !is_valid_header_name(name)
                || !is_valid_header_value(value.as_bytes())
                || self.is_generated(name)
            {
                return Err(invalid(name));
            }
        }
        if let Some(origin) = &self.origin
            && !is_valid_header_value(origin.as_bytes())
        {
            return Err(invalid("Origin"));
        }
        for (i, protocol) in self.subprotocols.iter().enumerate() {
            let duplicate = self
                .subprotocols
                .get(..i)
                .unwrap_or_default()
                .contains(protocol);
            if !is_token(protocol.as_bytes()) || duplicate {
                return Err(invalid("Sec-WebSocket-Protocol"));
            }
        }
        let mut offered_extensions = Vec::new();
        for offer in &self.extensions {
            let parsed = parse_extensions([offer.as_bytes()])
                .ok()
                .filter(|p| !p.is_empty() && is_valid_header_value(offer.as_bytes()))
                .ok_or_else(|| invalid("Sec-WebSocket-Extensions"))?;
            offered_extensions.extend(parsed.into_iter().map(|e| e.name().to_owned()));
        }

        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.resource.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_header(&mut out, "Host", self.host_header().as_bytes());
        write_header(&mut out, "Upgrade", b"websocket");
        write_header(&mut out, "Connection", b"Upgrade");
        write_header(&mut out, "Sec-WebSocket-Key", key.as_bytes());
        write_header(&mut out, "Sec-WebSocket-Version", b"13");
        if let Some(origin) = &self.origin {
            write_header(&mut out, "Origin", origin.as_bytes());
        }
        if !self.subprotocols.is_empty() {
            let joined = self.subprotocols.join(", ");
            write_header(&mut out, "Sec-WebSocket-Protocol", joined.as_bytes());
        }
        if !self.extensions.is_empty() {
            let joined = self.extensions.join(", ");
            write_header(&mut out, "Sec-WebSocket-Extensions", joined.as_bytes());
        }
        if let Some(authorization) = &self.authorization {
            write_header(&mut out, "Authorization", authorization.as_bytes());
        }
        for (name, value) in &self.headers {
            write_header(&mut out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");

        Ok(BuiltRequest {
            head: out,
            offered_protocols: self.subprotocols,
            offered_extensions,
        })
    }

    /// The `Host` header value: the host (IPv6 in brackets) and the port unless it is the
    /// scheme's default (RFC 6455 §4.1 point 4, RFC 7230 §5.4).
    fn host_header(&self) -> String {
        let host = if self.ipv6 {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default_port(self.secure) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Whether an extra header called `name` would duplicate one the handshake writes.
    fn is_generated(&self, name: &str) -> bool {
        const ALWAYS: [&str; 7] = [
            "host",
            "upgrade",
            "connection",
            "sec-websocket-key",
            "sec-websocket-version",
            "sec-websocket-protocol",
            "sec-websocket-extensions",
        ];
        ALWAYS.iter().any(|g| g.eq_ignore_ascii_case(name))
            || (self.origin.is_some() && name.eq_ignore_ascii_case("origin"))
            || (self.authorization.is_some() && name.eq_ignore_ascii_case("authorization"))
    }
}

impl fmt::Debug for ClientRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ClientRequest")
            .field("secure", &self.secure)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("resource", &self.resource)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("origin", &self.origin)
            .field("subprotocols", &self.subprotocols)
            .field("extensions", &self.extensions)
            .field("header_names", &header_names)
            .finish()
    }
}

/// A validated request head and what it offered, for the response checks.
pub(crate) struct BuiltRequest {
    /// The complete request head, ending with the empty line.
    pub(crate) head: Vec<u8>,
    /// The offered subprotocols, in preference order.
    pub(crate) offered_protocols: Vec<String>,
    /// The names of the offered extensions.
    pub(crate) offered_extensions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(request: ClientRequest) -> String {
        let built = request.build("a2V5").map(|b| b.head).unwrap_or_default();
        String::from_utf8(built).unwrap_or_default()
    }

    #[test]
    fn head_is_exact() {
        let request = ClientRequest::from_url("ws://h/x")
            .expect("valid url")
            .origin("http://o")
            .extension("a")
            .extension("b; c=1");
        let expected = "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\nOrigin: http://o\r\n\
             Sec-WebSocket-Extensions: a, b; c=1\r\n\r\n";
        assert_eq!(head(request), expected);
    }

    #[test]
    fn host_header_omits_default_port_and_brackets_ipv6() {
        let cases = [
            ("ws://example.com/", "Host: example.com\r\n"),
            ("ws://example.com:443/", "Host: example.com:443\r\n"),
            ("wss://example.com:443/", "Host: example.com\r\n"),
            ("wss://example.com:80/", "Host: example.com:80\r\n"),
            ("ws://[::1]/", "Host: [::1]\r\n"),
            ("wss://[::1]:9000/", "Host: [::1]:9000\r\n"),
        ];
        for (url, host) in cases {
            let request = ClientRequest::from_url(url).expect("valid url");
            let text = head(request);
            assert!(text.contains(host), "{url}: {text}");
        }
    }

    #[test]
    fn invalid_caller_input_is_refused() {
        let base = || ClientRequest::from_url("ws://h/").expect("valid url");
        let cases: &[(ClientRequest, &str)] = &[
            (base().header("X-Evil", "a\r\nInjected: 1"), "X-Evil"),
            (base().header("X-Nul", "a\0b"), "X-Nul"),
            (base().header("Bad Name", "v"), "Bad Name"),
            (base().header("", "v"), ""),
            (base().header("host", "other"), "host"),
            (base().header("Sec-WebSocket-Key", "x"), "Sec-WebSocket-Key"),
            (
                base().header("Sec-WebSocket-Protocol", "x"),
                "Sec-WebSocket-Protocol",
            ),
            (base().header("CONNECTION", "close"), "CONNECTION"),
            (base().origin("o").header("Origin", "o2"), "Origin"),
            (base().origin("http://a\r\nX: 1"), "Origin"),
            (base().subprotocol("a b"), "Sec-WebSocket-Protocol"),
            (base().subprotocol(""), "Sec-WebSocket-Protocol"),
            (
                base().subprotocol("a").subprotocol("a"),
                "Sec-WebSocket-Protocol",
            ),
            (base().extension("x; =1"), "Sec-WebSocket-Extensions"),
            (base().extension(""), "Sec-WebSocket-Extensions"),
            (base().extension("x\r\n"), "Sec-WebSocket-Extensions"),
            (
                ClientRequest::from_url("ws://u:p@h/")
                    .expect("valid url")
                    .header("authorization", "Bearer t"),
                "authorization",
            ),
        ];
        for (request, name) in cases {
            let got = request.clone().build("a2V5").err();
            let expected = HandshakeError::InvalidHeader {
                name: (*name).into(),
            };
            assert_eq!(got, Some(expected), "{request:?}");
        }
        // Origin and Authorization are the caller's to set when the handshake does not.
        let text = head(
            base()
                .header("Origin", "https://a")
                .header("Authorization", "Bearer t"),
        );
        assert!(
            text.contains("Origin: https://a\r\nAuthorization: Bearer t\r\n"),
            "{text}"
        );
    }

    #[test]
    fn debug_redacts_credentials() {
        let request = ClientRequest::from_url("ws://user:secret@h/")
            .expect("valid url")
            .header("Cookie", "secret-cookie");
        let text = format!("{request:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("<redacted>"));
        assert!(text.contains("Cookie"));
    }

    #[test]
    fn getters() {
        let request = ClientRequest::from_url("wss://[::1]:9443/x?y")
            .expect("valid url")
            .subprotocol("a")
            .subprotocol("b")
            .extension("e1");
        assert_eq!(request.host(), "::1");
        assert_eq!(request.port(), 9443);
        assert!(request.is_secure());
        assert_eq!(request.resource(), "/x?y");
        assert_eq!(request.subprotocols(), ["a", "b"]);
        assert_eq!(request.extensions(), ["e1"]);
    }
}
