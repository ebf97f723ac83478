//! Every adapter's error: which stage failed (connecting, the handshake, the protocol, I/O) and
//! why, so a caller can tell a DNS/TCP failure from a refused handshake, a timeout or a peer
//! that broke the protocol.

use std::fmt;
use std::io;

use wsproto_core::handshake::HandshakeError;
use wsproto_core::{ConnectionError, ProtocolError, SendError};

pub use wsproto_core::ConnectionLost;

/// Everything that can go wrong with a WebSocket driven by one of the adapters.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// Resolving the host or opening the TCP connection failed.
    Connect(io::Error),
    /// The proxy hop failed: the proxy was unreachable, refused the tunnel (with its HTTP
    /// status or SOCKS reply), broke its protocol, or was too slow.
    Proxy(crate::ProxyFailure),
    /// Reading or writing the transport failed after the connection was set up.
    Io(io::Error),
    /// The opening handshake failed: refused by the server (with its HTTP status), malformed,
    /// or timed out ([`HandshakeError::Timeout`]).
    Handshake(HandshakeError),
    /// The peer broke RFC 6455 or a configured limit; the Close with the matching code was
    /// sent.
    Protocol(ProtocolError),
    /// The connection was lost without a closing handshake: the peer vanished or fell silent.
    /// Not something the peer did wrong in what it sent, so kept apart from [`Error::Protocol`].
    Lost(ConnectionLost),
    /// The command could not be carried out (e.g. sending after close); the connection is
    /// unaffected.
    Send(SendError),
    /// The server's permessage-deflate answer is invalid or breaks our offer (RFC 7692).
    #[cfg(feature = "deflate")]
    Deflate(wsproto_core::deflate::DeflateError),
    /// The server's request check refused the upgrade with this HTTP status.
    Refused(u16),
    /// A `wss://` URL in a build without the `tls` feature; turn it on, or wrap a TLS stream
    /// yourself and use `client_over`.
    TlsUnsupported,
    /// The TLS handshake failed: an untrusted, expired or misnamed certificate, a peer that
    /// does not speak TLS, a refused handshake...
    #[cfg(feature = "tls")]
    Tls(crate::TlsError),
    /// `recv` was used on a connection configured for streaming delivery; use `next_event` to
    /// get the pieces.
    StreamingDelivery,
}

impl Error {
    /// The HTTP status of a refused handshake, if that is what happened.
    #[must_use]
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Handshake(HandshakeError::Rejected(rejection)) => Some(rejection.status()),
            _ => None,
        }
    }

    /// An I/O error from a TLS handshake with `host`: [`Error::Tls`] when rustls said what
    /// went wrong, [`Error::Io`] otherwise.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn from_tls_io(error: io::Error, host: Option<&str>) -> Self {
        match crate::TlsError::from_io(&error, host) {
            Some(tls) => Self::Tls(tls),
            None => Self::Io(error),
        }
    }

    /// The error a server reports for a handshake it cut off because its pending-handshake
    /// cap was reached and this one was the oldest still running
    /// ([`ServerConfig::max_pending_handshakes`](crate::ServerConfig::max_pending_handshakes)):
    /// an I/O error of kind `ConnectionAborted`.
    #[must_use]
    pub fn evicted_handshake() -> Self {
        Self::Io(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "handshake evicted: the pending-handshake cap was reached and it was the oldest",
        ))
    }

    /// Whether this is an opening (proxy tunnel or handshake) that did not finish in time.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Handshake(HandshakeError::Timeout) => true,
            Self::Proxy(failure) => {
                matches!(failure.kind(), crate::ProxyFailureKind::TimedOut)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "could not connect: {e}"),
            Self::Proxy(e) => write!(f, "{e}"),
            Self::Io(e) => write!(f, "i/o error: {e}"),
            Self::Handshake(e) => write!(f, "websocket handshake failed: {e}"),
            Self::Protocol(e) => write!(f, "websocket protocol error: {e}"),
            Self::Lost(e) => write!(f, "connection lost: {e}"),
            Self::Send(e) => write!(f, "cannot send: {e}"),
            #[cfg(feature = "deflate")]
            Self::Deflate(e) => write!(f, "websocket handshake failed: {e}"),
            Self::Refused(status) => write!(f, "upgrade request refused with http status {status}"),
            Self::TlsUnsupported => f.write_str(
                "wss:// needs the `tls` feature (or a TLS stream of your own with client_over)",
            ),
            #[cfg(feature = "tls")]
            Self::Tls(e) => write!(f, "{e}"),
            Self::StreamingDelivery => {
                f.write_str("streaming delivery is configured: use next_event() to receive pieces")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect(e) | Self::Io(e) => Some(e),
            Self::Handshake(e) => Some(e),
            Self::Proxy(e) => Some(e),
            Self::Protocol(e) => Some(e),
            Self::Lost(e) => Some(e),
            Self::Send(e) => Some(e),
            #[cfg(feature = "deflate")]
            Self::Deflate(e) => Some(e),
            #[cfg(feature = "tls")]
            Self::Tls(e) => Some(e),
            Self::Refused(_) | Self::TlsUnsupported | Self::StreamingDelivery => None,
        }
    }
}

/// For `Read`/`Write` views of a connection (byte streams): an I/O error stays itself, the
/// rest is wrapped with the kind that says what happened to the stream (the peer vanished:
/// `UnexpectedEof`; unanswered keepalive: `TimedOut`; writing after a Close: `BrokenPipe`;
/// a broken peer: `InvalidData`), the `Error` inside for `downcast`.
impl From<Error> for io::Error {
    fn from(error: Error) -> Self {
        let kind = match error {
            Error::Io(error) | Error::Connect(error) => return error,
            Error::Lost(ConnectionLost::UnexpectedEof) => io::ErrorKind::UnexpectedEof,
            Error::Lost(ConnectionLost::KeepaliveTimeout) => io::ErrorKind::TimedOut,
            Error::Send(SendError::Closing | SendError::Closed) => io::ErrorKind::BrokenPipe,
            Error::Handshake(HandshakeError::UnexpectedEof) => io::ErrorKind::UnexpectedEof,
            Error::Protocol(_) | Error::Handshake(_) => io::ErrorKind::InvalidData,
            #[cfg(feature = "deflate")]
            Error::Deflate(_) => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::Other,
        };
        Self::new(kind, error)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

/// What the engine reports, kept apart as the engine keeps it: a lost connection
/// ([`Error::Lost`]) or a peer that broke the protocol ([`Error::Protocol`]).
impl From<ConnectionError> for Error {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::Lost(lost) => Self::Lost(lost),
            ConnectionError::Protocol(violation) => Self::Protocol(violation),
            // ConnectionError is non-exhaustive; a future kind reads as the generic loss.
            _ => Self::Lost(ConnectionLost::UnexpectedEof),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
