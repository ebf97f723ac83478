//! The load generator: many connections, `depth` messages in flight on each, for a fixed
//! time, verifying every echo.
//!
//! Built to cost far less than the servers it measures:
//! - one thread, one tokio current-thread runtime, raw `TcpStream`s (no WebSocket library);
//! - the handshake is written by hand; every frame it will ever send is built and masked
//!   before the run (a ring of `2 × depth` distinct messages, sent in order), so sending is a
//!   slice of that ring handed to one (vectored) write;
//! - echoes are parsed in place from a fixed read buffer (no allocation): each header is
//!   checked (binary or continuation, unmasked, no RSV bits, no control frames), and each
//!   payload byte is compared with the message that was sent as it arrives (server-side
//!   fragmentation is accepted); a message whose length or content differs fails the run;
//! - per connection, one read and at most one write per wake-up: as many new messages are
//!   sent as echoes came back, so exactly `depth` stay in flight.
//!
//! Prints a human line and a `RESULT key=value ...` line the matrix parses.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSlice};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::args::Args;
use crate::handshake;
use crate::proc;

pub(crate) struct LoadConfig {
    pub(crate) url: String,
    pub(crate) size: usize,
    pub(crate) conns: usize,
    pub(crate) depth: usize,
    pub(crate) secs: f64,
    pub(crate) warmup: f64,
    pub(crate) server_pid: Option<u32>,
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let config = LoadConfig {
        url: args.req("url")?.to_string(),
        size: args.size("size")?.ok_or("--size is required")?,
        conns: args.get_or("conns", 64)?,
        depth: args.get_or("depth", 16)?,
        secs: args.get_or("secs", 5.0)?,
        warmup: args.get_or("warmup", 0.5)?,
        server_pid: args.get("server-pid")?,
    };
    if config.conns == 0 || config.depth == 0 {
        return Err("--conns and --depth must be at least 1".into());
    }
    proc::raise_nofile();
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?
        .block_on(tokio::task::LocalSet::new().run_until(drive(&config)))?;
    let mb_per_s = report.msgs_per_s * config.size as f64 / 1e6;
    println!(
        "{} B x {} conns x depth {}: {:.0} msgs/s, {:.1} MB/s (payload, each way), load CPU {:.0}%{}",
        config.size,
        config.conns,
        config.depth,
        report.msgs_per_s,
        mb_per_s,
        report.load_cpu * 100.0,
        report
            .server_cpu
            .map(|s| format!(
                ", server CPU {:.0}% = {:.3} µs/msg",
                s / report.secs * 100.0,
                s * 1e6 / report.msgs as f64
            ))
            .unwrap_or_default()
    );
    println!(
        "RESULT msgs={} secs={:.4} msgs_per_s={:.1} mb_per_s={:.3} load_cpu={:.4} server_cpu_s={} cpu0_busy={:.4} cpu1_busy={:.4}",
        report.msgs,
        report.secs,
        report.msgs_per_s,
        mb_per_s,
        report.load_cpu,
        report
            .server_cpu
            .map_or("nan".to_string(), |s| format!("{s:.4}")),
        report.cpu_busy[0],
        report.cpu_busy[1],
    );
    Ok(())
}

pub(crate) struct Report {
    pub(crate) msgs: u64,
    pub(crate) secs: f64,
    pub(crate) msgs_per_s: f64,
    /// This process's CPU time over the window, as a fraction of the window.
    pub(crate) load_cpu: f64,
    /// The server's CPU seconds over the window.
    pub(crate) server_cpu: Option<f64>,
    /// How busy CPUs 0 and 1 were over the window, all processes (fraction of each).
    pub(crate) cpu_busy: [f64; 2],
}

/// Everything sent, built once: `count` distinct messages of `size` bytes, each as a masked
/// client frame (back to back in `ring`) and as its plain payload (to check echoes against).
pub(crate) struct Frames {
    ring: Vec<u8>,
    payloads: Vec<u8>,
    frame_len: usize,
    size: usize,
    count: usize,
}

impl Frames {
    pub(crate) fn new(size: usize, count: usize) -> Self {
        let header_len = 2 + match size {
            0..=125 => 0,
            126..=65535 => 2,
            _ => 8,
        };
        let frame_len = header_len + 4 + size;
        let mut ring = Vec::with_capacity(frame_len * count);
        let mut payloads = Vec::with_capacity(size * count);
        for j in 0..count {
            let payload: Vec<u8> = (0..size)
                .map(|i| (i.wrapping_mul(131) ^ j.wrapping_mul(0x9e) ^ (i >> 8)) as u8)
                .collect();
            let mask = [0x37u8 ^ j as u8, 0xfa, 0x21u8.wrapping_add(j as u8), 0x3d];
            ring.push(0x82); // FIN + binary
            match size {
                0..=125 => ring.push(0x80 | size as u8),
                126..=65535 => {
                    ring.push(0x80 | 126);
                    ring.extend_from_slice(&(size as u16).to_be_bytes());
                }
                _ => {
                    ring.push(0x80 | 127);
                    ring.extend_from_slice(&(size as u64).to_be_bytes());
                }
            }
            ring.extend_from_slice(&mask);
            ring.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            payloads.extend_from_slice(&payload);
        }
        Self {
            ring,
            payloads,
            frame_len,
            size,
            count,
        }
    }

    fn payload(&self, seq: u64) -> &[u8] {
        let j = (seq % self.count as u64) as usize;
        &self.payloads[j * self.size..(j + 1) * self.size]
    }

    /// Every frame, back to back (the TLS writer sends slices of it).
    pub(crate) fn ring(&self) -> &[u8] {
        &self.ring
    }

    /// The length of one frame.
    pub(crate) fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// The frame of message `seq`, for one-off sends.
    pub(crate) fn frame(&self, seq: u64) -> &[u8] {
        let j = (seq % self.count as u64) as usize;
        &self.ring[j * self.frame_len..(j + 1) * self.frame_len]
    }
}

/// Incremental parser of the server's frames, checking them against what was sent.
#[derive(Default)]
pub(crate) struct EchoParser {
    /// Payload bytes still to come in the current frame.
    remaining: u64,
    fin: bool,
    in_message: bool,
    /// Bytes of the current message checked so far.
    offset: usize,
    /// Sequence number of the message being received.
    seq: u64,
}

impl EchoParser {
    /// Consumes what it can of `buf`; returns (bytes consumed, messages completed). Leftover
    /// bytes are a partial header (at most 13 bytes).
    pub(crate) fn feed(&mut self, buf: &[u8], frames: &Frames) -> Result<(usize, u64), String> {
        let mut at = 0;
        let mut done = 0;
        loop {
            if self.remaining > 0 {
                let avail = buf.len() - at;
                if avail == 0 {
                    break;
                }
                let take = (self.remaining.min(avail as u64)) as usize;
                let expected = frames.payload(self.seq);
                if self.offset + take > expected.len() {
                    return Err(format!(
                        "message {} echoed longer than the {} bytes sent",
                        self.seq,
                        expected.len()
                    ));
                }
                if buf[at..at + take] != expected[self.offset..self.offset + take] {
                    return Err(format!(
                        "message {} echoed with different content (bytes {}..{})",
                        self.seq,
                        self.offset,
                        self.offset + take
                    ));
                }
                at += take;
                self.offset += take;
                self.remaining -= take as u64;
                if self.remaining == 0 && self.fin {
                    self.finish(frames)?;
                    done += 1;
                }
                continue;
            }
            // A frame header.
            let avail = &buf[at..];
            if avail.len() < 2 {
                break;
            }
            let (b0, b1) = (avail[0], avail[1]);
            let (ext, len7) = match b1 & 0x7f {
                126 => (2, 126),
                127 => (8, 127),
                n => (0, n),
            };
            if avail.len() < 2 + ext {
                break;
            }
            if b1 & 0x80 != 0 {
                return Err("server sent a masked frame".into());
            }
            if b0 & 0x70 != 0 {
                return Err("server set RSV bits".into());
            }
            let opcode = b0 & 0x0f;
            match (opcode, self.in_message) {
                (2, false) | (0, true) => {}
                (8, _) => {
                    return Err(format!(
                        "server closed the connection: {:?}",
                        String::from_utf8_lossy(avail)
                    ));
                }
                _ => {
                    return Err(format!(
                        "unexpected opcode {opcode} (inside a message: {})",
                        self.in_message
                    ));
                }
            }
            let len = match len7 {
                126 => u64::from(u16::from_be_bytes([avail[2], avail[3]])),
                127 => u64::from_be_bytes(avail[2..10].try_into().unwrap_or_default()),
                n => u64::from(n),
            };
            at += 2 + ext;
            self.in_message = true;
            self.fin = b0 & 0x80 != 0;
            self.remaining = len;
            if len == 0 && self.fin {
                self.finish(frames)?;
                done += 1;
            }
        }
        Ok((at, done))
    }

    fn finish(&mut self, frames: &Frames) -> Result<(), String> {
        if self.offset != frames.size {
            return Err(format!(
                "message {} echoed with {} bytes, {} were sent",
                self.seq, self.offset, frames.size
            ));
        }
        self.seq += 1;
        self.offset = 0;
        self.in_message = false;
        Ok(())
    }
}

/// Connects and does the handshake; returns the socket and any bytes read past it.
pub(crate) async fn connect(url: &str) -> Result<(TcpStream, Vec<u8>), String> {
    let (authority, path) = handshake::split_url(url)?;
    let mut stream = TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let leftover = handshake::client(&mut stream, &authority, &path).await?;
    Ok((stream, leftover))
}

#[derive(Default)]
pub(crate) struct Shared {
    /// Messages echoed and verified, all connections.
    pub(crate) msgs: Cell<u64>,
    /// The first failure of any connection.
    error: RefCell<Option<String>>,
}

async fn drive(config: &LoadConfig) -> Result<Report, String> {
    let frames = Rc::new(Frames::new(config.size, 2 * config.depth));
    let shared = Rc::new(Shared::default());
    let read_cap = if config.size <= 4096 {
        64 * 1024
    } else {
        256 * 1024
    };
    // Connect everything first, so the warm-up starts with all connections open.
    if config.url.starts_with("wss://") {
        let mut pending = Vec::with_capacity(config.conns);
        for _ in 0..config.conns {
            let url = config.url.clone();
            pending.push(tokio::task::spawn_local(async move {
                crate::wss::connect(&url).await
            }));
        }
        let mut streams = Vec::with_capacity(config.conns);
        for task in pending {
            streams.push(task.await.map_err(|e| e.to_string())??);
        }
        for (stream, leftover) in streams {
            let (frames, shared, depth) = (Rc::clone(&frames), Rc::clone(&shared), config.depth);
            tokio::task::spawn_local(async move {
                let run = crate::wss::connection(
                    stream,
                    leftover,
                    frames,
                    Rc::clone(&shared),
                    depth,
                    read_cap,
                );
                if let Err(error) = run.await {
                    shared.error.borrow_mut().get_or_insert(error);
                }
            });
        }
    } else {
        let mut pending = Vec::with_capacity(config.conns);
        for _ in 0..config.conns {
            let url = config.url.clone();
            pending.push(tokio::task::spawn_local(async move { connect(&url).await }));
        }
        let mut streams = Vec::with_capacity(config.conns);
        for task in pending {
            streams.push(task.await.map_err(|e| e.to_string())??);
        }
        for (stream, leftover) in streams {
            let (frames, shared, depth) = (Rc::clone(&frames), Rc::clone(&shared), config.depth);
            tokio::task::spawn_local(async move {
                if let Err(error) =
                    connection(stream, leftover, &frames, &shared, depth, read_cap).await
                {
                    shared.error.borrow_mut().get_or_insert(error);
                }
            });
        }
    }
    let check = |shared: &Shared| match shared.error.borrow().as_ref() {
        Some(error) => Err(error.clone()),
        None => Ok(()),
    };
    tokio::time::sleep(Duration::from_secs_f64(config.warmup)).await;
    check(&shared)?;
    let (m0, t0, c0) = (
        shared.msgs.get(),
        Instant::now(),
        proc::cpu_time(std::process::id())?,
    );
    let s0 = config.server_pid.map(proc::cpu_time).transpose()?;
    let j0 = [proc::cpu_jiffies(0), proc::cpu_jiffies(1)];
    tokio::time::sleep(Duration::from_secs_f64(config.secs)).await;
    let (m1, t1, c1) = (
        shared.msgs.get(),
        Instant::now(),
        proc::cpu_time(std::process::id())?,
    );
    let s1 = config.server_pid.map(proc::cpu_time).transpose()?;
    let j1 = [proc::cpu_jiffies(0), proc::cpu_jiffies(1)];
    let busy = |i: usize| match (j0[i], j1[i]) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => (b1 - b0) as f64 / (t1 - t0) as f64,
        _ => f64::NAN,
    };
    check(&shared)?;
    let secs = (t1 - t0).as_secs_f64();
    let msgs = m1 - m0;
    if msgs == 0 {
        return Err("no message was echoed during the measurement".into());
    }
    Ok(Report {
        msgs,
        secs,
        msgs_per_s: msgs as f64 / secs,
        load_cpu: (c1 - c0).as_secs_f64() / secs,
        server_cpu: s0.zip(s1).map(|(a, b)| (b - a).as_secs_f64()),
        cpu_busy: [busy(0), busy(1)],
    })
}

/// One connection: keep `depth` messages in flight, verify echoes, until the runtime stops.
async fn connection(
    stream: TcpStream,
    leftover: Vec<u8>,
    frames: &Frames,
    shared: &Shared,
    depth: usize,
    read_cap: usize,
) -> Result<(), String> {
    let ring = &frames.ring[..];
    let mut rbuf = vec![0u8; read_cap.max(leftover.len() + 16)];
    let mut rlen = leftover.len();
    rbuf[..rlen].copy_from_slice(&leftover);
    let mut parser = EchoParser::default();
    let mut wpos = 0usize; // next byte of the ring to write
    let mut wpending = depth * frames.frame_len; // bytes still to write
    if rlen > 0 {
        let (used, done) = parser.feed(&rbuf[..rlen], frames)?;
        rbuf.copy_within(used..rlen, 0);
        rlen -= used;
        shared.msgs.set(shared.msgs.get() + done);
        wpending += done as usize * frames.frame_len;
    }
    loop {
        // Write what is owed (at most the ring's two pieces) until the socket is full.
        while wpending > 0 {
            let first = &ring[wpos..ring.len().min(wpos + wpending)];
            let second = &ring[..wpending - first.len()];
            match stream.try_write_vectored(&[IoSlice::new(first), IoSlice::new(second)]) {
                Ok(0) => return Err("write returned 0".into()),
                Ok(n) => {
                    wpos = (wpos + n) % ring.len();
                    wpending -= n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("write: {e}")),
            }
        }
        let interest = if wpending > 0 {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let ready = stream
            .ready(interest)
            .await
            .map_err(|e| format!("poll: {e}"))?;
        if ready.is_readable() {
            match stream.try_read(&mut rbuf[rlen..]) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => {
                    rlen += n;
                    let (used, done) = parser.feed(&rbuf[..rlen], frames)?;
                    rbuf.copy_within(used..rlen, 0);
                    rlen -= used;
                    if done > 0 {
                        shared.msgs.set(shared.msgs.get() + done);
                        wpending += done as usize * frames.frame_len;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_frame(payload: &[u8], opcode: u8, fin: bool) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            n @ 0..=125 => out.push(n as u8),
            n @ 126..=65535 => {
                out.push(126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    fn unmask(frames: &Frames, seq: u64) -> Vec<u8> {
        let f = frames.frame(seq);
        let hl = f.len() - frames.size - 4;
        let mask = &f[hl..hl + 4];
        f[hl + 4..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect()
    }

    #[test]
    fn frames_unmask_to_payloads_and_parser_accepts_echoes_byte_by_byte() {
        for size in [0, 16, 200, 70_000] {
            let frames = Frames::new(size, 4);
            let mut wire = Vec::new();
            for seq in 0..6 {
                let payload = unmask(&frames, seq);
                assert_eq!(payload, frames.payload(seq));
                if size > 100 {
                    // Fragmented echo.
                    let (a, b) = payload.split_at(size / 3);
                    wire.extend(server_frame(a, 2, false));
                    wire.extend(server_frame(b, 0, true));
                } else {
                    wire.extend(server_frame(&payload, 2, true));
                }
            }
            let mut parser = EchoParser::default();
            let mut buf = Vec::new();
            let mut total = 0;
            for chunk in wire.chunks(7) {
                buf.extend_from_slice(chunk);
                let (used, done) = parser.feed(&buf, &frames).unwrap();
                buf.drain(..used);
                assert!(buf.len() < 14);
                total += done;
            }
            assert_eq!(total, 6);
        }
    }

    #[test]
    fn parser_rejects_wrong_content_and_length() {
        let frames = Frames::new(16, 2);
        let mut bad = frames.payload(0).to_vec();
        bad[3] ^= 1;
        let mut p = EchoParser::default();
        assert!(p.feed(&server_frame(&bad, 2, true), &frames).is_err());
        let mut p = EchoParser::default();
        assert!(
            p.feed(&server_frame(&frames.payload(0)[..15], 2, true), &frames)
                .is_err()
        );
        // Out of order: message 1 where 0 was expected.
        let mut p = EchoParser::default();
        assert!(
            p.feed(&server_frame(frames.payload(1), 2, true), &frames)
                .is_err()
        );
    }
}
