//! `wsproto connect` through real proxies (Debian's tinyproxy and microsocks, started by the
//! tests): `--proxy` on every runtime, the environment's proxy by default as curl reads it,
//! `--no-proxy`, and failures as exit status 3 naming the proxy but never its password.

mod common;

use std::process::{Command, Output, Stdio};

use common::{BIN, RUNTIMES, serve};
use wsproto_tests::proxies::{ProxyServer, free_port};

const LOGIN: (&str, &str) = ("alice", "s3cret-pw");

/// Every variable a proxy could come from, so the tests see only what they set.
const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Runs `wsproto connect ARGS` with no stdin and only `env` among the proxy variables.
fn connect(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.arg("connect").args(args).stdin(Stdio::null());
    for var in PROXY_VARS {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("run wsproto connect")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn connect_goes_through_http_and_socks_proxies_on_every_runtime() {
    let server = serve(&[]);
    let url = format!(
        "ws://localhost:{}/",
        server.addr().rsplit(':').next().unwrap()
    );
    let tinyproxy = ProxyServer::tinyproxy(Some(LOGIN), &[]).expect("tinyproxy");
    let microsocks = ProxyServer::microsocks(Some(LOGIN)).expect("microsocks");
    let proxies = [
        tinyproxy.url("http", Some(LOGIN)),
        microsocks.url("socks5h", Some(LOGIN)),
        microsocks.url("socks5", Some(LOGIN)),
    ];
    for runtime in RUNTIMES {
        for proxy in &proxies {
            let out = connect(
                &[
                    &url,
                    "--runtime",
                    runtime,
                    "--proxy",
                    proxy,
                    "-x",
                    "via proxy",
                ],
                &[],
            );
            let stderr = text(&out.stderr);
            assert!(out.status.success(), "{runtime} {proxy}: {stderr}");
            assert_eq!(text(&out.stdout), "via proxy\n", "{runtime} {proxy}");
            assert!(!stderr.contains(LOGIN.1), "{stderr}");
        }
    }
}

#[test]
fn proxy_failures_exit_3_naming_the_proxy_without_its_password() {
    let tinyproxy = ProxyServer::tinyproxy(Some(LOGIN), &[]).expect("tinyproxy");
    let server = serve(&[]);
    let url = format!("ws://{}/", server.addr());
    let wrong = format!("http://alice:wrong-pw@127.0.0.1:{}", tinyproxy.port());
    let down = format!(
        "socks5h://alice:wrong-pw@127.0.0.1:{}",
        free_port().unwrap()
    );
    for (proxy, says) in [
        (&wrong, "http status 401"),
        (&down, "could not connect to the proxy"),
    ] {
        let out = connect(&[&url, "--proxy", proxy, "-x", "hi"], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{proxy}: {stderr}");
        assert!(stderr.contains(says), "{proxy}: {stderr}");
        assert!(stderr.contains("proxy "), "{stderr}");
        assert!(!stderr.contains("wrong-pw"), "{stderr}");
    }
    let out = connect(&[&url, "--proxy", "ftp://u:pw@h"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn the_environment_is_read_by_default_and_ignored_with_no_proxy() {
    let tinyproxy = ProxyServer::tinyproxy(None, &[]).expect("tinyproxy");
    let env_proxy = tinyproxy.url("http", None);
    let env = [("ALL_PROXY", env_proxy.as_str())];
    // A name only the proxy is asked about: tinyproxy answers 500, naming itself.
    let remote = "ws://unreachable.invalid:9/";
    let out = connect(&[remote, "-x", "hi"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("proxy {env_proxy}")) && stderr.contains("500"),
        "{stderr}"
    );
    // --no-proxy, or NO_PROXY naming the host: our own lookup fails instead.
    for (args, env) in [
        (vec![remote, "-x", "hi", "--no-proxy"], env.to_vec()),
        (
            vec![remote, "-x", "hi"],
            vec![("ALL_PROXY", env_proxy.as_str()), ("NO_PROXY", ".invalid")],
        ),
    ] {
        let out = connect(&args, &env);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(!stderr.contains("proxy"), "{stderr}");
    }
    // Loopback is always reached directly.
    let server = serve(&[]);
    let out = connect(&[&format!("ws://{}/", server.addr()), "-x", "direct"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "direct\n");
    // A broken environment value is a usage error that keeps the password to itself.
    let out = connect(&[remote, "-x", "hi"], &[("ALL_PROXY", "ftp://u:hidden@h")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("hidden"), "{stderr}");
}
