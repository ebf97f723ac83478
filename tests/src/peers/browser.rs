//! Headless Chromium against the real `wsproto serve` binary (`tests/peers/browser.mjs`
//! drives it): the test page's self-test on load (`?selftest`), and a person's clicks through
//! its controls, over http and `ws://` or over https and `wss://`.
//!
//! Over https the server presents either a certificate from a fresh test CA (`--tls-cert`,
//! `--tls-key`, PEM files in a [`ScratchDir`]) or one it makes itself
//! (`--tls-self-signed`). Chromium is told to trust that one certificate by the SHA-256 of
//! its public key (`--ignore-certificate-errors-spki-list`), which is how a developer trusts
//! a local server without touching the system's trust store. For the CA's certificate
//! `browser.mjs` computes the hash from the PEM file itself; for the self-signed one it is
//! the hash `serve` prints on stderr, so the test also checks that what `serve` prints is
//! what Chromium needs.
//!
//! Invariant: the PEM files live until the browser is done, and every child is a
//! [`ChildGuard`] (killed on drop), as in the rest of [`super`].

use std::ffi::OsString;
use std::process::Command;

use super::{ChildGuard, env_program, node_command, repo_root};
use crate::ServerKind;
use crate::certs::{TestCa, Validity};
use crate::scratch::ScratchDir;

/// The certificate `wsproto serve` presents, which decides http or https.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Certificate {
    /// None: the page over http, the WebSocket over `ws://`.
    None,
    /// A server certificate for the loopback names, signed by a fresh test CA.
    TestCa,
    /// The certificate `serve --tls-self-signed` makes at startup.
    SelfSigned,
}

/// A running `wsproto serve`, the address of its page, and what tells Chromium to trust it.
struct Served {
    serve: ChildGuard,
    /// From the second stdout line.
    page: String,
    /// The environment variable (and its value) that makes `browser.mjs` trust the server's
    /// certificate; none over http.
    trust: Option<(&'static str, OsString)>,
    /// The certificate files `serve` and `browser.mjs` read, removed on drop.
    _files: Option<ScratchDir>,
}

/// Headless Chromium against the real `wsproto serve` binary on `server`'s runtime: the test
/// page's self-test (a text and a 1 MiB binary echo) must pass, with permessage-deflate —
/// which Chromium offers — declined.
///
/// With `deflate`, `wsproto serve --deflate` must accept Chromium's offer and the self-test
/// runs compressed (the page reports `permessage-deflate`).
pub fn browser_against(server: ServerKind, deflate: bool) -> Result<(), String> {
    self_test(server, deflate, Certificate::None)
}

/// [`browser_against`] over https: `wsproto serve --tls-cert … --tls-key …` with a
/// certificate from a fresh test CA, the page loaded from the `https://` address serve prints,
/// and its self-test over `wss://`.
pub fn browser_against_tls(server: ServerKind, deflate: bool) -> Result<(), String> {
    self_test(server, deflate, Certificate::TestCa)
}

/// [`browser_against`] over https with `wsproto serve --tls-self-signed`, Chromium trusting
/// the public key hash serve printed.
pub fn browser_against_self_signed(server: ServerKind) -> Result<(), String> {
    self_test(server, false, Certificate::SelfSigned)
}

/// Headless Chromium clicking through the test page of `wsproto serve -s wsproto.test` on
/// `server`'s runtime, at the address serve prints on its second line: connect with that
/// subprotocol (the status must name it and the extensions), send a text and a binary
/// message and see their echoes in the log, measure an echo round trip, check the counters,
/// run the self-test from its button, disconnect.
pub fn browser_controls_against(server: ServerKind, deflate: bool) -> Result<(), String> {
    controls(server, deflate, Certificate::None)
}

/// [`browser_controls_against`] over https, with a certificate from a fresh test CA (the
/// URL box must then hold the `wss://` address).
pub fn browser_controls_against_tls(server: ServerKind) -> Result<(), String> {
    controls(server, false, Certificate::TestCa)
}

fn self_test(server: ServerKind, deflate: bool, certificate: Certificate) -> Result<(), String> {
    let served = serve_page(server, deflate, &[], certificate)?;
    let url = format!("{}?selftest", served.page);
    run_browser(server, &served, &url, deflate, &[])
}

fn controls(server: ServerKind, deflate: bool, certificate: Certificate) -> Result<(), String> {
    const PROTOCOL: &str = "wsproto.test";
    let served = serve_page(server, deflate, &["--subprotocol", PROTOCOL], certificate)?;
    run_browser(server, &served, &served.page, deflate, &[PROTOCOL])
}

/// The `wsproto serve --runtime` name of a server adapter.
fn cli_runtime(server: ServerKind) -> &'static str {
    match server {
        ServerKind::Tokio => "tokio",
        ServerKind::Smol => "smol",
        ServerKind::AsyncStd => "async-std",
        ServerKind::Blocking => "blocking",
    }
}

/// Starts `wsproto serve` on `server`'s runtime with `flags` and `certificate`; checks its
/// two stdout lines (`ws://` and `http://`, or `wss://` and `https://` with a certificate).
fn serve_page(
    server: ServerKind,
    deflate: bool,
    flags: &[&str],
    certificate: Certificate,
) -> Result<Served, String> {
    let bin = env_program(
        "WSPROTO_BIN",
        "build the binary (cargo build -p wsproto-cli) and set WSPROTO_BIN=target/debug/wsproto",
    )?;
    let mut serve = Command::new(bin);
    serve
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--runtime",
            cli_runtime(server),
        ])
        .args(flags);
    if deflate {
        serve.arg("--deflate");
    }
    let (mut files, mut cert_file) = (None, None);
    match certificate {
        Certificate::None => {}
        Certificate::TestCa => {
            let leaf = TestCa::new("wsproto browser test CA")
                .server(&["localhost", "127.0.0.1"], Validity::Current);
            let dir = ScratchDir::new().map_err(|e| format!("scratch directory: {e}"))?;
            let write = |name: &str, pem: &str| {
                dir.write(name, pem)
                    .map_err(|e| format!("cannot write {name}: {e}"))
            };
            let (cert, key) = (
                write("cert.pem", &leaf.cert_pem)?,
                write("key.pem", &leaf.key_pem)?,
            );
            serve.arg("--tls-cert").arg(&cert).arg("--tls-key").arg(key);
            cert_file = Some(cert);
            files = Some(dir);
        }
        Certificate::SelfSigned => drop(serve.arg("--tls-self-signed")),
    }
    let mut serve = ChildGuard::spawn(
        &format!("wsproto serve --runtime {}", cli_runtime(server)),
        serve,
    )?;
    let (ws, http) = match certificate {
        Certificate::None => ("ws://", "http://"),
        Certificate::TestCa | Certificate::SelfSigned => ("wss://", "https://"),
    };
    let url = serve.wait_for_line(|line| line.strip_prefix("listening on ").map(str::to_owned))?;
    let Some(host_port) = url.strip_prefix(ws) else {
        return Err(serve.failure(&format!("listening on {url}, want {ws}…")));
    };
    let page = serve.wait_for_line(|line| line.strip_prefix("test page: ").map(str::to_owned))?;
    if page != format!("{http}{host_port}") {
        return Err(serve.failure(&format!("test page {page:?} is not at {http}{host_port}")));
    }
    let trust = match certificate {
        Certificate::None => None,
        Certificate::TestCa => cert_file.map(|file| ("WSPROTO_TRUST_CERT", file.into())),
        Certificate::SelfSigned => {
            let spki = serve.wait_for_stderr(|line| {
                line.strip_prefix("spki sha256 (base64): ")
                    .map(str::to_owned)
            })?;
            Some(("WSPROTO_TRUST_SPKI", spki.into()))
        }
    };
    Ok(Served {
        serve,
        page,
        trust,
        _files: files,
    })
}

/// Runs `tests/peers/browser.mjs` on `url` (with `extra` arguments after the verdict),
/// trusting `served`'s certificate; the self-test's verdict must name the extension
/// `deflate` says is in use.
fn run_browser(
    server: ServerKind,
    served: &Served,
    url: &str,
    deflate: bool,
    extra: &[&str],
) -> Result<(), String> {
    let chromium = env_program(
        "WSPROTO_CHROMIUM",
        "install Chromium (apt-get install chromium)",
    )?;
    let expected = if deflate {
        "SELFTEST PASS permessage-deflate"
    } else {
        "SELFTEST PASS no-extensions"
    };
    let mut browser = node_command()?;
    browser
        .arg(repo_root().join("tests/peers/browser.mjs"))
        .arg(url)
        .arg(expected)
        .args(extra)
        .env("WSPROTO_CHROMIUM", &chromium);
    if let Some((name, value)) = &served.trust {
        browser.env(name, value);
    }
    ChildGuard::spawn(&format!("Chromium -> {server:?} serve"), browser)?
        .expect_exit(expected)
        .map_err(|e| format!("{e}\n{}", served.serve.failure("server output")))
}
