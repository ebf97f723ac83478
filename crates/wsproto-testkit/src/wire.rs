//! The kit's own RFC 6455 §5.2 frame codec, independent of `wsproto-core`'s: the fuzz targets,
//! the conformance peer, the hostile clients and the trickling server all write and read
//! frames with it, so a bug in the engine's codec cannot hide behind the same bug here.
//!
//! Writing: [`encode_frame`] (or [`frame`]) writes any frame, rule-breaking ones included: the
//! first byte is given whole (FIN, RSV and opcode bits as the caller wants, reserved ones too,
//! see [`first_byte`]), the mask is optional whatever the role, and [`Length`] may pick a
//! longer length form than needed or claim a length the payload does not have. Reading:
//! [`Header::parse`] and [`Frame::parse`] take a frame off the front of a byte buffer, masked
//! or not, and say whether its length was written in the shortest form; they never panic and
//! answer `None` until the buffer holds the whole header (or frame). [`WireChecker`] builds on
//! them to check everything an engine writes.

mod checker;

pub use checker::WireChecker;

use wsproto_core::{MessageKind, Role};

/// A message: kind and payload.
pub type Msg = (MessageKind, Vec<u8>);

/// Frame opcodes (RFC 6455 §5.2).
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// The masking key the fuzz peers and the hostile clients use: fixed, so their output is the
/// same on every run, and not zero, so a receiver that forgets to unmask is caught.
pub const PEER_MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// How a frame's payload length is written (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// The shortest form, as RFC 6455 §5.2 requires.
    Shortest,
    /// The next longer form than needed (7-bit → 16-bit → 64-bit; 64-bit stays 64-bit), which
    /// RFC 6455 §5.2 forbids.
    Wider,
    /// Always the 16-bit extended form (non-minimal below 126).
    Ext16,
    /// Always the 64-bit extended form (non-minimal below 65536).
    Ext64,
    /// Claim this length (shortest form for it) whatever the payload really holds.
    Claim(u64),
}

/// The first byte of a frame: the FIN bit, `rsv` as a 3-bit number (4 = RSV1, 2 = RSV2,
/// 1 = RSV3) and the 4-bit `opcode`; extra bits of `rsv` and `opcode` are dropped.
#[must_use]
pub const fn first_byte(fin: bool, rsv: u8, opcode: u8) -> u8 {
    (fin as u8) << 7 | (rsv & 7) << 4 | (opcode & 0xF)
}

/// Appends a frame with first byte `b0` (FIN, RSV and opcode bits as given, so reserved
/// opcodes and bits can be written), masked with `mask` if any, its length written as `length`
/// says ([`Length::Wider`] and the extended forms can break RFC 6455 §5.2 on purpose).
pub fn encode_frame(
    out: &mut Vec<u8>,
    b0: u8,
    mask: Option<[u8; 4]>,
    payload: &[u8],
    length: Length,
) {
    let len = match length {
        Length::Claim(len) => len,
        _ => payload.len() as u64,
    };
    let shortest = if len < 126 {
        0
    } else if len <= 0xFFFF {
        1
    } else {
        2
    };
    let form = match length {
        Length::Shortest | Length::Claim(_) => shortest,
        Length::Wider => (shortest + 1).min(2),
        Length::Ext16 => 1,
        Length::Ext64 => 2,
    };
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(b0);
    match form {
        0 => out.push(mask_bit | len as u8),
        1 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key);
    }
}

/// One frame with first byte `b0` (see [`first_byte`]), masked with `mask` if any, its length
/// in the shortest form: the frame a well-behaved peer writes, unless `b0` or the mask say
/// otherwise.
#[must_use]
pub fn frame(b0: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    encode_frame(&mut out, b0, mask, payload, Length::Shortest);
    out
}

/// XORs `data` with the repeated 4-byte `key` (RFC 6455 §5.3), starting at key offset 0;
/// masking and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so at key offset 0.
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// A frame header as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The FIN bit.
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3).
    pub rsv: u8,
    /// The opcode (4 bits).
    pub opcode: u8,
    /// The masking key, when the mask bit is set.
    pub key: Option<[u8; 4]>,
    /// The payload length the header claims.
    pub len: u64,
    /// Bytes the header takes: 2 to 14.
    pub size: usize,
    /// Whether the length is written as RFC 6455 §5.2 requires: in the shortest form, and
    /// with the most significant bit clear in the 64-bit form.
    pub shortest: bool,
}

impl Header {
    /// Reads the header at the front of `bytes`; `None` until all of it is there.
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
        let ext = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let masked = b1 & 0x80 != 0;
        let size = 2 + ext + if masked { 4 } else { 0 };
        let head = bytes.get(..size)?;
        let len = match ext {
            2 => u64::from(u16::from_be_bytes([head[2], head[3]])),
            8 => u64::from_be_bytes(head[2..10].try_into().unwrap_or_default()),
            _ => u64::from(b1 & 0x7F),
        };
        let key = masked.then(|| {
            [
                head[size - 4],
                head[size - 3],
                head[size - 2],
                head[size - 1],
            ]
        });
        Some(Self {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0x0F,
            key,
            len,
            size,
            shortest: (ext != 2 || len >= 126) && (ext != 8 || (len > 0xFFFF && len >> 63 == 0)),
        })
    }

    /// The payload, unmasked, and the length of the whole frame, once `bytes` (which start
    /// with this header) hold all of it; `None` before, or if the length does not fit memory.
    #[must_use]
    pub fn payload(&self, bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
        let len = usize::try_from(self.len).ok()?;
        let end = self.size.checked_add(len)?;
        let mut payload = bytes.get(self.size..end)?.to_vec();
        if let Some(key) = self.key {
            apply_mask(&mut payload, key);
        }
        Some((payload, end))
    }

    /// The frame of this header and its (unmasked) `payload`.
    #[must_use]
    pub fn into_frame(self, payload: Vec<u8>) -> Frame {
        Frame {
            fin: self.fin,
            rsv: self.rsv,
            opcode: self.opcode,
            masked: self.key.is_some(),
            payload,
        }
    }
}

/// A whole frame as read from the wire, unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3).
    pub rsv: u8,
    /// The opcode (4 bits).
    pub opcode: u8,
    /// Whether the sender masked it.
    pub masked: bool,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// Reads the frame at the front of `bytes` and how many bytes it took; `None` until all
    /// of it is there.
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Option<(Self, usize)> {
        let header = Header::parse(bytes)?;
        let (payload, used) = header.payload(bytes)?;
        Some((header.into_frame(payload), used))
    }

    /// The status code of a Close frame that has one.
    #[must_use]
    pub fn close_code(&self) -> Option<u16> {
        match (self.opcode, self.payload.as_slice()) {
            (opcode::CLOSE, [hi, lo, ..]) => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }
}

/// Bytes the engine queues for a data payload of `len` bytes cut into frames of at most
/// `frame_size` (one frame if empty), masked in the client role.
pub(crate) fn encoded_len(role: Role, len: usize, frame_size: usize) -> usize {
    let frames = len.div_ceil(frame_size).max(1);
    let mask = if role == Role::Client { 4 } else { 0 };
    let headers = (0..frames)
        .map(|i| {
            let piece = (len - i * frame_size).min(frame_size);
            2 + mask
                + match piece {
                    0..=125 => 0,
                    126..=0xFFFF => 2,
                    _ => 8,
                }
        })
        .sum::<usize>();
    headers + len
}

/// Bytes of a control frame with `len` payload bytes sent by `role`.
pub(crate) fn control_len(role: Role, len: usize) -> usize {
    2 + len + if role == Role::Client { 4 } else { 0 }
}

/// A message for failure messages: its kind and size.
pub(crate) fn describe(msg: &Msg) -> String {
    format!("{:?} of {} bytes", msg.0, msg.1.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length form round-trips through the decoder, masked and not, and says whether
    /// it is the shortest.
    #[test]
    fn encode_then_parse() {
        let cases = [
            (0, Length::Shortest, 2, true),
            (125, Length::Shortest, 2, true),
            (126, Length::Shortest, 4, true),
            (0xFFFF, Length::Shortest, 4, true),
            (0x1_0000, Length::Shortest, 10, true),
            (5, Length::Wider, 4, false),
            (300, Length::Wider, 10, false),
            (0x1_0000, Length::Wider, 10, true),
            (5, Length::Ext16, 4, false),
            (5, Length::Ext64, 10, false),
        ];
        for (len, length, size, shortest) in cases {
            for mask in [None, Some(PEER_MASK)] {
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut out = Vec::new();
                encode_frame(
                    &mut out,
                    first_byte(true, 4, opcode::BINARY),
                    mask,
                    &payload,
                    length,
                );
                let header = Header::parse(&out).expect("whole header");
                let mask_len = if mask.is_some() { 4 } else { 0 };
                assert_eq!(
                    (header.size, header.shortest, header.key),
                    (size + mask_len, shortest, mask),
                    "{len} bytes, {length:?}"
                );
                let (frame, used) = Frame::parse(&out).expect("whole frame");
                assert_eq!(used, out.len());
                assert_eq!(
                    (frame.fin, frame.rsv, frame.opcode, frame.masked),
                    (true, 4, opcode::BINARY, mask.is_some())
                );
                assert_eq!(frame.payload, payload);
                assert_eq!(Frame::parse(&out[..out.len() - 1]), None, "one byte short");
            }
        }
    }

    /// A claimed length is written whatever the payload holds; a 64-bit length with its top
    /// bit set is never the shortest form.
    #[test]
    fn claims_and_the_top_bit() {
        let mut out = Vec::new();
        encode_frame(
            &mut out,
            0x82,
            None,
            b"",
            Length::Claim(i64::MAX as u64 + 1),
        );
        let header = Header::parse(&out).expect("whole header");
        assert_eq!((header.len, header.shortest), (1 << 63, false));
        assert_eq!(header.payload(&out), None);
        let close = frame(0x88, Some([1, 2, 3, 4]), &[0x03, 0xE8, b'o', b'k']);
        let (close, _) = Frame::parse(&close).expect("whole frame");
        assert_eq!(close.close_code(), Some(1000));
    }

    /// The word-sized mask equals the byte-wise definition at every length.
    #[test]
    fn mask_matches_bytewise() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in 0..40 {
            let mut data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let expected: Vec<u8> = data
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            apply_mask(&mut data, key);
            assert_eq!(data, expected);
        }
    }
}
