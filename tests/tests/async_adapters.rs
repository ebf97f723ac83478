//! The async adapters' own checks (tokio's other ones live in its crate): the handshake
//! timeout against a silent client, handshakes that progress outside `accept`, the message limit closing with 1009, and receiving that
//! stays correct when `recv` futures are dropped half-way (cancel safety). One body, written
//! once as a macro over the runtime's executor, spawn and sleep.

use std::io::Read;
use std::time::Duration;

use wsproto_core::{CloseCode, Limits, Message};

/// Every test body's ceiling: nothing here may hang CI.
const LIMIT: Duration = Duration::from_secs(30);

macro_rules! adapter_suite {
    ($module:ident, $crate_:ident, $block_on:path, $spawn:expr, $sleep:expr) => {
        mod $module {
            use super::*;
            use $crate_::{Server, ServerConfig};

            /// Runs `body` on the executor, failing the test if it takes longer than LIMIT.
            fn bounded(body: impl Future<Output = ()>) {
                $block_on(async {
                    let body = std::pin::pin!(body);
                    let limit = std::pin::pin!($sleep(LIMIT));
                    if let futures_util::future::Either::Right(_) =
                        futures_util::future::select(body, limit).await
                    {
                        panic!("test body took longer than {LIMIT:?}");
                    }
                });
            }

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
                bounded(async {
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
                    // Wait without blocking the executor (a current-thread runtime runs the server too).
                    while !silent.is_finished() {
                        $sleep(Duration::from_millis(10)).await;
                    }
                    let (n, waited) = silent.join().expect("thread");
                    assert_eq!(n, 0, "closed without a response");
                    assert!(waited < Duration::from_secs(5), "dropped after {waited:?}");
                });
            }

            /// A handshake runs in a task of its own: it completes while the application is
            /// busy elsewhere, not only while it waits in `accept`.
            #[test]
            fn handshakes_progress_while_the_application_is_not_in_accept() {
                bounded(async {
                    let mut server = Server::bind("127.0.0.1:0").await.expect("bind");
                    let addr = server.local_addr();
                    let url = server.url();
                    // A raw client connects first and says nothing until told to.
                    let (go, wait_go) = std::sync::mpsc::channel::<()>();
                    let (answer, answered) = std::sync::mpsc::channel::<String>();
                    std::thread::spawn(move || {
                        use std::io::Write;
                        let mut raw = std::net::TcpStream::connect(addr).expect("connect");
                        let _ = wait_go.recv();
                        raw.write_all(
                            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
                              Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                        )
                        .expect("request");
                        raw.set_read_timeout(Some(LIMIT)).expect("timeout");
                        let mut head = [0; 12];
                        let _ = raw.read_exact(&mut head);
                        let _ = answer.send(String::from_utf8_lossy(&head).into_owned());
                    });
                    // Give the raw client time to be first in the backlog.
                    $sleep(Duration::from_millis(100)).await;
                    $spawn(async move {
                        let _ = $crate_::connect(&url).await;
                    });
                    // This accept takes the raw client's TCP (starting its handshake) and then
                    // returns the library client, whose handshake finished first.
                    let _first = server.accept().await.expect("accept");
                    // No one is in accept any more: the raw client must still be answered.
                    go.send(()).expect("go");
                    let head = loop {
                        if let Ok(head) = answered.try_recv() {
                            break head;
                        }
                        $sleep(Duration::from_millis(10)).await;
                    };
                    assert_eq!(head, "HTTP/1.1 101");
                    drop(server);
                });
            }

            #[test]
            fn oversize_message_closes_with_1009() {
                bounded(async {
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
            fn dropping_recv_futures_half_way_loses_nothing() {
                bounded(async {
                    // Each message arrives in two halves 30 ms apart, so polling a fresh
                    // recv once every millisecond drops many of them mid-message.
                    let body = |i: u32| i.to_be_bytes().repeat(25_000);
                    let url = wsproto_tests::trickle_server(
                        (0..5).map(body).collect(),
                        Duration::from_millis(30),
                    );
                    let mut ws = $crate_::connect(&url).await.expect("connect");
                    let (mut next, mut cancelled) = (0u32, 0);
                    while next < 5 {
                        // Poll a fresh recv future exactly once, then drop it.
                        let polled = {
                            let mut recv = std::pin::pin!(ws.recv());
                            std::future::poll_fn(|cx| {
                                std::task::Poll::Ready(recv.as_mut().poll(cx))
                            })
                            .await
                        };
                        match polled {
                            std::task::Poll::Ready(message) => {
                                let message = message.expect("open").expect("ok");
                                assert!(message.payload()[..] == body(next)[..], "message {next}");
                                next += 1;
                            }
                            std::task::Poll::Pending => {
                                cancelled += 1;
                                $sleep(Duration::from_millis(1)).await;
                            }
                        }
                    }
                    assert!(
                        cancelled >= 5,
                        "recv was dropped half-way only {cancelled} times"
                    );
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
adapter_suite!(
    tokio_adapter,
    wsproto_tokio,
    tokio_block_on,
    |f| {
        tokio::spawn(f);
    },
    tokio::time::sleep
);

/// Runs a future on a fresh tokio runtime (the suite's `block_on` for tokio).
fn tokio_block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}
