//! Streaming a large file both ways without holding it whole: the client sends it as one
//! binary message in 64 KiB fragments (`send_fragment`), the server receives it piece by
//! piece (`Delivery::Streaming`, `Event::Fragment`), hashes it as it goes and answers with
//! the digest and size. Neither side ever buffers more than a fragment, whatever
//! the file's size (the server's message limit is raised to 1 GiB for it).
//!
//! Run it with `cargo run -p wsproto-tokio --example stream_file [FILE]`; without FILE it
//! streams 32 MiB of generated data, checks the server's answer, and exits.

use std::error::Error;
use std::hash::Hasher;

use tokio::io::AsyncReadExt;
use wsproto_tokio::{
    ClientConfig, CloseCode, Config, Delivery, Event, Limits, MessageKind, Server, ServerConfig,
};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// Bytes per fragment on the way out.
const CHUNK: usize = 64 * 1024;
/// The largest file the server takes.
const MAX_FILE: usize = 1 << 30;

#[tokio::main]
async fn main() -> Result<()> {
    let server_config = ServerConfig::default()
        .config(Config::default().delivery(Delivery::Streaming))
        .limits(Limits::default().max_message_size(MAX_FILE));
    let mut server = Server::bind_with("127.0.0.1:0", server_config).await?;
    let url = server.url();
    tokio::spawn(async move {
        while let Ok(mut ws) = server.accept().await {
            tokio::spawn(async move {
                // Hashed as the pieces arrive: the message is never whole in memory.
                let (mut hasher, mut size) = (std::hash::DefaultHasher::new(), 0usize);
                while let Some(Ok(event)) = ws.next_event().await {
                    if let Event::Fragment { data, fin, .. } = event {
                        hasher.write(&data);
                        size += data.len();
                        if fin {
                            let answer = format!("{size} bytes, digest {:016x}", hasher.finish());
                            if ws.send_text(&answer).await.is_err() {
                                break;
                            }
                            (hasher, size) = (std::hash::DefaultHasher::new(), 0);
                        }
                    }
                }
            });
        }
    });

    let mut ws = wsproto_tokio::connect_with(&url, ClientConfig::default()).await?;
    let mut source: Box<dyn tokio::io::AsyncRead + Unpin + Send> = match std::env::args().nth(1) {
        Some(path) => Box::new(tokio::fs::File::open(path).await?),
        None => Box::new(std::io::Cursor::new(generated(32 << 20))),
    };
    let (mut hasher, mut size) = (std::hash::DefaultHasher::new(), 0usize);
    let mut chunk = vec![0; CHUNK];
    loop {
        let n = read_full(&mut source, &mut chunk).await?;
        hasher.write(&chunk[..n]);
        size += n;
        // The last fragment is the one a read could not fill (it may be empty).
        let fin = n < CHUNK;
        ws.send_fragment(MessageKind::Binary, &chunk[..n], fin)
            .await?;
        if fin {
            break;
        }
    }
    let expected = format!("{size} bytes, digest {:016x}", hasher.finish());
    let answer = ws.recv().await.ok_or("connection closed early")??;
    println!(
        "sent {expected}; server: {}",
        answer.as_text().unwrap_or("?")
    );
    if answer.as_text() != Some(expected.as_str()) {
        return Err("the server saw different bytes".into());
    }
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}

/// Reads until `buf` is full or the source ends; how many bytes were read.
async fn read_full(
    source: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut [u8],
) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = source.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// `len` bytes of a repeatable pattern.
fn generated(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
}
