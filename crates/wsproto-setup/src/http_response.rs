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
