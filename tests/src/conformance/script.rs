//! The script a case is written in: frames to send ([`Frame`], [`Step`]) and what must come back ([`Reply`], [`Expect`], [`Case`]).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Whether a frame is masked (RFC 6455 §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// Masked exactly when the raw peer is the client, as RFC 6455 §5.1 requires.
    ByRole,
    /// The opposite of what the raw peer's role requires.
    WrongForRole,
    /// Masked (`true`) or not, whatever the role.
    Forced(bool),
}

/// A frame as the raw peer writes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3).
    pub rsv: u8,
    /// The opcode (4 bits).
    pub opcode: u8,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
    /// Whether the frame is masked.
    pub mask: Mask,
    /// How the length is encoded.
    pub length: Length,
}

impl Frame {
    /// A frame with every field given.
    #[must_use]
    pub fn new(fin: bool, rsv: u8, opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            fin,
            rsv,
            opcode,
            payload: payload.into(),
            mask: Mask::ByRole,
            length: Length::Shortest,
        }
    }

    /// A whole text message in one frame (the bytes need not be valid UTF-8).
    #[must_use]
    pub fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::TEXT, payload)
    }

    /// A whole binary message in one frame.
    #[must_use]
    pub fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::BINARY, payload)
    }

    /// A continuation frame.
    #[must_use]
    pub fn cont(payload: impl Into<Vec<u8>>, fin: bool) -> Self {
        Self::new(fin, 0, opcode::CONTINUATION, payload)
    }

    /// A ping.
    #[must_use]
    pub fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::PING, payload)
    }

    /// A pong.
    #[must_use]
    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(true, 0, opcode::PONG, payload)
    }

    /// A Close with a code and a reason (the reason bytes need not be UTF-8).
    #[must_use]
    pub fn close(code: u16, reason: impl AsRef<[u8]>) -> Self {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_ref());
        Self::new(true, 0, opcode::CLOSE, payload)
    }

    /// A Close without a payload.
    #[must_use]
    pub fn close_empty() -> Self {
        Self::new(true, 0, opcode::CLOSE, Vec::new())
    }

    /// The same frame with the FIN bit set to `fin`.
    #[must_use]
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// The same frame with RSV bits `rsv` (4 = RSV1, 2 = RSV2, 1 = RSV3).
    #[must_use]
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// The same frame, masked according to `mask`.
    #[must_use]
    pub fn mask(mut self, mask: Mask) -> Self {
        self.mask = mask;
        self
    }

    /// The same frame with its length encoded as `length`.
    #[must_use]
    pub fn length(mut self, length: Length) -> Self {
        self.length = length;
        self
    }

    /// The wire bytes, masked with `key` when given (the test kit's encoder).
    #[must_use]
    pub fn encode(&self, key: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len() + 14);
        let b0 = first_byte(self.fin, self.rsv, self.opcode);
        encode_frame(&mut out, b0, key, &self.payload, self.length);
        out
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Frame(fin={} rsv={} op={:#x} {})",
            u8::from(self.fin),
            self.rsv,
            self.opcode,
            Preview(&self.payload)
        )
    }
}

/// A short, printable description of a payload: its length and its first bytes.
pub(crate) struct Preview<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Preview<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 24;
        let shown = &self.0[..self.0.len().min(SHOWN)];
        let more = if self.0.len() > SHOWN { "…" } else { "" };
        write!(
            f,
            "{} bytes \"{}{more}\"",
            self.0.len(),
            shown.escape_ascii()
        )
    }
}

/// Something the implementation under test sent, other than its Close: a whole (reassembled)
/// message, or a ping or pong.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    /// A text message.
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
}

impl Reply {
    /// A text message.
    #[must_use]
    pub fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::Text(payload.into())
    }

    /// A binary message.
    #[must_use]
    pub fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::Binary(payload.into())
    }

    /// A pong.
    #[must_use]
    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::Pong(payload.into())
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, payload) = match self {
            Self::Text(p) => ("Text", p),
            Self::Binary(p) => ("Binary", p),
            Self::Ping(p) => ("Ping", p),
            Self::Pong(p) => ("Pong", p),
        };
        write!(f, "{kind}({})", Preview(payload))
    }
}

/// One thing the raw peer does.
#[derive(Clone, Debug)]
pub enum Step {
    /// Encodes `frames` into one run of bytes and writes it in pieces of `chunk` bytes (all at
    /// once when `chunk` is 0), sleeping `delay` after each piece.
    Send {
        /// The frames, in order.
        frames: Vec<Frame>,
        /// Bytes per write; 0 for one write.
        chunk: usize,
        /// Pause after each write.
        delay: Duration,
    },
    /// Writes `frame`'s header and only the first `upto` bytes of its payload — the rest is
    /// never sent — cut into pieces at the payload offsets `cuts`, sleeping `delay` between
    /// pieces.
    Partial {
        /// The frame (its header claims the whole payload).
        frame: Frame,
        /// Payload offsets where a new write starts.
        cuts: Vec<usize>,
        /// Payload bytes written in total.
        upto: usize,
        /// Pause between pieces.
        delay: Duration,
    },
    /// Writes these bytes as they are.
    Raw(Vec<u8>),
    /// Waits.
    Pause(Duration),
    /// Ends our sending direction (the implementation reads the end of the stream).
    ShutdownWrite,
}

/// Writes `frame` in one piece.
#[must_use]
pub fn send(frame: Frame) -> Step {
    send_all(vec![frame])
}

/// Writes `frames` in one piece.
#[must_use]
pub fn send_all(frames: Vec<Frame>) -> Step {
    chopped(frames, 0, Duration::ZERO)
}

/// Writes `frames` in pieces of `chunk` bytes with `delay` after each.
#[must_use]
pub fn chopped(frames: Vec<Frame>, chunk: usize, delay: Duration) -> Step {
    Step::Send {
        frames,
        chunk,
        delay,
    }
}

/// How a case must end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The connection stays healthy: after the replies, the raw peer closes with 1000, and the
    /// implementation echoes 1000 and closes TCP.
    Normal,
    /// The implementation sends a Close with this code (`None`: an empty Close) no later than
    /// `within` after the raw peer's last write, sends nothing after it, and closes TCP.
    Close {
        /// The expected code.
        code: Option<u16>,
        /// Deadline after the last write.
        within: Duration,
        /// Whether the implementation failed the connection (its API reports an error), as
        /// opposed to answering the raw peer's Close.
        failed: bool,
    },
    /// The implementation starts the closing handshake with this code; the raw peer then
    /// writes `answer` (normally its Close), and the implementation must close TCP within
    /// [`CLOSE_LIMIT`] of that, sending nothing more.
    Answered {
        /// The code the implementation closes with.
        code: u16,
        /// What the raw peer writes once the implementation's Close arrived.
        answer: Vec<Frame>,
    },
    /// The implementation closes TCP without sending a Close (a 1006-type ending).
    Drop,
}

/// What the implementation under test must send back for a case.
#[derive(Clone, Debug)]
pub struct Expect {
    /// Every reply before the Close, exactly and in order.
    pub replies: Vec<Reply>,
    /// How the connection ends.
    pub end: End,
}

/// The implementation answers with exactly `replies`, and then closes cleanly when asked.
#[must_use]
pub fn expect_echo(replies: Vec<Reply>) -> Expect {
    Expect {
        replies,
        end: End::Normal,
    }
}

/// The implementation fails the connection: it sends nothing but a Close with `code`, then
/// closes TCP.
#[must_use]
pub fn expect_close(code: u16) -> Expect {
    expect_close_after(Vec::new(), code)
}

/// The implementation sends `replies`, then fails the connection with a Close with `code`,
/// then closes TCP.
#[must_use]
pub fn expect_close_after(replies: Vec<Reply>, code: u16) -> Expect {
    Expect {
        replies,
        end: End::Close {
            code: Some(code),
            within: READ_LIMIT,
            failed: true,
        },
    }
}

/// Like [`expect_close_after`], but the Close must come within [`FAIL_FAST`] of the raw
/// peer's last write, although the message it broke was never finished.
#[must_use]
pub fn expect_fail_fast(replies: Vec<Reply>, code: u16) -> Expect {
    Expect {
        replies,
        end: End::Close {
            code: Some(code),
            within: FAIL_FAST,
            failed: true,
        },
    }
}

/// The implementation sends `replies`, then answers the raw peer's Close with a Close with
/// `code` (`None`: an empty Close), then closes TCP.
#[must_use]
pub fn expect_close_echo(replies: Vec<Reply>, code: Option<u16>) -> Expect {
    Expect {
        replies,
        end: End::Close {
            code,
            within: READ_LIMIT,
            failed: false,
        },
    }
}

/// The implementation starts a close with `code` (after `replies`); the raw peer answers with
/// `answer`, and the implementation must then close TCP promptly.
#[must_use]
pub fn expect_initiated_close(replies: Vec<Reply>, code: u16, answer: Vec<Frame>) -> Expect {
    Expect {
        replies,
        end: End::Answered { code, answer },
    }
}

/// The implementation sends `replies`, then closes TCP without a Close frame.
#[must_use]
pub fn expect_drop(replies: Vec<Reply>) -> Expect {
    Expect {
        replies,
        end: End::Drop,
    }
}

/// One conformance case: what to write and what must come back.
#[derive(Clone, Debug)]
pub struct Case {
    /// Printed on failure.
    pub name: String,
    /// What the raw peer writes.
    pub steps: Vec<Step>,
    /// What the implementation must do.
    pub expect: Expect,
}

impl Case {
    /// A case.
    #[must_use]
    pub fn new(name: impl Into<String>, steps: Vec<Step>, expect: Expect) -> Self {
        Self {
            name: name.into(),
            steps,
            expect,
        }
    }
}
