//! The `wsproto` binary from the outside: `serve` on every runtime (first line, echo through
//! the library and through `wsproto connect`, the page on `/`, graceful shutdown on SIGTERM),
//! `connect` error reporting, and `--help`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wsproto_blocking::{CloseCode, Message};

const BIN: &str = env!("CARGO_BIN_EXE_wsproto");
const RUNTIMES: [&str; 4] = ["tokio", "async-std", "smol", "blocking"];

/// A running `wsproto serve`, killed on drop if the test did not stop it.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wsproto serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let url = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    assert!(!url.ends_with(":0/"), "the real port is printed: {url}");
    Served { child, url }
}

/// Waits for `child` to exit, at most `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs `wsproto connect` with `input` on stdin; returns (status, stdout, stderr).
fn connect_cli(args: &[&str], input: &str) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new(BIN)
        .arg("connect")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wsproto connect");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let status = wait_exit(&mut child, Duration::from_secs(20)).expect("connect exits by itself");
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    (status, out, err)
}

#[test]
fn serve_echoes_on_every_runtime_through_the_library_and_the_cli_client() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime]);
        let mut ws = wsproto_blocking::connect(&server.url).expect("connect");
        ws.send_text("via library").expect("send");
        assert_eq!(
            ws.recv().expect("open").expect("ok"),
            Message::text("via library"),
            "{runtime}"
        );
        ws.send_binary(&vec![7; 1 << 20]).expect("send");
        assert_eq!(
            ws.recv().expect("open").expect("ok").payload().len(),
            1 << 20,
            "{runtime}"
        );
        ws.close(CloseCode::NORMAL, "").expect("close");

        for client_runtime in RUNTIMES {
            let (status, out, err) = connect_cli(
                &[&server.url, "--runtime", client_runtime],
                "first line\nsecond ✓\n",
            );
            assert!(status.success(), "{runtime}/{client_runtime}: {err}");
            assert_eq!(
                out, "first line\nsecond ✓\n",
                "{runtime} server, {client_runtime} client"
            );
        }
    }
}

#[test]
fn broadcast_mode_sends_to_every_client() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime, "--mode", "broadcast"]);
        // Each client proves it joined with a round trip through the server.
        let mut a = wsproto_blocking::connect(&server.url).expect("a");
        a.send_text("a joined").expect("send");
        assert_eq!(
            a.recv().expect("open").expect("ok"),
            Message::text("a joined")
        );
        let mut b = wsproto_blocking::connect(&server.url).expect("b");
        b.send_text("b joined").expect("send");
        assert_eq!(
            b.recv().expect("open").expect("ok"),
            Message::text("b joined")
        );
        assert_eq!(
            a.recv().expect("open").expect("ok"),
            Message::text("b joined"),
            "{runtime}"
        );
        a.send_text("hello all").expect("send");
        assert_eq!(
            a.recv().expect("open").expect("ok"),
            Message::text("hello all"),
            "{runtime}"
        );
        assert_eq!(
            b.recv().expect("open").expect("ok"),
            Message::text("hello all"),
            "{runtime}"
        );
    }
}

#[test]
fn plain_http_get_returns_the_test_page() {
    let server = serve(&[]);
    let addr = server.url.trim_start_matches("ws://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut page = String::new();
    stream.read_to_string(&mut page).expect("read");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html"));
    assert!(
        page.contains("new WebSocket(url)"),
        "the page connects back"
    );
}

#[test]
fn sigterm_closes_clients_with_1001_and_exits_cleanly() {
    for runtime in RUNTIMES {
        let mut server = serve(&["--runtime", runtime]);
        let mut ws = wsproto_blocking::connect(&server.url).expect("connect");
        ws.send_text("hi").expect("send");
        assert_eq!(ws.recv().expect("open").expect("ok"), Message::text("hi"));
        let pid = server.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("kill")
                .success()
        );
        assert!(
            ws.recv().is_none(),
            "{runtime}: the server closed the connection"
        );
        assert_eq!(
            ws.close_received().map(|f| f.code()),
            Some(CloseCode::GOING_AWAY),
            "{runtime}"
        );
        let status = wait_exit(&mut server.child, Duration::from_secs(10)).expect("exits");
        assert!(status.success(), "{runtime}: {status}");
    }
}

#[test]
fn connect_fails_loudly_on_handshake_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = format!("ws://127.0.0.1:{port}/");
    let (status, _, err) = connect_cli(&[&url], "");
    assert!(!status.success());
    assert!(err.contains("could not connect"), "{err}");
    let (status, _, err) = connect_cli(&["http://example/"], "");
    assert!(!status.success());
    assert!(err.contains("handshake"), "{err}");
}

#[test]
fn help_and_bad_flags() {
    for command in [
        &["--help"][..],
        &["serve", "--help"],
        &["connect", "--help"],
        &["autobahn-client", "--help"],
    ] {
        let out = Command::new(BIN).args(command).output().expect("run");
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: wsproto"),
            "{command:?}"
        );
    }
    let out = Command::new(BIN)
        .args(["serve", "--runtime", "node"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--runtime"));
}

#[test]
fn deflate_is_negotiated_when_both_ask_for_it() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime, "--deflate"]);
        let options = wsproto_blocking::ClientConfig::default()
            .deflate(Some(wsproto_blocking::DeflateConfig::default()));
        let mut ws = wsproto_blocking::connect_with(&server.url, options).expect("connect");
        assert!(
            ws.connection().has_extension(),
            "{runtime}: permessage-deflate negotiated"
        );
        let text = "compress me ".repeat(10_000);
        ws.send_text(&text).expect("send");
        assert_eq!(
            ws.recv().expect("open").expect("ok"),
            Message::text(text),
            "{runtime}"
        );
        let (status, out, err) = connect_cli(
            &[&server.url, "--deflate", "--runtime", runtime],
            "squeezed\n",
        );
        assert!(status.success(), "{runtime}: {err}");
        assert_eq!(out, "squeezed\n");
    }
}
