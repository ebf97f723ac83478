//! `wsproto connect --reconnect`: the session on a reconnecting client
//! ([`wsproto_async::connect_live`]). The library's background task dials, redials with
//! backoff and keeps the connection answering; this module only feeds it the input, shows
//! what arrives on stdout and every state change on stderr (`reconnecting in 1.2 s (attempt
//! 3)`), and turns the end into the same summary and exit status as a plain session.
//!
//! Lines read while the server is down wait in the client's queue (up to [`QUEUE`]; reading
//! stdin pauses while it is full) and are sent once, in order, on the next connection. When
//! the input ends, everything queued is delivered first — across reconnects if need be —
//! then the client closes with 1000.

use std::pin::pin;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{Either, select};
use wsproto_async::{
    ClientConfig, Closed, ClosedBy, Error, Events, Handle, LiveConfig, LiveEvent, LiveState,
};
use wsproto_core::reconnect::ReconnectPolicy;
use wsproto_core::{CloseCode, Config, Event};

use super::ending::{Ending, InputEnd};
use super::{Start, announce, client_options, connect_failed, interrupted, next_input};
use crate::args::Runtime;
use crate::console::{Console, received_close};
use crate::exit::Exit;
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio, park_block_on};

/// How many input messages may wait for the connection while it is down.
pub(super) const QUEUE: usize = 1024;

/// The first pause before redialling (jittered, then doubling up to the maximum).
const FIRST_DELAY: Duration = Duration::from_millis(500);

/// A reconnecting client on some adapter: what `connect_live` returns there.
type Open = fn(&str, MakeConfig, &LiveConfig) -> (Handle, Events);
type MakeConfig = Box<dyn FnMut() -> ClientConfig + Send>;

/// Runs the session on the chosen adapter.
pub(super) fn run(
    start: Start<'_>,
    max_delay: Duration,
    stop: oneshot::Receiver<()>,
    runtime: Runtime,
) -> Exit {
    match runtime {
        Runtime::Tokio => Tokio::block_on(session(start, max_delay, stop, |u, m, c| {
            wsproto_async::connect_live::<Tokio>(u, m, c)
        })),
        Runtime::Smol => Smol::block_on(session(start, max_delay, stop, |u, m, c| {
            wsproto_async::connect_live::<Smol>(u, m, c)
        })),
        Runtime::AsyncStd => AsyncStd::block_on(session(start, max_delay, stop, |u, m, c| {
            wsproto_async::connect_live::<AsyncStd>(u, m, c)
        })),
        // The blocking adapter's client runs on a thread of its own; its handle's futures
        // are runtime-free, so this thread waits on them by parking.
        Runtime::Blocking => park_block_on(session(start, max_delay, stop, |u, m, c| {
            let (handle, events) = wsproto_blocking::connect_live(u, m, c);
            (handle.into_inner(), events.into_inner())
        })),
    }
}

async fn session(
    start: Start<'_>,
    max_delay: Duration,
    mut stop: oneshot::Receiver<()>,
    open: Open,
) -> Exit {
    let Start {
        args,
        mut input,
        console,
        ..
    } = start;
    // The flags were checked once already (`options`); each attempt builds them afresh.
    let flags = args.clone();
    let make_config: MakeConfig = Box::new(move || {
        client_options(&flags, Config::default()).unwrap_or_else(|_| ClientConfig::default())
    });
    let policy = ReconnectPolicy::new()
        .initial_delay(FIRST_DELAY)
        .max_delay(max_delay);
    let config = LiveConfig::new().queue(QUEUE).reconnect(policy);
    let (handle, events) = open(&args.url, make_config, &config);

    let mut report = Report::default();
    let mut input_end = None;
    {
        let send = async {
            let end = pump(&handle, &mut input, &mut stop).await;
            input_end = Some(end);
            std::future::pending::<()>().await;
        };
        let receive = receive(events, &handle, &console, &args.url, &mut report);
        select(pin!(receive), pin!(send)).await;
    }
    console.finish();
    let input = input_end.unwrap_or_else(|| InputEnd::cut(&mut input, None));
    let Some(closed) = report.closed else {
        return Exit::Failure;
    };
    if !report.opened
        && closed.by == ClosedBy::Failure
        && let Some(error) = &report.error
    {
        return connect_failed(&console, &args.url, error);
    }
    let closed_by_us =
        (closed.by == ClosedBy::Local).then(|| closed.code.unwrap_or(CloseCode::NORMAL));
    let close_received = match (closed.by, closed.code) {
        (ClosedBy::Failure, _) | (ClosedBy::Local, None) => None,
        (_, code) => received_close(code.map_or(1005, CloseCode::as_u16), &closed.reason),
    };
    Ending {
        input,
        closed_by_us,
        close_received,
        failure: (closed.by == ClosedBy::Failure)
            .then_some(report.error)
            .flatten(),
        missing_replies: None,
    }
    .report()
}

/// What the event side learned.
#[derive(Default)]
struct Report {
    /// A connection opened at least once.
    opened: bool,
    /// The latest failure (the one that ended the client, if it ended by one).
    error: Option<Error>,
    /// How the client ended.
    closed: Option<Closed>,
}

/// Sends the input until it ends, then delivers what is queued and closes with 1000; on
/// Ctrl-C closes at once ("interrupted").
async fn pump(
    handle: &Handle,
    input: &mut crate::input::Input,
    stop: &mut oneshot::Receiver<()>,
) -> InputEnd {
    let end = loop {
        let item = match next_input(input, stop).await {
            Ok(item) => item,
            Err(end) => break end,
        };
        if let Err(error) = handle.send(item.message).await {
            // The client stopped for good (the events say why).
            return InputEnd::Cut {
                at: Some(item.at),
                error: Some(error),
            };
        }
    };
    if !matches!(end, InputEnd::Interrupted) {
        // Everything read is delivered before the Close, across reconnects if need be; a
        // signal cuts the wait short.
        if let Either::Right(_) = select(pin!(handle.flush()), pin!(interrupted(stop))).await {
            let _ = handle.close(CloseCode::NORMAL, "interrupted").await;
            return InputEnd::Interrupted;
        }
    }
    let (code, reason) = end.close_code();
    let _ = handle.close(code, reason).await;
    end
}

/// Shows what arrives and every state change until the client is over.
async fn receive(
    mut events: Events,
    handle: &Handle,
    console: &Console,
    url: &str,
    report: &mut Report,
) {
    while let Some(event) = events.recv().await {
        match event {
            LiveEvent::Message(message) => console.event(&Event::Message(message)),
            LiveEvent::Fragment { kind, data, fin } => {
                console.event(&Event::Fragment { kind, data, fin });
            }
            LiveEvent::Ping(payload) => console.event(&Event::Ping(payload)),
            LiveEvent::Pong { payload, rtt } => console.event(&Event::Pong { payload, rtt }),
            LiveEvent::Error(error) => {
                if report.opened || !is_final(&error) {
                    console.feedback(&format!("wsproto: {url}: {error}"));
                }
                report.error = Some(error);
            }
            LiveEvent::State(LiveState::Open) => {
                report.opened = true;
                report.error = None;
                if let Some(info) = handle.handshake() {
                    announce(console, url, &info);
                }
            }
            LiveEvent::State(state) => show_state(console, url, state, report),
        }
    }
}

/// An error that ends the client at once (the summary reports it, not the live feed).
fn is_final(error: &Error) -> bool {
    !error.ending().is_retryable(&ReconnectPolicy::new())
}

fn show_state(console: &Console, url: &str, state: LiveState, report: &mut Report) {
    match state {
        LiveState::Connecting { attempt: 0 } | LiveState::Closing => {}
        LiveState::Connecting { attempt } => {
            console.feedback(&format!("connecting to {url} (attempt {attempt})"));
        }
        LiveState::Open => {}
        LiveState::Reconnecting { attempt, delay } => console.feedback(&format!(
            "reconnecting in {:.1} s (attempt {attempt})",
            delay.as_secs_f64()
        )),
        LiveState::Closed(closed) => report.closed = Some(closed),
    }
}
