//! The one TLS client configuration of every outbound connection: HTTPS (OAuth providers
//! and their keys, HIBP, Postmark, Twilio, Modica, Hasura, Turnstile, OTLP), SMTP
//! (STARTTLS and implicit TLS) and PostgreSQL (`sslmode=verify-*`).
//!
//! One crypto provider, aws-lc-rs (it already signs the RS* tokens), and one root store
//! read once at start-up, the way upstream (Go's `crypto/x509` on Linux) reads it:
//! - neither `SSL_CERT_FILE` nor `SSL_CERT_DIR` set: the platform's store;
//! - `SSL_CERT_FILE` replaces the default CA bundle file, `SSL_CERT_DIR` (`:`-separated)
//!   the default CA directories, each only its own default: a private CA in
//!   `SSL_CERT_FILE` is trusted alongside the system's `/etc/ssl/certs`.
//!
//! Proxies come from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (reqwest's default, read
//! when a client is built). Not a single root certificate is a start-up error: such a
//! server could verify no provider, mail server or database, and would only say so at
//! a user's first sign-in.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, ConfigBuilder, RootCertStore, WantsVerifier};

/// The crypto provider of every TLS connection.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client configuration with [`provider`] and the safe protocol versions (TLS 1.2 and
/// 1.3), waiting for its certificate verifier. Every `ClientConfig` starts here.
pub fn config_builder() -> Result<ConfigBuilder<ClientConfig, WantsVerifier>, TlsError> {
    Ok(ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?)
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "no root certificate could be loaded from {from}{}: outbound TLS could verify no \
         server; install the system's CA certificates (ca-certificates) or point \
         SSL_CERT_FILE / SSL_CERT_DIR at PEM files",
        problems_suffix(.problems)
    )]
    NoRoots {
        from: RootSource,
        problems: Vec<String>,
    },
    #[error("TLS set-up: {0}")]
    Rustls(#[from] rustls::Error),
}

fn problems_suffix(problems: &[String]) -> String {
    if problems.is_empty() {
        String::new()
    } else {
        format!(" ({})", problems.join("; "))
    }
}

/// The TLS client configuration, built once at start-up and handed to every client.
/// Cheap to clone.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
    report: Option<Arc<LoadReport>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

/// What [`Tls::from_env`] read, for the start-up log.
#[derive(Debug)]
struct LoadReport {
    source: RootSource,
    added: usize,
    ignored: usize,
    problems: Vec<String>,
}

impl Tls {
    /// The platform's root certificates, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`
    /// (read now: call once, at start-up).
    pub fn from_env() -> Result<Tls, TlsError> {
        let source = RootSource::from_vars(
            std::env::var_os("SSL_CERT_FILE"),
            std::env::var_os("SSL_CERT_DIR"),
        );
        let (certs, problems) = source.load();
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if roots.is_empty() {
            return Err(TlsError::NoRoots {
                from: source,
                problems,
            });
        }
        let mut tls = Tls::with_roots(roots)?;
        tls.report = Some(Arc::new(LoadReport {
            source,
            added,
            ignored,
            problems,
        }));
        Ok(tls)
    }

    /// Trusts exactly `roots` (tests; plain-HTTP clients with no roots at all).
    pub fn with_roots(roots: RootCertStore) -> Result<Tls, TlsError> {
        let config = config_builder()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls {
            config: Arc::new(config),
            report: None,
        })
    }

    /// Logs where the roots came from and what could not be read. Separate from
    /// [`Tls::from_env`] because the OTLP exporter needs the roots before logging is up.
    pub fn log_summary(&self) {
        let Some(report) = &self.report else { return };
        for problem in &report.problems {
            tracing::warn!(problem = %problem, "a root certificate source could not be read");
        }
        if report.ignored > 0 {
            tracing::warn!(
                ignored = report.ignored,
                "root certificates that could not be parsed were ignored"
            );
        }
        tracing::info!(
            roots = report.added,
            source = %report.source,
            "TLS root certificates loaded"
        );
    }

    pub fn client_config(&self) -> &ClientConfig {
        &self.config
    }

    /// Every outbound HTTP(S) client starts here (each caller sets its own timeouts).
    /// reqwest's system proxy support stays on: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`.
    pub fn http_client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().use_preconfigured_tls(ClientConfig::clone(&self.config))
    }

    /// For TLS over a socket of our own (SMTP).
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.config.clone())
    }
}

/// Where the root certificates are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// The platform's store (neither variable set).
    Platform,
    /// A CA bundle file and CA directories (Go's rule).
    Paths {
        file: Option<PathBuf>,
        dirs: Vec<PathBuf>,
    },
}

impl std::fmt::Display for RootSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootSource::Platform => f.write_str("the platform's certificate store"),
            RootSource::Paths { file, dirs } => {
                let file = file
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |p| p.display().to_string());
                let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
                write!(f, "file {file}, directories [{}]", dirs.join(", "))
            }
        }
    }
}

impl RootSource {
    /// From the values of `SSL_CERT_FILE` and `SSL_CERT_DIR` (empty counts as unset, as
    /// in Go): each replaces only its own default.
    pub fn from_vars(file: Option<OsString>, dir: Option<OsString>) -> RootSource {
        let file = file.filter(|v| !v.is_empty()).map(PathBuf::from);
        let dirs = dir.filter(|v| !v.is_empty()).map(|d| {
            std::env::split_paths(&d)
                .filter(|p| !p.as_os_str().is_empty())
                .collect::<Vec<_>>()
        });
        if file.is_none() && dirs.is_none() {
            return RootSource::Platform;
        }
        RootSource::Paths {
            file: file.or_else(default_file),
            dirs: dirs.unwrap_or_else(default_dirs),
        }
    }

    /// The certificates found (deduplicated) and what could not be read.
    fn load(&self) -> (Vec<CertificateDer<'static>>, Vec<String>) {
        let results = match self {
            RootSource::Platform => vec![rustls_native_certs::load_native_certs()],
            RootSource::Paths { file, dirs } => {
                let mut results = Vec::with_capacity(dirs.len() + 1);
                if file.is_some() {
                    results.push(rustls_native_certs::load_certs_from_paths(
                        file.as_deref(),
                        None,
                    ));
                }
                for dir in dirs {
                    results.push(rustls_native_certs::load_certs_from_paths(None, Some(dir)));
                }
                results
            }
        };
        let mut certs = Vec::new();
        let mut problems = Vec::new();
        for result in results {
            certs.extend(result.certs);
            problems.extend(result.errors.iter().map(ToString::to_string));
        }
        // The default directory usually holds the bundle file and links to each root.
        certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        certs.dedup();
        (certs, problems)
    }
}

/// The distribution's CA bundle file (`/etc/ssl/certs/ca-certificates.crt`, …).
#[cfg(all(unix, not(target_os = "macos")))]
fn default_file() -> Option<PathBuf> {
    // Called only when SSL_CERT_FILE is unset or empty, so the probe finds the default.
    openssl_probe::probe().cert_file
}

/// The distribution's CA directories (`/etc/ssl/certs`, …) that exist.
#[cfg(all(unix, not(target_os = "macos")))]
fn default_dirs() -> Vec<PathBuf> {
    openssl_probe::candidate_cert_dirs()
        .map(std::path::Path::to_path_buf)
        .collect()
}

// Elsewhere the platform's store is not made of files: a variable that is set replaces it.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn default_file() -> Option<PathBuf> {
    None
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn default_dirs() -> Vec<PathBuf> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hasura-auth-tls-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn ca_pem(name: &str) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn unset_or_empty_variables_mean_the_platform_store() {
        assert_eq!(RootSource::from_vars(None, None), RootSource::Platform);
        assert_eq!(
            RootSource::from_vars(Some("".into()), Some("".into())),
            RootSource::Platform
        );
    }

    #[test]
    fn each_variable_replaces_only_its_own_default() {
        let RootSource::Paths { file, dirs } =
            RootSource::from_vars(Some("/private/ca.pem".into()), None)
        else {
            panic!("paths expected");
        };
        assert_eq!(file, Some(PathBuf::from("/private/ca.pem")));
        assert_eq!(dirs, default_dirs());

        let RootSource::Paths { file, dirs } = RootSource::from_vars(None, Some("/a:/b".into()))
        else {
            panic!("paths expected");
        };
        assert_eq!(file, default_file());
        assert_eq!(dirs, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
    }

    #[test]
    fn file_and_directories_are_read_and_deduplicated() {
        let dir = temp_dir("load");
        let (a, b) = (ca_pem("CA A"), ca_pem("CA B"));
        let file = dir.join("bundle.pem");
        std::fs::write(&file, format!("{a}{b}")).unwrap();
        let certs_dir = dir.join("certs");
        std::fs::create_dir_all(&certs_dir).unwrap();
        std::fs::write(certs_dir.join("a.pem"), &a).unwrap();
        let source = RootSource::Paths {
            file: Some(file),
            dirs: vec![certs_dir, dir.join("missing")],
        };
        let (certs, problems) = source.load();
        assert_eq!(
            certs.len(),
            2,
            "A is in the file and the directory: kept once"
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("missing"), "{problems:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn no_root_certificate_is_an_error_naming_what_was_read() {
        let dir = temp_dir("empty");
        let source = RootSource::Paths {
            file: Some(dir.join("nonexistent.pem")),
            dirs: vec![dir.clone()],
        };
        let (certs, problems) = source.load();
        assert!(certs.is_empty());
        let err = TlsError::NoRoots {
            from: source,
            problems,
        }
        .to_string();
        assert!(err.contains("nonexistent.pem"), "{err}");
        assert!(err.contains("SSL_CERT_FILE"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Every outbound HTTP client must carry this module's configuration: reqwest has no
    /// provider and no roots of its own (it would panic or trust nothing).
    #[test]
    fn every_http_client_in_src_is_built_here() {
        let default_client = regex::Regex::new(
            r"(?:^|[^:\w])(?:reqwest::)?Client(?:Builder)?::(?:new|builder)\(|reqwest::get\(",
        )
        .unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("tls.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                if !text.contains("reqwest") {
                    continue;
                }
                for (n, line) in text.lines().enumerate() {
                    if default_client.is_match(line) {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "build clients with Tls::http_client: {offenders:#?}"
        );
    }
}
