//! A raw RFC 6455 peer for the conformance suite (`tests/tests/conformance.rs`): it speaks the
//! opening handshake by hand over `std::net`, then writes hand-made frames — chopped into
//! pieces, withheld, malformed on purpose — and records frame by frame what the implementation
//! under test sends back.
//!
//! Two roles, one script format:
//! - [`RawPeer::connect`] is a raw *client* facing one of our servers;
//! - [`RawListener::accept`] is a raw *server* facing one of our clients (which runs
//!   [`client_echo`]: it sends every message back, like the echo servers do).
//!
//! A [`Case`] is a list of [`Step`]s to write and an [`Expect`]ation; [`run_case`] plays it in
//! either role. Frames go both ways through the test kit's codec ([`wsproto_testkit::wire`]),
//! which is not the engine's. Frames are masked as the raw peer's role requires unless a case
//! forces otherwise, so one case table serves both directions. On top of each case's expectation,
//! every frame the implementation sends is checked against what RFC 6455 requires of it
//! (masking by role, no RSV bits, control frames unfragmented and at most 125 bytes, shortest
//! length encoding, valid fragmentation order, UTF-8 text, a valid close code), and so is
//! the end of the connection: once the closing handshake is over (or the implementation failed
//! the connection), TCP must close within [`CLOSE_LIMIT`] — a raw server closes its side
//! first, as RFC 6455 §7.1.1 has servers do, while a raw client waits for the server to.
//!
//! The pieces: [`script`] (the case language), [`peer`] (the raw peer), [`run`] (playing a
//! case), [`http`] (handshakes by hand), [`client`] (the raw server for our clients),
//! [`suite`] (tables of cases).
//!
//! Invariants: every read and write has a deadline of at most [`READ_LIMIT`], so nothing here
//! can hang; nothing panics on what the implementation sends — failures come back as text.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use wsproto_core::handshake::accept_key;
use wsproto_core::{CloseCode, Event, Message, Role};
use wsproto_testkit::wire::{self, Header, encode_frame, first_byte};

use crate::{CLOSE_ME, ClientKind, SERVER_CLOSE_CODE, ServerKind};

/// The longest any single read or write may wait.
pub const READ_LIMIT: Duration = Duration::from_secs(10);
/// How soon a peer must fail a connection whose input became invalid, without waiting for
/// the rest of the message (Autobahn 6.4.x).
pub const FAIL_FAST: Duration = Duration::from_secs(2);
/// Longest HTTP head the raw peers read.
pub(crate) const HEAD_LIMIT: usize = 64 * 1024;
/// Largest frame payload the raw peers accept from the implementation under test.
pub(crate) const FRAME_LIMIT: u64 = 64 << 20;
/// How long one test function's cases may take together before the rest are skipped.
pub(crate) const SUITE_BUDGET: Duration = Duration::from_secs(90);
/// Failed cases after which a test function stops (one broken behaviour usually fails most
/// cases, each at the cost of a timeout).
pub(crate) const MAX_FAILURES: usize = 5;
/// How soon the TCP connection must close once the closing handshake is over (or the
/// implementation failed the connection): RFC 6455 §7.1.1 wants it closed, not left to a
/// timeout. Generous for loopback.
pub const CLOSE_LIMIT: Duration = Duration::from_secs(1);
/// The key the raw client sends (RFC 6455 §1.3's example).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The kit's opcodes and length forms, part of this module's [`Frame`] API.
pub use wsproto_testkit::wire::{Length, opcode};

mod client;
mod http;
mod peer;
mod run;
mod script;
mod suite;

pub use client::*;
pub use http::*;
pub use peer::*;
pub use run::*;
pub use script::*;
pub use suite::*;
