//! `wss://` in both roles: a TLS echo server with a certificate made at startup (rcgen), and
//! a client that trusts exactly that certificate. The same `Server` and `connect_with` as
//! plain `ws://`, with `ServerConfig::tls` and `ClientConfig::tls`.
//!
//! Run it with `cargo run -p wsproto-tokio --example wss_echo`: it serves on a free port,
//! connects over TLS, exchanges a message, and exits. In production the server would load
//! its certificate with `ServerTls::from_pem_files` and clients would trust the bundled
//! Mozilla roots (`ClientTls::default()`).

use std::error::Error;

use wsproto_tokio::{ClientConfig, ClientTls, CloseCode, Server, ServerConfig, ServerTls};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    // A certificate for localhost, made now; the client trusts it and nothing else.
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();

    let tls = ServerTls::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
    let mut server = Server::bind_with("127.0.0.1:0", ServerConfig::default().tls(tls)).await?;
    let port = server.local_addr().port();
    println!("listening on {}", server.url());
    tokio::spawn(async move {
        while let Ok(mut ws) = server.accept().await {
            tokio::spawn(async move {
                while let Some(Ok(message)) = ws.recv().await {
                    if ws.feed(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });

    // The certificate names localhost, so that is the name the client connects to.
    let client = ClientConfig::default().tls(ClientTls::with_ca_pem(cert_pem.as_bytes())?);
    let mut ws = wsproto_tokio::connect_with(&format!("wss://localhost:{port}/"), client).await?;
    ws.send_text("hello over TLS").await?;
    let echoed = ws.recv().await.ok_or("connection closed early")??;
    println!("wss echo: {echoed:?}");
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}
