//! Outbound HTTPS trusts the certificates of `SSL_CERT_FILE` and goes through
//! `HTTPS_PROXY`, as upstream does: a GitHub-shaped OAuth provider is served over HTTPS
//! with a certificate from a CA made for the test, under a name only the test's CONNECT
//! proxy can reach. The sign-in completes when `SSL_CERT_FILE` holds that CA and fails
//! at the token exchange when it holds another one.
//!
//! The server reads both variables when it starts, and environment variables belong to
//! the whole process: this binary holds one test, which changes them only while no
//! runtime (and no other thread of ours) is running.

mod support;

#[allow(dead_code)]
#[path = "oauth/fake_provider.rs"]
mod fake_provider;
#[allow(dead_code)]
#[path = "oauth/flow.rs"]
mod flow;
#[allow(dead_code)]
#[path = "oauth/keys.rs"]
mod keys;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hasura_auth::tls::{Tls, provider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use fake_provider::{ClientAuth, FakeProvider, Settings};
use support::app::TestApp;

/// Resolvable by nobody but the proxy: a direct connection cannot succeed.
const PROVIDER_HOST: &str = "oauth.provider.test";

/// A certificate authority made for the test.
struct TestCa {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    cert: rcgen::Certificate,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa { params, key, cert }
    }

    fn write_pem(&self, path: &Path) {
        std::fs::write(path, self.cert.pem()).expect("write CA file");
    }

    /// A server configuration presenting a certificate for `host` issued by this CA.
    fn server_config(&self, host: &str) -> rustls::ServerConfig {
        let mut params = rcgen::CertificateParams::new(vec![host.to_owned()]).expect("params");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().expect("server key");
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let chain = vec![cert.der().clone(), self.cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server TLS configuration")
    }

    fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.cert.der().to_vec()))
            .expect("CA root");
        roots
    }
}

/// Accepts TLS connections for the fake provider; counts the handshakes clients break
/// off (a client that does not trust the certificate).
struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    refused: Arc<AtomicUsize>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            match tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => return (tls, addr),
                _ => {
                    self.refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// A CONNECT-only HTTP proxy that sends every tunnel to 127.0.0.1 on the requested port
/// and records the requested `host:port`.
async fn run_proxy(listener: TcpListener, tunnels: Arc<Mutex<Vec<String>>>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let tunnels = tunnels.clone();
        tokio::spawn(async move {
            let _ = tunnel(client, tunnels).await;
        });
    }
}

async fn tunnel(mut client: TcpStream, tunnels: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let (method, authority) = (request_line.next(), request_line.next());
    let (Some("CONNECT"), Some(authority)) = (method, authority) else {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    tunnels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(authority.to_owned());
    let port = authority.rsplit(':').next().unwrap_or_default();
    let mut upstream = TcpStream::connect(format!("127.0.0.1:{port}")).await?;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// What one sign-in attempt saw.
struct Outcome {
    landing: flow::Landing,
    email: Option<String>,
    tunnels: Vec<String>,
    refused_handshakes: usize,
    /// The provider's token endpoint was reached.
    token_requested: bool,
}

/// Serves the provider over HTTPS with `ca`'s certificate and the proxy, starts the
/// server (which reads the environment now) and signs in with GitHub.
async fn sign_in(ca: &TestCa, proxy: std::net::TcpListener) -> Outcome {
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let proxy = TcpListener::from_std(proxy).expect("proxy listener");
    tokio::spawn(run_proxy(proxy, tunnels.clone()));

    let tcp = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind provider");
    let provider_addr = tcp.local_addr().expect("provider address");
    let refused = Arc::new(AtomicUsize::new(0));
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(ca.server_config(PROVIDER_HOST))),
        refused: refused.clone(),
    };
    let base = format!("https://{PROVIDER_HOST}:{}", provider_addr.port());
    let settings = Settings::new("client-github", "secret-github", ClientAuth::Body)
        .profile(
            "/user",
            json!({"login": "octocat", "id": 583231, "name": "The Octocat",
                   "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
                   "email": null}),
        )
        .profile(
            "/user/emails",
            json!([{"email": "octocat@github.test", "verified": true, "primary": true,
                    "visibility": "public"}]),
        );
    let fake = FakeProvider::serve_on(listener, base, settings);

    let flags = [
        "--github-enabled".to_owned(),
        "--github-client-id=client-github".to_owned(),
        "--github-client-secret=secret-github".to_owned(),
        format!("--github-authorization-url={}", fake.url("/authorize")),
        format!("--github-token-url={}", fake.url("/token")),
        format!("--github-user-profile-url={}", fake.url("/user")),
        format!("--github-user-emails-url={}", fake.url("/user/emails")),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut app = TestApp::with(&flags).await;
    // The browser reaches the provider's consent page directly and trusts its CA.
    app.http = Tls::with_roots(ca.roots())
        .expect("browser TLS")
        .http_client()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve(PROVIDER_HOST, provider_addr)
        .build()
        .expect("browser client");

    let landing = flow::sign_in(&app, "github", "").await;
    let email = match landing.get("refreshToken") {
        Some(token) => flow::session(&app, token).await["user"]["email"]
            .as_str()
            .map(str::to_owned),
        None => None,
    };
    if email.is_none() {
        // The provider's side of a refused handshake finishes on its own task, possibly
        // after our server already answered the browser: give it a bounded moment.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while refused.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let tunnels = tunnels.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Outcome {
        landing,
        email,
        tunnels,
        refused_handshakes: refused.load(Ordering::SeqCst),
        token_requested: !fake.last_token_request().is_empty(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hasura-auth-tls-trust-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn oauth_sign_in_through_https_proxy_trusts_the_ca_in_ssl_cert_file() {
    let dir = temp_dir();
    let ca = TestCa::new("hasura-auth test CA");
    let (trusted, untrusted) = (dir.join("ca.pem"), dir.join("other-ca.pem"));
    ca.write_pem(&trusted);
    TestCa::new("some other CA").write_pem(&untrusted);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    proxy.set_nonblocking(true).expect("non-blocking proxy");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("proxy address"));
    let expected_tunnel = |o: &Outcome| {
        o.tunnels
            .iter()
            .any(|t| t.starts_with(&format!("{PROVIDER_HOST}:")))
    };

    // SAFETY: no runtime is running and this binary has no other test: no other thread
    // of ours reads the environment meanwhile.
    unsafe {
        std::env::set_var("HTTPS_PROXY", &proxy_url);
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
        std::env::remove_var("SSL_CERT_DIR");
        std::env::set_var("SSL_CERT_FILE", &trusted);
    }
    let ok = runtime().block_on(sign_in(&ca, proxy.try_clone().expect("proxy")));
    assert!(
        ok.landing.get("refreshToken").is_some(),
        "sign-in completes: {}",
        ok.landing.location
    );
    assert_eq!(ok.email.as_deref(), Some("octocat@github.test"));
    assert!(expected_tunnel(&ok), "through the proxy: {:?}", ok.tunnels);
    assert!(ok.token_requested);

    // Negative control: the same flow with another CA in SSL_CERT_FILE.
    // SAFETY: as above; the first runtime has been shut down.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &untrusted);
    }
    let refused = runtime().block_on(sign_in(&ca, proxy));
    refused.landing.assert_error("oauth-token-echange-failed");
    assert!(
        expected_tunnel(&refused),
        "through the proxy: {:?}",
        refused.tunnels
    );
    assert!(
        refused.refused_handshakes >= 1,
        "the server broke off the TLS handshake"
    );
    assert!(!refused.token_requested, "no token request got through");

    let _ = std::fs::remove_dir_all(dir);
}
