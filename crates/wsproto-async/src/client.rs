//! The client side: [`connect_with`] over any [`Runtime`]'s TCP (directly or through a
//! proxy), and the async driver of the opening's steps over any [`Transport`]
//! ([`client_over`], [`open_client`], [`exchange`]).

use std::net::IpAddr;
use std::time::Instant;

use wsproto_core::BytesMut;
use wsproto_setup::{ClientConfig, ClientOpening, Deadline, Exchange, Result};

use crate::maybe_tls::{self, MaybeTls};
use crate::runtime::{Runtime, TimerOf, Transport, read_some, with_deadline, write_all};
use crate::websocket::WebSocket;

/// Connects to a `ws://` or `wss://` URL over runtime `R`'s TCP with `options`; the handshake
/// timeout covers DNS, TCP, the proxy tunnel, TLS and the handshake together.
///
/// Errors tell the stages apart: [`Error::Connect`](crate::Error::Connect) for DNS and TCP,
/// [`Error::Proxy`](crate::Error::Proxy) for the proxy hop ([`ClientConfig::proxy`]:
/// unreachable, a 407, a SOCKS reply...), [`Error::Handshake`](crate::Error::Handshake) for a
/// refusal (with the HTTP status), a malformed answer or a timeout, and `Error::Tls` for the
/// TLS handshake of `wss://` (an untrusted, expired or misnamed certificate...). TLS (feature
/// `tls`, on by default) checks the certificate against the URL's host, trusting what
/// [`ClientConfig::tls`] says.
pub async fn connect_with<R: Runtime>(
    url: &str,
    options: ClientConfig,
) -> Result<WebSocket<MaybeTls<R::Tcp>>> {
    let opening = ClientOpening::new(url, options)?;
    // Fails before connecting when `wss://` cannot be served (no `tls` feature, a bad name).
    let tls = opening.tls()?;
    let deadline = opening.deadline().at();
    // Owned before awaiting: a `ClientOpening` is `Send` but not `Sync`.
    let resolved = match opening
        .tunnel_resolve()
        .map(|(host, port)| (host.to_owned(), port))
    {
        Some((host, port)) => {
            let addrs = with_deadline::<TimerOf<R>, _>(deadline, R::resolve(host, port)).await;
            Some(first_address(&opening, addrs)?)
        }
        None => None,
    };
    let (host, port) = opening.tcp_target();
    let connecting = R::connect(host.to_owned(), port);
    let mut tcp = match with_deadline::<TimerOf<R>, _>(deadline, connecting).await {
        Some(Ok(stream)) => stream,
        Some(Err(error)) => return Err(opening.connect_error(error)),
        None => return Err(opening.connect_timeout_error()),
    };
    if let Some(mut tunnel) = opening.tunnel(resolved)? {
        exchange(&mut tcp, &mut tunnel, deadline).await?;
    }
    let securing = maybe_tls::client_side(tcp, tls, opening.host());
    let stream = match with_deadline::<TimerOf<R>, _>(deadline, securing).await {
        Some(stream) => stream?,
        None => return Err(Deadline::error()),
    };
    open_client(stream, opening).await
}

/// The first address a resolution within the deadline found.
fn first_address(
    opening: &ClientOpening,
    addrs: Option<std::io::Result<Vec<std::net::SocketAddr>>>,
) -> Result<IpAddr> {
    match addrs {
        Some(Ok(addrs)) => addrs
            .first()
            .map(|addr| addr.ip())
            .ok_or_else(|| opening.resolve_error(std::io::ErrorKind::NotFound.into())),
        Some(Err(error)) => Err(opening.resolve_error(error)),
        None => Err(opening.connect_timeout_error()),
    }
}

/// Runs the client handshake for `url` over a transport you connected yourself (TLS, a
/// tunnel of your own, ...), within the handshake timeout. The URL's scheme only decides the
/// default port in `Host`.
pub async fn client_over<T: Transport>(
    stream: T,
    url: &str,
    options: ClientConfig,
) -> Result<WebSocket<T>> {
    open_client(stream, ClientOpening::new(url, options)?).await
}

/// Runs `opening` over `stream` until the response is complete or the opening's deadline
/// passes (adapters start the opening before connecting, so the deadline covers both).
pub async fn open_client<T: Transport>(
    mut stream: T,
    mut opening: ClientOpening,
) -> Result<WebSocket<T>> {
    let deadline = opening.deadline().at();
    exchange(&mut stream, &mut opening, deadline).await?;
    let (conn, info, origin) = opening.finish()?;
    Ok(WebSocket::from_parts(stream, conn, origin, info))
}

/// Drives one step of an opening over `stream`: writes what it says, reads, feeds, until it
/// is complete or `deadline` passes ([`Exchange::timeout_error`]). The same loop opens a
/// proxy tunnel and runs the HTTP upgrade.
pub async fn exchange<T: Transport, E: Exchange>(
    stream: &mut T,
    step: &mut E,
    deadline: Instant,
) -> Result<()> {
    match with_deadline::<T::Timer, _>(deadline, exchange_steps(stream, step)).await {
        Some(result) => result,
        None => Err(step.timeout_error()),
    }
}

async fn exchange_steps<T: Transport, E: Exchange>(stream: &mut T, step: &mut E) -> Result<()> {
    let mut buf = BytesMut::new();
    loop {
        let pending = step.transmit().len();
        if pending > 0 {
            if let Err(error) = write_all(stream, step.transmit()).await {
                return Err(step.io_error(error));
            }
            step.advance_transmit(pending);
        }
        let n = match read_some(stream, &mut buf).await {
            Ok(n) => n,
            Err(error) => return Err(step.io_error(error)),
        };
        if n == 0 {
            return Err(step.handle_eof());
        }
        if step.handle_input(&buf)? {
            return Ok(());
        }
    }
}
