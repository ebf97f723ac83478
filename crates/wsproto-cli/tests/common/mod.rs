//! Helpers shared by the `wsproto` binary's integration tests: a `serve` child that is
//! killed on drop, `connect` children whose pipes are fed and drained by threads (so a large
//! echo never stalls them), one-connection servers in this process, signals, and a
//! deterministic byte stream.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wsproto_blocking::{CloseCode, Message};

pub const BIN: &str = env!("CARGO_BIN_EXE_wsproto");
pub const RUNTIMES: [&str; 4] = ["tokio", "async-std", "smol", "blocking"];

/// A running `wsproto serve`, killed on drop if the test did not stop it.
pub struct Served {
    pub child: Child,
    /// From the first stdout line, `listening on URL`.
    pub url: String,
    /// From the second stdout line, `test page: PAGE`.
    pub page: String,
    /// stderr lines as they come ([`serve_logged`] only).
    stderr: Option<Receiver<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `wsproto serve` on a free port with `extra` flags; checks its two stdout lines.
pub fn serve(extra: &[&str]) -> Served {
    start_serve(extra, false)
}

/// Like [`serve`], keeping stderr for [`Served::wait_for_log`].
pub fn serve_logged(extra: &[&str]) -> Served {
    start_serve(extra, true)
}

fn start_serve(extra: &[&str], keep_stderr: bool) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(if keep_stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("start wsproto serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let url = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    // The page is on the same host and port: over https when the server speaks wss.
    let (page_scheme, host_port) = match url.split_once("://") {
        Some(("ws", rest)) => ("http", rest),
        Some(("wss", rest)) => ("https", rest),
        _ => panic!("unexpected scheme in {url:?}"),
    };
    assert!(
        host_port.starts_with("127.0.0.1:") && host_port.ends_with('/'),
        "{url}"
    );
    assert!(!url.ends_with(":0/"), "the real port is printed: {url}");
    let mut second = String::new();
    stdout.read_line(&mut second).expect("second line");
    let page = format!("{page_scheme}://{host_port}");
    assert_eq!(second, format!("test page: {page}\n"), "the second line");
    let stderr = child.stderr.take().map(lines);
    Served {
        child,
        url,
        page,
        stderr,
    }
}

impl Served {
    /// The host and port, for raw TCP.
    pub fn addr(&self) -> &str {
        let host_port = self
            .url
            .split_once("://")
            .map_or(&*self.url, |(_, rest)| rest);
        host_port.trim_end_matches('/')
    }

    /// The next stderr line containing `needle` (lines before it are skipped), waiting at
    /// most 10 s; fails the test with the lines seen otherwise.
    pub fn wait_for_log(&self, needle: &str) -> String {
        line_with(
            self.stderr.as_ref().expect("started with serve_logged"),
            &[needle],
        )
    }
}

/// Reads lines from `pipe` on a thread; they arrive on the returned channel.
pub fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line from `lines` containing every one of `needles` (lines before it are
/// skipped), within 10 s; fails the test with the lines seen otherwise.
pub fn line_with(lines: &Receiver<String>, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if needles.iter().all(|n| line.contains(n)) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {needles:?}; saw {seen:#?}"),
        }
    }
}

/// Sends signal `name` (`TERM`, `INT`) to `child`.
pub fn send_signal(child: &Child, name: &str) {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill -{name} {pid}");
}

/// Waits for `child` to exit, at most `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A running `wsproto connect`: stdin is fed and stdout/stderr are drained by threads, so a
/// large echo can never stall the child on a full pipe.
pub struct Connect {
    child: Child,
    feeder: JoinHandle<()>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

/// How a `wsproto connect` ended.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Largest `VmHWM` (peak resident set) seen while it ran, in KiB.
    pub peak_rss_kib: u64,
}

/// Starts `wsproto connect ARGS` with every standard stream piped; the test holds stdin.
pub fn spawn_interactive(args: &[&str]) -> (Child, ChildStdin) {
    let mut child = Command::new(BIN)
        .arg("connect")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wsproto connect");
    let stdin = child.stdin.take().expect("stdin");
    (child, stdin)
}

/// Starts `wsproto connect ARGS` with `input` copied to its stdin (then closed).
pub fn spawn_connect(args: &[&str], mut input: impl Read + Send + 'static) -> Connect {
    let (mut child, mut stdin) = spawn_interactive(args);
    // A client that stops reading early (invalid input) makes this fail: that is its business.
    let feeder = std::thread::spawn(move || drop(std::io::copy(&mut input, &mut stdin)));
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    Connect {
        child,
        feeder,
        stdout,
        stderr,
    }
}

pub fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).expect("read child output");
        bytes
    })
}

/// The peak resident set of process `pid` so far (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Connect {
    /// Waits for the child to exit by itself (killed and failed after `limit`), watching its
    /// peak memory meanwhile.
    pub fn finish(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        let mut peak = 0;
        let status = loop {
            peak = peak.max(peak_rss_kib(self.child.id()).unwrap_or(0));
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("wsproto connect did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.feeder.join().expect("feeder");
        Run {
            status,
            stdout: self.stdout.join().expect("stdout"),
            stderr: String::from_utf8_lossy(&self.stderr.join().expect("stderr")).into_owned(),
            peak_rss_kib: peak,
        }
    }
}

/// Runs `wsproto connect` with `input` on stdin until it exits (at most 20 s).
pub fn run_connect(args: &[&str], input: impl Into<Vec<u8>>) -> Run {
    let input = std::io::Cursor::new(input.into());
    spawn_connect(args, input).finish(Duration::from_secs(20))
}

/// Runs `wsproto connect` with text `input`; returns (status, stdout, stderr).
pub fn connect_cli(args: &[&str], input: &str) -> (ExitStatus, String, String) {
    let run = run_connect(args, input);
    let out = String::from_utf8(run.stdout).expect("utf-8 stdout");
    (run.status, out, run.stderr)
}

/// A server for exactly one connection, in this process, handled by `handle` on a thread.
/// Returns its URL and the thread (which gives up if nobody connects within 20 s).
pub fn one_connection<T: Send + 'static>(
    handle: impl FnOnce(wsproto_blocking::TcpWebSocket) -> T + Send + 'static,
) -> (String, JoinHandle<T>) {
    let server = wsproto_blocking::Server::bind("127.0.0.1:0").expect("bind");
    let url = server.url();
    let thread = std::thread::spawn(move || {
        let ws = server
            .accept_timeout(Duration::from_secs(20))
            .expect("accept")
            .expect("a client connected");
        handle(ws)
    });
    (url, thread)
}

/// What [`recorder`] saw: every message, then the code of the client's Close.
pub type Recorded = (Vec<Message>, Option<CloseCode>);

/// A one-connection server that records every message and the client's Close code.
pub fn recorder() -> (String, JoinHandle<Recorded>) {
    one_connection(|mut ws| {
        let mut messages = Vec::new();
        while let Some(received) = ws.recv() {
            messages.push(received.expect("a well-formed message"));
        }
        (messages, ws.close_received().map(|f| f.code()))
    })
}

/// Deterministic pseudo-random bytes (xorshift64), `len` in all, as a reader: the same
/// stream however it is read.
pub struct Noise {
    state: u64,
    word: [u8; 8],
    used: usize,
    left: usize,
}

impl Noise {
    pub fn new(seed: u64, len: usize) -> Self {
        Self {
            state: seed,
            word: [0; 8],
            used: 8,
            left: len,
        }
    }

    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(len);
        Self::new(seed, len).read_to_end(&mut bytes).expect("noise");
        bytes
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left);
        for byte in &mut buf[..n] {
            if self.used == 8 {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                self.word = self.state.to_le_bytes();
                self.used = 0;
            }
            *byte = self.word[self.used];
            self.used += 1;
        }
        self.left -= n;
        Ok(n)
    }
}
