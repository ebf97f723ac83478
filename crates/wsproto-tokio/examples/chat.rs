//! A broadcast chat: every text a client sends goes to all connected clients, the sender
//! included, prefixed with the sender's name.
//!
//! Each connection is `into_split()` into halves. The reading half publishes texts on a
//! `tokio::sync::broadcast` channel; the writing half, in a task of its own, sends whatever
//! the channel delivers. The channel's capacity bounds what a slow client can hold up: one
//! that falls behind skips the oldest lines and is told how many it missed.
//!
//! Run a real server with `cargo run -p wsproto-tokio --example chat -- 127.0.0.1:9002` and
//! connect a few clients to `ws://127.0.0.1:9002/`. Without an argument it runs a demo and
//! exits: three clients each send one line, and each checks that it heard all three.

use std::error::Error;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinSet;
use wsproto_tokio::{CloseCode, Message, Server, TcpWebSocket, connect};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// Lines a client may fall behind by before it skips some.
const CAPACITY: usize = 64;
const DEMO_CLIENTS: usize = 3;

#[tokio::main]
async fn main() -> Result<()> {
    let Some(addr) = std::env::args().nth(1) else {
        return demo().await;
    };
    let server = Server::bind(addr).await?;
    println!("chat server listening on {}", server.url());
    serve(server).await
}

async fn serve(mut server: Server) -> Result<()> {
    let (lines, _) = broadcast::channel(CAPACITY);
    for id in 1.. {
        let ws = server.accept().await?;
        // Subscribed before its welcome is sent: a client hears every line sent after that.
        let subscription = lines.subscribe();
        tokio::spawn(chat(ws, format!("guest-{id}"), lines.clone(), subscription));
    }
    Ok(())
}

/// Runs one client: its lines go to everyone, everyone's lines come to it.
async fn chat(
    ws: TcpWebSocket,
    name: String,
    lines: broadcast::Sender<Message>,
    mut subscription: broadcast::Receiver<Message>,
) {
    let (mut reader, mut writer) = ws.into_split();
    let mut line = Message::text(format!("welcome, {name}"));
    let writing = tokio::spawn(async move {
        // A failed send means the connection is failing or closing; the reading half reports
        // why and ends.
        while writer.send(line).await.is_ok() {
            line = match subscription.recv().await {
                Ok(line) => line,
                Err(RecvError::Lagged(missed)) => Message::text(format!("({missed} lines missed)")),
                Err(RecvError::Closed) => return,
            };
        }
    });
    println!("{name} joined");
    // Reading also answers pings and completes the closing handshake.
    while let Some(received) = reader.recv().await {
        match received {
            Ok(Message::Text(text)) => {
                // Fails only without subscribers, and this client is one.
                let _ = lines.send(Message::text(format!("{name}: {text}")));
            }
            Ok(Message::Binary(_)) => {} // this chat is text-only
            Err(error) => eprintln!("{name}: {error}"),
        }
    }
    writing.abort();
    println!("{name} left");
}

/// Three clients on a server of our own: each sends one line and must hear all three.
async fn demo() -> Result<()> {
    let server = Server::bind("127.0.0.1:0").await?;
    let url = server.url();
    tokio::spawn(serve(server));

    // Everyone joins (and is welcomed) before anyone talks: lines reach only those present.
    let mut clients = Vec::new();
    for _ in 0..DEMO_CLIENTS {
        let mut ws = connect(&url).await?;
        let welcome = ws.recv().await.ok_or("closed before the welcome")??;
        println!("client got {welcome:?}");
        clients.push(ws);
    }

    let sent: Vec<String> = (1..=DEMO_CLIENTS)
        .map(|i| format!("hi from client {i}"))
        .collect();
    let mut talking = JoinSet::new();
    for (mut ws, line) in clients.into_iter().zip(sent.clone()) {
        talking.spawn(async move {
            ws.send_text(&line).await?;
            let mut heard = Vec::new();
            while heard.len() < DEMO_CLIENTS {
                if let Message::Text(text) = ws.recv().await.ok_or("chat closed early")?? {
                    heard.push(text.to_string());
                }
            }
            ws.close(CloseCode::NORMAL, "bye").await?;
            Ok::<_, Box<dyn Error + Send + Sync>>((line, heard))
        });
    }
    while let Some(done) = talking.join_next().await {
        let (line, heard) = done??;
        println!("the client that said {line:?} heard {heard:?}");
        if let Some(missing) = sent.iter().find(|s| !heard.iter().any(|h| h.ends_with(*s))) {
            return Err(format!("{missing:?} was not heard").into());
        }
    }
    println!("all {DEMO_CLIENTS} clients heard all {DEMO_CLIENTS} lines");
    Ok(())
}
