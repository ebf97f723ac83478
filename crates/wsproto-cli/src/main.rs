//! `wsproto`: a WebSocket server, client and conformance testee from the shell, on every
//! runtime wsproto supports (tokio, async-std, smol, blocking std).
//!
//! ```text
//! wsproto serve [--bind ADDR] [--runtime R] [--mode echo|broadcast] [--max-message BYTES]
//! wsproto connect URL [--runtime R] [--binary|--raw] [--subprotocol P]... [-H 'N: V']...
//! wsproto autobahn-client [--url URL] [--agent NAME] [--runtime R]
//! ```
//!
//! Exit statuses are listed in [`exit::Exit`] (and in `wsproto connect --help`).

mod args;
mod autobahn;
mod connect;
mod exit;
mod input;
mod page;
mod rt;
mod serve;
mod signal;

use args::{Command, parse};
use exit::Exit;

/// Prints `message` and exits with status 1.
pub(crate) fn fatal(message: &str) -> ! {
    eprintln!("wsproto: {message}");
    Exit::Failure.exit()
}

fn main() {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("wsproto: {error}");
            Exit::Usage.exit();
        }
    };
    let result = match command {
        Command::Help(text) => {
            print!("{text}");
            Ok(())
        }
        Command::Version => {
            println!("wsproto {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve(args) => serve::run(&args),
        Command::Connect(args) => connect::run(&args).exit(),
        Command::Autobahn(args) => autobahn::run(&args),
    };
    if let Err(message) = result {
        fatal(&message);
    }
}
