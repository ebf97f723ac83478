//! How a `connect` session ended, turned into one exit status and a summary on stderr.
//!
//! Both sessions (async and blocking) record the same facts — how the input side ended, the
//! Close we started, the Close the server sent, a connection failure — and this module alone
//! decides what they mean, so every runtime reports and exits alike.

use wsproto_async::Error;
use wsproto_core::{CloseCode, CloseFrame};

use crate::console::frame_text;
use crate::exit::Exit;
use crate::input::{Input, InputError, Next, Position};

/// How the input side of a session ended.
#[derive(Debug)]
pub(super) enum InputEnd {
    /// End of stdin: everything was sent, then our Close (1000).
    Finished,
    /// stdin could not be sent as asked; what came before was sent, then our Close (1000).
    Invalid(InputError),
    /// Ctrl-C or SIGTERM; our Close (1000, "interrupted") was started if input was still open.
    Interrupted,
    /// The connection ended (or refused a message) before stdin did. `at` is the first input
    /// that was read but not sent, if any; `error` is why a send failed.
    Cut {
        at: Option<Position>,
        error: Option<Error>,
    },
}

impl InputEnd {
    /// The Close we send when input ends this way.
    pub(super) fn close_code(&self) -> (CloseCode, &'static str) {
        match self {
            Self::Interrupted => (CloseCode::NORMAL, "interrupted"),
            _ => (CloseCode::NORMAL, ""),
        }
    }

    /// The item to send next, or how input ended, from what the reader produced.
    pub(super) fn from_next(next: Option<Next>) -> Result<crate::input::Item, Self> {
        match next {
            Some(Ok(item)) => Ok(item),
            Some(Err(error)) => Err(Self::Invalid(error)),
            None => Err(Self::Finished),
        }
    }

    /// The connection is over while input was still open: was anything read and not sent?
    /// `in_flight` is an item whose send did not complete.
    pub(super) fn cut(input: &mut Input, in_flight: Option<Position>) -> Self {
        if in_flight.is_some() {
            return Self::Cut {
                at: in_flight,
                error: None,
            };
        }
        match input.try_recv() {
            Ok(Ok(item)) => Self::Cut {
                at: Some(item.at),
                error: None,
            },
            Ok(Err(error)) => Self::Invalid(error),
            // Nothing was waiting: stdin had not produced more (or had ended).
            Err(_) => Self::Cut {
                at: None,
                error: None,
            },
        }
    }
}

/// The Close we started, given what starting it returned: refused as a command means the
/// server's Close came first (ours is only its echo).
pub(super) fn our_close(code: CloseCode, started: &Result<(), Error>) -> Option<CloseCode> {
    (!matches!(started, Err(Error::Send(_)))).then_some(code)
}

/// Whether the server's Close `theirs` reads as an answer to ours rather than a complaint of
/// its own: an echo, no code, or a plain normal or going-away close.
fn is_answer(theirs: CloseCode, ours: CloseCode) -> bool {
    theirs == ours
        || matches!(
            theirs,
            CloseCode::NORMAL | CloseCode::GOING_AWAY | CloseCode::NO_STATUS
        )
}

/// Everything a session learned about its end.
#[derive(Debug)]
pub(super) struct Ending {
    pub(super) input: InputEnd,
    /// The Close we started (not an echo of the server's), if we got to start one.
    pub(super) closed_by_us: Option<CloseCode>,
    /// The server's Close, if one arrived.
    pub(super) close_received: Option<CloseFrame>,
    /// The error that ended the connection, if it did not end with a closing handshake.
    pub(super) failure: Option<Error>,
    /// `-x --count N`: `(received, N)` when fewer replies arrived.
    pub(super) missing_replies: Option<(u64, u64)>,
}

impl Ending {
    /// Writes the summary to stderr and returns the exit status.
    pub(super) fn report(self) -> Exit {
        let (lines, exit) = self.summary();
        for line in lines {
            eprintln!("{line}");
        }
        exit
    }

    /// The stderr lines and the exit status. Precedence: interrupted, then invalid input, then
    /// an abnormal end (including input that was read and not sent), then missing replies.
    fn summary(&self) -> (Vec<String>, Exit) {
        let mut lines = Vec::new();
        let mut normal = self.failure.is_none();
        if let Some(error) = &self.failure {
            lines.push(format!("wsproto: connection failed: {error}"));
        }
        match (&self.close_received, self.closed_by_us) {
            (Some(theirs), Some(ours)) if is_answer(theirs.code(), ours) => {
                lines.push(format!("closed by client: {ours}"));
            }
            (Some(theirs), _) => {
                lines.push(format!("closed by server: {}", frame_text(theirs)));
                normal &= matches!(theirs.code(), CloseCode::NORMAL | CloseCode::GOING_AWAY);
            }
            (None, ours) => {
                normal = false;
                if self.failure.is_none() {
                    let ours = ours.map_or(String::new(), |c| format!(" (our close: {c})"));
                    lines.push(format!(
                        "wsproto: the connection ended without a close from the server{ours}"
                    ));
                }
            }
        }
        let exit = match &self.input {
            InputEnd::Interrupted => {
                lines.push("wsproto: interrupted".into());
                Exit::Interrupted
            }
            InputEnd::Invalid(error) => {
                lines.push(format!("wsproto: {error}"));
                Exit::Input
            }
            InputEnd::Cut {
                at: Some(at),
                error,
            } => {
                let why = error.as_ref().map_or(String::new(), |e| format!(" ({e})"));
                lines.push(format!(
                    "wsproto: not sent: {at} and everything after it, the connection ended first{why}"
                ));
                Exit::Closed
            }
            InputEnd::Finished | InputEnd::Cut { at: None, .. } if normal => {
                match self.missing_replies {
                    Some((got, wanted)) => {
                        lines.push(format!(
                            "wsproto: {got} of {wanted} replies arrived before the quiet period (--wait) ended"
                        ));
                        Exit::Incomplete
                    }
                    None => Exit::Success,
                }
            }
            InputEnd::Finished | InputEnd::Cut { at: None, .. } => Exit::Closed,
        };
        (lines, exit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::received_close;

    fn frame(code: u16, reason: &str) -> Option<CloseFrame> {
        received_close(code, reason)
    }

    fn ending(input: InputEnd, ours: Option<u16>, theirs: Option<CloseFrame>) -> Ending {
        Ending {
            input,
            closed_by_us: ours.map(|c| CloseCode::new(c).expect("code")),
            close_received: theirs,
            failure: None,
            missing_replies: None,
        }
    }

    #[test]
    fn who_closed_and_the_exit_status() {
        let lost = || InputEnd::Cut {
            at: Some(Position::Line(3)),
            error: None,
        };
        let open = || InputEnd::Cut {
            at: None,
            error: None,
        };
        let cases = [
            (
                ending(InputEnd::Finished, Some(1000), frame(1000, "")),
                Exit::Success,
                "closed by client: 1000",
            ),
            (
                ending(InputEnd::Finished, Some(1000), frame(1005, "")),
                Exit::Success,
                "closed by client: 1000",
            ),
            (
                ending(
                    InputEnd::Finished,
                    Some(1000),
                    frame(1009, "message too big"),
                ),
                Exit::Closed,
                "closed by server: 1009 message too big",
            ),
            (
                ending(InputEnd::Finished, None, frame(1009, "message too big")),
                Exit::Closed,
                "closed by server: 1009 message too big",
            ),
            (
                ending(open(), None, frame(1001, "server shutting down")),
                Exit::Success,
                "closed by server: 1001 server shutting down",
            ),
            (
                ending(open(), None, frame(1000, "")),
                Exit::Success,
                "closed by server: 1000",
            ),
            (
                ending(lost(), None, frame(1000, "")),
                Exit::Closed,
                "not sent: stdin line 3 and everything after it",
            ),
            (
                ending(InputEnd::Finished, Some(1000), None),
                Exit::Closed,
                "without a close from the server (our close: 1000)",
            ),
            (
                ending(open(), None, None),
                Exit::Closed,
                "without a close from the server",
            ),
            (
                ending(
                    InputEnd::Invalid(InputError::NotUtf8 { line: 2 }),
                    Some(1000),
                    frame(1000, ""),
                ),
                Exit::Input,
                "stdin line 2 is not valid UTF-8",
            ),
            (
                ending(
                    InputEnd::Invalid(InputError::NotUtf8 { line: 2 }),
                    Some(1000),
                    frame(1011, ""),
                ),
                Exit::Input,
                "closed by server: 1011",
            ),
            (
                ending(InputEnd::Finished, Some(1000), frame(1001, "bye")),
                Exit::Success,
                "closed by client: 1000",
            ),
            (
                ending(InputEnd::Interrupted, Some(1000), frame(1000, "")),
                Exit::Interrupted,
                "closed by client: 1000",
            ),
            (
                ending(InputEnd::Interrupted, Some(1001), frame(1001, "")),
                Exit::Interrupted,
                "closed by client: 1001",
            ),
        ];
        let short = |missing| Ending {
            missing_replies: missing,
            ..ending(InputEnd::Finished, Some(1000), frame(1000, ""))
        };
        let cases = cases.into_iter().chain([
            (
                short(Some((1, 2))),
                Exit::Incomplete,
                "1 of 2 replies arrived before the quiet period (--wait) ended",
            ),
            (short(None), Exit::Success, "closed by client: 1000"),
            (
                Ending {
                    missing_replies: Some((0, 1)),
                    ..ending(InputEnd::Finished, Some(1000), frame(1011, ""))
                },
                Exit::Closed,
                "closed by server: 1011",
            ),
        ]);
        for (ending, exit, needle) in cases {
            let (lines, got) = ending.summary();
            let text = lines.join("\n");
            assert_eq!(got, exit, "{ending:?}: {text}");
            assert!(text.contains(needle), "{ending:?}: {text}");
        }
    }
}
