//! Parsing of `ws://` and `wss://` URLs (RFC 6455 §3) into what the client handshake needs.
//!
//! Job: split a URL into scheme, credentials, host, port and resource name, rejecting anything
//! that could not be written into a request line and `Host` header verbatim.
//!
//! Invariants: a parsed [`Url`] contains only printable ASCII without spaces, so the request
//! head built from it cannot be split or injected into; percent-escapes in the path are kept
//! as written (they are already valid on the wire), those in the userinfo are decoded for the
//! `Authorization` header.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::HandshakeError;

/// The parts of a WebSocket URL (RFC 6455 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    /// `wss` rather than `ws`.
    pub(crate) secure: bool,
    /// Registered name, IPv4 address, or IPv6 address without brackets.
    pub(crate) host: String,
    /// Whether `host` is an IPv6 literal (written in brackets in `Host`).
    pub(crate) ipv6: bool,
    /// The explicit port, or the scheme's default.
    pub(crate) port: u16,
    /// Path and query, at least `/`.
    pub(crate) resource: String,
    /// `Basic ...` built from the userinfo, if the URL had one.
    pub(crate) authorization: Option<String>,
}

impl Url {
    /// Parses `url`; see [`ClientRequest::from_url`](super::ClientRequest::from_url) for the
    /// accepted syntax.
    pub(crate) fn parse(url: &str) -> Result<Self, HandshakeError> {
        if !url.is_ascii() {
            return Err(HandshakeError::InvalidUrl(
                "url must be ascii (percent-encode the path, use punycode for the host)",
            ));
        }
        if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(HandshakeError::InvalidUrl(
                "url contains a space or control character",
            ));
        }
        if url.contains('#') {
            return Err(HandshakeError::InvalidUrl(
                "a websocket url must not have a fragment",
            ));
        }
        let (scheme, rest) = url.split_once("://").ok_or(HandshakeError::InvalidUrl(
            "url must start with ws:// or wss://",
        ))?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(HandshakeError::InvalidUrl("scheme must be ws or wss"));
        };

        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at_checked(authority_end).unwrap_or((rest, ""));
        let resource = match resource.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{resource}"),
            Some(_) => resource.to_owned(),
        };
        if !is_valid_uri_part(&resource, b":@/?") {
            return Err(HandshakeError::InvalidUrl(
                "invalid character in path or query",
            ));
        }

        let authority = Authority::parse(authority)?;
        let authorization = match authority.userinfo.filter(|u| !u.is_empty()) {
            Some(userinfo) => Some(basic_authorization(userinfo)?),
            None => None,
        };
        let (host, ipv6) = (authority.host, authority.ipv6);
        let port = match authority.port {
            None | Some("") => default_port(secure),
            Some(port) => parse_port(port)?,
        };

        Ok(Self {
            secure,
            host: host.to_owned(),
            ipv6,
            port,
            resource,
            authorization,
        })
    }
}

/// The port a scheme implies: 443 for `wss`, 80 for `ws` (RFC 6455 §3).
pub(crate) fn default_port(secure: bool) -> u16 {
    if secure { 443 } else { 80 }
}

/// The authority of a URL (RFC 3986 §3.2) split into its parts, checked for characters that
/// could not be written into a request head verbatim. Shared by WebSocket and proxy URLs.
pub(crate) struct Authority<'a> {
    /// The userinfo before `@`, still percent-encoded.
    pub(crate) userinfo: Option<&'a str>,
    /// Registered name, IPv4 address, or IPv6 address without brackets; never empty.
    pub(crate) host: &'a str,
    /// Whether `host` is an IPv6 literal.
    pub(crate) ipv6: bool,
    /// The port as written after `:` (maybe empty), if any.
    pub(crate) port: Option<&'a str>,
}

impl<'a> Authority<'a> {
    /// Splits `authority` (`[userinfo@]host[:port]`, IPv6 hosts in brackets).
    pub(crate) fn parse(authority: &'a str) -> Result<Self, HandshakeError> {
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (host, ipv6, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
            let (literal, after) = bracketed
                .split_once(']')
                .ok_or(HandshakeError::InvalidUrl("unterminated ipv6 literal"))?;
            if literal.parse::<core::net::Ipv6Addr>().is_err() {
                return Err(HandshakeError::InvalidUrl("invalid ipv6 literal"));
            }
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(HandshakeError::InvalidUrl(
                    "unexpected characters after ipv6 literal",
                ))?),
            };
            (literal, true, port)
        } else {
            let (host, port) = match host_port.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            };
            if !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            {
                return Err(HandshakeError::InvalidUrl("invalid character in host"));
            }
            (host, false, port)
        };
        if host.is_empty() {
            return Err(HandshakeError::InvalidUrl("missing host"));
        }
        Ok(Self {
            userinfo,
            host,
            ipv6,
            port,
        })
    }
}

/// Whether every byte of `part` is allowed in a URI component: unreserved, sub-delims, `extra`,
/// or a well-formed percent-escape (RFC 3986 §2).
pub(crate) fn is_valid_uri_part(part: &str, extra: &[u8]) -> bool {
    let bytes = part.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            hex(i + 1) && hex(i + 2)
        } else {
            b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b) || extra.contains(&b)
        }
    })
}

/// `Basic base64(user ":" password)` from a URL's userinfo, percent-decoded (RFC 7617 §2); a
/// userinfo without `:` means an empty password.
fn basic_authorization(userinfo: &str) -> Result<String, HandshakeError> {
    if !is_valid_uri_part(userinfo, b":") {
        return Err(HandshakeError::InvalidUrl(
            "invalid character or percent-escape in userinfo",
        ));
    }
    let mut credentials = percent_decode(userinfo).ok_or(HandshakeError::InvalidUrl(
        "invalid percent-escape in userinfo",
    ))?;
    if !userinfo.contains(':') {
        credentials.push(b':');
    }
    Ok(format!("Basic {}", STANDARD.encode(credentials)))
}

/// Decodes `%XX` escapes; `None` for a truncated or non-hex escape.
pub(crate) fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|d| char::from(*d).to_digit(16));
            let value = hex(i + 1)? * 16 + hex(i + 2)?;
            out.push(u8::try_from(value).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// A decimal port in 1..=65535.
pub(crate) fn parse_port(port: &str) -> Result<u16, HandshakeError> {
    const BAD_PORT: HandshakeError =
        HandshakeError::InvalidUrl("port must be a number from 1 to 65535");
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD_PORT);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(BAD_PORT),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (url, Some((secure, host, port, resource, authorization)) or None for an error).
    type Case = (
        &'static str,
        Option<(bool, &'static str, u16, &'static str, Option<&'static str>)>,
    );

    #[test]
    fn url_table() {
        let cases: &[Case] = &[
            (
                "ws://example.com/chat",
                Some((false, "example.com", 80, "/chat", None)),
            ),
            (
                "wss://example.com/chat",
                Some((true, "example.com", 443, "/chat", None)),
            ),
            (
                "WS://Example.com/",
                Some((false, "Example.com", 80, "/", None)),
            ),
            (
                "WsS://example.com",
                Some((true, "example.com", 443, "/", None)),
            ),
            (
                "ws://example.com",
                Some((false, "example.com", 80, "/", None)),
            ),
            (
                "ws://example.com:8080/x",
                Some((false, "example.com", 8080, "/x", None)),
            ),
            (
                "wss://example.com:80",
                Some((true, "example.com", 80, "/", None)),
            ),
            (
                "ws://example.com:/",
                Some((false, "example.com", 80, "/", None)),
            ),
            (
                "ws://127.0.0.1:9001",
                Some((false, "127.0.0.1", 9001, "/", None)),
            ),
            ("ws://[::1]/", Some((false, "::1", 80, "/", None))),
            (
                "wss://[2001:db8::7]:8443/a?b",
                Some((true, "2001:db8::7", 8443, "/a?b", None)),
            ),
            (
                "ws://h/p/a%20th?q=1&r=%2F",
                Some((false, "h", 80, "/p/a%20th?q=1&r=%2F", None)),
            ),
            ("ws://h?q=1", Some((false, "h", 80, "/?q=1", None))),
            ("ws://h/?", Some((false, "h", 80, "/?", None))),
            ("ws://h/a:b@c", Some((false, "h", 80, "/a:b@c", None))),
            (
                "ws://user:pass@h/",
                Some((false, "h", 80, "/", Some("Basic dXNlcjpwYXNz"))),
            ),
            (
                "ws://user:p%40ss@h",
                Some((false, "h", 80, "/", Some("Basic dXNlcjpwQHNz"))),
            ),
            (
                "ws://user@h",
                Some((false, "h", 80, "/", Some("Basic dXNlcjo="))),
            ),
            ("ws://@h", Some((false, "h", 80, "/", None))),
            ("http://example.com/", None),
            ("wsx://example.com/", None),
            ("example.com/chat", None),
            ("ws:/example.com", None),
            ("ws://example.com/chat#frag", None),
            ("ws://example.com/#", None),
            ("ws://example.com/\r\nX-Evil: 1", None),
            ("ws://example.com/\n", None),
            ("ws://example.com/a\0b", None),
            ("ws://example.com/a b", None),
            ("ws://example.com/a\tb", None),
            ("ws://example.com/\x7f", None),
            ("ws://exämple.com/", None),
            ("ws://exa\rmple.com/", None),
            ("ws:///chat", None),
            ("ws://", None),
            ("ws://:80/", None),
            ("ws://user@/", None),
            ("ws://example.com:0/", None),
            ("ws://example.com:65536/", None),
            ("ws://example.com:99999999999999999999/", None),
            ("ws://example.com:+80/", None),
            ("ws://example.com:http/", None),
            ("ws://example.com:80:81/", None),
            ("ws://[::1/", None),
            ("ws://[]/", None),
            ("ws://[::g]/", None),
            ("ws://[fe80::1%25eth0]/", None),
            ("ws://[::1]x/", None),
            ("ws://::1/", None),
            ("ws://ex<ample.com/", None),
            ("ws://h/<script>", None),
            ("ws://h/%zz", None),
            ("ws://h/%2", None),
            ("ws://us%er@h/", None),
            ("ws://us[er@h/", None),
        ];
        for (url, expected) in cases {
            let got = Url::parse(url);
            match (got, expected) {
                (Ok(got), Some((secure, host, port, resource, authorization))) => {
                    assert_eq!(got.secure, *secure, "{url}");
                    assert_eq!(got.host, *host, "{url}");
                    assert_eq!(got.port, *port, "{url}");
                    assert_eq!(got.resource, *resource, "{url}");
                    assert_eq!(got.authorization.as_deref(), *authorization, "{url}");
                    assert_eq!(got.ipv6, host.contains(':'), "{url}");
                }
                (Err(HandshakeError::InvalidUrl(_)), None) => {}
                (got, expected) => panic!("{url:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn percent_decoding() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("abc", Some(b"abc")),
            ("a%3Ab", Some(b"a:b")),
            ("%ff%00", Some(b"\xff\x00")),
            ("%", None),
            ("%4", None),
            ("%4g", None),
        ];
        for (text, expected) in cases {
            assert_eq!(percent_decode(text).as_deref(), *expected, "{text}");
        }
    }
}
