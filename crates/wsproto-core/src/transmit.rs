//! The outgoing byte queue: frames wait here until the caller writes them to the transport.
//!
//! Small frames are appended to one contiguous buffer so that a burst of replies leaves in a
//! single write ("corking"). A large payload the caller already owns as [`Bytes`] and that needs
//! no masking is queued by reference instead of copied; [`Transmit::chunks`] then hands out
//! several slices for one vectored write. Invariant: `segments` hold bytes that come before
//! `tail`; `len` is the total of both.

use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};

use crate::frame::MAX_HEADER_LEN;
use crate::mask::apply_mask;

/// Payloads at least this long are queued by reference when they need no masking.
pub(crate) const ZERO_COPY_THRESHOLD: usize = 16 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Transmit {
    segments: VecDeque<Bytes>,
    tail: BytesMut,
    len: usize,
}

impl Transmit {
    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The contiguous buffer that new frames are appended to; callers must add to it only,
    /// then report how much they added with [`Transmit::appended`].
    pub(crate) fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Accounts for `n` bytes the caller appended to [`Transmit::tail`].
    pub(crate) fn appended(&mut self, n: usize) {
        self.len += n;
    }

    /// Appends one frame to the contiguous buffer: the first `header_len` bytes of `header`,
    /// then `payload`, masked with `mask` if given. Room for both is reserved at once.
    #[inline(always)]
    pub(crate) fn push_frame(
        &mut self,
        header: &[u8; MAX_HEADER_LEN],
        header_len: usize,
        payload: &[u8],
        mask: Option<[u8; 4]>,
    ) {
        let start = self.tail.len();
        self.tail.reserve(MAX_HEADER_LEN + payload.len());
        // The whole fixed-size array is a couple of stores; a `header_len`-byte copy would be a
        // `memcpy` call (~20 instructions of a ~250-instruction small-message echo).
        self.tail.extend_from_slice(header);
        self.tail.truncate(start + header_len);
        let payload_at = self.tail.len();
        self.tail.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut self.tail[payload_at..], key, 0);
        }
        self.len += header_len + payload.len();
    }

    /// Queues `bytes` after everything already queued, without copying.
    pub(crate) fn push_bytes(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if !self.tail.is_empty() {
            self.segments.push_back(self.tail.split().freeze());
        }
        self.len += bytes.len();
        self.segments.push_back(bytes);
    }

    /// The first contiguous run of queued bytes (empty when nothing is queued).
    pub(crate) fn first(&self) -> &[u8] {
        self.segments.front().map_or(&self.tail[..], |s| &s[..])
    }

    /// Fills `dst` with queued runs in order and returns how many it filled.
    pub(crate) fn chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        let runs = self
            .segments
            .iter()
            .map(|s| &s[..])
            .chain((!self.tail.is_empty()).then_some(&self.tail[..]));
        let mut filled = 0;
        for (slot, run) in dst.iter_mut().zip(runs) {
            *slot = run;
            filled += 1;
        }
        filled
    }

    /// Drops the first `n` queued bytes, which the caller has written.
    ///
    /// `n` larger than what is queued is clamped (a caller bug, not worth a panic).
    pub(crate) fn advance(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            if let Some(front) = self.segments.front_mut() {
                if n >= front.len() {
                    n -= front.len();
                    self.segments.pop_front();
                } else {
                    front.advance(n);
                    n = 0;
                }
            } else {
                self.tail.advance(n);
                n = 0;
            }
        }
        if self.len == 0 {
            // Reuse the buffer from its start instead of letting it creep forward.
            self.tail.clear();
        }
    }

    /// Buffer memory held, in bytes (the contiguous tail's capacity plus queued segments).
    pub(crate) fn capacity(&self) -> usize {
        self.tail.capacity() + self.segments.iter().map(Bytes::len).sum::<usize>()
    }

    /// Frees the buffers if nothing is queued, so an idle connection holds no write memory.
    pub(crate) fn release_if_empty(&mut self) {
        if self.len == 0 {
            self.tail = BytesMut::new();
            self.segments = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_across_copied_and_referenced_bytes() {
        let mut t = Transmit::default();
        t.tail().extend_from_slice(b"ab");
        t.appended(2);
        t.push_bytes(Bytes::from_static(b"cdef"));
        t.tail().extend_from_slice(b"gh");
        t.appended(2);
        assert_eq!(t.len(), 8);
        let mut runs = [&[][..]; 4];
        let n = t.chunks(&mut runs);
        assert_eq!(&runs[..n], &[&b"ab"[..], b"cdef", b"gh"]);
        t.advance(3);
        assert_eq!(t.first(), b"def");
        t.advance(4);
        assert_eq!(t.first(), b"h");
        t.advance(100);
        assert!(t.is_empty());
        assert_eq!(t.first(), b"");
        t.release_if_empty();
        assert_eq!(t.tail().capacity(), 0);
    }
}
