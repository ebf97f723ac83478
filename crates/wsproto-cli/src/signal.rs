//! Ctrl-C and SIGTERM, for every runtime: the handler runs on its own thread and completes a
//! future (for the async commands) and sets a flag (for the blocking ones).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_channel::oneshot;

/// Fires once on the first SIGINT or SIGTERM.
pub(crate) struct Stop {
    /// Completes on the signal (with an error if no handler could be installed: then it
    /// never fires).
    pub(crate) future: oneshot::Receiver<()>,
    /// Set on the signal.
    pub(crate) flag: Arc<AtomicBool>,
}

/// Installs the handler (once per process).
pub(crate) fn on_stop() -> Stop {
    install(None)
}

/// Like [`on_stop`], for a command whose clean ending can block (a write to a peer that stopped
/// reading): the process also exits with `code` once `grace` has passed since the signal, or
/// at once on a second signal.
pub(crate) fn on_stop_or_exit(grace: Duration, code: i32) -> Stop {
    install(Some((grace, code)))
}

fn install(hard_exit: Option<(Duration, i32)>) -> Stop {
    let (tx, future) = oneshot::channel();
    let flag = Arc::new(AtomicBool::new(false));
    let mut tx = Some(tx);
    let seen = Arc::clone(&flag);
    let installed = ctrlc::set_handler(move || {
        let again = seen.swap(true, Ordering::SeqCst);
        if let Some((grace, code)) = hard_exit {
            if again {
                std::process::exit(code);
            }
            std::thread::spawn(move || {
                std::thread::sleep(grace);
                std::process::exit(code);
            });
        }
        if let Some(tx) = tx.take() {
            let _ = tx.send(());
        }
    });
    if let Err(error) = installed {
        eprintln!("wsproto: cannot handle Ctrl-C/SIGTERM ({error}); stop with SIGKILL");
    }
    Stop { future, flag }
}
