//! The background task's work on one open connection: move queued commands into the engine
//! while its write buffer has room, write, read and report events while the receiver has
//! room, and close with 1000 once every handle is gone — until the connection ends.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use wsproto_core::reconnect::Ending;
use wsproto_core::{CloseCode, CloseFrame, Event, State};
use wsproto_setup::{Closed, ClosedBy, ConnectionLost, Error, LiveEvent, LiveState};

use super::shared::{Command, Inner, Shared};
use crate::driver::Half;
use crate::runtime::Transport;
use crate::websocket::WebSocket;

/// How one connection ended: what to report and what the reconnect schedule is told.
pub(crate) struct End {
    pub(crate) closed: Closed,
    pub(crate) ending: Ending,
}

/// Drives `ws` until it ends, reporting through `shared`.
pub(crate) async fn drive<T: Transport>(ws: WebSocket<T>, shared: &Arc<Shared>) -> End {
    let mut run = Run {
        ws,
        by: None,
        error: None,
        parked: false,
        closing_reported: false,
    };
    poll_fn(|cx| run.poll(cx, shared)).await
}

struct Run<T: Transport> {
    ws: WebSocket<T>,
    /// Who sent the first Close, once one was sent or received.
    by: Option<ClosedBy>,
    /// The error that ended the connection.
    error: Option<Error>,
    /// The peer's Close arrived on a half-closing connection: the engine has no events until
    /// we answer it.
    parked: bool,
    closing_reported: bool,
}

impl<T: Transport> Run<T> {
    fn poll(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<End> {
        loop {
            let mut progress = self.apply_commands(cx, shared);
            progress |= self.close_if_abandoned(shared);
            if self.ws.driver.conn.wants_write()
                && let Poll::Ready(Err(error)) = self.ws.driver.poll_flush(cx, Half::Writer)
            {
                self.error.get_or_insert(error);
            }
            match self.take_events(cx, shared) {
                Poll::Ready(()) => return Poll::Ready(self.end(shared)),
                Poll::Pending => {}
            }
            let mut inner = shared.lock();
            self.report_status(&mut inner);
            if !progress {
                inner.register_task(cx.waker());
                // A command or a dropped handle may have arrived since we looked.
                let sendable = inner.has_commands() && (inner.next_is_close() || self.may_send());
                let abandoned = inner.handles() == 0 && self.may_send();
                if !sendable && !abandoned {
                    return Poll::Pending;
                }
            }
        }
    }

    /// Moves queued commands into the engine while its write buffer is below the mark.
    fn apply_commands(&mut self, cx: &mut Context<'_>, shared: &Shared) -> bool {
        let mut applied = false;
        loop {
            {
                let inner = shared.lock();
                // Once a Close was sent or received, messages stay queued: a reconnecting
                // client sends them on its next connection; otherwise `flush` reports them.
                if !inner.has_commands() || !(inner.next_is_close() || self.may_send()) {
                    break;
                }
            }
            match self.ws.driver.poll_send_ready(cx, Half::Writer) {
                Poll::Ready(Ok(())) => {}
                Poll::Pending => break,
                Poll::Ready(Err(error)) => {
                    self.error.get_or_insert(error);
                    break;
                }
            }
            let Some(command) = shared.lock().pop_command() else {
                break;
            };
            applied = true;
            self.apply(command);
        }
        if applied {
            shared.lock().wake_waiters();
        }
        applied
    }

    /// Hands one command to the engine. A command the engine refuses because the peer closed
    /// meanwhile is dropped: the state events say the connection is closing.
    fn apply(&mut self, command: Command) {
        let conn = &mut self.ws.driver.conn;
        let _refused = match command {
            Command::Message(message) => conn.send(message),
            Command::Fragment { kind, data, fin } => conn.send_fragment(kind, &data, fin),
            Command::Ping(payload) => {
                let now = self.ws.driver.now();
                self.ws.driver.conn.ping(&payload, now)
            }
            Command::Pong(payload) => conn.pong(&payload),
            Command::Close(code, reason) => self.start_close(code, &reason),
        };
    }

    /// Whether data may still go out: no Close sent, and none received (unless the
    /// connection half-closes).
    fn may_send(&self) -> bool {
        let conn = &self.ws.driver.conn;
        conn.close_sent().is_none() && (conn.state() == State::Open || conn.is_half_closed())
    }

    fn start_close(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), wsproto_core::SendError> {
        if !self.may_send() {
            return Ok(());
        }
        self.by.get_or_insert(ClosedBy::Local);
        self.parked = false;
        let now = self.ws.driver.now();
        self.ws.driver.conn.close(code, reason, now)
    }

    /// Every handle is gone and everything queued was handed over: close with 1000.
    fn close_if_abandoned(&mut self, shared: &Shared) -> bool {
        {
            let inner = shared.lock();
            if inner.handles() > 0 || inner.has_commands() || !self.may_send() {
                return false;
            }
        }
        let _ = self.start_close(CloseCode::NORMAL, "");
        true
    }

    /// Takes events from the engine while the receiver has room; ready when the connection
    /// is over.
    fn take_events(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<()> {
        if self.parked {
            return Poll::Pending;
        }
        loop {
            if !shared.lock().has_event_room() {
                return Poll::Pending;
            }
            // Whether our Close went first (the server's shutdown, a keepalive failure): then
            // the peer's Close below only answers it. The engine echoes a Close as it arrives.
            let sent_first = self.ws.driver.conn.close_sent().is_some();
            let event = match self.ws.driver.poll_event(cx, Half::Reader) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) if self.ws.driver.conn.is_half_closed() => {
                    // The peer closed a half-closing connection: we answer once our sending
                    // is done (a close command, or every handle dropped).
                    self.parked = true;
                    self.report_closing(shared);
                    return Poll::Pending;
                }
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Ready(Some(Err(error))) => {
                    self.error.get_or_insert(error);
                    continue;
                }
                Poll::Ready(Some(Ok(event))) => event,
            };
            let mut inner = shared.lock();
            match event {
                Event::Message(message) => inner.push_event(LiveEvent::Message(message)),
                Event::Fragment { kind, data, fin } => {
                    inner.push_event(LiveEvent::Fragment { kind, data, fin });
                }
                Event::Ping(payload) => inner.push_event(LiveEvent::Ping(payload)),
                Event::Pong { payload, rtt } => {
                    if rtt.is_some() {
                        inner.last_rtt = rtt;
                    }
                    inner.push_event(LiveEvent::Pong { payload, rtt });
                }
                Event::Close(_) => {
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
            drop(inner);
            self.report_closing(shared);
        }
    }

    fn report_closing(&mut self, shared: &Shared) {
        if !self.closing_reported && self.ws.driver.conn.state() != State::Open {
            self.closing_reported = true;
            shared.lock().set_state(LiveState::Closing);
        }
    }

    fn report_status(&mut self, inner: &mut Inner) {
        let buffered = self.ws.driver.conn.buffered_amount();
        if buffered != inner.engine_buffered {
            let drained = buffered == 0;
            inner.engine_buffered = buffered;
            if drained {
                inner.wake_waiters();
            }
        }
        if !self.closing_reported && self.ws.driver.conn.state() != State::Open {
            self.closing_reported = true;
            inner.set_state(LiveState::Closing);
        }
    }

    /// How the connection ended, with the error (if any) reported first.
    fn end(&mut self, shared: &Shared) -> End {
        let conn = &self.ws.driver.conn;
        let by = self.by.or_else(|| {
            // A Close we sent without a command (the server's 1001 shutdown, a protocol
            // error's Close) or one the engine echoed.
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
                Some(Error::Lost(ConnectionLost::UnexpectedEof)) | Some(Error::Io(_))
            )
        {
            self.error = None;
        }
        let mut inner = shared.lock();
        inner.engine_buffered = conn.buffered_amount();
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
                inner.push_event(LiveEvent::Error(error));
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
                    ending: wsproto_core::reconnect::Ending::PeerClosed(code),
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
        inner.wake_waiters();
        end
    }
}
