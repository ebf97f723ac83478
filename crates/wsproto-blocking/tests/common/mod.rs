//! Helpers shared by the blocking adapter's integration tests: a time bound for every test
//! body, an echo server on a free loopback port, and a raw client that speaks the handshake
//! but then writes hand-made frames.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use wsproto_blocking::{ClientConfig, Message, Server, ServerConfig};
use wsproto_core::handshake::{ClientHandshake, ClientRequest};
use wsproto_core::{Instant, Limits};

/// Every test's ceiling: nothing here may hang.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Runs `body` on its own thread and fails the test if it takes longer than [`LIMIT`];
/// a panic in `body` fails the test with its own message.
pub fn bounded<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let handle = thread::spawn(move || {
        let out = body();
        let _ = done.send(());
        out
    });
    match finished.recv_timeout(LIMIT) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(RecvTimeoutError::Timeout) => panic!("test body still running after {LIMIT:?}"),
    }
}

/// Joins `handle`, failing if it does not finish within `limit`.
pub fn join_within<T>(handle: thread::JoinHandle<T>, limit: Duration) -> T {
    let started = StdInstant::now();
    while !handle.is_finished() {
        assert!(
            started.elapsed() < limit,
            "thread still running after {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    match handle.join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Polls `condition` every few milliseconds until it holds, failing after `limit`.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = StdInstant::now();
    while !condition() {
        assert!(
            started.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Starts a server that echoes every message with `feed` (batched replies), one thread per
/// connection, and returns its URL. The server lives until the test process ends.
pub fn echo_server(config: ServerConfig) -> String {
    let server = Server::bind_with("127.0.0.1:0", config).expect("bind");
    let url = server.url();
    thread::spawn(move || {
        while let Ok(mut ws) = server.accept() {
            thread::spawn(move || {
                while let Some(Ok(message)) = ws.recv() {
                    if ws.feed(message).is_err() {
                        break;
                    }
                }
            });
        }
    });
    url
}

/// Connects to `url` and completes the handshake by hand, returning the raw socket (with a
/// read timeout of [`LIMIT`]).
pub fn raw_client(url: &str) -> TcpStream {
    let request = ClientRequest::from_url(url).expect("url");
    let mut stream = TcpStream::connect((request.host(), request.port())).expect("connect");
    stream.set_read_timeout(Some(LIMIT)).expect("timeout");
    let mut rng = ClientConfig::default().take_mask_rng();
    let mut hs = ClientHandshake::new(request, &Limits::default(), &mut *rng, Instant::ZERO, None)
        .expect("handshake");
    stream.write_all(hs.transmit()).expect("write");
    let mut buf = [0; 1024];
    loop {
        let n = stream.read(&mut buf).expect("read");
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
pub fn read_close_code(stream: &mut TcpStream) -> Option<u16> {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
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
