//! Close codes and the Close frame's payload (RFC 6455 §5.5.1, §7.4).
//!
//! A [`CloseCode`] can only be built from a value that may appear on the wire, or from the
//! named constants (two of which, [`CloseCode::NO_STATUS`] and [`CloseCode::ABNORMAL`], only
//! ever describe a closure locally and are refused by `close`). Parsing a received payload
//! checks the code range and that the reason is UTF-8.

use alloc::string::String;
use core::fmt;

use crate::error::ProtocolError;

/// Longest close reason in bytes: 125 bytes of control payload minus the 2-byte code.
pub const MAX_REASON_LEN: usize = 123;

/// A WebSocket close status code (RFC 6455 §7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: the Close frame carried no code. Reported locally, never sent.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: the connection ended without a Close frame. Reported locally, never sent.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: a text message was not valid UTF-8 (or data was inconsistent with its type).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message or frame was too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client needed an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway received an invalid response.
    pub const BAD_GATEWAY: Self = Self(1014);

    /// A code that may be sent in a Close frame, or an error for one that may not.
    ///
    /// Accepted: 1000–1003, 1007–1014 (registered), 3000–3999 (libraries, frameworks) and
    /// 4000–4999 (private use). Everything else is reserved or undefined.
    ///
    /// ```
    /// use wsproto_core::CloseCode;
    /// assert_eq!(CloseCode::new(4000).unwrap().as_u16(), 4000);
    /// assert!(CloseCode::new(1005).is_err());
    /// assert!(CloseCode::new(999).is_err());
    /// ```
    pub fn new(code: u16) -> Result<Self, InvalidCloseCode> {
        if is_sendable(code) {
            Ok(Self(code))
        } else {
            Err(InvalidCloseCode(code))
        }
    }

    /// The numeric code.
    #[must_use]
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may be sent on the wire (all but 1005 and 1006).
    #[must_use]
    pub fn is_sendable(self) -> bool {
        is_sendable(self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

fn is_sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A number that is not a sendable close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidCloseCode(pub u16);

impl fmt::Display for InvalidCloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "close code {} is reserved or undefined; use 1000-1003, 1007-1014 or 3000-4999",
            self.0
        )
    }
}

impl core::error::Error for InvalidCloseCode {}

/// The code and reason of a Close frame, sent or received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    code: CloseCode,
    reason: String,
}

impl CloseFrame {
    /// A close frame with `code` and `reason` (the caller checks the reason's length).
    pub(crate) fn new(code: CloseCode, reason: &str) -> Self {
        Self {
            code,
            reason: String::from(reason),
        }
    }

    /// The status code; [`CloseCode::NO_STATUS`] when the frame carried none.
    #[must_use]
    pub fn code(&self) -> CloseCode {
        self.code
    }

    /// The reason text, empty when there was none.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Parses a received Close payload (already unmasked), RFC 6455 §5.5.1.
    ///
    /// An empty payload means "no status" (1005). A one-byte payload, a code that may not be
    /// sent, or a reason that is not UTF-8 is a protocol error.
    pub(crate) fn parse(payload: &[u8]) -> Result<Self, ProtocolError> {
        match payload {
            [] => Ok(Self::new(CloseCode::NO_STATUS, "")),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                let code =
                    CloseCode::new(code).map_err(|e| ProtocolError::InvalidCloseCode(e.0))?;
                let reason =
                    core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
                Ok(Self::new(code, reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_ranges() {
        let table: &[(u16, bool)] = &[
            (0, false),
            (999, false),
            (1000, true),
            (1003, true),
            (1004, false),
            (1005, false),
            (1006, false),
            (1007, true),
            (1014, true),
            (1015, false),
            (1016, false),
            (2999, false),
            (3000, true),
            (4999, true),
            (5000, false),
            (65535, false),
        ];
        for &(code, ok) in table {
            assert_eq!(CloseCode::new(code).is_ok(), ok, "{code}");
        }
        assert!(!CloseCode::NO_STATUS.is_sendable());
        assert!(!CloseCode::ABNORMAL.is_sendable());
    }

    #[test]
    fn parses_payloads() {
        assert_eq!(CloseFrame::parse(&[]).unwrap().code(), CloseCode::NO_STATUS);
        assert_eq!(
            CloseFrame::parse(&[3]),
            Err(ProtocolError::InvalidClosePayload)
        );
        let frame = CloseFrame::parse(b"\x03\xe8bye").unwrap();
        assert_eq!((frame.code(), frame.reason()), (CloseCode::NORMAL, "bye"));
        assert_eq!(
            CloseFrame::parse(b"\x03\xed"),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidCloseReason)
        );
    }
}
