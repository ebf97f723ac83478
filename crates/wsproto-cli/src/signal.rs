//! Ctrl-C and SIGTERM, for every runtime: the handler runs on its own thread and completes a
//! future (for the async servers) and sets a flag (for the blocking one).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_channel::oneshot;

/// Fires once on the first SIGINT or SIGTERM.
pub(crate) struct Stop {
    /// Completes on the signal.
    pub(crate) future: oneshot::Receiver<()>,
    /// Set on the signal.
    pub(crate) flag: Arc<AtomicBool>,
}

/// Installs the handler (once per process).
pub(crate) fn on_stop() -> Stop {
    let (tx, future) = oneshot::channel();
    let flag = Arc::new(AtomicBool::new(false));
    let mut tx = Some(tx);
    let seen = Arc::clone(&flag);
    let installed = ctrlc::set_handler(move || {
        seen.store(true, Ordering::SeqCst);
        if let Some(tx) = tx.take() {
            let _ = tx.send(());
        }
    });
    if let Err(error) = installed {
        eprintln!("wsproto: cannot handle Ctrl-C/SIGTERM ({error}); stop with SIGKILL");
    }
    Stop { future, flag }
}
