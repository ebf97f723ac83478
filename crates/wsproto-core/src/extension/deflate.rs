//! permessage-deflate (RFC 7692): negotiation in both roles and the per-message transform.
//!
//! [`DeflateConfig`] is what an endpoint is willing to do. A client turns it into an offer
//! ([`DeflateConfig::client_offer`]) and checks the server's answer
//! ([`DeflateConfig::accept_response`]); a server picks the first acceptable offer
//! ([`DeflateConfig::negotiate`]). Both produce a [`PerMessageDeflate`], the [`Extension`] the
//! connection runs: it compresses whole messages (RSV1 on the first frame, the trailing
//! `00 00 ff ff` removed, RFC 7692 §7.2.1) and inflates incoming ones with the output bounded
//! by what is left of the message limit, so a decompression bomb stops at the limit (1009).
//!
//! Backend: `flate2` on `zlib-rs`, a pure-Rust zlib. It is chosen over `miniz_oxide` (which
//! would keep this module `no_std`) because RFC 7692 window sizes must be honoured when we
//! compress: a peer that asks for `server_max_window_bits=10` gets a 1 KiB window, which
//! miniz_oxide cannot do. zlib cannot compress raw deflate with an 8-bit window, so offers
//! that demand 8 for our side are declined (RFC 7692 allows declining any offer).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{Extension, ExtensionError};
use crate::event::MessageKind;
use crate::handshake::ExtensionParams;

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// The empty deflate block that ends every flushed message, removed on send and restored on
/// receive (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output produced per inflate call before the budget is checked again.
const INFLATE_CHUNK: usize = 16 * 1024;

/// What an endpoint accepts for permessage-deflate, and how hard it compresses.
///
/// The `*_no_context_takeover` and `*_max_window_bits` settings are requests a client puts in
/// its offer, or requirements a server imposes in its answer; either side always honours what
/// the other asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    client_no_context_takeover: bool,
    server_no_context_takeover: bool,
    client_max_window_bits: Option<u8>,
    server_max_window_bits: Option<u8>,
    level: u32,
    threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: None,
            server_max_window_bits: None,
            level: 1,
            threshold: 32,
        }
    }
}

/// Why a peer's permessage-deflate parameters were refused.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeflateError {
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// The same parameter twice.
    DuplicateParameter(String),
    /// A value that is missing, present where none is allowed, or out of range.
    InvalidValue(String),
    /// The server set `client_max_window_bits` although the client did not offer it.
    UnrequestedClientWindowBits,
    /// The server's answer breaks a request of the client (e.g. a larger window than asked).
    ViolatesOffer(&'static str),
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownParameter(name) => {
                write!(f, "unknown permessage-deflate parameter {name:?}")
            }
            Self::DuplicateParameter(name) => {
                write!(f, "permessage-deflate parameter {name:?} given twice")
            }
            Self::InvalidValue(name) => {
                write!(f, "invalid value for permessage-deflate parameter {name:?}")
            }
            Self::UnrequestedClientWindowBits => f.write_str(
                "server set client_max_window_bits although the client did not offer it",
            ),
            Self::ViolatesOffer(why) => {
                write!(f, "permessage-deflate answer violates the offer: {why}")
            }
        }
    }
}

impl core::error::Error for DeflateError {}

/// The parameters of one offer or answer, checked for names, duplicates and value syntax.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// `Some(None)` is the value-less form (allowed for `client_max_window_bits` in offers).
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    fn parse(extension: &ExtensionParams) -> Result<Self, DeflateError> {
        let mut params = Self::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in extension.params() {
            let lower = name.to_ascii_lowercase();
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return Err(DeflateError::DuplicateParameter(lower));
            }
            seen.push(name);
            let value = value.as_deref();
            match lower.as_str() {
                "server_no_context_takeover" => {
                    params.server_no_context_takeover = flag(&lower, value)?;
                }
                "client_no_context_takeover" => {
                    params.client_no_context_takeover = flag(&lower, value)?;
                }
                "server_max_window_bits" => {
                    params.server_max_window_bits = Some(Some(window_bits(&lower, value)?));
                }
                "client_max_window_bits" => {
                    params.client_max_window_bits = Some(match value {
                        None => None,
                        Some(_) => Some(window_bits(&lower, value)?),
                    });
                }
                _ => return Err(DeflateError::UnknownParameter(lower)),
            }
        }
        Ok(params)
    }
}

fn flag(name: &str, value: Option<&str>) -> Result<bool, DeflateError> {
    match value {
        None => Ok(true),
        Some(_) => Err(DeflateError::InvalidValue(String::from(name))),
    }
}

/// A window size: 8..=15, digits only (RFC 7692 §7.1.2).
fn window_bits(name: &str, value: Option<&str>) -> Result<u8, DeflateError> {
    let invalid = || DeflateError::InvalidValue(String::from(name));
    let value = value.ok_or_else(invalid)?;
    if value.is_empty() || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match value.parse::<u8>() {
        Ok(bits @ 8..=15) => Ok(bits),
        _ => Err(invalid()),
    }
}

impl DeflateConfig {
    /// Requests (client) or imposes (server) that the client resets its compression context
    /// after every message: less memory kept between messages, worse compression.
    #[must_use]
    pub fn client_no_context_takeover(mut self, enabled: bool) -> Self {
        self.client_no_context_takeover = enabled;
        self
    }

    /// Requests (client) or imposes (server) that the server resets its compression context
    /// after every message.
    #[must_use]
    pub fn server_no_context_takeover(mut self, enabled: bool) -> Self {
        self.server_no_context_takeover = enabled;
        self
    }

    /// Limits the client's compression window to 2^bits bytes (9..=15); `None` (default)
    /// leaves it at the peer's choice. A client that sets it also compresses with it.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.client_max_window_bits = bits.map(|b| b.clamp(9, 15));
        self
    }

    /// Limits the server's compression window to 2^bits bytes (9..=15); `None` (default)
    /// leaves it at 15 unless the client asks for less.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.server_max_window_bits = bits.map(|b| b.clamp(9, 15));
        self
    }

    /// The zlib compression level, 0 (store) to 9 (smallest). Default 1: most of the gain
    /// for a fraction of the CPU.
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Messages shorter than this many bytes are sent uncompressed (RSV1 clear). Default 32:
    /// below that, deflate's framing overhead outweighs the gain.
    #[must_use]
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The `Sec-WebSocket-Extensions` offer a client sends for this configuration; it always
    /// announces `client_max_window_bits` (value-less if unset) so a server may limit us.
    #[must_use]
    pub fn client_offer(&self) -> String {
        let mut offer = String::from(NAME);
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        match self.client_max_window_bits {
            Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
            None => offer.push_str("; client_max_window_bits"),
        }
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        offer
    }

    /// Checks a server's answer to [`client_offer`](Self::client_offer) and builds the
    /// client's extension (RFC 7692 §7.1): unknown or duplicate parameters, bad values, a
    /// `client_max_window_bits` larger than offered, or a server window larger than asked
    /// fail the handshake.
    pub fn accept_response(
        &self,
        answer: &ExtensionParams,
    ) -> Result<PerMessageDeflate, DeflateError> {
        let params = Params::parse(answer)?;
        let client_bits = match params.client_max_window_bits {
            None => self.client_max_window_bits.unwrap_or(15),
            Some(None) => {
                return Err(DeflateError::InvalidValue(String::from(
                    "client_max_window_bits",
                )));
            }
            Some(Some(bits)) => {
                if self.client_max_window_bits.is_some_and(|ours| bits > ours) {
                    return Err(DeflateError::ViolatesOffer(
                        "client_max_window_bits above the offered value",
                    ));
                }
                bits
            }
        };
        let server_bits = params.server_max_window_bits.flatten().unwrap_or(15);
        if self
            .server_max_window_bits
            .is_some_and(|asked| server_bits > asked)
        {
            return Err(DeflateError::ViolatesOffer(
                "server window larger than requested",
            ));
        }
        if self.server_no_context_takeover && !params.server_no_context_takeover {
            return Err(DeflateError::ViolatesOffer(
                "server_no_context_takeover was requested",
            ));
        }
        Ok(PerMessageDeflate::new(
            self.level,
            self.threshold,
            // We compress with the client window, which zlib cannot make smaller than 9 bits.
            client_bits.max(9),
            params.client_no_context_takeover || self.client_no_context_takeover,
            params.server_no_context_takeover,
        ))
    }

    /// Picks the first acceptable permessage-deflate offer among a client's extensions and
    /// returns the answer for `Sec-WebSocket-Extensions` with the server's extension, or
    /// `None` to decline. Invalid offers, and offers that demand an 8-bit window for our
    /// compressor (which zlib cannot honour), are skipped.
    #[must_use]
    pub fn negotiate(&self, offers: &[ExtensionParams]) -> Option<(String, PerMessageDeflate)> {
        offers
            .iter()
            .filter(|offer| offer.name().eq_ignore_ascii_case(NAME))
            .find_map(|offer| self.answer(Params::parse(offer).ok()?))
    }

    fn answer(&self, offer: Params) -> Option<(String, PerMessageDeflate)> {
        let mut response = String::from(NAME);
        let server_no_context = offer.server_no_context_takeover || self.server_no_context_takeover;
        if server_no_context {
            response.push_str("; server_no_context_takeover");
        }
        let client_no_context = offer.client_no_context_takeover || self.client_no_context_takeover;
        if client_no_context {
            response.push_str("; client_no_context_takeover");
        }
        // Our compressor's window: the smaller of what the client asks and what we want.
        let asked = offer.server_max_window_bits.flatten();
        if asked == Some(8) {
            return None;
        }
        let server_bits = match (asked, self.server_max_window_bits) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(bits) = server_bits {
            response.push_str(&format!("; server_max_window_bits={bits}"));
        }
        // The client's window may only be limited if it offered the parameter.
        if let (Some(offered), Some(ours)) =
            (offer.client_max_window_bits, self.client_max_window_bits)
        {
            let bits = offered.map_or(ours, |o| o.min(ours));
            response.push_str(&format!("; client_max_window_bits={bits}"));
        }
        let extension = PerMessageDeflate::new(
            self.level,
            self.threshold,
            server_bits.unwrap_or(15),
            server_no_context,
            client_no_context,
        );
        Some((response, extension))
    }
}

/// The negotiated permessage-deflate transform of one connection.
pub struct PerMessageDeflate {
    compress: Compress,
    decompress: Decompress,
    threshold: usize,
    /// Reset our compressor after every message.
    reset_compress: bool,
    /// Reset our decompressor after every message (the peer does not take over context).
    reset_decompress: bool,
    /// Scratch output for inflate, reused.
    chunk: Vec<u8>,
    /// Scratch output for deflate, reused.
    packed: Vec<u8>,
}

impl PerMessageDeflate {
    fn new(
        level: u32,
        threshold: usize,
        compress_bits: u8,
        reset_compress: bool,
        reset_decompress: bool,
    ) -> Self {
        Self {
            compress: Compress::new_with_window_bits(
                Compression::new(level),
                false,
                compress_bits.clamp(9, 15),
            ),
            // A 15-bit inflate window reads streams made with any smaller window.
            decompress: Decompress::new_with_window_bits(false, 15),
            threshold,
            reset_compress,
            reset_decompress,
            chunk: Vec::new(),
            packed: Vec::new(),
        }
    }

    /// Inflates `input` into `out`, at most `budget` bytes in all.
    fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut BytesMut,
        budget: &mut usize,
    ) -> Result<(), ExtensionError> {
        if self.chunk.len() < INFLATE_CHUNK {
            self.chunk.resize(INFLATE_CHUNK, 0);
        }
        loop {
            let before_in = self.decompress.total_in();
            let before_out = self.decompress.total_out();
            let status = self
                .decompress
                .decompress(input, &mut self.chunk, FlushDecompress::Sync)
                .map_err(|_| ExtensionError::Invalid("corrupt permessage-deflate data"))?;
            let consumed =
                usize::try_from(self.decompress.total_in() - before_in).unwrap_or(usize::MAX);
            let produced =
                usize::try_from(self.decompress.total_out() - before_out).unwrap_or(usize::MAX);
            if produced > *budget {
                return Err(ExtensionError::TooLarge);
            }
            *budget -= produced;
            out.extend_from_slice(self.chunk.get(..produced).unwrap_or_default());
            input = input.get(consumed..).unwrap_or_default();
            if status == Status::StreamEnd {
                // A final block inside a message is legal deflate; what follows starts anew.
                self.decompress.reset(false);
            }
            // Done when all input is consumed and the last call did not fill the buffer.
            if input.is_empty() && produced < self.chunk.len() {
                return Ok(());
            }
            if consumed == 0 && produced == 0 {
                return Err(ExtensionError::Invalid(
                    "permessage-deflate data makes no progress",
                ));
            }
        }
    }
}

impl fmt::Debug for PerMessageDeflate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerMessageDeflate")
            .field("threshold", &self.threshold)
            .field("reset_compress", &self.reset_compress)
            .field("reset_decompress", &self.reset_decompress)
            .finish_non_exhaustive()
    }
}

impl Extension for PerMessageDeflate {
    fn rsv_bits(&self) -> u8 {
        0x40
    }

    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_out: usize,
    ) -> Result<(), ExtensionError> {
        let mut budget = max_out;
        self.inflate(input, out, &mut budget)?;
        if fin {
            self.inflate(&TAIL, out, &mut budget)?;
            if self.reset_decompress {
                self.decompress.reset(false);
            }
        }
        Ok(())
    }

    fn encode(
        &mut self,
        _kind: MessageKind,
        input: &[u8],
        out: &mut BytesMut,
    ) -> Result<Option<u8>, ExtensionError> {
        if input.len() < self.threshold {
            return Ok(None);
        }
        let buf = &mut self.packed;
        buf.clear();
        buf.reserve(input.len() / 2 + 64);
        let mut rest = input;
        loop {
            let before_in = self.compress.total_in();
            let before_out = buf.len();
            if buf.capacity() - buf.len() < 64 {
                buf.reserve(buf.capacity().max(1024));
            }
            self.compress
                .compress_vec(rest, buf, FlushCompress::Sync)
                .map_err(|_| ExtensionError::Invalid("deflate failed"))?;
            let consumed =
                usize::try_from(self.compress.total_in() - before_in).unwrap_or(usize::MAX);
            rest = rest.get(consumed..).unwrap_or_default();
            // Sync flush is complete once all input is in and the output ends with the tail.
            if rest.is_empty() && buf.ends_with(&TAIL) && buf.len() < buf.capacity() {
                break;
            }
            // zlib makes no progress (and writes no second tail) when flushed again with no
            // new input, e.g. for an empty message right after a compressed one.
            if rest.is_empty() && consumed == 0 && buf.len() == before_out {
                break;
            }
        }
        if buf.ends_with(&TAIL) {
            buf.truncate(buf.len() - TAIL.len());
        }
        if buf.is_empty() {
            // An empty message compresses to the tail alone; RFC 7692 §7.2.3.6 sends one 0x00.
            buf.push(0x00);
        }
        out.extend_from_slice(buf);
        if self.reset_compress {
            self.compress.reset();
        }
        Ok(Some(0x40))
    }
}

#[cfg(test)]
mod tests;
