//! `wsproto connect` flags.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use wsproto_async::Proxy;
use wsproto_core::handshake::{ClientRequest, HandshakeError};

use super::{CONNECT_HELP, Command, Flags, Runtime, UsageError, header, seconds};
use crate::input::InputMode;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConnectArgs {
    pub(crate) url: String,
    pub(crate) runtime: Runtime,
    /// How stdin becomes messages (`--binary`, `--raw`; text by default).
    pub(crate) mode: InputMode,
    pub(crate) subprotocols: Vec<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) deflate: bool,
    /// `--connect-timeout`: TCP connect plus the opening handshake (the library's default
    /// when absent).
    pub(crate) connect_timeout: Option<Duration>,
    /// `--ping-interval`: keepalive pings after this long without input from the server.
    pub(crate) ping_interval: Option<Duration>,
    /// `--show-ping-pong`: report the server's pings and pongs on stderr.
    pub(crate) show_ping_pong: bool,
    /// `-x`: send these instead of reading stdin.
    pub(crate) execute: Option<Execute>,
    /// Which server certificates a `wss://` connection accepts (`--ca`, `--insecure`).
    pub(crate) trust: Trust,
    /// Whether and through which proxy to connect (`--proxy`, `--no-proxy`).
    pub(crate) proxy: ProxyChoice,
    /// `--reconnect`: keep the client alive across failures, retrying with backoff up to
    /// this delay (`--reconnect-max-delay`).
    pub(crate) reconnect: Option<Duration>,
}

/// The longest pause between two reconnect attempts unless `--reconnect-max-delay` says.
pub(crate) const DEFAULT_RECONNECT_MAX_DELAY: Duration = Duration::from_secs(10);

/// How `connect` picks a proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProxyChoice {
    /// The environment's, as curl reads it (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`): the default.
    Environment,
    /// `--proxy URL`: this one, whatever the environment says.
    Url(String),
    /// `--no-proxy`: connect directly.
    Off,
}

/// What a `wss://` connection trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The bundled Mozilla roots (the default).
    Bundled,
    /// `--ca FILE`: the certificate authorities in this PEM file, instead of the roots.
    Ca(PathBuf),
    /// `--ca-native`: the operating system's trust store (curl's flag of the same name).
    Native,
    /// `--insecure`: any certificate, for testing only.
    Insecure,
}

/// One-shot mode (`-x`): what to send and when to stop waiting for replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Execute {
    /// The messages, in the order given.
    pub(crate) messages: Vec<String>,
    /// Close once no reply came for this long (`--wait`).
    pub(crate) wait: Duration,
    /// Close as soon as this many replies arrived (`--count`).
    pub(crate) count: Option<u64>,
}

/// How long `-x` waits for another reply, as wscat's `--wait` does, but counted from the
/// latest reply so a slow stream of replies is not cut short.
const DEFAULT_WAIT: Duration = Duration::from_secs(1);

pub(super) fn parse(args: VecDeque<String>) -> Result<Command, UsageError> {
    let mut url = None;
    let mut connect = ConnectArgs {
        url: String::new(),
        runtime: Runtime::Tokio,
        mode: InputMode::Text,
        subprotocols: Vec::new(),
        headers: Vec::new(),
        deflate: false,
        connect_timeout: None,
        ping_interval: None,
        show_ping_pong: false,
        execute: None,
        trust: Trust::Bundled,
        proxy: ProxyChoice::Environment,
        reconnect: None,
    };
    let mut reconnect_max_delay = None;
    let (mut messages, mut wait, mut count) = (Vec::new(), None, None);
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(CONNECT_HELP)),
            "--runtime" => connect.runtime = Runtime::parse(&flags.value("--runtime", inline)?)?,
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
            "-s" | "--subprotocol" => connect
                .subprotocols
                .push(flags.value("--subprotocol", inline)?),
            "-H" | "--header" => connect
                .headers
                .push(header("--header", &flags.value("--header", inline)?)?),
            "--deflate" => connect.deflate = true,
            "--connect-timeout" => {
                let raw = flags.value("--connect-timeout", inline)?;
                connect.connect_timeout = Some(seconds("--connect-timeout", &raw, false)?);
            }
            "--ping-interval" => {
                let raw = flags.value("--ping-interval", inline)?;
                connect.ping_interval = Some(seconds("--ping-interval", &raw, false)?);
            }
            "--show-ping-pong" => connect.show_ping_pong = true,
            "--ca" | "--ca-native" | "--insecure" => {
                let trust = match flag.as_str() {
                    "--ca" => Trust::Ca(PathBuf::from(flags.value("--ca", inline)?)),
                    "--ca-native" => Trust::Native,
                    _ => Trust::Insecure,
                };
                if connect.trust != Trust::Bundled && connect.trust != trust {
                    return Err(UsageError(
                        "connect: --ca, --ca-native and --insecure cannot be combined".into(),
                    ));
                }
                connect.trust = trust;
            }
            "--proxy" | "--no-proxy" => {
                let proxy = match flag.as_str() {
                    "--proxy" => {
                        let url = flags.value("--proxy", inline)?;
                        Proxy::parse(&url)
                            .map_err(|error| UsageError(format!("--proxy: {error}")))?;
                        ProxyChoice::Url(url)
                    }
                    _ => ProxyChoice::Off,
                };
                if connect.proxy != ProxyChoice::Environment {
                    return Err(UsageError(
                        "connect: give one of --proxy and --no-proxy, once".into(),
                    ));
                }
                connect.proxy = proxy;
            }
            "--reconnect" => connect.reconnect = Some(DEFAULT_RECONNECT_MAX_DELAY),
            "--reconnect-max-delay" => {
                let raw = flags.value("--reconnect-max-delay", inline)?;
                reconnect_max_delay = Some(seconds("--reconnect-max-delay", &raw, false)?);
            }
            "-x" | "--execute" => messages.push(flags.value("--execute", inline)?),
            "-w" | "--wait" => {
                let raw = flags.value("--wait", inline)?;
                wait = Some(seconds("--wait", &raw, true)?);
            }
            "--count" => {
                let raw = flags.value("--count", inline)?;
                count = Some(raw.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    UsageError(format!(
                        "--count: {raw:?} is not a number of replies (1 or more)"
                    ))
                })?);
            }
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
    if messages.is_empty() && (wait.is_some() || count.is_some()) {
        return Err(UsageError(
            "connect: --wait and --count only apply with -x/--execute".into(),
        ));
    }
    match (connect.reconnect, reconnect_max_delay) {
        (None, Some(_)) => {
            return Err(UsageError(
                "connect: --reconnect-max-delay only applies with --reconnect".into(),
            ));
        }
        (Some(_), Some(max)) => connect.reconnect = Some(max),
        _ => {}
    }
    if connect.reconnect.is_some() && !messages.is_empty() {
        return Err(UsageError(
            "connect: --reconnect keeps a session alive; it does not combine with -x".into(),
        ));
    }
    if !messages.is_empty() {
        connect.execute = Some(Execute {
            messages,
            wait: wait.unwrap_or(DEFAULT_WAIT),
            count,
        });
    }
    connect.url =
        url.ok_or_else(|| UsageError("connect: missing URL (e.g. ws://127.0.0.1:9001/)".into()))?;
    check_url(&connect.url)?;
    if connect.trust != Trust::Bundled && !is_wss(&connect.url) {
        return Err(UsageError(
            "connect: --ca, --ca-native and --insecure only apply to wss:// URLs".into(),
        ));
    }
    Ok(Command::Connect(connect))
}

/// Whether `url` asks for TLS (the scheme is case-insensitive, RFC 3986 §3.1).
fn is_wss(url: &str) -> bool {
    url.get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("wss://"))
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

#[cfg(test)]
mod tests {
    use super::super::{assert_lists, assert_usage_errors, parse, run};
    use super::*;

    fn connect(line: &str) -> ConnectArgs {
        match run(line) {
            Ok(Command::Connect(args)) => args,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn connect_collects_repeatable_options() {
        let Ok(Command::Connect(c)) = parse(
            [
                "connect",
                "ws://x/",
                "--subprotocol",
                "a",
                "-s",
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
        assert_eq!(connect("connect ws://x/ --raw").mode, InputMode::Raw);
    }

    #[test]
    fn trust_flags_choose_what_wss_accepts() {
        assert_eq!(connect("connect wss://x/").trust, Trust::Bundled);
        assert_eq!(
            connect("connect wss://x/ --ca ca.pem").trust,
            Trust::Ca("ca.pem".into())
        );
        assert_eq!(
            connect("connect WSS://x/ --insecure --insecure").trust,
            Trust::Insecure
        );
    }

    #[test]
    fn timing_flags_and_one_shot_mode() {
        let c = connect("connect ws://x/");
        assert_eq!(
            (c.connect_timeout, c.ping_interval, c.show_ping_pong),
            (None, None, false)
        );
        assert_eq!(c.execute, None);
        let c = connect(
            "connect ws://x/ --connect-timeout 2.5 --ping-interval=0.5 --show-ping-pong -x one \
             --execute two",
        );
        assert_eq!(c.connect_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(c.ping_interval, Some(Duration::from_millis(500)));
        assert!(c.show_ping_pong);
        assert_eq!(
            c.execute,
            Some(Execute {
                messages: vec!["one".into(), "two".into()],
                wait: DEFAULT_WAIT,
                count: None,
            })
        );
        let c = connect("connect ws://x/ -x hi -w 0 --count 3");
        assert_eq!(
            c.execute,
            Some(Execute {
                messages: vec!["hi".into()],
                wait: Duration::ZERO,
                count: Some(3),
            })
        );
    }

    #[test]
    fn errors_name_the_bad_flag_or_value() {
        assert_usage_errors(&[
            ("connect", "missing URL"),
            ("connect ws://a/ ws://b/", "unexpected argument"),
            ("connect ws://a/ -H novalue", "--header"),
            ("connect ws://a/ --binary --raw", "cannot be combined"),
            (
                "connect http://a/",
                "invalid websocket url \"http://a/\": scheme must be ws or wss",
            ),
            ("connect ws://a/#frag", "invalid websocket url"),
            (
                "connect ws://a/ --ping-interval 0",
                "--ping-interval: \"0\"",
            ),
            (
                "connect ws://a/ --connect-timeout soon",
                "--connect-timeout",
            ),
            ("connect ws://a/ -x", "--execute needs a value"),
            ("connect ws://a/ --wait 2", "only apply with -x"),
            ("connect ws://a/ -x hi --count 0", "--count: \"0\""),
            ("connect ws://a/ -c", "unknown option \"-c\""),
            ("connect wss://a/ --ca", "--ca needs a value"),
            (
                "connect wss://a/ --ca ca.pem --insecure",
                "cannot be combined",
            ),
            ("connect ws://a/ --insecure", "only apply to wss:// URLs"),
            ("connect ws://a/ --ca ca.pem", "only apply to wss:// URLs"),
            ("connect ws://a/ --ca-native", "only apply to wss:// URLs"),
            (
                "connect wss://a/ --ca-native --insecure",
                "cannot be combined",
            ),
            ("connect ws://a/ --proxy", "--proxy needs a value"),
            (
                "connect ws://a/ --proxy ftp://p:1",
                "--proxy: invalid proxy url",
            ),
            (
                "connect ws://a/ --proxy http://u:secret@p:1/x",
                "a proxy url has no path",
            ),
            ("connect ws://a/ --proxy p:1 --no-proxy", "one of --proxy"),
        ]);
        // A proxy password is never echoed, even in a usage error.
        let Err(error) = run("connect ws://a/ --proxy ftp://u:secret@p:1") else {
            panic!("accepted")
        };
        assert!(!error.0.contains("secret"), "{}", error.0);
    }

    #[test]
    fn proxy_comes_from_the_environment_a_flag_or_nowhere() {
        assert_eq!(connect("connect ws://x/").proxy, ProxyChoice::Environment);
        assert_eq!(
            connect("connect ws://x/ --proxy socks5h://u:p@h:9050").proxy,
            ProxyChoice::Url("socks5h://u:p@h:9050".into())
        );
        assert_eq!(
            connect("connect ws://x/ --no-proxy").proxy,
            ProxyChoice::Off
        );
    }

    #[test]
    fn reconnect_takes_a_maximum_delay_and_refuses_what_it_cannot_do() {
        assert_eq!(connect("connect ws://x/").reconnect, None);
        assert_eq!(
            connect("connect ws://x/ --reconnect").reconnect,
            Some(DEFAULT_RECONNECT_MAX_DELAY)
        );
        assert_eq!(
            connect("connect ws://x/ --reconnect --reconnect-max-delay 2.5").reconnect,
            Some(Duration::from_millis(2500))
        );
        for line in [
            "connect ws://x/ --reconnect-max-delay 2",
            "connect ws://x/ --reconnect -x hi",
        ] {
            assert!(run(line).is_err(), "{line}");
        }
    }

    #[test]
    fn help_lists_every_flag() {
        assert_lists(
            CONNECT_HELP,
            &[
                "--runtime",
                "-b, --binary",
                "--raw",
                "-s, --subprotocol",
                "-H, --header",
                "--deflate",
                "--connect-timeout SECS",
                "--ping-interval SECS",
                "--show-ping-pong",
                "-x, --execute MSG",
                "-w, --wait SECS",
                "--count N",
                "--ca FILE",
                "--insecure",
                "--ca-native",
                "--proxy URL",
                "--no-proxy",
                "--reconnect",
                "--reconnect-max-delay SECS",
                "-h, --help",
            ],
        );
    }
}
