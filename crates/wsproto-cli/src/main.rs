//! `wsproto`: a WebSocket server, client and conformance testee from the shell, on every
//! runtime wsproto supports (tokio, async-std, smol, blocking std).
//!
//! ```text
//! wsproto serve [--bind ADDR] [--runtime R] [--mode echo|broadcast] [-s P]... [-H 'N: V']... [-v]
//!               [--tls-cert FILE --tls-key FILE | --tls-self-signed]
//! wsproto connect URL [--runtime R] [-b|--raw] [-s P]... [-H 'N: V']... [-x MSG]...
//!                 [--ca FILE | --insecure]
//! wsproto tunnel (--listen ADDR | --stdio) URL [--runtime R] [--ca FILE | --insecure] [--proxy URL]
//! wsproto serve --forward HOST:PORT ...
//! wsproto autobahn-client [--url URL] [--agent NAME] [--runtime R]
//! wsproto help [COMMAND]
//! ```
//!
//! Every command's flags are in its help text ([`args::help`]).
//!
//! Exit statuses are listed in [`exit::Exit`] (and in `wsproto connect --help`).

mod args;
mod autobahn;
mod connect;
mod console;
mod exit;
mod input;
mod page;
mod pipe;
mod rt;
mod serve;
mod signal;
mod tls;
mod tunnel;

use args::{Command, parse};
use exit::Exit;

/// Prints `message` and exits with status 1.
pub(crate) fn fatal(message: &str) -> ! {
    eprintln!("wsproto: {message}");
    Exit::Failure.exit()
}

/// Prints `message` and exits with the usage-error status (2).
pub(crate) fn usage_error(message: &str) -> ! {
    eprintln!("wsproto: {message}");
    Exit::Usage.exit()
}

fn main() {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => usage_error(&error.0),
    };
    let result = match command {
        Command::Help(text) => {
            print!("{text}");
            Ok(())
        }
        Command::Missing => {
            eprint!("{}", args::MAIN_HELP);
            Exit::Usage.exit();
        }
        Command::Version => {
            println!("wsproto {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve(args) => serve::run(&args),
        Command::Connect(args) => connect::run(&args).exit(),
        Command::Tunnel(args) => tunnel::run(&args),
        Command::Autobahn(args) => autobahn::run(&args),
    };
    if let Err(message) = result {
        fatal(&message);
    }
}
