//! Interoperability with real peers, both directions, on every runtime adapter: Python
//! `websockets` and Node `ws` clients against each of our echo servers, each of our clients
//! against their echo servers (text, binary, 1 MiB, 16 MiB, fragmented, ping RTT,
//! subprotocols, close codes both ways), and headless Chromium against the real
//! `wsproto serve` on each runtime: the test page's self-test on load (`?selftest`), and a
//! person's clicks through its controls (connect, send, echo round trip, self-test button,
//! disconnect). Every case runs with permessage-deflate declined, and (`_deflate`) negotiated
//! and in use (the clicks once, on tokio: the page is the same on every runtime). Chromium
//! also loads the page over https from `wsproto serve` with a certificate (`_tls`,
//! `_self_signed`) and runs the self-test over wss://.
//! The Python and Node cases run again over `wss://` (`_tls`, `_tls_deflate`) with a CA and
//! certificate the test makes: the peer trusts only that CA, and its client also checks ALPN
//! `http/1.1`.
//!
//! The peers are installed by `./scripts/test.sh`, which also sets the environment variables
//! these tests read; without them every test here fails saying what to install.

use wsproto_tests::peers::{
    Mode, Peer, browser_against, browser_against_self_signed, browser_against_tls,
    browser_controls_against, browser_controls_against_tls, client_against_peer,
    peer_client_against,
};
use wsproto_tests::{ClientKind, ServerKind};

macro_rules! interop {
    ($($name:ident: $run:expr;)*) => {
        $(
            #[test]
            fn $name() {
                if let Err(error) = $run {
                    panic!("{error}");
                }
            }
        )*
    };
}

interop! {
    python_client_to_tokio: peer_client_against(Peer::Python, ServerKind::Tokio, Mode::PLAIN);
    python_client_to_smol: peer_client_against(Peer::Python, ServerKind::Smol, Mode::PLAIN);
    python_client_to_async_std: peer_client_against(Peer::Python, ServerKind::AsyncStd, Mode::PLAIN);
    python_client_to_blocking: peer_client_against(Peer::Python, ServerKind::Blocking, Mode::PLAIN);
    tokio_to_python_server: client_against_peer(ClientKind::Tokio, Peer::Python, Mode::PLAIN);
    smol_to_python_server: client_against_peer(ClientKind::Smol, Peer::Python, Mode::PLAIN);
    async_std_to_python_server: client_against_peer(ClientKind::AsyncStd, Peer::Python, Mode::PLAIN);
    blocking_to_python_server: client_against_peer(ClientKind::Blocking, Peer::Python, Mode::PLAIN);

    node_client_to_tokio: peer_client_against(Peer::Node, ServerKind::Tokio, Mode::PLAIN);
    node_client_to_smol: peer_client_against(Peer::Node, ServerKind::Smol, Mode::PLAIN);
    node_client_to_async_std: peer_client_against(Peer::Node, ServerKind::AsyncStd, Mode::PLAIN);
    node_client_to_blocking: peer_client_against(Peer::Node, ServerKind::Blocking, Mode::PLAIN);
    tokio_to_node_server: client_against_peer(ClientKind::Tokio, Peer::Node, Mode::PLAIN);
    smol_to_node_server: client_against_peer(ClientKind::Smol, Peer::Node, Mode::PLAIN);
    async_std_to_node_server: client_against_peer(ClientKind::AsyncStd, Peer::Node, Mode::PLAIN);
    blocking_to_node_server: client_against_peer(ClientKind::Blocking, Peer::Node, Mode::PLAIN);

    chromium_to_tokio_serve: browser_against(ServerKind::Tokio, false);
    chromium_to_smol_serve: browser_against(ServerKind::Smol, false);
    chromium_to_async_std_serve: browser_against(ServerKind::AsyncStd, false);
    chromium_to_blocking_serve: browser_against(ServerKind::Blocking, false);
    chromium_clicks_through_the_page_on_tokio_serve: browser_controls_against(ServerKind::Tokio, false);
    chromium_clicks_through_the_page_on_smol_serve: browser_controls_against(ServerKind::Smol, false);
    chromium_clicks_through_the_page_on_async_std_serve: browser_controls_against(ServerKind::AsyncStd, false);
    chromium_clicks_through_the_page_on_blocking_serve: browser_controls_against(ServerKind::Blocking, false);

    python_client_to_tokio_deflate: peer_client_against(Peer::Python, ServerKind::Tokio, Mode::DEFLATE);
    python_client_to_smol_deflate: peer_client_against(Peer::Python, ServerKind::Smol, Mode::DEFLATE);
    python_client_to_async_std_deflate: peer_client_against(Peer::Python, ServerKind::AsyncStd, Mode::DEFLATE);
    python_client_to_blocking_deflate: peer_client_against(Peer::Python, ServerKind::Blocking, Mode::DEFLATE);
    tokio_to_python_server_deflate: client_against_peer(ClientKind::Tokio, Peer::Python, Mode::DEFLATE);
    smol_to_python_server_deflate: client_against_peer(ClientKind::Smol, Peer::Python, Mode::DEFLATE);
    async_std_to_python_server_deflate: client_against_peer(ClientKind::AsyncStd, Peer::Python, Mode::DEFLATE);
    blocking_to_python_server_deflate: client_against_peer(ClientKind::Blocking, Peer::Python, Mode::DEFLATE);

    node_client_to_tokio_deflate: peer_client_against(Peer::Node, ServerKind::Tokio, Mode::DEFLATE);
    node_client_to_smol_deflate: peer_client_against(Peer::Node, ServerKind::Smol, Mode::DEFLATE);
    node_client_to_async_std_deflate: peer_client_against(Peer::Node, ServerKind::AsyncStd, Mode::DEFLATE);
    node_client_to_blocking_deflate: peer_client_against(Peer::Node, ServerKind::Blocking, Mode::DEFLATE);
    tokio_to_node_server_deflate: client_against_peer(ClientKind::Tokio, Peer::Node, Mode::DEFLATE);
    smol_to_node_server_deflate: client_against_peer(ClientKind::Smol, Peer::Node, Mode::DEFLATE);
    async_std_to_node_server_deflate: client_against_peer(ClientKind::AsyncStd, Peer::Node, Mode::DEFLATE);
    blocking_to_node_server_deflate: client_against_peer(ClientKind::Blocking, Peer::Node, Mode::DEFLATE);

    chromium_to_tokio_serve_deflate: browser_against(ServerKind::Tokio, true);
    chromium_to_smol_serve_deflate: browser_against(ServerKind::Smol, true);
    chromium_to_async_std_serve_deflate: browser_against(ServerKind::AsyncStd, true);
    chromium_to_blocking_serve_deflate: browser_against(ServerKind::Blocking, true);
    chromium_clicks_through_the_page_on_tokio_serve_deflate: browser_controls_against(ServerKind::Tokio, true);

    python_client_to_tokio_tls: peer_client_against(Peer::Python, ServerKind::Tokio, Mode::TLS);
    python_client_to_smol_tls: peer_client_against(Peer::Python, ServerKind::Smol, Mode::TLS);
    python_client_to_async_std_tls: peer_client_against(Peer::Python, ServerKind::AsyncStd, Mode::TLS);
    python_client_to_blocking_tls: peer_client_against(Peer::Python, ServerKind::Blocking, Mode::TLS);
    tokio_to_python_server_tls: client_against_peer(ClientKind::Tokio, Peer::Python, Mode::TLS);
    smol_to_python_server_tls: client_against_peer(ClientKind::Smol, Peer::Python, Mode::TLS);
    async_std_to_python_server_tls: client_against_peer(ClientKind::AsyncStd, Peer::Python, Mode::TLS);
    blocking_to_python_server_tls: client_against_peer(ClientKind::Blocking, Peer::Python, Mode::TLS);

    node_client_to_tokio_tls: peer_client_against(Peer::Node, ServerKind::Tokio, Mode::TLS);
    node_client_to_smol_tls: peer_client_against(Peer::Node, ServerKind::Smol, Mode::TLS);
    node_client_to_async_std_tls: peer_client_against(Peer::Node, ServerKind::AsyncStd, Mode::TLS);
    node_client_to_blocking_tls: peer_client_against(Peer::Node, ServerKind::Blocking, Mode::TLS);
    tokio_to_node_server_tls: client_against_peer(ClientKind::Tokio, Peer::Node, Mode::TLS);
    smol_to_node_server_tls: client_against_peer(ClientKind::Smol, Peer::Node, Mode::TLS);
    async_std_to_node_server_tls: client_against_peer(ClientKind::AsyncStd, Peer::Node, Mode::TLS);
    blocking_to_node_server_tls: client_against_peer(ClientKind::Blocking, Peer::Node, Mode::TLS);

    python_client_to_tokio_tls_deflate: peer_client_against(Peer::Python, ServerKind::Tokio, Mode::TLS_DEFLATE);
    python_client_to_smol_tls_deflate: peer_client_against(Peer::Python, ServerKind::Smol, Mode::TLS_DEFLATE);
    python_client_to_async_std_tls_deflate: peer_client_against(Peer::Python, ServerKind::AsyncStd, Mode::TLS_DEFLATE);
    python_client_to_blocking_tls_deflate: peer_client_against(Peer::Python, ServerKind::Blocking, Mode::TLS_DEFLATE);
    tokio_to_python_server_tls_deflate: client_against_peer(ClientKind::Tokio, Peer::Python, Mode::TLS_DEFLATE);
    smol_to_python_server_tls_deflate: client_against_peer(ClientKind::Smol, Peer::Python, Mode::TLS_DEFLATE);
    async_std_to_python_server_tls_deflate: client_against_peer(ClientKind::AsyncStd, Peer::Python, Mode::TLS_DEFLATE);
    blocking_to_python_server_tls_deflate: client_against_peer(ClientKind::Blocking, Peer::Python, Mode::TLS_DEFLATE);

    node_client_to_tokio_tls_deflate: peer_client_against(Peer::Node, ServerKind::Tokio, Mode::TLS_DEFLATE);
    node_client_to_smol_tls_deflate: peer_client_against(Peer::Node, ServerKind::Smol, Mode::TLS_DEFLATE);
    node_client_to_async_std_tls_deflate: peer_client_against(Peer::Node, ServerKind::AsyncStd, Mode::TLS_DEFLATE);
    node_client_to_blocking_tls_deflate: peer_client_against(Peer::Node, ServerKind::Blocking, Mode::TLS_DEFLATE);
    tokio_to_node_server_tls_deflate: client_against_peer(ClientKind::Tokio, Peer::Node, Mode::TLS_DEFLATE);
    smol_to_node_server_tls_deflate: client_against_peer(ClientKind::Smol, Peer::Node, Mode::TLS_DEFLATE);
    async_std_to_node_server_tls_deflate: client_against_peer(ClientKind::AsyncStd, Peer::Node, Mode::TLS_DEFLATE);
    blocking_to_node_server_tls_deflate: client_against_peer(ClientKind::Blocking, Peer::Node, Mode::TLS_DEFLATE);
}

// Chromium over https: the page from `wsproto serve --tls-cert … --tls-key …` (a test CA's
// certificate, trusted by its public key hash) and its self-test over wss://, on every
// runtime, compressed on one; the clicks once; and `--tls-self-signed`, trusted by the hash
// serve prints.
interop! {
    chromium_to_tokio_serve_tls: browser_against_tls(ServerKind::Tokio, false);
    chromium_to_smol_serve_tls: browser_against_tls(ServerKind::Smol, false);
    chromium_to_async_std_serve_tls: browser_against_tls(ServerKind::AsyncStd, false);
    chromium_to_blocking_serve_tls: browser_against_tls(ServerKind::Blocking, false);
    chromium_to_tokio_serve_tls_deflate: browser_against_tls(ServerKind::Tokio, true);
    chromium_clicks_through_the_page_on_tokio_serve_tls: browser_controls_against_tls(ServerKind::Tokio);
    chromium_to_tokio_serve_self_signed: browser_against_self_signed(ServerKind::Tokio);
}
