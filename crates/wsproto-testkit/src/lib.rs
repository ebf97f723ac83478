//! The one test kit of wsproto: the fuzz targets of `wsproto-core` with the checkers they
//! share, the frame codec every raw test peer writes and reads with, and the stable fuzz smoke.
//!
//! Who uses it, and why it is a crate of its own:
//! - `fuzz/` (cargo-fuzz, nightly, its own workspace): each binary in `fuzz_targets/` calls one
//!   `pub fn <target>(data: &[u8])` of [`targets`];
//! - `tests/tests/fuzz_corpus.rs` (stable, `cargo test`): replays every corpus and regression
//!   file through the same functions, then runs each for a few seconds over mutations of its
//!   seeds ([`smoke`]), so CI covers what fuzzing found and fails when a checker falls out of
//!   step with the engine;
//! - the raw peers of `tests/` (conformance, hostile peers, the trickling server): they write
//!   rule-breaking frames and read what an implementation sent with [`wire`], the one frame
//!   codec outside the engine.
//!
//! It is a test tool, never a dependency of a library crate: it depends only on `wsproto-core`
//! (with its `deflate` feature), `rand_core` (to implement the masking RNG trait) and `std`.
//! Everything checked here is checked with code of its own, not the engine's: [`wire`] encodes
//! and decodes frames independently of `wsproto-core`'s codec.
//!
//! Targets: `frame_decode`, `server_handshake`, `client_handshake`, `server_connection`,
//! `client_connection`, `round_trip`, `deflate` (all listed in [`targets::ALL`]). From `fuzz/`:
//! - fuzz: `cargo +nightly fuzz run <target> -- -max_total_time=600 -timeout=10`;
//! - replay on stable: `cargo test -p wsproto-tests --test fuzz_corpus` (from the root);
//! - after changing [`seeds()`]: `cargo run --example write_seeds`;
//! - a finding: `cargo +nightly fuzz tmin <target> <artifact>`, then save the result as
//!   `regressions/<target>/<what-it-guards>` and add a named test in `fuzz_corpus.rs`.
//!
//! A target returns normally or panics; a panic is a finding. Shared pieces:
//! - [`Input`] reads fuzz bytes front to back (zeros once exhausted), so every input decodes;
//!   [`FuzzRng`] is the deterministic masking RNG and chunker, [`SampleNonce`] the RFC 6455
//!   §1.3 nonce; [`encode_frame`] writes any frame, rule-breaking ones included;
//! - [`WireChecker`] decodes what an engine writes with a decoder of its own (not the engine's)
//!   and checks it is what RFC 6455 lets that role send, carrying exactly the messages the
//!   engine accepted, in order, with nothing after the Close;
//! - [`Checked`] wraps a [`Connection`] and checks the calling contract after every input,
//!   command and timer; the connection targets decode their operations with [`Op`].
//!
//! Invariants checked besides "no panic":
//! - `poll_event` errors are sticky, carry close code 1001, 1002, 1006, 1007 or 1009, queue a
//!   Close with that code when one may still be sent, and leave the state `Closed`; states only
//!   move forward; no event follows a Close; at most one event per byte received;
//! - a data send is refused exactly when the connection is closing/closed, a fragmented send is
//!   unfinished or the queue is full (`0 < buffered_amount() >= write_high_water`: an empty
//!   queue is never full, so a mark of 0 lets one send in at a time); a refused command queues
//!   nothing; an accepted one queues exactly the RFC encoding of its frames. Hence
//!   `buffered_amount()` stays
//!   within `write_high_water` + the largest accepted data send + the control frames (pings,
//!   pongs, Close, the engine's own replies) queued since it was last under the mark: control
//!   frames are exempt from the mark by design, so the bound without that term is not valid;
//! - after `poll_event` returns `Ok(None)` the read buffer holds less than a frame header plus
//!   `max_frame_size` (whole delivery) or a control payload (streaming), and nothing after an
//!   error or a received Close;
//! - `handle_timeout(now)` changes nothing before `poll_timeout()`; afterwards `poll_timeout()`
//!   is `None` or not before `now` (it may equal `now`: a zero keepalive timeout arms a deadline
//!   at `now`), and calling it again at the same `now` settles within three calls; `Closed`
//!   connections have no deadline;
//! - handshakes: errors are sticky, the server queues the matching HTTP status, a partial head
//!   never exceeds `max_header_bytes`, leftover bytes are exactly what followed the head, and a
//!   101 carries the right `Sec-WebSocket-Accept` and only offered selections.
//!
//! [`Connection`]: wsproto_core::Connection

pub mod checked;
pub mod input;
pub mod ops;
pub mod seeds;
pub mod smoke;
pub mod targets;
pub mod wire;

pub use checked::Checked;
pub use input::{FuzzRng, Input, SampleNonce};
pub use ops::{Command, Op};
pub use seeds::seeds;
pub use wire::{Msg, WireChecker, encode_frame};
/// The engine's in-memory client/server harness with a virtual clock
/// ([`wsproto_core::pair`]), for tests of code built on the engine.
pub use wsproto_core::pair;

use wsproto_core::Instant;

/// The instant every run starts at.
pub(crate) const START: Instant = Instant::from_millis(1_000);
