//! `wss://`: the same echo servers over TLS, and the load generator's TLS client.
//!
//! Every TLS server and the client use one rustls setup: the ring provider restricted to
//! TLS 1.3 with AES-128-GCM (`TLS13_AES_128_GCM_SHA256`), so every implementation pays for
//! the same cipher; the server's certificate is made at startup (rcgen), and the load
//! generator accepts it without checking (it measures, it does not authenticate).
//! Peers get the TLS stream from `tokio-rustls` (what a tokio-tungstenite user adds); ours
//! is configured through `ServerConfig::tls` with the same rustls config.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use crate::handshake;
use crate::load::{EchoParser, Frames, Shared};

/// The one cipher suite every measured implementation uses.
fn provider() -> Arc<CryptoProvider> {
    let mut provider = ring::default_provider();
    provider.cipher_suites = vec![ring::cipher_suite::TLS13_AES_128_GCM_SHA256];
    Arc::new(provider)
}

/// The servers' rustls config: a certificate for `localhost` and `127.0.0.1` made now.
pub(crate) fn server_config() -> Result<Arc<rustls::ServerConfig>, String> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let chain = vec![CertificateDer::from(cert.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A tokio-rustls acceptor for the peers.
pub(crate) fn acceptor() -> Result<TlsAcceptor, String> {
    Ok(TlsAcceptor::from(server_config()?))
}

/// Accepts any server certificate: the load generator measures, it does not authenticate.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

thread_local! {
    static CONNECTOR: TlsConnector = {
        let provider = provider();
        let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("ring supports TLS 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    };
}

/// Connects over TLS and does the WebSocket handshake; returns the stream and any bytes
/// read past the handshake.
pub(crate) async fn connect(url: &str) -> Result<(client::TlsStream<TcpStream>, Vec<u8>), String> {
    let (authority, path) = handshake::split_url(url)?;
    let tcp = TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let host = authority
        .rsplit_once(':')
        .map_or(authority.as_str(), |(h, _)| h);
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let connector = CONNECTOR.with(Clone::clone);
    let mut stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls with {authority}: {e}"))?;
    let leftover = handshake::client(&mut stream, &authority, &path).await?;
    Ok((stream, leftover))
}

/// Accepts TLS on a peer's TCP stream; `None` if the client went away.
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
) -> Option<server::TlsStream<TcpStream>> {
    let _ = tcp.set_nodelay(true);
    acceptor.accept(tcp).await.ok()
}

/// One TLS load connection: `depth` messages in flight, echoes verified, like the plain
/// one; a reader and a writer task share the count of frames owed.
pub(crate) async fn connection(
    stream: client::TlsStream<TcpStream>,
    leftover: Vec<u8>,
    frames: Rc<Frames>,
    shared: Rc<Shared>,
    depth: usize,
    read_cap: usize,
) -> Result<(), String> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let owed = Rc::new(Cell::new(depth));
    let wake = Rc::new(tokio::sync::Notify::new());
    let writing = {
        let (owed, wake, frames) = (Rc::clone(&owed), Rc::clone(&wake), Rc::clone(&frames));
        tokio::task::spawn_local(async move {
            let ring = frames.ring();
            let mut wpos = 0usize;
            loop {
                while owed.get() == 0 {
                    wake.notified().await;
                }
                let mut pending = owed.replace(0) * frames.frame_len();
                while pending > 0 {
                    let end = ring.len().min(wpos + pending);
                    let chunk = &ring[wpos..end];
                    writer
                        .write_all(chunk)
                        .await
                        .map_err(|e| format!("write: {e}"))?;
                    pending -= chunk.len();
                    wpos = end % ring.len();
                }
                writer.flush().await.map_err(|e| format!("flush: {e}"))?;
            }
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        })
    };
    let mut rbuf = vec![0u8; read_cap.max(leftover.len() + 16)];
    let mut rlen = leftover.len();
    rbuf[..rlen].copy_from_slice(&leftover);
    let mut parser = EchoParser::default();
    let result = async {
        loop {
            if rlen > 0 {
                let (used, done) = parser.feed(&rbuf[..rlen], &frames)?;
                rbuf.copy_within(used..rlen, 0);
                rlen -= used;
                if done > 0 {
                    shared.msgs.set(shared.msgs.get() + done);
                    owed.set(owed.get() + done as usize);
                    wake.notify_one();
                }
            }
            let n = reader
                .read(&mut rbuf[rlen..])
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".to_string());
            }
            rlen += n;
        }
    }
    .await;
    writing.abort();
    result
}
