//! [`Tokio`]: tokio as a wsproto [`Runtime`] — TCP connect, listen and accept, and spawn. With
//! [`TokioIo`] and [`TokioTimer`](crate::TokioTimer) (`io.rs`) this is all that tells tokio
//! apart from the other runtimes.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use wsproto_async::Runtime;

use crate::TokioIo;

/// The tokio runtime, for [`wsproto_async::Server`] and [`wsproto_async::connect_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    type Tcp = TokioIo<TcpStream>;
    type Listener = TcpListener;

    async fn connect(host: String, port: u16) -> io::Result<Self::Tcp> {
        let stream = TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        Ok(TokioIo::new(stream))
    }

    async fn resolve(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host.as_str(), port))
            .await?
            .collect())
    }

    async fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        let listener = wsproto_async::prelude::listen(addr, backlog)?;
        listener.set_nonblocking(true)?;
        TcpListener::from_std(listener)
    }

    async fn accept(listener: &TcpListener) -> io::Result<Self::Tcp> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(TokioIo::new(stream))
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }
}
