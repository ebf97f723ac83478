//! Negotiation tables for both roles, round trips through the Pair harness under every
//! context-takeover combination, window sizes really honoured, and the decompression bomb.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::handshake::parse_extensions;
use crate::tests::pair::{Pair, TestRng, other};
use crate::{Config, Connection, Delivery, Event, Instant, Limits, Message, ProtocolError, Role};

fn parse(header: &str) -> Vec<ExtensionParams> {
    parse_extensions([header.as_bytes()]).unwrap()
}

#[test]
fn client_offers_announce_what_they_accept() {
    assert_eq!(
        DeflateConfig::default().client_offer(),
        "permessage-deflate; client_max_window_bits"
    );
    let offer = DeflateConfig::default()
        .client_no_context_takeover(true)
        .server_no_context_takeover(true)
        .client_max_window_bits(Some(10))
        .server_max_window_bits(Some(12))
        .client_offer();
    assert_eq!(
        offer,
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
         client_max_window_bits=10; server_max_window_bits=12"
    );
    // Every offer we make parses back as a valid offer.
    assert!(Params::parse(&parse(&offer)[0]).is_ok());
}

#[test]
fn server_answers_follow_the_offer() {
    let server = DeflateConfig::default();
    let cases: &[(&str, Option<&str>)] = &[
        ("permessage-deflate", Some("permessage-deflate")),
        (
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate"),
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            Some("permessage-deflate; client_no_context_takeover"),
        ),
        (
            "permessage-deflate; server_max_window_bits=10",
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
        ("permessage-deflate; server_max_window_bits=8", None),
        (
            "permessage-deflate; server_max_window_bits=8, permessage-deflate",
            Some("permessage-deflate"),
        ),
        ("permessage-deflate; server_max_window_bits=16", None),
        ("permessage-deflate; server_max_window_bits", None),
        ("permessage-deflate; server_max_window_bits=010", None),
        ("permessage-deflate; client_max_window_bits=7", None),
        ("permessage-deflate; unknown_param", None),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            None,
        ),
        ("permessage-deflate; server_no_context_takeover=1", None),
        ("x-webkit-deflate-frame", None),
        (
            "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits",
            Some("permessage-deflate"),
        ),
    ];
    for (offer, answer) in cases {
        let got = server.negotiate(&parse(offer)).map(|(answer, _)| answer);
        assert_eq!(got.as_deref(), *answer, "offer {offer:?}");
    }
    // A server that wants to limit the client does so only when the client offered it.
    let limiting = DeflateConfig::default()
        .client_max_window_bits(Some(10))
        .server_no_context_takeover(true);
    let (answer, _) = limiting
        .negotiate(&parse("permessage-deflate; client_max_window_bits"))
        .unwrap();
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
    );
    let (answer, _) = limiting
        .negotiate(&parse("permessage-deflate; client_max_window_bits=9"))
        .unwrap();
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"
    );
    let (answer, _) = limiting.negotiate(&parse("permessage-deflate")).unwrap();
    assert_eq!(answer, "permessage-deflate; server_no_context_takeover");
}

#[test]
fn client_checks_the_servers_answer() {
    let client = DeflateConfig::default().server_max_window_bits(Some(12));
    let ok = [
        "permessage-deflate; server_max_window_bits=12",
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=10; server_no_context_takeover; client_no_context_takeover",
    ];
    for answer in ok {
        assert!(
            client.accept_response(&parse(answer)[0]).is_ok(),
            "{answer}"
        );
    }
    let bad: &[(&str, DeflateError)] = &[
        (
            "permessage-deflate",
            DeflateError::ViolatesOffer("server window larger than requested"),
        ),
        (
            "permessage-deflate; server_max_window_bits=13",
            DeflateError::ViolatesOffer("server window larger than requested"),
        ),
        (
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits",
            DeflateError::InvalidValue("client_max_window_bits".into()),
        ),
        (
            "permessage-deflate; server_max_window_bits=12; foo=bar",
            DeflateError::UnknownParameter("foo".into()),
        ),
        (
            "permessage-deflate; server_max_window_bits=12; server_max_window_bits=12",
            DeflateError::DuplicateParameter("server_max_window_bits".into()),
        ),
        (
            "permessage-deflate; server_max_window_bits=99",
            DeflateError::InvalidValue("server_max_window_bits".into()),
        ),
    ];
    for (answer, error) in bad {
        assert_eq!(
            client.accept_response(&parse(answer)[0]).err().as_ref(),
            Some(error),
            "{answer}"
        );
    }
    let limited = DeflateConfig::default().client_max_window_bits(Some(10));
    assert_eq!(
        limited
            .accept_response(&parse("permessage-deflate; client_max_window_bits=11")[0])
            .err(),
        Some(DeflateError::ViolatesOffer(
            "client_max_window_bits above the offered value"
        ))
    );
    let asked = DeflateConfig::default().server_no_context_takeover(true);
    assert!(
        asked
            .accept_response(&parse("permessage-deflate")[0])
            .is_err()
    );
}

/// A pair whose two sides negotiated `offer`/`server` through the real functions.
fn negotiated_pair(
    client: &DeflateConfig,
    server: &DeflateConfig,
    delivery: Delivery,
    limits: Limits,
) -> Pair {
    let (answer, server_ext) = server
        .negotiate(&parse(&client.client_offer()))
        .expect("accepted");
    let client_ext = client
        .accept_response(&parse(&answer)[0])
        .expect("valid answer");
    let mut pair = Pair::with(Config::default().delivery(delivery), limits.clone());
    let now = pair.now;
    pair.client = Connection::client(
        Config::default().delivery(delivery),
        limits.clone(),
        Box::new(TestRng(11)),
        now,
    )
    .with_extension(Box::new(client_ext));
    pair.server = Connection::server(Config::default().delivery(delivery), limits, now)
        .with_extension(Box::new(server_ext));
    pair
}

fn sample_text(seed: u64, len: usize) -> String {
    let words = [
        "alpha ",
        "beta ",
        "gamma ",
        "delta ",
        "κόσμε ",
        "😀 ",
        "epsilon ",
    ];
    let mut rng = TestRng(seed | 1);
    let mut s = String::new();
    while s.len() < len {
        s.push_str(words[rng.below(words.len() as u64) as usize]);
    }
    s
}

fn joined(events: Vec<Event>) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut current: Option<(crate::MessageKind, Vec<u8>)> = None;
    for event in events {
        match event {
            Event::Message(m) => messages.push(m),
            Event::Fragment { kind, data, fin } => {
                current
                    .get_or_insert((kind, Vec::new()))
                    .1
                    .extend_from_slice(&data);
                if fin {
                    let (kind, data) = current.take().unwrap();
                    messages.push(match kind {
                        crate::MessageKind::Text => Message::text(String::from_utf8(data).unwrap()),
                        crate::MessageKind::Binary => Message::binary(data),
                    });
                }
            }
            _ => {}
        }
    }
    messages
}

#[test]
fn messages_round_trip_under_every_context_takeover_combination_in_both_roles() {
    for client_reset in [false, true] {
        for server_reset in [false, true] {
            for delivery in [Delivery::Whole, Delivery::Streaming] {
                let client = DeflateConfig::default()
                    .client_no_context_takeover(client_reset)
                    .server_no_context_takeover(server_reset);
                let server = DeflateConfig::default();
                for sender in [Role::Client, Role::Server] {
                    let mut pair = negotiated_pair(&client, &server, delivery, Limits::default())
                        .chunked(701, 5);
                    let mut sent = Vec::new();
                    for (i, len) in [0usize, 10, 100, 5_000, 300_000, 40].iter().enumerate() {
                        let text = sample_text(i as u64, *len);
                        pair.side(sender).send_text(&text).unwrap();
                        sent.push(Message::text(text));
                    }
                    let binary: Vec<u8> = (0..70_000u32).map(|i| (i % 7) as u8).collect();
                    pair.side(sender).send_binary(&binary).unwrap();
                    sent.push(Message::binary(binary));
                    pair.drive();
                    let receiver = other(sender);
                    assert!(
                        pair.seen(receiver).errors.is_empty(),
                        "{:?}",
                        pair.seen(receiver).errors
                    );
                    let got = joined(pair.seen(receiver).take());
                    assert_eq!(
                        got, sent,
                        "client_reset {client_reset} server_reset {server_reset} {delivery:?} {sender:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn compression_shrinks_repetitive_messages_and_sets_rsv1_on_the_first_frame_only() {
    let mut pair = negotiated_pair(
        &DeflateConfig::default(),
        &DeflateConfig::default(),
        Delivery::Whole,
        Limits::default(),
    );
    let text = "abc".repeat(100_000);
    pair.server.send_text(&text).unwrap();
    let wire = pair.server.transmit().to_vec();
    assert_eq!(wire[0], 0xC1, "fin, rsv1, text");
    assert!(
        wire.len() < 5_000,
        "300 KB of repetition compresses to {} bytes",
        wire.len()
    );
    // Below the threshold: sent as is, RSV1 clear.
    pair.server.advance_transmit(wire.len());
    pair.server.send_text("tiny").unwrap();
    assert_eq!(pair.server.transmit()[0], 0x81);
    // Opted out per message: large but uncompressed, and the next one compresses again, its
    // context untouched by the uncompressed one (a fresh pair: the bytes above were dropped).
    let mut pair = negotiated_pair(
        &DeflateConfig::default(),
        &DeflateConfig::default(),
        Delivery::Whole,
        Limits::default(),
    );
    pair.server.send_text(&text).unwrap();
    pair.server
        .send_uncompressed(Message::text(text.clone()))
        .unwrap();
    let compressed_len = wire.len();
    assert_eq!(
        pair.server.buffered_amount(),
        compressed_len + 10 + text.len(),
        "second one sent as is"
    );
    pair.server.send_text(&text).unwrap();
    pair.drive();
    let got = joined(pair.client_seen.take());
    assert!(
        got.len() == 3 && got.iter().all(|m| m == &Message::text(text.clone())),
        "all three decode"
    );
}

#[test]
fn small_windows_are_really_used_when_compressing() {
    // 1000 random bytes repeated 20 times: the only matches are 1000 bytes back. A compressor
    // held to a 9-bit (512-byte) window cannot use them and must send ~20 KB; with the full
    // window the message shrinks to about one block. Both must still decode.
    let mut rng = TestRng(99);
    let block: Vec<u8> = (0..1000).map(|_| rng.below(256) as u8).collect();
    let data = block.repeat(20);
    let compressed_size = |client: DeflateConfig| {
        let mut pair = negotiated_pair(
            &client,
            &DeflateConfig::default(),
            Delivery::Whole,
            Limits::default(),
        );
        pair.server.send_binary(&data).unwrap();
        let size = pair.server.buffered_amount();
        pair.drive();
        let got = joined(pair.client_seen.take());
        assert!(got == [Message::binary(data.clone())], "decodes intact");
        size
    };
    let narrow = compressed_size(DeflateConfig::default().server_max_window_bits(Some(9)));
    let wide = compressed_size(DeflateConfig::default());
    assert!(narrow > 18_000, "9-bit window: {narrow} bytes");
    assert!(wide < 3_000, "15-bit window: {wide} bytes");
}

#[test]
fn a_decompression_bomb_stops_at_the_message_limit() {
    for sender in [Role::Client, Role::Server] {
        let limits = Limits::default().max_message_size(1 << 20);
        // The sender's own limits do not matter; the receiver's do.
        let mut pair = negotiated_pair(
            &DeflateConfig::default(),
            &DeflateConfig::default(),
            Delivery::Whole,
            limits,
        );
        let zeros = vec![0u8; 64 << 20]; // 64 MiB of zeros deflate to ~64 KB
        pair.side(sender).send_binary(&zeros).unwrap();
        let wire_len = pair.side(sender).buffered_amount();
        assert!(
            wire_len < 1 << 20,
            "the bomb ({wire_len} bytes) is itself under the limit"
        );
        pair.drive();
        let receiver = other(sender);
        assert_eq!(
            pair.seen(receiver).errors,
            [ProtocolError::MessageTooLarge { limit: 1 << 20 }.into()]
        );
        assert!(pair.side(receiver).read_buffer_capacity_for_tests() <= 1 << 20);
    }
}

#[test]
fn corrupt_compressed_data_fails_with_1002() {
    let mut pair = negotiated_pair(
        &DeflateConfig::default(),
        &DeflateConfig::default(),
        Delivery::Whole,
        Limits::default(),
    );
    let frame = crate::tests::pair::raw_frame(Role::Client, 0xC2, &[0xFF, 0xFF, 0xFF, 0xFF, 0x00]);
    pair.server.handle_input(&frame, Instant::ZERO);
    let error = pair.server.poll_event().unwrap_err();
    assert!(
        matches!(
            error,
            crate::ConnectionError::Protocol(ProtocolError::Extension(_))
        ),
        "{error:?}"
    );
    assert_eq!(error.close_code().as_u16(), 1002);
}

/// Regression (found by the `deflate` fuzz target): an empty message right after a compressed
/// one made the compressor loop forever, since zlib writes nothing for a second flush.
#[test]
fn empty_message_after_a_compressed_one_does_not_hang() {
    let config = DeflateConfig::default().threshold(0);
    let mut pair = negotiated_pair(&config, &config, Delivery::Whole, Limits::default());
    pair.client.send_text("hello hello hello").unwrap();
    pair.client.send_text("").unwrap();
    pair.client.send_binary(b"").unwrap();
    pair.client.send_text("after").unwrap();
    pair.drive();
    let got = joined(pair.server_seen.take());
    assert_eq!(
        got,
        [
            Message::text("hello hello hello"),
            Message::text(""),
            Message::binary(Vec::new()),
            Message::text("after")
        ]
    );
}
