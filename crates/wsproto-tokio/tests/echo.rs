//! Messages over real loopback TCP: sizes up to 16 MiB, fragments, pings, many connections
//! and split halves (cancellation safety is in the workspace tests' adapter suite).

mod common;

use std::time::Duration;

use common::{LIMIT, echo_server, text};
use futures_util::{SinkExt, StreamExt};
use wsproto_tokio::{
    ClientConfig, CloseCode, Config, Event, Limits, Message, MessageKind, ServerConfig, State,
    connect, connect_with,
};

fn big_limits() -> Limits {
    Limits::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20)
        .write_high_water(4 << 20)
}

#[tokio::test]
async fn echoes_text_and_binary_up_to_16_mib() {
    tokio::time::timeout(LIMIT, async {
        let url = echo_server(ServerConfig::default().limits(big_limits())).await;
        let mut ws = connect_with(&url, ClientConfig::default().limits(big_limits()))
            .await
            .unwrap();
        for size in [0usize, 1, 125, 126, 65_535, 65_536, 1 << 20, 16 << 20] {
            let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
            ws.send(Message::binary(data.clone())).await.unwrap();
            let back = ws.recv().await.unwrap().unwrap();
            assert_eq!(back.payload().len(), size);
            assert!(
                back.payload()[..] == data[..],
                "binary of {size} bytes differs"
            );
            let text_body = "ü".repeat(size / 2);
            ws.send_text(&text_body).await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(text_body));
        }
        ws.close(CloseCode::NORMAL, "done").await.unwrap();
        assert_eq!(ws.state(), State::Closed);
        assert_eq!(ws.close_received().unwrap().code(), CloseCode::NORMAL);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn fragmented_messages_and_interleaved_pings() {
    tokio::time::timeout(LIMIT, async {
        let url = echo_server(ServerConfig::default()).await;
        let mut ws = connect(&url).await.unwrap();
        ws.send_fragment(MessageKind::Text, b"frag", false)
            .await
            .unwrap();
        ws.ping(b"in between").await.unwrap();
        ws.send_fragment(MessageKind::Text, b"mented", true)
            .await
            .unwrap();
        let mut saw_pong = false;
        loop {
            match ws.next_event().await.unwrap().unwrap() {
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
        assert!(saw_pong);
        assert!(ws.last_rtt().is_some());
        // Auto-fragmentation: a small outgoing frame size still yields one message.
        let config =
            Config::default().outgoing_frame_size(std::num::NonZeroUsize::new(100).unwrap());
        let mut small = connect_with(&url, ClientConfig::default().config(config))
            .await
            .unwrap();
        let body = "x".repeat(10_000);
        small.send_text(&body).await.unwrap();
        assert_eq!(small.recv().await.unwrap().unwrap(), text(&body));
        assert!(
            ws.ping(&[0; 126]).await.is_err(),
            "ping payloads over 125 bytes are refused"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn stream_and_sink_interfaces() {
    tokio::time::timeout(LIMIT, async {
        let url = echo_server(ServerConfig::default()).await;
        let mut ws = connect(&url).await.unwrap();
        for i in 0..100 {
            ws.feed(text(&format!("m{i}"))).await.unwrap();
        }
        SinkExt::flush(&mut ws).await.unwrap();
        for i in 0..100 {
            assert_eq!(ws.next().await.unwrap().unwrap(), text(&format!("m{i}")));
        }
        SinkExt::close(&mut ws).await.unwrap();
        assert!(ws.next().await.is_none());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_thousand_concurrent_connections_exchange_messages() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let url = echo_server(ServerConfig::default()).await;
        let mut tasks = tokio::task::JoinSet::new();
        for id in 0..1000 {
            let url = url.clone();
            tasks.spawn(async move {
                let mut ws = connect(&url).await.expect("connect");
                for round in 0..5 {
                    let body = format!("client {id} round {round}");
                    ws.send_text(&body).await.expect("send");
                    assert_eq!(ws.recv().await.expect("open").expect("ok"), text(&body));
                }
                ws.close(CloseCode::NORMAL, "").await.expect("close");
            });
        }
        let mut done = 0;
        while let Some(result) = tasks.join_next().await {
            result.unwrap();
            done += 1;
        }
        assert_eq!(done, 1000);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn split_halves_work_from_two_tasks_and_pongs_flow_while_only_reading() {
    tokio::time::timeout(LIMIT, async {
        let url = echo_server(ServerConfig::default()).await;
        let ws = connect(&url).await.unwrap();
        let (mut reader, mut writer) = ws.into_split();
        assert!(reader.is_pair_of(&writer));
        let sender = tokio::spawn(async move {
            for i in 0..500 {
                writer
                    .send(Message::binary(vec![i as u8; i]))
                    .await
                    .unwrap();
            }
            writer.ping(b"rtt").await.unwrap();
            writer
        });
        let mut received = 0;
        while received < 500 {
            match reader.next_event().await.unwrap().unwrap() {
                Event::Message(m) => {
                    assert_eq!(m.payload().len(), received);
                    received += 1;
                }
                Event::Pong { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        let mut writer = sender.await.unwrap();
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        // The reader completes the closing handshake and ends.
        while let Some(event) = reader.next_event().await {
            event.unwrap();
        }
        assert_eq!(reader.state(), State::Closed);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_split_close_times_out_against_a_silent_peer_while_the_reader_waits() {
    tokio::time::timeout(LIMIT, async {
        // A server that completes the handshake and then never reads: our Close gets no
        // answer, so only the close timeout can end the connection.
        let mut server = wsproto_tokio::Server::bind("127.0.0.1:0").await.unwrap();
        let url = server.url();
        tokio::spawn(async move {
            let ws = server.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(20)).await;
            drop(ws);
        });
        let config = Config::default().close_timeout(Duration::from_millis(300));
        let ws = connect_with(&url, ClientConfig::default().config(config))
            .await
            .unwrap();
        let (mut reader, mut writer) = ws.into_split();
        let reading = tokio::spawn(async move {
            while let Some(event) = reader.next_event().await {
                let _ = event;
            }
            reader.state()
        });
        // The reader is parked waiting for input, quiet long enough for its idle release
        // (1 s) to have fired: no timer is armed when the writer starts the close.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let started = std::time::Instant::now();
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        let state = reading.await.unwrap();
        assert_eq!(state, State::Closed);
        // Close timeout (0.3 s) plus at most the 2 s linger for the silent peer.
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn releasing_idle_buffers_keeps_the_connection_working() {
    tokio::time::timeout(LIMIT, async {
        let url = echo_server(ServerConfig::default()).await;
        let mut ws = connect(&url).await.unwrap();
        ws.send_binary(&[7; 100_000]).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap().payload().len(), 100_000);
        // Nothing arrives: the receive waits, and the idle timer fires inside it. (The memory
        // it gives back is measured by tests/examples/idle_memory.rs, not asserted here.)
        let quiet = tokio::time::timeout(Duration::from_millis(1_500), ws.recv()).await;
        assert!(quiet.is_err(), "no message was expected");
        assert_eq!(ws.connection().buffer_capacity(), 0, "released while idle");
        // And the connection works as before.
        ws.send_text("again").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), text("again"));
    })
    .await
    .unwrap();
}

/// What tokio-tungstenite code types from memory: futures' `split()` into (sink, stream),
/// `SinkExt::send`, `StreamExt::next`, and the sink's `close()`.
#[tokio::test]
async fn the_futures_split_idiom_works_as_tokio_tungstenite_users_write_it() {
    tokio::time::timeout(LIMIT, async {
        let url = echo_server(ServerConfig::default()).await;
        let ws = connect(&url).await.unwrap();
        let (mut write, mut read) = ws.split();
        write.send(Message::from("hello")).await.unwrap();
        let echoed = read.next().await.unwrap().unwrap();
        assert_eq!(echoed.as_text(), Some("hello"));
        write.close().await.unwrap();
        // The server answers the Close; the stream then ends.
        while let Some(item) = read.next().await {
            item.unwrap();
        }
    })
    .await
    .unwrap();
}
