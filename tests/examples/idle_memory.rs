//! Measures what an idle WebSocket connection costs a server, per runtime. Not a test: it
//! prints one line, `runtime=R connections=N rss_delta_bytes=X per_connection_bytes=Y`.
//!
//! The server runs in a child process (this example again, with `--serve R`), so the
//! parent's sockets are not counted. The parent opens N connections with raw std sockets and
//! a hand-written handshake, sends one message on each and reads its echo, leaves them all
//! idle for a second, and reports the growth of the child's `VmRSS` (`/proc/PID/status`)
//! from before the first connection to after the idle second.
//!
//! ```sh
//! ulimit -n 20000   # N sockets on each side, plus a few
//! cargo run --release -p wsproto-tests --example idle_memory -- --runtime tokio
//! cargo run --release -p wsproto-tests --example idle_memory -- --runtime blocking \
//!     --connections 10000 --release-buffers
//! ```
//!
//! `--release-buffers` makes the server call `release_buffers()` after each echo (the async
//! driver already does so whenever a read would wait).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

struct Args {
    runtime: String,
    connections: usize,
    release_buffers: bool,
    serve: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runtime: "tokio".to_owned(),
        connections: 10_000,
        release_buffers: false,
        serve: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runtime" => args.runtime = it.next().ok_or("--runtime needs a value")?,
            "--connections" => {
                args.connections = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--connections needs a number")?;
            }
            "--release-buffers" => args.release_buffers = true,
            "--serve" => args.serve = Some(it.next().ok_or("--serve needs a runtime")?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() {
    let result = parse_args().and_then(|args| match &args.serve {
        Some(runtime) => serve(runtime, args.release_buffers),
        None => measure(&args),
    });
    if let Err(error) = result {
        eprintln!("idle_memory: {error}");
        std::process::exit(1);
    }
}

// ----- the parent: connect, go idle, measure -------------------------------------------------

fn rss_of(pid: u32) -> Result<usize, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading the server's status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<usize>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| "no VmRSS in the server's status".to_owned())
}

fn measure(args: &Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    command.args(["--serve", &args.runtime]);
    if args.release_buffers {
        command.arg("--release-buffers");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the server: {e}"))?;
    let result = measure_child(args, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn measure_child(args: &Args, child: &mut std::process::Child) -> Result<(), String> {
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ws://")
        .and_then(|rest| rest.trim_end_matches('/').parse().ok())
        .ok_or_else(|| format!("unexpected server output {line:?}"))?;

    std::thread::sleep(Duration::from_millis(200));
    let before = rss_of(child.id())?;
    let started = Instant::now();
    let mut open = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        open.push(connect_and_echo(addr).map_err(|e| format!("connection {i}: {e}"))?);
    }
    let connected = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_of(child.id())?;
    let delta = after.saturating_sub(before);
    eprintln!(
        "server RSS {before} -> {after} bytes; {} connections opened and echoed in {connected:.2?}",
        open.len()
    );
    println!(
        "runtime={} connections={} rss_delta_bytes={delta} per_connection_bytes={}",
        args.runtime,
        args.connections,
        delta / args.connections.max(1),
    );
    drop(open);
    Ok(())
}

/// Opens one connection, upgrades it, and echoes one short text message.
fn connect_and_echo(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101 ") {
        return Err(std::io::Error::other("upgrade refused"));
    }
    // "hello", masked with key 1 2 3 4.
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x85];
    frame.extend_from_slice(&key);
    frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    stream.write_all(&frame)?;
    let mut echo = [0; 7];
    stream.read_exact(&mut echo)?;
    if &echo != b"\x81\x05hello" {
        return Err(std::io::Error::other("wrong echo"));
    }
    Ok(stream)
}

// ----- the child: an echo server ------------------------------------------------------------

fn announce(url: &str) {
    println!("listening on {url}");
    let _ = std::io::stdout().flush();
}

/// One async echo connection; `release` gives the buffers back after each reply.
macro_rules! echo {
    ($ws:ident, $release:expr $(, $aw:tt)?) => {
        while let Some(Ok(message)) = $ws.recv() $(.$aw)? {
            if $ws.send(message) $(.$aw)? .is_err() {
                break;
            }
            if $release {
                $ws.release_buffers();
            }
        }
    };
}

fn serve(runtime: &str, release: bool) -> Result<(), String> {
    let config = wsproto_tokio::ServerConfig::default();
    let bind = "127.0.0.1:0";
    match runtime {
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut server = wsproto_tokio::Server::bind_with(bind, config)
                    .await
                    .map_err(|e| e.to_string())?;
                announce(&server.url());
                loop {
                    match server.accept().await {
                        Ok(mut ws) => drop(tokio::spawn(async move { echo!(ws, release, await) })),
                        Err(error) => eprintln!("accept: {error}"),
                    }
                }
            })
        }
        "smol" => smol::block_on(async {
            let mut server = wsproto_smol::Server::bind_with(bind, config)
                .await
                .map_err(|e| e.to_string())?;
            announce(&server.url());
            loop {
                match server.accept().await {
                    Ok(mut ws) => smol::spawn(async move { echo!(ws, release, await) }).detach(),
                    Err(error) => eprintln!("accept: {error}"),
                }
            }
        }),
        "async-std" => async_std::task::block_on(async {
            let mut server = wsproto_async_std::Server::bind_with(bind, config)
                .await
                .map_err(|e| e.to_string())?;
            announce(&server.url());
            loop {
                match server.accept().await {
                    Ok(mut ws) => {
                        async_std::task::spawn(async move { echo!(ws, release, await) });
                    }
                    Err(error) => eprintln!("accept: {error}"),
                }
            }
        }),
        "blocking" => {
            let server =
                wsproto_blocking::Server::bind_with(bind, config).map_err(|e| e.to_string())?;
            announce(&server.url());
            loop {
                match server.accept() {
                    Ok(mut ws) => drop(std::thread::spawn(move || echo!(ws, release))),
                    Err(error) => {
                        eprintln!("accept: {error}");
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
        other => Err(format!(
            "unknown runtime {other} (tokio, smol, async-std, blocking)"
        )),
    }
}
