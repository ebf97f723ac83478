//! Fuzzing on stable, bounded in time: each target's body runs over a seeded stream of
//! pseudo-random inputs and mutations of its seeds and stored corpus, so a checker that has
//! fallen out of step with the engine fails `cargo test` instead of dying unseen on nightly.
//! [`smoke`] is the driver; `tests/tests/fuzz_corpus.rs` calls it once per target.
//!
//! This is not coverage-guided (that is `scripts/fuzz.sh` on nightly); it is a smoke that
//! every input of the first few thousand a fuzzer would try still passes. The stream is the
//! same on every run (the seed is the target's name), only its length depends on the
//! machine's speed: [`BUDGET`] of wall time per target, at least [`MIN_INPUTS`] inputs.
//!
//! A failing input is written to `target/fuzz-smoke/<target>/<hash>` (in the workspace root)
//! and printed as the two commands that turn it into a named regression seed.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::targets::Target;

/// Wall time per target; `WSPROTO_FUZZ_SMOKE_SECS` overrides it (0 runs only [`MIN_INPUTS`]).
pub const BUDGET: Duration = Duration::from_secs(10);
/// Inputs run whatever the budget, so a slow machine still covers the start of the stream.
pub const MIN_INPUTS: usize = 1_000;
/// Longest one input may run (unoptimised, on a loaded machine) before it counts as a hang.
pub const HANG: Duration = Duration::from_secs(60);
/// Longest input the generator makes.
const MAX_LEN: usize = 4 << 10;

/// Bytes a mutation may write where a length, an opcode or a limit is read.
const INTERESTING: [u8; 12] = [
    0, 1, 2, 0x0f, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x88, 0xfe, 0xff,
];

/// xorshift64*: the stream's only source of randomness.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    /// A length skewed towards small values, as most interesting inputs are short.
    fn len(&mut self, max: usize) -> usize {
        let scale = 1 << self.below(13);
        self.below(scale.min(max) + 1)
    }
}

/// Makes the next input: fresh random bytes now and then, otherwise a pool entry with a few
/// mutations (bit flips, interesting bytes, inserts, deletes, copies and splices).
fn next_input(rng: &mut Rng, pool: &[Vec<u8>]) -> Vec<u8> {
    if pool.is_empty() || rng.below(8) == 0 {
        return (0..rng.len(MAX_LEN)).map(|_| rng.byte()).collect();
    }
    let mut data = pool[rng.below(pool.len())].clone();
    for _ in 0..=rng.below(8) {
        mutate(rng, &mut data, pool);
    }
    data.truncate(MAX_LEN);
    data
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>]) {
    let at = |rng: &mut Rng, data: &Vec<u8>| rng.below(data.len() + 1);
    match rng.below(8) {
        0 | 1 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        2 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        3 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] = rng.byte();
        }
        4 => {
            let i = at(rng, data);
            let fresh: Vec<u8> = (0..rng.len(64)).map(|_| rng.byte()).collect();
            data.splice(i..i, fresh);
        }
        5 if !data.is_empty() => {
            let start = rng.below(data.len());
            let end = start + rng.len(data.len() - start);
            data.drain(start..end);
        }
        6 if !data.is_empty() => {
            let start = rng.below(data.len());
            let end = start + rng.len(data.len() - start);
            let copy = data[start..end].to_vec();
            let i = at(rng, data);
            data.splice(i..i, copy);
        }
        _ => {
            let other = &pool[rng.below(pool.len())];
            let cut = at(rng, data);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
    }
}

fn budget() -> Duration {
    std::env::var("WSPROTO_FUZZ_SMOKE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(BUDGET, Duration::from_secs)
}

/// Runs `target` (named `name`, which also seeds the stream) over pseudo-random inputs and
/// mutations of `pool` for its budget; panics with a ready-to-add regression seed on the
/// first input that panics or hangs. Returns how many inputs ran.
pub fn smoke(name: &'static str, pool: Vec<Vec<u8>>, target: Target) -> usize {
    let budget = budget();
    // The input the worker is on, for the report if it panics or hangs.
    let current = Arc::new(Mutex::new(Vec::new()));
    let (done, finished) = mpsc::channel();
    let worker = Arc::clone(&current);
    std::thread::spawn(move || {
        let mut hasher = DefaultHasher::new();
        name.hash(&mut hasher);
        let mut rng = Rng::new(hasher.finish());
        let started = Instant::now();
        let mut count = 0;
        while count < MIN_INPUTS || started.elapsed() < budget {
            let input = next_input(&mut rng, &pool);
            worker.lock().unwrap().clone_from(&input);
            if std::panic::catch_unwind(|| target(&input)).is_err() {
                let _ = done.send(Err(count));
                return;
            }
            count += 1;
        }
        let _ = done.send(Ok((count, started.elapsed())));
    });
    match finished.recv_timeout(budget + HANG) {
        Ok(Ok((count, elapsed))) => {
            eprintln!("fuzz smoke {name}: {count} inputs in {elapsed:.1?}, no finding");
            count
        }
        Ok(Err(count)) => {
            let input = current.lock().unwrap().clone();
            report(name, &input, &format!("panics (input #{count})"))
        }
        Err(_) => {
            let input = current.lock().unwrap().clone();
            report(name, &input, &format!("runs for more than {HANG:?}"))
        }
    }
}

/// Saves a finding and fails with the commands that make it a regression seed.
fn report(name: &str, input: &[u8], what: &str) -> ! {
    let mut hasher = DefaultHasher::new();
    input.hash(&mut hasher);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fuzz-smoke")
        .join(name);
    let path = dir.join(format!("{:016x}", hasher.finish()));
    let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input));
    let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
    panic!(
        "fuzz smoke: target {name} {what}, {len} bytes\n  hex: {hex}\n  saved: {saved}\n  \
         to keep it as a regression seed:\n    \
         cp {path} fuzz/regressions/{name}/<what-it-guards>\n    \
         and add a named test in tests/tests/fuzz_corpus.rs",
        len = input.len(),
        saved = match saved {
            Ok(()) => "yes".to_owned(),
            Err(e) => format!("no ({e})"),
        },
        path = path.display(),
    )
}
