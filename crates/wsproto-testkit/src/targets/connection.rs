//! The targets that drive connections: `frame_decode` (arbitrary bytes into both roles),
//! `server_connection` and `client_connection` (one connection driven by [`Op`]s),
//! `round_trip` (a client and a server wired to each other) and `deflate` (the same with
//! permessage-deflate negotiated). Every connection runs inside a [`Checked`].

use std::collections::VecDeque;
use std::time::Duration;

use wsproto_core::handshake::parse_extensions;
use wsproto_core::{CloseCode, Config, Delivery, Extension, Instant, Limits, Role, State};

use crate::START;
use crate::checked::Checked;
use crate::input::{Chunks, FuzzRng, Input};
use crate::ops::{
    Command, Op, RT_ADVANCE, RT_COMMANDS, RT_DRIVE, RT_OPS, RT_RELEASE, RT_TIMEOUT, RT_TRANSFER,
    connection, decode_command, decode_setup, deflate_config, synthetic_budget,
};

/// `frame_decode`: `[cfg, seed, bytes...]`. The same bytes go to a server and to a client
/// connection, cut into chunks (`cfg` bits 2-3 pick the size, `seed` the cuts), then the
/// stream ends. `cfg` bit 0 streams, bit 1 sets small limits, bit 4 turns auto-pong off.
pub fn frame_decode(data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = input.byte();
    let seed = input.byte();
    let bytes = input.rest();
    let mut config = Config::default().auto_pong(cfg & 0x10 == 0);
    if cfg & 1 != 0 {
        config = config.delivery(Delivery::Streaming);
    }
    let mut limits = Limits::default();
    if cfg & 2 != 0 {
        limits = limits
            .max_frame_size(64)
            .max_message_size(256)
            .max_fragments(4);
    }
    for role in [Role::Server, Role::Client] {
        let conn = connection(role, config.clone(), limits.clone(), u64::from(seed));
        let mut side = Checked::new(conn, 0);
        let mut flip = FuzzRng::new(u64::from(seed) + 1);
        for chunk in Chunks::new(bytes, seed, cfg >> 2) {
            side.input(chunk, START, flip.below(3) as u8);
            side.transmit(usize::MAX, flip.below(2) == 0);
        }
        side.eof(START);
        side.finish();
    }
}

/// A single connection driven by peer bytes, commands and the clock.
pub(crate) fn run_connection(
    role: Role,
    mut input: Input<'_>,
    extension: Option<Box<dyn Extension>>,
) {
    let (config, limits) = decode_setup(&mut input);
    let mut conn = connection(role, config, limits, 7);
    if let Some(extension) = extension {
        conn = conn.with_extension(extension);
    }
    let mut side = Checked::new(conn, 0);
    let peer = if role == Role::Server {
        Role::Client
    } else {
        Role::Server
    };
    let mut pending: VecDeque<u8> = VecDeque::new();
    let mut now = START;
    let mut budget = synthetic_budget(side.conn());
    while !input.is_empty() {
        match Op::decode(&mut input, peer, &mut budget) {
            Op::PushRaw(bytes) | Op::PushFrame(bytes) => pending.extend(bytes),
            Op::Deliver(n, path) => {
                let n = n.unwrap_or(usize::MAX).min(pending.len());
                let bytes: Vec<u8> = pending.drain(..n).collect();
                side.input(&bytes, now, path);
            }
            Op::Command(command) => {
                side.command(command, now);
            }
            Op::Advance(by) => now = now + by,
            Op::Timeout => side.timeout(now),
            Op::Transmit(n, vectored) => {
                side.transmit(n.unwrap_or(usize::MAX), vectored);
            }
            Op::Eof => side.eof(now),
            Op::Release => side.release_buffers(),
        }
    }
    let rest: Vec<u8> = pending.into_iter().collect();
    side.input(&rest, now, 0);
    side.timeout(now);
    side.eof(now);
    side.finish();
}

/// `server_connection`: a server-role connection driven by 4 setup bytes (see
/// [`decode_setup`]) and then [`Op`]s until the input ends; finally every pending byte is
/// delivered, the stream ends and all output is checked.
pub fn server_connection(data: &[u8]) {
    run_connection(Role::Server, Input::new(data), None);
}

/// `client_connection`: as [`server_connection`] for the client role.
pub fn client_connection(data: &[u8]) {
    run_connection(Role::Client, Input::new(data), None);
}

/// A client and a server wired to each other; each side's output is checked on the wire and
/// must arrive at the other side as sent.
struct Pair {
    sides: [Checked; 2],
    now: Instant,
}

impl Pair {
    /// Moves up to `n` bytes from side `from` to the other (`flags` bit 0: vectored write;
    /// `flags >> 1`: the input path, see [`Checked::input`]); returns whether any moved.
    fn transfer(&mut self, from: usize, n: usize, flags: u8) -> bool {
        let bytes = self.sides[from].transmit(n, flags & 1 != 0);
        let now = self.now;
        self.sides[1 - from].input(&bytes, now, flags >> 1);
        !bytes.is_empty()
    }

    fn drive(&mut self) {
        while self.transfer(0, usize::MAX, 0) | self.transfer(1, usize::MAX, 0) {}
    }
}

/// `round_trip`: a client and a server, each set up by 4 bytes (see [`decode_setup`]; receive
/// limits are kept generous), driven by operations whose tag byte's bit 7 picks the side.
/// Whatever one side writes must decode on the other without error and deliver the messages
/// intact and in order; at the end both sides close cleanly. Only `KeepaliveTimeout` may fail
/// a side, when the clock outran the transfers.
pub fn round_trip(data: &[u8]) {
    run_pair(Input::new(data), [None, None]);
}

/// The body of [`round_trip`], with optional extensions for the client and the server.
fn run_pair(mut input: Input<'_>, extensions: [Option<Box<dyn Extension>>; 2]) {
    let roles = [Role::Client, Role::Server];
    let sides = roles.into_iter().zip(extensions).map(|(role, extension)| {
        let (config, limits) = decode_setup(&mut input);
        let limits = Limits::default()
            .max_fragments(usize::MAX)
            .write_high_water(limits.get_write_high_water());
        let mut conn = connection(role, config, limits, 11);
        if let Some(extension) = extension {
            conn = conn.with_extension(extension);
        }
        let mut side = Checked::new(conn, 0);
        side.track_inbound();
        side
    });
    let sides: [Checked; 2] = sides.collect::<Vec<_>>().try_into().expect("two sides");
    let mut budget = synthetic_budget(sides[0].conn()).min(synthetic_budget(sides[1].conn()));
    let mut pair = Pair { sides, now: START };
    while !input.is_empty() {
        let tag = input.byte();
        let side = usize::from(tag >> 7);
        match (tag & 0x7F) % RT_OPS {
            RT_TRANSFER => {
                let b = input.byte();
                let n = if b >> 2 == 0 {
                    usize::MAX
                } else {
                    usize::from(b >> 2) * 4
                };
                pair.transfer(side, n, b);
            }
            RT_DRIVE => pair.drive(),
            RT_ADVANCE => pair.now = pair.now + Duration::from_millis(u64::from(input.byte()) * 20),
            RT_TIMEOUT => {
                let now = pair.now;
                pair.sides.iter_mut().for_each(|s| s.timeout(now));
            }
            RT_RELEASE => pair.sides[side].release_buffers(),
            which => {
                let command = decode_command(which - RT_COMMANDS, &mut input, &mut budget);
                let now = pair.now;
                if let Some(msg) = pair.sides[side].command(command, now) {
                    pair.sides[1 - side].expect_inbound(msg);
                }
            }
        }
    }
    pair.drive();
    for side in &pair.sides {
        if let Some(e) = side.error() {
            assert_eq!(
                e,
                wsproto_core::ConnectionLost::KeepaliveTimeout.into(),
                "error between two good peers"
            );
        }
    }
    if pair.sides.iter().all(|s| s.error().is_none()) {
        if pair.sides.iter().all(|s| s.conn().state() == State::Open) {
            let now = pair.now;
            pair.sides[0].command(Command::Close(CloseCode::NORMAL, "done".into()), now);
        }
        pair.drive();
        // A half-closed side answers the peer's Close when its application is done sending.
        for side in &mut pair.sides {
            if side.conn().is_half_closed() {
                let now = pair.now;
                side.command(Command::Close(CloseCode::NORMAL, "answer".into()), now);
            }
        }
        pair.drive();
        for side in &mut pair.sides {
            assert_eq!(
                side.conn().state(),
                State::Closed,
                "close handshake incomplete"
            );
            let left = side.inbound_left();
            assert_eq!(left, 0, "messages sent but never received");
            side.finish();
        }
    }
}

/// `deflate`: permessage-deflate negotiated from 4 setup bytes (the client's and the server's
/// [`deflate_config`], their levels in the nibbles of the third, the mode in the fourth), then
/// either a round trip with compression on both sides (mode bit 0 clear; as [`round_trip`]) or
/// a compressing server connection fed arbitrary, possibly RSV1-marked, frames (as
/// [`server_connection`]). The server's answer to the client's offer must be acceptable to the
/// client, and a declined offer runs without compression.
pub fn deflate(data: &[u8]) {
    let mut input = Input::new(data);
    let [c0, c1, levels, mode] = [input.byte(), input.byte(), input.byte(), input.byte()];
    let client = deflate_config(c0, levels);
    let server = deflate_config(c1, levels >> 4);
    let offer = client.client_offer();
    let offers = parse_extensions([offer.as_bytes()]).expect("our own offer parses");
    let negotiated = server.negotiate(&offers).map(|(answer, server_side)| {
        let answers = parse_extensions([answer.as_bytes()]).expect("our own answer parses");
        assert_eq!(answers.len(), 1, "{answer:?}");
        let client_side = client
            .accept_response(&answers[0])
            .unwrap_or_else(|e| panic!("client refuses {answer:?} to its {offer:?}: {e}"));
        (client_side, server_side)
    });
    let [client_side, server_side]: [Option<Box<dyn Extension>>; 2] = match negotiated {
        Some((c, s)) => [Some(Box::new(c)), Some(Box::new(s))],
        None => [None, None],
    };
    if mode & 1 != 0 {
        run_connection(Role::Server, input, server_side);
    } else {
        run_pair(input, [client_side, server_side]);
    }
}
