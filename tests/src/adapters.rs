//! One [`Client`] implementation and one echo server per adapter. All of them share one
//! server configuration (`echo_config`) and one client configuration (`client_config`),
//! so the adapters differ only in runtime glue.

use std::sync::mpsc;
use std::thread;

use wsproto_core::{CloseCode, CloseFrame, Event, Message, MessageKind};
// Every adapter re-exports these same two `wsproto-async` types.
use wsproto_tokio::{ClientConfig, ServerConfig};

use crate::{CLOSE_ME, CLOSE_WITH, Client, SERVER_CLOSE_CODE, SUBPROTOCOLS, big_limits};

/// Which adapter runs the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// `wsproto-tokio`.
    Tokio,
    /// `wsproto-smol`.
    Smol,
    /// `wsproto-async-std`.
    AsyncStd,
    /// `wsproto-blocking`.
    Blocking,
}

/// Which adapter runs the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// `wsproto-tokio`.
    Tokio,
    /// `wsproto-smol`.
    Smol,
    /// `wsproto-async-std`.
    AsyncStd,
    /// `wsproto-blocking`.
    Blocking,
}

impl ServerKind {
    /// Every server adapter.
    pub const ALL: [Self; 4] = [Self::Tokio, Self::Smol, Self::AsyncStd, Self::Blocking];

    /// Starts an echo server in a background thread; returns its `ws://` URL.
    #[must_use]
    pub fn start_echo(self) -> String {
        self.start_echo_with(false)
    }

    /// Starts an echo server that also accepts permessage-deflate when `deflate` is set.
    #[must_use]
    pub fn start_echo_with(self, deflate: bool) -> String {
        self.start_echo_config(
            echo_config().deflate(deflate.then(wsproto_tokio::DeflateConfig::default)),
        )
    }

    /// Starts an echo server with `config` (start from [`echo_config`]); returns its URL,
    /// `wss://` when `config` has a certificate.
    #[must_use]
    pub fn start_echo_config(self, config: ServerConfig) -> String {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || match self {
            Self::Tokio => tokio_echo(&tx, config),
            Self::Smol => smol::block_on(smol_echo(&tx, config)),
            Self::AsyncStd => async_std::task::block_on(async_std_echo(&tx, config)),
            Self::Blocking => blocking_echo(&tx, config),
        });
        rx.recv().expect("server started")
    }
}

impl ClientKind {
    /// Every client adapter.
    pub const ALL: [Self; 4] = [Self::Tokio, Self::Smol, Self::AsyncStd, Self::Blocking];

    /// Connects to `url` with limits large enough for 16 MiB messages.
    pub fn connect(self, url: &str) -> Result<Box<dyn Client>, String> {
        self.connect_offering(url, &[])
    }

    /// Like [`connect`](Self::connect), offering `subprotocols` (most preferred first).
    pub fn connect_offering(
        self,
        url: &str,
        subprotocols: &[&str],
    ) -> Result<Box<dyn Client>, String> {
        self.connect_with(url, subprotocols, false)
    }

    /// Like [`connect_offering`](Self::connect_offering), also offering permessage-deflate
    /// when `deflate` is set.
    pub fn connect_with(
        self,
        url: &str,
        subprotocols: &[&str],
        deflate: bool,
    ) -> Result<Box<dyn Client>, String> {
        let options = client_config(subprotocols)
            .deflate(deflate.then(wsproto_tokio::DeflateConfig::default));
        self.connect_config(url, options)
    }

    /// Connects to `url` with `options` (start from [`client_config`]).
    pub fn connect_config(
        self,
        url: &str,
        options: ClientConfig,
    ) -> Result<Box<dyn Client>, String> {
        Ok(match self {
            Self::Tokio => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let ws = rt
                    .block_on(wsproto_tokio::connect_with(url, options))
                    .map_err(|e| e.to_string())?;
                Box::new(TokioClient { rt, ws })
            }
            Self::Smol => {
                let ws = smol::block_on(wsproto_smol::connect_with(url, options))
                    .map_err(|e| e.to_string())?;
                Box::new(SmolClient { ws })
            }
            Self::AsyncStd => {
                let ws = async_std::task::block_on(wsproto_async_std::connect_with(url, options))
                    .map_err(|e| e.to_string())?;
                Box::new(AsyncStdClient { ws })
            }
            Self::Blocking => {
                let ws = wsproto_blocking::connect_with(url, options).map_err(|e| e.to_string())?;
                Box::new(BlockingClient { ws })
            }
        })
    }
}

/// The client side: big limits and the offered subprotocols.
#[must_use]
pub fn client_config(subprotocols: &[&str]) -> ClientConfig {
    subprotocols
        .iter()
        .fold(ClientConfig::default().limits(big_limits()), |config, p| {
            config.subprotocol(p)
        })
}

/// The echo servers' side: big limits and [`SUBPROTOCOLS`].
#[must_use]
pub fn echo_config() -> ServerConfig {
    SUBPROTOCOLS
        .iter()
        .fold(ServerConfig::default().limits(big_limits()), |config, p| {
            config.subprotocol(p)
        })
}

/// The close the echo server answers `message` with, if it asks for one: [`CLOSE_ME`] gets
/// [`SERVER_CLOSE_CODE`] "bye", `close-with <code> <reason>` gets that code and reason (an
/// invalid code gets 1000).
fn close_request(message: &Message) -> Option<(CloseCode, String)> {
    let Message::Text(text) = message else {
        return None;
    };
    let text = text.as_str();
    if text == CLOSE_ME {
        return Some((close_code(SERVER_CLOSE_CODE), "bye".to_owned()));
    }
    let rest = text.strip_prefix(CLOSE_WITH)?.strip_prefix(' ')?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code = code.parse().map_or(CloseCode::NORMAL, close_code);
    Some((code, reason.to_owned()))
}

fn close_code(code: u16) -> CloseCode {
    CloseCode::new(code).unwrap_or(CloseCode::NORMAL)
}

/// The async adapters share one `WebSocket` type, so one client implementation per executor
/// differs only in how it blocks on a future.
macro_rules! async_client {
    ($name:ident, $ws:ty, $block_on:expr) => {
        struct $name {
            ws: $ws,
        }

        impl Client for $name {
            fn send(&mut self, message: Message) -> Result<(), String> {
                $block_on(self.ws.send(message)).map_err(|e| e.to_string())
            }
            fn send_fragment(
                &mut self,
                kind: MessageKind,
                data: &[u8],
                fin: bool,
            ) -> Result<(), String> {
                $block_on(self.ws.send_fragment(kind, data, fin)).map_err(|e| e.to_string())
            }
            fn ping(&mut self, payload: &[u8]) -> Result<(), String> {
                $block_on(self.ws.ping(payload)).map_err(|e| e.to_string())
            }
            fn next_event(&mut self) -> Option<Result<Event, String>> {
                $block_on(self.ws.next_event()).map(|r| r.map_err(|e| e.to_string()))
            }
            fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), String> {
                $block_on(self.ws.close(code, reason)).map_err(|e| e.to_string())
            }
            fn close_received(&self) -> Option<CloseFrame> {
                self.ws.close_received().cloned()
            }
            fn subprotocol(&self) -> Option<String> {
                self.ws.subprotocol().map(str::to_owned)
            }
            fn compressed(&self) -> bool {
                self.ws.connection().has_extension()
            }
        }
    };
}

async_client!(SmolClient, wsproto_smol::TcpWebSocket, smol::block_on);
async_client!(
    AsyncStdClient,
    wsproto_async_std::TcpWebSocket,
    async_std::task::block_on
);

struct TokioClient {
    rt: tokio::runtime::Runtime,
    ws: wsproto_tokio::TcpWebSocket,
}

impl Client for TokioClient {
    fn send(&mut self, message: Message) -> Result<(), String> {
        self.rt
            .block_on(self.ws.send(message))
            .map_err(|e| e.to_string())
    }
    fn send_fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<(), String> {
        self.rt
            .block_on(self.ws.send_fragment(kind, data, fin))
            .map_err(|e| e.to_string())
    }
    fn ping(&mut self, payload: &[u8]) -> Result<(), String> {
        self.rt
            .block_on(self.ws.ping(payload))
            .map_err(|e| e.to_string())
    }
    fn next_event(&mut self) -> Option<Result<Event, String>> {
        self.rt
            .block_on(self.ws.next_event())
            .map(|r| r.map_err(|e| e.to_string()))
    }
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), String> {
        self.rt
            .block_on(self.ws.close(code, reason))
            .map_err(|e| e.to_string())
    }
    fn close_received(&self) -> Option<CloseFrame> {
        self.ws.close_received().cloned()
    }
    fn subprotocol(&self) -> Option<String> {
        self.ws.subprotocol().map(str::to_owned)
    }
    fn compressed(&self) -> bool {
        self.ws.connection().has_extension()
    }
}

struct BlockingClient {
    ws: wsproto_blocking::TcpWebSocket,
}

impl Client for BlockingClient {
    fn send(&mut self, message: Message) -> Result<(), String> {
        self.ws.send(message).map_err(|e| e.to_string())
    }
    fn send_fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<(), String> {
        self.ws
            .send_fragment(kind, data, fin)
            .map_err(|e| e.to_string())
    }
    fn ping(&mut self, payload: &[u8]) -> Result<(), String> {
        self.ws.ping(payload).map_err(|e| e.to_string())
    }
    fn next_event(&mut self) -> Option<Result<Event, String>> {
        self.ws.next_event().map(|r| r.map_err(|e| e.to_string()))
    }
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), String> {
        self.ws.close(code, reason).map_err(|e| e.to_string())
    }
    fn close_received(&self) -> Option<CloseFrame> {
        self.ws.close_received().cloned()
    }
    fn subprotocol(&self) -> Option<String> {
        self.ws.subprotocol().map(str::to_owned)
    }
    fn compressed(&self) -> bool {
        self.ws.connection().has_extension()
    }
}

/// The echo loop body shared by the async servers: repeat, or close when asked.
macro_rules! echo_loop {
    ($ws:expr) => {
        while let Some(Ok(message)) = $ws.recv().await {
            if let Some((code, reason)) = close_request(&message) {
                let _ = $ws.close(code, &reason).await;
                break;
            }
            if $ws.feed(message).await.is_err() {
                break;
            }
        }
    };
}

fn tokio_echo(tx: &mpsc::Sender<String>, config: ServerConfig) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        let Ok(mut server) = wsproto_tokio::Server::bind_with("127.0.0.1:0", config).await else {
            return;
        };
        let _ = tx.send(server.url());
        while let Ok(mut ws) = server.accept().await {
            tokio::spawn(async move { echo_loop!(ws) });
        }
    });
}

async fn smol_echo(tx: &mpsc::Sender<String>, config: ServerConfig) {
    let Ok(mut server) = wsproto_smol::Server::bind_with("127.0.0.1:0", config).await else {
        return;
    };
    let _ = tx.send(server.url());
    while let Ok(mut ws) = server.accept().await {
        smol::spawn(async move { echo_loop!(ws) }).detach();
    }
}

async fn async_std_echo(tx: &mpsc::Sender<String>, config: ServerConfig) {
    let Ok(mut server) = wsproto_async_std::Server::bind_with("127.0.0.1:0", config).await else {
        return;
    };
    let _ = tx.send(server.url());
    while let Ok(mut ws) = server.accept().await {
        async_std::task::spawn(async move { echo_loop!(ws) });
    }
}

fn blocking_echo(tx: &mpsc::Sender<String>, config: ServerConfig) {
    let Ok(server) = wsproto_blocking::Server::bind_with("127.0.0.1:0", config) else {
        return;
    };
    let _ = tx.send(server.url());
    while let Ok(mut ws) = server.accept() {
        thread::spawn(move || {
            while let Some(Ok(message)) = ws.recv() {
                if let Some((code, reason)) = close_request(&message) {
                    let _ = ws.close(code, &reason);
                    break;
                }
                if ws.feed(message).is_err() {
                    break;
                }
            }
        });
    }
}
