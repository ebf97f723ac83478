//! HTTP/1.1 helpers shared by the client and server handshakes (RFC 7230, RFC 6455 §4, §9.1).
//!
//! Job: read a bounded HTTP head incrementally ([`HeadReader`]), look headers up
//! case-insensitively, test comma-separated token lists, validate header names and values we are
//! about to write, compute `Sec-WebSocket-Accept`, and parse `Sec-WebSocket-Extensions`.
//!
//! Invariants:
//! - nothing here panics on peer input: all slicing goes through `get`;
//! - [`HeadReader`] never holds more than `max_header_bytes` of head, and re-parses only when a
//!   new line arrived, so a peer trickling bytes cannot make it do quadratic work beyond
//!   `max_headers × max_header_bytes`;
//! - every header we write passed [`is_valid_header_name`] and [`is_valid_header_value`], so no
//!   caller input can inject a line break into a head.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use sha1::{Digest, Sha1};

use super::HandshakeError;
use crate::config::Limits;

/// The GUID appended to the key before hashing (RFC 6455 §1.3, §4.2.2).
const WEBSOCKET_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: base64 of the SHA-1 of the key
/// followed by the RFC's GUID (RFC 6455 §1.3, §4.2.2 point 5.4).
///
/// Pass the key exactly as it appears in the header (its base64 text, not the decoded bytes).
///
/// ```
/// use wsproto_core::handshake::accept_key;
///
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID);
    STANDARD.encode(sha1.finalize())
}

/// The value of the first header called `name`, compared ASCII case-insensitively
/// (RFC 7230 §3.2: field names are case-insensitive).
pub(crate) fn find_header<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    header_values(headers, name).next()
}

/// The values of every header called `name`, in order (RFC 7230 §3.2.2 allows a list-valued
/// header to be split over several lines).
pub(crate) fn header_values<'a, 'n>(
    headers: &'a [(String, Vec<u8>)],
    name: &'n str,
) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// `value` without leading and trailing optional whitespace (RFC 7230 §3.2.3: SP and HTAB).
pub(crate) fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    value.get(start..end).unwrap_or_default()
}

/// The non-empty, trimmed elements of a comma-separated list value (RFC 7230 §7: empty
/// elements are ignored).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Whether any element of the comma-separated lists in `values` equals `token`, ignoring ASCII
/// case (used for `Connection: keep-alive, Upgrade` and `Upgrade: websocket`, RFC 6455 §4.1).
pub(crate) fn token_list_contains<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
    token: &str,
) -> bool {
    values
        .into_iter()
        .flat_map(list_elements)
        .any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// Checks that header `name` is present (else [`HandshakeError::MissingHeader`]) and that its
/// token lists contain `token` (else [`HandshakeError::InvalidHeaderValue`]).
pub(crate) fn check_token(
    headers: &[(String, Vec<u8>)],
    name: &'static str,
    token: &str,
) -> Result<(), HandshakeError> {
    if find_header(headers, name).is_none() {
        return Err(HandshakeError::MissingHeader(name));
    }
    if !token_list_contains(header_values(headers, name), token) {
        return Err(HandshakeError::InvalidHeaderValue(name));
    }
    Ok(())
}

/// The trimmed value of header `name`, which must appear exactly once: `Ok(None)` when absent,
/// [`HandshakeError::InvalidHeaderValue`] when repeated.
pub(crate) fn single_value<'a>(
    headers: &'a [(String, Vec<u8>)],
    name: &'static str,
) -> Result<Option<&'a [u8]>, HandshakeError> {
    let mut values = header_values(headers, name);
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(Some(trim_ows(value))),
        (Some(_), Some(_)) => Err(HandshakeError::InvalidHeaderValue(name)),
    }
}

/// Like [`single_value`], but absence is [`HandshakeError::MissingHeader`].
pub(crate) fn required_single<'a>(
    headers: &'a [(String, Vec<u8>)],
    name: &'static str,
) -> Result<&'a [u8], HandshakeError> {
    single_value(headers, name)?.ok_or(HandshakeError::MissingHeader(name))
}

/// Whether `b` is a `tchar` (RFC 7230 §3.2.6).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a non-empty `token` (RFC 7230 §3.2.6).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|b| is_tchar(*b))
}

/// Whether `name` may be written as a header name: a non-empty token.
pub(crate) fn is_valid_header_name(name: &str) -> bool {
    is_token(name.as_bytes())
}

/// Whether `value` may be written as a header value: no control characters except HTAB, so in
/// particular no CR, LF or NUL that could split or truncate the head (RFC 7230 §3.2).
pub(crate) fn is_valid_header_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f))
}

/// Appends `name: value\r\n`; both must already be validated.
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Copies parsed headers into owned `(name, value)` pairs.
pub(crate) fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (String::from(h.name), h.value.to_vec()))
        .collect()
}

/// The standard reason phrase of `status` (RFC 7231 §6, RFC 6585), or `""` when unknown.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Maps an `httparse` error to ours.
fn map_parse_error(error: httparse::Error) -> HandshakeError {
    match error {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        httparse::Error::HeaderName => HandshakeError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => HandshakeError::Malformed("invalid header value"),
        httparse::Error::NewLine => HandshakeError::Malformed("invalid line ending"),
        httparse::Error::Status => HandshakeError::Malformed("invalid status code"),
        httparse::Error::Token => HandshakeError::Malformed("invalid token in start line"),
        httparse::Error::Version => HandshakeError::Malformed("invalid http version"),
    }
}

/// The outcome of one parse attempt: `Some((head length, parsed value))` when complete, `None`
/// when more bytes are needed.
pub(crate) type ParseResult<T> = Result<Option<(usize, T)>, httparse::Error>;

/// Accumulates an HTTP head across reads and hands it to a parser (RFC 7230 §3).
///
/// Holds at most `max_header_bytes`; bytes after the head (in the same read) are returned
/// untouched as leftover, because they already belong to the WebSocket connection.
#[derive(Debug)]
pub(crate) struct HeadReader {
    buf: Vec<u8>,
    max_bytes: usize,
    max_headers: usize,
}

impl HeadReader {
    /// The largest head accepted, [`Limits::max_header_bytes`]; also what a server keeps of
    /// the bytes that follow a request head before it answers.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// An empty reader bounded by `limits`.
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            buf: Vec::new(),
            max_bytes: limits.get_max_header_bytes(),
            max_headers: limits.get_max_headers(),
        }
    }

    /// Adds `input` and tries to parse the head with `parse`.
    ///
    /// Returns `Ok(None)` while the head is incomplete, `Ok(Some((value, leftover)))` once it is
    /// complete, and an error for malformed or oversized heads. `parse` must copy out whatever it
    /// needs; it runs only when `input` contains a line feed.
    pub(crate) fn push<T>(
        &mut self,
        input: &[u8],
        parse: impl for<'b> FnOnce(&'b [u8], &mut [httparse::Header<'b>]) -> ParseResult<T>,
    ) -> Result<Option<(T, Bytes)>, HandshakeError> {
        let mut input = input;
        if self.buf.is_empty() {
            // RFC 7230 §3.5: ignore empty lines before the start line. Dropping them here also
            // keeps every buffered line a start line or a header line, which bounds re-parsing.
            let skip = input
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            input = input.get(skip..).unwrap_or_default();
        }
        let room = self.max_bytes.saturating_sub(self.buf.len());
        let (taken, rest) = input
            .split_at_checked(room.min(input.len()))
            .unwrap_or((input, &[]));
        self.buf.extend_from_slice(taken);
        if taken.contains(&b'\n') {
            let mut headers = vec![httparse::EMPTY_HEADER; self.max_headers];
            if let Some((len, value)) = parse(&self.buf, &mut headers).map_err(map_parse_error)? {
                let after = self.buf.get(len..).unwrap_or_default();
                let mut leftover = Vec::with_capacity(after.len() + rest.len());
                leftover.extend_from_slice(after);
                leftover.extend_from_slice(rest);
                self.buf = Vec::new();
                return Ok(Some((value, Bytes::from(leftover))));
            }
        }
        if self.buf.len() >= self.max_bytes && !(self.buf.is_empty() && rest.is_empty()) {
            // The whole allowance is used and the head is still incomplete.
            return Err(HandshakeError::HeadTooLarge);
        }
        Ok(None)
    }
}

/// One entry of a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1): an extension name and its
/// parameters, for example `permessage-deflate; client_max_window_bits=10`.
///
/// Parameter values are always tokens: RFC 6455 §9.1 requires a quoted value to be a token
/// once unquoted, so `Display` writes every value bare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParams {
    name: String,
    params: Vec<(String, Option<String>)>,
}

impl ExtensionParams {
    /// The extension's name, for example `permessage-deflate`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All parameters in order: name and value, `None` for a parameter without `=value`.
    #[must_use]
    pub fn params(&self) -> &[(String, Option<String>)] {
        &self.params
    }

    /// The first parameter called `name` (compared ASCII case-insensitively): `None` when
    /// absent, `Some(None)` when present without a value, `Some(Some(value))` otherwise.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

impl fmt::Display for ExtensionParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(value) => write!(f, "; {name}={value}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// Parses the values of every `Sec-WebSocket-Extensions` header (RFC 6455 §9.1), in order.
///
/// Grammar: a comma-separated list of extensions, each a token followed by `;`-separated
/// parameters `token [= (token | quoted-string)]`; whitespace around separators is allowed and
/// empty list elements are skipped (RFC 7230 §7). A quoted value must be a token once unquoted.
///
/// # Errors
///
/// [`HandshakeError::InvalidExtensionHeader`] for anything else.
///
/// ```
/// use wsproto_core::handshake::parse_extensions;
///
/// let value: &[u8] = b"permessage-deflate; client_max_window_bits, x-foo; level=\"3\"";
/// let parsed = parse_extensions([value])?;
/// assert_eq!(parsed[0].name(), "permessage-deflate");
/// assert_eq!(parsed[0].param("client_max_window_bits"), Some(None));
/// assert_eq!(parsed[1].param("level"), Some(Some("3")));
/// # Ok::<(), wsproto_core::handshake::HandshakeError>(())
/// ```
pub fn parse_extensions<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<ExtensionParams>, HandshakeError> {
    let mut out = Vec::new();
    for value in values {
        parse_extension_value(value, &mut out).ok_or(HandshakeError::InvalidExtensionHeader)?;
    }
    Ok(out)
}

/// Parses one header value into `out`; `None` if it is malformed.
fn parse_extension_value(value: &[u8], out: &mut Vec<ExtensionParams>) -> Option<()> {
    let mut cur = Cursor {
        bytes: value,
        pos: 0,
    };
    loop {
        cur.skip_ows();
        match cur.peek() {
            None => return Some(()),
            Some(b',') => {
                cur.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = cur.token()?;
        let mut params = Vec::new();
        cur.skip_ows();
        while cur.peek() == Some(b';') {
            cur.pos += 1;
            cur.skip_ows();
            let param = cur.token()?;
            cur.skip_ows();
            let mut param_value = None;
            if cur.peek() == Some(b'=') {
                cur.pos += 1;
                cur.skip_ows();
                let v = if cur.peek() == Some(b'"') {
                    cur.quoted_token()?
                } else {
                    cur.token()?
                };
                param_value = Some(v);
                cur.skip_ows();
            }
            params.push((param, param_value));
        }
        out.push(ExtensionParams { name, params });
        match cur.peek() {
            None => return Some(()),
            Some(b',') => cur.pos += 1,
            Some(_) => return None,
        }
    }
}

/// A read position in a header value.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A non-empty run of `tchar`s.
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let token = self.bytes.get(start..self.pos)?;
        if token.is_empty() {
            return None;
        }
        core::str::from_utf8(token).ok().map(String::from)
    }

    /// A quoted-string (RFC 7230 §3.2.6) whose unescaped content is a token (RFC 6455 §9.1).
    fn quoted_token(&mut self) -> Option<String> {
        self.pos += 1; // opening quote
        let mut content = Vec::new();
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    content.push(self.peek()?);
                    self.pos += 1;
                }
                _ => content.push(b),
            }
        }
        if !is_token(&content) {
            return None;
        }
        String::from_utf8(content).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn token_lists() {
        let cases: &[(&[&[u8]], &str, bool)] = &[
            (&[b"Upgrade"], "upgrade", true),
            (&[b"keep-alive, Upgrade"], "upgrade", true),
            (&[b"keep-alive,upgrade "], "upgrade", true),
            (&[b"keep-alive", b"UPGRADE"], "upgrade", true),
            (&[b" , ,websocket"], "websocket", true),
            (&[b"keep-alive"], "upgrade", false),
            (&[b"upgraded"], "upgrade", false),
            (&[b""], "upgrade", false),
            (&[], "upgrade", false),
        ];
        for (values, token, expected) in cases {
            assert_eq!(
                token_list_contains(values.iter().copied(), token),
                *expected,
                "{values:?}"
            );
        }
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let headers = vec![
            ("Host".to_string(), b"a".to_vec()),
            ("x-Thing".to_string(), b"1".to_vec()),
            ("X-THING".to_string(), b"2".to_vec()),
        ];
        assert_eq!(find_header(&headers, "HOST"), Some(&b"a"[..]));
        assert_eq!(find_header(&headers, "x-thing"), Some(&b"1"[..]));
        assert_eq!(header_values(&headers, "X-Thing").count(), 2);
        assert_eq!(find_header(&headers, "origin"), None);
    }

    #[test]
    fn header_validation() {
        let names: &[(&str, bool)] = &[
            ("X-Token", true),
            ("a", true),
            ("", false),
            ("Bad Name", false),
            ("Bad:Name", false),
            ("Bad\r\nName", false),
        ];
        for (name, ok) in names {
            assert_eq!(is_valid_header_name(name), *ok, "{name:?}");
        }
        let values: &[(&[u8], bool)] = &[
            (b"plain value", true),
            (b"tab\tok", true),
            (b"", true),
            (b"\xc3\xa9", true),
            (b"cr\rno", false),
            (b"lf\nno", false),
            (b"nul\0no", false),
            (b"del\x7fno", false),
        ];
        for (value, ok) in values {
            assert_eq!(is_valid_header_value(value), *ok, "{value:?}");
        }
    }

    #[test]
    fn trims_optional_whitespace() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"  a b\t", b"a b"),
            (b"", b""),
            (b" \t ", b""),
            (b"x", b"x"),
        ];
        for (input, expected) in cases {
            assert_eq!(trim_ows(input), *expected);
        }
    }

    #[test]
    fn extension_headers_parse() {
        type Expected<'a> = &'a [(&'a str, &'a [(&'a str, Option<&'a str>)])];
        let cases: &[(&[&[u8]], Expected<'_>)] = &[
            (&[b"permessage-deflate"], &[("permessage-deflate", &[])]),
            (
                &[b"permessage-deflate; client_max_window_bits"],
                &[("permessage-deflate", &[("client_max_window_bits", None)])],
            ),
            (
                &[b"  a ;x=1 ; y = \"2\" ,b;z  , ,"],
                &[
                    ("a", &[("x", Some("1")), ("y", Some("2"))]),
                    ("b", &[("z", None)]),
                ],
            ),
            (
                &[b"a", b"b; q=\"x\\yz\""],
                &[("a", &[]), ("b", &[("q", Some("xyz"))])],
            ),
            (&[b""], &[]),
            (&[], &[]),
        ];
        for (values, expected) in cases {
            let parsed = parse_extensions(values.iter().copied());
            let parsed = parsed.as_deref().unwrap_or_default();
            assert_eq!(parsed.len(), expected.len(), "{values:?}");
            for (got, (name, params)) in parsed.iter().zip(expected.iter()) {
                assert_eq!(got.name(), *name);
                let got_params: Vec<(&str, Option<&str>)> = got
                    .params()
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_deref()))
                    .collect();
                assert_eq!(got_params, *params, "{values:?}");
            }
        }
    }

    #[test]
    fn malformed_extension_headers_are_rejected() {
        let cases: &[&[u8]] = &[
            b";",
            b"a;",
            b"a; =1",
            b"a; x=",
            b"a; x=\"\"",
            b"a; x=\"1 2\"",
            b"a; x=\"unterminated",
            b"a; x=\"trailing-escape\\",
            b"a b",
            b"a; x=1 2",
            b"a=1",
            b"\"a\"",
            b"a; x=@",
            b"a\r\n",
        ];
        for value in cases {
            assert_eq!(
                parse_extensions([*value]),
                Err(HandshakeError::InvalidExtensionHeader),
                "{value:?}"
            );
        }
    }

    #[test]
    fn extension_display_round_trips() {
        let value: &[u8] =
            b"permessage-deflate;client_max_window_bits=\"10\"; server_no_context_takeover";
        let parsed = parse_extensions([value]).unwrap_or_default();
        let text: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["permessage-deflate; client_max_window_bits=10; server_no_context_takeover"]
        );
        assert_eq!(
            parsed
                .first()
                .and_then(|e| e.param("CLIENT_MAX_WINDOW_BITS")),
            Some(Some("10"))
        );
        assert_eq!(parsed.first().and_then(|e| e.param("missing")), None);
    }

    fn parse_request_head<'b>(
        buf: &'b [u8],
        headers: &mut [httparse::Header<'b>],
    ) -> ParseResult<usize> {
        let mut req = httparse::Request::new(headers);
        Ok(match req.parse(buf)? {
            httparse::Status::Complete(n) => Some((n, req.headers.len())),
            httparse::Status::Partial => None,
        })
    }

    #[test]
    fn head_reader_limits_and_leftover() {
        let head = b"\r\nGET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
        let stripped = head.len() - 2;
        // Exactly at the limit, with leftover in the same read.
        let limits = Limits::default().max_header_bytes(stripped);
        let mut reader = HeadReader::new(&limits);
        let mut input = head.to_vec();
        input.extend_from_slice(b"tail");
        let got = reader.push(&input, parse_request_head);
        assert_eq!(got, Ok(Some((2, Bytes::from_static(b"tail")))));

        // One byte over the limit.
        let limits = Limits::default().max_header_bytes(stripped - 1);
        let mut reader = HeadReader::new(&limits);
        let got = reader.push(head, parse_request_head);
        assert_eq!(got, Err(HandshakeError::HeadTooLarge));

        // Too many headers.
        let limits = Limits::default().max_headers(1);
        let mut reader = HeadReader::new(&limits);
        let got = reader.push(head, parse_request_head);
        assert_eq!(got, Err(HandshakeError::TooManyHeaders));

        // Partial input is not an error.
        let mut reader = HeadReader::new(&Limits::default());
        let got = reader.push(b"GET / HT", parse_request_head);
        assert_eq!(got, Ok(None));
        let got = reader.push(b"TP/1.1\r\n\r\n", parse_request_head);
        assert_eq!(got, Ok(Some((0, Bytes::new()))));
    }
}
