//! The `connect` session on the blocking adapter: one thread takes turns, sending what stdin
//! produced (polling the channel with `try_recv`), then receiving what arrived.
//!
//! A turn sends at most [`TURN_BYTES`] and then reads until the socket stays quiet for a
//! moment, so an echo server never waits long on us while we keep sending — both sides
//! blocked in writes would be a deadlock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use futures_channel::mpsc::TryRecvError;
use wsproto_async::{ClientConfig, Error};
use wsproto_core::Event;

use super::ending::{Ending, InputEnd, our_close};
use super::{announce, connect_failed, print};
use crate::args::ConnectArgs;
use crate::exit::Exit;
use crate::input::{Input, InputMode};

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
    /// Nothing is waiting on stdin.
    Idle,
    /// Input ended (and our Close was started, where one is due).
    Ended(InputEnd),
}

pub(super) fn session(
    args: &ConnectArgs,
    options: ClientConfig,
    mut input: Input,
    stop: &AtomicBool,
) -> Exit {
    let mut ws = match wsproto_blocking::connect_with(&args.url, options) {
        Ok(ws) => ws,
        Err(error) => return connect_failed(&args.url, &error),
    };
    announce(ws.subprotocol());
    let mut input_end = None;
    let mut closed_by_us = None;
    let mut failure = None;
    loop {
        let wait = match &input_end {
            None => match send_turn(&mut ws, &mut input, stop, &mut closed_by_us) {
                Turn::Busy => BUSY_WAIT,
                Turn::Idle => IDLE_WAIT,
                Turn::Ended(end) => {
                    input_end = Some(end);
                    IDLE_WAIT
                }
            },
            // Waiting for the server's Close: a signal now ends the wait.
            Some(end) if !matches!(end, InputEnd::Interrupted) && stop.load(Ordering::SeqCst) => {
                input_end = Some(InputEnd::Interrupted);
                break;
            }
            Some(_) => IDLE_WAIT,
        };
        if !receive_turn(&mut ws, wait, args.mode, &mut failure) {
            break;
        }
    }
    Ending {
        input: input_end.unwrap_or_else(|| InputEnd::cut(&mut input, None)),
        closed_by_us,
        close_received: ws.close_received().cloned(),
        failure,
    }
    .report()
}

/// Sends what stdin produced, up to [`TURN_BYTES`]; closes when input ends or the user
/// interrupts.
fn send_turn(
    ws: &mut WebSocket,
    input: &mut Input,
    stop: &AtomicBool,
    closed_by_us: &mut Option<wsproto_core::CloseCode>,
) -> Turn {
    let mut sent = 0;
    while sent < TURN_BYTES {
        let next = if stop.load(Ordering::SeqCst) {
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
            Err(end) => {
                let (code, reason) = end.close_code();
                *closed_by_us = our_close(code, &ws.start_close(code, reason));
                return Turn::Ended(end);
            }
        };
        sent += item.message.payload().len().max(1);
        if let Err(error) = ws.send(item.message) {
            return Turn::Ended(InputEnd::Cut {
                at: Some(item.at),
                error: Some(error),
            });
        }
    }
    Turn::Busy
}

/// Prints what arrives: waits up to `wait` for the first event, then goes on while more keeps
/// coming (at most [`TURN_BYTES`]). Returns `false` once the connection is over.
fn receive_turn(
    ws: &mut WebSocket,
    mut wait: Duration,
    mode: InputMode,
    failure: &mut Option<Error>,
) -> bool {
    let mut received = 0;
    while received < TURN_BYTES {
        match ws.poll_next_event(wait) {
            Poll::Ready(Some(Ok(Event::Message(message)))) => {
                received += message.payload().len().max(1);
                print(&message, mode);
            }
            Poll::Ready(Some(Ok(_))) => {}
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
