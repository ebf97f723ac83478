//! TLS over any [`Transport`], written once for every async runtime: [`TlsStream`] drives
//! rustls's sans-IO connection over the runtime's TCP stream, and [`MaybeTls`] is what
//! `connect_with` and `Server` hand out, plain or encrypted as the URL or the server asks.
//!
//! Reads feed ciphertext to rustls and hand out plaintext; writes give plaintext to rustls
//! and push the records it makes, so a corked batch of frames leaves as few records (and
//! syscalls) as rustls allows. Output rustls made on its own (handshake flights, alerts, key
//! updates) is pushed out by every read, write and flush.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use rustls::pki_types::ServerName;
use wsproto_core::BytesMut;

use crate::runtime::{SocketAddrs, Timer, Transport};

/// Most ciphertext read from the transport at once: a little over one full TLS record.
const READ_CHUNK: usize = 17 * 1024;
/// Most plaintext handed out by one read.
const MAX_PLAINTEXT_READ: usize = 64 * 1024;
/// Ciphertext is fed to rustls only while less plaintext than this waits to be read.
const FEED_PLAINTEXT_BELOW: usize = 8 * 1024;
/// Longest a failed handshake waits for its alert to reach the peer.
const FAILURE_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// A TLS connection over the transport `T`.
pub struct TlsStream<T> {
    io: T,
    conn: rustls::Connection,
    /// Ciphertext read from `io` and not yet taken by rustls.
    incoming: BytesMut,
    /// Ciphertext rustls produced and `io` did not take yet.
    outgoing: Vec<u8>,
    /// How much of `outgoing` was written.
    written: usize,
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

    async fn handshake(io: T, conn: rustls::Connection) -> io::Result<Self> {
        let mut stream = Self {
            io,
            conn,
            incoming: BytesMut::new(),
            outgoing: Vec::new(),
            written: 0,
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

    /// Writes out the ciphertext rustls has made; `Ready` once all of it went out.
    fn poll_push(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.written == self.outgoing.len() {
                self.outgoing.clear();
                self.written = 0;
                if !self.conn.wants_write() {
                    return Poll::Ready(Ok(()));
                }
                self.conn.write_tls(&mut self.outgoing)?;
            }
            let n = ready!(self.io.poll_write(cx, &self.outgoing[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
    }

    /// Reads ciphertext once and hands it to rustls; at the end of the stream, tells rustls.
    fn poll_pull(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.incoming.is_empty() {
            // The transport reads into spare capacity only: offer room for a whole record.
            self.incoming.reserve(READ_CHUNK);
            let n = ready!(self.io.poll_read_buf(cx, &mut self.incoming, READ_CHUNK))?;
            if n == 0 {
                self.eof = true;
                self.conn.read_tls(&mut io::empty())?;
                return Poll::Ready(self.process().map(drop));
            }
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

    /// Lets rustls process what it received. A failure queues rustls's alert, which the next
    /// push sends on a best-effort basis; the error carries the `rustls::Error`.
    fn process(&mut self) -> io::Result<rustls::IoState> {
        self.conn.process_new_packets().map_err(|error| {
            let _ = self.conn.write_tls(&mut self.outgoing);
            io::Error::new(io::ErrorKind::InvalidData, error)
        })
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
        loop {
            // Cheap when nothing new arrived; it tells how much plaintext rustls holds.
            let state = self.process()?;
            let available = state.plaintext_bytes_to_read();
            if available > 0 {
                // Only what is there, and only the room the caller offered: the engine sizes
                // its read space on purpose (small for idle connections), so it is not grown.
                let start = buf.len();
                let space = (buf.capacity() - start)
                    .clamp(1, MAX_PLAINTEXT_READ)
                    .min(max.max(1))
                    .min(available);
                buf.resize(start + space, 0);
                let read = self.conn.reader().read(&mut buf[start..]);
                buf.truncate(start + read.as_ref().map_or(0, |n| *n));
                return Poll::Ready(read);
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
