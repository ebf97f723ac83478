//! [`MaybeTls`]: the stream `connect_with` and `Server` hand out, plain for `ws://` or TLS for
//! `wss://`, and the two places that choose (one per side).

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use wsproto_core::BytesMut;

use crate::runtime::{SocketAddrs, Transport};
#[cfg(feature = "tls")]
use crate::tls::TlsStream;

/// A stream as `connect_with` and `Server` hand it out: plain for `ws://`, TLS for `wss://`
/// (boxed, so plain connections stay small).
#[derive(Debug)]
pub enum MaybeTls<T> {
    /// Plain TCP.
    Plain(T),
    /// TLS over TCP.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<T>>),
}

impl<T> MaybeTls<T> {
    /// Whether the stream is encrypted.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain(_))
    }

    /// The TLS connection, if the stream is encrypted.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(&self) -> Option<&TlsStream<T>> {
        match self {
            Self::Plain(_) => None,
            Self::Tls(tls) => Some(tls),
        }
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

impl<T: Transport> Transport for MaybeTls<T> {
    type Timer = T::Timer;

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        either!(self, s => s.poll_read_buf(cx, buf, max))
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        either!(self, s => s.poll_read(cx, buf))
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        either!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        either!(self, s => s.poll_write(cx, buf))
    }

    fn is_write_vectored(&self) -> bool {
        either!(self, s => s.is_write_vectored())
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, s => s.poll_shutdown(cx))
    }
}

impl<T: SocketAddrs> SocketAddrs for MaybeTls<T> {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        either!(self, s => s.local_addr())
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        either!(self, s => s.peer_addr())
    }
}

/// Opens TLS as the client when `tls` says so (`wss://`: the config and the server name of
/// `host`), or keeps `stream` plain.
#[cfg(feature = "tls")]
pub(crate) async fn client_side<T: Transport>(
    stream: T,
    tls: Option<(
        std::sync::Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
    host: &str,
) -> wsproto_setup::Result<MaybeTls<T>> {
    let Some((config, name)) = tls else {
        return Ok(MaybeTls::Plain(stream));
    };
    // Boxed, as on the server side: plain connections do not carry TLS's state.
    Box::pin(TlsStream::connect(stream, config, name))
        .await
        .map(|tls| MaybeTls::Tls(Box::new(tls)))
        .map_err(|error| wsproto_setup::Error::from_tls_io(error, Some(host)))
}

/// Keeps `stream` plain: without the `tls` feature there is nothing else to open.
#[cfg(not(feature = "tls"))]
pub(crate) async fn client_side<T: Transport>(
    stream: T,
    tls: Option<std::convert::Infallible>,
    _host: &str,
) -> wsproto_setup::Result<MaybeTls<T>> {
    if let Some(never) = tls {
        match never {}
    }
    Ok(MaybeTls::Plain(stream))
}

/// Opens TLS as the server when `config` has a certificate, or keeps `stream` plain.
pub(crate) async fn server_side<T: Transport>(
    stream: T,
    config: &wsproto_setup::ServerConfig,
) -> wsproto_setup::Result<MaybeTls<T>> {
    #[cfg(feature = "tls")]
    if let Some(tls) = config.get_tls() {
        // Boxed: the TLS handshake's state is large, and inline it would grow every
        // handshake task (and the holes it leaves in the heap) on plain servers too.
        return Box::pin(TlsStream::accept(stream, tls.config()))
            .await
            .map(|tls| MaybeTls::Tls(Box::new(tls)))
            .map_err(|error| wsproto_setup::Error::from_tls_io(error, None));
    }
    let _ = config;
    Ok(MaybeTls::Plain(stream))
}
