//! Command-line parsing: a small hand-written parser (no dependency), so errors can name the
//! exact flag or value that is wrong and every command has its own `--help`.

use std::collections::VecDeque;
use std::fmt;

use wsproto_core::handshake::{ClientRequest, HandshakeError};

use crate::input::InputMode;

/// A usage error: what is wrong, and the help text to show with it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The async or blocking adapter a command runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    Tokio,
    AsyncStd,
    Smol,
    Blocking,
}

impl Runtime {
    fn parse(value: &str) -> Result<Self, UsageError> {
        Ok(match value {
            "tokio" => Self::Tokio,
            "async-std" => Self::AsyncStd,
            "smol" => Self::Smol,
            "blocking" => Self::Blocking,
            other => {
                return Err(UsageError(format!(
                    "--runtime: unknown runtime {other:?}; use tokio, async-std, smol or blocking"
                )));
            }
        })
    }
}

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
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ConnectArgs {
    pub(crate) url: String,
    pub(crate) runtime: Runtime,
    /// How stdin becomes messages (`--binary`, `--raw`; text by default).
    pub(crate) mode: InputMode,
    pub(crate) subprotocols: Vec<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) deflate: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AutobahnArgs {
    pub(crate) url: String,
    pub(crate) agent: String,
    pub(crate) runtime: Runtime,
    pub(crate) deflate: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Serve(ServeArgs),
    Connect(ConnectArgs),
    Autobahn(AutobahnArgs),
    Help(&'static str),
    Version,
}

pub(crate) const MAIN_HELP: &str = "\
wsproto - WebSocket server, client and conformance testee

Usage: wsproto <COMMAND> [OPTIONS]

Commands:
  serve            Run a WebSocket server (echo or broadcast) with a test page on /
  connect          Send stdin (lines or raw bytes) to a WebSocket server, print what comes back
  autobahn-client  Run the Autobahn|Testsuite client cases against its fuzzing server

Options:
  -h, --help       Show help (also after a command: wsproto serve --help)
  -V, --version    Show the version
";

pub(crate) const SERVE_HELP: &str = "\
Run a WebSocket server. The first line on stdout is `listening on ws://HOST:PORT/`.
A plain HTTP GET of / returns a page that talks to the server from a browser.
Ctrl-C or SIGTERM closes every connection with 1001 and exits.

Usage: wsproto serve [OPTIONS]

Options:
  --bind ADDR             Address to listen on [default: 127.0.0.1:9001] (port 0 picks one)
  --runtime RUNTIME       tokio, async-std, smol or blocking [default: tokio]
  --mode MODE             echo (reply to the sender) or broadcast (send to everyone) [default: echo]
  --max-message BYTES     Largest incoming message [default: 67108864]
  --deflate               Accept permessage-deflate (RFC 7692) from clients that offer it
  -h, --help              Show this help
";

pub(crate) const CONNECT_HELP: &str = "\
Connect to a WebSocket server: every stdin line is sent as a text message, every message
received is printed on its own line, pings are answered. End of stdin closes with 1000 and
waits for the server's answer. Nothing read from stdin is dropped: input that cannot be
sent stops the command with an error saying where, after closing the connection cleanly.
stdin is read only as fast as the server takes it.

Usage: wsproto connect URL [OPTIONS]

Options:
  --runtime RUNTIME       tokio, async-std, smol or blocking [default: tokio]
  -b, --binary            Send each line's bytes (without the \\n) as a binary message
  --raw                   Send stdin as a byte stream in binary messages (up to 64 KiB each)
                          and write received payloads to stdout as they are, no newline added
  --subprotocol P         Offer a subprotocol (repeatable, most preferred first)
  -H, --header 'N: V'     Add a request header (repeatable)
  --deflate               Offer permessage-deflate (RFC 7692)
  -h, --help              Show this help

Text mode (the default) sends each line without its \\n or \\r\\n and needs UTF-8: a line
that is not stops the command with exit status 5, naming the line.

Exit status:
  0    every input was sent and the connection closed normally (1000, or 1001 from the server)
  1    any other failure (e.g. the runtime could not start)
  2    usage error: unknown option, missing value, invalid URL or header
  3    could not connect, or the opening handshake failed (refused, timed out)
  4    the connection ended abnormally: the server closed with another code (the summary
       says who closed, with code and reason), the connection broke or ended without a
       Close, or input that was read could not be sent before it ended
  5    invalid input: a line that is not UTF-8 in text mode, or stdin could not be read
  130  interrupted (Ctrl-C or SIGTERM); the connection is closed with 1000 first
When several apply, 130 wins over 5, and 5 over 4.
";

pub(crate) const AUTOBAHN_HELP: &str = "\
Client testee for the Autobahn|Testsuite fuzzing server: asks /getCaseCount, runs every
case at /runCase?case=N&agent=NAME echoing each message unchanged, then calls
/updateReports?agent=NAME.

Usage: wsproto autobahn-client [OPTIONS]

Options:
  --url URL               Fuzzing server [default: ws://127.0.0.1:9001]
  --agent NAME            Agent name in the reports [default: wsproto]
  --runtime RUNTIME       tokio, async-std, smol or blocking [default: tokio]
  --deflate               Offer permessage-deflate (needed for cases 12 and 13)
  -h, --help              Show this help
";

/// Default `--max-message` of `serve`: big-message tests need room.
const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

/// Parses the arguments after the program name.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, UsageError> {
    let mut args: VecDeque<String> = args.into_iter().collect();
    let Some(command) = args.pop_front() else {
        return Ok(Command::Help(MAIN_HELP));
    };
    match command.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help(MAIN_HELP)),
        "-V" | "--version" => Ok(Command::Version),
        "serve" => parse_serve(args),
        "connect" => parse_connect(args),
        "autobahn-client" => parse_autobahn(args),
        other => Err(UsageError(format!(
            "unknown command {other:?}; expected serve, connect or autobahn-client (see wsproto --help)"
        ))),
    }
}

/// Takes the value of `flag`, which must follow it.
fn value(args: &mut VecDeque<String>, flag: &str) -> Result<String, UsageError> {
    match args.pop_front() {
        Some(v) if !v.starts_with("--") => Ok(v),
        _ => Err(UsageError(format!("{flag} needs a value"))),
    }
}

/// Splits `--flag=value` into its parts.
fn split_inline(arg: String) -> (String, Option<String>) {
    match arg.split_once('=') {
        Some((flag, v)) if flag.starts_with("--") => (flag.to_owned(), Some(v.to_owned())),
        _ => (arg, None),
    }
}

fn take(
    args: &mut VecDeque<String>,
    flag: &str,
    inline: Option<String>,
) -> Result<String, UsageError> {
    match inline {
        Some(v) => Ok(v),
        None => value(args, flag),
    }
}

fn parse_serve(mut args: VecDeque<String>) -> Result<Command, UsageError> {
    let mut serve = ServeArgs {
        bind: "127.0.0.1:9001".into(),
        runtime: Runtime::Tokio,
        mode: Mode::Echo,
        deflate: false,
        max_message: DEFAULT_MAX_MESSAGE,
    };
    while let Some(arg) = args.pop_front() {
        let (flag, inline) = split_inline(arg);
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(SERVE_HELP)),
            "--bind" => serve.bind = take(&mut args, "--bind", inline)?,
            "--runtime" => serve.runtime = Runtime::parse(&take(&mut args, "--runtime", inline)?)?,
            "--mode" => {
                serve.mode = match take(&mut args, "--mode", inline)?.as_str() {
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
                let raw = take(&mut args, "--max-message", inline)?;
                serve.max_message = raw.parse().map_err(|_| {
                    UsageError(format!("--max-message: {raw:?} is not a number of bytes"))
                })?;
            }
            "--deflate" => serve.deflate = true,
            other => {
                return Err(UsageError(format!(
                    "serve: unknown option {other:?} (see wsproto serve --help)"
                )));
            }
        }
    }
    Ok(Command::Serve(serve))
}

fn parse_connect(mut args: VecDeque<String>) -> Result<Command, UsageError> {
    let mut url = None;
    let mut connect = ConnectArgs {
        url: String::new(),
        runtime: Runtime::Tokio,
        mode: InputMode::Text,
        subprotocols: Vec::new(),
        headers: Vec::new(),
        deflate: false,
    };
    while let Some(arg) = args.pop_front() {
        let (flag, inline) = split_inline(arg);
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(CONNECT_HELP)),
            "--runtime" => {
                connect.runtime = Runtime::parse(&take(&mut args, "--runtime", inline)?)?
            }
            "-b" | "--binary" | "--raw" => {
                let mode = if flag == "--raw" {
                    InputMode::Raw
                } else {
                    InputMode::Binary
                };
                if connect.mode != InputMode::Text && connect.mode != mode {
                    return Err(UsageError(
                        "connect: --binary and --raw cannot be combined".into(),
                    ));
                }
                connect.mode = mode;
            }
            "--subprotocol" => connect
                .subprotocols
                .push(take(&mut args, "--subprotocol", inline)?),
            "-H" | "--header" => {
                let raw = take(&mut args, "--header", inline)?;
                let (name, v) = raw
                    .split_once(':')
                    .ok_or_else(|| UsageError(format!("--header: {raw:?} is not 'Name: value'")))?;
                connect
                    .headers
                    .push((name.trim().to_owned(), v.trim().to_owned()));
            }
            "--deflate" => connect.deflate = true,
            other if other.starts_with('-') => {
                return Err(UsageError(format!(
                    "connect: unknown option {other:?} (see wsproto connect --help)"
                )));
            }
            _ if url.is_none() => url = Some(flag),
            other => {
                return Err(UsageError(format!(
                    "connect: unexpected argument {other:?}; give one URL"
                )));
            }
        }
    }
    connect.url =
        url.ok_or_else(|| UsageError("connect: missing URL (e.g. ws://127.0.0.1:9001/)".into()))?;
    check_url(&connect.url)?;
    Ok(Command::Connect(connect))
}

/// Rejects a URL the handshake could not use, as a usage error (not a failed handshake).
fn check_url(url: &str) -> Result<(), UsageError> {
    match ClientRequest::from_url(url) {
        Err(HandshakeError::InvalidUrl(why)) => Err(UsageError(format!(
            "connect: invalid websocket url {url:?}: {why} (e.g. ws://127.0.0.1:9001/)"
        ))),
        _ => Ok(()),
    }
}

fn parse_autobahn(mut args: VecDeque<String>) -> Result<Command, UsageError> {
    let mut autobahn = AutobahnArgs {
        url: "ws://127.0.0.1:9001".into(),
        agent: "wsproto".into(),
        runtime: Runtime::Tokio,
        deflate: false,
    };
    while let Some(arg) = args.pop_front() {
        let (flag, inline) = split_inline(arg);
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(AUTOBAHN_HELP)),
            "--url" => autobahn.url = take(&mut args, "--url", inline)?,
            "--agent" => autobahn.agent = take(&mut args, "--agent", inline)?,
            "--runtime" => {
                autobahn.runtime = Runtime::parse(&take(&mut args, "--runtime", inline)?)?
            }
            "--deflate" => autobahn.deflate = true,
            other => {
                return Err(UsageError(format!(
                    "autobahn-client: unknown option {other:?} (see wsproto autobahn-client --help)"
                )));
            }
        }
    }
    Ok(Command::Autobahn(autobahn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Result<Command, UsageError> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn serve_defaults_and_flags() {
        let Ok(Command::Serve(s)) = run("serve") else {
            panic!()
        };
        assert_eq!(
            (s.bind.as_str(), s.runtime, s.mode, s.max_message),
            ("127.0.0.1:9001", Runtime::Tokio, Mode::Echo, 64 << 20)
        );
        let Ok(Command::Serve(s)) = run(
            "serve --bind 127.0.0.1:0 --runtime smol --mode broadcast --max-message=100 --deflate",
        ) else {
            panic!()
        };
        assert_eq!(
            (s.bind.as_str(), s.runtime, s.mode, s.max_message, s.deflate),
            ("127.0.0.1:0", Runtime::Smol, Mode::Broadcast, 100, true)
        );
    }

    #[test]
    fn connect_collects_repeatable_options() {
        let Ok(Command::Connect(c)) = parse(
            [
                "connect",
                "ws://x/",
                "--subprotocol",
                "a",
                "--subprotocol",
                "b",
                "-H",
                "X-A: 1",
                "-b",
                "--runtime",
                "blocking",
            ]
            .map(String::from),
        ) else {
            panic!()
        };
        assert_eq!(c.url, "ws://x/");
        assert_eq!(c.subprotocols, ["a", "b"]);
        assert_eq!(c.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(c.mode, InputMode::Binary);
        assert_eq!(c.runtime, Runtime::Blocking);
        let Ok(Command::Connect(c)) = run("connect ws://x/ --raw") else {
            panic!()
        };
        assert_eq!(c.mode, InputMode::Raw);
    }

    #[test]
    fn errors_name_the_bad_flag_or_value() {
        let cases = [
            ("serve --runtime node", "--runtime"),
            ("serve --mode chat", "--mode"),
            ("serve --max-message lots", "--max-message"),
            ("serve --bind", "--bind needs a value"),
            ("serve --frobnicate", "--frobnicate"),
            ("connect", "missing URL"),
            ("connect ws://a/ ws://b/", "unexpected argument"),
            ("connect ws://a/ -H novalue", "--header"),
            ("connect ws://a/ --binary --raw", "cannot be combined"),
            (
                "connect http://a/",
                "invalid websocket url \"http://a/\": scheme must be ws or wss",
            ),
            ("connect ws://a/#frag", "invalid websocket url"),
            ("autobahn-client --agent", "--agent needs a value"),
            ("fly", "unknown command"),
        ];
        for (line, needle) in cases {
            let error = run(line).unwrap_err();
            assert!(error.0.contains(needle), "{line}: {}", error.0);
        }
    }

    #[test]
    fn help_everywhere() {
        assert_eq!(run(""), Ok(Command::Help(MAIN_HELP)));
        assert_eq!(run("serve --help"), Ok(Command::Help(SERVE_HELP)));
        assert_eq!(run("connect -h"), Ok(Command::Help(CONNECT_HELP)));
        assert_eq!(
            run("autobahn-client --help"),
            Ok(Command::Help(AUTOBAHN_HELP))
        );
    }
}
