//! The client side: [`connect_with`] over any [`Runtime`]'s TCP, and the async driver of the
//! one [`ClientOpening`] sequence over any [`Transport`] ([`client_over`], [`open_client`]).

use wsproto_core::BytesMut;
use wsproto_setup::{ClientConfig, ClientOpening, Deadline, Error, Result};

use crate::maybe_tls::{self, MaybeTls};
use crate::runtime::{Runtime, TimerOf, Transport, read_some, with_deadline, write_all};
use crate::websocket::WebSocket;

/// Connects to a `ws://` URL over runtime `R`'s TCP with `options`; the handshake timeout
/// covers DNS, TCP and the handshake together.
///
/// Errors tell the stages apart: [`Error::Connect`] for DNS and TCP, [`Error::Handshake`] for
/// a refusal (with the HTTP status), a malformed answer or a timeout, and `Error::Tls` for the
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
    let connecting = R::connect(opening.host().to_owned(), opening.port());
    let tcp = match with_deadline::<TimerOf<R>, _>(deadline, connecting).await {
        Some(Ok(stream)) => stream,
        Some(Err(error)) => return Err(Error::Connect(error)),
        None => return Err(Deadline::error()),
    };
    let securing = maybe_tls::client_side(tcp, tls, opening.host());
    let stream = match with_deadline::<TimerOf<R>, _>(deadline, securing).await {
        Some(stream) => stream?,
        None => return Err(Deadline::error()),
    };
    open_client(stream, opening).await
}

/// Runs the client handshake for `url` over a transport you connected yourself (TLS, a
/// proxy's `CONNECT` tunnel, ...), within the handshake timeout. The URL's scheme only decides
/// the default port in `Host`.
pub async fn client_over<T: Transport>(
    stream: T,
    url: &str,
    options: ClientConfig,
) -> Result<WebSocket<T>> {
    open_client(stream, ClientOpening::new(url, options)?).await
}

/// Runs `opening` over `stream` until the response is complete or the opening's deadline
/// passes (adapters start the opening before connecting, so the deadline covers both).
pub async fn open_client<T: Transport>(stream: T, opening: ClientOpening) -> Result<WebSocket<T>> {
    let deadline = opening.deadline().at();
    match with_deadline::<T::Timer, _>(deadline, drive(stream, opening)).await {
        Some(result) => result,
        None => Err(Deadline::error()),
    }
}

async fn drive<T: Transport>(mut stream: T, mut opening: ClientOpening) -> Result<WebSocket<T>> {
    if let Err(error) = write_all(&mut stream, opening.transmit()).await {
        return Err(opening.io_error(error));
    }
    let sent = opening.transmit().len();
    opening.advance_transmit(sent);
    let mut buf = BytesMut::new();
    loop {
        let n = match read_some(&mut stream, &mut buf).await {
            Ok(n) => n,
            Err(error) => return Err(opening.io_error(error)),
        };
        if n == 0 {
            return Err(opening.handle_eof());
        }
        if opening.handle_input(&buf)? {
            break;
        }
    }
    let (conn, info, origin) = opening.finish()?;
    Ok(WebSocket::from_parts(stream, conn, origin, info))
}
