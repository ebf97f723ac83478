//! [`HttpResponse`]: what a server sends instead of upgrading.

use wsproto_core::handshake::{HandshakeError, ServerHandshake};

/// An HTTP response the server sends instead of upgrading: a refusal from the request check,
/// or a page for a plain `GET`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status` (200..=599) and an empty body.
    #[must_use]
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (`Content-Type` replaces the default `text/plain`).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The answer to a request that is not a valid upgrade (RFC 6455 §4.2.1): the error's
    /// [status](HandshakeError::http_status) (400 if it has none) with the headers it needs
    /// (a 426 names version 13) and the error as a text body.
    #[must_use]
    pub fn for_handshake_error(error: &HandshakeError) -> Self {
        let mut response = Self::new(error.http_status().unwrap_or(400));
        for (name, value) in error.response_headers() {
            response = response.header(name, value);
        }
        response.body(format!("{error}\n"))
    }

    /// The headers added with [`header`](Self::header), in order (a stack writing the
    /// response itself adds `Content-Type: text/plain` unless one is there).
    #[must_use]
    pub fn get_headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    #[must_use]
    pub fn get_body(&self) -> &[u8] {
        &self.body
    }

    /// Queues this response on a server handshake in place of the upgrade.
    pub fn queue_on(&self, machine: &mut ServerHandshake) -> Result<(), HandshakeError> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        machine.respond(self.status, &headers, &self.body)
    }
}
