//! TLS over any [`Transport`], written once for every async runtime: [`TlsStream`] drives
//! rustls's sans-IO connection over the runtime's TCP stream, and [`MaybeTls`] is what
//! `connect_with` and `Server` hand out, plain or encrypted as the URL or the server asks.
//!
//! Reads feed ciphertext to rustls and hand out plaintext; writes give plaintext to rustls
//! and push the records it makes straight from rustls's buffers to the transport (one
//! vectored write, no copy in between), so a corked batch of frames leaves as few records
//! (and syscalls) as rustls allows. Output rustls made on its own (handshake flights, alerts,
//! key updates) is pushed out by every read, write and flush.
//!
//! Memory and copies: a connection that trickles reads straight into rustls's own buffer;
//! one that streams (a read filled all it was offered) reads whole-record chunks (fewer
//! syscalls than rustls's 4 KiB reads) into a buffer that is released as soon as a read
//! comes back short, so an idle connection holds no read buffer of this layer's.

use std::io::{self, BufRead, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use rustls::pki_types::ServerName;
use wsproto_core::BytesMut;

use crate::runtime::{SocketAddrs, Timer, Transport};

/// Most ciphertext read from the transport at once while data streams in: a little over one
/// full TLS record.
const READ_CHUNK: usize = 17 * 1024;
/// What rustls's own `read_tls` asks for at most (its deframer reads 4 KiB at a time).
const RUSTLS_READ: usize = 4096;
/// Most plaintext handed out by one read.
const MAX_PLAINTEXT_READ: usize = 64 * 1024;
/// Ciphertext is fed to rustls only while less plaintext than this waits to be read.
const FEED_PLAINTEXT_BELOW: usize = 8 * 1024;
/// How much ciphertext rustls may hold unsent (its default is 64 KiB).
const SEND_BUFFER_LIMIT: usize = 1024 * 1024;
/// Longest a failed handshake waits for its alert to reach the peer.
const FAILURE_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// A TLS connection over the transport `T`.
pub struct TlsStream<T> {
    io: T,
    conn: rustls::Connection,
    /// Ciphertext read from `io` in whole-record chunks and not yet taken by rustls; empty
    /// (no allocation) unless data is streaming in.
    incoming: BytesMut,
    /// The last read filled what it was offered: more is waiting, so reads are made in
    /// whole-record chunks ([`READ_CHUNK`]) instead of rustls's own 4 KiB.
    bulk: bool,
    /// `io` reached its end.
    eof: bool,
    /// Our close_notify was queued.
    closing: bool,
}

impl<T: Transport> TlsStream<T> {
    /// Runs the client side of the TLS handshake with `name` over `io`.
    pub async fn connect(
        io: T,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<Self> {
        let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        Self::handshake(io, conn.into()).await
    }

    /// Runs the server side of the TLS handshake over `io`.
    pub async fn accept(io: T, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        Self::handshake(io, conn.into()).await
    }

    async fn handshake(io: T, mut conn: rustls::Connection) -> io::Result<Self> {
        // Room for a whole corked batch of frames (the engine bounds it with its own write
        // high-water mark), so one write is encrypted and sent in one go instead of stopping
        // at rustls's default 64 KiB and leaving a small tail for another record and syscall.
        conn.set_buffer_limit(Some(SEND_BUFFER_LIMIT));
        let mut stream = Self {
            io,
            conn,
            incoming: BytesMut::new(),
            bulk: false,
            eof: false,
            closing: false,
        };
        if let Err(error) = std::future::poll_fn(|cx| stream.poll_handshake(cx)).await {
            stream.fail_gracefully().await;
            return Err(error);
        }
        Ok(stream)
    }

    /// After a failed handshake: sends rustls's alert (why it failed, e.g. a missing client
    /// certificate), ends our side, and reads what the peer still sends until it closes, for
    /// at most [`FAILURE_LINGER`]. Closing with unread input would make the kernel send a
    /// reset, which can destroy the alert before the peer reads it.
    async fn fail_gracefully(&mut self) {
        let mut timer = <T::Timer as Timer>::at(std::time::Instant::now() + FAILURE_LINGER);
        let _ = std::future::poll_fn(|cx| {
            if timer.poll_elapsed(cx).is_ready() {
                return Poll::Ready(());
            }
            if ready!(self.poll_push(cx)).is_err() || ready!(self.io.poll_shutdown(cx)).is_err() {
                return Poll::Ready(());
            }
            loop {
                self.incoming.clear();
                self.incoming.reserve(READ_CHUNK);
                match ready!(self.io.poll_read_buf(cx, &mut self.incoming, READ_CHUNK)) {
                    Ok(0) | Err(_) => return Poll::Ready(()),
                    Ok(_) => {}
                }
            }
        })
        .await;
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_push(cx))?;
            if !self.conn.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            if self.eof {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the TLS handshake",
                )));
            }
            ready!(self.poll_pull(cx))?;
        }
    }

    /// The rustls connection (negotiated protocol, peer certificates, SNI...).
    #[must_use]
    pub fn connection(&self) -> &rustls::Connection {
        &self.conn
    }

    /// The transport underneath.
    #[must_use]
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// Writes out the ciphertext rustls has made, from its buffers straight to the
    /// transport; `Ready` once all of it went out.
    fn poll_push(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_write() {
            let mut transport = Writes {
                io: &mut self.io,
                cx,
            };
            match self.conn.write_tls(&mut transport) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Reads ciphertext once and hands it to rustls; at the end of the stream, tells rustls.
    ///
    /// A connection that trickles (small messages, an idle peer) reads straight into
    /// rustls's own buffer: no copy, and nothing held here. Once a read fills all it was
    /// offered, more is streaming in, and reads switch to whole-record chunks in `incoming`
    /// (fewer syscalls than rustls's 4 KiB reads), until one comes back short.
    fn poll_pull(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.incoming.is_empty() {
            if !self.bulk {
                if self.incoming.capacity() > 0 {
                    self.incoming = BytesMut::new();
                }
                let mut transport = Reads {
                    io: &mut self.io,
                    cx,
                };
                let n = match self.conn.read_tls(&mut transport) {
                    Ok(n) => n,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        return Poll::Pending;
                    }
                    Err(error) => return Poll::Ready(Err(error)),
                };
                if n == 0 {
                    self.eof = true;
                }
                self.bulk = n >= RUSTLS_READ;
                return Poll::Ready(self.process().map(drop));
            }
            // The transport reads into spare capacity only: offer room for a whole record.
            self.incoming.reserve(READ_CHUNK);
            let n = match self.io.poll_read_buf(cx, &mut self.incoming, READ_CHUNK) {
                Poll::Ready(n) => n?,
                Poll::Pending => {
                    self.bulk = false;
                    return Poll::Pending;
                }
            };
            if n == 0 {
                self.eof = true;
                self.conn.read_tls(&mut io::empty())?;
                return Poll::Ready(self.process().map(drop));
            }
            self.bulk = n >= READ_CHUNK;
        }
        // Feeds records while little plaintext waits: rustls refuses input once its plaintext
        // buffer is over its limit (16 KiB by default), so feeding stops well before that and
        // the rest of `incoming` waits for the next pull.
        while !self.incoming.is_empty() {
            let mut reader: &[u8] = &self.incoming;
            let used = self.conn.read_tls(&mut reader)?;
            self.incoming.advance(used);
            let state = self.process()?;
            if used == 0 || state.plaintext_bytes_to_read() >= FEED_PLAINTEXT_BELOW {
                break;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Hands out at most `room` bytes of plaintext through `put`, pulling ciphertext until
    /// some is there; `0` is the end of the stream. One batch per call: decrypting on until
    /// `room` is full was tried and cost 5% at 16 B pipelined without helping large messages.
    fn poll_plaintext(
        &mut self,
        cx: &mut Context<'_>,
        room: usize,
        mut put: impl FnMut(&[u8]),
    ) -> Poll<io::Result<usize>> {
        loop {
            // Cheap when nothing new arrived; it tells how much plaintext rustls holds.
            let state = self.process()?;
            let available = state.plaintext_bytes_to_read();
            if available > 0 {
                // Copied from rustls's buffers as they are (no zero-filling first).
                let room = room.min(available);
                let mut reader = self.conn.reader();
                let mut copied = 0;
                while copied < room {
                    let chunk = match reader.fill_buf() {
                        Ok(chunk) => chunk,
                        Err(_) if copied > 0 => break,
                        Err(error) => return Poll::Ready(Err(error)),
                    };
                    let n = chunk.len().min(room - copied);
                    if n == 0 {
                        break;
                    }
                    put(chunk.get(..n).unwrap_or_default());
                    reader.consume(n);
                    copied += n;
                }
                return Poll::Ready(Ok(copied));
            }
            // A close_notify, or TCP closed without one: for a WebSocket the Close frame (or
            // its absence) says how it ended, so either is just the end of the stream.
            if state.peer_has_closed() || self.eof {
                return Poll::Ready(Ok(0));
            }
            // Output rustls made while reading (alerts, key updates) leaves first; if the
            // transport cannot take it now, reading goes on and a later call retries.
            if let Poll::Ready(Err(error)) = self.poll_push(cx) {
                return Poll::Ready(Err(error));
            }
            ready!(self.poll_pull(cx))?;
        }
    }

    /// Lets rustls process what it received. A failure queues rustls's alert, which the next
    /// push sends on a best-effort basis; the error carries the `rustls::Error`.
    fn process(&mut self) -> io::Result<rustls::IoState> {
        self.conn
            .process_new_packets()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
    }
}

/// The transport as a `std::io::Read` for rustls's `read_tls`, inside one poll: a transport
/// with nothing to read is `WouldBlock`, which [`TlsStream::poll_pull`] turns into `Pending`.
struct Reads<'a, 'b, T> {
    io: &'a mut T,
    cx: &'a mut Context<'b>,
}

impl<T: Transport> Read for Reads<'_, '_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ready_or_would_block(self.io.poll_read(self.cx, buf))
    }
}

/// The transport as a `std::io::Write` for rustls's `write_tls`, inside one poll: a transport
/// that is not ready is `WouldBlock`, which [`TlsStream::poll_push`] turns into `Pending`
/// (the transport registered the waker).
struct Writes<'a, 'b, T> {
    io: &'a mut T,
    cx: &'a mut Context<'b>,
}

impl<T: Transport> Write for Writes<'_, '_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        ready_or_would_block(self.io.poll_write(self.cx, buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        ready_or_would_block(self.io.poll_write_vectored(self.cx, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn ready_or_would_block<R>(poll: Poll<io::Result<R>>) -> io::Result<R> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl<T: Transport> Transport for TlsStream<T> {
    type Timer = T::Timer;

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        // Only the room the caller offered: the engine sizes its read space on purpose
        // (small for idle connections), so it is not grown.
        let room = (buf.capacity() - buf.len())
            .clamp(1, MAX_PLAINTEXT_READ)
            .min(max.max(1));
        self.poll_plaintext(cx, room, |chunk| buf.extend_from_slice(chunk))
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut at = 0;
        self.poll_plaintext(cx, buf.len(), |chunk| {
            if let Some(dst) = buf.get_mut(at..at + chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            at += chunk.len();
        })
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Ciphertext of earlier writes goes out before more plaintext is taken, which bounds
        // what this layer holds.
        ready!(self.poll_push(cx))?;
        let taken = self.conn.writer().write_vectored(bufs)?;
        if let Poll::Ready(Err(error)) = self.poll_push(cx) {
            return Poll::Ready(Err(error));
        }
        Poll::Ready(Ok(taken))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_push(cx))?;
        self.io.poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.closing {
            self.closing = true;
            self.conn.send_close_notify();
        }
        ready!(self.poll_push(cx))?;
        self.io.poll_shutdown(cx)
    }
}

impl<T: SocketAddrs> SocketAddrs for TlsStream<T> {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }
}

impl<T> std::fmt::Debug for TlsStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("handshaking", &self.conn.is_handshaking())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}
