//! The soak: many client connections with mixed traffic against one echo server for a bounded
//! time — small and large messages, pings, clients that close and reconnect, clients that drop
//! their socket without a word — checking every echo, and sampling the server's memory.
//!
//! Each connection works in rounds: it sends a batch of 1–16 messages (80% text of 16–256 B,
//! 18% binary of 1–16 KiB, 2% binary of 64–256 KiB), reads their echoes and compares each
//! byte, sometimes (1 in 10) pings and waits for the pong, then goes on (87%), closes cleanly
//! and reconnects (7%), or vanishes with its echoes outstanding (3%); it idles 0–2 s
//! between rounds. A message
//! is *lost* when a connection the client did not drop ends before its echo arrived, and
//! *corrupted* when the echo differs. Written once, run by `tests/tests/soak.rs` (30 s, in the
//! test command) and by `wsbench soak` (10 minutes per runtime, the figures in
//! `bench/README.md`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wsproto_core::{CloseCode, Message};
use wsproto_tokio::{ClientConfig, Error};

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// Concurrent client connections.
    pub connections: usize,
    /// How long the traffic runs.
    pub duration: Duration,
    /// How often the server's memory is sampled and a line reported.
    pub report_every: Duration,
    /// Seed of the traffic pattern (sizes, batch lengths, what each round ends with).
    pub seed: u64,
}

/// The running totals (shared by every connection task).
#[derive(Debug, Default)]
pub struct Totals {
    /// Messages sent.
    pub sent: AtomicU64,
    /// Messages whose echo arrived intact.
    pub echoed: AtomicU64,
    /// Echoes that differed from what was sent.
    pub corrupted: AtomicU64,
    /// Messages without an echo on a connection that ended without our asking.
    pub lost: AtomicU64,
    /// Pings answered.
    pub pongs: AtomicU64,
    /// Connections opened (the first ones and every reconnect).
    pub connects: AtomicU64,
    /// Connections dropped on purpose without a close (their unanswered messages are not lost).
    pub dropped: AtomicU64,
    /// Connect failures and connections that ended unexpectedly.
    pub errors: AtomicU64,
}

/// One sample of the server's memory.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Time since the start.
    pub at: Duration,
    /// The server's resident set, in bytes.
    pub rss: u64,
}

/// What a soak found.
#[derive(Debug)]
pub struct SoakReport {
    /// The totals at the end.
    pub totals: Arc<Totals>,
    /// The memory samples, in order.
    pub samples: Vec<Sample>,
    /// The errors seen, counted by kind (at most 32 kinds; the rest fall under "other"),
    /// for the report.
    pub errors: Vec<(String, u64)>,
}

impl SoakReport {
    /// How much the resident set grew over the samples after `warm_up`: the largest sample
    /// divided by the first one after it (1.0 is flat).
    #[must_use]
    pub fn growth_after(&self, warm_up: Duration) -> f64 {
        let after: Vec<u64> = self
            .samples
            .iter()
            .filter(|s| s.at >= warm_up)
            .map(|s| s.rss)
            .collect();
        match (after.first(), after.iter().max()) {
            (Some(&first), Some(&max)) if first > 0 => max as f64 / first as f64,
            _ => 1.0,
        }
    }
}

/// Runs the soak against the echo server at `url`, on a tokio runtime of its own, calling
/// `rss` for the server's resident set and `report` with one line per sample.
pub fn run(
    url: &str,
    config: &SoakConfig,
    rss: impl Fn() -> u64,
    mut report: impl FnMut(&str),
) -> SoakReport {
    let totals = Arc::new(Totals::default());
    let errors = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the soak's clients");
    let started = Instant::now();
    let deadline = started + config.duration;
    let mut samples = Vec::new();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..config.connections {
            let (url, totals, errors) = (url.to_owned(), Arc::clone(&totals), Arc::clone(&errors));
            let seed = config.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            tasks.push(tokio::spawn(async move {
                connection(&url, seed, deadline, &totals, &errors).await;
            }));
            if i % 100 == 99 {
                // Ramp up at 2 000 connections a second: a soak, not a connection burst.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        loop {
            let now = Instant::now();
            let sample = Sample {
                at: now - started,
                rss: rss(),
            };
            samples.push(sample);
            report(&line(sample, &totals));
            if now >= deadline {
                break;
            }
            let next = (now + config.report_every).min(deadline);
            tokio::time::sleep_until(next.into()).await;
        }
        for task in tasks {
            let _ = task.await;
        }
    });
    let sample = Sample {
        at: started.elapsed(),
        rss: rss(),
    };
    samples.push(sample);
    report(&line(sample, &totals));
    let errors = errors
        .lock()
        .map(|e| e.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    SoakReport {
        totals,
        samples,
        errors,
    }
}

fn line(sample: Sample, totals: &Totals) -> String {
    format!(
        "{:>6.1} s  server RSS {:>7.1} MiB  {}",
        sample.at.as_secs_f64(),
        sample.rss as f64 / (1024.0 * 1024.0),
        totals.summary(),
    )
}

impl Totals {
    /// Every counter, as `name=value` pairs.
    #[must_use]
    pub fn summary(&self) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        format!(
            "sent={} echoed={} lost={} corrupted={} pongs={} connects={} dropped={} errors={}",
            get(&self.sent),
            get(&self.echoed),
            get(&self.lost),
            get(&self.corrupted),
            get(&self.pongs),
            get(&self.connects),
            get(&self.dropped),
            get(&self.errors),
        )
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// A message of the soak's mix: mostly small text, some binary up to 256 KiB, its bytes
/// derived from `tag` so an echo can be checked byte for byte.
fn message(rng: &mut Rng, tag: u64) -> Message {
    let roll = rng.below(100);
    let len = match roll {
        0..80 => 16 + rng.below(240),
        80..98 => 1024 + rng.below(15 * 1024),
        _ => 64 * 1024 + rng.below(192 * 1024),
    } as usize;
    if roll < 80 {
        let text: String = (0..len)
            .map(|i| char::from(b'a' + ((tag as usize + i) % 26) as u8))
            .collect();
        Message::text(text)
    } else {
        Message::binary(
            (0..len)
                .map(|i| (tag as usize).wrapping_mul(31).wrapping_add(i) as u8)
                .collect::<Vec<u8>>(),
        )
    }
}

/// How one round ends.
enum Next {
    Continue,
    Reconnect,
}

/// One client connection, reconnecting until the deadline.
async fn connection(
    url: &str,
    seed: u64,
    deadline: Instant,
    totals: &Totals,
    errors: &std::sync::Mutex<BTreeMap<String, u64>>,
) {
    let mut rng = Rng(seed | 1);
    let mut tag = seed;
    let note = |what: String| {
        totals.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut errors) = errors.lock() {
            let kind = if errors.len() < 32 || errors.contains_key(&what) {
                what
            } else {
                "other".to_owned()
            };
            *errors.entry(kind).or_default() += 1;
        }
    };
    while Instant::now() < deadline {
        let mut ws = match wsproto_tokio::connect_with(url, ClientConfig::default()).await {
            Ok(ws) => ws,
            Err(error) => {
                note(format!("connect: {error}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        totals.connects.fetch_add(1, Ordering::Relaxed);
        loop {
            if Instant::now() >= deadline {
                let _ = ws.close(CloseCode::NORMAL, "").await;
                return;
            }
            match round(&mut ws, &mut rng, &mut tag, totals).await {
                Ok(Next::Continue) => {}
                Ok(Next::Reconnect) => break,
                Err(error) => {
                    note(format!("round: {error}"));
                    break;
                }
            }
            // Connections idle between rounds, as real clients do (long enough, at times,
            // for the server to give an idle connection's buffers back).
            tokio::time::sleep(Duration::from_millis(rng.below(2000))).await;
        }
    }
}

/// One round: a batch out, its echoes back and checked, maybe a ping; then go on, close and
/// reconnect, or drop the socket mid-round.
async fn round(
    ws: &mut wsproto_tokio::TcpWebSocket,
    rng: &mut Rng,
    tag: &mut u64,
    totals: &Totals,
) -> Result<Next, String> {
    let batch = 1 + rng.below(16) as usize;
    let mut expected = Vec::with_capacity(batch);
    for _ in 0..batch {
        *tag = tag.wrapping_add(1);
        let message = message(rng, *tag);
        expected.push(message.clone());
        ws.feed(message).await.map_err(|e| e.to_string())?;
        totals.sent.fetch_add(1, Ordering::Relaxed);
    }
    ws.flush().await.map_err(|e| e.to_string())?;
    let ending = rng.below(100);
    if ending < 3 {
        // Vanish without a word, echoes outstanding: those are not lost, we left.
        totals.dropped.fetch_add(1, Ordering::Relaxed);
        return Ok(Next::Reconnect);
    }
    for (i, want) in expected.iter().enumerate() {
        match ws.recv().await {
            Some(Ok(got)) if &got == want => {
                totals.echoed.fetch_add(1, Ordering::Relaxed);
            }
            Some(Ok(_)) => {
                totals.corrupted.fetch_add(1, Ordering::Relaxed);
            }
            Some(Err(error)) => {
                totals.lost.fetch_add((batch - i) as u64, Ordering::Relaxed);
                return Err(describe(&error));
            }
            None => {
                totals.lost.fetch_add((batch - i) as u64, Ordering::Relaxed);
                return Err("the connection ended with echoes outstanding".into());
            }
        }
    }
    if rng.below(10) == 0 {
        ws.ping(b"soak").await.map_err(|e| e.to_string())?;
        loop {
            match ws.next_event().await {
                Some(Ok(wsproto_core::Event::Pong { .. })) => break,
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(describe(&error)),
                None => return Err("the connection ended before the pong".into()),
            }
        }
        totals.pongs.fetch_add(1, Ordering::Relaxed);
    }
    if ending < 10 {
        ws.close(CloseCode::NORMAL, "reconnecting")
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Next::Reconnect);
    }
    Ok(Next::Continue)
}

fn describe(error: &Error) -> String {
    format!("{error}")
}
