//! The server side of the opening handshake over any [`Transport`] ([`accept_stream`]): the
//! async driver of the one [`ServerOpening`] sequence. [`Server`](crate::Server) runs it for
//! every connection it accepts.

use wsproto_core::BytesMut;
use wsproto_setup::{Deadline, Error, Result, ServerConfig, ServerOpening};

use crate::maybe_tls::{self, MaybeTls};
use crate::runtime::{Transport, read_some, with_deadline, write_all};
use crate::websocket::WebSocket;

/// Runs the server side of the opening handshake on a stream you accepted yourself, within
/// the configured handshake timeout.
///
/// On a refused or invalid request the HTTP response is written and the error returned:
/// [`Error::Handshake`] (e.g. [`HandshakeError::Timeout`](wsproto_core::handshake::HandshakeError::Timeout))
/// or [`Error::Refused`] with the status the request check chose.
pub async fn accept_stream<T: Transport>(stream: T, config: &ServerConfig) -> Result<WebSocket<T>> {
    let opening = ServerOpening::new(config);
    let deadline = opening.deadline().at();
    match with_deadline::<T::Timer, _>(deadline, drive(stream, opening)).await {
        Some(result) => result,
        None => Err(Deadline::error()),
    }
}

/// The opening of a TCP connection a [`Server`](crate::Server) accepted: TLS first when the
/// server has a certificate, then the upgrade, both within the one handshake deadline.
/// `claim` takes the connection out of eviction's reach once its request has arrived
/// ([`ServerOpening::claimed_by`]).
pub(crate) async fn accept_tcp<T: Transport>(
    stream: T,
    config: &ServerConfig,
    claim: impl FnOnce() -> bool + Send + Sync,
) -> Result<WebSocket<MaybeTls<T>>> {
    let opening = ServerOpening::new(config).claimed_by(claim);
    let deadline = opening.deadline().at();
    let opened = async {
        let stream = maybe_tls::server_side(stream, config).await?;
        drive(stream, opening).await
    };
    match with_deadline::<T::Timer, _>(deadline, opened).await {
        Some(result) => result,
        None => Err(Deadline::error()),
    }
}

async fn drive<T: Transport>(
    mut stream: T,
    mut opening: ServerOpening<'_>,
) -> Result<WebSocket<T>> {
    let mut buf = BytesMut::new();
    loop {
        let n = read_some(&mut stream, &mut buf).await.map_err(Error::Io)?;
        if n == 0 {
            return Err(opening.handle_eof());
        }
        match opening.handle_input(&buf) {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => {
                finish_refusal(&mut stream, opening.transmit()).await;
                return Err(error);
            }
        }
    }
    let (conn, info, origin) = opening.finish()?;
    // The 101 is queued in the connection ahead of any frame; write it now so the client
    // can start even if the application only sends later.
    let mut ws = WebSocket::from_parts(stream, conn, origin, info);
    ws.flush().await?;
    Ok(ws)
}

/// Writes the error response and closes the stream; failures are moot at this point.
async fn finish_refusal<T: Transport>(stream: &mut T, response: &[u8]) {
    if write_all(stream, response).await.is_ok() {
        let _ = std::future::poll_fn(|cx| stream.poll_shutdown(cx)).await;
    }
}
