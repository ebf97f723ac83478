//! futures-io's side of the runtime contract: [`FuturesIo`] makes any futures-io
//! `AsyncRead + AsyncWrite` a [`Transport`], and [`AsyncIoTimer`] is async-io's resettable
//! timer (the reactor under both smol and async-std).

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use wsproto_async::{SocketAddrs, Timer, Transport};
use wsproto_core::BytesMut;

/// Most spare capacity zeroed for one read: futures-io reads need an initialised slice, and
/// zeroing is the safe way to get one.
const MAX_READ: usize = 64 * 1024;

/// A futures-io byte stream (smol's or async-std's TCP, a TLS stream...) as a transport.
#[derive(Debug)]
pub struct FuturesIo<S>(S);

impl<S> FuturesIo<S> {
    /// Wraps a stream.
    pub fn new(stream: S) -> Self {
        Self(stream)
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.0
    }

    /// The stream, mutably (reading or writing it directly corrupts the WebSocket).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.0
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for FuturesIo<S> {
    type Timer = AsyncIoTimer;

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        let start = buf.len();
        let space = (buf.capacity() - start).clamp(1, MAX_READ).min(max.max(1));
        buf.resize(start + space, 0);
        let result = Pin::new(&mut self.0).poll_read(cx, &mut buf[start..]);
        let filled = match &result {
            Poll::Ready(Ok(n)) => (*n).min(space),
            _ => 0,
        };
        buf.truncate(start + filled);
        result
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn is_write_vectored(&self) -> bool {
        // futures-io cannot tell; TCP streams of smol and async-std write all slices at once.
        true
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// Streams that know their socket addresses: smol's TCP stream (with this crate's `smol`
/// feature), wsproto-async-std's, or your own.
pub trait PeerAddrs {
    /// Our end's address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// The peer's address.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
}

impl<S: PeerAddrs> SocketAddrs for FuturesIo<S> {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

/// async-io's timer, resettable.
#[derive(Debug)]
pub struct AsyncIoTimer(async_io::Timer);

impl Timer for AsyncIoTimer {
    fn at(deadline: std::time::Instant) -> Self {
        Self(async_io::Timer::at(deadline))
    }

    fn reset(&mut self, deadline: std::time::Instant) {
        self.0.set_at(deadline);
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

#[cfg(feature = "smol")]
impl PeerAddrs for async_net::TcpStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Self::local_addr(self)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Self::peer_addr(self)
    }
}
