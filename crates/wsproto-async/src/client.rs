//! The client side of the opening handshake over any [`Transport`]: the async driver of the
//! one [`ClientOpening`] sequence. Adapters add the TCP connection on top.

use wsproto_core::BytesMut;
use wsproto_setup::{ClientConfig, ClientOpening, Deadline, Error, Result};

use crate::runtime::{Transport, read_some, with_deadline, write_all};
use crate::websocket::WebSocket;

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
    write_all(&mut stream, opening.transmit())
        .await
        .map_err(Error::Io)?;
    let sent = opening.transmit().len();
    opening.advance_transmit(sent);
    let mut buf = BytesMut::new();
    loop {
        let n = read_some(&mut stream, &mut buf).await.map_err(Error::Io)?;
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
