//! Certificates the TLS tests make for themselves (rcgen): a CA, and leaf certificates it
//! signs for any names, current, expired or not yet valid; also client certificates. For
//! programs that take file paths (the real peers), [`PemFiles`] writes a CA and a loopback
//! server certificate into a temporary directory that is removed on drop.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use wsproto_tokio::{ClientTls, ServerTls, TlsError};

/// The names a loopback server's certificate carries: a DNS name and an IP address.
pub const LOOPBACK: [&str; 2] = ["localhost", "127.0.0.1"];

/// When a leaf certificate is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// From 2020 to 2100.
    Current,
    /// 2000 to 2001.
    Expired,
    /// From 2090 on.
    NotYet,
}

/// A certificate and its key, both PEM.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// The certificate chain (leaf only; the CA is what clients trust).
    pub cert_pem: String,
    /// The private key.
    pub key_pem: String,
}

impl Leaf {
    /// What one of our servers presents to use this certificate.
    pub fn server_tls(&self) -> Result<ServerTls, TlsError> {
        ServerTls::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }
}

/// A test certificate authority.
pub struct TestCa {
    /// The CA certificate, PEM: what clients are told to trust.
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A fresh CA named `name`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::new()).expect("no names is valid");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2100, 1, 1);
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Self {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// What one of our clients is given to trust exactly this CA.
    pub fn client_tls(&self) -> Result<ClientTls, TlsError> {
        ClientTls::with_ca_pem(self.ca_pem.as_bytes())
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    #[must_use]
    pub fn server(&self, names: &[&str], validity: Validity) -> Leaf {
        self.leaf(names, validity, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (for mutual TLS) named `name`.
    #[must_use]
    pub fn client(&self, name: &str) -> Leaf {
        self.leaf(
            &[name],
            Validity::Current,
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn leaf(&self, names: &[&str], validity: Validity, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("valid names");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        (params.not_before, params.not_after) = match validity {
            Validity::Current => (date_time_ymd(2020, 1, 1), date_time_ymd(2100, 1, 1)),
            Validity::Expired => (date_time_ymd(2000, 1, 1), date_time_ymd(2001, 1, 1)),
            Validity::NotYet => (date_time_ymd(2090, 1, 1), date_time_ymd(2100, 1, 1)),
        };
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A fresh CA and a current server certificate it signed for [`LOOPBACK`], written as
/// `ca.pem`, `cert.pem` and `key.pem` into a new temporary directory, for a child process
/// that reads certificates from files. The directory is removed when this drops, so keep it
/// alive until the child has loaded them.
pub struct PemFiles {
    dir: PathBuf,
    ca: TestCa,
    leaf: Leaf,
}

impl PemFiles {
    /// Makes the certificates and writes them.
    pub fn loopback() -> io::Result<Self> {
        let ca = TestCa::new("wsproto peer CA");
        let leaf = ca.server(&LOOPBACK, Validity::Current);
        let dir = fresh_temp_dir()?;
        let files = Self { dir, ca, leaf };
        std::fs::write(files.ca_path(), &files.ca.ca_pem)?;
        std::fs::write(files.cert_path(), &files.leaf.cert_pem)?;
        std::fs::write(files.key_path(), &files.leaf.key_pem)?;
        Ok(files)
    }

    /// The CA certificate a client must trust.
    #[must_use]
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server certificate (for [`LOOPBACK`]).
    #[must_use]
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// The server certificate's private key.
    #[must_use]
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    /// The CA, for our own clients.
    #[must_use]
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// The server certificate and key, for our own servers.
    #[must_use]
    pub fn leaf(&self) -> &Leaf {
        &self.leaf
    }
}

impl Drop for PemFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A directory under the system's temporary one that did not exist before, named after this
/// process so parallel tests (and test binaries) never share one.
fn fresh_temp_dir() -> io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wsproto-pem-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            // Left behind by an earlier process with the same id: take the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            other => return other.map(|()| dir),
        }
    }
}
