//! Zero heap allocations per message in `wsproto-core` once buffers are warm: on the streaming receive path, on
//! whole-message receive of single-frame messages, and on send, in both roles.
//!
//! A counting global allocator wraps the system one; each scenario warms up, then counts the
//! allocations made while 1000 more messages go through.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use wsproto_core::{Config, Connection, Delivery, Event, Instant, Limits};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to `System`, only counting allocations.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A trivial mask generator; the test is about allocations, not key quality.
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

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// Sends `count` messages from `sender` to `receiver` through `wire`, reading them with
/// `read_buffer` (the no-copy input path); every event is checked and dropped.
fn exchange(sender: &mut Connection, receiver: &mut Connection, count: usize, payload: &[u8]) {
    let now = Instant::ZERO;
    for _ in 0..count {
        sender.send_binary(payload).expect("send");
        while sender.wants_write() {
            let chunk = sender.transmit();
            let n = chunk.len();
            receiver.read_buffer().extend_from_slice(chunk);
            sender.advance_transmit(n);
        }
        receiver.handle_read(now);
        let mut seen = 0;
        while let Some(event) = receiver.poll_event().expect("no protocol error") {
            match event {
                Event::Message(m) => seen += m.payload().len(),
                Event::Fragment { data, .. } => seen += data.len(),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(seen, payload.len());
    }
}

fn pair(delivery: Delivery) -> (Connection, Connection) {
    let config = Config::default().delivery(delivery);
    let client = Connection::client(
        config.clone(),
        Limits::default(),
        Box::new(Counter(1)),
        Instant::ZERO,
    );
    let server = Connection::server(config, Limits::default(), Instant::ZERO);
    (client, server)
}

#[test]
fn steady_state_messages_allocate_nothing() {
    for delivery in [Delivery::Streaming, Delivery::Whole] {
        for size in [16usize, 1024, 60_000] {
            let payload = vec![7u8; size];
            let (mut client, mut server) = pair(delivery);
            // Warm up both directions; the first messages do allocate (which also shows the
            // counter works).
            let warm = allocations_during(|| {
                exchange(&mut client, &mut server, 20, &payload);
                exchange(&mut server, &mut client, 20, &payload);
            });
            assert!(warm > 0);
            let up = allocations_during(|| exchange(&mut client, &mut server, 1000, &payload));
            let down = allocations_during(|| exchange(&mut server, &mut client, 1000, &payload));
            assert_eq!(up, 0, "{delivery:?} {size} B client -> server");
            assert_eq!(down, 0, "{delivery:?} {size} B server -> client");
        }
    }
}
