//! A blocking echo server, one thread per connection.
//!
//! - `cargo run -p wsproto-blocking --example blocking_echo` (demo mode): starts the server on a free
//!   loopback port, runs a client against it, checks the echoes, closes, and exits 0.
//! - `cargo run -p wsproto-blocking --example blocking_echo -- 127.0.0.1:9001`: serves on that address
//!   until killed.

use std::process::ExitCode;
use std::thread;

use wsproto_blocking::{CloseCode, Message, Result, Server, TcpWebSocket, connect};

fn main() -> ExitCode {
    let outcome = match std::env::args().nth(1) {
        Some(addr) => serve_forever(&addr),
        None => demo(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Echoes every message back until the peer closes; replies are fed, so a burst of
/// messages is answered in one write when `recv` would wait.
fn echo(mut ws: TcpWebSocket) {
    while let Some(Ok(message)) = ws.recv() {
        if ws.feed(message).is_err() {
            break;
        }
    }
}

/// Accepts connections on `addr` forever, each on its own thread.
fn serve_forever(addr: &str) -> Result<()> {
    let server = Server::bind(addr)?;
    println!("echo server listening on {}", server.url());
    loop {
        let ws = server.accept()?;
        thread::spawn(move || echo(ws));
    }
}

/// Runs a server and a client in one process and checks a short exchange.
fn demo() -> Result<()> {
    let server = Server::bind("127.0.0.1:0")?;
    let url = server.url();
    println!("demo: echo server on {url}");
    let acceptor = thread::spawn(move || -> Result<()> {
        echo(server.accept()?);
        Ok(())
    });

    let mut ws = connect(&url)?;
    let sent = [
        Message::text("hello"),
        Message::binary(vec![0, 1, 2, 3]),
        Message::text("ü".repeat(10_000)),
    ];
    for message in &sent {
        ws.feed(message.clone())?;
    }
    ws.flush()?;
    for expected in &sent {
        let Some(reply) = ws.recv() else {
            return Err(unexpected("the connection closed early"));
        };
        let reply = reply?;
        if &reply != expected {
            return Err(unexpected("an echo differs from what was sent"));
        }
        println!(
            "demo: echoed {:?} of {} bytes",
            reply.kind(),
            reply.payload().len()
        );
    }
    ws.ping(b"rtt")?;
    ws.close(CloseCode::NORMAL, "demo done")?;
    println!(
        "demo: closed ({:?}), last rtt {:?}",
        ws.state(),
        ws.last_rtt()
    );
    acceptor
        .join()
        .map_err(|_| unexpected("the server thread panicked"))??;
    Ok(())
}

fn unexpected(what: &str) -> wsproto_blocking::Error {
    wsproto_blocking::Error::Io(std::io::Error::other(what.to_owned()))
}
