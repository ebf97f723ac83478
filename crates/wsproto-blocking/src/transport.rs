//! [`BlockingTransport`]: what the blocking adapter needs from a byte stream beyond
//! `Read + Write` — a read timeout (how the engine's deadlines become socket timeouts) and a
//! half-close (how the peer learns the connection is over).
//!
//! Implemented here for [`TcpStream`]; implement it for a TLS wrapper by forwarding both
//! methods to the socket underneath (after a TLS `close_notify` for `shutdown_write`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// A blocking byte stream the WebSocket can drive.
///
/// Contract: after [`set_read_timeout`](Self::set_read_timeout) with `Some(t)`, a `read` that
/// waited `t` without data returns an error of kind [`io::ErrorKind::WouldBlock`] or
/// [`io::ErrorKind::TimedOut`] (as `std::net` sockets do); with `None` it may wait forever.
/// The adapter uses the timeout to wake up for the engine's timers (close timeout, keepalive)
/// and never relies on it for correctness beyond that.
pub trait BlockingTransport: Read + Write + Send {
    /// Bounds how long one `read` may wait; `None` waits forever. `Some(Duration::ZERO)` is
    /// never passed.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Ends our sending direction: the peer reads the end of the stream, while we can still
    /// read what it sends.
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// A second handle on the socket underneath, which a live connection's thread
    /// ([`WebSocket::spawn`](crate::WebSocket::spawn)) uses only to wait until bytes arrive
    /// (`peek`), so that it never blocks in a read the application's sends could not
    /// interrupt. `None` (the default, for transports without a socket) makes that thread
    /// read with a short timeout instead.
    fn readiness(&self) -> Option<TcpStream> {
        None
    }
}

impl BlockingTransport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_read_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn readiness(&self) -> Option<TcpStream> {
        self.try_clone().ok()
    }
}

pub use wsproto_setup::SocketAddrs;

/// Whether a read error only means "no data within the read timeout" or "interrupted, try
/// again": the loops re-check their deadlines and read again.
pub(crate) fn is_retry(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// The shortest read timeout the loops set: a socket timeout of zero means "forever".
pub(crate) const MIN_READ_TIMEOUT: Duration = Duration::from_millis(1);

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn tcp_read_timeout_reports_a_retryable_error_and_shutdown_is_seen_as_eof() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        BlockingTransport::set_read_timeout(&mut client, Some(Duration::from_millis(20))).unwrap();
        let error = client.read(&mut [0; 4]).unwrap_err();
        assert!(is_retry(&error), "{error:?}");
        server.shutdown_write().unwrap();
        assert_eq!(client.read(&mut [0; 4]).unwrap(), 0);
        client.write_all(b"still open").unwrap();
        let mut got = [0; 10];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"still open");
    }
}
