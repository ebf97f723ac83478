//! `wsproto serve`: an echo or broadcast server with a test page on `/`, on any runtime.
//!
//! The first stdout line is exactly `listening on ws://HOST:PORT/`. Ctrl-C or SIGTERM stops
//! accepting, closes every connection with 1001 and exits once they are gone (at most 5 s).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures_channel::mpsc::{self, TryRecvError};
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use wsproto_async::{DeflateConfig, HttpResponse, ServerConfig, Transport, WebSocket};
use wsproto_core::{CloseCode, Event, Limits, Message};

use crate::args::{Mode, Runtime, ServeArgs};
use crate::page::PAGE;
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio};
use crate::signal::on_stop;

/// How long graceful shutdown waits for connections to finish their close.
const GRACE: Duration = Duration::from_secs(5);
/// Messages a broadcast client may fall behind before it is disconnected.
const BROADCAST_BACKLOG: usize = 1024;

pub(crate) fn run(args: &ServeArgs) -> Result<(), String> {
    let config = server_config(args.max_message).deflate(args.deflate.then(DeflateConfig::default));
    match args.runtime {
        Runtime::Tokio => Tokio::block_on(serve_async::<Tokio>(args, config)),
        Runtime::Smol => Smol::block_on(serve_async::<Smol>(args, config)),
        Runtime::AsyncStd => AsyncStd::block_on(serve_async::<AsyncStd>(args, config)),
        Runtime::Blocking => serve_blocking(args, config),
    }
}

/// Limits sized by `--max-message` (a frame may be as large as a message) and the page.
fn server_config(max_message: usize) -> ServerConfig {
    let limits = Limits::default()
        .max_message_size(max_message)
        .max_frame_size(max_message);
    ServerConfig::default()
        .limits(limits)
        .server_name("wsproto")
        .plain_http(|path| {
            let path = path.split('?').next().unwrap_or(path);
            (path == "/" || path == "/index.html").then(|| {
                HttpResponse::new(200)
                    .header("Content-Type", "text/html; charset=utf-8")
                    .body(PAGE)
            })
        })
}

/// The clients of a broadcast server: a bounded queue each.
#[derive(Clone, Default)]
struct Hub {
    state: Arc<Mutex<HubState>>,
}

#[derive(Default)]
struct HubState {
    next_id: u64,
    clients: Vec<(u64, mpsc::Sender<Message>)>,
}

impl Hub {
    fn state(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn join(&self) -> (u64, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(BROADCAST_BACKLOG);
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        state.clients.push((id, tx));
        (id, rx)
    }

    fn leave(&self, id: u64) {
        self.state().clients.retain(|(i, _)| *i != id);
    }

    /// Queues `message` for everyone; a client whose queue is full is dropped from the hub
    /// (its connection then closes with 1013, try again later).
    fn publish(&self, message: &Message) {
        self.state()
            .clients
            .retain_mut(|(_, tx)| tx.try_send(message.clone()).is_ok());
    }
}

async fn serve_async<R: AsyncRt>(args: &ServeArgs, config: ServerConfig) -> Result<(), String> {
    let stop = on_stop();
    let mut server = wsproto_async::Server::<R>::bind_with(args.bind.as_str(), config)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    println!("listening on {}", server.url());
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
                let (mode, hub) = (args.mode, hub.clone());
                R::spawn(async move { serve_connection(ws, mode, hub).await });
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

async fn serve_connection<T: Transport>(mut ws: WebSocket<T>, mode: Mode, hub: Hub) {
    match mode {
        Mode::Echo => {
            // After an error the next recv flushes the queued Close and ends the loop.
            while let Some(received) = ws.recv().await {
                if let Ok(message) = received
                    && ws.feed(message).await.is_err()
                {
                    break;
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
                    Either::Left(Some(Err(_))) => {}
                    Either::Left(None) => break,
                    Either::Right(Some(message)) => {
                        if ws.feed(message).await.is_err() {
                            break;
                        }
                    }
                    Either::Right(None) => {
                        // Dropped from the hub for falling behind.
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
}

fn serve_blocking(args: &ServeArgs, config: ServerConfig) -> Result<(), String> {
    let stop = on_stop();
    let server = wsproto_blocking::Server::bind_with(args.bind.as_str(), config)
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    println!("listening on {}", server.url());
    let shutdown = wsproto_async::ShutdownSignal::new();
    let hub = Hub::default();
    let mut workers = Vec::new();
    while !stop.flag.load(Ordering::SeqCst) {
        match server.accept_timeout(Duration::from_millis(100)) {
            Ok(Some(mut ws)) => {
                let watch = shutdown.watch();
                let (mode, hub) = (args.mode, hub.clone());
                workers.push(std::thread::spawn(move || {
                    ws.attach_shutdown(watch);
                    serve_blocking_connection(ws, mode, &hub);
                }));
                workers.retain(|w| !w.is_finished());
            }
            Ok(None) => {}
            Err(error) => return Err(format!("accept failed: {error}")),
        }
    }
    eprintln!("shutting down: closing connections with 1001");
    server.shutdown();
    shutdown.trigger();
    let deadline = std::time::Instant::now() + GRACE;
    while shutdown.live() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn serve_blocking_connection(mut ws: wsproto_blocking::TcpWebSocket, mode: Mode, hub: &Hub) {
    match mode {
        Mode::Echo => {
            while let Some(received) = ws.recv() {
                if let Ok(message) = received
                    && ws.feed(message).is_err()
                {
                    break;
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
                            if ws.feed(message).is_err() {
                                break 'session;
                            }
                        }
                        Err(TryRecvError::Closed) => {
                            let _ = ws.close(CloseCode::TRY_AGAIN_LATER, "too slow for broadcast");
                            break 'session;
                        }
                        Err(TryRecvError::Empty) => break,
                    }
                }
                match ws.poll_next_event(Duration::from_millis(20)) {
                    Poll::Ready(Some(Ok(Event::Message(message)))) => hub.publish(&message),
                    Poll::Ready(Some(_)) | Poll::Pending => {}
                    Poll::Ready(None) => break,
                }
            }
            hub.leave(id);
        }
    }
}
