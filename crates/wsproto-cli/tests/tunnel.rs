//! `wsproto tunnel` and `wsproto serve --forward`: TCP carried over WebSocket connections and
//! back, through the real binary on every async runtime — 64 MiB each way with equal
//! SHA-256 and the client's FIN in the middle (a half-close: it is done writing and still
//! reads the whole answer), many connections at once, `--stdio`, and a forward target that
//! is down.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{BIN, Noise, serve};
use ring::digest::{Context, SHA256};
use wsproto_tests::proxies::ProxyServer;

const MIB: usize = 1024 * 1024;
const ASYNC_RUNTIMES: [&str; 3] = ["tokio", "async-std", "smol"];

/// A TCP echo server: echoes each connection until its end, then closes its side.
fn tcp_echo() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = stream.try_clone().unwrap();
                let _ = std::io::copy(&mut reader, &mut stream);
                let _ = stream.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// A running `wsproto tunnel --listen`, killed on drop.
struct Tunnel {
    child: Child,
    /// `HOST:PORT` from its first line, `listening on tcp://HOST:PORT/`.
    addr: String,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tunnel(url: &str, runtime: &str) -> Tunnel {
    tunnel_with(url, &["--runtime", runtime])
}

fn tunnel_with(url: &str, extra: &[&str]) -> Tunnel {
    let mut child = Command::new(BIN)
        .args(["tunnel", "--listen", "127.0.0.1:0", url])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start wsproto tunnel");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim_end()
        .strip_prefix("listening on tcp://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    Tunnel { child, addr }
}

/// Sends `len` bytes of noise through `addr`, shuts the sending side down, reads the answer
/// to its end; returns the SHA-256 of what was sent and of what came back.
fn round_trip(addr: &str, seed: u64, len: usize) -> (Vec<u8>, Vec<u8>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let mut noise = Noise::new(seed, len);
        let mut context = Context::new(&SHA256);
        let mut buf = vec![0; 8 * 1024 + 17];
        loop {
            let n = noise.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            context.update(&buf[..n]);
            writer.write_all(&buf[..n]).unwrap();
        }
        writer.shutdown(Shutdown::Write).unwrap();
        context.finish().as_ref().to_vec()
    });
    let mut reader = stream;
    let mut context = Context::new(&SHA256);
    let mut buf = vec![0; 64 * 1024];
    let mut received = 0;
    loop {
        let n = reader
            .read(&mut buf)
            .expect("the answer arrives before the timeout");
        if n == 0 {
            break;
        }
        received += n;
        context.update(&buf[..n]);
    }
    assert_eq!(received, len, "bytes back");
    (sending.join().unwrap(), context.finish().as_ref().to_vec())
}

#[test]
fn sixty_four_mib_each_way_through_tunnel_and_forward_on_every_runtime() {
    let echo = tcp_echo();
    for runtime in ASYNC_RUNTIMES {
        let served = serve(&["--forward", &echo, "--runtime", runtime]);
        let tunnel = tunnel(&served.url, runtime);
        let (sent, back) = round_trip(&tunnel.addr, 7, 64 * MIB);
        assert_eq!(
            sent, back,
            "{runtime}: the answer differs from what was sent"
        );
    }
}

#[test]
fn many_tunnelled_connections_at_once() {
    let echo = tcp_echo();
    let served = serve(&["--forward", &echo]);
    let tunnel = tunnel(&served.url, "tokio");
    let clients: Vec<_> = (0..32)
        .map(|seed| {
            let addr = tunnel.addr.clone();
            std::thread::spawn(move || round_trip(&addr, seed + 1, 512 * 1024))
        })
        .collect();
    for client in clients {
        let (sent, back) = client.join().unwrap();
        assert_eq!(sent, back);
    }
}

#[test]
fn stdio_carries_stdin_and_stdout() {
    let echo = tcp_echo();
    let served = serve(&["--forward", &echo]);
    let mut child = Command::new(BIN)
        .args(["tunnel", "--stdio", &served.url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = Noise::bytes(3, 3 * MIB);
    let mut stdin = child.stdin.take().unwrap();
    let feeding = {
        let input = input.clone();
        std::thread::spawn(move || stdin.write_all(&input).unwrap())
    };
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut output)
        .unwrap();
    feeding.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(output.len(), input.len());
    assert!(output == input, "stdout is what went in");
}

#[test]
fn a_forward_target_that_is_down_ends_the_client_connection() {
    // A port with nothing listening.
    let down = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let served = serve(&["--forward", &down]);
    let tunnel = tunnel(&served.url, "tokio");
    let mut stream = TcpStream::connect(&tunnel.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0; 16];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the end of the stream, got {other:?}"),
    }
}

#[test]
fn tunnels_run_over_wss_and_through_http_and_socks_proxies() {
    let echo = tcp_echo();
    let served = serve(&["--forward", &echo, "--tls-self-signed"]);
    assert!(served.url.starts_with("wss://"), "{}", served.url);
    let tinyproxy = ProxyServer::tinyproxy(None, &[]).expect("tinyproxy");
    let microsocks = ProxyServer::microsocks(None).expect("microsocks");
    for proxy in [tinyproxy.url("http", None), microsocks.url("socks5h", None)] {
        let tunnel = tunnel_with(&served.url, &["--insecure", "--proxy", &proxy]);
        let (sent, back) = round_trip(&tunnel.addr, 11, 8 * MIB);
        assert_eq!(sent, back, "through {proxy}");
    }
}
