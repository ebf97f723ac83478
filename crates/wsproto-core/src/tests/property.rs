//! Property test: random message sequences between two well-behaved peers arrive intact and in
//! order, whatever the chunking, and both sides then close cleanly.

use alloc::vec::Vec;
use core::num::NonZeroUsize;

use super::pair::{Pair, TestRng};
use crate::{CloseCode, Config, Delivery, Event, Limits, Message, MessageKind, Role, State};

/// A message as the receiver should see it.
#[derive(Debug, PartialEq)]
struct Expected {
    kind: MessageKind,
    data: Vec<u8>,
}

fn random_payload(rng: &mut TestRng, kind: MessageKind) -> Vec<u8> {
    // Mostly small, sometimes up to 1 MiB.
    let len = match rng.below(10) {
        0 => rng.below(1 << 20) as usize,
        1..=3 => rng.below(70_000) as usize,
        _ => rng.below(200) as usize,
    };
    match kind {
        MessageKind::Binary => (0..len).map(|_| rng.below(256) as u8).collect(),
        MessageKind::Text => {
            let alphabet = ["a", "é", "€", "😀", " ", "κ"];
            let mut s = alloc::string::String::new();
            while s.len() < len {
                s.push_str(alphabet[rng.below(alphabet.len() as u64) as usize]);
            }
            s.into_bytes()
        }
    }
}

/// Runs one seeded scenario and checks every invariant.
fn run(seed: u64) {
    run_with(seed, false);
}

/// Installs permessage-deflate on both sides, negotiated with random parameters.
#[cfg(feature = "deflate")]
fn compress(pair: &mut Pair, rng: &mut TestRng) {
    use crate::deflate::DeflateConfig;
    use crate::handshake::parse_extensions;
    let client = DeflateConfig::default()
        .client_no_context_takeover(rng.below(2) == 0)
        .server_no_context_takeover(rng.below(2) == 0)
        .server_max_window_bits((rng.below(2) == 0).then(|| 9 + rng.below(7) as u8))
        .threshold(rng.below(100) as usize);
    let server = DeflateConfig::default()
        .client_max_window_bits((rng.below(2) == 0).then(|| 9 + rng.below(7) as u8));
    let offer = parse_extensions([client.client_offer().as_bytes()]).unwrap();
    let (answer, server_ext) = server.negotiate(&offer).unwrap();
    let answer = parse_extensions([answer.as_bytes()]).unwrap();
    let client_ext = client.accept_response(&answer[0]).unwrap();
    let placeholder = || crate::Connection::server(Config::default(), Limits::default(), pair.now);
    pair.client = core::mem::replace(&mut pair.client, placeholder())
        .with_extension(alloc::boxed::Box::new(client_ext));
    pair.server = core::mem::replace(&mut pair.server, placeholder())
        .with_extension(alloc::boxed::Box::new(server_ext));
}

fn run_with(seed: u64, compressed: bool) {
    let mut rng = TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let frame_size = NonZeroUsize::new(1 + rng.below(100_000) as usize).unwrap();
    let delivery = if rng.below(2) == 0 {
        Delivery::Whole
    } else {
        Delivery::Streaming
    };
    let config = Config::default()
        .outgoing_frame_size(frame_size)
        .delivery(delivery);
    let limits = Limits::default().write_high_water(usize::MAX);
    let max_chunk = 1 + rng.below(20_000) as usize;
    let mut pair = Pair::with(config, limits).chunked(max_chunk, seed);
    #[cfg(feature = "deflate")]
    if compressed {
        compress(&mut pair, &mut rng);
    }
    #[cfg(not(feature = "deflate"))]
    let _ = compressed;
    let mut expected: [Vec<Expected>; 2] = [Vec::new(), Vec::new()];

    for _ in 0..rng.below(25) {
        let sender = if rng.below(2) == 0 {
            Role::Client
        } else {
            Role::Server
        };
        let kind = if rng.below(2) == 0 {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        let data = random_payload(&mut rng, kind);
        let now = pair.now;
        let conn = pair.side(sender);
        match rng.below(4) {
            0 => {
                // Caller-made fragments at random cut points, with a ping in between.
                let cuts = 1 + rng.below(4) as usize;
                let mut start = 0;
                for i in 0..cuts {
                    let end = if i + 1 == cuts {
                        data.len()
                    } else {
                        start + rng.below((data.len() - start) as u64 + 1) as usize
                    };
                    conn.send_fragment(kind, &data[start..end], i + 1 == cuts)
                        .unwrap();
                    if rng.below(2) == 0 {
                        conn.ping(b"p", now).unwrap();
                    }
                    start = end;
                }
            }
            1 => conn
                .send(match kind {
                    MessageKind::Text => Message::Text(
                        alloc::string::String::from_utf8(data.clone())
                            .unwrap()
                            .into(),
                    ),
                    MessageKind::Binary => Message::Binary(data.clone().into()),
                })
                .unwrap(),
            _ => match kind {
                MessageKind::Text => conn
                    .send_text(core::str::from_utf8(&data).unwrap())
                    .unwrap(),
                MessageKind::Binary => conn.send_binary(&data).unwrap(),
            },
        }
        if rng.below(3) == 0 {
            conn.ping(&data[..data.len().min(125)], now).unwrap();
        }
        let receiver = usize::from(sender == Role::Client);
        expected[receiver].push(Expected { kind, data });
        if rng.below(3) == 0 {
            pair.drive();
        }
    }
    pair.drive();
    let closer = if rng.below(2) == 0 {
        Role::Client
    } else {
        Role::Server
    };
    let now = pair.now;
    pair.side(closer)
        .close(CloseCode::NORMAL, "done", now)
        .unwrap();
    pair.drive();

    for (index, role) in [(0, Role::Client), (1, Role::Server)] {
        let seen = pair.seen(role);
        assert!(
            seen.errors.is_empty(),
            "seed {seed}: {role:?} errors {:?}",
            seen.errors
        );
        let mut got = Vec::new();
        let mut partial: Option<Expected> = None;
        let mut closes = 0;
        for event in seen.take() {
            match event {
                Event::Message(message) => got.push(Expected {
                    kind: message.kind(),
                    data: message.payload().to_vec(),
                }),
                Event::Fragment { kind, data, fin } => {
                    let current = partial.get_or_insert(Expected {
                        kind,
                        data: Vec::new(),
                    });
                    assert_eq!(current.kind, kind, "seed {seed}");
                    current.data.extend_from_slice(&data);
                    if fin {
                        got.extend(partial.take());
                    }
                }
                Event::Close(frame) => {
                    closes += 1;
                    assert_eq!(frame.code(), CloseCode::NORMAL);
                }
                Event::Ping(_) | Event::Pong { .. } => {}
            }
        }
        assert!(partial.is_none(), "seed {seed}: unfinished message");
        assert_eq!(closes, 1, "seed {seed}");
        assert_eq!(got.len(), expected[index].len(), "seed {seed} {role:?}");
        for (i, (g, e)) in got.iter().zip(&expected[index]).enumerate() {
            assert!(
                g == e,
                "seed {seed} {role:?} message {i} differs ({} vs {} bytes)",
                g.data.len(),
                e.data.len()
            );
        }
        assert_eq!(pair.side(role).state(), State::Closed, "seed {seed}");
        assert!(!pair.side(role).wants_write(), "seed {seed}");
    }
}

#[test]
fn random_sequences_arrive_intact_and_close_cleanly() {
    for seed in 0..60 {
        run(seed);
    }
}

#[cfg(feature = "deflate")]
#[test]
fn random_sequences_arrive_intact_with_compression_on() {
    for seed in 0..40 {
        run_with(seed, true);
    }
}
