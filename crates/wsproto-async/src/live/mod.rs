//! Connections that live on their own: a background task owns the socket, answers pings,
//! runs keepalive and the dead-peer timeout, echoes the Close and honours a server's
//! shutdown whatever the application is doing; the application holds a cloneable [`Handle`]
//! to send and an [`Events`] receiver for messages and state changes. A client can also
//! reconnect by itself ([`connect_live`] with a [`ReconnectPolicy`]).
//!
//! The poll-driven [`WebSocket`] stays as it is, for those who drive it themselves; this
//! costs one task and two small queues per connection.

mod drive;
mod shared;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use wsproto_core::reconnect::{Decision, Ending};
use wsproto_setup::{
    ClientConfig, Closed, ClosedBy, LiveEvent, LiveState, ReconnectPolicy, RetrySchedule,
};

pub use shared::{Events, Handle};

use crate::runtime::{Runtime, TimerOf, Transport, with_deadline};
use crate::websocket::WebSocket;
use shared::Shared;

/// How a live connection queues: messages sent ahead of the connection (64 by default),
/// events the application has not taken yet (64 by default), and for clients, whether and
/// how to reconnect (not by default).
#[derive(Clone, Debug)]
pub struct LiveConfig {
    queue: usize,
    events: usize,
    reconnect: Option<ReconnectPolicy>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            queue: 64,
            events: 64,
            reconnect: None,
        }
    }
}

impl LiveConfig {
    /// The defaults (see the type's documentation).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages may wait for the connection (while its write buffer is above the
    /// high-water mark, or while a reconnecting client is down); a send waits while the
    /// queue is full. At least 1.
    #[must_use]
    pub fn queue(mut self, messages: usize) -> Self {
        self.queue = messages.max(1);
        self
    }

    /// How many events may wait for the application; while the receiver is full, the
    /// connection stops reading (pings and pongs are dropped instead). At least 1.
    #[must_use]
    pub fn events(mut self, events: usize) -> Self {
        self.events = events.max(1);
        self
    }

    /// Reconnect after failures under `policy` ([`connect_live`] only; a server-side
    /// connection cannot be dialled again).
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }
}

impl<T: Transport> WebSocket<T> {
    /// Hands the connection to a background task on runtime `R` and returns the sending
    /// [`Handle`] and the [`Events`] receiver (see [`LiveConfig`] for the defaults).
    ///
    /// ```no_run
    /// # async fn run<T: wsproto_async::Transport, R: wsproto_async::Runtime>(
    /// #     ws: wsproto_async::WebSocket<T>,
    /// # ) -> wsproto_async::Result<()> {
    /// use wsproto_async::prelude::*;
    ///
    /// // With tokio: `ws.spawn::<wsproto_tokio::Tokio>()`.
    /// let (handle, mut events) = ws.spawn::<R>();
    /// handle.send_text("hello").await?;
    /// while let Some(event) = events.recv().await {
    ///     match event {
    ///         LiveEvent::Message(message) => println!("{message:?}"),
    ///         LiveEvent::State(state) => eprintln!("{state:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn spawn<R: Runtime>(self) -> (Handle, Events) {
        self.spawn_with::<R>(&LiveConfig::default())
    }

    /// [`spawn`](Self::spawn) with queue sizes of your choice.
    pub fn spawn_with<R: Runtime>(self, config: &LiveConfig) -> (Handle, Events) {
        let (handle, events, task) = self.into_live(config);
        R::spawn(task);
        (handle, events)
    }

    /// The parts of [`spawn`](Self::spawn) for an executor without a [`Runtime`]: the handle,
    /// the receiver and the task to run in the background.
    pub fn into_live(
        self,
        config: &LiveConfig,
    ) -> (Handle, Events, impl Future<Output = ()> + Send + 'static) {
        let shared = Shared::new(config.queue, config.events, LiveState::Open);
        shared.lock().info = Some(self.info.clone());
        let task = {
            let shared = Arc::clone(&shared);
            async move {
                let end = drive::drive(self, &shared).await;
                shared.lock().finish(end.closed);
            }
        };
        (Handle::new(Arc::clone(&shared)), Events::new(shared), task)
    }
}

/// A client that connects in the background on runtime `R` and, with
/// [`LiveConfig::reconnect`], connects again after failures: it reports
/// [`LiveState::Connecting`], `Open`, `Closing`, [`LiveState::Reconnecting`] with the attempt
/// and delay, and finally `Closed`. `make_config` builds the options for each attempt (a
/// fresh token in a header, say).
///
/// Messages sent while the client is down wait in the queue (bounded by
/// [`LiveConfig::queue`]; senders wait while it is full) and leave, once and in order, when
/// the next connection opens. It stops after our own close, the peer's 1000 (unless the
/// policy says otherwise), a 4xx refusal or a protocol violation; a 503's `Retry-After` is
/// honoured. Dropping every handle while it is down ends it, and what was queued is dropped.
pub fn connect_live<R: Runtime>(
    url: &str,
    make_config: impl FnMut() -> ClientConfig + Send + 'static,
    config: &LiveConfig,
) -> (Handle, Events) {
    let shared = Shared::new(
        config.queue,
        config.events,
        LiveState::Connecting { attempt: 0 },
    );
    let task = reconnecting::<R>(
        url.to_owned(),
        make_config,
        config.reconnect.clone(),
        Arc::clone(&shared),
    );
    R::spawn(task);
    (Handle::new(Arc::clone(&shared)), Events::new(shared))
}

async fn reconnecting<R: Runtime>(
    url: String,
    mut make_config: impl FnMut() -> ClientConfig + Send + 'static,
    policy: Option<ReconnectPolicy>,
    shared: Arc<Shared>,
) {
    let mut schedule = RetrySchedule::new(policy);
    let mut attempt = 0;
    loop {
        shared.lock().set_state(LiveState::Connecting { attempt });
        let opening = crate::client::connect_with::<R>(&url, make_config());
        let Some(opened) = until_abandoned::<R, _>(&shared, None, opening).await else {
            return shared.lock().finish(closed_by_us());
        };
        let (closed, ending) = match opened {
            Ok(ws) => {
                schedule.opened();
                {
                    let mut inner = shared.lock();
                    inner.info = Some(ws.info.clone());
                    inner.set_state(LiveState::Open);
                }
                let end = drive::drive(ws, &shared).await;
                (end.closed, end.ending)
            }
            Err(error) => {
                let closed = Closed {
                    code: None,
                    reason: error.to_string(),
                    by: ClosedBy::Failure,
                };
                let ending = error.ending();
                shared.lock().push_event(LiveEvent::Error(error));
                (closed, ending)
            }
        };
        if ending == Ending::ClosedByUs || shared.lock().close_requested {
            return shared.lock().finish(closed);
        }
        match schedule.after(&ending) {
            Decision::Retry {
                attempt: next,
                delay,
            } => {
                attempt = next;
                shared
                    .lock()
                    .set_state(LiveState::Reconnecting { attempt, delay });
                let wake_at = Instant::now() + delay;
                let pause = std::future::pending::<()>();
                if until_abandoned::<R, _>(&shared, Some(wake_at), pause)
                    .await
                    .is_none()
                    && shared.lock().close_requested
                {
                    return shared.lock().finish(closed_by_us());
                }
            }
            Decision::Stop(_) => return shared.lock().finish(closed),
        }
    }
}

fn closed_by_us() -> Closed {
    Closed {
        code: None,
        reason: "closed while not connected".into(),
        by: ClosedBy::Local,
    }
}

/// Runs `fut` until it completes, `deadline` passes or the application abandons the client
/// (closes it or drops every handle); `None` unless `fut` completed.
async fn until_abandoned<R: Runtime, F: Future>(
    shared: &Shared,
    deadline: Option<Instant>,
    fut: F,
) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let race = std::future::poll_fn(|cx| {
        {
            let mut inner = shared.lock();
            if inner.close_requested || inner.handles() == 0 {
                inner.close_requested = true;
                return std::task::Poll::Ready(None);
            }
            inner.register_task(cx.waker());
        }
        fut.as_mut().poll(cx).map(Some)
    });
    match deadline {
        Some(at) => with_deadline::<TimerOf<R>, _>(at, race).await.flatten(),
        None => race.await,
    }
}
