//! The [`ServerConfig`] that `serve`'s flags ask for: limits sized by `--max-message`,
//! permessage-deflate, the subprotocols (`-s`), the extra 101 headers (`-H`), the test page
//! on `/`, and with `-v` the log of refused handshakes.
//!
//! Invariant: a configuration that would fail every upgrade (an `-H` header the library
//! cannot send) is caught before the server listens, by one upgrade in memory
//! ([`check_upgrade`]) — the library's own validation, not a copy of it.

use wsproto_async::{DeflateConfig, Error, HttpResponse, ServerConfig, ServerOpening};
use wsproto_core::Limits;
use wsproto_core::handshake::HandshakeError;

use super::log::Log;
use crate::args::ServeArgs;
use crate::page::PAGE;

/// A valid upgrade request, for [`check_upgrade`].
const SAMPLE_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: wsproto\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The configuration for `args`; an error names the flag that makes every upgrade fail.
pub(super) fn server_config(args: &ServeArgs, log: &Log) -> Result<ServerConfig, String> {
    let limits = Limits::default()
        .max_message_size(args.max_message)
        .max_frame_size(args.max_message);
    let mut config = ServerConfig::default()
        .limits(limits)
        .server_name("wsproto")
        .deflate(args.deflate.then(DeflateConfig::default))
        .plain_http(|path| {
            is_page(path).then(|| {
                HttpResponse::new(200)
                    .header("Content-Type", "text/html; charset=utf-8")
                    .body(PAGE)
            })
        });
    if args.forward.is_some() {
        // The far end of a tunnel: a Close ends one direction only, like a TCP FIN.
        config = config.config(crate::pipe::tunnel_config());
    }
    for protocol in &args.subprotocols {
        config = config.subprotocol(protocol);
    }
    for (name, value) in &args.headers {
        config = config.response_header(name, value);
    }
    if log.is_verbose() {
        let log = log.clone();
        config = config.on_failed_handshake(move |peer, error| log.refused(peer, error, is_page));
    }
    check_upgrade(&config)?;
    Ok(config)
}

/// Whether a plain `GET` of `path` gets the test page (any query is ignored).
pub(super) fn is_page(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    path == "/" || path == "/index.html"
}

/// Upgrades one sample request in memory, as every client's would be.
fn check_upgrade(config: &ServerConfig) -> Result<(), String> {
    let mut opening = ServerOpening::new(config);
    let upgraded = match opening.handle_input(SAMPLE_REQUEST) {
        Ok(_) => opening.finish().map(drop),
        Err(error) => Err(error),
    };
    match upgraded {
        Ok(()) => Ok(()),
        Err(Error::Handshake(HandshakeError::InvalidHeader { name })) => Err(format!(
            "--header: {name:?} cannot be sent in a 101 response (it must be a token the \
             handshake does not write itself, with a value free of control characters)"
        )),
        Err(error) => Err(format!("the server cannot upgrade connections: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::args::{Command, parse};

    fn config(line: &str) -> Result<ServerConfig, String> {
        let Ok(Command::Serve(args)) = parse(line.split(' ').map(str::to_owned)) else {
            panic!("{line}")
        };
        server_config(&args, &Log::new(false, Arc::default()))
    }

    #[test]
    fn headers_the_handshake_cannot_send_are_refused_up_front() {
        assert!(config("serve -H X-Ok:1 -s chat --deflate").is_ok());
        for bad in ["Upgrade:h2", "Sec-WebSocket-Accept:x", "Bad(Name):1"] {
            let error = config(&format!("serve -H {bad}")).unwrap_err();
            assert!(error.starts_with("--header: "), "{bad}: {error}");
        }
    }

    #[test]
    fn the_page_is_on_the_root() {
        for (path, page) in [
            ("/", true),
            ("/?selftest", true),
            ("/index.html", true),
            ("/x", false),
        ] {
            assert_eq!(is_page(path), page, "{path}");
        }
    }
}
