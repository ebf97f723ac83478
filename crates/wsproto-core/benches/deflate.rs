//! permessage-deflate throughput through the engine, next to zlib-rs's raw throughput on the
//! same bytes (`cargo bench -p wsproto-core --features deflate --bench deflate`).
//!
//! - `compress/wsproto`: a server queues one text message with compression negotiated.
//! - `decompress/wsproto`: a server receives one compressed masked message.
//! - `*/raw`: flate2 (zlib-rs) on the same input with the same level and window.
//!
//! Input is text that compresses about 4:1 (a typical JSON-ish payload), at 1 KiB, 64 KiB and
//! 1 MiB. Throughput is in uncompressed bytes per second.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use wsproto_core::deflate::DeflateConfig;
use wsproto_core::handshake::parse_extensions;
use wsproto_core::{Config, Connection, Event, Instant, Limits};

const SIZES: [(usize, &str); 3] = [(1024, "1KiB"), (64 * 1024, "64KiB"), (1 << 20, "1MiB")];

struct Counter(u32);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9);
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst);
    }
}

/// JSON-ish text with some variety, so it compresses like real traffic rather than zeros.
fn payload(len: usize) -> String {
    let mut out = String::with_capacity(len + 64);
    let mut i = 0u32;
    while out.len() < len {
        out.push_str(&format!(
            "{{\"id\":{i},\"user\":\"u{}\",\"score\":{},\"ok\":true}},",
            i % 97,
            (i * 7919) % 10007
        ));
        i += 1;
    }
    out.truncate(len);
    out
}

/// A client and a server with permessage-deflate negotiated (`config` on both sides).
fn negotiated(config: &DeflateConfig) -> (Connection, Connection) {
    let offer = parse_extensions([config.client_offer().as_bytes()]).expect("offer");
    let (answer, server_ext) = config.negotiate(&offer).expect("accepted");
    let answer = parse_extensions([answer.as_bytes()]).expect("answer");
    let client_ext = config.accept_response(&answer[0]).expect("valid");
    let limits = Limits::default();
    let client = Connection::client(
        Config::default(),
        limits.clone(),
        Box::new(Counter(1)),
        Instant::ZERO,
    )
    .with_extension(Box::new(client_ext));
    let server = Connection::server(Config::default(), limits, Instant::ZERO)
        .with_extension(Box::new(server_ext));
    (client, server)
}

fn compress(c: &mut Criterion) {
    let mut group = c.benchmark_group("compress");
    for (size, name) in SIZES {
        let text = payload(size);
        group.throughput(Throughput::Bytes(size as u64));
        let (_, mut server) = negotiated(&DeflateConfig::default());
        group.bench_function(BenchmarkId::new("wsproto", name), |b| {
            b.iter(|| {
                server.send_text(black_box(&text)).expect("send");
                let n = server.buffered_amount();
                server.advance_transmit(n);
            });
        });
        let mut raw = Compress::new_with_window_bits(Compression::new(1), false, 15);
        let mut out = Vec::with_capacity(size + 1024);
        group.bench_function(BenchmarkId::new("raw", name), |b| {
            b.iter(|| {
                out.clear();
                raw.compress_vec(black_box(text.as_bytes()), &mut out, FlushCompress::Sync)
                    .expect("deflate");
                black_box(&out);
            });
        });
    }
    group.finish();
}

fn decompress(c: &mut Criterion) {
    let mut group = c.benchmark_group("decompress");
    for (size, name) in SIZES {
        let text = payload(size);
        group.throughput(Throughput::Bytes(size as u64));
        // The client resets its context per message, so every message decodes on its own and
        // the same frame can be fed to one server over and over: steady-state cost.
        let (mut client, mut server) =
            negotiated(&DeflateConfig::default().client_no_context_takeover(true));
        client.send_text(&text).expect("send");
        let wire = client.transmit().to_vec();
        group.bench_function(BenchmarkId::new("wsproto", name), |b| {
            b.iter(|| {
                server.handle_input(black_box(&wire), Instant::ZERO);
                match server.poll_event() {
                    Ok(Some(Event::Message(m))) => black_box(m),
                    other => panic!("{other:?}"),
                };
            });
        });
        let mut packed = Vec::with_capacity(size);
        Compress::new_with_window_bits(Compression::new(1), false, 15)
            .compress_vec(text.as_bytes(), &mut packed, FlushCompress::Sync)
            .expect("deflate");
        let mut out = Vec::with_capacity(size + 1024);
        group.bench_function(BenchmarkId::new("raw", name), |b| {
            b.iter_batched(
                || Decompress::new_with_window_bits(false, 15),
                |mut raw| {
                    out.clear();
                    raw.decompress_vec(black_box(&packed), &mut out, FlushDecompress::Sync)
                        .expect("inflate");
                    black_box(&out);
                },
                criterion::BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, compress, decompress);
criterion_main!(benches);
