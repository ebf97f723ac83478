//! `wsproto tunnel`'s flags: where the TCP side comes from (`--listen ADDR` or `--stdio`) and,
//! for the WebSocket side, the client flags `connect` takes (URL, runtime, TLS trust, proxy,
//! headers, subprotocols, connect timeout), parsed by `connect`'s own parser.

use std::collections::VecDeque;

use super::{Command, ConnectArgs, Flags, TUNNEL_HELP, UsageError};
use crate::input::InputMode;

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TunnelArgs {
    /// `--listen ADDR`: accept TCP connections here, one WebSocket each.
    pub(crate) listen: Option<String>,
    /// `--stdio`: carry stdin/stdout instead (one connection).
    pub(crate) stdio: bool,
    /// The WebSocket client side.
    pub(crate) client: ConnectArgs,
}

pub(super) fn parse(args: VecDeque<String>) -> Result<Command, UsageError> {
    let (mut listen, mut stdio) = (None, false);
    let mut rest = VecDeque::new();
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(TUNNEL_HELP)),
            "--listen" => listen = Some(flags.value("--listen", inline)?),
            "--stdio" => stdio = true,
            // Message-shaped options of `connect` mean nothing for a byte pipe.
            "-b" | "--binary" | "--raw" | "-x" | "--execute" | "-w" | "--wait" | "--count"
            | "--show-ping-pong" => {
                return Err(UsageError(format!(
                    "tunnel: {flag} is a connect option; a tunnel carries bytes"
                )));
            }
            _ => {
                rest.push_back(flag.clone());
                if let Some(value) = inline {
                    rest.pop_back();
                    rest.push_back(format!("{flag}={value}"));
                }
            }
        }
    }
    if listen.is_some() == stdio {
        return Err(UsageError(
            "tunnel: give one of --listen ADDR and --stdio (see wsproto tunnel --help)".into(),
        ));
    }
    let client = match super::connect::parse(rest) {
        Ok(Command::Connect(client)) => client,
        Ok(_) => return Ok(Command::Help(TUNNEL_HELP)),
        Err(UsageError(message)) => {
            let message = message.replace("connect: ", "tunnel: ");
            return Err(UsageError(
                message.replace("wsproto connect", "wsproto tunnel"),
            ));
        }
    };
    debug_assert_eq!(client.mode, InputMode::Text);
    if client.runtime == super::Runtime::Blocking {
        return Err(UsageError(
            "tunnel: --runtime blocking is not supported; use tokio, async-std or smol".into(),
        ));
    }
    Ok(Command::Tunnel(TunnelArgs {
        listen,
        stdio,
        client,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{assert_lists, assert_usage_errors, run};
    use super::*;

    #[test]
    fn one_source_and_a_url() {
        let Ok(Command::Tunnel(tunnel)) =
            run("tunnel --listen 127.0.0.1:2222 ws://h/ssh --runtime smol")
        else {
            panic!("parsed");
        };
        assert_eq!(tunnel.listen.as_deref(), Some("127.0.0.1:2222"));
        assert_eq!(tunnel.client.url, "ws://h/ssh");
        assert_eq!(tunnel.client.runtime, super::super::Runtime::Smol);
        assert!(
            matches!(run("tunnel --stdio wss://h/ --insecure"), Ok(Command::Tunnel(t)) if t.stdio)
        );
        assert_usage_errors(&[
            ("tunnel ws://h/", "one of --listen ADDR and --stdio"),
            ("tunnel --stdio --listen :1 ws://h/", "one of"),
            ("tunnel --stdio", "tunnel: missing URL"),
            ("tunnel --stdio ws://h/ --raw", "--raw is a connect option"),
            ("tunnel --stdio ws://h/ --frob", "tunnel: unknown option"),
            ("tunnel --stdio ws://h/ --runtime blocking", "not supported"),
        ]);
    }

    #[test]
    fn the_help_lists_every_flag() {
        assert_lists(
            TUNNEL_HELP,
            &[
                "--listen",
                "--stdio",
                "--runtime",
                "--ca",
                "--ca-native",
                "--insecure",
                "--proxy",
                "--no-proxy",
                "--header",
                "--subprotocol",
                "--connect-timeout",
                "--ping-interval",
            ],
        );
    }
}
