//! [`WebSocket`]: an open connection over any transport, as async methods and as a
//! `futures` `Stream` + `Sink`.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_sink::Sink;
use wsproto_core::{
    CloseCode, CloseFrame, Config, Connection, Event, Limits, Message, MessageKind, Role, State,
};

use crate::driver::{Driver, Half};
use crate::runtime::{SocketAddrs, Transport};
use crate::split::{ReadHalf, WriteHalf, split};
use wsproto_setup::{Error, HandshakeInfo, Result};

/// An open WebSocket over a transport `T` (a TCP stream, a TLS stream, an upgraded hyper
/// connection... wrapped in its runtime adapter's transport type).
///
/// Receive with [`recv`](Self::recv) (whole messages) or [`next_event`](Self::next_event)
/// (every event: pings, pongs with round-trip times, the peer's Close, streaming pieces); send
/// with [`send`](Self::send) (queue and write) or [`feed`](Self::feed) (queue only, written at
/// the next flush, receive or high-water mark — the way to batch replies into one write).
///
/// Pongs, the Close echo and masking are automatic. Reading happens only while the
/// application receives, so a slow consumer slows its peer down instead of growing buffers;
/// sends wait while the write buffer is above its high-water mark. All state lives in the
/// engine: dropping a `recv()` future (for example in `select!`) loses nothing.
pub struct WebSocket<T: Transport> {
    pub(crate) driver: Driver<T>,
    pub(crate) info: HandshakeInfo,
}

impl<T: Transport> WebSocket<T> {
    /// Wraps a transport on which the opening handshake already happened (for example a
    /// hyper/axum `Upgraded` connection): starts the engine directly in `role`.
    ///
    /// `leftover` are bytes read past the handshake that belong to the WebSocket.
    pub fn from_upgraded(
        io: T,
        role: Role,
        config: Config,
        limits: Limits,
        leftover: &[u8],
    ) -> Self {
        let conn = wsproto_setup::upgraded_connection(role, config, limits, leftover);
        Self::from_parts(
            io,
            conn,
            std::time::Instant::now(),
            HandshakeInfo::default(),
        )
    }

    /// Wraps a stream that another HTTP stack upgraded after
    /// [`HttpUpgrade::answer`](wsproto_setup::HttpUpgrade::answer) settled its request: the
    /// negotiated subprotocol and permessage-deflate apply, and
    /// [`handshake`](Self::handshake) tells what was settled. `leftover` are bytes
    /// that stack read past the request (none with hyper, which replays them itself).
    pub fn from_http_upgrade(io: T, upgrade: wsproto_setup::HttpUpgrade, leftover: &[u8]) -> Self {
        let (conn, info) = upgrade.into_connection(leftover);
        Self::from_parts(io, conn, std::time::Instant::now(), info)
    }

    /// A connection whose engine counts time from `origin` (the openings start it).
    pub(crate) fn from_parts(
        io: T,
        conn: Connection,
        origin: std::time::Instant,
        info: HandshakeInfo,
    ) -> Self {
        Self {
            driver: Driver::new(io, conn, origin),
            info,
        }
    }

    /// The next whole data message; `None` once the connection is closed.
    ///
    /// Control frames are handled on the way (pongs sent, round-trip times recorded in
    /// [`last_rtt`](Self::last_rtt)). With [`Delivery::Streaming`](wsproto_core::Delivery::Streaming) this returns
    /// [`Error::StreamingDelivery`]; use [`next_event`](Self::next_event) instead.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next event of any kind; `None` once the connection is closed and the transport is
    /// shut down. After an error, the next call returns `None`.
    pub async fn next_event(&mut self) -> Option<Result<Event>> {
        poll_fn(|cx| self.driver.poll_event(cx, Half::Reader)).await
    }

    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        poll_recv_message(&mut self.driver, cx)
    }

    /// Queues `message` and writes everything queued. Waits first while the write buffer is
    /// above its high-water mark.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues `message` without writing it yet (it leaves with the next flush, `recv`, `send`
    /// or when the buffer passes its high-water mark). Waits while the buffer is above the mark.
    pub async fn feed(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| self.driver.poll_send_ready(cx, Half::Writer)).await?;
        self.driver.conn.send(message).map_err(Error::Send)
    }

    /// Sends `message` without compressing it even on a permessage-deflate connection (for
    /// payloads that will not compress, such as media or random tokens).
    pub async fn send_uncompressed(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| self.driver.poll_send_ready(cx, Half::Writer)).await?;
        self.driver.conn.send_uncompressed(message)?;
        self.flush().await
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        poll_fn(|cx| self.driver.poll_send_ready(cx, Half::Writer)).await?;
        self.driver.conn.send_text(text)?;
        self.flush().await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        poll_fn(|cx| self.driver.poll_send_ready(cx, Half::Writer)).await?;
        self.driver.conn.send_binary(data)?;
        self.flush().await
    }

    /// Sends one piece of a message you fragment yourself; the piece with `fin` ends it.
    pub async fn send_fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<()> {
        poll_fn(|cx| self.driver.poll_send_ready(cx, Half::Writer)).await?;
        self.driver.conn.send_fragment(kind, data, fin)?;
        self.flush().await
    }

    /// Sends a ping; the matching pong's round-trip time is reported by
    /// [`next_event`](Self::next_event) and kept in [`last_rtt`](Self::last_rtt).
    ///
    /// Payloads over 125 bytes are refused ([`wsproto_core::SendError::ControlTooLong`]).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        let now = self.driver.now();
        self.driver.conn.ping(payload, now)?;
        self.flush().await
    }

    /// Sends a pong (for a connection configured with `auto_pong(false)`, answering the
    /// pings that [`next_event`](Self::next_event) reports, or as an unsolicited heartbeat).
    ///
    /// Payloads over 125 bytes are refused ([`wsproto_core::SendError::ControlTooLong`]).
    pub async fn pong(&mut self, payload: &[u8]) -> Result<()> {
        self.driver.conn.pong(payload)?;
        self.flush().await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.driver.poll_flush(cx, Half::Writer)).await
    }

    /// Closes cleanly: everything already queued goes first, then a Close with `code` and
    /// `reason`; waits for the peer's Close (up to the close timeout, 5 s by default), then
    /// shuts the transport down. Data messages that arrive meanwhile are dropped; to read
    /// them, send the Close with [`start_close`](Self::start_close) and keep receiving.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        poll_fn(|cx| self.driver.poll_close(cx, code, reason)).await
    }

    /// Queues a Close and writes it, without waiting for the peer's answer; keep receiving to
    /// complete the closing handshake (the stream ends after it).
    pub async fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        let now = self.driver.now();
        self.driver.conn.close(code, reason, now)?;
        self.flush().await
    }

    /// Drops the connection at once, without a closing handshake (Qt's `abort`).
    pub async fn abort(&mut self) -> Result<()> {
        poll_fn(|cx| self.driver.poll_abort(cx))
            .await
            .map_err(Error::Io)
    }

    /// Splits into a receiving and a sending half that can live in two tasks, read half
    /// first as tokio's `TcpStream::into_split`. Pongs and the Close echo keep working while
    /// only the receiving half is polled.
    ///
    /// The name leaves `split()` to `futures`: with `StreamExt` in scope, `ws.split()` is
    /// its `(sink, stream)` pair, as tokio-tungstenite code expects.
    pub fn into_split(self) -> (ReadHalf<T>, WriteHalf<T>) {
        split(self)
    }

    /// Open, closing or closed.
    #[must_use]
    pub fn state(&self) -> State {
        self.driver.conn.state()
    }

    /// The Close the peer sent (its code and reason), once it arrived.
    #[must_use]
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.driver.conn.close_received()
    }

    /// The Close we sent, if any.
    #[must_use]
    pub fn close_sent(&self) -> Option<&CloseFrame> {
        self.driver.conn.close_sent()
    }

    /// Whether messages flow both ways (no Close sent or received yet).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The close code that ended the connection (Qt's `closeCode`): the peer's if it sent a
    /// Close, otherwise ours; `None` while open.
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        self.driver.conn.close_frame().map(CloseFrame::code)
    }

    /// The close reason that goes with [`close_code`](Self::close_code) (Qt's
    /// `closeReason`).
    #[must_use]
    pub fn close_reason(&self) -> Option<&str> {
        self.driver.conn.close_frame().map(CloseFrame::reason)
    }

    /// Bytes queued but not yet written (Qt's `bytesToWrite`).
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.driver.conn.buffered_amount()
    }

    /// Round-trip time measured by the latest answered ping.
    #[must_use]
    pub fn last_rtt(&self) -> Option<Duration> {
        self.driver.conn.last_rtt()
    }

    /// What the opening handshake settled (subprotocol, the peer's headers, the path).
    #[must_use]
    pub fn handshake(&self) -> &HandshakeInfo {
        &self.info
    }

    /// The negotiated subprotocol, if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.info.subprotocol()
    }

    /// The engine, for anything this adapter does not wrap.
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The transport.
    #[must_use]
    pub fn get_ref(&self) -> &T {
        &self.driver.io
    }

    /// Ties this connection to a server's graceful shutdown: once `watch` fires, the
    /// connection starts a 1001 close (adapters' servers do this for every accepted
    /// connection).
    pub fn attach_shutdown(&mut self, watch: wsproto_setup::ShutdownWatch) {
        self.driver.set_shutdown(watch);
    }

    /// Frees the engine's buffers while the connection is idle (each idle connection then
    /// holds only its fixed-size state); they come back on the next traffic.
    pub fn release_buffers(&mut self) {
        self.driver.conn.release_buffers();
    }
}

impl<T: Transport + SocketAddrs> WebSocket<T> {
    /// Our end's address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.driver.io.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.driver.io.peer_addr()
    }
}

impl<T: Transport> std::fmt::Debug for WebSocket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("connection", &self.driver.conn)
            .finish_non_exhaustive()
    }
}

/// `recv` on a driver, shared by [`WebSocket`] and [`ReadHalf`].
pub(crate) fn poll_recv_message<T: Transport>(
    driver: &mut Driver<T>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Message>>> {
    loop {
        match std::task::ready!(driver.poll_event(cx, Half::Reader)) {
            Some(Ok(Event::Message(message))) => return Poll::Ready(Some(Ok(message))),
            Some(Ok(Event::Fragment { .. })) => {
                return Poll::Ready(Some(Err(Error::StreamingDelivery)));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Poll::Ready(Some(Err(error))),
            None => return Poll::Ready(None),
        }
    }
}

impl<T: Transport> Stream for WebSocket<T> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T: Transport> Sink<Message> for WebSocket<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_send_ready(cx, Half::Writer)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        self.get_mut()
            .driver
            .conn
            .send(message)
            .map_err(Error::Send)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_flush(cx, Half::Writer)
    }

    /// Runs the closing handshake with 1000 (normal closure).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_close(cx, CloseCode::NORMAL, "")
    }
}
