//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! RFC 6455 §8.1 lets an endpoint fail the connection as soon as the bytes seen so far cannot
//! be the start of valid UTF-8, and Autobahn section 6.4 checks that it does ("fail fast"). The
//! validator keeps at most three bytes of an unfinished code point between pieces; everything
//! else is checked by `core::str::from_utf8`, which reports an invalid prefix (overlong forms,
//! surrogates, code points above U+10FFFF) at the first byte that rules it out.

use core::str;

/// Validates a byte stream as UTF-8, one piece at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Utf8Validator {
    pending: [u8; 4],
    pending_len: u8,
}

/// The bytes seen so far can never become valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl Utf8Validator {
    /// Checks the next piece of the stream; fails as soon as it is invalid.
    pub(crate) fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            let have = usize::from(self.pending_len);
            let width = sequence_width(self.pending[0]);
            let take = (width - have).min(input.len());
            self.pending[have..have + take].copy_from_slice(&input[..take]);
            let filled = have + take;
            input = &input[take..];
            match str::from_utf8(&self.pending[..filled]) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_none() && filled < width => {
                    self.pending_len = filled as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let rest = &input[e.valid_up_to()..];
                self.pending[..rest.len()].copy_from_slice(rest);
                self.pending_len = rest.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Checks that the stream did not end inside a code point, and resets for the next one.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.pending_len == 0;
        *self = Self::default();
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }
}

/// Length of the sequence a lead byte starts; only called on lead bytes that `from_utf8`
/// accepted as the start of an incomplete sequence (so 2, 3 or 4).
fn sequence_width(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_in_pieces(bytes: &[u8], cuts: &[usize]) -> bool {
        let mut v = Utf8Validator::default();
        let mut start = 0;
        for &cut in cuts.iter().chain(core::iter::once(&bytes.len())) {
            if v.feed(&bytes[start..cut]).is_err() {
                return false;
            }
            start = cut;
        }
        v.finish().is_ok()
    }

    const CASES: &[(&[u8], bool)] = &[
        (b"", true),
        (
            b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
            true,
        ),
        ("κόσμε".as_bytes(), true),
        (b"\xf0\x9f\x98\x80 smile", true),
        (b"\xf4\x8f\xbf\xbf", true),          // U+10FFFF
        (b"\xf4\x90\x80\x80", false),         // above U+10FFFF
        (b"\xed\xa0\x80", false),             // surrogate
        (b"\xc0\xaf", false),                 // overlong
        (b"\xe0\x80\xaf", false),             // overlong
        (b"\x80", false),                     // lone continuation
        (b"\xce\xba\xe1\xbd\xb9\xcf", false), // truncated at the end
        (b"\xfe", false),
        (b"a\xffb", false),
    ];

    #[test]
    fn every_split_point_agrees_with_one_pass() {
        for &(bytes, valid) in CASES {
            assert_eq!(core::str::from_utf8(bytes).is_ok(), valid, "{bytes:?}");
            for a in 0..=bytes.len() {
                for b in a..=bytes.len() {
                    assert_eq!(
                        valid_in_pieces(bytes, &[a, b]),
                        valid,
                        "{bytes:?} cut {a},{b}"
                    );
                }
            }
        }
    }

    #[test]
    fn fails_fast_on_an_impossible_prefix() {
        // Autobahn 6.4.1-style: the second piece makes the sequence impossible, before the end.
        let mut v = Utf8Validator::default();
        assert!(v.feed("κόσμε".as_bytes()).is_ok());
        assert_eq!(v.feed(b"\xf4\x90"), Err(InvalidUtf8));
        let mut v = Utf8Validator::default();
        assert!(v.feed(b"\xf4").is_ok());
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
        let mut v = Utf8Validator::default();
        assert!(v.feed(b"\xed").is_ok());
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
    }

    #[test]
    fn finish_resets_for_the_next_message() {
        let mut v = Utf8Validator::default();
        assert!(v.feed(b"\xe2\x82").is_ok());
        assert!(v.finish().is_err());
        assert!(v.feed(b"ok").is_ok());
        assert!(v.finish().is_ok());
    }
}
