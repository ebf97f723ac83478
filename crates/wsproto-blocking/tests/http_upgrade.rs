//! `WebSocket::from_http_upgrade` behind a hand-written HTTP server, as any blocking HTTP
//! stack would do it: the stack parses the request, `HttpUpgrade::answer` decides, the stack
//! writes the 101 with the headers it was given, and bytes it read past the request become
//! the connection's leftover. A real client offering a subprotocol and compression gets
//! both.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use wsproto_blocking::{
    ClientConfig, CloseCode, DeflateConfig, HttpUpgrade, Message, ServerConfig, WebSocket,
    connect_with,
};

/// A request as an HTTP stack hands it over: method, target, headers, and the bytes read
/// past the head.
type Parsed = (String, String, Vec<(String, Vec<u8>)>, Vec<u8>);

/// Reads a request head and what followed it, and splits the head into its parts.
fn read_request(tcp: &mut TcpStream) -> Parsed {
    let mut read = Vec::new();
    let mut buf = [0; 4096];
    let end = loop {
        if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "the client left before its request was complete");
        read.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(read[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap().split(' ');
    let (method, target) = (start.next().unwrap(), start.next().unwrap());
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.as_bytes().to_vec()))
        .collect();
    (
        method.to_owned(),
        target.to_owned(),
        headers,
        read[end..].to_vec(),
    )
}

#[test]
fn another_http_stack_upgrades_with_our_negotiation() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let config = ServerConfig::default()
            .subprotocol("chat")
            .deflate(Some(DeflateConfig::default()));
        let (mut tcp, _) = listener.accept().unwrap();
        let (method, target, headers, leftover) = read_request(&mut tcp);
        let upgrade = HttpUpgrade::answer(&config, &method, &target, headers).unwrap();
        let mut response = "HTTP/1.1 101 Switching Protocols\r\n".to_owned();
        for (name, value) in upgrade.response_headers() {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        tcp.write_all(response.as_bytes()).unwrap();
        let mut ws = WebSocket::from_http_upgrade(tcp, upgrade, &leftover);
        assert_eq!(ws.subprotocol(), Some("chat"));
        while let Some(Ok(message)) = ws.recv() {
            ws.send(message).unwrap();
        }
        leftover.len()
    });
    let config = ClientConfig::default()
        .subprotocol("chat")
        .deflate(Some(DeflateConfig::default()));
    let mut ws = connect_with(&format!("ws://{addr}/chat"), config).unwrap();
    assert_eq!(ws.subprotocol(), Some("chat"));
    let long = "compressible ".repeat(10_000);
    for text in ["hello", long.as_str()] {
        ws.send_text(text).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::text(text));
    }
    ws.close(CloseCode::NORMAL, "done").unwrap();
    drop(ws);
    server.join().unwrap();
}
