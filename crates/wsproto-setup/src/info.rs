//! [`HandshakeInfo`]: what the opening handshake settled, kept for the application.

/// What the handshake settled, kept for the application to read.
#[derive(Clone, Debug, Default)]
pub struct HandshakeInfo {
    subprotocol: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    path: Option<String>,
}

impl HandshakeInfo {
    /// What a handshake settled: the agreed subprotocol, the peer's headers, the path.
    #[must_use]
    pub fn new(
        subprotocol: Option<String>,
        headers: Vec<(String, Vec<u8>)>,
        path: Option<String>,
    ) -> Self {
        Self {
            subprotocol,
            headers,
            path,
        }
    }

    /// The subprotocol both sides agreed on, if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The peer's handshake headers: the server's response headers on a client; the client's
    /// request headers on a server only with
    /// [`ServerConfig::keep_request_headers`](crate::ServerConfig::keep_request_headers).
    #[must_use]
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The first header named `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The request target (path and query) the client asked for; on a client, the one it sent.
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
}
