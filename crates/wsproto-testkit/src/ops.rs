//! The programs the connection targets run, decoded from fuzz bytes: [`Command`]s (the
//! application's calls), [`Op`]s (one step of a single-connection run), the 4 setup bytes of a
//! connection ([`decode_setup`]) and of permessage-deflate ([`deflate_config`]), and the
//! operation tags the seeds write.
//!
//! Invariant: these encodings are what the stored corpora under `fuzz/corpus` and
//! `fuzz/regressions` mean. Tags are taken modulo the number of operations, so changing or
//! even adding one changes what every stored input does: do it only on purpose, then rewrite
//! the seeds (`cargo run --example write_seeds` in `fuzz/`).

use std::num::NonZeroUsize;
use std::time::Duration;

use wsproto_core::deflate::DeflateConfig;
use wsproto_core::{CloseCode, Config, Connection, Delivery, Limits, Message, MessageKind, Role};

use crate::START;
use crate::input::{FuzzRng, Input};
use crate::wire::{Length, PEER_MASK, encode_frame};

/// Most bytes a run may synthesise for large payloads, to keep executions fast.
const SYNTHETIC_BUDGET: usize = 256 << 10;

/// An application command.
#[derive(Debug)]
pub enum Command {
    /// `send_text`.
    Text(String),
    /// `send_binary`.
    Binary(Vec<u8>),
    /// `send` (or, if the flag is set, `send_uncompressed`) of an owned message; large ones
    /// take the zero-copy path.
    Owned(Message, bool),
    /// `send_fragment`; text pieces are cut at `cut` from valid UTF-8, maybe inside a character.
    Fragment {
        /// The kind asked for (ignored by the engine for continuations).
        kind: MessageKind,
        /// Raw bytes (made valid UTF-8 for text).
        data: Vec<u8>,
        /// Where to cut a text piece.
        cut: usize,
        /// Whether this piece ends the message.
        fin: bool,
    },
    /// `ping`.
    Ping(Vec<u8>),
    /// `pong`.
    Pong(Vec<u8>),
    /// `close`.
    Close(CloseCode, String),
}

/// Number of command encodings, numbered from 0 as in [`decode_command`].
pub(crate) const COMMANDS: u8 = 7;

/// Decodes command number `which` (`0..COMMANDS`), each followed by its arguments:
/// 0 text (`len`, bytes made valid UTF-8), 1 binary (`len`, bytes), 2 owned (`flags`: bit 0
/// text, bit 1 uncompressed, bit 2 +64 KiB; u16 length of a synthetic payload), 3 fragment
/// (`flags`: bit 0 text, bit 1 fin; `cut`, `len`, bytes), 4 ping and 5 pong (`len` mod 131,
/// bytes), 6 close (u16 code, 0 and 1 meaning the unsendable 1005 and 1006; `len` mod 131,
/// reason bytes).
pub(crate) fn decode_command(which: u8, input: &mut Input<'_>, budget: &mut usize) -> Command {
    let kind = |flags: u8| {
        if flags & 1 != 0 {
            MessageKind::Text
        } else {
            MessageKind::Binary
        }
    };
    match which {
        0 => {
            let len = usize::from(input.byte());
            Command::Text(String::from_utf8_lossy(input.bytes(len)).into_owned())
        }
        1 => {
            let len = usize::from(input.byte());
            Command::Binary(input.bytes(len).to_vec())
        }
        2 => {
            let flags = input.byte();
            // Flags bit 2 adds 64 KiB, for the 64-bit length form.
            let len = usize::from(input.u16()) + if flags & 4 != 0 { 1 << 16 } else { 0 };
            let data = synthetic(len, budget);
            let message = match kind(flags) {
                MessageKind::Text => Message::text(String::from_utf8(data).unwrap_or_default()),
                MessageKind::Binary => Message::binary(data),
            };
            Command::Owned(message, flags & 2 != 0)
        }
        3 => {
            let flags = input.byte();
            let cut = usize::from(input.byte());
            let len = usize::from(input.byte());
            Command::Fragment {
                kind: kind(flags),
                data: input.bytes(len).to_vec(),
                cut,
                fin: flags & 2 != 0,
            }
        }
        4 | 5 => {
            let len = usize::from(input.byte() % 131);
            let payload = input.bytes(len).to_vec();
            if which == 4 {
                Command::Ping(payload)
            } else {
                Command::Pong(payload)
            }
        }
        _ => {
            let raw = input.u16();
            let code = match raw {
                0 => CloseCode::NO_STATUS,
                1 => CloseCode::ABNORMAL,
                2..=15 => CloseCode::NORMAL,
                _ => CloseCode::new(raw).unwrap_or(CloseCode::NORMAL),
            };
            let len = usize::from(input.byte() % 131);
            Command::Close(code, String::from_utf8_lossy(input.bytes(len)).into_owned())
        }
    }
}

/// One step of a single-connection run (`server_connection`, `client_connection`).
#[derive(Debug)]
pub enum Op {
    /// Append raw bytes to what the peer has sent but not yet delivered.
    PushRaw(Vec<u8>),
    /// Append a frame built from a selector (see [`Op::decode`]) to the peer's stream.
    PushFrame(Vec<u8>),
    /// Deliver the next `n` peer bytes (`None`: all) by an input path (see
    /// [`Checked::input`](crate::Checked::input)).
    Deliver(Option<usize>, u8),
    /// An application command.
    Command(Command),
    /// Move the clock forward.
    Advance(Duration),
    /// `handle_timeout(now)`.
    Timeout,
    /// Write out up to `n` queued bytes (`None`: all), vectored or not.
    Transmit(Option<usize>, bool),
    /// `handle_eof`.
    Eof,
    /// `release_buffers`.
    Release,
}

/// Operation tags of single-connection runs; commands follow from [`OP_COMMANDS`].
pub(crate) const OP_PUSH_RAW: u8 = 0;
pub(crate) const OP_PUSH_FRAME: u8 = 1;
pub(crate) const OP_DELIVER: u8 = 2;
pub(crate) const OP_ADVANCE: u8 = 3;
pub(crate) const OP_TIMEOUT: u8 = 4;
pub(crate) const OP_TRANSMIT: u8 = 5;
pub(crate) const OP_EOF: u8 = 6;
pub(crate) const OP_RELEASE: u8 = 7;
pub(crate) const OP_COMMANDS: u8 = 8;
const OPS: u8 = OP_COMMANDS + COMMANDS;

impl Op {
    /// Decodes the next operation. A frame is `selector, flags, len` then the payload (padded
    /// with zeros to `len`): the selector's low 3 bits pick continuation, text, binary, close,
    /// ping, pong, text or (7) the opcode in the flags' low nibble; selector bit 3 clears FIN,
    /// bit 4 sets RSV1, bit 5 RSV2 and RSV3, bit 6 makes `len` a u16; flags bit 7 masks wrongly
    /// for the role and bit 6 writes a longer length form than needed. `peer` is the role
    /// of the connection's peer (the frames' sender); padding and synthetic payloads come out
    /// of `budget`, shared by a whole run.
    pub fn decode(input: &mut Input<'_>, peer: Role, budget: &mut usize) -> Self {
        match input.byte() % OPS {
            OP_PUSH_RAW => {
                let len = usize::from(input.byte());
                Self::PushRaw(input.bytes(len).to_vec())
            }
            OP_PUSH_FRAME => {
                let selector = input.byte();
                let flags = input.byte();
                let len = if selector & 0x40 != 0 {
                    usize::from(input.u16())
                } else {
                    usize::from(input.byte())
                };
                let mut payload = input.bytes(len).to_vec();
                let pad = (len - payload.len()).min(*budget);
                *budget -= pad;
                payload.resize(payload.len() + pad, 0);
                let opcode =
                    [0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x1, flags & 0x0F][usize::from(selector & 7)];
                let fin = if selector & 0x08 == 0 { 0x80 } else { 0 };
                let rsv = ((selector & 0x10) << 2) | ((selector & 0x20) >> 1) | (selector & 0x20);
                let masked = (peer == Role::Client) != (flags & 0x80 != 0);
                let mut frame = Vec::new();
                let mask = masked.then_some(PEER_MASK);
                let length = if flags & 0x40 != 0 {
                    Length::Wider
                } else {
                    Length::Shortest
                };
                encode_frame(&mut frame, fin | rsv | opcode, mask, &payload, length);
                Self::PushFrame(frame)
            }
            OP_DELIVER => {
                let b = input.byte();
                let n = usize::from(b & 0x7F);
                // Bit 7 clear: copied; set: bit 0 picks the read buffer or fill_read_buffer.
                Self::Deliver((n != 0).then_some(n), (b >> 7) * (1 + (b & 1)))
            }
            OP_ADVANCE => Self::Advance(Duration::from_millis(u64::from(input.byte()) * 20)),
            OP_TIMEOUT => Self::Timeout,
            OP_TRANSMIT => {
                let b = input.byte();
                let n = usize::from(b & 0x7F) * 8;
                Self::Transmit((n != 0).then_some(n), b & 0x80 != 0)
            }
            OP_EOF => Self::Eof,
            OP_RELEASE => Self::Release,
            which => Self::Command(decode_command(which - OP_COMMANDS, input, budget)),
        }
    }
}

/// Round-trip operation tags (low 7 bits, modulo [`RT_OPS`]); bit 7 picks the server side.
pub(crate) const RT_TRANSFER: u8 = 0;
pub(crate) const RT_DRIVE: u8 = 1;
pub(crate) const RT_ADVANCE: u8 = 2;
pub(crate) const RT_TIMEOUT: u8 = 3;
pub(crate) const RT_RELEASE: u8 = 4;
pub(crate) const RT_COMMANDS: u8 = 5;
pub(crate) const RT_OPS: u8 = RT_COMMANDS + COMMANDS;

/// Behaviour and limits from 4 setup bytes: `c0` bit 0 streaming delivery, bit 1 auto-pong
/// off, bit 2 keepalive on, bit 3 small outgoing frames (`c1` + 1 bytes), bit 4 small receive
/// limits (from `c3`), bit 5 small high-water mark (`c3` × 16 bytes), bit 6 half-close;
/// `c2` sets the timers.
pub fn decode_setup(input: &mut Input<'_>) -> (Config, Limits) {
    let [c0, c1, c2, c3] = [input.byte(), input.byte(), input.byte(), input.byte()];
    let ms = |n: u8, scale: u64| Duration::from_millis(u64::from(n) * scale);
    let mut config = Config::default()
        .delivery(if c0 & 1 != 0 {
            Delivery::Streaming
        } else {
            Delivery::Whole
        })
        .auto_pong(c0 & 2 == 0)
        .close_timeout(ms(c2 & 0x0F, 200))
        .keepalive_timeout(ms(c2 >> 4, 100))
        .half_close(c0 & 0x40 != 0);
    if c0 & 4 != 0 {
        config = config.keepalive_interval(Some(ms(c2, 10) + Duration::from_millis(10)));
    }
    if c0 & 8 != 0 {
        let size = NonZeroUsize::new(usize::from(c1) + 1).unwrap_or(NonZeroUsize::MIN);
        config = config.outgoing_frame_size(size);
    }
    let mut limits = Limits::default();
    if c0 & 0x10 != 0 {
        limits = limits
            .max_frame_size(usize::from(c3) * 4)
            .max_message_size(usize::from(c3) * 16)
            .max_fragments(usize::from(c3 % 8) + 1);
    }
    if c0 & 0x20 != 0 {
        limits = limits.write_high_water(usize::from(c3) * 16);
    }
    (config, limits)
}

/// What one endpoint accepts for permessage-deflate, from a setup byte: bit 0
/// `client_no_context_takeover`, bit 1 `server_no_context_takeover`, bits 2 and 3 limit the
/// client and the server window to 8 + bits 4-6, bit 7 compresses every message (threshold 0);
/// `level` (mod 10) is the compression level.
pub fn deflate_config(bits: u8, level: u8) -> DeflateConfig {
    let window = 8 + ((bits >> 4) & 7);
    DeflateConfig::default()
        .client_no_context_takeover(bits & 1 != 0)
        .server_no_context_takeover(bits & 2 != 0)
        .client_max_window_bits((bits & 4 != 0).then_some(window))
        .server_max_window_bits((bits & 8 != 0).then_some(window))
        .level(u32::from(level % 10))
        .threshold(if bits & 0x80 != 0 { 0 } else { 32 })
}

/// A connection in `role` starting at [`START`]; a client masks with a [`FuzzRng`] seeded
/// with `seed`.
pub(crate) fn connection(role: Role, config: Config, limits: Limits, seed: u64) -> Connection {
    match role {
        Role::Server => Connection::server(config, limits, START),
        Role::Client => Connection::client(config, limits, Box::new(FuzzRng::new(seed)), START),
    }
}

/// How many bytes a run may synthesise: at most [`SYNTHETIC_BUDGET`], and at most 4096 frames'
/// worth, so that tiny outgoing frames do not make a run crawl.
pub(crate) fn synthetic_budget(conn: &Connection) -> usize {
    let frame_size = conn.config().get_outgoing_frame_size().get();
    SYNTHETIC_BUDGET.min(frame_size.saturating_mul(4096))
}

/// A payload of `len` bytes for large sends: valid UTF-8 (ASCII) so it serves text as well.
fn synthetic(len: usize, budget: &mut usize) -> Vec<u8> {
    let len = len.min(*budget);
    *budget -= len;
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}
