//! Zero heap allocations per message in `wsproto-core` once buffers are warm: on the streaming receive path, on
//! whole-message receive of single-frame messages, and on send, in both roles. And end to end:
//! a wsproto-tokio echo server and client over loopback TCP, pipelined like the benchmark.
//!
//! A counting global allocator wraps the system one; each scenario warms up, then counts the
//! allocations made while 1000 more messages go through.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wsproto_core::{Config, Connection, Delivery, Event, Instant, Limits};

struct Counting;

thread_local! {
    /// Allocations made by this thread. Per thread, because libtest runs tests (and reports
    /// their results, which allocates) on other threads at the same time; every scenario
    /// here runs on its test's thread (the tokio one on a current-thread runtime).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: never panic inside the allocator, even during thread teardown.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations_so_far() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call unchanged to `System`, only counting allocations.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
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
    let before = allocations_so_far();
    f();
    allocations_so_far() - before
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

/// One echo round over loopback: the client queues `depth` messages, flushes, and reads the
/// `depth` echoes back (checking their length); `rounds` times.
async fn echo_rounds(
    client: &mut wsproto_tokio::TcpWebSocket,
    payload: &wsproto_core::Bytes,
    depth: usize,
    rounds: usize,
) {
    for _ in 0..rounds {
        for _ in 0..depth {
            client
                .feed(wsproto_core::Message::Binary(payload.clone()))
                .await
                .expect("feed");
        }
        client.flush().await.expect("flush");
        for _ in 0..depth {
            let echo = client.recv().await.expect("open").expect("echo");
            assert_eq!(echo.payload().len(), payload.len());
        }
    }
}

#[test]
fn tokio_echo_over_loopback_allocates_nothing_per_message_once_warm() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut server = wsproto_tokio::Server::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = server.url();
        // Not `ServerKind::Tokio.start_echo()`: that server runs on its own thread, which
        // this per-thread counter would not see. Here both ends share the test's thread.
        tokio::spawn(async move {
            while let Ok(mut ws) = server.accept().await {
                tokio::spawn(async move {
                    // The benchmark's echo loop: replies are corked until recv would wait.
                    while let Some(Ok(message)) = ws.recv().await {
                        if ws.feed(message).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        for size in [16usize, 1024] {
            let mut client = wsproto_tokio::connect(&url).await.expect("connect");
            let payload = wsproto_core::Bytes::from(vec![0x5a; size]);
            let warm = allocations_during_async(echo_rounds(&mut client, &payload, 16, 20)).await;
            assert!(warm > 0, "the counter sees the warm-up");
            let steady =
                allocations_during_async(echo_rounds(&mut client, &payload, 16, 125)).await;
            assert!(
                steady == 0,
                "{size} B: {steady} allocations over 2000 echoed messages"
            );
            client
                .close(wsproto_core::CloseCode::NORMAL, "done")
                .await
                .expect("close");
        }
    });
}

async fn allocations_during_async(f: impl Future<Output = ()>) -> usize {
    let before = allocations_so_far();
    f.await;
    allocations_so_far() - before
}
