//! Reading fuzz input and the kit's deterministic randomness: [`Input`] decodes any byte
//! string into a program (reads past the end yield zeros, so every input is valid), [`FuzzRng`]
//! draws masking keys and chunk sizes, [`SampleNonce`] yields the RFC 6455 §1.3 nonce, and
//! [`Chunks`] cuts a byte stream into pieces as a network would.
//!
//! Invariant: the same input bytes make the same program and the same random draws, on every
//! machine, so stored corpora keep their meaning.

/// Fuzz bytes read front to back; reads past the end yield zeros (or nothing), so any input is
/// a valid program.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `data` from its first byte.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, or 0.
    pub fn byte(&mut self) -> u8 {
        let (&first, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        first
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` next bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(usize::MAX)
    }
}

/// A deterministic xorshift64* generator: masking keys for client connections, chunk sizes.
#[derive(Clone, Debug)]
pub struct FuzzRng(u64);

impl FuzzRng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

impl rand_core::RngCore for FuzzRng {
    fn next_u32(&mut self) -> u32 {
        (Self::next_u64(self) >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        Self::next_u64(self)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst);
    }
}

/// Yields "the sample nonce" of RFC 6455 §1.3, so the client key is `dGhlIHNhbXBsZSBub25jZQ==`.
#[derive(Debug)]
pub struct SampleNonce;

impl rand_core::RngCore for SampleNonce {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for (d, s) in dst.iter_mut().zip(b"the sample nonce".iter().cycle()) {
            *d = *s;
        }
    }
}

/// Cuts a byte stream into pieces of 1 to a chosen maximum of bytes, sizes drawn from a
/// [`FuzzRng`], as a network might deliver it.
#[derive(Debug)]
pub struct Chunks<'a> {
    rest: &'a [u8],
    rng: FuzzRng,
    max: usize,
}

impl<'a> Chunks<'a> {
    /// Cuts `rest`, with sizes drawn from a generator seeded with `seed`; `selector` (its low
    /// two bits) picks the largest piece: 1, 7, 64 bytes or everything.
    pub fn new(rest: &'a [u8], seed: u8, selector: u8) -> Self {
        let max = [1, 7, 64, usize::MAX][usize::from(selector & 3)];
        Self {
            rest,
            rng: FuzzRng::new(u64::from(seed)),
            max,
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let n = 1 + self.rng.below(self.max.min(self.rest.len()) as u64) as usize;
        let (chunk, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(chunk)
    }
}
