//! `wsbench`: the end-to-end WebSocket echo benchmark.
//!
//! ```text
//! wsbench server --impl IMPL [--bind 127.0.0.1:0]
//! wsbench load   --url ws://HOST:PORT/ --size N --conns C --depth D --secs S
//!                [--warmup S] [--server-pid PID]
//! wsbench matrix [--quick] [--impls a,b,...] [--secs S] [--repeats R] [--no-pin]
//!                [--sizes 16,1KiB,64KiB,1MiB] [--conns-list 1,64] [--depths 1,16] [--no-iperf]
//! wsbench idle   --impl IMPL [--conns 10000] [--settle S]
//! wsbench soak   --impl IMPL [--conns 10000] [--secs 600] [--report 10] [--warmup S]
//! ```
//!
//! See `bench/README.md` for what each number means.

mod args;
mod handshake;
mod idle;
mod load;
mod loopback;
mod matrix;
mod proc;
mod server;
mod soak;
mod tally;
mod wss;

use std::process::ExitCode;

const USAGE: &str = "\
usage:
  wsbench server --impl IMPL [--bind ADDR]
  wsbench load   --url URL --size BYTES --conns C --depth D --secs S [--warmup S] [--server-pid PID]
  wsbench matrix [--quick] [--impls A,B,...] [--secs S] [--repeats R] [--warmup S] [--no-pin]
                 [--sizes 16,1KiB,...] [--conns-list 1,64] [--depths 1,16] [--no-iperf]
  wsbench idle   --impl IMPL [--conns N] [--settle S]
  wsbench soak   --impl IMPL [--conns N] [--secs S] [--report S] [--warmup S]

IMPL: wsproto-tokio wsproto-smol wsproto-async-std wsproto-blocking
      wsproto-tokio-live wsproto-smol-live (background-driven: spawn + Handle + Events)
      tokio-tungstenite tokio-tungstenite-batched fastwebsockets tokio-websockets
      raw-tokio (no WebSocket library: the floor; never counted as a peer)
      over TLS (wss://, TLS 1.3 AES-128-GCM for all): wsproto-tokio-wss tokio-tungstenite-wss
      tokio-tungstenite-batched-wss fastwebsockets-wss tokio-websockets-wss";

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(command) = argv.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest: Vec<String> = argv.collect();
    let result = args::Args::parse(&rest).and_then(|args| match command.as_str() {
        "server" => server::run(&args),
        "load" => load::run(&args),
        "matrix" => matrix::run(&args),
        "idle" => idle::run(&args),
        "soak" => soak::run(&args),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wsbench {command}: {error}");
            ExitCode::FAILURE
        }
    }
}
