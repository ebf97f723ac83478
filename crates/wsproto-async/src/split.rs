//! Splitting a [`WebSocket`] into a receiving and a sending half for two tasks.
//!
//! Both halves share the driver behind a mutex that is only held inside poll calls, never
//! across an `await`. The receiving half keeps answering pings and echoing the Close even
//! if the sending half is idle; both halves are woken when the transport becomes writable,
//! so neither can steal the other's wakeup.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use wsproto_core::{CloseCode, CloseFrame, Event, Message, MessageKind, State};

use crate::driver::{Driver, Half};
use crate::runtime::Transport;
use crate::websocket::{WebSocket, poll_recv_message};
use wsproto_setup::{Error, Result};

type Shared<T> = Arc<Mutex<Driver<T>>>;

/// The receiving half of a split [`WebSocket`].
pub struct ReadHalf<T: Transport> {
    shared: Shared<T>,
}

/// The sending half of a split [`WebSocket`].
pub struct WriteHalf<T: Transport> {
    shared: Shared<T>,
}

pub(crate) fn split<T: Transport>(ws: WebSocket<T>) -> (ReadHalf<T>, WriteHalf<T>) {
    let mut driver = ws.driver;
    driver.enable_split_wakers();
    let shared = Arc::new(Mutex::new(driver));
    (
        ReadHalf {
            shared: Arc::clone(&shared),
        },
        WriteHalf { shared },
    )
}

fn lock<T: Transport>(shared: &Shared<T>) -> MutexGuard<'_, Driver<T>> {
    // A panic in another half while it held the lock leaves the driver usable: the engine's
    // state is only changed through methods that cannot leave it half-updated.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T: Transport> ReadHalf<T> {
    /// The next whole data message; `None` once the connection is closed.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| poll_recv_message(&mut lock(&self.shared), cx)).await
    }

    /// The next event of any kind; `None` once the connection is closed.
    pub async fn next_event(&mut self) -> Option<Result<Event>> {
        poll_fn(|cx| lock(&self.shared).poll_event(cx, Half::Reader)).await
    }

    /// Open, closing or closed.
    #[must_use]
    pub fn state(&self) -> State {
        lock(&self.shared).conn.state()
    }

    /// The Close the peer sent (its code and reason), once it arrived.
    #[must_use]
    pub fn close_received(&self) -> Option<CloseFrame> {
        lock(&self.shared).conn.close_received().cloned()
    }

    /// Round-trip time measured by the latest answered ping.
    #[must_use]
    pub fn last_rtt(&self) -> Option<std::time::Duration> {
        lock(&self.shared).conn.last_rtt()
    }

    /// Whether `other` is the sending half split from the same connection.
    #[must_use]
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T: Transport> WriteHalf<T> {
    /// Queues `message` and writes everything queued (waits above the high-water mark).
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues `message` without writing it yet.
    pub async fn feed(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| lock(&self.shared).poll_send_ready(cx, Half::Writer)).await?;
        lock(&self.shared).conn.send(message).map_err(Error::Send)
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.send(Message::text(text)).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.send(Message::binary(data.to_vec())).await
    }

    /// Sends one piece of a message fragmented by the caller.
    pub async fn send_fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<()> {
        poll_fn(|cx| lock(&self.shared).poll_send_ready(cx, Half::Writer)).await?;
        lock(&self.shared).conn.send_fragment(kind, data, fin)?;
        self.flush().await
    }

    /// Sends a ping; its pong (with the round-trip time) reaches the receiving half.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        {
            let mut driver = lock(&self.shared);
            let now = driver.now();
            driver.conn.ping(payload, now)?;
        }
        self.flush().await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx, Half::Writer)).await
    }

    /// Sends a Close after everything queued, without waiting for the answer (unlike
    /// `WebSocket::close`): the receiving half completes the closing handshake and then ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        {
            let mut driver = lock(&self.shared);
            let now = driver.now();
            driver.conn.close(code, reason, now)?;
            driver.wake_reader();
        }
        self.flush().await
    }
}

impl<T: Transport> Stream for ReadHalf<T> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        poll_recv_message(&mut lock(&self.shared), cx)
    }
}

impl<T: Transport> Sink<Message> for WriteHalf<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        lock(&self.shared).poll_send_ready(cx, Half::Writer)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        lock(&self.shared).conn.send(message).map_err(Error::Send)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        lock(&self.shared).poll_flush(cx, Half::Writer)
    }

    /// Sends a Close with 1000 (normal closure) and writes it out.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut driver = lock(&self.shared);
        if driver.conn.state() == State::Open {
            let now = driver.now();
            driver.conn.close(CloseCode::NORMAL, "", now)?;
            driver.wake_reader();
        }
        driver.poll_flush(cx, Half::Writer)
    }
}
