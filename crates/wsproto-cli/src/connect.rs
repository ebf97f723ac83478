//! `wsproto connect URL`: stdin lines become messages, received messages become stdout lines.
//!
//! End of stdin sends a Close (1000) and keeps printing until the server answers, so echoes of
//! the last lines are not lost. Exits non-zero with a message on a handshake or protocol
//! failure.

use std::io::{BufRead, Write};
use std::task::Poll;
use std::time::Duration;

use futures_channel::mpsc::{self, TryRecvError};
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use wsproto_async::{ClientConfig, DeflateConfig, Transport, WebSocket};
use wsproto_core::{CloseCode, Event, Message};

use crate::args::{ConnectArgs, Runtime};
use crate::rt::{AsyncRt, AsyncStd, Smol, Tokio};

pub(crate) fn run(args: &ConnectArgs) -> Result<(), String> {
    let mut options = ClientConfig::default().deflate(args.deflate.then(DeflateConfig::default));
    for protocol in &args.subprotocols {
        options = options.subprotocol(protocol);
    }
    for (name, value) in &args.headers {
        options = options.header(name, value);
    }
    let lines = stdin_lines();
    match args.runtime {
        Runtime::Tokio => Tokio::block_on(session::<Tokio>(args, options, lines)),
        Runtime::Smol => Smol::block_on(session::<Smol>(args, options, lines)),
        Runtime::AsyncStd => AsyncStd::block_on(session::<AsyncStd>(args, options, lines)),
        Runtime::Blocking => blocking_session(args, options, lines),
    }
}

/// Reads stdin on its own thread; the channel ends at end of input.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.unbounded_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn to_message(line: String, binary: bool) -> Message {
    if binary {
        Message::binary(line.into_bytes())
    } else {
        Message::text(line)
    }
}

/// Prints a received message on its own line.
fn print(message: &Message) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(message.payload());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Reports how the server closed, on stderr.
fn report_close(frame: Option<&wsproto_core::CloseFrame>) {
    if let Some(frame) = frame {
        eprintln!("closed by server: {} {}", frame.code(), frame.reason());
    }
}

async fn session<R: AsyncRt>(
    args: &ConnectArgs,
    options: ClientConfig,
    mut lines: mpsc::UnboundedReceiver<String>,
) -> Result<(), String> {
    let mut ws = R::connect(&args.url, options)
        .await
        .map_err(|e| format!("{}: {e}", args.url))?;
    if let Some(protocol) = ws.subprotocol() {
        eprintln!("subprotocol: {protocol}");
    }
    let mut input_open = true;
    loop {
        let step = {
            let event = std::pin::pin!(ws.next_event());
            if input_open {
                match select(event, lines.next()).await {
                    Either::Left((event, _)) => Either::Left(event),
                    Either::Right((line, _)) => Either::Right(line),
                }
            } else {
                Either::Left(event.await)
            }
        };
        match step {
            Either::Left(Some(Ok(Event::Message(message)))) => print(&message),
            Either::Left(Some(Ok(_))) => {}
            Either::Left(Some(Err(error))) => return Err(format!("connection failed: {error}")),
            Either::Left(None) => break,
            Either::Right(Some(line)) => {
                ws.send(to_message(line, args.binary))
                    .await
                    .map_err(|e| format!("send failed: {e}"))?;
            }
            Either::Right(None) => {
                input_open = false;
                finish_input(&mut ws).await?;
            }
        }
    }
    report_close(ws.close_received());
    Ok(())
}

/// End of stdin: send the Close and keep reading until the server's answer ends the stream.
async fn finish_input<T: Transport>(ws: &mut WebSocket<T>) -> Result<(), String> {
    match ws.start_close(CloseCode::NORMAL, "").await {
        Ok(()) | Err(wsproto_async::Error::Send(_)) => Ok(()),
        Err(error) => Err(format!("close failed: {error}")),
    }
}

fn blocking_session(
    args: &ConnectArgs,
    options: ClientConfig,
    mut lines: mpsc::UnboundedReceiver<String>,
) -> Result<(), String> {
    let mut ws = wsproto_blocking::connect_with(&args.url, options)
        .map_err(|e| format!("{}: {e}", args.url))?;
    if let Some(protocol) = ws.subprotocol() {
        eprintln!("subprotocol: {protocol}");
    }
    let mut input_open = true;
    loop {
        while input_open {
            match lines.try_recv() {
                Ok(line) => ws
                    .send(to_message(line, args.binary))
                    .map_err(|e| format!("send failed: {e}"))?,
                Err(TryRecvError::Closed) => {
                    input_open = false;
                    match ws.start_close(CloseCode::NORMAL, "") {
                        Ok(()) | Err(wsproto_async::Error::Send(_)) => {}
                        Err(error) => return Err(format!("close failed: {error}")),
                    }
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        match ws.poll_next_event(Duration::from_millis(20)) {
            Poll::Ready(Some(Ok(Event::Message(message)))) => print(&message),
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
            Poll::Ready(Some(Err(error))) => return Err(format!("connection failed: {error}")),
            Poll::Ready(None) => break,
        }
    }
    report_close(ws.close_received());
    Ok(())
}
