//! `http_upgrade` on real axum and hyper servers: a real client offering permessage-deflate
//! and subprotocols gets the same negotiation as from `wsproto_tokio::Server`, the 101
//! carries the headers RFC 6455 asks for, compressed messages flow both ways, and invalid
//! requests get the refusals our servers send (426 naming version 13, 405 with `Allow`, the
//! request check's own answer). Behind hyper's own `TokioIo<TcpStream>` the TCP stream is
//! taken back with `TCP_NODELAY`; behind axum (whose connections hyper-util wraps) it stays
//! hyper's.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::any;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto_tokio::{
    ClientConfig, CloseCode, DeflateConfig, HttpResponse, HttpUpgrading, Message, ServerConfig,
    UpgradedStream, connect_with,
};

/// Serves `/chat` with `http_upgrade` on axum (with TCP_NODELAY set where axum accepts).
async fn serve_axum(config: ServerConfig) -> SocketAddr {
    use axum::serve::ListenerExt as _;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let route = |State(config): State<Arc<ServerConfig>>, request: axum::extract::Request| async move {
        answer::<_, axum::body::Body>(request, &config)
    };
    let app = Router::new()
        .route("/chat", any(route))
        .with_state(Arc::new(config));
    let listener = listener.tap_io(|tcp| drop(tcp.set_nodelay(true)));
    tokio::spawn(axum::serve(listener, app).into_future());
    addr
}

/// Serves every path with `http_upgrade` on a bare hyper HTTP/1.1 server.
async fn serve_hyper(config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Arc::new(config);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let config = Arc::clone(&config);
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let response = answer::<_, Full<Bytes>>(request, &config);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let io = hyper_util::rt::TokioIo::new(tcp);
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(io, service)
                    .with_upgrades(),
            );
        }
    });
    addr
}

/// The route: answers with `http_upgrade`, and echoes on the connection it yields.
fn answer<B, R: From<Vec<u8>>>(mut request: Request<B>, config: &ServerConfig) -> Response<R> {
    let (response, upgrading) = wsproto_tokio::http_upgrade(&mut request, config);
    if let Some(upgrading) = upgrading {
        tokio::spawn(echo(upgrading));
    }
    response
}

/// Echoes text with a prefix saying what the upgrade settled: the subprotocol, and whether
/// the stream is TCP taken back from hyper (with TCP_NODELAY or not) or hyper's own.
async fn echo(upgrading: HttpUpgrading) {
    let mut ws = upgrading.await.expect("hyper hands the connection over");
    let protocol = ws.subprotocol().unwrap_or("none");
    let stream = match ws.get_ref().get_ref() {
        UpgradedStream::Tcp(tcp) if tcp.nodelay().unwrap() => "tcp+nodelay",
        UpgradedStream::Tcp(_) => "tcp",
        UpgradedStream::Hyper(_) => "hyper",
    };
    let prefix = format!("{protocol}:{stream}:");
    while let Some(Ok(message)) = ws.recv().await {
        let Message::Text(text) = message else { break };
        if ws
            .send(Message::text(format!("{prefix}{}", &*text)))
            .await
            .is_err()
        {
            break;
        }
    }
}

fn deflating_config() -> ServerConfig {
    ServerConfig::default()
        .subprotocol("chat")
        .subprotocol("superchat")
        .deflate(Some(DeflateConfig::default()))
}

/// Sends `request` over a fresh TCP connection and returns the response head.
async fn raw_exchange(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0; 1024];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response head: {response:?}");
        response.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(response).unwrap()
}

fn upgrade_request(extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn a_real_client_negotiates_subprotocol_and_compression_through_axum() {
    negotiates_and_echoes(serve_axum(deflating_config()).await, "chat:hyper:").await;
}

#[tokio::test]
async fn a_real_client_negotiates_subprotocol_and_compression_through_hyper() {
    negotiates_and_echoes(serve_hyper(deflating_config()).await, "chat:tcp+nodelay:").await;
}

async fn negotiates_and_echoes(addr: SocketAddr, prefix: &str) {
    // The 101 as any client sees it.
    let head = raw_exchange(
        addr,
        &upgrade_request(
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: superchat, chat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        ),
    )
    .await
    .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(
        head.contains("sec-websocket-protocol: superchat\r\n"),
        "client's order: {head}"
    );
    assert!(
        head.contains("sec-websocket-extensions: permessage-deflate"),
        "{head}"
    );

    // Our client, offering both, through the whole exchange.
    let config = ClientConfig::default()
        .subprotocol("chat")
        .subprotocol("superchat")
        .deflate(Some(DeflateConfig::default()));
    let mut ws = connect_with(&format!("ws://{addr}/chat"), config)
        .await
        .unwrap();
    assert_eq!(ws.subprotocol(), Some("chat"));
    let long = "compressible ".repeat(10_000);
    for text in ["hello", long.as_str()] {
        ws.send_text(text).await.unwrap();
        let echoed = ws.recv().await.unwrap().unwrap();
        assert_eq!(echoed, Message::text(format!("{prefix}{text}")));
    }
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
}

#[tokio::test]
async fn invalid_and_refused_requests_get_our_servers_answers_through_axum() {
    let addr = serve_axum(deflating_config()).await;
    let head = raw_exchange(addr, &upgrade_request("Sec-WebSocket-Version: 8\r\n")).await;
    assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{head}"
    );
    let post = upgrade_request("Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n")
        .replacen("GET", "POST", 1);
    let head = raw_exchange(addr, &post).await;
    assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("allow: get\r\n"),
        "{head}"
    );

    let checked =
        ServerConfig::default().check_request(|request| match request.header("authorization") {
            Some(b"Bearer ok") => Ok(()),
            _ => Err(HttpResponse::new(401).header("WWW-Authenticate", "Bearer")),
        });
    let addr = serve_axum(checked).await;
    let head = raw_exchange(addr, &upgrade_request("Sec-WebSocket-Version: 13\r\n")).await;
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer\r\n"),
        "{head}"
    );
    let head = raw_exchange(
        addr,
        &upgrade_request("Sec-WebSocket-Version: 13\r\nAuthorization: Bearer ok\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
}
