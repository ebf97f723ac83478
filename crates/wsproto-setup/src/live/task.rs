//! The rules of a live connection's background task, written once for the async and the
//! blocking drivers, which only move bytes and time: which queued command may go into the
//! engine now, when the last handle's departure closes with 1000, how engine events become
//! [`LiveEvent`]s, who closed first, how the connection's end reads ([`End`]), and what a
//! reconnecting client does next ([`RetrySchedule::next`]).

use std::collections::VecDeque;
use std::task::Waker;
use std::time::Duration;

use wsproto_core::reconnect::{Decision, Ending};
use wsproto_core::{CloseCode, CloseFrame, Connection, Event, Instant, SendError, State};

use super::shared::{Command, Shared, SharedState};
use super::{Closed, ClosedBy, LiveEvent, LiveState, RetrySchedule};
use crate::{ConnectionLost, Error, HandshakeInfo};

/// How one connection (or one attempt to open one) ended: what the application is told and
/// what the reconnect schedule is told.
#[derive(Debug)]
pub struct End {
    /// How it reads to the application.
    pub closed: Closed,
    /// How it counts for reconnecting.
    pub ending: Ending,
}

/// A background task's bookkeeping for one open connection, worked in rounds: [`begin`]
/// takes every queued command and notes the receiver's room (one lock), the driver hands
/// commands to the engine ([`next_command`], [`apply`]) and engine events to
/// [`on_event`] without locking, and [`finish_round`] publishes the batch and the status
/// (one lock) and says whether to go again or wait.
///
/// [`begin`]: Self::begin
/// [`next_command`]: Self::next_command
/// [`apply`]: Self::apply
/// [`on_event`]: Self::on_event
/// [`finish_round`]: Self::finish_round
#[derive(Debug, Default)]
pub struct Tracker {
    /// Who sent the first Close, once one was sent or received.
    by: Option<ClosedBy>,
    /// The error that ended the connection (boxed: every connection carries this field, few
    /// ever fill it).
    error: Option<Box<Error>>,
    /// The peer's Close arrived on a half-closing connection: the engine has no events until
    /// we answer it.
    parked: bool,
    closing_reported: bool,
    /// Commands taken from the shared queue, not yet handed to the engine.
    pending: VecDeque<Command>,
    pending_bytes: usize,
    /// Events taken from the engine this round.
    batch: Vec<LiveEvent>,
    /// How many more events this round may take.
    room: usize,
    /// Live handles when the round began.
    handles: usize,
    rtt: Option<Duration>,
}

impl Tracker {
    /// Bookkeeping for a connection that just opened.
    #[must_use]
    pub fn new() -> Self {
        Self {
            handles: 1,
            ..Self::default()
        }
    }

    /// Whether data may still go out on `conn`: no Close sent, and none received (unless the
    /// connection half-closes).
    #[must_use]
    pub fn may_send(conn: &Connection) -> bool {
        conn.close_sent().is_none() && (conn.state() == State::Open || conn.is_half_closed())
    }

    /// Starts a round: takes every queued command, notes the receiver's room and the live
    /// handles.
    pub fn begin(&mut self, shared: &Shared) {
        let mut state = shared.lock();
        self.pending_bytes += state.take_commands(&mut self.pending);
        self.room = state.event_room();
        self.handles = state.handles();
    }

    /// Whether the next command may go into the engine now. Once a Close was sent or
    /// received, messages stay queued: a reconnecting client sends them on its next
    /// connection; otherwise `flush` reports them unsent.
    #[must_use]
    pub fn command_ready(&self, conn: &Connection) -> bool {
        match self.pending.front() {
            Some(Command::Close(..)) => true,
            Some(_) => Self::may_send(conn),
            None => false,
        }
    }

    /// The next command, if it may go into the engine now (the driver first makes room in
    /// the engine's write buffer).
    pub fn next_command(&mut self, conn: &Connection) -> Option<Command> {
        if !self.command_ready(conn) {
            return None;
        }
        let command = self.pending.pop_front()?;
        self.pending_bytes -= command.payload_len();
        if self.pending.is_empty() {
            // Freed once drained, so an idle connection holds no command buffer.
            self.pending = VecDeque::new();
        }
        Some(command)
    }

    /// Hands one command to the engine (`now` is read only for the commands that need the
    /// time). A command the engine refuses (the peer closed in between) is dropped: the
    /// state events say why.
    pub fn apply(
        &mut self,
        conn: &mut Connection,
        now: impl FnOnce() -> Instant,
        command: Command,
    ) {
        let _refused = match command {
            Command::Message(message) => conn.send(message),
            Command::Fragment { kind, data, fin } => conn.send_fragment(kind, &data, fin),
            Command::Ping(payload) => conn.ping(&payload, now()),
            Command::Pong(payload) => conn.pong(&payload),
            Command::Close(code, reason) => self.start_close(conn, now(), code, &reason),
        };
    }

    fn start_close(
        &mut self,
        conn: &mut Connection,
        now: Instant,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        if !Self::may_send(conn) {
            return Ok(());
        }
        self.by.get_or_insert(ClosedBy::Local);
        self.parked = false;
        conn.close(code, reason, now)
    }

    /// Every handle was gone when the round began and everything queued was handed over:
    /// closes with 1000. Returns whether it did.
    pub fn close_if_abandoned(
        &mut self,
        conn: &mut Connection,
        now: impl FnOnce() -> Instant,
    ) -> bool {
        if self.handles > 0 || !self.pending.is_empty() || !Self::may_send(conn) {
            return false;
        }
        let _ = self.start_close(conn, now(), CloseCode::NORMAL, "");
        true
    }

    /// Keeps the first error that ends the connection.
    pub fn fail(&mut self, error: Error) {
        self.error.get_or_insert_with(|| Box::new(error));
    }

    /// Whether the driver should take another event from the engine this round: the
    /// receiver has room, and the engine is not waiting for our answer to a half-close.
    #[must_use]
    pub fn wants_event(&self) -> bool {
        !self.parked && self.room > 0
    }

    /// The engine had no more events because the peer closed a half-closing connection: we
    /// answer once our sending is done (a close command, or every handle dropped).
    pub fn park(&mut self) {
        self.parked = true;
    }

    /// Takes one engine event into this round's batch. `sent_first` says whether our Close
    /// had gone out before it (the engine echoes a Close as it arrives, so the driver reads
    /// this before taking the event).
    pub fn on_event(&mut self, event: Event, sent_first: bool) {
        self.room = self.room.saturating_sub(1);
        let event = match event {
            Event::Message(message) => LiveEvent::Message(message),
            Event::Fragment { kind, data, fin } => LiveEvent::Fragment { kind, data, fin },
            Event::Ping(payload) => LiveEvent::Ping(payload),
            Event::Pong { payload, rtt } => {
                self.rtt = rtt.or(self.rtt);
                LiveEvent::Pong { payload, rtt }
            }
            Event::Close(_) => {
                // Our Close went first (the server's shutdown, a keepalive failure): the
                // peer's only answers it.
                let by = if sent_first {
                    ClosedBy::Local
                } else {
                    ClosedBy::Peer
                };
                self.by.get_or_insert(by);
                return;
            }
            // Events added to the engine later reach the poll-driven API first.
            _ => return,
        };
        self.batch.push(event);
    }

    /// Ends a round: publishes the events taken and the status (unwritten bytes, commands in
    /// flight, the round-trip time, the move to Closing). Unless the round made `progress`,
    /// registers `waker` for the next command or dropped handle. Returns whether to run
    /// another round at once instead of waiting.
    pub fn finish_round(
        &mut self,
        conn: &Connection,
        shared: &Shared,
        progress: bool,
        waker: &Waker,
    ) -> bool {
        let mut state = shared.lock();
        state.push_events(std::mem::take(&mut self.batch));
        self.publish(conn, &mut state);
        if progress {
            return true;
        }
        state.register_task(waker);
        // A command or a dropped handle may have arrived since the round began.
        self.command_ready(conn)
            || state.has_commands()
            || (state.handles() == 0 && self.pending.is_empty() && Self::may_send(conn))
    }

    fn publish(&mut self, conn: &Connection, state: &mut SharedState) {
        if self.rtt.is_some() {
            state.last_rtt = self.rtt;
        }
        state.set_in_flight(self.pending.len(), self.pending_bytes);
        let buffered = conn.buffered_amount();
        if buffered != state.engine_buffered {
            state.engine_buffered = buffered;
            if buffered == 0 {
                state.wake_waiters();
            }
        }
        if !self.closing_reported && conn.state() != State::Open {
            self.closing_reported = true;
            state.set_state(LiveState::Closing);
        }
    }

    /// How the connection ended, with the error (if any) reported first. Commands it could
    /// not send go back to the queue (for a reconnecting client's next connection).
    pub fn end(mut self, conn: &Connection, shared: &Shared) -> End {
        let by = self.by.or_else(|| {
            // A Close we sent without a command (a protocol error's Close) or one the engine
            // echoed.
            match (conn.close_sent(), conn.close_received()) {
                (_, Some(_)) if self.error.is_none() => Some(ClosedBy::Peer),
                (Some(_), None) if self.error.is_none() => Some(ClosedBy::Local),
                _ => None,
            }
        });
        // The peer vanishing while we close is what we asked for.
        if by == Some(ClosedBy::Local)
            && matches!(
                self.error.as_deref(),
                Some(Error::Lost(ConnectionLost::UnexpectedEof) | Error::Io(_))
            )
        {
            self.error = None;
        }
        let mut state = shared.lock();
        state.push_events(std::mem::take(&mut self.batch));
        // A failure without a closing handshake never was "Closing"; a handshake that
        // completed within one round still reports it, before Closed.
        if self.error.is_some() && by.is_none() {
            self.closing_reported = true;
        }
        self.publish(conn, &mut state);
        state.return_commands(&mut self.pending);
        let end = match (self.error.take().map(|error| *error), by) {
            (Some(error), _) => {
                let code = match &error {
                    Error::Protocol(_) => conn.close_sent().map(CloseFrame::code),
                    _ => None,
                };
                let end = End {
                    closed: Closed {
                        code: Some(code.unwrap_or(CloseCode::ABNORMAL)),
                        reason: error.to_string(),
                        by: ClosedBy::Failure,
                    },
                    ending: error.ending(),
                };
                state.push_event(LiveEvent::Error(error));
                end
            }
            (None, Some(ClosedBy::Peer)) => {
                let frame = conn.close_received();
                let code = frame
                    .map(CloseFrame::code)
                    .filter(|c| *c != CloseCode::NO_STATUS);
                End {
                    closed: Closed {
                        code,
                        reason: frame.map(|f| f.reason().to_owned()).unwrap_or_default(),
                        by: ClosedBy::Peer,
                    },
                    ending: Ending::PeerClosed(code),
                }
            }
            (None, Some(_)) => {
                let frame = conn.close_sent();
                End {
                    closed: Closed {
                        code: frame.map(CloseFrame::code),
                        reason: frame.map(|f| f.reason().to_owned()).unwrap_or_default(),
                        by: ClosedBy::Local,
                    },
                    ending: Ending::ClosedByUs,
                }
            }
            (None, None) => End {
                closed: Closed::abnormal("the connection ended without a closing handshake"),
                ending: Ending::ConnectionLost,
            },
        };
        state.wake_waiters();
        end
    }
}

impl RetrySchedule {
    /// A reconnecting client's connection opened: reports it and starts the schedule again.
    pub fn opened(&mut self, shared: &Shared, info: HandshakeInfo) {
        self.reset();
        let mut state = shared.lock();
        state.info = Some(info);
        // Whatever the previous connection left unwritten is gone with it.
        state.engine_buffered = 0;
        state.set_state(LiveState::Open);
    }

    /// An attempt to open a connection failed with `error`: reports it.
    #[must_use]
    pub fn failed_to_open(shared: &Shared, error: Error) -> End {
        let end = End {
            closed: Closed {
                code: None,
                reason: error.to_string(),
                by: ClosedBy::Failure,
            },
            ending: error.ending(),
        };
        shared.lock().push_event(LiveEvent::Error(error));
        end
    }

    /// What a reconnecting client does after `end`: `Some(delay)` to dial again after it
    /// (reported as [`LiveState::Reconnecting`]), `None` when it is over (reported as
    /// [`LiveState::Closed`]) — after our own close, once the application asked to close,
    /// or when the policy says stop.
    pub fn next(&mut self, shared: &Shared, end: End) -> Option<Duration> {
        if end.ending == Ending::ClosedByUs || shared.lock().abandoned() {
            shared.lock().finish(end.closed);
            return None;
        }
        match self.after(&end.ending) {
            Decision::Retry { attempt, delay } => {
                shared
                    .lock()
                    .set_state(LiveState::Reconnecting { attempt, delay });
                Some(delay)
            }
            Decision::Stop(_) => {
                shared.lock().finish(end.closed);
                None
            }
        }
    }

    /// The client was closed (or every handle dropped) while it was not connected.
    pub fn abandoned(shared: &Shared) {
        shared.lock().finish(Closed {
            code: None,
            reason: "closed while not connected".into(),
            by: ClosedBy::Local,
        });
    }
}
