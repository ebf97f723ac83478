//! A client that keeps itself connected: `connect_live` with a `ReconnectPolicy` dials in
//! the background, answers pings, and when the server goes away it reconnects with backoff
//! and jitter while the application only sends and reacts to events.
//!
//! Run it with `cargo run -p wsproto-tokio --example reconnecting_client [URL]`: with a URL
//! it prints what happens until Ctrl-C. Without one it starts an echo server, exchanges a
//! message, shuts the server down (1001, going away), starts a new one on the same port,
//! and shows the client reconnect and exchange again before it exits.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wsproto_tokio::{
    ClientConfig, CloseCode, LiveConfig, LiveEvent, LiveState, ReconnectPolicy, Server,
};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    let policy = ReconnectPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .max_delay(Duration::from_secs(5));
    let config = LiveConfig::new().reconnect(policy);
    if let Some(url) = std::env::args().nth(1) {
        let (_handle, mut events) =
            wsproto_tokio::connect_live(&url, ClientConfig::default, &config);
        while let Some(event) = events.recv().await {
            println!("{event:?}");
        }
        return Ok(());
    }

    let (addr, stop, serving) = echo_server("127.0.0.1:0").await?;
    let url = format!("ws://{addr}/");
    let (handle, mut events) = wsproto_tokio::connect_live(&url, ClientConfig::default, &config);

    // Open, say hello, get the echo.
    wait_for_open(&mut events).await?;
    handle.send_text("hello").await?;
    println!(
        "echo: {:?}",
        events.recv_message().await.ok_or("events ended")?
    );

    // The server goes away (1001 to its connections) and comes back on the same port.
    let _ = stop.send(());
    serving.await?;
    let (_, _stop, _serving) = echo_server(&addr.to_string()).await?;
    println!("server restarted");

    // The client notices, waits its backoff, reconnects; the application just sends again.
    wait_for_open(&mut events).await?;
    handle.send_text("hello again").await?;
    println!(
        "echo: {:?}",
        events.recv_message().await.ok_or("events ended")?
    );
    handle.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}

/// Prints state changes until the connection is open.
async fn wait_for_open(events: &mut wsproto_tokio::Events) -> Result<()> {
    while let Some(event) = events.recv().await {
        if let LiveEvent::State(state) = event {
            println!("state: {state:?}");
            if state == LiveState::Open {
                return Ok(());
            }
        }
    }
    Err("the live connection ended".into())
}

/// An echo server on `bind` (port 0: a free one) until `stop` fires, then a graceful
/// shutdown (1001 to every connection); its address, the stop switch, and its task.
async fn echo_server(bind: &str) -> Result<(SocketAddr, oneshot::Sender<()>, JoinHandle<()>)> {
    let mut server = Server::bind(bind).await?;
    let addr = server.local_addr();
    let (stop, mut stopped) = oneshot::channel();
    let serving = tokio::spawn(async move {
        loop {
            tokio::select! {
                // `accept` is cancel-safe: nothing is lost when the stop wins.
                accepted = server.accept() => {
                    let Ok(mut ws) = accepted else { break };
                    tokio::spawn(async move {
                        while let Some(Ok(message)) = ws.recv().await {
                            if ws.feed(message).await.is_err() {
                                break;
                            }
                        }
                    });
                }
                _ = &mut stopped => break,
            }
        }
        server.shutdown(Duration::from_secs(1)).await;
    });
    Ok((addr, stop, serving))
}
