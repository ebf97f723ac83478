//! The `wsproto` binary over TLS, with certificates the tests make (a CA, and leaves it signs:
//! current, expired, for another name): `serve --tls-cert/--tls-key` on every runtime
//! (`wss://` and `https://` in its two lines, the page over https, echoes for
//! `connect --ca`); `connect` naming each certificate problem with exit status 3, and
//! `--insecure` getting past them; `serve --tls-self-signed` printing the fingerprint and
//! SPKI hash of the certificate it really serves; files that cannot be used as usage errors
//! naming the file.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{BIN, RUNTIMES, connect_cli, serve, serve_logged, wait_exit};
use ring::digest::{SHA256, digest};
use wsproto_blocking::ClientTls;
use wsproto_blocking::rustls::pki_types::CertificateDer;
use wsproto_blocking::rustls::server::ParsedCertificate;
use wsproto_blocking::rustls::{ClientConnection, Stream};
use wsproto_tests::certs::{TestCa, Validity};
use wsproto_tests::scratch::ScratchDir;

/// The names of a certificate for the loopback server.
const LOOPBACK: [&str; 2] = ["localhost", "127.0.0.1"];

/// A test CA, with its certificate and the leaves it signs as PEM files.
struct Pki {
    ca: TestCa,
    dir: ScratchDir,
    /// The CA certificate's file, for `connect --ca`.
    ca_file: String,
}

impl Pki {
    fn new() -> Self {
        let ca = TestCa::new("wsproto cli test CA");
        let dir = ScratchDir::new().expect("scratch directory");
        let ca_file = path(dir.write("ca.pem", &ca.ca_pem).expect("write CA"));
        Self { ca, dir, ca_file }
    }

    /// A server certificate for `names`, written as `NAME.cert.pem` and `NAME.key.pem`;
    /// returns their paths.
    fn leaf(&self, name: &str, names: &[&str], validity: Validity) -> (String, String) {
        let leaf = self.ca.server(names, validity);
        let cert = self.write(&format!("{name}.cert.pem"), &leaf.cert_pem);
        let key = self.write(&format!("{name}.key.pem"), &leaf.key_pem);
        (cert, key)
    }

    fn write(&self, name: &str, contents: &str) -> String {
        path(self.dir.write(name, contents).expect("write PEM"))
    }
}

fn path(path: PathBuf) -> String {
    path.to_str().expect("a UTF-8 temp path").to_owned()
}

/// `GET /` over TLS to `addr` (as `host`), trusting `tls`; the response's start and the
/// certificate the server presented.
fn https_get(addr: &str, host: &str, tls: &ClientTls) -> (String, CertificateDer<'static>) {
    let name = ClientTls::server_name(host).expect("server name");
    let mut conn = ClientConnection::new(tls.config().clone(), name).expect("tls client");
    let mut tcp = TcpStream::connect(addr).expect("tcp");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut stream = Stream::new(&mut conn, &mut tcp);
    stream
        .write_all(
            format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("request over tls");
    let mut response = Vec::new();
    let mut buf = [0; 4096];
    // Until the page is in, or the server closes (with or without close_notify).
    while !String::from_utf8_lossy(&response).contains("</html>") {
        match stream.read(&mut buf) {
            Ok(n @ 1..) => response.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("the server presented a certificate")
        .clone()
        .into_owned();
    (String::from_utf8_lossy(&response).into_owned(), leaf)
}

/// Runs `wsproto ARGS`, which must exit by itself within 10 s; returns its status code and
/// stderr.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wsproto");
    let stderr = common::drain(child.stderr.take().expect("stderr"));
    let Some(status) = wait_exit(&mut child, Duration::from_secs(10)) else {
        let _ = child.kill();
        panic!("wsproto {args:?} did not exit");
    };
    let stderr = String::from_utf8_lossy(&stderr.join().expect("stderr")).into_owned();
    (status.code(), stderr)
}

#[test]
fn serve_speaks_wss_on_every_runtime_and_connect_trusts_its_ca() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("good", &LOOPBACK, Validity::Current);
    let trust = ClientTls::with_ca_pem(pki.ca.ca_pem.as_bytes()).expect("trust the CA");
    for (round, runtime) in RUNTIMES.into_iter().enumerate() {
        // Every other round compresses, so deflate runs inside TLS on two runtimes.
        let deflate = round % 2 == 0;
        let mut flags = vec!["--runtime", runtime, "--tls-cert", &cert, "--tls-key", &key];
        flags.extend(deflate.then_some("--deflate"));
        let server = serve(&flags);
        assert!(
            server.url.starts_with("wss://"),
            "{runtime}: {}",
            server.url
        );
        assert!(
            server.page.starts_with("https://"),
            "{runtime}: {}",
            server.page
        );

        let (page, _) = https_get(server.addr(), "127.0.0.1", &trust);
        assert!(page.starts_with("HTTP/1.1 200"), "{runtime}: {page:.200}");
        assert!(page.contains("</html>"), "{runtime}: the whole page");

        let port = server.addr().rsplit_once(':').expect("port").1;
        let by_name = format!("wss://localhost:{port}/");
        for url in [server.url.as_str(), &by_name] {
            let mut args = vec![url, "--ca", &pki.ca_file, "--runtime", runtime];
            args.extend(deflate.then_some("--deflate"));
            let (status, out, err) = connect_cli(&args, "over tls\nsecond ✓\n");
            assert_eq!(status.code(), Some(0), "{runtime} {url}: {err}");
            assert_eq!(out, "over tls\nsecond ✓\n", "{runtime} {url}");
            let extensions = if deflate {
                "extensions permessage-deflate"
            } else {
                "extensions none"
            };
            assert!(err.contains(extensions), "{runtime}: {err}");
            assert!(!err.contains("WARNING"), "{runtime}: {err}");
        }
    }
}

#[test]
fn connect_names_each_certificate_problem_and_insecure_gets_past_it() {
    let pki = Pki::new();
    let good = pki.leaf("good", &LOOPBACK, Validity::Current);
    let expired = pki.leaf("expired", &LOOPBACK, Validity::Expired);
    let misnamed = pki.leaf("misnamed", &["elsewhere.example"], Validity::Current);
    let cases = [
        // The bundled roots do not know the test CA.
        ("unknown issuer", &good, false),
        ("certificate has expired", &expired, true),
        ("certificate is not valid for this name", &misnamed, true),
    ];
    for (i, (problem, (cert, key), with_ca)) in cases.into_iter().enumerate() {
        let server_runtime = RUNTIMES[i % RUNTIMES.len()];
        let server = serve(&[
            "--runtime",
            server_runtime,
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ]);
        for runtime in RUNTIMES {
            let mut args = vec![server.url.as_str(), "--runtime", runtime, "-x", "hi"];
            if with_ca {
                args.extend(["--ca", &pki.ca_file]);
            }
            let (status, out, err) = connect_cli(&args, "");
            assert_eq!(status.code(), Some(3), "{problem}, {runtime}: {err}");
            assert_eq!(out, "", "{problem}, {runtime}");
            for needle in [problem, "tls with 127.0.0.1", &server.url] {
                assert!(err.contains(needle), "{problem}, {runtime}: {err}");
            }

            let args = [&server.url, "--runtime", runtime, "-x", "hi", "--insecure"];
            let (status, out, err) = connect_cli(&args, "");
            assert_eq!(
                status.code(),
                Some(0),
                "--insecure, {problem}, {runtime}: {err}"
            );
            assert_eq!(out, "hi\n", "--insecure, {problem}, {runtime}");
            assert!(err.contains("WARNING: --insecure"), "{err}");
        }
    }
}

/// Runs `wsproto connect ARGS -x hi` with `SSL_CERT_FILE` (which the platform store reads
/// on Linux) set to `cert_file`; returns its status code, stdout and stderr.
fn connect_with_cert_file(args: &[&str], cert_file: &str) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .arg("connect")
        .args(args)
        .args(["-x", "hi"])
        .env("SSL_CERT_FILE", cert_file)
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run wsproto connect");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ca_native_trusts_what_the_platform_store_holds() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("good", &LOOPBACK, Validity::Current);
    let server = serve(&["--tls-cert", &cert, "--tls-key", &key]);
    // The platform store is the test CA (SSL_CERT_FILE): trusted on every runtime.
    for runtime in RUNTIMES {
        let args = [server.url.as_str(), "--ca-native", "--runtime", runtime];
        let (status, out, err) = connect_with_cert_file(&args, &pki.ca_file);
        assert_eq!(status, Some(0), "{runtime}: {err}");
        assert_eq!(out, "hi\n", "{runtime}");
    }
    // Another CA in the platform store: the test CA's leaf is an unknown issuer.
    let other = TestCa::new("another platform CA");
    let other_file = pki.write("other-ca.pem", &other.ca_pem);
    let (status, _, err) = connect_with_cert_file(&[&server.url, "--ca-native"], &other_file);
    assert_eq!(status, Some(3), "{err}");
    assert!(err.contains("unknown issuer"), "{err}");
    // A store with nothing usable is a usage error naming the flag.
    let empty = pki.write("empty.pem", "");
    let (status, _, err) = connect_with_cert_file(&[&server.url, "--ca-native"], &empty);
    assert_eq!(status, Some(2), "{err}");
    assert!(err.contains("--ca-native"), "{err}");
}

#[test]
fn self_signed_prints_the_hashes_of_the_certificate_it_serves() {
    for runtime in ["tokio", "blocking"] {
        let server = serve_logged(&["--runtime", runtime, "--tls-self-signed"]);
        let names = server.wait_for_log("self-signed certificate made at startup for ");
        assert!(names.contains("localhost, 127.0.0.1, ::1"), "{names}");
        let fingerprint = server.wait_for_log("certificate sha256 fingerprint: ");
        let spki = server.wait_for_log("spki sha256 (base64): ");

        let any = ClientTls::dangerous_accept_any_certificate();
        let (page, leaf) = https_get(server.addr(), "localhost", &any);
        assert!(page.starts_with("HTTP/1.1 200"), "{runtime}: {page:.200}");
        let hex: Vec<String> = digest(&SHA256, leaf.as_ref())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(
            fingerprint,
            format!("certificate sha256 fingerprint: {}", hex.join(":")),
            "{runtime}"
        );
        let parsed = ParsedCertificate::try_from(&leaf).expect("parse the certificate");
        let spki_hash = digest(&SHA256, parsed.subject_public_key_info().as_ref());
        assert_eq!(
            spki,
            format!(
                "spki sha256 (base64): {}",
                BASE64.encode(spki_hash.as_ref())
            ),
            "{runtime}"
        );

        let (status, out, err) = connect_cli(&[&server.url, "-x", "hi", "--insecure"], "");
        assert_eq!((status.code(), out.as_str()), (Some(0), "hi\n"), "{err}");
        let (status, _, err) = connect_cli(&[&server.url, "-x", "hi"], "");
        assert_eq!(status.code(), Some(3), "{err}");
        assert!(err.contains("unknown issuer"), "{err}");
    }
}

#[test]
fn unusable_certificate_files_are_usage_errors_naming_the_file() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("good", &LOOPBACK, Validity::Current);
    let (_, other_key) = pki.leaf("other", &LOOPBACK, Validity::Current);
    let garbage = pki.write("garbage.pem", "not a certificate\n");
    let missing = path(pki.dir.path().join("missing.pem"));
    let serve = |cert: &str, key: &str| -> (Option<i32>, String) {
        run_to_exit(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ])
    };
    for ((code, err), needle) in [
        (
            serve(&missing, &key),
            format!("--tls-cert {missing}: cannot read it"),
        ),
        (
            serve(&cert, &missing),
            format!("--tls-key {missing}: cannot read it"),
        ),
        (
            serve(&garbage, &key),
            format!("--tls-cert {garbage}: no PEM certificate"),
        ),
        // A certificate where the key should be.
        (
            serve(&cert, &cert),
            format!("--tls-key {cert}: no PEM private key"),
        ),
        (
            serve(&cert, &other_key),
            format!("--tls-cert {cert} and --tls-key {other_key}: certificate and key do not fit"),
        ),
        (
            run_to_exit(&["connect", "wss://127.0.0.1:9/", "--ca", &missing]),
            format!("--ca {missing}: cannot read it"),
        ),
        (
            run_to_exit(&["connect", "wss://127.0.0.1:9/", "--ca", &garbage]),
            format!("--ca {garbage}: no CERTIFICATE"),
        ),
    ] {
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(&needle), "want {needle:?} in {err}");
    }
}
