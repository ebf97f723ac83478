//! The rules of a live connection's background task, written once for the async and the
//! blocking drivers, which only move bytes and time: which queued command may go into the
//! engine now, when the last handle's departure closes with 1000, how engine events become
//! [`LiveEvent`]s, who closed first, how the connection's end reads ([`End`]), and what a
//! reconnecting client does next ([`RetrySchedule::next`]).

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

/// A background task's bookkeeping for one open connection.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Who sent the first Close, once one was sent or received.
    by: Option<ClosedBy>,
    /// The error that ended the connection.
    error: Option<Error>,
    /// The peer's Close arrived on a half-closing connection: the engine has no events until
    /// we answer it.
    parked: bool,
    closing_reported: bool,
}

impl Tracker {
    /// Bookkeeping for a connection that just opened.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether data may still go out on `conn`: no Close sent, and none received (unless the
    /// connection half-closes).
    #[must_use]
    pub fn may_send(conn: &Connection) -> bool {
        conn.close_sent().is_none() && (conn.state() == State::Open || conn.is_half_closed())
    }

    /// Whether the next queued command may go into the engine now. Once a Close was sent or
    /// received, messages stay queued: a reconnecting client sends them on its next
    /// connection; otherwise `flush` reports them unsent.
    #[must_use]
    pub fn command_ready(conn: &Connection, state: &SharedState) -> bool {
        state.has_commands() && (state.next_is_close() || Self::may_send(conn))
    }

    /// Whether the task has work without waiting for I/O: a command that may go in, or every
    /// handle gone from an open connection.
    #[must_use]
    pub fn has_work(conn: &Connection, state: &SharedState) -> bool {
        Self::command_ready(conn, state) || (state.handles() == 0 && Self::may_send(conn))
    }

    /// Hands one command to the engine. A command the engine refuses (the peer closed
    /// meanwhile, between the check and now) is dropped: the state events say why.
    pub fn apply(&mut self, conn: &mut Connection, now: Instant, command: Command) {
        let _refused = match command {
            Command::Message(message) => conn.send(message),
            Command::Fragment { kind, data, fin } => conn.send_fragment(kind, &data, fin),
            Command::Ping(payload) => conn.ping(&payload, now),
            Command::Pong(payload) => conn.pong(&payload),
            Command::Close(code, reason) => self.start_close(conn, now, code, &reason),
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

    /// Every handle is gone and everything queued was handed over: closes with 1000.
    /// Returns whether it did.
    pub fn close_if_abandoned(
        &mut self,
        conn: &mut Connection,
        now: Instant,
        shared: &Shared,
    ) -> bool {
        {
            let state = shared.lock();
            if state.handles() > 0 || state.has_commands() || !Self::may_send(conn) {
                return false;
            }
        }
        let _ = self.start_close(conn, now, CloseCode::NORMAL, "");
        true
    }

    /// Keeps the first error that ends the connection.
    pub fn fail(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }

    /// Whether the peer's Close on a half-closing connection waits for our answer (the
    /// engine has no events to give until then).
    #[must_use]
    pub fn is_parked(&self) -> bool {
        self.parked
    }

    /// The engine had no more events because the peer closed a half-closing connection: we
    /// answer once our sending is done (a close command, or every handle dropped).
    pub fn park(&mut self, conn: &Connection, shared: &Shared) {
        self.parked = true;
        self.report(conn, &mut shared.lock());
    }

    /// Reports one engine event. `sent_first` says whether our Close had gone out before it
    /// (the engine echoes a Close as it arrives, so this is read before taking the event).
    pub fn on_event(&mut self, conn: &Connection, event: Event, sent_first: bool, shared: &Shared) {
        let mut state = shared.lock();
        match event {
            Event::Message(message) => state.push_event(LiveEvent::Message(message)),
            Event::Fragment { kind, data, fin } => {
                state.push_event(LiveEvent::Fragment { kind, data, fin });
            }
            Event::Ping(payload) => state.push_event(LiveEvent::Ping(payload)),
            Event::Pong { payload, rtt } => {
                if rtt.is_some() {
                    state.last_rtt = rtt;
                }
                state.push_event(LiveEvent::Pong { payload, rtt });
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
            }
            // Events added to the engine later reach the poll-driven API first.
            _ => {}
        }
        self.report(conn, &mut state);
    }

    /// Publishes the engine's unwritten bytes (waking `flush` when they reach zero) and the
    /// move to Closing.
    pub fn report(&mut self, conn: &Connection, state: &mut SharedState) {
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

    /// How the connection ended, with the error (if any) reported first.
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
                self.error,
                Some(Error::Lost(ConnectionLost::UnexpectedEof) | Error::Io(_))
            )
        {
            self.error = None;
        }
        let mut state = shared.lock();
        state.engine_buffered = conn.buffered_amount();
        let end = match (self.error.take(), by) {
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
