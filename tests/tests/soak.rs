//! The soak's short version, in the test command: 200 connections with mixed traffic (small
//! and large messages, pings, clean reconnects, abrupt drops) against the echo server of
//! every adapter, 6 s each, one after the other. Nothing may be lost or corrupted and no
//! client may see an error; the server's memory is printed (it shares this process, so the
//! 10-minute figures come from `wsbench soak`, with the server in a process of its own).

use std::time::Duration;

use wsproto_tests::ServerKind;
use wsproto_tests::soak::{self, SoakConfig};

#[test]
fn mixed_traffic_on_every_server_loses_and_corrupts_nothing() {
    let config = SoakConfig {
        connections: 200,
        duration: Duration::from_secs(6),
        report_every: Duration::from_secs(2),
        seed: 0x50A6,
    };
    for kind in ServerKind::ALL {
        let url = kind.start_echo();
        let report = soak::run(
            &url,
            &config,
            || wsproto_tests::hostile::rss() as u64,
            |line| {
                eprintln!("soak {kind:?}: {line}");
            },
        );
        let get = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        let totals = &report.totals;
        assert_eq!(get(&totals.lost), 0, "{kind:?}: {:?}", report.errors);
        assert_eq!(get(&totals.corrupted), 0, "{kind:?}");
        assert_eq!(get(&totals.errors), 0, "{kind:?}: {:?}", report.errors);
        assert!(get(&totals.echoed) > 1000, "{kind:?}: traffic flowed");
        assert!(get(&totals.connects) > 200, "{kind:?}: clients reconnected");
        assert!(get(&totals.dropped) > 0, "{kind:?}: some clients vanished");
        assert!(get(&totals.pongs) > 0, "{kind:?}: pings answered");
    }
}
