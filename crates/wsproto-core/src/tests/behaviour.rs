//! Normal protocol behaviour, each case run with either role as the initiator.

use alloc::vec;
use alloc::vec::Vec;
use core::num::NonZeroUsize;
use core::time::Duration;

use super::pair::{Pair, other};
use crate::{
    Bytes, CloseCode, Config, ConnectionError, ConnectionLost, Delivery, Event, Limits, Message,
    MessageKind, Role, SendError, State,
};

const ROLES: [Role; 2] = [Role::Client, Role::Server];

fn text(s: &str) -> Event {
    Event::Message(Message::Text(s.into()))
}

fn binary(b: &[u8]) -> Event {
    Event::Message(Message::Binary(Bytes::copy_from_slice(b)))
}

#[test]
fn messages_of_every_length_form_arrive_intact_both_ways() {
    for sender in ROLES {
        // 16_383 / 16_384: the last length the server copies on its short-frame path, and the
        // first it may queue by reference.
        for &len in &[0usize, 1, 125, 126, 16_383, 16_384, 65_535, 65_536, 200_000] {
            let mut pair = Pair::new().chunked(7_919, len as u64 + 3);
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            pair.side(sender).send_binary(&data).unwrap();
            pair.side(sender).send_text("after").unwrap();
            pair.drive();
            let got = pair.seen(other(sender)).take();
            assert_eq!(
                got,
                vec![binary(&data), text("after")],
                "{sender:?} len {len}"
            );
        }
    }
}

#[test]
fn short_server_frames_carry_the_shortest_length_form() {
    let mut pair = Pair::new();
    pair.server.send_binary(&[7; 125]).unwrap();
    pair.server.send_text(&"a".repeat(126)).unwrap();
    let wire = pair.server.transmit().to_vec();
    assert_eq!(&wire[..2], &[0x82, 125]);
    assert_eq!(&wire[2 + 125..2 + 125 + 4], &[0x81, 126, 0, 126]);
    assert_eq!(wire.len(), 2 + 125 + 4 + 126);
}

#[test]
fn long_messages_are_split_at_the_outgoing_frame_size_and_reassembled() {
    let small = NonZeroUsize::new(1000).unwrap();
    for sender in ROLES {
        let mut pair = Pair::with(
            Config::default().outgoing_frame_size(small),
            Limits::default(),
        );
        let body = "é".repeat(2_500); // 5000 bytes: multi-byte characters straddle frames
        pair.side(sender).send_text(&body).unwrap();
        // 5 frames of 1000 bytes, each with a header.
        let frames = pair.side(sender).transmit().len();
        let header = if sender == Role::Client { 8 } else { 4 };
        assert_eq!(frames, 5 * (1000 + header));
        pair.drive();
        assert_eq!(pair.seen(other(sender)).take(), vec![text(&body)]);
    }
}

#[test]
fn streaming_delivery_hands_out_pieces_that_concatenate_to_the_message() {
    for sender in ROLES {
        let receiver_config = Config::default().delivery(Delivery::Streaming);
        let (cc, sc) = match sender {
            Role::Client => (Config::default(), receiver_config),
            Role::Server => (receiver_config, Config::default()),
        };
        let mut pair =
            Pair::with_each(cc, Limits::default(), sc, Limits::default()).chunked(333, 11);
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31) as u8).collect();
        pair.side(sender).send_binary(&data).unwrap();
        pair.side(sender).send_text("").unwrap();
        pair.drive();
        let events = pair.seen(other(sender)).take();
        let mut joined = Vec::new();
        let mut fins = Vec::new();
        for event in &events {
            let Event::Fragment { kind, data, fin } = event else {
                panic!("{event:?}")
            };
            if *kind == MessageKind::Binary {
                joined.extend_from_slice(data);
            }
            fins.push((*kind, *fin));
        }
        assert_eq!(joined, data);
        assert!(events.len() > 2, "arrived in several pieces");
        let (last_binary, last_text) = (fins[fins.len() - 2], fins[fins.len() - 1]);
        assert_eq!(last_binary, (MessageKind::Binary, true));
        assert_eq!(
            last_text,
            (MessageKind::Text, true),
            "an empty message is one empty fin piece"
        );
        assert_eq!(fins.iter().filter(|(_, fin)| *fin).count(), 2);
    }
}

#[test]
fn text_fragments_are_validated_across_pieces_before_anything_is_sent() {
    for sender in ROLES {
        let mut pair = Pair::new();
        let conn = pair.side(sender);
        let euro = "€".as_bytes(); // three bytes
        // A piece may end inside a character; the next completes it.
        conn.send_fragment(MessageKind::Text, &euro[..1], false)
            .unwrap();
        let queued = conn.buffered_amount();
        // Bytes that cannot continue it are refused, and nothing of them is queued.
        assert_eq!(
            conn.send_fragment(MessageKind::Text, b"\xff", false),
            Err(SendError::InvalidUtf8)
        );
        assert_eq!(conn.buffered_amount(), queued);
        // A last piece that leaves the character unfinished is refused too.
        assert_eq!(
            conn.send_fragment(MessageKind::Text, &euro[1..2], true),
            Err(SendError::InvalidUtf8)
        );
        assert_eq!(conn.buffered_amount(), queued);
        // The message stays open for a corrected piece.
        conn.send_fragment(MessageKind::Text, &euro[1..], true)
            .unwrap();
        // Binary pieces are never checked.
        conn.send_fragment(MessageKind::Binary, b"\xff", true)
            .unwrap();
        pair.drive();
        let got = pair.seen(other(sender)).take();
        assert_eq!(
            got,
            vec![text("€"), Event::Message(Message::binary(vec![0xff]))]
        );
    }
}

#[test]
fn caller_made_fragments_with_interleaved_pings() {
    for sender in ROLES {
        let mut pair = Pair::new();
        let now = pair.now;
        let conn = pair.side(sender);
        conn.send_fragment(MessageKind::Text, "κό".as_bytes(), false)
            .unwrap();
        conn.ping(b"mid", now).unwrap();
        assert_eq!(conn.send_text("no"), Err(SendError::FragmentInProgress));
        // A continuation ignores `kind`; the message stays text.
        conn.send_fragment(MessageKind::Binary, "σμε".as_bytes(), false)
            .unwrap();
        conn.send_fragment(MessageKind::Text, b"", true).unwrap();
        conn.send_text("next").unwrap();
        pair.drive();
        let got = pair.seen(other(sender)).take();
        assert_eq!(
            got,
            vec![
                Event::Ping(Bytes::from_static(b"mid")),
                text("κόσμε"),
                text("next")
            ]
        );
        // The automatic pong came back with the round-trip time.
        let back = pair.seen(sender).take();
        assert!(
            matches!(&back[..], [Event::Pong { rtt: Some(_), .. }]),
            "{back:?}"
        );
    }
}

#[test]
fn ping_is_answered_and_the_pong_reports_the_round_trip_time() {
    for sender in ROLES {
        let mut pair = Pair::new();
        let now = pair.now;
        pair.side(sender).ping(b"hello", now).unwrap();
        pair.transfer(sender);
        pair.sleep(Duration::from_millis(42));
        // The receiver's pong reaches the sender 42 ms later.
        let later = pair.now;
        let receiver = other(sender);
        let pong: Vec<u8> = pair.side(receiver).transmit().to_vec();
        pair.side(receiver).advance_transmit(pong.len());
        pair.side(sender).handle_input(&pong, later);
        pair.poll(sender);
        assert_eq!(
            pair.seen(receiver).take(),
            vec![Event::Ping(Bytes::from_static(b"hello"))]
        );
        assert_eq!(
            pair.seen(sender).take(),
            vec![Event::Pong {
                payload: Bytes::from_static(b"hello"),
                rtt: Some(Duration::from_millis(42))
            }]
        );
    }
}

#[test]
fn unsolicited_pongs_carry_no_rtt_and_auto_pong_can_be_turned_off() {
    for sender in ROLES {
        let quiet = Config::default().auto_pong(false);
        let mut pair = Pair::with(quiet, Limits::default());
        let now = pair.now;
        pair.side(sender).pong(b"beat").unwrap();
        pair.side(sender).ping(b"p", now).unwrap();
        pair.drive();
        let receiver = other(sender);
        assert_eq!(
            pair.seen(receiver).take(),
            vec![
                Event::Pong {
                    payload: Bytes::from_static(b"beat"),
                    rtt: None
                },
                Event::Ping(Bytes::from_static(b"p")),
            ]
        );
        assert!(pair.seen(sender).take().is_empty(), "no automatic pong");
        assert_eq!(
            pair.side(sender).ping(&[0; 126], now),
            Err(SendError::ControlTooLong)
        );
        assert_eq!(
            pair.side(sender).pong(&[0; 126]),
            Err(SendError::ControlTooLong)
        );
    }
}

#[test]
fn close_handshake_from_either_side() {
    for initiator in ROLES {
        let mut pair = Pair::new();
        let now = pair.now;
        let peer = other(initiator);
        pair.side(initiator).send_text("last words").unwrap();
        pair.side(initiator)
            .close(CloseCode::GOING_AWAY, "bye", now)
            .unwrap();
        assert_eq!(pair.side(initiator).state(), State::Closing);
        assert_eq!(
            pair.side(initiator).send_text("more"),
            Err(SendError::Closing)
        );
        assert_eq!(
            pair.side(initiator).close(CloseCode::NORMAL, "", now),
            Err(SendError::Closing)
        );
        pair.drive();
        let got = pair.seen(peer).take();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            text("last words"),
            "data sent before close is delivered first"
        );
        let Event::Close(frame) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(
            (frame.code(), frame.reason()),
            (CloseCode::GOING_AWAY, "bye")
        );
        let echo = pair.seen(initiator).take();
        let [Event::Close(frame)] = &echo[..] else {
            panic!("{echo:?}")
        };
        assert_eq!(
            frame.code(),
            CloseCode::GOING_AWAY,
            "the echo repeats the code"
        );
        for side in ROLES {
            assert_eq!(pair.side(side).state(), State::Closed);
            assert_eq!(pair.side(side).poll_timeout(), None);
            assert_eq!(pair.side(side).send_binary(b"x"), Err(SendError::Closed));
            assert!(pair.side(side).error().is_none());
        }
        assert_eq!(
            pair.side(initiator).close_received().unwrap().code(),
            CloseCode::GOING_AWAY
        );
        assert_eq!(
            pair.side(peer).close_sent().unwrap().code(),
            CloseCode::GOING_AWAY
        );
        // EOF after a clean close is no error.
        let now = pair.now;
        pair.side(initiator).handle_eof(now);
        assert_eq!(pair.side(initiator).poll_event(), Ok(None));
    }
}

#[test]
fn close_without_a_code_is_echoed_without_one() {
    for initiator in ROLES {
        let mut pair = Pair::new();
        let frame = super::pair::raw_frame(initiator, 0x88, b"");
        let peer = other(initiator);
        let now = pair.now;
        pair.side(peer).handle_input(&frame, now);
        pair.poll(peer);
        let got = pair.seen(peer).take();
        let [Event::Close(close)] = &got[..] else {
            panic!("{got:?}")
        };
        assert_eq!(close.code(), CloseCode::NO_STATUS);
        let echo = pair.side(peer).transmit();
        assert_eq!(echo[0], 0x88);
        assert_eq!(echo[1] & 0x7F, 0, "empty close payload");
    }
}

#[test]
fn close_refuses_codes_and_reasons_that_may_not_be_sent() {
    let mut pair = Pair::new();
    let now = pair.now;
    let long = "x".repeat(124);
    assert_eq!(
        pair.client.close(CloseCode::NO_STATUS, "", now),
        Err(SendError::UnsendableCloseCode(CloseCode::NO_STATUS))
    );
    assert_eq!(
        pair.client.close(CloseCode::NORMAL, &long, now),
        Err(SendError::ReasonTooLong)
    );
    assert_eq!(
        pair.client.state(),
        State::Open,
        "refused commands change nothing"
    );
    assert!(
        pair.client
            .close(CloseCode::NORMAL, &long[..123], now)
            .is_ok()
    );
}

#[test]
fn unanswered_close_times_out() {
    for initiator in ROLES {
        let mut pair = Pair::new();
        let now = pair.now;
        pair.side(initiator)
            .close(CloseCode::NORMAL, "", now)
            .unwrap();
        let deadline = pair.side(initiator).poll_timeout().unwrap();
        assert_eq!(deadline - now, Duration::from_secs(5));
        // The peer never hears of it (nothing is transferred).
        pair.side(initiator)
            .handle_timeout(now + Duration::from_millis(4_999));
        assert_eq!(pair.side(initiator).state(), State::Closing);
        pair.side(initiator).handle_timeout(deadline);
        assert_eq!(pair.side(initiator).state(), State::Closed);
        assert!(
            pair.side(initiator).close_received().is_none(),
            "closed without a clean handshake"
        );
    }
}

#[test]
fn eof_without_close_is_abnormal() {
    for side in ROLES {
        let mut pair = Pair::new();
        pair.side(other(side)).send_text("partial").unwrap();
        let bytes = pair.side(other(side)).transmit().to_vec();
        let now = pair.now;
        // Deliver all but the last byte, then end the stream.
        pair.side(side).handle_input(&bytes[..bytes.len() - 1], now);
        pair.side(side).handle_eof(now);
        assert_eq!(
            pair.side(side).poll_event(),
            Err(ConnectionLost::UnexpectedEof.into())
        );
        assert_eq!(
            ConnectionError::from(ConnectionLost::UnexpectedEof).close_code(),
            CloseCode::ABNORMAL
        );
        assert_eq!(pair.side(side).state(), State::Closed);
        assert!(!pair.side(side).wants_write(), "1006 is never sent");
        // Complete events before the EOF are still delivered.
        let mut pair = Pair::new();
        pair.side(other(side)).send_text("whole").unwrap();
        let bytes = pair.side(other(side)).transmit().to_vec();
        pair.side(side).handle_input(&bytes, now);
        pair.side(side).handle_eof(now);
        assert_eq!(pair.side(side).poll_event(), Ok(Some(text("whole"))));
        assert_eq!(
            pair.side(side).poll_event(),
            Err(ConnectionLost::UnexpectedEof.into())
        );
    }
}

#[test]
fn keepalive_pings_an_idle_peer_and_fails_a_silent_one() {
    for side in ROLES {
        let keepalive = Config::default()
            .keepalive_interval(Some(Duration::from_secs(30)))
            .keepalive_timeout(Duration::from_secs(10));
        let (cc, sc) = match side {
            Role::Client => (keepalive, Config::default()),
            Role::Server => (Config::default(), keepalive),
        };
        let mut pair = Pair::with_each(cc, Limits::default(), sc, Limits::default());
        // A live peer answers: the ping goes out after 30 s, the pong resets the timer.
        assert_eq!(
            pair.advance_to_next_timeout(),
            Some(Duration::from_secs(30))
        );
        assert!(matches!(
            pair.seen(other(side)).take()[..],
            [Event::Ping(_)]
        ));
        assert!(matches!(
            pair.seen(side).take()[..],
            [Event::Pong { rtt: Some(_), .. }]
        ));
        assert_eq!(pair.side(side).state(), State::Open);
        // A silent peer: the ping is sent but nothing is delivered back.
        let start = pair.now;
        let next = pair.side(side).poll_timeout().unwrap();
        assert_eq!(next - start, Duration::from_secs(30));
        pair.side(side).handle_timeout(next);
        assert!(pair.side(side).wants_write(), "keepalive ping queued");
        let deadline = pair.side(side).poll_timeout().unwrap();
        assert_eq!(deadline - next, Duration::from_secs(10));
        pair.side(side).handle_timeout(deadline);
        assert_eq!(
            pair.side(side).poll_event(),
            Err(ConnectionLost::KeepaliveTimeout.into())
        );
        assert_eq!(pair.side(side).state(), State::Closed);
    }
}

#[test]
fn write_buffer_high_water_refuses_data_but_not_control_frames() {
    for side in ROLES {
        let mut pair = Pair::with(Config::default(), Limits::default().write_high_water(1000));
        let now = pair.now;
        let conn = pair.side(side);
        conn.send_binary(&[1; 600]).unwrap();
        conn.send_binary(&[2; 600]).unwrap(); // started below the mark: queued whole
        assert!(conn.is_write_buffer_full());
        assert_eq!(conn.send_binary(b"x"), Err(SendError::WriteBufferFull));
        assert_eq!(
            conn.send_fragment(MessageKind::Binary, b"x", true),
            Err(SendError::WriteBufferFull)
        );
        conn.ping(b"still", now).unwrap();
        pair.drive();
        assert!(!pair.side(side).is_write_buffer_full());
        pair.side(side).send_binary(b"x").unwrap();
        pair.drive();
        let got = pair.seen(other(side)).take();
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(got[2], Event::Ping(_)));
    }
}

#[test]
fn a_zero_high_water_mark_lets_one_send_in_at_a_time() {
    for side in ROLES {
        let mut pair = Pair::with(Config::default(), Limits::default().write_high_water(0));
        assert!(
            !pair.side(side).is_write_buffer_full(),
            "an empty queue is never full"
        );
        pair.side(side).send_text("one").unwrap();
        assert_eq!(
            pair.side(side).send_text("two"),
            Err(SendError::WriteBufferFull)
        );
        pair.drive();
        pair.side(side).send_text("two").unwrap();
        pair.drive();
        assert_eq!(
            pair.seen(other(side)).take(),
            vec![text("one"), text("two")]
        );
    }
}

#[test]
fn data_after_the_peers_close_is_ignored() {
    for sender in ROLES {
        let mut pair = Pair::new();
        let mut bytes = super::pair::raw_frame(sender, 0x88, b"\x03\xe8");
        bytes.extend(super::pair::raw_frame(sender, 0x81, b"late"));
        let receiver = other(sender);
        let now = pair.now;
        pair.side(receiver).handle_input(&bytes, now);
        pair.poll(receiver);
        let got = pair.seen(receiver).take();
        assert!(matches!(&got[..], [Event::Close(_)]), "{got:?}");
        pair.side(receiver).handle_input(b"\x81\x00", now);
        assert_eq!(pair.side(receiver).poll_event(), Ok(None));
    }
}

#[test]
fn large_single_frame_message_is_delivered_without_copying_into_a_second_buffer() {
    // A single-frame message is a slice of the read buffer: its pointer lies inside it.
    let mut pair = Pair::new();
    let data = vec![9u8; 100_000];
    pair.client.send_binary(&data).unwrap();
    let wire = pair.client.transmit().to_vec();
    let now = pair.now;
    let buf = pair.server.read_buffer();
    buf.extend_from_slice(&wire);
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    pair.server.handle_read(now);
    let Ok(Some(Event::Message(Message::Binary(got)))) = pair.server.poll_event() else {
        panic!()
    };
    assert_eq!(got.len(), data.len());
    assert!(range.contains(&(got.as_ptr() as usize)));
}

#[test]
fn reads_stop_at_the_end_of_a_large_frame_so_the_next_one_starts_in_fresh_memory() {
    for sender in ROLES {
        let mut pair = Pair::new();
        // Two large messages and a small one, back to back on the wire.
        for size in [100_000usize, 70_000] {
            pair.side(sender).send_binary(&vec![3u8; size]).unwrap();
        }
        pair.side(sender).send_text("small").unwrap();
        let mut wire = pair.side(sender).transmit().to_vec();
        let now = pair.now;
        let receiver = pair.side(other(sender));
        assert_eq!(receiver.read_limit(), usize::MAX, "no frame yet: no limit");
        let mut held = Vec::new(); // delivered messages stay alive, as in an echo's queue
        while !wire.is_empty() {
            // A transport with everything available, reading 30 000 bytes at most per call
            // and honouring the limit.
            let n = wire.len().min(receiver.read_limit()).min(30_000);
            receiver.read_buffer().extend_from_slice(&wire[..n]);
            wire.drain(..n);
            receiver.handle_read(now);
            while let Some(event) = receiver.poll_event().unwrap() {
                let Event::Message(m) = event else {
                    panic!("{event:?}")
                };
                if m.payload().len() > 1000 {
                    assert!(
                        receiver.read_buffer().is_empty(),
                        "{sender:?}: the read that ended a large frame took nothing after it"
                    );
                }
                held.push(m);
            }
        }
        let sizes: Vec<usize> = held.iter().map(|m| m.payload().len()).collect();
        assert_eq!(sizes, [100_000, 70_000, 5], "{sender:?}");
    }
}

#[test]
fn only_large_frames_limit_reads_and_fill_read_buffer_honours_the_limit() {
    let now = crate::Instant::ZERO;
    let mut pair = Pair::new();
    pair.client.send_binary(&[1u8; 60_000]).unwrap();
    let wire = pair.client.transmit().to_vec();
    pair.server.handle_input(&wire[..1_000], now);
    assert_eq!(pair.server.poll_event(), Ok(None));
    assert_eq!(pair.server.read_limit(), usize::MAX, "60 000 < 64 KiB");

    let mut pair = Pair::new();
    pair.client.send_binary(&[1u8; 200_000]).unwrap();
    let wire = pair.client.transmit().to_vec();
    let missing = 10_000;
    pair.server.handle_input(&wire[..wire.len() - missing], now);
    assert_eq!(pair.server.poll_event(), Ok(None));
    assert_eq!(pair.server.read_limit(), missing);
    let offered = pair
        .server
        .fill_read_buffer(now, |buf| {
            let n = buf.len();
            buf.copy_from_slice(&wire[wire.len() - missing..][..n]);
            Ok::<_, ()>(n)
        })
        .unwrap();
    assert_eq!(offered, missing, "zeroed space capped at the limit");
    let Ok(Some(Event::Message(m))) = pair.server.poll_event() else {
        panic!("the message is complete")
    };
    assert_eq!(m.payload().len(), 200_000);
    assert_eq!(pair.server.read_limit(), usize::MAX);
}

#[test]
fn read_space_starts_small_grows_while_reads_fill_it_and_resets_on_release() {
    let now = crate::Instant::ZERO;
    let mut pair = Pair::new();
    let spare = |c: &mut crate::Connection| {
        let buf = c.read_buffer();
        buf.capacity() - buf.len()
    };
    let first = spare(&mut pair.server);
    assert!(
        (128..1024).contains(&first),
        "a fresh connection offers little: {first}"
    );
    // A busy peer: every read fills what it was offered (ping frames, valid input).
    let mut offered = first;
    for _ in 0..12 {
        let ping = super::pair::raw_frame(Role::Client, 0x89, b"");
        let frames: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(offered.div_ceil(6) * 6)
            .collect();
        pair.server.read_buffer().extend_from_slice(&frames);
        pair.server.handle_read(now);
        while let Ok(Some(_)) = pair.server.poll_event() {}
        pair.server.advance_transmit(pair.server.transmit().len());
        offered = spare(&mut pair.server);
    }
    assert!(offered >= 64 * 1024, "grew to the cap: {offered}");
    // A few small messages after that do not shrink it; releasing does.
    pair.client.send_text("hi").unwrap();
    pair.drive();
    assert!(spare(&mut pair.server) >= 64 * 1024);
    pair.server.release_buffers();
    let after = spare(&mut pair.server);
    assert!(after < 1024, "back to the start after release: {after}");
}

#[test]
fn release_buffers_frees_idle_memory() {
    let mut pair = Pair::new();
    pair.client.send_binary(&[0; 50_000]).unwrap();
    pair.drive();
    pair.client.release_buffers();
    pair.server.release_buffers();
    assert_eq!(pair.server.read_buffer_capacity_for_tests(), 0);
    // Everything still works afterwards.
    pair.server.send_text("again").unwrap();
    pair.drive();
    assert_eq!(pair.client_seen.take().last(), Some(&text("again")));
}

#[test]
fn fill_read_buffer_reads_into_zeroed_space_and_reports_eof() {
    let mut pair = Pair::new();
    pair.client.send_text("via fill").unwrap();
    let wire = pair.client.transmit().to_vec();
    let now = pair.now;
    let n = pair
        .server
        .fill_read_buffer(now, |buf| {
            assert!(buf.iter().all(|&b| b == 0));
            buf[..wire.len()].copy_from_slice(&wire);
            Ok::<_, ()>(wire.len())
        })
        .unwrap();
    assert_eq!(n, wire.len());
    assert_eq!(pair.server.poll_event(), Ok(Some(text("via fill"))));
    assert_eq!(
        pair.server
            .fill_read_buffer(now, |_| Err::<usize, _>("boom")),
        Err("boom")
    );
    assert_eq!(pair.server.poll_event(), Ok(None), "an error adds nothing");
    assert_eq!(pair.server.fill_read_buffer(now, |_| Ok::<_, ()>(0)), Ok(0));
    assert_eq!(
        pair.server.poll_event(),
        Err(ConnectionLost::UnexpectedEof.into())
    );
    assert!(pair.server.is_finished());
}

#[test]
fn handshakes_hand_over_to_connections_without_losing_early_frames() {
    use crate::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
    let now = crate::Instant::ZERO;
    let limits = Limits::default();
    let mut rng = super::pair::TestRng(3);
    let request = ClientRequest::from_url("ws://example.com/x").unwrap();
    let mut client_hs = ClientHandshake::new(request, &limits, &mut rng, now, None).unwrap();
    let mut server_hs = ServerHandshake::new(&limits, now, None);
    // The client's first frame travels in the same packet as its request.
    let mut early = crate::Connection::client(
        Config::default(),
        limits.clone(),
        alloc::boxed::Box::new(super::pair::TestRng(9)),
        now,
    );
    early.send_text("early").unwrap();
    let mut wire = client_hs.transmit().to_vec();
    wire.extend_from_slice(early.transmit());
    server_hs.handle_input(&wire).unwrap().unwrap();
    let mut server = server_hs
        .accept_into_connection(Accept::new(), Config::default(), limits.clone(), now)
        .unwrap();
    assert_eq!(server.poll_event(), Ok(Some(text("early"))));
    server.send_text("reply").unwrap();
    // The 101 and the reply leave in one run, in that order.
    let out = server.transmit().to_vec();
    assert!(out.starts_with(b"HTTP/1.1 101 "));
    let accepted = client_hs.handle_input(&out).unwrap().unwrap();
    let mut client = accepted.into_connection(
        Config::default(),
        limits,
        alloc::boxed::Box::new(super::pair::TestRng(5)),
        now,
    );
    assert_eq!(client.poll_event(), Ok(Some(text("reply"))));
}
