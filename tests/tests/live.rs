//! Connections that live on their own, on tokio, smol and async-std: a send-only client kept
//! alive by its background task (and dropped without it), every message plus Close 1000 when
//! the last handle goes, state events in order, and a reconnecting client across a server
//! restart on the same port (queued messages delivered once, delays inside the policy, no
//! reconnect after our own close or a 4xx refusal, a 503's `Retry-After` honoured).
//!
//! Each scenario is written once over `wsproto_async::Runtime` and run on every runtime.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsproto_async::{
    ClientConfig, Events, HttpResponse, LiveConfig, Runtime, Server, ServerConfig, TimerOf,
    connect_live, connect_with, with_deadline,
};
use wsproto_core::{CloseCode, Config, Message};
use wsproto_setup::{
    Closed, ClosedBy, ConnectionLost, Error, LiveEvent, LiveState, ReconnectPolicy,
};

const WAIT: Duration = Duration::from_secs(10);

async fn sleep<R: Runtime>(duration: Duration) {
    with_deadline::<TimerOf<R>, _>(Instant::now() + duration, std::future::pending::<()>()).await;
}

/// The next report from a server task, waiting on the runtime's timer (never blocking it).
async fn report<R: Runtime, T>(rx: &mpsc::Receiver<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(value) = rx.try_recv() {
            return value;
        }
        assert!(Instant::now() < deadline, "no report from the server");
        sleep::<R>(Duration::from_millis(5)).await;
    }
}

async fn next_event<R: Runtime>(events: &mut Events) -> Option<LiveEvent> {
    with_deadline::<TimerOf<R>, _>(Instant::now() + WAIT, events.recv())
        .await
        .expect("an event in time")
}

/// The next state change, skipping messages, pings and pongs; errors are returned too.
async fn next_change<R: Runtime>(events: &mut Events) -> LiveEvent {
    loop {
        match next_event::<R>(events).await {
            Some(event @ (LiveEvent::State(_) | LiveEvent::Error(_))) => return event,
            Some(_) => {}
            None => panic!("the events ended"),
        }
    }
}

/// What a server saw on one connection: the text messages, then how it ended.
#[derive(Debug)]
struct Seen {
    messages: Vec<String>,
    ended: Result<Option<CloseCode>, String>,
}

/// A running test server: every connection is read to its end and reported on a channel.
struct TestServer {
    addr: std::net::SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    stopped: mpsc::Receiver<()>,
    seen: mpsc::Receiver<Seen>,
    accepted: Arc<Mutex<usize>>,
}

impl TestServer {
    async fn start<R: Runtime>(addr: &str, config: ServerConfig) -> Self {
        let mut server = Server::<R>::bind_with(addr, config).await.unwrap();
        let addr = server.local_addr();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen_tx, seen) = mpsc::channel();
        let (stopped_tx, stopped) = mpsc::channel();
        let accepted = Arc::new(Mutex::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&accepted));
        R::spawn(async move {
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let tick = Instant::now() + Duration::from_millis(20);
                let Some(accepted) = with_deadline::<TimerOf<R>, _>(tick, server.accept()).await
                else {
                    continue;
                };
                let Ok(mut ws) = accepted else { continue };
                *count.lock().unwrap() += 1;
                let tx = seen_tx.clone();
                R::spawn(async move {
                    let mut messages = Vec::new();
                    let ended = loop {
                        match ws.recv().await {
                            Some(Ok(Message::Text(text))) => messages.push(text.to_string()),
                            Some(Ok(Message::Binary(_))) => messages.push("<binary>".into()),
                            Some(Err(error)) => break Err(error.to_string()),
                            None => break Ok(ws.close_received().map(|frame| frame.code())),
                        }
                    };
                    let _ = tx.send(Seen { messages, ended });
                });
            }
            server.shutdown(Duration::from_secs(2)).await;
            let _ = stopped_tx.send(());
        });
        Self {
            addr,
            stop,
            stopped,
            seen,
            accepted,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Graceful shutdown (1001 to every connection); returns once the port is free.
    async fn stop<R: Runtime>(self) -> mpsc::Receiver<Seen> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        report::<R, ()>(&self.stopped).await;
        self.seen
    }

    fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

/// Sends `count` text messages `prefix0`, `prefix1`... `gap` apart on a poll-driven
/// connection that never receives, then closes with 1000.
async fn send_only_polled<R: Runtime>(url: &str, count: usize, gap: Duration) {
    let mut ws = connect_with::<R>(url, ClientConfig::default())
        .await
        .unwrap();
    for i in 0..count {
        if ws.send(Message::text(format!("m{i}"))).await.is_err() {
            return;
        }
        sleep::<R>(gap).await;
    }
    let _ = ws.close(CloseCode::NORMAL, "").await;
}

async fn send_only_client_is_kept_alive_by_its_task<R: Runtime>() {
    // The server pings every 100 ms and drops a peer silent for 150 ms after a ping; the
    // client sends only every 300 ms.
    let keepalive = Config::default()
        .keepalive_interval(Some(Duration::from_millis(100)))
        .keepalive_timeout(Duration::from_millis(150));
    let server =
        TestServer::start::<R>("127.0.0.1:0", ServerConfig::default().config(keepalive)).await;
    let gap = Duration::from_millis(300);

    let ws = connect_with::<R>(&server.url(), ClientConfig::default())
        .await
        .unwrap();
    let (handle, events) = ws.spawn::<R>();
    drop(events); // send-only: nobody reads, the task still answers pings
    for i in 0..6 {
        handle.send_text(&format!("m{i}")).await.unwrap();
        sleep::<R>(gap).await;
    }
    drop(handle);
    let driven = report::<R, Seen>(&server.seen).await;
    assert_eq!(driven.messages, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(driven.ended, Ok(Some(CloseCode::NORMAL)), "{driven:?}");

    send_only_polled::<R>(&server.url(), 6, gap).await;
    let polled = report::<R, Seen>(&server.seen).await;
    assert!(polled.messages.len() < 6, "{polled:?}");
    let ended = polled.ended.expect_err("dropped by the server's keepalive");
    assert!(ended.contains("keepalive"), "{ended}");
    server.stop::<R>().await;
}

async fn dropping_every_handle_delivers_everything_then_1000<R: Runtime>() {
    let server = TestServer::start::<R>("127.0.0.1:0", ServerConfig::default()).await;
    let ws = connect_with::<R>(&server.url(), ClientConfig::default())
        .await
        .unwrap();
    let (first, _events) = ws.spawn_with::<R>(&LiveConfig::new().queue(8));
    let second = first.clone();
    let filler = "x".repeat(1000);
    for i in 0..1000 {
        let handle = if i % 2 == 0 { &first } else { &second };
        handle.send_text(&format!("{i} {filler}")).await.unwrap();
    }
    drop((first, second));
    let seen = report::<R, Seen>(&server.seen).await;
    assert_eq!(seen.ended, Ok(Some(CloseCode::NORMAL)));
    assert_eq!(seen.messages.len(), 1000);
    for (i, message) in seen.messages.iter().enumerate() {
        assert!(
            message.starts_with(&format!("{i} ")),
            "message {i} out of order"
        );
    }
    server.stop::<R>().await;
}

async fn state_events_of_a_normal_life_and_a_dropped_peer<R: Runtime>() {
    let server = TestServer::start::<R>("127.0.0.1:0", ServerConfig::default()).await;
    let ws = connect_with::<R>(&server.url(), ClientConfig::default())
        .await
        .unwrap();
    let (handle, mut events) = ws.spawn::<R>();
    assert!(handle.is_open());
    assert!(matches!(
        next_change::<R>(&mut events).await,
        LiveEvent::State(LiveState::Open)
    ));
    handle.send_text("hi").await.unwrap();
    let closed = handle.close(CloseCode::NORMAL, "done").await.unwrap();
    let expected = Closed {
        code: Some(CloseCode::NORMAL),
        reason: "done".into(),
        by: ClosedBy::Local,
    };
    assert_eq!(closed, expected);
    assert!(matches!(
        next_change::<R>(&mut events).await,
        LiveEvent::State(LiveState::Closing)
    ));
    match next_change::<R>(&mut events).await {
        LiveEvent::State(LiveState::Closed(closed)) => assert_eq!(closed, expected),
        other => panic!("{other:?}"),
    }
    assert!(next_event::<R>(&mut events).await.is_none());
    assert_eq!(handle.close_code(), Some(CloseCode::NORMAL));
    assert_eq!(handle.close_reason().as_deref(), Some("done"));
    assert!(handle.send_text("late").await.is_err());
    let seen = report::<R, Seen>(&server.seen).await;
    assert_eq!(seen.messages, ["hi"]);

    // A peer that vanishes: Open, the error, then Closed by a failure with 1006.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let vanishing = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let config = ServerConfig::default();
        let ws = wsproto_blocking::accept_stream(stream, &config).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        drop(ws); // no Close: the client sees the stream end
    });
    let ws = connect_with::<R>(&url, ClientConfig::default())
        .await
        .unwrap();
    let (_handle, mut events) = ws.spawn::<R>();
    assert!(matches!(
        next_change::<R>(&mut events).await,
        LiveEvent::State(LiveState::Open)
    ));
    match next_change::<R>(&mut events).await {
        LiveEvent::Error(Error::Lost(ConnectionLost::UnexpectedEof)) => {}
        other => panic!("{other:?}"),
    }
    match next_change::<R>(&mut events).await {
        LiveEvent::State(LiveState::Closed(closed)) => {
            assert_eq!(closed.by, ClosedBy::Failure);
            assert_eq!(closed.code, Some(CloseCode::ABNORMAL));
        }
        other => panic!("{other:?}"),
    }
    vanishing.join().unwrap();
    server.stop::<R>().await;
}

fn policy() -> ReconnectPolicy {
    ReconnectPolicy::new()
        .initial_delay(Duration::from_millis(40))
        .max_delay(Duration::from_millis(200))
}

async fn reconnects_across_a_restart_and_delivers_the_queue_once<R: Runtime>() {
    let server = TestServer::start::<R>("127.0.0.1:0", ServerConfig::default()).await;
    let addr = server.addr.to_string();
    let config = LiveConfig::new().reconnect(policy());
    let (handle, mut events) = connect_live::<R>(&server.url(), ClientConfig::default, &config);
    assert!(matches!(
        next_change::<R>(&mut events).await,
        LiveEvent::State(LiveState::Connecting { attempt: 0 })
    ));
    assert!(matches!(
        next_change::<R>(&mut events).await,
        LiveEvent::State(LiveState::Open)
    ));
    handle.send_text("before").await.unwrap();
    handle.flush().await.unwrap();

    // The server goes away (1001): the client retries while it is down.
    let seen = server.stop::<R>().await;
    let first = report::<R, Seen>(&seen).await;
    assert_eq!(first.messages, ["before"]);
    assert!(matches!(
        next_change::<R>(&mut events).await,
        LiveEvent::State(LiveState::Closing)
    ));
    for text in ["q1", "q2", "q3"] {
        handle.send_text(text).await.unwrap();
    }
    let mut retries = Vec::new();
    let restarted = loop {
        match next_change::<R>(&mut events).await {
            LiveEvent::State(LiveState::Reconnecting { attempt, delay }) => {
                retries.push((attempt, delay));
                if retries.len() == 3 {
                    // Back on the same port after a few refused attempts.
                    break TestServer::start::<R>(&addr, ServerConfig::default()).await;
                }
            }
            LiveEvent::State(LiveState::Connecting { .. }) | LiveEvent::Error(_) => {}
            other => panic!("{other:?}"),
        }
    };
    loop {
        match next_change::<R>(&mut events).await {
            LiveEvent::State(LiveState::Open) => break,
            LiveEvent::State(LiveState::Reconnecting { attempt, delay }) => {
                retries.push((attempt, delay));
            }
            LiveEvent::State(LiveState::Connecting { .. }) | LiveEvent::Error(_) => {}
            other => panic!("{other:?}"),
        }
    }
    for (i, (attempt, delay)) in retries.iter().enumerate() {
        assert_eq!(*attempt as usize, i + 1, "{retries:?}");
        assert!(*delay <= policy().base_delay(*attempt), "{retries:?}");
    }

    // Deliberately closed: no reconnect after it.
    let closed = handle.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(closed.by, ClosedBy::Local);
    let second = report::<R, Seen>(&restarted.seen).await;
    assert_eq!(second.messages, ["q1", "q2", "q3"]);
    assert_eq!(second.ended, Ok(Some(CloseCode::NORMAL)));
    sleep::<R>(Duration::from_millis(300)).await;
    assert_eq!(restarted.accepted(), 1);
    loop {
        match next_event::<R>(&mut events).await {
            Some(LiveEvent::State(LiveState::Closed(_)) | LiveEvent::State(LiveState::Closing)) => {
            }
            None => break,
            Some(other) => panic!("{other:?}"),
        }
    }
    restarted.stop::<R>().await;
}

async fn a_4xx_refusal_is_final_and_a_503_retry_after_is_honoured<R: Runtime>() {
    let refusing = ServerConfig::default().check_request(|request| {
        if request.path() == "/busy" {
            Err(HttpResponse::new(503).header("Retry-After", "1"))
        } else {
            Err(HttpResponse::new(403))
        }
    });
    let server = TestServer::start::<R>("127.0.0.1:0", refusing).await;
    let config = LiveConfig::new().reconnect(policy());
    let (handle, mut events) = connect_live::<R>(&server.url(), ClientConfig::default, &config);
    assert!(matches!(
        next_change::<R>(&mut events).await,
        LiveEvent::State(LiveState::Connecting { attempt: 0 })
    ));
    match next_change::<R>(&mut events).await {
        LiveEvent::Error(error) => assert_eq!(error.http_status(), Some(403), "{error}"),
        other => panic!("{other:?}"),
    }
    match next_change::<R>(&mut events).await {
        LiveEvent::State(LiveState::Closed(closed)) => assert_eq!(closed.by, ClosedBy::Failure),
        other => panic!("{other:?}"),
    }
    assert!(next_event::<R>(&mut events).await.is_none());
    assert!(!handle.is_open());

    let busy = format!("ws://{}/busy", server.addr);
    let (handle, mut events) = connect_live::<R>(&busy, ClientConfig::default, &config);
    loop {
        match next_change::<R>(&mut events).await {
            LiveEvent::State(LiveState::Reconnecting { attempt, delay }) => {
                assert_eq!(attempt, 1);
                assert!(delay >= Duration::from_secs(1), "{delay:?}");
                break;
            }
            LiveEvent::State(LiveState::Connecting { .. }) => {}
            LiveEvent::Error(error) => assert_eq!(error.http_status(), Some(503)),
            other => panic!("{other:?}"),
        }
    }
    // Closing while waiting to retry ends it at once.
    let closed = handle.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(closed.by, ClosedBy::Local);
    server.stop::<R>().await;
}

/// With `auto_pong(false)` the application answers pings itself, with `WebSocket::pong` on a
/// poll-driven connection and `Handle::pong` on a live one; the server sees both pongs.
async fn pong_answers_pings_when_auto_pong_is_off<R: Runtime>() {
    let mut server = Server::<R>::bind_with("127.0.0.1:0", ServerConfig::default())
        .await
        .unwrap();
    let url = server.url();
    let (tx, rx) = mpsc::channel();
    R::spawn(async move {
        let mut pongs = Vec::new();
        for payload in [&b"polled"[..], b"live"] {
            let mut ws = server.accept().await.unwrap();
            ws.ping(payload).await.unwrap();
            while let Some(Ok(event)) = ws.next_event().await {
                if let wsproto_core::Event::Pong { payload, .. } = event {
                    pongs.push(payload.to_vec());
                    break;
                }
            }
            ws.close(CloseCode::NORMAL, "").await.unwrap();
        }
        let _ = tx.send(pongs);
    });
    let manual = || ClientConfig::default().config(Config::default().auto_pong(false));

    let mut ws = connect_with::<R>(&url, manual()).await.unwrap();
    loop {
        match ws.next_event().await {
            Some(Ok(wsproto_core::Event::Ping(payload))) => ws.pong(&payload).await.unwrap(),
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("{error}"),
            None => break,
        }
    }
    assert_eq!(ws.close_code(), Some(CloseCode::NORMAL));
    assert!(!ws.is_open());

    let ws = connect_with::<R>(&url, manual()).await.unwrap();
    let (handle, mut events) = ws.spawn::<R>();
    while let Some(event) = next_event::<R>(&mut events).await {
        if let LiveEvent::Ping(payload) = event {
            handle.pong(payload).await.unwrap();
        }
    }
    assert_eq!(handle.close_code(), Some(CloseCode::NORMAL));
    assert_eq!(
        report::<R, Vec<Vec<u8>>>(&rx).await,
        [&b"polled"[..], b"live"]
    );
}

macro_rules! on_runtime {
    ($name:ident, $runtime:ty, $block_on:expr) => {
        mod $name {
            fn run(body: impl Future<Output = ()>) {
                ($block_on)(body)
            }

            #[test]
            fn send_only_client_is_kept_alive_by_its_task() {
                run(super::send_only_client_is_kept_alive_by_its_task::<$runtime>());
            }

            #[test]
            fn dropping_every_handle_delivers_everything_then_1000() {
                run(super::dropping_every_handle_delivers_everything_then_1000::<$runtime>());
            }

            #[test]
            fn state_events_of_a_normal_life_and_a_dropped_peer() {
                run(super::state_events_of_a_normal_life_and_a_dropped_peer::<
                    $runtime,
                >());
            }

            #[test]
            fn reconnects_across_a_restart_and_delivers_the_queue_once() {
                run(super::reconnects_across_a_restart_and_delivers_the_queue_once::<$runtime>());
            }

            #[test]
            fn a_4xx_refusal_is_final_and_a_503_retry_after_is_honoured() {
                run(super::a_4xx_refusal_is_final_and_a_503_retry_after_is_honoured::<$runtime>());
            }

            #[test]
            fn pong_answers_pings_when_auto_pong_is_off() {
                run(super::pong_answers_pings_when_auto_pong_is_off::<$runtime>());
            }
        }
    };
}

on_runtime!(tokio_runtime, wsproto_tokio::Tokio, |body| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(body)
});
on_runtime!(smol_runtime, wsproto_smol::Smol, smol::block_on);
on_runtime!(
    async_std_runtime,
    wsproto_async_std::AsyncStd,
    async_std::task::block_on
);
