//! Why a proxy tunnel could not be opened: a bad proxy URL, a proxy that refused (with what it
//! said), a SOCKS reply code, or a proxy that does not speak the protocol.
//!
//! Invariants: no variant holds the proxy's credentials, so no error text can leak them; what
//! a refusing proxy said is kept only up to [`MAX_REFUSAL_BODY`] bytes of body and the
//! header limits of the [`Limits`](crate::Limits) the machine was built with.

use alloc::boxed::Box;
use core::fmt;

use crate::handshake::{HandshakeError, Rejection};

/// The most bytes of a refusal's body that are kept (the rest is not read).
pub const MAX_REFUSAL_BODY: usize = 1024;

/// Why the tunnel through a proxy could not be opened.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyError {
    /// The proxy URL is not usable; the text says why.
    InvalidUrl(&'static str),
    /// The target cannot be written into the proxy's request (a SOCKS5 domain name longer
    /// than 255 bytes, a user name or password longer than 255 bytes).
    TooLong(&'static str),
    /// The HTTP proxy answered `CONNECT` with a status other than 2xx (407 asks for
    /// credentials, 403 forbids the target, 502 could not reach it...): its status, headers
    /// (`Proxy-Authenticate` with the schemes it offers) and the start of its body.
    Refused(Box<Rejection>),
    /// The HTTP proxy's answer is not valid HTTP/1.1 or exceeds the header limits.
    BadResponse(HandshakeError),
    /// The SOCKS5 proxy accepted none of the authentication methods offered (it wants
    /// credentials when `credentials_offered` is false).
    SocksNoAcceptableMethod {
        /// Whether username/password authentication was offered.
        credentials_offered: bool,
    },
    /// The SOCKS5 proxy refused the username and password (RFC 1929 status other than 0).
    SocksAuthFailed,
    /// The SOCKS5 proxy could not or would not connect to the target (RFC 1928 §6).
    SocksRefused(SocksReply),
    /// The proxy broke the SOCKS5 protocol; the text says how.
    SocksMalformed(&'static str),
    /// The proxy sent bytes before the tunnel was used, or out of turn: nothing may arrive
    /// from the target before the client has spoken, so the answer cannot be trusted.
    UnexpectedData,
    /// The proxy closed the connection before the tunnel was open.
    Closed,
}

impl ProxyError {
    /// Whether the proxy wants (other) credentials: an HTTP 407 (or 401) refusal, a SOCKS5
    /// proxy that accepts no method without them, or refused username and password.
    #[must_use]
    pub fn needs_credentials(&self) -> bool {
        match self {
            Self::Refused(refusal) => matches!(refusal.status(), 401 | 407),
            Self::SocksNoAcceptableMethod {
                credentials_offered,
            } => !credentials_offered,
            Self::SocksAuthFailed => true,
            _ => false,
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(why) => write!(f, "invalid proxy url: {why}"),
            Self::TooLong(what) => write!(f, "{what} is too long for the proxy protocol"),
            Self::Refused(refusal) => write_refusal(f, refusal),
            Self::BadResponse(error) => write!(f, "the proxy's answer is not valid http: {error}"),
            Self::SocksNoAcceptableMethod {
                credentials_offered: false,
            } => f.write_str("the socks5 proxy requires credentials (none were given)"),
            Self::SocksNoAcceptableMethod {
                credentials_offered: true,
            } => f.write_str("the socks5 proxy accepts none of the offered authentication methods"),
            Self::SocksAuthFailed => {
                f.write_str("the socks5 proxy refused the username and password")
            }
            Self::SocksRefused(reply) => write!(f, "the socks5 proxy could not connect: {reply}"),
            Self::SocksMalformed(why) => write!(f, "the socks5 proxy broke the protocol: {why}"),
            Self::UnexpectedData => f.write_str("the proxy sent data before the tunnel was used"),
            Self::Closed => f.write_str("the proxy closed the connection before the tunnel opened"),
        }
    }
}

/// `the proxy refused the tunnel with http status 407 Proxy Authentication Required (it
/// offers: Basic realm="corp")`.
fn write_refusal(f: &mut fmt::Formatter<'_>, refusal: &Rejection) -> fmt::Result {
    write!(
        f,
        "the proxy refused the tunnel with http status {}",
        refusal.status()
    )?;
    if !refusal.reason().is_empty() {
        write!(f, " {}", refusal.reason())?;
    }
    for (i, scheme) in refusal.authenticate().enumerate() {
        f.write_str(if i == 0 { " (it offers: " } else { ", " })?;
        f.write_str(scheme)?;
    }
    if refusal.authenticate().next().is_some() {
        f.write_str(")")?;
    }
    Ok(())
}

impl core::error::Error for ProxyError {}

/// A SOCKS5 reply code other than success (RFC 1928 §6).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocksReply {
    /// 1: general SOCKS server failure.
    GeneralFailure,
    /// 2: connection not allowed by ruleset.
    NotAllowed,
    /// 3: network unreachable.
    NetworkUnreachable,
    /// 4: host unreachable (also what many proxies say when the name does not resolve).
    HostUnreachable,
    /// 5: connection refused by the target.
    ConnectionRefused,
    /// 6: TTL expired.
    TtlExpired,
    /// 7: command not supported.
    CommandNotSupported,
    /// 8: address type not supported.
    AddressTypeNotSupported,
    /// Any other code (unassigned).
    Other(u8),
}

/// Every named reply with its code and text, in code order.
const REPLIES: [(SocksReply, u8, &str); 8] = [
    (SocksReply::GeneralFailure, 1, "general failure"),
    (
        SocksReply::NotAllowed,
        2,
        "connection not allowed by the proxy's rules",
    ),
    (SocksReply::NetworkUnreachable, 3, "network unreachable"),
    (SocksReply::HostUnreachable, 4, "host unreachable"),
    (
        SocksReply::ConnectionRefused,
        5,
        "connection refused by the target",
    ),
    (SocksReply::TtlExpired, 6, "ttl expired"),
    (SocksReply::CommandNotSupported, 7, "command not supported"),
    (
        SocksReply::AddressTypeNotSupported,
        8,
        "address type not supported",
    ),
];

impl SocksReply {
    /// The reply for code `code` (which must not be 0, success).
    #[must_use]
    pub fn from_code(code: u8) -> Self {
        REPLIES
            .iter()
            .find(|(_, c, _)| *c == code)
            .map_or(Self::Other(code), |(reply, _, _)| *reply)
    }

    /// The code on the wire.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Other(code) => code,
            named => REPLIES
                .iter()
                .find(|(reply, _, _)| *reply == named)
                .map_or(0, |(_, code, _)| *code),
        }
    }
}

impl fmt::Display for SocksReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = REPLIES
            .iter()
            .find(|(reply, _, _)| reply == self)
            .map_or("unassigned reply code", |(_, _, text)| text);
        write!(f, "{text} (code {})", self.code())
    }
}
