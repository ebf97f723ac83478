//! The background task's I/O on one open connection, in rounds: hand queued commands to the
//! engine while its write buffer has room, write, read events while the receiver has room,
//! publish — until the connection ends. What each step means ([`Tracker`]) is decided on
//! floor 1, shared with the blocking adapter's thread; a round takes the shared lock twice,
//! however many messages it moves.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
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

/// A spawned connection's whole task: drives it, then reports how it ended. Written by hand
/// rather than as an `async` block, which would hold the connection twice (once before and
/// once inside the drive) and double what an idle connection costs.
pub(crate) struct Background<T: Transport> {
    run: Run<T>,
    shared: Arc<Shared>,
}

impl<T: Transport> Background<T> {
    pub(crate) fn new(ws: WebSocket<T>, shared: Arc<Shared>) -> Self {
        Self {
            run: Run {
                ws,
                tracker: Some(Tracker::new()),
            },
            shared,
        }
    }
}

impl<T: Transport> Future for Background<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let end = std::task::ready!(this.run.poll(cx, &this.shared));
        this.shared.lock().finish(end.closed);
        Poll::Ready(())
    }
}

/// One connection under a [`Tracker`].
struct Run<T: Transport> {
    ws: WebSocket<T>,
    /// Taken when the connection ends.
    tracker: Option<Tracker>,
}

impl<T: Transport> Run<T> {
    fn poll(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<End> {
        let Some(live) = self.tracker.as_mut() else {
            return Poll::Pending; // ended already; never polled again
        };
        let ws = &mut self.ws;
        loop {
            live.begin(shared);
            let mut progress = apply_commands(ws, live, cx);
            let clock = ws.driver.clock();
            progress |= live.close_if_abandoned(&mut ws.driver.conn, clock);
            if ws.driver.conn.wants_write()
                && let Poll::Ready(Err(error)) = ws.driver.poll_flush(cx, Half::Writer)
            {
                live.fail(error);
            }
            if take_events(ws, live, cx).is_ready() {
                let live = self.tracker.take().unwrap_or_default();
                return Poll::Ready(live.end(&ws.driver.conn, shared));
            }
            if !live.finish_round(&ws.driver.conn, shared, progress, cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}

/// Hands commands to the engine while its write buffer is below the mark.
fn apply_commands<T: Transport>(
    ws: &mut WebSocket<T>,
    live: &mut Tracker,
    cx: &mut Context<'_>,
) -> bool {
    let mut applied = false;
    while live.command_ready(&ws.driver.conn) {
        match ws.driver.poll_send_ready(cx, Half::Writer) {
            Poll::Ready(Ok(())) => {}
            Poll::Pending => break,
            Poll::Ready(Err(error)) => {
                live.fail(error);
                break;
            }
        }
        let Some(command) = live.next_command(&ws.driver.conn) else {
            break;
        };
        applied = true;
        let clock = ws.driver.clock();
        live.apply(&mut ws.driver.conn, clock, command);
    }
    applied
}

/// Takes events from the engine while the receiver has room; ready when the connection is
/// over.
fn take_events<T: Transport>(
    ws: &mut WebSocket<T>,
    live: &mut Tracker,
    cx: &mut Context<'_>,
) -> Poll<()> {
    while live.wants_event() {
        let sent_first = ws.driver.conn.close_sent().is_some();
        match ws.driver.poll_event(cx, Half::Reader) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) if ws.driver.conn.is_half_closed() => live.park(),
            Poll::Ready(None) => return Poll::Ready(()),
            Poll::Ready(Some(Err(error))) => live.fail(error),
            Poll::Ready(Some(Ok(event))) => live.on_event(event, sent_first),
        }
    }
    Poll::Pending
}
