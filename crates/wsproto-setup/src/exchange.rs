//! [`Exchange`]: what every step of a client's opening looks like to the adapter that drives
//! it — write what the step says, read, feed, until the step is done — so each I/O model
//! writes that loop once for the proxy tunnel and the WebSocket handshake alike.

use std::io;

use crate::error::{Error, Result};

/// One sans-IO step of an opening (a proxy tunnel, the HTTP upgrade). The driver loops: write
/// all of [`transmit`](Self::transmit) and [`advance_transmit`](Self::advance_transmit),
/// read, and feed [`handle_input`](Self::handle_input) until it returns `Ok(true)`; a read of
/// zero bytes ends the step with [`handle_eof`](Self::handle_eof), an I/O failure with
/// [`io_error`](Self::io_error).
pub trait Exchange {
    /// The bytes still to write.
    fn transmit(&self) -> &[u8];
    /// Records that `n` bytes of [`transmit`](Self::transmit) were written.
    fn advance_transmit(&mut self, n: usize);
    /// Feeds bytes read from the peer; `Ok(true)` once the step is complete.
    fn handle_input(&mut self, bytes: &[u8]) -> Result<bool>;
    /// The error for a stream that ended before the step was complete.
    fn handle_eof(&self) -> Error;
    /// The error for an I/O failure during the step.
    fn io_error(&self, error: io::Error) -> Error;
    /// The error for the opening's deadline passing during the step. Default
    /// [`Deadline::error`](crate::Deadline::error).
    fn timeout_error(&self) -> Error {
        crate::Deadline::error()
    }
}
