//! Hand-written opening handshakes: the load generator's client side (fixed key, so its
//! answer is a constant), and a minimal server side for fastwebsockets'
//! `WebSocket::after_handshake`, which needs one done beforehand.

use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// RFC 6455's example key and the accept value it implies.
const CLIENT_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const EXPECTED_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest handshake head either side accepts.
const MAX_HEAD: usize = 16 * 1024;

/// `ws://host:port/path` or `wss://…` → (`host:port`, `/path`).
pub(crate) fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
        .ok_or_else(|| format!("only ws:// and wss:// URLs are supported: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok((authority.to_string(), path.to_string()))
}

/// Reads until the end of an HTTP head; returns (head, bytes read past it).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("connection closed during the handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err("handshake head too long".into());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Client handshake on a connected socket; returns bytes that arrived after the response.
pub(crate) async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    path: &str,
) -> Result<Vec<u8>, String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {CLIENT_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("handshake write: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("handshake flush: {e}"))?;
    let (head, rest) = read_head(stream).await?;
    let head = String::from_utf8_lossy(&head);
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("101") {
        return Err(format!("handshake refused: {status:?}"));
    }
    match header(&head, "sec-websocket-accept") {
        Some(EXPECTED_ACCEPT) => Ok(rest),
        other => Err(format!("bad Sec-WebSocket-Accept {other:?}")),
    }
}

/// Server handshake (just enough for a benchmark: checks the key and version, answers 101).
pub(crate) async fn server<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<(), String> {
    let (head, rest) = read_head(stream).await?;
    if !rest.is_empty() {
        return Err("client sent data before the handshake completed".into());
    }
    let head = String::from_utf8_lossy(&head);
    let key = header(&head, "sec-websocket-key").ok_or("no Sec-WebSocket-Key")?;
    if header(&head, "sec-websocket-version") != Some("13") {
        return Err("unsupported Sec-WebSocket-Version".into());
    }
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream
        .write_all(response.as_bytes())
        .await
        .map_err(|e| format!("handshake write: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("handshake flush: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_constant_matches_rfc() {
        use base64::Engine;
        use sha1::{Digest, Sha1};
        let mut sha = Sha1::new();
        sha.update(super::CLIENT_KEY.as_bytes());
        sha.update(super::GUID.as_bytes());
        let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
        assert_eq!(accept, super::EXPECTED_ACCEPT);
    }
}
