//! The engine for a stream whose opening handshake another HTTP stack (hyper, axum, your own)
//! did: [`HttpUpgrade`] answers the request that stack parsed exactly as our servers do, and
//! [`upgraded_connection`] starts a bare engine when the handshake was settled elsewhere.

use wsproto_core::handshake::Request;
use wsproto_core::{Config, Connection, Instant, Limits, Role};

use crate::http_response::HttpResponse;
use crate::info::HandshakeInfo;
use crate::rng::mask_rng;
use crate::server::{ServerConfig, Upgrade};

/// A WebSocket upgrade request another HTTP stack parsed, answered by a [`ServerConfig`]
/// exactly as a server's own opening ([`ServerOpening`](crate::ServerOpening)) would: the RFC 6455 checks, the
/// request check, subprotocol and permessage-deflate negotiation, the server name and the
/// extra headers. That stack writes `101 Switching Protocols` with
/// [`response_headers`](Self::response_headers), completes its upgrade, and the connection
/// starts with [`into_connection`](Self::into_connection).
///
/// ```
/// use wsproto_setup::{HttpUpgrade, ServerConfig};
///
/// let config = ServerConfig::default().subprotocol("chat");
/// let headers = [
///     ("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
///     ("Sec-WebSocket-Protocol", "chat"),
/// ];
/// let headers = headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
/// let upgrade = HttpUpgrade::answer(&config, "GET", "/", headers).unwrap();
/// assert!(upgrade.response_headers().contains(&("Sec-WebSocket-Protocol".into(), "chat".into())));
/// let (_connection, info) = upgrade.into_connection(&[]);
/// assert_eq!(info.subprotocol(), Some("chat"));
/// ```
pub struct HttpUpgrade {
    headers: Vec<(String, String)>,
    upgrade: Upgrade,
    config: Config,
    limits: Limits,
}

impl HttpUpgrade {
    /// Answers the request `method target` with `headers` (as the HTTP stack parsed them).
    ///
    /// # Errors
    ///
    /// The response to send instead of upgrading: the status and headers an invalid request
    /// calls for ([`HttpResponse::for_handshake_error`]; a 426 names version 13), or the
    /// refusal of [`ServerConfig::check_request`].
    pub fn answer(
        config: &ServerConfig,
        method: &str,
        target: &str,
        headers: Vec<(String, Vec<u8>)>,
    ) -> Result<Self, HttpResponse> {
        let request = Request::from_parts(method, target, headers)
            .map_err(|error| HttpResponse::for_handshake_error(&error))?;
        let upgrade = config.decide(&request)?;
        // Only an invalid extra header the application configured fails here
        // (`ServerConfig::response_header`): the server's fault, not the client's.
        let headers = upgrade
            .accept
            .response_headers(&request)
            .map_err(|error| HttpResponse::new(500).body(format!("{error}\n")))?;
        Ok(Self {
            headers,
            upgrade,
            config: config.config.clone(),
            limits: config.limits.clone(),
        })
    }

    /// The headers of the `101 Switching Protocols` response, in order: `Upgrade`,
    /// `Connection`, `Sec-WebSocket-Accept`, the selected subprotocol and extensions, then
    /// `Server` and the configured extra headers.
    #[must_use]
    pub fn response_headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// What the handshake settled: the subprotocol, the path, and the request headers when
    /// [`ServerConfig::keep_request_headers`] is on.
    #[must_use]
    pub fn info(&self) -> &HandshakeInfo {
        &self.upgrade.info
    }

    /// The server-role engine for the upgraded stream, with the negotiated extension
    /// installed and its clock at zero; `leftover` are bytes the HTTP stack read past the
    /// request that belong to the WebSocket (hyper replays them itself: pass none).
    #[must_use]
    pub fn into_connection(self, leftover: &[u8]) -> (Connection, HandshakeInfo) {
        let Upgrade {
            extension, info, ..
        } = self.upgrade;
        let mut conn = Connection::server(self.config, self.limits, Instant::ZERO);
        if let Some(extension) = extension {
            conn = conn.with_extension(extension);
        }
        if !leftover.is_empty() {
            conn.handle_input(leftover, Instant::ZERO);
        }
        (conn, info)
    }
}

impl std::fmt::Debug for HttpUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUpgrade")
            .field("headers", &self.headers)
            .field("info", &self.upgrade.info)
            .finish_non_exhaustive()
    }
}

/// Starts the engine directly in `role` on a connection that is already upgraded, with its
/// clock at zero; `leftover` are bytes read past the handshake that belong to the WebSocket.
/// A client role masks with keys from the operating system's generator.
#[must_use]
pub fn upgraded_connection(
    role: Role,
    config: Config,
    limits: Limits,
    leftover: &[u8],
) -> Connection {
    let mut conn = match role {
        Role::Server => Connection::server(config, limits, Instant::ZERO),
        Role::Client => Connection::client(config, limits, mask_rng(), Instant::ZERO),
    };
    if !leftover.is_empty() {
        conn.handle_input(leftover, Instant::ZERO);
    }
    conn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerOpening;

    fn headers(extra: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        let base = [
            ("Host", "example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ];
        base.iter()
            .chain(extra)
            .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    /// The 101 our own servers write, as (name, value) pairs.
    fn headers_of_our_101(
        config: &ServerConfig,
        request: &[(String, Vec<u8>)],
    ) -> Vec<(String, String)> {
        let mut raw = b"GET /chat HTTP/1.1\r\n".to_vec();
        for (name, value) in request {
            raw.extend_from_slice(format!("{name}: ").as_bytes());
            raw.extend_from_slice(value);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        let mut opening = ServerOpening::new(config);
        assert!(opening.handle_input(&raw).unwrap());
        let (conn, _, _) = opening.finish().unwrap();
        let response = String::from_utf8(conn.transmit().to_vec()).unwrap();
        let head = response.split("\r\n\r\n").next().unwrap();
        head.lines()
            .skip(1)
            .map(|line| {
                let (name, value) = line.split_once(": ").unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect()
    }

    #[test]
    fn another_stack_gets_the_same_101_and_the_same_negotiation_as_our_servers() {
        let config = ServerConfig::default()
            .subprotocol("chat")
            .server_name("wsproto-test")
            .response_header("Set-Cookie", "a=1")
            .deflate(Some(wsproto_core::deflate::DeflateConfig::default()));
        let request = headers(&[
            ("Sec-WebSocket-Protocol", "other, chat"),
            (
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits",
            ),
        ]);
        let upgrade = HttpUpgrade::answer(&config, "GET", "/chat", request.clone()).unwrap();
        assert_eq!(
            upgrade.response_headers(),
            headers_of_our_101(&config, &request)
        );
        assert!(
            upgrade.response_headers().iter().any(
                |(n, v)| n == "Sec-WebSocket-Extensions" && v.starts_with("permessage-deflate")
            )
        );
        assert_eq!(upgrade.info().path(), Some("/chat"));
        let (mut conn, info) = upgrade.into_connection(&[]);
        assert_eq!(info.subprotocol(), Some("chat"));
        // Compression is on: a compressible message leaves smaller than it is.
        conn.send_text(&"a".repeat(1000)).unwrap();
        assert!(conn.transmit().len() < 100);
    }

    #[test]
    fn an_invalid_request_or_a_refusal_gets_the_response_our_servers_would_send() {
        let config = ServerConfig::default();
        let old = headers(&[])
            .into_iter()
            .filter(|(n, _)| n != "Sec-WebSocket-Version")
            .collect();
        let refused = HttpUpgrade::answer(&config, "GET", "/", old).unwrap_err();
        assert_eq!(refused.status(), 426);
        assert!(
            refused
                .get_headers()
                .contains(&("Sec-WebSocket-Version".into(), "13".into()))
        );
        let refused = HttpUpgrade::answer(&config, "POST", "/", headers(&[])).unwrap_err();
        assert_eq!(refused.status(), 405);
        assert!(
            refused
                .get_headers()
                .contains(&("Allow".into(), "GET".into()))
        );
        let config = config.check_request(|_| Err(HttpResponse::new(403).body("no")));
        let refused = HttpUpgrade::answer(&config, "GET", "/", headers(&[])).unwrap_err();
        assert_eq!((refused.status(), refused.get_body()), (403, &b"no"[..]));
    }

    #[test]
    fn bytes_read_past_the_request_reach_the_connection() {
        let mut client =
            upgraded_connection(Role::Client, Config::default(), Limits::default(), &[]);
        client.send_text("early").unwrap();
        let early = client.transmit().to_vec();
        let upgrade =
            HttpUpgrade::answer(&ServerConfig::default(), "GET", "/", headers(&[])).unwrap();
        let (mut server, _) = upgrade.into_connection(&early);
        match server.poll_event().unwrap() {
            Some(wsproto_core::Event::Message(message)) => {
                assert_eq!(&message.payload()[..], b"early");
            }
            other => panic!("{other:?}"),
        }
    }
}
