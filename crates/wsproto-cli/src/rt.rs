//! The three async runtimes as the adapters' own [`Runtime`]s (the seam every async adapter
//! is written on), plus the one thing a command line needs beside them: running its main
//! future. Each command is written once, generic over [`AsyncRt`].

pub(crate) use wsproto_async_std::AsyncStd;
pub(crate) use wsproto_smol::Smol;
pub(crate) use wsproto_tokio::Tokio;

use wsproto_async::Runtime;

/// A [`Runtime`] the command line can start.
pub(crate) trait AsyncRt: Runtime {
    /// Runs `future` to completion on this runtime.
    fn block_on<F: Future>(future: F) -> F::Output;
}

impl AsyncRt for Tokio {
    fn block_on<F: Future>(future: F) -> F::Output {
        match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(future),
            // Without a runtime nothing can run; this only fails when threads cannot start.
            Err(error) => crate::fatal(&format!("cannot start the tokio runtime: {error}")),
        }
    }
}

impl AsyncRt for Smol {
    fn block_on<F: Future>(future: F) -> F::Output {
        smol::block_on(future)
    }
}

impl AsyncRt for AsyncStd {
    fn block_on<F: Future>(future: F) -> F::Output {
        async_std::task::block_on(future)
    }
}

/// Runs `future` on this thread, parking between polls: for futures that need no runtime
/// (the blocking adapter's live handle, channels), as `connect --reconnect --runtime blocking`
/// uses.
pub(crate) fn park_block_on<F: Future>(future: F) -> F::Output {
    wsproto_blocking::block_on(future)
}
