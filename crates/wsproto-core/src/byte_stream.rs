//! A connection's data messages as one byte stream each way, the rules written once for every
//! adapter's `Read`/`Write` (or `AsyncRead`/`AsyncWrite`) view of a WebSocket.
//!
//! - [`ByteReader`] turns the peer's data messages into payload bytes, in order across message
//!   boundaries, without copying them: it holds the payload the engine delivered (a whole
//!   message, or a piece of one under [`Delivery::Streaming`](crate::Delivery::Streaming)) and
//!   lends it out. The peer's Close is the end of the stream. A text message is refused
//!   unless [`TextMessages::PassThrough`] says otherwise.
//! - [`ByteWriter`] turns writes into binary messages, coalesced up to the connection's
//!   outgoing frame size: many small writes leave as one message, on a flush or when the
//!   message is full, never one message per write.
//!
//! Neither does I/O: an adapter feeds the reader the connection's events and drains the
//! connection's transmit queue after the writer queued a message.

use bytes::{Buf, Bytes, BytesMut};
use core::fmt;

use crate::{Connection, Event, MessageKind, SendError};

/// Capacity the writer keeps between messages; a larger buffer is given back after it was
/// sent, so a stream that once carried a burst does not keep its memory while idle.
const KEEP_CAPACITY: usize = 64 * 1024;

/// What a byte stream does with a text message from the peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TextMessages {
    /// Refuse it: the read that meets it fails with [`ByteStreamError::TextMessage`], the
    /// message is dropped, and the next read goes on with the message after it.
    #[default]
    Reject,
    /// Pass its payload (UTF-8 bytes) through as if it were binary.
    PassThrough,
}

/// What a byte stream refused in the peer's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ByteStreamError {
    /// The peer sent a text message on a stream that carries binary messages only
    /// ([`TextMessages::Reject`]); it was dropped.
    TextMessage,
}

impl fmt::Display for ByteStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TextMessage => f.write_str(
                "the peer sent a text message on a byte stream of binary messages; it was dropped",
            ),
        }
    }
}

impl core::error::Error for ByteStreamError {}

/// The reading side of a byte stream: the payload of the peer's data messages, in order.
///
/// Feed it events with [`handle_event`](Self::handle_event) whenever
/// [`buffered`](Self::buffered) is empty and the stream has not ended; read with
/// [`buffered`](Self::buffered) + [`consume`](Self::consume) (no copy) or
/// [`read_into`](Self::read_into).
///
/// ```
/// use wsproto_core::byte_stream::{ByteReader, TextMessages};
/// use wsproto_core::{Event, Message};
///
/// let mut reader = ByteReader::new(TextMessages::Reject);
/// reader.handle_event(Event::Message(Message::binary(&b"hello "[..]))).unwrap();
/// let mut out = [0; 16];
/// assert_eq!(reader.read_into(&mut out), 6);
/// reader.handle_event(Event::Message(Message::binary(&b"world"[..]))).unwrap();
/// assert_eq!(reader.buffered(), b"world");
/// reader.consume(5);
/// reader.finish(); // what the peer's Close does, through `handle_event`
/// assert!(reader.is_at_end());
/// ```
#[derive(Debug, Default)]
pub struct ByteReader {
    /// Received payload not consumed yet.
    chunk: Bytes,
    text: TextMessages,
    /// The rest of a refused text message is still arriving in pieces.
    skipping: bool,
    /// The peer's Close arrived (or the connection ended).
    ended: bool,
}

impl ByteReader {
    /// A reader that treats text messages as `text` says.
    #[must_use]
    pub fn new(text: TextMessages) -> Self {
        Self {
            text,
            ..Self::default()
        }
    }

    /// Changes what happens to the text messages that arrive from now on.
    pub fn set_text_messages(&mut self, text: TextMessages) {
        self.text = text;
    }

    /// Payload received and not consumed yet; empty when the next read needs another event.
    #[must_use]
    pub fn buffered(&self) -> &[u8] {
        &self.chunk
    }

    /// Marks the first `n` buffered bytes as read (at most all of them).
    pub fn consume(&mut self, n: usize) {
        self.chunk.advance(n.min(self.chunk.len()));
    }

    /// Copies as much buffered payload as fits into `out` and consumes it; returns how much.
    pub fn read_into(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.chunk.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), self.chunk.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.chunk.advance(n);
        n
    }

    /// Whether the stream ended (the peer's Close arrived, or the connection is over) and every
    /// byte before the end was consumed.
    #[must_use]
    pub fn is_at_end(&self) -> bool {
        self.ended && self.chunk.is_empty()
    }

    /// Marks the end of the stream: the connection delivers no more events.
    pub fn finish(&mut self) {
        self.ended = true;
    }

    /// Takes one event of the connection: a data message (or piece) becomes buffered payload,
    /// the peer's Close is the end of the stream, pings and pongs change nothing.
    ///
    /// # Errors
    ///
    /// [`ByteStreamError::TextMessage`] for a text message under [`TextMessages::Reject`]
    /// (once per message, at its first piece); the message is dropped.
    pub fn handle_event(&mut self, event: Event) -> Result<(), ByteStreamError> {
        match event {
            Event::Message(message) => {
                let kind = message.kind();
                self.take(kind, message.into_payload(), true)
            }
            Event::Fragment { kind, data, fin } => self.take(kind, data, fin),
            Event::Close(_) => {
                self.ended = true;
                Ok(())
            }
            Event::Ping(_) | Event::Pong { .. } => Ok(()),
        }
    }

    fn take(&mut self, kind: MessageKind, data: Bytes, fin: bool) -> Result<(), ByteStreamError> {
        if self.ended {
            return Ok(());
        }
        if self.skipping {
            self.skipping = !fin;
            return Ok(());
        }
        if kind == MessageKind::Text && self.text == TextMessages::Reject {
            self.skipping = !fin;
            return Err(ByteStreamError::TextMessage);
        }
        if self.chunk.is_empty() {
            self.chunk = data;
        } else if !data.is_empty() {
            // Only when fed before the previous payload was read: keep both, in order.
            let mut joined = BytesMut::with_capacity(self.chunk.len() + data.len());
            joined.extend_from_slice(&self.chunk);
            joined.extend_from_slice(&data);
            self.chunk = joined.freeze();
        }
        Ok(())
    }
}

/// The writing side of a byte stream: writes coalesced into binary messages of at most the
/// connection's outgoing frame size.
///
/// Call [`write`](Self::write) and [`flush`](Self::flush) only while the connection has room
/// (its write buffer below the high-water mark); both queue on the connection, which the
/// adapter then drains.
///
/// ```
/// use wsproto_core::byte_stream::ByteWriter;
/// use wsproto_core::{Config, Connection, Instant, Limits};
///
/// let mut conn = Connection::server(Config::default(), Limits::default(), Instant::ZERO);
/// let mut writer = ByteWriter::for_connection(&conn);
/// assert_eq!(writer.write(&mut conn, b"many ").unwrap(), 5);
/// assert_eq!(writer.write(&mut conn, b"small writes").unwrap(), 12);
/// assert!(conn.transmit().is_empty(), "nothing leaves before a flush");
/// writer.flush(&mut conn).unwrap();
/// assert_eq!(conn.transmit(), b"\x82\x11many small writes");
/// ```
#[derive(Debug)]
pub struct ByteWriter {
    /// Written bytes not yet queued as a message.
    pending: BytesMut,
    /// Largest message: the connection's outgoing frame size.
    message_size: usize,
}

impl ByteWriter {
    /// A writer whose messages hold at most `message_size` bytes (at least 1).
    #[must_use]
    pub fn new(message_size: usize) -> Self {
        Self {
            pending: BytesMut::new(),
            message_size: message_size.max(1),
        }
    }

    /// A writer sized for `conn`: messages of at most its outgoing frame size, so each leaves
    /// as one frame.
    #[must_use]
    pub fn for_connection(conn: &Connection) -> Self {
        Self::new(conn.config().get_outgoing_frame_size().get())
    }

    /// Bytes written and not yet queued as a message.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Takes bytes from `data` into the stream and returns how many (fewer than `data.len()`
    /// when a message filled up; `0` only for empty `data`). A full message is queued on
    /// `conn` at once; a write of a whole message or more with nothing pending is queued
    /// straight from `data`, without a copy here.
    ///
    /// # Errors
    ///
    /// What [`Connection::send_binary`] refuses (the connection is closing, its write buffer
    /// is full); then nothing was taken.
    pub fn write(&mut self, conn: &mut Connection, data: &[u8]) -> Result<usize, SendError> {
        if data.is_empty() {
            return Ok(0);
        }
        if self.pending.len() >= self.message_size {
            self.flush(conn)?;
        }
        if self.pending.is_empty() && data.len() >= self.message_size {
            let message = data.get(..self.message_size).unwrap_or(data);
            conn.send_binary(message)?;
            return Ok(message.len());
        }
        let take = data.len().min(self.message_size - self.pending.len());
        self.pending
            .extend_from_slice(data.get(..take).unwrap_or_default());
        if self.pending.len() >= self.message_size {
            // Sent now if the connection has room, else by the next write or flush, which
            // then reports why it could not.
            let _ = self.flush(conn);
        }
        Ok(take)
    }

    /// Queues what is pending as one binary message (nothing when nothing is pending).
    ///
    /// # Errors
    ///
    /// What [`Connection::send_binary`] refuses; the bytes stay pending.
    pub fn flush(&mut self, conn: &mut Connection) -> Result<(), SendError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        conn.send_binary(&self.pending)?;
        self.pending.clear();
        if self.pending.capacity() > KEEP_CAPACITY {
            self.pending = BytesMut::new();
        }
        Ok(())
    }
}
