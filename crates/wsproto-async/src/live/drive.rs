//! The background task's I/O on one open connection: moves queued commands into the engine
//! while its write buffer has room, writes, and reads events while the receiver has room —
//! until the connection ends. What each step means ([`Tracker`]) is decided on floor 1,
//! shared with the blocking adapter's thread.

use std::future::poll_fn;
use std::task::{Context, Poll};

use wsproto_setup::live::{End, Shared, Tracker};

use crate::driver::Half;
use crate::runtime::Transport;
use crate::websocket::WebSocket;

/// Drives `ws` until it ends, reporting through `shared`.
pub(crate) async fn drive<T: Transport>(ws: WebSocket<T>, shared: &Shared) -> End {
    let mut run = Run {
        ws,
        tracker: Some(Tracker::new()),
    };
    poll_fn(|cx| run.poll(cx, shared)).await
}

struct Run<T: Transport> {
    ws: WebSocket<T>,
    /// Taken when the connection ends.
    tracker: Option<Tracker>,
}

impl<T: Transport> Run<T> {
    fn poll(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<End> {
        let Some(tracker) = self.tracker.as_mut() else {
            return Poll::Pending; // ended already; never polled again
        };
        loop {
            let mut progress = apply_commands(&mut self.ws, tracker, cx, shared);
            let now = self.ws.driver.now();
            progress |= tracker.close_if_abandoned(&mut self.ws.driver.conn, now, shared);
            if self.ws.driver.conn.wants_write()
                && let Poll::Ready(Err(error)) = self.ws.driver.poll_flush(cx, Half::Writer)
            {
                tracker.fail(error);
            }
            if take_events(&mut self.ws, tracker, cx, shared).is_ready() {
                let tracker = self.tracker.take().unwrap_or_default();
                return Poll::Ready(tracker.end(&self.ws.driver.conn, shared));
            }
            let mut state = shared.lock();
            tracker.report(&self.ws.driver.conn, &mut state);
            if !progress {
                state.register_task(cx.waker());
                // A command or a dropped handle may have arrived since we looked.
                if !Tracker::has_work(&self.ws.driver.conn, &state) {
                    return Poll::Pending;
                }
            }
        }
    }
}

/// Moves queued commands into the engine while its write buffer is below the mark.
fn apply_commands<T: Transport>(
    ws: &mut WebSocket<T>,
    tracker: &mut Tracker,
    cx: &mut Context<'_>,
    shared: &Shared,
) -> bool {
    let mut applied = false;
    while Tracker::command_ready(&ws.driver.conn, &shared.lock()) {
        match ws.driver.poll_send_ready(cx, Half::Writer) {
            Poll::Ready(Ok(())) => {}
            Poll::Pending => break,
            Poll::Ready(Err(error)) => {
                tracker.fail(error);
                break;
            }
        }
        let Some(command) = shared.lock().pop_command() else {
            break;
        };
        applied = true;
        let now = ws.driver.now();
        tracker.apply(&mut ws.driver.conn, now, command);
    }
    if applied {
        shared.lock().wake_waiters();
    }
    applied
}

/// Takes events from the engine while the receiver has room; ready when the connection is
/// over.
fn take_events<T: Transport>(
    ws: &mut WebSocket<T>,
    tracker: &mut Tracker,
    cx: &mut Context<'_>,
    shared: &Shared,
) -> Poll<()> {
    if tracker.is_parked() {
        return Poll::Pending;
    }
    while shared.lock().has_event_room() {
        let sent_first = ws.driver.conn.close_sent().is_some();
        match ws.driver.poll_event(cx, Half::Reader) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) if ws.driver.conn.is_half_closed() => {
                tracker.park(&ws.driver.conn, shared);
                return Poll::Pending;
            }
            Poll::Ready(None) => return Poll::Ready(()),
            Poll::Ready(Some(Err(error))) => tracker.fail(error),
            Poll::Ready(Some(Ok(event))) => {
                tracker.on_event(&ws.driver.conn, event, sent_first, shared);
            }
        }
    }
    Poll::Pending
}
