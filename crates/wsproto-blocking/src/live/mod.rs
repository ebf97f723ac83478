//! Blocking connections that live on their own: a thread owns the socket, answers pings,
//! runs keepalive and the dead-peer timeout, echoes the Close and honours a server's shutdown
//! whatever the application is doing; the application holds a cloneable [`Handle`] to send
//! and an [`Events`] receiver. A client can also reconnect by itself ([`connect_live`]).
//!
//! The queues, the handle's rules and the meaning of every step are the async adapters'
//! (`wsproto_setup::live`); this module waits on them by parking threads, and [`drive`] moves
//! the bytes.

mod drive;
mod wait;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wsproto_core::{Bytes, CloseCode, Message, MessageKind};
use wsproto_setup::live::Shared;
use wsproto_setup::{
    ClientConfig, Closed, HandshakeInfo, LiveConfig, LiveEvent, LiveState, Result, RetrySchedule,
};

use crate::transport::BlockingTransport;
use crate::websocket::WebSocket;
pub use wait::block_on;
pub(crate) use wait::block_on_until;

/// The sending side of a blocking live connection: cheap to clone, usable from any thread.
///
/// Sends go into a bounded queue that the connection's thread empties into the connection
/// (see [`LiveConfig`]); a send blocks while the queue is full. While a reconnecting client is
/// down, the queue holds what is sent until the next connection opens (delivered once, in
/// order). When the last handle is dropped, the thread sends everything queued, closes with
/// 1000 and ends: the peer sees a normal close, never 1006.
#[derive(Clone, Debug)]
pub struct Handle(wsproto_setup::Handle);

impl Handle {
    /// Queues `message`; blocks while the queue is full. Fails with `SendError::Closed` once
    /// the connection is closed for good, or closing at our request.
    pub fn send(&self, message: Message) -> Result<()> {
        block_on(self.0.send(message))
    }

    /// Queues a text message.
    pub fn send_text(&self, text: &str) -> Result<()> {
        block_on(self.0.send_text(text))
    }

    /// Queues a binary message.
    pub fn send_binary(&self, data: impl Into<Bytes>) -> Result<()> {
        block_on(self.0.send_binary(data))
    }

    /// Queues one piece of a message fragmented by the caller; the piece with `fin` ends it.
    pub fn send_fragment(&self, kind: MessageKind, data: Bytes, fin: bool) -> Result<()> {
        block_on(self.0.send_fragment(kind, data, fin))
    }

    /// Queues a ping; its pong arrives as [`LiveEvent::Pong`] and in
    /// [`last_rtt`](Self::last_rtt).
    pub fn ping(&self, payload: impl Into<Bytes>) -> Result<()> {
        block_on(self.0.ping(payload))
    }

    /// Queues a pong (for connections configured without automatic pongs).
    pub fn pong(&self, payload: impl Into<Bytes>) -> Result<()> {
        block_on(self.0.pong(payload))
    }

    /// Blocks until everything queued so far was written to the socket.
    pub fn flush(&self) -> Result<()> {
        block_on(self.0.flush())
    }

    /// Closes cleanly after everything queued and blocks until the closing handshake is over
    /// (up to the close timeout); returns how the connection ended. A reconnecting client
    /// stops reconnecting.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<Closed> {
        block_on(self.0.close(code, reason))
    }

    /// Blocks until the connection is over for good and returns how it ended.
    #[must_use]
    pub fn closed(&self) -> Closed {
        block_on(self.0.closed())
    }

    /// Where the connection is in its life.
    #[must_use]
    pub fn state(&self) -> LiveState {
        self.0.state()
    }

    /// Whether messages flow both ways right now.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.0.is_open()
    }

    /// The close code that ended the connection, once it is closed for good.
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        self.0.close_code()
    }

    /// The close reason that ended the connection, once it is closed for good.
    #[must_use]
    pub fn close_reason(&self) -> Option<String> {
        self.0.close_reason()
    }

    /// The round-trip time of the latest answered ping.
    #[must_use]
    pub fn last_rtt(&self) -> Option<Duration> {
        self.0.last_rtt()
    }

    /// Bytes sent but not yet written (queued and in the connection's write buffer).
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.0.buffered_amount()
    }

    /// What the latest opening handshake settled; `None` before the first connection opened.
    #[must_use]
    pub fn handshake(&self) -> Option<HandshakeInfo> {
        self.0.handshake()
    }

    /// The subprotocol the latest opening handshake agreed on.
    #[must_use]
    pub fn subprotocol(&self) -> Option<String> {
        self.0.subprotocol()
    }

    /// The runtime-free handle underneath, whose methods are `async` (for code written once
    /// for the async adapters and this one: any executor, even a thread-parking one, runs
    /// them).
    #[must_use]
    pub fn into_inner(self) -> wsproto_setup::Handle {
        self.0
    }
}

/// The receiving side of a blocking live connection: every message, state change and error,
/// in order; also an [`Iterator`]. While its queue is full the connection stops reading
/// (pings and pongs are dropped instead); dropping it is fine (the thread keeps answering
/// and drops what arrives).
#[derive(Debug)]
pub struct Events(wsproto_setup::Events);

impl Events {
    /// The next event, blocking until one arrives; `None` once the connection is over for
    /// good and everything was received.
    pub fn recv(&mut self) -> Option<LiveEvent> {
        block_on(self.0.recv())
    }

    /// The next event, waiting at most `timeout`: `Err(())` if none came in time.
    #[allow(clippy::result_unit_err)]
    pub fn recv_timeout(
        &mut self,
        timeout: Duration,
    ) -> std::result::Result<Option<LiveEvent>, ()> {
        block_on_until(Instant::now() + timeout, self.0.recv()).ok_or(())
    }

    /// The next whole message, skipping every other event; `None` once the connection is
    /// over for good.
    pub fn recv_message(&mut self) -> Option<Message> {
        block_on(self.0.recv_message())
    }

    /// The runtime-free receiver underneath, whose `recv` is `async` (see
    /// [`Handle::into_inner`]).
    #[must_use]
    pub fn into_inner(self) -> wsproto_setup::Events {
        self.0
    }
}

impl Iterator for Events {
    type Item = LiveEvent;

    fn next(&mut self) -> Option<LiveEvent> {
        self.recv()
    }
}

impl<S: BlockingTransport + 'static> WebSocket<S> {
    /// Hands the connection to a thread of its own and returns the sending [`Handle`] and
    /// the [`Events`] receiver (see [`LiveConfig`] for the defaults).
    ///
    /// ```no_run
    /// # fn run() -> wsproto_blocking::Result<()> {
    /// use wsproto_blocking::LiveEvent;
    ///
    /// let ws = wsproto_blocking::connect("ws://127.0.0.1:9001/")?;
    /// let (handle, events) = ws.spawn();
    /// handle.send_text("hello")?;
    /// for event in events {
    ///     if let LiveEvent::Message(message) = event {
    ///         println!("{message:?}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn spawn(self) -> (Handle, Events) {
        self.spawn_with(&LiveConfig::default())
    }

    /// [`spawn`](Self::spawn) with queue sizes of your choice.
    #[must_use]
    pub fn spawn_with(self, config: &LiveConfig) -> (Handle, Events) {
        let shared = Shared::with_config(config, LiveState::Open);
        shared.lock().info = Some(self.handshake().clone());
        let task = Arc::clone(&shared);
        let mut ws = self;
        std::thread::spawn(move || {
            let end = drive::drive(&mut ws, &task);
            task.lock().finish(end.closed);
        });
        parts(shared)
    }
}

fn parts(shared: Arc<Shared>) -> (Handle, Events) {
    (
        Handle(wsproto_setup::Handle::new(Arc::clone(&shared))),
        Events(wsproto_setup::Events::new(shared)),
    )
}

/// A client that connects on a thread of its own and, with [`LiveConfig::reconnect`], again
/// after failures; the same states, events, queue and rules as the async adapters'
/// `connect_live`. `make_config` builds the options for each attempt.
#[must_use]
pub fn connect_live(
    url: &str,
    make_config: impl FnMut() -> ClientConfig + Send + 'static,
    config: &LiveConfig,
) -> (Handle, Events) {
    let shared = Shared::with_config(config, LiveState::Connecting { attempt: 0 });
    let task = Arc::clone(&shared);
    let url = url.to_owned();
    let policy = config.reconnect_policy().cloned();
    std::thread::spawn(move || reconnecting(&url, make_config, policy, &task));
    parts(shared)
}

fn reconnecting(
    url: &str,
    mut make_config: impl FnMut() -> ClientConfig,
    policy: Option<wsproto_setup::ReconnectPolicy>,
    shared: &Shared,
) {
    let mut schedule = RetrySchedule::new(policy);
    loop {
        let attempt = schedule.attempt();
        shared.lock().set_state(LiveState::Connecting { attempt });
        // A blocking connect cannot be interrupted; it is bounded by the handshake timeout.
        // If the application gave up meanwhile, a connection that opened is still closed
        // properly (with 1000) by the drive below.
        let opened = crate::client::connect_with(url, make_config());
        let end = match opened {
            Ok(mut ws) => {
                schedule.opened(shared, ws.handshake().clone());
                drive::drive(&mut ws, shared)
            }
            Err(error) => RetrySchedule::failed_to_open(shared, error),
        };
        let Some(delay) = schedule.next(shared, end) else {
            return;
        };
        wait::until_abandoned(shared, Instant::now() + delay);
        if shared.lock().abandoned() {
            return RetrySchedule::abandoned(shared);
        }
    }
}
