//! Scratch directories for files a child process reads by path (certificates and keys for
//! `wsproto serve --tls-cert`, a CA for `wsproto connect --ca`, the browser's trust), removed
//! when dropped.
//!
//! Invariant: each [`ScratchDir`] is a directory that did not exist before, so tests running
//! in parallel (threads of one test binary, or several binaries) never share one.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system's temporary one; removed with its files on drop, so
/// keep it alive until every child that reads from it has done so.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates the directory, named after this process and a counter.
    pub fn new() -> io::Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("wsproto-scratch-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                // Left behind by an earlier process with the same id: take the next name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
                Ok(()) => return Ok(Self { path }),
            }
        }
    }

    /// Writes `contents` to the file `name` in this directory; returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> io::Result<PathBuf> {
        let file = self.path.join(name);
        std::fs::write(&file, contents)?;
        Ok(file)
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
