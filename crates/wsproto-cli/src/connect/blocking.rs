//! The `connect` session on the blocking adapter: one thread takes turns, sending what the
//! input produced (polling the channel with `try_recv`), then receiving what arrived.
//!
//! A turn sends at most [`TURN_BYTES`] and then reads until the socket stays quiet for a
//! moment, so an echo server never waits long on us while we keep sending — both sides
//! blocked in writes would be a deadlock. In one-shot mode (`-x`) the Close waits, turn by
//! turn, until [`Replies`] says the replies are in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_channel::mpsc::TryRecvError;
use wsproto_async::Error;
use wsproto_core::{CloseCode, Event};

use super::ending::{Ending, InputEnd, our_close};
use super::{Replies, Start, announce, connect_failed};
use crate::console::Console;
use crate::exit::Exit;
use crate::input::Input;

type WebSocket = wsproto_blocking::TcpWebSocket;

/// Payload bytes sent (or received) in one turn before switching direction.
const TURN_BYTES: usize = 256 * 1024;
/// How long a turn waits for the server when there is nothing to send.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// How long a turn waits for the server while there is more to send.
const BUSY_WAIT: Duration = Duration::from_millis(1);

/// What a sending turn did.
enum Turn {
    /// Sent all it could; more input may be waiting.
    Busy,
    /// Nothing is waiting on the input.
    Idle,
    /// The input ended (or the user interrupted): our Close is due.
    Done(InputEnd),
    /// A send failed: the connection is over.
    Cut(InputEnd),
}

/// Where the sending side is.
enum Sending {
    Open,
    /// One-shot mode: everything was sent; the Close waits for the replies.
    Quiet,
    /// Our Close was started (or the connection is over): how the input ended.
    Over(InputEnd),
}

pub(super) fn session(start: Start<'_>, stop: &AtomicBool) -> Exit {
    let (args, console) = (start.args, &start.console);
    let (mut input, mut replies) = (start.input, start.replies);
    let mut ws = match wsproto_blocking::connect_with(&args.url, start.options) {
        Ok(ws) => ws,
        Err(error) => return connect_failed(console, &args.url, &error),
    };
    announce(console, &args.url, ws.handshake());
    let mut sending = Sending::Open;
    let mut closed_by_us = None;
    let mut failure = None;
    loop {
        let interrupted = stop.load(Ordering::SeqCst);
        let wait = match &sending {
            Sending::Open => match send_turn(&mut ws, &mut input, interrupted) {
                Turn::Busy => BUSY_WAIT,
                Turn::Idle => IDLE_WAIT,
                Turn::Done(end) => {
                    sending = match (end, replies.as_mut()) {
                        (InputEnd::Finished, Some(replies)) => {
                            replies.on_sent_all(Instant::now());
                            Sending::Quiet
                        }
                        (end, _) => Sending::Over(close(&mut ws, end, &mut closed_by_us)),
                    };
                    IDLE_WAIT
                }
                Turn::Cut(end) => {
                    sending = Sending::Over(end);
                    IDLE_WAIT
                }
            },
            Sending::Quiet => {
                let end = if interrupted {
                    Some(InputEnd::Interrupted)
                } else {
                    let done = replies.as_ref().is_some_and(|r| r.is_done(Instant::now()));
                    done.then_some(InputEnd::Finished)
                };
                if let Some(end) = end {
                    sending = Sending::Over(close(&mut ws, end, &mut closed_by_us));
                }
                IDLE_WAIT
            }
            // Waiting for the server's Close: a signal now ends the wait.
            Sending::Over(end) if !matches!(end, InputEnd::Interrupted) && interrupted => {
                sending = Sending::Over(InputEnd::Interrupted);
                break;
            }
            Sending::Over(_) => IDLE_WAIT,
        };
        if !receive_turn(&mut ws, wait, console, replies.as_mut(), &mut failure) {
            break;
        }
    }
    console.finish();
    let input_end = match sending {
        Sending::Over(end) => end,
        Sending::Quiet => InputEnd::Finished,
        Sending::Open => InputEnd::cut(&mut input, None),
    };
    Ending {
        input: input_end,
        closed_by_us,
        close_received: ws.close_received().cloned(),
        failure,
        missing_replies: replies.as_ref().and_then(Replies::missing),
    }
    .report()
}

/// Starts our Close for an input that ended as `end`; returns `end`.
fn close(ws: &mut WebSocket, end: InputEnd, closed_by_us: &mut Option<CloseCode>) -> InputEnd {
    let (code, reason) = end.close_code();
    *closed_by_us = our_close(code, &ws.start_close(code, reason));
    end
}

/// Sends what the input produced, up to [`TURN_BYTES`].
fn send_turn(ws: &mut WebSocket, input: &mut Input, interrupted: bool) -> Turn {
    let mut sent = 0;
    while sent < TURN_BYTES {
        let next = if interrupted {
            Err(InputEnd::Interrupted)
        } else {
            match input.try_recv() {
                Ok(next) => InputEnd::from_next(Some(next)),
                Err(TryRecvError::Closed) => InputEnd::from_next(None),
                Err(TryRecvError::Empty) => return Turn::Idle,
            }
        };
        let item = match next {
            Ok(item) => item,
            Err(end) => return Turn::Done(end),
        };
        sent += item.message.payload().len().max(1);
        if let Err(error) = ws.send(item.message) {
            return Turn::Cut(InputEnd::Cut {
                at: Some(item.at),
                error: Some(error),
            });
        }
    }
    Turn::Busy
}

/// Shows what arrives: waits up to `wait` for the first event, then goes on while more keeps
/// coming (at most [`TURN_BYTES`]). Returns `false` once the connection is over.
fn receive_turn(
    ws: &mut WebSocket,
    mut wait: Duration,
    console: &Console,
    mut replies: Option<&mut Replies>,
    failure: &mut Option<Error>,
) -> bool {
    let mut received = 0;
    while received < TURN_BYTES {
        match ws.poll_next_event(wait) {
            Poll::Ready(Some(Ok(event))) => {
                if let Event::Message(message) = &event {
                    received += message.payload().len().max(1);
                    if let Some(replies) = replies.as_deref_mut() {
                        replies.on_reply(Instant::now());
                    }
                }
                console.event(&event);
            }
            Poll::Ready(Some(Err(error))) => {
                failure.get_or_insert(error);
            }
            Poll::Ready(None) => return false,
            Poll::Pending => return true,
        }
        wait = BUSY_WAIT;
    }
    true
}
