//! `wss://` end to end, with certificates the test makes itself (rcgen): every client adapter
//! against every server adapter over TLS, 16 pairs (one server round with permessage-deflate),
//! and each way TLS can go wrong as a typed error — unknown issuer, wrong name, expired,
//! not yet valid, plain TCP on a TLS port and TLS on a plain one — after which the server
//! still serves. Plus certificate renewal on a running server and silent sockets that hold
//! no honest client back.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wsproto_core::{Bytes, CloseCode, Message};
use wsproto_tests::certs::{LOOPBACK, TestCa, Validity};
use wsproto_tests::{ClientKind, ServerKind, client_config, echo_config};
use wsproto_tokio::{ClientConfig, ClientTls, Error, ServerTls, TlsErrorKind};

fn serving(ca: &TestCa, names: &[&str], validity: Validity) -> ServerTls {
    ca.server(names, validity).server_tls().expect("server tls")
}

fn trusting(ca: &TestCa) -> ClientTls {
    ca.client_tls().expect("client tls")
}

/// Connects with tokio and returns the error, which must come within a few seconds.
fn tokio_connect_error(url: &str, options: ClientConfig) -> Error {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let result = rt.block_on(wsproto_tokio::connect_with(url, options));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{url}: slow failure"
    );
    match result {
        Ok(_) => panic!("{url}: connected although it must not"),
        Err(error) => error,
    }
}

fn tls_kind(error: &Error) -> &TlsErrorKind {
    match error {
        Error::Tls(tls) => tls.kind(),
        other => panic!("not a TLS error: {other}"),
    }
}

#[test]
fn every_client_adapter_talks_to_every_server_adapter_over_tls() {
    let ca = TestCa::new("wsproto test CA");
    for (round, server) in ServerKind::ALL.into_iter().enumerate() {
        // One server in the round compresses, so deflate runs inside TLS too.
        let deflate = round == 0;
        let config = echo_config()
            .tls(serving(&ca, &LOOPBACK, Validity::Current))
            .deflate(deflate.then(wsproto_tokio::DeflateConfig::default));
        let url = server.start_echo_config(config);
        assert!(url.starts_with("wss://127.0.0.1:"), "{url}");
        for client in ClientKind::ALL {
            let pair = format!("{client:?} client -> {server:?} server");
            let options = client_config(&[])
                .tls(trusting(&ca))
                .deflate(deflate.then(wsproto_tokio::DeflateConfig::default));
            let mut ws = client
                .connect_config(&url, options)
                .unwrap_or_else(|e| panic!("{pair}: {e}"));
            assert_eq!(ws.compressed(), deflate, "{pair}");
            ws.send(Message::text("over tls")).unwrap();
            assert_eq!(
                ws.recv().unwrap().unwrap(),
                Message::text("over tls"),
                "{pair}"
            );
            let big: Bytes = (0..1u32 << 20)
                .map(|i| (i % 253) as u8)
                .collect::<Vec<_>>()
                .into();
            ws.send(Message::Binary(big.clone())).unwrap();
            let back = ws.recv().unwrap().unwrap();
            assert!(back.payload() == &big, "{pair}: 1 MiB message differs");
            // A burst of small messages: many TLS records per read on both sides.
            for i in 0..300 {
                ws.send(Message::text(format!("burst {i}"))).unwrap();
            }
            for i in 0..300 {
                let want = Message::text(format!("burst {i}"));
                assert_eq!(ws.recv().unwrap().unwrap(), want, "{pair}");
            }
            ws.close(CloseCode::NORMAL, "done").unwrap();
            assert_eq!(
                ws.close_received().map(|f| f.code()),
                Some(CloseCode::NORMAL),
                "{pair}"
            );
        }
    }
}

#[test]
fn certificate_problems_are_typed_errors_naming_the_host() {
    let ca = TestCa::new("wsproto test CA");
    let cases = [
        (
            "the bundled roots do not know our CA",
            Validity::Current,
            &LOOPBACK[..],
            None,
        ),
        (
            "a certificate for another name",
            Validity::Current,
            &["elsewhere.test"][..],
            Some(()),
        ),
        (
            "an expired certificate",
            Validity::Expired,
            &LOOPBACK[..],
            Some(()),
        ),
        (
            "a certificate not valid yet",
            Validity::NotYet,
            &LOOPBACK[..],
            Some(()),
        ),
    ];
    let expected = [
        TlsErrorKind::UnknownIssuer,
        TlsErrorKind::NameMismatch,
        TlsErrorKind::Expired,
        TlsErrorKind::NotYetValid,
    ];
    for ((what, validity, names, trust_ca), want) in cases.into_iter().zip(expected) {
        let url =
            ServerKind::Tokio.start_echo_config(echo_config().tls(serving(&ca, names, validity)));
        let mut options = ClientConfig::default();
        if trust_ca.is_some() {
            options = options.tls(trusting(&ca));
        }
        let error = tokio_connect_error(&url, options);
        assert_eq!(tls_kind(&error), &want, "{what}: {error}");
        assert!(error.to_string().contains("127.0.0.1"), "{what}: {error}");
    }
    // Test-only escape hatch: any certificate is accepted, and the connection works.
    let url = ServerKind::Tokio.start_echo_config(echo_config().tls(serving(
        &ca,
        &["elsewhere.test"],
        Validity::Expired,
    )));
    let mut ws = ClientKind::Tokio
        .connect_config(
            &url,
            client_config(&[]).tls(ClientTls::dangerous_accept_any_certificate()),
        )
        .expect("insecure client connects");
    ws.send(Message::text("anyway")).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("anyway"));
}

#[test]
fn plain_and_tls_mixed_up_fail_promptly_and_the_server_keeps_serving() {
    let ca = TestCa::new("wsproto test CA");
    for server in ServerKind::ALL {
        let tls_url = server.start_echo_config(
            echo_config()
                .tls(serving(&ca, &LOOPBACK, Validity::Current))
                .handshake_timeout(Duration::from_secs(10)),
        );
        // Plain HTTP to the TLS port: the server drops it at once (not at the timeout).
        let addr = tls_url.trim_start_matches("wss://").trim_end_matches('/');
        let mut raw = TcpStream::connect(addr).expect("connect");
        raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let started = Instant::now();
        let mut sink = Vec::new();
        let _ = raw.read_to_end(&mut sink);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{server:?}: plain bytes held"
        );
        // A ws:// client on the TLS port fails with a handshake-stage error, promptly.
        let plain_url = tls_url.replacen("wss://", "ws://", 1);
        let options = ClientConfig::default().handshake_timeout(Duration::from_secs(3));
        let error = tokio_connect_error(&plain_url, options);
        assert!(!matches!(error, Error::Connect(_)), "{server:?}: {error}");
        // The server still serves a proper wss client.
        let mut ws = ClientKind::Tokio
            .connect_config(&tls_url, client_config(&[]).tls(trusting(&ca)))
            .unwrap_or_else(|e| panic!("{server:?}: {e}"));
        ws.send(Message::text("still here")).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::text("still here"));
    }
    // A wss:// client on a plain port: the peer does not speak TLS.
    let plain = ServerKind::Tokio.start_echo();
    let error = tokio_connect_error(
        &plain.replacen("ws://", "wss://", 1),
        ClientConfig::default(),
    );
    assert_eq!(tls_kind(&error), &TlsErrorKind::NotTls, "{error}");
}

/// rustls configs for mutual TLS: a server that requires client certificates from `ca`, and
/// a client that trusts `ca` and presents `leaf` (or nothing).
mod mutual {
    use std::sync::Arc;

    use wsproto_tests::certs::{Leaf, TestCa};
    use wsproto_tokio::rustls;
    use wsproto_tokio::rustls::pki_types::pem::PemObject;
    use wsproto_tokio::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn roots(ca: &TestCa) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA");
        }
        roots
    }

    fn chain(leaf: &Leaf) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("chain")
    }

    fn key(leaf: &Leaf) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("key")
    }

    pub(super) fn server(ca: &TestCa, leaf: &Leaf) -> Arc<rustls::ServerConfig> {
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots(ca)),
            provider(),
        )
        .build()
        .expect("client verifier");
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain(leaf), key(leaf))
            .expect("server config");
        Arc::new(config)
    }

    pub(super) fn client(ca: &TestCa, leaf: Option<&Leaf>) -> Arc<rustls::ClientConfig> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots(ca));
        Arc::new(match leaf {
            Some(leaf) => builder
                .with_client_auth_cert(chain(leaf), key(leaf))
                .expect("client cert"),
            None => builder.with_no_client_auth(),
        })
    }
}

#[test]
fn a_client_certificate_is_presented_when_required_and_missing_is_a_typed_error() {
    let ca = TestCa::new("wsproto test CA");
    let server_leaf = ca.server(&LOOPBACK, Validity::Current);
    let client_leaf = ca.client("client.test");
    for server in ServerKind::ALL {
        let tls = ServerTls::from_config(mutual::server(&ca, &server_leaf));
        let url = server.start_echo_config(echo_config().tls(tls));
        let with_cert = ClientTls::from_config(mutual::client(&ca, Some(&client_leaf)));
        let mut ws = ClientKind::Tokio
            .connect_config(&url, client_config(&[]).tls(with_cert))
            .unwrap_or_else(|e| panic!("{server:?}: {e}"));
        ws.send(Message::text("mutual")).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::text("mutual"));
        let without = ClientTls::from_config(mutual::client(&ca, None));
        let error = tokio_connect_error(&url, ClientConfig::default().tls(without));
        assert_eq!(
            tls_kind(&error),
            &TlsErrorKind::CertificateRequired,
            "{server:?}: {error}"
        );
    }
}

#[test]
fn a_renewed_certificate_reaches_new_connections() {
    let old_ca = TestCa::new("old CA");
    let new_ca = TestCa::new("new CA");
    let tls = serving(&old_ca, &LOOPBACK, Validity::Current);
    let url = ServerKind::Tokio.start_echo_config(echo_config().tls(tls.clone()));
    let mut before = ClientKind::Tokio
        .connect_config(&url, client_config(&[]).tls(trusting(&old_ca)))
        .expect("old certificate");
    let renewed = new_ca.server(&LOOPBACK, Validity::Current);
    tls.reload_pem(renewed.cert_pem.as_bytes(), renewed.key_pem.as_bytes())
        .expect("reload");
    let mut after = ClientKind::Tokio
        .connect_config(&url, client_config(&[]).tls(trusting(&new_ca)))
        .expect("new certificate");
    let error = tokio_connect_error(&url, ClientConfig::default().tls(trusting(&old_ca)));
    assert_eq!(tls_kind(&error), &TlsErrorKind::UnknownIssuer, "{error}");
    // The connection opened before the renewal is unaffected.
    for ws in [&mut before, &mut after] {
        ws.send(Message::text("renewed")).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::text("renewed"));
    }
}

#[test]
fn a_thousand_silent_sockets_on_a_tls_server_do_not_hold_an_honest_client_back() {
    let ca = TestCa::new("wsproto test CA");
    let timeout = Duration::from_millis(800);
    let url = ServerKind::Tokio.start_echo_config(
        echo_config()
            .tls(serving(&ca, &LOOPBACK, Validity::Current))
            .handshake_timeout(timeout),
    );
    let addr = url.trim_start_matches("wss://").trim_end_matches('/');
    let silent: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(addr).expect("silent"))
        .collect();
    let started = Instant::now();
    let mut ws = ClientKind::Tokio
        .connect_config(&url, client_config(&[]).tls(trusting(&ca)))
        .expect("honest client");
    ws.send(Message::text("served")).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("served"));
    assert!(started.elapsed() < timeout * 3, "{:?}", started.elapsed());
    // The silent ones were dropped at the handshake timeout: the server closed them.
    std::thread::sleep(timeout + Duration::from_millis(500));
    for mut socket in silent {
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut byte = [0u8; 1];
        assert!(
            matches!(socket.read(&mut byte), Ok(0) | Err(_)),
            "a silent socket is still open"
        );
    }
}
