//! A raw RFC 6455 peer for the conformance suite (`tests/tests/conformance.rs`): it speaks the
//! opening handshake by hand over `std::net`, then writes hand-made frames — chopped into
//! pieces, withheld, malformed on purpose — and records frame by frame what the implementation
//! under test sends back.
//!
//! Two roles, one script format:
//! - [`RawPeer::connect`] is a raw *client* facing one of our servers;
//! - [`RawListener::accept`] is a raw *server* facing one of our clients (which runs
//!   [`client_echo`]: it sends every message back, like the echo servers do).
//!
//! A [`Case`] is a list of [`Step`]s to write and an [`Expect`]ation; [`run_case`] plays it in
//! either role. Frames go both ways through the test kit's codec ([`wsproto_testkit::wire`]),
//! which is not the engine's. Frames are masked as the raw peer's role requires unless a case
//! forces otherwise, so one case table serves both directions. On top of each case's expectation,
//! every frame the implementation sends is checked against what RFC 6455 requires of it
//! (masking by role, no RSV bits, control frames unfragmented and at most 125 bytes, shortest
//! length encoding, valid fragmentation order, UTF-8 text, a valid close code), and so is
//! the end of the connection: once the closing handshake is over (or the implementation failed
//! the connection), TCP must close within [`CLOSE_LIMIT`] — a raw server closes its side
//! first, as RFC 6455 §7.1.1 has servers do, while a raw client waits for the server to.
//!
//! Invariants: every read and write has a deadline of at most [`READ_LIMIT`], so nothing here
//! can hang; nothing panics on what the implementation sends — failures come back as text.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use wsproto_core::handshake::accept_key;
use wsproto_core::{CloseCode, Event, Message, Role};
use wsproto_testkit::wire::{self, Header, encode_frame, first_byte};

use crate::{CLOSE_ME, ClientKind, SERVER_CLOSE_CODE, ServerKind};

/// The longest any single read or write may wait.
pub const READ_LIMIT: Duration = Duration::from_secs(10);
/// How soon a peer must fail a connection whose input became invalid, without waiting for
/// the rest of the message (Autobahn 6.4.x).
pub const FAIL_FAST: Duration = Duration::from_secs(2);
/// Longest HTTP head the raw peers read.
const HEAD_LIMIT: usize = 64 * 1024;
/// Largest frame payload the raw peers accept from the implementation under test.
const FRAME_LIMIT: u64 = 64 << 20;
/// How long one test function's cases may take together before the rest are skipped.
const SUITE_BUDGET: Duration = Duration::from_secs(90);
/// Failed cases after which a test function stops (one broken behaviour usually fails most
/// cases, each at the cost of a timeout).
const MAX_FAILURES: usize = 5;
/// How soon the TCP connection must close once the closing handshake is over (or the
/// implementation failed the connection): RFC 6455 §7.1.1 wants it closed, not left to a
/// timeout. Generous for loopback.
pub const CLOSE_LIMIT: Duration = Duration::from_secs(1);
/// The key the raw client sends (RFC 6455 §1.3's example).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The kit's opcodes and length forms, part of this module's [`Frame`] API.
pub use wsproto_testkit::wire::{Length, opcode};

/// Whether a frame is masked (RFC 6455 §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// Masked exactly when the raw peer is the client, as RFC 6455 §5.1 requires.
    ByRole,
    /// The opposite of what the raw peer's role requires.
    WrongForRole,
    /// Masked (`true`) or not, whatever the role.
    Forced(bool),
}

/// A frame as the raw peer writes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3).
    pub rsv: u8,
    /// The opcode (4 bits).
    pub opcode: u8,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
    /// Whether the frame is masked.
    pub mask: Mask,
    /// How the length is encoded.
    pub length: Length,
}

impl Frame {
    /// A frame with every field given.
    #[must_use]
    pub fn new(fin: bool, rsv: u8, opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            fin,
            rsv,
            opcode,
            payload: payload.into(),
            mask: Mask::ByRole,
            length: Length::Shortest,
        }
    }

    /// A whole text message in one frame (the bytes need not be valid UTF-8).
    #[must_use]
    pub fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::TEXT, payload)
    }

    /// A whole binary message in one frame.
    #[must_use]
    pub fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::BINARY, payload)
    }

    /// A continuation frame.
    #[must_use]
    pub fn cont(payload: impl Into<Vec<u8>>, fin: bool) -> Self {
        Self::new(fin, 0, opcode::CONTINUATION, payload)
    }

    /// A ping.
    #[must_use]
    pub fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::PING, payload)
    }

    /// A pong.
    #[must_use]
    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::PONG, payload)
    }

    /// A Close with a code and a reason (the reason bytes need not be UTF-8).
    #[must_use]
    pub fn close(code: u16, reason: impl AsRef<[u8]>) -> Self {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_ref());
        Self::new(true, 0, opcode::CLOSE, payload)
    }

    /// A Close without a payload.
    #[must_use]
    pub fn close_empty() -> Self {
        Self::new(true, 0, opcode::CLOSE, Vec::new())
    }

    /// The same frame with the FIN bit set to `fin`.
    #[must_use]
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// The same frame with RSV bits `rsv` (4 = RSV1, 2 = RSV2, 1 = RSV3).
    #[must_use]
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// The same frame, masked according to `mask`.
    #[must_use]
    pub fn mask(mut self, mask: Mask) -> Self {
        self.mask = mask;
        self
    }

    /// The same frame with its length encoded as `length`.
    #[must_use]
    pub fn length(mut self, length: Length) -> Self {
        self.length = length;
        self
    }

    /// The wire bytes, masked with `key` when given (the test kit's encoder).
    #[must_use]
    pub fn encode(&self, key: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len() + 14);
        let b0 = first_byte(self.fin, self.rsv, self.opcode);
        encode_frame(&mut out, b0, key, &self.payload, self.length);
        out
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Frame(fin={} rsv={} op={:#x} {})",
            u8::from(self.fin),
            self.rsv,
            self.opcode,
            Preview(&self.payload)
        )
    }
}

/// A short, printable description of a payload: its length and its first bytes.
struct Preview<'a>(&'a [u8]);

impl fmt::Display for Preview<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 24;
        let shown = &self.0[..self.0.len().min(SHOWN)];
        let more = if self.0.len() > SHOWN { "…" } else { "" };
        write!(
            f,
            "{} bytes \"{}{more}\"",
            self.0.len(),
            shown.escape_ascii()
        )
    }
}

/// Something the implementation under test sent, other than its Close: a whole (reassembled)
/// message, or a ping or pong.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    /// A text message.
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
}

impl Reply {
    /// A text message.
    #[must_use]
    pub fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::Text(payload.into())
    }

    /// A binary message.
    #[must_use]
    pub fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::Binary(payload.into())
    }

    /// A pong.
    #[must_use]
    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::Pong(payload.into())
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, payload) = match self {
            Self::Text(p) => ("Text", p),
            Self::Binary(p) => ("Binary", p),
            Self::Ping(p) => ("Ping", p),
            Self::Pong(p) => ("Pong", p),
        };
        write!(f, "{kind}({})", Preview(payload))
    }
}

/// One thing the raw peer does.
#[derive(Clone, Debug)]
pub enum Step {
    /// Encodes `frames` into one run of bytes and writes it in pieces of `chunk` bytes (all at
    /// once when `chunk` is 0), sleeping `delay` after each piece.
    Send {
        /// The frames, in order.
        frames: Vec<Frame>,
        /// Bytes per write; 0 for one write.
        chunk: usize,
        /// Pause after each write.
        delay: Duration,
    },
    /// Writes `frame`'s header and only the first `upto` bytes of its payload — the rest is
    /// never sent — cut into pieces at the payload offsets `cuts`, sleeping `delay` between
    /// pieces.
    Partial {
        /// The frame (its header claims the whole payload).
        frame: Frame,
        /// Payload offsets where a new write starts.
        cuts: Vec<usize>,
        /// Payload bytes written in total.
        upto: usize,
        /// Pause between pieces.
        delay: Duration,
    },
    /// Writes these bytes as they are.
    Raw(Vec<u8>),
    /// Waits.
    Pause(Duration),
    /// Ends our sending direction (the implementation reads the end of the stream).
    ShutdownWrite,
}

/// Writes `frame` in one piece.
#[must_use]
pub fn send(frame: Frame) -> Step {
    send_all(vec![frame])
}

/// Writes `frames` in one piece.
#[must_use]
pub fn send_all(frames: Vec<Frame>) -> Step {
    chopped(frames, 0, Duration::ZERO)
}

/// Writes `frames` in pieces of `chunk` bytes with `delay` after each.
#[must_use]
pub fn chopped(frames: Vec<Frame>, chunk: usize, delay: Duration) -> Step {
    Step::Send {
        frames,
        chunk,
        delay,
    }
}

/// How a case must end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The connection stays healthy: after the replies, the raw peer closes with 1000, and the
    /// implementation echoes 1000 and closes TCP.
    Normal,
    /// The implementation sends a Close with this code (`None`: an empty Close) no later than
    /// `within` after the raw peer's last write, sends nothing after it, and closes TCP.
    Close {
        /// The expected code.
        code: Option<u16>,
        /// Deadline after the last write.
        within: Duration,
        /// Whether the implementation failed the connection (its API reports an error), as
        /// opposed to answering the raw peer's Close.
        failed: bool,
    },
    /// The implementation starts the closing handshake with this code; the raw peer then
    /// writes `answer` (normally its Close), and the implementation must close TCP within
    /// [`CLOSE_LIMIT`] of that, sending nothing more.
    Answered {
        /// The code the implementation closes with.
        code: u16,
        /// What the raw peer writes once the implementation's Close arrived.
        answer: Vec<Frame>,
    },
    /// The implementation closes TCP without sending a Close (a 1006-type ending).
    Drop,
}

/// What the implementation under test must send back for a case.
#[derive(Clone, Debug)]
pub struct Expect {
    /// Every reply before the Close, exactly and in order.
    pub replies: Vec<Reply>,
    /// How the connection ends.
    pub end: End,
}

/// The implementation answers with exactly `replies`, and then closes cleanly when asked.
#[must_use]
pub fn expect_echo(replies: Vec<Reply>) -> Expect {
    Expect {
        replies,
        end: End::Normal,
    }
}

/// The implementation fails the connection: it sends nothing but a Close with `code`, then
/// closes TCP.
#[must_use]
pub fn expect_close(code: u16) -> Expect {
    expect_close_after(Vec::new(), code)
}

/// The implementation sends `replies`, then fails the connection with a Close with `code`,
/// then closes TCP.
#[must_use]
pub fn expect_close_after(replies: Vec<Reply>, code: u16) -> Expect {
    Expect {
        replies,
        end: End::Close {
            code: Some(code),
            within: READ_LIMIT,
            failed: true,
        },
    }
}

/// Like [`expect_close_after`], but the Close must come within [`FAIL_FAST`] of the raw
/// peer's last write, although the message it broke was never finished.
#[must_use]
pub fn expect_fail_fast(replies: Vec<Reply>, code: u16) -> Expect {
    Expect {
        replies,
        end: End::Close {
            code: Some(code),
            within: FAIL_FAST,
            failed: true,
        },
    }
}

/// The implementation sends `replies`, then answers the raw peer's Close with a Close with
/// `code` (`None`: an empty Close), then closes TCP.
#[must_use]
pub fn expect_close_echo(replies: Vec<Reply>, code: Option<u16>) -> Expect {
    Expect {
        replies,
        end: End::Close {
            code,
            within: READ_LIMIT,
            failed: false,
        },
    }
}

/// The implementation starts a close with `code` (after `replies`); the raw peer answers with
/// `answer`, and the implementation must then close TCP promptly.
#[must_use]
pub fn expect_initiated_close(replies: Vec<Reply>, code: u16, answer: Vec<Frame>) -> Expect {
    Expect {
        replies,
        end: End::Answered { code, answer },
    }
}

/// The implementation sends `replies`, then closes TCP without a Close frame.
#[must_use]
pub fn expect_drop(replies: Vec<Reply>) -> Expect {
    Expect {
        replies,
        end: End::Drop,
    }
}

/// One conformance case: what to write and what must come back.
#[derive(Clone, Debug)]
pub struct Case {
    /// Printed on failure.
    pub name: String,
    /// What the raw peer writes.
    pub steps: Vec<Step>,
    /// What the implementation must do.
    pub expect: Expect,
}

impl Case {
    /// A case.
    #[must_use]
    pub fn new(name: impl Into<String>, steps: Vec<Step>, expect: Expect) -> Self {
        Self {
            name: name.into(),
            steps,
            expect,
        }
    }
}

/// The Close the implementation sent.
#[derive(Clone, Debug)]
pub struct CloseSeen {
    /// Its code; `None` for an empty Close.
    pub code: Option<u16>,
    /// Its reason bytes.
    pub reason: Vec<u8>,
    /// When it was read.
    pub at: Instant,
}

/// Why reading stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The implementation closed TCP (end of stream).
    Eof,
    /// The implementation reset TCP.
    Reset,
    /// Nothing more arrived before the deadline.
    TimedOut,
    /// Reading failed otherwise, or the implementation sent something unreadable.
    Failed(String),
}

impl Ending {
    /// Whether this means the implementation closed the TCP connection.
    #[must_use]
    pub fn is_tcp_closed(&self) -> bool {
        matches!(self, Self::Eof | Self::Reset)
    }
}

/// Everything read from the implementation until its Close and the end of the stream.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// Messages, pings and pongs before the Close.
    pub replies: Vec<Reply>,
    /// The implementation's Close, if it sent one.
    pub close: Option<CloseSeen>,
    /// Frames it sent after its Close (there must be none).
    pub after_close: Vec<String>,
    /// Why reading stopped; `None` when it stopped because it had what it was asked for.
    pub ending: Option<Ending>,
}

/// A raw WebSocket endpoint over a TCP stream, past the opening handshake.
pub struct RawPeer {
    stream: TcpStream,
    /// The role the raw peer plays (the implementation under test plays the other).
    role: Role,
    inbox: Vec<u8>,
    scratch: Vec<u8>,
    next_key: u32,
    /// A data message being reassembled: its opcode and bytes so far.
    fragments: Option<(u8, Vec<u8>)>,
    /// Frames from the implementation that break RFC 6455.
    violations: Vec<String>,
    /// The first write that failed (the implementation may have closed first).
    write_error: Option<String>,
}

impl fmt::Debug for RawPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPeer")
            .field("role", &self.role)
            .field("buffered", &self.inbox.len())
            .finish_non_exhaustive()
    }
}

impl RawPeer {
    /// Connects to a `ws://host:port/path` URL as a raw client and completes the opening
    /// handshake by hand (with [`KEY`]); bytes after the server's head are kept as input.
    pub fn connect(url: &str) -> Result<Self, String> {
        Self::connect_pipelined(url, &[])
    }

    /// Like [`connect`](Self::connect), but writes `early` frames (masked) in the same write
    /// as the upgrade request, before the server answered.
    pub fn connect_pipelined(url: &str, early: &[Frame]) -> Result<Self, String> {
        let (authority, path) = split_url(url)?;
        let mut stream = connect_tcp(authority)?;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .into_bytes();
        for frame in early {
            request.extend_from_slice(&frame.encode(Some([0x5a, 0x01, 0xc3, 0x7e])));
        }
        stream
            .write_all(&request)
            .map_err(|e| format!("writing the upgrade request: {e}"))?;
        let (head, leftover) = read_head(&mut stream, Instant::now() + READ_LIMIT)?;
        if head.status() != Some(101) {
            return Err(format!("upgrade refused: {:?}", head.start_line));
        }
        let expected = accept_key(KEY.as_bytes());
        if head.header("sec-websocket-accept") != Some(expected.as_str()) {
            return Err(format!(
                "wrong Sec-WebSocket-Accept {:?}, expected {expected:?}",
                head.header("sec-websocket-accept")
            ));
        }
        Ok(Self::over(stream, Role::Client, leftover))
    }

    /// A raw peer playing `role` on a stream whose handshake is done; `leftover` are bytes
    /// already read past the handshake.
    #[must_use]
    pub fn over(stream: TcpStream, role: Role, leftover: Vec<u8>) -> Self {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(READ_LIMIT));
        Self {
            stream,
            role,
            inbox: leftover,
            scratch: vec![0; 64 * 1024],
            next_key: 0,
            fragments: None,
            violations: Vec::new(),
            write_error: None,
        }
    }

    /// The role the raw peer plays.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The underlying stream.
    #[must_use]
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Frames from the implementation that broke RFC 6455 so far.
    #[must_use]
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// The first write that failed, if any.
    #[must_use]
    pub fn write_error(&self) -> Option<&str> {
        self.write_error.as_deref()
    }

    /// A fresh masking key (deterministic, varied).
    fn key(&mut self) -> [u8; 4] {
        self.next_key = self.next_key.wrapping_add(1);
        self.next_key
            .wrapping_mul(0x9E37_79B9)
            .wrapping_add(0x7F4A_7C15)
            .to_be_bytes()
    }

    /// `frame` as this peer writes it: masked as its role requires unless the frame forces
    /// otherwise.
    pub fn encode(&mut self, frame: &Frame) -> Vec<u8> {
        let by_role = self.role == Role::Client;
        let masked = match frame.mask {
            Mask::ByRole => by_role,
            Mask::WrongForRole => !by_role,
            Mask::Forced(masked) => masked,
        };
        let key = masked.then(|| self.key());
        frame.encode(key)
    }

    /// Writes one frame (`masked` as given, whatever the role).
    pub fn send_frame(&mut self, fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) {
        let frame = Frame::new(fin, rsv, opcode, payload).mask(Mask::Forced(masked));
        let bytes = self.encode(&frame);
        self.send_raw(&bytes);
    }

    /// Writes bytes as they are. A failed write is remembered (see
    /// [`write_error`](Self::write_error)) and makes later writes no-ops.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(error) = self.stream.write_all(bytes) {
            self.write_error = Some(error.to_string());
        }
    }

    /// Writes `bytes` in pieces of `chunk` bytes, sleeping `delay` after each.
    pub fn send_chopped(&mut self, bytes: &[u8], chunk: usize, delay: Duration) {
        if chunk == 0 {
            self.send_raw(bytes);
            if !delay.is_zero() {
                thread::sleep(delay);
            }
            return;
        }
        for piece in bytes.chunks(chunk) {
            self.send_raw(piece);
            if self.write_error.is_some() {
                return;
            }
            if !delay.is_zero() {
                thread::sleep(delay);
            }
        }
    }

    /// Does one step of a case.
    pub fn perform(&mut self, step: &Step) {
        match step {
            Step::Send {
                frames,
                chunk,
                delay,
            } => {
                let mut bytes = Vec::new();
                for frame in frames {
                    let encoded = self.encode(frame);
                    if bytes.is_empty() {
                        bytes = encoded;
                    } else {
                        bytes.extend_from_slice(&encoded);
                    }
                }
                self.send_chopped(&bytes, *chunk, *delay);
            }
            Step::Partial {
                frame,
                cuts,
                upto,
                delay,
            } => {
                let bytes = self.encode(frame);
                let header = bytes.len() - frame.payload.len();
                let end = header + (*upto).min(frame.payload.len());
                let mut start = 0;
                let mut bounds: Vec<usize> = cuts
                    .iter()
                    .map(|cut| header + cut)
                    .filter(|&at| at > 0 && at < end)
                    .collect();
                bounds.push(end);
                for (i, at) in bounds.into_iter().enumerate() {
                    if i > 0 && !delay.is_zero() {
                        thread::sleep(*delay);
                    }
                    self.send_raw(&bytes[start..at]);
                    start = at;
                }
            }
            Step::Raw(bytes) => self.send_raw(bytes),
            Step::Pause(wait) => thread::sleep(*wait),
            Step::ShutdownWrite => {
                if let Err(error) = self.stream.shutdown(Shutdown::Write) {
                    self.write_error.get_or_insert(error.to_string());
                }
            }
        }
    }

    /// Reads more bytes into the inbox, waiting until `deadline` at most.
    fn fill(&mut self, deadline: Instant) -> Result<(), Ending> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(Ending::TimedOut);
            }
            let wait = (deadline - now)
                .min(READ_LIMIT)
                .max(Duration::from_millis(1));
            self.stream
                .set_read_timeout(Some(wait))
                .map_err(|e| Ending::Failed(e.to_string()))?;
            match self.stream.read(&mut self.scratch) {
                Ok(0) => return Err(Ending::Eof),
                Ok(n) => {
                    self.inbox.extend_from_slice(&self.scratch[..n]);
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Err(Ending::Reset);
                }
                Err(e) => return Err(Ending::Failed(e.to_string())),
            }
        }
    }

    /// Takes one whole frame off the inbox, if it holds one (with the test kit's decoder).
    fn take_frame(&mut self) -> Result<Option<wire::Frame>, Ending> {
        let Some(header) = Header::parse(&self.inbox) else {
            return Ok(None);
        };
        let len = header.len;
        if len > FRAME_LIMIT {
            return Err(Ending::Failed(format!(
                "the implementation sent a frame header claiming {len} bytes"
            )));
        }
        let Some((payload, used)) = header.payload(&self.inbox) else {
            return Ok(None);
        };
        self.inbox.drain(..used);
        if !header.shortest {
            self.violations.push(format!(
                "frame op={:#x} of {len} bytes with a non-minimal length",
                header.opcode
            ));
        }
        Ok(Some(header.into_frame(payload)))
    }

    /// Reads the next frame, until `deadline` at most.
    fn read_frame(&mut self, deadline: Instant) -> Result<wire::Frame, Ending> {
        loop {
            if let Some(frame) = self.take_frame()? {
                return Ok(frame);
            }
            self.fill(deadline)?;
        }
    }

    /// Checks a frame from the implementation against RFC 6455 and turns it into a reply or a
    /// Close; `None` for a fragment that does not finish a message.
    fn interpret(&mut self, frame: wire::Frame) -> Option<Result<Reply, CloseSeen>> {
        let op = frame.opcode;
        let must_mask = self.role == Role::Server;
        if frame.masked != must_mask {
            self.violations.push(format!(
                "frame op={op:#x} {} (the implementation is the {})",
                if frame.masked { "masked" } else { "unmasked" },
                if must_mask { "client" } else { "server" }
            ));
        }
        if frame.rsv != 0 {
            self.violations
                .push(format!("frame op={op:#x} with RSV bits {:#05b}", frame.rsv));
        }
        let is_control = op & 0x8 != 0;
        if is_control && (!frame.fin || frame.payload.len() > 125) {
            self.violations.push(format!(
                "control frame op={op:#x} with fin={} and {} bytes",
                frame.fin,
                frame.payload.len()
            ));
        }
        match op {
            opcode::TEXT | opcode::BINARY => {
                if self.fragments.is_some() {
                    self.violations
                        .push("new data frame inside a fragmented message".to_owned());
                }
                if frame.fin {
                    self.fragments = None;
                    Some(Ok(self.message(op, frame.payload)))
                } else {
                    self.fragments = Some((op, frame.payload));
                    None
                }
            }
            opcode::CONTINUATION => {
                let Some((first, mut data)) = self.fragments.take() else {
                    self.violations
                        .push("continuation frame without a message".to_owned());
                    return None;
                };
                data.extend_from_slice(&frame.payload);
                if frame.fin {
                    Some(Ok(self.message(first, data)))
                } else {
                    self.fragments = Some((first, data));
                    None
                }
            }
            opcode::PING => Some(Ok(Reply::Ping(frame.payload))),
            opcode::PONG => Some(Ok(Reply::Pong(frame.payload))),
            opcode::CLOSE => Some(Err(self.close_frame(frame.payload))),
            _ => {
                self.violations.push(format!("reserved opcode {op:#x}"));
                None
            }
        }
    }

    fn message(&mut self, op: u8, payload: Vec<u8>) -> Reply {
        if op == opcode::TEXT {
            if std::str::from_utf8(&payload).is_err() {
                self.violations.push(format!(
                    "text message that is not UTF-8: {}",
                    Preview(&payload)
                ));
            }
            Reply::Text(payload)
        } else {
            Reply::Binary(payload)
        }
    }

    fn close_frame(&mut self, payload: Vec<u8>) -> CloseSeen {
        let at = Instant::now();
        if payload.len() == 1 {
            self.violations
                .push("close frame with a one-byte payload".to_owned());
        }
        if payload.len() < 2 {
            return CloseSeen {
                code: None,
                reason: Vec::new(),
                at,
            };
        }
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
            self.violations
                .push(format!("close frame with the invalid code {code}"));
        }
        let reason = payload[2..].to_vec();
        if std::str::from_utf8(&reason).is_err() {
            self.violations
                .push("close reason that is not UTF-8".to_owned());
        }
        CloseSeen {
            code: Some(code),
            reason,
            at,
        }
    }

    /// Reads until `want` replies arrived (then `ending` is `None`), or the implementation's
    /// Close (then [`finish`](Self::finish)es), the end of the stream, or `deadline`.
    pub fn read_replies(&mut self, want: usize, deadline: Instant) -> Transcript {
        let mut transcript = self.read_until(Some(want), deadline);
        if transcript.close.is_some() {
            self.finish(&mut transcript);
        }
        transcript
    }

    /// Reads every frame until the implementation's Close (waiting until `close_deadline` at
    /// most), then [`finish`](Self::finish)es.
    pub fn read_frames_until_close(&mut self, close_deadline: Instant) -> Transcript {
        let mut transcript = self.read_until(None, close_deadline);
        if transcript.close.is_some() {
            self.finish(&mut transcript);
        }
        transcript
    }

    /// Reads frames until the implementation's Close (then `ending` is `None`), `want`
    /// replies, the end of the stream or `deadline`.
    pub fn read_until(&mut self, want: Option<usize>, deadline: Instant) -> Transcript {
        let mut transcript = Transcript::default();
        while want.is_none_or(|want| transcript.replies.len() < want) {
            match self.read_frame(deadline) {
                Ok(frame) => match self.interpret(frame) {
                    Some(Ok(reply)) => transcript.replies.push(reply),
                    Some(Err(close)) => {
                        transcript.close = Some(close);
                        return transcript;
                    }
                    None => {}
                },
                Err(ending) => {
                    transcript.ending = Some(ending);
                    return transcript;
                }
            }
        }
        transcript
    }

    /// After the implementation's Close (and ours, if any): a raw server closes TCP, as RFC
    /// 6455 §7.1.1 has servers do; either way the implementation must then close TCP within
    /// [`CLOSE_LIMIT`]. Frames that still arrive are recorded.
    pub fn finish(&mut self, transcript: &mut Transcript) {
        if self.role == Role::Server {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        self.read_to_end(transcript, Instant::now() + CLOSE_LIMIT);
    }

    /// After the Close: records every further frame (RFC 6455 §5.5.1 allows none) until the
    /// end of the stream or `deadline`.
    pub fn read_to_end(&mut self, transcript: &mut Transcript, deadline: Instant) {
        loop {
            match self.read_frame(deadline) {
                Ok(frame) => transcript.after_close.push(format!(
                    "op={:#x} {}",
                    frame.opcode,
                    Preview(&frame.payload)
                )),
                Err(ending) => {
                    transcript.ending = Some(ending);
                    return;
                }
            }
        }
    }
}

/// Plays `case` on `peer` and checks everything the implementation sends back.
///
/// # Errors
///
/// Every way the implementation's answer differs from the case's expectation or from
/// RFC 6455, as one text.
pub fn run_case(mut peer: RawPeer, case: &Case) -> Result<(), String> {
    for step in &case.steps {
        peer.perform(step);
    }
    let written = Instant::now();
    let mut problems = Vec::new();
    let expected = &case.expect.replies;
    match &case.expect.end {
        End::Normal => {
            let got = peer.read_replies(expected.len(), written + READ_LIMIT);
            compare_replies(expected, &got.replies, &mut problems);
            if got.close.is_some() || got.ending.is_some() {
                problems.push(format!("ended early: {}", describe_end(&got)));
            } else {
                // The connection must still work: close it cleanly from our side.
                let close = Frame::close(1000, "");
                let bytes = peer.encode(&close);
                peer.send_raw(&bytes);
                let after = peer.read_frames_until_close(Instant::now() + READ_LIMIT);
                if !after.replies.is_empty() {
                    problems.push(format!("unexpected extra replies {:?}", after.replies));
                }
                match &after.close {
                    Some(close) if close.code == Some(1000) => {}
                    _ => problems.push(format!(
                        "our Close 1000 was not echoed with 1000: {}",
                        describe_end(&after)
                    )),
                }
                check_tcp_closed(&after, &mut problems);
            }
        }
        End::Close { code, within, .. } => {
            let got = peer.read_frames_until_close(written + *within);
            compare_replies(expected, &got.replies, &mut problems);
            match &got.close {
                None => problems.push(format!(
                    "expected Close {}, got none within {within:?}: {}",
                    show_code(*code),
                    describe_end(&got)
                )),
                Some(close) => {
                    if close.code != *code {
                        problems.push(format!(
                            "expected Close {}, got Close {} {:?}",
                            show_code(*code),
                            show_code(close.code),
                            String::from_utf8_lossy(&close.reason)
                        ));
                    }
                    let took = close.at.saturating_duration_since(written);
                    if took > *within {
                        problems.push(format!("Close came after {took:?}, limit {within:?}"));
                    }
                    check_tcp_closed(&got, &mut problems);
                }
            }
        }
        End::Answered { code, answer } => {
            let mut got = peer.read_until(None, written + READ_LIMIT);
            compare_replies(expected, &got.replies, &mut problems);
            match &got.close {
                None => problems.push(format!(
                    "expected the implementation to close with {code}: {}",
                    describe_end(&got)
                )),
                Some(close) => {
                    if close.code != Some(*code) {
                        problems.push(format!(
                            "expected Close {code}, got Close {}",
                            show_code(close.code)
                        ));
                    }
                    let mut bytes = Vec::new();
                    for frame in answer {
                        bytes.extend_from_slice(&peer.encode(frame));
                    }
                    peer.send_raw(&bytes);
                    peer.finish(&mut got);
                    check_tcp_closed(&got, &mut problems);
                }
            }
        }
        End::Drop => {
            let got = peer.read_frames_until_close(written + READ_LIMIT);
            compare_replies(expected, &got.replies, &mut problems);
            if let Some(close) = &got.close {
                problems.push(format!(
                    "expected TCP to drop without a Close, got Close {}",
                    show_code(close.code)
                ));
            }
            check_tcp_closed(&got, &mut problems);
        }
    }
    for violation in peer.violations() {
        problems.push(format!(
            "RFC 6455 violation by the implementation: {violation}"
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    if let Some(error) = peer.write_error() {
        problems.push(format!("(our writes failed: {error})"));
    }
    Err(problems.join("; "))
}

fn show_code(code: Option<u16>) -> String {
    code.map_or_else(|| "without code".to_owned(), |c| c.to_string())
}

fn describe_end(t: &Transcript) -> String {
    let mut out = Vec::new();
    if let Some(close) = &t.close {
        out.push(format!(
            "Close {} {:?}",
            show_code(close.code),
            String::from_utf8_lossy(&close.reason)
        ));
    }
    if !t.after_close.is_empty() {
        out.push(format!("then frames {:?}", t.after_close));
    }
    if let Some(ending) = &t.ending {
        out.push(format!("{ending:?}"));
    }
    if out.is_empty() {
        "still open".to_owned()
    } else {
        out.join(", ")
    }
}

fn check_tcp_closed(t: &Transcript, problems: &mut Vec<String>) {
    if !t.after_close.is_empty() {
        problems.push(format!("frames after its Close: {:?}", t.after_close));
    }
    match &t.ending {
        Some(ending) if ending.is_tcp_closed() => {}
        Some(Ending::TimedOut) if t.close.is_some() => problems.push(format!(
            "TCP still open {CLOSE_LIMIT:?} after the closing handshake: {}",
            describe_end(t)
        )),
        _ => problems.push(format!("TCP not closed: {}", describe_end(t))),
    }
}

fn compare_replies(expected: &[Reply], got: &[Reply], problems: &mut Vec<String>) {
    if expected == got {
        return;
    }
    let first = expected
        .iter()
        .zip(got)
        .position(|(e, g)| e != g)
        .unwrap_or(expected.len().min(got.len()));
    let cut = |list: &[Reply]| -> String {
        const SHOWN: usize = 4;
        let shown = &list[first..list.len().min(first + SHOWN)];
        let more = list.len().saturating_sub(first + SHOWN);
        if more > 0 {
            format!("{shown:?} and {more} more")
        } else {
            format!("{shown:?}")
        }
    };
    problems.push(format!(
        "replies differ at #{first} (expected {}, got {}): expected {}, got {}",
        expected.len(),
        got.len(),
        cut(expected),
        cut(got)
    ));
}

/// A parsed HTTP head.
#[derive(Clone, Debug)]
pub struct Head {
    /// The request or status line.
    pub start_line: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The status code of a response head.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.start_line.split(' ').nth(1)?.parse().ok()
    }

    /// The first header called `name` (case-insensitive), trimmed.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads an HTTP head (up to the empty line) and returns it with the bytes after it.
///
/// # Errors
///
/// The stream ended, failed or timed out first, or the head is longer than 64 KiB.
pub fn read_head(stream: &mut TcpStream, deadline: Instant) -> Result<(Head, Vec<u8>), String> {
    let mut buf = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let leftover = buf[end + 4..].to_vec();
            let mut lines = head.split("\r\n");
            let start_line = lines.next().unwrap_or_default().to_owned();
            let headers = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            return Ok((
                Head {
                    start_line,
                    headers,
                },
                leftover,
            ));
        }
        if buf.len() > HEAD_LIMIT {
            return Err("HTTP head longer than 64 KiB".to_owned());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(format!(
                "no complete HTTP head in time; got {}",
                Preview(&buf)
            ));
        }
        stream
            .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(format!(
                    "stream ended before a complete HTTP head; got {}",
                    Preview(&buf)
                ));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(format!("reading the HTTP head: {e}; got {}", Preview(&buf))),
        }
    }
}

/// Splits `ws://authority/path` into its authority and path.
fn split_url(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("not a ws:// URL: {url}"))?;
    Ok(match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    })
}

fn connect_tcp(authority: &str) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(authority).map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_write_timeout(Some(READ_LIMIT))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// What an HTTP exchange with a server returned.
#[derive(Clone, Debug)]
pub struct HttpReply {
    /// The response head.
    pub head: Head,
    /// Whether the server closed the connection within [`CLOSE_LIMIT`] after the head (always
    /// `true` for a `101`).
    pub closed: bool,
}

/// Sends raw request bytes to the server at `url` and reads its response head. Write errors
/// are ignored (a server may answer before reading everything).
///
/// # Errors
///
/// The connection failed or no complete response head arrived.
pub fn http_exchange(url: &str, request: &[u8]) -> Result<HttpReply, String> {
    http_exchange_chopped(url, request, 0)
}

/// Like [`http_exchange`], writing the request in pieces of `chunk` bytes (all at once when
/// 0).
///
/// # Errors
///
/// The connection failed or no complete response head arrived.
pub fn http_exchange_chopped(url: &str, request: &[u8], chunk: usize) -> Result<HttpReply, String> {
    let (authority, _) = split_url(url)?;
    let mut stream = connect_tcp(authority)?;
    for piece in request.chunks(if chunk == 0 {
        request.len().max(1)
    } else {
        chunk
    }) {
        if stream.write_all(piece).is_err() {
            break;
        }
    }
    let (head, _) = read_head(&mut stream, Instant::now() + READ_LIMIT)?;
    let closed = head.status() == Some(101) || read_to_end_within(&mut stream, CLOSE_LIMIT);
    Ok(HttpReply { head, closed })
}

/// Reads and discards until the end of the stream; whether it came within `limit`.
fn read_to_end_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut sink = [0; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        if stream.set_read_timeout(Some(deadline - now)).is_err() {
            return false;
        }
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                return matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                );
            }
        }
    }
}

/// A raw WebSocket server: a loopback listener that accepts one of our clients at a time and
/// completes (or deliberately botches) the opening handshake by hand.
#[derive(Debug)]
pub struct RawListener {
    listener: TcpListener,
    url: String,
}

impl RawListener {
    /// Listens on a free loopback port.
    ///
    /// # Errors
    ///
    /// Binding failed.
    pub fn bind() -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        Ok(Self {
            listener,
            url: format!("ws://{addr}/"),
        })
    }

    /// The `ws://` URL clients connect to.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Accepts the next TCP connection, waiting [`READ_LIMIT`] at most.
    ///
    /// # Errors
    ///
    /// Nobody connected in time, or accepting failed.
    pub fn accept_tcp(&self) -> Result<TcpStream, String> {
        let deadline = Instant::now() + READ_LIMIT;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                    let _ = stream.set_nodelay(true);
                    stream
                        .set_write_timeout(Some(READ_LIMIT))
                        .map_err(|e| e.to_string())?;
                    return Ok(stream);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err("no client connected within 10 s".to_owned());
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(format!("accept: {e}")),
            }
        }
    }

    /// Accepts a client and reads its upgrade request head; returns the stream, the request
    /// and the `Sec-WebSocket-Accept` value its key calls for.
    ///
    /// # Errors
    ///
    /// No client, no complete request, or no `Sec-WebSocket-Key`.
    pub fn accept_request(&self) -> Result<(TcpStream, Head, String), String> {
        let mut stream = self.accept_tcp()?;
        let (head, _) = read_head(&mut stream, Instant::now() + READ_LIMIT)?;
        let key = head
            .header("sec-websocket-key")
            .ok_or_else(|| format!("client request without Sec-WebSocket-Key: {head:?}"))?;
        let accept = accept_key(key.as_bytes());
        Ok((stream, head, accept))
    }

    /// Accepts a client and completes the handshake with a plain `101`: a raw server.
    ///
    /// # Errors
    ///
    /// As [`accept_request`](Self::accept_request), or the response could not be written.
    pub fn accept(&self) -> Result<RawPeer, String> {
        let (mut stream, _, accept) = self.accept_request()?;
        let response = switching_protocols(&accept, "");
        stream
            .write_all(response.as_bytes())
            .map_err(|e| format!("writing the 101: {e}"))?;
        Ok(RawPeer::over(stream, Role::Server, Vec::new()))
    }
}

/// A `101` response with `accept` and any `extra` header lines (each ending in CRLF).
#[must_use]
pub fn switching_protocols(accept: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
}

/// What one of our clients did while facing a raw server.
#[derive(Clone, Debug, Default)]
pub struct ClientLog {
    /// The connection error, if the handshake failed.
    pub connect_error: Option<String>,
    /// How many messages it echoed.
    pub echoed: usize,
    /// The error that ended it, if any.
    pub error: Option<String>,
}

/// The code the echo peers close with when asked by [`CLOSE_ME`].
fn close_me_code() -> CloseCode {
    CloseCode::new(SERVER_CLOSE_CODE).unwrap_or(CloseCode::NORMAL)
}

/// Connects `kind` to `url` and echoes every message until the connection ends — the client
/// counterpart of the echo servers (what the Autobahn client testee does). Like them, it
/// answers the text [`CLOSE_ME`] by closing with [`SERVER_CLOSE_CODE`] "bye".
#[must_use]
pub fn client_echo(kind: ClientKind, url: &str) -> ClientLog {
    let mut log = ClientLog::default();
    let mut ws = match kind.connect(url) {
        Ok(ws) => ws,
        Err(error) => {
            log.connect_error = Some(error);
            return log;
        }
    };
    loop {
        match ws.next_event() {
            Some(Ok(Event::Message(Message::Text(text)))) if text.as_str() == CLOSE_ME => {
                if let Err(error) = ws.close(close_me_code(), "bye") {
                    log.error = Some(error);
                }
                break;
            }
            Some(Ok(Event::Message(message))) => {
                if let Err(error) = ws.send(message) {
                    log.error = Some(error);
                    break;
                }
                log.echoed += 1;
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                log.error = Some(error);
                break;
            }
            None => break,
        }
    }
    log
}

/// What running a list of cases found.
#[derive(Clone, Debug, Default)]
pub struct SuiteReport {
    /// How many cases there were.
    pub cases: usize,
    /// One line per failed case: its name, how long it took, what went wrong.
    pub failures: Vec<String>,
    /// Cases skipped after [`MAX_FAILURES`] failures or [`SUITE_BUDGET`].
    pub not_run: usize,
    /// How long the cases took together.
    pub took: Duration,
}

impl SuiteReport {
    /// Prints a summary line and panics with every failure if there was one.
    ///
    /// # Panics
    ///
    /// When a case failed or was not run.
    pub fn assert_passed(&self, who: &str) {
        let passed = self.cases - self.failures.len() - self.not_run;
        eprintln!(
            "{who}: {passed} of {} cases passed in {:.2?}",
            self.cases, self.took
        );
        let skipped = if self.not_run > 0 {
            format!(
                "\n({} more cases not run: stopped after {} failures or {SUITE_BUDGET:?}; \
                 set CONFORMANCE_KEEP_GOING=1 to run them all)",
                self.not_run,
                self.failures.len()
            )
        } else {
            String::new()
        };
        assert!(
            self.failures.is_empty() && self.not_run == 0,
            "{who}: {} of {} cases failed:\n{}{skipped}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
    }
}

/// Runs `cases` against a fresh echo server of `kind` (one server for all of them).
///
/// Stops early once [`MAX_FAILURES`] cases failed or the cases took [`SUITE_BUDGET`], unless
/// `CONFORMANCE_KEEP_GOING` is set in the environment; with `CONFORMANCE_TRACE` set, prints
/// each case's duration.
#[must_use]
pub fn run_server_suite(kind: ServerKind, cases: &[Case]) -> SuiteReport {
    let url = kind.start_echo();
    run_all(cases, |case| {
        let peer = RawPeer::connect(&url).map_err(|e| format!("handshake: {e}"))?;
        run_case(peer, case)
    })
}

/// Runs `cases` against clients of `kind` (running [`client_echo`]), each facing a raw
/// server that plays the case; stops early like [`run_server_suite`].
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn run_client_suite(kind: ClientKind, cases: &[Case]) -> SuiteReport {
    let listener = RawListener::bind().expect("bind a loopback port");
    run_all(cases, |case| {
        let (done, log) = mpsc::channel();
        let url = listener.url().to_owned();
        thread::spawn(move || {
            let _ = done.send(client_echo(kind, &url));
        });
        let peer = listener.accept()?;
        let result = run_case(peer, case); // drops the raw server's socket
        match log.recv_timeout(READ_LIMIT) {
            Ok(log) => {
                if let Some(error) = log.connect_error {
                    return Err(format!("client handshake failed: {error}"));
                }
                let must_fail = match case.expect.end {
                    End::Close { failed, .. } => failed,
                    End::Drop => true,
                    End::Normal | End::Answered { .. } => false,
                };
                match (must_fail, log.error) {
                    (true, None) => Err(format!(
                        "the client reported no error; {}",
                        result.err().unwrap_or_default()
                    )),
                    (false, Some(error)) => Err(format!(
                        "the client reported {error:?} for a clean close; {}",
                        result.err().unwrap_or_default()
                    )),
                    _ => result,
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "client still running 10 s after the raw server closed; {}",
                result.err().unwrap_or_default()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!(
                "client thread panicked; {}",
                result.err().unwrap_or_default()
            )),
        }
    })
}

fn run_all(cases: &[Case], mut run: impl FnMut(&Case) -> Result<(), String>) -> SuiteReport {
    let start = Instant::now();
    let trace = std::env::var_os("CONFORMANCE_TRACE").is_some();
    let keep_going = std::env::var_os("CONFORMANCE_KEEP_GOING").is_some();
    let mut report = SuiteReport {
        cases: cases.len(),
        ..SuiteReport::default()
    };
    for (i, case) in cases.iter().enumerate() {
        let exhausted = start.elapsed() > SUITE_BUDGET || report.failures.len() >= MAX_FAILURES;
        if exhausted && !keep_going {
            report.not_run = cases.len() - i;
            break;
        }
        let began = Instant::now();
        let result = run(case);
        if trace {
            eprintln!("{:>10.2?} {}", began.elapsed(), case.name);
        }
        if let Err(error) = result {
            report
                .failures
                .push(format!("[{}] ({:.2?}) {error}", case.name, began.elapsed()));
        }
    }
    report.took = start.elapsed();
    report
}

/// A valid UTF-8 text of exactly `len` bytes mixing 1- to 4-byte characters.
#[must_use]
pub fn text_of(len: usize) -> String {
    const CYCLE: [char; 8] = ['a', 'κ', '€', '𝄞', ' ', 'ß', '한', 'Z'];
    let mut out = String::with_capacity(len);
    for c in CYCLE.iter().cycle() {
        if out.len() + c.len_utf8() > len {
            break;
        }
        out.push(*c);
    }
    while out.len() < len {
        out.push('x');
    }
    out
}

/// `len` bytes of a non-repeating-looking binary pattern covering every byte value.
#[must_use]
pub fn bytes_of(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) % 251) as u8 ^ (i >> 8) as u8)
        .collect()
}
