//! [`listen`]: a TCP listener with the accept backlog the server asks for. `std`'s
//! `TcpListener::bind` always asks the kernel for 128 pending connections, which a burst of
//! clients fills (the rest wait for SYN retransmits, a second or more); every adapter binds
//! through here, or through its runtime's equivalent, with [`DEFAULT_BACKLOG`] by default.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// The accept backlog of every server unless configured
/// ([`ServerConfig::backlog`](crate::ServerConfig::backlog)): tokio's default, eight times
/// `std`'s.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// Binds a TCP listener on `addr` with room for `backlog` connections waiting to be
/// accepted (the kernel may cap it, on Linux at `net.core.somaxconn`). The address is
/// reusable at once after a restart (`SO_REUSEADDR`, as `std` does on Unix).
///
/// # Errors
///
/// Creating, binding or listening on the socket failed (the address is in use, say).
pub fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listens_and_accepts() {
        let listener = listen("127.0.0.1:0".parse().unwrap(), DEFAULT_BACKLOG).unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        assert!(listener.accept().is_ok());
    }
}
