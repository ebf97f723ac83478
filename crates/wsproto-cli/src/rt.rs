//! The three async runtimes behind one small trait, so each command is written once and runs
//! on tokio, smol or async-std through that runtime's own adapter crate.

use std::time::Duration;

use wsproto_async::{ClientConfig, Result, ServerConfig, Transport, WebSocket};

/// What a command needs from an async runtime and its wsproto adapter.
pub(crate) trait AsyncRt {
    /// The adapter's transport (its TCP stream wrapper).
    type Io: Transport;
    /// The adapter's server.
    type Server: AnyServer<Io = Self::Io>;

    /// Runs `future` to completion on this runtime.
    fn block_on<F: Future>(future: F) -> F::Output;
    /// Runs `future` in the background.
    fn spawn(future: impl Future<Output = ()> + Send + 'static);
    /// The adapter's `connect_with`.
    fn connect(
        url: &str,
        options: ClientConfig,
    ) -> impl Future<Output = Result<WebSocket<Self::Io>>>;
    /// The adapter's `Server::bind_with`.
    fn bind(addr: &str, config: ServerConfig) -> impl Future<Output = Result<Self::Server>>;
}

/// The adapters' servers share their method names; this trait lets commands use any of them.
pub(crate) trait AnyServer {
    /// The transport of accepted connections.
    type Io: Transport;
    /// The next connection whose handshake succeeded.
    fn accept(&mut self) -> impl Future<Output = Result<WebSocket<Self::Io>>>;
    /// The `ws://` URL it listens on.
    fn url(&self) -> String;
    /// Graceful shutdown: 1001 to every connection, waiting up to `grace`.
    fn shutdown(self, grace: Duration) -> impl Future<Output = usize>;
}

pub(crate) struct Tokio;
pub(crate) struct Smol;
pub(crate) struct AsyncStd;

impl AsyncRt for Tokio {
    type Io = wsproto_tokio::TokioIo<tokio::net::TcpStream>;
    type Server = wsproto_tokio::Server;

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

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(future);
    }

    async fn connect(url: &str, options: ClientConfig) -> Result<WebSocket<Self::Io>> {
        wsproto_tokio::connect_with(url, options).await
    }

    async fn bind(addr: &str, config: ServerConfig) -> Result<Self::Server> {
        wsproto_tokio::Server::bind_with(addr, config).await
    }
}

impl AnyServer for wsproto_tokio::Server {
    type Io = wsproto_tokio::TokioIo<tokio::net::TcpStream>;

    async fn accept(&mut self) -> Result<WebSocket<Self::Io>> {
        Self::accept(self).await
    }

    fn url(&self) -> String {
        Self::url(self)
    }

    async fn shutdown(self, grace: Duration) -> usize {
        Self::shutdown(self, grace).await
    }
}

impl<L: wsproto_futures::Listener> AnyServer for wsproto_futures::Server<L> {
    type Io = wsproto_futures::FuturesIo<L::Stream>;

    async fn accept(&mut self) -> Result<WebSocket<Self::Io>> {
        Self::accept(self).await
    }

    fn url(&self) -> String {
        Self::url(self)
    }

    async fn shutdown(self, grace: Duration) -> usize {
        Self::shutdown(self, grace).await
    }
}

impl AsyncRt for Smol {
    type Io = wsproto_futures::FuturesIo<smol::net::TcpStream>;
    type Server = wsproto_smol::Server;

    fn block_on<F: Future>(future: F) -> F::Output {
        smol::block_on(future)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(future).detach();
    }

    async fn connect(url: &str, options: ClientConfig) -> Result<WebSocket<Self::Io>> {
        wsproto_smol::connect_with(url, options).await
    }

    async fn bind(addr: &str, config: ServerConfig) -> Result<Self::Server> {
        wsproto_smol::Server::bind_with(addr, config).await
    }
}

impl AsyncRt for AsyncStd {
    type Io = wsproto_futures::FuturesIo<wsproto_async_std::TcpStream>;
    type Server = wsproto_async_std::Server;

    fn block_on<F: Future>(future: F) -> F::Output {
        async_std::task::block_on(future)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        async_std::task::spawn(future);
    }

    async fn connect(url: &str, options: ClientConfig) -> Result<WebSocket<Self::Io>> {
        wsproto_async_std::connect_with(url, options).await
    }

    async fn bind(addr: &str, config: ServerConfig) -> Result<Self::Server> {
        wsproto_async_std::Server::bind_with(addr, config).await
    }
}
