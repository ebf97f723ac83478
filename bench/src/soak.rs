//! `wsbench soak`: the soak of `wsproto_tests::soak` (many connections, mixed traffic,
//! reconnects and abrupt drops, every echo checked) against one of our servers running in a
//! process of its own, whose resident set is sampled every few seconds.

use std::sync::atomic::Ordering;
use std::time::Duration;

use wsproto_tests::soak::{self, SoakConfig};

use crate::args::Args;
use crate::matrix::{have_taskset, start_server};
use crate::proc;

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let name = args.req("impl")?;
    let conns: usize = args.get_or("conns", 10_000)?;
    let secs: f64 = args.get_or("secs", 600.0)?;
    let every: f64 = args.get_or("report", 10.0)?;
    let warm_up: f64 = args.get_or("warmup", 120.0f64.min(secs / 5.0))?;
    proc::ensure_nofile(conns)?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let server = start_server(&exe, name, have_taskset().then_some(0))?;
    let pid = server.pid();
    let config = SoakConfig {
        connections: conns,
        duration: Duration::from_secs_f64(secs),
        report_every: Duration::from_secs_f64(every),
        seed: 0x50A6,
    };
    eprintln!("soak: {name}, {conns} connections, {secs} s, server pid {pid}");
    let report = soak::run(
        &server.url,
        &config,
        || proc::rss_bytes(pid).unwrap_or(0),
        |line| println!("{line}"),
    );
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let totals = &report.totals;
    let growth = report.growth_after(Duration::from_secs_f64(warm_up));
    println!(
        "RESULT impl={name} conns={conns} secs={secs} {} rss_growth_after_warmup={:.1}%",
        totals.summary(),
        (growth - 1.0) * 100.0,
    );
    for (kind, count) in &report.errors {
        println!("errors: {count:>8}  {kind}");
    }
    if get(&totals.lost) + get(&totals.corrupted) > 0 {
        return Err("messages were lost or corrupted".into());
    }
    Ok(())
}
