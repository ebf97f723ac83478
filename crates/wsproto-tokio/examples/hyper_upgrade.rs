//! WebSocket next to plain HTTP on one port, with hyper 1.x doing the HTTP: hyper parses the
//! request and writes our `101 Switching Protocols`, then the upgraded connection is wrapped
//! with `wsproto_tokio::from_upgraded` and echoes messages. Other requests get a text page.
//!
//! hyper knows nothing of WebSocket, so the handler checks what RFC 6455 §4.2.1 asks: `GET`,
//! `Upgrade: websocket`, `Connection: upgrade`, `Sec-WebSocket-Version: 13` (else 426) and a
//! 16-byte base64 `Sec-WebSocket-Key`, answered with `wsproto_core::handshake::accept_key`.
//!
//! Run a real server with `cargo run -p wsproto-tokio --example hyper_upgrade -- 127.0.0.1:8080`
//! (`curl http://127.0.0.1:8080/` for the page, WebSocket clients on `ws://127.0.0.1:8080/`).
//! Without an argument it serves on a free port, fetches the page, exchanges a WebSocket
//! message, and exits.

use std::error::Error;
use std::net::SocketAddr;

use futures_util::TryFutureExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderName};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto_core::handshake::accept_key;
use wsproto_tokio::{CloseCode, Config, Limits, Role, connect};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;
type HttpResult = hyper::http::Result<Response<Full<Bytes>>>;

const PAGE: &str = "plain HTTP here; WebSocket clients get echoes\n";
const BAD_UPGRADE: &str = "an upgrade needs GET, Connection: upgrade and a 16-byte base64 key\n";

#[tokio::main]
async fn main() -> Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:0")).await?;
    let local = listener.local_addr()?;
    let serving = tokio::spawn(serve(listener));
    if addr.is_none() {
        return demo(local).await;
    }
    println!("serving http://{local}/ and ws://{local}/");
    serving.await?
}

async fn serve(listener: TcpListener) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let connection = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service_fn(handle))
            .with_upgrades();
        tokio::spawn(connection.inspect_err(|error| eprintln!("http connection: {error}")));
    }
}

async fn handle(request: Request<Incoming>) -> HttpResult {
    let headers = request.headers();
    if !has_token(headers, header::UPGRADE, "websocket") {
        return text(StatusCode::OK, PAGE);
    }
    let version = headers.get(header::SEC_WEBSOCKET_VERSION);
    if version.is_none_or(|version| version != "13") {
        // RFC 6455 §4.4: refuse, naming the version we speak.
        return Response::builder()
            .status(StatusCode::UPGRADE_REQUIRED)
            .header(header::SEC_WEBSOCKET_VERSION, "13")
            .body(Full::default());
    }
    let upgrade = has_token(headers, header::CONNECTION, "upgrade");
    let accept = match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(key) if upgrade && request.method() == Method::GET && is_valid_key(key.as_bytes()) => {
            accept_key(key.as_bytes())
        }
        _ => return text(StatusCode::BAD_REQUEST, BAD_UPGRADE),
    };
    // Resolves once hyper has written the 101 returned below, so it is awaited in a task.
    let upgrading = hyper::upgrade::on(request);
    tokio::spawn(async move {
        match upgrading.await {
            Ok(upgraded) => echo(TokioIo::new(upgraded)).await,
            Err(error) => eprintln!("upgrade failed: {error}"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::default())
}

async fn echo(io: TokioIo<Upgraded>) {
    // Bytes hyper read past the request are replayed by `Upgraded` itself: no leftover.
    let (config, limits) = (Config::default(), Limits::default());
    let mut ws = wsproto_tokio::from_upgraded(io, Role::Server, config, limits, &[]);
    while let Some(received) = ws.recv().await {
        // After an error the next `recv` sends the Close the engine queued for it, then ends.
        if let Ok(message) = received.inspect_err(|error| eprintln!("websocket: {error}"))
            && ws.feed(message).await.is_err()
        {
            break;
        }
    }
}

/// Whether the comma-separated lists in the `name` headers hold `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// 16 bytes in base64 are 22 characters of the alphabet and `==` (RFC 6455 §4.1 point 7).
fn is_valid_key(key: &[u8]) -> bool {
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    key.len() == 24 && key.ends_with(b"==") && key[..22].iter().all(alphabet)
}

fn text(status: StatusCode, body: &'static str) -> HttpResult {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
}

/// A plain GET by hand, then a WebSocket echo through the same server.
async fn demo(addr: SocketAddr) -> Result<()> {
    let mut http = TcpStream::connect(addr).await?;
    http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut page = String::new();
    http.read_to_string(&mut page).await?;
    println!("plain GET: {}", page.lines().next().unwrap_or_default());
    if !page.starts_with("HTTP/1.1 200 OK\r\n") {
        return Err(format!("expected 200 OK, got {page:?}").into());
    }
    let mut ws = connect(&format!("ws://{addr}/")).await?;
    ws.send_text("hello through hyper").await?;
    let echoed = ws.recv().await.ok_or("connection closed early")??;
    println!("websocket echo: {echoed:?}");
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}
