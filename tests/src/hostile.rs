//! Helpers for the hostile-peer tests (`tests/tests/hostile.rs`): a server on any adapter with
//! a chosen [`ServerConfig`] that reports how each connection ended ([`serve`]), a raw client
//! that writes whatever bytes a test wants and reads frames with the test kit's codec
//! ([`RawClient`], [`wsproto_testkit::wire`]), typed clients with chosen
//! [`Limits`] on every adapter, the process's memory as `/proc/self/status` reports it, and
//! [`bounded`], which runs one test body at a time under a time limit.
//!
//! Invariants: nothing here blocks without a bound (raw sockets get a read timeout, servers
//! poll their stop flag every [`TICK`]), and a server stops accepting once its [`Served`] is
//! dropped.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use wsproto_core::{CloseCode, Limits, Message};
use wsproto_testkit::wire::{self, Header, PEER_MASK, first_byte, opcode};
// Every adapter re-exports these same `wsproto-setup` types.
use wsproto_tokio::{ClientConfig, Error, ServerConfig};

use crate::{ClientKind, ServerKind};

/// How often a [`serve`] accept loop looks at its stop flag and publishes its counters.
pub const TICK: Duration = Duration::from_millis(50);

/// How long a [`RawClient`] waits for any one read.
pub const RAW_READ_TIMEOUT: Duration = Duration::from_secs(10);

// ----- running test bodies -----------------------------------------------------------------

/// Runs `body` on its own thread, one body at a time in this process (so memory figures and
/// timings are not disturbed by a neighbour), and fails if it takes longer than `limit`.
/// Returns how long it took.
pub fn bounded(limit: Duration, body: impl FnOnce() + Send + 'static) -> Duration {
    static SERIAL: Mutex<()> = Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    let handle = thread::spawn(body);
    while !handle.is_finished() {
        assert!(
            started.elapsed() < limit,
            "test body took longer than {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
    started.elapsed()
}

/// Polls `done` every few milliseconds until it holds or `within` has passed; returns
/// whether it held.
pub fn wait_for(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

// ----- memory ------------------------------------------------------------------------------

fn status_kib(pid: &str, field: &str) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// This process's resident set size (`VmRSS`), in bytes.
#[must_use]
pub fn rss() -> usize {
    status_kib("self", "VmRSS:") * 1024
}

/// This process's peak resident set size since the last [`reset_peak_rss`] (`VmHWM`), in
/// bytes.
#[must_use]
pub fn peak_rss() -> usize {
    status_kib("self", "VmHWM:") * 1024
}

/// Resets the peak resident set size to the current one (`/proc/self/clear_refs`, Linux 4.0+).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Bytes as MiB with two decimals, for messages.
#[must_use]
pub fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / f64::from(1 << 20))
}

// ----- messages ----------------------------------------------------------------------------

/// Message `i` of a numbered sequence: 4 to 2 051 bytes (about 1 KiB on average), binary for
/// even `i` and ASCII text for odd `i`, starting with `i` so a reordering shows.
#[must_use]
pub fn numbered(i: u32) -> Message {
    let len = 4 + (i as usize * 7919) % 2048;
    if i.is_multiple_of(2) {
        let mut data = i.to_be_bytes().to_vec();
        data.extend((4..len).map(|j| (j as u32 ^ i) as u8));
        Message::binary(data)
    } else {
        let mut text = format!("{i:08}");
        text.extend((8..len.max(8)).map(|j| char::from(b'a' + (j % 26) as u8)));
        Message::text(text)
    }
}

/// The text that asks a [`Mode::Source`] server for `count` numbered messages.
#[must_use]
pub fn send_request(count: u32) -> Message {
    Message::text(format!("send {count}"))
}

fn parse_send_request(message: &Message) -> Option<u32> {
    let Message::Text(text) = message else {
        return None;
    };
    text.as_str().strip_prefix("send ")?.parse().ok()
}

// ----- servers -----------------------------------------------------------------------------

/// How a [`serve`] server treats each connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Repeats every message with `feed` (replies leave when a read would wait or the write
    /// buffer passes its high-water mark), recording the buffered amount after each.
    Echo,
    /// Keeps every message in the connection's [`Report`]; sends nothing.
    Sink,
    /// On the text `send N` ([`send_request`]) feeds [`numbered`] messages `0..N`, then
    /// closes with 1000 and waits for the answer.
    Source,
}

/// How one server-side connection went.
#[derive(Debug)]
pub struct Report {
    /// Data messages received.
    pub received: u64,
    /// The messages themselves ([`Mode::Sink`] only).
    pub messages: Vec<Message>,
    /// `Ok` when the connection ended cleanly, else the error that ended it.
    pub end: Result<(), Error>,
    /// The code of the peer's Close, if one arrived.
    pub close_received: Option<u16>,
}

/// Counters a [`serve`] server publishes while it runs.
#[derive(Default)]
pub struct Stats {
    stop: AtomicBool,
    accepted: AtomicUsize,
    messages: AtomicU64,
    buffered: AtomicUsize,
    max_buffered: AtomicUsize,
    failed_handshakes: AtomicU64,
    listener_errors: AtomicU64,
    reports: Mutex<Vec<Report>>,
    reported: Condvar,
}

impl Stats {
    /// Connections whose handshake succeeded.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Data messages received over all connections.
    pub fn messages(&self) -> u64 {
        self.messages.load(Ordering::SeqCst)
    }

    /// The write buffer's fill after the latest `feed`, in bytes.
    pub fn buffered(&self) -> usize {
        self.buffered.load(Ordering::SeqCst)
    }

    /// The largest write-buffer fill seen after a `feed`, in bytes.
    pub fn max_buffered(&self) -> usize {
        self.max_buffered.load(Ordering::SeqCst)
    }

    /// Failed handshakes as the adapter's `Server` counts them (published every [`TICK`]).
    pub fn failed_handshakes(&self) -> u64 {
        self.failed_handshakes.load(Ordering::SeqCst)
    }

    /// Errors `Server::accept` returned (the loop keeps accepting after them).
    pub fn listener_errors(&self) -> u64 {
        self.listener_errors.load(Ordering::SeqCst)
    }

    /// Connections that ended (their handler returned) so far.
    pub fn ended(&self) -> usize {
        self.lock_reports().len()
    }

    /// Waits up to `within` until `count` connections have ended and takes their reports
    /// (oldest first); `None` if fewer ended in time.
    pub fn take_reports(&self, count: usize, within: Duration) -> Option<Vec<Report>> {
        let deadline = Instant::now() + within;
        let mut reports = self.lock_reports();
        while reports.len() < count {
            let left = deadline.checked_duration_since(Instant::now())?;
            reports = self
                .reported
                .wait_timeout(reports, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Some(reports.drain(..count).collect())
    }

    fn lock_reports(&self) -> std::sync::MutexGuard<'_, Vec<Report>> {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note_buffered(&self, bytes: usize) {
        self.buffered.store(bytes, Ordering::SeqCst);
        self.max_buffered.fetch_max(bytes, Ordering::SeqCst);
    }

    fn finish(&self, report: Report) {
        self.lock_reports().push(report);
        self.reported.notify_all();
    }

    /// Counts an accepted connection; returns the handle its handler reports to.
    fn on_accept(self: &Arc<Self>) -> Arc<Self> {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        Arc::clone(self)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A running [`serve`] server; dropping it stops the accept loop (within a [`TICK`]).
pub struct Served {
    url: String,
    addr: SocketAddr,
    stats: Arc<Stats>,
}

impl Served {
    /// The `ws://` URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The listening address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server has seen so far.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stats.stop.store(true, Ordering::SeqCst);
    }
}

/// Starts a `kind` server with `config` on a background thread, its accept loop publishing
/// counters every [`TICK`] and each connection handled as `mode` says.
#[must_use]
pub fn serve(kind: ServerKind, config: ServerConfig, mode: Mode) -> Served {
    let stats = Arc::new(Stats::default());
    let (tx, rx) = mpsc::channel();
    let shared = Arc::clone(&stats);
    thread::spawn(move || match kind {
        ServerKind::Tokio => tokio_serve(config, mode, &shared, &tx),
        ServerKind::Smol => smol::block_on(smol_serve(config, mode, &shared, &tx)),
        ServerKind::AsyncStd => {
            async_std::task::block_on(async_std_serve(config, mode, &shared, &tx));
        }
        ServerKind::Blocking => blocking_serve(config, mode, &shared, &tx),
    });
    let url: String = rx.recv().expect("server started");
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .expect("address in url");
    Served { url, addr, stats }
}

/// One connection's handler, written once for the async adapters and the blocking one: pass
/// `await` as the last argument for the async ones (`$ws.recv() $(.$aw)?` becomes
/// `$ws.recv().await`).
macro_rules! handle_connection {
    ($ws:ident, $mode:expr, $stats:expr $(, $aw:tt)?) => {{
        let (mut received, mut messages) = (0, Vec::new());
        let end = loop {
            let message = match $ws.recv() $(.$aw)? {
                None => break Ok(()),
                Some(Err(error)) => break Err(error),
                Some(Ok(message)) => message,
            };
            received += 1;
            $stats.messages.fetch_add(1, Ordering::SeqCst);
            match $mode {
                Mode::Echo => {
                    if let Err(error) = $ws.feed(message) $(.$aw)? {
                        break Err(error);
                    }
                    $stats.note_buffered($ws.buffered_amount());
                }
                Mode::Sink => messages.push(message),
                Mode::Source => {
                    let Some(count) = parse_send_request(&message) else {
                        continue;
                    };
                    let mut sent = Ok(());
                    for i in 0..count {
                        sent = $ws.feed(numbered(i)) $(.$aw)?;
                        if sent.is_err() {
                            break;
                        }
                        $stats.note_buffered($ws.buffered_amount());
                    }
                    break match sent {
                        Ok(()) => $ws.close(CloseCode::NORMAL, "done") $(.$aw)?,
                        Err(error) => Err(error),
                    };
                }
            }
        };
        let close_received = $ws.close_received().map(|frame| frame.code().as_u16());
        $stats.finish(Report { received, messages, end, close_received });
    }};
}

/// A single-threaded tokio runtime, as the harness uses everywhere.
fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn tokio_serve(config: ServerConfig, mode: Mode, stats: &Arc<Stats>, tx: &mpsc::Sender<String>) {
    let Ok(rt) = runtime() else { return };
    rt.block_on(async {
        let Ok(mut server) = wsproto_tokio::Server::bind_with("127.0.0.1:0", config).await else {
            return;
        };
        let _ = tx.send(server.url());
        while !stats.stopped() {
            match tokio::time::timeout(TICK, server.accept()).await {
                Ok(Ok(mut ws)) => {
                    let stats = stats.on_accept();
                    tokio::spawn(async move { handle_connection!(ws, mode, stats, await) });
                }
                Ok(Err(_)) => drop(stats.listener_errors.fetch_add(1, Ordering::SeqCst)),
                Err(_) => {}
            }
            let failed = server.failed_handshakes();
            stats.failed_handshakes.store(failed, Ordering::SeqCst);
        }
    });
}

async fn smol_serve(
    config: ServerConfig,
    mode: Mode,
    stats: &Arc<Stats>,
    tx: &mpsc::Sender<String>,
) {
    let Ok(mut server) = wsproto_smol::Server::bind_with("127.0.0.1:0", config).await else {
        return;
    };
    let _ = tx.send(server.url());
    while !stats.stopped() {
        let tick = async {
            smol::Timer::after(TICK).await;
            None
        };
        match smol::future::or(async { Some(server.accept().await) }, tick).await {
            Some(Ok(mut ws)) => {
                let stats = stats.on_accept();
                smol::spawn(async move { handle_connection!(ws, mode, stats, await) }).detach();
            }
            Some(Err(_)) => drop(stats.listener_errors.fetch_add(1, Ordering::SeqCst)),
            None => {}
        }
        let failed = server.failed_handshakes();
        stats.failed_handshakes.store(failed, Ordering::SeqCst);
    }
}

async fn async_std_serve(
    config: ServerConfig,
    mode: Mode,
    stats: &Arc<Stats>,
    tx: &mpsc::Sender<String>,
) {
    let Ok(mut server) = wsproto_async_std::Server::bind_with("127.0.0.1:0", config).await else {
        return;
    };
    let _ = tx.send(server.url());
    while !stats.stopped() {
        match async_std::future::timeout(TICK, server.accept()).await {
            Ok(Ok(mut ws)) => {
                let stats = stats.on_accept();
                async_std::task::spawn(async move { handle_connection!(ws, mode, stats, await) });
            }
            Ok(Err(_)) => drop(stats.listener_errors.fetch_add(1, Ordering::SeqCst)),
            Err(_) => {}
        }
        let failed = server.failed_handshakes();
        stats.failed_handshakes.store(failed, Ordering::SeqCst);
    }
}

fn blocking_serve(config: ServerConfig, mode: Mode, stats: &Arc<Stats>, tx: &mpsc::Sender<String>) {
    let Ok(server) = wsproto_blocking::Server::bind_with("127.0.0.1:0", config) else {
        return;
    };
    let _ = tx.send(server.url());
    while !stats.stopped() {
        match server.accept_timeout(TICK) {
            Ok(Some(mut ws)) => {
                let stats = stats.on_accept();
                thread::spawn(move || handle_connection!(ws, mode, stats));
            }
            Ok(None) => {}
            Err(_) => drop(stats.listener_errors.fetch_add(1, Ordering::SeqCst)),
        }
        let failed = server.failed_handshakes();
        stats.failed_handshakes.store(failed, Ordering::SeqCst);
    }
}

/// Runs the `kind` adapter's `accept_stream` with `config` on one TCP connection, made by
/// `client` on its own thread, and returns the handshake's outcome: how each adapter reports
/// a client that misbehaves during the handshake.
pub fn accept_one(
    kind: ServerKind,
    config: &ServerConfig,
    client: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::Io)?;
    let addr = listener.local_addr().map_err(Error::Io)?;
    let client = thread::spawn(move || client(addr));
    let (stream, _) = listener.accept().map_err(Error::Io)?;
    let result = match kind {
        ServerKind::Tokio => runtime().map_err(Error::Io)?.block_on(async {
            stream.set_nonblocking(true).map_err(Error::Io)?;
            let stream = tokio::net::TcpStream::from_std(stream).map_err(Error::Io)?;
            wsproto_tokio::accept_stream(stream, config).await.map(drop)
        }),
        ServerKind::Smol => smol::block_on(async {
            let stream = smol::net::TcpStream::try_from(stream).map_err(Error::Io)?;
            wsproto_smol::accept_stream(stream, config).await.map(drop)
        }),
        ServerKind::AsyncStd => async_std::task::block_on(async {
            let stream =
                wsproto_async_std::TcpStream::from(async_std::net::TcpStream::from(stream));
            wsproto_async_std::accept_stream(stream, config)
                .await
                .map(drop)
        }),
        ServerKind::Blocking => wsproto_blocking::accept_stream(stream, config).map(drop),
    };
    let _ = client.join();
    result
}

// ----- typed clients -------------------------------------------------------------------------

fn client_config(limits: &Limits) -> ClientConfig {
    ClientConfig::default().limits(limits.clone())
}

/// A client body written once for every `kind`: `$ws` is the connected client, and calls in
/// the body wrapped in `wait!` are awaited on the async adapters.
macro_rules! on_client {
    ($kind:expr, $url:expr, $config:expr, |$ws:ident| $body:block) => {
        match $kind {
            ClientKind::Tokio => runtime().map_err(|e| e.to_string())?.block_on(async {
                let mut $ws = wsproto_tokio::connect_with($url, $config)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                on_client!(@body $ws, $body, await)
            }),
            ClientKind::Smol => smol::block_on(async {
                let mut $ws = wsproto_smol::connect_with($url, $config)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                on_client!(@body $ws, $body, await)
            }),
            ClientKind::AsyncStd => async_std::task::block_on(async {
                let mut $ws = wsproto_async_std::connect_with($url, $config)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                on_client!(@body $ws, $body, await)
            }),
            ClientKind::Blocking => {
                let mut $ws = wsproto_blocking::connect_with($url, $config)
                    .map_err(|e| format!("connect: {e}"))?;
                on_client!(@body $ws, $body)
            }
        }
    };
    (@body $ws:ident, $body:block $(, $aw:tt)?) => {{
        macro_rules! wait {
            ($call:expr) => { $call $(.$aw)? };
        }
        $body
    }};
}

/// A `kind` client with `limits` feeds [`numbered`] messages `0..count` (each waits only
/// while the write buffer is above its high-water mark) and then calls `close(1000)` at once,
/// which must send everything queued before its Close. Returns the code of the server's
/// Close.
pub fn client_feeds_then_closes(
    kind: ClientKind,
    url: &str,
    limits: &Limits,
    count: u32,
) -> Result<Option<u16>, String> {
    on_client!(kind, url, client_config(limits), |ws| {
        for i in 0..count {
            wait!(ws.feed(numbered(i))).map_err(|e| format!("feed {i}: {e}"))?;
        }
        wait!(ws.close(CloseCode::NORMAL, "done")).map_err(|e| format!("close: {e}"))?;
        Ok::<_, String>(ws.close_received().map(|frame| frame.code().as_u16()))
    })
}

/// A `kind` client with `limits` asks a [`Mode::Source`] server for `count` messages and
/// reads until the stream ends. Returns the messages and the code of the server's Close.
pub fn client_requests_then_reads(
    kind: ClientKind,
    url: &str,
    limits: &Limits,
    count: u32,
) -> Result<(Vec<Message>, Option<u16>), String> {
    on_client!(kind, url, client_config(limits), |ws| {
        wait!(ws.send(send_request(count))).map_err(|e| format!("send: {e}"))?;
        let mut messages = Vec::new();
        while let Some(message) = wait!(ws.recv()) {
            messages.push(message.map_err(|e| format!("recv {}: {e}", messages.len()))?);
        }
        Ok::<_, String>((
            messages,
            ws.close_received().map(|frame| frame.code().as_u16()),
        ))
    })
}

// ----- raw client ----------------------------------------------------------------------------

/// The `Sec-WebSocket-Key` of every raw request (RFC 6455 §1.3's sample nonce).
pub const RAW_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A valid upgrade request head for `addr` with `extra` header lines (each ending in CRLF)
/// before the blank line.
#[must_use]
pub fn upgrade_request(addr: SocketAddr, extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {RAW_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A TCP client that writes exactly the bytes a test gives it and parses what comes back.
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl RawClient {
    /// Opens the TCP connection only; reads time out after [`RAW_READ_TIMEOUT`].
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(RAW_READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::new(),
            pos: 0,
        })
    }

    /// Opens the connection and completes a valid opening handshake; panics if refused.
    #[must_use]
    pub fn upgraded(addr: SocketAddr) -> Self {
        let mut client = Self::connect(addr).expect("tcp connect");
        client
            .write(upgrade_request(addr, "").as_bytes())
            .expect("write request");
        let head = client.read_head().expect("response head");
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        client
    }

    /// The socket, for settings and for a writer thread (`try_clone`).
    #[must_use]
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Writes all of `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends one frame masked with a fixed non-zero key ([`PEER_MASK`]).
    pub fn send(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> io::Result<()> {
        self.write(&wire::frame(
            first_byte(fin, 0, opcode),
            Some(PEER_MASK),
            payload,
        ))
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let start = self.buf.len();
        self.buf.resize(start + 64 * 1024, 0);
        let result = self.stream.read(&mut self.buf[start..]);
        self.buf.truncate(start + *result.as_ref().unwrap_or(&0));
        result
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads an HTTP response head (through the blank line); keeps what follows.
    pub fn read_head(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.unread().windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.unread()[..end + 4]).into_owned();
                self.pos += end + 4;
                return Ok(head);
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads one frame (with the test kit's decoder); a masked one is an error, as servers
    /// do not mask (RFC 6455 §5.1).
    pub fn read_frame(&mut self) -> io::Result<wire::Frame> {
        loop {
            if let Some(header) = Header::parse(self.unread()) {
                if header.key.is_some() {
                    return Err(io::Error::other("masked server frame"));
                }
                if let Some((payload, used)) = header.payload(self.unread()) {
                    self.pos += used;
                    return Ok(header.into_frame(payload));
                }
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads frames until a Close and returns it (skipping data frames).
    pub fn read_close(&mut self) -> io::Result<wire::Frame> {
        loop {
            let frame = self.read_frame()?;
            if frame.opcode == opcode::CLOSE {
                return Ok(frame);
            }
        }
    }

    /// Whether the server ends the connection within `within`: reads (discarding) until the
    /// end of the stream or a reset.
    pub fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut scratch = [0; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return false;
            }
            match self.stream.read(&mut scratch) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true, // reset
            }
        }
    }
}
