//! Interoperability with real peers, both directions, on every runtime adapter: Python
//! `websockets` and Node `ws` clients against each of our echo servers, each of our clients
//! against their echo servers (text, binary, 1 MiB, 16 MiB, fragmented, ping RTT,
//! subprotocols, close codes both ways), and headless Chromium running the test page's
//! self-test against the real `wsproto serve` on each runtime.
//!
//! The peers are installed by `./scripts/test.sh`, which also sets the environment variables
//! these tests read; without them every test here fails saying what to install.

use wsproto_tests::peers::{Peer, browser_against, client_against_peer, peer_client_against};
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
    python_client_to_tokio: peer_client_against(Peer::Python, ServerKind::Tokio);
    python_client_to_smol: peer_client_against(Peer::Python, ServerKind::Smol);
    python_client_to_async_std: peer_client_against(Peer::Python, ServerKind::AsyncStd);
    python_client_to_blocking: peer_client_against(Peer::Python, ServerKind::Blocking);
    tokio_to_python_server: client_against_peer(ClientKind::Tokio, Peer::Python);
    smol_to_python_server: client_against_peer(ClientKind::Smol, Peer::Python);
    async_std_to_python_server: client_against_peer(ClientKind::AsyncStd, Peer::Python);
    blocking_to_python_server: client_against_peer(ClientKind::Blocking, Peer::Python);

    node_client_to_tokio: peer_client_against(Peer::Node, ServerKind::Tokio);
    node_client_to_smol: peer_client_against(Peer::Node, ServerKind::Smol);
    node_client_to_async_std: peer_client_against(Peer::Node, ServerKind::AsyncStd);
    node_client_to_blocking: peer_client_against(Peer::Node, ServerKind::Blocking);
    tokio_to_node_server: client_against_peer(ClientKind::Tokio, Peer::Node);
    smol_to_node_server: client_against_peer(ClientKind::Smol, Peer::Node);
    async_std_to_node_server: client_against_peer(ClientKind::AsyncStd, Peer::Node);
    blocking_to_node_server: client_against_peer(ClientKind::Blocking, Peer::Node);

    chromium_to_tokio_serve: browser_against(ServerKind::Tokio);
    chromium_to_smol_serve: browser_against(ServerKind::Smol);
    chromium_to_async_std_serve: browser_against(ServerKind::AsyncStd);
    chromium_to_blocking_serve: browser_against(ServerKind::Blocking);
}
