//! The frame header (RFC 6455 §5.2): decoding with the checks that need only the header, and
//! encoding for every length form.
//!
//! Decoding is split in two so that a connection can fail fast, cheapest check first: the
//! first two bytes ([`decode_start`]) already tell RSV bits, opcode, FIN on control frames, the
//! mask bit and the 7-bit length; the rest ([`decode_rest`]) brings the extended length
//! (checked for the shortest form) and the masking key. Neither step ever allocates, and a
//! length claimed by the peer is only a number here: nothing is reserved for it.

use crate::error::ProtocolError;

/// A frame's opcode (RFC 6455 §5.2, §11.8). Reserved opcodes are rejected when decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// Continues a fragmented data message (0x0).
    Continuation,
    /// First frame of a UTF-8 text message (0x1).
    Text,
    /// First frame of a binary message (0x2).
    Binary,
    /// Close (0x8).
    Close,
    /// Ping (0x9).
    Ping,
    /// Pong (0xA).
    Pong,
}

impl OpCode {
    /// Decodes the low nibble of a frame's first byte.
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The opcode's wire value.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong), RFC 6455 §5.5.
    #[must_use]
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// Largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Longest possible frame header: 2 + 8 (64-bit length) + 4 (mask).
pub(crate) const MAX_HEADER_LEN: usize = 14;

/// The RSV1, RSV2 and RSV3 bits of a frame's first byte.
pub(crate) const RSV_MASK: u8 = 0x70;

/// What the first two bytes of a frame say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameStart {
    pub(crate) fin: bool,
    /// RSV bits in place (`0x40` is RSV1).
    pub(crate) rsv: u8,
    pub(crate) opcode: OpCode,
    pub(crate) masked: bool,
    len7: u8,
}

/// A fully decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) fin: bool,
    pub(crate) rsv: u8,
    pub(crate) opcode: OpCode,
    pub(crate) mask: Option<[u8; 4]>,
    pub(crate) payload_len: u64,
}

/// Checks the first two header bytes: RSV bits not in `allowed_rsv`, reserved opcodes, and
/// control frames that are fragmented or longer than 125 bytes.
pub(crate) fn decode_start(b0: u8, b1: u8, allowed_rsv: u8) -> Result<FrameStart, ProtocolError> {
    let rsv = b0 & RSV_MASK;
    if rsv & !allowed_rsv != 0 {
        return Err(ProtocolError::ReservedBits(rsv >> 4));
    }
    let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0F))?;
    let fin = b0 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    if opcode.is_control() {
        if !fin {
            return Err(ProtocolError::FragmentedControl);
        }
        if usize::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(ProtocolError::ControlTooLong);
        }
    }
    Ok(FrameStart {
        fin,
        rsv,
        opcode,
        masked: b1 & 0x80 != 0,
        len7,
    })
}

/// Decodes the whole header from `buf` (which starts with the two bytes `start` came from).
///
/// Returns `Ok(None)` when `buf` does not hold the whole header yet, otherwise the header and
/// its length in bytes. Rejects lengths not in their shortest form and 64-bit lengths with the
/// top bit set (RFC 6455 §5.2).
pub(crate) fn decode_rest(
    start: FrameStart,
    buf: &[u8],
) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let ext_len = match start.len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let header_len = 2 + ext_len + if start.masked { 4 } else { 0 };
    let Some(header) = buf.get(..header_len) else {
        return Ok(None);
    };
    let payload_len = match ext_len {
        2 => {
            let len = u64::from(u16::from_be_bytes([header[2], header[3]]));
            if len < 126 {
                return Err(ProtocolError::NonMinimalLength);
            }
            len
        }
        8 => {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&header[2..10]);
            let len = u64::from_be_bytes(bytes);
            if len >> 63 != 0 {
                return Err(ProtocolError::NonMinimalLength);
            }
            if len <= u64::from(u16::MAX) {
                return Err(ProtocolError::NonMinimalLength);
            }
            len
        }
        _ => u64::from(start.len7),
    };
    let mask = start.masked.then(|| {
        let at = 2 + ext_len;
        [header[at], header[at + 1], header[at + 2], header[at + 3]]
    });
    let header = FrameHeader {
        fin: start.fin,
        rsv: start.rsv,
        opcode: start.opcode,
        mask,
        payload_len,
    };
    Ok(Some((header, header_len)))
}

/// Writes a header into `dst` in the shortest length form and returns its length.
pub(crate) fn encode_header(
    dst: &mut [u8; MAX_HEADER_LEN],
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    payload_len: usize,
) -> usize {
    dst[0] = (if fin { 0x80 } else { 0 }) | (rsv & RSV_MASK) | opcode.as_u8();
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut at = 2;
    if payload_len < 126 {
        dst[1] = mask_bit | payload_len as u8;
    } else if let Ok(len) = u16::try_from(payload_len) {
        dst[1] = mask_bit | 126;
        dst[2..4].copy_from_slice(&len.to_be_bytes());
        at = 4;
    } else {
        dst[1] = mask_bit | 127;
        dst[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
        at = 10;
    }
    if let Some(key) = mask {
        dst[at..at + 4].copy_from_slice(&key);
        at += 4;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let start = decode_start(buf[0], buf[1], 0)?;
        decode_rest(start, buf)
    }

    #[test]
    fn round_trips_every_length_form_at_its_boundaries() {
        let lengths = [
            0usize,
            1,
            125,
            126,
            127,
            65_535,
            65_536,
            1 << 20,
            (1 << 32) + 7,
        ];
        for &len in &lengths {
            for mask in [None, Some([9, 8, 7, 6])] {
                let mut buf = [0; MAX_HEADER_LEN];
                let n = encode_header(&mut buf, true, 0, OpCode::Binary, mask, len);
                let expected_n =
                    2 + match len {
                        0..=125 => 0,
                        126..=65_535 => 2,
                        _ => 8,
                    } + if mask.is_some() { 4 } else { 0 };
                assert_eq!(n, expected_n, "len {len}");
                let (header, used) = decode(&buf[..n]).unwrap().unwrap();
                assert_eq!(used, n);
                assert_eq!(header.payload_len, len as u64);
                assert_eq!(header.mask, mask);
                assert!(header.fin);
                // Every strict prefix is "need more", never an error.
                for cut in 2..n {
                    assert_eq!(decode(&buf[..cut]), Ok(None), "len {len} cut {cut}");
                }
            }
        }
    }

    #[test]
    fn rejects_what_the_first_two_bytes_rule_out() {
        let cases: &[([u8; 2], u8, ProtocolError)] = &[
            ([0xC1, 0x00], 0, ProtocolError::ReservedBits(4)),
            ([0xA1, 0x00], 0, ProtocolError::ReservedBits(2)),
            ([0x91, 0x00], 0, ProtocolError::ReservedBits(1)),
            ([0xE1, 0x00], 0x40, ProtocolError::ReservedBits(6)),
            ([0x83, 0x00], 0, ProtocolError::ReservedOpcode(3)),
            ([0x8B, 0x00], 0, ProtocolError::ReservedOpcode(0xB)),
            ([0x09, 0x00], 0, ProtocolError::FragmentedControl),
            ([0x89, 0x7E], 0, ProtocolError::ControlTooLong),
        ];
        for (bytes, allowed, err) in cases {
            assert_eq!(
                decode_start(bytes[0], bytes[1], *allowed),
                Err(*err),
                "{bytes:x?}"
            );
        }
        assert!(decode_start(0xC1, 0x00, 0x40).is_ok());
        assert!(decode_start(0x89, 0x7D, 0).is_ok());
    }

    #[test]
    fn rejects_lengths_not_in_shortest_form() {
        let mut two = Vec::from([0x82u8, 126, 0, 125]);
        assert_eq!(decode(&two), Err(ProtocolError::NonMinimalLength));
        two[3] = 126;
        assert_eq!(decode(&two).unwrap().unwrap().0.payload_len, 126);
        let eight = [0x82u8, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
        assert_eq!(decode(&eight), Err(ProtocolError::NonMinimalLength));
        let top_bit = [0x82u8, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode(&top_bit), Err(ProtocolError::NonMinimalLength));
        let huge = [0x82u8, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            decode(&huge).unwrap().unwrap().0.payload_len,
            (1u64 << 63) - 1
        );
    }

    #[test]
    fn opcodes_round_trip() {
        for value in 0..16u8 {
            if let Some(op) = OpCode::from_u8(value) {
                assert_eq!(op.as_u8(), value);
                assert_eq!(op.is_control(), value >= 8);
            } else {
                assert!((3..=7).contains(&value) || value >= 0xB);
            }
        }
    }
}
