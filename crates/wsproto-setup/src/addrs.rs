//! [`SocketAddrs`]: streams that know their socket addresses — TCP, TLS over TCP, and each
//! runtime's wrapper of them. One trait for the async and the blocking adapters.

use std::io;
use std::net::{SocketAddr, TcpStream};

/// A stream that knows both ends' socket addresses.
pub trait SocketAddrs {
    /// Our end's address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// The peer's address.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
}

impl SocketAddrs for TcpStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Self::local_addr(self)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Self::peer_addr(self)
    }
}
