//! `wsproto serve`: an echo or broadcast server with a test page on `/`, on any runtime.
//!
//! stdout starts with exactly two lines, `listening on ws://HOST:PORT/` and
//! `test page: http://HOST:PORT/` (scripts and tests read the first); with a certificate
//! ([`certificate`]) they say `wss://` and `https://`, and stderr says which certificate is
//! served. With `-v` each connection, close and refused handshake is logged on stderr
//! ([`log`]). Ctrl-C or SIGTERM stops accepting, closes every connection with 1001 and exits
//! once they are gone (at most 5 s).

mod certificate;
mod config;
mod hub;
mod log;
mod trace;

use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use futures_channel::mpsc::TryRecvError;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use wsproto_async::{ServerConfig, Transport, WebSocket};
use wsproto_core::{CloseCode, Event};

use crate::args::{Certificate, Mode, Runtime, ServeArgs};
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio};
use crate::signal::on_stop;
use certificate::Presented;
use config::server_config;
use hub::Hub;
use log::{Log, Outcome};

/// How long graceful shutdown waits for connections to finish their close.
const GRACE: Duration = Duration::from_secs(5);

pub(crate) fn run(args: &ServeArgs) -> Result<(), String> {
    let stop = on_stop();
    let log = Log::new(args.verbose, stop.flag.clone());
    if args.trace {
        trace::install();
    }
    let mut config = match server_config(args, &log) {
        Ok(config) => config,
        Err(message) => crate::usage_error(&message),
    };
    if let Some(source) = &args.tls {
        let presented = match Presented::new(source, &args.bind) {
            Ok(presented) => presented,
            // A file the flags name is the user's to fix; making a certificate cannot fail
            // for anything they typed.
            Err(message) if matches!(source, Certificate::SelfSigned) => crate::fatal(&message),
            Err(message) => crate::usage_error(&message),
        };
        presented.describe();
        config = config.tls(presented.tls);
    }
    match args.runtime {
        Runtime::Tokio => Tokio::block_on(serve_async::<Tokio>(args, config, stop, log)),
        Runtime::Smol => Smol::block_on(serve_async::<Smol>(args, config, stop, log)),
        Runtime::AsyncStd => AsyncStd::block_on(serve_async::<AsyncStd>(args, config, stop, log)),
        Runtime::Blocking => serve_blocking(args, config, &stop, &log),
    }
}

/// Prints the two address lines (the page is on the same host and port, over http, or
/// https when the server speaks wss).
fn announce(url: &str) {
    println!("listening on {url}");
    let page = match url.strip_prefix("wss://") {
        Some(rest) => format!("https://{rest}"),
        None => format!("http://{}", url.strip_prefix("ws://").unwrap_or(url)),
    };
    println!("test page: {page}");
}

async fn serve_async<R: AsyncRt>(
    args: &ServeArgs,
    config: ServerConfig,
    stop: crate::signal::Stop,
    log: Log,
) -> Result<(), String> {
    let mut server = wsproto_async::Server::<R>::bind_with(args.bind.as_str(), config)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    announce(&server.url());
    let hub = Hub::default();
    let mut stop_future = stop.future;
    loop {
        let accepted = {
            let accept = std::pin::pin!(server.accept());
            match select(accept, &mut stop_future).await {
                Either::Left((accepted, _)) => accepted,
                Either::Right(_) => break,
            }
        };
        match accepted {
            Ok(ws) => {
                if let Some(target) = args.forward.clone() {
                    R::spawn(crate::tunnel::forward::<R, _>(ws, target));
                    continue;
                }
                let (mode, hub, log) = (args.mode, hub.clone(), log.clone());
                R::spawn(async move { serve_connection(ws, mode, hub, log).await });
            }
            Err(error) => return Err(format!("accept failed: {error}")),
        }
    }
    eprintln!("shutting down: closing connections with 1001");
    let left = server.shutdown(GRACE).await;
    if left > 0 {
        eprintln!("{left} connection(s) did not finish closing in {GRACE:?}");
    }
    Ok(())
}

async fn serve_connection<T: Transport + wsproto_async::SocketAddrs>(
    mut ws: WebSocket<T>,
    mode: Mode,
    hub: Hub,
    log: Log,
) {
    let peer = ws.peer_addr().ok();
    log.connected(peer, ws.handshake(), ws.connection().has_extension());
    let mut outcome = Outcome::default();
    match mode {
        Mode::Echo => {
            // After an error the next recv flushes the queued Close and ends the loop.
            while let Some(received) = ws.recv().await {
                match received {
                    Ok(message) => {
                        if let Err(e) = ws.feed(message).await {
                            outcome.error.get_or_insert(e);
                            break;
                        }
                    }
                    Err(e) => drop(outcome.error.get_or_insert(e)),
                }
            }
        }
        Mode::Broadcast => {
            let (id, mut inbox) = hub.join();
            loop {
                let step = {
                    let recv = std::pin::pin!(ws.recv());
                    match select(recv, inbox.next()).await {
                        Either::Left((received, _)) => Either::Left(received),
                        Either::Right((queued, _)) => Either::Right(queued),
                    }
                };
                match step {
                    Either::Left(Some(Ok(message))) => hub.publish(&message),
                    Either::Left(Some(Err(e))) => drop(outcome.error.get_or_insert(e)),
                    Either::Left(None) => break,
                    Either::Right(Some(message)) => {
                        if let Err(e) = ws.feed(message).await {
                            outcome.error.get_or_insert(e);
                            break;
                        }
                    }
                    Either::Right(None) => {
                        // Dropped from the hub for falling behind.
                        outcome.too_slow = true;
                        let _ = ws
                            .close(CloseCode::TRY_AGAIN_LATER, "too slow for broadcast")
                            .await;
                        break;
                    }
                }
            }
            hub.leave(id);
        }
    }
    log.closed(peer, ws.close_sent(), ws.close_received(), &outcome);
}

fn serve_blocking(
    args: &ServeArgs,
    config: ServerConfig,
    stop: &crate::signal::Stop,
    log: &Log,
) -> Result<(), String> {
    let server = wsproto_blocking::Server::bind_with(args.bind.as_str(), config)
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    announce(&server.url());
    let hub = Hub::default();
    let mut workers = Vec::new();
    while !stop.flag.load(Ordering::SeqCst) {
        match server.accept_timeout(Duration::from_millis(100)) {
            Ok(Some(ws)) => {
                let (mode, hub, log) = (args.mode, hub.clone(), log.clone());
                workers.push(std::thread::spawn(move || {
                    serve_blocking_connection(ws, mode, &hub, &log);
                }));
                workers.retain(|w| !w.is_finished());
            }
            Ok(None) => {}
            Err(error) => return Err(format!("accept failed: {error}")),
        }
    }
    eprintln!("shutting down: closing connections with 1001");
    let left = server.shutdown(GRACE);
    if left > 0 {
        eprintln!("{left} connection(s) did not finish closing in {GRACE:?}");
    }
    Ok(())
}

fn serve_blocking_connection(
    mut ws: wsproto_blocking::TcpWebSocket,
    mode: Mode,
    hub: &Hub,
    log: &Log,
) {
    let peer = ws.peer_addr().ok();
    log.connected(peer, ws.handshake(), ws.connection().has_extension());
    let mut outcome = Outcome::default();
    match mode {
        Mode::Echo => {
            while let Some(received) = ws.recv() {
                match received {
                    Ok(message) => {
                        if let Err(e) = ws.feed(message) {
                            outcome.error.get_or_insert(e);
                            break;
                        }
                    }
                    Err(e) => drop(outcome.error.get_or_insert(e)),
                }
            }
        }
        Mode::Broadcast => {
            let (id, mut inbox) = hub.join();
            'session: loop {
                // Forward what others published, then wait briefly for our peer.
                loop {
                    match inbox.try_recv() {
                        Ok(message) => {
                            if let Err(e) = ws.feed(message) {
                                outcome.error.get_or_insert(e);
                                break 'session;
                            }
                        }
                        Err(TryRecvError::Closed) => {
                            outcome.too_slow = true;
                            let _ = ws.close(CloseCode::TRY_AGAIN_LATER, "too slow for broadcast");
                            break 'session;
                        }
                        Err(TryRecvError::Empty) => break,
                    }
                }
                match ws.poll_next_event(Duration::from_millis(20)) {
                    Poll::Ready(Some(Ok(Event::Message(message)))) => hub.publish(&message),
                    Poll::Ready(Some(Err(e))) => drop(outcome.error.get_or_insert(e)),
                    Poll::Ready(Some(_)) | Poll::Pending => {}
                    Poll::Ready(None) => break,
                }
            }
            hub.leave(id);
        }
    }
    log.closed(peer, ws.close_sent(), ws.close_received(), &outcome);
}
