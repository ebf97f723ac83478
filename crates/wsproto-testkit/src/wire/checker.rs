//! [`WireChecker`]: everything an engine writes, decoded with the kit's own decoder
//! ([`Header`]) and checked against RFC 6455 §5 for the sending role and against the messages
//! the engine accepted to send.

use std::collections::VecDeque;

use wsproto_core::{CloseCode, MessageKind, Role};

use super::{Header, Msg, describe};

/// Decodes an engine's output with a decoder independent of the engine and checks it against
/// `compression` (permessage-deflate negotiated), RSV1 may mark a message's first frame; such a
/// message is checked for its kind only (inflating it is the receiving engine's job).
#[derive(Debug)]
pub struct WireChecker {
    sender: Role,
    compression: bool,
    buf: Vec<u8>,
    /// The message being received, and whether it is compressed.
    message: Option<(Msg, bool)>,
    expected: VecDeque<Msg>,
    close: Option<(CloseCode, String)>,
}

impl WireChecker {
    /// Checks the output of an engine in `sender`'s role.
    pub fn new(sender: Role, compression: bool) -> Self {
        Self {
            sender,
            compression,
            buf: Vec::new(),
            message: None,
            expected: VecDeque::new(),
            close: None,
        }
    }

    /// Records that the engine accepted to send `msg`: it must come next on the wire.
    pub fn expect(&mut self, msg: Msg) {
        self.expected.push_back(msg);
    }

    /// The Close the engine wrote, if it did: code (`NO_STATUS` for an empty one) and reason.
    pub fn close(&self) -> Option<&(CloseCode, String)> {
        self.close.as_ref()
    }

    /// Takes bytes the engine wrote, in order.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        assert!(self.close.is_none(), "engine wrote bytes after its Close");
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(used) = self.frame(at) {
            at += used;
            if self.close.is_some() {
                assert_eq!(at, self.buf.len(), "engine wrote bytes after its Close");
            }
        }
        self.buf.drain(..at);
    }

    /// Decodes and checks the frame at `at`; returns its length, or `None` if incomplete.
    fn frame(&mut self, at: usize) -> Option<usize> {
        let buf = &self.buf[at..];
        let header = Header::parse(buf)?;
        assert!(
            header.shortest,
            "engine wrote a length not in its shortest form"
        );
        let (payload, used) = header.payload(buf)?;
        let masked = header.key.is_some();
        let rsv1 = header.rsv & 4 != 0;
        let first_data = matches!(header.opcode, 1 | 2);
        assert!(
            header.rsv & 3 == 0 && (!rsv1 || (self.compression && first_data)),
            "engine set RSV bits {:#x} on opcode {:#x}",
            header.rsv << 4,
            header.opcode
        );
        assert_eq!(
            masked,
            self.sender == Role::Client,
            "{:?} engine got masking wrong (RFC 6455 §5.1)",
            self.sender
        );
        let fin = header.fin;
        match header.opcode {
            op @ (0x0..=0x2) => {
                if op == 0 {
                    assert!(self.message.is_some(), "engine wrote a stray continuation");
                } else {
                    assert!(
                        self.message.is_none(),
                        "engine started a message inside one"
                    );
                    let kind = if op == 1 {
                        MessageKind::Text
                    } else {
                        MessageKind::Binary
                    };
                    self.message = Some(((kind, Vec::new()), rsv1));
                }
                let (message, _) = self.message.as_mut()?;
                message.1.extend_from_slice(&payload);
                if fin {
                    let (done, compressed) = self.message.take()?;
                    let expected = self.expected.pop_front();
                    if compressed {
                        let kind = expected.as_ref().map(|m| m.0);
                        assert_eq!(kind, Some(done.0), "compressed message of the wrong kind");
                        return Some(used);
                    }
                    if done.0 == MessageKind::Text {
                        assert!(
                            std::str::from_utf8(&done.1).is_ok(),
                            "engine sent bad UTF-8"
                        );
                    }
                    assert!(
                        expected.as_ref() == Some(&done),
                        "engine wrote {} where {:?} was sent",
                        describe(&done),
                        expected.as_ref().map(describe)
                    );
                }
            }
            op @ (0x8..=0xA) => {
                assert!(
                    fin && payload.len() <= 125,
                    "engine wrote a bad control frame"
                );
                if op == 0x8 {
                    self.message = None;
                    self.close = Some(match payload.as_slice() {
                        [] => (CloseCode::NO_STATUS, String::new()),
                        [hi, lo, reason @ ..] => {
                            let code = CloseCode::new(u16::from_be_bytes([*hi, *lo]))
                                .expect("engine sent a close code that may not be sent");
                            let reason = std::str::from_utf8(reason)
                                .expect("engine sent a close reason that is not UTF-8");
                            (code, reason.to_owned())
                        }
                        [_] => panic!("engine sent a one-byte close payload"),
                    });
                }
            }
            op => panic!("engine wrote reserved opcode {op:#x}"),
        }
        Some(used)
    }

    /// Checks, once the engine's queue is empty, that every accepted message was written.
    pub fn finish(&self) {
        assert!(
            self.expected.is_empty(),
            "{} accepted messages never reached the wire",
            self.expected.len()
        );
    }
}
