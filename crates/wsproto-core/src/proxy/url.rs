//! Proxy URLs as curl reads them: `http://[user:pass@]host[:port]`, `socks5://...` (names
//! resolved by the client), `socks5h://...` (names resolved by the proxy); no scheme means
//! `http`, and the port defaults to 1080.
//!
//! Invariants: the host is checked like a WebSocket URL's (nothing that could break a request
//! line); credentials are percent-decoded and never shown by `Debug` or `Display`.

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::fmt;

use super::ProxyError;
use crate::handshake::HandshakeError;
use crate::handshake::url::{Authority, is_valid_uri_part, parse_port, percent_decode};

/// The port a proxy URL without one means (curl's default for every proxy scheme).
pub const DEFAULT_PROXY_PORT: u16 = 1080;

/// Which protocol the proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// An HTTP proxy, asked with `CONNECT host:port` (RFC 9110 §9.3.6).
    Http,
    /// A SOCKS5 proxy (RFC 1928).
    Socks5 {
        /// `socks5h://`: the proxy resolves the target's name. `socks5://` resolves it
        /// locally and sends the address.
        remote_dns: bool,
    },
}

/// A user name and password for the proxy, from the URL's user info (percent-decoded).
/// `Debug` shows the user name only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// Credentials from a user name and password as they are (not percent-encoded).
    #[must_use]
    pub fn new(user: &str, password: &str) -> Self {
        Self {
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    /// The user name.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password.
    #[must_use]
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A parsed proxy URL.
///
/// ```
/// use wsproto_core::proxy::{ProxyKind, ProxyUrl};
///
/// let proxy = ProxyUrl::parse("socks5h://alice:s%40cret@127.0.0.1:1080")?;
/// assert_eq!(proxy.kind(), ProxyKind::Socks5 { remote_dns: true });
/// assert_eq!(proxy.credentials().unwrap().password(), "s@cret");
/// assert_eq!(proxy.to_string(), "socks5h://127.0.0.1:1080"); // never the credentials
/// # Ok::<(), wsproto_core::proxy::ProxyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    kind: ProxyKind,
    host: String,
    ipv6: bool,
    port: u16,
    credentials: Option<Credentials>,
}

impl ProxyUrl {
    /// Parses `url`: scheme `http`, `socks5` or `socks5h` (none means `http`), optional user
    /// info, host, optional port (default 1080), and at most a trailing `/`.
    pub fn parse(url: &str) -> Result<Self, ProxyError> {
        if !url.is_ascii() || url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(ProxyError::InvalidUrl(
                "proxy url must be ascii without spaces or control characters",
            ));
        }
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let kind = if scheme.eq_ignore_ascii_case("http") {
            ProxyKind::Http
        } else if scheme.eq_ignore_ascii_case("socks5") {
            ProxyKind::Socks5 { remote_dns: false }
        } else if scheme.eq_ignore_ascii_case("socks5h") {
            ProxyKind::Socks5 { remote_dns: true }
        } else if scheme.eq_ignore_ascii_case("https") {
            return Err(ProxyError::InvalidUrl(
                "https:// proxies (tls to the proxy) are not supported; use http://",
            ));
        } else {
            return Err(ProxyError::InvalidUrl(
                "proxy scheme must be http, socks5 or socks5h",
            ));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(ProxyError::InvalidUrl("a proxy url has no path or query"));
        }
        let authority = Authority::parse(authority).map_err(invalid)?;
        let port = match authority.port {
            None | Some("") => DEFAULT_PROXY_PORT,
            Some(port) => parse_port(port).map_err(invalid)?,
        };
        let credentials = match authority.userinfo {
            None => None,
            Some(userinfo) => Some(decode_credentials(userinfo)?),
        };
        Ok(Self {
            kind,
            host: authority.host.to_owned(),
            ipv6: authority.ipv6,
            port,
            credentials,
        })
    }

    /// The protocol the proxy speaks.
    #[must_use]
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host (an IPv6 address without brackets).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials from the URL's user info, if it had any.
    #[must_use]
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Replaces the credentials (for example with ones asked from the user after a 407).
    #[must_use]
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }
}

/// `scheme://host:port`, without the credentials.
impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 { remote_dns: false } => "socks5",
            ProxyKind::Socks5 { remote_dns: true } => "socks5h",
        };
        if self.ipv6 {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("url", &format_args!("{self}"))
            .field("credentials", &self.credentials)
            .finish()
    }
}

fn invalid(error: HandshakeError) -> ProxyError {
    match error {
        HandshakeError::InvalidUrl(why) => ProxyError::InvalidUrl(why),
        _ => ProxyError::InvalidUrl("invalid proxy url"),
    }
}

/// `user[:password]`, percent-decoded; both must be UTF-8.
fn decode_credentials(userinfo: &str) -> Result<Credentials, ProxyError> {
    const BAD: ProxyError =
        ProxyError::InvalidUrl("invalid character or percent-escape in the proxy's user info");
    if !is_valid_uri_part(userinfo, b":") {
        return Err(BAD);
    }
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |part: &str| {
        percent_decode(part)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(BAD)
    };
    Ok(Credentials {
        user: decode(user)?,
        password: decode(password)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn schemes_ports_and_credentials() {
        let http = ProxyUrl::parse("http://proxy.example:3128").unwrap();
        assert_eq!(http.kind(), ProxyKind::Http);
        assert_eq!((http.host(), http.port()), ("proxy.example", 3128));
        assert!(http.credentials().is_none());

        let bare = ProxyUrl::parse("proxy.example").unwrap();
        assert_eq!(bare.kind(), ProxyKind::Http);
        assert_eq!(bare.port(), DEFAULT_PROXY_PORT);

        let socks = ProxyUrl::parse("SOCKS5://u%3Ax:p%40ss@[::1]:9050/").unwrap();
        assert_eq!(socks.kind(), ProxyKind::Socks5 { remote_dns: false });
        assert_eq!(socks.host(), "::1");
        let credentials = socks.credentials().unwrap();
        assert_eq!(
            (credentials.user(), credentials.password()),
            ("u:x", "p@ss")
        );
        assert_eq!(socks.to_string(), "socks5://[::1]:9050");

        let user_only = ProxyUrl::parse("socks5h://bob@h").unwrap();
        assert_eq!(user_only.credentials().unwrap().password(), "");
    }

    #[test]
    fn credentials_never_show() {
        let proxy = ProxyUrl::parse("http://alice:hunter2@h:8080").unwrap();
        assert!(!format!("{proxy}").contains("hunter2"));
        assert!(!format!("{proxy:?}").contains("hunter2"));
        assert!(format!("{proxy:?}").contains("alice"));
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "https://h:1",
            "socks4://h",
            "http://h/path",
            "http://h:0",
            "http://h:99999",
            "http://",
            "http://h h",
            "http://[::1",
            "http://a:%zz@h",
            "http://a:%ff@h",
        ] {
            assert!(
                matches!(ProxyUrl::parse(url), Err(ProxyError::InvalidUrl(_))),
                "{url}"
            );
        }
    }
}
