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
