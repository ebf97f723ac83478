//! The interface between the engine and a negotiated extension that transforms message payloads
//! and claims RSV bits (RFC 6455 §9), such as permessage-deflate (RFC 7692).
//!
//! The engine keeps all framing rules: it accepts RSV bits only if the extension claims them and
//! only on the first frame of a data message, never on control frames. The extension sees whole
//! payload streams: incoming pieces after unmasking, outgoing whole messages before framing.
//! Negotiation happens in the handshake (which parses `Sec-WebSocket-Extensions` into
//! [`ExtensionParams`](crate::handshake::ExtensionParams)); the result is an extension value
//! handed to [`Connection::with_extension`](crate::Connection::with_extension).

use bytes::BytesMut;
use core::fmt;

use crate::event::MessageKind;

/// A payload transform negotiated for one connection.
///
/// Implementations must never panic on peer data and must respect `max_out` when decoding, so
/// that a small compressed message cannot expand beyond the message limit.
pub trait Extension: Send {
    /// The RSV bits, in place (`0x40` is RSV1), that this extension may set on the first frame
    /// of a data message.
    fn rsv_bits(&self) -> u8;

    /// Decodes the next piece of an incoming message whose first frame carried some of
    /// [`rsv_bits`](Self::rsv_bits). `fin` marks the message's last piece.
    ///
    /// Output is appended to `out`, at most `max_out` bytes in this call; needing more is
    /// [`ExtensionError::TooLarge`] (the connection then closes with 1009).
    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_out: usize,
    ) -> Result<(), ExtensionError>;

    /// Encodes a whole outgoing message into `out`. Returns the RSV bits to set on its first
    /// frame, or `None` to send this message untransformed (then `out` is ignored).
    fn encode(
        &mut self,
        kind: MessageKind,
        input: &[u8],
        out: &mut BytesMut,
    ) -> Result<Option<u8>, ExtensionError>;
}

/// Why an extension could not process a payload.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionError {
    /// Decoding would produce more than the allowed output.
    TooLarge,
    /// The payload is not valid for this extension (e.g. corrupt compressed data).
    Invalid(&'static str),
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => f.write_str("decoded payload exceeds the message limit"),
            Self::Invalid(why) => f.write_str(why),
        }
    }
}

impl core::error::Error for ExtensionError {}

#[cfg(feature = "deflate")]
pub mod deflate;
