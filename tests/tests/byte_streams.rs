//! A WebSocket as a byte pipe (`into_byte_stream`) on every runtime: 64 MiB each way through
//! the runtime's own copy with a half-close in the middle (the client shuts its writing side
//! down and still reads the whole answer), reads across message boundaries, `read_line`
//! across messages, the end of the stream at the peer's Close, and text refused by default.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use ring::digest::{Context, SHA256};
use wsproto_core::byte_stream::{ByteStreamError, TextMessages};
use wsproto_core::{CloseCode, Config, Message};

const MIB: usize = 1024 * 1024;
const BIG: usize = 64 * MIB;

/// Deterministic bytes that do not repeat with any short period.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    let mut context = Context::new(&SHA256);
    context.update(data);
    context.finish().as_ref().to_vec()
}

/// Both ends half-close: a Close ends one direction only, like a TCP FIN.
fn half_closing() -> Config {
    Config::default().half_close(true)
}

mod tokio_runtime {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use wsproto_tokio::{ClientConfig, Server, ServerConfig};

    /// A TCP echo server that echoes until the end of its input, then closes its side.
    async fn tcp_echo() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut reader, mut writer) = stream.split();
                    tokio::io::copy(&mut reader, &mut writer).await.unwrap();
                    writer.shutdown().await.unwrap();
                });
            }
        });
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixty_four_mib_each_way_through_copy_bidirectional_with_a_half_close() {
        let echo = tcp_echo().await;
        let options = ServerConfig::default().config(half_closing());
        let mut server = Server::bind_with("127.0.0.1:0", options).await.unwrap();
        let url = format!("ws://{}/", server.local_addr());
        let forwarder = tokio::spawn(async move {
            let ws = server.accept().await.unwrap();
            let mut stream = ws.into_byte_stream();
            let mut tcp = tokio::net::TcpStream::connect(echo).await.unwrap();
            tokio::io::copy_bidirectional(&mut stream, &mut tcp)
                .await
                .unwrap()
        });

        let options = ClientConfig::default().config(half_closing());
        let ws = wsproto_tokio::connect_with(&url, options).await.unwrap();
        let (mut reader, mut writer) = tokio::io::split(ws.into_byte_stream());
        let data = pattern(BIG, 1);
        let expected = sha256(&data);
        let sending = tokio::spawn(async move {
            // Many small writes: coalesced into messages, not one message each.
            for piece in data.chunks(8 * 1024 + 17) {
                writer.write_all(piece).await.unwrap();
            }
            writer.shutdown().await.unwrap();
        });
        let mut received = Vec::with_capacity(BIG);
        reader.read_to_end(&mut received).await.unwrap();
        sending.await.unwrap();
        assert_eq!(received.len(), BIG);
        assert_eq!(sha256(&received), expected, "what came back differs");
        let (to_tcp, to_ws) = forwarder.await.unwrap();
        assert_eq!((to_tcp, to_ws), (BIG as u64, BIG as u64));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn lines_and_reads_span_message_boundaries_and_the_close_ends_the_stream() {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", server.local_addr());
        let peer = tokio::spawn(async move {
            let mut ws = server.accept().await.unwrap();
            for piece in ["first li", "ne\nsecond", " line\n", "", "tail"] {
                ws.send(Message::binary(piece.as_bytes().to_vec()))
                    .await
                    .unwrap();
            }
            ws.send(Message::text("not bytes")).await.unwrap();
            ws.send(Message::binary(&b"after the text"[..]))
                .await
                .unwrap();
            ws.close(CloseCode::NORMAL, "done").await.unwrap();
        });
        let ws = wsproto_tokio::connect(&url).await.unwrap();
        let mut stream = tokio::io::BufReader::new(ws.into_byte_stream());
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        assert_eq!(line, "first line\n");
        line.clear();
        stream.read_line(&mut line).await.unwrap();
        assert_eq!(line, "second line\n");
        let mut tail = [0; 4];
        stream.read_exact(&mut tail).await.unwrap();
        assert_eq!(&tail, b"tail");
        let error = stream.read(&mut [0; 16]).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(
            error
                .get_ref()
                .and_then(|e| e.downcast_ref::<ByteStreamError>()),
            Some(&ByteStreamError::TextMessage)
        );
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert_eq!(
            rest, b"after the text",
            "reading goes on after the refused text"
        );
        let close = stream.get_ref().close_received().unwrap();
        assert_eq!((close.code(), close.reason()), (CloseCode::NORMAL, "done"));
        peer.await.unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn text_passes_through_when_asked_and_shutdown_closes_with_1000() {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", server.local_addr());
        let peer = tokio::spawn(async move {
            let mut ws = server.accept().await.unwrap();
            ws.send(Message::text("text ")).await.unwrap();
            let mut got = Vec::new();
            while let Some(message) = ws.recv().await {
                let message = message.unwrap();
                assert!(
                    matches!(message, Message::Binary(_)),
                    "writes leave as binary"
                );
                got.extend_from_slice(&message.into_payload());
            }
            (got, ws.close_received().map(|c| c.code()))
        });
        let ws = wsproto_tokio::connect(&url).await.unwrap();
        let mut stream = ws
            .into_byte_stream()
            .text_messages(TextMessages::PassThrough);
        let mut buf = [0; 5];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"text ");
        stream.write_all(b"one ").await.unwrap();
        stream.write_all(b"two").await.unwrap();
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        let (got, code) = peer.await.unwrap();
        assert_eq!(got, b"one two", "written bytes sent before the Close");
        assert_eq!(code, Some(CloseCode::NORMAL));
    }
}

mod smol_runtime {
    use super::*;
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    use wsproto_smol::{ClientConfig, Server, ServerConfig};

    #[test]
    fn sixty_four_mib_each_way_through_futures_copy_with_a_half_close() {
        smol::block_on(async {
            let options = ServerConfig::default().config(half_closing());
            let mut server = Server::bind_with("127.0.0.1:0", options).await.unwrap();
            let url = format!("ws://{}/", server.local_addr());
            // The server echoes the byte stream into itself until its end, then shuts down.
            let echo = smol::spawn(async move {
                let ws = server.accept().await.unwrap();
                let (mut reader, mut writer) = ws.into_byte_stream().split();
                let copied = futures_util::io::copy(&mut reader, &mut writer)
                    .await
                    .unwrap();
                writer.close().await.unwrap();
                copied
            });
            let options = ClientConfig::default().config(half_closing());
            let ws = wsproto_smol::connect_with(&url, options).await.unwrap();
            let (mut reader, mut writer) = ws.into_byte_stream().split();
            let data = pattern(BIG, 2);
            let expected = sha256(&data);
            let sending = smol::spawn(async move {
                for piece in data.chunks(8 * 1024 + 17) {
                    writer.write_all(piece).await.unwrap();
                }
                writer.close().await.unwrap();
            });
            let mut received = Vec::with_capacity(BIG);
            reader.read_to_end(&mut received).await.unwrap();
            sending.await;
            assert_eq!(received.len(), BIG);
            assert_eq!(sha256(&received), expected);
            assert_eq!(echo.await, BIG as u64);
        });
    }
}

mod blocking {
    use super::*;
    use wsproto_blocking::{ClientConfig, Server, ServerConfig};

    #[test]
    fn sixty_four_mib_each_way_with_a_half_close() {
        let options = ServerConfig::default().config(half_closing());
        let server = Server::bind_with("127.0.0.1:0", options).unwrap();
        let url = format!("ws://{}/", server.local_addr());
        let data = pattern(BIG, 3);
        let expected = sha256(&data);
        // The server reads everything to the end (our half-close), then answers with its own
        // 64 MiB and shuts down.
        let answer = pattern(BIG, 4);
        let answer_hash = sha256(&answer);
        let peer = std::thread::spawn(move || {
            let ws = server.accept().unwrap();
            let mut stream = ws.into_byte_stream();
            let mut got = Vec::with_capacity(BIG);
            stream.read_to_end(&mut got).unwrap();
            for piece in answer.chunks(8 * 1024 + 17) {
                stream.write_all(piece).unwrap();
            }
            stream.shutdown().unwrap();
            sha256(&got)
        });
        let options = ClientConfig::default().config(half_closing());
        let ws = wsproto_blocking::connect_with(&url, options).unwrap();
        let mut stream = ws.into_byte_stream();
        for piece in data.chunks(8 * 1024 + 17) {
            stream.write_all(piece).unwrap();
        }
        stream.shutdown().unwrap();
        let mut received = Vec::with_capacity(BIG);
        stream.read_to_end(&mut received).unwrap();
        assert_eq!(sha256(&received), answer_hash);
        assert_eq!(peer.join().unwrap(), expected);
    }

    #[test]
    fn read_line_spans_messages() {
        let server = Server::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", server.local_addr());
        let peer = std::thread::spawn(move || {
            let mut ws = server.accept().unwrap();
            for piece in ["a", "bc\nd", "e\n"] {
                ws.send(Message::binary(piece.as_bytes().to_vec())).unwrap();
            }
            ws.close(CloseCode::NORMAL, "").unwrap();
        });
        let mut stream = wsproto_blocking::connect(&url).unwrap().into_byte_stream();
        let lines: Vec<String> = (&mut stream).lines().map(Result::unwrap).collect();
        assert_eq!(lines, ["abc", "de"]);
        peer.join().unwrap();
    }
}
