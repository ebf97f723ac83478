//! [`Checked`]: a [`Connection`] under check. Every input, command and timer goes through it
//! and is followed by the calling-contract checks listed in the crate docs (sticky errors and
//! their close codes, states only moving forward, the write-buffer bound, read-buffer bounds,
//! the deadline contract); everything the connection writes goes through a [`WireChecker`].

use std::collections::VecDeque;

use wsproto_core::{
    CloseCode, Connection, ConnectionError, Delivery, Event, Instant, MAX_REASON_LEN, MessageKind,
    SendError, State,
};

use crate::ops::Command;
use crate::wire::{Msg, WireChecker, control_len, describe, encoded_len};

/// Largest control frame on the wire: 14 header bytes and 125 payload bytes.
const CONTROL_MAX: usize = 14 + 125;

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
    error: Option<ConnectionError>,
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
    pub fn error(&self) -> Option<ConnectionError> {
        self.error
    }

    /// From now on, checks that every message received is the next one recorded with
    /// [`expect_inbound`](Self::expect_inbound): the messages a peer engine accepted to send
    /// us, in order (round trip).
    pub fn track_inbound(&mut self) {
        self.inbound = Some(VecDeque::new());
    }

    /// Records that the peer engine accepted to send `msg`: it must be the next message
    /// received. Panics unless [`track_inbound`](Self::track_inbound) was called.
    pub fn expect_inbound(&mut self, msg: Msg) {
        self.inbound
            .as_mut()
            .expect("round trip tracks inbound messages")
            .push_back(msg);
    }

    /// How many messages recorded with [`expect_inbound`](Self::expect_inbound) have not
    /// arrived yet.
    pub fn inbound_left(&self) -> usize {
        self.inbound.as_ref().map_or(0, VecDeque::len)
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

    fn failed(&mut self, e: ConnectionError) {
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
        // A violation sends its Close; a lost connection (end of input, keepalive) none.
        let sends_close = matches!(e, ConnectionError::Protocol(_));
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
                let answered = self.conn.close_sent().map(|c| c.code());
                if self.close_sent.is_none() {
                    // Answered at once, unless the connection half-closes.
                    let half = self.conn.config().get_half_close();
                    assert_eq!(answered.is_none(), half, "Close answered: {answered:?}");
                    if let Some(echo) = answered {
                        assert_eq!(echo, code, "the echo repeats the peer's code");
                    }
                }
                self.close_sent = answered;
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
        assert_eq!(self.conn.is_half_closed(), self.half_closed());
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

    /// Whether the peer's Close arrived and, on a half-closing connection, is not answered
    /// yet: data and our Close may still be sent, pings and pongs not.
    fn half_closed(&self) -> bool {
        self.conn.config().get_half_close()
            && self.close_event
            && self.close_sent.is_none()
            && self.error.is_none()
    }

    /// Why a command is refused now, if it is; `data_or_close` for everything but pings and
    /// pongs.
    fn refusal(&self, data_or_close: bool) -> Vec<SendError> {
        if data_or_close && self.half_closed() {
            return Vec::new();
        }
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
        let is_ping = matches!(command, Command::Ping(_));
        let is_control = is_ping || matches!(command, Command::Pong(_));
        let answering = self.half_closed();
        let mut applicable = self.refusal(!is_control);
        let full = self.conn.is_write_buffer_full();
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
                if answering {
                    // The answer to the peer's Close: the handshake is complete.
                    assert_eq!(self.conn.state(), State::Closed);
                    assert_eq!(self.conn.poll_timeout(), None);
                } else {
                    assert_eq!(self.conn.state(), State::Closing);
                    let deadline = now + self.conn.config().get_close_timeout();
                    assert!(self.conn.poll_timeout().is_some_and(|t| t <= deadline));
                }
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
