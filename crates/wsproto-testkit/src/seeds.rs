//! The named seeds of every target: small meaningful inputs the `fuzz/corpus` files are written
//! from (`cargo run --example write_seeds` in `fuzz/`) and that the stable replay also runs,
//! so each target starts from inputs that reach deep into the engine.

use wsproto_core::handshake::parse_extensions;
use wsproto_core::{Extension, MessageKind};

use crate::ops::{
    OP_ADVANCE, OP_COMMANDS, OP_DELIVER, OP_EOF, OP_PUSH_FRAME, OP_PUSH_RAW, OP_RELEASE,
    OP_TIMEOUT, OP_TRANSMIT, RT_ADVANCE, RT_COMMANDS, RT_DRIVE, RT_TIMEOUT, RT_TRANSFER,
    deflate_config,
};
use crate::wire::{Length, PEER_MASK, encode_frame};

/// Writes operations in the encoding [`Op::decode`] and [`round_trip`] read, for seeds.
#[derive(Debug, Default)]
struct Script(Vec<u8>);

impl Script {
    fn setup(mut self, c: [u8; 4]) -> Self {
        self.0.extend_from_slice(&c);
        self
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    /// A single-connection frame: selector (see [`Op::decode`]), flags, u8 length, payload.
    fn frame(self, selector: u8, flags: u8, payload: &[u8]) -> Self {
        let len = payload.len() as u8;
        self.raw(&[OP_PUSH_FRAME, selector, flags, len])
            .raw(payload)
    }
    fn deliver(self) -> Self {
        self.raw(&[OP_DELIVER, 0])
    }
    fn transmit(self) -> Self {
        self.raw(&[OP_TRANSMIT, 0])
    }
    /// Command `which` with its encoded arguments, prefixed by `base` (+ side bit).
    fn command(self, base: u8, which: u8, args: &[u8]) -> Self {
        self.raw(&[base + which]).raw(args)
    }
}

fn with_len(prefix: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.push(payload.len() as u8);
    out.extend_from_slice(payload);
    out
}

/// Small meaningful inputs per target, by name: the `corpus/` files are written from these
/// (`cargo run --example write_seeds` in `fuzz/`) and the corpus replay also runs them.
pub fn seeds(target: &str) -> Vec<(&'static str, Vec<u8>)> {
    let masked = |b0: u8, payload: &[u8]| {
        let mut out = vec![0, 0];
        encode_frame(&mut out, b0, Some(PEER_MASK), payload, Length::Shortest);
        out
    };
    let unmasked = |b0: u8, payload: &[u8]| {
        let mut out = vec![0, 0];
        encode_frame(&mut out, b0, None, payload, Length::Shortest);
        out
    };
    let rfc_request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let rfc_response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    let handshake = |cfg: u8, parts: &[&[u8]]| {
        let mut out = vec![cfg, 3];
        parts.iter().for_each(|p| out.extend_from_slice(p));
        out
    };
    let c = OP_COMMANDS;
    match target {
        "frame_decode" => vec![
            ("masked_text_hello", masked(0x81, b"Hello")),
            ("text_hello", unmasked(0x81, b"Hello")),
            ("fragmented_text", {
                let mut out = unmasked(0x01, b"Hel");
                encode_frame(&mut out, 0x89, None, b"p", Length::Shortest);
                encode_frame(&mut out, 0x80, None, b"lo", Length::Shortest);
                out
            }),
            ("masked_binary_16bit_len", masked(0x82, &[7; 300])),
            ("binary_64bit_len_partial", {
                let mut out = vec![2, 0, 0x82, 127];
                out.extend_from_slice(&70_000u64.to_be_bytes());
                out.extend_from_slice(&[1; 10]);
                out
            }),
            ("masked_ping", masked(0x89, b"Hello")),
            ("pong", unmasked(0x8A, b"Hello")),
            ("masked_close_1000", masked(0x88, b"\x03\xe8bye")),
            ("close_empty", unmasked(0x88, b"")),
            ("masked_reserved_bits", masked(0xC1, b"x")),
            ("masked_reserved_opcode", masked(0x83, b"")),
            ("masked_fragmented_ping", masked(0x09, b"")),
            ("masked_long_ping", masked(0x89, &[0; 126])),
            ("non_minimal_length", vec![0, 0, 0x82, 0xFE, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            ("masked_bad_utf8", masked(0x81, &[0xFF, 0xFE])),
            ("masked_close_1005", masked(0x88, b"\x03\xed")),
            ("masked_stray_continuation", masked(0x80, b"x")),
            ("streaming_small_limits", {
                let mut out = masked(0x02, &[1; 40]);
                out[0] = 3;
                encode_frame(&mut out, 0x80, Some(PEER_MASK), &[2; 40], Length::Shortest);
                out
            }),
        ],
        "server_handshake" => vec![
            ("rfc_request", handshake(0, &[rfc_request])),
            ("rfc_request_then_frame", {
                let mut frame = Vec::new();
                encode_frame(&mut frame, 0x81, Some(PEER_MASK), b"Hello", Length::Shortest);
                handshake(0x14, &[rfc_request, &frame])
            }),
            ("rfc_request_reject", handshake(0x24, &[rfc_request])),
            ("rfc_request_late_bytes", handshake(0x38, &[rfc_request, b"\x88\x80abcd"])),
            ("with_deflate_offer", handshake(0, &[&rfc_request[..rfc_request.len() - 2],
                b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"])),
            ("plain_get", handshake(0, &[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"])),
            ("version_8", handshake(0, &[b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                Sec-WebSocket-Version: 8\r\n\r\n"])),
            ("post", handshake(0, &[b"POST / HTTP/1.1\r\nHost: a\r\n\r\n"])),
            ("head_too_large", handshake(1, &[&[b'a'; 200]])),
            ("slow_head_timeout", handshake(2, &[b"GET / HTTP/1.1\r\n"])),
        ],
        "client_handshake" => vec![
            ("rfc_response", handshake(0, &[rfc_response, b"\r\n"])),
            ("with_chat_and_frame", handshake(0x0C, &[rfc_response,
                b"Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x02hi\x89\x00"])),
            ("with_deflate", handshake(4, &[rfc_response,
                b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n"])),
            ("rejected_with_body", handshake(0, &[b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"])),
            ("wrong_accept", handshake(0, &[b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"])),
            ("unoffered_protocol", handshake(0, &[rfc_response, b"Sec-WebSocket-Protocol: x\r\n\r\n"])),
            ("timeout", handshake(2, &[b"HTTP/1.1 101"])),
        ],
        "server_connection" | "client_connection" => {
            vec![
                ("echo_and_close", Script::default()
                    .setup([0; 4])
                    .frame(1, 0, b"Hello")
                    .deliver()
                    .command(c, 0, &with_len(&[], b"Hello"))
                    .transmit()
                    .command(c, 6, &with_len(&[0x03, 0xE8], b"bye"))
                    .frame(3, 0, b"\x03\xe8")
                    .deliver()
                    .transmit()
                    .0),
                ("ping_pong_fragments", Script::default()
                    .setup([0; 4])
                    .frame(0x09, 0, b"Hel")
                    .frame(4, 0, b"ping")
                    .frame(0, 0, b"lo")
                    .raw(&[OP_DELIVER, 3, OP_DELIVER, 0x80 | 5, OP_DELIVER, 0])
                    .command(c, 4, &with_len(&[], b"p"))
                    .command(c, 3, &with_len(&[1, 2], "h\u{e9}".as_bytes()))
                    .command(c, 3, &with_len(&[3, 0], b"llo"))
                    .raw(&[OP_TRANSMIT, 0x81, OP_TRANSMIT, 0])
                    .0),
                ("streaming_small_frames", Script::default()
                    .setup([0x09, 3, 0, 0])
                    .raw(&[OP_PUSH_FRAME, 0x42, 0, 0x01, 0x2C])
                    .raw(&[OP_DELIVER, 100, OP_DELIVER, 0])
                    .command(c, 1, &with_len(&[], &[9; 20]))
                    .command(c, 2, &[0, 0x50, 0])
                    .transmit()
                    .0),
                ("keepalive", Script::default()
                    .setup([0x04, 0, 0x21, 0])
                    .raw(&[OP_ADVANCE, 50, OP_TIMEOUT, OP_TRANSMIT, 0])
                    .frame(5, 0, b"")
                    .deliver()
                    .raw(&[OP_ADVANCE, 50, OP_TIMEOUT, OP_ADVANCE, 50, OP_TIMEOUT])
                    .0),
                ("small_limits_too_big", Script::default()
                    .setup([0x10, 0, 0, 4])
                    .frame(2, 0, &[0; 40])
                    .deliver()
                    .transmit()
                    .0),
                ("high_water", Script::default()
                    .setup([0x20, 0, 0, 2])
                    .command(c, 1, &with_len(&[], &[1; 40]))
                    .command(c, 1, &with_len(&[], &[2; 40]))
                    .raw(&[OP_TRANSMIT, 2])
                    .command(c, 1, &with_len(&[], &[3; 40]))
                    .transmit()
                    .0),
                ("close_timeout", Script::default()
                    .setup([0, 0, 0x01, 0])
                    .command(c, 6, &with_len(&[0x0F, 0xA0], b""))
                    .transmit()
                    .raw(&[OP_ADVANCE, 20, OP_TIMEOUT, OP_EOF, OP_RELEASE])
                    .0),
                ("raw_violation", Script::default()
                    .setup([0; 4])
                    .raw(&[OP_PUSH_RAW, 2, 0xF1, 0x00])
                    .deliver()
                    .transmit()
                    .0),
            ]
        }
        "round_trip" => {
            let r = RT_COMMANDS;
            let server = 0x80;
            vec![
                ("messages_both_ways", Script::default()
                    .setup([0; 4])
                    .setup([0; 4])
                    .command(r, 0, &with_len(&[], b"hello"))
                    .command(server + r, 1, &with_len(&[], &[1, 2, 3]))
                    .raw(&[RT_DRIVE])
                    .0),
                ("fragments_small_frames_streaming", Script::default()
                    .setup([0x08, 2, 0, 0])
                    .setup([0x01, 0, 0, 0])
                    .command(r, 3, &with_len(&[1, 1], "\u{20ac}uro".as_bytes()))
                    .command(r, 4, &with_len(&[], b"ping"))
                    .command(r, 3, &with_len(&[3, 0], "\u{1f600}".as_bytes()))
                    .raw(&[RT_TRANSFER, 0x0B, RT_DRIVE])
                    .0),
                ("large_owned", Script::default()
                    .setup([0; 4])
                    .setup([0x01, 0, 0, 0])
                    .command(server + r, 2, &[0, 0xFF, 0xFF])
                    .command(r, 2, &[1, 0x01, 0x00])
                    .raw(&[RT_TRANSFER | 0x80, 0x41, RT_DRIVE])
                    .0),
                ("keepalive_and_close", Script::default()
                    .setup([0x04, 0, 0x22, 0])
                    .setup([0x24, 0, 0x22, 1])
                    .raw(&[RT_ADVANCE, 30, RT_TIMEOUT, RT_DRIVE])
                    .command(server + r, 6, &with_len(&[0x0F, 0xA0], b"bye"))
                    .raw(&[RT_DRIVE])
                    .0),
            ]
        }
        "deflate" => {
            let r = RT_COMMANDS;
            // Compressed with the engine's own codec (RSV1 payloads for the server to inflate).
            let compressed = |payload: &[u8]| {
                let (_, mut codec) = deflate_config(0x80, 1)
                    .negotiate(&parse_extensions([b"permessage-deflate".as_slice()]).ok()?)?;
                let mut out = wsproto_core::BytesMut::new();
                codec.encode(MessageKind::Binary, payload, &mut out).ok()?;
                Some(out.to_vec())
            };
            let zeros = compressed(&[0; 10_000]).unwrap_or_default();
            vec![
                ("round_trip_every_message", Script::default()
                    .setup([0x80, 0x80, 0x11, 0])
                    .setup([0; 4])
                    .setup([0x01, 0, 0, 0])
                    .command(r, 0, &with_len(&[], b"Hello Hello Hello Hello"))
                    .command(0x80 + r, 1, &with_len(&[], &[5; 100]))
                    .command(r, 2, &[2, 0x01, 0x00])
                    .command(r, 2, &[1, 0x10, 0x00])
                    .raw(&[RT_DRIVE])
                    .command(r, 0, &with_len(&[], b"Hello Hello Hello Hello"))
                    .raw(&[RT_DRIVE])
                    .0),
                ("round_trip_no_context_window_10", Script::default()
                    .setup([0xAF, 0x2C, 0x96, 0])
                    .setup([0x08, 4, 0, 0])
                    .setup([0; 4])
                    .command(0x80 + r, 0, &with_len(&[], &[b'a'; 200]))
                    .command(0x80 + r, 0, &with_len(&[], &[b'a'; 200]))
                    .raw(&[RT_DRIVE])
                    .0),
                ("declined_window_8", Script::default()
                    .setup([0x88, 0x00, 0, 0])
                    .setup([0; 4])
                    .setup([0; 4])
                    .command(r, 0, &with_len(&[], b"plain"))
                    .raw(&[RT_DRIVE])
                    .0),
                ("server_inflates_rfc7692_hello", Script::default()
                    .setup([0, 0, 0, 1])
                    .setup([0; 4])
                    .frame(0x11, 0, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
                    .frame(0x11, 0, &[0xf2, 0x00, 0x11, 0x00, 0x00])
                    .deliver()
                    .transmit()
                    .0),
                ("server_bomb_small_limits", Script::default()
                    .setup([0, 0, 0, 1])
                    .setup([0x10, 0, 0, 4])
                    .frame(0x12, 0, &zeros)
                    .deliver()
                    .transmit()
                    .0),
                ("server_corrupt_stream", Script::default()
                    .setup([0, 0, 0, 1])
                    .setup([0; 4])
                    .frame(0x11, 0, &[0xff; 8])
                    .deliver()
                    .transmit()
                    .0),
            ]
        }
        "http_tunnel" => vec![
            ("established", handshake(0x03, &[b"HTTP/1.1 200 Connection established\r\n\r\n"])),
            ("established_bytewise_ipv6", handshake(0x20, &[b"HTTP/1.0 200 OK\r\nVia: x\r\n\r\n"])),
            ("interim_then_ok", handshake(0x02, &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"])),
            ("auth_required", handshake(0x06, &[b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 5\r\n\r\ndenied"])),
            ("forbidden_until_close", handshake(0x01, &[b"HTTP/1.0 403 Forbidden\r\n\r\n<html>no</html>"])),
            ("early_data", handshake(0x03, &[b"HTTP/1.1 200 OK\r\n\r\nSSH-2.0"])),
            ("small_limits", handshake(0x0b, &[b"HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"])),
        ],
        "socks5_tunnel" => vec![
            ("no_auth_ipv4_reply", handshake(0x03, &[&[5, 0], &[5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]])),
            ("user_pass", handshake(0x07, &[&[5, 2], &[1, 0], &[5, 0, 0, 4], &[0; 18]])),
            ("domain_reply_bytewise", handshake(0x10, &[&[5, 0], &[5, 0, 0, 3, 2, b'h', b'i', 0, 1]])),
            ("auth_refused", handshake(0x07, &[&[5, 2], &[1, 1]])),
            ("no_acceptable", handshake(0x03, &[&[5, 0xff]])),
            ("host_unreachable", handshake(0x23, &[&[5, 0], &[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]])),
            ("answer_before_request_written", handshake(0x43, &[&[5, 0], &[5, 0, 0, 1]])),
        ],
        _ => Vec::new(),
    }
}
