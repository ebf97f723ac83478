//! Tunnels through proxies, opened before the WebSocket handshake: HTTP `CONNECT`
//! (RFC 9110 §9.3.6) and SOCKS5 (RFC 1928, with RFC 1929 username/password), as sans-IO
//! machines like the opening handshake.
//!
//! The adapter connects to the proxy, then moves bytes: write [`Tunnel::transmit`] and
//! [`advance_transmit`](Tunnel::advance_transmit), read, feed [`Tunnel::handle_input`] until
//! it says the tunnel is open (or fails), and call [`Tunnel::handle_eof`] if the proxy closes
//! first. From then on the stream reaches the target: TLS and the WebSocket handshake run
//! inside it. The machines never read a clock: the adapter's handshake deadline covers them.
//!
//! Invariants: memory is bounded (heads by the [`Limits`], refusal bodies by
//! [`MAX_REFUSAL_BODY`], SOCKS replies by 262 bytes); nothing a proxy sends can panic; no error
//! or `Debug` output contains the proxy's password.
//!
//! ```
//! use wsproto_core::Limits;
//! use wsproto_core::proxy::{ProxyUrl, Target, Tunnel};
//!
//! let proxy = ProxyUrl::parse("http://user:pass@proxy.example:3128")?;
//! let mut tunnel = Tunnel::new(&proxy, Target::Name("example.com"), 443, &Limits::default())?;
//! // ... connect to proxy.example:3128, write `tunnel.transmit()` ...
//! tunnel.advance_transmit(tunnel.transmit().len());
//! assert!(tunnel.handle_input(b"HTTP/1.1 200 OK\r\n\r\n")?);
//! # Ok::<(), wsproto_core::proxy::ProxyError>(())
//! ```

mod error;
mod http_connect;
mod socks5;
mod url;

pub use error::{MAX_REFUSAL_BODY, ProxyError, SocksReply};
pub use url::{Credentials, DEFAULT_PROXY_PORT, ProxyKind, ProxyUrl};

use alloc::vec::Vec;

use crate::Limits;
use http_connect::HttpConnect;
use socks5::Socks5;

/// Where the tunnel should lead: a host name (resolved by the proxy) or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A registered name, sent to the proxy as it is.
    Name(&'a str),
    /// An IP address.
    Ip(core::net::IpAddr),
}

impl<'a> Target<'a> {
    /// `host` as a target: an IP literal (IPv6 without brackets) becomes [`Target::Ip`].
    #[must_use]
    pub fn from_host(host: &'a str) -> Self {
        match host.parse() {
            Ok(ip) => Self::Ip(ip),
            Err(_) => Self::Name(host),
        }
    }
}

/// A tunnel being opened through a proxy, whichever protocol it speaks.
#[derive(Debug)]
pub struct Tunnel {
    out: Outbox,
    state: State,
    protocol: Protocol,
}

#[derive(Debug)]
enum Protocol {
    Http(HttpConnect),
    Socks5(Socks5),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Opening,
    Open,
    Failed(ProxyError),
}

/// The message being written to the proxy, and how much of it went out.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    bytes: Vec<u8>,
    sent: usize,
}

impl Outbox {
    /// Queues `message` as the next thing to write (the previous one was written whole).
    pub(crate) fn queue(&mut self, message: Vec<u8>) {
        self.bytes = message;
        self.sent = 0;
    }

    fn pending(&self) -> &[u8] {
        self.bytes.get(self.sent..).unwrap_or_default()
    }

    fn advance(&mut self, n: usize) {
        self.sent = self.sent.saturating_add(n).min(self.bytes.len());
    }
}

impl Tunnel {
    /// The machine that opens a tunnel to `target:port` through `proxy`, with the proxy
    /// URL's credentials; `limits` bound an HTTP proxy's answer. A `socks5://` proxy
    /// expects the caller to have resolved a name already ([`Target::Ip`]); a name is sent
    /// as it is. Fails when the target or the credentials do not fit SOCKS5's 255-byte
    /// fields.
    pub fn new(
        proxy: &ProxyUrl,
        target: Target<'_>,
        port: u16,
        limits: &Limits,
    ) -> Result<Self, ProxyError> {
        let mut out = Outbox::default();
        let protocol = match proxy.kind() {
            ProxyKind::Http => Protocol::Http(HttpConnect::new(
                target,
                port,
                proxy.credentials(),
                limits,
                &mut out,
            )),
            ProxyKind::Socks5 { .. } => {
                Protocol::Socks5(Socks5::new(target, port, proxy.credentials(), &mut out)?)
            }
        };
        Ok(Self {
            out,
            state: State::Opening,
            protocol,
        })
    }

    /// The bytes still to write.
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.out.pending()
    }

    /// Records that `n` bytes of [`transmit`](Self::transmit) were written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.out.advance(n);
    }

    /// Feeds bytes read from the proxy: `Ok(true)` once the tunnel is open; after
    /// `Ok(false)`, write [`transmit`](Self::transmit) (it may hold the next step) and read
    /// again. An error is sticky: every later call returns it again.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<bool, ProxyError> {
        let result = match (&self.state, &mut self.protocol) {
            (State::Failed(error), _) => return Err(error.clone()),
            (State::Open, _) if bytes.is_empty() => return Ok(true),
            (State::Open, _) => Err(ProxyError::UnexpectedData),
            (State::Opening, Protocol::Http(machine)) => machine.handle_input(bytes),
            (State::Opening, Protocol::Socks5(machine)) => {
                machine.handle_input(bytes, &mut self.out)
            }
        };
        // A tunnel cannot be granted before its request was written whole: what is left
        // would go to the target.
        let result = match result {
            Ok(true) if !self.out.pending().is_empty() => Err(ProxyError::UnexpectedData),
            other => other,
        };
        self.state = match &result {
            Ok(true) => State::Open,
            Ok(false) => State::Opening,
            Err(error) => State::Failed(error.clone()),
        };
        result
    }

    /// The error for a proxy that closed the connection before the tunnel opened: an HTTP
    /// refusal whose body was being read ends there; otherwise [`ProxyError::Closed`].
    #[must_use]
    pub fn handle_eof(&self) -> ProxyError {
        match (&self.state, &self.protocol) {
            (State::Failed(error), _) => error.clone(),
            (State::Opening, Protocol::Http(machine)) => machine.handle_eof(),
            _ => ProxyError::Closed,
        }
    }
}
