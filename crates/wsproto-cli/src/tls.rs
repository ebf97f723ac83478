//! The TLS settings the flags name, turned into the library's: what `connect` trusts
//! (`--ca`, `--insecure`) and what `serve` presents (`--tls-cert` + `--tls-key`), read from
//! PEM files.
//!
//! Invariant: every error names the flag and the file it is about (a file that cannot be
//! read, holds no usable PEM, or a key that does not belong to the certificate), so the
//! caller can report it as a usage error as it is. Parsing and checking are the library's
//! (`ClientTls::with_ca_pem`, `ServerTls::from_pem`); this only says which file was wrong.

use std::path::Path;

use wsproto_async::rustls::pki_types::pem::PemObject;
use wsproto_async::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use wsproto_async::{ClientTls, ServerTls, TlsError, TlsErrorKind};

use crate::args::Trust;

/// What `connect` gives a `wss://` connection to trust; `None`: the library's default (the
/// bundled roots).
pub(crate) fn client(trust: &Trust) -> Result<Option<ClientTls>, String> {
    match trust {
        Trust::Bundled => Ok(None),
        Trust::Insecure => Ok(Some(ClientTls::dangerous_accept_any_certificate())),
        Trust::Native => ClientTls::platform_roots()
            .map(Some)
            .map_err(|e| format!("--ca-native: {}", why(&e))),
        Trust::Ca(path) => {
            let pem = read("--ca", path)?;
            ClientTls::with_ca_pem(&pem)
                .map(Some)
                .map_err(|e| format!("--ca {}: {}", path.display(), why(&e)))
        }
    }
}

/// The certificate chain in `cert` and its key in `key`, as `serve` presents them; also
/// the chain's first (leaf) certificate, for the fingerprints.
pub(crate) fn server(
    cert: &Path,
    key: &Path,
) -> Result<(ServerTls, CertificateDer<'static>), String> {
    let (cert_pem, key_pem) = (read("--tls-cert", cert)?, read("--tls-key", key)?);
    // Which file is wrong, before the library checks the pair.
    let leaf = CertificateDer::pem_slice_iter(&cert_pem)
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| {
            format!(
                "--tls-cert {}: no PEM certificate in it (want a -----BEGIN CERTIFICATE----- block)",
                cert.display()
            )
        })?;
    if PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
        return Err(format!(
            "--tls-key {}: no PEM private key in it (want a -----BEGIN PRIVATE KEY----- block, \
             PKCS#8, PKCS#1 or SEC1)",
            key.display()
        ));
    }
    let tls = ServerTls::from_pem(&cert_pem, &key_pem).map_err(|e| {
        format!(
            "--tls-cert {} and --tls-key {}: {}",
            cert.display(),
            key.display(),
            why(&e)
        )
    })?;
    Ok((tls, leaf))
}

/// The bytes of the file a flag names.
fn read(flag: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {}: cannot read it: {e}", path.display()))
}

/// What is wrong with our own settings, without the `tls: unusable settings:` prefix the
/// library's message carries for callers that have no flag to name.
fn why(error: &TlsError) -> String {
    match error.kind() {
        TlsErrorKind::Config(why) => why.clone(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_files_are_named_with_their_flag() {
        let missing = Path::new("/nonexistent/wsproto/x.pem");
        let error = client(&Trust::Ca(missing.into())).unwrap_err();
        assert!(
            error.starts_with("--ca /nonexistent/wsproto/x.pem: cannot read it"),
            "{error}"
        );
        let error = server(missing, missing).unwrap_err();
        assert!(error.starts_with("--tls-cert /nonexistent/"), "{error}");
    }

    #[test]
    fn the_defaults_need_no_file() {
        assert!(client(&Trust::Bundled).unwrap().is_none());
        assert!(client(&Trust::Insecure).unwrap().is_some());
    }
}
