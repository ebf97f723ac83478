//! Masking keys and handshake nonces from the operating system's generator.
//!
//! RFC 6455 §10.3 asks for masking keys the application's peers cannot predict. The OS
//! generator is the simple safe choice; a client that sends many small messages can install
//! a faster seeded CSPRNG through [`ClientConfig::mask_rng`](crate::ClientConfig::mask_rng).

use rand_core::{OsRng, RngCore, TryRngCore, UnwrapErr};

/// A fresh OS-backed generator for one connection.
pub(crate) fn mask_rng() -> Box<dyn RngCore + Send> {
    Box::new(UnwrapErr(OsRng))
}

/// Draws from the OS generator (used for the handshake nonce).
pub(crate) fn os_rng() -> UnwrapErr<OsRng> {
    OsRng.unwrap_err()
}
