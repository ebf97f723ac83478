//! [`MaybeTls`]: the stream `connect` and `Server` hand out, plain for `ws://` or TLS for
//! `wss://`, and the choice on each side, made from floor 1's settings.

use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use wsproto_setup::{ClientOpening, Deadline, Error, Result, ServerConfig};

#[cfg(feature = "tls")]
use crate::tls::TlsStream;
use crate::transport::{BlockingTransport, SocketAddrs};

/// A stream as `connect_with` and `Server` hand it out: plain for `ws://`, TLS for `wss://`
/// (boxed, so plain connections stay small).
#[derive(Debug)]
pub enum MaybeTls<S> {
    /// Plain TCP.
    Plain(S),
    /// TLS over TCP.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<S>>),
}

impl<S> MaybeTls<S> {
    /// Whether the stream is encrypted.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain(_))
    }
}

/// Calls `$call` on whichever stream `$self` holds.
macro_rules! either {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            MaybeTls::Plain($s) => $call,
            #[cfg(feature = "tls")]
            MaybeTls::Tls($s) => $call,
        }
    };
}

impl<S: BlockingTransport> Read for MaybeTls<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        either!(self, s => s.read(buf))
    }
}

impl<S: BlockingTransport> Write for MaybeTls<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        either!(self, s => s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        either!(self, s => s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        either!(self, s => s.flush())
    }
}

impl<S: BlockingTransport> BlockingTransport for MaybeTls<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        either!(self, s => s.set_read_timeout(timeout))
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        either!(self, s => s.shutdown_write())
    }

    fn readiness(&self) -> Option<std::net::TcpStream> {
        either!(self, s => s.readiness())
    }
}

impl<S: SocketAddrs> SocketAddrs for MaybeTls<S> {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        either!(self, s => s.local_addr())
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        either!(self, s => s.peer_addr())
    }
}

/// The TLS handshake's failure as the caller sees it: past the deadline it is the opening's
/// timeout; otherwise what rustls said, with the host when known.
#[cfg(feature = "tls")]
fn tls_failed(error: io::Error, host: Option<&str>) -> Error {
    if error.kind() == io::ErrorKind::TimedOut {
        Deadline::error()
    } else {
        Error::from_tls_io(error, host)
    }
}

/// Opens TLS as the client when `opening` is for `wss://`, or keeps `tcp` plain.
pub(crate) fn client_side(tcp: TcpStream, opening: &ClientOpening) -> Result<MaybeTls<TcpStream>> {
    #[cfg(feature = "tls")]
    if let Some((config, name)) = opening.tls()? {
        return TlsStream::connect(tcp, config, name, &opening.deadline())
            .map(|tls| MaybeTls::Tls(Box::new(tls)))
            .map_err(|error| tls_failed(error, Some(opening.host())));
    }
    #[cfg(not(feature = "tls"))]
    if let Some(never) = opening.tls()? {
        match never {}
    }
    Ok(MaybeTls::Plain(tcp))
}

/// Opens TLS as the server when `config` has a certificate, or keeps `tcp` plain.
pub(crate) fn server_side(
    tcp: TcpStream,
    config: &ServerConfig,
    deadline: &Deadline,
) -> Result<MaybeTls<TcpStream>> {
    #[cfg(feature = "tls")]
    if let Some(tls) = config.get_tls() {
        return TlsStream::accept(tcp, tls.config(), deadline)
            .map(|tls| MaybeTls::Tls(Box::new(tls)))
            .map_err(|error| tls_failed(error, None));
    }
    let _ = (config, deadline);
    Ok(MaybeTls::Plain(tcp))
}
