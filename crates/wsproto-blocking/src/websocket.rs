//! [`WebSocket`]: an open connection over a [`BlockingTransport`], with blocking methods and
//! an [`Iterator`] of messages.
//!
//! Invariant: every byte received or queued lives in the engine ([`Connection`]); this type
//! holds only the transport, the clock origin and bookkeeping, so an error in one call never
//! loses data another call would have delivered. Commands queue through the engine; `send*`
//! write everything queued before returning, [`WebSocket::feed`] leaves it queued until the
//! next flush, receive, or the write buffer's high-water mark.

use std::net::SocketAddr;
use std::time::Duration;

use wsproto_core::{
    CloseCode, CloseFrame, Config, Connection, Event, Instant, Limits, Message, MessageKind, Role,
    State,
};
use wsproto_setup::{Error, HandshakeInfo, Result};

use crate::transport::{BlockingTransport, SocketAddrs};

/// An open WebSocket over a blocking stream `S` (a [`TcpStream`](std::net::TcpStream), a TLS stream, ...).
///
/// Receive with [`recv`](Self::recv) (whole messages; also the [`Iterator`] impl) or
/// [`next_event`](Self::next_event) (every event: pings, pongs with round-trip times, the
/// peer's Close, streaming pieces). Send with [`send`](Self::send) (queue and write) or
/// [`feed`](Self::feed) (queue only — the way to batch replies into one write).
///
/// Pongs, the Close echo and masking are automatic, but only happen while the application is
/// inside a receiving call: a blocking connection has no background thread. Timers (the
/// close timeout, keepalive pings and their deadline) are mapped onto the socket's read
/// timeout while receiving. Writes block until the peer takes the bytes; they are not bounded
/// by a timeout unless the transport has one of its own.
///
/// ```no_run
/// # fn run() -> wsproto_blocking::Result<()> {
/// let mut ws = wsproto_blocking::connect("ws://127.0.0.1:9001/")?;
/// ws.send_text("hello")?;
/// if let Some(reply) = ws.recv() {
///     println!("{:?}", reply?);
/// }
/// ws.close(wsproto_blocking::CloseCode::NORMAL, "bye")?;
/// # Ok(()) }
/// ```
pub struct WebSocket<S: BlockingTransport> {
    pub(crate) stream: S,
    pub(crate) conn: Connection,
    /// The instant that the engine's `Instant::ZERO` stands for.
    origin: std::time::Instant,
    info: HandshakeInfo,
    /// The read timeout last set on the stream; `None` until this type set one.
    pub(crate) read_timeout: Option<Option<Duration>>,
    /// A protocol or I/O error was already returned once; the connection ends after it.
    pub(crate) failed: bool,
    /// Our sending direction was shut down.
    pub(crate) transport_closed: bool,
    /// A server's graceful-shutdown signal, checked at least every
    /// [`SHUTDOWN_POLL`](crate::drive::SHUTDOWN_POLL) while receiving.
    pub(crate) shutdown: Option<wsproto_setup::ShutdownWatch>,
    /// The shutdown fired and the 1001 close was started.
    pub(crate) shutdown_seen: bool,
}

impl<S: BlockingTransport> WebSocket<S> {
    /// Wraps a stream on which the opening handshake already happened (by your own HTTP
    /// server, say) and starts the engine directly in `role`.
    ///
    /// `leftover` are bytes read past the handshake that belong to the WebSocket. A client
    /// role masks with keys from the operating system's generator.
    pub fn from_upgraded(
        stream: S,
        role: Role,
        config: Config,
        limits: Limits,
        leftover: &[u8],
    ) -> Self {
        let conn = wsproto_setup::upgraded_connection(role, config, limits, leftover);
        Self::from_parts(
            stream,
            conn,
            std::time::Instant::now(),
            HandshakeInfo::default(),
        )
    }

    /// Wraps a stream that another HTTP stack upgraded after
    /// [`HttpUpgrade::answer`](wsproto_setup::HttpUpgrade::answer) settled its request: the
    /// negotiated subprotocol and permessage-deflate apply, and
    /// [`handshake`](Self::handshake) tells what was settled. `leftover` are bytes
    /// that stack read past the request (none with hyper, which replays them itself).
    pub fn from_http_upgrade(
        stream: S,
        upgrade: wsproto_setup::HttpUpgrade,
        leftover: &[u8],
    ) -> Self {
        let (conn, info) = upgrade.into_connection(leftover);
        Self::from_parts(stream, conn, std::time::Instant::now(), info)
    }

    /// A connection whose engine counts time from `origin` (the handshakes start it).
    pub(crate) fn from_parts(
        stream: S,
        conn: Connection,
        origin: std::time::Instant,
        info: HandshakeInfo,
    ) -> Self {
        Self {
            stream,
            conn,
            origin,
            info,
            read_timeout: None,
            failed: false,
            transport_closed: false,
            shutdown: None,
            shutdown_seen: false,
        }
    }

    /// The engine's view of the current time.
    /// Ties this connection to a server's graceful shutdown: once `watch` fires, the
    /// connection starts a 1001 close the next time it receives (receiving calls check at
    /// least every 100 ms while a watch is attached).
    pub fn attach_shutdown(&mut self, watch: wsproto_setup::ShutdownWatch) {
        self.shutdown = Some(watch);
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    /// [`now`](Self::now) as a function that borrows nothing, to read the clock only when a
    /// step needs it.
    pub(crate) fn clock(&self) -> impl Fn() -> Instant + Copy + use<S> {
        let origin = self.origin;
        move || Instant::from_duration(origin.elapsed())
    }

    // ----- receiving (the loop itself is in `drive.rs`) ---------------------------------------

    /// The next whole data message, blocking until one arrives; `None` once the connection is
    /// closed (after the closing handshake, a failure already reported, or an abort).
    ///
    /// Control frames are handled on the way (pongs sent, round-trip times recorded in
    /// [`last_rtt`](Self::last_rtt)). With [`Delivery::Streaming`](crate::Delivery) this
    /// returns [`Error::StreamingDelivery`]; use [`next_event`](Self::next_event) instead.
    pub fn recv(&mut self) -> Option<Result<Message>> {
        loop {
            match self.next_event()? {
                Ok(Event::Message(message)) => return Some(Ok(message)),
                Ok(Event::Fragment { .. }) => return Some(Err(Error::StreamingDelivery)),
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }

    // ----- sending ---------------------------------------------------------------------------

    /// Queues `message` and writes everything queued.
    pub fn send(&mut self, message: Message) -> Result<()> {
        self.make_room()?;
        self.conn.send(message)?;
        self.flush()
    }

    /// Queues `message` without writing it yet: it leaves with the next
    /// [`flush`](Self::flush), receive or `send`, or at once when the write buffer passes its
    /// high-water mark ([`Limits::write_high_water`]).
    pub fn feed(&mut self, message: Message) -> Result<()> {
        self.make_room()?;
        self.conn.send(message)?;
        self.make_room()
    }

    /// Sends `message` without compressing it even on a permessage-deflate connection (for
    /// payloads that will not compress, such as media or random tokens).
    pub fn send_uncompressed(&mut self, message: Message) -> Result<()> {
        self.make_room()?;
        self.conn.send_uncompressed(message)?;
        self.flush()
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<()> {
        self.make_room()?;
        self.conn.send_text(text)?;
        self.flush()
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.make_room()?;
        self.conn.send_binary(data)?;
        self.flush()
    }

    /// Sends one piece of a message you fragment yourself; the piece with `fin` ends it.
    /// Control frames (pings) may go between pieces.
    pub fn send_fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<()> {
        self.make_room()?;
        self.conn.send_fragment(kind, data, fin)?;
        self.flush()
    }

    /// Sends a ping; the matching pong's round-trip time is reported by
    /// [`next_event`](Self::next_event) and kept in [`last_rtt`](Self::last_rtt).
    ///
    /// Payloads over 125 bytes are refused ([`wsproto_core::SendError::ControlTooLong`]).
    pub fn ping(&mut self, payload: &[u8]) -> Result<()> {
        let now = self.now();
        self.conn.ping(payload, now)?;
        self.flush()
    }

    /// Sends a pong (for a connection configured with `auto_pong(false)`, answering the
    /// pings that [`next_event`](Self::next_event) reports, or as an unsolicited heartbeat).
    ///
    /// Payloads over 125 bytes are refused ([`wsproto_core::SendError::ControlTooLong`]).
    pub fn pong(&mut self, payload: &[u8]) -> Result<()> {
        self.conn.pong(payload)?;
        self.flush()
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<()> {
        self.write_queued().map_err(Error::Io)
    }

    /// Writes out the queue while it is at or above the high-water mark, so the engine takes
    /// the next send.
    fn make_room(&mut self) -> Result<()> {
        if self.conn.is_write_buffer_full() {
            self.flush()?;
        }
        Ok(())
    }

    // ----- closing ---------------------------------------------------------------------------

    /// Closes cleanly: everything already queued goes first, then a Close with `code` and
    /// `reason`; then reads until the peer's Close, the close timeout
    /// ([`Config::close_timeout`], 5 s by default) or the end of the stream, and shuts the
    /// sending side down. Data messages that arrive meanwhile are dropped; to read them, use
    /// [`start_close`](Self::start_close) and keep receiving.
    ///
    /// If a Close was already sent or received, this only completes the closing handshake
    /// (on a half-closed connection, it sends the answer).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        if self.conn.state() == State::Open || self.conn.is_half_closed() {
            let now = self.now();
            self.conn.close(code, reason, now)?;
        }
        loop {
            match self.next_event() {
                Some(Ok(_)) => {}
                // The peer vanishing while we close is what we asked for.
                Some(Err(Error::Lost(wsproto_setup::ConnectionLost::UnexpectedEof))) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            }
        }
    }

    /// Queues a Close and writes it, without waiting for the peer's answer; keep receiving to
    /// complete the closing handshake (receiving returns `None` after it).
    pub fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        let now = self.now();
        self.conn.close(code, reason, now)?;
        self.flush()
    }

    /// Drops the connection at once, without a closing handshake (Qt's `abort`): shuts the
    /// sending side down, so the peer sees the end of the stream (close code 1006). Receiving
    /// returns `None` afterwards.
    pub fn abort(&mut self) -> Result<()> {
        self.failed = true;
        self.shutdown_transport().map_err(Error::Io)
    }

    // ----- getters ---------------------------------------------------------------------------

    /// Open, closing or closed.
    #[must_use]
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// The Close the peer sent (its code and reason), once it arrived.
    #[must_use]
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.conn.close_received()
    }

    /// The Close we sent, if any.
    #[must_use]
    pub fn close_sent(&self) -> Option<&CloseFrame> {
        self.conn.close_sent()
    }

    /// Whether messages flow both ways (no Close sent or received yet).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The close code that ended the connection (Qt's `closeCode`): the peer's if it sent a
    /// Close, otherwise ours; `None` while open.
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        self.conn.close_frame().map(CloseFrame::code)
    }

    /// The close reason that goes with [`close_code`](Self::close_code) (Qt's
    /// `closeReason`).
    #[must_use]
    pub fn close_reason(&self) -> Option<&str> {
        self.conn.close_frame().map(CloseFrame::reason)
    }

    /// Bytes queued but not yet written (Qt's `bytesToWrite`).
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.conn.buffered_amount()
    }

    /// Round-trip time measured by the latest answered ping (ours or a keepalive's).
    #[must_use]
    pub fn last_rtt(&self) -> Option<Duration> {
        self.conn.last_rtt()
    }

    /// What the opening handshake settled (subprotocol, the peer's headers, the path); empty
    /// for [`from_upgraded`](Self::from_upgraded) connections.
    #[must_use]
    pub fn handshake(&self) -> &HandshakeInfo {
        &self.info
    }

    /// The negotiated subprotocol, if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.info.subprotocol()
    }

    /// The engine, for anything this adapter does not wrap.
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The transport. Reading from or writing to it directly would corrupt the connection.
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Frees the engine's buffers while the connection is idle (each idle connection then
    /// holds only its fixed-size state); they come back on the next traffic.
    pub fn release_buffers(&mut self) {
        self.conn.release_buffers();
    }
}

impl<S: BlockingTransport + SocketAddrs> WebSocket<S> {
    /// Our end's address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

/// Whole messages until the connection closes: `for message in ws { ... }`. Each item is
/// what [`WebSocket::recv`] returns.
impl<S: BlockingTransport> Iterator for WebSocket<S> {
    type Item = Result<Message>;

    fn next(&mut self) -> Option<Self::Item> {
        self.recv()
    }
}

impl<S: BlockingTransport> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("connection", &self.conn)
            .field("subprotocol", &self.info.subprotocol())
            .finish_non_exhaustive()
    }
}
