//! `wsproto connect URL`: stdin becomes messages ([`crate::input`]), received messages go to
//! stdout, and the exit status says how it went ([`crate::exit`], decided in [`ending`]).
//!
//! End of stdin sends a Close (1000) and keeps printing until the server answers, so echoes of
//! the last lines are not lost. Sending never runs ahead of the connection: the next input is
//! taken only after the previous message was written, and the reader thread waits on a
//! bounded channel, so a large pipe keeps memory flat. Receiving goes on while a send waits,
//! so an echo server that is blocked writing to us cannot deadlock the session.

mod blocking;
mod ending;

use std::io::Write;
use std::pin::pin;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use wsproto_async::{ClientConfig, DeflateConfig, Error, ReadHalf, Transport, WriteHalf};
use wsproto_core::handshake::HandshakeError;
use wsproto_core::{Event, Message};

use crate::args::{ConnectArgs, Runtime};
use crate::exit::Exit;
use crate::input::{self, Input, InputMode, Position};
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio};
use crate::signal::on_stop_or_exit;
use ending::{Ending, InputEnd, our_close};

/// How long an interrupted session may spend closing before the process exits anyway (a
/// server that stopped reading can block the Close forever).
const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

/// Runs the session on the chosen runtime and returns its exit status.
pub(crate) fn run(args: &ConnectArgs) -> Exit {
    let stop = on_stop_or_exit(INTERRUPT_GRACE, Exit::Interrupted.code());
    let mut options = ClientConfig::default().deflate(args.deflate.then(DeflateConfig::default));
    for protocol in &args.subprotocols {
        options = options.subprotocol(protocol);
    }
    for (name, value) in &args.headers {
        options = options.header(name, value);
    }
    let input = input::spawn(args.mode);
    match args.runtime {
        Runtime::Tokio => Tokio::block_on(session::<Tokio>(args, options, input, stop.future)),
        Runtime::Smol => Smol::block_on(session::<Smol>(args, options, input, stop.future)),
        Runtime::AsyncStd => {
            AsyncStd::block_on(session::<AsyncStd>(args, options, input, stop.future))
        }
        Runtime::Blocking => blocking::session(args, options, input, &stop.flag),
    }
}

/// Reports a failed connect: what the user typed (URL, header) is a usage error, the rest
/// (refused, unreachable, handshake rejected or timed out) a connect failure.
fn connect_failed(url: &str, error: &Error) -> Exit {
    let (exit, message) = match error {
        Error::Handshake(HandshakeError::InvalidUrl(why)) => {
            (Exit::Usage, format!("invalid websocket url {url:?}: {why}"))
        }
        Error::Handshake(error @ HandshakeError::InvalidHeader { .. }) => {
            (Exit::Usage, format!("--header: {error}"))
        }
        Error::TlsUnsupported => (
            Exit::Usage,
            format!("{url}: this build has no TLS (the `tls` feature is off)"),
        ),
        _ => (Exit::Connect, format!("{url}: {error}")),
    };
    eprintln!("wsproto: {message}");
    exit
}

/// Says which subprotocol the server picked, if any.
fn announce(subprotocol: Option<&str>) {
    if let Some(protocol) = subprotocol {
        eprintln!("subprotocol: {protocol}");
    }
}

/// Writes a received message to stdout: on its own line, or as raw bytes in raw mode.
fn print(message: &Message, mode: InputMode) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(message.payload());
    if mode != InputMode::Raw {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Completes on Ctrl-C or SIGTERM; never, if no handler could be installed.
async fn interrupted(stop: &mut oneshot::Receiver<()>) {
    if stop.await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The sending side's bookkeeping, kept outside its future so it survives being dropped.
#[derive(Default)]
struct Progress {
    /// An item whose send has not completed.
    in_flight: Option<Position>,
    /// The Close we started.
    closed_by_us: Option<wsproto_core::CloseCode>,
}

async fn session<R: AsyncRt>(
    args: &ConnectArgs,
    options: ClientConfig,
    mut input: Input,
    mut stop: oneshot::Receiver<()>,
) -> Exit {
    let ws = match wsproto_async::connect_with::<R>(&args.url, options).await {
        Ok(ws) => ws,
        Err(error) => return connect_failed(&args.url, &error),
    };
    announce(ws.subprotocol());
    let (mut reader, mut writer) = ws.split();
    let mut progress = Progress::default();
    let mut input_end = None;
    let mut failure = None;
    {
        let send = async {
            let end = pump(&mut writer, &mut input, &mut progress, &mut stop).await;
            let was_interrupted = matches!(end, InputEnd::Interrupted);
            input_end = Some(end);
            if !was_interrupted {
                // Waiting for the server's Close: a signal now ends the wait.
                interrupted(&mut stop).await;
                input_end = Some(InputEnd::Interrupted);
                return;
            }
            std::future::pending::<()>().await;
        };
        let receive = receive(&mut reader, args.mode, &mut failure);
        select(pin!(receive), pin!(send)).await;
    }
    Ending {
        input: input_end.unwrap_or_else(|| InputEnd::cut(&mut input, progress.in_flight)),
        closed_by_us: progress.closed_by_us,
        close_received: reader.close_received(),
        failure,
    }
    .report()
}

/// Sends stdin until it ends (then closes), the user interrupts (then closes with 1000) or a
/// send fails.
async fn pump<T: Transport>(
    writer: &mut WriteHalf<T>,
    input: &mut Input,
    progress: &mut Progress,
    stop: &mut oneshot::Receiver<()>,
) -> InputEnd {
    let end = loop {
        let next = match select(input.next(), pin!(interrupted(stop))).await {
            Either::Left((next, _)) => next,
            Either::Right(_) => break InputEnd::Interrupted,
        };
        let item = match InputEnd::from_next(next) {
            Ok(item) => item,
            Err(end) => break end,
        };
        progress.in_flight = Some(item.at);
        if let Err(error) = writer.send(item.message).await {
            return InputEnd::Cut {
                at: Some(item.at),
                error: Some(error),
            };
        }
        progress.in_flight = None;
    };
    let (code, reason) = end.close_code();
    // Queued by the first poll; the receiving side may finish writing it (and the session)
    // before this future is polled again, so record it first.
    progress.closed_by_us = Some(code);
    let closed = writer.close(code, reason).await;
    progress.closed_by_us = our_close(code, &closed);
    end
}

/// Prints what arrives until the connection is over; keeps the first error.
async fn receive<T: Transport>(
    reader: &mut ReadHalf<T>,
    mode: InputMode,
    failure: &mut Option<Error>,
) {
    while let Some(event) = reader.next_event().await {
        match event {
            Ok(Event::Message(message)) => print(&message, mode),
            Ok(_) => {}
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
    }
}
