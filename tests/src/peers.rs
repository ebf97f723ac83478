//! Real peers — Python `websockets`, Node `ws` and headless Chromium — run as child processes
//! against our adapters, in both directions. The programs live in `tests/peers/`.
//!
//! A [`Mode`] says how a Python or Node run is set up: plain `ws://` or `wss://`, with
//! permessage-deflate or without. Over TLS the test makes a CA and a loopback certificate
//! ([`PemFiles`]) and hands the peer program their paths — `server --tls-cert F --tls-key F`,
//! `client URL --ca F`, the same flags for both programs — while our side gets them as
//! [`ServerTls`](wsproto_tokio::ServerTls) / [`ClientTls`].
//!
//! Where the peers are comes from the environment `scripts/test.sh` sets after installing
//! them: `WSPROTO_PYTHON` (the venv's python with `websockets`), `WSPROTO_NODE_DIR` (the folder
//! whose `node_modules` holds `ws` and `playwright-core`; `node` itself comes from `PATH`),
//! `WSPROTO_CHROMIUM` and `WSPROTO_BIN` (the built `wsproto` binary). A missing one is an
//! error naming what to install, never a silent skip.
//!
//! Invariants: every child process is killed and reaped when its [`ChildGuard`] drops, and
//! every wait — for a port, for a peer client, for one of our clients — ends within
//! [`PEER_LIMIT`].

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use wsproto_core::{Bytes, CloseCode, Event, Message, MessageKind};
use wsproto_tokio::{ClientConfig, ClientTls, DeflateConfig};

use crate::certs::PemFiles;
use crate::{CLOSE_WITH, Client, ClientKind, ServerKind, client_config, echo_config};

/// The longest any single wait on a peer may take.
pub const PEER_LIMIT: Duration = Duration::from_secs(60);

/// The subprotocols a client offers, most preferred first; the server must pick the first.
const OFFER: [&str; 2] = ["chat.v2", "chat.v1"];
/// The close a client starts, and the code the server must echo.
const CLIENT_CLOSE: (u16, &str) = (4001, "bye");
/// The close a client asks the server for with [`CLOSE_WITH`].
const SERVER_CLOSE: (u16, &str) = (4002, "later");

/// How one interop run is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// `wss://` with certificates the test makes, instead of `ws://`.
    pub tls: bool,
    /// permessage-deflate offered, accepted and required to be in use, instead of declined.
    pub deflate: bool,
}

impl Mode {
    /// `ws://`, no compression.
    pub const PLAIN: Self = Self {
        tls: false,
        deflate: false,
    };
    /// `ws://` with permessage-deflate.
    pub const DEFLATE: Self = Self {
        tls: false,
        deflate: true,
    };
    /// `wss://`, no compression.
    pub const TLS: Self = Self {
        tls: true,
        deflate: false,
    };
    /// `wss://` with permessage-deflate.
    pub const TLS_DEFLATE: Self = Self {
        tls: true,
        deflate: true,
    };

    /// The certificates of a TLS run, written for the peer program; `None` when plain.
    fn pem_files(self) -> Result<Option<PemFiles>, String> {
        if !self.tls {
            return Ok(None);
        }
        PemFiles::loopback()
            .map(Some)
            .map_err(|e| format!("cannot write the test certificates: {e}"))
    }

    /// Our deflate settings for this run.
    fn deflate_config(self) -> Option<DeflateConfig> {
        self.deflate.then(DeflateConfig::default)
    }
}

/// The peer server's TLS flags (the same for Python and Node): present `pem`'s loopback
/// certificate. None for a plain run.
fn server_tls_args(pem: Option<&PemFiles>) -> Vec<OsString> {
    pem.map_or_else(Vec::new, |pem| {
        vec![
            "--tls-cert".into(),
            pem.cert_path().into(),
            "--tls-key".into(),
            pem.key_path().into(),
        ]
    })
}

/// The peer client's TLS flags (the same for Python and Node): trust only `pem`'s CA. None
/// for a plain run.
fn client_tls_args(pem: Option<&PemFiles>) -> Vec<OsString> {
    pem.map_or_else(Vec::new, |pem| vec!["--ca".into(), pem.ca_path().into()])
}

/// A real WebSocket implementation that can be an echo server and a checking client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Python `websockets` (asyncio API), `tests/peers/python/peer.py`.
    Python,
    /// Node `ws`, `tests/peers/node/peer.mjs`.
    Node,
}

impl Peer {
    /// The command running this peer's program with `args` (`server`, or `client URL`, then
    /// any TLS flags); with `deflate` its server accepts permessage-deflate and its client
    /// requires it.
    fn command(self, args: &[OsString], deflate: bool) -> Result<Command, String> {
        let mut command = match self {
            Self::Python => {
                let python = env_program(
                    "WSPROTO_PYTHON",
                    "install Python 3 with `websockets` (tests/peers/python/requirements.txt)",
                )?;
                let mut command = Command::new(python);
                command
                    .env("PYTHONUNBUFFERED", "1")
                    .arg(repo_root().join("tests/peers/python/peer.py"));
                command
            }
            Self::Node => {
                let mut command = node_command()?;
                command.arg(repo_root().join("tests/peers/node/peer.mjs"));
                command
            }
        };
        command
            .args(args)
            .env("WSPROTO_DEFLATE", if deflate { "1" } else { "0" });
        Ok(command)
    }

    /// Starts this peer's echo server, presenting `pem`'s certificate if given; returns it
    /// (killed on drop) and its URL, `wss://` with a certificate and `ws://` without.
    fn start_echo(
        self,
        deflate: bool,
        pem: Option<&PemFiles>,
    ) -> Result<(ChildGuard, String), String> {
        let mut args = vec![OsString::from("server")];
        args.extend(server_tls_args(pem));
        let mut server =
            ChildGuard::spawn(&format!("{self:?} server"), self.command(&args, deflate)?)?;
        let port = server.wait_for_line(|line| line.strip_prefix("PORT ").map(str::to_owned))?;
        let scheme = if pem.is_some() { "wss" } else { "ws" };
        Ok((server, format!("{scheme}://127.0.0.1:{port}/")))
    }
}

/// The repository root (this crate lives in `tests/`).
fn repo_root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests).to_path_buf()
}

/// What to do about a missing peer: `todo` by hand, or the script that does it all.
fn install_hint(var: &str, todo: &str) -> String {
    format!("{todo}, or run ./scripts/test.sh, which installs every interop peer and sets {var}")
}

/// The executable named by the environment variable `var`; `todo` says how to get it.
pub(crate) fn env_program(var: &str, todo: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{var} is not set: {}", install_hint(var, todo)))?;
    let path = PathBuf::from(path);
    if !is_executable(&path) {
        return Err(format!(
            "{var}={} is not an executable file: {}",
            path.display(),
            install_hint(var, todo)
        ));
    }
    Ok(path)
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// `node` from `PATH`, with `WSPROTO_NODE_DIR` (checked to hold `ws` and `playwright-core`)
/// passed on for the scripts to load their packages from.
fn node_command() -> Result<Command, String> {
    const WHAT: &str = "install Node.js and the npm packages of tests/peers/node (npm ci)";
    let dir = std::env::var_os("WSPROTO_NODE_DIR")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!(
                "WSPROTO_NODE_DIR is not set: {}",
                install_hint("WSPROTO_NODE_DIR", WHAT)
            )
        })?;
    let dir = PathBuf::from(dir);
    for package in ["ws", "playwright-core"] {
        if !dir.join("node_modules").join(package).is_dir() {
            return Err(format!(
                "WSPROTO_NODE_DIR={} has no node_modules/{package}: {}",
                dir.display(),
                install_hint("WSPROTO_NODE_DIR", WHAT)
            ));
        }
    }
    let node = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("node"))
                .find(|p| is_executable(p))
        })
        .ok_or_else(|| {
            "`node` is not on PATH: install Node.js (20 or later), then run ./scripts/test.sh"
                .to_owned()
        })?;
    let mut command = Command::new(node);
    command.env("WSPROTO_NODE_DIR", dir);
    Ok(command)
}

/// A child process that is killed and reaped when dropped. Its stdout arrives line by line
/// on a channel; its stderr is collected for error messages.
pub struct ChildGuard {
    name: String,
    child: Child,
    stdout: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl ChildGuard {
    /// Spawns `command` with piped stdout and stderr and no stdin.
    pub fn spawn(name: &str, mut command: Command) -> Result<Self, String> {
        let program = Path::new(command.get_program()).display().to_string();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{name}: cannot start {program}: {e}"))?;
        let (tx, stdout) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0; 4096];
                while let Ok(n @ 1..) = err.read(&mut buf) {
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            stdout,
            seen: Vec::new(),
            stderr,
        })
    }

    /// Waits (at most [`PEER_LIMIT`]) for the first stdout line `parse` accepts.
    pub fn wait_for_line<T>(&mut self, parse: impl Fn(&str) -> Option<T>) -> Result<T, String> {
        let deadline = Instant::now() + PEER_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    let found = parse(&line);
                    self.seen.push(line);
                    if let Some(found) = found {
                        return Ok(found);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(self.failure(&format!("no expected line within {PEER_LIMIT:?}")));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.failure("exited before printing the expected line"));
                }
            }
        }
    }

    /// Waits (at most [`PEER_LIMIT`]) for a stderr line that `parse` accepts (stderr is
    /// also kept whole for the failure report).
    pub fn wait_for_stderr<T>(&self, parse: impl Fn(&str) -> Option<T>) -> Result<T, String> {
        let deadline = Instant::now() + PEER_LIMIT;
        loop {
            let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
            // Only whole lines: the last one may still be arriving.
            let whole = stderr.rsplit_once('\n').map_or("", |(lines, _)| lines);
            if let Some(found) = whole.lines().find_map(&parse) {
                return Ok(found);
            }
            if Instant::now() > deadline {
                return Err(self.failure(&format!("no expected stderr line within {PEER_LIMIT:?}")));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most [`PEER_LIMIT`]) for the process to exit, and succeeds if it exited 0
    /// with `verdict` as its last stdout line.
    pub fn expect_exit(mut self, verdict: &str) -> Result<(), String> {
        let deadline = Instant::now() + PEER_LIMIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    return Err(self.failure(&format!("still running after {PEER_LIMIT:?}")));
                }
                Err(e) => return Err(self.failure(&format!("cannot wait: {e}"))),
            }
        };
        // The pipe closes at exit; the reader thread then ends the channel.
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let last = self.seen.last().map_or("", String::as_str);
        if status.success() && last == verdict {
            return Ok(());
        }
        Err(self.failure(&format!("{status}, last line {last:?}, want {verdict:?}")))
    }

    /// An error naming the process, with what it printed so far.
    fn failure(&self, what: &str) -> String {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        format!(
            "{}: {what}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.seen.join("\n"),
            stderr.trim_end()
        )
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The check an exchange is at, reported if it hangs.
type Step = Arc<Mutex<&'static str>>;

fn at(step: &Step, name: &'static str) {
    if let Ok(mut current) = step.lock() {
        *current = name;
    }
}

/// Direction one: the peer's checking client against our echo server on `server`.
/// The peer checks text, binary, 1 MiB and 16 MiB echoes, a fragmented message, a ping and
/// its pong, subprotocol negotiation, the echo of its 4001 close, and a `close-with` close;
/// over TLS also that the connection is TLS with ALPN `http/1.1`.
///
/// With `mode.deflate` our server accepts permessage-deflate and the peer requires it to be
/// negotiated (both peers offer it by default); without, the offer must be declined. With
/// `mode.tls` our server presents a fresh certificate and the peer trusts only its CA.
pub fn peer_client_against(peer: Peer, server: ServerKind, mode: Mode) -> Result<(), String> {
    let pem = mode.pem_files()?;
    let mut config = echo_config().deflate(mode.deflate_config());
    if let Some(pem) = &pem {
        let tls = pem.leaf().server_tls().map_err(|e| e.to_string())?;
        config = config.tls(tls);
    }
    let url = server.start_echo_config(config);
    let mut args = vec![OsString::from("client"), OsString::from(url)];
    args.extend(client_tls_args(pem.as_ref()));
    ChildGuard::spawn(
        &format!("{peer:?} client -> {server:?} server"),
        peer.command(&args, mode.deflate)?,
    )?
    .expect_exit("PASS")
}

/// Direction two: our `client` adapter against the peer's echo server, with the same checks
/// as [`peer_client_against`].
///
/// With `mode.deflate` our client offers permessage-deflate, the peer's server accepts it,
/// and the client checks it was negotiated. With `mode.tls` the peer's server presents a
/// fresh certificate and our client trusts only its CA.
pub fn client_against_peer(client: ClientKind, peer: Peer, mode: Mode) -> Result<(), String> {
    let pem = mode.pem_files()?;
    let (server, url) = peer.start_echo(mode.deflate, pem.as_ref())?;
    let trust = match &pem {
        Some(pem) => Some(pem.ca().client_tls().map_err(|e| e.to_string())?),
        None => None,
    };
    let what = format!("{client:?} client -> {peer:?} server");
    // Our client runs on its own thread so a hang is cut off here; once `server` drops (and
    // the peer is killed) that thread's socket fails and it ends by itself.
    let step: Step = Arc::new(Mutex::new("start"));
    let handle = thread::spawn({
        let step = Arc::clone(&step);
        move || exchange(client, &url, &step, mode.deflate, trust)
    });
    let deadline = Instant::now() + PEER_LIMIT;
    while !handle.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let result = if handle.is_finished() {
        handle
            .join()
            .unwrap_or_else(|_| Err("the client thread panicked".to_owned()))
    } else {
        let current = step.lock().map_or("?", |s| *s);
        Err(format!("{current}: still running after {PEER_LIMIT:?}"))
    };
    // On failure, also say what the peer logged.
    result.map_err(|e| format!("{what}: {e}\n{}", server.failure("peer server output")))
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    Err(format!("{what}: got {got:?}, want {want:?}"))
}

/// Compares messages, describing a mismatch by kind, length and first differing byte
/// rather than dumping megabytes.
fn check_message(what: &str, got: &Message, want: &Message) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let (g, w) = (got.payload(), want.payload());
    let at = g
        .iter()
        .zip(w.iter())
        .position(|(a, b)| a != b)
        .unwrap_or(g.len().min(w.len()));
    Err(format!(
        "{what}: got {:?} of {} bytes, want {:?} of {} bytes; first difference at byte {at}",
        got.kind(),
        g.len(),
        want.kind(),
        w.len()
    ))
}

fn recv(ws: &mut dyn Client, what: &str) -> Result<Message, String> {
    match ws.recv() {
        Some(Ok(message)) => Ok(message),
        Some(Err(e)) => Err(format!("{what}: {e}")),
        None => Err(format!(
            "{what}: connection ended ({:?})",
            ws.close_received()
        )),
    }
}

fn echo(
    ws: &mut dyn Client,
    step: &Step,
    what: &'static str,
    message: Message,
) -> Result<(), String> {
    at(step, what);
    ws.send(message.clone())
        .map_err(|e| format!("{what}: send: {e}"))?;
    check_message(what, &recv(ws, what)?, &message)
}

/// Deterministic bytes `i % 251`, so a shifted or truncated echo is noticed.
fn pattern(len: usize) -> Bytes {
    (0..len)
        .map(|i| u8::try_from(i % 251).unwrap_or(0))
        .collect::<Vec<u8>>()
        .into()
}

fn close_code(code: u16) -> Result<CloseCode, String> {
    CloseCode::new(code).map_err(|e| format!("close code {code}: {e}"))
}

/// The checks one of our clients runs against any echo server at `url`, trusting `trust`
/// for `wss://` (the bundled roots when `None`).
fn exchange(
    client: ClientKind,
    url: &str,
    step: &Step,
    deflate: bool,
    trust: Option<ClientTls>,
) -> Result<(), String> {
    let config = |offer: &[&str], deflate: bool| -> ClientConfig {
        let config = client_config(offer).deflate(deflate.then(DeflateConfig::default));
        match &trust {
            Some(tls) => config.tls(tls.clone()),
            None => config,
        }
    };
    at(step, "connect");
    let mut ws = client
        .connect_config(url, config(&OFFER, deflate))
        .map_err(|e| format!("connect: {e}"))?;
    let ws = &mut *ws;
    check("subprotocol", ws.subprotocol().as_deref(), Some(OFFER[0]))?;
    check("permessage-deflate negotiated", ws.compressed(), deflate)?;

    echo(ws, step, "text", Message::text("héllo ✓"))?;
    echo(ws, step, "binary", Message::binary(vec![1, 2, 3]))?;
    echo(ws, step, "1 MiB", Message::Binary(pattern(1 << 20)))?;
    echo(ws, step, "16 MiB", Message::Binary(pattern(16 << 20)))?;

    at(step, "fragmented");
    for (piece, fin) in [("frag", false), ("men", false), ("ted ✓", true)] {
        ws.send_fragment(MessageKind::Text, piece.as_bytes(), fin)
            .map_err(|e| format!("fragment {piece:?}: {e}"))?;
    }
    let whole = Message::text("fragmented ✓");
    check_message("fragmented", &recv(ws, "fragmented")?, &whole)?;

    at(step, "ping");
    ws.ping(b"rtt?").map_err(|e| format!("ping: {e}"))?;
    match ws.next_event() {
        Some(Ok(Event::Pong { payload, rtt })) => {
            check("pong payload", &payload[..], &b"rtt?"[..])?;
            check("pong has a round-trip time", rtt.is_some(), true)?;
        }
        other => return Err(format!("ping: expected a pong, got {other:?}")),
    }

    at(step, "close");
    let (code, reason) = CLIENT_CLOSE;
    ws.close(close_code(code)?, reason)
        .map_err(|e| format!("close: {e}"))?;
    check(
        "close echo code",
        ws.close_received().map(|f| f.code().as_u16()),
        Some(code),
    )?;

    // A second connection, offering nothing and closed by the server on request.
    at(step, "connect 2");
    let mut ws = client
        .connect_config(url, config(&[], false))
        .map_err(|e| format!("connect 2: {e}"))?;
    let ws = &mut *ws;
    check("no subprotocol offered", ws.subprotocol(), None)?;
    at(step, "close-with");
    let (code, reason) = SERVER_CLOSE;
    ws.send(Message::text(format!("{CLOSE_WITH} {code} {reason}")))
        .map_err(|e| format!("close-with: {e}"))?;
    if let Some(extra) = ws.recv() {
        return Err(format!("close-with: got {extra:?} instead of the close"));
    }
    let frame = ws
        .close_received()
        .ok_or("close-with: no close frame received")?;
    check(
        "server close",
        (frame.code().as_u16(), frame.reason()),
        (code, reason),
    )
}

// Chromium against `wsproto serve`, over http and https: its own file, with this module's
// child processes and program lookup.
mod browser;
pub use browser::{
    browser_against, browser_against_self_signed, browser_against_tls, browser_controls_against,
    browser_controls_against_tls,
};
