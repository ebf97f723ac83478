//! [`http_upgrade`] (feature `hyper`): WebSocket on a route of a hyper or axum server, with
//! the same checks and negotiation as [`Server::accept`](crate::Server::accept).
//!
//! hyper parses the request and writes the response; [`HttpUpgrade`] decides both exactly as
//! our own servers do (RFC 6455 checks, the request check, subprotocol, permessage-deflate,
//! extra headers). This file only converts between hyper's types and ours and waits for
//! hyper to hand the connection over.

use std::future::{Future, IntoFuture};
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{
    Error, HandshakeInfo, HttpResponse, HttpUpgrade, Result, ServerConfig, TokioIo, WebSocket,
};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo as HyperTokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The connection [`HttpUpgrading`] yields: a [`WebSocket`] over the upgraded stream.
pub type UpgradedWebSocket = WebSocket<UpgradedStream>;

/// The stream under an [`UpgradedWebSocket`]: the TCP stream itself when hyper was serving
/// tokio's `TcpStream` in hyper-util's `TokioIo` directly, taken back from hyper with
/// `TCP_NODELAY` set; otherwise (axum, TLS, ...) hyper's upgraded stream.
#[derive(Debug)]
pub enum UpgradedStream {
    /// The TCP connection, taken back from hyper.
    Tcp(TcpStream),
    /// Whatever other stream hyper was serving (axum's wrapped TCP, TLS, a Unix socket, ...).
    Hyper(HyperTokioIo<Upgraded>),
}

/// Answers a WebSocket upgrade request that hyper (or axum, which runs on hyper) is serving
/// over HTTP/1.1, as [`Server::accept`](crate::Server::accept) would answer it.
///
/// Returns the response for the route to return — `101 Switching Protocols` with the
/// negotiated subprotocol and extensions, or the refusal (a 426 naming version 13, a 405,
/// the request check's answer) — and, when upgrading, the [`HttpUpgrading`] that yields the
/// connection once hyper has sent the 101: spawn a task that awaits it. The response body
/// type is yours (`axum::body::Body`, `http_body_util::Full<Bytes>`, ...).
///
/// **`TCP_NODELAY`**: without it every small message waits ~40 ms for Nagle's algorithm.
/// When hyper was serving tokio's `TcpStream` in hyper-util's `TokioIo` directly (hyper's
/// `http1::Builder`), the stream is taken back from hyper ([`UpgradedStream::Tcp`]) and
/// the option set here. axum's `serve` hands hyper a wrapped stream that cannot be taken
/// back: set it where axum accepts, as below.
///
/// ```no_run
/// use axum::extract::Request;
/// use axum::response::Response;
/// use wsproto_tokio::ServerConfig;
///
/// async fn chat(mut request: Request) -> Response {
///     let config = ServerConfig::default().subprotocol("chat");
///     let (response, upgrading) = wsproto_tokio::http_upgrade(&mut request, &config);
///     if let Some(upgrading) = upgrading {
///         tokio::spawn(async move {
///             let Ok(mut ws) = upgrading.await else { return };
///             while let Some(Ok(message)) = ws.recv().await {
///                 if ws.send(message).await.is_err() {
///                     break;
///                 }
///             }
///         });
///     }
///     response
/// }
///
/// # async fn serve() -> std::io::Result<()> {
/// use axum::serve::ListenerExt as _;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let listener = listener.tap_io(|tcp| drop(tcp.set_nodelay(true)));
/// let app = axum::Router::new().route("/chat", axum::routing::get(chat));
/// axum::serve(listener, app).await
/// # }
/// ```
pub fn http_upgrade<B, R>(
    request: &mut Request<B>,
    config: &ServerConfig,
) -> (Response<R>, Option<HttpUpgrading>)
where
    R: From<Vec<u8>>,
{
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    match HttpUpgrade::answer(config, request.method().as_str(), target, headers) {
        Ok(upgrade) => {
            let response = build(
                StatusCode::SWITCHING_PROTOCOLS,
                upgrade.response_headers(),
                Vec::new(),
            );
            let upgrading =
                (response.status() == StatusCode::SWITCHING_PROTOCOLS).then(|| HttpUpgrading {
                    on_upgrade: hyper::upgrade::on(request),
                    upgrade,
                });
            (response, upgrading)
        }
        Err(refusal) => (refused(&refusal), None),
    }
}

/// An accepted upgrade waiting for hyper to hand the connection over; `.await` it (in a
/// task of its own: hyper sends the 101 only after the route returned its response).
pub struct HttpUpgrading {
    on_upgrade: OnUpgrade,
    upgrade: HttpUpgrade,
}

impl HttpUpgrading {
    /// What the handshake settled (subprotocol, path), before the connection exists.
    #[must_use]
    pub fn handshake(&self) -> &HandshakeInfo {
        self.upgrade.info()
    }
}

impl IntoFuture for HttpUpgrading {
    type Output = Result<UpgradedWebSocket>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let upgraded = self
                .on_upgrade
                .await
                .map_err(|error| Error::Io(std::io::Error::other(error)))?;
            // What hyper read past the request belongs to the WebSocket: it replays it
            // itself unless we take the stream back, and then it is ours to feed.
            let (stream, leftover) = match upgraded.downcast::<HyperTokioIo<TcpStream>>() {
                Ok(parts) => {
                    let tcp = parts.io.into_inner();
                    let _ = tcp.set_nodelay(true);
                    (UpgradedStream::Tcp(tcp), parts.read_buf)
                }
                Err(upgraded) => (
                    UpgradedStream::Hyper(HyperTokioIo::new(upgraded)),
                    hyper::body::Bytes::new(),
                ),
            };
            Ok(WebSocket::from_http_upgrade(
                TokioIo::new(stream),
                self.upgrade,
                &leftover,
            ))
        })
    }
}

impl std::fmt::Debug for HttpUpgrading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUpgrading")
            .field("upgrade", &self.upgrade)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for UpgradedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Self::Hyper(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpgradedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Self::Hyper(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Self::Hyper(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(tcp) => tcp.is_write_vectored(),
            Self::Hyper(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            Self::Hyper(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Self::Hyper(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}

/// Our refusal as hyper's response, `Content-Type: text/plain` unless it names one.
fn refused<R: From<Vec<u8>>>(refusal: &HttpResponse) -> Response<R> {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = build(status, refusal.get_headers(), refusal.get_body().to_vec());
    if !response.headers().contains_key(CONTENT_TYPE) {
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// A response with `status`, `headers` and `body`; a 500 if a header cannot be one (only
/// an invalid extra header from the server's own configuration can be).
fn build<R: From<Vec<u8>>>(
    status: StatusCode,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Response<R> {
    let mut response = Response::new(R::from(body));
    *response.status_mut() = status;
    for (name, value) in headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => {
                let mut failed = Response::new(R::from(format!("invalid header {name}\n").into()));
                *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return failed;
            }
        }
    }
    response
}
