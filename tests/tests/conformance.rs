//! RFC 6455 conformance over real loopback sockets, grouped as the Autobahn|Testsuite
//! sections: 1 framing, 2 ping/pong, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8,
//! 7 close handling, 9 limits and performance (scaled down to seconds), plus the opening
//! handshake.
//!
//! Each section is one table of [`Case`]s. The same table runs against our echo server on
//! every runtime (a raw client plays it, one server per runtime and test) and against our
//! client on every runtime (a raw server plays it while the client echoes every message),
//! through one driver per direction in `wsproto_tests::conformance`. A failing test lists
//! every failed case with what the implementation did.

use std::time::Duration;

use wsproto_tests::conformance::{
    Case, Frame, Length, Mask, Reply, Step, bytes_of, chopped, expect_close, expect_close_after,
    expect_close_echo, expect_drop, expect_echo, expect_fail_fast, expect_initiated_close, opcode,
    run_client_suite, run_server_suite, send, send_all, text_of,
};
use wsproto_tests::{CLOSE_ME, ClientKind, ServerKind};

const ZERO: Duration = Duration::ZERO;
/// "κόσμε", the Autobahn UTF-8 sample.
const KOSME: &str = "κόσμε";

fn check_server(kind: ServerKind, cases: &[Case]) {
    run_server_suite(kind, cases).assert_passed(&format!("{kind:?} server"));
}

fn check_client(kind: ClientKind, cases: &[Case]) {
    run_client_suite(kind, cases).assert_passed(&format!("{kind:?} client"));
}

/// One test per server and per client adapter for the section's `cases()`.
macro_rules! against_every_adapter {
    () => {
        #[test]
        fn server_tokio() {
            super::check_server(ServerKind::Tokio, &cases());
        }
        #[test]
        fn server_smol() {
            super::check_server(ServerKind::Smol, &cases());
        }
        #[test]
        fn server_async_std() {
            super::check_server(ServerKind::AsyncStd, &cases());
        }
        #[test]
        fn server_blocking() {
            super::check_server(ServerKind::Blocking, &cases());
        }
        #[test]
        fn client_tokio() {
            super::check_client(ClientKind::Tokio, &cases());
        }
        #[test]
        fn client_smol() {
            super::check_client(ClientKind::Smol, &cases());
        }
        #[test]
        fn client_async_std() {
            super::check_client(ClientKind::AsyncStd, &cases());
        }
        #[test]
        fn client_blocking() {
            super::check_client(ClientKind::Blocking, &cases());
        }
    };
}

/// Splits `payload` into `n` fragments of a message starting with `first` (the last one
/// with FIN); pieces may be empty when the payload is short.
fn fragments(first: u8, payload: &[u8], n: usize) -> Vec<Frame> {
    let n = n.max(1);
    (0..n)
        .map(|i| {
            let piece = &payload[payload.len() * i / n..payload.len() * (i + 1) / n];
            let op = if i == 0 { first } else { opcode::CONTINUATION };
            Frame::new(i + 1 == n, 0, op, piece)
        })
        .collect()
}

/// Fragments cut at the given byte offsets.
fn fragments_at(first: u8, payload: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    let last = bounds.len() - 2;
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let op = if i == 0 { first } else { opcode::CONTINUATION };
            Frame::new(i == last, 0, op, &payload[w[0]..w[1]])
        })
        .collect()
}

fn reply_for(op: u8, payload: &[u8]) -> Reply {
    if op == opcode::TEXT {
        Reply::text(payload)
    } else {
        Reply::binary(payload)
    }
}

/// Autobahn 1: text and binary messages at the 7/16/64-bit length boundaries, whole and in
/// 1-byte writes; the length encoding and masking rules.
mod framing {
    use super::*;

    const LENGTHS: [usize; 8] = [0, 125, 126, 127, 128, 65535, 65536, 65537];

    fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        for len in LENGTHS {
            let text = text_of(len).into_bytes();
            let binary = bytes_of(len);
            for (name, op, payload) in [
                ("text", opcode::TEXT, text),
                ("binary", opcode::BINARY, binary),
            ] {
                let frame = Frame::new(true, 0, op, payload.clone());
                let reply = reply_for(op, &payload);
                cases.push(Case::new(
                    format!("1 {name} of {len} bytes"),
                    vec![send(frame.clone())],
                    expect_echo(vec![reply.clone()]),
                ));
                cases.push(Case::new(
                    format!("1 {name} of {len} bytes in 1-byte writes"),
                    vec![chopped(vec![frame], 1, ZERO)],
                    expect_echo(vec![reply]),
                ));
            }
        }
        let non_minimal = [
            ("5 bytes with a 16-bit length", 5, Length::Ext16),
            ("5 bytes with a 64-bit length", 5, Length::Ext64),
            ("200 bytes with a 64-bit length", 200, Length::Ext64),
        ];
        for (name, len, length) in non_minimal {
            cases.push(Case::new(
                format!("1 non-minimal length: {name}"),
                vec![send(Frame::binary(bytes_of(len)).length(length))],
                expect_close(1002),
            ));
        }
        cases.push(Case::new(
            "1 64-bit length with the top bit set",
            vec![send(Frame::binary("x").length(Length::Claim(1 << 63 | 1)))],
            expect_fail_fast(vec![], 1002),
        ));
        cases.push(Case::new(
            "1 masking wrong for the role (RFC 6455 §5.1)",
            vec![send(Frame::text("hello").mask(Mask::WrongForRole))],
            expect_close(1002),
        ));
        cases.push(Case::new(
            "1 masking wrong for the role after a valid text",
            vec![send_all(vec![
                Frame::text("valid"),
                Frame::text("hello").mask(Mask::WrongForRole),
            ])],
            expect_close_after(vec![Reply::text("valid")], 1002),
        ));
        cases.push(Case::new(
            "1 texts of many lengths back to back",
            vec![send_all(
                (0..300).map(|n| Frame::text(text_of(n))).collect(),
            )],
            expect_echo((0..300).map(|n| Reply::text(text_of(n))).collect()),
        ));
        cases
    }

    against_every_adapter!();
}

/// Autobahn 2: pings are answered with identical pongs, unsolicited pongs are ignored,
/// control payloads are at most 125 bytes.
mod ping_pong {
    use super::*;

    fn cases() -> Vec<Case> {
        let binary = vec![0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff];
        let ten_pings: Vec<Frame> = (0..10).map(|i| Frame::ping(format!("ping #{i}"))).collect();
        let ten_pongs: Vec<Reply> = (0..10).map(|i| Reply::pong(format!("ping #{i}"))).collect();
        vec![
            Case::new(
                "2.1 ping without payload",
                vec![send(Frame::ping(""))],
                expect_echo(vec![Reply::pong("")]),
            ),
            Case::new(
                "2.2 ping with a text payload",
                vec![send(Frame::ping("Hello, world!"))],
                expect_echo(vec![Reply::pong("Hello, world!")]),
            ),
            Case::new(
                "2.3 ping with a binary payload",
                vec![send(Frame::ping(binary.clone()))],
                expect_echo(vec![Reply::pong(binary)]),
            ),
            Case::new(
                "2.4 ping with 125 bytes",
                vec![send(Frame::ping(bytes_of(125)))],
                expect_echo(vec![Reply::pong(bytes_of(125))]),
            ),
            Case::new(
                "2.5 ping with 126 bytes",
                vec![send(Frame::ping(bytes_of(126)))],
                expect_close(1002),
            ),
            Case::new(
                "2.6 ping with 125 bytes in 1-byte writes",
                vec![chopped(vec![Frame::ping(bytes_of(125))], 1, ZERO)],
                expect_echo(vec![Reply::pong(bytes_of(125))]),
            ),
            Case::new(
                "2.7 unsolicited pong without payload",
                vec![send(Frame::pong(""))],
                expect_echo(vec![]),
            ),
            Case::new(
                "2.8 unsolicited pong with payload",
                vec![send(Frame::pong("unsolicited pong payload"))],
                expect_echo(vec![]),
            ),
            Case::new(
                "2.9 unsolicited pong, then a ping",
                vec![send_all(vec![
                    Frame::pong("unsolicited"),
                    Frame::ping("solicited"),
                ])],
                expect_echo(vec![Reply::pong("solicited")]),
            ),
            Case::new(
                "2 unsolicited pong, then a text is still echoed",
                vec![send_all(vec![Frame::pong("x"), Frame::text("after pong")])],
                expect_echo(vec![Reply::text("after pong")]),
            ),
            Case::new(
                "2.10 ten pings in a row",
                vec![send_all(ten_pings.clone())],
                expect_echo(ten_pongs.clone()),
            ),
            Case::new(
                "2.11 ten pings in 1-byte writes",
                vec![chopped(ten_pings, 1, ZERO)],
                expect_echo(ten_pongs),
            ),
            Case::new(
                "2 ping between two texts keeps the order",
                vec![send_all(vec![
                    Frame::text("first"),
                    Frame::ping("between"),
                    Frame::text("second"),
                ])],
                expect_echo(vec![
                    Reply::text("first"),
                    Reply::pong("between"),
                    Reply::text("second"),
                ]),
            ),
            Case::new(
                "2 ping of 126 bytes after a text",
                vec![send_all(vec![
                    Frame::text("before"),
                    Frame::ping(bytes_of(126)),
                ])],
                expect_close_after(vec![Reply::text("before")], 1002),
            ),
            Case::new(
                "2 pong of 126 bytes",
                vec![send(Frame::pong(bytes_of(126)))],
                expect_close(1002),
            ),
            Case::new(
                "2 close of 126 bytes",
                vec![send(Frame::close(1000, bytes_of(124)))],
                expect_close(1002),
            ),
        ]
    }

    against_every_adapter!();
}

/// Autobahn 3: RSV bits without a negotiated extension fail the connection with 1002; what
/// was valid before the bad frame is still answered, nothing after it.
mod reserved_bits {
    use super::*;

    fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        let kinds = [
            ("text", Frame::text("hello")),
            ("binary", Frame::binary(vec![0, 1, 2, 255])),
            ("ping", Frame::ping("ping")),
            ("pong", Frame::pong("pong")),
            ("close", Frame::close(1000, "")),
        ];
        for rsv in 1..=7u8 {
            for (name, frame) in &kinds {
                cases.push(Case::new(
                    format!("3 rsv={rsv} on a {name}"),
                    vec![send(frame.clone().rsv(rsv))],
                    expect_close(1002),
                ));
            }
            cases.push(Case::new(
                format!("3 rsv={rsv} on a text after a valid text, then a ping"),
                vec![send_all(vec![
                    Frame::text("valid"),
                    Frame::text("bad").rsv(rsv),
                    Frame::ping("after"),
                ])],
                expect_close_after(vec![Reply::text("valid")], 1002),
            ));
            cases.push(Case::new(
                format!("3 rsv={rsv} on a continuation"),
                vec![send_all(vec![
                    Frame::text("frag").fin(false),
                    Frame::cont("ment", true).rsv(rsv),
                ])],
                expect_close(1002),
            ));
        }
        cases.push(Case::new(
            "3.2 rsv=2 on a text written after a valid text's echo",
            vec![
                send(Frame::text("valid")),
                Step::Pause(Duration::from_millis(20)),
                send(Frame::text("bad").rsv(2)),
            ],
            expect_close_after(vec![Reply::text("valid")], 1002),
        ));
        cases.push(Case::new(
            "3 rsv=4 after a valid text, in 1-byte writes",
            vec![chopped(
                vec![
                    Frame::text("valid"),
                    Frame::binary("bad").rsv(4),
                    Frame::ping("after"),
                ],
                1,
                ZERO,
            )],
            expect_close_after(vec![Reply::text("valid")], 1002),
        ));
        cases
    }

    against_every_adapter!();
}

/// Autobahn 4: reserved opcodes (3–7 non-control, 0xB–0xF control) fail with 1002.
mod opcodes {
    use super::*;

    const RESERVED: [u8; 10] = [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF];

    fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        for op in RESERVED {
            cases.push(Case::new(
                format!("4 opcode {op:#x}"),
                vec![send(Frame::new(true, 0, op, Vec::new()))],
                expect_close(1002),
            ));
            cases.push(Case::new(
                format!("4 opcode {op:#x} with payload after a valid text, then a ping"),
                vec![send_all(vec![
                    Frame::text("valid"),
                    Frame::new(true, 0, op, "reserved"),
                    Frame::ping("after"),
                ])],
                expect_close_after(vec![Reply::text("valid")], 1002),
            ));
            cases.push(Case::new(
                format!("4 opcode {op:#x} inside a fragmented text"),
                vec![send_all(vec![
                    Frame::text("frag").fin(false),
                    Frame::new(true, 0, op, ""),
                    Frame::cont("ment", true),
                ])],
                expect_close(1002),
            ));
        }
        cases.push(Case::new(
            "4 opcode 0xB in 1-byte writes after a valid text",
            vec![chopped(
                vec![Frame::text("valid"), Frame::new(true, 0, 0xB, "")],
                1,
                ZERO,
            )],
            expect_close_after(vec![Reply::text("valid")], 1002),
        ));
        cases
    }

    against_every_adapter!();
}

/// Autobahn 5: fragmented messages are reassembled, control frames may interleave but not be
/// fragmented, and the continuation rules are enforced.
mod fragmentation {
    use super::*;

    fn cases() -> Vec<Case> {
        let two = vec![
            Frame::text("fragment1").fin(false),
            Frame::cont("fragment2", true),
        ];
        let with_ping = vec![
            Frame::text("fragment1").fin(false),
            Frame::ping("between"),
            Frame::cont("fragment2", true),
        ];
        let stray_fin = vec![
            Frame::cont("non-continuation payload", true),
            Frame::text("Hello"),
        ];
        let stray = vec![
            Frame::cont("non-continuation payload", false),
            Frame::text("Hello"),
        ];
        let both = Reply::text("fragment1fragment2");
        let mut cases = vec![
            Case::new(
                "5.1 fragmented ping",
                vec![send_all(vec![
                    Frame::ping("fragment1").fin(false),
                    Frame::cont("fragment2", true),
                ])],
                expect_close(1002),
            ),
            Case::new(
                "5.2 fragmented pong",
                vec![send_all(vec![
                    Frame::pong("fragment1").fin(false),
                    Frame::cont("fragment2", true),
                ])],
                expect_close(1002),
            ),
            Case::new(
                "5 fragmented close",
                vec![send_all(vec![
                    Frame::close(1000, "").fin(false),
                    Frame::cont("", true),
                ])],
                expect_close(1002),
            ),
            Case::new(
                "5.3 text in 2 fragments",
                vec![send_all(two.clone())],
                expect_echo(vec![both.clone()]),
            ),
            Case::new(
                "5.4 text in 2 fragments in 1-byte writes",
                vec![chopped(two.clone(), 1, ZERO)],
                expect_echo(vec![both.clone()]),
            ),
            Case::new(
                "5.5 text in 2 fragments in 1-byte writes with pauses",
                vec![chopped(two, 1, Duration::from_millis(1))],
                expect_echo(vec![both.clone()]),
            ),
            Case::new(
                "5.6 ping between 2 fragments is answered first",
                vec![send_all(with_ping.clone())],
                expect_echo(vec![Reply::pong("between"), both.clone()]),
            ),
            Case::new(
                "5.7 ping between 2 fragments, 1-byte writes",
                vec![chopped(with_ping.clone(), 1, ZERO)],
                expect_echo(vec![Reply::pong("between"), both.clone()]),
            ),
            Case::new(
                "5.8 ping between 2 fragments, 1-byte writes with pauses",
                vec![chopped(with_ping, 1, Duration::from_millis(1))],
                expect_echo(vec![Reply::pong("between"), both.clone()]),
            ),
            Case::new(
                "5 pong between 2 fragments is ignored",
                vec![send_all(vec![
                    Frame::text("fragment1").fin(false),
                    Frame::pong("unsolicited"),
                    Frame::cont("fragment2", true),
                ])],
                expect_echo(vec![both.clone()]),
            ),
            Case::new(
                "5.9 continuation (fin) without a message",
                vec![send_all(stray_fin.clone())],
                expect_close(1002),
            ),
            Case::new(
                "5.10 continuation (fin) without a message, 1-byte writes",
                vec![chopped(stray_fin, 1, ZERO)],
                expect_close(1002),
            ),
            Case::new(
                "5.12 continuation (no fin) without a message",
                vec![send_all(stray.clone())],
                expect_close(1002),
            ),
            Case::new(
                "5.13 continuation (no fin) without a message, 1-byte writes",
                vec![chopped(stray, 1, ZERO)],
                expect_close(1002),
            ),
            Case::new(
                "5.15 text in 2 fragments, then a continuation",
                vec![send_all(vec![
                    Frame::text("fragment1").fin(false),
                    Frame::cont("fragment2", true),
                    Frame::cont("fragment3", false),
                    Frame::text("fragment4"),
                ])],
                expect_close_after(vec![both.clone()], 1002),
            ),
            Case::new(
                "5.16 continuation, then a whole fragmented text",
                vec![send_all(vec![
                    Frame::cont("fragment1", false),
                    Frame::text("fragment2").fin(false),
                    Frame::cont("fragment3", true),
                ])],
                expect_close(1002),
            ),
            Case::new(
                "5.18 text (no fin), then a new text",
                vec![send_all(vec![
                    Frame::text("fragment1").fin(false),
                    Frame::text("fragment2"),
                ])],
                expect_close(1002),
            ),
            Case::new(
                "5 text (no fin), then a binary",
                vec![send_all(vec![
                    Frame::text("fragment1").fin(false),
                    Frame::binary("fragment2"),
                ])],
                expect_close(1002),
            ),
            Case::new(
                "5 continuation after a finished message",
                vec![send_all(vec![
                    Frame::text("whole"),
                    Frame::cont("stray", true),
                ])],
                expect_close_after(vec![Reply::text("whole")], 1002),
            ),
        ];
        // 5.19/5.20: five fragments with pings between, written with pauses, then chopped.
        let five = vec![
            Frame::text("fragment1").fin(false),
            Frame::cont("fragment2", false),
            Frame::ping("pongme 1!"),
            Frame::cont("fragment3", false),
            Frame::ping("pongme 2!"),
            Frame::cont("fragment4", false),
            Frame::cont("fragment5", true),
        ];
        let five_replies = vec![
            Reply::pong("pongme 1!"),
            Reply::pong("pongme 2!"),
            Reply::text("fragment1fragment2fragment3fragment4fragment5"),
        ];
        let paced: Vec<Step> = five
            .iter()
            .flat_map(|f| [send(f.clone()), Step::Pause(Duration::from_millis(5))])
            .collect();
        cases.push(Case::new(
            "5.19 five fragments and two pings, with pauses",
            paced,
            expect_echo(five_replies.clone()),
        ));
        cases.push(Case::new(
            "5.20 five fragments and two pings, 1-byte writes",
            vec![chopped(five, 1, ZERO)],
            expect_echo(five_replies),
        ));
        // Whole messages in 2..N fragments.
        for n in [2, 3, 5, 16, 100] {
            for (name, op, payload) in [
                ("text", opcode::TEXT, text_of(300).into_bytes()),
                ("binary", opcode::BINARY, bytes_of(300)),
            ] {
                cases.push(Case::new(
                    format!("5 {name} of 300 bytes in {n} fragments"),
                    vec![send_all(fragments(op, &payload, n))],
                    expect_echo(vec![reply_for(op, &payload)]),
                ));
            }
        }
        cases.push(Case::new(
            "5 text with empty first and last fragments",
            vec![send_all(vec![
                Frame::text("").fin(false),
                Frame::cont("middle", false),
                Frame::cont("", true),
            ])],
            expect_echo(vec![Reply::text("middle")]),
        ));
        cases.push(Case::new(
            "5 binary in 3 empty fragments",
            vec![send_all(vec![
                Frame::binary("").fin(false),
                Frame::cont("", false),
                Frame::cont("", true),
            ])],
            expect_echo(vec![Reply::binary("")]),
        ));
        let payload = text_of(200).into_bytes();
        cases.push(Case::new(
            "5 text in 10 fragments, 1-byte writes",
            vec![chopped(fragments(opcode::TEXT, &payload, 10), 1, ZERO)],
            expect_echo(vec![Reply::text(payload.clone())]),
        ));
        let mut interleaved = Vec::new();
        for (i, frame) in fragments(opcode::BINARY, &bytes_of(200), 8)
            .into_iter()
            .enumerate()
        {
            interleaved.push(frame);
            if i < 7 {
                interleaved.push(Frame::ping(format!("gap {i}")));
            }
        }
        let mut replies: Vec<Reply> = (0..7).map(|i| Reply::pong(format!("gap {i}"))).collect();
        replies.push(Reply::binary(bytes_of(200)));
        cases.push(Case::new(
            "5 binary in 8 fragments with a ping in every gap, 1-byte writes",
            vec![chopped(interleaved, 1, ZERO)],
            expect_echo(replies),
        ));
        cases.push(Case::new(
            "5 two fragmented messages back to back",
            vec![send_all(
                [
                    fragments(opcode::TEXT, b"first message", 3),
                    fragments(opcode::BINARY, b"second message", 4),
                ]
                .concat(),
            )],
            expect_echo(vec![
                Reply::text("first message"),
                Reply::binary("second message"),
            ]),
        ));
        cases
    }

    against_every_adapter!();
}

/// Autobahn 6: text must be UTF-8 — checked across frame boundaries, at every byte position
/// of a character, and failed as soon as the bytes cannot be UTF-8 any more (6.4 fail-fast).
mod utf8 {
    use super::*;

    /// Invalid byte sequences (Markus Kuhn's decoder test, as used by Autobahn 6.3–6.21).
    const INVALID: [(&str, &[u8]); 31] = [
        ("overlong 2-byte '/'", b"\xc0\xaf"),
        ("overlong 3-byte '/'", b"\xe0\x80\xaf"),
        ("overlong 4-byte '/'", b"\xf0\x80\x80\xaf"),
        ("overlong 5-byte '/'", b"\xf8\x80\x80\x80\xaf"),
        ("overlong 6-byte '/'", b"\xfc\x80\x80\x80\x80\xaf"),
        ("overlong NUL", b"\xc0\x80"),
        ("largest overlong 2-byte", b"\xc1\xbf"),
        ("largest overlong 3-byte", b"\xe0\x9f\xbf"),
        ("largest overlong 4-byte", b"\xf0\x8f\xbf\xbf"),
        ("surrogate U+D800", b"\xed\xa0\x80"),
        ("surrogate U+DB7F", b"\xed\xad\xbf"),
        ("surrogate U+DBFF", b"\xed\xaf\xbf"),
        ("surrogate U+DC00", b"\xed\xb0\x80"),
        ("surrogate U+DFFF", b"\xed\xbf\xbf"),
        ("surrogate pair U+D800 U+DC00", b"\xed\xa0\x80\xed\xb0\x80"),
        ("U+110000", b"\xf4\x90\x80\x80"),
        ("lead byte F5", b"\xf5\x80\x80\x80"),
        ("F7 BF BF BF", b"\xf7\xbf\xbf\xbf"),
        ("5-byte sequence", b"\xfb\xbf\xbf\xbf\xbf"),
        ("byte FE", b"\xfe"),
        ("byte FF", b"\xff"),
        ("FE FE FF FF", b"\xfe\xfe\xff\xff"),
        ("lone continuation 80", b"\x80"),
        ("lone continuation BF", b"\xbf"),
        ("continuations 80 BF 80", b"\x80\xbf\x80"),
        ("2-byte lead then a space", b"\xdf "),
        ("3-byte lead then a space", b"\xe1 "),
        ("4-byte lead then a space", b"\xf1 "),
        ("3-byte char without its last byte", b"\xe2\x82z"),
        ("4-byte char without its last byte", b"\xf0\x9d\x84z"),
        (
            "6.3.1 κόσμε, U+D800, edited",
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        ),
    ];

    /// Characters at every encoded length and at the edges of each length.
    const CHARS: [char; 11] = [
        '\u{80}',
        'é',
        '\u{7FF}',
        '\u{800}',
        '€',
        '\u{D7FF}',
        '\u{E000}',
        '\u{FFFF}',
        '\u{10000}',
        '𝄞',
        '\u{10FFFF}',
    ];

    fn cases() -> Vec<Case> {
        let mut cases = vec![
            Case::new(
                "6.1.1 empty text",
                vec![send(Frame::text(""))],
                expect_echo(vec![Reply::text("")]),
            ),
            Case::new(
                "6.1.3 empty, non-empty, empty fragments",
                vec![send_all(vec![
                    Frame::text("").fin(false),
                    Frame::cont("middle frame payload", false),
                    Frame::cont("", true),
                ])],
                expect_echo(vec![Reply::text("middle frame payload")]),
            ),
        ];
        for sample in ["Hello-µ@ßöäüàá-UTF-8!!", KOSME, "\u{0}\u{7f}a\u{0}"] {
            let bytes = sample.as_bytes();
            let cuts: Vec<usize> = (1..bytes.len()).collect();
            cases.push(Case::new(
                format!("6.2 {sample:?} in one frame"),
                vec![send(Frame::text(bytes))],
                expect_echo(vec![Reply::text(bytes)]),
            ));
            cases.push(Case::new(
                format!("6.2.3 {sample:?} one byte per fragment"),
                vec![send_all(fragments_at(opcode::TEXT, bytes, &cuts))],
                expect_echo(vec![Reply::text(bytes)]),
            ));
        }
        // Every character split at every byte position between two fragments, and one
        // fragment per byte.
        for c in CHARS {
            let text = format!("a{c}z");
            let bytes = text.as_bytes();
            for cut in 1..c.len_utf8() {
                cases.push(Case::new(
                    format!("6 U+{:04X} split after its byte {cut}", u32::from(c)),
                    vec![send_all(fragments_at(opcode::TEXT, bytes, &[1 + cut]))],
                    expect_echo(vec![Reply::text(bytes)]),
                ));
            }
            let cuts: Vec<usize> = (1..bytes.len()).collect();
            cases.push(Case::new(
                format!("6 U+{:04X} one byte per fragment", u32::from(c)),
                vec![send_all(fragments_at(opcode::TEXT, bytes, &cuts))],
                expect_echo(vec![Reply::text(bytes)]),
            ));
            cases.push(Case::new(
                format!("6.5 U+{:04X} in one frame, 1-byte writes", u32::from(c)),
                vec![chopped(vec![Frame::text(bytes)], 1, ZERO)],
                expect_echo(vec![Reply::text(bytes)]),
            ));
        }
        let long = text_of(1000).into_bytes();
        let cuts: Vec<usize> = (1..long.len()).collect();
        cases.push(Case::new(
            "6 1000 bytes of mixed-width text, one byte per fragment",
            vec![send_all(fragments_at(opcode::TEXT, &long, &cuts))],
            expect_echo(vec![Reply::text(long)]),
        ));
        // Invalid sequences: whole, one byte per fragment, and after a valid message.
        for (name, bad) in INVALID {
            let mut payload = b"ab".to_vec();
            payload.extend_from_slice(bad);
            payload.extend_from_slice(b"cd");
            let cuts: Vec<usize> = (1..payload.len()).collect();
            cases.push(Case::new(
                format!("6 invalid: {name}"),
                vec![send(Frame::text(payload.clone()))],
                expect_close(1007),
            ));
            cases.push(Case::new(
                format!("6 invalid, one byte per fragment: {name}"),
                vec![send_all(fragments_at(opcode::TEXT, &payload, &cuts))],
                expect_close(1007),
            ));
            cases.push(Case::new(
                format!("6 invalid after a valid text: {name}"),
                vec![send_all(vec![Frame::text(KOSME), Frame::text(payload)])],
                expect_close_after(vec![Reply::text(KOSME)], 1007),
            ));
        }
        // Messages that end inside a character.
        for (name, frames) in [
            (
                "2-byte char cut at the end",
                vec![Frame::text(b"ab\xc3".to_vec())],
            ),
            (
                "3-byte char cut at the end",
                vec![Frame::text(b"ab\xe2\x82".to_vec())],
            ),
            (
                "4-byte char cut at the end",
                vec![Frame::text(b"ab\xf0\x9d\x84".to_vec())],
            ),
            (
                "3-byte char cut at the end of the last fragment",
                vec![
                    Frame::text(b"ab\xe2".to_vec()).fin(false),
                    Frame::cont(b"\x82".to_vec(), true),
                ],
            ),
            (
                "4-byte char cut by an empty final fragment",
                vec![
                    Frame::text(b"ab\xf0\x9d\x84".to_vec()).fin(false),
                    Frame::cont("", true),
                ],
            ),
        ] {
            cases.push(Case::new(
                format!("6 truncated: {name}"),
                vec![send_all(frames)],
                expect_close(1007),
            ));
        }
        cases.extend(fail_fast());
        cases
    }

    /// Autobahn 6.4: the input becomes invalid and the rest of the message never comes; the
    /// Close must follow within 2 s, without waiting for more.
    fn fail_fast() -> Vec<Case> {
        let kosme = KOSME.as_bytes();
        let k = kosme.len();
        let pause = Duration::from_millis(100);
        let whole = |bad: &[u8]| -> Vec<u8> { [kosme, bad, b"edited"].concat() };
        let partial = |name: &str, bad: &[u8], cuts: Vec<usize>, upto: usize| {
            Case::new(
                name,
                vec![Step::Partial {
                    frame: Frame::text(whole(bad)),
                    cuts,
                    upto,
                    delay: pause,
                }],
                expect_fail_fast(vec![], 1007),
            )
        };
        vec![
            Case::new(
                "6.4.1 valid fragment, then a fragment with U+110000, rest withheld",
                vec![
                    send(Frame::text(kosme).fin(false)),
                    Step::Pause(pause),
                    send(Frame::cont(b"\xf4\x90\x80\x80".to_vec(), false)),
                ],
                expect_fail_fast(vec![], 1007),
            ),
            Case::new(
                "6.4.2 fragment ending in F4, then a fragment starting with 90, rest withheld",
                vec![
                    send(Frame::text([kosme, b"\xf4"].concat()).fin(false)),
                    Step::Pause(pause),
                    send(Frame::cont(b"\x90\x80\x80".to_vec(), false)),
                ],
                expect_fail_fast(vec![], 1007),
            ),
            partial(
                "6.4.3 one frame in chunks: valid, then U+110000, rest withheld",
                b"\xf4\x90\x80\x80",
                vec![k, k + 4],
                k + 4,
            ),
            partial(
                "6.4.4 one frame in chunks: valid, F4, then 90, rest withheld",
                b"\xf4\x90\x80\x80",
                vec![k, k + 1],
                k + 2,
            ),
            partial(
                "6.4 one frame: surrogate lead ED A0, rest withheld",
                b"\xed\xa0\x80",
                vec![k, k + 1],
                k + 2,
            ),
            partial(
                "6.4 one frame: overlong E0 80, rest withheld",
                b"\xe0\x80\xaf",
                vec![k],
                k + 2,
            ),
            partial(
                "6.4 one frame: byte FF, rest withheld",
                b"\xff",
                vec![k],
                k + 1,
            ),
            Case::new(
                "6.4 ping between a valid prefix and the bad fragment, rest withheld",
                vec![send_all(vec![
                    Frame::text([kosme, b"\xf4"].concat()).fin(false),
                    Frame::ping("between"),
                    Frame::cont(b"\x90\x80\x80".to_vec(), false),
                ])],
                expect_fail_fast(vec![Reply::pong("between")], 1007),
            ),
            Case::new(
                "6.4 invalid first fragment, rest withheld",
                vec![send(Frame::text(b"ab\xc0".to_vec()).fin(false))],
                expect_fail_fast(vec![], 1007),
            ),
            Case::new(
                "6.4 valid text echoed, then an invalid fragment, rest withheld",
                vec![send_all(vec![
                    Frame::text(KOSME),
                    Frame::text(b"ok\xed\xbf".to_vec()).fin(false),
                ])],
                expect_fail_fast(vec![Reply::text(KOSME)], 1007),
            ),
        ]
    }

    against_every_adapter!();
}

/// Autobahn 7: the closing handshake — echoes, codes, reasons, and nothing after a Close.
mod close {
    use super::*;

    const VALID: [u16; 16] = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4999,
    ];
    const INVALID: [u16; 12] = [
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ];

    fn cases() -> Vec<Case> {
        let mut cases = vec![
            Case::new(
                "7.1.1 text, then a clean close",
                vec![send(Frame::text("Hello World!"))],
                expect_echo(vec![Reply::text("Hello World!")]),
            ),
            Case::new(
                "7.1.2 two closes: only one answer",
                vec![send_all(vec![
                    Frame::close(1000, ""),
                    Frame::close(1000, ""),
                ])],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7.1.3 ping after the close: no pong",
                vec![send_all(vec![Frame::close(1000, ""), Frame::ping("late")])],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7.1.4 text after the close: no echo",
                vec![send_all(vec![Frame::close(1000, ""), Frame::text("late")])],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7.1.4 text after the close, written later: no echo",
                vec![
                    send(Frame::close(1000, "")),
                    Step::Pause(Duration::from_millis(20)),
                    send(Frame::text("late")),
                ],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7.1.5 close inside a fragmented message: the message is dropped",
                vec![send_all(vec![
                    Frame::text("fragment1").fin(false),
                    Frame::close(1000, ""),
                    Frame::cont("fragment2", true),
                ])],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7.1.6 256 KiB text, then a close: echo first",
                vec![send_all(vec![
                    Frame::text(text_of(256 << 10)),
                    Frame::close(1000, ""),
                ])],
                expect_close_echo(vec![Reply::text(text_of(256 << 10))], Some(1000)),
            ),
            Case::new(
                "7.3.1 close without payload: echoed without payload",
                vec![send(Frame::close_empty())],
                expect_close_echo(vec![], None),
            ),
            Case::new(
                "7.3.2 close with a 1-byte payload",
                vec![send(Frame::new(true, 0, opcode::CLOSE, vec![0x03]))],
                expect_close(1002),
            ),
            Case::new(
                "7.3.4 close with a reason",
                vec![send(Frame::close(1000, "Hello World!"))],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7.3.5 close with a 123-byte reason",
                vec![send(Frame::close(1000, text_of(123)))],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7.3.6 close with a 124-byte reason (126-byte payload)",
                vec![send(Frame::close(1000, "r".repeat(124)))],
                expect_close(1002),
            ),
            Case::new(
                "7.5.1 close reason that is not UTF-8",
                vec![send(Frame::close(
                    1000,
                    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
                ))],
                expect_close(1007),
            ),
            Case::new(
                "7 close reason cut inside a character",
                vec![send(Frame::close(1000, b"bye \xe2\x82"))],
                expect_close(1007),
            ),
            Case::new(
                "7 close with a reason in 1-byte writes",
                vec![chopped(vec![Frame::close(1000, "chopped reason")], 1, ZERO)],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7 close, then the end of our stream",
                vec![send(Frame::close(1000, "")), Step::ShutdownWrite],
                expect_close_echo(vec![], Some(1000)),
            ),
            Case::new(
                "7 end of stream after a message, without a close: no close sent",
                vec![send(Frame::text("last words")), Step::ShutdownWrite],
                expect_drop(vec![Reply::text("last words")]),
            ),
            Case::new(
                "7 end of stream inside a frame: no close sent",
                vec![
                    Step::Partial {
                        frame: Frame::binary(bytes_of(100)),
                        cuts: vec![],
                        upto: 50,
                        delay: ZERO,
                    },
                    Step::ShutdownWrite,
                ],
                expect_drop(vec![]),
            ),
        ];
        // The implementation starts the closing handshake (asked to by CLOSE_ME); once our
        // Close answers it, it must close TCP at once rather than wait for a timeout.
        let answers = [
            ("our Close echo", vec![Frame::close(4000, "")]),
            ("an empty Close", vec![Frame::close_empty()]),
            (
                "a text, then our Close",
                vec![Frame::text("late"), Frame::close(1000, "")],
            ),
        ];
        for (name, answer) in answers {
            cases.push(Case::new(
                format!("7 the implementation closes with 4000; we answer with {name}"),
                vec![send_all(vec![Frame::text("before"), Frame::text(CLOSE_ME)])],
                expect_initiated_close(vec![Reply::text("before")], 4000, answer),
            ));
        }
        for code in VALID {
            cases.push(Case::new(
                format!("7.7 close code {code} is echoed"),
                vec![send(Frame::close(code, "reason"))],
                expect_close_echo(vec![], Some(code)),
            ));
        }
        for code in INVALID {
            cases.push(Case::new(
                format!("7.9 invalid close code {code}"),
                vec![send(Frame::close(code, ""))],
                expect_close(1002),
            ));
        }
        cases
    }

    against_every_adapter!();
}

/// Autobahn 9 (scaled): big messages, many messages, many fragments, tiny writes, and the
/// configured 32 MiB limits enforced from the frame header alone.
mod limits {
    use super::*;

    const SIZES: [usize; 5] = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20];

    fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        for size in SIZES {
            let text = text_of(size);
            cases.push(Case::new(
                format!("9.1 text of {} KiB", size >> 10),
                vec![send(Frame::text(text.clone()))],
                expect_echo(vec![Reply::text(text)]),
            ));
            let binary = bytes_of(size);
            cases.push(Case::new(
                format!("9.2 binary of {} KiB", size >> 10),
                vec![send(Frame::binary(binary.clone()))],
                expect_echo(vec![Reply::binary(binary)]),
            ));
        }
        let four = text_of(4 << 20).into_bytes();
        cases.push(Case::new(
            "9.3 4 MiB text in 64-byte fragments (65536 fragments)",
            vec![send_all(fragments(opcode::TEXT, &four, four.len() / 64))],
            expect_echo(vec![Reply::text(four)]),
        ));
        let four = bytes_of(4 << 20);
        cases.push(Case::new(
            "9.4 4 MiB binary in 64-byte fragments (65536 fragments)",
            vec![send_all(fragments(opcode::BINARY, &four, four.len() / 64))],
            expect_echo(vec![Reply::binary(four.clone())]),
        ));
        for fragment in [4 << 10, 64 << 10] {
            cases.push(Case::new(
                format!("9.4 4 MiB binary in {} KiB fragments", fragment >> 10),
                vec![send_all(fragments(
                    opcode::BINARY,
                    &four,
                    four.len() / fragment,
                ))],
                expect_echo(vec![Reply::binary(four.clone())]),
            ));
        }
        for chunk in [1, 7, 64] {
            let text = text_of(64 << 10);
            cases.push(Case::new(
                format!("9.5 64 KiB text in {chunk}-byte writes"),
                vec![chopped(vec![Frame::text(text.clone())], chunk, ZERO)],
                expect_echo(vec![Reply::text(text)]),
            ));
            let binary = bytes_of(64 << 10);
            cases.push(Case::new(
                format!("9.6 64 KiB binary in {chunk}-byte writes"),
                vec![chopped(vec![Frame::binary(binary.clone())], chunk, ZERO)],
                expect_echo(vec![Reply::binary(binary)]),
            ));
        }
        cases.push(Case::new(
            "9 4 MiB binary and a ping in the same write",
            vec![send_all(vec![
                Frame::binary(four.clone()),
                Frame::ping("after the big one"),
            ])],
            expect_echo(vec![
                Reply::binary(four.clone()),
                Reply::pong("after the big one"),
            ]),
        ));
        let texts: Vec<String> = (0..1000).map(|i| format!("message {i} ✓")).collect();
        cases.push(Case::new(
            "9.7 1000 texts back to back",
            vec![send_all(
                texts.iter().map(|t| Frame::text(t.as_str())).collect(),
            )],
            expect_echo(texts.iter().map(|t| Reply::text(t.as_str())).collect()),
        ));
        let blobs: Vec<Vec<u8>> = (0..1000).map(|i| bytes_of(i % 97)).collect();
        cases.push(Case::new(
            "9.8 1000 binaries back to back",
            vec![send_all(
                blobs.iter().map(|b| Frame::binary(b.clone())).collect(),
            )],
            expect_echo(blobs.iter().map(|b| Reply::binary(b.clone())).collect()),
        ));
        cases.push(Case::new(
            "9.8 1000 binaries back to back in 7-byte writes",
            vec![chopped(
                blobs.iter().map(|b| Frame::binary(b.clone())).collect(),
                7,
                ZERO,
            )],
            expect_echo(blobs.iter().map(|b| Reply::binary(b.clone())).collect()),
        ));
        // Limits (32 MiB for frames and messages here) apply to the header alone.
        cases.push(Case::new(
            "9 frame header claiming 2^40 bytes, body withheld",
            vec![send(Frame::binary("").length(Length::Claim(1 << 40)))],
            expect_fail_fast(vec![], 1009),
        ));
        cases.push(Case::new(
            "9 frame header claiming 32 MiB + 1 bytes, body withheld",
            vec![send(
                Frame::binary("").length(Length::Claim((32 << 20) + 1)),
            )],
            expect_fail_fast(vec![], 1009),
        ));
        cases.push(Case::new(
            "9 fragments adding up to 32 MiB + 1 bytes, body withheld",
            vec![send_all(vec![
                Frame::binary("x").fin(false),
                Frame::cont("", true).length(Length::Claim(32 << 20)),
            ])],
            expect_fail_fast(vec![], 1009),
        ));
        cases
    }

    against_every_adapter!();
}

/// The opening handshake (RFC 6455 §4): how every server answers broken requests, and how
/// every client refuses broken responses — each with its own error, promptly.
mod handshake {
    use std::io::Write;
    use std::net::Shutdown;
    use std::sync::mpsc;
    use std::time::Instant;

    use wsproto_core::Message;
    use wsproto_tests::conformance::{
        FAIL_FAST, KEY, READ_LIMIT, RawListener, RawPeer, SuiteReport, http_exchange,
        http_exchange_chopped, run_case, switching_protocols,
    };

    use super::*;

    /// An upgrade request to edit.
    #[derive(Clone)]
    struct Request {
        start: String,
        headers: Vec<(String, String)>,
    }

    impl Request {
        fn valid() -> Self {
            Self {
                start: "GET /chat HTTP/1.1".to_owned(),
                headers: [
                    ("Host", "localhost"),
                    ("Upgrade", "websocket"),
                    ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Key", KEY),
                    ("Sec-WebSocket-Version", "13"),
                ]
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            }
        }

        fn start(mut self, line: &str) -> Self {
            line.clone_into(&mut self.start);
            self
        }

        fn without(mut self, name: &str) -> Self {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self
        }

        fn set(self, name: &str, value: &str) -> Self {
            self.without(name).with(name, value)
        }

        fn with(mut self, name: &str, value: &str) -> Self {
            self.headers.push((name.to_owned(), value.to_owned()));
            self
        }

        /// With `n` header lines in total (extra `X-Extra-i` lines).
        fn with_header_count(self, n: usize) -> Self {
            let have = self.headers.len();
            (have..n).fold(self, |r, i| r.with(&format!("X-Extra-{i}"), "1"))
        }

        /// Padded with an `X-Pad` header to exactly `len` bytes of head.
        fn padded_to(self, len: usize) -> Self {
            let base = self.clone().with("X-Pad", "").bytes().len();
            self.with("X-Pad", &"p".repeat(len - base))
        }

        fn bytes(&self) -> Vec<u8> {
            let mut out = format!("{}\r\n", self.start);
            for (name, value) in &self.headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            out.into_bytes()
        }
    }

    fn server_cases() -> Vec<(&'static str, Vec<u8>, u16)> {
        let valid = Request::valid;
        vec![
            ("valid request", valid().bytes(), 101),
            (
                "Upgrade: WebSocket, Connection: keep-alive, Upgrade",
                valid()
                    .set("Upgrade", "WebSocket")
                    .set("Connection", "keep-alive, Upgrade")
                    .bytes(),
                101,
            ),
            (
                "lowercase header names",
                String::from_utf8_lossy(&valid().bytes())
                    .replace("Host:", "host:")
                    .replace("Upgrade:", "upgrade:")
                    .replace("Sec-WebSocket-", "sec-websocket-")
                    .into_bytes(),
                101,
            ),
            (
                "empty lines before the request line",
                [&b"\r\n\r\n"[..], &valid().bytes()].concat(),
                101,
            ),
            (
                "two Sec-WebSocket-Key headers",
                valid().with("Sec-WebSocket-Key", KEY).bytes(),
                400,
            ),
            (
                "64 header lines",
                valid().with_header_count(64).bytes(),
                101,
            ),
            (
                "head of exactly 16 KiB",
                valid().padded_to(16 << 10).bytes(),
                101,
            ),
            (
                "plain GET",
                b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
                426,
            ),
            (
                "missing Upgrade",
                valid().without("Upgrade").without("Connection").bytes(),
                426,
            ),
            (
                "version 8",
                valid().set("Sec-WebSocket-Version", "8").bytes(),
                426,
            ),
            (
                "missing version",
                valid().without("Sec-WebSocket-Version").bytes(),
                426,
            ),
            (
                "missing key",
                valid().without("Sec-WebSocket-Key").bytes(),
                400,
            ),
            (
                "short key",
                valid().set("Sec-WebSocket-Key", "AAAA").bytes(),
                400,
            ),
            (
                "key of 15 bytes",
                valid()
                    .set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA")
                    .bytes(),
                400,
            ),
            ("Upgrade: h2c", valid().set("Upgrade", "h2c").bytes(), 400),
            (
                "Connection: keep-alive",
                valid().set("Connection", "keep-alive").bytes(),
                400,
            ),
            ("POST", valid().start("POST /chat HTTP/1.1").bytes(), 405),
            ("no Host", valid().without("Host").bytes(), 400),
            ("HTTP/1.0", valid().start("GET /chat HTTP/1.0").bytes(), 400),
            ("a body", valid().with("Content-Length", "5").bytes(), 400),
            (
                "head of 16 KiB + 1",
                valid().padded_to((16 << 10) + 1).bytes(),
                431,
            ),
            ("head of 17 KiB", valid().padded_to(17 << 10).bytes(), 431),
            (
                "65 header lines",
                valid().with_header_count(65).bytes(),
                431,
            ),
        ]
    }

    fn check_server_handshakes(kind: ServerKind) {
        let start = Instant::now();
        let url = kind.start_echo();
        let cases = server_cases();
        let mut failures = Vec::new();
        for (name, request, status) in &cases {
            let reply = match http_exchange(&url, request) {
                Ok(reply) => reply,
                Err(error) => {
                    failures.push(format!("[{name}] {error}"));
                    continue;
                }
            };
            let head = &reply.head;
            if head.status() != Some(*status) {
                failures.push(format!(
                    "[{name}] expected {status}, got {:?}",
                    head.start_line
                ));
            }
            if *status == 426 && head.header("sec-websocket-version") != Some("13") {
                failures.push(format!(
                    "[{name}] 426 without Sec-WebSocket-Version: 13: {:?}",
                    head.headers
                ));
            }
            if *status == 101
                && head.header("sec-websocket-accept") != Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            {
                failures.push(format!("[{name}] wrong accept: {:?}", head.headers));
            }
            if !reply.closed {
                failures.push(format!("[{name}] connection left open after {status}"));
            }
        }
        // The request in 1-byte writes, and a frame pipelined behind the request.
        let trickled = http_exchange_chopped(&url, &Request::valid().bytes(), 1);
        if !trickled
            .as_ref()
            .is_ok_and(|r| r.head.status() == Some(101))
        {
            failures.push(format!("[request in 1-byte writes] {trickled:?}"));
        }
        let pipelined =
            RawPeer::connect_pipelined(&url, &[Frame::text("early bird")]).and_then(|peer| {
                let case = Case::new(
                    "pipelined",
                    vec![],
                    expect_echo(vec![Reply::text("early bird")]),
                );
                run_case(peer, &case)
            });
        if let Err(error) = pipelined {
            failures.push(format!(
                "[text frame in the same write as the request] {error}"
            ));
        }
        SuiteReport {
            cases: cases.len() + 2,
            failures,
            not_run: 0,
            took: start.elapsed(),
        }
        .assert_passed(&format!("{kind:?} server handshake"));
    }

    /// What a client must make of a response.
    enum Outcome {
        /// Connects.
        Accepts,
        /// Connects and receives this text, sent right behind the 101.
        Receives(&'static str),
        /// Fails with an error containing this (lowercase) text.
        Fails(&'static str),
    }

    struct ClientCase {
        name: &'static str,
        response: fn(&str) -> Vec<u8>,
        /// Bytes per write of the response (0: one write).
        chunk: usize,
        /// Close the connection right after the response.
        then_close: bool,
        outcome: Outcome,
    }

    fn client_cases() -> Vec<ClientCase> {
        fn case(name: &'static str, response: fn(&str) -> Vec<u8>, outcome: Outcome) -> ClientCase {
            ClientCase {
                name,
                response,
                chunk: 0,
                then_close: false,
                outcome,
            }
        }
        vec![
            case(
                "valid 101",
                |a| switching_protocols(a, "").into_bytes(),
                Outcome::Accepts,
            ),
            case(
                "101 with mixed-case tokens and lowercase names",
                |a| {
                    format!(
                        "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n\
                         connection: keep-alive, Upgrade\r\nsec-websocket-accept: {a}\r\n\r\n"
                    )
                    .into_bytes()
                },
                Outcome::Accepts,
            ),
            ClientCase {
                chunk: 1,
                ..case(
                    "valid 101 in 1-byte writes",
                    |a| switching_protocols(a, "").into_bytes(),
                    Outcome::Accepts,
                )
            },
            case(
                "101 with a text frame in the same write",
                |a| [switching_protocols(a, "").as_bytes(), b"\x81\x05hello"].concat(),
                Outcome::Receives("hello"),
            ),
            case(
                "101 without Upgrade",
                |a| {
                    format!(
                        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
                         Sec-WebSocket-Accept: {a}\r\n\r\n"
                    )
                    .into_bytes()
                },
                Outcome::Fails("missing upgrade"),
            ),
            case(
                "101 with Upgrade: h2c",
                |a| {
                    format!(
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\
                         Connection: Upgrade\r\nSec-WebSocket-Accept: {a}\r\n\r\n"
                    )
                    .into_bytes()
                },
                Outcome::Fails("invalid upgrade"),
            ),
            case(
                "wrong Sec-WebSocket-Accept",
                |_| switching_protocols("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "").into_bytes(),
                Outcome::Fails("does not match"),
            ),
            case(
                "missing Sec-WebSocket-Accept",
                |_| {
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\n\r\n"
                        .to_vec()
                },
                Outcome::Fails("missing sec-websocket-accept"),
            ),
            case(
                "Connection: close",
                |a| {
                    format!(
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                         Connection: close\r\nSec-WebSocket-Accept: {a}\r\n\r\n"
                    )
                    .into_bytes()
                },
                Outcome::Fails("connection"),
            ),
            case(
                "403 with a body",
                |_| b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden".to_vec(),
                Outcome::Fails("403"),
            ),
            case(
                "200 with a page",
                |_| b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
                Outcome::Fails("status 200"),
            ),
            case(
                "a subprotocol that was not offered",
                |a| switching_protocols(a, "Sec-WebSocket-Protocol: chat\r\n").into_bytes(),
                Outcome::Fails("subprotocol"),
            ),
            case(
                "an extension that was not offered",
                |a| {
                    switching_protocols(a, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
                        .into_bytes()
                },
                Outcome::Fails("extension"),
            ),
            case(
                "HTTP/1.0 101",
                |a| {
                    format!(
                        "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                         Connection: Upgrade\r\nSec-WebSocket-Accept: {a}\r\n\r\n"
                    )
                    .into_bytes()
                },
                Outcome::Fails("http/1.1"),
            ),
            case(
                "not HTTP at all",
                |_| b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(),
                Outcome::Fails("malformed"),
            ),
            case(
                "a response head over 16 KiB",
                |a| {
                    let pad = format!("X-Pad: {}\r\n", "p".repeat(17 << 10));
                    switching_protocols(a, &pad).into_bytes()
                },
                Outcome::Fails("larger"),
            ),
            ClientCase {
                then_close: true,
                ..case(
                    "connection closed without a response",
                    |_| Vec::new(),
                    Outcome::Fails("closed"),
                )
            },
        ]
    }

    fn check_client_handshakes(kind: ClientKind) {
        let start = Instant::now();
        let listener = RawListener::bind().expect("bind");
        let cases = client_cases();
        let mut failures = Vec::new();
        let mut errors: Vec<(&str, String)> = Vec::new();
        for case in &cases {
            let (tx, rx) = mpsc::channel();
            let url = listener.url().to_owned();
            let receive = matches!(case.outcome, Outcome::Receives(_));
            std::thread::spawn(move || {
                let result = kind.connect(&url).and_then(|mut ws| {
                    if !receive {
                        return Ok(None);
                    }
                    match ws.recv() {
                        Some(Ok(message)) => Ok(Some(message)),
                        Some(Err(error)) => Err(format!("recv: {error}")),
                        None => Err("recv: connection ended".to_owned()),
                    }
                });
                let _ = tx.send(result);
            });
            let (mut stream, _, accept) = match listener.accept_request() {
                Ok(accepted) => accepted,
                Err(error) => {
                    failures.push(format!("[{}] {error}", case.name));
                    continue;
                }
            };
            let response = (case.response)(&accept);
            let sent = Instant::now();
            let pieces: Vec<&[u8]> = if case.chunk == 0 {
                vec![&response]
            } else {
                response.chunks(case.chunk).collect()
            };
            for piece in pieces {
                if stream.write_all(piece).is_err() {
                    break;
                }
            }
            if case.then_close {
                let _ = stream.shutdown(Shutdown::Both);
            }
            let result = rx.recv_timeout(READ_LIMIT + FAIL_FAST);
            let took = sent.elapsed();
            drop(stream);
            let name = case.name;
            match (&case.outcome, result) {
                (_, Err(mpsc::RecvTimeoutError::Timeout)) => {
                    failures.push(format!("[{name}] client hung for {took:?}"));
                }
                (_, Err(mpsc::RecvTimeoutError::Disconnected)) => {
                    failures.push(format!("[{name}] client panicked"));
                }
                (Outcome::Accepts, Ok(Ok(_))) => {}
                (Outcome::Receives(text), Ok(Ok(Some(message)))) => {
                    if message != Message::text(*text) {
                        failures.push(format!("[{name}] received {message:?}"));
                    }
                }
                (Outcome::Fails(marker), Ok(Err(error))) => {
                    if !error.to_lowercase().contains(marker) {
                        failures.push(format!("[{name}] error {error:?} lacks {marker:?}"));
                    }
                    if took > FAIL_FAST {
                        failures.push(format!("[{name}] failing took {took:?}"));
                    }
                    if let Some((other, _)) = errors.iter().find(|(_, e)| *e == error) {
                        failures.push(format!("[{name}] same error as [{other}]: {error:?}"));
                    }
                    errors.push((name, error));
                }
                (Outcome::Fails(marker), Ok(Ok(_))) => {
                    failures.push(format!(
                        "[{name}] connected; expected an error with {marker:?}"
                    ));
                }
                (_, Ok(outcome)) => {
                    failures.push(format!("[{name}] unexpected outcome {outcome:?}"));
                }
            }
        }
        SuiteReport {
            cases: cases.len(),
            failures,
            not_run: 0,
            took: start.elapsed(),
        }
        .assert_passed(&format!("{kind:?} client handshake"));
    }

    #[test]
    fn server_tokio() {
        check_server_handshakes(ServerKind::Tokio);
    }
    #[test]
    fn server_smol() {
        check_server_handshakes(ServerKind::Smol);
    }
    #[test]
    fn server_async_std() {
        check_server_handshakes(ServerKind::AsyncStd);
    }
    #[test]
    fn server_blocking() {
        check_server_handshakes(ServerKind::Blocking);
    }
    #[test]
    fn client_tokio() {
        check_client_handshakes(ClientKind::Tokio);
    }
    #[test]
    fn client_smol() {
        check_client_handshakes(ClientKind::Smol);
    }
    #[test]
    fn client_async_std() {
        check_client_handshakes(ClientKind::AsyncStd);
    }
    #[test]
    fn client_blocking() {
        check_client_handshakes(ClientKind::Blocking);
    }
}

/// The suite must be able to fail: wrong expectations against a correct server are caught,
/// with the message a real failure would carry.
mod self_check {
    use wsproto_tests::conformance::{RawPeer, run_case};

    use super::*;

    fn failure(url: &str, case: &Case) -> String {
        let peer = RawPeer::connect(url).expect("handshake");
        run_case(peer, case).expect_err("a wrong expectation must fail")
    }

    #[test]
    fn wrong_expectations_are_reported() {
        let url = ServerKind::Tokio.start_echo();
        let got = failure(
            &url,
            &Case::new(
                "wrong code",
                vec![send(Frame::text("x").rsv(4))],
                expect_close(1003),
            ),
        );
        assert!(got.contains("expected Close 1003, got Close 1002"), "{got}");
        let got = failure(
            &url,
            &Case::new(
                "wrong echo",
                vec![send(Frame::text("abc"))],
                expect_echo(vec![Reply::text("abd")]),
            ),
        );
        assert!(got.contains("replies differ at #0"), "{got}");
        let got = failure(
            &url,
            &Case::new(
                "close where a drop is expected",
                vec![send(Frame::close(1000, ""))],
                expect_drop(vec![]),
            ),
        );
        assert!(got.contains("without a Close, got Close 1000"), "{got}");
        let got = failure(
            &url,
            &Case::new(
                "echo where the server fails",
                vec![send(Frame::text(b"\xff".to_vec()))],
                expect_echo(vec![Reply::text("x")]),
            ),
        );
        assert!(got.contains("ended early: Close 1007"), "{got}");
        // A valid but unfinished message: nothing to fail on, so no Close within 2 s.
        let started = std::time::Instant::now();
        let got = failure(
            &url,
            &Case::new(
                "patience is not failure",
                vec![send(Frame::text(KOSME).fin(false))],
                expect_fail_fast(vec![], 1007),
            ),
        );
        assert!(got.contains("got none within 2s: TimedOut"), "{got}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
