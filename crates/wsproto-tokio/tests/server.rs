//! Server behaviour over real loopback TCP: subprotocols, request checks, handshake
//! timeouts, limits and close codes, closing from either side, abort, graceful shutdown.

mod common;

use std::time::Duration;

use common::{LIMIT, client_frame, echo_server, raw_client, read_close_code, text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsproto_tokio::{
    ClientConfig, CloseCode, Error, HttpResponse, Limits, Server, ServerConfig, State, connect,
    connect_with,
};

#[tokio::test]
async fn subprotocol_follows_the_clients_preference_among_supported_ones() {
    tokio::time::timeout(LIMIT, async {
        let config = ServerConfig::default()
            .subprotocol("v1.chat")
            .subprotocol("v2.chat")
            .server_name("wsproto-test");
        let url = echo_server(config).await;
        let options = ClientConfig::default()
            .subprotocol("v2.chat")
            .subprotocol("v1.chat");
        let ws = connect_with(&url, options).await.unwrap();
        assert_eq!(ws.subprotocol(), Some("v2.chat"));
        assert_eq!(ws.handshake().header("server"), Some(&b"wsproto-test"[..]));
        // Nothing in common: the connection opens without a subprotocol.
        let ws = connect_with(&url, ClientConfig::default().subprotocol("mqtt"))
            .await
            .unwrap();
        assert_eq!(ws.subprotocol(), None);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn request_check_refuses_foreign_origins_with_a_status() {
    tokio::time::timeout(LIMIT, async {
        let config = ServerConfig::default().check_request(|request| match request.origin() {
            Some("https://good.example") => Ok(()),
            _ => Err(HttpResponse::new(403).body("origin not allowed")),
        });
        let url = echo_server(config).await;
        let error = connect_with(&url, ClientConfig::default().origin("https://evil.example"))
            .await
            .unwrap_err();
        assert_eq!(error.http_status(), Some(403), "{error}");
        let Error::Handshake(wsproto_core::handshake::HandshakeError::Rejected(rejection)) = &error
        else {
            panic!()
        };
        assert_eq!(&rejection.body()[..], b"origin not allowed");
        let mut ws = connect_with(&url, ClientConfig::default().origin("https://good.example"))
            .await
            .unwrap();
        ws.send_text("hi").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), text("hi"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn failed_handshakes_reach_the_hook_with_the_clients_address_and_headers_the_101() {
    tokio::time::timeout(LIMIT, async {
        let (tx, mut failures) = tokio::sync::mpsc::unbounded_channel();
        let config = ServerConfig::default()
            .response_header("X-Served-By", "wsproto-test")
            .on_failed_handshake(move |peer, error| {
                let _ = tx.send((peer, error.to_string()));
            });
        let url = echo_server(config).await;
        let ws = connect(&url).await.unwrap();
        assert_eq!(
            ws.handshake().header("x-served-by"),
            Some(&b"wsproto-test"[..])
        );
        let mut bad = TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches('/'))
            .await
            .unwrap();
        let client = bad.local_addr().unwrap();
        bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
            .await
            .unwrap();
        let (peer, why) = failures.recv().await.unwrap();
        assert_eq!(peer, Some(client));
        assert!(why.contains("header"), "{why}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn silent_and_trickling_clients_are_dropped_at_the_handshake_timeout() {
    tokio::time::timeout(LIMIT, async {
        let config = ServerConfig::default().handshake_timeout(Duration::from_millis(300));
        let mut server = Server::bind_with("127.0.0.1:0", config).await.unwrap();
        let addr = server.local_addr();
        let silent = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0; 16];
            // The server closes without a word.
            assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        });
        let trickling = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
            for byte in request {
                if stream.write_all(&[*byte]).await.is_err() {
                    return; // dropped, as it should be
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("a trickling client was allowed to send its whole head");
        });
        let good = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
            ws.send_text("still served").await.unwrap();
            ws.recv().await.unwrap().unwrap()
        });
        let mut ws = server.accept().await.unwrap();
        let message = ws.recv().await.unwrap().unwrap();
        ws.send(message).await.unwrap();
        assert_eq!(good.await.unwrap(), text("still served"));
        silent.await.unwrap();
        trickling.await.unwrap();
        // Let the accept loop observe the timed-out handshakes.
        tokio::select! {
            _ = server.accept() => panic!("no client left"),
            () = tokio::time::sleep(Duration::from_millis(400)) => {}
        }
        assert_eq!(server.failed_handshakes(), 2);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn oversize_message_closes_with_1009_and_bad_utf8_with_1007() {
    tokio::time::timeout(LIMIT, async {
        let url =
            echo_server(ServerConfig::default().limits(Limits::default().max_message_size(1000)))
                .await;
        let mut raw = raw_client(&url).await;
        raw.write_all(&client_frame(0x82, &[0; 1001]))
            .await
            .unwrap();
        assert_eq!(read_close_code(&mut raw).await, Some(1009));

        let mut raw = raw_client(&url).await;
        raw.write_all(&client_frame(0x81, b"ok \xc3\x28 not"))
            .await
            .unwrap();
        assert_eq!(read_close_code(&mut raw).await, Some(1007));

        let mut raw = raw_client(&url).await;
        raw.write_all(&client_frame(0x83, b"")).await.unwrap();
        assert_eq!(read_close_code(&mut raw).await, Some(1002));

        // The client side reports the same errors as typed values.
        let mut ws = connect(&url).await.unwrap();
        ws.send_binary(&[0; 2000]).await.unwrap();
        assert!(ws.recv().await.is_none(), "server closed");
        assert_eq!(
            ws.close_received().unwrap().code(),
            CloseCode::MESSAGE_TOO_BIG
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn close_from_the_server_and_abort_from_the_client() {
    tokio::time::timeout(LIMIT, async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        let url = server.url();
        let client = tokio::spawn(async move {
            let mut ws = connect(&url).await.unwrap();
            ws.send_text("before close").await.unwrap();
            // The server's Close ends the stream after the closing handshake.
            assert!(ws.recv().await.is_none());
            let frame = ws.close_received().unwrap().clone();
            (frame.code(), frame.reason().to_owned(), ws.state())
        });
        let mut ws = server.accept().await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), text("before close"));
        ws.close(CloseCode::new(4001).unwrap(), "custom")
            .await
            .unwrap();
        assert_eq!(ws.state(), State::Closed);
        assert_eq!(
            client.await.unwrap(),
            (
                CloseCode::new(4001).unwrap(),
                "custom".into(),
                State::Closed
            )
        );

        // Abort: the server sees the end of the stream without a Close (1006).
        let url = server.url();
        let client = tokio::spawn(async move {
            let mut ws = connect(&url).await.unwrap();
            ws.abort().await.unwrap();
        });
        let mut ws = server.accept().await.unwrap();
        client.await.unwrap();
        match ws.recv().await {
            Some(Err(Error::Lost(wsproto_tokio::ConnectionLost::UnexpectedEof))) => {}
            other => panic!("{other:?}"),
        }
        assert!(ws.recv().await.is_none());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn graceful_shutdown_sends_1001_to_open_connections() {
    tokio::time::timeout(LIMIT, async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        let url = server.url();
        let mut clients = Vec::new();
        for _ in 0..3 {
            let url = url.clone();
            clients.push(tokio::spawn(async move {
                let mut ws = connect(&url).await.unwrap();
                while ws.recv().await.is_some() {}
                ws.close_received().map(|f| f.code())
            }));
        }
        for _ in 0..3 {
            let mut ws = server.accept().await.unwrap();
            tokio::spawn(async move { while ws.recv().await.is_some() {} });
        }
        let left = server.shutdown(Duration::from_secs(5)).await;
        assert_eq!(left, 0);
        for client in clients {
            assert_eq!(client.await.unwrap(), Some(CloseCode::GOING_AWAY));
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn plain_http_get_can_serve_a_page_and_failures_are_distinguishable() {
    tokio::time::timeout(LIMIT, async {
        let config = ServerConfig::default().plain_http(|path| {
            (path == "/").then(|| {
                HttpResponse::new(200)
                    .header("Content-Type", "text/html")
                    .body("<h1>hi</h1>")
            })
        });
        let url = echo_server(config).await;
        let addr = url
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .to_owned();
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut page = String::new();
        stream.read_to_string(&mut page).await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.ends_with("<h1>hi</h1>"));

        // TCP refused, bad URL: different errors (wss:// to a closed port is refused too).
        let closed = TcpStream::connect("127.0.0.1:0").await.err();
        assert!(closed.is_some());
        let refused = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            drop(listener);
            connect(&format!("ws://127.0.0.1:{port}/"))
                .await
                .unwrap_err()
        };
        assert!(matches!(refused, Error::Connect(_)), "{refused}");
        assert!(matches!(
            connect("http://x/").await.unwrap_err(),
            Error::Handshake(_)
        ));
        assert!(matches!(
            connect("wss://127.0.0.1:1/").await.unwrap_err(),
            Error::Connect(_)
        ));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn paused_server_takes_no_new_connections_until_resumed() {
    tokio::time::timeout(LIMIT, async {
        let mut server = Server::bind("127.0.0.1:0").await.unwrap();
        server.pause_accepting();
        assert!(!server.is_accepting());
        let url = server.url();
        let client = tokio::spawn(async move { connect(&url).await.map(|_| ()) });
        tokio::select! {
            _ = server.accept() => panic!("accepted while paused"),
            () = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        server.resume_accepting();
        let _ws = server.accept().await.unwrap();
        client.await.unwrap().unwrap();
    })
    .await
    .unwrap();
}
