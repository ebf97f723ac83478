//! Messages over real loopback TCP: sizes up to 16 MiB, fragments, pings with round-trip
//! times, batching with `feed`, the message iterator, streaming delivery and keepalive.

mod common;

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use common::{bounded, echo_server, text};
use wsproto_blocking::{
    ClientConfig, CloseCode, Config, Delivery, Error, Event, Limits, Message, MessageKind,
    ServerConfig, State, connect, connect_with,
};

fn big_limits() -> Limits {
    Limits::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20)
        .write_high_water(4 << 20)
}

#[test]
fn echoes_text_and_binary_up_to_16_mib() {
    bounded(|| {
        let url = echo_server(ServerConfig::default().limits(big_limits()));
        let mut ws = connect_with(&url, ClientConfig::default().limits(big_limits())).unwrap();
        for size in [0usize, 1, 125, 126, 65_535, 65_536, 1 << 20, 16 << 20] {
            let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
            ws.send(Message::binary(data.clone())).unwrap();
            let back = ws.recv().unwrap().unwrap();
            assert_eq!(back.payload().len(), size);
            assert!(
                back.payload()[..] == data[..],
                "binary of {size} bytes differs"
            );
            let text_body = "ü".repeat(size / 2);
            ws.send_text(&text_body).unwrap();
            assert_eq!(ws.recv().unwrap().unwrap(), Message::text(text_body));
        }
        ws.close(CloseCode::NORMAL, "done").unwrap();
        assert_eq!(ws.state(), State::Closed);
        assert_eq!(ws.close_received().unwrap().code(), CloseCode::NORMAL);
        assert!(ws.recv().is_none());
    });
}

#[test]
fn fragmented_message_and_interleaved_ping_report_an_rtt() {
    bounded(|| {
        let url = echo_server(ServerConfig::default());
        let mut ws = connect(&url).unwrap();
        ws.send_fragment(MessageKind::Text, b"frag", false).unwrap();
        ws.ping(b"in between").unwrap();
        ws.send_fragment(MessageKind::Text, b"mented", true)
            .unwrap();
        let mut saw_pong = false;
        loop {
            match ws.next_event().unwrap().unwrap() {
                Event::Pong { payload, rtt } => {
                    assert_eq!(&payload[..], b"in between");
                    assert!(rtt.is_some());
                    saw_pong = true;
                }
                Event::Message(message) => {
                    assert_eq!(message, text("fragmented"));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(saw_pong, "the pong comes before the message it was sent in");
        assert!(ws.last_rtt().is_some());
        assert!(
            ws.ping(&[0; 126]).is_err(),
            "ping payloads over 125 bytes are refused"
        );
        // Auto-fragmentation: a small outgoing frame size still yields one message.
        let config = Config::default().outgoing_frame_size(NonZeroUsize::new(100).unwrap());
        let mut small = connect_with(&url, ClientConfig::default().config(config)).unwrap();
        let body = "x".repeat(10_000);
        small.send_text(&body).unwrap();
        assert_eq!(small.recv().unwrap().unwrap(), text(&body));
    });
}

#[test]
fn fed_messages_leave_in_a_batch_and_the_iterator_yields_replies() {
    bounded(|| {
        let url = echo_server(ServerConfig::default());
        let mut ws = connect(&url).unwrap();
        for i in 0..100 {
            ws.feed(text(&format!("m{i}"))).unwrap();
        }
        assert!(ws.buffered_amount() > 0, "fed messages wait for a flush");
        ws.flush().unwrap();
        assert_eq!(ws.buffered_amount(), 0);
        for (i, message) in (&mut ws).take(100).enumerate() {
            assert_eq!(message.unwrap(), text(&format!("m{i}")));
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        assert!(ws.next().is_none(), "the iterator ends after the close");
    });
}

#[test]
fn streaming_delivery_hands_out_pieces_through_next_event_only() {
    bounded(|| {
        let url = echo_server(ServerConfig::default());
        let config = Config::default().delivery(Delivery::Streaming);
        let mut ws = connect_with(&url, ClientConfig::default().config(config)).unwrap();
        ws.send_binary(&[7; 1000]).unwrap();
        let mut got = Vec::new();
        loop {
            match ws.next_event().unwrap().unwrap() {
                Event::Fragment { kind, data, fin } => {
                    assert_eq!(kind, MessageKind::Binary);
                    got.extend_from_slice(&data);
                    if fin {
                        break;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, [7; 1000]);
        ws.send_text("piece").unwrap();
        assert!(matches!(ws.recv(), Some(Err(Error::StreamingDelivery))));
    });
}

#[test]
fn keepalive_makes_pings_flow_while_idle() {
    bounded(|| {
        let interval = Some(Duration::from_millis(100));
        // Our keepalive: pings go out while we wait, pongs come back with round-trip times.
        let url = echo_server(ServerConfig::default());
        let config = Config::default().keepalive_interval(interval);
        let mut ws = connect_with(&url, ClientConfig::default().config(config)).unwrap();
        let started = Instant::now();
        let mut pongs = 0;
        while pongs < 3 {
            match ws.next_event().unwrap().unwrap() {
                Event::Pong { rtt, .. } => {
                    assert!(rtt.is_some());
                    pongs += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(280), "{took:?}");
        assert!(ws.last_rtt().unwrap() < Duration::from_secs(1));

        // The server's keepalive: an idle client sees its pings (and answers them).
        let url = echo_server(
            ServerConfig::default().config(Config::default().keepalive_interval(interval)),
        );
        let mut ws = connect(&url).unwrap();
        for _ in 0..3 {
            match ws.next_event().unwrap().unwrap() {
                Event::Ping(payload) => assert!(payload.is_empty()),
                other => panic!("{other:?}"),
            }
        }
        // The connection is still healthy: the server got our pongs in time.
        ws.send_text("alive").unwrap();
        loop {
            match ws.next_event().unwrap().unwrap() {
                Event::Message(message) => break assert_eq!(message, text("alive")),
                Event::Ping(_) => {}
                other => panic!("{other:?}"),
            }
        }
    });
}
