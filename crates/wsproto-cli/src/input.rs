//! stdin as messages for `wsproto connect`: a reader thread cuts stdin into one message per
//! line (text or binary) or per read (raw) and hands them to the session through a bounded
//! channel. The `-x` messages travel the same way ([`from_messages`]), so the session has one
//! input to send, whichever it is.
//!
//! Invariants:
//! - nothing is dropped: every byte read ends up in exactly one [`Item`], except the `\n`
//!   (and, in text mode, a `\r` before it) that ends a line; when stdin cannot be used as
//!   asked, the reader sends one [`InputError`] naming where, and stops;
//! - the channel holds at most [`QUEUE`] items and the thread blocks while it is full, so
//!   piping a large file into a slow server keeps memory flat: the reader is never more than
//!   the queue plus one item ahead of what was sent.

use std::fmt;
use std::io::{self, BufRead};

use futures_channel::mpsc;
use futures_util::SinkExt;
use wsproto_core::Message;

use crate::console::Console;

/// How stdin becomes messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InputMode {
    /// Each line (without `\n` or `\r\n`) is a text message; it must be UTF-8.
    Text,
    /// Each line's bytes (without the `\n`, nothing else removed) are a binary message.
    Binary,
    /// stdin is a byte stream: each read (up to [`RAW_CHUNK`] bytes) is a binary message.
    Raw,
}

/// Items the channel holds before the reader thread waits.
const QUEUE: usize = 4;
/// Largest binary message in raw mode: one read of stdin.
pub(crate) const RAW_CHUNK: usize = 64 * 1024;

/// Where an item starts in stdin, to say which input was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Position {
    /// Line number, from 1.
    Line(u64),
    /// Byte offset, from 0 (raw mode).
    Byte(u64),
    /// The n-th `-x` message, from 1.
    Execute(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(n) => write!(f, "stdin line {n}"),
            Self::Byte(n) => write!(f, "stdin byte offset {n}"),
            Self::Execute(n) => write!(f, "-x message {n}"),
        }
    }
}

/// One message read from stdin and where it started.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) message: Message,
    pub(crate) at: Position,
}

/// Why the reader stopped before the end of stdin.
#[derive(Debug)]
pub(crate) enum InputError {
    /// Text mode met a line that is not UTF-8.
    NotUtf8 { line: u64 },
    /// Reading stdin failed.
    Read { at: Position, error: io::Error },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 { line } => write!(
                f,
                "stdin line {line} is not valid UTF-8; use --binary or --raw to send bytes"
            ),
            Self::Read { at, error } => write!(f, "cannot read {at}: {error}"),
        }
    }
}

/// What the reader thread sends: a message, or the error that stopped it.
pub(crate) type Next = Result<Item, InputError>;
/// The session's end of the channel; it ends after the last item (or the error).
pub(crate) type Input = mpsc::Receiver<Next>;

/// Starts the reader thread on stdin; it shows `console`'s prompt before each line it waits
/// for (a no-op unless interactive).
pub(crate) fn spawn(mode: InputMode, console: Console) -> Input {
    feed(move || {
        let mut reader = Reader::new(io::stdin().lock(), mode);
        std::iter::from_fn(move || {
            console.prompt();
            let next = reader.next();
            if next.is_some() {
                // Enter moved past the prompt (at the end of input it stays, for `finish`).
                console.line_read();
            }
            next
        })
    })
}

/// The `-x` messages as input: text, or binary (their UTF-8 bytes) in `--binary`/`--raw`
/// mode.
pub(crate) fn from_messages(messages: &[String], mode: InputMode) -> Input {
    let items: Vec<Next> = (1..)
        .zip(messages)
        .map(|(n, text)| {
            let message = match mode {
                InputMode::Text => Message::text(text.as_str()),
                InputMode::Binary | InputMode::Raw => Message::binary(text.clone().into_bytes()),
            };
            Ok(Item {
                message,
                at: Position::Execute(n),
            })
        })
        .collect();
    feed(move || items.into_iter())
}

/// Runs the items `make` produces through the bounded channel, on a thread of its own (made
/// there, so it may hold stdin's lock).
fn feed<I: Iterator<Item = Next>>(make: impl FnOnce() -> I + Send + 'static) -> Input {
    let (mut tx, rx) = mpsc::channel(QUEUE);
    std::thread::spawn(move || {
        for next in make() {
            let last = next.is_err();
            // Waits while the channel is full: this is the back-pressure. An error means the
            // session is over and nobody will send what we read.
            if futures_lite::future::block_on(tx.send(next)).is_err() || last {
                break;
            }
        }
    });
    rx
}

/// Cuts a byte stream into items.
struct Reader<R> {
    source: R,
    mode: InputMode,
    /// Lines read so far.
    lines: u64,
    /// Bytes read so far.
    offset: u64,
    /// Set after an error: the reader ends.
    failed: bool,
}

impl<R: BufRead> Reader<R> {
    fn new(source: R, mode: InputMode) -> Self {
        Self {
            source,
            mode,
            lines: 0,
            offset: 0,
            failed: false,
        }
    }

    fn position(&self) -> Position {
        match self.mode {
            InputMode::Raw => Position::Byte(self.offset),
            InputMode::Text | InputMode::Binary => Position::Line(self.lines + 1),
        }
    }

    /// The next item; `None` at the end of stdin or after an error.
    fn next(&mut self) -> Option<Next> {
        if self.failed {
            return None;
        }
        let at = self.position();
        let next = match self.mode {
            InputMode::Raw => self.read_chunk(),
            InputMode::Text | InputMode::Binary => self.read_line(),
        };
        match next {
            Ok(Some(message)) => Some(Ok(Item { message, at })),
            Ok(None) => None,
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }

    /// One read of up to [`RAW_CHUNK`] bytes (stdin's own buffer is bypassed for reads this
    /// large).
    fn read_chunk(&mut self) -> Result<Option<Message>, InputError> {
        let mut buf = vec![0; RAW_CHUNK];
        let n = loop {
            match self.source.read(&mut buf) {
                Ok(n) => break n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(self.read_error(error)),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        // A short read (a pipe hands out what it has) should not pin the whole 64 KiB.
        buf.shrink_to_fit();
        self.offset += n as u64;
        Ok(Some(Message::binary(buf)))
    }

    /// One line, as raw bytes up to and including `\n` (the last line may lack it).
    fn read_line(&mut self) -> Result<Option<Message>, InputError> {
        let mut line = Vec::new();
        match self.source.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(None),
            Ok(n) => self.offset += n as u64,
            Err(error) => return Err(self.read_error(error)),
        }
        self.lines += 1;
        let ended = line.pop_if(|b| *b == b'\n').is_some();
        if self.mode == InputMode::Binary {
            return Ok(Some(Message::binary(line)));
        }
        if ended {
            // Text lines end as with `BufRead::lines`: `\n` or `\r\n`.
            line.pop_if(|b| *b == b'\r');
        }
        match String::from_utf8(line) {
            Ok(text) => Ok(Some(Message::text(text))),
            Err(_) => Err(InputError::NotUtf8 { line: self.lines }),
        }
    }

    fn read_error(&self, error: io::Error) -> InputError {
        InputError::Read {
            at: self.position(),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item as (is text, payload, position).
    type Seen = (bool, Vec<u8>, Position);
    /// Input, mode, the items expected, and the start of the error expected.
    type Case = (
        &'static [u8],
        InputMode,
        &'static [(bool, &'static [u8], Position)],
        Option<&'static str>,
    );

    /// Everything a reader makes of `input`, then the error that stopped it, if any.
    fn read_all(input: &[u8], mode: InputMode) -> (Vec<Seen>, Option<String>) {
        let mut reader = Reader::new(input, mode);
        let mut items = Vec::new();
        while let Some(next) = reader.next() {
            match next {
                Ok(item) => items.push((
                    item.message.kind() == wsproto_core::MessageKind::Text,
                    item.message.payload().to_vec(),
                    item.at,
                )),
                Err(error) => return (items, Some(error.to_string())),
            }
        }
        (items, None)
    }

    #[test]
    fn lines_become_messages() {
        use Position::Line;
        let cases: [Case; 7] = [
            (b"", InputMode::Text, &[], None),
            (
                b"a\n\nb",
                InputMode::Text,
                &[
                    (true, b"a", Line(1)),
                    (true, b"", Line(2)),
                    (true, b"b", Line(3)),
                ],
                None,
            ),
            (
                b"dos\r\nx\r",
                InputMode::Text,
                &[(true, b"dos", Line(1)), (true, b"x\r", Line(2))],
                None,
            ),
            (
                b"ok\n\xff\xfe\nlater\n",
                InputMode::Text,
                &[(true, b"ok", Line(1))],
                Some("stdin line 2 is not valid UTF-8; use --binary or --raw to send bytes"),
            ),
            (
                b"\xe2\x9c",
                InputMode::Text,
                &[],
                Some("stdin line 1 is not valid UTF-8"),
            ),
            (
                b"one\n\xff\xfe\nthree\n",
                InputMode::Binary,
                &[
                    (false, b"one", Line(1)),
                    (false, b"\xff\xfe", Line(2)),
                    (false, b"three", Line(3)),
                ],
                None,
            ),
            (
                b"cr\r\n\n",
                InputMode::Binary,
                &[(false, b"cr\r", Line(1)), (false, b"", Line(2))],
                None,
            ),
        ];
        for (input, mode, want, error) in cases {
            let (items, got_error) = read_all(input, mode);
            let want: Vec<Seen> = want
                .iter()
                .map(|(t, p, at)| (*t, p.to_vec(), *at))
                .collect();
            assert_eq!(items, want, "{input:?} {mode:?}");
            match (error, got_error) {
                (None, None) => {}
                (Some(want), Some(got)) => assert!(got.starts_with(want), "{got}"),
                (want, got) => panic!("{input:?}: error {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn execute_messages_arrive_in_order_with_their_number() {
        use futures_util::StreamExt;
        let messages = ["one".to_owned(), "two".to_owned()];
        for (mode, text) in [(InputMode::Text, true), (InputMode::Binary, false)] {
            let input = from_messages(&messages, mode);
            let items: Vec<Seen> = futures_lite::future::block_on(input.collect::<Vec<_>>())
                .into_iter()
                .map(|next| {
                    let item = next.expect("no error");
                    (
                        item.message.kind() == wsproto_core::MessageKind::Text,
                        item.message.payload().to_vec(),
                        item.at,
                    )
                })
                .collect();
            assert_eq!(
                items,
                [
                    (text, b"one".to_vec(), Position::Execute(1)),
                    (text, b"two".to_vec(), Position::Execute(2)),
                ]
            );
        }
        assert_eq!(Position::Execute(2).to_string(), "-x message 2");
    }

    #[test]
    fn raw_mode_keeps_every_byte_in_chunks() {
        let input: Vec<u8> = (0..RAW_CHUNK * 2 + 10)
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        // A reader that hands out odd-sized pieces, as a pipe does.
        let source = io::BufReader::with_capacity(1000, input.as_slice());
        let mut reader = Reader::new(source, InputMode::Raw);
        let mut joined = Vec::new();
        while let Some(Ok(item)) = reader.next() {
            assert_eq!(item.at, Position::Byte(joined.len() as u64));
            assert!(item.message.payload().len() <= RAW_CHUNK);
            joined.extend_from_slice(item.message.payload());
        }
        assert_eq!(joined, input);
    }
}
