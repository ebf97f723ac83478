//! What an async runtime must supply: a byte [`Transport`] and a resettable [`Timer`] for a
//! connection, and a [`Runtime`] (TCP both ways, spawning) for the generic client and server.
//!
//! These small traits are the whole difference between runtimes; everything else (the drive
//! loop, the WebSocket type, split halves, handshakes, `connect_with`, `Server`) is written
//! once against them. Each adapter crate implements them for its runtime in one small file.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use wsproto_core::BytesMut;

/// A one-shot timer that can be moved to a new deadline.
pub trait Timer: Send + Unpin + 'static {
    /// A timer that fires at `deadline`.
    fn at(deadline: Instant) -> Self;
    /// Moves the deadline (firing again is allowed after it fired).
    fn reset(&mut self, deadline: Instant);
    /// Ready once the deadline has passed; registers `cx` to be woken then otherwise.
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// A bidirectional byte stream with the operations the drive loop needs.
pub trait Transport: Unpin + Send + 'static {
    /// The runtime's timer type.
    type Timer: Timer;

    /// Reads at most `max` bytes into the spare capacity of `buf`, appending; `0` means the
    /// end of the stream. (`max` is the engine's
    /// [`read_limit`](wsproto_core::Connection::read_limit), or `usize::MAX`.)
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>>;

    /// Reads into `buf`, a plain slice (what a layer above with its own buffer, such as TLS,
    /// hands down); `0` means the end of the stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from the slices in order; returns how many bytes were written.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Writes from one buffer; returns how many bytes were written. The drive loop uses it
    /// when everything queued is one contiguous run (the usual case for small messages),
    /// since a plain write costs the kernel less than a one-slice vectored write. The
    /// default hands the buffer to [`poll_write_vectored`](Self::poll_write_vectored).
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Whether [`poll_write_vectored`](Self::poll_write_vectored) writes more than the first
    /// slice at a time (otherwise the loop hands it one slice per call).
    fn is_write_vectored(&self) -> bool;

    /// Pushes buffered bytes out (a no-op for plain TCP, meaningful for TLS).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Ends our sending direction; the peer then sees the end of the stream.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// An async runtime as the generic [`connect_with`](crate::connect_with) and
/// [`Server`](crate::Server) need it: TCP in both directions and a way to run a task in the
/// background. Its TCP stream is a [`Transport`], which brings the runtime's [`Timer`].
///
/// Adding a runtime is implementing this and [`Transport`] + [`Timer`] (see `wsproto-tokio`'s
/// `io.rs` and `runtime.rs`).
pub trait Runtime: Send + Sync + 'static {
    /// A connected TCP stream as a transport.
    type Tcp: Transport + SocketAddrs;
    /// A bound TCP listener.
    type Listener: Send + Sync + 'static;

    /// Opens a TCP connection to `host:port` (resolving the name), with Nagle's algorithm off:
    /// the engine batches writes itself.
    fn connect(host: String, port: u16) -> impl Future<Output = io::Result<Self::Tcp>> + Send;

    /// Resolves `host:port` to addresses (for a `socks5://` proxy, which is sent an address).
    fn resolve(host: String, port: u16)
    -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;

    /// Binds a listener on `addr` with room for `backlog` connections waiting to be accepted
    /// ([`ServerConfig::backlog`](wsproto_setup::ServerConfig::backlog); the implementations
    /// here bind through [`listen`](wsproto_setup::listen)).
    fn bind(
        addr: SocketAddr,
        backlog: u32,
    ) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Accepts the next TCP connection, with Nagle's algorithm off. Must be cancel-safe: a
    /// connection is never lost when the future is dropped before it completes.
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Tcp>> + Send;

    /// The address `listener` is bound to.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// Runs `task` in the background, on this runtime.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);
}

/// The timer of runtime `R`'s TCP streams.
pub type TimerOf<R> = <<R as Runtime>::Tcp as Transport>::Timer;

pub use wsproto_setup::SocketAddrs;

/// Waits for `fut` at most until `deadline`, on the runtime's timer `T`; `None` if the
/// deadline passed first.
pub async fn with_deadline<T: Timer, F: Future>(deadline: Instant, fut: F) -> Option<F::Output> {
    let mut timer = T::at(deadline);
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        timer.poll_elapsed(cx).map(|()| None)
    })
    .await
}

/// Writes all of `bytes` to `io` (handshake responses and requests).
pub(crate) async fn write_all<T: Transport>(io: &mut T, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let n =
            std::future::poll_fn(|cx| io.poll_write_vectored(cx, &[IoSlice::new(bytes)])).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = bytes.get(n..).unwrap_or_default();
    }
    std::future::poll_fn(|cx| io.poll_flush(cx)).await
}

/// Reads what is available into `buf` (cleared first); `0` means the end of the stream.
pub(crate) async fn read_some<T: Transport>(io: &mut T, buf: &mut BytesMut) -> io::Result<usize> {
    buf.clear();
    buf.reserve(4096);
    std::future::poll_fn(|cx| io.poll_read_buf(cx, buf, usize::MAX)).await
}
