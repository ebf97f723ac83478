//! [`upgraded_connection`]: the engine for a stream whose opening handshake another HTTP stack
//! (hyper, axum, your own) already did.

use wsproto_core::{Config, Connection, Instant, Limits, Role};

use crate::rng::mask_rng;

/// Starts the engine directly in `role` on a connection that is already upgraded, with its
/// clock at zero; `leftover` are bytes read past the handshake that belong to the WebSocket.
/// A client role masks with keys from the operating system's generator.
#[must_use]
pub fn upgraded_connection(
    role: Role,
    config: Config,
    limits: Limits,
    leftover: &[u8],
) -> Connection {
    let mut conn = match role {
        Role::Server => Connection::server(config, limits, Instant::ZERO),
        Role::Client => Connection::client(config, limits, mask_rng(), Instant::ZERO),
    };
    if !leftover.is_empty() {
        conn.handle_input(leftover, Instant::ZERO);
    }
    conn
}
