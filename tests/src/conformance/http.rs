//! The opening handshake by hand: reading HTTP heads ([`read_head`]) and plain HTTP exchanges with a server ([`http_exchange`]).

#[allow(clippy::wildcard_imports)]
use super::*;

/// A parsed HTTP head.
#[derive(Clone, Debug)]
pub struct Head {
    /// The request or status line.
    pub start_line: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The status code of a response head.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.start_line.split(' ').nth(1)?.parse().ok()
    }

    /// The first header called `name` (case-insensitive), trimmed.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads an HTTP head (up to the empty line) and returns it with the bytes after it.
///
/// # Errors
///
/// The stream ended, failed or timed out first, or the head is longer than 64 KiB.
pub fn read_head(stream: &mut TcpStream, deadline: Instant) -> Result<(Head, Vec<u8>), String> {
    let mut buf = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let leftover = buf[end + 4..].to_vec();
            let mut lines = head.split("\r\n");
            let start_line = lines.next().unwrap_or_default().to_owned();
            let headers = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            return Ok((
                Head {
                    start_line,
                    headers,
                },
                leftover,
            ));
        }
        if buf.len() > HEAD_LIMIT {
            return Err("HTTP head longer than 64 KiB".to_owned());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(format!(
                "no complete HTTP head in time; got {}",
                Preview(&buf)
            ));
        }
        stream
            .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(format!(
                    "stream ended before a complete HTTP head; got {}",
                    Preview(&buf)
                ));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(format!("reading the HTTP head: {e}; got {}", Preview(&buf))),
        }
    }
}

/// Splits `ws://authority/path` into its authority and path.
pub(crate) fn split_url(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("not a ws:// URL: {url}"))?;
    Ok(match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    })
}

pub(crate) fn connect_tcp(authority: &str) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(authority).map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_write_timeout(Some(READ_LIMIT))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// What an HTTP exchange with a server returned.
#[derive(Clone, Debug)]
pub struct HttpReply {
    /// The response head.
    pub head: Head,
    /// Whether the server closed the connection within [`CLOSE_LIMIT`] after the head (always
    /// `true` for a `101`).
    pub closed: bool,
}

/// Sends raw request bytes to the server at `url` and reads its response head. Write errors
/// are ignored (a server may answer before reading everything).
///
/// # Errors
///
/// The connection failed or no complete response head arrived.
pub fn http_exchange(url: &str, request: &[u8]) -> Result<HttpReply, String> {
    http_exchange_chopped(url, request, 0)
}

/// Like [`http_exchange`], writing the request in pieces of `chunk` bytes (all at once when
/// 0).
///
/// # Errors
///
/// The connection failed or no complete response head arrived.
pub fn http_exchange_chopped(url: &str, request: &[u8], chunk: usize) -> Result<HttpReply, String> {
    let (authority, _) = split_url(url)?;
    let mut stream = connect_tcp(authority)?;
    for piece in request.chunks(if chunk == 0 {
        request.len().max(1)
    } else {
        chunk
    }) {
        if stream.write_all(piece).is_err() {
            break;
        }
    }
    let (head, _) = read_head(&mut stream, Instant::now() + READ_LIMIT)?;
    let closed = head.status() == Some(101) || read_to_end_within(&mut stream, CLOSE_LIMIT);
    Ok(HttpReply { head, closed })
}

/// Reads and discards until the end of the stream; whether it came within `limit`.
pub(crate) fn read_to_end_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut sink = [0; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        if stream.set_read_timeout(Some(deadline - now)).is_err() {
            return false;
        }
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                return matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                );
            }
        }
    }
}
