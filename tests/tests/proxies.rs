//! Clients through real proxies on loopback: Debian's `tinyproxy` (HTTP `CONNECT`, without
//! and with BasicAuth) and `microsocks` (SOCKS5, without and with user/password), carrying
//! `ws://` and `wss://` for every client adapter; each way a proxy can fail as a typed
//! error on every client adapter, within the handshake timeout and without the password in
//! the text; and the environment's proxy as curl reads it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use wsproto_core::Message;
use wsproto_core::proxy::{ProxyError, SocksReply};
use wsproto_tests::certs::{TestCa, Validity};
use wsproto_tests::proxies::{Login, ProxyServer, free_port};
use wsproto_tests::{ClientKind, ServerKind, client_config, echo_config};
use wsproto_tokio::{ClientConfig, Error, Proxy, ProxyFailureKind};

const LOGIN: Login<'static> = ("alice", "s3cret-pw");
const WRONG: Login<'static> = ("alice", "not-the-pw");

/// A plain and a TLS echo server (certificate for `localhost` only), and the CA to trust.
struct Targets {
    ca: TestCa,
    plain: String,
    secure: String,
}

impl Targets {
    fn start() -> Self {
        let ca = TestCa::new("proxy test CA");
        let plain = ServerKind::Tokio.start_echo();
        let tls = ca
            .server(&["localhost"], Validity::Current)
            .server_tls()
            .expect("server tls");
        let secure = ServerKind::Tokio.start_echo_config(echo_config().tls(tls));
        // The proxy resolves (or is sent) `localhost`; TLS must check that name, not the
        // proxy's address, which the certificate does not hold.
        Self {
            plain: plain.replace("127.0.0.1", "localhost"),
            secure: secure.replace("127.0.0.1", "localhost"),
            ca,
        }
    }

    fn urls(&self) -> [(&str, bool); 2] {
        [(&self.plain, false), (&self.secure, true)]
    }
}

/// Connects through `proxy` with `client` and checks one echo.
fn echo_through(targets: &Targets, client: ClientKind, proxy: &Proxy) {
    for (url, tls) in targets.urls() {
        let what = format!("{client:?} client to {url} through {}", proxy.url());
        let mut options = client_config(&[]).proxy(proxy.clone());
        if tls {
            options = options.tls(targets.ca.client_tls().expect("client tls"));
        }
        let mut ws = client
            .connect_config(url, options)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        ws.send(Message::text("through the tunnel")).unwrap();
        assert_eq!(
            ws.recv().unwrap().unwrap(),
            Message::text("through the tunnel"),
            "{what}"
        );
        ws.close(wsproto_core::CloseCode::NORMAL, "").unwrap();
    }
}

/// Connects with `client` and returns the typed error, which must come within 5 s.
fn connect_error(client: ClientKind, url: &str, options: ClientConfig) -> Error {
    let started = Instant::now();
    let result = match client {
        ClientKind::Tokio => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(wsproto_tokio::connect_with(url, options))
            .map(drop),
        ClientKind::Smol => smol::block_on(wsproto_smol::connect_with(url, options)).map(drop),
        ClientKind::AsyncStd => {
            async_std::task::block_on(wsproto_async_std::connect_with(url, options)).map(drop)
        }
        ClientKind::Blocking => wsproto_blocking::connect_with(url, options).map(drop),
    };
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "{client:?} {url}: took {took:?}"
    );
    match result {
        Ok(()) => panic!("{client:?} {url}: connected although it must not"),
        Err(error) => {
            let text = error.to_string();
            assert!(
                !text.contains(LOGIN.1) && !text.contains(WRONG.1),
                "password in {text}"
            );
            error
        }
    }
}

fn failure_kind(error: &Error) -> &ProxyFailureKind {
    match error {
        Error::Proxy(failure) => failure.kind(),
        other => panic!("not a proxy error: {other}"),
    }
}

fn refusal(error: &Error) -> &ProxyError {
    match failure_kind(error) {
        ProxyFailureKind::Refused(error) => error,
        other => panic!("not a refusal: {other:?} ({error})"),
    }
}

#[test]
fn tinyproxy_carries_ws_and_wss_for_every_client() {
    let targets = Targets::start();
    for login in [None, Some(LOGIN)] {
        let proxy = ProxyServer::tinyproxy(login, &[]).expect("tinyproxy");
        let proxy = Proxy::http(&proxy.url("http", login)).unwrap();
        for client in ClientKind::ALL {
            echo_through(&targets, client, &proxy);
        }
    }
}

#[test]
fn microsocks_carries_ws_and_wss_for_every_client_with_either_dns() {
    let targets = Targets::start();
    for login in [None, Some(LOGIN)] {
        let socks = ProxyServer::microsocks(login).expect("microsocks");
        for scheme in ["socks5h", "socks5"] {
            let proxy = Proxy::socks5(&socks.url(scheme, login)).unwrap();
            for client in ClientKind::ALL {
                echo_through(&targets, client, &proxy);
            }
        }
    }
}

#[test]
fn http_proxy_refusals_are_typed_with_their_status() {
    let targets = Targets::start();
    let guarded = ProxyServer::tinyproxy(Some(LOGIN), &[]).expect("tinyproxy");
    // Only port 1 may be tunnelled to: the echo server's port is against the rules.
    let strict = ProxyServer::tinyproxy(None, &[1]).expect("tinyproxy");
    let closed = format!("ws://127.0.0.1:{}/", free_port().unwrap());
    for client in ClientKind::ALL {
        let wrong = Proxy::http(&guarded.url("http", Some(WRONG))).unwrap();
        let error = connect_error(client, &targets.plain, client_config(&[]).proxy(wrong));
        // tinyproxy answers wrong credentials with 401 and missing ones with 407.
        assert_eq!(http_status(&error), Some(401), "{error}");
        assert!(refusal(&error).needs_credentials(), "{error}");
        assert!(error.to_string().contains("Basic realm"), "{error}");

        let none = Proxy::http(&guarded.url("http", None)).unwrap();
        let error = connect_error(client, &targets.plain, client_config(&[]).proxy(none));
        assert_eq!(http_status(&error), Some(407), "{error}");
        let ProxyError::Refused(answer) = refusal(&error) else {
            panic!("{error}")
        };
        assert!(
            answer
                .authenticate()
                .any(|scheme| scheme.starts_with("Basic"))
        );
        assert!(error.to_string().contains("Basic realm"), "{error}");

        let forbidden = Proxy::http(&strict.url("http", None)).unwrap();
        let error = connect_error(client, &targets.plain, client_config(&[]).proxy(forbidden));
        assert_eq!(http_status(&error), Some(403), "{error}");

        // The proxy cannot reach the target: tinyproxy says 500.
        let open = Proxy::http(&guarded.url("http", Some(LOGIN))).unwrap();
        let error = connect_error(client, &closed, client_config(&[]).proxy(open));
        assert_eq!(http_status(&error), Some(500), "{error}");
    }
}

fn http_status(error: &Error) -> Option<u16> {
    match error {
        Error::Proxy(failure) => failure.http_status(),
        _ => None,
    }
}

#[test]
fn socks_refusals_are_typed_with_their_reply() {
    let targets = Targets::start();
    let guarded = ProxyServer::microsocks(Some(LOGIN)).expect("microsocks");
    let open = ProxyServer::microsocks(None).expect("microsocks");
    let closed = format!("ws://127.0.0.1:{}/", free_port().unwrap());
    for client in ClientKind::ALL {
        let wrong = Proxy::socks5(&guarded.url("socks5h", Some(WRONG))).unwrap();
        let error = connect_error(client, &targets.plain, client_config(&[]).proxy(wrong));
        assert_eq!(refusal(&error), &ProxyError::SocksAuthFailed, "{error}");
        assert!(refusal(&error).needs_credentials());

        let none = Proxy::socks5(&guarded.url("socks5h", None)).unwrap();
        let error = connect_error(client, &targets.plain, client_config(&[]).proxy(none));
        assert_eq!(
            refusal(&error),
            &ProxyError::SocksNoAcceptableMethod {
                credentials_offered: false
            },
            "{error}"
        );

        let proxy = Proxy::socks5(&open.url("socks5", None)).unwrap();
        let error = connect_error(client, &closed, client_config(&[]).proxy(proxy));
        assert_eq!(
            refusal(&error),
            &ProxyError::SocksRefused(SocksReply::ConnectionRefused),
            "{error}"
        );
    }
}

/// A proxy played by a thread: answers every connection with `answer`, a byte every
/// `pace` (or all at once for zero), then holds the connection open for a while.
fn fake_proxy(answer: &'static [u8], pace: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let mut request = [0; 512];
                let _ = stream.read(&mut request);
                if pace.is_zero() {
                    let _ = stream.write_all(answer);
                } else {
                    for byte in answer.iter().cycle().take(10_000) {
                        if stream.write_all(&[*byte]).is_err() {
                            return;
                        }
                        thread::sleep(pace);
                    }
                }
                thread::sleep(Duration::from_secs(10));
            });
        }
    });
    port
}

#[test]
fn down_garbage_and_trickling_proxies_fail_typed_within_the_timeout() {
    let target = "ws://example.test/";
    let down = free_port().unwrap();
    let garbage = fake_proxy(b"SSH-2.0-OpenSSH_9.2\r\n\r\n", Duration::ZERO);
    let trickle = fake_proxy(b"HTTP/1.1 200 OK\r\nX-Slow: ", Duration::from_millis(50));
    let silent = fake_proxy(b"", Duration::ZERO);
    let quick = |proxy: &str| {
        client_config(&[])
            .handshake_timeout(Duration::from_millis(800))
            .proxy(Proxy::parse(proxy).unwrap())
    };
    for client in ClientKind::ALL {
        for scheme in ["http", "socks5h"] {
            let error = connect_error(
                client,
                target,
                quick(&format!("{scheme}://127.0.0.1:{down}")),
            );
            assert!(
                matches!(failure_kind(&error), ProxyFailureKind::Unreachable(_)),
                "{error}"
            );
        }
        let error = connect_error(
            client,
            target,
            quick(&format!("http://127.0.0.1:{garbage}")),
        );
        assert!(
            matches!(refusal(&error), ProxyError::BadResponse(_)),
            "{error}"
        );
        let error = connect_error(
            client,
            target,
            quick(&format!("socks5h://127.0.0.1:{garbage}")),
        );
        assert!(
            matches!(
                refusal(&error),
                ProxyError::SocksMalformed(_) | ProxyError::UnexpectedData
            ),
            "{error}"
        );
        for proxy in [trickle, silent] {
            let started = Instant::now();
            let error = connect_error(client, target, quick(&format!("http://127.0.0.1:{proxy}")));
            assert!(error.is_timeout(), "{error}");
            assert!(
                matches!(failure_kind(&error), ProxyFailureKind::TimedOut),
                "{error}"
            );
            assert!(started.elapsed() >= Duration::from_millis(700), "{error}");
        }
    }
}

#[test]
fn the_environment_is_honoured_only_when_asked() {
    let tinyproxy = ProxyServer::tinyproxy(None, &[]).expect("tinyproxy");
    let env_proxy = tinyproxy.url("http", None);
    let vars = |no_proxy: &'static str| {
        let env_proxy = env_proxy.clone();
        move |name: &str| match name {
            "ALL_PROXY" => Some(env_proxy.clone()),
            "NO_PROXY" => Some(no_proxy.to_owned()),
            _ => None,
        }
    };
    // A loopback target is reached directly, even with a proxy in the environment.
    let local = ServerKind::Tokio.start_echo();
    assert_eq!(Proxy::from_env_with(&local, vars("")).unwrap(), None);
    let mut ws = ClientKind::Blocking.connect(&local).unwrap();
    ws.send(Message::text("direct")).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("direct"));

    // Any other host goes through the environment's proxy: tinyproxy answers for a name it
    // cannot resolve, which proves the request reached it.
    let remote = "ws://unreachable.invalid:9/";
    let proxy = Proxy::from_env_with(remote, vars(""))
        .unwrap()
        .expect("a proxy");
    for client in ClientKind::ALL {
        let error = connect_error(client, remote, client_config(&[]).proxy(proxy.clone()));
        assert_eq!(http_status(&error), Some(500), "{error}");
    }
    // NO_PROXY names it: reached directly, so the failure is our own DNS lookup.
    assert_eq!(
        Proxy::from_env_with(remote, vars(".invalid")).unwrap(),
        None
    );
    let error = connect_error(ClientKind::Blocking, remote, client_config(&[]));
    assert!(matches!(error, Error::Connect(_)), "{error}");
    // wss:// looks at HTTPS_PROXY first: ALL_PROXY still applies when it is unset.
    assert!(
        Proxy::from_env_with("wss://unreachable.invalid/", vars(""))
            .unwrap()
            .is_some()
    );
}
