//! A WebSocket route on an axum server: `GET /` is a plain page, `/chat` upgrades with
//! `wsproto_tokio::http_upgrade`, which checks the request and negotiates the `chat`
//! subprotocol and permessage-deflate exactly as `wsproto_tokio::Server` would, then echoes.
//!
//! Run a real server with `cargo run -p wsproto-tokio --features hyper --example axum_chat --
//! 127.0.0.1:8080` (WebSocket clients on `ws://127.0.0.1:8080/chat`). Without an argument it
//! serves on a free port, connects a client offering `chat` and compression, exchanges a
//! message, and exits.

use std::error::Error;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use wsproto_tokio::{ClientConfig, CloseCode, DeflateConfig, ServerConfig, connect_with};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:0")).await?;
    let local = listener.local_addr()?;
    // One config for every upgrade, as a `Server` holds one.
    let config = ServerConfig::default()
        .subprotocol("chat")
        .deflate(Some(DeflateConfig::default()));
    let app = Router::new()
        .route(
            "/",
            get(|| async { "plain HTTP here; WebSocket on /chat\n" }),
        )
        .route("/chat", get(chat))
        .with_state(Arc::new(config));
    // Small messages must not wait for Nagle's algorithm: axum keeps the TCP stream, so the
    // option is set where it accepts.
    let listener = listener.tap_io(|tcp| drop(tcp.set_nodelay(true)));
    let serving = tokio::spawn(axum::serve(listener, app).into_future());
    if addr.is_none() {
        return demo(local).await;
    }
    println!("serving http://{local}/ and ws://{local}/chat");
    Ok(serving.await??)
}

async fn chat(State(config): State<Arc<ServerConfig>>, mut request: Request) -> Response {
    let (response, upgrading) = wsproto_tokio::http_upgrade(&mut request, &config);
    if let Some(upgrading) = upgrading {
        // hyper sends the 101 after this handler returns: the connection comes later.
        tokio::spawn(async move {
            let mut ws = match upgrading.await {
                Ok(ws) => ws,
                Err(error) => return eprintln!("upgrade failed: {error}"),
            };
            while let Some(Ok(message)) = ws.recv().await {
                // feed() batches replies; they leave when recv() would wait.
                if ws.feed(message).await.is_err() {
                    break;
                }
            }
        });
    }
    response
}

async fn demo(addr: SocketAddr) -> Result<()> {
    let config = ClientConfig::default()
        .subprotocol("chat")
        .deflate(Some(DeflateConfig::default()));
    let mut ws = connect_with(&format!("ws://{addr}/chat"), config).await?;
    println!("subprotocol: {:?}", ws.subprotocol());
    if ws.subprotocol() != Some("chat") {
        return Err("the chat subprotocol was not negotiated".into());
    }
    ws.send_text("hello through axum").await?;
    let echoed = ws.recv().await.ok_or("connection closed early")??;
    println!("websocket echo: {echoed:?}");
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}
