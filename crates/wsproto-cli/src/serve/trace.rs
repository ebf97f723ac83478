//! `serve -vv`: the library's own `tracing` events (target `wsproto`, debug level and up) on
//! stderr, one line each, after the `-v` log's lines:
//!
//! ```text
//! wsproto DEBUG server handshake accepted path="/" subprotocol=None compressed=false
//! wsproto DEBUG close received role=Server code=1000 reason="bye"
//! wsproto INFO protocol error: invalid utf-8 in a text message role=Server close_code=1007
//! ```
//!
//! A subscriber of our own, a few dozen lines, rather than `tracing-subscriber` and its
//! dependency tree: the library emits only events (no spans), so printing them is all it
//! takes.

use std::fmt::{Debug, Write as _};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Installs the stderr printer as the process's subscriber (once; later calls do nothing).
pub(super) fn install() {
    let _ = tracing::subscriber::set_global_default(StderrEvents { max: Level::DEBUG });
}

/// Prints every `wsproto` event at `max` or more severe.
struct StderrEvents {
    max: Level,
}

impl Subscriber for StderrEvents {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("wsproto") && *metadata.level() <= self.max
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // The library makes no spans; one id serves any a dependency might.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        eprintln!("{}", line(event));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// `TARGET LEVEL message field=value ...`.
fn line(event: &Event<'_>) -> String {
    let metadata = event.metadata();
    let mut fields = Fields::default();
    event.record(&mut fields);
    format!(
        "{} {}{}{}",
        metadata.target(),
        metadata.level(),
        fields.message,
        fields.rest
    )
}

/// An event's message and its other fields, formatted.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.message, " {value}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, " {value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the lines the events below produce, through the real subscriber's formatting.
    struct Lines(std::sync::Mutex<Vec<String>>);

    impl Subscriber for Lines {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            self.0.lock().unwrap().push(line(event));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn an_event_is_one_line_with_its_message_first_then_its_fields() {
        let lines = std::sync::Arc::new(Lines(std::sync::Mutex::new(Vec::new())));
        tracing::subscriber::with_default(std::sync::Arc::clone(&lines), || {
            tracing::debug!(target: "wsproto", code = 1000u16, reason = "bye", "close sent");
        });
        let got = lines.0.lock().unwrap().clone();
        assert_eq!(got, ["wsproto DEBUG close sent code=1000 reason=\"bye\""]);
    }
}
