//! Inputs and events: received bytes become frames, frames become events.
//!
//! Parsing is lazy: [`Connection::handle_input`] only stores bytes; [`Connection::poll_event`]
//! decodes as far as the next event. Every frame header is checked in one fixed order, cheapest
//! and most telling first (RSV bits, opcode, FIN on control frames, fragmentation state, mask bit against role,
//! shortest length, limits) before any of its payload is kept. Payload bytes are unmasked and
//! UTF-8-validated in place as they arrive, so invalid text fails fast even inside one frame
//! that arrives in pieces, and a single-frame message is handed out as a slice of the read
//! buffer without a copy.

use bytes::{Buf, BytesMut};

use super::{Connection, FrameState, Role, payload_hash};
use crate::close::{CloseCode, CloseFrame};
use crate::config::Delivery;
use crate::error::{ConnectionError, ConnectionLost, ProtocolError};
use crate::event::{Event, Message, MessageKind, Utf8Bytes};
use crate::extension::ExtensionError;
use crate::frame::{OpCode, RSV_MASK, decode_rest, decode_start};
use crate::mask::apply_mask;
use crate::time::Instant;

/// Spare room [`Connection::read_buffer`] offers a connection's first read (and the first after
/// [`Connection::release_buffers`]): small, so a mostly idle connection holds little. Memory a
/// connection used once stays in the allocator's free lists after the connection goes idle
/// (measured: 10 000 idle connections each kept their 1 KiB first read buffer as a hole in the
/// heap), so the first buffer is sized for one small message; busy connections double it
/// within a few reads.
pub(super) const INITIAL_READ_SPACE: usize = 128;
/// The spare room offered doubles each time a read fills it, up to this much; frames known to
/// be larger get room for themselves regardless (up to `MAX_READ_SPACE`).
const MAX_GROWN_READ_SPACE: usize = 64 * 1024;
/// Most spare room [`Connection::fill_read_buffer`] zeroes for one read.
const MAX_ZEROED_READ: usize = 64 * 1024;
/// Most spare room it reserves in one go while a large frame is expected.
const MAX_READ_SPACE: usize = 1024 * 1024;
/// Frames at least this long are read up to their last byte and no further (see
/// [`Connection::read_limit`]).
const LARGE_FRAME: usize = 64 * 1024;

/// What one decoding step produced.
enum Step {
    Event(Event),
    /// Progress was made; try again.
    Continue,
    /// More bytes are needed.
    NeedInput,
}

impl Connection {
    /// Stores received bytes (copying them); call [`poll_event`](Self::poll_event) next.
    ///
    /// Any input counts as a sign of life for the keepalive.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if self.error.is_none() && self.close_received.is_none() {
            self.read.extend_from_slice(bytes);
        }
        self.note_input(now);
    }

    /// A buffer to read into directly, avoiding the copy of
    /// [`handle_input`](Self::handle_input): append received bytes to it (never remove or
    /// change what is there), then call [`handle_read`](Self::handle_read).
    ///
    /// Its spare capacity adapts to the traffic: 128 bytes at first (and after
    /// [`release_buffers`](Self::release_buffers)), doubling each time a read fills what it
    /// was offered, up to 64 KiB — more while a large frame is expected. A connection that
    /// exchanges a few small messages holds a small buffer; a busy one reads big batches.
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        let expected = self.frame_left().min(MAX_READ_SPACE);
        let want = expected
            .saturating_sub(self.read.len())
            .max(self.read_space as usize);
        if self.read.capacity() - self.read.len() < want {
            self.read.reserve(want);
        }
        self.read_len_before = u32::try_from(self.read.len()).unwrap_or(u32::MAX);
        &mut self.read
    }

    /// At most how many bytes the next read into [`read_buffer`](Self::read_buffer) should
    /// append: the rest of the current frame when that frame is large (64 KiB or more) and
    /// not all here yet, otherwise `usize::MAX` (no limit).
    ///
    /// Why: a large message is handed out by reference to the read buffer. If the read that
    /// completes it also brought the start of the next message, those bytes sit in memory the
    /// delivered message still shares, and growing the buffer for the next large frame has to
    /// copy them out (measured: 15% of the CPU of a 1 MiB echo). Stopping the read at the
    /// frame's end makes the next frame start in fresh memory, for one extra read per large
    /// frame. Small frames are never limited, so pipelined small messages still arrive many
    /// per read.
    #[must_use]
    pub fn read_limit(&self) -> usize {
        let left = self.frame_left();
        let data_frame = self.frame.is_some_and(|f| !f.opcode.is_control());
        if data_frame && left >= LARGE_FRAME && left > self.read.len() {
            left - self.read.len()
        } else {
            usize::MAX
        }
    }

    /// Payload bytes of the current frame not yet taken out of the read buffer (some may be
    /// in it already); 0 between frames.
    fn frame_left(&self) -> usize {
        self.frame.map_or(0, |f| {
            usize::try_from(f.len - f.taken).unwrap_or(usize::MAX)
        })
    }

    /// Reads from a transport straight into the engine's buffer, for transports that need an
    /// initialised `&mut [u8]` (such as `std::io::Read`): `read` gets zeroed spare space (at
    /// most 64 KiB, and at most [`read_limit`](Self::read_limit)), returns how many bytes it
    /// wrote, and `0` means the end of the stream.
    /// The byte count or `read`'s error is passed through; then call
    /// [`poll_event`](Self::poll_event).
    pub fn fill_read_buffer<E>(
        &mut self,
        now: Instant,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let limit = self.read_limit();
        let buf = self.read_buffer();
        let start = buf.len();
        let space = (buf.capacity() - start).min(MAX_ZEROED_READ).min(limit);
        buf.resize(start + space, 0);
        let result = read(&mut buf[start..]);
        let n = *result.as_ref().unwrap_or(&0);
        buf.truncate(start + n.min(space));
        match result {
            Ok(0) => self.handle_eof(now),
            Ok(_) => self.handle_read(now),
            Err(_) => {}
        }
        result
    }

    /// Notes that bytes were appended to [`read_buffer`](Self::read_buffer) at `now`.
    pub fn handle_read(&mut self, now: Instant) {
        let added = self
            .read
            .len()
            .saturating_sub(self.read_len_before as usize);
        if added >= self.read_space as usize && (self.read_space as usize) < MAX_GROWN_READ_SPACE {
            self.read_space *= 2;
        }
        if self.error.is_some() || self.close_received.is_some() {
            self.read.clear();
        }
        self.note_input(now);
    }

    /// Notes that the peer closed its sending side; buffered events are still delivered, then
    /// a connection that had not received a Close fails with
    /// [`ConnectionLost::UnexpectedEof`](crate::ConnectionLost::UnexpectedEof) (close code 1006).
    pub fn handle_eof(&mut self, now: Instant) {
        self.eof = true;
        self.note_input(now);
    }

    fn note_input(&mut self, now: Instant) {
        self.last_input = now;
        self.keepalive_deadline = None;
        if self.config.get_half_close()
            && let Some(deadline) = self.close_deadline.as_mut()
        {
            // Half-closing: the peer may send for as long as it keeps sending; the close
            // timeout counts its silence.
            *deadline = now + self.config.get_close_timeout();
        }
    }

    /// The next event, `Ok(None)` when more input is needed, or the error that failed the
    /// connection (returned again on every later call).
    ///
    /// Call it until it returns `Ok(None)` or an error after every input; then write out the
    /// transmit queue, which may now hold pongs, a Close echo or the Close for an error.
    pub fn poll_event(&mut self) -> Result<Option<Event>, ConnectionError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.take_whole_frame() {
            Ok(Some(message)) => return Ok(Some(Event::Message(message))),
            Ok(None) => {}
            Err(error) => {
                self.fail(error);
                return Err(error.into());
            }
        }
        loop {
            if self.close_received.is_some() {
                return Ok(None);
            }
            match self.step() {
                Ok(Step::Event(event)) => return Ok(Some(event)),
                Ok(Step::Continue) => {}
                Ok(Step::NeedInput) if self.eof => {
                    self.fail(ConnectionLost::UnexpectedEof);
                    return Err(ConnectionLost::UnexpectedEof.into());
                }
                Ok(Step::NeedInput) => return Ok(None),
                Err(error) => {
                    self.fail(error);
                    return Err(error.into());
                }
            }
        }
    }

    /// The hot path, tried before the general decoder: an unfragmented, uncompressed data
    /// frame of at most 64 KiB (7- or 16-bit length), masked as the role requires, whose
    /// whole payload is in the read buffer, between messages, delivered whole. It is
    /// unmasked, validated and handed out in one step. Anything else — control frames,
    /// fragments, RSV bits, 64-bit lengths, a non-minimal 16-bit length, a frame over a
    /// limit, an incomplete frame — returns `Ok(None)` and goes through [`step`](Self::step),
    /// which makes every check and reports every error; this path can only fail on invalid
    /// UTF-8, exactly where the general path would.
    ///
    /// Measured with callgrind on a 16-byte echo: the general path costs ~300 instructions
    /// per message; most of it is the per-frame bookkeeping this skips.
    fn take_whole_frame(&mut self) -> Result<Option<Message>, ProtocolError> {
        let buf = &self.read[..];
        let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
            return Ok(None);
        };
        // FIN, no RSV bits, text or binary; the mask bit set exactly when we are the server.
        let masked = b1 & 0x80 != 0;
        if (b0 != 0x81 && b0 != 0x82)
            || masked != self.masking.is_server()
            || self.frame.is_some()
            || self.incoming.kind.is_some()
            || self.close_received.is_some()
            || self.config.get_delivery() != Delivery::Whole
        {
            return Ok(None);
        }
        let (len, len_bytes) = match b1 & 0x7F {
            126 => match buf.get(2..4) {
                Some(&[hi, lo]) => (usize::from(u16::from_be_bytes([hi, lo])), 2),
                _ => return Ok(None),
            },
            127 => return Ok(None),
            len7 => (usize::from(len7), 0),
        };
        let mask_at = 2 + len_bytes;
        let header_len = mask_at + if masked { 4 } else { 0 };
        let limits = &self.limits;
        if (len_bytes == 2 && len < 126)
            || buf.len() < header_len + len
            || len > limits.get_max_frame_size()
            || len > limits.get_max_message_size()
            || limits.get_max_fragments() == 0
        {
            return Ok(None);
        }
        let key = match buf.get(mask_at..mask_at + 4) {
            Some(&[k0, k1, k2, k3]) if masked => Some([k0, k1, k2, k3]),
            _ => None,
        };
        let payload = &mut self.read[header_len..header_len + len];
        if let Some(key) = key {
            apply_mask(payload, key, 0);
        }
        let kind = if b0 == 0x81 {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        if kind == MessageKind::Text && core::str::from_utf8(payload).is_err() {
            return Err(ProtocolError::InvalidUtf8);
        }
        self.read.advance(header_len);
        let payload = self.read.split_to(len).freeze();
        Ok(Some(message_of(Some(kind), payload)))
    }

    fn step(&mut self) -> Result<Step, ProtocolError> {
        match self.frame {
            None => self.read_header(),
            Some(frame) if frame.opcode.is_control() => self.read_control(frame),
            Some(frame) => self.read_data(frame),
        }
    }

    /// Decodes and checks the next frame header.
    fn read_header(&mut self) -> Result<Step, ProtocolError> {
        let (Some(&b0), Some(&b1)) = (self.read.first(), self.read.get(1)) else {
            return Ok(Step::NeedInput);
        };
        let allowed_rsv = self
            .extension
            .as_ref()
            .map_or(0, |slot| slot.extension.rsv_bits() & RSV_MASK);
        let start = decode_start(b0, b1, allowed_rsv)?;
        let in_message = self.incoming.kind.is_some();
        // Extension bits belong on the first frame of a data message only (RFC 7692 §6).
        if start.rsv != 0 && (start.opcode == OpCode::Continuation || start.opcode.is_control()) {
            return Err(ProtocolError::ReservedBits(start.rsv >> 4));
        }
        match start.opcode {
            OpCode::Continuation if !in_message => {
                return Err(ProtocolError::UnexpectedContinuation);
            }
            OpCode::Text | OpCode::Binary if in_message => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            _ => {}
        }
        match (self.masking.role(), start.masked) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let Some((header, header_len)) = decode_rest(start, &self.read)? else {
            return Ok(Step::NeedInput);
        };
        if !header.opcode.is_control() {
            self.check_data_limits(header.opcode, header.rsv, header.payload_len)?;
        }
        self.read.advance(header_len);
        self.frame = Some(FrameState {
            opcode: header.opcode,
            fin: header.fin,
            mask: header.mask,
            len: header.payload_len,
            taken: 0,
            ready: 0,
        });
        Ok(Step::Continue)
    }

    /// Checks a data frame against the limits and starts a message on its first frame.
    fn check_data_limits(
        &mut self,
        opcode: OpCode,
        rsv: u8,
        len: u64,
    ) -> Result<(), ProtocolError> {
        let limits = &self.limits;
        let frame_limit = limits.get_max_frame_size();
        if len > frame_limit as u64 {
            return Err(ProtocolError::FrameTooLarge {
                len,
                limit: frame_limit,
            });
        }
        let message_limit = limits.get_max_message_size();
        let len = len as usize; // fits: at most the frame limit
        if self.incoming.size.saturating_add(len) > message_limit {
            return Err(ProtocolError::MessageTooLarge {
                limit: message_limit,
            });
        }
        let fragment_limit = limits.get_max_fragments();
        if self.incoming.fragments >= fragment_limit {
            return Err(ProtocolError::TooManyFragments {
                limit: fragment_limit,
            });
        }
        match opcode {
            OpCode::Text => self.incoming.kind = Some(MessageKind::Text),
            OpCode::Binary => self.incoming.kind = Some(MessageKind::Binary),
            _ => {}
        }
        if matches!(opcode, OpCode::Text | OpCode::Binary) {
            self.incoming.compressed = rsv != 0;
        }
        self.incoming.fragments += 1;
        self.incoming.size += len;
        Ok(())
    }

    /// Handles a control frame once its whole payload (≤ 125 bytes) has arrived.
    fn read_control(&mut self, frame: FrameState) -> Result<Step, ProtocolError> {
        let len = frame.len as usize; // ≤ 125, checked by decode_start
        if self.read.len() < len {
            return Ok(Step::NeedInput);
        }
        let mut payload = self.read.split_to(len);
        if let Some(key) = frame.mask {
            apply_mask(&mut payload, key, 0);
        }
        self.frame = None;
        let payload = payload.freeze();
        let event = match frame.opcode {
            OpCode::Ping => {
                if self.config.get_auto_pong() && self.close_sent.is_none() {
                    let full = self.is_write_buffer_full();
                    let before = self.transmit.len();
                    // Cannot fail: nothing was closed and the payload is at most 125 bytes.
                    let _ = self.pong(&payload);
                    self.note_reply(self.transmit.len() - before, full);
                }
                Event::Ping(payload)
            }
            OpCode::Pong => {
                let hash = payload_hash(&payload);
                let rtt = match self.last_ping {
                    Some(ping) if ping.payload_hash == hash => {
                        self.last_ping = None;
                        let rtt = self.last_input.saturating_since(ping.sent_at);
                        self.last_rtt = Some(rtt);
                        Some(rtt)
                    }
                    _ => None,
                };
                Event::Pong { payload, rtt }
            }
            _ => {
                let close = CloseFrame::parse(&payload)?;
                crate::trace::trace_event!(
                    debug,
                    role = ?self.masking.role(),
                    code = close.code().as_u16(),
                    reason = close.reason(),
                    "close received"
                );
                self.close_received = Some(alloc::boxed::Box::new(close.clone()));
                self.read = BytesMut::new();
                self.incoming = Default::default();
                if self.close_sent.is_none() && self.config.get_half_close() {
                    // Half-closed: the application sends the answer with `close` when its own
                    // sending is done.
                } else if self.close_sent.is_none() {
                    // Echo the peer's code (RFC 6455 §5.5.1), or an empty Close if it sent none.
                    let code = close.code();
                    let echo = if code == CloseCode::NO_STATUS {
                        CloseCode::NO_STATUS
                    } else {
                        code
                    };
                    self.queue_close(CloseFrame::new(echo, ""));
                } else {
                    self.closed = true;
                    self.close_deadline = None;
                }
                Event::Close(close)
            }
        };
        Ok(Step::Event(event))
    }

    /// Takes in newly arrived payload bytes of a data frame and emits what is complete.
    fn read_data(&mut self, mut frame: FrameState) -> Result<Step, ProtocolError> {
        let left = frame.len - frame.taken;
        let present = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(self.read.len());
        if present > frame.ready {
            let fresh = &mut self.read[frame.ready..present];
            if let Some(key) = frame.mask {
                apply_mask(
                    fresh,
                    key,
                    ((frame.taken + frame.ready as u64) % 4) as usize,
                );
            }
            if !self.incoming.compressed && self.incoming.kind == Some(MessageKind::Text) {
                self.incoming
                    .utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            frame.ready = present;
        }
        let frame_done = frame.taken + frame.ready as u64 == frame.len;
        let message_done = frame_done && frame.fin;
        let step = if self.incoming.compressed {
            self.take_compressed(&mut frame, message_done)?
        } else {
            match self.config.get_delivery() {
                Delivery::Whole => self.take_whole(&mut frame, frame_done, message_done)?,
                Delivery::Streaming => self.take_streaming(&mut frame, frame_done, message_done)?,
            }
        };
        self.frame = if frame_done && frame.ready == 0 {
            None
        } else {
            Some(frame)
        };
        if frame_done && frame.ready == 0 && message_done {
            self.end_message();
        }
        Ok(step)
    }

    /// Whole-message delivery of an uncompressed message.
    fn take_whole(
        &mut self,
        frame: &mut FrameState,
        frame_done: bool,
        message_done: bool,
    ) -> Result<Step, ProtocolError> {
        let single_frame = self.incoming.fragments == 1 && frame.fin;
        if single_frame {
            // Keep the payload in the read buffer until it is complete, then hand it out as is.
            if !frame_done {
                return Ok(Step::NeedInput);
            }
            let payload = self.read.split_to(frame.ready).freeze();
            frame.taken += frame.ready as u64;
            frame.ready = 0;
            self.finish_utf8()?;
            return Ok(Step::Event(Event::Message(self.message(payload))));
        }
        if frame.ready > 0 {
            self.incoming
                .assembled
                .extend_from_slice(&self.read[..frame.ready]);
            self.read.advance(frame.ready);
            frame.taken += frame.ready as u64;
            frame.ready = 0;
        }
        if message_done {
            self.finish_utf8()?;
            let payload = self.incoming.assembled.split().freeze();
            return Ok(Step::Event(Event::Message(self.message(payload))));
        }
        Ok(if frame_done {
            Step::Continue
        } else {
            Step::NeedInput
        })
    }

    /// Streaming delivery of an uncompressed message: hand out whatever arrived.
    fn take_streaming(
        &mut self,
        frame: &mut FrameState,
        frame_done: bool,
        message_done: bool,
    ) -> Result<Step, ProtocolError> {
        if frame.ready == 0 && !frame_done {
            return Ok(Step::NeedInput);
        }
        let data = self.read.split_to(frame.ready).freeze();
        frame.taken += frame.ready as u64;
        frame.ready = 0;
        if message_done {
            self.finish_utf8()?;
        } else if data.is_empty() {
            return Ok(Step::Continue);
        }
        let kind = self.incoming.kind.unwrap_or(MessageKind::Binary);
        Ok(Step::Event(Event::Fragment {
            kind,
            data,
            fin: message_done,
        }))
    }

    /// A message whose first frame carried the extension's RSV bits: the extension decodes
    /// the payload, bounded by what is left of the message limit.
    fn take_compressed(
        &mut self,
        frame: &mut FrameState,
        message_done: bool,
    ) -> Result<Step, ProtocolError> {
        let frame_done = frame.taken + frame.ready as u64 == frame.len;
        if frame.ready == 0 && !frame_done {
            return Ok(Step::NeedInput);
        }
        let Some(extension) = self.extension.as_mut().map(|slot| &mut slot.extension) else {
            return Err(ProtocolError::ReservedBits(4));
        };
        let limit = self.limits.get_max_message_size();
        let budget = limit.saturating_sub(self.incoming.decoded);
        let out = &mut self.incoming.assembled;
        let before = out.len();
        extension
            .decode(&self.read[..frame.ready], message_done, out, budget)
            .map_err(|e| match e {
                ExtensionError::TooLarge => ProtocolError::MessageTooLarge { limit },
                ExtensionError::Invalid(why) => ProtocolError::Extension(why),
            })?;
        self.read.advance(frame.ready);
        frame.taken += frame.ready as u64;
        frame.ready = 0;
        let produced = out.len() - before;
        self.incoming.decoded += produced;
        if self.incoming.kind == Some(MessageKind::Text) {
            self.incoming
                .utf8
                .feed(&out[before..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if message_done {
            self.finish_utf8()?;
        }
        let kind = self.incoming.kind.unwrap_or(MessageKind::Binary);
        match self.config.get_delivery() {
            Delivery::Whole if message_done => {
                let payload = self.incoming.assembled.split().freeze();
                Ok(Step::Event(Event::Message(self.message(payload))))
            }
            Delivery::Streaming if produced > 0 || message_done => {
                let data = self.incoming.assembled.split().freeze();
                Ok(Step::Event(Event::Fragment {
                    kind,
                    data,
                    fin: message_done,
                }))
            }
            _ => Ok(Step::Continue),
        }
    }

    fn finish_utf8(&mut self) -> Result<(), ProtocolError> {
        if self.incoming.kind == Some(MessageKind::Text) {
            self.incoming
                .utf8
                .finish()
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    fn message(&self, payload: bytes::Bytes) -> Message {
        message_of(self.incoming.kind, payload)
    }

    /// Resets the per-message state, keeping the reassembly buffer's memory for the next one.
    fn end_message(&mut self) {
        self.incoming.kind = None;
        self.incoming.compressed = false;
        self.incoming.fragments = 0;
        self.incoming.size = 0;
        self.incoming.decoded = 0;
    }
}

/// A validated payload as the message of its kind (binary when the kind is unknown).
fn message_of(kind: Option<MessageKind>, payload: bytes::Bytes) -> Message {
    match kind {
        Some(MessageKind::Text) => Message::Text(Utf8Bytes::from_validated(payload)),
        _ => Message::Binary(payload),
    }
}
