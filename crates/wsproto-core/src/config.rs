//! Behaviour ([`Config`]) and resource bounds ([`Limits`]) of a connection.
//!
//! Both are plain values with private fields, sensible defaults (see `DESIGN.md`) and chained
//! setters named after the field. Behaviour switches change what the engine does; limits bound
//! what a peer can make it hold in memory, and every limit documents the cost of raising it.

use core::num::NonZeroUsize;
use core::time::Duration;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Resource bounds that protect a connection against a peer (and against itself).
///
/// Every limit is enforced before the bytes it guards are buffered: a frame header that claims
/// more than [`max_frame_size`](Self::max_frame_size) fails the connection with close code 1009
/// before any of its payload is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    max_message_size: usize,
    max_frame_size: usize,
    max_fragments: usize,
    max_header_bytes: usize,
    max_headers: usize,
    write_high_water: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 64 * MIB,
            max_frame_size: 16 * MIB,
            max_fragments: 128 * KIB,
            max_header_bytes: 16 * KIB,
            max_headers: 64,
            write_high_water: MIB,
        }
    }
}

impl Limits {
    /// Largest incoming message, in payload bytes, summed over all of its frames (after
    /// decompression when an extension compresses).
    ///
    /// Default 64 MiB. Whole-message delivery buffers up to this much per connection; a
    /// message that would exceed it fails the connection with close code 1009.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Largest incoming frame payload, in bytes.
    ///
    /// Default 16 MiB. Checked against the length in the frame header, before any payload byte
    /// is buffered; larger frames fail the connection with close code 1009.
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Most frames one message may be split into.
    ///
    /// Default 131 072 (Autobahn's 4 MiB message in 64-byte fragments needs 65 536). Fragments
    /// cost no memory beyond their payload, but a flood of empty ones costs CPU without ever
    /// completing a message; exceeding this fails the connection with close code 1009.
    #[must_use]
    pub fn max_fragments(mut self, count: usize) -> Self {
        self.max_fragments = count;
        self
    }

    /// Largest opening-handshake head (request or response line plus headers), in bytes.
    ///
    /// Default 16 KiB. A larger head is refused (431 on the server side) before more is read.
    #[must_use]
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Most header lines in an opening-handshake request or response.
    ///
    /// Default 64. More headers are refused (431 on the server side).
    #[must_use]
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// Outgoing bytes the engine may hold before data sends are refused.
    ///
    /// Default 1 MiB. Once this many bytes wait to be written, `send_*` returns
    /// [`SendError::WriteBufferFull`](crate::SendError::WriteBufferFull) until the caller
    /// drains the transmit queue; a send that starts below the mark is queued whole. Control
    /// frames (pong, close) are never refused. This bounds memory when a peer stops reading.
    /// An empty queue is never full: 0 lets one send in at a time.
    #[must_use]
    pub fn write_high_water(mut self, bytes: usize) -> Self {
        self.write_high_water = bytes;
        self
    }

    /// See [`Limits::max_message_size`].
    #[must_use]
    pub fn get_max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// See [`Limits::max_frame_size`].
    #[must_use]
    pub fn get_max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// See [`Limits::max_fragments`].
    #[must_use]
    pub fn get_max_fragments(&self) -> usize {
        self.max_fragments
    }

    /// See [`Limits::max_header_bytes`].
    #[must_use]
    pub fn get_max_header_bytes(&self) -> usize {
        self.max_header_bytes
    }

    /// See [`Limits::max_headers`].
    #[must_use]
    pub fn get_max_headers(&self) -> usize {
        self.max_headers
    }

    /// See [`Limits::write_high_water`].
    #[must_use]
    pub fn get_write_high_water(&self) -> usize {
        self.write_high_water
    }
}

/// How incoming data messages are handed to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Buffer each message and deliver it whole as [`Event::Message`](crate::Event::Message).
    #[default]
    Whole,
    /// Deliver payload as it arrives as [`Event::Fragment`](crate::Event::Fragment) chunks, the
    /// last one flagged `fin`. Memory stays bounded by the read size, whatever the message size.
    Streaming,
}

/// Behaviour of a connection: what it does on its own and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    delivery: Delivery,
    auto_pong: bool,
    outgoing_frame_size: NonZeroUsize,
    close_timeout: Duration,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
    half_close: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            delivery: Delivery::Whole,
            auto_pong: true,
            outgoing_frame_size: NonZeroUsize::new(512 * KIB).unwrap_or(NonZeroUsize::MIN),
            close_timeout: Duration::from_secs(5),
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(10),
            half_close: false,
        }
    }
}

impl Config {
    /// Whole messages or streaming chunks; default [`Delivery::Whole`].
    #[must_use]
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// Answer every ping with a pong automatically, as RFC 6455 §5.5.2 requires.
    ///
    /// Default `true`. Turn off only to answer pings yourself (with
    /// [`Connection::pong`](crate::Connection::pong)); pings are reported as events either way.
    #[must_use]
    pub fn auto_pong(mut self, enabled: bool) -> Self {
        self.auto_pong = enabled;
        self
    }

    /// Largest payload per outgoing frame; longer messages are split into continuation frames.
    ///
    /// Default 512 KiB (as Qt). Smaller frames interleave control frames sooner; larger ones
    /// save a few header bytes.
    #[must_use]
    pub fn outgoing_frame_size(mut self, bytes: NonZeroUsize) -> Self {
        self.outgoing_frame_size = bytes;
        self
    }

    /// How long to wait for the peer's Close after sending ours before giving up.
    ///
    /// Default 5 s. After it, the connection is closed without a clean close handshake.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Send a ping after this long without hearing from the peer; `None` (default) disables it.
    #[must_use]
    pub fn keepalive_interval(mut self, interval: Option<Duration>) -> Self {
        self.keepalive_interval = interval;
        self
    }

    /// How long after a keepalive ping the peer has to send anything before the connection is
    /// declared dead ([`ConnectionLost::KeepaliveTimeout`](crate::ConnectionLost::KeepaliveTimeout)).
    ///
    /// Default 10 s. Only used when [`keepalive_interval`](Self::keepalive_interval) is set.
    #[must_use]
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive_timeout = timeout;
        self
    }

    /// Let a received Close end only the peer's sending side, as a TCP FIN does: ours stays
    /// open for data until the application calls [`Connection::close`](crate::Connection::close),
    /// which sends the answering Close after everything queued.
    ///
    /// Default `false`: the Close is answered at once (RFC 6455 §5.5.1, "as soon as
    /// practical"). Turn it on to carry byte streams whose ends finish at different times (a
    /// tunnel whose client is done writing but still expects the answer); the peer waits for
    /// our Close up to its own close timeout, which on a half-closing connection counts the
    /// silence since the last input (a peer that keeps sending is waited for). Pings and
    /// pongs are not sent while the answer is pending.
    #[must_use]
    pub fn half_close(mut self, enabled: bool) -> Self {
        self.half_close = enabled;
        self
    }

    /// See [`Config::delivery`].
    #[must_use]
    pub fn get_delivery(&self) -> Delivery {
        self.delivery
    }

    /// See [`Config::auto_pong`].
    #[must_use]
    pub fn get_auto_pong(&self) -> bool {
        self.auto_pong
    }

    /// See [`Config::outgoing_frame_size`].
    #[must_use]
    pub fn get_outgoing_frame_size(&self) -> NonZeroUsize {
        self.outgoing_frame_size
    }

    /// See [`Config::close_timeout`].
    #[must_use]
    pub fn get_close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// See [`Config::keepalive_interval`].
    #[must_use]
    pub fn get_keepalive_interval(&self) -> Option<Duration> {
        self.keepalive_interval
    }

    /// See [`Config::keepalive_timeout`].
    #[must_use]
    pub fn get_keepalive_timeout(&self) -> Duration {
        self.keepalive_timeout
    }

    /// See [`Config::half_close`].
    #[must_use]
    pub fn get_half_close(&self) -> bool {
        self.half_close
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let limits = Limits::default();
        assert_eq!(limits.get_max_message_size(), 64 * MIB);
        assert_eq!(limits.get_max_frame_size(), 16 * MIB);
        assert_eq!(limits.get_max_header_bytes(), 16 * KIB);
        assert_eq!(limits.get_max_headers(), 64);
        assert_eq!(limits.get_write_high_water(), MIB);
        let config = Config::default();
        assert_eq!(config.get_outgoing_frame_size().get(), 512 * KIB);
        assert_eq!(config.get_close_timeout(), Duration::from_secs(5));
        assert!(config.get_auto_pong());
        assert_eq!(config.get_keepalive_interval(), None);
        assert!(!config.get_half_close());
    }

    #[test]
    fn setters_chain() {
        let limits = Limits::default().max_message_size(10).max_frame_size(5);
        assert_eq!(limits.get_max_message_size(), 10);
        assert_eq!(limits.get_max_frame_size(), 5);
    }
}
