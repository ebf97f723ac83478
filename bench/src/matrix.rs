//! The whole comparison in one command: every server as a child pinned to CPU 0, the load
//! generator re-executed from this binary pinned to CPU 1, each cell repeated, medians and
//! ratios printed as a Markdown table.
//!
//! All servers are started first and stay up (idle servers cost nothing); runs are ordered
//! repeat → cell → implementation, so slow drift in the machine's background load spreads
//! over every implementation instead of favouring whichever ran first.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::loopback;
use crate::proc;
use crate::server::{IMPLS, is_baseline, is_ours};

#[derive(Clone, Copy)]
struct CellSpec {
    size: usize,
    conns: usize,
    depth: usize,
}

#[derive(Clone, Copy)]
struct Sample {
    msgs_per_s: f64,
    load_cpu: f64,
    /// Server CPU seconds per second of the window (1.0 = one CPU busy).
    server_cpu: f64,
    server_us_per_msg: f64,
    /// CPU time on the server's CPU not spent by the server (other processes, interrupts).
    cpu0_other: f64,
    /// The same on the load generator's CPU.
    cpu1_other: f64,
}

pub(crate) struct ServerChild {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl ServerChild {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `taskset` can run here.
pub(crate) fn have_taskset() -> bool {
    Command::new("taskset")
        .args(["-c", "0", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `exe args...`, under `taskset -c CPU` when `cpu` is given (taskset execs the program, so
/// the child's pid is the program's).
pub(crate) fn command(exe: &Path, cpu: Option<u32>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(exe);
            c
        }
        None => Command::new(exe),
    }
}

/// Starts `wsbench server --impl NAME` and waits for its `listening on` line.
pub(crate) fn start_server(
    exe: &Path,
    name: &str,
    cpu: Option<u32>,
) -> Result<ServerChild, String> {
    let mut child = command(exe, cpu)
        .args(["server", "--impl", name, "--bind", "127.0.0.1:0"])
        // async-std's global executor: one worker, like every other server here.
        .env("ASYNC_STD_THREAD_COUNT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn server {name}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("server {name}: {e}"))?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| {
            format!("server {name} printed {line:?} instead of `listening on ws://...`")
        })?
        .to_string();
    Ok(ServerChild { child, url })
}

fn fmt_size(size: usize) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn parse_result(stdout: &str) -> Option<Sample> {
    let line = stdout.lines().rev().find(|l| l.starts_with("RESULT "))?;
    let get = |key: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
            .parse()
            .ok()
    };
    let (msgs, secs) = (get("msgs")?, get("secs")?);
    let server_s = get("server_cpu_s").unwrap_or(f64::NAN);
    Some(Sample {
        msgs_per_s: get("msgs_per_s")?,
        load_cpu: get("load_cpu")?,
        server_cpu: server_s / secs,
        server_us_per_msg: server_s * 1e6 / msgs,
        cpu0_other: (get("cpu0_busy").unwrap_or(f64::NAN) - server_s / secs).max(0.0),
        cpu1_other: (get("cpu1_busy").unwrap_or(f64::NAN) - get("load_cpu")?).max(0.0),
    })
}

#[allow(clippy::too_many_arguments)]
fn run_load(
    exe: &Path,
    cpu: Option<u32>,
    server: &ServerChild,
    cell: CellSpec,
    secs: f64,
    warmup: f64,
) -> Result<Sample, String> {
    let mut child = command(exe, cpu)
        .args(["load", "--url", &server.url])
        .args(["--size", &cell.size.to_string()])
        .args(["--conns", &cell.conns.to_string()])
        .args(["--depth", &cell.depth.to_string()])
        .args(["--secs", &secs.to_string()])
        .args(["--warmup", &warmup.to_string()])
        .args(["--server-pid", &server.pid().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn load: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs_f64(secs + warmup + 30.0);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("load generator timed out".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    if !status.success() {
        return Err(err
            .trim()
            .lines()
            .last()
            .unwrap_or("load failed")
            .to_string());
    }
    parse_result(&out).ok_or_else(|| format!("no RESULT line in {out:?}"))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cores} × {cpu}, Linux {kernel}")
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let quick = args.flag("quick");
    let impls: Vec<String> = match args.str("impls") {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => IMPLS.iter().map(|s| (*s).to_string()).collect(),
    };
    for name in &impls {
        if !IMPLS.contains(&name.as_str()) {
            return Err(format!(
                "unknown impl {name:?}; one of {}",
                IMPLS.join(", ")
            ));
        }
    }
    let cells: Vec<CellSpec> = if quick {
        vec![
            CellSpec {
                size: 16,
                conns: 64,
                depth: 16,
            },
            CellSpec {
                size: 1024,
                conns: 64,
                depth: 16,
            },
            CellSpec {
                size: 16,
                conns: 1,
                depth: 1,
            },
        ]
    } else {
        let mut cells = Vec::new();
        for size in [16, 1024, 64 * 1024, 1024 * 1024] {
            for conns in [1, 64] {
                for depth in [1, 16] {
                    cells.push(CellSpec { size, conns, depth });
                }
            }
        }
        cells
    };
    // Optional filters: --sizes 64KiB,1MiB --conns-list 64 --depths 16
    let list = |key: &str| -> Result<Option<Vec<usize>>, String> {
        args.str(key)
            .map(|v| v.split(',').map(crate::args::parse_size).collect())
            .transpose()
    };
    let (sizes, conns_list, depths) = (list("sizes")?, list("conns-list")?, list("depths")?);
    let keep = |want: &Option<Vec<usize>>, x: usize| want.as_ref().is_none_or(|w| w.contains(&x));
    let cells: Vec<CellSpec> = cells
        .into_iter()
        .filter(|c| keep(&sizes, c.size) && keep(&conns_list, c.conns) && keep(&depths, c.depth))
        .collect();
    if cells.is_empty() {
        return Err("no cell left after --sizes/--conns-list/--depths".into());
    }
    let secs: f64 = args.get_or("secs", if quick { 2.0 } else { 3.0 })?;
    let warmup: f64 = args.get_or("warmup", if quick { 0.3 } else { 0.5 })?;
    let repeats: usize = args.get_or("repeats", if quick { 1 } else { 3 })?;
    let pin = !args.flag("no-pin") && have_taskset();
    let (server_cpu, load_cpu) = if pin {
        (Some(0), Some(1))
    } else {
        (None, None)
    };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    proc::raise_nofile();

    let started = Instant::now();
    let load_before = proc::loadavg();
    eprintln!(
        "matrix: {} impls × {} cells × {repeats} run(s) × {secs} s (+{warmup} s warm-up); pinning: {}",
        impls.len(),
        cells.len(),
        if pin {
            "server CPU 0, load CPU 1"
        } else {
            "off"
        }
    );
    // The loopback ceiling for the large-message cells, measured before anything else runs.
    let loopback = if cells.iter().any(|c| c.size >= 64 * 1024) && !args.flag("no-iperf") {
        eprintln!("loopback TCP reference: iperf3, 3 s one way, 3 s both ways");
        Some(loopback::measure(server_cpu, load_cpu, 3))
    } else {
        None
    };
    let mut servers = Vec::new();
    for name in &impls {
        servers.push(start_server(&exe, name, server_cpu)?);
    }
    // samples[impl][cell] and failures[impl][cell]
    let mut samples = vec![vec![Vec::<Sample>::new(); cells.len()]; impls.len()];
    let mut failures: Vec<Vec<Option<String>>> = vec![vec![None; cells.len()]; impls.len()];
    for rep in 0..repeats {
        for (ci, cell) in cells.iter().enumerate() {
            // Each repeat starts the cell with the next implementation: the first run after a
            // cell change can meet the kernel still settling from the last cell (socket
            // memory, TIME_WAIT), and no implementation should always take that run.
            for k in 0..impls.len() {
                let ii = (k + rep) % impls.len();
                let name = &impls[ii];
                if failures[ii][ci].is_some() {
                    continue;
                }
                if let Ok(Some(status)) = servers[ii].child.try_wait() {
                    failures[ii][ci] = Some(format!("server exited: {status}"));
                    continue;
                }
                let result = run_load(&exe, load_cpu, &servers[ii], *cell, secs, warmup);
                match result {
                    Ok(sample) => {
                        eprintln!(
                            "  run {}/{repeats} {name:<26} {:>7} {:>2}c d{:<2}: {:>9} msgs/s  server {:.3} µs/msg ({:.0}% CPU)  load {:.0}% CPU  others on CPU 0/1 {:.0}%/{:.0}%",
                            rep + 1,
                            fmt_size(cell.size),
                            cell.conns,
                            cell.depth,
                            fmt_rate(sample.msgs_per_s),
                            sample.server_us_per_msg,
                            sample.server_cpu * 100.0,
                            sample.load_cpu * 100.0,
                            sample.cpu0_other * 100.0,
                            sample.cpu1_other * 100.0
                        );
                        samples[ii][ci].push(sample);
                    }
                    Err(error) => {
                        eprintln!(
                            "  run {}/{repeats} {name} {}: FAILED: {error}",
                            rep + 1,
                            fmt_size(cell.size)
                        );
                        failures[ii][ci] = Some(error);
                    }
                }
                // Let the server finish tearing the connections down before the next run.
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    }
    drop(servers);
    let load_after = proc::loadavg();

    // Medians per impl and cell.
    struct Row {
        msgs: f64,
        us: f64,
        srv_cpu: f64,
        load_cpu: f64,
        other: f64,
        other1: f64,
    }
    let rows: Vec<Vec<Option<Row>>> = samples
        .iter()
        .map(|per_cell| {
            per_cell
                .iter()
                .map(|s| {
                    if s.is_empty() {
                        return None;
                    }
                    let m =
                        |f: fn(&Sample) -> f64| median(&mut s.iter().map(f).collect::<Vec<_>>());
                    Some(Row {
                        msgs: m(|s| s.msgs_per_s),
                        us: m(|s| s.server_us_per_msg),
                        srv_cpu: m(|s| s.server_cpu),
                        load_cpu: m(|s| s.load_cpu),
                        other: m(|s| s.cpu0_other),
                        other1: m(|s| s.cpu1_other),
                    })
                })
                .collect()
        })
        .collect();

    println!("## wsbench matrix{}", if quick { " (quick)" } else { "" });
    println!();
    println!(
        "{}; {} run(s) per cell, {secs} s each after {warmup} s warm-up; {}; load average {load_before} before, {load_after} after; took {:.0} s.",
        machine(),
        repeats,
        if pin {
            "server pinned to CPU 0, load generator to CPU 1 (taskset)"
        } else {
            "no pinning"
        },
        started.elapsed().as_secs_f64()
    );
    match &loopback {
        Some(Ok(l)) => println!(
            "\nLoopback TCP (iperf3, same pinning): {:.0} MB/s one way; {:.0} MB/s each way when both directions run at once — the ceiling for an echo, which moves every byte in and out.",
            l.one_way, l.echo_ceiling
        ),
        Some(Err(why)) => println!("\nLoopback TCP reference: not measured ({why})."),
        None => {}
    }
    println!();
    println!(
        "| impl | size | conns | depth | msgs/s | MB/s | server µs/msg | server CPU | load CPU | others on CPU 0 / 1 | vs best peer |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut summary = Vec::new();
    for (ci, cell) in cells.iter().enumerate() {
        // The implementation, ours or a peer's (never the baseline), with the highest (or
        // lowest) `value` in this cell.
        let pick = |want_ours: bool, value: fn(&Row) -> f64, lowest: bool| {
            impls
                .iter()
                .enumerate()
                .filter(|(_, n)| is_ours(n) == want_ours && !is_baseline(n))
                .filter_map(|(ii, n)| rows[ii][ci].as_ref().map(|r| (n.as_str(), value(r))))
                .max_by(|a, b| {
                    let order = a.1.total_cmp(&b.1);
                    if lowest { order.reverse() } else { order }
                })
        };
        let (best_ours, best_peer) = (
            pick(true, |r| r.msgs, false),
            pick(false, |r| r.msgs, false),
        );
        let (leanest_ours, leanest_peer) =
            (pick(true, |r| r.us, true), pick(false, |r| r.us, true));
        for (ii, name) in impls.iter().enumerate() {
            let lead = format!(
                "| {name} | {} | {} | {} |",
                fmt_size(cell.size),
                cell.conns,
                cell.depth
            );
            match &rows[ii][ci] {
                Some(r) => {
                    let ratio =
                        best_peer.map_or("–".to_string(), |(_, b)| format!("{:.2}×", r.msgs / b));
                    println!(
                        "{lead} {} | {:.1} | {:.3} | {:.0}% | {:.0}% | {} | {ratio} |",
                        fmt_rate(r.msgs),
                        r.msgs * cell.size as f64 / 1e6,
                        r.us,
                        r.srv_cpu * 100.0,
                        r.load_cpu * 100.0,
                        if pin {
                            format!("{:.0}% / {:.0}%", r.other * 100.0, r.other1 * 100.0)
                        } else {
                            "–".into()
                        },
                    );
                }
                None => println!(
                    "{lead} failed: {} | | | | | | |",
                    failures[ii][ci].as_deref().unwrap_or("?").replace('|', "/")
                ),
            }
        }
        if let (Some(peer), Some(ours), Some(lean_ours), Some(lean_peer)) =
            (best_peer, best_ours, leanest_ours, leanest_peer)
        {
            let of_loopback = match &loopback {
                Some(Ok(l)) if cell.size >= 64 * 1024 => format!(
                    "{:.0}%",
                    100.0 * ours.1 * cell.size as f64 / 1e6 / l.echo_ceiling
                ),
                _ => "–".into(),
            };
            summary.push(format!(
                "| {} | {} | {} | {} {} | {} {} | {:.2}× | {} {:.3} | {} {:.3} | {:.2}× | {of_loopback} |",
                fmt_size(cell.size),
                cell.conns,
                cell.depth,
                ours.0,
                fmt_rate(ours.1),
                peer.0,
                fmt_rate(peer.1),
                ours.1 / peer.1,
                lean_ours.0,
                lean_ours.1,
                lean_peer.0,
                lean_peer.1,
                lean_peer.1 / lean_ours.1,
            ));
        }
    }
    if !summary.is_empty() {
        println!();
        println!(
            "| size | conns | depth | best of ours (msgs/s) | best peer (msgs/s) | ours / peer | leanest of ours (server µs/msg) | leanest peer (server µs/msg) | peer CPU / ours | ours ÷ loopback echo ceiling |"
        );
        println!("| ---: | ---: | ---: | --- | --- | ---: | --- | --- | ---: | ---: |");
        for line in summary {
            println!("{line}");
        }
    }
    Ok(())
}
