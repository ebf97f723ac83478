//! Proof that `wsproto-core` is really sans-IO: 8 WebSocket clients and their echo server, all
//! in one thread, over real TCP sockets, in a hand-written `mio` event loop — no async
//! runtime, nothing between the engine and the operating system's readiness API.
//!
//! The loop waits in `Poll::poll` until a socket is ready or the earliest engine timer
//! (`poll_timeout`) is due, then drives each ready endpoint until a pass makes no progress
//! (mio is edge-triggered: reads and writes go on until `WouldBlock`). It only moves bytes and
//! time; the handshake machines and [`Connection`]s do all of the protocol. Each client sends 100 text and binary messages of 0 to 70 000 bytes
//! (7-, 16- and 64-bit payload lengths) and a ping, checks that every echo comes back intact
//! and in order, then closes the connection normally. The loop gives up with exit status 1
//! after 10 s. The servers follow the
//! engine's backpressure rule (see [`Connection`]'s calling contract): with a 16 KiB write
//! high-water mark, a large echo fills the buffer, and the loop stops taking events and
//! reading until it has written the buffer out, so no echo is ever refused.
//!
//! Run it with `cargo run -p wsproto-core --example nonblocking_echo`.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::hash::BuildHasher;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use rand_core::RngCore;
use wsproto_core::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
use wsproto_core::{
    BytesMut, CloseCode, Config, Connection, Event, Instant, Limits, Message, MessageKind, State,
};

const CLIENTS: usize = 8;
const MESSAGES: usize = 100;
/// Messages a client may have in flight before it waits for their echoes.
const WINDOW: usize = 4;
/// The first messages' sizes: the edges of the 7-, 16- and 64-bit length encodings.
const EDGE_SIZES: [usize; 8] = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];
const PING: &[u8] = b"still there?";
const TEXT: &str = "sans-IO ✓ über alles ∑ ";
const HANDSHAKE_TIMEOUT: Option<Duration> = Some(Duration::from_secs(5));
const DEADLINE: Duration = Duration::from_secs(10);
/// Most byte runs handed to one vectored write.
const MAX_CHUNKS: usize = 16;
/// The servers' write high-water mark, small enough that a 70 000-byte echo fills it and
/// the loop's backpressure (stop taking events and reading until it drains) really runs.
const SERVER_HIGH_WATER: usize = 16 * 1024;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

fn main() {
    match run() {
        Ok(totals) => println!(
            "nonblocking_echo: {} connections, {} messages and {} pings echoed, {} bytes, {} ms",
            totals.connections, totals.messages, totals.pings, totals.bytes, totals.elapsed_ms
        ),
        Err(error) => {
            eprintln!("nonblocking_echo: error: {error}");
            std::process::exit(1);
        }
    }
}

/// What the finished clients verified.
#[derive(Default)]
struct Totals {
    connections: usize,
    messages: usize,
    pings: usize,
    bytes: usize,
    elapsed_ms: u128,
}

/// The listener's token; endpoints take tokens from 0 up.
const LISTENER: Token = Token(usize::MAX);

/// Binds, connects the clients, then runs the event loop until every socket is done.
fn run() -> Result<Totals> {
    let origin = std::time::Instant::now();
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind("127.0.0.1:0".parse()?)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let addr = listener.local_addr()?;

    let limits = Limits::default();
    let (mut endpoints, mut next_token) = (BTreeMap::new(), 0);
    let registry = poll.registry().try_clone()?;
    let mut add = |endpoints: &mut BTreeMap<usize, Endpoint>, mut endpoint: Endpoint| {
        let token = next_token;
        next_token += 1;
        registry.register(
            &mut endpoint.stream,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        endpoints.insert(token, endpoint);
        io::Result::Ok(token)
    };
    let mut ready = BTreeSet::new();
    for id in 0..CLIENTS {
        // The connect completes in the kernel's backlog; the loop accepts it later.
        let stream = std::net::TcpStream::connect(addr)?;
        stream.set_nonblocking(true)?;
        let request = ClientRequest::from_url(&format!("ws://{addr}/echo"))?;
        let mut rng = XorShift::seeded(id);
        let hs = ClientHandshake::new(request, &limits, &mut rng, now(origin), HANDSHAKE_TIMEOUT)?;
        let client = Endpoint::new(id, TcpStream::from_std(stream), Phase::Client(hs, rng));
        ready.insert(add(&mut endpoints, client.with_script())?);
    }

    let (mut accepted, mut totals) = (0, Totals::default());
    let mut events = Events::with_capacity(64);
    while accepted < CLIENTS || !endpoints.is_empty() {
        let left = DEADLINE.checked_sub(origin.elapsed()).ok_or_else(|| {
            let open: Vec<String> = endpoints.values().map(Endpoint::describe).collect();
            format!("deadline of {DEADLINE:?} passed; still open: {open:?}")
        })?;
        // Sleep until a socket is ready or the earliest engine timer is due; that is all the
        // waiting there is. Sockets are edge-triggered: an endpoint is driven until a pass
        // makes no progress, so nothing is left for an edge that will not come again.
        if ready.is_empty() {
            let now = now(origin);
            let timer = endpoints
                .values()
                .filter_map(Endpoint::poll_timeout)
                .map(|at| at.saturating_since(now))
                .min();
            poll.poll(&mut events, Some(timer.map_or(left, |t| t.min(left))))?;
        }
        let now = now(origin);
        for event in &events {
            match event.token() {
                LISTENER => loop {
                    let Some((stream, _)) = nonblocking(listener.accept())? else {
                        break;
                    };
                    let hs = ServerHandshake::new(&limits, now, HANDSHAKE_TIMEOUT);
                    let server = Endpoint::new(accepted, stream, Phase::Server(hs));
                    ready.insert(add(&mut endpoints, server)?);
                    accepted += 1;
                },
                Token(token) => {
                    ready.insert(token);
                }
            }
        }
        events.clear();
        // Timers that are due count as readiness too.
        for (token, endpoint) in &endpoints {
            if endpoint.poll_timeout().is_some_and(|at| at <= now) {
                ready.insert(*token);
            }
        }
        for token in std::mem::take(&mut ready) {
            let Some(endpoint) = endpoints.get_mut(&token) else {
                continue;
            };
            while endpoint
                .drive(now)
                .map_err(|e| format!("{}: {e}", endpoint.describe()))?
            {}
            if matches!(endpoint.phase, Phase::Done) {
                if let Some(script) = &endpoint.script {
                    totals.connections += 1;
                    totals.messages += script.echoed;
                    totals.pings += usize::from(script.pong);
                    totals.bytes += script.bytes;
                }
                // Dropping the stream deregisters it and closes the TCP connection.
                endpoints.remove(&token);
            }
        }
    }
    totals.elapsed_ms = origin.elapsed().as_millis();
    Ok(totals)
}

/// The engine's notion of now: time since `origin` on the monotonic clock.
fn now(origin: std::time::Instant) -> Instant {
    Instant::from_duration(origin.elapsed())
}

/// Maps `WouldBlock` (and `Interrupted`, retried on the next pass) to `Ok(None)`: "nothing now".
fn nonblocking<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One socket, client or server side, and where its WebSocket stands.
struct Endpoint {
    id: usize,
    stream: TcpStream,
    phase: Phase,
    /// The client's request bytes still to write ahead of the connection's (a server's 101 sits in
    /// its connection's queue, ahead of any frame).
    outbox: Vec<u8>,
    /// What a client sends and expects back; `None` on the echo server's side.
    script: Option<Script>,
}

/// Handshake, then connection, then nothing left to do (the loop drops the socket).
enum Phase {
    Server(ServerHandshake),
    /// The RNG is kept for the connection, which masks with it.
    Client(ClientHandshake, XorShift),
    Open(Box<Connection>),
    Done,
}

impl Endpoint {
    /// Wraps a connected (client) or accepted (server) socket. Writes are corked by the loop
    /// itself (all events, then one write), so Nagle's algorithm would only add latency.
    fn new(id: usize, stream: TcpStream, phase: Phase) -> Self {
        stream.set_nodelay(true).expect("disable Nagle's algorithm");
        Self {
            id,
            stream,
            phase,
            outbox: Vec::new(),
            script: None,
        }
    }

    /// A client: it sends the script and checks the echoes.
    fn with_script(mut self) -> Self {
        self.script = Some(Script::default());
        self
    }

    /// When the handshake or the connection next needs `handle_timeout`.
    fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Server(hs) => hs.poll_timeout(),
            Phase::Client(hs, _) => hs.poll_timeout(),
            Phase::Open(conn) => conn.poll_timeout(),
            Phase::Done => None,
        }
    }

    /// "client 3" or "server 5", for error messages.
    fn describe(&self) -> String {
        let side = ["server", "client"][usize::from(self.script.is_some())];
        format!("{side} {}", self.id)
    }

    /// One pass: fire due timers, read and handle everything available, let the client send
    /// more, then write as much as the socket takes. Returns whether anything happened.
    fn drive(&mut self, now: Instant) -> Result<bool> {
        let mut progress = self.fire_timers(now)?;
        progress |= self.read(now)?;
        if let (Phase::Open(conn), Some(script)) = (&mut self.phase, &mut self.script) {
            progress |= script.send_more(conn, now)?;
        }
        progress |= self.write()?;
        if let Phase::Open(conn) = &self.phase
            && conn.state() == State::Closed
            && !conn.wants_write()
        {
            if let Some(script) = &self.script {
                script.check_done(conn)?;
            }
            self.phase = Phase::Done; // Dropping the stream closes the TCP connection.
            progress = true;
        }
        Ok(progress)
    }

    /// Honours `poll_timeout`: calls `handle_timeout` once the deadline has passed.
    fn fire_timers(&mut self, now: Instant) -> Result<bool> {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|d| now >= d);
        match &mut self.phase {
            Phase::Server(hs) if due(hs.poll_timeout()) => hs.handle_timeout(now)?,
            Phase::Client(hs, _) if due(hs.poll_timeout()) => hs.handle_timeout(now)?,
            Phase::Open(conn) if due(conn.poll_timeout()) => conn.handle_timeout(now),
            _ => return Ok(false),
        }
        self.handle_events()?;
        Ok(true)
    }

    /// Reads until the socket would block, handling every event of each read before the next.
    fn read(&mut self, now: Instant) -> Result<bool> {
        // Events left waiting while the write buffer was full come before new bytes.
        self.handle_events()?;
        let mut progress = false;
        loop {
            match &mut self.phase {
                // Backpressure (the engine's rule): no reading while replies cannot be queued.
                Phase::Open(conn) if conn.is_write_buffer_full() => return Ok(progress),
                Phase::Open(conn) if conn.state() != State::Closed => {
                    // Read straight into the engine's buffer: grow it over its spare capacity,
                    // read, then cut it back to what was received.
                    let buf: &mut BytesMut = conn.read_buffer();
                    let start = buf.len();
                    buf.resize(buf.capacity(), 0);
                    let read = nonblocking(self.stream.read(&mut buf[start..]));
                    buf.truncate(start + read.as_ref().map_or(0, |n| n.unwrap_or(0)));
                    match read? {
                        None => return Ok(progress),
                        Some(0) => {
                            // Events still buffered are delivered, then EOF fails an open
                            // connection; there is nothing more to read either way.
                            conn.handle_eof(now);
                            self.handle_events()?;
                            return Ok(true);
                        }
                        Some(_) => conn.handle_read(now),
                    }
                }
                Phase::Server(_) | Phase::Client(..) => {
                    let mut buf = [0; 4096];
                    match nonblocking(self.stream.read(&mut buf))? {
                        None => return Ok(progress),
                        Some(0) => return Err("peer closed during the handshake".into()),
                        Some(n) => self.handle_handshake(&buf[..n], now)?,
                    }
                }
                Phase::Open(_) | Phase::Done => return Ok(progress),
            }
            progress = true;
            self.handle_events()?;
        }
    }

    /// Feeds handshake bytes; on success, opens the connection with the leftover bytes.
    fn handle_handshake(&mut self, bytes: &[u8], now: Instant) -> Result<()> {
        let (config, limits) = (Config::default(), Limits::default());
        // Each step consumes its handshake: the phase is taken out and the next one put back.
        self.phase = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Server(mut hs) => match hs.handle_input(bytes)? {
                None => Phase::Server(hs),
                Some(request) if request.path() != "/echo" => {
                    return Err(format!("unexpected path {:?}", request.path()).into());
                }
                // The 101 goes into the connection's queue ahead of any frame, and the bytes
                // that followed the request are fed to it first.
                Some(_) => {
                    let limits = limits.write_high_water(SERVER_HIGH_WATER);
                    let conn = hs.accept_into_connection(Accept::new(), config, limits, now)?;
                    Phase::Open(Box::new(conn))
                }
            },
            Phase::Client(mut hs, rng) => match hs.handle_input(bytes)? {
                None => Phase::Client(hs, rng),
                // The connection masks with the RNG the handshake drew its nonce from, and
                // is fed the bytes that followed the response first.
                Some(accepted) => {
                    let conn = accepted.into_connection(config, limits, Box::new(rng), now);
                    Phase::Open(Box::new(conn))
                }
            },
            open_or_done => {
                self.phase = open_or_done;
                return Err("handshake bytes after the handshake".into());
            }
        };
        Ok(())
    }

    /// Drains `poll_event`: the server echoes messages, the client checks them. Stops early
    /// while the write buffer is full, so an echo is never refused; the events wait in the
    /// engine until `write` has drained it.
    fn handle_events(&mut self) -> Result<()> {
        let Phase::Open(conn) = &mut self.phase else {
            return Ok(());
        };
        while !conn.is_write_buffer_full() {
            let Some(event) = conn.poll_event()? else {
                break;
            };
            match (event, &mut self.script) {
                (Event::Message(message), None) => conn.send(message)?,
                (Event::Message(message), Some(script)) => script.check_echo(&message)?,
                (Event::Pong { payload, .. }, Some(script)) if payload == PING => {
                    script.pong = true
                }
                // The pong to a ping and the echo of a Close are queued by the engine itself.
                (Event::Ping(_) | Event::Close(_), _) => {}
                (other, _) => return Err(format!("unexpected event {other:?}").into()),
            }
        }
        Ok(())
    }

    /// Writes the handshake's bytes, then the connection's queue, one vectored write at a time.
    fn write(&mut self) -> Result<bool> {
        let mut progress = false;
        if let Phase::Client(hs, _) = &mut self.phase {
            self.outbox.extend_from_slice(hs.transmit());
            hs.advance_transmit(hs.transmit().len());
        }
        while !self.outbox.is_empty() {
            let Some(n) = nonblocking(self.stream.write(&self.outbox))? else {
                return Ok(progress);
            };
            self.outbox.drain(..n);
            progress = true;
        }
        let Phase::Open(conn) = &mut self.phase else {
            return Ok(progress);
        };
        while conn.wants_write() {
            let mut chunks: [&[u8]; MAX_CHUNKS] = [&[]; MAX_CHUNKS];
            let count = conn.transmit_chunks(&mut chunks);
            let slices = chunks.map(IoSlice::new);
            let Some(n) = nonblocking(self.stream.write_vectored(&slices[..count]))? else {
                break;
            };
            if n == 0 {
                return Err(io::Error::from(ErrorKind::WriteZero).into());
            }
            conn.advance_transmit(n);
            progress = true;
        }
        Ok(progress)
    }
}

/// One client's progress: what it sent, what came back.
#[derive(Default)]
struct Script {
    sent: usize,
    echoed: usize,
    bytes: usize,
    pinged: bool,
    pong: bool,
    closing: bool,
}

impl Script {
    /// Keeps up to [`WINDOW`] messages in flight, pings halfway, closes once all came back.
    fn send_more(&mut self, conn: &mut Connection, now: Instant) -> Result<bool> {
        let mut progress = false;
        while self.sent < MESSAGES && self.sent - self.echoed < WINDOW {
            match message(self.sent) {
                (MessageKind::Text, payload) => conn.send_text(std::str::from_utf8(&payload)?)?,
                (MessageKind::Binary, payload) => conn.send_binary(&payload)?,
            }
            self.sent += 1;
            progress = true;
        }
        if self.sent >= MESSAGES / 2 && !self.pinged {
            conn.ping(PING, now)?;
            (self.pinged, progress) = (true, true);
        }
        if self.echoed == MESSAGES && self.pong && !self.closing {
            conn.close(CloseCode::NORMAL, "done", now)?;
            (self.closing, progress) = (true, true);
        }
        Ok(progress)
    }

    /// Checks that `echo` is the next message sent, byte for byte.
    fn check_echo(&mut self, echo: &Message) -> Result<()> {
        if self.echoed >= self.sent {
            return Err("an echo arrived for a message never sent".into());
        }
        let (kind, payload) = message(self.echoed);
        if echo.kind() != kind || echo.payload()[..] != payload[..] {
            return Err(format!("echo {} differs from what was sent", self.echoed).into());
        }
        self.echoed += 1;
        self.bytes += payload.len();
        Ok(())
    }

    /// Checks a closed connection: everything echoed, the pong seen, the server's Close normal.
    fn check_done(&self, conn: &Connection) -> Result<()> {
        let code = conn.close_received().map(|close| close.code());
        if self.echoed != MESSAGES || !self.pong || code != Some(CloseCode::NORMAL) {
            let (echoed, pong, error) = (self.echoed, self.pong, conn.error());
            return Err(format!(
                "closed early: {echoed} echoes, pong {pong}, close {code:?}, error {error:?}"
            )
            .into());
        }
        Ok(())
    }
}

/// The `index`th message every client sends: a third are text, the rest binary. Reproducible,
/// so an echo is checked without keeping a copy of what was sent.
fn message(index: usize) -> (MessageKind, Vec<u8>) {
    let len = match EDGE_SIZES.get(index) {
        Some(&len) => len,
        None if index.is_multiple_of(10) => index * 7_919 % 70_000,
        None => index * 7_919 % 4_096,
    };
    if index.is_multiple_of(3) {
        let mut text = String::with_capacity(len);
        for c in TEXT.chars().cycle().skip(index) {
            if text.len() + c.len_utf8() > len {
                break;
            }
            text.push(c);
        }
        text.extend(std::iter::repeat_n('.', len - text.len()));
        (MessageKind::Text, text.into_bytes())
    } else {
        let bytes = (0..len).map(|i| (i * 31 + index) as u8).collect();
        (MessageKind::Binary, bytes)
    }
}

/// A xorshift64 generator for the masking keys and the handshake nonce. Good enough for a
/// demo; a real client must use a CSPRNG, since masks must be unpredictable (RFC 6455 §10.3).
struct XorShift(u64);

impl XorShift {
    /// Seeds from std's per-process random hasher keys, varied by `id`.
    fn seeded(id: usize) -> Self {
        Self(RandomState::new().hash_one(id) | 1)
    }
}

impl RngCore for XorShift {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }
}
