//! The echo servers: ours on each runtime and the crates.io peers.
//!
//! Every server prints `listening on ws://ADDR/` as its first stdout line, echoes every text
//! or binary message, and ignores connection errors (a load generator that stops simply
//! drops its sockets). Every tokio-based server runs on the same runtime flavour: a
//! current-thread runtime (one thread, as the matrix pins the server to one CPU anyway).
//! Every server sets `TCP_NODELAY` on accepted sockets (ours do it themselves).
//!
//! How each echoes is what its own documentation shows:
//! - wsproto (all runtimes): `recv` + `feed` — replies are queued and leave in one write when
//!   `recv` would wait (the cork from DESIGN.md).
//! - `tokio-tungstenite`: `next` + `send` per message (its autobahn-server example, and
//!   what most users write). `tokio-tungstenite-batched`: the same crate corked like ours
//!   (feed while input is ready, flush before waiting: what `StreamExt::forward` in its
//!   echo-server example does).
//! - `fastwebsockets`: `FragmentCollector` + `read_frame`/`write_frame` inside
//!   `tokio::task::unconstrained`, as its echo_server example; the HTTP upgrade is done by
//!   hand and the socket handed to `WebSocket::after_handshake` (no hyper in the data path).
//!   Its API writes every frame at once; there is no way to cork it.
//! - `tokio-websockets`: `next` + `send` inside `unconstrained`, as its echo_server example.
//!   It cannot be corked from outside: its `poll_next` flushes queued frames first thing, so
//!   a feed-then-flush-when-idle loop measures the same as this one (tried: same µs/msg).

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Poll, ready};

use futures_util::{Sink, SinkExt, Stream, StreamExt};

use crate::args::Args;
use crate::tally;

/// Every implementation `--impl` accepts, ours first.
pub(crate) const IMPLS: &[&str] = &[
    "wsproto-tokio",
    "wsproto-smol",
    "wsproto-async-std",
    "wsproto-blocking",
    "wsproto-tokio-live",
    "wsproto-smol-live",
    "tokio-tungstenite",
    "tokio-tungstenite-batched",
    "fastwebsockets",
    "tokio-websockets",
    "raw-tokio",
    "wsproto-tokio-wss",
    "tokio-tungstenite-wss",
    "tokio-tungstenite-batched-wss",
    "fastwebsockets-wss",
    "tokio-websockets-wss",
];

pub(crate) fn is_ours(name: &str) -> bool {
    name.starts_with("wsproto-")
}

/// Not a WebSocket library: the floor (see [`raw_tokio_server`]); never a "peer".
pub(crate) fn is_baseline(name: &str) -> bool {
    name == "raw-tokio"
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let name = args.req("impl")?;
    let bind = args.str("bind").unwrap_or("127.0.0.1:0").to_string();
    match name {
        "wsproto-tokio" => tokio_rt(wsproto_tokio_server(bind)),
        "wsproto-smol" => wsproto_smol_server(&bind),
        "wsproto-async-std" => wsproto_async_std_server(&bind),
        "wsproto-blocking" => wsproto_blocking_server(&bind),
        "wsproto-tokio-live" => tokio_rt(wsproto_tokio_live_server(bind)),
        "wsproto-smol-live" => wsproto_smol_live_server(&bind),
        "tokio-tungstenite" => tokio_rt(tungstenite_server(bind, false)),
        "tokio-tungstenite-batched" => tokio_rt(tungstenite_server(bind, true)),
        "fastwebsockets" => tokio_rt(fastwebsockets_server(bind)),
        "tokio-websockets" => tokio_rt(tokio_websockets_server(bind)),
        "raw-tokio" => tokio_rt(raw_tokio_server(bind)),
        "wsproto-tokio-wss" => tokio_rt(wsproto_tokio_wss_server(bind)),
        "tokio-tungstenite-wss" => tokio_rt(peer_wss_server(bind, |s| tungstenite_echo(s, false))),
        "tokio-tungstenite-batched-wss" => {
            tokio_rt(peer_wss_server(bind, |s| tungstenite_echo(s, true)))
        }
        "fastwebsockets-wss" => tokio_rt(peer_wss_server(bind, |s| {
            tokio::task::unconstrained(fastwebsockets_echo(s))
        })),
        "tokio-websockets-wss" => tokio_rt(peer_wss_server(bind, |s| {
            tokio::task::unconstrained(tokio_websockets_echo(s))
        })),
        other => Err(format!(
            "unknown --impl {other:?}; one of {}",
            IMPLS.join(", ")
        )),
    }
}

fn listening(url: &str) {
    // stdout is line-buffered: the parent sees this line at once.
    println!("listening on {url}");
}

/// The one tokio flavour all tokio-based servers share.
fn tokio_rt(server: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?
        .block_on(server)
}

// ----- ours -------------------------------------------------------------------------------

/// What each of our async servers runs per connection: every message straight back until
/// the connection ends; an error that ends it is tallied (the runtimes' `WebSocket` types
/// differ, so a macro rather than a function).
macro_rules! echo_until_end {
    ($ws:ident) => {
        while let Some(received) = $ws.recv().await {
            let sent = match received {
                Ok(message) => $ws.feed(message).await,
                Err(error) => Err(error),
            };
            if let Err(error) = sent {
                tally::note("server connection", &error);
                break;
            }
        }
    };
}

async fn wsproto_tokio_server(bind: String) -> Result<(), String> {
    let mut server = wsproto_tokio::Server::bind_with(bind.as_str(), tally::server_config())
        .await
        .map_err(|e| format!("bind {bind}: {e}"))?;
    listening(&server.url());
    loop {
        let mut ws = server.accept().await.map_err(|e| format!("accept: {e}"))?;
        tokio::spawn(async move {
            echo_until_end!(ws);
        });
    }
}

/// Ours with a background-driven connection: a task owns the socket (`spawn`), the echo
/// task receives from `Events` and sends through the `Handle`, as a live-connection user
/// writes it.
async fn wsproto_tokio_live_server(bind: String) -> Result<(), String> {
    let mut server = wsproto_tokio::Server::bind(bind.as_str())
        .await
        .map_err(|e| format!("bind {bind}: {e}"))?;
    listening(&server.url());
    loop {
        let ws = server.accept().await.map_err(|e| format!("accept: {e}"))?;
        let (handle, mut events) = ws.spawn::<wsproto_tokio::Tokio>();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let wsproto_tokio::LiveEvent::Message(message) = event
                    && handle.send(message).await.is_err()
                {
                    break;
                }
            }
        });
    }
}

/// [`wsproto_tokio_live_server`] on smol's local executor (`into_live` runs the
/// connection's task there instead of on smol's global executor).
fn wsproto_smol_live_server(bind: &str) -> Result<(), String> {
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let mut server = wsproto_smol::Server::bind(bind)
            .await
            .map_err(|e| format!("bind {bind}: {e}"))?;
        listening(&server.url());
        loop {
            let ws = server.accept().await.map_err(|e| format!("accept: {e}"))?;
            let (handle, mut events, task) = ws.into_live(&wsproto_smol::LiveConfig::default());
            ex.spawn(task).detach();
            ex.spawn(async move {
                while let Some(event) = events.recv().await {
                    if let wsproto_smol::LiveEvent::Message(message) = event
                        && handle.send(message).await.is_err()
                    {
                        break;
                    }
                }
            })
            .detach();
        }
    }))
}

/// Ours over TLS: the same echo, the certificate and cipher of [`crate::wss`].
async fn wsproto_tokio_wss_server(bind: String) -> Result<(), String> {
    let tls = wsproto_tokio::ServerTls::from_config(crate::wss::server_config()?);
    let config = wsproto_tokio::ServerConfig::default().tls(tls);
    let mut server = wsproto_tokio::Server::bind_with(bind.as_str(), config)
        .await
        .map_err(|e| format!("bind {bind}: {e}"))?;
    listening(&server.url());
    loop {
        let mut ws = server.accept().await.map_err(|e| format!("accept: {e}"))?;
        tokio::spawn(async move {
            while let Some(Ok(message)) = ws.recv().await {
                if ws.feed(message).await.is_err() {
                    break;
                }
            }
        });
    }
}

fn wsproto_smol_server(bind: &str) -> Result<(), String> {
    // A local executor on this one thread (smol's global executor would add threads).
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let mut server = wsproto_smol::Server::bind_with(bind, tally::server_config())
            .await
            .map_err(|e| format!("bind {bind}: {e}"))?;
        listening(&server.url());
        loop {
            let mut ws = server.accept().await.map_err(|e| format!("accept: {e}"))?;
            ex.spawn(async move {
                echo_until_end!(ws);
            })
            .detach();
        }
    }))
}

fn wsproto_async_std_server(bind: &str) -> Result<(), String> {
    // async-std runs tasks on its global executor; the matrix sets ASYNC_STD_THREAD_COUNT=1.
    async_std::task::block_on(async {
        let mut server = wsproto_async_std::Server::bind_with(bind, tally::server_config())
            .await
            .map_err(|e| format!("bind {bind}: {e}"))?;
        listening(&server.url());
        loop {
            let mut ws = server.accept().await.map_err(|e| format!("accept: {e}"))?;
            async_std::task::spawn(async move {
                echo_until_end!(ws);
            });
        }
    })
}

fn wsproto_blocking_server(bind: &str) -> Result<(), String> {
    let server = wsproto_blocking::Server::bind_with(bind, tally::server_config())
        .map_err(|e| format!("bind {bind}: {e}"))?;
    listening(&server.url());
    loop {
        let mut ws = server.accept().map_err(|e| format!("accept: {e}"))?;
        // A thread per connection with the default stack, as the crate's docs show.
        std::thread::Builder::new()
            .spawn(move || {
                while let Some(received) = ws.recv() {
                    if let Err(error) = received.and_then(|message| ws.feed(message)) {
                        tally::note("server connection", &error);
                        break;
                    }
                }
            })
            .map_err(|e| format!("spawn: {e}"))?;
    }
}

// ----- peers ------------------------------------------------------------------------------

async fn bind_tokio(bind: &str) -> Result<tokio::net::TcpListener, String> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("bind {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    listening(&format!("ws://{addr}/"));
    Ok(listener)
}

async fn tungstenite_server(bind: String, batched: bool) -> Result<(), String> {
    let listener = bind_tokio(&bind).await?;
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(|e| format!("accept: {e}"))?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(tungstenite_echo(stream, batched));
    }
}

/// A peer's echo over TLS: tokio-rustls accepts, then `echo` runs on the TLS stream.
async fn peer_wss_server<F, Fut>(bind: String, echo: F) -> Result<(), String>
where
    F: Fn(tokio_rustls::server::TlsStream<tokio::net::TcpStream>) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let acceptor = crate::wss::acceptor()?;
    let listener = tokio::net::TcpListener::bind(bind.as_str())
        .await
        .map_err(|e| format!("bind {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    listening(&format!("wss://{addr}/"));
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(|e| format!("accept: {e}"))?;
        let acceptor = acceptor.clone();
        // The TLS handshake runs in the connection's task, as in tokio-rustls's examples.
        tokio::spawn(async move {
            if let Some(tls) = crate::wss::accept(&acceptor, stream).await {
                echo(tls).await;
            }
        });
    }
}

async fn tungstenite_echo<S>(stream: S, batched: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio_tungstenite::tungstenite::Message;
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    if batched {
        let _ = echo_corked(&mut ws, |m: &Message| m.is_binary() || m.is_text()).await;
    } else {
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_binary() || message.is_text()) && ws.send(message).await.is_err() {
                break;
            }
        }
    }
}

async fn fastwebsockets_server(bind: String) -> Result<(), String> {
    let listener = bind_tokio(&bind).await?;
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(|e| format!("accept: {e}"))?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(tokio::task::unconstrained(fastwebsockets_echo(stream)));
    }
}

async fn fastwebsockets_echo<S>(mut stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    if crate::handshake::server(&mut stream).await.is_err() {
        return;
    }
    let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
    loop {
        let Ok(frame) = ws.read_frame().await else {
            break;
        };
        let is_data = matches!(frame.opcode, OpCode::Text | OpCode::Binary);
        if frame.opcode == OpCode::Close || (is_data && ws.write_frame(frame).await.is_err()) {
            break;
        }
    }
}

async fn tokio_websockets_server(bind: String) -> Result<(), String> {
    let listener = bind_tokio(&bind).await?;
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(|e| format!("accept: {e}"))?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(tokio::task::unconstrained(tokio_websockets_echo(stream)));
    }
}

async fn tokio_websockets_echo<S>(stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio_websockets::ServerBuilder;
    let Ok((_request, mut ws)) = ServerBuilder::new().accept(stream).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_binary() || message.is_text()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

// ----- the floor --------------------------------------------------------------------------

/// The least a tokio WebSocket echo can do: read whatever arrived, turn every complete
/// client frame into the unmasked server frame (same opcode and FIN), write them all in one
/// `write_all`, read again. No validation, no limits, no close handshake, no library — the
/// syscall and runtime cost only (DESIGN.md's "minimal tokio echo that batches").
async fn raw_tokio_server(bind: String) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = bind_tokio(&bind).await?;
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| format!("accept: {e}"))?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            if crate::handshake::server(&mut stream).await.is_err() {
                return;
            }
            let mut input: Vec<u8> = Vec::with_capacity(16 * 1024);
            let mut output: Vec<u8> = Vec::with_capacity(16 * 1024);
            loop {
                if input.capacity() - input.len() < 8 * 1024 {
                    input.reserve(8 * 1024);
                }
                match stream.read_buf(&mut input).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let mut at = 0;
                while let Some((used, closing)) = raw_echo_frame(&input[at..], &mut output) {
                    at += used;
                    if closing {
                        let _ = stream.write_all(&output).await;
                        return;
                    }
                }
                input.drain(..at);
                if !output.is_empty() {
                    if stream.write_all(&output).await.is_err() {
                        return;
                    }
                    output.clear();
                }
            }
        });
    }
}

/// Appends the echo of the first complete client frame in `input` to `output`; returns
/// (bytes used, whether it was a Close), or `None` if no complete frame is there yet.
fn raw_echo_frame(input: &[u8], output: &mut Vec<u8>) -> Option<(usize, bool)> {
    let (b0, b1) = (*input.first()?, *input.get(1)?);
    let (ext, len) = match b1 & 0x7f {
        126 => (
            2,
            u64::from(u16::from_be_bytes(input.get(2..4)?.try_into().ok()?)),
        ),
        127 => (8, u64::from_be_bytes(input.get(2..10)?.try_into().ok()?)),
        n => (0, u64::from(n)),
    };
    let len = usize::try_from(len).ok()?;
    let head = 2 + ext + 4;
    let payload = input.get(head..head + len)?;
    let mask: [u8; 4] = input[2 + ext..head].try_into().ok()?;
    output.push(b0);
    output.push(b1 & 0x7f);
    output.extend_from_slice(&input[2..2 + ext]);
    let start = output.len();
    output.extend_from_slice(payload);
    // Unmask a word at a time.
    let mask8 = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut words = output[start..].chunks_exact_mut(8);
    for word in &mut words {
        let x = u64::from_ne_bytes((&*word).try_into().unwrap_or_default()) ^ mask8;
        word.copy_from_slice(&x.to_ne_bytes());
    }
    for (i, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i & 3];
    }
    Some((head + len, b0 & 0x0f == 8))
}

/// Echo over any `Stream + Sink` of messages, corked: queue (`start_send`) every message that
/// is ready, flush only when the stream would wait — `StreamExt::forward` without `split`.
async fn echo_corked<W, M, E>(ws: &mut W, is_data: impl Fn(&M) -> bool) -> Result<(), E>
where
    W: Stream<Item = Result<M, E>> + Sink<M, Error = E> + Unpin,
{
    let mut pending: Option<M> = None;
    poll_fn(|cx| {
        loop {
            if pending.is_some() {
                ready!(Pin::new(&mut *ws).poll_ready(cx))?;
                if let Some(message) = pending.take() {
                    Pin::new(&mut *ws).start_send(message)?;
                }
            }
            match Pin::new(&mut *ws).poll_next(cx) {
                Poll::Ready(Some(Ok(message))) => {
                    if is_data(&message) {
                        pending = Some(message);
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    ready!(Pin::new(&mut *ws).poll_flush(cx))?;
                    return Poll::Pending;
                }
            }
        }
    })
    .await
}
