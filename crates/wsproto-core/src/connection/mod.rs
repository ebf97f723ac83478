//! The WebSocket connection engine after the opening handshake (RFC 6455 §5–§7).
//!
//! [`Connection`] is a pure state machine: bytes and time go in, events and bytes come out. It
//! is split by concern: this file holds the state, the getters, timers and the close state;
//! `recv.rs` turns received bytes into events; `send.rs` turns commands into queued frames;
//! `lifecycle.rs` answers what adapters must do around the close (shutdown close, linger).

mod lifecycle;
mod recv;
mod send;

pub use lifecycle::{LINGER, SHUTDOWN_REASON};

use alloc::boxed::Box;
use bytes::BytesMut;
use rand_core::RngCore;

use crate::close::CloseFrame;
use crate::config::{Config, Limits};
use crate::error::{ConnectionError, ConnectionLost};
use crate::event::MessageKind;
use crate::extension::Extension;
use crate::frame::OpCode;
use crate::time::{Instant, earliest};
use crate::transmit::Transmit;
use crate::utf8::Utf8Validator;

/// The kind of a message the application is sending in pieces (`send_fragment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fragmenting {
    Binary,
    /// Text, with the UTF-8 state of the pieces so far.
    Text(Utf8Validator),
}

/// Which end of the connection this engine is: clients mask what they send, servers require
/// masked frames (RFC 6455 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Where a connection is in its life (as Qt's `QAbstractSocket::SocketState` and the
/// WebSocket API's `readyState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress (reported by handshake machines and adapters).
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A Close frame was sent or received; the closing handshake is under way.
    Closing,
    /// The closing handshake completed, timed out or the connection failed. Write out what
    /// is still queued, then close the transport.
    Closed,
}

/// A WebSocket connection in the open phase, for either role, doing no I/O.
///
/// # Calling contract
///
/// - **Inputs** take received bytes ([`handle_input`](Self::handle_input), or
///   [`read_buffer`](Self::read_buffer) then [`handle_read`](Self::handle_read) to avoid a
///   copy), the end of the stream ([`handle_eof`](Self::handle_eof)) and timer expiry
///   ([`handle_timeout`](Self::handle_timeout)), each with the current time.
/// - **Commands** (`send_*`, [`ping`](Self::ping), [`close`](Self::close)) only queue bytes.
/// - **Outputs**: after every input or command, call [`poll_event`](Self::poll_event) until it
///   returns `Ok(None)` ("feed me more bytes"), then write out
///   [`transmit`](Self::transmit)/[`transmit_chunks`](Self::transmit_chunks) and report what
///   was written with [`advance_transmit`](Self::advance_transmit), then arm a timer for
///   [`poll_timeout`](Self::poll_timeout). Processing every event before writing is what lets
///   a burst of replies leave in one write.
/// - **Backpressure**: data sends are refused with
///   [`SendError::WriteBufferFull`](crate::SendError::WriteBufferFull) once
///   [`Limits::write_high_water`] bytes wait to be written (the message is not queued). The
///   rule for a loop that replies to what it receives: before taking the next event, check
///   [`is_write_buffer_full`](Self::is_write_buffer_full); while it is true, stop calling
///   `poll_event` and stop reading from the socket, write out the transmit queue, and resume
///   (events first, then reading) once it has drained below the mark. Events wait in the
///   engine meanwhile, so nothing is lost, and a peer that does not read slows down instead
///   of growing the buffer. Automatic replies (pongs, the Close echo) are never refused.
///
/// What RFC 6455 says MUST happen is automatic: pongs answer pings (unless
/// [`Config::auto_pong`] is off), a received Close is echoed, clients mask every frame, and a
/// protocol violation queues a Close with the right code (1002, 1007 or 1009) and is returned
/// as a sticky [`ConnectionError::Protocol`](crate::ConnectionError::Protocol); a lost
/// connection (end of input, keepalive) is returned as
/// [`ConnectionError::Lost`](crate::ConnectionError::Lost), with no Close.
///
/// ```
/// use wsproto_core::{Config, Connection, Event, Instant, Limits, Message};
///
/// let now = Instant::ZERO;
/// let mut server = Connection::server(Config::default(), Limits::default(), now);
/// // A masked text frame "Hi" as a client would send it.
/// server.handle_input(&[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2], now);
/// let Ok(Some(Event::Message(Message::Text(text)))) = server.poll_event() else { panic!() };
/// assert_eq!(text.as_str(), "Hi");
/// server.send_text("Hi yourself").unwrap();
/// assert_eq!(&server.transmit()[2..], b"Hi yourself");
/// ```
pub struct Connection {
    masking: Masking,
    config: Config,
    limits: Limits,
    /// The negotiated extension and its scratch buffer, boxed together: most connections
    /// have none, and this keeps them 32 bytes smaller.
    extension: Option<Box<ExtensionSlot>>,
    /// Received bytes not yet turned into events; the current frame's payload starts at 0.
    read: BytesMut,
    /// Spare room the next read is offered at least; grows while reads fill it (see
    /// `read_buffer`), back to the start after `release_buffers`.
    read_space: u32,
    /// Length of `read` when `read_buffer` last handed it out, to see how much a read added.
    read_len_before: u32,
    /// Bytes of automatic replies (pongs) queued while the write buffer was full; back to 0
    /// once it drains below the mark (see `should_pause_reading`).
    replies_while_full: u32,
    /// A send was refused for a full write buffer and it has not drained since (feature
    /// `tracing`: reported when engaged and when released).
    #[cfg(feature = "tracing")]
    backpressured: bool,
    frame: Option<FrameState>,
    incoming: Incoming,
    eof: bool,
    transmit: Transmit,
    /// An outgoing message the application sends in pieces, unfinished: its kind, and for
    /// text the UTF-8 state across pieces.
    sending_fragmented: Option<Fragmenting>,
    // Boxed: a closed connection is rare, an idle open one common; keep the struct small.
    close_sent: Option<Box<CloseFrame>>,
    close_received: Option<Box<CloseFrame>>,
    closed: bool,
    error: Option<ConnectionError>,
    close_deadline: Option<Instant>,
    last_input: Instant,
    keepalive_deadline: Option<Instant>,
    last_ping: Option<PingRecord>,
    /// The round-trip time of the latest answered ping.
    last_rtt: Option<core::time::Duration>,
}

/// An installed extension with the buffer its encoded payloads are written to (reused
/// across messages).
struct ExtensionSlot {
    extension: Box<dyn Extension>,
    scratch: BytesMut,
}

/// The frame whose payload is being received.
#[derive(Clone, Copy, Debug)]
struct FrameState {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    len: u64,
    /// Payload bytes already taken out of the read buffer.
    taken: u64,
    /// Payload bytes at the front of the read buffer that are unmasked and validated.
    ready: usize,
}

/// The data message being received (possibly over several frames).
#[derive(Debug, Default)]
struct Incoming {
    kind: Option<MessageKind>,
    compressed: bool,
    fragments: usize,
    /// Payload bytes received so far (compressed size for compressed messages).
    size: usize,
    /// Bytes delivered or buffered after decoding (equals `size` when not compressed).
    decoded: usize,
    utf8: Utf8Validator,
    assembled: BytesMut,
}

/// Our latest ping, to measure the round-trip time when its pong comes back.
/// How this end masks what it sends, which is what its role is (RFC 6455 §5.3): a client
/// masks every frame with a fresh key from its generator, a server never masks. One type for
/// both, so a client without a generator cannot be built.
enum Masking {
    Server,
    Client(Box<dyn RngCore + Send>),
}

impl Masking {
    fn role(&self) -> Role {
        match self {
            Self::Server => Role::Server,
            Self::Client(_) => Role::Client,
        }
    }

    /// The key for the next frame we send: fresh per frame for a client, none for a server.
    #[inline(always)]
    fn next_key(&mut self) -> Option<[u8; 4]> {
        match self {
            Self::Server => None,
            Self::Client(rng) => Some(rng.next_u32().to_ne_bytes()),
        }
    }

    fn is_server(&self) -> bool {
        matches!(self, Self::Server)
    }
}

#[derive(Clone, Copy, Debug)]
struct PingRecord {
    sent_at: Instant,
    payload_hash: u64,
}

impl Connection {
    /// A server-role connection: expects masked frames and sends unmasked ones.
    #[must_use]
    pub fn server(config: Config, limits: Limits, now: Instant) -> Self {
        Self::new(Masking::Server, config, limits, now)
    }

    /// A client-role connection: masks every frame with keys drawn from `rng`.
    ///
    /// The masking key must be unpredictable to the application's peers (RFC 6455 §10.3); use
    /// a cryptographically seeded generator outside tests.
    #[must_use]
    pub fn client(
        config: Config,
        limits: Limits,
        rng: Box<dyn RngCore + Send>,
        now: Instant,
    ) -> Self {
        Self::new(Masking::Client(rng), config, limits, now)
    }

    fn new(masking: Masking, config: Config, limits: Limits, now: Instant) -> Self {
        Self {
            masking,
            config,
            limits,
            extension: None,
            read: BytesMut::new(),
            read_space: recv::INITIAL_READ_SPACE as u32,
            read_len_before: 0,
            replies_while_full: 0,
            #[cfg(feature = "tracing")]
            backpressured: false,
            frame: None,
            incoming: Incoming::default(),
            eof: false,
            transmit: Transmit::default(),
            sending_fragmented: None,
            close_sent: None,
            close_received: None,
            closed: false,
            error: None,
            close_deadline: None,
            last_input: now,
            keepalive_deadline: None,
            last_ping: None,
            last_rtt: None,
        }
    }

    /// Installs a negotiated extension (e.g. permessage-deflate); call before any traffic.
    #[must_use]
    pub fn with_extension(mut self, extension: Box<dyn Extension>) -> Self {
        self.extension = Some(Box::new(ExtensionSlot {
            extension,
            scratch: BytesMut::new(),
        }));
        self
    }

    // ----- getters -------------------------------------------------------------------------

    /// Client or server.
    #[must_use]
    pub fn role(&self) -> Role {
        self.masking.role()
    }

    /// The connection's current state; changes after inputs and commands.
    #[must_use]
    pub fn state(&self) -> State {
        if self.closed {
            State::Closed
        } else if self.close_sent.is_some() || self.close_received.is_some() {
            State::Closing
        } else {
            State::Open
        }
    }

    /// The behaviour this connection was created with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The limits this connection enforces.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the connection is over and everything queued was written: time to close the
    /// transport.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.closed && self.transmit.is_empty()
    }

    /// Whether bytes wait to be written; changes after commands, inputs and
    /// [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.transmit.is_empty()
    }

    /// How many bytes wait to be written (Qt's `bytesToWrite`).
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.transmit.len()
    }

    /// Whether data sends are currently refused because the write buffer is at or above
    /// [`Limits::write_high_water`].
    #[must_use]
    pub fn is_write_buffer_full(&self) -> bool {
        // Never full while empty, so a mark of 0 means "one send at a time", not "never".
        let queued = self.transmit.len();
        queued > 0 && queued >= self.limits.get_write_high_water()
    }

    /// The Close frame we sent, if any (our code and reason).
    #[must_use]
    pub fn close_sent(&self) -> Option<&CloseFrame> {
        self.close_sent.as_deref()
    }

    /// The Close frame the peer sent, if any (its code and reason).
    #[must_use]
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.close_received.as_deref()
    }

    /// The Close that says why the connection closes (Qt's `closeCode`/`closeReason`): the
    /// peer's if it sent one, otherwise ours; `None` while no Close was sent or received.
    #[must_use]
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.close_received().or(self.close_sent())
    }

    /// The protocol error that failed this connection, if any.
    #[must_use]
    pub fn error(&self) -> Option<&ConnectionError> {
        self.error.as_ref()
    }

    /// Whether an extension was installed with [`with_extension`](Self::with_extension).
    #[must_use]
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }

    // ----- outputs: bytes to transmit --------------------------------------------------------

    /// The next contiguous bytes to write (empty when nothing is queued).
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.transmit.first()
    }

    /// Fills `dst` with the queued byte runs, in order, for one vectored write; returns how many
    /// slots it filled.
    pub fn transmit_chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        self.transmit.chunks(dst)
    }

    /// Queues bytes verbatim ahead of later frames (the rest of a handshake response).
    pub(crate) fn queue_raw(&mut self, bytes: &[u8]) {
        self.transmit.tail().extend_from_slice(bytes);
        self.transmit.appended(bytes.len());
    }

    /// Reports that the first `n` queued bytes were written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.transmit.advance(n);
        #[cfg(feature = "tracing")]
        if self.backpressured && !self.is_write_buffer_full() {
            self.backpressured = false;
            tracing::debug!(
                target: "wsproto",
                role = ?self.masking.role(),
                queued = self.transmit.len(),
                "back-pressure released"
            );
        }
        if self.replies_while_full > 0 && !self.is_write_buffer_full() {
            self.replies_while_full = 0;
        }
    }

    /// Whether to stop reading until the write buffer drains: the answers to the peer's pings
    /// queued while the buffer was full passed [`REPLY_ALLOWANCE`] — the peer sends pings
    /// faster than it reads our replies, and reading on would grow the queue without bound.
    ///
    /// A full buffer alone is no reason: the application's sends already wait at the mark,
    /// and pausing the reads for them would deadlock two peers that both send while
    /// receiving in another task (each waiting for the other to read).
    #[must_use]
    pub fn should_pause_reading(&self) -> bool {
        self.replies_while_full as usize > REPLY_ALLOWANCE
    }

    /// Counts an automatic reply of `len` bytes just queued (see `should_pause_reading`).
    pub(super) fn note_reply(&mut self, len: usize, buffer_was_full: bool) {
        if buffer_was_full {
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            self.replies_while_full = self.replies_while_full.saturating_add(len);
        }
    }

    /// Bytes of buffer memory the connection holds (read, reassembly and write buffers'
    /// capacity), whether or not they are in use; [`release_buffers`](Self::release_buffers)
    /// gives back what is unused.
    #[must_use]
    pub fn buffer_capacity(&self) -> usize {
        self.read.capacity()
            + self.incoming.assembled.capacity()
            + self.extension.as_ref().map_or(0, |e| e.scratch.capacity())
            + self.transmit.capacity()
    }

    /// Frees the read and write buffers if they hold nothing, so that an idle connection keeps
    /// only its fixed-size state. Call it when the transport goes idle; the next traffic
    /// allocates them again.
    pub fn release_buffers(&mut self) {
        if self.read.is_empty() && self.frame.is_none() {
            self.read = BytesMut::new();
            self.read_space = recv::INITIAL_READ_SPACE as u32;
        }
        if self.incoming.kind.is_none() {
            self.incoming.assembled = BytesMut::new();
        }
        if let Some(slot) = self.extension.as_mut() {
            slot.scratch = BytesMut::new();
        }
        self.transmit.release_if_empty();
    }

    // ----- time ------------------------------------------------------------------------------

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) must be called, if
    /// any; changes after every input and command.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let keepalive = match (
            self.keepalive_deadline,
            self.config.get_keepalive_interval(),
        ) {
            (Some(deadline), _) => Some(deadline),
            // No keepalive once either Close went (a half-closed connection sends no pings).
            (None, Some(interval))
                if self.close_sent.is_none() && self.close_received.is_none() =>
            {
                Some(self.last_input + interval)
            }
            _ => None,
        };
        earliest(self.close_deadline, keepalive)
    }

    /// Fires whatever timers are due at `now`: the close handshake timeout (the connection
    /// becomes [`State::Closed`] without the peer's Close), the keepalive ping, and the
    /// keepalive deadline (the connection fails with [`ConnectionLost::KeepaliveTimeout`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.close_deadline.is_some_and(|deadline| now >= deadline) {
            self.close_deadline = None;
            self.closed = true;
            return;
        }
        if self
            .keepalive_deadline
            .is_some_and(|deadline| now >= deadline)
        {
            self.fail(ConnectionLost::KeepaliveTimeout);
            return;
        }
        if let Some(interval) = self.config.get_keepalive_interval() {
            let due = self.keepalive_deadline.is_none()
                && self.close_sent.is_none()
                && self.close_received.is_none()
                && now >= self.last_input + interval;
            if due && self.ping(b"", now).is_ok() {
                self.keepalive_deadline = Some(now + self.config.get_keepalive_timeout());
            }
        }
    }

    /// Fails the connection: queues a Close with the error's code (if one may still be sent),
    /// drops buffered input, and makes `error` sticky.
    pub(crate) fn fail(&mut self, error: impl Into<ConnectionError>) {
        if self.error.is_some() {
            return;
        }
        let error = error.into();
        #[cfg(feature = "tracing")]
        match error {
            ConnectionError::Protocol(violation) => tracing::info!(
                target: "wsproto",
                role = ?self.masking.role(),
                close_code = violation.close_code().as_u16(),
                "protocol error: {violation}"
            ),
            ConnectionError::Lost(lost) => tracing::info!(
                target: "wsproto",
                role = ?self.masking.role(),
                "connection lost: {lost}"
            ),
        }
        if let ConnectionError::Protocol(violation) = error
            && self.close_sent.is_none()
        {
            self.queue_close(CloseFrame::new(
                violation.close_code(),
                violation.close_reason(),
            ));
        }
        self.error = Some(error);
        self.closed = true;
        self.close_deadline = None;
        self.keepalive_deadline = None;
        self.frame = None;
        self.incoming = Incoming::default();
        self.read = BytesMut::new();
    }
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.masking.role())
            .field("state", &self.state())
            .field("buffered_input", &self.read.len())
            .field("buffered_output", &self.transmit.len())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Bytes of automatic replies a connection queues beyond a full write buffer before it asks
/// the adapter to stop reading ([`Connection::should_pause_reading`]).
pub const REPLY_ALLOWANCE: usize = 64 * 1024;

/// A cheap 64-bit FNV-1a hash, enough to recognise the pong that echoes our latest ping.
fn payload_hash(payload: &[u8]) -> u64 {
    payload.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
impl Connection {
    /// Capacity of the read buffer, to check that idle connections release it.
    pub(crate) fn read_buffer_capacity_for_tests(&self) -> usize {
        self.read.capacity()
    }
}
