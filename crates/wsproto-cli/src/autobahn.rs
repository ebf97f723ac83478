//! `wsproto autobahn-client`: the client testee for the Autobahn|Testsuite fuzzing server.
//!
//! Asks `/getCaseCount`, runs every case at `/runCase?case=N&agent=NAME` echoing each message
//! back unchanged (text as text, binary as binary), then calls `/updateReports?agent=NAME`.
//! A case that ends in a protocol error is what some cases test: it is reported and the run
//! goes on.

use wsproto_async::{ClientConfig, DeflateConfig};
use wsproto_core::{CloseCode, Limits, Message};

use crate::args::{AutobahnArgs, Runtime};
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio};

pub(crate) fn run(args: &AutobahnArgs) -> Result<(), String> {
    match args.runtime {
        Runtime::Tokio => Tokio::block_on(run_async::<Tokio>(args)),
        Runtime::Smol => Smol::block_on(run_async::<Smol>(args)),
        Runtime::AsyncStd => AsyncStd::block_on(run_async::<AsyncStd>(args)),
        Runtime::Blocking => run_blocking(args),
    }
}

/// Autobahn sends up to 16 MiB in one frame (case 9.1.6 and friends); sections 12 and 13
/// need permessage-deflate offered.
fn options(args: &AutobahnArgs) -> ClientConfig {
    ClientConfig::default()
        .limits(
            Limits::default()
                .max_message_size(64 << 20)
                .max_frame_size(64 << 20),
        )
        .deflate(args.deflate.then(DeflateConfig::default))
}

fn base(args: &AutobahnArgs) -> &str {
    args.url.trim_end_matches('/')
}

fn parse_count(message: Option<Message>) -> Result<u32, String> {
    let Some(Message::Text(text)) = message else {
        return Err("getCaseCount: no text reply".into());
    };
    text.as_str()
        .trim()
        .parse()
        .map_err(|_| format!("getCaseCount: {:?} is not a number", text.as_str()))
}

async fn run_async<R: AsyncRt>(args: &AutobahnArgs) -> Result<(), String> {
    let url = format!("{}/getCaseCount", base(args));
    let mut ws = wsproto_async::connect_with::<R>(&url, options(args))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let count = parse_count(ws.recv().await.and_then(Result::ok))?;
    let _ = ws.close(CloseCode::NORMAL, "").await;
    eprintln!("running {count} cases as agent {:?}", args.agent);
    for case in 1..=count {
        let url = format!("{}/runCase?case={case}&agent={}", base(args), args.agent);
        let mut ws = match wsproto_async::connect_with::<R>(&url, options(args)).await {
            Ok(ws) => ws,
            Err(error) => {
                eprintln!("case {case}: {error}");
                continue;
            }
        };
        while let Some(received) = ws.recv().await {
            match received {
                Ok(message) => {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
                Err(error) => eprintln!("case {case}: {error}"),
            }
        }
    }
    let url = format!("{}/updateReports?agent={}", base(args), args.agent);
    let mut ws = wsproto_async::connect_with::<R>(&url, options(args))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    while ws.recv().await.is_some() {}
    eprintln!("reports updated");
    Ok(())
}

fn run_blocking(args: &AutobahnArgs) -> Result<(), String> {
    let url = format!("{}/getCaseCount", base(args));
    let mut ws =
        wsproto_blocking::connect_with(&url, options(args)).map_err(|e| format!("{url}: {e}"))?;
    let count = parse_count(ws.recv().and_then(Result::ok))?;
    let _ = ws.close(CloseCode::NORMAL, "");
    eprintln!("running {count} cases as agent {:?}", args.agent);
    for case in 1..=count {
        let url = format!("{}/runCase?case={case}&agent={}", base(args), args.agent);
        let mut ws = match wsproto_blocking::connect_with(&url, options(args)) {
            Ok(ws) => ws,
            Err(error) => {
                eprintln!("case {case}: {error}");
                continue;
            }
        };
        while let Some(received) = ws.recv() {
            match received {
                Ok(message) => {
                    if ws.send(message).is_err() {
                        break;
                    }
                }
                Err(error) => eprintln!("case {case}: {error}"),
            }
        }
    }
    let url = format!("{}/updateReports?agent={}", base(args), args.agent);
    let mut ws =
        wsproto_blocking::connect_with(&url, options(args)).map_err(|e| format!("{url}: {e}"))?;
    while ws.recv().is_some() {}
    eprintln!("reports updated");
    Ok(())
}
