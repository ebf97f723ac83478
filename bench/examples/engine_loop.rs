//! The engine's echo path alone, for counting instructions per message under callgrind
//! (repeatable on a noisy machine, unlike timings): a server-role `Connection` reads batches
//! of 16 masked binary frames, hands each message out and queues it back.
//!
//! ```sh
//! cargo build --release --example engine_loop
//! valgrind --tool=callgrind target/release/examples/engine_loop 16 20000
//! # instructions per message = "Collected" ÷ (20000 × 16)
//! ```
//!
//! Arguments: payload size in bytes (default 16, at most 65 535) and the number of batches
//! (default 100 000).

use wsproto_core::{Config, Connection, Event, Instant, Limits};

/// Frames per simulated read, as a pipelined peer at depth 16 delivers them.
const FRAMES_PER_READ: usize = 16;

fn main() {
    let mut args = std::env::args().skip(1);
    let size: usize = args.next().map_or(16, |s| s.parse().expect("size"));
    let batches: usize = args.next().map_or(100_000, |s| s.parse().expect("batches"));
    assert!(size <= usize::from(u16::MAX), "size at most 65 535");
    let now = Instant::ZERO;
    let mut server = Connection::server(Config::default(), Limits::default(), now);
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x82u8];
    if size < 126 {
        frame.push(0x80 | size as u8);
    } else {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(size as u16).to_be_bytes());
    }
    frame.extend_from_slice(&key);
    frame.extend((0..size).map(|i| (i as u8) ^ key[i % 4]));
    let batch = frame.repeat(FRAMES_PER_READ);
    let mut echoed = 0usize;
    for _ in 0..batches {
        server.read_buffer().extend_from_slice(&batch);
        server.handle_read(now);
        while let Ok(Some(Event::Message(message))) = server.poll_event() {
            server.send(message).expect("send");
        }
        let queued = server.transmit().len();
        echoed += queued;
        server.advance_transmit(queued);
    }
    println!("{echoed} bytes echoed");
}
