//! The blocking drive loop behind [`WebSocket::next_event`]: moves bytes between the
//! transport and the engine, and maps the engine's next deadline onto the socket's read
//! timeout.
//!
//! One turn of the loop: hand out every event decodable from what was read; then write out
//! everything queued meanwhile (pongs, Close echoes, fed messages) in vectored writes — the
//! cork; then, if the connection is over, shut the sending side down and end; otherwise fire
//! the engine's timer if due, or read with the read timeout set to the time left until it.
//! A read that times out simply loops, and the timer fires on the next turn.
//!
//! Invariants: a protocol error is returned once, with the Close it queued already written;
//! after it, and after an I/O error, every call returns `None`. The stream's read timeout is
//! only changed when the wanted value differs from the one last set.

use std::io::{self, IoSlice};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wsproto_core::Event;
use wsproto_setup::{Error, Result};

use crate::transport::{BlockingTransport, MIN_READ_TIMEOUT, is_retry};
use crate::websocket::WebSocket;

/// Most byte runs handed to one vectored write.
const MAX_IO_SLICES: usize = 32;

/// Longest read timeout while a server shutdown watch is attached: how late a blocked
/// receiver may notice the shutdown.
pub(crate) const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

impl<S: BlockingTransport> WebSocket<S> {
    /// The next event of any kind, blocking until one arrives; `None` once the connection is
    /// closed and our sending side shut down. After an error, the next call returns `None`.
    ///
    /// Events: whole messages (or streaming pieces), pings (already answered), pongs with the
    /// round-trip time of our latest ping, and the peer's Close (already echoed).
    pub fn next_event(&mut self) -> Option<Result<Event>> {
        loop {
            if let Poll::Ready(event) = self.poll_next_event(Duration::MAX) {
                return event;
            }
        }
    }

    /// Like [`next_event`](Self::next_event), but waits at most `wait` for the peer:
    /// `Poll::Pending` means nothing arrived in time (queued bytes were written meanwhile).
    ///
    /// This is how one thread serves a connection and something else, e.g. messages queued
    /// by other threads for a broadcast.
    pub fn poll_next_event(&mut self, wait: Duration) -> Poll<Option<Result<Event>>> {
        let give_up = std::time::Instant::now().checked_add(wait);
        loop {
            if !self.failed {
                match self.conn.poll_event() {
                    Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                    Ok(None) => {}
                    Err(error) => {
                        // Report once. Write the Close it queued now, so the peer learns the
                        // code even if the application drops the connection on this error.
                        // The next call returns `None`, whatever happens to these writes.
                        self.failed = true;
                        let _ = self.write_queued();
                        if self.shutdown_transport().is_ok() {
                            self.linger();
                        }
                        return Poll::Ready(Some(Err(Error::from(error))));
                    }
                }
            }
            if self.transport_closed {
                // Aborted, failed, or finished: nothing more can be written.
                return Poll::Ready(None);
            }
            if let Err(error) = self.write_queued() {
                return Poll::Ready(self.io_failed(error));
            }
            if self.conn.is_half_closed() {
                // The peer's Close arrived and the application answers it when its sending is
                // done: no more events will come, and the transport stays open for its data.
                return Poll::Ready(None);
            }
            if self.failed || self.conn.is_finished() {
                return Poll::Ready(match self.shutdown_transport() {
                    Ok(()) => {
                        self.linger();
                        None
                    }
                    Err(error) => self.io_failed(error),
                });
            }
            if self.poll_server_shutdown() {
                continue;
            }
            let now = self.now();
            let mut timeout = match self.conn.poll_timeout() {
                Some(at) if at <= now => {
                    self.conn.handle_timeout(now);
                    continue;
                }
                Some(at) => Some(at - now),
                None => None,
            };
            if let Some(give_up) = give_up {
                let left = give_up.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Poll::Pending;
                }
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            if self.shutdown.is_some() && !self.shutdown_seen {
                timeout = Some(timeout.map_or(SHUTDOWN_POLL, |t| t.min(SHUTDOWN_POLL)));
            }
            if let Err(error) = self.set_read_timeout(timeout.map(|t| t.max(MIN_READ_TIMEOUT))) {
                return Poll::Ready(self.io_failed(error));
            }
            match self.conn.fill_read_buffer(now, |buf| self.stream.read(buf)) {
                Ok(0) => {}
                // `fill_read_buffer` stamps the input with the time the read started; restamp
                // it with the time the bytes arrived, which pong round-trip times and the
                // keepalive count from.
                Ok(_) => {
                    let arrived = self.now();
                    self.conn.handle_read(arrived);
                }
                Err(error) if is_retry(&error) => {}
                Err(error) => return Poll::Ready(self.io_failed(error)),
            }
        }
    }

    /// Starts a 1001 close once the attached server shutdown fired; returns whether it did.
    fn poll_server_shutdown(&mut self) -> bool {
        if self.shutdown_seen {
            return false;
        }
        let Some(watch) = self.shutdown.as_mut() else {
            return false;
        };
        if watch
            .poll_triggered(&mut Context::from_waker(Waker::noop()))
            .is_pending()
        {
            return false;
        }
        // Keep the watch (the server counts live connections by it) but stop checking.
        self.shutdown_seen = true;
        let now = self.now();
        self.conn.begin_shutdown(now);
        true
    }

    /// Writes everything queued (one plain write for a single run, else vectored, up to
    /// [`MAX_IO_SLICES`] runs per call), then
    /// flushes the transport if anything was written.
    pub(crate) fn write_queued(&mut self) -> io::Result<()> {
        if !self.conn.wants_write() {
            return Ok(());
        }
        while self.conn.wants_write() {
            let first = self.conn.transmit();
            let written = if first.len() == self.conn.buffered_amount() {
                // One contiguous run: a plain write costs the kernel less than a vectored one.
                self.stream.write(first)
            } else {
                let mut runs: [&[u8]; MAX_IO_SLICES] = [&[]; MAX_IO_SLICES];
                let count = self.conn.transmit_chunks(&mut runs);
                let slices: [IoSlice<'_>; MAX_IO_SLICES] =
                    std::array::from_fn(|i| IoSlice::new(runs[i]));
                self.stream.write_vectored(&slices[..count])
            };
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.conn.advance_transmit(n),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.stream.flush()
    }

    /// Shuts our sending side down (once); the peer then reads the end of the stream.
    pub(crate) fn shutdown_transport(&mut self) -> io::Result<()> {
        if self.transport_closed {
            return Ok(());
        }
        self.transport_closed = true;
        // A peer that already left makes shutdown fail; the connection is over either way.
        match self.stream.shutdown_write() {
            Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    /// After our sending side is shut down, reads and discards until the peer closes too
    /// (at most what [`Connection::linger`](wsproto_core::Connection::linger) says). Dropping a socket with unread input makes the kernel send a
    /// reset, which can destroy our Close frame before the peer reads it.
    fn linger(&mut self) {
        let Some(linger) = self.conn.linger() else {
            return;
        };
        let until = std::time::Instant::now() + linger;
        let mut scratch = [0u8; 4096];
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero()
                || self
                    .set_read_timeout(Some(left.max(MIN_READ_TIMEOUT)))
                    .is_err()
            {
                return;
            }
            match self.stream.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if is_retry(&error) => {}
                Err(_) => return,
            }
        }
    }

    /// Reports an I/O error; the connection is over after it (the next call returns `None`).
    fn io_failed<T>(&mut self, error: io::Error) -> Option<Result<T>> {
        self.failed = true;
        self.transport_closed = true;
        Some(Err(Error::Io(error)))
    }

    /// Sets the stream's read timeout unless it already has this value.
    pub(crate) fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.read_timeout != Some(timeout) {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = Some(timeout);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::{Read, Write};

    use wsproto_core::{CloseCode, Config, Limits, Message, ProtocolError, Role, State};

    use super::*;

    /// What the scripted peer does on the next read.
    enum Step {
        Bytes(Vec<u8>),
        /// Wait out the read timeout (at most 1 s) and report it, as a socket does.
        Timeout,
    }

    /// A transport that replays a script of reads (then the end of the stream) and records
    /// writes, read timeouts and shutdowns.
    #[derive(Default)]
    struct Scripted {
        reads: VecDeque<Step>,
        written: Vec<u8>,
        timeout: Option<Duration>,
        timeouts_set: Vec<Option<Duration>>,
        shut: bool,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.reads.pop_front() {
                Some(Step::Bytes(bytes)) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                Some(Step::Timeout) => {
                    let wait = self.timeout.unwrap_or(Duration::from_secs(1));
                    std::thread::sleep(wait.min(Duration::from_secs(1)));
                    Err(io::ErrorKind::WouldBlock.into())
                }
                None => Ok(0),
            }
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl BlockingTransport for Scripted {
        fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
            self.timeout = timeout;
            self.timeouts_set.push(timeout);
            Ok(())
        }
        fn shutdown_write(&mut self) -> io::Result<()> {
            self.shut = true;
            Ok(())
        }
    }

    fn over(reads: Vec<Step>, role: Role, config: Config) -> WebSocket<Scripted> {
        let stream = Scripted {
            reads: reads.into(),
            ..Scripted::default()
        };
        WebSocket::from_upgraded(stream, role, config, Limits::default(), &[])
    }

    #[test]
    fn a_message_then_the_peers_close_is_echoed_masked_and_ends_the_stream() {
        let frames = [&b"\x81\x02hi"[..], b"\x88\x02\x03\xe8"].concat();
        let mut ws = over(vec![Step::Bytes(frames)], Role::Client, Config::default());
        assert_eq!(ws.recv().unwrap().unwrap(), Message::text("hi"));
        assert!(ws.recv().is_none());
        assert!(ws.next().is_none(), "stays ended");
        assert_eq!(ws.state(), State::Closed);
        assert_eq!(ws.close_received().unwrap().code(), CloseCode::NORMAL);
        let out = &ws.get_ref().written;
        assert_eq!(out[0], 0x88, "one Close echo");
        assert_eq!(out[1], 0x80 | 2, "masked, with the peer's code");
        assert_eq!(out.len(), 2 + 4 + 2);
        assert!(ws.get_ref().shut);
        let timeouts = &ws.get_ref().timeouts_set;
        assert_eq!(timeouts[0], None, "no deadline while open");
        assert!(
            timeouts.len() == 2 && timeouts[1].is_some_and(|t| t <= wsproto_core::LINGER),
            "then only the linger bound: {timeouts:?}"
        );
    }

    #[test]
    fn the_keepalive_deadline_becomes_the_read_timeout_and_its_pong_an_rtt() {
        let config = Config::default().keepalive_interval(Some(Duration::from_millis(30)));
        // After one timed-out read the keepalive ping goes out; a masked empty pong answers.
        let pong = b"\x8a\x80\0\0\0\0".to_vec();
        let mut ws = over(vec![Step::Timeout, Step::Bytes(pong)], Role::Server, config);
        match ws.next_event().unwrap().unwrap() {
            Event::Pong { payload, rtt } => {
                assert!(payload.is_empty());
                assert!(rtt.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(ws.last_rtt().is_some());
        assert_eq!(ws.get_ref().written, b"\x89\x00", "the keepalive ping");
        let first = ws.get_ref().timeouts_set[0].unwrap();
        assert!(first <= Duration::from_millis(30) && first >= MIN_READ_TIMEOUT);
        // The stream then ends without a Close: reported once, then the end.
        match ws.next_event() {
            Some(Err(Error::Lost(wsproto_setup::ConnectionLost::UnexpectedEof))) => {}
            other => panic!("{other:?}"),
        }
        assert!(ws.next_event().is_none());
    }

    #[test]
    fn a_protocol_error_is_reported_once_with_its_close_already_written() {
        // An unmasked frame from a client.
        let mut ws = over(
            vec![Step::Bytes(b"\x81\x02hi".to_vec())],
            Role::Server,
            Config::default(),
        );
        match ws.recv() {
            Some(Err(Error::Protocol(ProtocolError::UnmaskedFrame))) => {}
            other => panic!("{other:?}"),
        }
        let out = &ws.get_ref().written;
        assert_eq!(out[0], 0x88);
        assert_eq!(&out[2..4], b"\x03\xea", "Close 1002");
        assert!(ws.get_ref().shut);
        assert!(ws.recv().is_none());
    }

    #[test]
    fn feed_waits_for_a_flush_or_the_high_water_mark() {
        let stream = Scripted::default();
        let limits = Limits::default().write_high_water(100);
        let mut ws = WebSocket::from_upgraded(stream, Role::Server, Config::default(), limits, &[]);
        ws.feed(Message::binary(vec![1; 10])).unwrap();
        assert_eq!(ws.buffered_amount(), 12);
        assert!(ws.get_ref().written.is_empty());
        ws.feed(Message::binary(vec![2; 100])).unwrap();
        assert_eq!(ws.buffered_amount(), 0, "passing the mark writes");
        assert_eq!(ws.get_ref().written.len(), 12 + 2 + 100);
        ws.abort().unwrap();
        assert!(ws.get_ref().shut);
        assert!(ws.recv().is_none());
    }
}
