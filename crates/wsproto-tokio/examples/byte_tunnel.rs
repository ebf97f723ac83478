//! A WebSocket as a byte pipe: TCP carried through WebSocket, the way `wsproto tunnel` does
//! it. The server bridges each WebSocket, as a byte stream (`into_byte_stream`, tokio's
//! `AsyncRead` + `AsyncWrite`), to a TCP service with `tokio::io::copy_bidirectional`; the
//! client writes bytes into its byte stream and reads the service's answer out of it. Both
//! ends half-close (`Config::half_close`): shutting down the writing side sends a Close that
//! ends only that direction, as a TCP FIN does, so "end of input" crosses the tunnel while
//! the answer still flows back.
//!
//! Run it with `cargo run -p wsproto-tokio --example byte_tunnel`: a TCP upper-casing
//! service, the tunnel server in front of it, 1 MiB through the tunnel and back, checked,
//! then exit.

use std::error::Error;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto_tokio::{ClientConfig, Config, Server, ServerConfig};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    let service = upper_casing_service().await?;
    let half_close = Config::default().half_close(true);
    let server_config = ServerConfig::default().config(half_close.clone());
    let mut tunnel = Server::bind_with("127.0.0.1:0", server_config).await?;
    let url = tunnel.url();
    tokio::spawn(async move {
        while let Ok(ws) = tunnel.accept().await {
            tokio::spawn(async move {
                // Each WebSocket becomes a byte stream spliced to its own TCP connection.
                let Ok(mut tcp) = TcpStream::connect(service).await else {
                    return;
                };
                let mut bytes = ws.into_byte_stream();
                let _ = tokio::io::copy_bidirectional(&mut bytes, &mut tcp).await;
            });
        }
    });

    let ws = wsproto_tokio::connect_with(&url, ClientConfig::default().config(half_close)).await?;
    let (mut reader, mut writer) = tokio::io::split(ws.into_byte_stream());
    let sent: Vec<u8> = (0..1 << 20).map(|i| b"abcdefghij\n"[i % 11]).collect();
    let expected = sent.to_ascii_uppercase();
    let writing = tokio::spawn(async move {
        writer.write_all(&sent).await?;
        // End of input: a Close through the tunnel, a FIN at the service.
        writer.shutdown().await
    });
    let mut received = Vec::new();
    reader.read_to_end(&mut received).await?;
    writing.await??;
    println!(
        "byte tunnel: {} bytes through and back, {}",
        received.len(),
        if received == expected {
            "intact"
        } else {
            "CORRUPTED"
        }
    );
    if received != expected {
        return Err("the bytes that came back differ".into());
    }
    Ok(())
}

/// A TCP service that answers every byte upper-cased and closes when its input ends.
async fn upper_casing_service() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0; 16 * 1024];
                loop {
                    let n = match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    buf[..n].make_ascii_uppercase();
                    if tcp.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
                let _ = tcp.shutdown().await;
            });
        }
    });
    Ok(addr)
}
