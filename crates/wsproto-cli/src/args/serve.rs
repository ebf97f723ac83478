//! `wsproto serve` flags.

use std::collections::VecDeque;
use std::path::PathBuf;

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
    /// Also the library's own `tracing` events (`-vv`): Close frames, protocol errors, lost
    /// connections, back-pressure, handshakes.
    pub(crate) trace: bool,
    /// Serve `wss://` with this certificate; `ws://` when absent.
    pub(crate) tls: Option<Certificate>,
    /// `--forward HOST:PORT`: carry each connection's bytes to a TCP connection there
    /// instead of echoing (the far end of `wsproto tunnel`).
    pub(crate) forward: Option<String>,
}

/// The certificate `serve` presents over TLS.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Certificate {
    /// `--tls-cert FILE --tls-key FILE`: a PEM chain (leaf first) and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// `--tls-self-signed`: one made at startup.
    SelfSigned,
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
        trace: false,
        tls: None,
        forward: None,
    };
    let (mut cert, mut key, mut self_signed) = (None, None, false);
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
            // A second -v (or -vv) adds the library's own events.
            "-v" | "--verbose" => {
                serve.trace = serve.verbose;
                serve.verbose = true;
            }
            "-vv" => (serve.verbose, serve.trace) = (true, true),
            "--tls-cert" => cert = Some(PathBuf::from(flags.value("--tls-cert", inline)?)),
            "--tls-key" => key = Some(PathBuf::from(flags.value("--tls-key", inline)?)),
            "--tls-self-signed" => self_signed = true,
            "--forward" => {
                let target = flags.value("--forward", inline)?;
                if target
                    .rsplit_once(':')
                    .is_none_or(|(_, port)| port.parse::<u16>().is_err())
                {
                    return Err(UsageError(format!(
                        "--forward: {target:?} is not HOST:PORT"
                    )));
                }
                serve.forward = Some(target);
            }
            other => {
                return Err(UsageError(format!(
                    "serve: unknown option {other:?} (see wsproto serve --help)"
                )));
            }
        }
    }
    serve.tls = certificate(cert, key, self_signed)?;
    if serve.forward.is_some() && serve.runtime == Runtime::Blocking {
        return Err(UsageError(
            "serve: --forward runs on tokio, async-std or smol, not --runtime blocking".into(),
        ));
    }
    Ok(Command::Serve(serve))
}

/// The certificate the TLS flags ask for: a chain and its key, or a self-signed one.
fn certificate(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    self_signed: bool,
) -> Result<Option<Certificate>, UsageError> {
    match (cert, key, self_signed) {
        (None, None, false) => Ok(None),
        (None, None, true) => Ok(Some(Certificate::SelfSigned)),
        (Some(cert), Some(key), false) => Ok(Some(Certificate::Files { cert, key })),
        (_, _, true) => Err(UsageError(
            "serve: --tls-self-signed cannot be combined with --tls-cert/--tls-key".into(),
        )),
        (Some(_), None, _) => Err(UsageError(
            "serve: --tls-cert needs --tls-key (the certificate's private key)".into(),
        )),
        (None, Some(_), _) => Err(UsageError(
            "serve: --tls-key needs --tls-cert (the certificate chain it belongs to)".into(),
        )),
    }
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
        assert!(!s.trace);
        assert_eq!(s.tls, None);
        for flags in ["serve -vv", "serve -v --verbose"] {
            let Ok(Command::Serve(s)) = run(flags) else {
                panic!("{flags}")
            };
            assert!(s.verbose && s.trace, "{flags}");
        }
    }

    #[test]
    fn tls_flags_name_files_or_a_self_signed_certificate() {
        let Ok(Command::Serve(s)) = run("serve --tls-cert c.pem --tls-key=k.pem") else {
            panic!()
        };
        assert_eq!(
            s.tls,
            Some(Certificate::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        let Ok(Command::Serve(s)) = run("serve --tls-self-signed") else {
            panic!()
        };
        assert_eq!(s.tls, Some(Certificate::SelfSigned));
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
            ("serve --tls-cert", "--tls-cert needs a value"),
            ("serve --tls-cert c.pem", "--tls-cert needs --tls-key"),
            ("serve --tls-key k.pem", "--tls-key needs --tls-cert"),
            (
                "serve --tls-self-signed --tls-cert c.pem --tls-key k.pem",
                "cannot be combined",
            ),
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
                "-vv",
                "--tls-cert FILE",
                "--tls-key FILE",
                "--tls-self-signed",
                "--forward",
                "-h, --help",
            ],
        );
    }
}
