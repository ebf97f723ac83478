//! [`ByteStream`]: a blocking [`WebSocket`] as `Read` + `Write` + `BufRead`, over the rules
//! of [`wsproto_core::byte_stream`].

use std::io::{self, BufRead, Read, Write};

use wsproto_core::byte_stream::{ByteReader, ByteWriter, TextMessages};
use wsproto_core::{CloseCode, CloseFrame, State};
use wsproto_setup::Error;

use crate::transport::BlockingTransport;
use crate::websocket::WebSocket;

/// A blocking WebSocket connection as a byte stream: made by
/// [`WebSocket::into_byte_stream`].
///
/// Reads return the payload of the peer's binary messages in order across message
/// boundaries (`fill_buf` lends it without a copy); the peer's Close is the end of the
/// stream; a text message is an [`io::ErrorKind::InvalidData`] error (the message is dropped)
/// unless [`text_messages`](Self::text_messages) passes text through. Writes are coalesced
/// into binary messages of at most the outgoing frame size, sent when one fills or on
/// `flush`. [`shutdown`](Self::shutdown) sends the rest and a Close with 1000; reading goes
/// on until the peer's Close. Pings are answered while a read waits, as for messages.
///
/// ```no_run
/// use std::io::{BufRead, Write};
/// # fn run() -> std::io::Result<()> {
/// let ws = wsproto_blocking::connect("ws://127.0.0.1:9001/").map_err(std::io::Error::from)?;
/// let mut stream = ws.into_byte_stream();
/// stream.write_all(b"hello\n")?;
/// stream.flush()?;
/// let mut line = String::new();
/// stream.read_line(&mut line)?;
/// stream.shutdown()?;
/// # Ok(()) }
/// ```
pub struct ByteStream<S: BlockingTransport> {
    ws: WebSocket<S>,
    reader: ByteReader,
    writer: ByteWriter,
    /// Our Close was queued by `shutdown`.
    shut_down: bool,
    /// The connection delivers no more events (after the peer's Close, once the closing
    /// handshake finished).
    ended: bool,
}

impl<S: BlockingTransport> WebSocket<S> {
    /// This connection as a byte stream (see [`ByteStream`]): binary messages' payload in,
    /// writes out as binary messages.
    #[must_use]
    pub fn into_byte_stream(self) -> ByteStream<S> {
        let writer = ByteWriter::for_connection(&self.conn);
        ByteStream {
            ws: self,
            reader: ByteReader::new(TextMessages::Reject),
            writer,
            shut_down: false,
            ended: false,
        }
    }
}

impl<S: BlockingTransport> ByteStream<S> {
    /// What reading does with a text message: refuse it (the default) or pass its bytes.
    #[must_use]
    pub fn text_messages(mut self, text: TextMessages) -> Self {
        self.reader.set_text_messages(text);
        self
    }

    /// The connection underneath (state, close frames, addresses, the handshake).
    #[must_use]
    pub fn websocket(&self) -> &WebSocket<S> {
        &self.ws
    }

    /// The peer's Close (code and reason), once the stream ended with one.
    #[must_use]
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.ws.close_received()
    }

    /// Sends what was written, then a Close with 1000, and writes it all out. Reading goes on
    /// until the peer's Close (the end of the stream).
    pub fn shutdown(&mut self) -> io::Result<()> {
        if !self.shut_down {
            self.send_pending()?;
            if self.ws.conn.state() == State::Open || self.ws.conn.is_half_closed() {
                let now = self.ws.now();
                self.ws
                    .conn
                    .close(CloseCode::NORMAL, "", now)
                    .map_err(Error::Send)?;
            }
            self.shut_down = true;
        }
        self.ws.flush()?;
        Ok(())
    }

    /// Waits until the connection takes more (its write buffer below the high-water mark).
    fn make_room(&mut self) -> io::Result<()> {
        while self.ws.conn.is_write_buffer_full() {
            self.ws.flush()?;
        }
        Ok(())
    }

    /// Queues the pending bytes as one message.
    fn send_pending(&mut self) -> io::Result<()> {
        if self.writer.pending() > 0 {
            self.make_room()?;
            self.writer.flush(&mut self.ws.conn).map_err(Error::Send)?;
        }
        Ok(())
    }
}

impl<S: BlockingTransport> BufRead for ByteStream<S> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.reader.buffered().is_empty() && !self.ended {
            // After the peer's Close the events run out once the closing handshake is done:
            // our answer written, the socket shut down (or, half-closed, left to us).
            match self.ws.next_event() {
                Some(Ok(event)) => self
                    .reader
                    .handle_event(event)
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?,
                Some(Err(error)) if self.reader.is_at_end() => drop(error),
                Some(Err(error)) => return Err(error.into()),
                None => {
                    self.reader.finish();
                    self.ended = true;
                }
            }
        }
        Ok(self.reader.buffered())
    }

    fn consume(&mut self, amount: usize) {
        self.reader.consume(amount);
    }
}

impl<S: BlockingTransport> Read for ByteStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.fill_buf()?;
        Ok(self.reader.read_into(buf))
    }
}

impl<S: BlockingTransport> Write for ByteStream<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.shut_down {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.make_room()?;
        Ok(self
            .writer
            .write(&mut self.ws.conn, data)
            .map_err(Error::Send)?)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()?;
        self.ws.flush()?;
        Ok(())
    }
}

impl<S: BlockingTransport> std::fmt::Debug for ByteStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("buffered", &self.reader.buffered().len())
            .field("pending", &self.writer.pending())
            .finish_non_exhaustive()
    }
}
