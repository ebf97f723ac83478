//! Byte streams over a connection: half-closing (a Close that ends only the peer's sending
//! side), and the reader and writer of `byte_stream` carrying bytes across message boundaries
//! — each in both roles.

use alloc::vec::Vec;
use core::num::NonZeroUsize;

use super::pair::{Pair, other};
use crate::byte_stream::{ByteReader, ByteStreamError, ByteWriter, TextMessages};
use crate::{
    CloseCode, Config, Delivery, Event, Limits, Message, MessageKind, Role, SendError, State,
};

const ROLES: [Role; 2] = [Role::Client, Role::Server];

fn half_closing() -> Config {
    Config::default().half_close(true)
}

#[test]
fn a_half_closed_side_keeps_sending_until_it_answers_the_close() {
    for closer in ROLES {
        let peer = other(closer);
        let mut pair = Pair::with(half_closing(), Limits::default());
        let now = pair.now;
        pair.side(closer).close(CloseCode::NORMAL, "", now).unwrap();
        pair.drive();
        assert!(matches!(&pair.seen(peer).take()[..], [Event::Close(_)]));
        assert_eq!(pair.side(peer).state(), State::Closing);
        assert!(
            pair.side(peer).transmit().is_empty(),
            "the answer waits for the application"
        );

        // The half-closed side still sends data; the closer still receives it.
        pair.side(peer).send_binary(b"the rest").unwrap();
        pair.side(peer)
            .send_fragment(MessageKind::Text, b"and more", true)
            .unwrap();
        assert_eq!(pair.side(peer).ping(b"", now), Err(SendError::Closing));
        pair.drive();
        let seen = pair.seen(closer).take();
        assert!(
            matches!(&seen[..], [Event::Message(Message::Binary(a)), Event::Message(Message::Text(b))]
                if a.as_ref() == b"the rest" && b.as_str() == "and more"),
            "{seen:?}"
        );

        // Its close is the answer: both ends are closed, with the codes each side chose.
        pair.side(peer)
            .close(CloseCode::NORMAL, "done too", now)
            .unwrap();
        assert_eq!(pair.side(peer).send_binary(b"late"), Err(SendError::Closed));
        pair.drive();
        assert_eq!(pair.side(peer).state(), State::Closed);
        assert_eq!(pair.side(closer).state(), State::Closed);
        assert!(matches!(
            &pair.seen(closer).take()[..],
            [Event::Close(frame)] if frame.reason() == "done too"
        ));
        assert_eq!(pair.side(peer).poll_timeout(), None);
    }
}

#[test]
fn without_half_close_the_close_is_answered_at_once() {
    for closer in ROLES {
        let peer = other(closer);
        let mut pair = Pair::new();
        let now = pair.now;
        pair.side(closer).close(CloseCode::NORMAL, "", now).unwrap();
        pair.drive();
        assert_eq!(pair.side(peer).state(), State::Closed);
        assert_eq!(pair.side(peer).send_binary(b"x"), Err(SendError::Closed));
        assert_eq!(
            pair.side(peer).close(CloseCode::NORMAL, "", now),
            Err(SendError::Closed)
        );
    }
}

#[test]
fn the_closer_gives_up_on_a_half_closed_peer_after_its_close_timeout() {
    for closer in ROLES {
        let peer = other(closer);
        let mut pair = Pair::with(half_closing(), Limits::default());
        let now = pair.now;
        pair.side(closer).close(CloseCode::NORMAL, "", now).unwrap();
        pair.drive();
        let waited = pair.advance_to_next_timeout();
        assert_eq!(waited, Some(Config::default().get_close_timeout()));
        assert_eq!(pair.side(closer).state(), State::Closed);
        assert_eq!(pair.side(peer).state(), State::Closing, "still half-closed");
    }
}

/// Writes `data` through a writer in `step`-byte writes, flushing at the end, and returns what
/// the other side's reader reads back, message by message.
fn carry(pair: &mut Pair, from: Role, data: &[u8], step: usize) -> (Vec<u8>, usize) {
    let to = other(from);
    let mut writer = ByteWriter::for_connection(pair.side(from));
    for piece in data.chunks(step) {
        let mut rest = piece;
        while !rest.is_empty() {
            let taken = writer.write(pair.side(from), rest).unwrap();
            rest = &rest[taken..];
            pair.drive();
        }
    }
    writer.flush(pair.side(from)).unwrap();
    pair.drive();
    let events = pair.seen(to).take();
    let messages = events.len();
    let mut reader = ByteReader::new(TextMessages::Reject);
    let mut out = Vec::new();
    let mut buf = [0; 1000];
    for event in events {
        reader.handle_event(event).unwrap();
        loop {
            let n = reader.read_into(&mut buf);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
    (out, messages)
}

#[test]
fn small_writes_leave_as_few_messages_of_the_frame_size() {
    for from in ROLES {
        let frame = 4096;
        let config = Config::default().outgoing_frame_size(NonZeroUsize::new(frame).unwrap());
        let mut pair = Pair::with(config, Limits::default());
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (out, messages) = carry(&mut pair, from, &data, 100);
        assert_eq!(out, data);
        // 100 000 bytes in 4 KiB messages: 25 messages (24 full, one tail), not 1 000.
        assert_eq!(messages, data.len().div_ceil(frame));
    }
}

#[test]
fn large_writes_go_out_in_whole_messages() {
    for from in ROLES {
        let config = Config::default().outgoing_frame_size(NonZeroUsize::new(1000).unwrap());
        let mut pair = Pair::with(config, Limits::default());
        let data: Vec<u8> = (0..10_500u32).map(|i| (i % 256) as u8).collect();
        let (out, messages) = carry(&mut pair, from, &data, 10_500);
        assert_eq!(out, data);
        assert_eq!(messages, 11);
    }
}

#[test]
fn a_full_write_buffer_takes_nothing() {
    for from in ROLES {
        let limits = Limits::default().write_high_water(10);
        let config = Config::default().outgoing_frame_size(NonZeroUsize::new(16).unwrap());
        let mut pair = Pair::with(config, limits);
        let mut writer = ByteWriter::for_connection(pair.side(from));
        // The first message fills the queue past its mark; a whole message more is refused,
        // smaller writes fill the next message, which waits.
        assert_eq!(writer.write(pair.side(from), &[1; 16]).unwrap(), 16);
        assert_eq!(
            writer.write(pair.side(from), &[2; 16]),
            Err(SendError::WriteBufferFull)
        );
        assert_eq!(writer.write(pair.side(from), &[2; 8]).unwrap(), 8);
        assert_eq!(writer.write(pair.side(from), &[2; 8]).unwrap(), 8);
        assert_eq!(writer.pending(), 16);
        assert_eq!(
            writer.write(pair.side(from), &[3; 16]),
            Err(SendError::WriteBufferFull)
        );
        assert_eq!(writer.pending(), 16, "nothing taken");
        pair.drive();
        writer.flush(pair.side(from)).unwrap();
        pair.drive();
        assert_eq!(pair.seen(other(from)).take().len(), 2);
    }
}

#[test]
fn text_is_refused_once_per_message_or_passed_through() {
    let text = |data: &str, fin| Event::Fragment {
        kind: MessageKind::Text,
        data: bytes::Bytes::copy_from_slice(data.as_bytes()),
        fin,
    };
    let binary = |data: &'static [u8]| Event::Message(Message::binary(data));

    let mut reader = ByteReader::new(TextMessages::Reject);
    assert_eq!(
        reader.handle_event(text("ab", false)),
        Err(ByteStreamError::TextMessage)
    );
    assert_eq!(
        reader.handle_event(text("cd", true)),
        Ok(()),
        "rest dropped"
    );
    reader.handle_event(binary(b"ok")).unwrap();
    assert_eq!(reader.buffered(), b"ok");
    reader.consume(2);
    assert_eq!(
        reader.handle_event(Event::Message(Message::text("whole"))),
        Err(ByteStreamError::TextMessage)
    );
    assert!(reader.buffered().is_empty());

    let mut reader = ByteReader::new(TextMessages::PassThrough);
    reader.handle_event(text("ab", false)).unwrap();
    reader.handle_event(text("cd", true)).unwrap();
    assert_eq!(reader.buffered(), b"abcd");
}

#[test]
fn the_close_ends_the_stream_after_the_data_before_it() {
    for from in ROLES {
        let config = Config::default().delivery(Delivery::Streaming);
        let mut pair = Pair::with(config, Limits::default());
        let now = pair.now;
        pair.side(from).send_binary(b"last words").unwrap();
        pair.side(from).close(CloseCode::NORMAL, "", now).unwrap();
        pair.drive();
        let mut reader = ByteReader::new(TextMessages::Reject);
        for event in pair.seen(other(from)).take() {
            reader.handle_event(event).unwrap();
        }
        assert!(!reader.is_at_end(), "data is still buffered");
        assert_eq!(reader.buffered(), b"last words");
        reader.consume(100);
        assert!(reader.is_at_end());
    }
}

#[test]
fn a_half_closed_side_schedules_no_keepalive() {
    for closer in ROLES {
        let peer = other(closer);
        let config = half_closing().keepalive_interval(Some(core::time::Duration::from_secs(1)));
        let mut pair = Pair::with(config, Limits::default());
        let now = pair.now;
        pair.side(closer).close(CloseCode::NORMAL, "", now).unwrap();
        pair.drive();
        assert!(pair.side(peer).is_half_closed());
        assert_eq!(pair.side(peer).poll_timeout(), None, "no ping can be sent");
    }
}
