//! Command-line parsing: a small hand-written parser (no dependency), so errors can name the
//! exact flag or value that is wrong and every command has its own `--help` (the texts are
//! in [`help`]). Each command's flags are parsed in its own module; the value parsers they
//! share are here.

mod connect;
pub(crate) mod help;
mod serve;
mod tunnel;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

pub(crate) use connect::{ConnectArgs, Execute, ProxyChoice, Trust};
pub(crate) use help::{AUTOBAHN_HELP, CONNECT_HELP, MAIN_HELP, SERVE_HELP, TUNNEL_HELP};
pub(crate) use serve::{Certificate, Mode, ServeArgs};
pub(crate) use tunnel::TunnelArgs;

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
    Tunnel(TunnelArgs),
    Autobahn(AutobahnArgs),
    /// Print this help on stdout and succeed (`--help`, `help [CMD]`).
    Help(&'static str),
    /// No command at all: the main help goes to stderr and the exit status is a usage error,
    /// so a script that forgot its arguments does not pass.
    Missing,
    Version,
}

/// Parses the arguments after the program name.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, UsageError> {
    let mut args: VecDeque<String> = args.into_iter().collect();
    let Some(command) = args.pop_front() else {
        return Ok(Command::Missing);
    };
    match command.as_str() {
        "-h" | "--help" => Ok(Command::Help(MAIN_HELP)),
        "help" => match args.pop_front() {
            None => Ok(Command::Help(MAIN_HELP)),
            Some(name) => help::of(&name).map(Command::Help).ok_or_else(|| {
                UsageError(format!(
                    "help: unknown command {name:?}; expected serve, connect, tunnel or autobahn-client"
                ))
            }),
        },
        "-V" | "--version" => Ok(Command::Version),
        "serve" => serve::parse(args),
        "connect" => connect::parse(args),
        "tunnel" => tunnel::parse(args),
        "autobahn-client" => parse_autobahn(args),
        other => Err(UsageError(format!(
            "unknown command {other:?}; expected serve, connect, tunnel or autobahn-client (see wsproto --help)"
        ))),
    }
}

/// The flags of one command, taken one at a time with their values (`--flag value` or
/// `--flag=value`).
struct Flags {
    args: VecDeque<String>,
}

impl Flags {
    fn new(args: VecDeque<String>) -> Self {
        Self { args }
    }

    /// The next argument, split into flag and inline value (`--flag=value`).
    fn next(&mut self) -> Option<(String, Option<String>)> {
        let arg = self.args.pop_front()?;
        Some(match arg.split_once('=') {
            Some((flag, v)) if flag.starts_with("--") => (flag.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        })
    }

    /// The value of `flag`: inline, or the next argument (which must not be a long flag).
    fn value(&mut self, flag: &str, inline: Option<String>) -> Result<String, UsageError> {
        if let Some(v) = inline {
            return Ok(v);
        }
        match self.args.pop_front() {
            Some(v) if !v.starts_with("--") => Ok(v),
            _ => Err(UsageError(format!("{flag} needs a value"))),
        }
    }
}

/// A number of seconds, possibly fractional (`0.5`); zero only where `allow_zero`.
fn seconds(flag: &str, raw: &str, allow_zero: bool) -> Result<Duration, UsageError> {
    raw.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 || (allow_zero && *s == 0.0))
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            let least = if allow_zero {
                "0 or more"
            } else {
                "more than 0"
            };
            UsageError(format!(
                "{flag}: {raw:?} is not a number of seconds ({least})"
            ))
        })
}

/// A `Name: value` header.
fn header(flag: &str, raw: &str) -> Result<(String, String), UsageError> {
    let (name, v) = raw
        .split_once(':')
        .ok_or_else(|| UsageError(format!("{flag}: {raw:?} is not 'Name: value'")))?;
    Ok((name.trim().to_owned(), v.trim().to_owned()))
}

fn parse_autobahn(args: VecDeque<String>) -> Result<Command, UsageError> {
    let mut autobahn = AutobahnArgs {
        url: "ws://127.0.0.1:9001".into(),
        agent: "wsproto".into(),
        runtime: Runtime::Tokio,
        deflate: false,
    };
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(AUTOBAHN_HELP)),
            "--url" => autobahn.url = flags.value("--url", inline)?,
            "--agent" => autobahn.agent = flags.value("--agent", inline)?,
            "--runtime" => autobahn.runtime = Runtime::parse(&flags.value("--runtime", inline)?)?,
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

/// Parses a command line split at whitespace.
#[cfg(test)]
pub(crate) fn run(line: &str) -> Result<Command, UsageError> {
    parse(line.split_whitespace().map(str::to_owned))
}

/// Checks that each command line is refused with an error containing its needle.
#[cfg(test)]
fn assert_usage_errors(cases: &[(&str, &str)]) {
    for (line, needle) in cases {
        let error = run(line).expect_err(line);
        assert!(error.0.contains(needle), "{line}: {}", error.0);
    }
}

/// Checks that `help` mentions every one of `flags`.
#[cfg(test)]
fn assert_lists(help: &str, flags: &[&str]) {
    for flag in flags {
        assert!(help.contains(flag), "the help lists {flag}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_bad_flag_or_value() {
        assert_usage_errors(&[
            ("autobahn-client --agent", "--agent needs a value"),
            ("autobahn-client --frobnicate", "--frobnicate"),
            ("fly", "unknown command"),
            ("help fly", "help: unknown command \"fly\""),
        ]);
    }

    #[test]
    fn help_everywhere_and_nothing_is_a_usage_error() {
        assert_eq!(run(""), Ok(Command::Missing));
        assert_eq!(run("--help"), Ok(Command::Help(MAIN_HELP)));
        assert_eq!(run("help"), Ok(Command::Help(MAIN_HELP)));
        for (command, text) in [
            ("serve", SERVE_HELP),
            ("connect", CONNECT_HELP),
            ("tunnel", TUNNEL_HELP),
            ("autobahn-client", AUTOBAHN_HELP),
        ] {
            assert_eq!(run(&format!("{command} --help")), Ok(Command::Help(text)));
            assert_eq!(run(&format!("help {command}")), Ok(Command::Help(text)));
            assert!(
                MAIN_HELP.contains(&format!("\n  {command} ")),
                "{command} listed"
            );
        }
    }

    #[test]
    fn seconds_may_be_fractional_and_must_be_positive() {
        assert_eq!(seconds("-w", "0.25", false), Ok(Duration::from_millis(250)));
        assert_eq!(seconds("-w", "0", true), Ok(Duration::ZERO));
        for bad in ["0", "-1", "soon", "inf", "NaN"] {
            let error = seconds("--ping-interval", bad, false).unwrap_err();
            assert!(error.0.starts_with("--ping-interval: "), "{}", error.0);
        }
    }
}
