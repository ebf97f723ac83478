//! `wsproto serve` flags.

use std::collections::VecDeque;

use super::{Command, Flags, Runtime, SERVE_HELP, UsageError, header};

/// What `serve` does with messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Send every message back to its sender.
    Echo,
    /// Send every message to every connected client.
    Broadcast,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ServeArgs {
    pub(crate) bind: String,
    pub(crate) runtime: Runtime,
    pub(crate) mode: Mode,
    pub(crate) deflate: bool,
    pub(crate) max_message: usize,
    /// Subprotocols to accept (`-s`), in the order given.
    pub(crate) subprotocols: Vec<String>,
    /// Extra headers of every 101 response (`-H`).
    pub(crate) headers: Vec<(String, String)>,
    /// Log connections, closes and refused handshakes on stderr (`-v`).
    pub(crate) verbose: bool,
}

/// Default `--max-message` of `serve`: big-message tests need room.
const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

pub(super) fn parse(args: VecDeque<String>) -> Result<Command, UsageError> {
    let mut serve = ServeArgs {
        bind: "127.0.0.1:9001".into(),
        runtime: Runtime::Tokio,
        mode: Mode::Echo,
        deflate: false,
        max_message: DEFAULT_MAX_MESSAGE,
        subprotocols: Vec::new(),
        headers: Vec::new(),
        verbose: false,
    };
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(SERVE_HELP)),
            "--bind" => serve.bind = flags.value("--bind", inline)?,
            "--runtime" => serve.runtime = Runtime::parse(&flags.value("--runtime", inline)?)?,
            "--mode" => {
                serve.mode = match flags.value("--mode", inline)?.as_str() {
                    "echo" => Mode::Echo,
                    "broadcast" => Mode::Broadcast,
                    other => {
                        return Err(UsageError(format!(
                            "--mode: unknown mode {other:?}; use echo or broadcast"
                        )));
                    }
                }
            }
            "--max-message" => {
                let raw = flags.value("--max-message", inline)?;
                serve.max_message = raw.parse().map_err(|_| {
                    UsageError(format!("--max-message: {raw:?} is not a number of bytes"))
                })?;
            }
            "--deflate" => serve.deflate = true,
            "-s" | "--subprotocol" => serve
                .subprotocols
                .push(flags.value("--subprotocol", inline)?),
            "-H" | "--header" => serve
                .headers
                .push(header("--header", &flags.value("--header", inline)?)?),
            "-v" | "--verbose" => serve.verbose = true,
            other => {
                return Err(UsageError(format!(
                    "serve: unknown option {other:?} (see wsproto serve --help)"
                )));
            }
        }
    }
    Ok(Command::Serve(serve))
}

#[cfg(test)]
mod tests {
    use super::super::{assert_lists, assert_usage_errors, run};
    use super::*;

    #[test]
    fn serve_defaults_and_flags() {
        let Ok(Command::Serve(s)) = run("serve") else {
            panic!()
        };
        assert_eq!(
            (s.bind.as_str(), s.runtime, s.mode, s.max_message, s.verbose),
            (
                "127.0.0.1:9001",
                Runtime::Tokio,
                Mode::Echo,
                64 << 20,
                false
            )
        );
        let Ok(Command::Serve(s)) = run(
            "serve --bind 127.0.0.1:0 --runtime smol --mode broadcast --max-message=100 --deflate \
             -s chat --subprotocol=echo -v -H X-A:1",
        ) else {
            panic!()
        };
        assert_eq!(
            (s.bind.as_str(), s.runtime, s.mode, s.max_message, s.deflate),
            ("127.0.0.1:0", Runtime::Smol, Mode::Broadcast, 100, true)
        );
        assert_eq!(s.subprotocols, ["chat", "echo"]);
        assert_eq!(s.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert!(s.verbose);
    }

    #[test]
    fn errors_name_the_bad_flag_or_value() {
        assert_usage_errors(&[
            ("serve --runtime node", "--runtime"),
            ("serve --mode chat", "--mode"),
            ("serve --max-message lots", "--max-message"),
            ("serve --bind", "--bind needs a value"),
            ("serve -s", "--subprotocol needs a value"),
            (
                "serve -H novalue",
                "--header: \"novalue\" is not 'Name: value'",
            ),
            ("serve --frobnicate", "--frobnicate"),
        ]);
    }

    #[test]
    fn help_lists_every_flag() {
        assert_lists(
            SERVE_HELP,
            &[
                "--bind",
                "--runtime",
                "--mode",
                "--max-message",
                "--deflate",
                "-s, --subprotocol",
                "-H, --header",
                "-v, --verbose",
                "-h, --help",
            ],
        );
    }
}
