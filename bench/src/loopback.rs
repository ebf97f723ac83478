//! The loopback TCP ceiling the large-message cells are measured against: `iperf3`, pinned
//! the same way as the echo runs (server on CPU 0, client on CPU 1), one way and both ways at
//! once. An echo moves every byte in both directions, so its ceiling is the bidirectional
//! figure: the sum of both directions ÷ 2 bytes echoed per second.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::matrix::command;

/// What iperf3 measured, in 10⁶ bytes per second.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loopback {
    /// One stream, client → server.
    pub(crate) one_way: f64,
    /// Both directions at once (`--bidir`): their sum ÷ 2, the most an echo can move.
    pub(crate) echo_ceiling: f64,
}

/// Runs iperf3 for `secs` seconds each way, its server on `server_cpu` and client on
/// `load_cpu` when given; `Err` says why there is no figure (for the report), e.g. iperf3 is
/// not installed.
pub(crate) fn measure(
    server_cpu: Option<u32>,
    load_cpu: Option<u32>,
    secs: u32,
) -> Result<Loopback, String> {
    let one_way = run(server_cpu, load_cpu, secs, false)?;
    let both = run(server_cpu, load_cpu, secs, true)?;
    Ok(Loopback {
        one_way: one_way.iter().sum(),
        echo_ceiling: both.iter().sum::<f64>() / 2.0,
    })
}

/// One iperf3 server (serves a single test, then exits) and client; returns the receiver
/// rate of each direction in 10⁶ bytes per second.
fn run(
    server_cpu: Option<u32>,
    load_cpu: Option<u32>,
    secs: u32,
    bidir: bool,
) -> Result<Vec<f64>, String> {
    let port = 5299u16;
    let iperf3 = Path::new("iperf3");
    let mut server = command(iperf3, server_cpu)
        .args(["-s", "-1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("iperf3 not available ({e})"))?;
    std::thread::sleep(Duration::from_millis(300));
    let mut client = command(iperf3, load_cpu);
    client.stdin(Stdio::null()).args([
        "-c",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-t",
        &secs.to_string(),
        "-f",
        "m",
    ]);
    if bidir {
        client.arg("--bidir");
    }
    let output = client.output().map_err(|e| format!("iperf3 client: {e}"));
    let _ = server.kill();
    let _ = server.wait();
    let output = output?;
    if !output.status.success() {
        return Err(format!(
            "iperf3 client failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let rates = receiver_rates(&String::from_utf8_lossy(&output.stdout));
    let want = if bidir { 2 } else { 1 };
    if rates.len() != want {
        return Err(format!(
            "could not read iperf3's receiver lines ({} found)",
            rates.len()
        ));
    }
    Ok(rates)
}

/// The `receiver` summary lines' rates (`-f m`: Mbits/sec), in 10⁶ bytes per second.
fn receiver_rates(text: &str) -> Vec<f64> {
    text.lines()
        .filter(|line| line.trim_end().ends_with("receiver"))
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let unit = words.iter().position(|w| *w == "Mbits/sec")?;
            let mbits: f64 = words.get(unit.checked_sub(1)?)?.parse().ok()?;
            Some(mbits / 8.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_receiver_lines_of_both_directions() {
        let text = "\
[ ID][Role] Interval           Transfer     Bitrate         Retr
[  5][TX-C]   0.00-5.00   sec  6.50 GBytes  11166 Mbits/sec    4             sender
[  5][TX-C]   0.00-5.00   sec  6.49 GBytes  11150 Mbits/sec                  receiver
[  7][RX-C]   0.00-5.00   sec  12.6 GBytes  21600 Mbits/sec    9             sender
[  7][RX-C]   0.00-5.00   sec  12.6 GBytes  21592 Mbits/sec                  receiver
";
        let rates = receiver_rates(text);
        assert_eq!(rates.len(), 2);
        assert!((rates[0] - 1393.75).abs() < 1e-9, "{rates:?}");
        assert!((rates[1] - 2699.0).abs() < 1e-9, "{rates:?}");
    }

    #[test]
    fn ignores_sender_lines_and_other_units() {
        let text = "[  5]   0.00-5.00   sec  18.3 GBytes  31.5 Gbits/sec    1             sender\n\
                    [  5]   0.00-5.00   sec  18.3 GBytes  31.5 Gbits/sec                  receiver\n";
        assert!(receiver_rates(text).is_empty());
    }
}
