//! The `wsproto` binary as wscat and websocat users expect it (issue 24, items 3 to 5):
//! feedback on stderr (`connected to`, pings and pongs, `serve -v`), terminal markers, the
//! flags they reach for (`-s`, `-x`, `--ping-interval`, `--connect-timeout`, `serve -s/-H`),
//! `help CMD`, a bare `wsproto`, and a second Ctrl-C.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    BIN, RUNTIMES, connect_cli, line_with, lines, one_connection, send_signal, serve, serve_logged,
    spawn_interactive, wait_exit,
};
use wsproto_blocking::{ClientConfig, CloseCode, DeflateConfig};

/// `wsproto connect URL --runtime RUNTIME FLAGS...` (FLAGS split at spaces) with `input`.
fn connect_on(
    url: &str,
    runtime: &str,
    flags: &str,
    input: &str,
) -> (std::process::ExitStatus, String, String) {
    let mut args = vec![url, "--runtime", runtime];
    args.extend(flags.split_whitespace());
    connect_cli(&args, input)
}

#[test]
fn connect_says_what_the_handshake_settled_and_serve_negotiates_its_subprotocols() {
    for runtime in RUNTIMES {
        let server = serve(&[
            "--runtime",
            runtime,
            "-s",
            "chat.v1",
            "--subprotocol=chat.v2",
        ]);
        let flags = "-s mqtt -s chat.v2 --subprotocol chat.v1";
        let (status, out, err) = connect_on(&server.url, runtime, flags, "hi\n");
        assert_eq!(status.code(), Some(0), "{runtime}: {err}");
        assert_eq!(out, "hi\n", "{runtime}: stdout has the data alone");
        let first = err.lines().next().unwrap_or_default();
        let url = &server.url;
        assert_eq!(
            first,
            format!("connected to {url} (subprotocol chat.v2, extensions none)"),
            "{runtime}: the client's preference among the server's"
        );
    }
    let server = serve(&["--deflate"]);
    let (status, _, err) = connect_cli(&[&server.url, "--deflate"], "");
    assert!(status.success(), "{err}");
    assert!(
        err.contains("(subprotocol none, extensions permessage-deflate"),
        "{err}"
    );
}

#[test]
fn execute_sends_prints_the_replies_and_exits() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime]);
        let flags = "-x one --execute two-✓";
        let (status, out, err) = connect_on(&server.url, runtime, flags, "stdin is not read\n");
        assert_eq!(status.code(), Some(0), "{runtime}: {err}");
        assert_eq!(out, "one\ntwo-✓\n", "{runtime}");
        assert!(err.contains("closed by client: 1000"), "{runtime}: {err}");

        // --count ends as soon as the replies are in, long before --wait.
        let started = Instant::now();
        let flags = "-x a -x b --count 2 -w 10";
        let (status, out, err) = connect_on(&server.url, runtime, flags, "");
        assert_eq!(status.code(), Some(0), "{runtime}: {err}");
        assert_eq!(out, "a\nb\n", "{runtime}");
        assert!(started.elapsed() < Duration::from_secs(5), "{runtime}");

        // Fewer replies than --count within the quiet period: exit status 6.
        let flags = "-x a --count 2 --wait 0.3";
        let (status, out, err) = connect_on(&server.url, runtime, flags, "");
        assert_eq!(status.code(), Some(6), "{runtime}: {err}");
        assert_eq!(out, "a\n", "{runtime}");
        assert!(err.contains("1 of 2 replies"), "{runtime}: {err}");
    }
}

#[test]
fn show_ping_pong_reports_the_keepalive_pongs_with_their_rtt() {
    for runtime in RUNTIMES {
        let server = serve(&["--runtime", runtime]);
        let flags = ["--ping-interval", "0.2", "--show-ping-pong"];
        let (mut child, stdin) =
            spawn_interactive(&[&[&server.url, "--runtime", runtime][..], &flags].concat());
        // stdin stays open and silent: only keepalive pings go out.
        let err = lines(child.stderr.take().expect("stderr"));
        let line = line_with(&err, &["received pong", "rtt", " ms"]);
        assert!(line.starts_with("received pong (0 bytes), rtt "), "{line}");
        drop(stdin);
        let status = wait_exit(&mut child, Duration::from_secs(10));
        let _ = child.kill();
        assert_eq!(status.and_then(|s| s.code()), Some(0), "{runtime}");
    }
}

#[test]
fn connect_timeout_gives_up_on_a_server_that_never_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    for runtime in RUNTIMES {
        let started = Instant::now();
        let (status, _, err) = connect_cli(
            &[&url, "--runtime", runtime, "--connect-timeout", "0.3"],
            "",
        );
        assert_eq!(status.code(), Some(3), "{runtime}: {err}");
        assert!(err.contains("timed out"), "{runtime}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{runtime}: {:?}",
            started.elapsed()
        );
    }
    drop(listener);
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    for runtime in RUNTIMES {
        // Accepts, then never answers our Close: the first Ctrl-C waits for that answer.
        let (release, held) = mpsc::channel::<()>();
        let (url, server) = one_connection(move |ws| {
            let _ = held.recv_timeout(Duration::from_secs(20));
            drop(ws);
        });
        let (mut child, stdin) = spawn_interactive(&[&url, "--runtime", runtime]);
        let err = lines(child.stderr.take().expect("stderr"));
        line_with(&err, &["connected to"]);
        send_signal(&child, "INT");
        assert!(
            wait_exit(&mut child, Duration::from_millis(300)).is_none(),
            "{runtime}: the first Ctrl-C waits for the server's Close"
        );
        send_signal(&child, "INT");
        let status = wait_exit(&mut child, Duration::from_millis(1500));
        let _ = child.kill();
        drop(stdin);
        let _ = release.send(());
        server.join().expect("server");
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(130),
            "{runtime}: well before the 3 s grace"
        );
    }
}

#[test]
fn a_terminal_gets_a_prompt_and_markers() {
    let server = serve(&[]);
    // `script` runs the client on a pseudo-terminal: its stdin and stdout are a tty.
    let mut script = Command::new("script")
        .args([
            "-qefc",
            &format!("{BIN} connect {}", server.url),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs the client on a terminal");
    let mut keys = script.stdin.take().expect("stdin");
    let mut screen = script.stdout.take().expect("stdout");
    let (tx, seen) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0; 4096];
        while let Ok(n @ 1..) = screen.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut output = Vec::new();
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !String::from_utf8_lossy(&output).contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match seen.recv_timeout(left) {
                Ok(bytes) => output.extend(bytes),
                Err(_) => panic!(
                    "no {needle:?} on the terminal: {:?}",
                    String::from_utf8_lossy(&output)
                ),
            }
        }
    };
    // The prompt is shown again after the feedback line; type only then, as a person would.
    wait_for("connected to");
    wait_for("extensions none)\r\n> ");
    keys.write_all(b"hello\n").expect("type");
    wait_for("< hello\r\n> ");
    // Ctrl-D ends the input: a normal close, and the prompt is cleared.
    keys.write_all(b"\x04").expect("type");
    wait_for("closed by client: 1000");
    let status = wait_exit(&mut script, Duration::from_secs(10));
    let _ = script.kill();
    drop(keys);
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    let text = String::from_utf8_lossy(&output);
    assert!(
        text.contains("> hello\r\n"),
        "typed after the prompt: {text:?}"
    );
}

#[test]
fn serve_adds_its_headers_to_the_101_and_refuses_ones_it_cannot_send() {
    let server = serve(&["-H", "X-Served-By: wsproto test", "--header=X-Two:2"]);
    let mut raw = TcpStream::connect(server.addr()).expect("connect");
    raw.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .expect("write");
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        raw.read_exact(&mut byte).expect("read the 101 head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("ascii");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("\r\nX-Served-By: wsproto test\r\n"), "{head}");
    assert!(head.contains("\r\nX-Two: 2\r\n"), "{head}");

    let out = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "-H",
            "Sec-WebSocket-Accept: x",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "it never listened");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--header: \"Sec-WebSocket-Accept\""), "{err}");
}

#[test]
fn serve_verbose_logs_connections_closes_and_refused_handshakes() {
    for runtime in RUNTIMES {
        let server = serve_logged(&["--runtime", runtime, "-v", "-s", "chat", "--deflate"]);
        let options = ClientConfig::default()
            .subprotocol("chat")
            .deflate(Some(DeflateConfig::default()));
        let mut ws = wsproto_blocking::connect_with(&server.url, options).expect("connect");
        let peer = ws.local_addr().expect("addr").to_string();
        let line = server.wait_for_log(&format!("{peer} connected"));
        assert_eq!(
            line,
            format!("{peer} connected (path /, subprotocol chat, extensions permessage-deflate)"),
            "{runtime}"
        );
        ws.close(CloseCode::NORMAL, "bye").expect("close");
        let line = server.wait_for_log(&format!("{peer} closed"));
        assert_eq!(
            line,
            format!("{peer} closed by client: 1000 bye"),
            "{runtime}"
        );

        let mut bad = TcpStream::connect(server.addr()).expect("connect");
        let peer = bad.local_addr().expect("addr").to_string();
        bad.write_all(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .expect("write");
        let line = server.wait_for_log(&peer);
        assert!(
            line.starts_with(&format!("{peer} handshake refused: "))
                && line.ends_with("(answered 400)"),
            "{runtime}: {line}"
        );
        assert!(
            line.contains("missing sec-websocket-key header"),
            "{runtime}: {line}"
        );

        let mut page = TcpStream::connect(server.addr()).expect("connect");
        let peer = page.local_addr().expect("addr").to_string();
        page.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let line = server.wait_for_log(&peer);
        assert_eq!(
            line,
            format!("{peer} plain HTTP GET /: test page"),
            "{runtime}"
        );
    }
}

#[test]
fn serve_vv_adds_the_library_events() {
    for runtime in RUNTIMES {
        let server = serve_logged(&["--runtime", runtime, "-vv"]);
        let mut ws = wsproto_blocking::connect(&server.url).expect("connect");
        let line = server.wait_for_log("server handshake accepted");
        assert!(line.starts_with("wsproto DEBUG "), "{runtime}: {line}");
        ws.close(CloseCode::NORMAL, "bye").expect("close");
        let line = server.wait_for_log("close received");
        assert_eq!(
            line, "wsproto DEBUG close received role=Server code=1000 reason=\"bye\"",
            "{runtime}"
        );
        let mut bad = TcpStream::connect(server.addr()).expect("connect");
        bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
            .expect("write");
        let line = server.wait_for_log("server handshake failed");
        assert!(
            line.starts_with("wsproto INFO server handshake failed: "),
            "{runtime}: {line}"
        );
    }
}

#[test]
fn help_command_and_a_bare_wsproto() {
    for command in ["serve", "connect", "autobahn-client"] {
        let help = Command::new(BIN)
            .args(["help", command])
            .output()
            .expect("run");
        let flag = Command::new(BIN)
            .args([command, "--help"])
            .output()
            .expect("run");
        assert!(help.status.success(), "{command}");
        assert_eq!(
            help.stdout, flag.stdout,
            "help {command} is {command} --help"
        );
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(
            text.contains(&format!("Usage: wsproto {command}")),
            "{text}"
        );
    }
    let help = Command::new(BIN)
        .args(["help", "connect"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "-s, --subprotocol",
        "--ping-interval SECS",
        "--show-ping-pong",
        "--connect-timeout SECS",
        "-x, --execute MSG",
        "\n  6    ",
    ] {
        assert!(text.contains(flag), "connect --help documents {flag:?}");
    }
    let bare = Command::new(BIN).output().expect("run");
    assert_eq!(
        bare.status.code(),
        Some(2),
        "a bare wsproto is a usage error"
    );
    assert!(bare.stdout.is_empty());
    let err = String::from_utf8_lossy(&bare.stderr);
    assert!(err.contains("Usage: wsproto <COMMAND>"), "{err}");
}
