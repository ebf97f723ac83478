//! permessage-deflate over real loopback TCP: negotiated when both sides want it, declined
//! cleanly when either does not, and bounded by the message limit against a bomb.

mod common;

use common::{LIMIT, echo_server};
use wsproto_tokio::{
    ClientConfig, CloseCode, DeflateConfig, Limits, Message, ServerConfig, connect_with,
};

fn compressing_client() -> ClientConfig {
    ClientConfig::default().deflate(Some(DeflateConfig::default()))
}

#[tokio::test]
async fn compressed_messages_round_trip_when_both_sides_agree() {
    tokio::time::timeout(LIMIT, async {
        let url =
            echo_server(ServerConfig::default().deflate(Some(DeflateConfig::default()))).await;
        let mut ws = connect_with(&url, compressing_client()).await.unwrap();
        assert!(
            ws.connection().has_extension(),
            "permessage-deflate negotiated"
        );
        let answer = ws.handshake().header("sec-websocket-extensions").unwrap();
        assert!(answer.starts_with(b"permessage-deflate"), "{answer:?}");
        for size in [0usize, 10, 1_000, 100_000, 1 << 20] {
            let text = "wsproto ".repeat(size / 8 + 1);
            ws.send_text(&text).await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(text));
            let binary: Vec<u8> = (0..size).map(|i| (i % 13) as u8).collect();
            ws.send_binary(&binary).await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), Message::binary(binary));
        }
        // Per-message opt-out: sent as is, and the echo (compressed again) still matches.
        let raw = Message::binary(vec![42u8; 50_000]);
        ws.send_uncompressed(raw.clone()).await.unwrap();
        assert!(ws.recv().await.unwrap().unwrap() == raw);
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn either_side_without_deflate_means_an_uncompressed_connection() {
    tokio::time::timeout(LIMIT, async {
        let plain_server = echo_server(ServerConfig::default()).await;
        let mut ws = connect_with(&plain_server, compressing_client())
            .await
            .unwrap();
        assert!(!ws.connection().has_extension());
        assert!(ws.handshake().header("sec-websocket-extensions").is_none());
        ws.send_text("plain").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("plain"));

        let deflate_server =
            echo_server(ServerConfig::default().deflate(Some(DeflateConfig::default()))).await;
        let mut ws = connect_with(&deflate_server, ClientConfig::default())
            .await
            .unwrap();
        assert!(!ws.connection().has_extension());
        ws.send_text("plain too").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("plain too")
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_compressed_bomb_closes_with_1009() {
    tokio::time::timeout(LIMIT, async {
        let config = ServerConfig::default()
            .deflate(Some(DeflateConfig::default()))
            .limits(Limits::default().max_message_size(1 << 20));
        let url = echo_server(config).await;
        let mut ws = connect_with(&url, compressing_client()).await.unwrap();
        // 32 MiB of zeros compress to ~300 KB, which the server inflates only up to 1 MiB.
        ws.send_binary(&vec![0; 32 << 20]).await.unwrap();
        let next = ws.recv().await;
        assert!(next.is_none(), "{next:?}");
        assert_eq!(
            ws.close_received().map(|f| f.code()),
            Some(CloseCode::MESSAGE_TOO_BIG)
        );
    })
    .await
    .unwrap();
}

/// Autobahn sections 12 and 13 in miniature: for every pairing of client offer and server
/// policy below, messages of 16 B to 1 MiB (text and binary, compressible and not) echo
/// intact through a compressed connection, several in a row so context takeover matters.
#[tokio::test]
async fn every_parameter_combination_echoes_messages_of_every_size() {
    let offers = [
        DeflateConfig::default(),
        DeflateConfig::default().client_no_context_takeover(true),
        DeflateConfig::default().server_no_context_takeover(true),
        DeflateConfig::default()
            .client_no_context_takeover(true)
            .server_no_context_takeover(true),
        DeflateConfig::default().client_max_window_bits(Some(9)),
        DeflateConfig::default().server_max_window_bits(Some(9)),
        DeflateConfig::default()
            .client_max_window_bits(Some(15))
            .server_max_window_bits(Some(15)),
        DeflateConfig::default()
            .server_max_window_bits(Some(12))
            .client_no_context_takeover(true),
    ];
    let policies = [
        DeflateConfig::default(),
        DeflateConfig::default().server_no_context_takeover(true),
        DeflateConfig::default().client_max_window_bits(Some(10)),
        DeflateConfig::default()
            .server_max_window_bits(Some(11))
            .client_no_context_takeover(true),
    ];
    let sizes = [
        16usize,
        64,
        256,
        1024,
        4096,
        16 * 1024,
        64 * 1024,
        256 * 1024,
        1 << 20,
    ];
    tokio::time::timeout(std::time::Duration::from_secs(120), async {
        for policy in &policies {
            let url = echo_server(ServerConfig::default().deflate(Some(policy.clone()))).await;
            for offer in &offers {
                let options = ClientConfig::default().deflate(Some(offer.clone()));
                let mut ws = connect_with(&url, options).await.unwrap();
                assert!(ws.connection().has_extension(), "{offer:?} vs {policy:?}");
                for &size in &sizes {
                    for round in 0..3u8 {
                        let text: String =
                            "lorem ipsum dolor ".chars().cycle().take(size).collect();
                        ws.send_text(&text).await.unwrap();
                        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(text));
                        // Pseudo-random bytes barely compress: the stored-block path.
                        let noise: Vec<u8> = (0..size as u32)
                            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ round)
                            .collect();
                        ws.send_binary(&noise).await.unwrap();
                        assert!(
                            ws.recv().await.unwrap().unwrap() == Message::binary(noise),
                            "{size} B noise"
                        );
                    }
                }
                ws.close(CloseCode::NORMAL, "").await.unwrap();
            }
        }
    })
    .await
    .unwrap();
}
