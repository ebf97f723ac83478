//! What the engine reports to the application: [`Event`]s, whole [`Message`]s and validated
//! text ([`Utf8Bytes`]).
//!
//! Payloads are [`Bytes`]: a message that arrived in one frame is handed out as a slice of the
//! read buffer itself, with no copy.

use bytes::Bytes;
use core::fmt;
use core::time::Duration;

use crate::close::CloseFrame;

/// Whether a data message is text or binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// Bytes that are known to be valid UTF-8.
///
/// The engine validates text before it builds one of these, so [`as_str`](Self::as_str)
/// never fails.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps bytes the engine has validated (kept crate-private to uphold the invariant).
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        Self(bytes)
    }

    /// The text. (Re-validated in safe code; the bytes are valid by construction.)
    #[must_use]
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives up the UTF-8 guarantee and returns the bytes.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<alloc::string::String> for Utf8Bytes {
    fn from(text: alloc::string::String) -> Self {
        Self(Bytes::from(text))
    }
}

impl core::ops::Deref for Utf8Bytes {
    type Target = str;

    /// The text, so string methods work directly (`text.len()`, `text.starts_with(..)`).
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<alloc::string::String> for Utf8Bytes {
    fn eq(&self, other: &alloc::string::String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<Utf8Bytes> for alloc::string::String {
    /// The text as a `String` (one copy of the bytes).
    fn from(text: Utf8Bytes) -> Self {
        Self::from(text.as_str())
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole data message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// A text message.
    ///
    /// ```
    /// # use wsproto_core::Message;
    /// assert_eq!(Message::text("hi").payload().as_ref(), b"hi");
    /// ```
    #[must_use]
    pub fn text(text: impl Into<alloc::string::String>) -> Self {
        Self::Text(Utf8Bytes::from(text.into()))
    }

    /// A binary message.
    #[must_use]
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::Binary(data.into())
    }

    /// Text or binary.
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Text(_) => MessageKind::Text,
            Self::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes.
    #[must_use]
    pub fn payload(&self) -> &Bytes {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// The payload bytes, by value.
    #[must_use]
    pub fn into_payload(self) -> Bytes {
        match self {
            Self::Text(text) => text.into_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// Whether this is a text message.
    #[must_use]
    pub fn is_text(&self) -> bool {
        matches!(self, Self::Text(_))
    }

    /// Whether this is a binary message.
    #[must_use]
    pub fn is_binary(&self) -> bool {
        matches!(self, Self::Binary(_))
    }

    /// The text of a text message; `None` for a binary one.
    ///
    /// ```
    /// # use wsproto_core::Message;
    /// let message = Message::from("hello");
    /// assert_eq!(message.as_text(), Some("hello"));
    /// assert_eq!(Message::from(vec![1, 2]).as_text(), None);
    /// ```
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text.as_str()),
            Self::Binary(_) => None,
        }
    }
}

impl From<&str> for Message {
    /// A text message (the text is copied).
    fn from(text: &str) -> Self {
        Self::Text(Utf8Bytes::from(text))
    }
}

impl From<alloc::string::String> for Message {
    /// A text message (no copy).
    fn from(text: alloc::string::String) -> Self {
        Self::Text(Utf8Bytes::from(text))
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Self {
        Self::Text(text)
    }
}

impl From<Bytes> for Message {
    /// A binary message.
    fn from(data: Bytes) -> Self {
        Self::Binary(data)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    /// A binary message (no copy).
    fn from(data: alloc::vec::Vec<u8>) -> Self {
        Self::Binary(Bytes::from(data))
    }
}

impl From<&[u8]> for Message {
    /// A binary message (the bytes are copied).
    fn from(data: &[u8]) -> Self {
        Self::Binary(Bytes::copy_from_slice(data))
    }
}

/// Something the peer did, reported by `poll_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole data message ([`Delivery::Whole`](crate::Delivery::Whole)).
    Message(Message),
    /// A piece of a data message ([`Delivery::Streaming`](crate::Delivery::Streaming)).
    ///
    /// Pieces of one message arrive in order; the last has `fin` set (an empty message is one
    /// empty piece with `fin`). Text is validated as it arrives, but a piece may end inside a
    /// multi-byte character: only the concatenation is guaranteed to be UTF-8.
    Fragment {
        /// Text or binary (the same for every piece of a message).
        kind: MessageKind,
        /// Payload bytes of this piece.
        data: Bytes,
        /// Whether this piece ends the message.
        fin: bool,
    },
    /// The peer sent a ping. Unless auto-pong is off, the pong is already queued.
    Ping(Bytes),
    /// The peer sent a pong.
    Pong {
        /// The pong's payload.
        payload: Bytes,
        /// Time since our latest ping, if this pong echoes that ping's payload.
        rtt: Option<Duration>,
    },
    /// The peer sent a Close frame. If we had not closed yet, our echo is already queued and
    /// the connection is now closed once the transmit queue is drained.
    Close(CloseFrame),
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    #[test]
    fn text_reads_like_a_str_and_messages_convert_from_the_usual_types() {
        let text = Utf8Bytes::from("héllo");
        assert_eq!(text, "héllo");
        assert_eq!(text, *"héllo");
        assert_eq!(text, String::from("héllo"));
        assert!(text.starts_with("hé"), "str methods through Deref");
        assert_eq!(AsRef::<[u8]>::as_ref(&text), "héllo".as_bytes());
        assert_eq!(String::from(text.clone()), "héllo");

        assert_eq!(Message::from("hi"), Message::text("hi"));
        assert_eq!(Message::from(String::from("hi")), Message::text("hi"));
        assert_eq!(Message::from(text.clone()), Message::Text(text));
        assert_eq!(Message::from(vec![1u8, 2]), Message::binary(vec![1u8, 2]));
        assert_eq!(Message::from(&[1u8, 2][..]), Message::binary(vec![1u8, 2]));
        assert_eq!(
            Message::from(Bytes::from_static(b"x")),
            Message::binary(&b"x"[..])
        );
        let (text, binary) = (Message::from("a"), Message::from(vec![0u8]));
        assert!(text.is_text() && !text.is_binary());
        assert!(binary.is_binary() && !binary.is_text());
        assert_eq!((text.as_text(), binary.as_text()), (Some("a"), None));
    }
}
