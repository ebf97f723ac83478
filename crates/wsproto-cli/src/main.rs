//! `wsproto`: a WebSocket server, client and conformance testee from the shell, on every
//! runtime wsproto supports (tokio, async-std, smol, blocking std).
//!
//! ```text
//! wsproto serve [--bind ADDR] [--runtime R] [--mode echo|broadcast] [--max-message BYTES]
//! wsproto connect URL [--runtime R] [--binary] [--subprotocol P]... [-H 'N: V']...
//! wsproto autobahn-client [--url URL] [--agent NAME] [--runtime R]
//! ```

mod args;
mod autobahn;
mod connect;
mod page;
mod rt;
mod serve;
mod signal;

use args::{Command, parse};

/// Prints `message` and exits with status 1.
pub(crate) fn fatal(message: &str) -> ! {
    eprintln!("wsproto: {message}");
    std::process::exit(1)
}

fn main() {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("wsproto: {error}");
            std::process::exit(2);
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
        Command::Connect(args) => connect::run(&args),
        Command::Autobahn(args) => autobahn::run(&args),
    };
    if let Err(message) = result {
        fatal(&message);
    }
}
