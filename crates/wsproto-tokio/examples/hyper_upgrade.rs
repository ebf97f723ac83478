//! WebSocket next to plain HTTP on one port, with hyper 1.x doing the HTTP: hyper parses the
//! request and writes our `101 Switching Protocols`, then the upgraded connection is wrapped
//! with `wsproto_tokio::from_upgraded` and echoes messages. Other requests get a text page.
//!
//! hyper knows nothing of WebSocket: the handler hands the parsed request to
//! `wsproto_core::handshake::Request::from_parts`, which applies the RFC 6455 §4.2.1 checks
//! (method, `Upgrade`, `Connection`, a 16-byte key, version 13) and yields the accept key, or
//! an error carrying the HTTP status to answer with.
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
use hyper::header;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto_core::handshake::Request as WsRequest;
use wsproto_tokio::{CloseCode, Config, Limits, Role, connect};

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

async fn handle(request: Request<Incoming>) -> HttpResult {
    if !request.headers().contains_key(header::UPGRADE) {
        return text(StatusCode::OK, PAGE.to_owned());
    }
    // hyper parsed the request; wsproto-core checks it as RFC 6455 §4.2.1 asks.
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let upgrade = match WsRequest::from_parts(
        request.method().as_str(),
        &request.uri().to_string(),
        headers,
    ) {
        Ok(upgrade) => upgrade,
        Err(error) => {
            let status = error
                .http_status()
                .and_then(|s| StatusCode::from_u16(s).ok());
            let mut response = text(
                status.unwrap_or(StatusCode::BAD_REQUEST),
                format!("{error}\n"),
            )?;
            if response.status() == StatusCode::UPGRADE_REQUIRED {
                // RFC 6455 §4.4: a version we cannot speak is answered with the one we can.
                let thirteen = header::HeaderValue::from_static("13");
                response
                    .headers_mut()
                    .insert(header::SEC_WEBSOCKET_VERSION, thirteen);
            }
            return Ok(response);
        }
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
        .header(header::SEC_WEBSOCKET_ACCEPT, upgrade.accept_key())
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
