//! TLS over a blocking stream: [`TlsStream`] drives rustls's connection with plain `Read` and
//! `Write` on the socket, and keeps the socket's read timeout working (how the engine's
//! deadlines reach a blocking connection). The settings and errors are floor 1's
//! ([`ClientTls`](wsproto_setup::ClientTls), [`ServerTls`](wsproto_setup::ServerTls),
//! [`TlsError`](wsproto_setup::TlsError)), shared with the async adapters.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use wsproto_setup::Deadline;

use crate::transport::{BlockingTransport, MIN_READ_TIMEOUT, SocketAddrs, is_retry};

/// Longest a failed handshake waits for its alert to reach the peer.
const FAILURE_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// A TLS connection over the blocking stream `S`.
pub struct TlsStream<S> {
    sock: S,
    conn: rustls::Connection,
    /// The socket reached its end.
    eof: bool,
}

impl<S: BlockingTransport> TlsStream<S> {
    /// Runs the client side of the TLS handshake with `name` over `sock` until `deadline`.
    pub fn connect(
        sock: S,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        deadline: &Deadline,
    ) -> io::Result<Self> {
        let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        Self::handshake(sock, conn.into(), deadline)
    }

    /// Runs the server side of the TLS handshake over `sock` until `deadline`.
    pub fn accept(
        sock: S,
        config: Arc<rustls::ServerConfig>,
        deadline: &Deadline,
    ) -> io::Result<Self> {
        let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        Self::handshake(sock, conn.into(), deadline)
    }

    fn handshake(sock: S, conn: rustls::Connection, deadline: &Deadline) -> io::Result<Self> {
        let mut stream = Self {
            sock,
            conn,
            eof: false,
        };
        if let Err(error) = stream.run_handshake(deadline) {
            stream.fail_gracefully();
            return Err(error);
        }
        Ok(stream)
    }

    /// After a failed handshake: sends rustls's alert (why it failed, e.g. a missing client
    /// certificate), ends our side, and reads what the peer still sends until it closes, for
    /// at most [`FAILURE_LINGER`]. Closing with unread input would make the kernel send a
    /// reset, which can destroy the alert before the peer reads it.
    fn fail_gracefully(&mut self) {
        if self.push().is_err() || self.sock.shutdown_write().is_err() {
            return;
        }
        let until = Instant::now() + FAILURE_LINGER;
        let mut scratch = [0u8; 4096];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero()
                || self
                    .sock
                    .set_read_timeout(Some(left.max(MIN_READ_TIMEOUT)))
                    .is_err()
            {
                return;
            }
            match self.sock.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if is_retry(&error) => {}
                Err(_) => return,
            }
        }
    }

    fn run_handshake(&mut self, deadline: &Deadline) -> io::Result<()> {
        let stream = self;
        while stream.conn.is_handshaking() {
            let left = deadline
                .time_left(Instant::now())
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?;
            stream
                .sock
                .set_read_timeout(Some(left.max(MIN_READ_TIMEOUT)))?;
            match stream.conn.complete_io(&mut stream.sock) {
                Ok((0, 0)) if stream.conn.is_handshaking() => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed during the TLS handshake",
                    ));
                }
                Ok(_) => {}
                Err(error) if is_retry(&error) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// The rustls connection (negotiated protocol, peer certificates, SNI...).
    #[must_use]
    pub fn connection(&self) -> &rustls::Connection {
        &self.conn
    }

    /// The stream underneath.
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// Writes out whatever rustls has made.
    fn push(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        Ok(())
    }
}

impl<S: BlockingTransport> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // TCP closed without a close_notify: the WebSocket's Close says how it ended.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(error) => return Err(error),
            }
            self.push()?;
            if self.eof {
                return Ok(0);
            }
            // A read timeout surfaces here as a retryable error, as on a plain socket.
            if self.conn.read_tls(&mut self.sock)? == 0 {
                self.eof = true;
            }
            if let Err(error) = self.conn.process_new_packets() {
                let _ = self.push();
                return Err(io::Error::new(io::ErrorKind::InvalidData, error));
            }
        }
    }
}

impl<S: BlockingTransport> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.push()?;
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.conn.writer().write_vectored(bufs)?;
        self.push()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push()?;
        self.sock.flush()
    }
}

impl<S: BlockingTransport> BlockingTransport for TlsStream<S> {
    fn set_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.push()?;
        self.sock.shutdown_write()
    }

    /// The socket's: TLS records arrive on it, and the connection's thread reads whatever
    /// plaintext rustls already holds before it waits on the socket again.
    fn readiness(&self) -> Option<std::net::TcpStream> {
        self.sock.readiness()
    }
}

impl<S: SocketAddrs> SocketAddrs for TlsStream<S> {
    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.sock.local_addr()
    }

    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.sock.peer_addr()
    }
}

impl<S> std::fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("handshaking", &self.conn.is_handshaking())
            .finish_non_exhaustive()
    }
}
