//! The HTTP `CONNECT` tunnel (RFC 9110 §9.3.6): one request, one answer; any 2xx opens the
//! tunnel, anything else is a [`Rejection`] with the start of its body.
//!
//! Invariants: the answer's head is bounded by the [`Limits`]' header limits, the refusal's
//! body by [`MAX_REFUSAL_BODY`]; interim 1xx answers are skipped; bytes after a 2xx head are
//! an error ([`ProxyError::UnexpectedData`]), never silently dropped.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

use super::error::{MAX_REFUSAL_BODY, ProxyError};
use super::{Credentials, Outbox, Target};
use crate::Limits;
use crate::handshake::Rejection;
use crate::handshake::http::{HeadReader, find_header, owned_headers, trim_ows};

/// The HTTP side of a [`Tunnel`](super::Tunnel): the answer to one `CONNECT`.
#[derive(Debug)]
pub(crate) struct HttpConnect {
    reader: HeadReader,
    /// A refusal whose body is being read.
    refusal: Option<Refusal>,
}

#[derive(Debug)]
struct Refusal {
    head: Box<Rejection>,
    body: Vec<u8>,
    /// Body bytes still announced by `Content-Length`; `None` reads until the proxy closes
    /// (or [`MAX_REFUSAL_BODY`] is reached).
    remaining: Option<usize>,
}

impl Refusal {
    fn into_error(self) -> ProxyError {
        let mut head = self.head;
        head.body = Bytes::from(self.body);
        ProxyError::Refused(head)
    }
}

impl HttpConnect {
    /// Queues the `CONNECT` request for `target:port` in `out`, with
    /// `Proxy-Authorization: Basic` when `credentials` are given.
    pub(crate) fn new(
        target: Target<'_>,
        port: u16,
        credentials: Option<&Credentials>,
        limits: &Limits,
        out: &mut Outbox,
    ) -> Self {
        let authority = match target {
            Target::Ip(core::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            Target::Ip(ip) => format!("{ip}:{port}"),
            Target::Name(name) => format!("{name}:{port}"),
        };
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(credentials) = credentials {
            let token =
                STANDARD.encode(format!("{}:{}", credentials.user(), credentials.password()));
            request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        request.push_str("\r\n");
        out.queue(request.into_bytes());
        Self {
            reader: HeadReader::new(limits),
            refusal: None,
        }
    }

    /// Feeds the proxy's answer: `Ok(true)` on a 2xx head, `Ok(false)` while more is needed,
    /// the refusal once its body is read (to its length or [`MAX_REFUSAL_BODY`]).
    pub(crate) fn handle_input(&mut self, input: &[u8]) -> Result<bool, ProxyError> {
        // What followed a head, when a head was complete: consumed by the next state.
        let mut rest: Option<Bytes> = None;
        loop {
            let input: &[u8] = rest.as_deref().unwrap_or(input);
            if let Some(refusal) = &mut self.refusal {
                let room = MAX_REFUSAL_BODY.saturating_sub(refusal.body.len());
                let take = input
                    .len()
                    .min(room)
                    .min(refusal.remaining.unwrap_or(usize::MAX));
                refusal
                    .body
                    .extend_from_slice(input.get(..take).unwrap_or_default());
                if let Some(remaining) = &mut refusal.remaining {
                    *remaining -= take;
                }
                let done = refusal.remaining == Some(0) || refusal.body.len() >= MAX_REFUSAL_BODY;
                return match (done, self.refusal.take()) {
                    (true, Some(refusal)) => Err(refusal.into_error()),
                    (_, taken) => {
                        self.refusal = taken;
                        Ok(false)
                    }
                };
            }
            let Some((head, leftover)) = self.read_head(input)? else {
                return Ok(false);
            };
            match head.status {
                // Interim: the next head follows.
                100..=199 if leftover.is_empty() => return Ok(false),
                100..=199 => {}
                200..=299 if leftover.is_empty() => return Ok(true),
                200..=299 => return Err(ProxyError::UnexpectedData),
                _ => {
                    let remaining = content_length(&head.headers);
                    let refusal = Refusal {
                        head: Box::new(head),
                        body: Vec::new(),
                        remaining,
                    };
                    if remaining == Some(0) {
                        return Err(refusal.into_error());
                    }
                    self.refusal = Some(refusal);
                }
            }
            rest = Some(leftover);
        }
    }

    /// The error for a proxy that closed the connection now: a refusal whose body was being
    /// read ends there; otherwise [`ProxyError::Closed`].
    pub(crate) fn handle_eof(&self) -> ProxyError {
        match &self.refusal {
            Some(refusal) => {
                let mut head = refusal.head.clone();
                head.body = Bytes::copy_from_slice(&refusal.body);
                ProxyError::Refused(head)
            }
            None => ProxyError::Closed,
        }
    }

    fn read_head(&mut self, input: &[u8]) -> Result<Option<(Rejection, Bytes)>, ProxyError> {
        self.reader
            .push(input, |buf, headers| {
                let mut response = httparse::Response::new(headers);
                Ok(match response.parse(buf)? {
                    httparse::Status::Partial => None,
                    httparse::Status::Complete(len) => Some((
                        len,
                        Rejection {
                            status: response.code.unwrap_or_default(),
                            reason: response.reason.unwrap_or_default().to_owned(),
                            headers: owned_headers(response.headers),
                            body: Bytes::new(),
                        },
                    )),
                })
            })
            .map_err(ProxyError::BadResponse)
    }
}

/// The `Content-Length` of a head, when present and valid.
fn content_length(headers: &[(alloc::string::String, Vec<u8>)]) -> Option<usize> {
    find_header(headers, "content-length")
        .and_then(|value| core::str::from_utf8(trim_ows(value)).ok())
        .and_then(|value| value.parse::<usize>().ok())
}

#[cfg(test)]
mod tests {
    use super::super::{ProxyUrl, Tunnel};
    use super::*;
    use alloc::string::ToString;

    fn connect(proxy: &str) -> Tunnel {
        let proxy = ProxyUrl::parse(proxy).unwrap();
        let mut tunnel = Tunnel::new(
            &proxy,
            Target::Name("example.com"),
            8443,
            &Limits::default(),
        )
        .unwrap();
        tunnel.advance_transmit(tunnel.transmit().len());
        tunnel
    }

    #[test]
    fn request_names_the_target_and_carries_credentials() {
        let proxy = ProxyUrl::parse("http://Aladdin:open%20sesame@p:1").unwrap();
        let tunnel =
            Tunnel::new(&proxy, Target::Name("example.com"), 443, &Limits::default()).unwrap();
        assert_eq!(
            tunnel.transmit(),
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
              Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        let plain = ProxyUrl::parse("http://p:1").unwrap();
        let ipv6 = Tunnel::new(
            &plain,
            Target::Ip("::1".parse().unwrap()),
            80,
            &Limits::default(),
        )
        .unwrap();
        assert!(
            ipv6.transmit()
                .starts_with(b"CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n")
        );
    }

    #[test]
    fn any_2xx_opens_even_byte_by_byte() {
        let mut tunnel = connect("http://p:1");
        let answer = b"HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n";
        let (last, head) = answer.split_last().unwrap();
        for byte in head {
            assert_eq!(tunnel.handle_input(&[*byte]), Ok(false));
        }
        assert_eq!(tunnel.handle_input(&[*last]), Ok(true));
        let mut other = connect("http://p:1");
        assert_eq!(
            other.handle_input(b"HTTP/1.1 204 No Content\r\n\r\n"),
            Ok(true)
        );
    }

    #[test]
    fn a_grant_before_the_request_was_written_is_refused() {
        let proxy = ProxyUrl::parse("http://p:1").unwrap();
        let mut tunnel = Tunnel::new(&proxy, Target::Name("h"), 1, &Limits::default()).unwrap();
        tunnel.advance_transmit(3);
        assert_eq!(
            tunnel.handle_input(b"HTTP/1.1 200 OK\r\n\r\n"),
            Err(ProxyError::UnexpectedData)
        );
    }

    #[test]
    fn interim_answers_are_skipped() {
        let mut tunnel = connect("http://p:1");
        let answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(tunnel.handle_input(answer), Ok(true));
        let mut split = connect("http://p:1");
        assert_eq!(
            split.handle_input(b"HTTP/1.1 100 Continue\r\n\r\n"),
            Ok(false)
        );
        assert_eq!(split.handle_input(b"HTTP/1.1 200 OK\r\n\r\n"), Ok(true));
    }

    #[test]
    fn a_407_reports_status_schemes_and_body() {
        let mut tunnel = connect("http://p:1");
        let head = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
            Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 6\r\n\r\nden";
        assert_eq!(tunnel.handle_input(head), Ok(false));
        let error = tunnel.handle_input(b"ied").unwrap_err();
        let ProxyError::Refused(refusal) = &error else {
            panic!("a refusal");
        };
        assert_eq!(refusal.status(), 407);
        assert_eq!(refusal.body().as_ref(), b"denied");
        assert_eq!(
            refusal.authenticate().collect::<Vec<_>>(),
            ["Basic realm=\"corp\""]
        );
        assert!(error.needs_credentials());
        let text = error.to_string();
        assert!(
            text.contains("407") && text.contains("Basic realm"),
            "{text}"
        );
        // Sticky.
        assert!(matches!(
            tunnel.handle_input(b""),
            Err(ProxyError::Refused(_))
        ));
    }

    #[test]
    fn a_refusal_without_length_ends_with_the_connection_or_the_cap() {
        let mut tunnel = connect("http://p:1");
        assert_eq!(
            tunnel.handle_input(b"HTTP/1.0 403 Forbidden\r\n\r\n<html>no"),
            Ok(false)
        );
        let ProxyError::Refused(refusal) = tunnel.handle_eof() else {
            panic!("a refusal");
        };
        assert_eq!(
            (refusal.status(), refusal.body().as_ref()),
            (403, &b"<html>no"[..])
        );

        let mut flood = connect("http://p:1");
        assert_eq!(
            flood.handle_input(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"),
            Ok(false)
        );
        let body = [b'x'; MAX_REFUSAL_BODY + 10];
        let Err(ProxyError::Refused(refusal)) = flood.handle_input(&body) else {
            panic!("a refusal at the cap");
        };
        assert_eq!(refusal.body().len(), MAX_REFUSAL_BODY);
        let mut empty = connect("http://p:1");
        assert!(matches!(
            empty.handle_input(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
            Err(ProxyError::Refused(_))
        ));
    }

    #[test]
    fn garbage_early_data_and_early_close_are_errors() {
        let mut garbage = connect("http://p:1");
        assert!(matches!(
            garbage.handle_input(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(ProxyError::BadResponse(_))
        ));
        let mut early = connect("http://p:1");
        assert_eq!(
            early.handle_input(b"HTTP/1.1 200 OK\r\n\r\nhello"),
            Err(ProxyError::UnexpectedData)
        );
        let mut closed = connect("http://p:1");
        assert_eq!(closed.handle_input(b"HTTP/1.1 2"), Ok(false));
        assert_eq!(closed.handle_eof(), ProxyError::Closed);
        let mut huge = connect("http://p:1");
        let long = [b'a'; 20_000];
        assert_eq!(huge.handle_input(b"HTTP/1.1 200 OK\r\nX: "), Ok(false));
        assert!(matches!(
            huge.handle_input(&long),
            Err(ProxyError::BadResponse(_))
        ));
    }
}
