//! An echo server: every message comes back to its sender.
//!
//! Replies are queued with `feed` instead of `send`: they leave together when `recv` would
//! wait for more input, so a burst of messages is answered with one write. Ctrl-C shuts the
//! server down gracefully: each open connection gets a Close with 1001 (going away) and up to
//! 5 s to finish its closing handshake.
//!
//! Run a real server with
//! `cargo run -p wsproto-tokio --example echo_server -- 127.0.0.1:9001` and stop it with Ctrl-C.
//! Without an argument it runs a self-contained demo and exits: it listens on a free port,
//! connects a client of its own, exchanges a few messages, then shuts down as Ctrl-C would.

use std::error::Error;
use std::time::Duration;

use tokio::sync::oneshot;
use wsproto_tokio::{CloseCode, Message, Server, TcpWebSocket, connect};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// How long open connections get to close once shutdown starts.
const GRACE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<()> {
    let Some(addr) = std::env::args().nth(1) else {
        return demo().await;
    };
    let server = Server::bind(addr).await?;
    println!("echo server listening on {}; Ctrl-C stops it", server.url());
    serve(server, tokio::signal::ctrl_c()).await
}

/// Accepts connections until `stop` completes, then shuts down gracefully.
async fn serve(mut server: Server, stop: impl Future<Output = std::io::Result<()>>) -> Result<()> {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            // `accept` is cancel-safe: losing the race to `stop` drops no connection.
            accepted = server.accept() => {
                tokio::spawn(echo(accepted?));
            }
            stopped = &mut stop => {
                stopped?;
                break;
            }
        }
    }
    println!("shutting down");
    let left = server.shutdown(GRACE).await;
    println!("shut down ({left} connections still open at the deadline)");
    Ok(())
}

/// Echoes every message until the connection closes.
async fn echo(mut ws: TcpWebSocket) {
    let peer = ws
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    println!("{peer}: connected");
    while let Some(received) = ws.recv().await {
        match received {
            Ok(message) => {
                if let Err(error) = ws.feed(message).await {
                    eprintln!("{peer}: {error}");
                    break;
                }
            }
            // A protocol error already queued the matching Close; the next `recv` sends it
            // and then ends the stream.
            Err(error) => eprintln!("{peer}: {error}"),
        }
    }
    let code = ws.close_received().map(|frame| frame.code().as_u16());
    println!("{peer}: closed (peer's close code: {code:?})");
}

/// Serves on a free port, talks to it, then shuts it down the way Ctrl-C would.
async fn demo() -> Result<()> {
    let server = Server::bind("127.0.0.1:0").await?;
    let url = server.url();
    let (stop, stopped) = oneshot::channel();
    let serving = tokio::spawn(serve(server, async move {
        // A dropped sender stops the server just as well as a sent signal.
        let _ = stopped.await;
        Ok(())
    }));

    let mut ws = connect(&url).await?;
    let burst = [
        Message::text("hello"),
        Message::text("echo ✓"),
        Message::binary(vec![0xde, 0xad, 0xbe, 0xef]),
    ];
    for message in burst.iter().cloned() {
        ws.feed(message).await?;
    }
    ws.flush().await?;
    for sent in &burst {
        let echoed = ws.recv().await.ok_or("connection closed early")??;
        println!("client: got back {echoed:?}");
        if &echoed != sent {
            return Err(format!("sent {sent:?} but got back {echoed:?}").into());
        }
    }

    // "Ctrl-C": the server sends 1001; keep receiving so the closing handshake completes.
    let _ = stop.send(());
    while let Some(received) = ws.recv().await {
        received?;
    }
    let code = ws.close_received().map(|frame| frame.code());
    let shown = code.map(u16::from);
    println!("client: server closed the connection with {shown:?}");
    if code != Some(CloseCode::GOING_AWAY) {
        return Err("expected the server to close with 1001 (going away)".into());
    }
    serving.await?
}
