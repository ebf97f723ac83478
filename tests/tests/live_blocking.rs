//! Live connections on the blocking adapter (a thread per connection): the same scenarios as
//! `live.rs` runs on the async runtimes — a send-only client kept alive by its thread (and
//! dropped without it), every message plus Close 1000 when the last handle goes, state
//! events in order, a reconnect across a server restart on the same port with the queue
//! delivered once, no retry after a 4xx refusal, and pongs by hand with auto-pong off.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wsproto_blocking::{
    ClientConfig, CloseCode, Closed, ClosedBy, Config, ConnectionLost, Error, Events, HttpResponse,
    LiveConfig, LiveEvent, LiveState, Message, ReconnectPolicy, Server, ServerConfig, connect_live,
    connect_with,
};

const WAIT: Duration = Duration::from_secs(10);

/// What a server saw on one connection: the text messages, then how it ended.
#[derive(Debug)]
struct Seen {
    messages: Vec<String>,
    ended: Result<Option<CloseCode>, String>,
}

/// A blocking test server: each connection on a thread, read to its end and reported.
struct TestServer {
    addr: std::net::SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    acceptor: Option<thread::JoinHandle<()>>,
    seen: mpsc::Receiver<Seen>,
    accepted: Arc<Mutex<usize>>,
}

impl TestServer {
    fn start(addr: &str, config: ServerConfig) -> Self {
        let server = Server::bind_with(addr, config).unwrap();
        let addr = server.local_addr();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (tx, seen) = mpsc::channel();
        let accepted = Arc::new(Mutex::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&accepted));
        let acceptor = thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok(Some(mut ws)) = server.accept_timeout(Duration::from_millis(20)) else {
                    continue;
                };
                *count.lock().unwrap() += 1;
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut messages = Vec::new();
                    let ended = loop {
                        match ws.recv() {
                            Some(Ok(Message::Text(text))) => messages.push(text.to_string()),
                            Some(Ok(Message::Binary(_))) => messages.push("<binary>".into()),
                            Some(Err(error)) => break Err(error.to_string()),
                            None => break Ok(ws.close_received().map(|frame| frame.code())),
                        }
                    };
                    let _ = tx.send(Seen { messages, ended });
                });
            }
            // Every connection it handed out closes with 1001 (graceful shutdown).
            server.shutdown(Duration::from_secs(2));
        });
        Self {
            addr,
            stop,
            acceptor: Some(acceptor),
            seen,
            accepted,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Stops listening and closes every connection with 1001; returns once the port is free.
    fn stop(mut self) -> mpsc::Receiver<Seen> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().unwrap();
        }
        let (_, empty) = mpsc::channel();
        std::mem::replace(&mut self.seen, empty)
    }

    fn seen(&self) -> Seen {
        self.seen
            .recv_timeout(WAIT)
            .expect("a report from the server")
    }

    fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

fn next_event(events: &mut Events) -> Option<LiveEvent> {
    events.recv_timeout(WAIT).expect("an event in time")
}

/// The next state change or error, skipping messages, pings and pongs.
fn next_change(events: &mut Events) -> LiveEvent {
    loop {
        match next_event(events) {
            Some(event @ (LiveEvent::State(_) | LiveEvent::Error(_))) => return event,
            Some(_) => {}
            None => panic!("the events ended"),
        }
    }
}

#[test]
fn send_only_client_is_kept_alive_by_its_thread() {
    let keepalive = Config::default()
        .keepalive_interval(Some(Duration::from_millis(100)))
        .keepalive_timeout(Duration::from_millis(150));
    let server = TestServer::start("127.0.0.1:0", ServerConfig::default().config(keepalive));
    let gap = Duration::from_millis(300);

    let ws = connect_with(&server.url(), ClientConfig::default()).unwrap();
    let (handle, events) = ws.spawn();
    drop(events);
    for i in 0..6 {
        handle.send_text(&format!("m{i}")).unwrap();
        thread::sleep(gap);
    }
    drop(handle);
    let driven = server.seen();
    assert_eq!(driven.messages, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(driven.ended, Ok(Some(CloseCode::NORMAL)), "{driven:?}");

    let mut ws = connect_with(&server.url(), ClientConfig::default()).unwrap();
    for i in 0..6 {
        if ws.send(Message::text(format!("m{i}"))).is_err() {
            break;
        }
        thread::sleep(gap);
    }
    let polled = server.seen();
    assert!(polled.messages.len() < 6, "{polled:?}");
    let ended = polled.ended.expect_err("dropped by the server's keepalive");
    assert!(ended.contains("keepalive"), "{ended}");
    server.stop();
}

#[test]
fn dropping_every_handle_delivers_everything_then_1000() {
    let server = TestServer::start("127.0.0.1:0", ServerConfig::default());
    let ws = connect_with(&server.url(), ClientConfig::default()).unwrap();
    let (first, _events) = ws.spawn_with(&LiveConfig::new().queue(8));
    let second = first.clone();
    let filler = "x".repeat(1000);
    let writer = thread::spawn(move || {
        for i in (1..1000).step_by(2) {
            second.send_text(&format!("{i} {filler}")).unwrap();
        }
    });
    for i in (0..1000).step_by(2) {
        first.send_text(&format!("{i} ")).unwrap();
    }
    writer.join().unwrap();
    drop(first);
    let seen = server.seen();
    assert_eq!(seen.ended, Ok(Some(CloseCode::NORMAL)));
    assert_eq!(seen.messages.len(), 1000);
    for parity in [0, 1] {
        let order: Vec<usize> = seen
            .messages
            .iter()
            .filter_map(|m| m.split(' ').next()?.parse().ok())
            .filter(|i: &usize| i % 2 == parity)
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "each handle's order kept"
        );
    }
    server.stop();
}

#[test]
fn state_events_of_a_normal_life_and_a_dropped_peer() {
    let server = TestServer::start("127.0.0.1:0", ServerConfig::default());
    let ws = connect_with(&server.url(), ClientConfig::default()).unwrap();
    let (handle, mut events) = ws.spawn();
    assert!(matches!(
        next_change(&mut events),
        LiveEvent::State(LiveState::Open)
    ));
    handle.send_text("hi").unwrap();
    let closed = handle.close(CloseCode::NORMAL, "done").unwrap();
    let expected = Closed {
        code: Some(CloseCode::NORMAL),
        reason: "done".into(),
        by: ClosedBy::Local,
    };
    assert_eq!(closed, expected);
    assert!(matches!(
        next_change(&mut events),
        LiveEvent::State(LiveState::Closing)
    ));
    match next_change(&mut events) {
        LiveEvent::State(LiveState::Closed(closed)) => assert_eq!(closed, expected),
        other => panic!("{other:?}"),
    }
    assert!(next_event(&mut events).is_none());
    assert!(handle.send_text("late").is_err());
    assert_eq!(server.seen().messages, ["hi"]);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let vanishing = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let ws = wsproto_blocking::accept_stream(stream, &ServerConfig::default()).unwrap();
        thread::sleep(Duration::from_millis(100));
        drop(ws);
    });
    let ws = connect_with(&url, ClientConfig::default()).unwrap();
    let (_handle, mut events) = ws.spawn();
    assert!(matches!(
        next_change(&mut events),
        LiveEvent::State(LiveState::Open)
    ));
    match next_change(&mut events) {
        LiveEvent::Error(Error::Lost(ConnectionLost::UnexpectedEof)) => {}
        other => panic!("{other:?}"),
    }
    match next_change(&mut events) {
        LiveEvent::State(LiveState::Closed(closed)) => {
            assert_eq!(closed.by, ClosedBy::Failure);
            assert_eq!(closed.code, Some(CloseCode::ABNORMAL));
        }
        other => panic!("{other:?}"),
    }
    vanishing.join().unwrap();
    server.stop();
}

fn policy() -> ReconnectPolicy {
    ReconnectPolicy::new()
        .initial_delay(Duration::from_millis(40))
        .max_delay(Duration::from_millis(200))
}

#[test]
fn reconnects_across_a_restart_and_delivers_the_queue_once() {
    let server = TestServer::start("127.0.0.1:0", ServerConfig::default());
    let addr = server.addr.to_string();
    let config = LiveConfig::new().reconnect(policy());
    let (handle, mut events) = connect_live(&server.url(), ClientConfig::default, &config);
    assert!(matches!(
        next_change(&mut events),
        LiveEvent::State(LiveState::Connecting { attempt: 0 })
    ));
    assert!(matches!(
        next_change(&mut events),
        LiveEvent::State(LiveState::Open)
    ));
    handle.send_text("before").unwrap();
    handle.flush().unwrap();

    let seen = server.stop();
    let first = seen.recv_timeout(WAIT).unwrap();
    assert_eq!(first.messages, ["before"]);
    assert!(matches!(
        next_change(&mut events),
        LiveEvent::State(LiveState::Closing)
    ));
    for text in ["q1", "q2", "q3"] {
        handle.send_text(text).unwrap();
    }
    let mut retries = Vec::new();
    let mut restarted = None;
    loop {
        match next_change(&mut events) {
            LiveEvent::State(LiveState::Reconnecting { attempt, delay }) => {
                retries.push((attempt, delay));
                if retries.len() == 3 {
                    restarted = Some(TestServer::start(&addr, ServerConfig::default()));
                }
            }
            LiveEvent::State(LiveState::Open) if restarted.is_some() => break,
            LiveEvent::State(LiveState::Connecting { .. }) | LiveEvent::Error(_) => {}
            other => panic!("{other:?}"),
        }
    }
    let restarted = restarted.unwrap();
    for (i, (attempt, delay)) in retries.iter().enumerate() {
        assert_eq!(*attempt as usize, i + 1, "{retries:?}");
        assert!(*delay <= policy().base_delay(*attempt), "{retries:?}");
    }
    let closed = handle.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(closed.by, ClosedBy::Local);
    let second = restarted.seen();
    assert_eq!(second.messages, ["q1", "q2", "q3"]);
    assert_eq!(second.ended, Ok(Some(CloseCode::NORMAL)));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(restarted.accepted(), 1);
    restarted.stop();
}

#[test]
fn a_4xx_refusal_is_final() {
    let refusing = ServerConfig::default().check_request(|_request| Err(HttpResponse::new(403)));
    let server = TestServer::start("127.0.0.1:0", refusing);
    let config = LiveConfig::new().reconnect(policy());
    let (handle, mut events) = connect_live(&server.url(), ClientConfig::default, &config);
    assert!(matches!(
        next_change(&mut events),
        LiveEvent::State(LiveState::Connecting { attempt: 0 })
    ));
    match next_change(&mut events) {
        LiveEvent::Error(error) => assert_eq!(error.http_status(), Some(403), "{error}"),
        other => panic!("{other:?}"),
    }
    match next_change(&mut events) {
        LiveEvent::State(LiveState::Closed(closed)) => assert_eq!(closed.by, ClosedBy::Failure),
        other => panic!("{other:?}"),
    }
    assert!(next_event(&mut events).is_none());
    assert!(!handle.is_open());
    server.stop();
}

#[test]
fn pong_answers_pings_when_auto_pong_is_off() {
    let server = Server::bind_with("127.0.0.1:0", ServerConfig::default()).unwrap();
    let url = server.url();
    let pinger = thread::spawn(move || {
        let mut pongs = Vec::new();
        for payload in [&b"polled"[..], b"live"] {
            let mut ws = server.accept().unwrap();
            ws.ping(payload).unwrap();
            while let Some(Ok(event)) = ws.next_event() {
                if let wsproto_blocking::Event::Pong { payload, .. } = event {
                    pongs.push(payload.to_vec());
                    break;
                }
            }
            ws.close(CloseCode::NORMAL, "").unwrap();
        }
        pongs
    });
    let manual = || ClientConfig::default().config(Config::default().auto_pong(false));
    let mut ws = connect_with(&url, manual()).unwrap();
    while let Some(event) = ws.next_event() {
        if let Ok(wsproto_blocking::Event::Ping(payload)) = event {
            ws.pong(&payload).unwrap();
        }
    }
    assert_eq!(ws.close_code(), Some(CloseCode::NORMAL));
    assert!(!ws.is_open());

    let ws = connect_with(&url, manual()).unwrap();
    let (handle, mut events) = ws.spawn();
    while let Some(event) = next_event(&mut events) {
        if let LiveEvent::Ping(payload) = event {
            handle.pong(payload).unwrap();
        }
    }
    assert_eq!(handle.close_code(), Some(CloseCode::NORMAL));
    assert_eq!(pinger.join().unwrap(), [&b"polled"[..], b"live"]);
}
