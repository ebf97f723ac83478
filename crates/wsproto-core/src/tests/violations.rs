//! Every way a peer can break RFC 6455, the error it gets and the close code sent, from both
//! roles. Each case feeds hand-made frames to one side and checks that the error is sticky and
//! that the queued Close carries the right code.

use alloc::vec::Vec;

use super::pair::{Pair, other, raw_frame};
use crate::{
    CloseCode, Config, Connection, ConnectionError, Event, Instant, Limits, ProtocolError, Role,
    State,
};

/// Feeds `wire` to `receiver` (in chunks of `chunk` bytes) and returns the events before the
/// error and the error.
fn feed(
    receiver: &mut Connection,
    wire: &[u8],
    chunk: usize,
) -> (Vec<Event>, Option<ProtocolError>) {
    let mut events = Vec::new();
    for piece in wire.chunks(chunk.max(1)) {
        receiver.handle_input(piece, Instant::ZERO);
        loop {
            match receiver.poll_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(ConnectionError::Protocol(error)) => return (events, Some(error)),
                Err(lost) => panic!("a violation, not a lost connection: {lost:?}"),
            }
        }
    }
    (events, None)
}

/// The close code in the Close frame `conn` queued (first frame of its transmit queue after
/// `skip` bytes).
fn queued_close_code(conn: &Connection) -> Option<u16> {
    let bytes = conn.transmit();
    let close_at = find_close(bytes)?;
    let header = &bytes[close_at..];
    let masked = header[1] & 0x80 != 0;
    let len = usize::from(header[1] & 0x7F);
    let start = 2 + if masked { 4 } else { 0 };
    let mut payload = header[start..start + len].to_vec();
    if masked {
        crate::mask::apply_mask(
            &mut payload,
            [header[2], header[3], header[4], header[5]],
            0,
        );
    }
    Some(u16::from_be_bytes([payload[0], payload[1]]))
}

/// Offset of the first Close frame in a run of well-formed frames.
fn find_close(mut bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while bytes.len() >= 2 {
        if bytes[0] & 0x0F == 0x8 {
            return Some(at);
        }
        let masked = bytes[1] & 0x80 != 0;
        let (ext, len) = match bytes[1] & 0x7F {
            126 => (2, usize::from(u16::from_be_bytes([bytes[2], bytes[3]]))),
            127 => (
                8,
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
            ),
            n => (0, usize::from(n)),
        };
        let total = 2 + ext + if masked { 4 } else { 0 } + len;
        at += total;
        bytes = &bytes[total..];
    }
    None
}

struct Case {
    name: &'static str,
    /// Frames as the *sender* would write them (raw_frame masks for client senders).
    frames: fn(Role) -> Vec<u8>,
    error: ProtocolError,
}

fn frames(sender: Role, list: &[(u8, &[u8])]) -> Vec<u8> {
    list.iter()
        .flat_map(|(b0, payload)| raw_frame(sender, *b0, payload))
        .collect()
}

fn cases() -> Vec<Case> {
    alloc::vec![
        Case {
            name: "rsv1 without extension",
            frames: |s| frames(s, &[(0xC1, b"x")]),
            error: ProtocolError::ReservedBits(4)
        },
        Case {
            name: "rsv2",
            frames: |s| frames(s, &[(0xA2, b"x")]),
            error: ProtocolError::ReservedBits(2)
        },
        Case {
            name: "rsv3 on ping",
            frames: |s| frames(s, &[(0x99, b"")]),
            error: ProtocolError::ReservedBits(1)
        },
        Case {
            name: "opcode 3",
            frames: |s| frames(s, &[(0x83, b"")]),
            error: ProtocolError::ReservedOpcode(3)
        },
        Case {
            name: "opcode 0xF",
            frames: |s| frames(s, &[(0x8F, b"")]),
            error: ProtocolError::ReservedOpcode(0xF)
        },
        Case {
            name: "fragmented ping",
            frames: |s| frames(s, &[(0x09, b"")]),
            error: ProtocolError::FragmentedControl
        },
        Case {
            name: "ping of 126 bytes",
            frames: |s| frames(s, &[(0x89, &[0; 126])]),
            error: ProtocolError::ControlTooLong
        },
        Case {
            name: "continuation first",
            frames: |s| frames(s, &[(0x80, b"x")]),
            error: ProtocolError::UnexpectedContinuation
        },
        Case {
            name: "continuation after finished message",
            frames: |s| frames(s, &[(0x81, b"a"), (0x80, b"x")]),
            error: ProtocolError::UnexpectedContinuation
        },
        Case {
            name: "text inside fragmented message",
            frames: |s| frames(s, &[(0x01, b"a"), (0x81, b"b")]),
            error: ProtocolError::ExpectedContinuation
        },
        Case {
            name: "binary inside fragmented message",
            frames: |s| frames(s, &[(0x02, b"a"), (0x09, b"")]),
            error: ProtocolError::FragmentedControl
        },
        Case {
            name: "invalid utf-8 in one frame",
            frames: |s| frames(
                s,
                &[(
                    0x81,
                    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
                )]
            ),
            error: ProtocolError::InvalidUtf8
        },
        Case {
            name: "utf-8 truncated at message end",
            frames: |s| frames(s, &[(0x01, b"ok"), (0x80, b"\xe2\x82")]),
            error: ProtocolError::InvalidUtf8
        },
        Case {
            name: "close with one byte",
            frames: |s| frames(s, &[(0x88, b"\x03")]),
            error: ProtocolError::InvalidClosePayload
        },
        Case {
            name: "close code 1005",
            frames: |s| frames(s, &[(0x88, b"\x03\xed")]),
            error: ProtocolError::InvalidCloseCode(1005)
        },
        Case {
            name: "close code 999",
            frames: |s| frames(s, &[(0x88, b"\x03\xe7")]),
            error: ProtocolError::InvalidCloseCode(999)
        },
        Case {
            name: "close code 5000",
            frames: |s| frames(s, &[(0x88, b"\x13\x88")]),
            error: ProtocolError::InvalidCloseCode(5000)
        },
        Case {
            name: "close reason not utf-8",
            frames: |s| frames(s, &[(0x88, b"\x03\xe8\xff")]),
            error: ProtocolError::InvalidCloseReason
        },
    ]
}

#[test]
fn each_violation_gets_its_error_and_close_code_in_both_roles_at_any_chunking() {
    for case in cases() {
        for sender in [Role::Client, Role::Server] {
            for chunk in [1, 3, usize::MAX] {
                let mut pair = Pair::new();
                let receiver = pair.side(other(sender));
                let wire = (case.frames)(sender);
                let (_, error) = feed(receiver, &wire, chunk);
                assert_eq!(
                    error,
                    Some(case.error),
                    "{} ({sender:?} sends, chunk {chunk})",
                    case.name
                );
                let code = case.error.close_code().as_u16();
                assert_eq!(queued_close_code(receiver), Some(code), "{}", case.name);
                assert_eq!(receiver.state(), State::Closed);
                // Sticky: later input returns the same error, nothing else.
                receiver.handle_input(b"\x81\x00", Instant::ZERO);
                assert_eq!(receiver.poll_event(), Err(case.error.into()));
            }
        }
    }
}

#[test]
fn mask_bit_must_match_the_role() {
    // A client frame reaching a client (masked) and a server frame reaching a server (unmasked).
    let mut pair = Pair::new();
    let (_, error) = feed(
        &mut pair.client,
        &raw_frame(Role::Client, 0x81, b"hi"),
        usize::MAX,
    );
    assert_eq!(error, Some(ProtocolError::MaskedFrame));
    assert_eq!(queued_close_code(&pair.client), Some(1002));
    let (_, error) = feed(
        &mut pair.server,
        &raw_frame(Role::Server, 0x81, b"hi"),
        usize::MAX,
    );
    assert_eq!(error, Some(ProtocolError::UnmaskedFrame));
    assert_eq!(queued_close_code(&pair.server), Some(1002));
}

#[test]
fn lengths_must_be_in_shortest_form() {
    for receiver in [Role::Client, Role::Server] {
        let mut pair = Pair::new();
        let mask = if receiver == Role::Server { 0x80 } else { 0 };
        let mut wire = alloc::vec![0x82, mask | 126, 0, 5];
        if mask != 0 {
            wire.extend_from_slice(&[0; 4]);
        }
        wire.extend_from_slice(&[0; 5]);
        let (_, error) = feed(pair.side(receiver), &wire, usize::MAX);
        assert_eq!(error, Some(ProtocolError::NonMinimalLength));
    }
}

#[test]
fn invalid_utf8_fails_fast_before_the_message_ends() {
    for sender in [Role::Client, Role::Server] {
        // Autobahn 6.4.1: valid first fragment, then a fragment that makes it impossible,
        // and the final fragment never comes.
        let mut pair = Pair::new();
        let wire = frames(
            sender,
            &[(0x01, "κόσμε".as_bytes()), (0x00, b"\xf4\x90\x80\x80")],
        );
        let (_, error) = feed(pair.side(other(sender)), &wire, usize::MAX);
        assert_eq!(error, Some(ProtocolError::InvalidUtf8));
        // Autobahn 6.4.3: one frame whose bytes arrive in pieces; the bad bytes fail at once,
        // before the rest of the frame arrives.
        let mut pair = Pair::new();
        let mut payload = "κόσμε".as_bytes().to_vec();
        payload.extend_from_slice(b"\xf4\x90\x80\x80");
        payload.extend_from_slice(&[b'a'; 1000]);
        let wire = raw_frame(sender, 0x81, &payload);
        let cut = wire.len() - 1000; // up to and including the invalid bytes
        let (_, error) = feed(pair.side(other(sender)), &wire[..cut], usize::MAX);
        assert_eq!(error, Some(ProtocolError::InvalidUtf8));
    }
}

#[test]
fn frame_and_message_limits_close_with_1009_before_buffering() {
    let limits = Limits::default()
        .max_frame_size(1000)
        .max_message_size(2500)
        .max_fragments(4);
    for sender in [Role::Client, Role::Server] {
        let mut pair = Pair::with(Config::default(), limits.clone());
        let receiver = pair.side(other(sender));
        // A header claiming 2^63-1 bytes is refused from the header alone.
        let mut wire = alloc::vec![0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        if sender == Role::Client {
            wire[1] |= 0x80;
            wire.extend_from_slice(&[1, 2, 3, 4]);
        }
        let (_, error) = feed(receiver, &wire, usize::MAX);
        assert_eq!(
            error,
            Some(ProtocolError::FrameTooLarge {
                len: (1 << 63) - 1,
                limit: 1000
            })
        );
        assert_eq!(queued_close_code(receiver), Some(1009));
        assert_eq!(
            receiver.read_buffer_capacity_for_tests(),
            0,
            "nothing reserved for it"
        );

        // Three frames of 900 bytes exceed the 2500-byte message limit at the third header.
        let mut pair = Pair::with(Config::default(), limits.clone());
        let wire = frames(
            sender,
            &[(0x02, &[0; 900]), (0x00, &[0; 900]), (0x80, &[0; 900])],
        );
        let (_, error) = feed(pair.side(other(sender)), &wire, usize::MAX);
        assert_eq!(error, Some(ProtocolError::MessageTooLarge { limit: 2500 }));
        assert_eq!(queued_close_code(pair.side(other(sender))), Some(1009));

        // Five empty fragments exceed the fragment limit of four.
        let mut pair = Pair::with(Config::default(), limits.clone());
        let wire = frames(
            sender,
            &[
                (0x02, b""),
                (0x00, b""),
                (0x00, b""),
                (0x00, b""),
                (0x80, b""),
            ],
        );
        let (_, error) = feed(pair.side(other(sender)), &wire, usize::MAX);
        assert_eq!(error, Some(ProtocolError::TooManyFragments { limit: 4 }));

        // Exactly at the limits is fine.
        let mut pair = Pair::with(Config::default(), limits.clone());
        let wire = frames(
            sender,
            &[
                (0x02, &[0; 1000]),
                (0x00, &[0; 1000]),
                (0x00, &[0; 500]),
                (0x80, b""),
            ],
        );
        let (events, error) = feed(pair.side(other(sender)), &wire, 97);
        assert_eq!(error, None);
        assert_eq!(events.len(), 1);
    }
}

#[test]
fn protocol_error_after_our_close_sends_no_second_close() {
    let mut pair = Pair::new();
    pair.server
        .close(CloseCode::NORMAL, "", Instant::ZERO)
        .unwrap();
    let before = pair.server.transmit().len();
    let (_, error) = feed(
        &mut pair.server,
        &raw_frame(Role::Client, 0x83, b""),
        usize::MAX,
    );
    assert_eq!(error, Some(ProtocolError::ReservedOpcode(3)));
    assert_eq!(pair.server.transmit().len(), before);
    assert_eq!(pair.server.close_sent().unwrap().code(), CloseCode::NORMAL);
}

#[test]
fn short_complete_frames_obey_the_same_limits_and_waits_as_the_general_decoder() {
    // Short single frames complete in the buffer take the receive fast path; every limit and
    // partial header must still behave exactly as on the general path.
    for sender in [Role::Client, Role::Server] {
        let limits = Limits::default().max_frame_size(10);
        let mut pair = Pair::with(Config::default(), limits);
        let wire = raw_frame(sender, 0x82, &[7; 11]);
        let (_, error) = feed(pair.side(other(sender)), &wire, usize::MAX);
        assert_eq!(
            error,
            Some(ProtocolError::FrameTooLarge { len: 11, limit: 10 })
        );

        let limits = Limits::default().max_message_size(10);
        let mut pair = Pair::with(Config::default(), limits);
        let wire = raw_frame(sender, 0x81, b"eleven char");
        let (_, error) = feed(pair.side(other(sender)), &wire, usize::MAX);
        assert_eq!(error, Some(ProtocolError::MessageTooLarge { limit: 10 }));

        // A 16-bit length (200 bytes) whose header arrives one byte at a time, then the
        // payload: no event until the last byte, then exactly the message.
        let mut pair = Pair::new();
        let payload: Vec<u8> = (0..200u8).collect();
        let wire = raw_frame(sender, 0x82, &payload);
        let (events, error) = feed(pair.side(other(sender)), &wire[..wire.len() - 1], 1);
        assert!(events.is_empty() && error.is_none());
        let (events, error) = feed(pair.side(other(sender)), &wire[wire.len() - 1..], 1);
        assert!(error.is_none());
        assert!(
            matches!(&events[..], [Event::Message(m)] if m.payload()[..] == payload[..]),
            "{events:?}"
        );

        // An empty frame: its header alone is the whole frame, mask key included (a client's
        // header is 6 bytes: the first 2 alone are not a message yet).
        let mut pair = Pair::new();
        let wire = raw_frame(sender, 0x81, b"");
        let (mut events, _) = feed(pair.side(other(sender)), &wire[..2], usize::MAX);
        if sender == Role::Client {
            assert!(events.is_empty(), "{events:?}");
            let (rest, error) = feed(pair.side(other(sender)), &wire[2..], usize::MAX);
            assert!(error.is_none());
            events = rest;
        }
        assert!(matches!(&events[..], [Event::Message(m)] if m.payload().is_empty()));
    }
}
