//! The clients of a broadcast server (`serve --mode broadcast`): a bounded queue each, so one
//! slow client cannot make the server buffer without limit.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_channel::mpsc;
use wsproto_core::Message;

/// Messages a broadcast client may fall behind before it is disconnected.
const BROADCAST_BACKLOG: usize = 1024;

/// Every connected client's queue; clones share it.
#[derive(Clone, Default)]
pub(super) struct Hub {
    state: Arc<Mutex<HubState>>,
}

#[derive(Default)]
struct HubState {
    next_id: u64,
    clients: Vec<(u64, mpsc::Sender<Message>)>,
}

impl Hub {
    fn state(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a client: its id (for [`leave`](Self::leave)) and its queue, which ends when the
    /// client is dropped for falling behind.
    pub(super) fn join(&self) -> (u64, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(BROADCAST_BACKLOG);
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        state.clients.push((id, tx));
        (id, rx)
    }

    pub(super) fn leave(&self, id: u64) {
        self.state().clients.retain(|(i, _)| *i != id);
    }

    /// Queues `message` for everyone; a client whose queue is full is dropped from the hub
    /// (its connection then closes with 1013, try again later).
    pub(super) fn publish(&self, message: &Message) {
        self.state()
            .clients
            .retain_mut(|(_, tx)| tx.try_send(message.clone()).is_ok());
    }
}
