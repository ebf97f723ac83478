//! Commands: everything the application asks the connection to send. Each only queues frames
//! in the transmit buffer; nothing here can fail the connection.
//!
//! Data messages are split into frames of at most [`Config::outgoing_frame_size`] bytes,
//! masked in the client role with a fresh key per frame (RFC 6455 §5.3). A payload the caller
//! owns as `Bytes` that needs no masking is queued by reference instead of copied.

use bytes::Bytes;

use super::{Connection, Fragmenting, PingRecord, payload_hash};
use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
use crate::error::SendError;
use crate::event::{Message, MessageKind};
use crate::frame::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, encode_header};
use crate::transmit::ZERO_COPY_THRESHOLD;
use crate::utf8::Utf8Validator;

impl Connection {
    /// Queues a text message.
    ///
    /// Fails without queuing anything if a Close was sent or received, a fragmented send is
    /// unfinished, or the write buffer is at its high-water mark.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(MessageKind::Text, text.as_bytes(), None, true)
    }

    /// Queues a binary message; see [`send_text`](Self::send_text) for the failure cases.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_data(MessageKind::Binary, data, None, true)
    }

    /// Queues a message the caller already owns; in the server role a large payload is queued
    /// by reference rather than copied.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        let kind = message.kind();
        let payload = message.into_payload();
        self.send_data(kind, &payload, Some(&payload), true)
    }

    /// Like [`send`](Self::send), but never through the negotiated extension: the message goes
    /// out uncompressed even on a permessage-deflate connection (RFC 7692 allows it per
    /// message). For payloads known not to compress (already-compressed media, random
    /// tokens), this saves the CPU of trying.
    pub fn send_uncompressed(&mut self, message: Message) -> Result<(), SendError> {
        let kind = message.kind();
        let payload = message.into_payload();
        self.send_data(kind, &payload, Some(&payload), false)
    }

    /// Queues one piece of a message the caller fragments itself (Qt's
    /// `sendTextMessage` with `isLastFrame`): the first piece fixes `kind`, later pieces are
    /// continuations whatever `kind` says, and the piece with `fin` ends the message. Control
    /// frames may be sent between pieces. Pieces are not compressed.
    ///
    /// Text is validated across the pieces before anything is queued: a piece may end inside
    /// a character (the next one completes it), but bytes that can never be UTF-8, or a last
    /// piece that leaves a character unfinished, are refused with
    /// [`SendError::InvalidUtf8`] and nothing of that piece is sent (the message stays open
    /// for a corrected piece).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_data_allowed()?;
        self.check_room()?;
        let (opcode, state) = match self.sending_fragmented {
            Some(state) => (OpCode::Continuation, state),
            None if kind == MessageKind::Text => {
                (opcode_of(kind), Fragmenting::Text(Utf8Validator::default()))
            }
            None => (opcode_of(kind), Fragmenting::Binary),
        };
        let state = match state {
            Fragmenting::Text(mut utf8) => {
                utf8.feed(data).map_err(|_| SendError::InvalidUtf8)?;
                if fin {
                    utf8.finish().map_err(|_| SendError::InvalidUtf8)?;
                }
                Fragmenting::Text(utf8)
            }
            binary => binary,
        };
        self.queue_data_frames(opcode, 0, data, None, fin);
        self.sending_fragmented = (!fin).then_some(state);
        Ok(())
    }

    /// Queues a ping with `payload` (at most 125 bytes) and remembers `now`, so the pong that
    /// echoes it reports the round-trip time.
    pub fn ping(&mut self, payload: &[u8], now: super::Instant) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.queue_frame(true, 0, OpCode::Ping, payload, None);
        self.last_ping = Some(PingRecord {
            sent_at: now,
            payload_hash: payload_hash(payload),
        });
        Ok(())
    }

    /// Queues an unsolicited pong (a one-way heartbeat), or answers a ping by hand when
    /// auto-pong is off. At most 125 bytes.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.queue_frame(true, 0, OpCode::Pong, payload, None);
        Ok(())
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2): queues a Close with `code` and `reason`
    /// (at most 123 bytes) and waits up to [`Config::close_timeout`](crate::Config::close_timeout) for the peer's Close.
    ///
    /// Everything queued before stays ahead of the Close; nothing but the transmit queue's
    /// draining happens afterwards. If the peer already closed, this is refused (the echo was
    /// sent automatically), except on a half-closed connection
    /// ([`Config::half_close`](crate::Config::half_close)), where this sends the answer and the
    /// connection is closed once it is written.
    pub fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
        now: super::Instant,
    ) -> Result<(), SendError> {
        self.check_data_allowed()?;
        if !code.is_sendable() {
            return Err(SendError::UnsendableCloseCode(code));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(SendError::ReasonTooLong);
        }
        self.queue_close(CloseFrame::new(code, reason));
        if !self.closed {
            self.close_deadline = Some(now + self.config.get_close_timeout());
        }
        Ok(())
    }

    /// Refuses data (and our Close) once closing or closed, except while a half-closed
    /// connection ([`Config::half_close`](crate::Config::half_close)) has not answered the
    /// peer's Close yet.
    fn check_data_allowed(&self) -> Result<(), SendError> {
        if self.is_half_closed() {
            Ok(())
        } else {
            self.check_open()
        }
    }

    /// Whether the peer's Close arrived and is not answered yet, on a half-closing connection
    /// ([`Config::half_close`](crate::Config::half_close)): the peer sends nothing more, and
    /// we may still send data until [`close`](Self::close) answers. Adapters stop waiting for
    /// events then (there will be none) and leave the connection to the application.
    #[must_use]
    pub fn is_half_closed(&self) -> bool {
        self.close_received.is_some() && self.close_sent.is_none() && self.error.is_none()
    }

    /// Refuses commands once closing or closed.
    fn check_open(&self) -> Result<(), SendError> {
        if self.closed {
            Err(SendError::Closed)
        } else if self.close_sent.is_some() || self.close_received.is_some() {
            Err(SendError::Closing)
        } else {
            Ok(())
        }
    }

    /// Refuses data once the write buffer reaches its high-water mark.
    fn check_room(&mut self) -> Result<(), SendError> {
        if self.is_write_buffer_full() {
            #[cfg(feature = "tracing")]
            if !core::mem::replace(&mut self.backpressured, true) {
                tracing::debug!(
                    target: "wsproto",
                    role = ?self.masking.role(),
                    queued = self.transmit.len(),
                    high_water = self.limits.get_write_high_water(),
                    "back-pressure engaged: sends refused until the write buffer drains"
                );
            }
            Err(SendError::WriteBufferFull)
        } else {
            Ok(())
        }
    }

    fn send_data(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        owned: Option<&Bytes>,
        transform: bool,
    ) -> Result<(), SendError> {
        self.check_data_allowed()?;
        if self.sending_fragmented.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        self.check_room()?;
        if let Some(slot) = self.extension.as_mut().filter(|_| transform) {
            slot.scratch.clear();
            if let Ok(Some(rsv)) = slot.extension.encode(kind, payload, &mut slot.scratch) {
                let encoded = slot.scratch.split().freeze();
                self.queue_data_frames(opcode_of(kind), rsv, &encoded, Some(&encoded), true);
                return Ok(());
            }
        }
        let one_copied_frame = payload.len() < ZERO_COPY_THRESHOLD
            && payload.len() <= self.config.get_outgoing_frame_size().get();
        if one_copied_frame && self.masking.is_server() {
            // The common case, kept lean: one unmasked frame, copied, without the fragmenting
            // and by-reference machinery (callgrind: ~170 -> ~70 instructions for 16 bytes).
            let mut header = [0; MAX_HEADER_LEN];
            let header_len =
                encode_header(&mut header, true, 0, opcode_of(kind), None, payload.len());
            self.transmit.push_frame(&header, header_len, payload, None);
            return Ok(());
        }
        self.queue_data_frames(opcode_of(kind), 0, payload, owned, true);
        Ok(())
    }

    /// Queues `payload` as frames of at most the outgoing frame size; `rsv` goes on the first
    /// frame only, `fin` on the last.
    // Inlined into the send path: each call level costs ~20 instructions of a small-message
    // send (callgrind).
    #[inline(always)]
    fn queue_data_frames(
        &mut self,
        opcode: OpCode,
        rsv: u8,
        payload: &[u8],
        owned: Option<&Bytes>,
        fin: bool,
    ) {
        let max = self.config.get_outgoing_frame_size().get();
        let mut opcode = opcode;
        let mut rsv = rsv;
        let mut start = 0;
        loop {
            let end = payload.len().min(start + max);
            let last = end == payload.len();
            // Only a piece that will be queued by reference is sliced (a refcount increment);
            // smaller or masked pieces are copied, so they skip the atomic round trip.
            let piece = owned
                .filter(|_| self.masking.is_server() && end - start >= ZERO_COPY_THRESHOLD)
                .map(|bytes| bytes.slice(start..end));
            self.queue_frame(fin && last, rsv, opcode, &payload[start..end], piece);
            if last {
                break;
            }
            start = end;
            opcode = OpCode::Continuation;
            rsv = 0;
        }
    }

    /// Queues one frame, masking it in the client role.
    #[inline(always)]
    fn queue_frame(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: OpCode,
        payload: &[u8],
        owned: Option<Bytes>,
    ) {
        let mask = self.masking.next_key();
        let mut header = [0; MAX_HEADER_LEN];
        let header_len = encode_header(&mut header, fin, rsv, opcode, mask, payload.len());
        match owned {
            Some(bytes) if mask.is_none() && bytes.len() >= ZERO_COPY_THRESHOLD => {
                self.transmit.push_frame(&header, header_len, &[], None);
                self.transmit.push_bytes(bytes);
            }
            _ => self.transmit.push_frame(&header, header_len, payload, mask),
        }
    }

    /// Queues a Close frame and records it as sent; completes the handshake if the peer's
    /// Close already arrived.
    pub(super) fn queue_close(&mut self, frame: CloseFrame) {
        let mut payload = [0; 2 + MAX_REASON_LEN];
        let len = if frame.code() == CloseCode::NO_STATUS {
            0
        } else {
            let reason = frame.reason().as_bytes();
            let reason = &reason[..reason.len().min(MAX_REASON_LEN)];
            payload[..2].copy_from_slice(&frame.code().as_u16().to_be_bytes());
            payload[2..2 + reason.len()].copy_from_slice(reason);
            2 + reason.len()
        };
        self.queue_frame(true, 0, OpCode::Close, &payload[..len], None);
        crate::trace::trace_event!(
            debug,
            role = ?self.masking.role(),
            code = frame.code().as_u16(),
            reason = frame.reason(),
            "close sent"
        );
        self.close_sent = Some(alloc::boxed::Box::new(frame));
        if self.close_received.is_some() {
            self.closed = true;
            self.close_deadline = None;
        }
    }
}

fn opcode_of(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
