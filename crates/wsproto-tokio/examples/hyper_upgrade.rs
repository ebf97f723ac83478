//! WebSocket next to plain HTTP on one port, with hyper 1.x doing the HTTP: hyper parses the
//! request and writes the response `wsproto_tokio::http_upgrade` decided (a 101 or a
//! refusal, exactly as `wsproto_tokio::Server` would answer), then the upgraded connection
//! echoes messages. Other requests get a text page. Behind hyper's `http1::Builder` over
//! `TokioIo<TcpStream>`, the TCP stream is taken back from hyper with `TCP_NODELAY` set.
//!
//! Run a real server with `cargo run -p wsproto-tokio --features hyper --example hyper_upgrade -- 127.0.0.1:8080`
//! (`curl http://127.0.0.1:8080/` for the page, WebSocket clients on `ws://127.0.0.1:8080/`).
//! Without an argument it serves on a free port, fetches the page, exchanges a WebSocket
//! message, and exits.

use std::error::Error;
use std::net::SocketAddr;

use futures_util::TryFutureExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto_tokio::{CloseCode, ServerConfig, UpgradedWebSocket, connect};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;
type HttpResult = hyper::http::Result<Response<Full<Bytes>>>;

const PAGE: &str = "plain HTTP here; WebSocket clients get echoes\n";

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

async fn handle(mut request: Request<Incoming>) -> HttpResult {
    if !request.headers().contains_key(header::UPGRADE) {
        return text(StatusCode::OK, PAGE.to_owned());
    }
    // The same checks and negotiation as wsproto_tokio::Server: a 101, or the refusal
    // (426 naming version 13, 405, ...) for hyper to send.
    let (response, upgrading) = wsproto_tokio::http_upgrade(&mut request, &ServerConfig::default());
    if let Some(upgrading) = upgrading {
        // Resolves once hyper has written the 101 returned below, so it is awaited in a task.
        tokio::spawn(async move {
            match upgrading.await {
                Ok(ws) => echo(ws).await,
                Err(error) => eprintln!("upgrade failed: {error}"),
            }
        });
    }
    Ok(response)
}

async fn echo(mut ws: UpgradedWebSocket) {
    while let Some(received) = ws.recv().await {
        // After an error the next `recv` sends the Close the engine queued for it, then ends.
        if let Ok(message) = received.inspect_err(|error| eprintln!("websocket: {error}"))
            && ws.feed(message).await.is_err()
        {
            break;
        }
    }
}

fn text(status: StatusCode, body: String) -> HttpResult {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
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
