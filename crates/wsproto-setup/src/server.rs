//! The options an accepting server takes ([`ServerConfig`]) and the server's opening
//! handshake as one sans-IO sequence ([`ServerOpening`]) that every adapter drives. Adapters
//! add listening and accepting on top.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsproto_core::handshake::{Accept, HandshakeError, Request, ServerHandshake};
use wsproto_core::{Config, Connection, Extension, Limits};

use crate::deadline::Deadline;
use crate::error::{Error, Result};
use crate::http_response::HttpResponse;
use crate::info::HandshakeInfo;

/// What [`ServerConfig::decide`] settled for an accepted request, for
/// [`ServerConfig::upgrade`] to carry out.
pub struct Upgrade {
    pub(crate) accept: Accept,
    pub(crate) extension: Option<Box<dyn Extension>>,
    pub(crate) info: HandshakeInfo,
}

impl Upgrade {
    /// The subprotocol that will be selected, if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.accept.selected_subprotocol()
    }

    /// Whether an extension (permessage-deflate) will be enabled.
    #[must_use]
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }
}

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrade")
            .field("accept", &self.accept)
            .field("extension", &self.extension.is_some())
            .finish()
    }
}

/// The refusal a request check returns.
pub type Reject = HttpResponse;

type RequestCheck = Arc<dyn Fn(&Request) -> Result<(), HttpResponse> + Send + Sync>;
type PlainHttp = Arc<dyn Fn(&str) -> Option<HttpResponse> + Send + Sync>;
type FailedHandshake = Arc<dyn Fn(Option<SocketAddr>, &Error) + Send + Sync>;

/// How long a handshake must have been running before a new client at the
/// [pending-handshake cap](ServerConfig::max_pending_handshakes) may evict it: long enough
/// that honest clients queued behind a burst (or a round trip away) are not cut off, short
/// enough that the server drains a backlog of silent clients quickly: at the default cap,
/// 1 024 connections every 100 ms, so an honest client waits well under a second behind
/// a full listen backlog of them.
pub const EVICT_AFTER: Duration = Duration::from_millis(100);

/// How a server accepts connections.
#[derive(Clone)]
pub struct ServerConfig {
    pub(crate) config: Config,
    pub(crate) limits: Limits,
    subprotocols: Vec<String>,
    server_name: Option<String>,
    response_headers: Vec<(String, String)>,
    handshake_timeout: Duration,
    max_pending: usize,
    backlog: u32,
    check: Option<RequestCheck>,
    plain_http: Option<PlainHttp>,
    on_failed_handshake: Option<FailedHandshake>,
    keep_headers: bool,
    #[cfg(feature = "deflate")]
    deflate: Option<wsproto_core::deflate::DeflateConfig>,
    #[cfg(feature = "tls")]
    tls: Option<crate::ServerTls>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            config: Config::default(),
            limits: Limits::default(),
            subprotocols: Vec::new(),
            server_name: None,
            response_headers: Vec::new(),
            handshake_timeout: wsproto_core::handshake::DEFAULT_HANDSHAKE_TIMEOUT,
            max_pending: 1024,
            backlog: crate::DEFAULT_BACKLOG,
            check: None,
            plain_http: None,
            on_failed_handshake: None,
            keep_headers: false,
            #[cfg(feature = "deflate")]
            deflate: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ServerConfig {
    /// The engine's behaviour for accepted connections. Default [`Config::default`].
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Limits for accepted connections and their handshakes. Default [`Limits::default`].
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Adds a supported subprotocol. The first protocol in the *client's* order of preference
    /// that is supported is selected; none is selected if nothing matches.
    #[must_use]
    pub fn subprotocol(mut self, protocol: &str) -> Self {
        self.subprotocols.push(protocol.to_owned());
        self
    }

    /// The `Server` header of the 101 response (Qt's `serverName`). Default: none.
    #[must_use]
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    /// Adds a header to every `101 Switching Protocols` response, after the handshake's own
    /// (a cookie, a version, a CORS-style hint). Default: none. The name must be an HTTP
    /// token, the value free of control characters, and the name not one the handshake writes
    /// itself (`Upgrade`, `Sec-WebSocket-*`, ...); otherwise every upgrade fails with
    /// [`HandshakeError::InvalidHeader`] — try one in memory ([`ServerOpening`]) at startup to
    /// find out early. Each header costs its bytes once per accepted connection.
    #[must_use]
    pub fn response_header(mut self, name: &str, value: &str) -> Self {
        self.response_headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// How long a client has to complete its handshake before its socket is dropped.
    /// Default 10 s. Bounds what a silent or trickling client can hold.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Most handshakes in progress at once (Qt's `maxPendingConnections`), which bounds the
    /// memory that clients who never finish their handshake can hold. Default 1024.
    ///
    /// When the cap is reached and another client connects, the server still takes it and
    /// cuts off the *oldest* handshake still running, provided that one has been running for
    /// at least [`EVICT_AFTER`] (reported to
    /// [`on_failed_handshake`](Self::on_failed_handshake) as [`Error::evicted_handshake`]).
    /// A client that sends its request finishes in about a round trip, so the oldest are
    /// the silent and the trickling ones: a flood of those can no longer make honest clients
    /// wait for their timeouts, while a burst of honest clients that merely queue for the
    /// server is not cut short. Until the oldest is that old, and while finished handshakes
    /// the application has not taken fill the cap (those are never evicted), new
    /// connections wait in the kernel's backlog.
    #[must_use]
    pub fn max_pending_handshakes(mut self, count: usize) -> Self {
        self.max_pending = count.max(1);
        self
    }

    /// How many connections the kernel may hold waiting to be accepted (the listen backlog);
    /// default [`DEFAULT_BACKLOG`](crate::DEFAULT_BACKLOG), 1024. Linux caps it at
    /// `net.core.somaxconn`. Connections beyond it wait for SYN retransmits (a second or
    /// more), so a burst of clients needs room here.
    #[must_use]
    pub fn backlog(mut self, connections: u32) -> Self {
        self.backlog = connections.max(1);
        self
    }

    /// Inspects each valid upgrade request (path, `Origin`, headers...) before it is accepted;
    /// returning `Err(response)` refuses it with that response (e.g. 403 for a foreign origin).
    #[must_use]
    pub fn check_request(
        mut self,
        check: impl Fn(&Request) -> Result<(), HttpResponse> + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    /// Answers plain HTTP `GET` requests (no `Upgrade` header) for a path, e.g. with a page;
    /// `None` keeps the default 426 Upgrade Required.
    #[must_use]
    pub fn plain_http(
        mut self,
        handler: impl Fn(&str) -> Option<HttpResponse> + Send + Sync + 'static,
    ) -> Self {
        self.plain_http = Some(Arc::new(handler));
        self
    }

    /// Tells `hook` about every handshake a server fails or refuses — an invalid request,
    /// a refusal by [`check_request`](Self::check_request), a timeout, a plain HTTP request
    /// (answered with a [`plain_http`](Self::plain_http) page or 426) — with the client's
    /// address (`None` if the socket could not tell) and the error, so a server can log who
    /// was turned away and why. Default: none; the servers count failures either way
    /// (`failed_handshakes`).
    ///
    /// The servers of every adapter call it through
    /// [`report_failed_handshake`](Self::report_failed_handshake), once per failed handshake,
    /// on the task or thread that ran the handshake: keep it quick and non-blocking.
    #[must_use]
    pub fn on_failed_handshake(
        mut self,
        hook: impl Fn(Option<SocketAddr>, &Error) + Send + Sync + 'static,
    ) -> Self {
        self.on_failed_handshake = Some(Arc::new(hook));
        self
    }
}

impl ServerConfig {
    /// The behaviour accepted connections get.
    #[must_use]
    pub fn get_config(&self) -> &Config {
        &self.config
    }

    /// The limits accepted connections and handshakes get.
    #[must_use]
    pub fn get_limits(&self) -> &Limits {
        &self.limits
    }

    /// Keeps the client's request headers after the upgrade, for
    /// [`HandshakeInfo::headers`]. Default off: they
    /// would cost a few hundred bytes for the connection's whole life, and
    /// [`check_request`](Self::check_request) sees every header either way.
    #[must_use]
    pub fn keep_request_headers(mut self, keep: bool) -> Self {
        self.keep_headers = keep;
        self
    }

    /// Accepts permessage-deflate (RFC 7692) from clients that offer it, with these
    /// parameters; `None` (default) declines compression. Each compressed connection keeps
    /// zlib state (about 300 KB with the default 15-bit window and context takeover).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, deflate: Option<wsproto_core::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Serves `wss://` with this certificate: every accepted connection does TLS first, within
    /// the same handshake timeout and pending-handshake cap. Default: plain `ws://`.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(mut self, tls: crate::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The certificate connections are served with, if any (see [`tls`](Self::tls)).
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn get_tls(&self) -> Option<&crate::ServerTls> {
        self.tls.as_ref()
    }

    /// The URL scheme this server is reached with: `wss` with a certificate, else `ws`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return "wss";
        }
        "ws"
    }

    /// The answer to a valid upgrade request: the request check's refusal, or the
    /// [`Upgrade`] to perform — subprotocol negotiated in the client's order of preference,
    /// the server name, the extra response headers, and permessage-deflate if configured and
    /// offered. Every adapter,
    /// async or blocking, decides through this one function.
    pub fn decide(&self, request: &Request) -> Result<Upgrade, HttpResponse> {
        if let Some(check) = &self.check {
            check(request)?;
        }
        let supported: Vec<&str> = self.subprotocols.iter().map(String::as_str).collect();
        let mut accept = Accept::new().negotiate_subprotocol(request, &supported);
        if let Some(name) = &self.server_name {
            accept = accept.server_name(name);
        }
        for (name, value) in &self.response_headers {
            accept = accept.header(name, value);
        }
        let mut extension: Option<Box<dyn Extension>> = None;
        #[cfg(feature = "deflate")]
        if let Some((answer, deflate)) = self
            .deflate
            .as_ref()
            .and_then(|d| d.negotiate(request.extensions()))
        {
            accept = accept.extension(&answer);
            extension = Some(Box::new(deflate));
        }
        let headers = if self.keep_headers {
            request.headers().to_vec()
        } else {
            Vec::new()
        };
        let info = HandshakeInfo::new(
            accept.selected_subprotocol().map(str::to_owned),
            headers,
            Some(request.path().to_owned()),
        );
        Ok(Upgrade {
            accept,
            extension,
            info,
        })
    }

    /// Performs `upgrade` on the handshake that produced its request: queues the 101 in the
    /// new connection ahead of any frame, feeds it the leftover bytes and installs the
    /// negotiated extension.
    pub fn upgrade(
        &self,
        machine: ServerHandshake,
        upgrade: Upgrade,
        now: wsproto_core::Instant,
    ) -> Result<(Connection, HandshakeInfo)> {
        let Upgrade {
            accept,
            extension,
            info,
        } = upgrade;
        let conn = machine.accept_into_connection(
            accept,
            self.config.clone(),
            self.limits.clone(),
            now,
        )?;
        let conn = match extension {
            Some(extension) => conn.with_extension(extension),
            None => conn,
        };
        Ok((conn, info))
    }

    /// The page configured with [`plain_http`](Self::plain_http) for a plain `GET` of `path`.
    #[must_use]
    pub fn page_for(&self, path: &str) -> Option<HttpResponse> {
        self.plain_http.as_ref().and_then(|page| page(path))
    }

    /// Hands a failed handshake to the [`on_failed_handshake`](Self::on_failed_handshake)
    /// hook, if one is set. Servers call this once for each handshake that did not produce a
    /// connection (not for handshakes abandoned because the server itself shut down).
    pub fn report_failed_handshake(&self, peer: Option<SocketAddr>, error: &Error) {
        #[cfg(feature = "tracing")]
        tracing::info!(target: "wsproto", peer = ?peer, "server handshake failed: {error}");
        if let Some(hook) = &self.on_failed_handshake {
            hook(peer, error);
        }
    }

    /// See [`ServerConfig::handshake_timeout`].
    #[must_use]
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// See [`ServerConfig::max_pending_handshakes`].
    #[must_use]
    pub fn get_max_pending_handshakes(&self) -> usize {
        self.max_pending
    }

    /// See [`ServerConfig::backlog`].
    #[must_use]
    pub fn get_backlog(&self) -> u32 {
        self.backlog
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("subprotocols", &self.subprotocols)
            .field("server_name", &self.server_name)
            .field("response_headers", &self.response_headers)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

/// The server's opening handshake on one accepted stream, from the first byte to an open
/// [`Connection`], as one sans-IO sequence: the adapter feeds what it reads to
/// [`handle_input`](Self::handle_input) until that says the request was accepted, then
/// [`finish`](Self::finish)es (the 101 is queued in the connection ahead of any frame). When
/// `handle_input` fails, the response to send instead (the error status, the refusal, or a
/// [`ServerConfig::plain_http`] page) is in [`transmit`](Self::transmit): the adapter writes
/// it, ends its sending side and returns the error. Every decision is made here, once for
/// all adapters.
///
/// The deadline ([`ServerConfig::handshake_timeout`]) counts from [`new`](Self::new).
pub struct ServerOpening<'a> {
    config: &'a ServerConfig,
    machine: ServerHandshake,
    upgrade: Option<Upgrade>,
    deadline: Deadline,
    /// Run once when the request head is complete (see [`claimed_by`](Self::claimed_by)).
    claim: Option<Claim<'a>>,
}

/// See [`ServerOpening::claimed_by`].
type Claim<'a> = Box<dyn FnOnce() -> bool + Send + Sync + 'a>;

impl<'a> ServerOpening<'a> {
    /// Starts the handshake on a stream accepted now.
    #[must_use]
    pub fn new(config: &'a ServerConfig) -> Self {
        Self {
            machine: ServerHandshake::new(&config.limits, wsproto_core::Instant::ZERO, None),
            config,
            upgrade: None,
            deadline: Deadline::start(config.handshake_timeout),
            claim: None,
        }
    }

    /// Claims the handshake's pending slot once its request head is complete: `claim`
    /// returns `false` when the server already evicted this handshake (at the
    /// [pending-handshake cap](ServerConfig::max_pending_handshakes)), which then ends with
    /// [`Error::evicted_handshake`] without answering; once it returned `true` the server
    /// must not evict it any more.
    ///
    /// Eviction is for the silent and the trickling: a client whose whole request arrived is
    /// answered, never cut off after (or while) its `101` goes out, however late the server
    /// got round to reading it.
    #[must_use]
    pub fn claimed_by(mut self, claim: impl FnOnce() -> bool + Send + Sync + 'a) -> Self {
        self.claim = Some(Box::new(claim));
        self
    }

    /// When the handshake must be done, and the instant the engine will count from.
    #[must_use]
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// Feeds bytes read from the client; `Ok(true)` once the request is complete and the
    /// server accepts it. On `Err`, [`transmit`](Self::transmit) holds the response to send
    /// before closing: [`Error::Handshake`] for an invalid request (or
    /// [`HandshakeError::NotWebSocket`] after queuing a configured page), [`Error::Refused`]
    /// with the status the request check chose, or [`Error::evicted_handshake`] with nothing
    /// to send when the [claim](Self::claimed_by) failed.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<bool> {
        if self.upgrade.is_some() {
            return Ok(true);
        }
        let request = match self.machine.handle_input(bytes) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(false),
            Err(error) => {
                if let HandshakeError::NotWebSocket { path } = &error
                    && let Some(page) = self.config.page_for(path)
                {
                    page.queue_on(&mut self.machine)?;
                }
                return Err(Error::Handshake(error));
            }
        };
        if let Some(claim) = self.claim.take()
            && !claim()
        {
            return Err(Error::evicted_handshake());
        }
        match self.config.decide(&request) {
            Ok(upgrade) => {
                self.upgrade = Some(upgrade);
                Ok(true)
            }
            Err(refusal) => {
                refusal.queue_on(&mut self.machine)?;
                Err(Error::Refused(refusal.status()))
            }
        }
    }

    /// The error for a stream that ended before the request was complete.
    #[must_use]
    pub fn handle_eof(&self) -> Error {
        Error::Handshake(HandshakeError::UnexpectedEof)
    }

    /// The response to write after [`handle_input`](Self::handle_input) failed (empty if
    /// there is none to send).
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.machine.transmit()
    }

    /// The open connection (its 101 queued ahead of any frame, the bytes that followed the
    /// request fed in, the negotiated extension installed) and what the handshake settled,
    /// once [`handle_input`](Self::handle_input) accepted the request. Also returns the
    /// instant the engine's clock counts from.
    pub fn finish(self) -> Result<(Connection, HandshakeInfo, Instant)> {
        let Some(upgrade) = self.upgrade else {
            return Err(Error::Handshake(HandshakeError::InvalidState(
                "the upgrade request is not complete yet",
            )));
        };
        let now = self.deadline.engine_now();
        let (conn, info) = self.config.upgrade(self.machine, upgrade, now)?;
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "wsproto",
            path = info.path(),
            subprotocol = info.subprotocol(),
            compressed = conn.has_extension(),
            "server handshake accepted"
        );
        Ok((conn, info, self.deadline.origin()))
    }
}

impl std::fmt::Debug for ServerOpening<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOpening")
            .field("deadline", &self.deadline)
            .field("upgrade", &self.upgrade)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientConfig;
    use crate::ClientOpening;
    use crate::Exchange as _;

    fn request(path: &str, extra: &str) -> Vec<u8> {
        format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             {extra}\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn both_openings_meet_in_memory_and_settle_the_same_subprotocol() {
        let server_config = ServerConfig::default().subprotocol("b").subprotocol("a");
        let options = ClientConfig::default().subprotocol("a").subprotocol("b");
        let mut client = ClientOpening::new("ws://example.com/chat?x=1", options).unwrap();
        assert_eq!(
            (client.host(), client.port(), client.is_secure()),
            ("example.com", 80, false)
        );
        let mut server = ServerOpening::new(&server_config);
        // The request arrives one byte at a time.
        let request = client.transmit().to_vec();
        client.advance_transmit(request.len());
        let (last, head) = request.split_last().unwrap();
        for byte in head {
            assert!(!server.handle_input(std::slice::from_ref(byte)).unwrap());
        }
        assert!(server.handle_input(&[*last]).unwrap());
        let (mut server_conn, server_info, _) = server.finish().unwrap();
        assert_eq!(server_info.subprotocol(), Some("a"));
        assert_eq!(server_info.path(), Some("/chat?x=1"));
        // The 101 and a first frame leave together; the frame stays for the connection.
        server_conn.send_text("hi").unwrap();
        let response = server_conn.transmit().to_vec();
        assert!(response.starts_with(b"HTTP/1.1 101 "));
        assert!(client.handle_input(&response).unwrap());
        let (mut client_conn, client_info, _) = client.finish().unwrap();
        assert_eq!(client_info.subprotocol(), Some("a"));
        match client_conn.poll_event().unwrap() {
            Some(wsproto_core::Event::Message(message)) => {
                assert_eq!(&message.payload()[..], b"hi")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_claim_runs_once_the_head_is_complete_and_an_evicted_handshake_stays_silent() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let config = ServerConfig::default();
        let request = request("/", "");
        let (head, last) = request.split_at(request.len() - 1);
        for (granted, answered) in [(true, true), (false, false)] {
            let claims = AtomicUsize::new(0);
            let mut opening = ServerOpening::new(&config).claimed_by(|| {
                claims.fetch_add(1, Ordering::SeqCst);
                granted
            });
            assert!(!opening.handle_input(head).unwrap());
            let outcome = opening.handle_input(last);
            if answered {
                assert!(outcome.unwrap());
                assert!(opening.finish().is_ok());
            } else {
                let error = outcome.unwrap_err();
                assert_eq!(error.to_string(), Error::evicted_handshake().to_string());
                assert!(
                    opening.transmit().is_empty(),
                    "an evicted handshake says nothing"
                );
                assert!(opening.finish().is_err());
            }
            assert_eq!(claims.load(Ordering::SeqCst), 1, "claimed exactly once");
        }
    }

    #[test]
    fn a_refused_request_leaves_its_response_to_send() {
        let config =
            ServerConfig::default().check_request(|_| Err(HttpResponse::new(403).body("no")));
        let mut opening = ServerOpening::new(&config);
        let error = opening.handle_input(&request("/", "")).unwrap_err();
        assert!(matches!(error, Error::Refused(403)), "{error}");
        assert!(opening.transmit().starts_with(b"HTTP/1.1 403 "));
        assert!(opening.transmit().ends_with(b"no"));
        assert!(opening.finish().is_err());
    }

    #[test]
    fn a_plain_get_gets_the_configured_page_and_an_invalid_one_its_status() {
        let config = ServerConfig::default()
            .plain_http(|path| (path == "/").then(|| HttpResponse::new(200).body("page")));
        let mut opening = ServerOpening::new(&config);
        let error = opening
            .handle_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap_err();
        assert!(matches!(
            error,
            Error::Handshake(HandshakeError::NotWebSocket { .. })
        ));
        assert!(opening.transmit().starts_with(b"HTTP/1.1 200 "));
        let mut opening = ServerOpening::new(&config);
        assert!(opening.handle_input(b"POST / HTTP/1.1\r\n\r\n").is_err());
        assert!(opening.transmit().starts_with(b"HTTP/1.1 405 "));
    }

    #[test]
    fn response_headers_follow_the_handshakes_own_and_bad_ones_fail_the_upgrade() {
        let config = ServerConfig::default()
            .server_name("wsproto")
            .response_header("X-Served-By", "test")
            .response_header("Set-Cookie", "a=1");
        let mut opening = ServerOpening::new(&config);
        assert!(opening.handle_input(&request("/", "")).unwrap());
        let (conn, _, _) = opening.finish().unwrap();
        let head = String::from_utf8(conn.transmit().to_vec()).unwrap();
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert!(
            head.ends_with("Server: wsproto\r\nX-Served-By: test\r\nSet-Cookie: a=1\r\n\r\n"),
            "{head}"
        );
        for (name, value) in [
            ("Sec-WebSocket-Accept", "x"),
            ("Bad Name", "x"),
            ("X", "a\r\nb"),
        ] {
            let config = ServerConfig::default().response_header(name, value);
            let mut opening = ServerOpening::new(&config);
            assert!(opening.handle_input(&request("/", "")).unwrap());
            let error = opening.finish().unwrap_err();
            assert!(
                matches!(
                    error,
                    Error::Handshake(HandshakeError::InvalidHeader { .. })
                ),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn a_failed_handshake_reaches_the_hook_with_its_peer() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let config = ServerConfig::default().on_failed_handshake(move |peer, error| {
            record.lock().unwrap().push((peer, error.to_string()));
        });
        let peer: SocketAddr = "127.0.0.1:4242".parse().unwrap();
        let mut opening = ServerOpening::new(&config);
        let error = opening
            .handle_input(b"POST / HTTP/1.1\r\n\r\n")
            .unwrap_err();
        config.report_failed_handshake(Some(peer), &error);
        ServerConfig::default().report_failed_handshake(None, &error);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "only the configured hook is called");
        assert_eq!(seen[0].0, Some(peer));
        assert!(seen[0].1.contains("only a get request"), "{}", seen[0].1);
    }

    #[test]
    fn the_deadline_is_the_handshake_timeout_from_the_start() {
        let config = ServerConfig::default().handshake_timeout(Duration::from_secs(2));
        let opening = ServerOpening::new(&config);
        let deadline = opening.deadline();
        assert_eq!(deadline.at() - deadline.origin(), Duration::from_secs(2));
        assert_eq!(
            deadline.time_left(deadline.origin()).unwrap(),
            Duration::from_secs(2)
        );
        let late = deadline.time_left(deadline.at()).unwrap_err();
        assert!(late.is_timeout(), "{late}");
        assert!(matches!(
            opening.handle_eof(),
            Error::Handshake(HandshakeError::UnexpectedEof)
        ));
    }
}
