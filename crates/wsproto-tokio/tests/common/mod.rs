//! Helpers shared by the tokio adapter's integration tests: an echo server on a free
//! loopback port and a raw client that speaks the handshake but then writes hand-made frames.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsproto_core::handshake::{ClientHandshake, ClientRequest};
use wsproto_core::{Instant, Limits};
use wsproto_tokio::{Message, Server, ServerConfig};

/// Every test's ceiling: nothing here may hang.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Starts a server that echoes every message with `feed` (batched replies) and returns its URL.
pub async fn echo_server(config: ServerConfig) -> String {
    let mut server = Server::bind_with("127.0.0.1:0", config)
        .await
        .expect("bind");
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
    url
}

/// A deterministic generator for the raw client's handshake key.
pub struct Fixed(pub u8);

impl rand_core::RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        u32::from(self.0)
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.0)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(self.0);
    }
}

/// Connects to `url` and completes the handshake by hand, returning the raw socket.
pub async fn raw_client(url: &str) -> TcpStream {
    let request = ClientRequest::from_url(url).expect("url");
    let addr = format!("{}:{}", request.host(), request.port());
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut hs = ClientHandshake::new(
        request,
        &Limits::default(),
        &mut Fixed(7),
        Instant::ZERO,
        None,
    )
    .expect("handshake");
    stream.write_all(hs.transmit()).await.expect("write");
    let mut buf = [0; 1024];
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "server closed during handshake");
        if hs
            .handle_input(&buf[..n])
            .expect("valid response")
            .is_some()
        {
            return stream;
        }
    }
}

/// A masked client frame with the given first byte and payload.
pub fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut out = vec![first_byte];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Reads until the server closes and returns the close code of the first Close frame seen.
pub async fn read_close_code(stream: &mut TcpStream) -> Option<u16> {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(LIMIT, stream.read_to_end(&mut bytes)).await;
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0F;
        let (len, header) = match bytes[at + 1] & 0x7F {
            126 => (
                usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
                4,
            ),
            127 => (
                u64::from_be_bytes(bytes[at + 2..at + 10].try_into().ok()?) as usize,
                10,
            ),
            n => (usize::from(n), 2),
        };
        if opcode == 0x8 {
            let payload = bytes.get(at + header..at + header + len)?;
            return Some(u16::from_be_bytes([payload[0], payload[1]]));
        }
        at += header + len;
    }
    None
}

/// A text message.
pub fn text(s: &str) -> Message {
    Message::text(s)
}
