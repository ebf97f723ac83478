//! What a live connection's background task shares with the application: the [`Handle`]
//! that sends and closes, the [`Events`] receiver, and the bounded queues between them —
//! written once for every adapter. The async adapters run the task side on a runtime task;
//! the blocking adapter on a thread, waiting on the same futures with a thread-parking
//! waker.
//!
//! One mutex guards both queues and the reported status; it is held only for a push, a pop
//! or a read of the status, never across an `await` or a transport call.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Closed, LiveEvent, LiveState};
use crate::{Error, HandshakeInfo, Result};
use wsproto_core::{
    Bytes, CloseCode, MAX_CONTROL_PAYLOAD, MAX_REASON_LEN, Message, MessageKind, SendError,
};

/// What the application asked the task to send, in order.
#[derive(Debug)]
pub enum Command {
    /// A whole message.
    Message(Message),
    /// One piece of a message fragmented by the application.
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The piece's bytes.
        data: Bytes,
        /// Whether it ends the message.
        fin: bool,
    },
    /// A ping with this payload.
    Ping(Bytes),
    /// A pong with this payload.
    Pong(Bytes),
    /// A Close with this code and reason.
    Close(CloseCode, String),
}

impl Command {
    /// The payload bytes it carries (what `buffered_amount` counts).
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Message(message) => message.payload().len(),
            Self::Fragment { data, .. } | Self::Ping(data) | Self::Pong(data) => data.len(),
            Self::Close(_, reason) => reason.len(),
        }
    }
}

/// The state behind a [`Shared`]'s lock: the queues, the reported status and the wakers.
pub struct SharedState {
    outbox: VecDeque<Command>,
    outbox_bytes: usize,
    queue_limit: usize,
    events: VecDeque<LiveEvent>,
    events_limit: usize,
    /// Live `Handle`s; the task closes with 1000 when it drops to zero.
    handles: usize,
    receiver_alive: bool,
    task: Option<Waker>,
    /// Handles waiting for room in the outbox, a flush or the end.
    waiters: Vec<Waker>,
    receiver: Option<Waker>,
    /// Where the connection is in its life (reported through [`set_state`](Self::set_state)).
    pub state: LiveState,
    /// What the latest opening handshake settled.
    pub info: Option<HandshakeInfo>,
    /// The round-trip time of the latest answered ping.
    pub last_rtt: Option<Duration>,
    /// Bytes the engine holds unwritten (updated by the task).
    pub engine_buffered: usize,
    /// Commands the task took from the queue and has not handed to the engine yet, and
    /// their payload bytes (updated by the task).
    in_flight: (usize, usize),
    /// The application closed (or dropped every handle): no reconnect after this.
    pub close_requested: bool,
    /// The task ended; nothing more will be sent or reported.
    finished: bool,
}

/// What a background task and the application's [`Handle`]s and [`Events`] share.
pub struct Shared {
    inner: Mutex<SharedState>,
}

impl Shared {
    /// Shared state starting in `state`, which is the first event reported.
    pub fn new(queue_limit: usize, events_limit: usize, state: LiveState) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(SharedState {
                outbox: VecDeque::new(),
                outbox_bytes: 0,
                queue_limit: queue_limit.max(1),
                // The first state is reported like every later one.
                events: VecDeque::from([LiveEvent::State(state.clone())]),
                events_limit: events_limit.max(1),
                handles: 1,
                receiver_alive: true,
                task: None,
                waiters: Vec::new(),
                receiver: None,
                state,
                info: None,
                last_rtt: None,
                engine_buffered: 0,
                in_flight: (0, 0),
                close_requested: false,
                finished: false,
            }),
        })
    }

    /// Shared state for a connection configured by `config`, starting in `state`.
    pub fn with_config(config: &super::LiveConfig, state: LiveState) -> Arc<Self> {
        Self::new(config.queue, config.events, state)
    }

    /// The shared state, locked (briefly: never across an `await` or a transport call).
    pub fn lock(&self) -> MutexGuard<'_, SharedState> {
        // Nothing here can be left half-updated by a panic elsewhere.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SharedState {
    /// The task's side: remembers its waker (for pushes and dropped handles).
    pub fn register_task(&mut self, waker: &Waker) {
        match &self.task {
            Some(existing) if existing.will_wake(waker) => {}
            _ => self.task = Some(waker.clone()),
        }
    }

    fn wake_task(&mut self) {
        if let Some(waker) = self.task.take() {
            waker.wake();
        }
    }

    /// Wakes the handles waiting for room, a flush or the end.
    pub fn wake_waiters(&mut self) {
        // Taken whole, so an idle connection keeps no list.
        for waker in std::mem::take(&mut self.waiters) {
            waker.wake();
        }
    }

    fn wait(&mut self, waker: &Waker) {
        if !self.waiters.iter().any(|w| w.will_wake(waker)) {
            self.waiters.push(waker.clone());
        }
    }

    /// Whether commands wait.
    pub fn has_commands(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Moves every queued command to the end of the task's own queue (one lock for a
    /// batch); they count as in flight until [`set_in_flight`](Self::set_in_flight) says
    /// otherwise. Wakes senders waiting for room.
    /// Returns the payload bytes moved.
    pub fn take_commands(&mut self, pending: &mut VecDeque<Command>) -> usize {
        if self.outbox.is_empty() {
            return 0;
        }
        let bytes = std::mem::take(&mut self.outbox_bytes);
        self.in_flight.0 += self.outbox.len();
        self.in_flight.1 += bytes;
        if pending.is_empty() {
            // The queue's allocation moves to the task (the next send makes a new one).
            *pending = std::mem::take(&mut self.outbox);
        } else {
            pending.append(&mut self.outbox);
        }
        self.wake_waiters();
        bytes
    }

    /// Puts commands the task could not send back at the front of the queue (a connection
    /// ended under them: a reconnecting client sends them on the next one).
    pub fn return_commands(&mut self, pending: &mut VecDeque<Command>) {
        self.outbox_bytes += pending.iter().map(Command::payload_len).sum::<usize>();
        pending.append(&mut self.outbox);
        std::mem::swap(pending, &mut self.outbox);
        self.in_flight = (0, 0);
    }

    /// The task's own queue holds `commands` carrying `bytes` (wakes `flush` when both
    /// reach zero with nothing else unwritten).
    pub fn set_in_flight(&mut self, commands: usize, bytes: usize) {
        let before = self.in_flight;
        self.in_flight = (commands, bytes);
        if before.0 > 0 && commands == 0 && self.engine_buffered == 0 {
            self.wake_waiters();
        }
    }

    /// Whether the application gave the client up (closed it or dropped every handle); marks
    /// it so, since nothing can be sent on it any more.
    pub fn abandoned(&mut self) -> bool {
        if self.handles == 0 {
            self.close_requested = true;
        }
        self.close_requested
    }

    /// How many [`Handle`]s are alive.
    pub fn handles(&self) -> usize {
        self.handles
    }

    /// How many more events the task may take from the engine: the room left, or no limit
    /// when nobody listens (events are then dropped, and reading goes on).
    pub fn event_room(&self) -> usize {
        if self.receiver_alive {
            self.events_limit.saturating_sub(self.events.len())
        } else {
            usize::MAX
        }
    }

    /// Whether the task may take one more event from the engine.
    pub fn has_event_room(&self) -> bool {
        self.event_room() > 0
    }

    /// Queues a batch of events for the receiver in order (one lock and one wakeup for the
    /// batch), with [`push_event`](Self::push_event)'s rule for pings and pongs. The batch's
    /// allocation becomes the queue when the queue is empty, and the receiver frees it once
    /// it has taken everything: an idle connection holds no event buffers.
    pub fn push_events(&mut self, batch: Vec<LiveEvent>) {
        if batch.is_empty() || !self.receiver_alive {
            return;
        }
        let fits = self.events.len() + batch.len() <= self.events_limit;
        if self.events.is_empty() && fits {
            self.events = VecDeque::from(batch);
            if let Some(waker) = self.receiver.take() {
                waker.wake();
            }
            return;
        }
        for event in batch {
            let droppable = matches!(event, LiveEvent::Ping(_) | LiveEvent::Pong { .. });
            if !(droppable && self.events.len() >= self.events_limit) {
                self.events.push_back(event);
            }
        }
        if let Some(waker) = self.receiver.take() {
            waker.wake();
        }
    }

    /// Queues `event` for the receiver. Pings and pongs are dropped instead of queued when
    /// the receiver is full; the task never calls this for other events without room.
    pub fn push_event(&mut self, event: LiveEvent) {
        if !self.receiver_alive {
            return;
        }
        let droppable = matches!(event, LiveEvent::Ping(_) | LiveEvent::Pong { .. });
        if droppable && self.events.len() >= self.events_limit {
            return;
        }
        self.events.push_back(event);
        if let Some(waker) = self.receiver.take() {
            waker.wake();
        }
    }

    /// Moves to `state` and reports it (state changes are never dropped).
    pub fn set_state(&mut self, state: LiveState) {
        if self.state == state {
            return;
        }
        self.state = state.clone();
        if self.receiver_alive {
            self.events.push_back(LiveEvent::State(state));
            if let Some(waker) = self.receiver.take() {
                waker.wake();
            }
        }
        self.wake_waiters();
    }

    /// The task is over: reports `closed` and wakes everyone.
    pub fn finish(&mut self, closed: Closed) {
        self.set_state(LiveState::Closed(closed));
        self.finished = true;
        self.close_requested = true;
        self.wake_waiters();
        if let Some(waker) = self.receiver.take() {
            waker.wake();
        }
    }

    fn closed(&self) -> Option<&Closed> {
        match &self.state {
            LiveState::Closed(closed) => Some(closed),
            _ => None,
        }
    }
}

/// The sending side of a live connection: cheap to clone, usable from any task at once.
///
/// Sends go into a bounded queue that the background task empties into the connection while
/// its write buffer is below the high-water mark; a send waits while the queue is full, so a
/// slow peer slows the senders down instead of growing memory. While a reconnecting client is
/// down, the same queue holds what is sent until the next connection opens (delivered once,
/// in order); a message already written to a connection that then breaks is not sent again.
///
/// When the last handle is dropped, the task sends everything queued, closes with 1000 and
/// ends: the peer sees a normal close, never 1006.
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// The first handle on `shared` (counted when `shared` was made).
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Queues `message`; waits while the queue is full. Fails with
    /// [`SendError::Closed`] once the connection is closed for good, or closing at our
    /// request.
    pub async fn send(&self, message: Message) -> Result<()> {
        self.enqueue(Command::Message(message)).await
    }

    /// Queues a text message.
    pub async fn send_text(&self, text: &str) -> Result<()> {
        self.send(Message::text(text)).await
    }

    /// Queues a binary message.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<()> {
        self.send(Message::Binary(data.into())).await
    }

    /// Queues one piece of a message fragmented by the caller; the piece with `fin` ends it.
    pub async fn send_fragment(&self, kind: MessageKind, data: Bytes, fin: bool) -> Result<()> {
        self.enqueue(Command::Fragment { kind, data, fin }).await
    }

    /// Queues a ping; its pong (with the round-trip time) arrives as [`LiveEvent::Pong`] and
    /// in [`last_rtt`](Self::last_rtt).
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<()> {
        let payload = control_payload(payload.into())?;
        self.enqueue(Command::Ping(payload)).await
    }

    /// Queues a pong (for connections configured without automatic pongs, or an unsolicited
    /// heartbeat).
    pub async fn pong(&self, payload: impl Into<Bytes>) -> Result<()> {
        let payload = control_payload(payload.into())?;
        self.enqueue(Command::Pong(payload)).await
    }

    /// Waits until everything queued so far was written to the transport. Fails with
    /// [`SendError::Closed`] if the connection ended with some of it unwritten.
    pub async fn flush(&self) -> Result<()> {
        poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if inner.outbox.is_empty() && inner.in_flight.0 == 0 && inner.engine_buffered == 0 {
                return Poll::Ready(Ok(()));
            }
            if inner.finished {
                return Poll::Ready(Err(Error::Send(SendError::Closed)));
            }
            inner.wait(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Closes cleanly after everything queued: sends a Close with `code` and `reason`, waits
    /// for the closing handshake (up to the close timeout) and returns how the connection
    /// ended. A reconnecting client stops reconnecting. Closing twice returns the first
    /// ending.
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<Closed> {
        if !code.is_sendable() {
            return Err(Error::Send(SendError::UnsendableCloseCode(code)));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(Error::Send(SendError::ReasonTooLong));
        }
        {
            let mut inner = self.shared.lock();
            if !inner.close_requested {
                inner.close_requested = true;
                let command = Command::Close(code, reason.to_owned());
                inner.outbox_bytes += command.payload_len();
                // The Close may exceed the queue limit by one: it must follow what is queued.
                inner.outbox.push_back(command);
                inner.wake_task();
            }
        }
        Ok(self.closed().await)
    }

    /// Waits until the connection is over for good and returns how it ended.
    pub async fn closed(&self) -> Closed {
        poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if let (true, Some(closed)) = (inner.finished, inner.closed()) {
                return Poll::Ready(closed.clone());
            }
            inner.wait(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Where the connection is in its life.
    #[must_use]
    pub fn state(&self) -> LiveState {
        self.shared.lock().state.clone()
    }

    /// Whether messages flow both ways right now.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.shared.lock().state == LiveState::Open
    }

    /// The close code that ended the connection, once it is closed for good (Qt's
    /// `closeCode`).
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        self.shared.lock().closed().and_then(|closed| closed.code)
    }

    /// The close reason that ended the connection, once it is closed for good (Qt's
    /// `closeReason`).
    #[must_use]
    pub fn close_reason(&self) -> Option<String> {
        self.shared
            .lock()
            .closed()
            .map(|closed| closed.reason.clone())
    }

    /// The round-trip time of the latest answered ping.
    #[must_use]
    pub fn last_rtt(&self) -> Option<Duration> {
        self.shared.lock().last_rtt
    }

    /// Bytes sent but not yet written: the queue's payloads and the connection's write
    /// buffer (Qt's `bytesToWrite`).
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        let inner = self.shared.lock();
        inner.outbox_bytes + inner.in_flight.1 + inner.engine_buffered
    }

    /// What the latest opening handshake settled (subprotocol, the peer's headers, the
    /// request path); `None` before the first connection opened.
    #[must_use]
    pub fn handshake(&self) -> Option<HandshakeInfo> {
        self.shared.lock().info.clone()
    }

    /// The subprotocol the latest opening handshake agreed on.
    #[must_use]
    pub fn subprotocol(&self) -> Option<String> {
        self.shared
            .lock()
            .info
            .as_ref()
            .and_then(|info| info.subprotocol().map(str::to_owned))
    }

    async fn enqueue(&self, command: Command) -> Result<()> {
        let mut command = Some(command);
        poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if inner.close_requested || inner.finished {
                return Poll::Ready(Err(Error::Send(SendError::Closed)));
            }
            if inner.outbox.len() >= inner.queue_limit {
                inner.wait(cx.waker());
                return Poll::Pending;
            }
            if let Some(command) = command.take() {
                inner.outbox_bytes += command.payload_len();
                inner.outbox.push_back(command);
                inner.wake_task();
            }
            Poll::Ready(Ok(()))
        })
        .await
    }
}

fn control_payload(payload: Bytes) -> Result<Bytes> {
    if payload.len() > MAX_CONTROL_PAYLOAD {
        return Err(Error::Send(SendError::ControlTooLong));
    }
    Ok(payload)
}

impl Clone for Handle {
    fn clone(&self) -> Self {
        self.shared.lock().handles += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.handles -= 1;
        if inner.handles == 0 {
            inner.wake_task();
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// The receiving side of a live connection: every message, state change and error, in
/// order. A bounded queue: while it is full the task stops reading (the peer is slowed
/// down), except that pings and pongs are dropped rather than wait. Dropping the receiver
/// is fine: the task keeps reading, answering pings and closing, and drops what arrives.
pub struct Events {
    shared: Arc<Shared>,
    /// Events taken from the shared queue in one batch, handed out one by one.
    taken: VecDeque<LiveEvent>,
}

impl Events {
    /// The receiver on `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            taken: VecDeque::new(),
        }
    }

    /// The next event; `None` once the connection is over for good and everything was
    /// received (the last event before it is [`LiveState::Closed`]).
    pub async fn recv(&mut self) -> Option<LiveEvent> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next whole message, skipping every other event; `None` once the connection is
    /// over for good (see [`Handle::closed`] for how it ended).
    pub async fn recv_message(&mut self) -> Option<Message> {
        loop {
            if let LiveEvent::Message(message) = self.recv().await? {
                return Some(message);
            }
        }
    }

    /// [`recv`](Self::recv) as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<LiveEvent>> {
        if let Some(event) = self.taken.pop_front() {
            return Poll::Ready(Some(event));
        }
        // Everything taken was handed out: give the buffer back to the allocator, so an idle
        // connection holds none.
        self.taken = VecDeque::new();
        let mut inner = self.shared.lock();
        if !inner.events.is_empty() {
            // The whole batch in one lock. There is room again: wake the task, which may
            // have stopped reading for lack of it.
            let was_full = inner.events.len() >= inner.events_limit;
            self.taken = std::mem::take(&mut inner.events);
            if was_full {
                inner.wake_task();
            }
            drop(inner);
            return Poll::Ready(self.taken.pop_front());
        }
        if inner.finished {
            return Poll::Ready(None);
        }
        match &inner.receiver {
            Some(existing) if existing.will_wake(cx.waker()) => {}
            _ => inner.receiver = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(feature = "stream")]
impl futures_core::Stream for Events {
    type Item = LiveEvent;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<LiveEvent>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.receiver_alive = false;
        inner.events.clear();
        inner.wake_task();
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}
