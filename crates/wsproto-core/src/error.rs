//! Errors: why a connection failed ([`ConnectionError`]: the peer broke the protocol,
//! [`ProtocolError`], or the connection was lost, [`ConnectionLost`]) and what the caller
//! asked for that cannot be done ([`SendError`]). Handshake errors live with the handshake.
//!
//! A connection error is sticky: once a connection returned one it returns the same one
//! again, and the Close frame a protocol error queued (with [`ProtocolError::close_code`])
//! can still be flushed. A send error never changes the connection.

use core::fmt;

use crate::close::CloseCode;

/// The peer broke RFC 6455 (or a configured limit); the connection is failed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// RSV bits set that no negotiated extension claims (bits as 1 = RSV3 … 4 = RSV1).
    ReservedBits(u8),
    /// A reserved opcode (3–7, 0xB–0xF).
    ReservedOpcode(u8),
    /// A control frame without FIN.
    FragmentedControl,
    /// A control frame with more than 125 bytes of payload.
    ControlTooLong,
    /// A continuation frame with no fragmented message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was still in progress.
    ExpectedContinuation,
    /// An unmasked frame sent by a client (servers require masking).
    UnmaskedFrame,
    /// A masked frame sent by a server (clients reject masking).
    MaskedFrame,
    /// A payload length not encoded in its shortest form, or with the 64-bit top bit set.
    NonMinimalLength,
    /// A frame longer than the frame limit.
    FrameTooLarge {
        /// Length the frame header claimed.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message longer than the message limit.
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A message split into more frames than the fragment limit allows.
    TooManyFragments {
        /// The configured limit.
        limit: usize,
    },
    /// A text message (or close reason) that is not valid UTF-8.
    InvalidUtf8,
    /// A Close frame with a one-byte payload.
    InvalidClosePayload,
    /// A Close frame with a reserved or undefined status code.
    InvalidCloseCode(u16),
    /// A Close frame whose reason is not valid UTF-8.
    InvalidCloseReason,
    /// A negotiated extension could not process a message (e.g. corrupt compressed data).
    Extension(&'static str),
}

impl ProtocolError {
    /// The close code this error is reported with (RFC 6455 §7.4.1).
    #[must_use]
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCloseReason => CloseCode::INVALID_PAYLOAD,
            Self::FrameTooLarge { .. }
            | Self::MessageTooLarge { .. }
            | Self::TooManyFragments { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason for the Close frame (≤ 123 bytes).
    pub(crate) fn close_reason(&self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "invalid utf-8 in text message",
            Self::InvalidCloseReason => "invalid utf-8 in close reason",
            Self::FrameTooLarge { .. } => "frame too large",
            Self::MessageTooLarge { .. } => "message too large",
            Self::TooManyFragments { .. } => "too many fragments",
            _ => "protocol error",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBits(bits) => {
                write!(f, "reserved bits {bits:#05b} set without an extension")
            }
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::FragmentedControl => f.write_str("fragmented control frame"),
            Self::ControlTooLong => f.write_str("control frame payload longer than 125 bytes"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            Self::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            Self::UnmaskedFrame => f.write_str("client sent an unmasked frame"),
            Self::MaskedFrame => f.write_str("server sent a masked frame"),
            Self::NonMinimalLength => f.write_str("frame length not in its shortest form"),
            Self::FrameTooLarge { len, limit } => {
                write!(
                    f,
                    "frame of {len} bytes exceeds the limit of {limit}; raise Limits::max_frame_size if expected"
                )
            }
            Self::MessageTooLarge { limit } => {
                write!(
                    f,
                    "message exceeds the limit of {limit} bytes; raise Limits::max_message_size if expected"
                )
            }
            Self::TooManyFragments { limit } => {
                write!(f, "message split into more than {limit} frames")
            }
            Self::InvalidUtf8 => f.write_str("text message is not valid utf-8"),
            Self::InvalidClosePayload => f.write_str("close frame with a one-byte payload"),
            Self::InvalidCloseCode(code) => write!(f, "close frame with invalid code {code}"),
            Self::InvalidCloseReason => f.write_str("close reason is not valid utf-8"),
            Self::Extension(why) => write!(f, "extension error: {why}"),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// The connection was lost without a closing handshake: not something the peer did wrong in
/// what it sent, so kept apart from [`ProtocolError`]. No Close is sent for it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionLost {
    /// The byte stream ended without a closing handshake (what a Close would call 1006).
    UnexpectedEof,
    /// The peer sent nothing for the keepalive timeout after a keepalive ping.
    KeepaliveTimeout,
}

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnexpectedEof => "the peer closed the connection without a close frame",
            Self::KeepaliveTimeout => "the peer stopped answering keepalive pings",
        })
    }
}

impl core::error::Error for ConnectionLost {}

/// Why a connection failed, as [`Connection::poll_event`](crate::Connection::poll_event)
/// reports it (sticky: every later call returns it again).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionError {
    /// The peer broke RFC 6455 or a configured limit; the Close with the matching code was
    /// queued.
    Protocol(ProtocolError),
    /// The connection was lost without a closing handshake; no Close was queued.
    Lost(ConnectionLost),
}

impl ConnectionError {
    /// The close code that describes the failure: the protocol error's (sent), or 1006 for
    /// a lost connection (never sent).
    #[must_use]
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::Protocol(error) => error.close_code(),
            Self::Lost(_) => CloseCode::ABNORMAL,
        }
    }
}

impl From<ProtocolError> for ConnectionError {
    fn from(error: ProtocolError) -> Self {
        Self::Protocol(error)
    }
}

impl From<ConnectionLost> for ConnectionError {
    fn from(lost: ConnectionLost) -> Self {
        Self::Lost(lost)
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(error) => error.fmt(f),
            Self::Lost(lost) => lost.fmt(f),
        }
    }
}

impl core::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Protocol(error) => Some(error),
            Self::Lost(lost) => Some(lost),
        }
    }
}

/// A command the connection cannot carry out; the connection itself is unaffected.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// A Close frame was already sent or received: no more data, pings or closes.
    Closing,
    /// The connection is closed or failed.
    Closed,
    /// The write buffer holds at least the high-water mark; drain the transmit queue first.
    WriteBufferFull,
    /// A ping or pong payload longer than 125 bytes (RFC 6455 §5.5).
    ControlTooLong,
    /// A close reason longer than 123 bytes.
    ReasonTooLong,
    /// 1005 or 1006, which describe closures but may not be sent.
    UnsendableCloseCode(CloseCode),
    /// A whole message or a new fragmented message while a fragmented send is unfinished.
    FragmentInProgress,
    /// A text piece given to `send_fragment` that can never be UTF-8 with what came before,
    /// or a last piece that ends inside a character; nothing of it was sent.
    InvalidUtf8,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closing => f.write_str("the connection is closing; nothing more can be sent"),
            Self::Closed => f.write_str("the connection is closed"),
            Self::WriteBufferFull => f.write_str(
                "write buffer is above its high-water mark; write out queued bytes first",
            ),
            Self::ControlTooLong => f.write_str("ping and pong payloads are limited to 125 bytes"),
            Self::ReasonTooLong => f.write_str("close reasons are limited to 123 bytes"),
            Self::UnsendableCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::FragmentInProgress => f.write_str(
                "finish the fragmented message in progress (send a fragment with fin) first",
            ),
            Self::InvalidUtf8 => f.write_str(
                "a text fragment must continue valid UTF-8 (and the last one end a character)",
            ),
        }
    }
}

impl core::error::Error for SendError {}
