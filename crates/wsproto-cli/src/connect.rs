//! `wsproto connect URL`: stdin (or the `-x` messages) becomes messages ([`crate::input`]),
//! what arrives is shown by the [`Console`] (data on stdout, feedback on stderr), and the exit
//! status says how it went ([`crate::exit`], decided in [`ending`]).
//!
//! End of input sends a Close (1000) and keeps printing until the server answers, so echoes
//! of the last lines are not lost; in one-shot mode (`-x`) the Close waits until the replies
//! are in ([`replies`]). Sending never runs ahead of the connection: the next input is taken
//! only after the previous message was written, and the reader thread waits on a bounded
//! channel, so a large pipe keeps memory flat. Receiving goes on while a send waits, so an
//! echo server that is blocked writing to us cannot deadlock the session.

mod blocking;
mod ending;
mod live;
mod replies;

use std::pin::pin;
use std::time::Duration;

use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_channel::oneshot;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use wsproto_async::{
    ClientConfig, DeflateConfig, Error, HandshakeInfo, Proxy, ReadHalf, TlsErrorKind, Transport,
    WriteHalf,
};
use wsproto_core::handshake::HandshakeError;
use wsproto_core::{Config, Event};

use crate::args::{ConnectArgs, ProxyChoice, Runtime, Trust};
use crate::console::Console;
use crate::exit::Exit;
use crate::input::{self, Input, Position};
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio};
use crate::signal::on_stop_or_exit;
use ending::{Ending, InputEnd, our_close};
use replies::Replies;

/// How long an interrupted session may spend closing before the process exits anyway (a
/// server that stopped reading can block the Close forever). A second Ctrl-C exits at once.
const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

/// What a session starts with, on any runtime.
struct Start<'a> {
    args: &'a ConnectArgs,
    /// The client options the flags ask for ([`options`]).
    options: ClientConfig,
    input: Input,
    console: Console,
    /// One-shot mode: when to close.
    replies: Option<Replies>,
}

/// Runs the session on the chosen runtime and returns its exit status.
pub(crate) fn run(args: &ConnectArgs) -> Exit {
    let options = match options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("wsproto: {message}");
            return Exit::Usage;
        }
    };
    if args.trust == Trust::Insecure {
        eprintln!(
            "wsproto: WARNING: --insecure: the server's certificate is not checked (any issuer, \
             any name, expired or not); the connection is encrypted but anyone on the path can \
             pretend to be the server. For testing only."
        );
    }
    let stop = on_stop_or_exit(INTERRUPT_GRACE, Exit::Interrupted.code());
    let console = Console::new(args.mode, args.show_ping_pong);
    let input = match &args.execute {
        Some(execute) => input::from_messages(&execute.messages, args.mode),
        None => input::spawn(args.mode, console.clone()),
    };
    let start = Start {
        args,
        options,
        input,
        console,
        replies: args.execute.as_ref().map(Replies::new),
    };
    if let Some(max_delay) = args.reconnect {
        return live::run(start, max_delay, stop.future, args.runtime);
    }
    match args.runtime {
        Runtime::Tokio => Tokio::block_on(session::<Tokio>(start, stop.future)),
        Runtime::Smol => Smol::block_on(session::<Smol>(start, stop.future)),
        Runtime::AsyncStd => AsyncStd::block_on(session::<AsyncStd>(start, stop.future)),
        Runtime::Blocking => blocking::session(start, &stop.flag),
    }
}

/// The client options the flags (and, unless `--proxy`/`--no-proxy`, the environment's
/// proxy) ask for; an error names a `--ca` file or a proxy URL that cannot be used.
fn options(args: &ConnectArgs) -> Result<ClientConfig, String> {
    client_options(args, Config::default())
}

/// [`options`] for `tunnel`: the same flags, and a half-closing connection, so a FIN from
/// the TCP side becomes a Close that still lets the answer through.
pub(crate) fn tunnel_options(args: &ConnectArgs) -> Result<ClientConfig, String> {
    client_options(args, crate::pipe::tunnel_config())
}

fn client_options(args: &ConnectArgs, config: Config) -> Result<ClientConfig, String> {
    let config = config.keepalive_interval(args.ping_interval);
    let mut options = ClientConfig::default()
        .config(config)
        .deflate(args.deflate.then(DeflateConfig::default));
    if let Some(tls) = crate::tls::client(&args.trust)? {
        options = options.tls(tls);
    }
    if let Some(timeout) = args.connect_timeout {
        options = options.handshake_timeout(timeout);
    }
    for protocol in &args.subprotocols {
        options = options.subprotocol(protocol);
    }
    for (name, value) in &args.headers {
        options = options.header(name, value);
    }
    let proxy = match &args.proxy {
        ProxyChoice::Environment => Proxy::from_env(&args.url)
            .map_err(|error| format!("the environment's proxy: {error}"))?,
        ProxyChoice::Url(url) => Some(Proxy::parse(url).map_err(|e| format!("--proxy: {e}"))?),
        ProxyChoice::Off => None,
    };
    if let Some(proxy) = proxy {
        options = options.proxy(proxy);
    }
    Ok(options)
}

/// Reports a failed connect: what the user typed (URL, header) is a usage error, the rest
/// (refused, unreachable, handshake rejected or timed out, a certificate the TLS handshake
/// refused) a connect failure. A TLS failure is the library's message — the host and the
/// certificate problem — with what to do about it.
fn connect_failed(console: &Console, url: &str, error: &Error) -> Exit {
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
        Error::Tls(tls) => (
            Exit::Connect,
            format!("{url}: {tls}{}", tls_hint(tls.kind())),
        ),
        _ => (Exit::Connect, format!("{url}: {error}")),
    };
    console.finish();
    eprintln!("wsproto: {message}");
    exit
}

/// What to do about a certificate the TLS handshake refused.
fn tls_hint(kind: &TlsErrorKind) -> &'static str {
    match kind {
        TlsErrorKind::UnknownIssuer => {
            "; trust the authority that signed it with --ca FILE (or skip the check with \
             --insecure, for testing only)"
        }
        TlsErrorKind::NameMismatch => {
            "; connect by a name the certificate lists (or skip the check with --insecure, \
             for testing only)"
        }
        TlsErrorKind::Expired | TlsErrorKind::NotYetValid => {
            "; the server needs a current certificate (check this machine's clock too)"
        }
        TlsErrorKind::NotTls => "; is it a ws:// server?",
        _ => "",
    }
}

/// Says what the handshake settled: `connected to URL (subprotocol …, extensions …)`.
fn announce(console: &Console, url: &str, handshake: &HandshakeInfo) {
    let extensions = handshake
        .header("sec-websocket-extensions")
        .map(String::from_utf8_lossy);
    console.connected(url, handshake.subprotocol(), extensions.as_deref());
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

async fn session<R: AsyncRt>(start: Start<'_>, mut stop: oneshot::Receiver<()>) -> Exit {
    let Start {
        args,
        options,
        mut input,
        console,
        mut replies,
    } = start;
    let ws = match wsproto_async::connect_with::<R>(&args.url, options).await {
        Ok(ws) => ws,
        Err(error) => return connect_failed(&console, &args.url, &error),
    };
    announce(&console, &args.url, ws.handshake());
    let (mut reader, mut writer) = ws.into_split();
    // One-shot mode: the receiving side tells the sending side about each reply.
    let (arrived_tx, mut arrived) = unbounded();
    let arrived_tx = replies.is_some().then_some(arrived_tx);
    let mut progress = Progress::default();
    let mut input_end = None;
    let mut failure = None;
    {
        let one_shot = replies.as_mut().map(|replies| (replies, &mut arrived));
        let send = async {
            let end = pump(&mut writer, &mut input, &mut progress, &mut stop, one_shot).await;
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
        let receive = receive(&mut reader, &console, arrived_tx.as_ref(), &mut failure);
        select(pin!(receive), pin!(send)).await;
    }
    console.finish();
    Ending {
        input: input_end.unwrap_or_else(|| InputEnd::cut(&mut input, progress.in_flight)),
        closed_by_us: progress.closed_by_us,
        close_received: reader.close_received(),
        failure,
        missing_replies: replies.as_ref().and_then(Replies::missing),
    }
    .report()
}

/// The next input item, or how the input ended (a signal counts as an end).
async fn next_input(
    input: &mut Input,
    stop: &mut oneshot::Receiver<()>,
) -> Result<crate::input::Item, InputEnd> {
    match select(input.next(), pin!(interrupted(stop))).await {
        Either::Left((next, _)) => InputEnd::from_next(next),
        Either::Right(_) => Err(InputEnd::Interrupted),
    }
}

/// Sends the input until it ends (then, in one-shot mode, waits for the replies, and closes),
/// the user interrupts (then closes with 1000) or a send fails.
async fn pump<T: Transport>(
    writer: &mut WriteHalf<T>,
    input: &mut Input,
    progress: &mut Progress,
    stop: &mut oneshot::Receiver<()>,
    one_shot: Option<(&mut Replies, &mut UnboundedReceiver<()>)>,
) -> InputEnd {
    let end = loop {
        let item = match next_input(input, stop).await {
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
    let end = match (end, one_shot) {
        (InputEnd::Finished, Some((replies, arrived))) => {
            let quiet = pin!(replies.quiet::<T::Timer>(arrived));
            match select(quiet, pin!(interrupted(stop))).await {
                Either::Left(_) => InputEnd::Finished,
                Either::Right(_) => InputEnd::Interrupted,
            }
        }
        (end, _) => end,
    };
    let (code, reason) = end.close_code();
    // Queued by the first poll; the receiving side may finish writing it (and the session)
    // before this future is polled again, so record it first.
    progress.closed_by_us = Some(code);
    let closed = writer.close(code, reason).await;
    progress.closed_by_us = our_close(code, &closed);
    end
}

/// Shows what arrives until the connection is over (counting replies for one-shot mode);
/// keeps the first error.
async fn receive<T: Transport>(
    reader: &mut ReadHalf<T>,
    console: &Console,
    arrived: Option<&UnboundedSender<()>>,
    failure: &mut Option<Error>,
) {
    while let Some(event) = reader.next_event().await {
        match event {
            Ok(event) => {
                if let (Event::Message(_), Some(arrived)) = (&event, arrived) {
                    let _ = arrived.unbounded_send(());
                }
                console.event(&event);
            }
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
    }
}
