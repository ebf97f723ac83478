//! tokio's side of the runtime contract: [`TokioIo`] makes any tokio `AsyncRead +
//! AsyncWrite` a [`Transport`], and [`TokioTimer`] is a resettable `tokio::time::Sleep`.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wsproto_async::{SocketAddrs, Timer, Transport};
use wsproto_core::BytesMut;

/// A tokio byte stream (TCP, TLS, an upgraded hyper connection...) as a wsproto transport.
#[derive(Debug)]
pub struct TokioIo<S>(S);

impl<S> TokioIo<S> {
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

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for TokioIo<S> {
    type Timer = TokioTimer;

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        tokio_util::io::poll_read_buf(Pin::new(&mut self.0), cx, &mut buf.limit(max))
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read_buf = tokio::io::ReadBuf::new(buf);
        std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut read_buf))?;
        Poll::Ready(Ok(read_buf.filled().len()))
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
        self.0.is_write_vectored()
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl SocketAddrs for TokioIo<TcpStream> {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

/// A resettable tokio sleep.
#[derive(Debug)]
pub struct TokioTimer(Pin<Box<tokio::time::Sleep>>);

impl Timer for TokioTimer {
    fn at(deadline: std::time::Instant) -> Self {
        Self(Box::pin(tokio::time::sleep_until(deadline.into())))
    }

    fn reset(&mut self, deadline: std::time::Instant) {
        self.0.as_mut().reset(deadline.into());
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}
