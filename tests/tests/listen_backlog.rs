//! Every adapter's server listens with a backlog of 1024 (std's `bind` asks for 128, which a
//! burst of clients fills), or what `ServerConfig::backlog` says. The kernel's own view of
//! each listening socket is read with `ss` (iproute2), whose Send-Q column is the backlog of
//! a listening socket; Linux caps it at `net.core.somaxconn`.

use std::net::SocketAddr;
use std::process::Command;

use wsproto_blocking::ServerConfig;

/// The backlog the kernel holds for the listening socket on `addr`.
fn kernel_backlog(addr: SocketAddr) -> u32 {
    let ss = std::env::var("WSPROTO_SS").unwrap_or_else(|_| "ss".into());
    let out = Command::new(&ss)
        .args(["-Hltn", &format!("sport = :{}", addr.port())])
        .output()
        .unwrap_or_else(|e| panic!("{ss} (iproute2) is needed to read listen backlogs: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|line| line.contains(&format!("127.0.0.1:{}", addr.port())))
        .unwrap_or_else(|| panic!("no listening socket on {addr} in {text:?}"));
    // State, Recv-Q, Send-Q (the backlog), local address, peer address.
    line.split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unexpected ss line {line:?}"))
}

/// What the kernel grants for `asked`.
fn granted(asked: u32) -> u32 {
    let cap = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u32::MAX);
    asked.min(cap)
}

#[test]
fn every_server_listens_with_the_configured_backlog() {
    for (asked, config) in [
        (1024, ServerConfig::default()),
        (300, ServerConfig::default().backlog(300)),
    ] {
        let blocking = wsproto_blocking::Server::bind_with("127.0.0.1:0", config.clone()).unwrap();
        assert_eq!(
            kernel_backlog(blocking.local_addr()),
            granted(asked),
            "blocking"
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let tokio = runtime
            .block_on(wsproto_tokio::Server::bind_with(
                "127.0.0.1:0",
                config.clone(),
            ))
            .unwrap();
        assert_eq!(kernel_backlog(tokio.local_addr()), granted(asked), "tokio");
        let smol = smol::block_on(wsproto_smol::Server::bind_with(
            "127.0.0.1:0",
            config.clone(),
        ))
        .unwrap();
        assert_eq!(kernel_backlog(smol.local_addr()), granted(asked), "smol");
        let async_std =
            async_std::task::block_on(wsproto_async_std::Server::bind_with("127.0.0.1:0", config))
                .unwrap();
        assert_eq!(
            kernel_backlog(async_std.local_addr()),
            granted(asked),
            "async-std"
        );
    }
}
