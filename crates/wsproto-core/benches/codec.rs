//! Criterion benchmarks of the engine's hot paths, each next to a `memcpy` of the same bytes.
//!
//! - `decode_unmask`: a server decodes one masked binary frame already in its read buffer (put
//!   there by the socket read, i.e. the kernel's copy, outside the timing) and hands out the
//!   unmasked message: `wsproto`. `wsproto_with_copy` also times copying the frame into the
//!   read buffer, as if the read were part of the library's work.
//! - `encode_mask`: a client queues one binary message (header, copy, mask) and drains it.
//! - `memcpy`: copying the same number of bytes, the floor both are measured against.
//!
//! Run with `cargo bench -p wsproto-core`; throughput is reported in bytes per second.

use std::cell::RefCell;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto_core::{Config, Connection, Event, Instant, Limits};

const SIZES: [(usize, &str); 4] = [
    (16, "16B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1 << 20, "1MiB"),
];

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

fn client() -> Connection {
    Connection::client(
        Config::default(),
        Limits::default(),
        Box::new(Counter(1)),
        Instant::ZERO,
    )
}

/// The wire bytes of one masked binary frame of `size` bytes.
fn masked_frame(size: usize) -> Vec<u8> {
    let config = Config::default()
        .outgoing_frame_size(std::num::NonZeroUsize::new(size.max(1)).expect("nonzero"));
    let mut c = Connection::client(
        config,
        Limits::default(),
        Box::new(Counter(1)),
        Instant::ZERO,
    );
    c.send_binary(&vec![0xA5; size]).expect("send");
    c.transmit().to_vec()
}

fn decode_unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_unmask");
    for (size, name) in SIZES {
        let wire = masked_frame(size);
        group.throughput(Throughput::Bytes(size as u64));
        let server = RefCell::new(Connection::server(
            Config::default(),
            Limits::default(),
            Instant::ZERO,
        ));
        group.bench_function(BenchmarkId::new("wsproto", name), |b| {
            b.iter_batched(
                || server.borrow_mut().read_buffer().extend_from_slice(&wire),
                |()| {
                    let mut server = server.borrow_mut();
                    server.handle_read(Instant::ZERO);
                    match server.poll_event() {
                        Ok(Some(Event::Message(m))) => black_box(m),
                        other => panic!("{other:?}"),
                    }
                },
                BatchSize::PerIteration,
            );
        });
        let mut server = server.into_inner();
        group.bench_function(BenchmarkId::new("wsproto_with_copy", name), |b| {
            b.iter(|| {
                server.read_buffer().extend_from_slice(&wire);
                server.handle_read(Instant::ZERO);
                match server.poll_event() {
                    Ok(Some(Event::Message(m))) => black_box(m),
                    other => panic!("{other:?}"),
                };
            });
        });
        let mut dst = vec![0u8; size];
        group.bench_function(BenchmarkId::new("memcpy", name), |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&wire[wire.len() - size..]));
                black_box(&dst);
            });
        });
    }
    group.finish();
}

fn encode_mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_mask");
    for (size, name) in SIZES {
        let payload = vec![0x5Au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        let mut conn = client();
        group.bench_function(BenchmarkId::new("wsproto", name), |b| {
            b.iter(|| {
                conn.send_binary(black_box(&payload)).expect("send");
                while conn.wants_write() {
                    let n = black_box(conn.transmit()).len();
                    conn.advance_transmit(n);
                }
            });
        });
        let mut dst = vec![0u8; size];
        group.bench_function(BenchmarkId::new("memcpy", name), |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&payload));
                black_box(&dst);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decode_unmask, encode_mask);
criterion_main!(benches);
