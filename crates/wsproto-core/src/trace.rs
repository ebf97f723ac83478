//! Observability (feature `tracing`, off by default): [`tracing`] events at a connection's
//! lifecycle points, all with target `wsproto` — Close frames sent and received with their
//! codes, protocol errors and lost connections (keepalive timeouts among them), and
//! back-pressure engaged and released. Without the feature the macro below expands to
//! nothing: not a branch, not a field, not a byte of code.
//!
//! Levels: `info` for what ends a connection abnormally (a protocol error, a lost
//! connection), `debug` for the normal lifecycle.

/// Emits a `tracing` event with target `wsproto` when the feature is on; nothing otherwise.
macro_rules! trace_event {
    ($level:ident, $($arg:tt)+) => {
        #[cfg(feature = "tracing")]
        tracing::$level!(target: "wsproto", $($arg)+);
    };
}

pub(crate) use trace_event;

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::fmt::{Debug, Write as _};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use crate::{CloseCode, Config, Connection, Instant, Limits};

    /// Each event as `LEVEL message field=value ...`.
    #[derive(Default)]
    struct Capture(Mutex<Vec<String>>);

    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
            let _ = match field.name() {
                "message" => write!(self.0, " {value:?}"),
                name => write!(self.0, " {name}={value:?}"),
            };
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target() == "wsproto"
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Line(format!("{}", event.metadata().level()));
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn captured(run: impl FnOnce()) -> Vec<String> {
        let capture = Arc::new(Capture::default());
        tracing::subscriber::with_default(Arc::clone(&capture), run);
        capture.0.lock().unwrap().clone()
    }

    /// A masked frame as a client sends it (mask key 0: the payload as is).
    fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = alloc::vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn closes_back_pressure_and_failures_are_reported() {
        let now = Instant::ZERO;
        let lines = captured(|| {
            // The peer closes; the echo goes out.
            let mut server = Connection::server(Config::default(), Limits::default(), now);
            server.handle_input(&masked(0x8, b"\x03\xe8bye"), now);
            while let Ok(Some(_)) = server.poll_event() {}
            // A full write buffer refuses a send, then drains.
            let limits = Limits::default().write_high_water(0);
            let mut server = Connection::server(Config::default(), limits, now);
            server.send_text("one").unwrap();
            assert!(server.send_text("two").is_err());
            assert!(server.send_text("three").is_err(), "reported once");
            server.advance_transmit(server.transmit().len());
            // An unmasked frame breaks the protocol; then a connection lost at EOF.
            let mut server = Connection::server(Config::default(), Limits::default(), now);
            server.handle_input(&[0x81, 0x00], now);
            let _ = server.poll_event();
            let mut server = Connection::server(Config::default(), Limits::default(), now);
            server.handle_eof(now);
            let _ = server.poll_event();
            // Our own close.
            let mut server = Connection::server(Config::default(), Limits::default(), now);
            server.close(CloseCode::GOING_AWAY, "bye", now).unwrap();
        });
        let expected = [
            "DEBUG close received role=Server code=1000 reason=\"bye\"",
            "DEBUG close sent role=Server code=1000 reason=\"\"",
            "DEBUG back-pressure engaged: sends refused until the write buffer drains \
             role=Server queued=5 high_water=0",
            "DEBUG back-pressure released role=Server queued=0",
        ];
        assert_eq!(&lines[..4], expected);
        assert!(lines[4].starts_with("INFO protocol error: "), "{lines:?}");
        assert!(
            lines[4].ends_with("role=Server close_code=1002"),
            "{lines:?}"
        );
        assert!(
            lines[5].starts_with("DEBUG close sent role=Server code=1002"),
            "{lines:?}"
        );
        assert!(lines[6].starts_with("INFO connection lost: "), "{lines:?}");
        assert_eq!(
            lines[7],
            "DEBUG close sent role=Server code=1001 reason=\"bye\""
        );
        assert_eq!(lines.len(), 8, "{lines:?}");
    }
}
