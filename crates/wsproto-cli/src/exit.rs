//! The process exit statuses of `wsproto`, in one place, so scripts can tell apart a usage
//! mistake, a server that cannot be reached, a connection that ended badly, bad input and an
//! interruption.
//!
//! Invariants: every status `connect` can end with is an [`Exit`] variant; the numbers are
//! part of the command-line interface (documented in `wsproto connect --help` and the README)
//! and do not change; a unit test keeps the help text's table in step with this enum.

/// How `wsproto` ends. `serve` and `autobahn-client` use [`Success`](Self::Success),
/// [`Failure`](Self::Failure) and [`Usage`](Self::Usage); `connect` uses all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// `connect`: every input was sent and the connection closed normally (1000 either way,
    /// or 1001 from the server).
    Success,
    /// Anything not covered below (a runtime that cannot start, a server that cannot bind).
    Failure,
    /// Bad arguments: an unknown flag, a missing value, an invalid URL or header, a
    /// certificate, key or CA file that cannot be used.
    Usage,
    /// The server could not be reached or the opening handshake failed (refused, timed out,
    /// or the TLS handshake: a certificate problem, a server that does not speak TLS).
    Connect,
    /// The connection did not end normally: the server closed with a code other than 1000 or
    /// 1001, the connection broke or ended without a Close, or input that was read could not
    /// be sent before the connection ended.
    Closed,
    /// stdin cannot be sent as asked: a line that is not UTF-8 in text mode, or a read error.
    /// Everything before it was sent and the connection was closed cleanly.
    Input,
    /// `-x` with `--count N`: fewer than N replies arrived before the quiet period ended;
    /// otherwise all went well (the connection closed normally).
    Incomplete,
    /// Ctrl-C or SIGTERM: the connection was closed with 1000 (as far as time allowed).
    Interrupted,
}

impl Exit {
    /// Every status, in the order the help text lists them.
    #[cfg(test)]
    pub(crate) const ALL: [Self; 8] = [
        Self::Success,
        Self::Failure,
        Self::Usage,
        Self::Connect,
        Self::Closed,
        Self::Input,
        Self::Incomplete,
        Self::Interrupted,
    ];

    /// The number the process exits with.
    pub(crate) fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Connect => 3,
            Self::Closed => 4,
            Self::Input => 5,
            Self::Incomplete => 6,
            // What shells report for a process killed by SIGINT, which is what Ctrl-C did to
            // `connect` before it closed the connection itself.
            Self::Interrupted => 130,
        }
    }

    /// Ends the process with this status (stdout is flushed by every writer already).
    pub(crate) fn exit(self) -> ! {
        std::process::exit(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::CONNECT_HELP;

    #[test]
    fn codes_are_distinct_and_listed_in_connect_help() {
        let codes: Vec<i32> = Exit::ALL.iter().map(|e| e.code()).collect();
        for (i, code) in codes.iter().enumerate() {
            assert!(!codes[..i].contains(code), "{code} used twice");
            let row = format!("\n  {code:<5}");
            assert!(CONNECT_HELP.contains(&row), "connect --help lists {code}");
        }
    }
}
