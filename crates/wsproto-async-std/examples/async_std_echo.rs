//! An echo server on async-std, one task per connection.
//!
//! - `cargo run -p wsproto-async-std --example async_std_echo` (demo mode): serves on a free loopback port,
//!   runs a client against it, checks the echoes, closes, and exits 0.
//! - `cargo run -p wsproto-async-std --example async_std_echo -- 127.0.0.1:9001`: serves until killed.

use std::process::ExitCode;

use wsproto_async_std::{CloseCode, Message, Result, Server, TcpWebSocket, connect};

/// Echoes every message back until the peer closes; `feed` batches the replies.
async fn echo(mut ws: TcpWebSocket) {
    while let Some(received) = ws.recv().await {
        // After an error the next recv flushes the queued Close and ends the loop.
        if let Ok(message) = received
            && ws.feed(message).await.is_err()
        {
            break;
        }
    }
}

async fn serve(mut server: Server) -> Result<()> {
    loop {
        let ws = server.accept().await?;
        async_std::task::spawn(echo(ws));
    }
}

async fn demo() -> Result<()> {
    let server = Server::bind("127.0.0.1:0").await?;
    let url = server.url();
    async_std::task::spawn(serve(server));
    let mut ws = connect(&url).await?;
    for text in ["hello", "from", "async-std ✓"] {
        ws.send_text(text).await?;
        let reply = ws.recv().await.transpose()?;
        println!("echoed: {reply:?}");
        assert_eq!(reply, Some(Message::text(text)));
    }
    ws.close(CloseCode::NORMAL, "done").await
}

fn main() -> ExitCode {
    let outcome = async_std::task::block_on(async {
        match std::env::args().nth(1) {
            Some(addr) => {
                let server = Server::bind(addr.as_str()).await?;
                println!("listening on {}", server.url());
                serve(server).await
            }
            None => demo().await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo: {error}");
            ExitCode::FAILURE
        }
    }
}
