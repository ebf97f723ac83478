//! Connections that live on their own: a background task owns the socket, answers pings,
//! runs keepalive and the dead-peer timeout, echoes the Close and honours a server's
//! shutdown whatever the application is doing; the application holds a cloneable [`Handle`]
//! to send and an [`Events`] receiver for messages and state changes. A client can also
//! reconnect by itself ([`connect_live`] with a [`ReconnectPolicy`]).
//!
//! The poll-driven [`WebSocket`] stays as it is, for those who drive it themselves; this
//! costs one task and two small queues per connection.

mod drive;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use wsproto_setup::live::Shared;
use wsproto_setup::{
    ClientConfig, Events, Handle, LiveConfig, LiveState, ReconnectPolicy, RetrySchedule,
};

use crate::runtime::{Runtime, TimerOf, Transport, with_deadline};
use crate::websocket::WebSocket;

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
        let shared = Shared::with_config(config, LiveState::Open);
        shared.lock().info = Some(self.info.clone());
        let task = drive::Background::new(self, Arc::clone(&shared));
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
    let shared = Shared::with_config(config, LiveState::Connecting { attempt: 0 });
    let task = reconnecting::<R>(
        url.to_owned(),
        make_config,
        config.reconnect_policy().cloned(),
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
    loop {
        let attempt = schedule.attempt();
        shared.lock().set_state(LiveState::Connecting { attempt });
        let opening = crate::client::connect_with::<R>(&url, make_config());
        let Some(opened) = until_abandoned::<R, _>(&shared, None, opening).await else {
            return RetrySchedule::abandoned(&shared);
        };
        let end = match opened {
            Ok(ws) => {
                schedule.opened(&shared, ws.info.clone());
                drive::drive(ws, &shared).await
            }
            Err(error) => RetrySchedule::failed_to_open(&shared, error),
        };
        let Some(delay) = schedule.next(&shared, end) else {
            return;
        };
        let pause = std::future::pending::<()>();
        let wake_at = Instant::now() + delay;
        until_abandoned::<R, _>(&shared, Some(wake_at), pause).await;
        if shared.lock().abandoned() {
            return RetrySchedule::abandoned(&shared);
        }
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
            let mut state = shared.lock();
            if state.abandoned() {
                return std::task::Poll::Ready(None);
            }
            state.register_task(cx.waker());
        }
        fut.as_mut().poll(cx).map(Some)
    });
    match deadline {
        Some(at) => with_deadline::<TimerOf<R>, _>(at, race).await.flatten(),
        None => race.await,
    }
}
