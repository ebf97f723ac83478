//! The `wsproto` binary from the outside: `serve` on every runtime (first line, echo through
//! the library and through `wsproto connect`, the page on `/`, graceful shutdown on SIGTERM),
//! `connect`'s input modes, exit statuses, error reporting and bounded memory, and `--help`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wsproto_blocking::{CloseCode, Message};

const BIN: &str = env!("CARGO_BIN_EXE_wsproto");
const RUNTIMES: [&str; 4] = ["tokio", "async-std", "smol", "blocking"];

/// A running `wsproto serve`, killed on drop if the test did not stop it.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wsproto serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let url = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    assert!(!url.ends_with(":0/"), "the real port is printed: {url}");
    Served { child, url }
}

/// Sends signal `name` (`TERM`, `INT`) to `child`.
fn send_signal(child: &Child, name: &str) {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill -{name} {pid}");
}

/// Waits for `child` to exit, at most `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
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
struct Connect {
    child: Child,
    feeder: JoinHandle<()>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

/// How a `wsproto connect` ended.
struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
    /// Largest `VmHWM` (peak resident set) seen while it ran, in KiB.
    peak_rss_kib: u64,
}

/// Starts `wsproto connect ARGS` with every standard stream piped; the test holds stdin.
fn spawn_interactive(args: &[&str]) -> (Child, ChildStdin) {
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
fn spawn_connect(args: &[&str], mut input: impl Read + Send + 'static) -> Connect {
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

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).expect("read child output");
        bytes
    })
}

/// The peak resident set of process `pid` so far (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Connect {
    /// Waits for the child to exit by itself (killed and failed after `limit`), watching its
    /// peak memory meanwhile.
    fn finish(mut self, limit: Duration) -> Run {
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
fn run_connect(args: &[&str], input: impl Into<Vec<u8>>) -> Run {
    let input = std::io::Cursor::new(input.into());
    spawn_connect(args, input).finish(Duration::from_secs(20))
}

/// Runs `wsproto connect` with text `input`; returns (status, stdout, stderr).
fn connect_cli(args: &[&str], input: &str) -> (ExitStatus, String, String) {
    let run = run_connect(args, input);
    let out = String::from_utf8(run.stdout).expect("utf-8 stdout");
    (run.status, out, run.stderr)
}

/// A server for exactly one connection, in this process, handled by `handle` on a thread.
/// Returns its URL and the thread (which gives up if nobody connects within 20 s).
fn one_connection<T: Send + 'static>(
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
type Recorded = (Vec<Message>, Option<CloseCode>);

/// A one-connection server that records every message and the client's Close code.
fn recorder() -> (String, JoinHandle<Recorded>) {
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
struct Noise {
    state: u64,
    word: [u8; 8],
    used: usize,
    left: usize,
}

impl Noise {
    fn new(seed: u64, len: usize) -> Self {
        Self {
            state: seed,
            word: [0; 8],
            used: 8,
            left: len,
        }
    }

    fn bytes(seed: u64, len: usize) -> Vec<u8> {
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

#[test]
fn serve_echoes_on_every_runtime_through_the_library_and_the_cli_client() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime]);
        let mut ws = wsproto_blocking::connect(&server.url).expect("connect");
        ws.send_text("via library").expect("send");
        assert_eq!(
            ws.recv().expect("open").expect("ok"),
            Message::text("via library"),
            "{runtime}"
        );
        ws.send_binary(&vec![7; 1 << 20]).expect("send");
        assert_eq!(
            ws.recv().expect("open").expect("ok").payload().len(),
            1 << 20,
            "{runtime}"
        );
        ws.close(CloseCode::NORMAL, "").expect("close");

        for client_runtime in RUNTIMES {
            let (status, out, err) = connect_cli(
                &[&server.url, "--runtime", client_runtime],
                "first line\nsecond ✓\n",
            );
            assert_eq!(status.code(), Some(0), "{runtime}/{client_runtime}: {err}");
            assert_eq!(
                out, "first line\nsecond ✓\n",
                "{runtime} server, {client_runtime} client"
            );
            assert!(err.contains("closed by client: 1000"), "{err}");
        }
    }
}

#[test]
fn broadcast_mode_sends_to_every_client() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime, "--mode", "broadcast"]);
        // Each client proves it joined with a round trip through the server.
        let mut a = wsproto_blocking::connect(&server.url).expect("a");
        a.send_text("a joined").expect("send");
        assert_eq!(
            a.recv().expect("open").expect("ok"),
            Message::text("a joined")
        );
        let mut b = wsproto_blocking::connect(&server.url).expect("b");
        b.send_text("b joined").expect("send");
        assert_eq!(
            b.recv().expect("open").expect("ok"),
            Message::text("b joined")
        );
        assert_eq!(
            a.recv().expect("open").expect("ok"),
            Message::text("b joined"),
            "{runtime}"
        );
        a.send_text("hello all").expect("send");
        assert_eq!(
            a.recv().expect("open").expect("ok"),
            Message::text("hello all"),
            "{runtime}"
        );
        assert_eq!(
            b.recv().expect("open").expect("ok"),
            Message::text("hello all"),
            "{runtime}"
        );
    }
}

#[test]
fn plain_http_get_returns_the_test_page() {
    let server = serve(&[]);
    let addr = server.url.trim_start_matches("ws://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut page = String::new();
    stream.read_to_string(&mut page).expect("read");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html"));
    assert!(
        page.contains("new WebSocket(url)"),
        "the page connects back"
    );
}

#[test]
fn sigterm_closes_clients_with_1001_and_exits_cleanly() {
    for runtime in RUNTIMES {
        let mut server = serve(&["--runtime", runtime]);
        let mut ws = wsproto_blocking::connect(&server.url).expect("connect");
        ws.send_text("hi").expect("send");
        assert_eq!(ws.recv().expect("open").expect("ok"), Message::text("hi"));
        send_signal(&server.child, "TERM");
        assert!(
            ws.recv().is_none(),
            "{runtime}: the server closed the connection"
        );
        assert_eq!(
            ws.close_received().map(|f| f.code()),
            Some(CloseCode::GOING_AWAY),
            "{runtime}"
        );
        let status = wait_exit(&mut server.child, Duration::from_secs(10)).expect("exits");
        assert!(status.success(), "{runtime}: {status}");
    }
}

#[test]
fn connect_fails_loudly_on_handshake_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = format!("ws://127.0.0.1:{port}/");
    let (status, _, err) = connect_cli(&[&url], "");
    assert_eq!(status.code(), Some(3), "connect failure: {err}");
    assert!(err.contains("could not connect"), "{err}");
    // A URL the handshake cannot use is a usage error, not a failed handshake.
    let (status, _, err) = connect_cli(&["http://example/"], "");
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("invalid websocket url"), "{err}");
    assert!(!err.contains("handshake"), "{err}");
}

#[test]
fn help_and_bad_flags() {
    for command in [
        &["--help"][..],
        &["serve", "--help"],
        &["connect", "--help"],
        &["autobahn-client", "--help"],
    ] {
        let out = Command::new(BIN).args(command).output().expect("run");
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: wsproto"),
            "{command:?}"
        );
    }
    let out = Command::new(BIN)
        .args(["serve", "--runtime", "node"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--runtime"));
    let out = Command::new(BIN)
        .args(["connect", "--help"])
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Exit status",
        "--raw",
        "-b, --binary",
        "\n  130  interrupted",
    ] {
        assert!(help.contains(needle), "connect --help mentions {needle:?}");
    }
}

#[test]
fn deflate_is_negotiated_when_both_ask_for_it() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime, "--deflate"]);
        let options = wsproto_blocking::ClientConfig::default()
            .deflate(Some(wsproto_blocking::DeflateConfig::default()));
        let mut ws = wsproto_blocking::connect_with(&server.url, options).expect("connect");
        assert!(
            ws.connection().has_extension(),
            "{runtime}: permessage-deflate negotiated"
        );
        let text = "compress me ".repeat(10_000);
        ws.send_text(&text).expect("send");
        assert_eq!(
            ws.recv().expect("open").expect("ok"),
            Message::text(text),
            "{runtime}"
        );
        let (status, out, err) = connect_cli(
            &[&server.url, "--deflate", "--runtime", runtime],
            "squeezed\n",
        );
        assert!(status.success(), "{runtime}: {err}");
        assert_eq!(out, "squeezed\n");
    }
}

#[test]
fn text_mode_stops_at_a_line_that_is_not_utf8_after_sending_what_came_before() {
    for runtime in RUNTIMES {
        let (url, server) = recorder();
        let run = run_connect(&[&url, "--runtime", runtime], b"one\n\xff\xfe\nthree\n");
        assert_eq!(run.status.code(), Some(5), "{runtime}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("stdin line 2 is not valid UTF-8; use --binary or --raw to send bytes"),
            "{runtime}: {}",
            run.stderr
        );
        let (messages, close) = server.join().expect("server");
        assert_eq!(messages, [Message::text("one")], "{runtime}");
        assert_eq!(close, Some(CloseCode::NORMAL), "{runtime}: closed cleanly");
    }
}

#[test]
fn binary_mode_sends_each_lines_exact_bytes() {
    for (runtime, flag) in RUNTIMES
        .into_iter()
        .zip(["--binary", "-b", "--binary", "-b"])
    {
        let (url, server) = recorder();
        let run = run_connect(
            &[&url, "--runtime", runtime, flag],
            b"one\n\xff\xfe\nthree\r\n",
        );
        assert_eq!(run.status.code(), Some(0), "{runtime}: {}", run.stderr);
        let (messages, close) = server.join().expect("server");
        assert_eq!(
            messages,
            [
                Message::binary(&b"one"[..]),
                Message::binary(&b"\xff\xfe"[..]),
                Message::binary(&b"three\r"[..]),
            ],
            "{runtime}"
        );
        assert_eq!(close, Some(CloseCode::NORMAL), "{runtime}");
    }
}

#[test]
fn raw_mode_round_trips_binary_bytes_exactly() {
    let server = serve(&[]);
    let input = Noise::bytes(0x5eed, 1 << 20);
    for runtime in RUNTIMES {
        let run = run_connect(&[&server.url, "--runtime", runtime, "--raw"], input.clone());
        assert_eq!(run.status.code(), Some(0), "{runtime}: {}", run.stderr);
        assert_eq!(run.stdout.len(), input.len(), "{runtime}");
        assert!(
            run.stdout == input,
            "{runtime}: the echo differs from the input"
        );
    }
}

#[test]
fn a_close_1009_from_the_server_is_an_abnormal_exit() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime, "--max-message", "10"]);
        let (status, out, err) = connect_cli(
            &[&server.url, "--runtime", runtime],
            "short\nthis line is longer than ten bytes\n",
        );
        assert_eq!(status.code(), Some(4), "{runtime}: {err}");
        assert_eq!(out, "short\n", "{runtime}");
        assert!(err.contains("closed by server: 1009"), "{runtime}: {err}");
    }
}

#[test]
fn a_connection_dropped_without_a_close_is_an_abnormal_exit() {
    for runtime in RUNTIMES {
        let (url, server) = one_connection(drop);
        // stdin stays open: only the server can end this session.
        let (mut child, stdin) = spawn_interactive(&[&url, "--runtime", runtime]);
        let status = wait_exit(&mut child, Duration::from_secs(20));
        let _ = child.kill();
        drop(stdin);
        server.join().expect("server");
        assert_eq!(status.and_then(|s| s.code()), Some(4), "{runtime}");
    }
}

#[test]
fn ctrl_c_closes_with_1000_and_exits_130() {
    for runtime in RUNTIMES {
        // Echoes, and reports the code of the client's Close as the server saw it.
        let (url, server) = one_connection(|mut ws| {
            while let Some(Ok(message)) = ws.recv() {
                ws.send(message).expect("echo");
            }
            ws.close_received().map(|f| f.code())
        });
        let (mut child, mut stdin) = spawn_interactive(&[&url, "--runtime", runtime]);
        stdin.write_all(b"hello\n").expect("write");
        // The echo proves the session is up (and the signal handler installed).
        let mut echo = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut echo)
            .expect("echo");
        assert_eq!(echo, "hello\n");
        send_signal(&child, "INT");
        let status = wait_exit(&mut child, Duration::from_secs(10));
        let _ = child.kill();
        drop(stdin);
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        assert_eq!(status.and_then(|s| s.code()), Some(130), "{runtime}: {err}");
        assert!(err.contains("closed by client: 1000"), "{runtime}: {err}");
        let seen = server.join().expect("server");
        assert_eq!(seen, Some(CloseCode::NORMAL), "{runtime}: {err}");
    }
}

#[test]
fn a_large_raw_pipe_into_a_slow_server_keeps_memory_flat() {
    const SIZE: usize = 64 << 20;
    const LIMIT_KIB: u64 = 64 << 10;
    for runtime in RUNTIMES {
        // Takes each message a little late, so stdin outruns the connection.
        let (url, server) = one_connection(|mut ws| {
            let mut check = Noise::new(0xb16, SIZE);
            let mut expected = Vec::new();
            let mut total = 0;
            while let Some(received) = ws.recv() {
                let payload = received.expect("message").into_payload();
                expected.resize(payload.len(), 0);
                check.read_exact(&mut expected).expect("noise");
                assert!(payload == expected, "bytes differ at offset {total}");
                // About 128 MiB/s at most: slower than the client's stdin.
                if (total + payload.len()) >> 17 != total >> 17 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                total += payload.len();
            }
            total
        });
        let run = spawn_connect(
            &[&url, "--runtime", runtime, "--raw"],
            Noise::new(0xb16, SIZE),
        )
        .finish(Duration::from_secs(120));
        assert_eq!(run.status.code(), Some(0), "{runtime}: {}", run.stderr);
        assert_eq!(
            server.join().expect("server"),
            SIZE,
            "{runtime}: every byte arrived"
        );
        eprintln!(
            "{runtime}: peak RSS {} KiB for a {} MiB pipe",
            run.peak_rss_kib,
            SIZE >> 20
        );
        assert!(run.peak_rss_kib > 0, "{runtime}: the peak was measured");
        assert!(
            run.peak_rss_kib < LIMIT_KIB,
            "{runtime}: peak RSS {} KiB",
            run.peak_rss_kib
        );
    }
}
