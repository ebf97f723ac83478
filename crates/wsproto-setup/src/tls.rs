//! TLS settings for `wss://`, once for every adapter: what a client trusts ([`ClientTls`]),
//! what a server presents ([`ServerTls`], replaceable while it runs), and what went wrong
//! ([`TlsError`]), all over rustls with the `ring` provider.
//!
//! `ring` because it builds on a fresh machine with nothing but a C compiler (no cmake, no
//! Go, unlike aws-lc-rs). Trust roots are Mozilla's, bundled (`webpki-roots`), unless you
//! bring your own rustls config or CA. ALPN offers `http/1.1`, the protocol of the upgrade.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The crypto provider every config here is built with.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The protocol negotiated by ALPN: the WebSocket opening is an HTTP/1.1 request.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// What a client trusts when it opens `wss://`. Default: Mozilla's roots, bundled.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
}

impl Default for ClientTls {
    fn default() -> Self {
        static BUNDLED: OnceLock<ClientTls> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                Self::trusting(roots)
            })
            .clone()
    }
}

impl ClientTls {
    /// Trusts exactly the certificate authorities in `pem` (one or more `CERTIFICATE`
    /// blocks), e.g. your own CA for an internal service.
    pub fn with_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TlsError::config(format!("bad CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| TlsError::config(format!("bad CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(TlsError::config("no CERTIFICATE in the CA PEM".into()));
        }
        Ok(Self::trusting(roots))
    }

    /// Trusts the certificate authorities in the PEM file at `path`.
    pub fn with_ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let pem = read(path.as_ref())?;
        Self::with_ca_pem(&pem)
    }

    /// Trusts the operating system's certificate store, read now: on Linux the
    /// distribution's CA bundle (or the file and directory named by `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR`), on macOS the keychain, on Windows the system store. For clients that
    /// must honour an enterprise CA installed on the machine. Certificates the store holds
    /// but rustls cannot use are skipped; a store with none usable is an error.
    pub fn platform_roots() -> Result<Self, TlsError> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, _skipped) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            let why = found
                .errors
                .first()
                .map_or_else(|| "it is empty".to_owned(), ToString::to_string);
            return Err(TlsError::config(format!(
                "no usable certificate in the platform's trust store: {why}"
            )));
        }
        Ok(Self::trusting(roots))
    }

    /// Your own rustls client config (client certificates for mutual TLS, the platform's
    /// verifier, pinned keys...), used as it is. Set its `alpn_protocols` to `http/1.1` if the
    /// server cares.
    #[must_use]
    pub fn from_config(config: Arc<rustls::ClientConfig>) -> Self {
        Self { config }
    }

    /// **Accepts any certificate for any name, expired or self-made: for tests only.** The
    /// connection is encrypted but not authenticated; anyone on the path can read it.
    #[must_use]
    pub fn dangerous_accept_any_certificate() -> Self {
        let provider = provider();
        let verifier = Arc::new(AcceptAnyCertificate(
            provider.signature_verification_algorithms,
        ));
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"))
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Self {
            config: Arc::new(config),
        }
    }

    fn trusting(roots: RootCertStore) -> Self {
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"))
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Self {
            config: Arc::new(config),
        }
    }

    /// The rustls config connections are made with.
    #[must_use]
    pub fn config(&self) -> &Arc<rustls::ClientConfig> {
        &self.config
    }

    /// The name the server's certificate must carry for `host` (a DNS name, or an IP
    /// address, which is then matched against the certificate's IP entries and sent without
    /// SNI, as RFC 6066 requires).
    pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(bare.to_owned()).map_err(|_| TlsError {
            host: Some(host.to_owned()),
            kind: TlsErrorKind::InvalidName,
        })
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

/// What a server presents for `wss://`: its certificate chain and key. Cloning shares it, and
/// [`reload_pem`](Self::reload_pem) replaces it for every clone: new connections get the new
/// certificate (renewal without a restart), open ones keep theirs.
#[derive(Clone)]
pub struct ServerTls {
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

impl ServerTls {
    /// A certificate chain (leaf first) and its private key, both PEM.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        Ok(Self::from_config(Arc::new(server_config(cert_chain, key)?)))
    }

    /// [`from_pem`](Self::from_pem) with both read from files.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        Self::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// Your own rustls server config (client-certificate verification, several
    /// certificates by SNI...), used as it is. Set its `alpn_protocols` to `http/1.1` if
    /// clients offer ALPN and you want them to see it.
    #[must_use]
    pub fn from_config(config: Arc<rustls::ServerConfig>) -> Self {
        Self {
            current: Arc::new(RwLock::new(config)),
        }
    }

    /// Replaces the certificate and key for connections accepted from now on.
    pub fn reload_pem(&self, cert_chain: &[u8], key: &[u8]) -> Result<(), TlsError> {
        self.reload_config(Arc::new(server_config(cert_chain, key)?));
        Ok(())
    }

    /// Replaces the whole rustls config for connections accepted from now on.
    pub fn reload_config(&self, config: Arc<rustls::ServerConfig>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// The config the next accepted connection gets.
    #[must_use]
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

fn server_config(cert_chain: &[u8], key: &[u8]) -> Result<rustls::ServerConfig, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::config(format!("bad certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError::config(
            "no CERTIFICATE in the certificate PEM".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| TlsError::config(format!("bad private key PEM: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"))
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::config(format!("certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(config)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::config(format!("{}: {e}", path.display())))
}

/// The verifier behind [`ClientTls::dangerous_accept_any_certificate`]: any chain, any name,
/// any date; signatures are still checked, so the handshake itself is sound.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A TLS failure, with the host it happened with when known.
#[derive(Debug)]
pub struct TlsError {
    host: Option<String>,
    kind: TlsErrorKind,
}

/// What went wrong with TLS.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsErrorKind {
    /// The server's certificate chain does not lead to a trusted authority.
    UnknownIssuer,
    /// The certificate is valid, but not for the name (or IP address) that was asked for.
    NameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// The certificate was revoked.
    Revoked,
    /// Another problem with the peer's certificate.
    BadCertificate(String),
    /// The server requires a client certificate and we presented none (or the reverse).
    CertificateRequired,
    /// The peer refused the handshake with this alert.
    PeerRejected(String),
    /// The peer does not speak TLS (plain TCP or HTTP on a TLS port).
    NotTls,
    /// The URL's host cannot be a TLS server name.
    InvalidName,
    /// Our own TLS settings are unusable (a file, a PEM block, a key).
    Config(String),
    /// Any other handshake failure.
    Handshake(String),
}

impl TlsError {
    fn config(why: String) -> Self {
        Self {
            host: None,
            kind: TlsErrorKind::Config(why),
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &TlsErrorKind {
        &self.kind
    }

    /// The host the handshake was with, when known.
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Classifies an I/O error from a TLS handshake with `host` (rustls reports its errors
    /// inside `io::Error`s); `None` when it is not a TLS error but a plain I/O one.
    #[must_use]
    pub fn from_io(error: &io::Error, host: Option<&str>) -> Option<Self> {
        let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
        Some(Self {
            host: host.map(str::to_owned),
            kind: classify(tls),
        })
    }
}

fn classify(error: &rustls::Error) -> TlsErrorKind {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => TlsErrorKind::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsErrorKind::NameMismatch
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsErrorKind::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsErrorKind::NotYetValid
            }
            CertificateError::Revoked => TlsErrorKind::Revoked,
            other => TlsErrorKind::BadCertificate(format!("{other:?}")),
        },
        E::NoCertificatesPresented => TlsErrorKind::CertificateRequired,
        E::AlertReceived(alert) => match alert {
            rustls::AlertDescription::CertificateRequired => TlsErrorKind::CertificateRequired,
            other => TlsErrorKind::PeerRejected(format!("{other:?}")),
        },
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => TlsErrorKind::NotTls,
        other => TlsErrorKind::Handshake(other.to_string()),
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(host) => write!(f, "tls with {host}: ")?,
            None => f.write_str("tls: ")?,
        }
        match &self.kind {
            TlsErrorKind::UnknownIssuer => {
                f.write_str("certificate issued by an unknown authority (unknown issuer)")
            }
            TlsErrorKind::NameMismatch => f.write_str("certificate is not valid for this name"),
            TlsErrorKind::Expired => f.write_str("certificate has expired"),
            TlsErrorKind::NotYetValid => f.write_str("certificate is not valid yet"),
            TlsErrorKind::Revoked => f.write_str("certificate was revoked"),
            TlsErrorKind::BadCertificate(why) => write!(f, "bad certificate: {why}"),
            TlsErrorKind::CertificateRequired => f.write_str("a client certificate is required"),
            TlsErrorKind::PeerRejected(alert) => {
                write!(f, "the peer refused the handshake: {alert}")
            }
            TlsErrorKind::NotTls => f.write_str("the peer does not speak TLS"),
            TlsErrorKind::InvalidName => f.write_str("the host is not a valid TLS server name"),
            TlsErrorKind::Config(why) => write!(f, "unusable settings: {why}"),
            TlsErrorKind::Handshake(why) => write!(f, "handshake failed: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}
