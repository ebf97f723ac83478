//! A client: connects, sends a text, a binary message and a ping, prints the replies and the
//! ping's round-trip time, then closes with 1000 (normal closure).
//!
//! `next_event` is used instead of `recv` because it reports control frames too: here the
//! pong, with the round-trip time the engine measured for our ping.
//!
//! Run it against any echo server with
//! `cargo run -p wsproto-tokio --example client -- ws://127.0.0.1:9001/` (for instance the
//! `echo_server` example). Without an argument it starts an echo server of its own on a free
//! port and talks to that.

use std::error::Error;

use wsproto_tokio::{CloseCode, Event, Message, Server, connect};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => spawn_echo_server().await?,
    };
    println!("connecting to {url}");
    let mut ws = connect(&url).await?;

    ws.send_text("hello, websocket").await?;
    ws.send_binary(&[0xca, 0xfe, 0xba, 0xbe]).await?;
    ws.ping(b"are you there?").await?;

    // Wait for both echoes and the pong, in whatever order they come.
    let (mut replies, mut pong) = (0, false);
    while replies < 2 || !pong {
        let event = ws
            .next_event()
            .await
            .ok_or("server closed the connection")??;
        match event {
            Event::Message(Message::Text(text)) => {
                println!("text reply:   {text}");
                replies += 1;
            }
            Event::Message(Message::Binary(data)) => {
                println!("binary reply: {:02x?}", &data[..]);
                replies += 1;
            }
            // `rtt` is `None` for a pong that does not answer our latest ping.
            Event::Pong { rtt: Some(rtt), .. } => {
                println!("pong after {rtt:?}");
                pong = true;
            }
            // Our answer is queued; the next `next_event` sends it and returns `None`.
            Event::Close(frame) => println!("server closes: {} {:?}", frame.code(), frame.reason()),
            // Pings are answered automatically, unsolicited pongs need no answer, and fragments
            // only come with streaming delivery, which is off.
            _ => {}
        }
    }

    ws.close(CloseCode::NORMAL, "done").await?;
    let answer = ws.close_received().map(|frame| frame.code().as_u16());
    println!("closed with 1000; server answered {answer:?}");
    Ok(())
}

/// Starts an echo server on a free loopback port and returns its URL.
async fn spawn_echo_server() -> Result<String> {
    let mut server = Server::bind("127.0.0.1:0").await?;
    let url = server.url();
    tokio::spawn(async move {
        while let Ok(mut ws) = server.accept().await {
            tokio::spawn(async move {
                while let Some(Ok(message)) = ws.recv().await {
                    if ws.feed(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(url)
}
