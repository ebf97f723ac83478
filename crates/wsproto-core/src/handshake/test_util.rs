//! Fixtures shared by the handshake tests: the RFC 6455 §1.3 example request and deterministic
//! stand-ins for a random number generator.

use alloc::string::String;

use rand_core::RngCore;

use super::ServerHandshake;

/// The client handshake of RFC 6455 §1.3.
pub(crate) const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

/// [`RFC_REQUEST`] with `line` replacing the header line that starts with `prefix` (removing it
/// when `line` is empty).
pub(crate) fn request_with(prefix: &str, line: &str) -> String {
    RFC_REQUEST
        .split_inclusive("\r\n")
        .map(|l| if l.starts_with(prefix) { line } else { l })
        .collect()
}

/// The server's pending output as text.
pub(crate) fn transmit_text(server: &ServerHandshake) -> &str {
    core::str::from_utf8(server.transmit()).unwrap_or_default()
}

/// Fills with `n, n + 1, ...`: a deterministic stand-in for a real RNG.
pub(crate) struct CountingRng(pub(crate) u8);

impl RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
}

/// Yields the nonce of the RFC 6455 §1.3 example, "the sample nonce", whose key is
/// `dGhlIHNhbXBsZSBub25jZQ==`.
pub(crate) struct SampleNonce;

impl RngCore for SampleNonce {
    fn next_u32(&mut self) -> u32 {
        0
    }

    fn next_u64(&mut self) -> u64 {
        0
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for (d, s) in dst.iter_mut().zip(b"the sample nonce".iter().cycle()) {
            *d = *s;
        }
    }
}
