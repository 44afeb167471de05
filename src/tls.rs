//! TLS client configuration shared by the IMAP and SMTP edges.
//!
//! Trusts the Mozilla root set (webpki-roots) plus, when configured, the
//! certificates in one PEM file (`ca_file`, e.g. an institution's internal
//! CA). Uses rustls with the `ring` provider; no OpenSSL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA file {path}: {source}; check `ca_file` in the config")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA file {path} is not valid PEM: {source}")]
    Pem {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA file {path} holds no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\" blocks)")]
    NoCertificates { path: PathBuf },
    #[error("CA file {path}: certificate {index} is not usable as a trust anchor: {reason}")]
    BadCertificate {
        path: PathBuf,
        index: usize,
        reason: String,
    },
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A rustls client config trusting webpki-roots and the certificates in
/// `ca_file` (PEM, one or more certificates), if given.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        add_pem_file(&mut roots, path)?;
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

fn add_pem_file(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = std::io::BufReader::new(bytes.as_slice());
    let certs = rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates {
            path: path.to_path_buf(),
        });
    }
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsError::BadCertificate {
            path: path.to_path_buf(),
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_ca_file_builds() {
        assert!(client_config(None).is_ok());
    }

    #[test]
    fn missing_file_is_named() {
        let err = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/ca.pem"), "{msg}");
        assert!(matches!(err, TlsError::Read { .. }));
    }

    #[test]
    fn file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        let err = client_config(Some(&p)).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificates { .. }), "{err}");
        assert!(err.to_string().contains("empty.pem"));
    }

    #[test]
    fn garbage_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.pem");
        std::fs::write(
            &p,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = client_config(Some(&p)).unwrap_err();
        assert!(err.to_string().contains("bad.pem"), "{err}");
    }
}
