//! The fuzz targets of `wsproto-core`, all in one module: the cargo-fuzz binaries in
//! `fuzz_targets/` call one `pub fn <target>(data: &[u8])` each, and the stable test
//! `tests/tests/fuzz_corpus.rs` includes this file with `#[path]` to replay every corpus and
//! regression file through the same functions. So this file depends only on `wsproto-core`
//! (with its `deflate` feature), `rand_core` (to implement the masking RNG trait) and `std`.
//!
//! Targets: `frame_decode`, `server_handshake`, `client_handshake`, `server_connection`,
//! `client_connection`, `round_trip`, `deflate`. From `fuzz/`:
//! - fuzz: `cargo +nightly fuzz run <target> -- -max_total_time=600 -timeout=10`;
//! - replay on stable: `cargo test -p wsproto-tests --test fuzz_corpus` (from the root);
//! - after changing [`seeds`]: `cargo run --example write_seeds`;
//! - a finding: `cargo +nightly fuzz tmin <target> <artifact>`, then save the result as
//!   `regressions/<target>/<what-it-guards>` and add a named test in `fuzz_corpus.rs`.
//!
//! A target returns normally or panics; a panic is a finding. Shared pieces:
//! - [`Input`] reads fuzz bytes front to back (zeros once exhausted), so every input decodes;
//!   [`FuzzRng`] is the deterministic masking RNG and chunker, [`SampleNonce`] the RFC 6455
//!   §1.3 nonce; [`encode_frame`] writes any frame, rule-breaking ones included;
//! - [`WireChecker`] decodes what an engine writes with a decoder of its own (not the engine's)
//!   and checks it is what RFC 6455 lets that role send, carrying exactly the messages the
//!   engine accepted, in order, with nothing after the Close;
//! - [`Checked`] wraps a [`Connection`] and checks the calling contract after every input,
//!   command and timer; the connection targets decode their operations with [`Op`].
//!
//! Invariants checked besides "no panic":
//! - `poll_event` errors are sticky, carry close code 1001, 1002, 1006, 1007 or 1009, queue a
//!   Close with that code when one may still be sent, and leave the state `Closed`; states only
//!   move forward; no event follows a Close; at most one event per byte received;
//! - a data send is refused exactly when the connection is closing/closed, a fragmented send is
//!   unfinished or the queue is full (`0 < buffered_amount() >= write_high_water`: an empty
//!   queue is never full, so a mark of 0 lets one send in at a time); a refused command queues
//!   nothing; an accepted one queues exactly the RFC encoding of its frames. Hence
//!   `buffered_amount()` stays
//!   within `write_high_water` + the largest accepted data send + the control frames (pings,
//!   pongs, Close, the engine's own replies) queued since it was last under the mark: control
//!   frames are exempt from the mark by design, so the bound without that term is not valid;
//! - after `poll_event` returns `Ok(None)` the read buffer holds less than a frame header plus
//!   `max_frame_size` (whole delivery) or a control payload (streaming), and nothing after an
//!   error or a received Close;
//! - `handle_timeout(now)` changes nothing before `poll_timeout()`; afterwards `poll_timeout()`
//!   is `None` or not before `now` (it may equal `now`: a zero keepalive timeout arms a deadline
//!   at `now`), and calling it again at the same `now` settles within three calls; `Closed`
//!   connections have no deadline;
//! - handshakes: errors are sticky, the server queues the matching HTTP status, a partial head
//!   never exceeds `max_header_bytes`, leftover bytes are exactly what followed the head, and a
//!   101 carries the right `Sec-WebSocket-Accept` and only offered selections.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::time::Duration;

use wsproto_core::deflate::DeflateConfig;
use wsproto_core::handshake::{
    Accept, ClientHandshake, ClientRequest, HandshakeError, ServerHandshake, accept_key,
    parse_extensions,
};
use wsproto_core::{
    CloseCode, Config, Connection, Delivery, Event, Extension, Instant, Limits, MAX_REASON_LEN,
    Message, MessageKind, ProtocolError, Role, SendError, State,
};

/// Largest control frame on the wire: 14 header bytes and 125 payload bytes.
const CONTROL_MAX: usize = 14 + 125;
/// Most bytes a run may synthesise for large payloads, to keep executions fast.
const SYNTHETIC_BUDGET: usize = 256 << 10;
/// The instant every run starts at.
const START: Instant = Instant::from_millis(1_000);
/// `Sec-WebSocket-Accept` for the RFC 6455 §1.3 sample nonce.
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A message: kind and payload.
pub type Msg = (MessageKind, Vec<u8>);

// ----- input decoding and randomness --------------------------------------------------------

/// Fuzz bytes read front to back; reads past the end yield zeros (or nothing), so any input is
/// a valid program.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `data` from its first byte.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, or 0.
    pub fn byte(&mut self) -> u8 {
        let (&first, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        first
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` next bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(usize::MAX)
    }
}

/// A deterministic xorshift64* generator: masking keys for client connections, chunk sizes.
#[derive(Clone, Debug)]
pub struct FuzzRng(u64);

impl FuzzRng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

impl rand_core::RngCore for FuzzRng {
    fn next_u32(&mut self) -> u32 {
        (Self::next_u64(self) >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        Self::next_u64(self)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst);
    }
}

/// Yields "the sample nonce" of RFC 6455 §1.3, so the client key is `dGhlIHNhbXBsZSBub25jZQ==`.
#[derive(Debug)]
pub struct SampleNonce;

impl rand_core::RngCore for SampleNonce {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for (d, s) in dst.iter_mut().zip(b"the sample nonce".iter().cycle()) {
            *d = *s;
        }
    }
}

/// Cuts `rest` into pieces of 1..=`max` bytes drawn from `rng`.
struct Chunks<'a> {
    rest: &'a [u8],
    rng: FuzzRng,
    max: usize,
}

impl<'a> Chunks<'a> {
    /// `selector` picks the largest piece: 1, 7, 64 bytes or everything.
    fn new(rest: &'a [u8], seed: u8, selector: u8) -> Self {
        let max = [1, 7, 64, usize::MAX][usize::from(selector & 3)];
        Self {
            rest,
            rng: FuzzRng::new(u64::from(seed)),
            max,
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let n = 1 + self.rng.below(self.max.min(self.rest.len()) as u64) as usize;
        let (chunk, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(chunk)
    }
}

/// How many bytes a run may synthesise: at most [`SYNTHETIC_BUDGET`], and at most 4096 frames'
/// worth, so that tiny outgoing frames do not make a run crawl.
fn synthetic_budget(conn: &Connection) -> usize {
    let frame_size = conn.config().get_outgoing_frame_size().get();
    SYNTHETIC_BUDGET.min(frame_size.saturating_mul(4096))
}

/// A payload of `len` bytes for large sends: valid UTF-8 (ASCII) so it serves text as well.
fn synthetic(len: usize, budget: &mut usize) -> Vec<u8> {
    let len = len.min(*budget);
    *budget -= len;
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

// ----- frames -------------------------------------------------------------------------------

/// Appends a frame with first byte `b0` (FIN, RSV and opcode bits as given, so reserved
/// opcodes and bits can be written), masked with `mask` if any. `wide` uses the next longer
/// length form than needed, which RFC 6455 §5.2 forbids.
pub fn encode_frame(out: &mut Vec<u8>, b0: u8, mask: Option<[u8; 4]>, payload: &[u8], wide: bool) {
    let len = payload.len();
    let mut form = if len < 126 {
        0
    } else if len <= 0xFFFF {
        1
    } else {
        2
    };
    if wide {
        form = (form + 1).min(2);
    }
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(b0);
    match form {
        0 => out.push(mask_bit | len as u8),
        1 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        out.extend_from_slice(&key);
        out[start..].rotate_right(4);
        for (i, b) in out[start + 4..].iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
}

/// The masking key the fuzz peers use.
const PEER_MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// Bytes the engine queues for a data payload of `len` bytes cut into frames of at most
/// `frame_size` (one frame if empty), masked in the client role.
fn encoded_len(role: Role, len: usize, frame_size: usize) -> usize {
    let frames = len.div_ceil(frame_size).max(1);
    let mask = if role == Role::Client { 4 } else { 0 };
    let headers = (0..frames)
        .map(|i| {
            let piece = (len - i * frame_size).min(frame_size);
            2 + mask
                + match piece {
                    0..=125 => 0,
                    126..=0xFFFF => 2,
                    _ => 8,
                }
        })
        .sum::<usize>();
    headers + len
}

/// Bytes of a control frame with `len` payload bytes sent by `role`.
fn control_len(role: Role, len: usize) -> usize {
    2 + len + if role == Role::Client { 4 } else { 0 }
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
}

fn describe(msg: &Msg) -> String {
    format!("{:?} of {} bytes", msg.0, msg.1.len())
}

/// Decodes an engine's output with a decoder independent of the engine and checks it against
/// RFC 6455 §5 for the sending role and against the messages the engine accepted to send. With
/// `compression` (permessage-deflate negotiated), RSV1 may mark a message's first frame; such a
/// message is checked for its kind only (inflating it is the receiving engine's job).
#[derive(Debug)]
pub struct WireChecker {
    sender: Role,
    compression: bool,
    buf: Vec<u8>,
    /// The message being received, and whether it is compressed.
    message: Option<(Msg, bool)>,
    expected: VecDeque<Msg>,
    close: Option<(CloseCode, String)>,
}

impl WireChecker {
    /// Checks the output of an engine in `sender`'s role.
    pub fn new(sender: Role, compression: bool) -> Self {
        Self {
            sender,
            compression,
            buf: Vec::new(),
            message: None,
            expected: VecDeque::new(),
            close: None,
        }
    }

    /// Records that the engine accepted to send `msg`: it must come next on the wire.
    pub fn expect(&mut self, msg: Msg) {
        self.expected.push_back(msg);
    }

    /// The Close the engine wrote, if it did: code (`NO_STATUS` for an empty one) and reason.
    pub fn close(&self) -> Option<&(CloseCode, String)> {
        self.close.as_ref()
    }

    /// Takes bytes the engine wrote, in order.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        assert!(self.close.is_none(), "engine wrote bytes after its Close");
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(used) = self.frame(at) {
            at += used;
            if self.close.is_some() {
                assert_eq!(at, self.buf.len(), "engine wrote bytes after its Close");
            }
        }
        self.buf.drain(..at);
    }

    /// Decodes and checks the frame at `at`; returns its length, or `None` if incomplete.
    fn frame(&mut self, at: usize) -> Option<usize> {
        let buf = &self.buf[at..];
        let (&b0, &b1) = (buf.first()?, buf.get(1)?);
        let ext = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let masked = b1 & 0x80 != 0;
        let header = 2 + ext + if masked { 4 } else { 0 };
        let head = buf.get(..header)?;
        let len = match ext {
            2 => u64::from(u16::from_be_bytes([head[2], head[3]])),
            8 => u64::from_be_bytes(head[2..10].try_into().unwrap_or_default()),
            _ => u64::from(b1 & 0x7F),
        };
        assert!(
            (ext != 2 || len >= 126) && (ext != 8 || (len > 0xFFFF && len >> 63 == 0)),
            "engine wrote a length not in its shortest form"
        );
        let len = usize::try_from(len).ok()?;
        let mut payload = buf.get(header..header.checked_add(len)?)?.to_vec();
        if masked {
            let key = &head[header - 4..];
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        let rsv1 = b0 & 0x40 != 0;
        let first_data = matches!(b0 & 0x0F, 1 | 2);
        assert!(
            b0 & 0x30 == 0 && (!rsv1 || (self.compression && first_data)),
            "engine set RSV bits {:#x} on opcode {:#x}",
            b0 & 0x70,
            b0 & 0x0F
        );
        assert_eq!(
            masked,
            self.sender == Role::Client,
            "{:?} engine got masking wrong (RFC 6455 §5.1)",
            self.sender
        );
        let fin = b0 & 0x80 != 0;
        match b0 & 0x0F {
            op @ (0x0..=0x2) => {
                if op == 0 {
                    assert!(self.message.is_some(), "engine wrote a stray continuation");
                } else {
                    assert!(
                        self.message.is_none(),
                        "engine started a message inside one"
                    );
                    let kind = if op == 1 {
                        MessageKind::Text
                    } else {
                        MessageKind::Binary
                    };
                    self.message = Some(((kind, Vec::new()), rsv1));
                }
                let (message, _) = self.message.as_mut()?;
                message.1.extend_from_slice(&payload);
                if fin {
                    let (done, compressed) = self.message.take()?;
                    let expected = self.expected.pop_front();
                    if compressed {
                        let kind = expected.as_ref().map(|m| m.0);
                        assert_eq!(kind, Some(done.0), "compressed message of the wrong kind");
                        return Some(header + len);
                    }
                    if done.0 == MessageKind::Text {
                        assert!(
                            std::str::from_utf8(&done.1).is_ok(),
                            "engine sent bad UTF-8"
                        );
                    }
                    assert!(
                        expected.as_ref() == Some(&done),
                        "engine wrote {} where {:?} was sent",
                        describe(&done),
                        expected.as_ref().map(describe)
                    );
                }
            }
            op @ (0x8..=0xA) => {
                assert!(fin && len <= 125, "engine wrote a bad control frame");
                if op == 0x8 {
                    self.message = None;
                    self.close = Some(match payload.as_slice() {
                        [] => (CloseCode::NO_STATUS, String::new()),
                        [hi, lo, reason @ ..] => {
                            let code = CloseCode::new(u16::from_be_bytes([*hi, *lo]))
                                .expect("engine sent a close code that may not be sent");
                            let reason = std::str::from_utf8(reason)
                                .expect("engine sent a close reason that is not UTF-8");
                            (code, reason.to_owned())
                        }
                        [_] => panic!("engine sent a one-byte close payload"),
                    });
                }
            }
            op => panic!("engine wrote reserved opcode {op:#x}"),
        }
        Some(header + len)
    }

    /// Checks, once the engine's queue is empty, that every accepted message was written.
    pub fn finish(&self) {
        assert!(
            self.expected.is_empty(),
            "{} accepted messages never reached the wire",
            self.expected.len()
        );
    }
}

// ----- a connection under check -------------------------------------------------------------

fn rank(state: State) -> u8 {
    match state {
        State::Connecting => 0,
        State::Open => 1,
        State::Closing => 2,
        State::Closed => 3,
    }
}

/// A [`Connection`] whose every input, command and timer is checked against the calling
/// contract; its output goes through a [`WireChecker`].
#[derive(Debug)]
pub struct Checked {
    conn: Connection,
    wire: WireChecker,
    /// Messages the peer engine accepted to send us, in order (round trip only).
    inbound: Option<VecDeque<Msg>>,
    error: Option<ProtocolError>,
    close_event: bool,
    /// A streamed message being reassembled.
    partial: Option<Msg>,
    state: State,
    /// Largest number of bytes one accepted data send queued.
    max_send: usize,
    /// Bytes of control frames queued since the buffer was last under the high-water mark.
    allowance: usize,
    /// Our own fragmented message in progress.
    sending: Option<Msg>,
    /// Text of a fragmented text message not sent yet (pieces may split characters).
    text_carry: Vec<u8>,
    /// The code of the Close we had sent when last checked.
    close_sent: Option<CloseCode>,
    /// Bytes received, and events returned: never more events than bytes.
    received: usize,
    events: usize,
}

impl Checked {
    /// Starts checking `conn`, which may already hold received bytes (`received` of them).
    pub fn new(conn: Connection, received: usize) -> Self {
        let mut checked = Self {
            wire: WireChecker::new(conn.role(), conn.has_extension()),
            state: conn.state(),
            max_send: conn.buffered_amount(),
            conn,
            inbound: None,
            error: None,
            close_event: false,
            partial: None,
            allowance: 0,
            sending: None,
            text_carry: Vec::new(),
            close_sent: None,
            received,
            events: 0,
        };
        checked.poll();
        checked
    }

    /// The connection (read-only).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Whether the connection failed.
    pub fn error(&self) -> Option<ProtocolError> {
        self.error
    }

    /// Hands received bytes to the engine by `path` (mod 3): copied (`handle_input`), appended
    /// to `read_buffer` + `handle_read`, or read in by `fill_read_buffer` (as many calls as it
    /// takes); then drains its events.
    pub fn input(&mut self, bytes: &[u8], now: Instant, path: u8) {
        self.received += bytes.len();
        match path % 3 {
            0 => self.conn.handle_input(bytes, now),
            1 => {
                self.conn.read_buffer().extend_from_slice(bytes);
                self.conn.handle_read(now);
            }
            _ => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let read = self.conn.fill_read_buffer(now, |buf| {
                        let n = buf.len().min(rest.len());
                        buf[..n].copy_from_slice(&rest[..n]);
                        Ok::<_, ()>(n)
                    });
                    let n = read.expect("the read closure never fails");
                    assert!(n > 0, "fill_read_buffer offered no room");
                    rest = &rest[n..];
                }
            }
        }
        self.poll();
    }

    /// Calls `poll_event` until it returns `Ok(None)` or an error, checking each result.
    pub fn poll(&mut self) {
        loop {
            match self.conn.poll_event() {
                Err(e) => {
                    self.failed(e);
                    break;
                }
                Ok(result) if self.error.is_some() => {
                    panic!("error {:?} not sticky: then {result:?}", self.error)
                }
                Ok(None) => {
                    self.check_read_buffer();
                    break;
                }
                Ok(Some(event)) => {
                    self.events += 1;
                    assert!(self.events <= self.received, "more events than bytes");
                    self.event(event);
                }
            }
        }
        self.check();
    }

    fn failed(&mut self, e: ProtocolError) {
        if let Some(previous) = self.error {
            assert_eq!(previous, e, "sticky error changed");
            return;
        }
        let close_before = self.close_sent;
        self.error = Some(e);
        self.allowance += CONTROL_MAX;
        assert_eq!(self.conn.error(), Some(&e));
        assert_eq!(self.conn.state(), State::Closed, "state after {e:?}");
        let code = e.close_code();
        assert!(
            matches!(code.as_u16(), 1001 | 1002 | 1006 | 1007 | 1009),
            "{e:?} maps to close code {code}"
        );
        let sends_close = !matches!(
            e,
            ProtocolError::UnexpectedEof | ProtocolError::KeepaliveTimeout
        );
        let close_after = self.conn.close_sent().map(|c| c.code());
        if sends_close && close_before.is_none() {
            assert_eq!(close_after, Some(code), "{e:?} did not queue its Close");
        } else {
            assert_eq!(close_after, close_before, "{e:?} queued a second Close");
        }
    }

    fn event(&mut self, event: Event) {
        assert!(!self.close_event, "event after Close: {event:?}");
        let limit = self.conn.limits().get_max_message_size();
        let delivery = self.conn.config().get_delivery();
        match event {
            Event::Message(message) => {
                assert_eq!(delivery, Delivery::Whole, "whole message while streaming");
                assert!(self.partial.is_none(), "message inside a streamed one");
                assert!(message.payload().len() <= limit, "message over the limit");
                self.complete((message.kind(), message.payload().to_vec()));
            }
            Event::Fragment { kind, data, fin } => {
                assert_eq!(delivery, Delivery::Streaming, "fragment in whole delivery");
                let partial = self.partial.get_or_insert((kind, Vec::new()));
                assert_eq!(partial.0, kind, "fragment kind changed within a message");
                partial.1.extend_from_slice(&data);
                assert!(partial.1.len() <= limit, "streamed message over the limit");
                if fin {
                    let done = self.partial.take().unwrap_or((kind, Vec::new()));
                    self.complete(done);
                }
            }
            Event::Ping(payload) => {
                assert!(payload.len() <= 125);
                self.allowance += CONTROL_MAX;
            }
            Event::Pong { payload, .. } => assert!(payload.len() <= 125),
            Event::Close(frame) => {
                let code = frame.code();
                assert!(code.is_sendable() || code == CloseCode::NO_STATUS, "{code}");
                assert!(frame.reason().len() <= MAX_REASON_LEN);
                assert_eq!(self.conn.close_received(), Some(&frame));
                assert!(rank(self.conn.state()) >= rank(State::Closing));
                self.close_event = true;
                self.close_sent = self.conn.close_sent().map(|c| c.code());
                self.partial = None;
                self.allowance += CONTROL_MAX;
            }
            other => panic!("unknown event {other:?}"),
        }
    }

    fn complete(&mut self, msg: Msg) {
        if msg.0 == MessageKind::Text {
            assert!(
                std::str::from_utf8(&msg.1).is_ok(),
                "text event is not UTF-8"
            );
        }
        if let Some(inbound) = self.inbound.as_mut() {
            let expected = inbound.pop_front();
            assert!(
                expected.as_ref() == Some(&msg),
                "received {} where the peer sent {:?}",
                describe(&msg),
                expected.as_ref().map(describe)
            );
        }
    }

    fn check_read_buffer(&mut self) {
        let done = self.error.is_some() || self.close_event;
        let max_frame = self.conn.limits().get_max_frame_size();
        let delivery = self.conn.config().get_delivery();
        let held = self.conn.read_buffer().len();
        if done {
            assert_eq!(held, 0, "read buffer kept after an error or a Close");
        } else {
            let payload = match delivery {
                Delivery::Whole => max_frame.max(125),
                Delivery::Streaming => 125,
            };
            assert!(held < payload + 14, "read buffer holds {held} bytes");
        }
    }

    /// The state and write-buffer invariants.
    fn check(&mut self) {
        let state = self.conn.state();
        assert!(
            rank(state) >= rank(self.state),
            "{:?} -> {state:?}",
            self.state
        );
        self.state = state;
        self.close_sent = self.conn.close_sent().map(|c| c.code());
        if self.error.is_some() {
            assert_eq!(state, State::Closed);
        }
        let buffered = self.conn.buffered_amount();
        let high_water = self.conn.limits().get_write_high_water();
        assert_eq!(self.conn.wants_write(), buffered > 0);
        assert_eq!(self.conn.transmit().is_empty(), buffered == 0);
        assert_eq!(
            self.conn.is_finished(),
            state == State::Closed && buffered == 0
        );
        // The engine's rule (`Limits::write_high_water`): an empty queue is never full, so a
        // mark of 0 lets one send in at a time.
        assert_eq!(
            self.conn.is_write_buffer_full(),
            buffered > 0 && buffered >= high_water
        );
        let bound = high_water
            .saturating_add(self.max_send)
            .saturating_add(self.allowance);
        assert!(
            buffered <= bound,
            "{buffered} bytes queued: high water {high_water}, largest send {}, control {}",
            self.max_send,
            self.allowance
        );
        if buffered <= high_water {
            self.allowance = 0;
        }
        if state == State::Closed {
            assert_eq!(
                self.conn.poll_timeout(),
                None,
                "closed but a timer is armed"
            );
        }
    }

    /// Writes out up to `n` queued bytes (through `transmit_chunks` if `vectored`), checks
    /// them with the wire checker and returns them.
    pub fn transmit(&mut self, n: usize, vectored: bool) -> Vec<u8> {
        let buffered = self.conn.buffered_amount();
        let mut out = Vec::new();
        if vectored {
            let mut slots = [&[][..]; 4];
            let filled = self.conn.transmit_chunks(&mut slots);
            let total: usize = slots[..filled].iter().map(|s| s.len()).sum();
            assert!(total <= buffered && (filled == 4 || total == buffered));
            for slot in &slots[..filled] {
                let take = slot.len().min(n - out.len());
                out.extend_from_slice(&slot[..take]);
            }
        } else {
            let first = self.conn.transmit();
            out.extend_from_slice(&first[..first.len().min(n)]);
        }
        self.conn.advance_transmit(out.len());
        assert_eq!(self.conn.buffered_amount(), buffered - out.len());
        self.wire.push(&out);
        self.check();
        out
    }

    /// Writes out everything queued.
    pub fn transmit_all(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            out.extend(self.transmit(usize::MAX, false));
        }
        out
    }

    /// Checks that the outcome of a command matches the connection's state: refused exactly
    /// when `applicable` is not empty, with one of those errors and nothing queued. Returns
    /// the number of bytes an accepted command queued.
    fn outcome(
        &mut self,
        result: Result<(), SendError>,
        applicable: &[SendError],
        before: usize,
    ) -> Option<usize> {
        let after = self.conn.buffered_amount();
        match result {
            Ok(()) => {
                assert!(applicable.is_empty(), "accepted although {applicable:?}");
                Some(
                    after
                        .checked_sub(before)
                        .expect("a command shrank the queue"),
                )
            }
            Err(e) => {
                assert!(applicable.contains(&e), "{e:?}, expected {applicable:?}");
                assert_eq!(after, before, "refused command {e:?} queued bytes");
                None
            }
        }
    }

    /// Why any command is refused now, if it is.
    fn refusal(&self) -> Vec<SendError> {
        match self.conn.state() {
            State::Closed => vec![SendError::Closed],
            State::Closing => vec![SendError::Closing],
            _ => Vec::new(),
        }
    }

    /// Runs a command and checks it; returns the message it completed, if any, which the peer
    /// must receive.
    pub fn command(&mut self, command: Command, now: Instant) -> Option<Msg> {
        let role = self.conn.role();
        let frame_size = self.conn.config().get_outgoing_frame_size().get();
        let before = self.conn.buffered_amount();
        let mut applicable = self.refusal();
        let full = self.conn.is_write_buffer_full();
        let is_ping = matches!(command, Command::Ping(_));
        // A compressed message's size is the codec's business; uncompressed ones are exact.
        let mut exact = !self.conn.has_extension();
        let done = match command {
            Command::Text(_) | Command::Binary(_) | Command::Owned(..) => {
                if self.sending.is_some() {
                    applicable.push(SendError::FragmentInProgress);
                }
                if full {
                    applicable.push(SendError::WriteBufferFull);
                }
                let (msg, result) = match command {
                    Command::Text(text) => {
                        let result = self.conn.send_text(&text);
                        ((MessageKind::Text, text.into_bytes()), result)
                    }
                    Command::Binary(data) => {
                        let result = self.conn.send_binary(&data);
                        ((MessageKind::Binary, data), result)
                    }
                    Command::Owned(message, uncompressed) => {
                        exact |= uncompressed;
                        let msg = (message.kind(), message.payload().to_vec());
                        if uncompressed {
                            (msg, self.conn.send_uncompressed(message))
                        } else {
                            (msg, self.conn.send(message))
                        }
                    }
                    _ => unreachable!(),
                };
                let queued = self.outcome(result, &applicable, before)?;
                if exact {
                    assert_eq!(queued, encoded_len(role, msg.1.len(), frame_size));
                }
                self.max_send = self.max_send.max(queued);
                Some(msg)
            }
            Command::Fragment {
                kind,
                data,
                cut,
                fin,
            } => {
                if full {
                    applicable.push(SendError::WriteBufferFull);
                }
                let kind_now = self.sending.as_ref().map_or(kind, |m| m.0);
                let (piece, carry) = if kind_now == MessageKind::Text {
                    let mut text = self.text_carry.clone();
                    text.extend_from_slice(String::from_utf8_lossy(&data).as_bytes());
                    let at = if fin {
                        text.len()
                    } else {
                        cut % (text.len() + 1)
                    };
                    let carry = text.split_off(at);
                    (text, carry)
                } else {
                    (data, Vec::new())
                };
                let result = self.conn.send_fragment(kind, &piece, fin);
                let queued = self.outcome(result, &applicable, before)?;
                assert_eq!(queued, encoded_len(role, piece.len(), frame_size));
                self.max_send = self.max_send.max(queued);
                self.text_carry = carry;
                let sending = self.sending.get_or_insert((kind, Vec::new()));
                sending.1.extend_from_slice(&piece);
                if fin { self.sending.take() } else { None }
            }
            Command::Ping(payload) | Command::Pong(payload) => {
                if payload.len() > 125 {
                    applicable.push(SendError::ControlTooLong);
                }
                let result = if is_ping {
                    self.conn.ping(&payload, now)
                } else {
                    self.conn.pong(&payload)
                };
                let queued = self.outcome(result, &applicable, before)?;
                assert_eq!(queued, control_len(role, payload.len()));
                self.allowance += queued;
                None
            }
            Command::Close(code, reason) => {
                if !code.is_sendable() {
                    applicable.push(SendError::UnsendableCloseCode(code));
                }
                if reason.len() > MAX_REASON_LEN {
                    applicable.push(SendError::ReasonTooLong);
                }
                let result = self.conn.close(code, &reason, now);
                let queued = self.outcome(result, &applicable, before)?;
                assert_eq!(queued, control_len(role, 2 + reason.len()));
                self.allowance += queued;
                let sent = self.conn.close_sent().expect("close recorded");
                assert_eq!((sent.code(), sent.reason()), (code, reason.as_str()));
                assert_eq!(self.conn.state(), State::Closing);
                let deadline = now + self.conn.config().get_close_timeout();
                assert!(self.conn.poll_timeout().is_some_and(|t| t <= deadline));
                None
            }
        };
        if let Some(msg) = &done {
            self.wire.expect(msg.clone());
        }
        self.check();
        done
    }

    /// Fires the timers due at `now` and checks the deadline contract.
    pub fn timeout(&mut self, now: Instant) {
        let due = self.conn.poll_timeout().is_some_and(|t| t <= now);
        let before = (
            self.conn.buffered_amount(),
            self.conn.state(),
            self.conn.error().copied(),
        );
        self.conn.handle_timeout(now);
        if due {
            self.allowance += CONTROL_MAX;
        } else {
            let after = (
                self.conn.buffered_amount(),
                self.conn.state(),
                self.conn.error().copied(),
            );
            assert_eq!(before, after, "a timer fired before poll_timeout()");
        }
        let mut rounds = 0;
        while let Some(deadline) = self.conn.poll_timeout().filter(|t| *t <= now) {
            assert_eq!(
                deadline, now,
                "poll_timeout() in the past after handle_timeout"
            );
            rounds += 1;
            assert!(rounds <= 3, "timers at a fixed now never settle");
            self.conn.handle_timeout(now);
            self.allowance += CONTROL_MAX;
        }
        self.poll();
    }

    /// Signals the end of the stream: the connection must fail with `UnexpectedEof` unless it
    /// received a Close (or failed already).
    pub fn eof(&mut self, now: Instant) {
        self.conn.handle_eof(now);
        self.poll();
        assert!(
            self.error.is_some() || self.close_event,
            "end of stream without a Close did not fail"
        );
    }

    /// Frees idle buffers.
    pub fn release_buffers(&mut self) {
        self.conn.release_buffers();
        self.check();
    }

    /// Writes everything out and checks that every accepted message reached the wire.
    pub fn finish(&mut self) {
        self.transmit_all();
        self.wire.finish();
        let sent = self.conn.close_sent().map(|c| (c.code(), c.reason()));
        let wire = self
            .wire
            .close()
            .map(|(code, reason)| (*code, reason.as_str()));
        assert_eq!(sent, wire, "the Close on the wire is not the one recorded");
    }
}

// ----- operations ---------------------------------------------------------------------------

/// An application command.
#[derive(Debug)]
pub enum Command {
    /// `send_text`.
    Text(String),
    /// `send_binary`.
    Binary(Vec<u8>),
    /// `send` (or, if the flag is set, `send_uncompressed`) of an owned message; large ones
    /// take the zero-copy path.
    Owned(Message, bool),
    /// `send_fragment`; text pieces are cut at `cut` from valid UTF-8, maybe inside a character.
    Fragment {
        /// The kind asked for (ignored by the engine for continuations).
        kind: MessageKind,
        /// Raw bytes (made valid UTF-8 for text).
        data: Vec<u8>,
        /// Where to cut a text piece.
        cut: usize,
        /// Whether this piece ends the message.
        fin: bool,
    },
    /// `ping`.
    Ping(Vec<u8>),
    /// `pong`.
    Pong(Vec<u8>),
    /// `close`.
    Close(CloseCode, String),
}

/// Number of command encodings, numbered from 0 as in [`decode_command`].
const COMMANDS: u8 = 7;

/// Decodes command number `which` (`0..COMMANDS`), each followed by its arguments:
/// 0 text (`len`, bytes made valid UTF-8), 1 binary (`len`, bytes), 2 owned (`flags`: bit 0
/// text, bit 1 uncompressed, bit 2 +64 KiB; u16 length of a synthetic payload), 3 fragment
/// (`flags`: bit 0 text, bit 1 fin; `cut`, `len`, bytes), 4 ping and 5 pong (`len` mod 131,
/// bytes), 6 close (u16 code, 0 and 1 meaning the unsendable 1005 and 1006; `len` mod 131,
/// reason bytes).
fn decode_command(which: u8, input: &mut Input<'_>, budget: &mut usize) -> Command {
    let kind = |flags: u8| {
        if flags & 1 != 0 {
            MessageKind::Text
        } else {
            MessageKind::Binary
        }
    };
    match which {
        0 => {
            let len = usize::from(input.byte());
            Command::Text(String::from_utf8_lossy(input.bytes(len)).into_owned())
        }
        1 => {
            let len = usize::from(input.byte());
            Command::Binary(input.bytes(len).to_vec())
        }
        2 => {
            let flags = input.byte();
            // Flags bit 2 adds 64 KiB, for the 64-bit length form.
            let len = usize::from(input.u16()) + if flags & 4 != 0 { 1 << 16 } else { 0 };
            let data = synthetic(len, budget);
            let message = match kind(flags) {
                MessageKind::Text => Message::text(String::from_utf8(data).unwrap_or_default()),
                MessageKind::Binary => Message::binary(data),
            };
            Command::Owned(message, flags & 2 != 0)
        }
        3 => {
            let flags = input.byte();
            let cut = usize::from(input.byte());
            let len = usize::from(input.byte());
            Command::Fragment {
                kind: kind(flags),
                data: input.bytes(len).to_vec(),
                cut,
                fin: flags & 2 != 0,
            }
        }
        4 | 5 => {
            let len = usize::from(input.byte() % 131);
            let payload = input.bytes(len).to_vec();
            if which == 4 {
                Command::Ping(payload)
            } else {
                Command::Pong(payload)
            }
        }
        _ => {
            let raw = input.u16();
            let code = match raw {
                0 => CloseCode::NO_STATUS,
                1 => CloseCode::ABNORMAL,
                2..=15 => CloseCode::NORMAL,
                _ => CloseCode::new(raw).unwrap_or(CloseCode::NORMAL),
            };
            let len = usize::from(input.byte() % 131);
            Command::Close(code, String::from_utf8_lossy(input.bytes(len)).into_owned())
        }
    }
}

/// One step of a single-connection run (`server_connection`, `client_connection`).
#[derive(Debug)]
pub enum Op {
    /// Append raw bytes to what the peer has sent but not yet delivered.
    PushRaw(Vec<u8>),
    /// Append a frame built from a selector (see [`Op::decode`]) to the peer's stream.
    PushFrame(Vec<u8>),
    /// Deliver the next `n` peer bytes (`None`: all) by an input path (see [`Checked::input`]).
    Deliver(Option<usize>, u8),
    /// An application command.
    Command(Command),
    /// Move the clock forward.
    Advance(Duration),
    /// `handle_timeout(now)`.
    Timeout,
    /// Write out up to `n` queued bytes (`None`: all), vectored or not.
    Transmit(Option<usize>, bool),
    /// `handle_eof`.
    Eof,
    /// `release_buffers`.
    Release,
}

/// Operation tags of single-connection runs; commands follow from [`OP_COMMANDS`].
const OP_PUSH_RAW: u8 = 0;
const OP_PUSH_FRAME: u8 = 1;
const OP_DELIVER: u8 = 2;
const OP_ADVANCE: u8 = 3;
const OP_TIMEOUT: u8 = 4;
const OP_TRANSMIT: u8 = 5;
const OP_EOF: u8 = 6;
const OP_RELEASE: u8 = 7;
const OP_COMMANDS: u8 = 8;
const OPS: u8 = OP_COMMANDS + COMMANDS;

impl Op {
    /// Decodes the next operation. A frame is `selector, flags, len` then the payload (padded
    /// with zeros to `len`): the selector's low 3 bits pick continuation, text, binary, close,
    /// ping, pong, text or (7) the opcode in the flags' low nibble; selector bit 3 clears FIN,
    /// bit 4 sets RSV1, bit 5 RSV2 and RSV3, bit 6 makes `len` a u16; flags bit 7 masks wrongly
    /// for the role and bit 6 writes a longer length form than needed.
    fn decode(input: &mut Input<'_>, peer: Role, budget: &mut usize) -> Self {
        match input.byte() % OPS {
            OP_PUSH_RAW => {
                let len = usize::from(input.byte());
                Self::PushRaw(input.bytes(len).to_vec())
            }
            OP_PUSH_FRAME => {
                let selector = input.byte();
                let flags = input.byte();
                let len = if selector & 0x40 != 0 {
                    usize::from(input.u16())
                } else {
                    usize::from(input.byte())
                };
                let mut payload = input.bytes(len).to_vec();
                let pad = (len - payload.len()).min(*budget);
                *budget -= pad;
                payload.resize(payload.len() + pad, 0);
                let opcode =
                    [0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x1, flags & 0x0F][usize::from(selector & 7)];
                let fin = if selector & 0x08 == 0 { 0x80 } else { 0 };
                let rsv = ((selector & 0x10) << 2) | ((selector & 0x20) >> 1) | (selector & 0x20);
                let masked = (peer == Role::Client) != (flags & 0x80 != 0);
                let mut frame = Vec::new();
                let mask = masked.then_some(PEER_MASK);
                encode_frame(
                    &mut frame,
                    fin | rsv | opcode,
                    mask,
                    &payload,
                    flags & 0x40 != 0,
                );
                Self::PushFrame(frame)
            }
            OP_DELIVER => {
                let b = input.byte();
                let n = usize::from(b & 0x7F);
                // Bit 7 clear: copied; set: bit 0 picks the read buffer or fill_read_buffer.
                Self::Deliver((n != 0).then_some(n), (b >> 7) * (1 + (b & 1)))
            }
            OP_ADVANCE => Self::Advance(Duration::from_millis(u64::from(input.byte()) * 20)),
            OP_TIMEOUT => Self::Timeout,
            OP_TRANSMIT => {
                let b = input.byte();
                let n = usize::from(b & 0x7F) * 8;
                Self::Transmit((n != 0).then_some(n), b & 0x80 != 0)
            }
            OP_EOF => Self::Eof,
            OP_RELEASE => Self::Release,
            which => Self::Command(decode_command(which - OP_COMMANDS, input, budget)),
        }
    }
}

/// Behaviour and limits from 4 setup bytes: `c0` bit 0 streaming delivery, bit 1 auto-pong
/// off, bit 2 keepalive on, bit 3 small outgoing frames (`c1` + 1 bytes), bit 4 small receive
/// limits (from `c3`), bit 5 small high-water mark (`c3` × 16 bytes); `c2` sets the timers.
fn decode_setup(input: &mut Input<'_>) -> (Config, Limits) {
    let [c0, c1, c2, c3] = [input.byte(), input.byte(), input.byte(), input.byte()];
    let ms = |n: u8, scale: u64| Duration::from_millis(u64::from(n) * scale);
    let mut config = Config::default()
        .delivery(if c0 & 1 != 0 {
            Delivery::Streaming
        } else {
            Delivery::Whole
        })
        .auto_pong(c0 & 2 == 0)
        .close_timeout(ms(c2 & 0x0F, 200))
        .keepalive_timeout(ms(c2 >> 4, 100));
    if c0 & 4 != 0 {
        config = config.keepalive_interval(Some(ms(c2, 10) + Duration::from_millis(10)));
    }
    if c0 & 8 != 0 {
        let size = NonZeroUsize::new(usize::from(c1) + 1).unwrap_or(NonZeroUsize::MIN);
        config = config.outgoing_frame_size(size);
    }
    let mut limits = Limits::default();
    if c0 & 0x10 != 0 {
        limits = limits
            .max_frame_size(usize::from(c3) * 4)
            .max_message_size(usize::from(c3) * 16)
            .max_fragments(usize::from(c3 % 8) + 1);
    }
    if c0 & 0x20 != 0 {
        limits = limits.write_high_water(usize::from(c3) * 16);
    }
    (config, limits)
}

fn connection(role: Role, config: Config, limits: Limits, seed: u64) -> Connection {
    match role {
        Role::Server => Connection::server(config, limits, START),
        Role::Client => Connection::client(config, limits, Box::new(FuzzRng::new(seed)), START),
    }
}

// ----- targets ------------------------------------------------------------------------------

/// `frame_decode`: `[cfg, seed, bytes...]`. The same bytes go to a server and to a client
/// connection, cut into chunks (`cfg` bits 2-3 pick the size, `seed` the cuts), then the
/// stream ends. `cfg` bit 0 streams, bit 1 sets small limits, bit 4 turns auto-pong off.
pub fn frame_decode(data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = input.byte();
    let seed = input.byte();
    let bytes = input.rest();
    let mut config = Config::default().auto_pong(cfg & 0x10 == 0);
    if cfg & 1 != 0 {
        config = config.delivery(Delivery::Streaming);
    }
    let mut limits = Limits::default();
    if cfg & 2 != 0 {
        limits = limits
            .max_frame_size(64)
            .max_message_size(256)
            .max_fragments(4);
    }
    for role in [Role::Server, Role::Client] {
        let conn = connection(role, config.clone(), limits.clone(), u64::from(seed));
        let mut side = Checked::new(conn, 0);
        let mut flip = FuzzRng::new(u64::from(seed) + 1);
        for chunk in Chunks::new(bytes, seed, cfg >> 2) {
            side.input(chunk, START, flip.below(3) as u8);
            side.transmit(usize::MAX, flip.below(2) == 0);
        }
        side.eof(START);
        side.finish();
    }
}

/// A single connection driven by peer bytes, commands and the clock.
fn run_connection(role: Role, mut input: Input<'_>, extension: Option<Box<dyn Extension>>) {
    let (config, limits) = decode_setup(&mut input);
    let mut conn = connection(role, config, limits, 7);
    if let Some(extension) = extension {
        conn = conn.with_extension(extension);
    }
    let mut side = Checked::new(conn, 0);
    let peer = if role == Role::Server {
        Role::Client
    } else {
        Role::Server
    };
    let mut pending: VecDeque<u8> = VecDeque::new();
    let mut now = START;
    let mut budget = synthetic_budget(side.conn());
    while !input.is_empty() {
        match Op::decode(&mut input, peer, &mut budget) {
            Op::PushRaw(bytes) | Op::PushFrame(bytes) => pending.extend(bytes),
            Op::Deliver(n, path) => {
                let n = n.unwrap_or(usize::MAX).min(pending.len());
                let bytes: Vec<u8> = pending.drain(..n).collect();
                side.input(&bytes, now, path);
            }
            Op::Command(command) => {
                side.command(command, now);
            }
            Op::Advance(by) => now = now + by,
            Op::Timeout => side.timeout(now),
            Op::Transmit(n, vectored) => {
                side.transmit(n.unwrap_or(usize::MAX), vectored);
            }
            Op::Eof => side.eof(now),
            Op::Release => side.release_buffers(),
        }
    }
    let rest: Vec<u8> = pending.into_iter().collect();
    side.input(&rest, now, 0);
    side.timeout(now);
    side.eof(now);
    side.finish();
}

/// `server_connection`: a server-role connection driven by 4 setup bytes (see
/// [`decode_setup`]) and then [`Op`]s until the input ends; finally every pending byte is
/// delivered, the stream ends and all output is checked.
pub fn server_connection(data: &[u8]) {
    run_connection(Role::Server, Input::new(data), None);
}

/// `client_connection`: as [`server_connection`] for the client role.
pub fn client_connection(data: &[u8]) {
    run_connection(Role::Client, Input::new(data), None);
}

/// Round-trip operation tags (low 7 bits, modulo [`RT_OPS`]); bit 7 picks the server side.
const RT_TRANSFER: u8 = 0;
const RT_DRIVE: u8 = 1;
const RT_ADVANCE: u8 = 2;
const RT_TIMEOUT: u8 = 3;
const RT_RELEASE: u8 = 4;
const RT_COMMANDS: u8 = 5;
const RT_OPS: u8 = RT_COMMANDS + COMMANDS;

/// A client and a server wired to each other; each side's output is checked on the wire and
/// must arrive at the other side as sent.
struct Pair {
    sides: [Checked; 2],
    now: Instant,
}

impl Pair {
    /// Moves up to `n` bytes from side `from` to the other (`flags` bit 0: vectored write;
    /// `flags >> 1`: the input path, see [`Checked::input`]); returns whether any moved.
    fn transfer(&mut self, from: usize, n: usize, flags: u8) -> bool {
        let bytes = self.sides[from].transmit(n, flags & 1 != 0);
        let now = self.now;
        self.sides[1 - from].input(&bytes, now, flags >> 1);
        !bytes.is_empty()
    }

    fn drive(&mut self) {
        while self.transfer(0, usize::MAX, 0) | self.transfer(1, usize::MAX, 0) {}
    }
}

/// `round_trip`: a client and a server, each set up by 4 bytes (see [`decode_setup`]; receive
/// limits are kept generous), driven by operations whose tag byte's bit 7 picks the side.
/// Whatever one side writes must decode on the other without error and deliver the messages
/// intact and in order; at the end both sides close cleanly. Only `KeepaliveTimeout` may fail
/// a side, when the clock outran the transfers.
pub fn round_trip(data: &[u8]) {
    run_pair(Input::new(data), [None, None]);
}

/// The body of [`round_trip`], with optional extensions for the client and the server.
fn run_pair(mut input: Input<'_>, extensions: [Option<Box<dyn Extension>>; 2]) {
    let roles = [Role::Client, Role::Server];
    let sides = roles.into_iter().zip(extensions).map(|(role, extension)| {
        let (config, limits) = decode_setup(&mut input);
        let limits = Limits::default()
            .max_fragments(usize::MAX)
            .write_high_water(limits.get_write_high_water());
        let mut conn = connection(role, config, limits, 11);
        if let Some(extension) = extension {
            conn = conn.with_extension(extension);
        }
        let mut side = Checked::new(conn, 0);
        side.inbound = Some(VecDeque::new());
        side
    });
    let sides: [Checked; 2] = sides.collect::<Vec<_>>().try_into().expect("two sides");
    let mut budget = synthetic_budget(sides[0].conn()).min(synthetic_budget(sides[1].conn()));
    let mut pair = Pair { sides, now: START };
    while !input.is_empty() {
        let tag = input.byte();
        let side = usize::from(tag >> 7);
        match (tag & 0x7F) % RT_OPS {
            RT_TRANSFER => {
                let b = input.byte();
                let n = if b >> 2 == 0 {
                    usize::MAX
                } else {
                    usize::from(b >> 2) * 4
                };
                pair.transfer(side, n, b);
            }
            RT_DRIVE => pair.drive(),
            RT_ADVANCE => pair.now = pair.now + Duration::from_millis(u64::from(input.byte()) * 20),
            RT_TIMEOUT => {
                let now = pair.now;
                pair.sides.iter_mut().for_each(|s| s.timeout(now));
            }
            RT_RELEASE => pair.sides[side].release_buffers(),
            which => {
                let command = decode_command(which - RT_COMMANDS, &mut input, &mut budget);
                let now = pair.now;
                if let Some(msg) = pair.sides[side].command(command, now) {
                    pair.sides[1 - side]
                        .inbound
                        .as_mut()
                        .expect("round trip tracks inbound messages")
                        .push_back(msg);
                }
            }
        }
    }
    pair.drive();
    for side in &pair.sides {
        if let Some(e) = side.error() {
            assert_eq!(
                e,
                ProtocolError::KeepaliveTimeout,
                "error between two good peers"
            );
        }
    }
    if pair.sides.iter().all(|s| s.error().is_none()) {
        if pair.sides.iter().all(|s| s.conn().state() == State::Open) {
            let now = pair.now;
            pair.sides[0].command(Command::Close(CloseCode::NORMAL, "done".into()), now);
        }
        pair.drive();
        for side in &mut pair.sides {
            assert_eq!(
                side.conn().state(),
                State::Closed,
                "close handshake incomplete"
            );
            let left = side.inbound.as_ref().map_or(0, VecDeque::len);
            assert_eq!(left, 0, "messages sent but never received");
            side.finish();
        }
    }
}

/// What one endpoint accepts for permessage-deflate, from a setup byte: bit 0
/// `client_no_context_takeover`, bit 1 `server_no_context_takeover`, bits 2 and 3 limit the
/// client and the server window to 8 + bits 4-6, bit 7 compresses every message (threshold 0);
/// `level` (mod 10) is the compression level.
fn deflate_config(bits: u8, level: u8) -> DeflateConfig {
    let window = 8 + ((bits >> 4) & 7);
    DeflateConfig::default()
        .client_no_context_takeover(bits & 1 != 0)
        .server_no_context_takeover(bits & 2 != 0)
        .client_max_window_bits((bits & 4 != 0).then_some(window))
        .server_max_window_bits((bits & 8 != 0).then_some(window))
        .level(u32::from(level % 10))
        .threshold(if bits & 0x80 != 0 { 0 } else { 32 })
}

/// `deflate`: permessage-deflate negotiated from 4 setup bytes (the client's and the server's
/// [`deflate_config`], their levels in the nibbles of the third, the mode in the fourth), then
/// either a round trip with compression on both sides (mode bit 0 clear; as [`round_trip`]) or
/// a compressing server connection fed arbitrary, possibly RSV1-marked, frames (as
/// [`server_connection`]). The server's answer to the client's offer must be acceptable to the
/// client, and a declined offer runs without compression.
pub fn deflate(data: &[u8]) {
    let mut input = Input::new(data);
    let [c0, c1, levels, mode] = [input.byte(), input.byte(), input.byte(), input.byte()];
    let client = deflate_config(c0, levels);
    let server = deflate_config(c1, levels >> 4);
    let offer = client.client_offer();
    let offers = parse_extensions([offer.as_bytes()]).expect("our own offer parses");
    let negotiated = server.negotiate(&offers).map(|(answer, server_side)| {
        let answers = parse_extensions([answer.as_bytes()]).expect("our own answer parses");
        assert_eq!(answers.len(), 1, "{answer:?}");
        let client_side = client
            .accept_response(&answers[0])
            .unwrap_or_else(|e| panic!("client refuses {answer:?} to its {offer:?}: {e}"));
        (client_side, server_side)
    });
    let [client_side, server_side]: [Option<Box<dyn Extension>>; 2] = match negotiated {
        Some((c, s)) => [Some(Box::new(c)), Some(Box::new(s))],
        None => [None, None],
    };
    if mode & 1 != 0 {
        run_connection(Role::Server, input, server_side);
    } else {
        run_pair(input, [client_side, server_side]);
    }
}

// ----- handshakes ---------------------------------------------------------------------------

/// Bytes of `fed` that count against `max_header_bytes`: empty lines before the start line
/// are skipped (RFC 7230 §3.5).
fn head_bytes(fed: &[u8]) -> usize {
    fed.len()
        - fed
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count()
}

/// A partial head never exceeds the limit.
fn check_partial_head(fed: &[u8], limits: &Limits) {
    let held = head_bytes(fed);
    assert!(
        held == 0 || held < limits.get_max_header_bytes(),
        "{held} bytes of head held"
    );
}

/// `leftover` is what followed a complete head of at most `max_header_bytes` in `fed`.
fn check_leftover(fed: &[u8], leftover: &[u8], limits: &Limits) {
    assert!(
        fed.ends_with(leftover),
        "leftover is not what followed the head"
    );
    let head = &fed[..fed.len() - leftover.len()];
    assert!(
        head.ends_with(b"\n"),
        "head does not end with an empty line"
    );
    assert!(head_bytes(head) <= limits.get_max_header_bytes());
}

/// Feeds the rest of a stream to a connection that took over from a handshake, then ends it.
fn continue_connection(mut side: Checked, chunks: Chunks<'_>) {
    for chunk in chunks {
        side.input(chunk, START, 2);
        side.transmit(usize::MAX, true);
    }
    side.eof(START);
    side.finish();
}

/// Handshake setup from `cfg`: bit 0 small limits (from `seed`), bit 1 a 500 ms timeout.
fn handshake_setup(cfg: u8, seed: u8) -> (Limits, Option<Duration>) {
    let mut limits = Limits::default();
    if cfg & 1 != 0 {
        limits = limits
            .max_header_bytes(64 + usize::from(seed) * 4)
            .max_headers(1 + usize::from(seed % 16));
    }
    (limits, (cfg & 2 != 0).then_some(Duration::from_millis(500)))
}

/// The sticky-error contract of a failed server handshake and its queued answer.
fn check_server_error(handshake: &mut ServerHandshake, error: &HandshakeError) {
    let queued = String::from_utf8_lossy(handshake.transmit()).into_owned();
    match error.http_status() {
        Some(status) if *error != HandshakeError::Timeout => {
            assert!(
                queued.starts_with(&format!("HTTP/1.1 {status} ")),
                "{error:?} answered with {queued:?}"
            );
            assert!(queued.contains("\r\n\r\n"));
        }
        _ => assert!(queued.is_empty(), "{error:?} queued {queued:?}"),
    }
    assert_eq!(handshake.handle_input(b"GET").as_ref(), Err(error));
    let later = START + Duration::from_secs(3600);
    assert_eq!(handshake.handle_timeout(later).as_ref(), Err(error));
    assert_eq!(handshake.poll_timeout(), None);
    if matches!(error, HandshakeError::NotWebSocket { .. }) {
        let page = handshake.respond(200, &[("Content-Type", "text/html")], b"<p>hi</p>");
        assert_eq!(page, Ok(()));
        assert!(handshake.transmit().starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
}

/// `server_handshake`: `[cfg, seed, bytes...]`: the bytes, cut into chunks (`cfg` bits 2-3),
/// are a client's request; a valid one is answered as `cfg` bits 4-5 say (accept, accept into
/// a connection, reject, or accept after more bytes arrived) and the rest of the stream goes
/// to the connection. `cfg` bits 0-1 see [`handshake_setup`].
pub fn server_handshake(data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = input.byte();
    let seed = input.byte();
    let (limits, timeout) = handshake_setup(cfg, seed);
    let mut handshake = ServerHandshake::new(&limits, START, timeout);
    assert_eq!(handshake.poll_timeout(), timeout.map(|t| START + t));
    let mut chunks = Chunks::new(input.rest(), seed, cfg >> 2);
    let mut fed = Vec::new();
    let request = loop {
        let Some(chunk) = chunks.next() else {
            if let Some(t) = timeout {
                let early = START + t.saturating_sub(Duration::from_millis(1));
                assert_eq!(handshake.handle_timeout(early), Ok(()));
                let error = handshake.handle_timeout(START + t).unwrap_err();
                assert_eq!(error, HandshakeError::Timeout);
                check_server_error(&mut handshake, &error);
            }
            return;
        };
        fed.extend_from_slice(chunk);
        match handshake.handle_input(chunk) {
            Ok(None) => check_partial_head(&fed, &limits),
            Ok(Some(request)) => break request,
            Err(error) => return check_server_error(&mut handshake, &error),
        }
    };
    assert_eq!(request.method(), "GET");
    assert_eq!(request.key().len(), 24, "key is not 16 base64 bytes");
    assert!(request.subprotocols().all(|p| is_token(p.as_bytes())));
    assert_eq!(handshake.poll_timeout(), None);
    let mut accept = Accept::new().negotiate_subprotocol(&request, &["chat", "superchat"]);
    if let Some(extension) = request.extensions().first() {
        accept = accept.extension(extension.name());
    }
    let chosen = accept.selected_subprotocol().map(str::to_owned);
    let answer = (cfg >> 4) & 3;
    if answer == 3 {
        // More bytes arrive before the application answers; they are kept for the connection.
        for chunk in chunks.by_ref().take(usize::from(seed % 4)) {
            fed.extend_from_slice(chunk);
            assert_eq!(handshake.handle_input(chunk), Ok(None));
        }
    }
    let config = Config::default();
    let side = match answer {
        1 => {
            let mut conn = handshake
                .accept_into_connection(accept, config, limits.clone(), START)
                .expect("accepting what was offered");
            let queued = conn.transmit().to_vec();
            let end = queued.windows(4).position(|w| w == b"\r\n\r\n");
            let head_len = end.expect("101 response queued first") + 4;
            conn.advance_transmit(head_len);
            assert!(queued.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            Checked::new(conn, fed.len())
        }
        2 => {
            let status = 400 + u16::from(seed % 100);
            assert_eq!(handshake.reject(status, b"no"), Ok(()));
            let queued = String::from_utf8_lossy(handshake.transmit()).into_owned();
            assert!(
                queued.starts_with(&format!("HTTP/1.1 {status} ")),
                "{queued:?}"
            );
            assert!(queued.ends_with("\r\n\r\nno"));
            assert_eq!(handshake.handle_input(b"more"), Ok(None));
            assert!(handshake.accept(Accept::new()).is_err());
            return;
        }
        _ => {
            let leftover = handshake
                .accept(accept)
                .expect("accepting what was offered");
            check_leftover(&fed, &leftover, &limits);
            let response = String::from_utf8_lossy(handshake.transmit()).into_owned();
            assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
            assert_eq!(response.find("\r\n\r\n"), Some(response.len() - 4));
            let expected = format!(
                "\r\nSec-WebSocket-Accept: {}\r\n",
                accept_key(request.key().as_bytes())
            );
            assert!(response.contains(&expected), "{response:?}");
            if let Some(protocol) = &chosen {
                assert!(response.contains(&format!("\r\nSec-WebSocket-Protocol: {protocol}\r\n")));
            }
            assert!(handshake.handle_input(b"x").is_err(), "input after accept");
            let mut side = Checked::new(Connection::server(config, limits, START), 0);
            side.input(&leftover, START, 0);
            side
        }
    };
    continue_connection(side, chunks);
}

/// `client_handshake`: `[cfg, seed, bytes...]`: a client built from
/// `ws://example.com/chat` (subprotocols `chat`, `superchat`; offering permessage-deflate; key
/// from the RFC 6455 sample nonce) reads the bytes, cut into chunks (`cfg` bits 2-3), as the
/// server's response; after a 101 the rest goes to the connection. `cfg` bits 0-1 see
/// [`handshake_setup`].
pub fn client_handshake(data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = input.byte();
    let seed = input.byte();
    let (limits, timeout) = handshake_setup(cfg, seed);
    let request = ClientRequest::from_url("ws://example.com/chat")
        .expect("fixed url")
        .subprotocol("chat")
        .subprotocol("superchat")
        .extension("permessage-deflate; client_max_window_bits");
    let mut handshake = ClientHandshake::new(request, &limits, &mut SampleNonce, START, timeout)
        .expect("fixed request");
    let head = String::from_utf8_lossy(handshake.transmit()).into_owned();
    assert!(head.starts_with("GET /chat HTTP/1.1\r\n"), "{head:?}");
    assert!(head.contains("\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    assert!(head.ends_with("\r\n\r\n"));
    handshake.advance_transmit(usize::from(seed));
    handshake.advance_transmit(usize::MAX);
    assert!(!handshake.wants_write());
    let mut chunks = Chunks::new(input.rest(), seed, cfg >> 2);
    let mut fed = Vec::new();
    let accepted = loop {
        let Some(chunk) = chunks.next() else {
            if let Some(t) = timeout {
                assert_eq!(handshake.poll_timeout(), Some(START + t));
                assert_eq!(
                    handshake.handle_timeout(START + t),
                    Err(HandshakeError::Timeout)
                );
                assert_eq!(handshake.handle_input(b"x"), Err(HandshakeError::Timeout));
            }
            return;
        };
        fed.extend_from_slice(chunk);
        match handshake.handle_input(chunk) {
            Ok(None) => check_partial_head(&fed, &limits),
            Ok(Some(accepted)) => break accepted,
            Err(error) => {
                if let HandshakeError::Rejected(rejection) = &error {
                    assert_ne!(rejection.status(), 101);
                    assert!(
                        fed.ends_with(rejection.body()),
                        "rejection body is not the rest"
                    );
                }
                assert_eq!(handshake.handle_input(b"HTTP").as_ref(), Err(&error));
                assert_eq!(handshake.handle_timeout(START).as_ref(), Err(&error));
                assert_eq!(handshake.poll_timeout(), None);
                return;
            }
        }
    };
    assert_eq!(accepted.status(), 101);
    assert!(matches!(
        accepted.subprotocol(),
        None | Some("chat" | "superchat")
    ));
    for extension in accepted.extensions() {
        assert!(extension.name().eq_ignore_ascii_case("permessage-deflate"));
    }
    let accept = accepted
        .header("sec-websocket-accept")
        .map(<[u8]>::trim_ascii);
    assert_eq!(accept, Some(RFC_ACCEPT.as_bytes()));
    check_leftover(&fed, accepted.leftover(), &limits);
    assert_eq!(handshake.poll_timeout(), None);
    assert!(matches!(
        handshake.handle_input(b"x"),
        Err(HandshakeError::InvalidState(_))
    ));
    let received = accepted.leftover().len();
    let rng = Box::new(FuzzRng::new(u64::from(seed)));
    let conn = accepted.into_connection(Config::default(), limits, rng, START);
    continue_connection(Checked::new(conn, received), chunks);
}

// ----- seeds --------------------------------------------------------------------------------

/// Writes operations in the encoding [`Op::decode`] and [`round_trip`] read, for seeds.
#[derive(Debug, Default)]
struct Script(Vec<u8>);

impl Script {
    fn setup(mut self, c: [u8; 4]) -> Self {
        self.0.extend_from_slice(&c);
        self
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    /// A single-connection frame: selector (see [`Op::decode`]), flags, u8 length, payload.
    fn frame(self, selector: u8, flags: u8, payload: &[u8]) -> Self {
        let len = payload.len() as u8;
        self.raw(&[OP_PUSH_FRAME, selector, flags, len])
            .raw(payload)
    }
    fn deliver(self) -> Self {
        self.raw(&[OP_DELIVER, 0])
    }
    fn transmit(self) -> Self {
        self.raw(&[OP_TRANSMIT, 0])
    }
    /// Command `which` with its encoded arguments, prefixed by `base` (+ side bit).
    fn command(self, base: u8, which: u8, args: &[u8]) -> Self {
        self.raw(&[base + which]).raw(args)
    }
}

fn with_len(prefix: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.push(payload.len() as u8);
    out.extend_from_slice(payload);
    out
}

/// Small meaningful inputs per target, by name: the `corpus/` files are written from these
/// (`cargo run --example write_seeds` in `fuzz/`) and the corpus replay also runs them.
pub fn seeds(target: &str) -> Vec<(&'static str, Vec<u8>)> {
    let masked = |b0: u8, payload: &[u8]| {
        let mut out = vec![0, 0];
        encode_frame(&mut out, b0, Some(PEER_MASK), payload, false);
        out
    };
    let unmasked = |b0: u8, payload: &[u8]| {
        let mut out = vec![0, 0];
        encode_frame(&mut out, b0, None, payload, false);
        out
    };
    let rfc_request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let rfc_response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    let handshake = |cfg: u8, parts: &[&[u8]]| {
        let mut out = vec![cfg, 3];
        parts.iter().for_each(|p| out.extend_from_slice(p));
        out
    };
    let c = OP_COMMANDS;
    match target {
        "frame_decode" => vec![
            ("masked_text_hello", masked(0x81, b"Hello")),
            ("text_hello", unmasked(0x81, b"Hello")),
            ("fragmented_text", {
                let mut out = unmasked(0x01, b"Hel");
                encode_frame(&mut out, 0x89, None, b"p", false);
                encode_frame(&mut out, 0x80, None, b"lo", false);
                out
            }),
            ("masked_binary_16bit_len", masked(0x82, &[7; 300])),
            ("binary_64bit_len_partial", {
                let mut out = vec![2, 0, 0x82, 127];
                out.extend_from_slice(&70_000u64.to_be_bytes());
                out.extend_from_slice(&[1; 10]);
                out
            }),
            ("masked_ping", masked(0x89, b"Hello")),
            ("pong", unmasked(0x8A, b"Hello")),
            ("masked_close_1000", masked(0x88, b"\x03\xe8bye")),
            ("close_empty", unmasked(0x88, b"")),
            ("masked_reserved_bits", masked(0xC1, b"x")),
            ("masked_reserved_opcode", masked(0x83, b"")),
            ("masked_fragmented_ping", masked(0x09, b"")),
            ("masked_long_ping", masked(0x89, &[0; 126])),
            ("non_minimal_length", vec![0, 0, 0x82, 0xFE, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            ("masked_bad_utf8", masked(0x81, &[0xFF, 0xFE])),
            ("masked_close_1005", masked(0x88, b"\x03\xed")),
            ("masked_stray_continuation", masked(0x80, b"x")),
            ("streaming_small_limits", {
                let mut out = masked(0x02, &[1; 40]);
                out[0] = 3;
                encode_frame(&mut out, 0x80, Some(PEER_MASK), &[2; 40], false);
                out
            }),
        ],
        "server_handshake" => vec![
            ("rfc_request", handshake(0, &[rfc_request])),
            ("rfc_request_then_frame", {
                let mut frame = Vec::new();
                encode_frame(&mut frame, 0x81, Some(PEER_MASK), b"Hello", false);
                handshake(0x14, &[rfc_request, &frame])
            }),
            ("rfc_request_reject", handshake(0x24, &[rfc_request])),
            ("rfc_request_late_bytes", handshake(0x38, &[rfc_request, b"\x88\x80abcd"])),
            ("with_deflate_offer", handshake(0, &[&rfc_request[..rfc_request.len() - 2],
                b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"])),
            ("plain_get", handshake(0, &[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"])),
            ("version_8", handshake(0, &[b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                Sec-WebSocket-Version: 8\r\n\r\n"])),
            ("post", handshake(0, &[b"POST / HTTP/1.1\r\nHost: a\r\n\r\n"])),
            ("head_too_large", handshake(1, &[&[b'a'; 200]])),
            ("slow_head_timeout", handshake(2, &[b"GET / HTTP/1.1\r\n"])),
        ],
        "client_handshake" => vec![
            ("rfc_response", handshake(0, &[rfc_response, b"\r\n"])),
            ("with_chat_and_frame", handshake(0x0C, &[rfc_response,
                b"Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x02hi\x89\x00"])),
            ("with_deflate", handshake(4, &[rfc_response,
                b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n"])),
            ("rejected_with_body", handshake(0, &[b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"])),
            ("wrong_accept", handshake(0, &[b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"])),
            ("unoffered_protocol", handshake(0, &[rfc_response, b"Sec-WebSocket-Protocol: x\r\n\r\n"])),
            ("timeout", handshake(2, &[b"HTTP/1.1 101"])),
        ],
        "server_connection" | "client_connection" => {
            vec![
                ("echo_and_close", Script::default()
                    .setup([0; 4])
                    .frame(1, 0, b"Hello")
                    .deliver()
                    .command(c, 0, &with_len(&[], b"Hello"))
                    .transmit()
                    .command(c, 6, &with_len(&[0x03, 0xE8], b"bye"))
                    .frame(3, 0, b"\x03\xe8")
                    .deliver()
                    .transmit()
                    .0),
                ("ping_pong_fragments", Script::default()
                    .setup([0; 4])
                    .frame(0x09, 0, b"Hel")
                    .frame(4, 0, b"ping")
                    .frame(0, 0, b"lo")
                    .raw(&[OP_DELIVER, 3, OP_DELIVER, 0x80 | 5, OP_DELIVER, 0])
                    .command(c, 4, &with_len(&[], b"p"))
                    .command(c, 3, &with_len(&[1, 2], "h\u{e9}".as_bytes()))
                    .command(c, 3, &with_len(&[3, 0], b"llo"))
                    .raw(&[OP_TRANSMIT, 0x81, OP_TRANSMIT, 0])
                    .0),
                ("streaming_small_frames", Script::default()
                    .setup([0x09, 3, 0, 0])
                    .raw(&[OP_PUSH_FRAME, 0x42, 0, 0x01, 0x2C])
                    .raw(&[OP_DELIVER, 100, OP_DELIVER, 0])
                    .command(c, 1, &with_len(&[], &[9; 20]))
                    .command(c, 2, &[0, 0x50, 0])
                    .transmit()
                    .0),
                ("keepalive", Script::default()
                    .setup([0x04, 0, 0x21, 0])
                    .raw(&[OP_ADVANCE, 50, OP_TIMEOUT, OP_TRANSMIT, 0])
                    .frame(5, 0, b"")
                    .deliver()
                    .raw(&[OP_ADVANCE, 50, OP_TIMEOUT, OP_ADVANCE, 50, OP_TIMEOUT])
                    .0),
                ("small_limits_too_big", Script::default()
                    .setup([0x10, 0, 0, 4])
                    .frame(2, 0, &[0; 40])
                    .deliver()
                    .transmit()
                    .0),
                ("high_water", Script::default()
                    .setup([0x20, 0, 0, 2])
                    .command(c, 1, &with_len(&[], &[1; 40]))
                    .command(c, 1, &with_len(&[], &[2; 40]))
                    .raw(&[OP_TRANSMIT, 2])
                    .command(c, 1, &with_len(&[], &[3; 40]))
                    .transmit()
                    .0),
                ("close_timeout", Script::default()
                    .setup([0, 0, 0x01, 0])
                    .command(c, 6, &with_len(&[0x0F, 0xA0], b""))
                    .transmit()
                    .raw(&[OP_ADVANCE, 20, OP_TIMEOUT, OP_EOF, OP_RELEASE])
                    .0),
                ("raw_violation", Script::default()
                    .setup([0; 4])
                    .raw(&[OP_PUSH_RAW, 2, 0xF1, 0x00])
                    .deliver()
                    .transmit()
                    .0),
            ]
        }
        "round_trip" => {
            let r = RT_COMMANDS;
            let server = 0x80;
            vec![
                ("messages_both_ways", Script::default()
                    .setup([0; 4])
                    .setup([0; 4])
                    .command(r, 0, &with_len(&[], b"hello"))
                    .command(server + r, 1, &with_len(&[], &[1, 2, 3]))
                    .raw(&[RT_DRIVE])
                    .0),
                ("fragments_small_frames_streaming", Script::default()
                    .setup([0x08, 2, 0, 0])
                    .setup([0x01, 0, 0, 0])
                    .command(r, 3, &with_len(&[1, 1], "\u{20ac}uro".as_bytes()))
                    .command(r, 4, &with_len(&[], b"ping"))
                    .command(r, 3, &with_len(&[3, 0], "\u{1f600}".as_bytes()))
                    .raw(&[RT_TRANSFER, 0x0B, RT_DRIVE])
                    .0),
                ("large_owned", Script::default()
                    .setup([0; 4])
                    .setup([0x01, 0, 0, 0])
                    .command(server + r, 2, &[0, 0xFF, 0xFF])
                    .command(r, 2, &[1, 0x01, 0x00])
                    .raw(&[RT_TRANSFER | 0x80, 0x41, RT_DRIVE])
                    .0),
                ("keepalive_and_close", Script::default()
                    .setup([0x04, 0, 0x22, 0])
                    .setup([0x24, 0, 0x22, 1])
                    .raw(&[RT_ADVANCE, 30, RT_TIMEOUT, RT_DRIVE])
                    .command(server + r, 6, &with_len(&[0x0F, 0xA0], b"bye"))
                    .raw(&[RT_DRIVE])
                    .0),
            ]
        }
        "deflate" => {
            let r = RT_COMMANDS;
            // Compressed with the engine's own codec (RSV1 payloads for the server to inflate).
            let compressed = |payload: &[u8]| {
                let (_, mut codec) = deflate_config(0x80, 1)
                    .negotiate(&parse_extensions([b"permessage-deflate".as_slice()]).ok()?)?;
                let mut out = wsproto_core::BytesMut::new();
                codec.encode(MessageKind::Binary, payload, &mut out).ok()?;
                Some(out.to_vec())
            };
            let zeros = compressed(&[0; 10_000]).unwrap_or_default();
            vec![
                ("round_trip_every_message", Script::default()
                    .setup([0x80, 0x80, 0x11, 0])
                    .setup([0; 4])
                    .setup([0x01, 0, 0, 0])
                    .command(r, 0, &with_len(&[], b"Hello Hello Hello Hello"))
                    .command(0x80 + r, 1, &with_len(&[], &[5; 100]))
                    .command(r, 2, &[2, 0x01, 0x00])
                    .command(r, 2, &[1, 0x10, 0x00])
                    .raw(&[RT_DRIVE])
                    .command(r, 0, &with_len(&[], b"Hello Hello Hello Hello"))
                    .raw(&[RT_DRIVE])
                    .0),
                ("round_trip_no_context_window_10", Script::default()
                    .setup([0xAF, 0x2C, 0x96, 0])
                    .setup([0x08, 4, 0, 0])
                    .setup([0; 4])
                    .command(0x80 + r, 0, &with_len(&[], &[b'a'; 200]))
                    .command(0x80 + r, 0, &with_len(&[], &[b'a'; 200]))
                    .raw(&[RT_DRIVE])
                    .0),
                ("declined_window_8", Script::default()
                    .setup([0x88, 0x00, 0, 0])
                    .setup([0; 4])
                    .setup([0; 4])
                    .command(r, 0, &with_len(&[], b"plain"))
                    .raw(&[RT_DRIVE])
                    .0),
                ("server_inflates_rfc7692_hello", Script::default()
                    .setup([0, 0, 0, 1])
                    .setup([0; 4])
                    .frame(0x11, 0, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
                    .frame(0x11, 0, &[0xf2, 0x00, 0x11, 0x00, 0x00])
                    .deliver()
                    .transmit()
                    .0),
                ("server_bomb_small_limits", Script::default()
                    .setup([0, 0, 0, 1])
                    .setup([0x10, 0, 0, 4])
                    .frame(0x12, 0, &zeros)
                    .deliver()
                    .transmit()
                    .0),
                ("server_corrupt_stream", Script::default()
                    .setup([0, 0, 0, 1])
                    .setup([0; 4])
                    .frame(0x11, 0, &[0xff; 8])
                    .deliver()
                    .transmit()
                    .0),
            ]
        }
        _ => Vec::new(),
    }
}
