//! Bytes both ways between two byte pipes — a WebSocket's [`ByteStream`], a TCP connection
//! or the process's stdin/stdout — on any runtime, for `tunnel` and `serve --forward`.
//!
//! [`splice`] copies each direction until its end, then shuts the receiving side down: a TCP
//! FIN becomes the WebSocket Close after the data (and the peer's Close a FIN), so
//! half-closes travel through. Writes are flushed whenever the source has nothing more to
//! read at the moment, so a WebSocket sends what it coalesced without waiting for a full
//! message. An error on either side ends both: the other is shut down (at most
//! [`SHUTDOWN_GRACE`]) and dropped.

use std::io;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_channel::mpsc;
use futures_util::StreamExt;
use wsproto_async::{ByteStream, Timer, Transport};

/// Bytes copied per read.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The behaviour of a tunnel's WebSocket connection, on both ends: half-closing (a FIN
/// becomes a Close that still lets the other direction finish) and messages of one read's
/// size, so each read leaves as one message straight from the copy buffer, without being
/// coalesced through a second buffer first.
pub(crate) fn tunnel_config() -> wsproto_core::Config {
    let chunk = std::num::NonZeroUsize::new(CHUNK).unwrap_or(std::num::NonZeroUsize::MIN);
    wsproto_core::Config::default()
        .half_close(true)
        .outgoing_frame_size(chunk)
}
/// How long the surviving side of a failed splice may take to shut down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A byte pipe [`splice`] copies from and to.
pub(crate) trait Pipe: Unpin {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>>;
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl<T: Transport> Pipe for ByteStream<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Self::poll_read(self, cx, buf)
    }
    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Self::poll_write(self, cx, data)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Self::poll_flush(self, cx)
    }
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Self::poll_shutdown(self, cx)
    }
}

/// A runtime's TCP stream (any [`Transport`]) as a pipe.
pub(crate) struct Tcp<T>(pub(crate) T);

impl<T: Transport> Pipe for Tcp<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }
    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.0.poll_write(cx, data)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_flush(cx)
    }
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_shutdown(cx)
    }
}

/// The process's stdin and stdout as a pipe (`tunnel --stdio`, an SSH `ProxyCommand`): a
/// thread reads stdin and one writes stdout, each behind a channel of a few chunks, so
/// memory stays bounded whichever side is slow.
pub(crate) struct Stdio {
    input: mpsc::Receiver<io::Result<Vec<u8>>>,
    /// Unread rest of the last chunk from stdin.
    leftover: Vec<u8>,
    at: usize,
    output: Option<mpsc::Sender<Vec<u8>>>,
    /// The stdout thread, joined by [`finish`](Self::finish) so nothing queued is lost when
    /// the process exits.
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Stdio {
    /// Starts the two threads.
    pub(crate) fn spawn() -> Self {
        use std::io::{Read, Write};
        let (mut to_session, input) = mpsc::channel(4);
        std::thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                let mut chunk = vec![0; CHUNK];
                let read = match stdin.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        chunk.truncate(n);
                        Ok(chunk)
                    }
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => Err(error),
                };
                let failed = read.is_err();
                if futures_lite::future::block_on(futures_util::SinkExt::send(
                    &mut to_session,
                    read,
                ))
                .is_err()
                    || failed
                {
                    break;
                }
            }
        });
        let (output, mut from_session) = mpsc::channel::<Vec<u8>>(4);
        let writer = std::thread::spawn(move || {
            let mut stdout = io::stdout().lock();
            while let Some(chunk) = futures_lite::future::block_on(from_session.next()) {
                if stdout
                    .write_all(&chunk)
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    break;
                }
            }
        });
        Self {
            input,
            leftover: Vec::new(),
            at: 0,
            output: Some(output),
            writer: Some(writer),
        }
    }

    /// Ends stdout and waits until everything queued for it was written and flushed.
    pub(crate) fn finish(mut self) {
        self.output = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Pipe for Stdio {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.at == self.leftover.len() {
            match ready!(self.input.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => {
                    self.leftover = chunk;
                    self.at = 0;
                }
                Some(Err(error)) => return Poll::Ready(Err(error)),
                None => return Poll::Ready(Ok(0)),
            }
        }
        let rest = self.leftover.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.at += n;
        Poll::Ready(Ok(n))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let Some(output) = self.output.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        };
        if ready!(output.poll_ready(cx)).is_err() || output.start_send(data.to_vec()).is_err() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The stdout thread writes and flushes each chunk as it takes it.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Dropping the sender ends the stdout thread once it wrote what is queued.
        self.output = None;
        Poll::Ready(Ok(()))
    }
}

/// One direction of a splice.
struct Copy {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    read_done: bool,
    /// Written since the last flush.
    unflushed: bool,
    done: bool,
    copied: u64,
}

impl Copy {
    fn new() -> Self {
        Self {
            buf: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            read_done: false,
            unflushed: false,
            done: false,
            copied: 0,
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        from: &mut impl Pipe,
        to: &mut impl Pipe,
    ) -> Poll<io::Result<u64>> {
        loop {
            if self.done {
                return Poll::Ready(Ok(self.copied));
            }
            if self.start == self.end && !self.read_done {
                match from.poll_read(cx, &mut self.buf) {
                    Poll::Pending => {
                        // Nothing more for now: send what was written.
                        if self.unflushed {
                            ready!(to.poll_flush(cx))?;
                            self.unflushed = false;
                        }
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(0)) => self.read_done = true,
                    Poll::Ready(Ok(n)) => (self.start, self.end) = (0, n),
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                }
            }
            while self.start < self.end {
                let pending = self.buf.get(self.start..self.end).unwrap_or_default();
                let n = ready!(to.poll_write(cx, pending))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.start += n;
                self.copied += n as u64;
                self.unflushed = true;
            }
            if self.read_done {
                ready!(to.poll_flush(cx))?;
                ready!(to.poll_shutdown(cx))?;
                self.done = true;
            }
        }
    }
}

/// Copies `a` → `b` and `b` → `a` until both ends finished; returns the bytes copied each
/// way. On an error, shuts both sides down (at most [`SHUTDOWN_GRACE`]) and returns it.
pub(crate) async fn splice<A: Pipe, B: Pipe, W: Timer>(
    a: &mut A,
    b: &mut B,
) -> io::Result<(u64, u64)> {
    let mut forward = Copy::new();
    let mut backward = Copy::new();
    let result = std::future::poll_fn(|cx| {
        let there = forward.poll(cx, a, b)?;
        let back = backward.poll(cx, b, a)?;
        match (there, back) {
            (Poll::Ready(there), Poll::Ready(back)) => Poll::Ready(Ok((there, back))),
            _ => Poll::Pending,
        }
    })
    .await;
    if result.is_err() {
        let mut timer = W::at(Instant::now() + SHUTDOWN_GRACE);
        let (mut a_done, mut b_done) = (false, false);
        std::future::poll_fn(|cx| {
            if timer.poll_elapsed(cx).is_ready() {
                return Poll::Ready(());
            }
            a_done = a_done || a.poll_shutdown(cx).is_ready();
            b_done = b_done || b.poll_shutdown(cx).is_ready();
            if a_done && b_done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
    result
}
