//! The certificate `serve` presents over TLS: read from `--tls-cert`/`--tls-key`
//! ([`crate::tls`]) or made at startup for `--tls-self-signed` (rcgen), and described on
//! stderr with the hashes a client needs to trust it: the SHA-256 fingerprint of the
//! certificate and the base64 SHA-256 of its public key (SubjectPublicKeyInfo), which is
//! what Chromium's `--ignore-certificate-errors-spki-list` takes.
//!
//! Invariants: nothing here writes to stdout (its first two lines are `serve`'s contract);
//! the hashes are of the certificate the server presents, computed from its DER.

use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{CertificateParams, DnType, KeyPair};
use ring::digest::{SHA256, digest};
use wsproto_async::ServerTls;
use wsproto_async::rustls::pki_types::CertificateDer;
use wsproto_async::rustls::server::ParsedCertificate;

use crate::args::Certificate;

/// The names every self-signed certificate carries: the loopback host in each spelling.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// What `serve` presents, and what it says about it.
pub(super) struct Presented {
    pub(super) tls: ServerTls,
    /// The leaf certificate, DER.
    leaf: CertificateDer<'static>,
    /// The names of a certificate made at startup; `None` for one from files.
    self_signed_for: Option<Vec<String>>,
}

impl Presented {
    /// Loads or makes the certificate `source` asks for (`bind` is `--bind`, whose host a
    /// self-signed certificate names too). The error names the file or says what failed.
    pub(super) fn new(source: &Certificate, bind: &str) -> Result<Self, String> {
        match source {
            Certificate::Files { cert, key } => {
                let (tls, leaf) = crate::tls::server(cert, key)?;
                Ok(Self {
                    tls,
                    leaf,
                    self_signed_for: None,
                })
            }
            Certificate::SelfSigned => self_signed(bind),
        }
    }

    /// Says on stderr which certificate is served and how to trust it.
    pub(super) fn describe(&self) {
        eprint!("{}", self.description());
    }

    fn description(&self) -> String {
        let mut text = match &self.self_signed_for {
            Some(names) => format!(
                "self-signed certificate made at startup for {}; clients do not trust it: \
                 use `wsproto connect --insecure`, or start Chromium with \
                 --ignore-certificate-errors-spki-list=SPKI (below)\n",
                names.join(", ")
            ),
            None => String::new(),
        };
        text.push_str(&format!(
            "certificate sha256 fingerprint: {}\n",
            fingerprint(&self.leaf)
        ));
        match spki_sha256(&self.leaf) {
            Some(spki) => text.push_str(&format!("spki sha256 (base64): {spki}\n")),
            None => {
                text.push_str("spki sha256 (base64): unknown (the certificate does not parse)\n")
            }
        }
        text
    }
}

/// A fresh key pair and a certificate it signs itself, for [`LOOPBACK`] and `bind`'s host.
fn self_signed(bind: &str) -> Result<Presented, String> {
    let names = names_for(bind);
    let failed = |e: rcgen::Error| format!("--tls-self-signed: cannot make a certificate: {e}");
    let mut params = CertificateParams::new(names.clone()).map_err(failed)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "wsproto serve (self-signed)");
    let key = KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    let tls = ServerTls::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
        .map_err(|e| format!("--tls-self-signed: {e}"))?;
    Ok(Presented {
        tls,
        leaf: cert.der().clone(),
        self_signed_for: Some(names),
    })
}

/// [`LOOPBACK`], plus the host `bind` listens on when it is another one a client can name
/// (not an unspecified address such as `0.0.0.0`).
fn names_for(bind: &str) -> Vec<String> {
    let mut names: Vec<String> = LOOPBACK.map(String::from).to_vec();
    let host = match bind.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => None,
        Ok(addr) => Some(addr.ip().to_string()),
        Err(_) => bind
            .rsplit_once(':')
            .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'))
            .filter(|host| !host.is_empty() && !is_unspecified(host))
            .map(str::to_owned),
    };
    if let Some(host) = host
        && !names.iter().any(|n| n.eq_ignore_ascii_case(&host))
    {
        names.push(host);
    }
    names
}

fn is_unspecified(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// The certificate's SHA-256 fingerprint as browsers show it: `AB:CD:…`.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let hash = digest(&SHA256, cert.as_ref());
    let hex: Vec<String> = hash.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// The base64 SHA-256 of the certificate's SubjectPublicKeyInfo (Chromium's
/// `--ignore-certificate-errors-spki-list` form); `None` if the certificate does not parse.
fn spki_sha256(cert: &CertificateDer<'_>) -> Option<String> {
    let parsed = ParsedCertificate::try_from(cert).ok()?;
    let hash = digest(&SHA256, parsed.subject_public_key_info().as_ref());
    Some(BASE64.encode(hash.as_ref()))
}

#[cfg(test)]
mod tests {
    use rcgen::PublicKeyData as _;

    use super::*;

    #[test]
    fn self_signed_names_loopback_and_the_bind_host() {
        for (bind, extra) in [
            ("127.0.0.1:9001", None),
            ("[::1]:0", None),
            ("localhost:9001", None),
            ("0.0.0.0:9001", None),
            ("[::]:9001", None),
            ("192.0.2.7:443", Some("192.0.2.7")),
            ("[2001:db8::1]:443", Some("2001:db8::1")),
            ("ws.example:8443", Some("ws.example")),
        ] {
            let mut want: Vec<String> = LOOPBACK.map(String::from).to_vec();
            want.extend(extra.map(String::from));
            assert_eq!(names_for(bind), want, "{bind}");
        }
    }

    #[test]
    fn hashes_are_of_the_certificate_and_its_public_key() {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = cert.der();
        let fp = fingerprint(der);
        assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
        assert!(fp.split(':').all(|b| {
            b.len() == 2
                && b.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        }));
        let want = BASE64.encode(digest(&SHA256, &key.subject_public_key_info()).as_ref());
        assert_eq!(spki_sha256(der), Some(want));
    }

    #[test]
    fn a_self_signed_certificate_is_described_on_every_line() {
        let presented = self_signed("127.0.0.1:0").unwrap();
        let text = presented.description();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(
                "self-signed certificate made at startup for localhost, 127.0.0.1, ::1;"
            ),
            "{text}"
        );
        assert!(
            lines[1].starts_with("certificate sha256 fingerprint: "),
            "{text}"
        );
        assert!(lines[2].starts_with("spki sha256 (base64): "), "{text}");
        assert_eq!(
            lines[2].len(),
            "spki sha256 (base64): ".len() + 44,
            "{text}"
        );
    }
}
