//! Clients through proxies: the [`Proxy`] a [`ClientConfig`](crate::ClientConfig) takes, the
//! environment's proxy as curl reads it ([`Proxy::from_env`]), the typed [`ProxyFailure`]
//! naming the hop that failed, and [`TunnelOpening`], the core's tunnel machine with this
//! floor's errors, which the adapters drive like the opening handshake.
//!
//! Invariants: the library never reads the environment unless [`Proxy::from_env`] is called;
//! a loopback target never goes through the environment's proxy; no error text and no `Debug`
//! output holds the proxy's password.

use std::fmt;
use std::io;
use std::net::IpAddr;

use wsproto_core::Limits;
use wsproto_core::proxy::{Credentials, ProxyError, ProxyKind, ProxyUrl, Target, Tunnel};

use crate::error::{Error, Result};
use crate::exchange::Exchange;

/// A proxy to reach the server through: HTTP `CONNECT` or SOCKS5, with optional credentials.
///
/// ```
/// use wsproto_setup::{ClientConfig, Proxy};
///
/// let options = ClientConfig::default().proxy(Proxy::socks5("socks5h://127.0.0.1:1080")?);
/// # Ok::<(), wsproto_setup::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    url: ProxyUrl,
}

impl Proxy {
    /// A proxy from its URL, whatever the scheme: `http://`, `socks5://`, `socks5h://`, or no
    /// scheme for HTTP (as curl reads `HTTPS_PROXY=host:port`). Credentials come from the
    /// user info (`http://user:pass@host:port`, percent-encoded).
    pub fn parse(url: &str) -> Result<Self> {
        ProxyUrl::parse(url)
            .map(|url| Self { url })
            .map_err(|error| Error::Proxy(ProxyFailure::invalid(error)))
    }

    /// An HTTP proxy (`CONNECT`), from an `http://` URL.
    pub fn http(url: &str) -> Result<Self> {
        Self::of_kind(
            url,
            |kind| kind == ProxyKind::Http,
            "expected an http:// proxy url",
        )
    }

    /// A SOCKS5 proxy, from a `socks5://` (the client resolves the target's name) or
    /// `socks5h://` (the proxy does) URL.
    pub fn socks5(url: &str) -> Result<Self> {
        Self::of_kind(
            url,
            |kind| matches!(kind, ProxyKind::Socks5 { .. }),
            "expected a socks5:// or socks5h:// proxy url",
        )
    }

    fn of_kind(url: &str, wanted: fn(ProxyKind) -> bool, why: &'static str) -> Result<Self> {
        let proxy = Self::parse(url)?;
        if wanted(proxy.url.kind()) {
            Ok(proxy)
        } else {
            Err(Error::Proxy(ProxyFailure::invalid(ProxyError::InvalidUrl(
                why,
            ))))
        }
    }

    /// Replaces the credentials (for example with ones the user typed after a 407).
    #[must_use]
    pub fn credentials(self, user: &str, password: &str) -> Self {
        Self {
            url: self
                .url
                .with_credentials(Some(Credentials::new(user, password))),
        }
    }

    /// The parsed URL (its `Display` leaves the credentials out).
    #[must_use]
    pub fn url(&self) -> &ProxyUrl {
        &self.url
    }

    /// The proxy the environment names for `target` (a `ws://` or `wss://` URL), following
    /// curl: `https_proxy`/`HTTPS_PROXY` for `wss://`, `http_proxy`/`HTTP_PROXY` for `ws://`,
    /// then `all_proxy`/`ALL_PROXY`; the lower-case form wins; an empty value is unset.
    /// `no_proxy`/`NO_PROXY` lists hosts to reach directly (see [`Proxy::from_env_with`]).
    /// `Ok(None)` means connect directly. The library never calls this by itself.
    pub fn from_env(target: &str) -> Result<Option<Self>> {
        Self::from_env_with(target, |name| std::env::var(name).ok())
    }

    /// [`Proxy::from_env`] reading variables through `lookup` instead of the process
    /// environment. `NO_PROXY` is a comma- or space-separated list: `*` (every host), a host
    /// name that matches itself and its subdomains (a leading `.` is ignored), an IP address,
    /// or an IP network in CIDR form. A loopback target (`localhost`, `*.localhost`,
    /// `127.0.0.0/8`, `::1`) is always reached directly.
    pub fn from_env_with(
        target: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>> {
        let request = wsproto_core::handshake::ClientRequest::from_url(target)?;
        let host = request.host();
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| lookup(name).filter(|value| !value.trim().is_empty()))
        };
        if is_loopback(host) {
            return Ok(None);
        }
        if let Some(no_proxy) = get(&["no_proxy", "NO_PROXY"])
            && bypasses(&no_proxy, host)
        {
            return Ok(None);
        }
        let by_scheme: &[&str] = if request.is_secure() {
            &["https_proxy", "HTTPS_PROXY"]
        } else {
            &["http_proxy", "HTTP_PROXY"]
        };
        match get(by_scheme).or_else(|| get(&["all_proxy", "ALL_PROXY"])) {
            Some(url) => Self::parse(url.trim()).map(Some),
            None => Ok(None),
        }
    }
}

/// `host:port`, an IPv6 host in brackets: how errors name a target.
pub(crate) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether `host` is a loopback name or address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a `NO_PROXY` list names `host`.
fn bypasses(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.trim_start_matches('[').trim_end_matches(']');
            if let (Some(ip), Some((network, bits))) = (ip, entry.split_once('/')) {
                return in_network(ip, network, bits);
            }
            if let (Some(ip), Ok(listed)) = (ip, entry.parse::<IpAddr>()) {
                return ip == listed;
            }
            let name = entry.trim_start_matches('.').to_ascii_lowercase();
            !name.is_empty()
                && (host == name
                    || host
                        .strip_suffix(name.as_str())
                        .is_some_and(|prefix| prefix.ends_with('.')))
        })
}

/// Whether `ip` is inside `network/bits`.
fn in_network(ip: IpAddr, network: &str, bits: &str) -> bool {
    let (Ok(network), Ok(bits)) = (network.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    let prefix = |address: u128, width: u32| {
        if bits > width {
            None
        } else if bits == 0 {
            Some(0)
        } else {
            Some(address >> (width - bits))
        }
    };
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            prefix(u32::from(ip).into(), 32) == prefix(u32::from(network).into(), 32) && bits <= 32
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            prefix(ip.into(), 128) == prefix(network.into(), 128) && bits <= 128
        }
        _ => false,
    }
}

/// A failure on the way through a proxy: which proxy (without credentials), which target,
/// and what went wrong at that hop.
#[derive(Debug)]
pub struct ProxyFailure {
    proxy: Option<String>,
    target: Option<String>,
    kind: ProxyFailureKind,
}

/// What went wrong at the proxy hop.
#[non_exhaustive]
#[derive(Debug)]
pub enum ProxyFailureKind {
    /// The proxy URL is unusable, or the target cannot be expressed in the proxy's protocol.
    Invalid(ProxyError),
    /// Resolving the proxy's host or connecting to it failed.
    Unreachable(io::Error),
    /// The proxy refused or broke its protocol (a 407, a SOCKS reply code...).
    Refused(ProxyError),
    /// Reading or writing the proxy connection failed before the tunnel opened.
    Io(io::Error),
    /// `socks5://`: the target's name did not resolve locally.
    Resolve(io::Error),
    /// The handshake deadline passed while connecting to the proxy or opening the tunnel.
    TimedOut,
}

impl ProxyFailure {
    fn invalid(error: ProxyError) -> Self {
        Self {
            proxy: None,
            target: None,
            kind: ProxyFailureKind::Invalid(error),
        }
    }

    pub(crate) fn at(proxy: &ProxyUrl, target: &str, kind: ProxyFailureKind) -> Self {
        Self {
            proxy: Some(proxy.to_string()),
            target: Some(target.to_owned()),
            kind,
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ProxyFailureKind {
        &self.kind
    }

    /// The proxy's URL without credentials, once one was chosen.
    #[must_use]
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// The HTTP status an HTTP proxy refused the tunnel with (407, 403, 502...).
    #[must_use]
    pub fn http_status(&self) -> Option<u16> {
        match &self.kind {
            ProxyFailureKind::Refused(ProxyError::Refused(refusal)) => Some(refusal.status()),
            _ => None,
        }
    }

    /// The core's account of a refusal or protocol failure, if that is what happened.
    #[must_use]
    pub fn proxy_error(&self) -> Option<&ProxyError> {
        match &self.kind {
            ProxyFailureKind::Invalid(error) | ProxyFailureKind::Refused(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for ProxyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(proxy) = &self.proxy {
            write!(f, "proxy {proxy}")?;
            if let Some(target) = &self.target {
                write!(f, " (tunnel to {target})")?;
            }
            f.write_str(": ")?;
        }
        match &self.kind {
            ProxyFailureKind::Invalid(error) | ProxyFailureKind::Refused(error) => {
                write!(f, "{error}")
            }
            ProxyFailureKind::Unreachable(error) => {
                write!(f, "could not connect to the proxy: {error}")
            }
            ProxyFailureKind::Io(error) => write!(f, "i/o error talking to the proxy: {error}"),
            ProxyFailureKind::Resolve(error) => {
                write!(
                    f,
                    "could not resolve the target for socks5 (local dns): {error}"
                )
            }
            ProxyFailureKind::TimedOut => {
                f.write_str("the handshake timed out before the tunnel opened")
            }
        }
    }
}

impl std::error::Error for ProxyFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ProxyFailureKind::Invalid(error) | ProxyFailureKind::Refused(error) => Some(error),
            ProxyFailureKind::Unreachable(error)
            | ProxyFailureKind::Io(error)
            | ProxyFailureKind::Resolve(error) => Some(error),
            ProxyFailureKind::TimedOut => None,
        }
    }
}

/// The tunnel step of a client's opening: the core's [`Tunnel`] machine, reporting errors as
/// [`Error::Proxy`] naming the proxy and the target. Made by
/// [`ClientOpening::tunnel`](crate::ClientOpening::tunnel); driven through [`Exchange`].
#[derive(Debug)]
pub struct TunnelOpening {
    machine: Tunnel,
    proxy: ProxyUrl,
    target: String,
}

impl TunnelOpening {
    pub(crate) fn new(
        proxy: &ProxyUrl,
        target: Target<'_>,
        host: &str,
        port: u16,
        limits: &Limits,
    ) -> Result<Self> {
        let target_text = authority(host, port);
        let machine = Tunnel::new(proxy, target, port, limits).map_err(|error| {
            Error::Proxy(ProxyFailure::at(
                proxy,
                &target_text,
                ProxyFailureKind::Invalid(error),
            ))
        })?;
        Ok(Self {
            machine,
            proxy: proxy.clone(),
            target: target_text,
        })
    }

    fn fail(&self, kind: ProxyFailureKind) -> Error {
        Error::Proxy(ProxyFailure::at(&self.proxy, &self.target, kind))
    }
}

impl Exchange for TunnelOpening {
    fn transmit(&self) -> &[u8] {
        self.machine.transmit()
    }

    fn advance_transmit(&mut self, n: usize) {
        self.machine.advance_transmit(n);
    }

    fn handle_input(&mut self, bytes: &[u8]) -> Result<bool> {
        self.machine
            .handle_input(bytes)
            .map_err(|error| self.fail(ProxyFailureKind::Refused(error)))
    }

    fn handle_eof(&self) -> Error {
        self.fail(ProxyFailureKind::Refused(self.machine.handle_eof()))
    }

    fn io_error(&self, error: io::Error) -> Error {
        self.fail(ProxyFailureKind::Io(error))
    }

    fn timeout_error(&self) -> Error {
        self.fail(ProxyFailureKind::TimedOut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn chosen(target: &str, vars: &[(&str, &str)]) -> Option<String> {
        Proxy::from_env_with(target, env(vars))
            .unwrap()
            .map(|proxy| proxy.url().to_string())
    }

    #[test]
    fn the_scheme_picks_the_variable_and_lower_case_wins() {
        let vars = [
            ("http_proxy", "http://plain:1"),
            ("HTTP_PROXY", "http://upper:1"),
            ("HTTPS_PROXY", "socks5h://secure:2"),
            ("ALL_PROXY", "http://all:3"),
        ];
        assert_eq!(
            chosen("ws://example.com/", &vars).as_deref(),
            Some("http://plain:1")
        );
        assert_eq!(
            chosen("wss://example.com/", &vars).as_deref(),
            Some("socks5h://secure:2")
        );
        assert_eq!(
            chosen("ws://example.com/", &[("ALL_PROXY", "all:3")]).as_deref(),
            Some("http://all:3")
        );
        assert_eq!(
            chosen("wss://example.com/", &[("http_proxy", "http://plain:1")]),
            None
        );
        assert_eq!(chosen("ws://example.com/", &[("http_proxy", " ")]), None);
    }

    #[test]
    fn no_proxy_and_loopback_go_direct() {
        let proxy = ("all_proxy", "http://p:1");
        let cases = [
            ("ws://example.com/", "*", true),
            ("ws://example.com/", "example.com", true),
            ("ws://api.example.com/", ".example.com", true),
            ("ws://api.example.com/", "example.com", true),
            ("ws://badexample.com/", "example.com", false),
            ("ws://10.1.2.3/", "10.1.2.3", true),
            ("ws://10.1.2.3/", "10.0.0.0/8", true),
            ("ws://11.1.2.3/", "10.0.0.0/8", false),
            ("ws://[2001:db8::1]/", "2001:db8::/32", true),
            ("ws://[2001:db8::1]/", "[2001:db8::1]", true),
            ("ws://example.org/", "example.com, other.net", false),
            ("ws://other.net/", "example.com other.net", true),
        ];
        for (target, no_proxy, direct) in cases {
            let got = chosen(target, &[proxy, ("NO_PROXY", no_proxy)]);
            assert_eq!(got.is_none(), direct, "{target} with NO_PROXY={no_proxy}");
        }
        for target in [
            "ws://localhost:1/",
            "ws://app.localhost/",
            "ws://127.0.0.1/",
            "ws://127.9.9.9/",
            "wss://[::1]/",
        ] {
            assert_eq!(chosen(target, &[proxy]), None, "{target}");
        }
    }

    #[test]
    fn a_bad_environment_value_is_an_error_without_credentials() {
        let error = Proxy::from_env_with(
            "ws://example.com/",
            env(&[("http_proxy", "ftp://u:secret@h")]),
        )
        .unwrap_err();
        assert!(matches!(error, Error::Proxy(_)));
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(Proxy::http("socks5://h").is_err());
        assert!(Proxy::socks5("http://h").is_err());
        let proxy = Proxy::http("http://u:secret@h:8080").unwrap();
        assert!(!format!("{proxy:?}").contains("secret"));
    }
}
