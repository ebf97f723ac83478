//! The extension interface, exercised with a toy transform (XOR with a constant, RSV1), so the
//! plumbing permessage-deflate relies on is tested on its own: RSV1 accepted only with an
//! extension and only on a message's first frame, payloads transformed both ways, and decoding
//! bounded by the message limit.

use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::BytesMut;

use super::pair::{Pair, other, raw_frame};
use crate::{
    Config, Delivery, Event, Extension, ExtensionError, Limits, MessageKind, ProtocolError, Role,
};

/// XORs payloads with 0x5A and marks them with RSV1; expands each byte to `expand` bytes on
/// decode to imitate decompression.
struct Xor {
    expand: usize,
}

impl Extension for Xor {
    fn rsv_bits(&self) -> u8 {
        0x40
    }

    fn decode(
        &mut self,
        input: &[u8],
        _fin: bool,
        out: &mut BytesMut,
        max_out: usize,
    ) -> Result<(), ExtensionError> {
        if input.len() * self.expand > max_out {
            return Err(ExtensionError::TooLarge);
        }
        for byte in input {
            for _ in 0..self.expand {
                out.extend_from_slice(&[byte ^ 0x5A]);
            }
        }
        Ok(())
    }

    fn encode(
        &mut self,
        _kind: MessageKind,
        input: &[u8],
        out: &mut BytesMut,
    ) -> Result<Option<u8>, ExtensionError> {
        if input.starts_with(b"plain") {
            return Ok(None);
        }
        out.extend(input.iter().map(|b| b ^ 0x5A));
        Ok(Some(0x40))
    }
}

fn pair_with_extension(limits: Limits, delivery: Delivery) -> Pair {
    let mut pair = Pair::with(Config::default().delivery(delivery), limits);
    pair.client = core::mem::replace(&mut pair.client, placeholder())
        .with_extension(Box::new(Xor { expand: 1 }));
    pair.server = core::mem::replace(&mut pair.server, placeholder())
        .with_extension(Box::new(Xor { expand: 1 }));
    pair
}

fn placeholder() -> crate::Connection {
    crate::Connection::server(Config::default(), Limits::default(), crate::Instant::ZERO)
}

#[test]
fn transformed_messages_round_trip_with_rsv1_on_the_first_frame_only() {
    for delivery in [Delivery::Whole, Delivery::Streaming] {
        for sender in [Role::Client, Role::Server] {
            let mut pair = pair_with_extension(Limits::default(), delivery).chunked(5, 3);
            pair.side(sender).send_text("hello").unwrap();
            assert_eq!(pair.side(sender).transmit()[0], 0xC1, "fin + rsv1 + text");
            pair.side(sender).send_binary(b"plain bytes").unwrap(); // extension declines
            pair.drive();
            let mut joined: Vec<(MessageKind, Vec<u8>)> = Vec::new();
            let mut current = Vec::new();
            for event in pair.seen(other(sender)).take() {
                match event {
                    Event::Message(m) => joined.push((m.kind(), m.payload().to_vec())),
                    Event::Fragment { kind, data, fin } => {
                        current.extend_from_slice(&data);
                        if fin {
                            joined.push((kind, core::mem::take(&mut current)));
                        }
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(
                joined,
                [
                    (MessageKind::Text, b"hello".to_vec()),
                    (MessageKind::Binary, b"plain bytes".to_vec())
                ]
            );
        }
    }
}

#[test]
fn rsv1_on_a_continuation_is_rejected_even_with_the_extension() {
    for sender in [Role::Client, Role::Server] {
        let mut pair = pair_with_extension(Limits::default(), Delivery::Whole);
        let mut wire = raw_frame(sender, 0x41, b"a");
        wire.extend(raw_frame(sender, 0xC0, b"b"));
        let now = pair.now;
        let receiver = pair.side(other(sender));
        receiver.handle_input(&wire, now);
        assert_eq!(
            receiver.poll_event(),
            Err(ProtocolError::ReservedBits(4).into())
        );
    }
}

#[test]
fn decoding_is_bounded_by_the_message_limit() {
    for sender in [Role::Client, Role::Server] {
        let mut pair = pair_with_extension(Limits::default(), Delivery::Whole);
        let receiver = other(sender);
        // Re-create the receiver with a 1000-byte limit and an extension that expands 100x.
        let limits = Limits::default().max_message_size(1000);
        let fresh = match receiver {
            Role::Client => crate::Connection::client(
                Config::default(),
                limits,
                Box::new(super::pair::TestRng(1)),
                pair.now,
            ),
            Role::Server => crate::Connection::server(Config::default(), limits, pair.now),
        };
        *pair.side(receiver) = fresh.with_extension(Box::new(Xor { expand: 100 }));
        // 11 bytes expand to 1100 > 1000.
        pair.side(sender).send_binary(b"eleven byte").unwrap();
        pair.drive();
        assert_eq!(
            pair.seen(receiver).errors,
            [ProtocolError::MessageTooLarge { limit: 1000 }.into()]
        );
        assert_eq!(
            ProtocolError::MessageTooLarge { limit: 1000 }
                .close_code()
                .as_u16(),
            1009
        );
    }
}
