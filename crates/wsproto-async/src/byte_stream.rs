//! [`ByteStream`]: a [`WebSocket`] as a pipe of bytes — tokio `AsyncRead` + `AsyncWrite` +
//! `AsyncBufRead` (feature `tokio-io`) and futures-io's three (feature `futures-io`), over the
//! rules of [`wsproto_core::byte_stream`].
//!
//! Reads return the payload of binary messages in order across message boundaries; writes
//! leave as binary messages coalesced up to the outgoing frame size, on `flush` or when a
//! message fills; `shutdown` sends the rest and a Close with 1000. Pings, pongs, keepalive and
//! the peer's Close work underneath as for messages.

use std::io;
use std::task::{Context, Poll, ready};

use wsproto_core::byte_stream::{ByteReader, ByteWriter, TextMessages};
use wsproto_core::{CloseCode, CloseFrame};

use crate::driver::Half;
use crate::runtime::Transport;
use crate::websocket::WebSocket;

/// A WebSocket connection as a byte stream (the embedded-platform socket's IoDevice view,
/// websocat's pipe): made by [`WebSocket::into_byte_stream`].
///
/// - **Reading**: the payload bytes of the peer's binary messages, in order, whatever the
///   message boundaries; `poll_fill_buf` lends the received payload itself, no copy. The
///   peer's Close is the end of the stream (a read of 0). A text message is an
///   [`io::ErrorKind::InvalidData`] error wrapping
///   [`ByteStreamError::TextMessage`](wsproto_core::byte_stream::ByteStreamError) and is
///   dropped (reading goes on after it), unless [`text_messages`](Self::text_messages)
///   passes text through. A connection lost without a Close is `UnexpectedEof`.
/// - **Writing**: writes are coalesced into binary messages of at most the connection's
///   outgoing frame size, sent when one fills or on `flush` — never one message per small
///   write. Writes wait while the connection's write buffer is above its high-water mark.
/// - **Shutdown**: sends what was written, then a Close with 1000; reading goes on until
///   the peer's Close. On a connection with [`Config::half_close`](wsproto_core::Config::half_close)
///   on both ends this is a TCP-like half-close: the peer reads the end of the stream and
///   may still send until it shuts down in turn.
pub struct ByteStream<T: Transport> {
    ws: WebSocket<T>,
    reader: ByteReader,
    writer: ByteWriter,
    /// Our Close was queued by `poll_shutdown`.
    shut_down: bool,
    /// The connection delivers no more events (after the peer's Close, once the closing
    /// handshake finished).
    ended: bool,
}

impl<T: Transport> WebSocket<T> {
    /// This connection as a byte stream (see [`ByteStream`]): binary messages' payload in,
    /// writes out as binary messages.
    #[must_use]
    pub fn into_byte_stream(mut self) -> ByteStream<T> {
        let writer = ByteWriter::for_connection(&self.driver.conn);
        // A byte stream is often split (`tokio::io::split`, futures' `split`) into a reading
        // and a writing task: whichever polls the transport, both must be woken.
        self.driver.enable_split_wakers();
        ByteStream {
            ws: self,
            reader: ByteReader::new(TextMessages::Reject),
            writer,
            shut_down: false,
            ended: false,
        }
    }
}

impl<T: Transport> ByteStream<T> {
    /// What reading does with a text message: refuse it (the default) or pass its bytes.
    #[must_use]
    pub fn text_messages(mut self, text: TextMessages) -> Self {
        self.reader.set_text_messages(text);
        self
    }

    /// The connection underneath (state, close frames, addresses, the handshake).
    #[must_use]
    pub fn websocket(&self) -> &WebSocket<T> {
        &self.ws
    }

    /// The peer's Close (code and reason), once the stream ended with one.
    #[must_use]
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.ws.close_received()
    }

    /// Received payload, waiting for an event if none is buffered; empty at the end of the
    /// stream. Lends the payload the connection delivered, without copying it.
    pub fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        while self.reader.buffered().is_empty() && !self.ended {
            // After the peer's Close the events run out once the closing handshake is done:
            // our answer written, the transport shut down (or, half-closed, left to us).
            match ready!(self.ws.driver.poll_event(cx, Half::Reader)) {
                Some(Ok(event)) => self
                    .reader
                    .handle_event(event)
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?,
                Some(Err(error)) if self.reader.is_at_end() => drop(error),
                Some(Err(error)) => return Poll::Ready(Err(error.into())),
                None => {
                    self.reader.finish();
                    self.ended = true;
                }
            }
        }
        Poll::Ready(Ok(self.reader.buffered()))
    }

    /// Marks `n` bytes of what [`poll_fill_buf`](Self::poll_fill_buf) lent as read.
    pub fn consume(&mut self, n: usize) {
        self.reader.consume(n);
    }

    /// Reads payload into `buf`; `0` at the end of the stream (or for an empty `buf`).
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(self.poll_fill_buf(cx))?;
        Poll::Ready(Ok(self.reader.read_into(buf)))
    }

    /// Takes bytes of `data` into the stream (a full message is queued at once); waits while
    /// the connection's write buffer is above its high-water mark.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.shut_down {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        ready!(self.ws.driver.poll_send_ready(cx, Half::Writer))?;
        let taken = self
            .writer
            .write(&mut self.ws.driver.conn, data)
            .map_err(wsproto_setup::Error::Send)?;
        Poll::Ready(Ok(taken))
    }

    /// Sends what was written as a message and writes everything queued out.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_pending(cx))?;
        ready!(self.ws.driver.poll_flush(cx, Half::Writer))?;
        Poll::Ready(Ok(()))
    }

    /// Sends what was written, then a Close with 1000, and writes it all out. Reading goes
    /// on until the peer's Close.
    pub fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut_down {
            ready!(self.poll_send_pending(cx))?;
            let conn = &self.ws.driver.conn;
            if conn.state() == wsproto_core::State::Open || conn.is_half_closed() {
                let now = self.ws.driver.now();
                self.ws
                    .driver
                    .conn
                    .close(CloseCode::NORMAL, "", now)
                    .map_err(wsproto_setup::Error::Send)?;
                // The close timeout is armed by the reading side's polling.
                self.ws.driver.wake_reader();
            }
            self.shut_down = true;
        }
        ready!(self.ws.driver.poll_flush(cx, Half::Writer))?;
        Poll::Ready(Ok(()))
    }

    /// Queues the pending bytes as a message once the connection has room.
    fn poll_send_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.writer.pending() > 0 {
            ready!(self.ws.driver.poll_send_ready(cx, Half::Writer))?;
            self.writer
                .flush(&mut self.ws.driver.conn)
                .map_err(wsproto_setup::Error::Send)?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: Transport> std::fmt::Debug for ByteStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("websocket", &self.ws)
            .field("buffered", &self.reader.buffered().len())
            .field("pending", &self.writer.pending())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "tokio-io")]
mod tokio_io {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll, ready};

    use super::ByteStream;
    use crate::runtime::Transport;

    impl<T: Transport> tokio::io::AsyncRead for ByteStream<T> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            let available = ready!(this.poll_fill_buf(cx))?;
            let n = available.len().min(buf.remaining());
            buf.put_slice(available.get(..n).unwrap_or_default());
            this.consume(n);
            Poll::Ready(Ok(()))
        }
    }

    impl<T: Transport> tokio::io::AsyncBufRead for ByteStream<T> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            self.get_mut().poll_fill_buf(cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            self.get_mut().consume(amt);
        }
    }

    impl<T: Transport> tokio::io::AsyncWrite for ByteStream<T> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().poll_write(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().poll_shutdown(cx)
        }
    }
}

#[cfg(feature = "futures-io")]
mod futures_io_impls {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::ByteStream;
    use crate::runtime::Transport;

    impl<T: Transport> futures_io::AsyncRead for ByteStream<T> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().poll_read(cx, buf)
        }
    }

    impl<T: Transport> futures_io::AsyncBufRead for ByteStream<T> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            self.get_mut().poll_fill_buf(cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            self.get_mut().consume(amt);
        }
    }

    impl<T: Transport> futures_io::AsyncWrite for ByteStream<T> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().poll_write(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().poll_flush(cx)
        }

        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().poll_shutdown(cx)
        }
    }
}
