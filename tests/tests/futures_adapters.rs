//! The smol and async-std adapters' own checks (tokio's live in its crate): the handshake
//! timeout against a silent client, the message limit closing with 1009, and receiving that
//! stays correct when `recv` futures are dropped half-way (cancel safety). One body, written
//! once as a macro over the runtime's executor, spawn and sleep.

use std::io::Read;
use std::time::Duration;

use futures_util::future::{Either, select};
use wsproto_core::{CloseCode, Limits, Message};

macro_rules! adapter_suite {
    ($module:ident, $crate_:ident, $block_on:path, $spawn:expr, $sleep:expr) => {
        mod $module {
            use super::*;
            use $crate_::{Server, ServerConfig};

            async fn echo_server(config: ServerConfig) -> String {
                let mut server = Server::bind_with("127.0.0.1:0", config)
                    .await
                    .expect("bind");
                let url = server.url();
                $spawn(async move {
                    while let Ok(mut ws) = server.accept().await {
                        $spawn(async move {
                            while let Some(Ok(message)) = ws.recv().await {
                                if ws.feed(message).await.is_err() {
                                    break;
                                }
                            }
                        });
                    }
                });
                url
            }

            #[test]
            fn silent_client_is_dropped_at_the_handshake_timeout_while_others_are_served() {
                $block_on(async {
                    let config =
                        ServerConfig::default().handshake_timeout(Duration::from_millis(300));
                    let url = echo_server(config).await;
                    let addr = url
                        .trim_start_matches("ws://")
                        .trim_end_matches('/')
                        .to_owned();
                    let silent = std::thread::spawn(move || {
                        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
                        stream
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .expect("timeout");
                        let started = std::time::Instant::now();
                        let n = stream.read(&mut [0; 16]).unwrap_or(0);
                        (n, started.elapsed())
                    });
                    let mut ws = $crate_::connect(&url).await.expect("connect");
                    ws.send_text("served").await.expect("send");
                    assert_eq!(
                        ws.recv().await.expect("open").expect("ok"),
                        Message::text("served")
                    );
                    let (n, waited) = silent.join().expect("thread");
                    assert_eq!(n, 0, "closed without a response");
                    assert!(waited < Duration::from_secs(5), "dropped after {waited:?}");
                });
            }

            #[test]
            fn oversize_message_closes_with_1009() {
                $block_on(async {
                    let config =
                        ServerConfig::default().limits(Limits::default().max_message_size(1000));
                    let url = echo_server(config).await;
                    let mut ws = $crate_::connect(&url).await.expect("connect");
                    ws.send_binary(&[7; 2000]).await.expect("send");
                    assert!(ws.recv().await.is_none(), "the server closed");
                    assert_eq!(
                        ws.close_received().map(|f| f.code()),
                        Some(CloseCode::MESSAGE_TOO_BIG)
                    );
                });
            }

            #[test]
            fn dropping_recv_futures_loses_nothing() {
                $block_on(async {
                    let url = echo_server(ServerConfig::default()).await;
                    let mut ws = $crate_::connect(&url).await.expect("connect");
                    for i in 0..300u32 {
                        ws.feed(Message::binary(i.to_be_bytes().repeat(100)))
                            .await
                            .expect("feed");
                    }
                    ws.flush().await.expect("flush");
                    let (mut next, mut cancelled) = (0u32, 0);
                    while next < 300 {
                        let timer = std::pin::pin!($sleep(Duration::from_micros(50)));
                        let recv = std::pin::pin!(ws.recv());
                        match select(timer, recv).await {
                            Either::Left(_) => cancelled += 1,
                            Either::Right((message, _)) => {
                                let message = message.expect("open").expect("ok");
                                assert_eq!(
                                    message.payload()[..],
                                    next.to_be_bytes().repeat(100)[..]
                                );
                                next += 1;
                            }
                        }
                    }
                    assert!(cancelled > 0, "the race never cancelled a recv");
                });
            }
        }
    };
}

adapter_suite!(
    smol_adapter,
    wsproto_smol,
    smol::block_on,
    |f| smol::spawn(f).detach(),
    smol::Timer::after
);
adapter_suite!(
    async_std_adapter,
    wsproto_async_std,
    async_std::task::block_on,
    |f| {
        async_std::task::spawn(f);
    },
    async_std::task::sleep
);
