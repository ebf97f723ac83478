//! The README's "Parity across adapters" table, checked instead of kept by hand: every row
//! it shows must be one of [`ROWS`] with the same marks, and every mark in [`ROWS`] that
//! claims an API is backed by code below that uses that API on that adapter — so the table
//! cannot promise what does not compile, and a row cannot be added or changed without this
//! file. (Rows about behaviour, not names, are covered by the tests named beside them.)

use std::path::Path;
use std::time::Duration;

/// Each row of the table: its first cell, then tokio, smol, async-std, blocking.
const ROWS: &[(&str, [&str; 4])] = &[
    (
        "`connect`, `connect_with(ClientConfig)`, `client_over(stream)`",
        ["✓", "✓", "✓", "✓"],
    ),
    (
        "`Server::bind`/`bind_with`, `accept`, `url`, `local_addr`",
        ["✓", "✓", "✓", "✓"],
    ),
    (
        "`accept_stream`, `from_upgraded` (hyper/axum)",
        ["✓", "✓", "✓", "✓"],
    ),
    // `http_upgrade` itself: crates/wsproto-tokio/tests/http_upgrade.rs (real axum and hyper).
    (
        "`HttpUpgrade` + `from_http_upgrade` (another HTTP stack upgrades, we negotiate)",
        ["✓ (+ `http_upgrade` for hyper/axum)", "—", "—", "✓"],
    ),
    (
        "`wss://` client and server (`ClientConfig::tls`, `ServerConfig::tls`, certificate reload)",
        ["✓", "✓", "✓", "✓"],
    ),
    // Behaviour: tests/tests/proxies.rs (tinyproxy and microsocks, every client adapter).
    (
        "clients through HTTP `CONNECT` and SOCKS5 proxies (`ClientConfig::proxy`, `Proxy::from_env`)",
        ["✓", "✓", "✓", "✓"],
    ),
    // Behaviour: tests/tests/async_adapters.rs (handshakes_progress_while_the_application_is_not_in_accept)
    // and the blocking server's handshake threads.
    (
        "handshakes in tasks of their own (progress outside `accept`)",
        ["✓", "✓", "✓", "✓ (threads)"],
    ),
    ("pause/resume accepting", ["✓", "✓", "✓", "✓"]),
    (
        "`ServerConfig::on_failed_handshake` (peer + reason), `response_header`",
        ["✓", "✓", "✓", "✓"],
    ),
    (
        "graceful shutdown (1001 to every connection)",
        ["✓", "✓", "✓", "✓"],
    ),
    (
        "`recv`, `next_event`, `send`, `feed`, `send_fragment`, `ping`, `flush`",
        ["✓", "✓", "✓", "✓"],
    ),
    (
        "`close` (waits for the peer), `start_close`, `abort`",
        ["✓", "✓", "✓", "✓"],
    ),
    (
        "`Stream` + `Sink`, `into_split()` into two tasks",
        ["✓", "✓", "✓", "`Iterator`"],
    ),
    (
        "`pong`, `is_open`, `close_code`, `close_reason`",
        ["✓", "✓", "✓", "✓"],
    ),
    // Behaviour: tests/tests/live.rs (every async runtime), live_blocking.rs.
    (
        "background task with a cloneable `Handle` and `Events` (`spawn`)",
        ["✓", "✓", "✓", "✓ (thread)"],
    ),
    (
        "reconnecting client (`connect_live`, `ReconnectPolicy`)",
        ["✓", "✓", "✓", "✓ (thread)"],
    ),
    ("`poll_next_event(wait)`", ["—", "—", "—", "✓"]),
    (
        "`into_byte_stream()`: read/write/buf-read views, half-close",
        ["✓", "✓", "✓", "✓"],
    ),
];

/// The parity table's rows as the README shows them.
fn readme_rows() -> Vec<(String, Vec<String>)> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&readme).expect("README.md");
    let table = text
        .split("### Parity across adapters")
        .nth(1)
        .expect("the README has a parity table");
    table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and the alignment row
        .map(|line| {
            let mut cells = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned());
            let first = cells.next().unwrap_or_default();
            (first, cells.collect())
        })
        .collect()
}

#[test]
fn the_readme_parity_table_is_the_checked_one() {
    let shown = readme_rows();
    let checked: Vec<(String, Vec<String>)> = ROWS
        .iter()
        .map(|(name, marks)| {
            (
                (*name).to_owned(),
                marks.iter().map(|m| (*m).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(
        shown, checked,
        "README parity table and tests/tests/parity.rs disagree"
    );
}

/// Uses, without running it, every API a ✓ claims for one async adapter.
macro_rules! async_surface {
    ($name:ident, $adapter:ident, $runtime:ident, $stream:ty) => {
        #[allow(dead_code, unused_must_use, clippy::let_underscore_future)]
        async fn $name(stream: $stream, other: $stream, tls: $adapter::ServerTls) {
            use futures_util::{SinkExt, StreamExt};
            use $adapter::{
                ClientConfig, ClientTls, CloseCode, Config, Limits, Message, MessageKind, Role,
                Server, ServerConfig,
            };
            // Connecting, over TCP or a stream of your own; TLS settings.
            let proxy = $adapter::Proxy::from_env("wss://example.com/").unwrap();
            let options = ClientConfig::default()
                .tls(ClientTls::default())
                .proxy(proxy.unwrap_or($adapter::Proxy::socks5("socks5h://p").unwrap()));
            let mut ws = $adapter::connect_with("wss://example.com/", options)
                .await
                .unwrap();
            $adapter::connect("ws://example.com/").await;
            $adapter::client_over(stream, "ws://example.com/", ClientConfig::default()).await;
            // Serving: bind, accept, url, address, pause/resume, the failed-handshake hook,
            // response headers, TLS with renewal, graceful shutdown.
            let config = ServerConfig::default()
                .tls(tls.clone())
                .response_header("X-A", "1")
                .on_failed_handshake(|_peer, _error| {});
            tls.reload_pem(b"", b"");
            let mut server = Server::bind_with("127.0.0.1:0", config).await.unwrap();
            let _ = (
                server.url(),
                server.local_addr(),
                Server::bind("127.0.0.1:0"),
            );
            server.pause_accepting();
            server.resume_accepting();
            let _accepted = server.accept().await;
            server.shutdown(Duration::from_secs(1)).await;
            $adapter::accept_stream(other, &ServerConfig::default()).await;
            // The connection.
            ws.recv().await;
            ws.next_event().await;
            ws.send(Message::text("a")).await;
            ws.feed(Message::text("a")).await;
            ws.send_fragment(MessageKind::Text, b"a", true).await;
            ws.ping(b"p").await;
            ws.flush().await;
            ws.start_close(CloseCode::NORMAL, "").await;
            ws.close(CloseCode::NORMAL, "").await;
            ws.abort().await;
            ws.send(Message::text("a")).await;
            let _ = SinkExt::send(&mut ws, Message::text("a"));
            let _ = StreamExt::next(&mut ws);
            ws.pong(b"p").await;
            let _ = (ws.is_open(), ws.close_code(), ws.close_reason());
            let (_read, _write) = ws.into_split();
            // Live connections: a background task, a reconnecting client.
            let ws = $adapter::connect("ws://example.com/").await.unwrap();
            let (handle, mut events) = ws.spawn::<$adapter::$runtime>();
            handle.send_text("a").await;
            handle.pong(&b"p"[..]).await;
            let _ = (handle.is_open(), handle.close_code(), handle.state());
            events.recv().await;
            let live = $adapter::LiveConfig::new().reconnect($adapter::ReconnectPolicy::new());
            let _ = $adapter::connect_live("ws://example.com/", ClientConfig::default, &live);
            // The byte-stream view, with the runtime's own I/O traits.
            let accepted = Server::bind("127.0.0.1:0")
                .await
                .unwrap()
                .accept()
                .await
                .unwrap();
            let mut bytes = accepted
                .into_byte_stream()
                .text_messages(wsproto_core::byte_stream::TextMessages::PassThrough);
            let _ = std::future::poll_fn(|cx| bytes.poll_read(cx, &mut [0; 4])).await;
            let _ = std::future::poll_fn(|cx| bytes.poll_write(cx, b"a")).await;
            let _ = std::future::poll_fn(|cx| bytes.poll_shutdown(cx)).await;
            let _ = bytes.close_received();
            let _ = Role::Server;
            let _ = (Config::default(), Limits::default());
        }
    };
}

async_surface!(tokio_surface, wsproto_tokio, Tokio, tokio::net::TcpStream);
async_surface!(smol_surface, wsproto_smol, Smol, smol::net::TcpStream);
async_surface!(
    async_std_surface,
    wsproto_async_std,
    AsyncStd,
    wsproto_async_std::TcpStream
);

/// `from_upgraded` on each async adapter.
#[allow(dead_code)]
fn from_upgraded_surface(
    tokio: tokio::net::TcpStream,
    smol: smol::net::TcpStream,
    async_std: wsproto_async_std::TcpStream,
) {
    use wsproto_core::{Config, Limits, Role};
    let _ = wsproto_tokio::from_upgraded(
        tokio,
        Role::Server,
        Config::default(),
        Limits::default(),
        &[],
    );
    let _ = wsproto_smol::from_upgraded(
        smol,
        Role::Server,
        Config::default(),
        Limits::default(),
        &[],
    );
    let _ = wsproto_async_std::from_upgraded(
        async_std,
        Role::Server,
        Config::default(),
        Limits::default(),
        &[],
    );
}

/// `from_http_upgrade` where the table claims it (tokio's generic `WebSocket`, blocking).
#[allow(dead_code)]
fn from_http_upgrade_surface(
    tokio: tokio::net::TcpStream,
    blocking: std::net::TcpStream,
    upgrades: [wsproto_tokio::HttpUpgrade; 2],
) {
    let [first, second] = upgrades;
    let _: wsproto_tokio::WebSocket<_> =
        wsproto_tokio::WebSocket::from_http_upgrade(wsproto_tokio::TokioIo::new(tokio), first, &[]);
    let _ = wsproto_blocking::WebSocket::from_http_upgrade(blocking, second, &[]);
}

/// Each async adapter's byte stream has its runtime's own I/O traits.
#[allow(dead_code)]
fn byte_stream_traits() {
    fn tokio_io<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + tokio::io::AsyncBufRead>() {}
    fn futures_io<
        T: futures_util::io::AsyncRead + futures_util::io::AsyncWrite + futures_util::io::AsyncBufRead,
    >() {
    }
    tokio_io::<wsproto_tokio::TcpByteStream>();
    futures_io::<wsproto_smol::TcpByteStream>();
    futures_io::<wsproto_async_std::TcpByteStream>();
}

/// Every API a mark claims for the blocking adapter.
#[allow(dead_code, unused_must_use)]
fn blocking_surface(
    stream: std::net::TcpStream,
    other: std::net::TcpStream,
    tls: wsproto_blocking::ServerTls,
) {
    use wsproto_blocking::{
        ClientConfig, ClientTls, CloseCode, Config, Limits, Message, MessageKind, Role, Server,
        ServerConfig, ShutdownSignal, WebSocket,
    };
    let proxy = wsproto_blocking::Proxy::http("http://p:3128").unwrap();
    let options = ClientConfig::default()
        .tls(ClientTls::default())
        .proxy(proxy);
    let mut ws = wsproto_blocking::connect_with("wss://example.com/", options).unwrap();
    wsproto_blocking::connect("ws://example.com/");
    wsproto_blocking::client_over(
        stream.try_clone().unwrap(),
        "ws://example.com/",
        ClientConfig::default(),
    );
    let config = ServerConfig::default()
        .tls(tls.clone())
        .response_header("X-A", "1")
        .on_failed_handshake(|_peer, _error| {});
    tls.reload_pem(b"", b"");
    let server = Server::bind_with("127.0.0.1:0", config).unwrap();
    let _ = (
        server.url(),
        server.local_addr(),
        Server::bind("127.0.0.1:0"),
    );
    let _accepted = server.accept();
    server.pause_accepting();
    server.resume_accepting();
    let _ = server.is_accepting();
    wsproto_blocking::accept_stream(other, &ServerConfig::default());
    let _ = WebSocket::from_upgraded(
        stream,
        Role::Server,
        Config::default(),
        Limits::default(),
        &[],
    );
    ws.attach_shutdown(ShutdownSignal::new().watch());
    ws.recv();
    ws.next_event();
    ws.poll_next_event(Duration::from_millis(1));
    ws.send(Message::text("a"));
    ws.feed(Message::text("a"));
    ws.send_fragment(MessageKind::Text, b"a", true);
    ws.ping(b"p");
    ws.flush();
    ws.pong(b"p");
    let _ = (ws.is_open(), ws.close_code(), ws.close_reason());
    let live = wsproto_blocking::connect("ws://example.com/").unwrap();
    let (handle, mut events) = live.spawn();
    handle.send_text("a");
    handle.pong(&b"p"[..]);
    let _ = (handle.is_open(), handle.close_code(), handle.state());
    events.recv();
    let config =
        wsproto_blocking::LiveConfig::new().reconnect(wsproto_blocking::ReconnectPolicy::new());
    let _ = wsproto_blocking::connect_live("ws://example.com/", ClientConfig::default, &config);
    ws.start_close(CloseCode::NORMAL, "");
    ws.close(CloseCode::NORMAL, "");
    ws.abort();
    for _message in &mut ws {}
    let mut bytes = server
        .accept()
        .unwrap()
        .into_byte_stream()
        .text_messages(wsproto_core::byte_stream::TextMessages::PassThrough);
    let _ = std::io::Read::read(&mut bytes, &mut [0; 4]);
    let _ = std::io::Write::write(&mut bytes, b"a");
    let _ = std::io::BufRead::fill_buf(&mut bytes);
    let _ = bytes.shutdown();
    server.shutdown(Duration::from_secs(1));
}
