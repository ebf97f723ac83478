//! The `wsproto` binary from the outside: `serve` on every runtime (first line, echo through
//! the library and through `wsproto connect`, the page on `/`, graceful shutdown on SIGTERM),
//! `connect`'s input modes, exit statuses, error reporting and bounded memory, and `--help`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{
    BIN, Noise, RUNTIMES, connect_cli, one_connection, recorder, run_connect, send_signal, serve,
    spawn_connect, spawn_interactive, wait_exit,
};
use wsproto_blocking::{CloseCode, Message};

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
            assert_eq!(status.code(), Some(0), "{runtime}/{client_runtime}: {err}");
            assert_eq!(
                out, "first line\nsecond ✓\n",
                "{runtime} server, {client_runtime} client"
            );
            assert!(err.contains("closed by client: 1000"), "{err}");
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
fn plain_http_get_of_the_second_lines_address_returns_the_test_page() {
    let server = serve(&[]);
    // The second stdout line (checked by `serve`) is this page's address.
    let addr = server
        .page
        .trim_start_matches("http://")
        .trim_end_matches('/');
    assert_eq!(addr, server.addr());
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
    assert!(page.contains("new WebSocket(url, protocols)"), "a client");
    for id in [
        "url",
        "protocols",
        "connect",
        "disconnect",
        "status",
        "message",
        "binary",
        "send",
        "ping",
        "rtt",
        "selftest",
        "selftest-result",
        "log",
        "sent-messages",
        "received-bytes",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "the page has #{id}");
    }
    assert!(page.contains("echo round trip"), "labelled honestly");
}

#[test]
fn sigterm_closes_clients_with_1001_and_exits_cleanly() {
    for runtime in RUNTIMES {
        let mut server = serve(&["--runtime", runtime]);
        let mut ws = wsproto_blocking::connect(&server.url).expect("connect");
        ws.send_text("hi").expect("send");
        assert_eq!(ws.recv().expect("open").expect("ok"), Message::text("hi"));
        send_signal(&server.child, "TERM");
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
    assert_eq!(status.code(), Some(3), "connect failure: {err}");
    assert!(err.contains("could not connect"), "{err}");
    // A URL the handshake cannot use is a usage error, not a failed handshake.
    let (status, _, err) = connect_cli(&["http://example/"], "");
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("invalid websocket url"), "{err}");
    assert!(!err.contains("handshake"), "{err}");
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
    let out = Command::new(BIN)
        .args(["connect", "--help"])
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Exit status",
        "--raw",
        "-b, --binary",
        "\n  130  interrupted",
    ] {
        assert!(help.contains(needle), "connect --help mentions {needle:?}");
    }
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

#[test]
fn text_mode_stops_at_a_line_that_is_not_utf8_after_sending_what_came_before() {
    for runtime in RUNTIMES {
        let (url, server) = recorder();
        let run = run_connect(&[&url, "--runtime", runtime], b"one\n\xff\xfe\nthree\n");
        assert_eq!(run.status.code(), Some(5), "{runtime}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("stdin line 2 is not valid UTF-8; use --binary or --raw to send bytes"),
            "{runtime}: {}",
            run.stderr
        );
        let (messages, close) = server.join().expect("server");
        assert_eq!(messages, [Message::text("one")], "{runtime}");
        assert_eq!(close, Some(CloseCode::NORMAL), "{runtime}: closed cleanly");
    }
}

#[test]
fn binary_mode_sends_each_lines_exact_bytes() {
    for (runtime, flag) in RUNTIMES
        .into_iter()
        .zip(["--binary", "-b", "--binary", "-b"])
    {
        let (url, server) = recorder();
        let run = run_connect(
            &[&url, "--runtime", runtime, flag],
            b"one\n\xff\xfe\nthree\r\n",
        );
        assert_eq!(run.status.code(), Some(0), "{runtime}: {}", run.stderr);
        let (messages, close) = server.join().expect("server");
        assert_eq!(
            messages,
            [
                Message::binary(&b"one"[..]),
                Message::binary(&b"\xff\xfe"[..]),
                Message::binary(&b"three\r"[..]),
            ],
            "{runtime}"
        );
        assert_eq!(close, Some(CloseCode::NORMAL), "{runtime}");
    }
}

#[test]
fn raw_mode_round_trips_binary_bytes_exactly() {
    let server = serve(&[]);
    let input = Noise::bytes(0x5eed, 1 << 20);
    for runtime in RUNTIMES {
        let run = run_connect(&[&server.url, "--runtime", runtime, "--raw"], input.clone());
        assert_eq!(run.status.code(), Some(0), "{runtime}: {}", run.stderr);
        assert_eq!(run.stdout.len(), input.len(), "{runtime}");
        assert!(
            run.stdout == input,
            "{runtime}: the echo differs from the input"
        );
    }
}

#[test]
fn a_close_1009_from_the_server_is_an_abnormal_exit() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime, "--max-message", "10"]);
        let (status, out, err) = connect_cli(
            &[&server.url, "--runtime", runtime],
            "short\nthis line is longer than ten bytes\n",
        );
        assert_eq!(status.code(), Some(4), "{runtime}: {err}");
        assert_eq!(out, "short\n", "{runtime}");
        assert!(err.contains("closed by server: 1009"), "{runtime}: {err}");
    }
}

#[test]
fn a_connection_dropped_without_a_close_is_an_abnormal_exit() {
    for runtime in RUNTIMES {
        let (url, server) = one_connection(drop);
        // stdin stays open: only the server can end this session.
        let (mut child, stdin) = spawn_interactive(&[&url, "--runtime", runtime]);
        let status = wait_exit(&mut child, Duration::from_secs(20));
        let _ = child.kill();
        drop(stdin);
        server.join().expect("server");
        assert_eq!(status.and_then(|s| s.code()), Some(4), "{runtime}");
    }
}

#[test]
fn ctrl_c_closes_with_1000_and_exits_130() {
    for runtime in RUNTIMES {
        // Echoes, and reports the code of the client's Close as the server saw it.
        let (url, server) = one_connection(|mut ws| {
            while let Some(Ok(message)) = ws.recv() {
                ws.send(message).expect("echo");
            }
            ws.close_received().map(|f| f.code())
        });
        let (mut child, mut stdin) = spawn_interactive(&[&url, "--runtime", runtime]);
        stdin.write_all(b"hello\n").expect("write");
        // The echo proves the session is up (and the signal handler installed).
        let mut echo = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut echo)
            .expect("echo");
        assert_eq!(echo, "hello\n");
        send_signal(&child, "INT");
        let status = wait_exit(&mut child, Duration::from_secs(10));
        let _ = child.kill();
        drop(stdin);
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        assert_eq!(status.and_then(|s| s.code()), Some(130), "{runtime}: {err}");
        assert!(err.contains("closed by client: 1000"), "{runtime}: {err}");
        let seen = server.join().expect("server");
        assert_eq!(seen, Some(CloseCode::NORMAL), "{runtime}: {err}");
    }
}

#[test]
fn a_large_raw_pipe_into_a_slow_server_keeps_memory_flat() {
    const SIZE: usize = 64 << 20;
    const LIMIT_KIB: u64 = 64 << 10;
    for runtime in RUNTIMES {
        // Takes each message a little late, so stdin outruns the connection.
        let (url, server) = one_connection(|mut ws| {
            let mut check = Noise::new(0xb16, SIZE);
            let mut expected = Vec::new();
            let mut total = 0;
            while let Some(received) = ws.recv() {
                let payload = received.expect("message").into_payload();
                expected.resize(payload.len(), 0);
                check.read_exact(&mut expected).expect("noise");
                assert!(payload == expected, "bytes differ at offset {total}");
                // About 128 MiB/s at most: slower than the client's stdin.
                if (total + payload.len()) >> 17 != total >> 17 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                total += payload.len();
            }
            total
        });
        let run = spawn_connect(
            &[&url, "--runtime", runtime, "--raw"],
            Noise::new(0xb16, SIZE),
        )
        .finish(Duration::from_secs(120));
        assert_eq!(run.status.code(), Some(0), "{runtime}: {}", run.stderr);
        assert_eq!(
            server.join().expect("server"),
            SIZE,
            "{runtime}: every byte arrived"
        );
        eprintln!(
            "{runtime}: peak RSS {} KiB for a {} MiB pipe",
            run.peak_rss_kib,
            SIZE >> 20
        );
        assert!(run.peak_rss_kib > 0, "{runtime}: the peak was measured");
        assert!(
            run.peak_rss_kib < LIMIT_KIB,
            "{runtime}: peak RSS {} KiB",
            run.peak_rss_kib
        );
    }
}
