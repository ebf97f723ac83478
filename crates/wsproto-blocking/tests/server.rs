//! Server behaviour over real loopback TCP: subprotocols, request checks, handshake
//! timeouts, limits and close codes, closing from either side, abort, and handshakes on
//! streams accepted or connected elsewhere.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::{
    LIMIT, bounded, client_frame, echo_server, eventually, join_within, raw_client,
    read_close_code, text,
};
use wsproto_blocking::{
    ClientConfig, CloseCode, ConnectionLost, Error, HandshakeError, HttpResponse, Limits, Role,
    Server, ServerConfig, State, WebSocket, accept_stream, client_over, connect, connect_with,
};

#[test]
fn subprotocol_follows_the_clients_preference_among_supported_ones() {
    bounded(|| {
        let config = ServerConfig::default()
            .subprotocol("v1.chat")
            .subprotocol("v2.chat")
            .server_name("wsproto-test");
        let url = echo_server(config);
        let options = ClientConfig::default()
            .subprotocol("v2.chat")
            .subprotocol("v1.chat");
        let ws = connect_with(&url, options).unwrap();
        assert_eq!(ws.subprotocol(), Some("v2.chat"));
        assert_eq!(ws.handshake().header("server"), Some(&b"wsproto-test"[..]));
        assert_eq!(ws.handshake().path(), Some("/"));
        let options = ClientConfig::default()
            .subprotocol("v1.chat")
            .subprotocol("v2.chat");
        assert_eq!(
            connect_with(&url, options).unwrap().subprotocol(),
            Some("v1.chat")
        );
        // Nothing in common: the connection opens without a subprotocol.
        let ws = connect_with(&url, ClientConfig::default().subprotocol("mqtt")).unwrap();
        assert_eq!(ws.subprotocol(), None);
    });
}

#[test]
fn request_check_refuses_foreign_origins_with_403() {
    bounded(|| {
        let config = ServerConfig::default()
            .keep_request_headers(true)
            .check_request(|request| match request.origin() {
                Some("https://good.example") => Ok(()),
                _ => Err(HttpResponse::new(403).body("origin not allowed")),
            });
        let server = Server::bind_with("127.0.0.1:0", config).unwrap();
        let url = server.url();
        let error =
            connect_with(&url, ClientConfig::default().origin("https://evil.example")).unwrap_err();
        assert_eq!(error.http_status(), Some(403), "{error}");
        let Error::Handshake(HandshakeError::Rejected(rejection)) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(&rejection.body()[..], b"origin not allowed");
        eventually(LIMIT, || server.failed_handshakes() == 1);

        let client = thread::spawn(move || {
            let mut ws =
                connect_with(&url, ClientConfig::default().origin("https://good.example")).unwrap();
            ws.send_text("hi").unwrap();
            ws.recv().unwrap().unwrap()
        });
        let mut ws = server.accept().unwrap();
        assert_eq!(
            ws.handshake().header("origin"),
            Some(&b"https://good.example"[..])
        );
        let message = ws.recv().unwrap().unwrap();
        ws.send(message).unwrap();
        assert_eq!(join_within(client, LIMIT), text("hi"));
    });
}

#[test]
fn failed_handshakes_reach_the_hook_with_the_clients_address_and_headers_the_101() {
    bounded(|| {
        let (tx, failures) = std::sync::mpsc::channel();
        let config = ServerConfig::default()
            .response_header("X-Served-By", "wsproto-test")
            .on_failed_handshake(move |peer, error| {
                let _ = tx.send((peer, error.to_string()));
            });
        let url = echo_server(config);
        let ws = connect(&url).unwrap();
        assert_eq!(
            ws.handshake().header("x-served-by"),
            Some(&b"wsproto-test"[..])
        );
        let mut bad =
            TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches('/')).unwrap();
        let client = bad.local_addr().unwrap();
        bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
            .unwrap();
        let (peer, why) = failures.recv_timeout(LIMIT).unwrap();
        assert_eq!(peer, Some(client));
        assert!(why.contains("header"), "{why}");
    });
}

#[test]
fn silent_and_trickling_clients_are_dropped_at_the_handshake_timeout() {
    bounded(|| {
        let config = ServerConfig::default().handshake_timeout(Duration::from_millis(300));
        let server = Server::bind_with("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        let silent = thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            // The server closes without a word.
            assert_eq!(stream.read(&mut [0; 16]).unwrap(), 0);
        });
        let trickling = thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
            for byte in request {
                if stream.write_all(&[*byte]).is_err() {
                    return; // dropped, as it should be
                }
                thread::sleep(Duration::from_millis(50));
            }
            panic!("a trickling client was allowed to send its whole head");
        });
        let good = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            let mut ws = connect(&format!("ws://{addr}/")).unwrap();
            ws.send_text("still served").unwrap();
            ws.recv().unwrap().unwrap()
        });
        let mut ws = server.accept().unwrap();
        let message = ws.recv().unwrap().unwrap();
        ws.send(message).unwrap();
        assert_eq!(join_within(good, LIMIT), text("still served"));
        join_within(silent, LIMIT);
        join_within(trickling, LIMIT);
        eventually(LIMIT, || server.failed_handshakes() == 2);
        assert!(
            server
                .accept_timeout(Duration::from_millis(50))
                .unwrap()
                .is_none()
        );
    });
}

#[test]
fn oversize_message_closes_with_1009_and_bad_utf8_with_1007() {
    bounded(|| {
        let limits = Limits::default().max_message_size(1000);
        let url = echo_server(ServerConfig::default().limits(limits));
        let mut raw = raw_client(&url);
        raw.write_all(&client_frame(0x82, &[0; 1001])).unwrap();
        assert_eq!(read_close_code(&mut raw), Some(1009));

        let mut raw = raw_client(&url);
        raw.write_all(&client_frame(0x81, b"ok \xc3\x28 not"))
            .unwrap();
        assert_eq!(read_close_code(&mut raw), Some(1007));

        let mut raw = raw_client(&url);
        raw.write_all(&client_frame(0x83, b"")).unwrap();
        assert_eq!(read_close_code(&mut raw), Some(1002));

        // The client side reports the same as typed values.
        let mut ws = connect(&url).unwrap();
        ws.send_binary(&[0; 2000]).unwrap();
        assert!(ws.recv().is_none(), "the server closed");
        assert_eq!(
            ws.close_received().unwrap().code(),
            CloseCode::MESSAGE_TOO_BIG
        );
    });
}

#[test]
fn closing_handshake_from_either_side() {
    bounded(|| {
        let server = Server::bind("127.0.0.1:0").unwrap();
        // The server closes: the client's recv ends after the handshake.
        let url = server.url();
        let client = thread::spawn(move || {
            let mut ws = connect(&url).unwrap();
            ws.send_text("before close").unwrap();
            assert!(ws.recv().is_none());
            let frame = ws.close_received().unwrap().clone();
            (frame.code(), frame.reason().to_owned(), ws.state())
        });
        let mut ws = server.accept().unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), text("before close"));
        ws.close(CloseCode::new(4001).unwrap(), "custom").unwrap();
        assert_eq!(ws.state(), State::Closed);
        assert_eq!(
            ws.close_received().unwrap().code(),
            CloseCode::new(4001).unwrap()
        );
        let (code, reason, state) = join_within(client, LIMIT);
        assert_eq!(code, CloseCode::new(4001).unwrap());
        assert_eq!((reason.as_str(), state), ("custom", State::Closed));

        // The client closes: queued messages go first, the server sees them, then the end.
        let url = server.url();
        let client = thread::spawn(move || {
            let mut ws = connect(&url).unwrap();
            ws.feed(text("last words")).unwrap();
            ws.close(CloseCode::NORMAL, "bye").unwrap();
            (ws.state(), ws.close_sent().unwrap().code())
        });
        let mut ws = server.accept().unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), text("last words"));
        assert!(ws.recv().is_none());
        let received = ws.close_received().unwrap();
        assert_eq!(
            (received.code(), received.reason()),
            (CloseCode::NORMAL, "bye")
        );
        assert!(matches!(ws.send_text("late"), Err(Error::Send(_))));
        assert_eq!(
            join_within(client, LIMIT),
            (State::Closed, CloseCode::NORMAL)
        );
    });
}

#[test]
fn abort_gives_the_peer_an_unexpected_eof() {
    bounded(|| {
        let server = Server::bind("127.0.0.1:0").unwrap();
        let url = server.url();
        let client = thread::spawn(move || {
            let mut ws = connect(&url).unwrap();
            ws.abort().unwrap();
            assert!(ws.recv().is_none());
        });
        let mut ws = server.accept().unwrap();
        join_within(client, LIMIT);
        match ws.recv() {
            // A lost connection, not a protocol violation (locally close code 1006).
            Some(Err(Error::Lost(ConnectionLost::UnexpectedEof))) => {}
            other => panic!("{other:?}"),
        }
        assert!(ws.recv().is_none());
    });
}

#[test]
fn handshakes_run_on_streams_accepted_and_connected_elsewhere() {
    bounded(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let config = ServerConfig::default().subprotocol("chat");
            let mut ws = accept_stream(stream, &config).unwrap();
            assert_eq!(ws.handshake().path(), Some("/room?id=1"));
            while let Some(message) = ws.next() {
                let message = message.unwrap();
                ws.send(message).unwrap();
            }
            ws.close_received().map(|frame| frame.code())
        });
        let stream = TcpStream::connect(addr).unwrap();
        let options = ClientConfig::default().subprotocol("chat");
        let mut ws = client_over(stream, &format!("ws://{addr}/room?id=1"), options).unwrap();
        assert_eq!(ws.subprotocol(), Some("chat"));
        assert_eq!(ws.peer_addr().unwrap(), addr);
        assert_eq!(ws.local_addr().unwrap().ip(), addr.ip());
        ws.send_text("over a stream of ours").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), text("over a stream of ours"));
        ws.close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(join_within(server, LIMIT), Some(CloseCode::NORMAL));
    });
}

#[test]
fn from_upgraded_speaks_websocket_on_a_socket_upgraded_elsewhere() {
    bounded(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let (config, limits) = (Default::default(), Limits::default());
        let mut client = WebSocket::from_upgraded(client, Role::Client, config, limits, &[]);
        let peer = thread::spawn(move || {
            let mut ws = WebSocket::from_upgraded(
                server,
                Role::Server,
                Default::default(),
                Limits::default(),
                &[],
            );
            let message = ws.recv().unwrap().unwrap();
            ws.send(message).unwrap();
            ws.close(CloseCode::NORMAL, "").unwrap();
        });
        client.send_text("no http here").unwrap();
        assert_eq!(client.recv().unwrap().unwrap(), text("no http here"));
        assert!(client.recv().is_none());
        join_within(peer, LIMIT);
    });
}

#[test]
fn at_the_pending_cap_a_new_client_evicts_the_oldest_running_handshake() {
    bounded(|| {
        let config = ServerConfig::default()
            .handshake_timeout(Duration::from_secs(30))
            .max_pending_handshakes(1);
        let server = Server::bind_with("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        // A silent client takes the only slot; its handshake would last 30 s.
        let mut silent = TcpStream::connect(addr).unwrap();
        silent.set_read_timeout(Some(LIMIT)).unwrap();
        thread::sleep(Duration::from_millis(50));
        let started = std::time::Instant::now();
        let client = move |text: &'static str| {
            thread::spawn(move || {
                let mut ws = connect(&format!("ws://{addr}/")).unwrap();
                ws.send_text(text).unwrap();
                ws.recv().unwrap().unwrap()
            })
        };
        let good = client("served at once");
        let mut ws = server.accept().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "no wait for the timeout"
        );
        assert_eq!(
            silent.read(&mut [0; 8]).unwrap_or(0),
            0,
            "the silent one was cut off"
        );
        eventually(LIMIT, || server.failed_handshakes() == 1);
        let message = ws.recv().unwrap().unwrap();
        ws.send(message).unwrap();
        assert_eq!(join_within(good, LIMIT), text("served at once"));

        // A finished handshake the application has not taken is never evicted: the next
        // client waits in the backlog until it is taken.
        let second = client("second");
        thread::sleep(Duration::from_millis(200));
        let third = client("third");
        thread::sleep(Duration::from_millis(300));
        assert!(
            !third.is_finished(),
            "waits while the cap holds a finished handshake"
        );
        for _ in 0..2 {
            let mut ws = server.accept().unwrap();
            let message = ws.recv().unwrap().unwrap();
            ws.send(message).unwrap();
        }
        assert_eq!(join_within(second, LIMIT), text("second"));
        assert_eq!(join_within(third, LIMIT), text("third"));
        assert_eq!(server.failed_handshakes(), 1);
    });
}

#[test]
fn send_uncompressed_makes_room_like_every_other_send() {
    bounded(|| {
        // A high-water mark of 0: any queued byte fills the buffer. After `next_event`
        // returns the client's ping, the automatic pong is queued and not yet written.
        let limits = Limits::default().write_high_water(0);
        let server =
            Server::bind_with("127.0.0.1:0", ServerConfig::default().limits(limits)).unwrap();
        let url = server.url();
        let client = thread::spawn(move || {
            let mut ws = connect(&url).unwrap();
            ws.ping(b"p").unwrap();
            let reply = ws.recv().unwrap().unwrap();
            ws.close(CloseCode::NORMAL, "").unwrap();
            reply
        });
        let mut ws = server.accept().unwrap();
        let first = ws.next_event().unwrap().unwrap();
        assert!(
            matches!(first, wsproto_blocking::Event::Ping(_)),
            "expected the ping, got {first:?}"
        );
        assert!(ws.buffered_amount() > 0, "the pong waits in the queue");
        ws.send_uncompressed(wsproto_blocking::Message::text("after the pong"))
            .unwrap();
        while ws.next_event().is_some() {}
        let reply = client.join().unwrap();
        assert_eq!(reply, wsproto_blocking::Message::text("after the pong"));
    });
}

#[test]
fn paused_accepting_leaves_clients_in_the_backlog_until_resumed() {
    bounded(|| {
        let server = Server::bind("127.0.0.1:0").unwrap();
        let url = server.url();
        server.pause_accepting();
        assert!(!server.is_accepting());
        let client = |url: &str| {
            let url = url.to_owned();
            let (done, finished) = std::sync::mpsc::channel();
            let handle = thread::spawn(move || {
                let result = connect(&url).map(|_| ());
                let _ = done.send(());
                result
            });
            (handle, finished)
        };
        // If the acceptor was already waiting in a TCP accept, that accept still takes its
        // connection (as documented); then the next client is the one left waiting.
        let (mut waiting, mut finished) = client(&url);
        if let Some(_taken) = server.accept_timeout(Duration::from_millis(500)).unwrap() {
            join_within(waiting, LIMIT).unwrap();
            (waiting, finished) = client(&url);
        }
        assert!(
            finished.recv_timeout(Duration::from_millis(400)).is_err(),
            "no handshake while paused"
        );
        assert!(
            server
                .accept_timeout(Duration::from_millis(10))
                .unwrap()
                .is_none(),
            "nothing handed out while paused"
        );
        server.resume_accepting();
        assert!(server.is_accepting());
        let _served = server.accept().unwrap();
        join_within(waiting, LIMIT).unwrap();
    });
}

#[test]
fn graceful_shutdown_closes_every_connection_with_1001() {
    bounded(|| {
        let server = Server::bind("127.0.0.1:0").unwrap();
        let url = server.url();
        let clients: Vec<_> = (0..3)
            .map(|_| {
                let url = url.clone();
                thread::spawn(move || {
                    let mut ws = connect(&url).unwrap();
                    while let Some(Ok(_)) = ws.recv() {}
                    ws.close_received()
                        .map(|frame| (frame.code(), frame.reason().to_owned()))
                })
            })
            .collect();
        let mut owners = Vec::new();
        for _ in 0..3 {
            let mut ws = server.accept().unwrap();
            // Each owner keeps receiving, which is where the 1001 close runs.
            owners.push(thread::spawn(move || while let Some(Ok(_)) = ws.recv() {}));
        }
        assert_eq!(
            server.shutdown(Duration::from_secs(5)),
            0,
            "all closed in time"
        );
        for client in clients {
            let (code, reason) = join_within(client, LIMIT).expect("a Close from the server");
            assert_eq!(code, CloseCode::GOING_AWAY);
            assert_eq!(reason, wsproto_core::SHUTDOWN_REASON);
        }
        for owner in owners {
            join_within(owner, LIMIT);
        }
    });
}
