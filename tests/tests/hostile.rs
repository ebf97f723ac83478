//! Hostile peers over real loopback sockets, against every server adapter: slowloris, header
//! floods, length bombs, fragment floods, a peer that never reads (and one that floods pings
//! without reading the pongs), abrupt ends, and no data lost around a close (that one also
//! through every client adapter).
//!
//! Each test runs alone in this process (memory figures come from `/proc/self/status`, where
//! the server lives too) and within a time limit; they print their timings and memory
//! figures (`--nocapture` shows them). RSS shows only growth beyond what the allocator already
//! holds from earlier tests; run one test with `--exact` for its own figures.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use wsproto_core::handshake::HandshakeError;
use wsproto_core::{Limits, Message, ProtocolError};
use wsproto_testkit::wire::{self, Length, first_byte, opcode};
use wsproto_tests::hostile::{
    Mode, RawClient, Report, Served, accept_one, bounded, client_feeds_then_closes,
    client_requests_then_reads, mib, numbered, peak_rss, reset_peak_rss, rss, serve,
    upgrade_request, wait_for,
};
use wsproto_tests::{ClientKind, ServerKind};
use wsproto_tokio::{ConnectionLost, Error, ServerConfig};

const MIB: usize = 1 << 20;
/// The first byte of a whole binary message in one frame.
const BINARY: u8 = first_byte(true, 0, opcode::BINARY);
/// The most a test's resident memory may grow by (the servers' own state is far smaller).
const MEMORY_SLACK: usize = 8 * MIB;

/// One test per server adapter for each case `$case(kind)`, run alone and within `$limit`
/// seconds.
macro_rules! per_server {
    ($($case:ident: $limit:literal,)*) => {$(
        mod $case {
            use super::*;
            #[test]
            fn tokio() {
                run(ServerKind::Tokio);
            }
            #[test]
            fn smol() {
                run(ServerKind::Smol);
            }
            #[test]
            fn async_std() {
                run(ServerKind::AsyncStd);
            }
            #[test]
            fn blocking() {
                run(ServerKind::Blocking);
            }
            fn run(kind: ServerKind) {
                let what = format!("{} {kind:?}", stringify!($case));
                super::run(what, Duration::from_secs($limit), move || super::$case(kind));
            }
        }
    )*};
}

per_server! {
    slowloris: 15,
    handshake_flood: 30,
    header_floods: 10,
    early_data_flood: 20,
    length_bombs: 10,
    fragment_flood: 10,
    tiny_message_flood: 20,
    peer_that_never_reads: 30,
    ping_flood_without_reading: 30,
    abrupt_ends: 20,
}

/// Runs `body` alone and bounded, printing how long it took.
fn run(what: String, limit: Duration, body: impl FnOnce() + Send + 'static) {
    let took = bounded(limit, body);
    eprintln!("{what}: took {took:.2?}");
}

/// A well-behaved client echoes one message through `server`.
fn echoes(server: &Served, what: &str) {
    let mut ws = ClientKind::Blocking
        .connect(server.url())
        .unwrap_or_else(|e| panic!("{what}: connect: {e}"));
    ws.send(Message::text("still there?")).unwrap();
    assert_eq!(
        ws.recv().unwrap().unwrap(),
        Message::text("still there?"),
        "{what}"
    );
    ws.close(wsproto_core::CloseCode::NORMAL, "bye").unwrap();
}

/// [`echoes`], then forgets that connection's report, so a test sees only its own.
fn warm_up(server: &Served) {
    echoes(server, "warm-up");
    let report = server.stats().take_reports(1, Duration::from_secs(5));
    assert!(
        report.is_some_and(|r| r[0].end.is_ok()),
        "warm-up ends cleanly"
    );
}

fn is_protocol(report: &Report, want: fn(&ProtocolError) -> bool) -> bool {
    matches!(&report.end, Err(Error::Protocol(e)) if want(e))
}

/// The report of the next server connection to end (within 10 s).
fn next_report(server: &Served) -> Report {
    let reports = server.stats().take_reports(1, Duration::from_secs(10));
    reports
        .expect("the connection ends on the server")
        .remove(0)
}

/// Closes with 1000, reads the answer, and ends our side so the server need not linger.
fn close_raw(client: &mut RawClient) {
    client.send(true, 0x8, &[0x03, 0xE8]).unwrap();
    assert_eq!(client.read_close().unwrap().close_code(), Some(1000));
    client.stream().shutdown(Shutdown::Write).unwrap();
}

// ----- 1. slowloris --------------------------------------------------------------------------

fn slowloris(kind: ServerKind) {
    const SILENT: usize = 1000;
    const TRICKLING: usize = 50;
    let timeout = Duration::from_secs(1);
    let server = serve(
        kind,
        ServerConfig::default().handshake_timeout(timeout),
        Mode::Echo,
    );
    let addr = server.addr();
    let before = rss();
    reset_peak_rss();
    let started = Instant::now();
    // Connect in small bursts: a loopback burst faster than the server accepts overflows
    // the listen backlog, and the kernel then retries the SYN only after a second.
    let mut hostile = Vec::new();
    let mut connected_at = Vec::new();
    let mut slow_connects = 0;
    for i in 0..SILENT + TRICKLING {
        let before = Instant::now();
        hostile.push(TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {i}: {e}")));
        connected_at.push(started.elapsed());
        if before.elapsed() > Duration::from_millis(500) {
            slow_connects += 1;
        }
        if i % 50 == 49 {
            thread::sleep(Duration::from_millis(10));
        }
    }
    let connected = started.elapsed();

    // The tricklers send one byte of a valid request every 200 ms.
    let tricklers = Trickle::start(&hostile[SILENT..], addr, Duration::from_millis(200));

    // A well-behaved client gets through meanwhile.
    let good_started = Instant::now();
    echoes(&server, "well-behaved client");
    let good = good_started.elapsed();

    // Watch every hostile socket until the server drops it (end of stream or reset).
    let mut dropped_at: Vec<Option<Duration>> = vec![None; hostile.len()];
    for s in &hostile {
        s.set_nonblocking(true).unwrap();
    }
    let deadline = 2 * timeout + Duration::from_secs(1);
    let mut scratch = [0; 1024];
    while dropped_at.iter().any(Option::is_none) && started.elapsed() < deadline {
        for (s, at) in hostile.iter_mut().zip(&mut dropped_at) {
            if at.is_some() {
                continue;
            }
            match s.read(&mut scratch) {
                Ok(0) => *at = Some(started.elapsed()),
                Ok(_) => {} // a response; the end follows
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => *at = Some(started.elapsed()),
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    tricklers.stop();

    // How long each hostile socket lived, from its connect to the server dropping it.
    let lived: Vec<Option<Duration>> = dropped_at
        .iter()
        .zip(&connected_at)
        .map(|(dropped, connected)| dropped.map(|d| d.saturating_sub(*connected)))
        .collect();
    let pending = ServerConfig::default().get_max_pending_handshakes();
    let (first, rest) = lived.split_at(pending.min(lived.len()));
    let longest = |set: &[Option<Duration>]| set.iter().flatten().max().copied();
    eprintln!(
        "slowloris {kind:?}: {} hostile connected in {connected:.2?} ({slow_connects} SYN \
         retries); well-behaved echo in {good:.2?}; dropped: {} of {}; the first {} lived \
         at most {:.2?}, the {} beyond the pending-handshake cap at most {:.2?}; failed \
         handshakes counted: {}; RSS {} -> peak {}",
        hostile.len(),
        lived.iter().flatten().count(),
        hostile.len(),
        first.len(),
        longest(first).unwrap_or_default(),
        rest.len(),
        longest(rest).unwrap_or_default(),
        server.stats().failed_handshakes(),
        mib(before),
        mib(peak_rss()),
    );
    assert!(
        good < Duration::from_secs(2),
        "well-behaved client took {good:?}"
    );
    // Each goes at its timeout, or sooner when a newer connection at the pending-handshake
    // cap evicts it (the oldest running handshake makes room); none lives past twice the
    // timeout.
    let slack = Duration::from_millis(500);
    for (i, lived) in lived.iter().enumerate() {
        let limit = if i < pending { timeout } else { 2 * timeout } + slack;
        assert!(
            lived.is_some_and(|t| t <= limit),
            "hostile client {i} is dropped within {limit:?} of connecting: {lived:?}"
        );
    }
    assert_eq!(server.stats().listener_errors(), 0);
}

/// About twice as many silent and trickling clients as the (default) pending-handshake cap,
/// all held open for the whole test under a handshake timeout far longer than it: honest
/// clients still get their handshake (and an echo) within 1 s each, because a new
/// connection at the cap evicts the oldest handshake once it has run for `EVICT_AFTER`;
/// memory stays bounded by the cap.
fn handshake_flood(kind: ServerKind) {
    const SILENT: usize = 2000;
    const TRICKLING: usize = 100;
    let config = ServerConfig::default().handshake_timeout(Duration::from_secs(60));
    let cap = config.get_max_pending_handshakes();
    let server = serve(kind, config, Mode::Echo);
    let addr = server.addr();
    let before = rss();
    reset_peak_rss();
    let started = Instant::now();
    let mut hostile = Vec::new();
    for i in 0..SILENT + TRICKLING {
        hostile.push(TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {i}: {e}")));
        if i % 50 == 49 {
            thread::sleep(Duration::from_millis(10));
        }
    }
    let connected = started.elapsed();
    // The tricklers send one byte of a valid request every 100 ms (it would take them
    // seconds to finish one).
    let tricklers = Trickle::start(&hostile[SILENT..], addr, Duration::from_millis(100));
    let mut honest = Vec::new();
    for i in 0..5 {
        let at = Instant::now();
        echoes(&server, &format!("honest client {i} during the flood"));
        honest.push(at.elapsed());
        // More hostile connections arrive between honest ones.
        for _ in 0..20 {
            hostile.push(TcpStream::connect(addr).unwrap());
        }
    }
    tricklers.stop();
    let evicted = server.stats().failed_handshakes();
    eprintln!(
        "handshake flood {kind:?}: {} hostile (cap {cap}, timeout 60 s) connected in \
         {connected:.2?}; honest handshake + echo took {honest:.2?}; failed handshakes \
         (evicted) {evicted}; RSS {} -> peak {}",
        hostile.len(),
        mib(before),
        mib(peak_rss()),
    );
    for took in &honest {
        assert!(*took < Duration::from_secs(1), "honest clients: {honest:?}");
    }
    // Up to the cap of handshakes in progress (the blocking server gives each a thread),
    // and the 2 000 client sockets of this process.
    assert!(
        peak_rss().saturating_sub(before) < 8 * MEMORY_SLACK,
        "bounded memory"
    );
    drop(hostile);
}

/// Clients that send a valid request one byte at a time, forever (cycling), on a thread.
struct Trickle {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

impl Trickle {
    fn start(sockets: &[TcpStream], addr: std::net::SocketAddr, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers: Vec<TcpStream> = sockets.iter().map(|s| s.try_clone().unwrap()).collect();
        let request = upgrade_request(addr, "").into_bytes();
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            for byte in request.iter().cycle() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                for w in &mut writers {
                    let _ = w.write(std::slice::from_ref(byte));
                }
                thread::sleep(every);
            }
        });
        Self { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
    }
}

// ----- 2. header floods -----------------------------------------------------------------------

/// Sends `request`, returns the response's status line and the client.
fn send_head(server: &Served, request: &[u8]) -> (String, RawClient) {
    let mut client = RawClient::connect(server.addr()).unwrap();
    // The server may stop reading (and close) before all of an oversized head is written.
    let _ = client.write(request);
    let head = client
        .read_head()
        .unwrap_or_else(|e| format!("no response: {e}"));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, client)
}

/// A valid request padded with an `X-Pad` header to exactly `total` bytes.
fn request_of_size(server: &Served, total: usize) -> Vec<u8> {
    let base = upgrade_request(server.addr(), "X-Pad: \r\n");
    let pad = "p".repeat(total - base.len());
    upgrade_request(server.addr(), &format!("X-Pad: {pad}\r\n")).into_bytes()
}

fn header_floods(kind: ServerKind) {
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    let addr = server.addr();
    let mut bystander = ClientKind::Blocking.connect(server.url()).unwrap();
    let limit = ServerConfig::default().get_limits().get_max_header_bytes();
    let long = "a".repeat(20 << 10);
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "request line of 20 KiB",
            format!("GET /{long} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes(),
            "431",
        ),
        (
            "one header of 20 KiB",
            upgrade_request(addr, &format!("X-Big: {long}\r\n")).into_bytes(),
            "431",
        ),
        (
            "100 headers",
            upgrade_request(addr, &many).into_bytes(),
            "431",
        ),
        (
            "16 KiB + 1 total",
            request_of_size(&server, limit + 1),
            "431",
        ),
        (
            "a header line without a colon",
            upgrade_request(addr, "this is not a header\r\n").into_bytes(),
            "400",
        ),
    ];
    for (what, request, want) in &cases {
        let (status, mut client) = send_head(&server, request);
        let ended = client.ends_within(Duration::from_secs(5));
        eprintln!("header floods {kind:?}: {what}: {status:?}, closed: {ended}");
        assert!(
            status.starts_with(&format!("HTTP/1.1 {want} ")),
            "{what}: want {want}, got {status:?}"
        );
        assert!(ended, "{what}: the socket is closed after the refusal");
    }
    // The limit itself is allowed.
    let (status, _) = send_head(&server, &request_of_size(&server, limit));
    assert!(status.starts_with("HTTP/1.1 101 "), "16 KiB: {status:?}");

    bystander.send(Message::text("after the floods")).unwrap();
    assert_eq!(
        bystander.recv().unwrap().unwrap(),
        Message::text("after the floods")
    );
    echoes(&server, "a new client after the floods");
    assert!(
        wait_for(Duration::from_secs(2), || server
            .stats()
            .failed_handshakes()
            >= cases.len() as u64),
        "every refusal is counted as a failed handshake"
    );
}

/// A valid request head followed at once by 100 MiB, without waiting for the answer (the
/// head and the first 256 KiB in one write): the server keeps at most `max_header_bytes`
/// beyond the head and refuses (400), or, had the head come alone, fails the connection it
/// just opened on the garbage; either way it drains or drops the rest, never buffers it.
fn early_data_flood(kind: ServerKind) {
    const FLOOD: usize = 100 * MIB;
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    warm_up(&server);
    let before = rss();
    reset_peak_rss();
    let mut client = RawClient::connect(server.addr()).unwrap();
    let mut writer = client.stream().try_clone().unwrap();
    let head = upgrade_request(server.addr(), "").into_bytes();
    let flood = thread::spawn(move || {
        let mut first = head;
        first.extend_from_slice(&[b'x'; 256 * 1024]);
        let mut written = 0;
        match writer.write(&first) {
            Ok(n) => written += n,
            Err(_) => return written,
        }
        let chunk = vec![b'x'; 64 * 1024];
        while written < FLOOD {
            match writer.write(&chunk) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        let _ = writer.shutdown(Shutdown::Write);
        written
    });
    let status = client
        .read_head()
        .unwrap_or_else(|e| format!("no response: {e}"));
    let ended = client.ends_within(Duration::from_secs(10));
    let written = flood.join().unwrap();
    eprintln!(
        "early data flood {kind:?}: answered {:?}; the client wrote {} MiB before the \
         connection ended; closed: {ended}; RSS {} -> peak {}",
        status.lines().next().unwrap_or_default(),
        written / MIB,
        mib(before),
        mib(peak_rss()),
    );
    assert!(ended, "the server closes the connection");
    assert!(
        status.starts_with("HTTP/1.1 400 ") || status.starts_with("HTTP/1.1 101 "),
        "{status:?}"
    );
    assert!(
        peak_rss().saturating_sub(before) < MEMORY_SLACK,
        "bounded memory"
    );
    echoes(&server, "a client after the flood");
}

// ----- 3. length bombs -------------------------------------------------------------------------

/// A masked binary frame header claiming `len` payload bytes (none follow).
fn bomb_header(len: u64) -> Vec<u8> {
    let mut header = Vec::new();
    let b0 = first_byte(true, 0, opcode::BINARY);
    wire::encode_frame(&mut header, b0, Some([1, 2, 3, 4]), b"", Length::Claim(len));
    header
}

fn length_bombs(kind: ServerKind) {
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    warm_up(&server);
    let before = rss();
    reset_peak_rss();

    // 2^63 - 1 bytes, and nothing after the header.
    let mut client = RawClient::upgraded(server.addr());
    client.write(&bomb_header(i64::MAX as u64)).unwrap();
    let sent = Instant::now();
    let close = client.read_close().expect("a Close for 2^63-1");
    let answered = sent.elapsed();
    assert_eq!(close.close_code(), Some(1009), "2^63-1 bytes");
    // Our end of the stream lets the server stop lingering for it.
    client.stream().shutdown(Shutdown::Write).unwrap();
    assert!(client.ends_within(Duration::from_secs(5)));

    // 1 GiB, then one byte every 10 ms.
    let mut client = RawClient::upgraded(server.addr());
    client.write(&bomb_header(1 << 30)).unwrap();
    let sent = Instant::now();
    let trickled = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let trickler = {
        let (trickled, stop) = (Arc::clone(&trickled), Arc::clone(&stop));
        let mut writer = client.stream().try_clone().unwrap();
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) && writer.write_all(&[0x55]).is_ok() {
                trickled.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let close = client.read_close().expect("a Close for 1 GiB");
    let trickle_answered = sent.elapsed();
    let bytes_before_close = trickled.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    trickler.join().unwrap();
    assert_eq!(close.close_code(), Some(1009), "1 GiB");
    client.stream().shutdown(Shutdown::Write).unwrap();
    assert!(client.ends_within(Duration::from_secs(5)));

    let reports = server.stats().take_reports(2, Duration::from_secs(5));
    let reports = reports.expect("both connections end on the server");
    for report in &reports {
        assert!(
            is_protocol(report, |e| matches!(e, ProtocolError::FrameTooLarge { .. })),
            "{:?}",
            report.end
        );
    }
    let (after, peak) = (rss(), peak_rss());
    eprintln!(
        "length bombs {kind:?}: 2^63-1 answered in {answered:.2?}; 1 GiB answered in \
         {trickle_answered:.2?} after {bytes_before_close} trickled bytes; RSS {} -> {} \
         (peak {})",
        mib(before),
        mib(after),
        mib(peak),
    );
    let slowest = answered.max(trickle_answered);
    assert!(
        slowest < Duration::from_secs(1),
        "1009 from the header alone"
    );
    assert!(
        after.saturating_sub(before) < MEMORY_SLACK && peak.saturating_sub(before) < MEMORY_SLACK,
        "memory moved: {} -> {} (peak {})",
        mib(before),
        mib(after),
        mib(peak)
    );
    echoes(&server, "after the bombs");
}

// ----- 4. fragment floods -------------------------------------------------------------------

/// A text message in `frames` frames of one byte each (`x`), the last with FIN unless
/// `unfinished`.
fn fragmented(frames: usize, unfinished: bool) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let first = first_byte(frames == 1 && !unfinished, 0, opcode::TEXT);
    let mut bytes = wire::frame(first, Some(key), b"x");
    for i in 1..frames {
        let fin = i == frames - 1 && !unfinished;
        let continuation = first_byte(fin, 0, opcode::CONTINUATION);
        bytes.extend_from_slice(&wire::frame(continuation, Some(key), b"x"));
    }
    bytes
}

/// Writes `bytes` on a thread (the server may stop reading), returns the Close it answers.
fn flood(server: &Served, bytes: Vec<u8>) -> (Option<u16>, Duration) {
    let mut client = RawClient::upgraded(server.addr());
    let mut writer = client.stream().try_clone().unwrap();
    let started = Instant::now();
    let flooder = thread::spawn(move || drop(writer.write_all(&bytes)));
    let close = client.read_close().expect("a Close");
    let took = started.elapsed();
    drop(client);
    flooder.join().unwrap();
    (close.close_code(), took)
}

fn fragment_flood(kind: ServerKind) {
    // 200 000 empty continuations after a text start, at the default limit (131 072).
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    let before = rss();
    reset_peak_rss();
    let key = [1, 2, 3, 4];
    let mut bytes = wire::frame(first_byte(false, 0, opcode::TEXT), Some(key), b"");
    let continuation = wire::frame(first_byte(false, 0, opcode::CONTINUATION), Some(key), b"");
    for _ in 0..200_000 {
        bytes.extend_from_slice(&continuation);
    }
    let (code, took) = flood(&server, bytes);
    assert_eq!(code, Some(1009), "200 000 empty continuations");
    let report = next_report(&server);
    let too_many = |e: &ProtocolError| *e == ProtocolError::TooManyFragments { limit: 131_072 };
    assert!(is_protocol(&report, too_many), "{:?}", report.end);
    eprintln!(
        "fragment flood {kind:?}: 1009 after {took:.2?}; RSS {} -> peak {} (the \
         flood's 1.2 MB is built in this process)",
        mib(before),
        mib(peak_rss())
    );

    // The boundary, with a small configured limit: 1000 frames pass, 1001 do not.
    let limits = Limits::default().max_fragments(1000);
    let server = serve(kind, ServerConfig::default().limits(limits), Mode::Echo);
    let mut client = RawClient::upgraded(server.addr());
    client.write(&fragmented(1000, false)).unwrap();
    let echo = client.read_frame().unwrap();
    assert_eq!(
        (echo.opcode, echo.payload.len()),
        (0x1, 1000),
        "1000 fragments"
    );
    let (code, _) = flood(&server, fragmented(1001, true));
    assert_eq!(code, Some(1009), "1001 fragments");
    echoes(&server, "after the flood");
}

fn tiny_message_flood(kind: ServerKind) {
    const COUNT: u32 = 100_000;
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    warm_up(&server);
    let before = rss();
    reset_peak_rss();
    let mut client = RawClient::upgraded(server.addr());
    let mut writer = client.stream().try_clone().unwrap();
    let started = Instant::now();
    let flooder = thread::spawn(move || {
        for batch in (0..COUNT).collect::<Vec<_>>().chunks(1000) {
            let bytes: Vec<u8> = batch
                .iter()
                .flat_map(|i| wire::frame(BINARY, Some([5, 6, 7, 8]), &i.to_be_bytes()))
                .collect();
            writer.write_all(&bytes).unwrap();
        }
    });
    for i in 0..COUNT {
        let frame = client
            .read_frame()
            .unwrap_or_else(|e| panic!("echo {i}: {e}"));
        assert_eq!(
            (frame.opcode, &frame.payload[..]),
            (0x2, &i.to_be_bytes()[..])
        );
    }
    let took = started.elapsed();
    flooder.join().unwrap();
    let (after, peak) = (rss(), peak_rss());
    close_raw(&mut client);
    let report = next_report(&server);
    assert_eq!(report.received, u64::from(COUNT));
    assert!(report.end.is_ok(), "{:?}", report.end);
    eprintln!(
        "tiny messages {kind:?}: {COUNT} echoed in {took:.2?}; RSS {} -> {} (peak {})",
        mib(before),
        mib(after),
        mib(peak)
    );
    assert!(
        peak.saturating_sub(before) < MEMORY_SLACK,
        "memory grew: {} -> peak {}",
        mib(before),
        mib(peak)
    );
}

// ----- 5. a peer that never reads ------------------------------------------------------------

/// Message `i` of the never-reads test: 64 KiB starting with `i`.
fn block(i: u32) -> Vec<u8> {
    let mut data = vec![(i % 251) as u8; 64 << 10];
    data[..4].copy_from_slice(&i.to_be_bytes());
    data
}

fn peer_that_never_reads(kind: ServerKind) {
    const COUNT: u32 = 800; // 50 MiB
    let high_water = Limits::default().get_write_high_water();
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    warm_up(&server);
    let before = rss();
    reset_peak_rss();

    let mut client = RawClient::upgraded(server.addr());
    let mut writer = client.stream().try_clone().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let sender = {
        let written = Arc::clone(&written);
        thread::spawn(move || {
            for i in 0..COUNT {
                // A zero mask key is valid and keeps this debug-built client quick.
                writer
                    .write_all(&wire::frame(BINARY, Some([0; 4]), &block(i)))
                    .unwrap();
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    // Wait until the server stops making progress: its echo loop waits on the full
    // write buffer, so it stops reading, and our writer blocks in the kernel.
    let stats = server.stats();
    let mut last = (u64::MAX, usize::MAX);
    let mut still_since = Instant::now();
    let stalled = wait_for(Duration::from_secs(30), || {
        let now = (stats.messages(), written.load(Ordering::SeqCst));
        if now != last {
            last = now;
            still_since = Instant::now();
        }
        still_since.elapsed() > Duration::from_millis(500)
    });
    let (received, buffered, max_buffered) =
        (stats.messages(), stats.buffered(), stats.max_buffered());
    let (stalled_rss, stalled_peak) = (rss(), peak_rss());
    eprintln!(
        "never reads {kind:?}: stalled after {received} of {COUNT} messages ({} sent); \
         server buffer {buffered} B (max {max_buffered} B, mark {high_water} B); RSS {} -> \
         {} (peak {})",
        written.load(Ordering::SeqCst),
        mib(before),
        mib(stalled_rss),
        mib(stalled_peak)
    );
    assert!(stalled, "the exchange stalls while we do not read");
    assert!(
        received < u64::from(COUNT) - 1,
        "the server stopped reading"
    );
    let one_message = (64 << 10) + 10;
    assert!(
        max_buffered <= high_water + one_message,
        "the server's buffer stops at the high-water mark: max {max_buffered}"
    );
    // The async echo loops wait in `feed` with the buffer at the mark; the blocking one
    // writes everything once the mark is passed, so it waits inside that write.
    assert!(
        kind == ServerKind::Blocking || buffered >= high_water,
        "the echo loop waits at the mark: {buffered}"
    );
    assert!(
        stalled_peak.saturating_sub(before) < MEMORY_SLACK + high_water,
        "memory grew: {} -> peak {}",
        mib(before),
        mib(stalled_peak)
    );

    // Now read: everything arrives, intact and in order.
    for i in 0..COUNT {
        let frame = client
            .read_frame()
            .unwrap_or_else(|e| panic!("echo {i}: {e}"));
        assert!(
            frame.fin && frame.opcode == 0x2 && frame.payload == block(i),
            "echo {i} differs"
        );
    }
    sender.join().unwrap();
    close_raw(&mut client);
    let report = next_report(&server);
    assert_eq!(report.received, u64::from(COUNT));
    assert!(report.end.is_ok(), "{:?}", report.end);
    eprintln!(
        "never reads {kind:?}: all {COUNT} echoes intact; peak RSS {}",
        mib(peak_rss())
    );
}

// ----- 5b. a ping flood from a peer that never reads -------------------------------------------

/// The peer sends pings as fast as it can and never reads the pongs. Each ping is answered,
/// so the server's queue grows by what it reads; once the queue is past its mark with
/// [`REPLY_ALLOWANCE`](wsproto_core::REPLY_ALLOWANCE) of pongs beyond it, the server stops
/// reading (a full buffer alone no longer pauses it: that deadlocked two peers sending at
/// each other), and the flood backs up into the peer's kernel buffers instead of our memory.
fn ping_flood_without_reading(kind: ServerKind) {
    const PINGS: usize = 400_000; // 125-byte pings: ~52 MB of pongs if nothing stopped them
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    warm_up(&server);
    let before = rss();
    reset_peak_rss();

    let mut client = RawClient::upgraded(server.addr());
    let mut writer = client.stream().try_clone().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let sender = {
        let written = Arc::clone(&written);
        thread::spawn(move || {
            let ping = wire::frame(
                first_byte(true, 0, opcode::PING),
                Some([0; 4]),
                &[0x5a; 125],
            );
            let batch: Vec<u8> = ping
                .iter()
                .copied()
                .cycle()
                .take(ping.len() * 100)
                .collect();
            for _ in 0..PINGS / 100 {
                if writer.write_all(&batch).is_err() {
                    return;
                }
                written.fetch_add(100, Ordering::SeqCst);
            }
        })
    };
    let mut last = usize::MAX;
    let mut still_since = Instant::now();
    let stalled = wait_for(Duration::from_secs(20), || {
        let now = written.load(Ordering::SeqCst);
        if now != last {
            last = now;
            still_since = Instant::now();
        }
        still_since.elapsed() > Duration::from_millis(500)
    });
    let sent = written.load(Ordering::SeqCst);
    let peak = peak_rss();
    eprintln!(
        "ping flood {kind:?}: {sent} of {PINGS} pings sent before the server stopped \
         reading; RSS {} -> peak {}",
        mib(before),
        mib(peak)
    );
    assert!(
        stalled && sent < PINGS,
        "the flood backs up: {sent} pings sent"
    );
    let high_water = Limits::default().get_write_high_water();
    assert!(
        peak.saturating_sub(before) < MEMORY_SLACK + high_water + wsproto_core::REPLY_ALLOWANCE,
        "memory grew: {} -> peak {}",
        mib(before),
        mib(peak)
    );
    // Now read: the server reads on, and every ping gets its pong.
    client
        .stream()
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut pongs = 0;
    while pongs < PINGS {
        match client.read_frame() {
            Ok(frame) if frame.opcode == 0xA && frame.payload == [0x5a; 125] => pongs += 1,
            Ok(frame) => panic!("expected a pong, got opcode {}", frame.opcode),
            Err(error) => panic!("after {pongs} pongs: {error}"),
        }
    }
    sender.join().unwrap();
    // The server is still there for everyone else.
    close_raw(&mut client);
    echoes(&server, "after the ping flood");
}

// ----- 6. abrupt ends ----------------------------------------------------------------------------

fn abrupt_ends(kind: ServerKind) {
    let server = serve(kind, ServerConfig::default(), Mode::Echo);
    let addr = server.addr();
    let stats = server.stats();
    let request = upgrade_request(addr, "");

    // Mid-handshake: the server counts a failed handshake and carries on.
    let mut client = RawClient::connect(addr).unwrap();
    client
        .write(&request.as_bytes()[..request.len() / 2])
        .unwrap();
    drop(client);
    assert!(
        wait_for(Duration::from_secs(3), || stats.failed_handshakes() == 1),
        "mid-handshake end counted as a failed handshake"
    );
    // What the adapter's handshake reports for it.
    let half = request.as_bytes()[..request.len() / 2].to_vec();
    let handshake = accept_one(kind, &ServerConfig::default(), move |addr| {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(&half).unwrap();
    });
    eprintln!("abrupt ends {kind:?}: mid-handshake -> {handshake:?}");
    assert!(
        matches!(
            handshake,
            Err(Error::Handshake(HandshakeError::UnexpectedEof))
        ),
        "mid-handshake: the end of input, not a malformed head: {handshake:?}"
    );

    // Each case must end on the server with a clean, typed outcome.
    let ended = |name: &str| {
        let report = next_report(&server);
        eprintln!(
            "abrupt ends {kind:?}: {name} -> {:?}, close received {:?}",
            report.end, report.close_received
        );
        report
    };
    let eof_or_io = |report: &Report| {
        matches!(
            report.end,
            Err(Error::Lost(ConnectionLost::UnexpectedEof) | Error::Io(_))
        )
    };

    // Mid-frame: half of a masked "hello".
    let mut client = RawClient::upgraded(addr);
    let frame = wire::frame(
        first_byte(true, 0, opcode::TEXT),
        Some([1, 2, 3, 4]),
        b"hello",
    );
    client.write(&frame[..frame.len() / 2]).unwrap();
    drop(client);
    let report = ended("mid-frame");
    assert!(eof_or_io(&report), "mid-frame: {:?}", report.end);

    // Mid-frame with unread data, so our end resets: the echo of "x" stays unread.
    let mut client = RawClient::upgraded(addr);
    client.send(true, 0x1, b"x").unwrap();
    thread::sleep(Duration::from_millis(50));
    client.write(&frame[..frame.len() / 2]).unwrap();
    drop(client);
    let report = ended("mid-frame with a reset");
    assert!(
        eof_or_io(&report),
        "mid-frame with a reset: {:?}",
        report.end
    );

    // Mid-close: our Close, then gone before reading the answer.
    let mut client = RawClient::upgraded(addr);
    client.send(true, 0x8, &[0x03, 0xE8]).unwrap();
    drop(client);
    let report = ended("mid-close");
    assert!(
        report.end.is_ok() || eof_or_io(&report),
        "mid-close: {:?}",
        report.end
    );
    assert_eq!(
        report.close_received,
        Some(1000),
        "mid-close: our Close arrived"
    );

    echoes(&server, "after the abrupt ends");
    assert_eq!(stats.accepted(), 4);
    assert!(wait_for(Duration::from_secs(5), || stats.ended() == 1));
    assert_eq!(stats.listener_errors(), 0);
}

// ----- 7. no data lost around a close -------------------------------------------------------

const CLOSE_COUNT: u32 = 1000;

/// A 16 KiB write high-water mark on both sides, so sends wait on backpressure.
fn small_buffers() -> Limits {
    Limits::default().write_high_water(16 << 10)
}

/// The client feeds 1000 messages and closes at once; the server gets all of them, in
/// order, before the Close. Then the server feeds 1000 and closes; the client gets them all.
fn no_loss_on_close(client: ClientKind, server: ServerKind) {
    let what = format!("no loss on close {client:?} -> {server:?}");
    run(what.clone(), Duration::from_secs(30), move || {
        let config = ServerConfig::default().limits(small_buffers());
        let expected: Vec<Message> = (0..CLOSE_COUNT).map(numbered).collect();

        let sink = serve(server, config.clone(), Mode::Sink);
        let code = client_feeds_then_closes(client, sink.url(), &small_buffers(), CLOSE_COUNT)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(code, Some(1000), "{what}: the server answered our Close");
        let report = next_report(&sink);
        assert!(report.end.is_ok(), "{what}: {:?}", report.end);
        assert_eq!(report.close_received, Some(1000), "{what}");
        assert_eq!(
            report.messages.len(),
            expected.len(),
            "{what}: all before the Close"
        );
        assert!(report.messages == expected, "{what}: in order and intact");

        let source = serve(server, config, Mode::Source);
        let (messages, code) =
            client_requests_then_reads(client, source.url(), &small_buffers(), CLOSE_COUNT)
                .unwrap_or_else(|e| panic!("{what}, server closing: {e}"));
        assert_eq!(
            messages.len(),
            expected.len(),
            "{what}: all before the Close"
        );
        assert!(messages == expected, "{what}: in order and intact");
        assert_eq!(code, Some(1000), "{what}: the server's Close");
        let report = next_report(&source);
        assert!(report.end.is_ok(), "{what}: {:?}", report.end);
        let max_buffered = source.stats().max_buffered();
        eprintln!("{what}: the closing server's write buffer peaked at {max_buffered} B");
        assert!(
            max_buffered <= (16 << 10) + 2100,
            "{what}: the server's buffer stayed near its mark"
        );
    });
}

macro_rules! no_loss {
    ($($name:ident: $client:ident -> $server:ident,)*) => {
        mod no_loss_on_close {
            use super::*;
            $(
                #[test]
                fn $name() {
                    super::no_loss_on_close(ClientKind::$client, ServerKind::$server);
                }
            )*
        }
    };
}

no_loss! {
    tokio_to_tokio: Tokio -> Tokio,
    smol_to_tokio: Smol -> Tokio,
    async_std_to_tokio: AsyncStd -> Tokio,
    blocking_to_tokio: Blocking -> Tokio,
    tokio_to_smol: Tokio -> Smol,
    tokio_to_async_std: Tokio -> AsyncStd,
    tokio_to_blocking: Tokio -> Blocking,
}
