//! `wsproto tunnel (--listen ADDR | --stdio) URL`: TCP connections (or stdin/stdout) carried
//! over WebSocket connections to URL, one each, as binary messages both ways ([`crate::pipe`]);
//! and `serve --forward`'s side of it, [`forward`].
//!
//! Both ends half-close (`Config::half_close`): a TCP FIN becomes the Close after the data
//! and the peer's Close a FIN, so a client that is done writing still gets the whole answer.

use std::net::SocketAddr;

use futures_util::future::{Either, select};
use wsproto_async::{ClientConfig, Runtime, SocketAddrs, Transport, WebSocket};

use crate::args::{Runtime as RuntimeName, TunnelArgs};
use crate::pipe::{Stdio, Tcp, splice};
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio};
use crate::signal::on_stop;

pub(crate) fn run(args: &TunnelArgs) -> Result<(), String> {
    let options = match crate::connect::tunnel_options(&args.client) {
        Ok(options) => options,
        Err(message) => crate::usage_error(&message),
    };
    if args.client.trust == crate::args::Trust::Insecure {
        eprintln!(
            "wsproto: WARNING: --insecure: the server's certificate is not checked; for testing only."
        );
    }
    match args.client.runtime {
        RuntimeName::Tokio => Tokio::block_on(tunnel::<Tokio>(args, options)),
        RuntimeName::Smol => Smol::block_on(tunnel::<Smol>(args, options)),
        RuntimeName::AsyncStd => AsyncStd::block_on(tunnel::<AsyncStd>(args, options)),
        RuntimeName::Blocking => Err("tunnel: --runtime blocking is not supported".into()),
    }
}

async fn tunnel<R: AsyncRt>(args: &TunnelArgs, first: ClientConfig) -> Result<(), String> {
    let url = args.client.url.clone();
    let Some(listen) = &args.listen else {
        let ws = wsproto_async::connect_with::<R>(&url, first)
            .await
            .map_err(|error| format!("cannot connect to {url}: {error}"))?;
        let mut stream = ws.into_byte_stream();
        let mut stdio = Stdio::spawn();
        let spliced = splice::<_, _, <R::Tcp as Transport>::Timer>(&mut stream, &mut stdio).await;
        // Before the process exits: what came from the WebSocket reaches stdout whole.
        stdio.finish();
        return spliced
            .map(drop)
            .map_err(|error| format!("tunnel: {error}"));
    };
    let addr = resolve(listen)?;
    let listener = R::bind(addr, wsproto_async::prelude::DEFAULT_BACKLOG)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let local = R::local_addr(&listener).map_err(|error| error.to_string())?;
    println!("listening on tcp://{local}/");
    let mut stop = on_stop().future;
    loop {
        let accepted = {
            let accept = std::pin::pin!(R::accept(&listener));
            match select(accept, &mut stop).await {
                Either::Left((accepted, _)) => accepted,
                Either::Right(_) => return Ok(()),
            }
        };
        let tcp = match accepted {
            Ok(tcp) => tcp,
            Err(error) => {
                eprintln!("wsproto: accept failed: {error}");
                continue;
            }
        };
        // Built again per connection (a ClientConfig is used up by its connection); the flags
        // were checked when the tunnel started.
        let options = crate::connect::tunnel_options(&args.client)?;
        let url = url.clone();
        R::spawn(async move {
            let peer = tcp.peer_addr().ok();
            match wsproto_async::connect_with::<R>(&url, options).await {
                Ok(ws) => carry::<R, _>(ws, tcp, peer).await,
                // The TCP connection is dropped: its client sees the end at once.
                Err(error) => {
                    eprintln!("wsproto: {}: cannot connect to {url}: {error}", show(peer))
                }
            }
        });
    }
}

/// `serve --forward`: one accepted WebSocket connection carried to a new TCP connection to
/// `target` (`HOST:PORT`).
pub(crate) async fn forward<R: Runtime, T: Transport + SocketAddrs>(
    ws: WebSocket<T>,
    target: String,
) {
    let peer = ws.peer_addr().ok();
    let (host, port) = match target.rsplit_once(':') {
        Some((host, port)) => (
            host.trim_matches(['[', ']']).to_owned(),
            port.parse().unwrap_or(0),
        ),
        None => (target.clone(), 0),
    };
    match R::connect(host, port).await {
        Ok(tcp) => carry::<R, _>(ws, tcp, peer).await,
        Err(error) => {
            eprintln!(
                "wsproto: {}: cannot connect to {target}: {error}",
                show(peer)
            );
            let mut ws = ws;
            let _ = ws
                .close(
                    wsproto_core::CloseCode::BAD_GATEWAY,
                    "forward target unreachable",
                )
                .await;
        }
    }
}

/// Splices one WebSocket connection and one TCP connection; reports an error on stderr.
async fn carry<R: Runtime, T: Transport>(ws: WebSocket<T>, tcp: R::Tcp, peer: Option<SocketAddr>) {
    let mut stream = ws.into_byte_stream();
    let mut tcp = Tcp(tcp);
    if let Err(error) = splice::<_, _, <R::Tcp as Transport>::Timer>(&mut stream, &mut tcp).await {
        eprintln!("wsproto: {}: {error}", show(peer));
    }
}

fn show(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "connection".into(), |peer| peer.to_string())
}

/// `--listen`'s address: an IP and port, or a name that resolves to one.
fn resolve(listen: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    listen
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("--listen: {listen:?} is not an address (e.g. 127.0.0.1:2222)"))
}
