//! The raw peer's connection: [`RawPeer`] writes a case's steps and records what the implementation sends ([`Transcript`]), checking each frame against RFC 6455.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The Close the implementation sent.
#[derive(Clone, Debug)]
pub struct CloseSeen {
    /// Its code; `None` for an empty Close.
    pub code: Option<u16>,
    /// Its reason bytes.
    pub reason: Vec<u8>,
    /// When it was read.
    pub at: Instant,
}

/// Why reading stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The implementation closed TCP (end of stream).
    Eof,
    /// The implementation reset TCP.
    Reset,
    /// Nothing more arrived before the deadline.
    TimedOut,
    /// Reading failed otherwise, or the implementation sent something unreadable.
    Failed(String),
}

impl Ending {
    /// Whether this means the implementation closed the TCP connection.
    #[must_use]
    pub fn is_tcp_closed(&self) -> bool {
        matches!(self, Self::Eof | Self::Reset)
    }
}

/// Everything read from the implementation until its Close and the end of the stream.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// Messages, pings and pongs before the Close.
    pub replies: Vec<Reply>,
    /// The implementation's Close, if it sent one.
    pub close: Option<CloseSeen>,
    /// Frames it sent after its Close (there must be none).
    pub after_close: Vec<String>,
    /// Why reading stopped; `None` when it stopped because it had what it was asked for.
    pub ending: Option<Ending>,
}

/// A raw WebSocket endpoint over a TCP stream, past the opening handshake.
pub struct RawPeer {
    stream: TcpStream,
    /// The role the raw peer plays (the implementation under test plays the other).
    role: Role,
    inbox: Vec<u8>,
    scratch: Vec<u8>,
    next_key: u32,
    /// A data message being reassembled: its opcode and bytes so far.
    fragments: Option<(u8, Vec<u8>)>,
    /// Frames from the implementation that break RFC 6455.
    violations: Vec<String>,
    /// The first write that failed (the implementation may have closed first).
    write_error: Option<String>,
}

impl fmt::Debug for RawPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPeer")
            .field("role", &self.role)
            .field("buffered", &self.inbox.len())
            .finish_non_exhaustive()
    }
}

impl RawPeer {
    /// Connects to a `ws://host:port/path` URL as a raw client and completes the opening
    /// handshake by hand (with [`KEY`]); bytes after the server's head are kept as input.
    pub fn connect(url: &str) -> Result<Self, String> {
        Self::connect_pipelined(url, &[])
    }

    /// Like [`connect`](Self::connect), but writes `early` frames (masked) in the same write
    /// as the upgrade request, before the server answered.
    pub fn connect_pipelined(url: &str, early: &[Frame]) -> Result<Self, String> {
        let (authority, path) = split_url(url)?;
        let mut stream = connect_tcp(authority)?;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .into_bytes();
        for frame in early {
            request.extend_from_slice(&frame.encode(Some([0x5a, 0x01, 0xc3, 0x7e])));
        }
        stream
            .write_all(&request)
            .map_err(|e| format!("writing the upgrade request: {e}"))?;
        let (head, leftover) = read_head(&mut stream, Instant::now() + READ_LIMIT)?;
        if head.status() != Some(101) {
            return Err(format!("upgrade refused: {:?}", head.start_line));
        }
        let expected = accept_key(KEY.as_bytes());
        if head.header("sec-websocket-accept") != Some(expected.as_str()) {
            return Err(format!(
                "wrong Sec-WebSocket-Accept {:?}, expected {expected:?}",
                head.header("sec-websocket-accept")
            ));
        }
        Ok(Self::over(stream, Role::Client, leftover))
    }

    /// A raw peer playing `role` on a stream whose handshake is done; `leftover` are bytes
    /// already read past the handshake.
    #[must_use]
    pub fn over(stream: TcpStream, role: Role, leftover: Vec<u8>) -> Self {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(READ_LIMIT));
        Self {
            stream,
            role,
            inbox: leftover,
            scratch: vec![0; 64 * 1024],
            next_key: 0,
            fragments: None,
            violations: Vec::new(),
            write_error: None,
        }
    }

    /// The role the raw peer plays.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The underlying stream.
    #[must_use]
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Frames from the implementation that broke RFC 6455 so far.
    #[must_use]
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// The first write that failed, if any.
    #[must_use]
    pub fn write_error(&self) -> Option<&str> {
        self.write_error.as_deref()
    }

    /// A fresh masking key (deterministic, varied).
    fn key(&mut self) -> [u8; 4] {
        self.next_key = self.next_key.wrapping_add(1);
        self.next_key
            .wrapping_mul(0x9E37_79B9)
            .wrapping_add(0x7F4A_7C15)
            .to_be_bytes()
    }

    /// `frame` as this peer writes it: masked as its role requires unless the frame forces
    /// otherwise.
    pub fn encode(&mut self, frame: &Frame) -> Vec<u8> {
        let by_role = self.role == Role::Client;
        let masked = match frame.mask {
            Mask::ByRole => by_role,
            Mask::WrongForRole => !by_role,
            Mask::Forced(masked) => masked,
        };
        let key = masked.then(|| self.key());
        frame.encode(key)
    }

    /// Writes one frame (`masked` as given, whatever the role).
    pub fn send_frame(&mut self, fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) {
        let frame = Frame::new(fin, rsv, opcode, payload).mask(Mask::Forced(masked));
        let bytes = self.encode(&frame);
        self.send_raw(&bytes);
    }

    /// Writes bytes as they are. A failed write is remembered (see
    /// [`write_error`](Self::write_error)) and makes later writes no-ops.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(error) = self.stream.write_all(bytes) {
            self.write_error = Some(error.to_string());
        }
    }

    /// Writes `bytes` in pieces of `chunk` bytes, sleeping `delay` after each.
    pub fn send_chopped(&mut self, bytes: &[u8], chunk: usize, delay: Duration) {
        if chunk == 0 {
            self.send_raw(bytes);
            if !delay.is_zero() {
                thread::sleep(delay);
            }
            return;
        }
        for piece in bytes.chunks(chunk) {
            self.send_raw(piece);
            if self.write_error.is_some() {
                return;
            }
            if !delay.is_zero() {
                thread::sleep(delay);
            }
        }
    }

    /// Does one step of a case.
    pub fn perform(&mut self, step: &Step) {
        match step {
            Step::Send {
                frames,
                chunk,
                delay,
            } => {
                let mut bytes = Vec::new();
                for frame in frames {
                    let encoded = self.encode(frame);
                    if bytes.is_empty() {
                        bytes = encoded;
                    } else {
                        bytes.extend_from_slice(&encoded);
                    }
                }
                self.send_chopped(&bytes, *chunk, *delay);
            }
            Step::Partial {
                frame,
                cuts,
                upto,
                delay,
            } => {
                let bytes = self.encode(frame);
                let header = bytes.len() - frame.payload.len();
                let end = header + (*upto).min(frame.payload.len());
                let mut start = 0;
                let mut bounds: Vec<usize> = cuts
                    .iter()
                    .map(|cut| header + cut)
                    .filter(|&at| at > 0 && at < end)
                    .collect();
                bounds.push(end);
                for (i, at) in bounds.into_iter().enumerate() {
                    if i > 0 && !delay.is_zero() {
                        thread::sleep(*delay);
                    }
                    self.send_raw(&bytes[start..at]);
                    start = at;
                }
            }
            Step::Raw(bytes) => self.send_raw(bytes),
            Step::Pause(wait) => thread::sleep(*wait),
            Step::ShutdownWrite => {
                if let Err(error) = self.stream.shutdown(Shutdown::Write) {
                    self.write_error.get_or_insert(error.to_string());
                }
            }
        }
    }

    /// Reads more bytes into the inbox, waiting until `deadline` at most.
    fn fill(&mut self, deadline: Instant) -> Result<(), Ending> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(Ending::TimedOut);
            }
            let wait = (deadline - now)
                .min(READ_LIMIT)
                .max(Duration::from_millis(1));
            self.stream
                .set_read_timeout(Some(wait))
                .map_err(|e| Ending::Failed(e.to_string()))?;
            match self.stream.read(&mut self.scratch) {
                Ok(0) => return Err(Ending::Eof),
                Ok(n) => {
                    self.inbox.extend_from_slice(&self.scratch[..n]);
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Err(Ending::Reset);
                }
                Err(e) => return Err(Ending::Failed(e.to_string())),
            }
        }
    }

    /// Takes one whole frame off the inbox, if it holds one (with the test kit's decoder).
    fn take_frame(&mut self) -> Result<Option<wire::Frame>, Ending> {
        let Some(header) = Header::parse(&self.inbox) else {
            return Ok(None);
        };
        let len = header.len;
        if len > FRAME_LIMIT {
            return Err(Ending::Failed(format!(
                "the implementation sent a frame header claiming {len} bytes"
            )));
        }
        let Some((payload, used)) = header.payload(&self.inbox) else {
            return Ok(None);
        };
        self.inbox.drain(..used);
        if !header.shortest {
            self.violations.push(format!(
                "frame op={:#x} of {len} bytes with a non-minimal length",
                header.opcode
            ));
        }
        Ok(Some(header.into_frame(payload)))
    }

    /// Reads the next frame, until `deadline` at most.
    fn read_frame(&mut self, deadline: Instant) -> Result<wire::Frame, Ending> {
        loop {
            if let Some(frame) = self.take_frame()? {
                return Ok(frame);
            }
            self.fill(deadline)?;
        }
    }

    /// Checks a frame from the implementation against RFC 6455 and turns it into a reply or a
    /// Close; `None` for a fragment that does not finish a message.
    fn interpret(&mut self, frame: wire::Frame) -> Option<Result<Reply, CloseSeen>> {
        let op = frame.opcode;
        let must_mask = self.role == Role::Server;
        if frame.masked != must_mask {
            self.violations.push(format!(
                "frame op={op:#x} {} (the implementation is the {})",
                if frame.masked { "masked" } else { "unmasked" },
                if must_mask { "client" } else { "server" }
            ));
        }
        if frame.rsv != 0 {
            self.violations
                .push(format!("frame op={op:#x} with RSV bits {:#05b}", frame.rsv));
        }
        let is_control = op & 0x8 != 0;
        if is_control && (!frame.fin || frame.payload.len() > 125) {
            self.violations.push(format!(
                "control frame op={op:#x} with fin={} and {} bytes",
                frame.fin,
                frame.payload.len()
            ));
        }
        match op {
            opcode::TEXT | opcode::BINARY => {
                if self.fragments.is_some() {
                    self.violations
                        .push("new data frame inside a fragmented message".to_owned());
                }
                if frame.fin {
                    self.fragments = None;
                    Some(Ok(self.message(op, frame.payload)))
                } else {
                    self.fragments = Some((op, frame.payload));
                    None
                }
            }
            opcode::CONTINUATION => {
                let Some((first, mut data)) = self.fragments.take() else {
                    self.violations
                        .push("continuation frame without a message".to_owned());
                    return None;
                };
                data.extend_from_slice(&frame.payload);
                if frame.fin {
                    Some(Ok(self.message(first, data)))
                } else {
                    self.fragments = Some((first, data));
                    None
                }
            }
            opcode::PING => Some(Ok(Reply::Ping(frame.payload))),
            opcode::PONG => Some(Ok(Reply::Pong(frame.payload))),
            opcode::CLOSE => Some(Err(self.close_frame(frame.payload))),
            _ => {
                self.violations.push(format!("reserved opcode {op:#x}"));
                None
            }
        }
    }

    fn message(&mut self, op: u8, payload: Vec<u8>) -> Reply {
        if op == opcode::TEXT {
            if std::str::from_utf8(&payload).is_err() {
                self.violations.push(format!(
                    "text message that is not UTF-8: {}",
                    Preview(&payload)
                ));
            }
            Reply::Text(payload)
        } else {
            Reply::Binary(payload)
        }
    }

    fn close_frame(&mut self, payload: Vec<u8>) -> CloseSeen {
        let at = Instant::now();
        if payload.len() == 1 {
            self.violations
                .push("close frame with a one-byte payload".to_owned());
        }
        if payload.len() < 2 {
            return CloseSeen {
                code: None,
                reason: Vec::new(),
                at,
            };
        }
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
            self.violations
                .push(format!("close frame with the invalid code {code}"));
        }
        let reason = payload[2..].to_vec();
        if std::str::from_utf8(&reason).is_err() {
            self.violations
                .push("close reason that is not UTF-8".to_owned());
        }
        CloseSeen {
            code: Some(code),
            reason,
            at,
        }
    }

    /// Reads until `want` replies arrived (then `ending` is `None`), or the implementation's
    /// Close (then [`finish`](Self::finish)es), the end of the stream, or `deadline`.
    pub fn read_replies(&mut self, want: usize, deadline: Instant) -> Transcript {
        let mut transcript = self.read_until(Some(want), deadline);
        if transcript.close.is_some() {
            self.finish(&mut transcript);
        }
        transcript
    }

    /// Reads every frame until the implementation's Close (waiting until `close_deadline` at
    /// most), then [`finish`](Self::finish)es.
    pub fn read_frames_until_close(&mut self, close_deadline: Instant) -> Transcript {
        let mut transcript = self.read_until(None, close_deadline);
        if transcript.close.is_some() {
            self.finish(&mut transcript);
        }
        transcript
    }

    /// Reads frames until the implementation's Close (then `ending` is `None`), `want`
    /// replies, the end of the stream or `deadline`.
    pub fn read_until(&mut self, want: Option<usize>, deadline: Instant) -> Transcript {
        let mut transcript = Transcript::default();
        while want.is_none_or(|want| transcript.replies.len() < want) {
            match self.read_frame(deadline) {
                Ok(frame) => match self.interpret(frame) {
                    Some(Ok(reply)) => transcript.replies.push(reply),
                    Some(Err(close)) => {
                        transcript.close = Some(close);
                        return transcript;
                    }
                    None => {}
                },
                Err(ending) => {
                    transcript.ending = Some(ending);
                    return transcript;
                }
            }
        }
        transcript
    }

    /// After the implementation's Close (and ours, if any): a raw server closes TCP, as RFC
    /// 6455 §7.1.1 has servers do; either way the implementation must then close TCP within
    /// [`CLOSE_LIMIT`]. Frames that still arrive are recorded.
    pub fn finish(&mut self, transcript: &mut Transcript) {
        if self.role == Role::Server {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        self.read_to_end(transcript, Instant::now() + CLOSE_LIMIT);
    }

    /// After the Close: records every further frame (RFC 6455 §5.5.1 allows none) until the
    /// end of the stream or `deadline`.
    pub fn read_to_end(&mut self, transcript: &mut Transcript, deadline: Instant) {
        loop {
            match self.read_frame(deadline) {
                Ok(frame) => transcript.after_close.push(format!(
                    "op={:#x} {}",
                    frame.opcode,
                    Preview(&frame.payload)
                )),
                Err(ending) => {
                    transcript.ending = Some(ending);
                    return;
                }
            }
        }
    }
}
