//! What `wsproto connect` shows: data on stdout, feedback on stderr.
//!
//! - stdout gets every received message (a line each, or raw bytes in `--raw` mode) and
//!   nothing else, so a pipe sees exactly the data;
//! - stderr gets `connected to URL (subprotocol …, extensions …)`, the server's pings and
//!   pongs when asked (`--show-ping-pong`), and the close summary;
//! - when stdin and stdout are both a terminal (and lines are being sent), a `> ` prompt
//!   marks what the user types and `< ` what arrives, as in wscat.
//!
//! Invariant (interactive mode): a prompt written by the stdin thread is erased before any
//! other output and written again after it, under the stdout lock, so a received message
//! never lands in the middle of the prompt line. Without line editing, text the user typed
//! but has not sent yet is erased from the screen with the prompt (the terminal still holds
//! it: Enter sends it), as wscat does without readline.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wsproto_core::{CloseFrame, Event, Message};

use crate::input::InputMode;

/// The prompt before a line the user types.
const PROMPT: &[u8] = b"> ";
/// Moves to the start of the line and clears it (erases a prompt).
const ERASE_LINE: &[u8] = b"\r\x1b[K";

/// The session's output. Clones share the prompt state (the stdin thread holds one).
#[derive(Clone, Debug)]
pub(crate) struct Console {
    mode: InputMode,
    show_ping_pong: bool,
    /// Markers and a prompt: stdin and stdout are terminals and lines are sent.
    interactive: bool,
    state: Arc<PromptState>,
}

#[derive(Debug, Default)]
struct PromptState {
    /// A prompt is on the last line of the screen.
    shown: AtomicBool,
    /// The session is over: no more prompts.
    done: AtomicBool,
}

impl Console {
    /// A console for `mode`; interactive when stdin and stdout are both terminals (never in
    /// raw mode, whose stdout is a byte stream).
    pub(crate) fn new(mode: InputMode, show_ping_pong: bool) -> Self {
        let interactive =
            mode != InputMode::Raw && io::stdin().is_terminal() && io::stdout().is_terminal();
        Self {
            mode,
            show_ping_pong,
            interactive,
            state: Arc::default(),
        }
    }

    /// `connected to URL (subprotocol P, extensions E)` on stderr.
    pub(crate) fn connected(&self, url: &str, subprotocol: Option<&str>, extensions: Option<&str>) {
        self.feedback(&connected_line(url, subprotocol, extensions));
    }

    /// Shows what the server sent: a message on stdout, a ping or pong on stderr when asked.
    pub(crate) fn event(&self, event: &Event) {
        match event {
            Event::Message(message) => self.message(message),
            other => {
                if let Some(line) = self.ping_pong_line(other) {
                    self.feedback(&line);
                }
            }
        }
    }

    /// Writes a received message to stdout.
    pub(crate) fn message(&self, message: &Message) {
        let mut out = io::stdout().lock();
        let shown = self.state.shown.load(Ordering::SeqCst);
        let _ = write_message(&mut out, message, self.mode, self.interactive, shown);
        let _ = out.flush();
    }

    /// Writes a feedback line to stderr (erasing and restoring a prompt around it).
    pub(crate) fn feedback(&self, line: &str) {
        let mut out = io::stdout().lock();
        let shown = self.interactive && self.state.shown.load(Ordering::SeqCst);
        if shown {
            let _ = out.write_all(ERASE_LINE);
            let _ = out.flush();
        }
        // One write, so nothing else lands inside the line.
        let _ = io::stderr().write_all(format!("{line}\n").as_bytes());
        if shown {
            let _ = out.write_all(PROMPT);
            let _ = out.flush();
        }
    }

    /// Before the stdin thread waits for a line: shows the prompt (interactive only).
    pub(crate) fn prompt(&self) {
        if !self.interactive || self.state.done.load(Ordering::SeqCst) {
            return;
        }
        let mut out = io::stdout().lock();
        if !self.state.shown.swap(true, Ordering::SeqCst) {
            let _ = out.write_all(PROMPT);
            let _ = out.flush();
        }
    }

    /// After the stdin thread read a line: the user's Enter moved past the prompt.
    pub(crate) fn line_read(&self) {
        let _out = io::stdout().lock();
        self.state.shown.store(false, Ordering::SeqCst);
    }

    /// The session is over: erases a prompt still shown, and shows no more.
    pub(crate) fn finish(&self) {
        let mut out = io::stdout().lock();
        self.state.done.store(true, Ordering::SeqCst);
        if self.state.shown.swap(false, Ordering::SeqCst) {
            let _ = out.write_all(ERASE_LINE);
            let _ = out.flush();
        }
    }

    fn ping_pong_line(&self, event: &Event) -> Option<String> {
        if !self.show_ping_pong {
            return None;
        }
        match event {
            Event::Ping(payload) => Some(format!("received ping ({} bytes)", payload.len())),
            Event::Pong { payload, rtt } => Some(pong_line(payload.len(), *rtt)),
            _ => None,
        }
    }
}

/// A Close frame as the summaries show it: the code, then the reason if there is one. Also
/// `serve -v`'s close lines.
pub(crate) fn frame_text(frame: &CloseFrame) -> String {
    let reason = frame.reason();
    if reason.is_empty() {
        frame.code().to_string()
    } else {
        format!("{} {reason}", frame.code())
    }
}

/// A Close frame with `code` and `reason` as a peer's Close arrives (the only public way to
/// make one); code 1005 stands for an empty Close.
pub(crate) fn received_close(code: u16, reason: &str) -> Option<CloseFrame> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    if code == 1005 {
        payload.clear();
    }
    let mut server = wsproto_core::Connection::server(
        wsproto_core::Config::default(),
        wsproto_core::Limits::default(),
        wsproto_core::Instant::ZERO,
    );
    let mut bytes = vec![0x88, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    bytes.extend_from_slice(&payload);
    server.handle_input(&bytes, wsproto_core::Instant::ZERO);
    while let Ok(Some(_)) = server.poll_event() {}
    server.close_received().cloned()
}

/// The line announcing an open connection.
fn connected_line(url: &str, subprotocol: Option<&str>, extensions: Option<&str>) -> String {
    format!(
        "connected to {url} (subprotocol {}, extensions {})",
        subprotocol.unwrap_or("none"),
        extensions.unwrap_or("none")
    )
}

/// The line for a pong: with the round trip time when it answers our latest ping.
fn pong_line(len: usize, rtt: Option<Duration>) -> String {
    match rtt {
        Some(rtt) => format!(
            "received pong ({len} bytes), rtt {:.3} ms",
            rtt.as_secs_f64() * 1000.0
        ),
        None => format!("received pong ({len} bytes), not an answer to our latest ping"),
    }
}

/// A received message as it appears on stdout: the payload and a newline (raw mode: the
/// payload alone); interactive, marked with `< ` and followed by the prompt again if one was
/// shown.
fn write_message(
    out: &mut impl Write,
    message: &Message,
    mode: InputMode,
    interactive: bool,
    prompt_shown: bool,
) -> io::Result<()> {
    if interactive {
        if prompt_shown {
            out.write_all(ERASE_LINE)?;
        }
        out.write_all(b"< ")?;
    }
    out.write_all(message.payload())?;
    if mode != InputMode::Raw {
        out.write_all(b"\n")?;
    }
    if interactive && prompt_shown {
        out.write_all(PROMPT)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(message: &Message, mode: InputMode, interactive: bool, prompt: bool) -> Vec<u8> {
        let mut out = Vec::new();
        write_message(&mut out, message, mode, interactive, prompt).unwrap();
        out
    }

    #[test]
    fn piped_output_is_the_data_alone_and_a_terminal_gets_markers() {
        let hi = Message::text("hi");
        let blob = Message::binary(&b"\x00\xff"[..]);
        assert_eq!(shown(&hi, InputMode::Text, false, false), b"hi\n");
        assert_eq!(shown(&blob, InputMode::Raw, false, false), b"\x00\xff");
        assert_eq!(shown(&blob, InputMode::Binary, false, false), b"\x00\xff\n");
        assert_eq!(shown(&hi, InputMode::Text, true, false), b"< hi\n");
        assert_eq!(
            shown(&hi, InputMode::Text, true, true),
            b"\r\x1b[K< hi\n> ",
            "the prompt is erased, the message marked, the prompt shown again"
        );
    }

    #[test]
    fn feedback_lines() {
        assert_eq!(
            connected_line("ws://h/", Some("chat"), Some("permessage-deflate")),
            "connected to ws://h/ (subprotocol chat, extensions permessage-deflate)"
        );
        assert_eq!(
            connected_line("ws://h/", None, None),
            "connected to ws://h/ (subprotocol none, extensions none)"
        );
        assert_eq!(
            pong_line(0, Some(Duration::from_micros(1500))),
            "received pong (0 bytes), rtt 1.500 ms"
        );
        assert!(pong_line(3, None).starts_with("received pong (3 bytes), not"));
        let console = Console {
            mode: InputMode::Text,
            show_ping_pong: true,
            interactive: false,
            state: Arc::default(),
        };
        let ping = Event::Ping(wsproto_core::Bytes::from_static(b"abc"));
        assert_eq!(
            console.ping_pong_line(&ping).as_deref(),
            Some("received ping (3 bytes)")
        );
        let quiet = Console {
            show_ping_pong: false,
            ..console
        };
        assert_eq!(quiet.ping_pong_line(&ping), None);
    }
}
