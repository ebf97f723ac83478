//! `wsproto connect --reconnect` through the real binary on every runtime: the client
//! outlives a server that is stopped and started again on the same port, the lines typed
//! while it was down arrive once after the reconnect, state changes go to stderr and never
//! to stdout, and the end of input still exits 0.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{line_with, lines, send_signal, serve, spawn_interactive, wait_exit};

use common::RUNTIMES;

#[test]
fn a_client_survives_a_server_restart_and_delivers_what_was_typed_meanwhile() {
    for runtime in RUNTIMES {
        let mut server = serve(&[]);
        let url = server.url.clone();
        let addr = server.addr().to_owned();
        let (mut child, mut stdin) = spawn_interactive(&[
            "--runtime",
            runtime,
            "--reconnect",
            "--reconnect-max-delay",
            "0.3",
            &url,
        ]);
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        line_with(&stderr, &["connected to"]);
        writeln!(stdin, "one").unwrap();
        assert_eq!(line_with(&stdout, &[""]), "one", "{runtime}");

        // The server goes away (SIGTERM: a graceful 1001) and the client starts retrying.
        send_signal(&server.child, "TERM");
        wait_exit(&mut server.child, Duration::from_secs(10)).expect("serve stops");
        let retrying = line_with(&stderr, &["reconnecting in", "(attempt"]);
        assert!(retrying.ends_with("s (attempt 1)"), "{runtime}: {retrying}");
        writeln!(stdin, "two").unwrap();
        writeln!(stdin, "three").unwrap();
        line_with(&stderr, &["reconnecting in", "(attempt 3)"]);

        // Back on the same port: the queued lines arrive once, in order.
        let _restarted = serve(&["--bind", &addr]);
        line_with(&stderr, &["connected to"]);
        assert_eq!(line_with(&stdout, &[""]), "two", "{runtime}");
        assert_eq!(line_with(&stdout, &[""]), "three", "{runtime}");

        // End of input: delivered, closed with 1000, exit 0; stdout held only the echoes.
        writeln!(stdin, "four").unwrap();
        drop(stdin);
        let status = wait_exit(&mut child, Duration::from_secs(10)).expect("connect exits");
        assert_eq!(status.code(), Some(0), "{runtime}");
        let rest: Vec<String> = stdout.try_iter().collect();
        assert_eq!(rest, ["four"], "{runtime}");
        line_with(&stderr, &["closed by client: 1000"]);
    }
}

#[test]
fn a_refused_client_does_not_retry() {
    // A plain HTTP server that answers 403: final, so one attempt and a connect failure.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let accepts = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        let mut attempts = 0;
        while std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    attempts += 1;
                    stream.set_nonblocking(false).unwrap();
                    let mut head = [0u8; 4096];
                    let _ = std::io::Read::read(&mut stream, &mut head);
                    let _ = stream.write_all(
                        b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        attempts
    });
    let (mut child, stdin) = spawn_interactive(&["--reconnect", &url]);
    let stderr = lines(child.stderr.take().expect("stderr"));
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("connect exits");
    drop(stdin);
    assert_eq!(status.code(), Some(3), "a connect failure");
    line_with(&stderr, &["403"]);
    assert_eq!(accepts.join().unwrap(), 1, "no second attempt");
}
