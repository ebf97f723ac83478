//! Throughput of `wsproto tunnel` → `wsproto serve --forward` against a direct loopback TCP
//! copy: 64 MiB (or `--mib N`) sent one way into a sink, three runs each, best of three,
//! with the CPU time both wsproto processes spent per MiB.
//!
//! ```text
//! cargo build --release -p wsproto-cli
//! cargo run --release -p wsproto-cli --example tunnel_throughput -- [--runtime R] [--mib N]
//! ```
//!
//! Not a test: numbers go to stdout, for the performance section of `bench/README.md`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let runtime = value("--runtime").unwrap_or_else(|| "tokio".into());
    let mib: usize = value("--mib").and_then(|v| v.parse().ok()).unwrap_or(64);
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("wsproto")))
        .filter(|path| path.exists())
        .expect("build the binary first: cargo build --release -p wsproto-cli");

    let sink = sink();
    let direct = best(|| send(&sink, mib));
    // The same three hops with plain TCP relays and no WebSocket: the ceiling that the
    // loopback copies alone set on this machine.
    let relayed_entry = relay(&relay(&sink));
    let relayed = best(|| send(&relayed_entry, mib));
    let mut serve = start(
        &bin,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--forward",
            &sink,
            "--runtime",
            &runtime,
        ],
    );
    let url = first_line(&mut serve, "listening on ");
    let mut tunnel = start(
        &bin,
        &[
            "tunnel",
            "--listen",
            "127.0.0.1:0",
            &url,
            "--runtime",
            &runtime,
        ],
    );
    let entry = first_line(&mut tunnel, "listening on tcp://");
    let entry = entry.trim_end_matches('/').to_owned();
    let cpu_before = cpu_seconds(&serve) + cpu_seconds(&tunnel);
    let tunnelled = best(|| send(&entry, mib));
    let cpu = cpu_seconds(&serve) + cpu_seconds(&tunnel) - cpu_before;
    for mut child in [serve, tunnel] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let rate = |secs: f64| mib as f64 / secs;
    println!("runtime {runtime}, {mib} MiB one way, best of {RUNS}");
    println!("direct TCP:  {:.0} MiB/s", rate(direct));
    println!(
        "two TCP relays (same hops, no WebSocket): {:.0} MiB/s ({:.0}% of direct)",
        rate(relayed),
        100.0 * direct / relayed
    );
    println!(
        "tunnelled:   {:.0} MiB/s ({:.0}% of direct, {:.0}% of the relays)",
        rate(tunnelled),
        100.0 * direct / tunnelled,
        100.0 * relayed / tunnelled
    );
    println!(
        "CPU of tunnel + serve --forward: {:.2} ms per MiB",
        1000.0 * cpu / (mib * RUNS) as f64
    );
}

/// A TCP sink: reads each connection to its end, then closes.
fn sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = vec![0; 256 * 1024];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                let _ = stream.shutdown(Shutdown::Both);
            });
        }
    });
    addr
}

/// A plain TCP relay to `target` (one thread per direction, 64 KiB copies, FIN passed on);
/// returns its address.
fn relay(target: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let target = target.to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            for (mut from, mut to) in [
                (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                ),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    addr
}

/// Sends `mib` MiB to `addr`, half-closes, waits for the end; returns the seconds taken.
fn send(addr: &str, mib: usize) -> f64 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let chunk = vec![0x5a; 256 * 1024];
    let start = Instant::now();
    for _ in 0..mib * 4 {
        stream.write_all(&chunk).expect("write");
    }
    stream.shutdown(Shutdown::Write).expect("shutdown");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    start.elapsed().as_secs_f64()
}

fn best(mut run: impl FnMut() -> f64) -> f64 {
    (0..RUNS).map(|_| run()).fold(f64::MAX, f64::min)
}

fn start(bin: &std::path::Path, args: &[&str]) -> Child {
    Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wsproto")
}

fn first_line(child: &mut Child, prefix: &str) -> String {
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    line.trim_end()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

/// User + system CPU seconds of a child so far (Linux `/proc`; 0 elsewhere).
fn cpu_seconds(child: &Child) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, indices 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}
