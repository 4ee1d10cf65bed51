//! TLS to PostgreSQL with libpq's `sslmode` semantics, as upstream (pgx) applies them:
//! `disable` plain; `prefer` / `require` encrypted without checking the server's
//! certificate; `verify-ca` / `verify-full` encrypted and verified against the service's
//! roots ([`crate::tls`]: the system's, `SSL_CERT_FILE`, `SSL_CERT_DIR`), or
//! only the CA file given in `sslrootcert`. The driver only knows
//! disable/prefer/require and rejects unknown URL options, so the verify modes and
//! `sslrootcert` are read here and removed from what it parses.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::tls::{self as client_tls, Tls};

/// A parsed connection URL and the TLS connector that goes with it.
pub struct PgTarget {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verification {
    /// `prefer` / `require`: encrypt, accept any certificate (libpq's behaviour).
    None,
    /// `verify-ca` / `verify-full`.
    Full,
}

/// Parses a `postgres://` URL (or key=value string) with every `sslmode` libpq knows.
pub fn target(url: &str, tls: &Tls) -> Result<PgTarget, String> {
    let mut verification = Verification::None;
    let mut root_cert: Option<String> = None;
    let cleaned = rewrite_options(url, |key, value| match (key, value) {
        ("sslmode", "verify-ca" | "verify-full") => {
            verification = Verification::Full;
            Some(("sslmode", "require".to_owned()))
        }
        ("sslrootcert", path) => {
            root_cert = Some(path.to_owned());
            None
        }
        (k, v) => Some((k, v.to_owned())),
    });
    let config: tokio_postgres::Config = cleaned
        .parse()
        .map_err(|e: tokio_postgres::Error| e.to_string())?;
    let tls = connector(verification, root_cert.as_deref(), tls)?;
    Ok(PgTarget { config, tls })
}

/// Applies `f` to each `key=value` option of a URL query string or of a key=value
/// connection string; `None` drops the option.
fn rewrite_options<'a>(
    url: &'a str,
    mut f: impl FnMut(&'a str, &'a str) -> Option<(&'a str, String)>,
) -> String {
    if let Some((base, query)) = url.split_once('?') {
        let kept: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                f(k, v).map(|(k, v)| format!("{k}={v}"))
            })
            .collect();
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else if url.contains("://") {
        url.to_owned()
    } else {
        url.split_whitespace()
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                f(k, v).map(|(k, v)| format!("{k}={v}"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn connector(
    verification: Verification,
    root_cert: Option<&str>,
    tls: &Tls,
) -> Result<MakeRustlsConnect, String> {
    let builder = || client_tls::config_builder().map_err(|e| e.to_string());
    let config = match (verification, root_cert) {
        (Verification::None, _) => builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(client_tls::provider())))
            .with_no_client_auth(),
        (Verification::Full, Some(path)) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?
            {
                let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
            builder()?
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
        (Verification::Full, None) => tls.client_config().clone(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// `sslmode=require` semantics: the channel is encrypted and the handshake signatures
/// are checked, but the certificate is not tied to a trusted root (as libpq and pgx).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
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
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_and_root_cert_are_read_and_removed() {
        let mut seen = Vec::new();
        let out = rewrite_options(
            "postgres://u@h:5432/db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x",
            |k, v| {
                seen.push((k.to_owned(), v.to_owned()));
                (k != "sslrootcert").then(|| {
                    (
                        k,
                        if k == "sslmode" {
                            "require".into()
                        } else {
                            v.to_owned()
                        },
                    )
                })
            },
        );
        assert_eq!(
            out,
            "postgres://u@h:5432/db?sslmode=require&application_name=x"
        );
        assert_eq!(seen.len(), 3);
        let tls = Tls::with_roots(rustls::RootCertStore::empty()).unwrap();
        assert!(target("postgres://u@h/db?sslmode=verify-full", &tls).is_ok());
        assert!(target("postgres://u@h/db?sslmode=disable", &tls).is_ok());
        assert!(target("host=h user=u sslmode=verify-ca", &tls).is_ok());
        assert!(
            target(
                "postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem",
                &tls
            )
            .is_err()
        );
    }
}
