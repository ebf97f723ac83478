//! Memory per idle connection: the server's RSS growth after N connections each did the
//! handshake and one 16-byte echo, then went quiet (all still open).

use std::io;
use std::rc::Rc;
use std::time::Duration;

use crate::args::Args;
use crate::load::{EchoParser, Frames, connect};
use crate::matrix::{have_taskset, start_server};
use crate::proc;
use crate::server::IMPLS;

/// Connections being set up at once.
const CONCURRENCY: usize = 200;

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let names: Vec<String> = match args.req("impl")? {
        "all" => IMPLS.iter().map(|s| (*s).to_string()).collect(),
        list => list.split(',').map(|s| s.trim().to_string()).collect(),
    };
    let conns: usize = args.get_or("conns", 10_000)?;
    let settle: f64 = args.get_or("settle", 2.0)?;
    proc::ensure_nofile(conns)?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let cpu = have_taskset().then_some(0);
    println!("| impl | connections | server RSS before | after | per idle connection | threads |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for name in names {
        let server = start_server(&exe, &name, cpu)?;
        std::thread::sleep(Duration::from_millis(300));
        let before = proc::rss_bytes(server.pid())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let result = runtime.block_on(tokio::task::LocalSet::new().run_until(async {
            let streams = open_idle(&server.url, conns).await?;
            tokio::time::sleep(Duration::from_secs_f64(settle)).await;
            let after = proc::rss_bytes(server.pid())?;
            let threads = proc::threads(server.pid());
            drop(streams);
            Ok::<_, String>((after, threads))
        }));
        match result {
            Ok((after, threads)) => println!(
                "| {name} | {conns} | {:.1} MiB | {:.1} MiB | {:.1} KiB | {} |",
                before as f64 / 1048576.0,
                after as f64 / 1048576.0,
                (after as f64 - before as f64) / conns as f64 / 1024.0,
                threads.map_or("?".into(), |t| t.to_string()),
            ),
            Err(error) => println!("| {name} | {conns} | failed: {error} | | | |"),
        }
        drop(server);
        // Sockets in TIME_WAIT are the client's; give the kernel a moment anyway.
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

/// Opens `count` connections, each exchanging one verified 16-byte message; returns them
/// open (plain TCP, or TLS for `wss://`).
async fn open_idle(url: &str, count: usize) -> Result<Vec<Box<dyn std::any::Any>>, String> {
    let frames = Rc::new(Frames::new(16, 1));
    let mut streams = Vec::with_capacity(count);
    while streams.len() < count {
        let batch = CONCURRENCY.min(count - streams.len());
        let tasks: Vec<_> = (0..batch)
            .map(|_| {
                let (url, frames) = (url.to_string(), Rc::clone(&frames));
                tokio::task::spawn_local(async move { one_echo(&url, &frames).await })
            })
            .collect();
        for task in tasks {
            streams.push(task.await.map_err(|e| e.to_string())??);
        }
    }
    Ok(streams)
}

async fn one_echo(url: &str, frames: &Frames) -> Result<Box<dyn std::any::Any>, String> {
    if url.starts_with("wss://") {
        let (stream, buf) = crate::wss::connect(url).await?;
        return Ok(Box::new(echo_once(stream, buf, frames).await?));
    }
    let (stream, buf) = connect(url).await?;
    Ok(Box::new(echo_once(stream, buf, frames).await?))
}

/// Sends message 0 on `stream` and waits for its verified echo.
async fn echo_once<S>(mut stream: S, mut buf: Vec<u8>, frames: &Frames) -> Result<S, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(frames.frame(0))
        .await
        .map_err(|e| format!("write: {e}"))?;
    stream.flush().await.map_err(|e| format!("flush: {e}"))?;
    let mut parser = EchoParser::default();
    let mut chunk = [0u8; 256];
    loop {
        let (used, done) = parser.feed(&buf, frames)?;
        buf.drain(..used);
        if done > 0 {
            return Ok(stream);
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e: io::Error| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before the echo".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
