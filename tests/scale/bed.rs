//! The multi-instance test bed (issue 15): three server processes (the binary cargo built
//! for this test) started at the same moment on one empty database, HAProxy round-robin in
//! front appending `X-Forwarded-For` (the instances trust it: `AUTH_TRUSTED_PROXIES`),
//! rate-limit counters in Redis, a local SMTP server, a local Twilio and a local OpenID
//! Connect provider. Loopback only.
//!
//! HAProxy adds `X-Served-By: <instance>` to every answer, so a test can check that the
//! consecutive steps of a flow were served by different instances.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake_provider::{self, ClientAuth, IdTokens};
use crate::provider::FakeProvider;
use crate::support::app::{CLIENT_URL, HS256_SECRET, Reply};
use crate::support::db::TestDb;
use crate::support::smtp::{SmtpOptions, SmtpServer};

pub const INSTANCES: usize = 3;
/// Attempts per client and window at the sign-in endpoints: the limit checked across
/// instances.
pub const BRUTE_FORCE_BURST: u32 = 10;
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Bed {
    pub db: TestDb,
    pub smtp: SmtpServer,
    pub sms: FakeProvider,
    /// An OpenID Connect provider (discovery, PKCE, id tokens) for `/signin/provider/oidc`.
    pub idp: fake_provider::FakeProvider,
    pub base: String,
    pub http: reqwest::Client,
    pub redis_prefix: String,
    instances: Vec<Instance>,
    haproxy: Child,
    dir: PathBuf,
}

struct Instance {
    name: String,
    child: Child,
    log: PathBuf,
}

/// The instances while they start.
struct Instances {
    list: Vec<Instance>,
    http: reqwest::Client,
}

impl Instances {
    /// Every instance answers `/healthz` directly; panics with the logs if one exits.
    async fn wait_ready(&mut self, ports: &[u16]) {
        let deadline = Instant::now() + START_TIMEOUT;
        for port in ports {
            loop {
                let ok = self
                    .http
                    .get(format!("http://127.0.0.1:{port}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    break;
                }
                for i in &mut self.list {
                    if let Ok(Some(status)) = i.child.try_wait() {
                        panic!(
                            "{} exited ({status}) during start-up:\n{}",
                            i.name,
                            std::fs::read_to_string(&i.log).unwrap_or_default()
                        );
                    }
                }
                assert!(Instant::now() < deadline, "instances not ready in time");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

impl Drop for Instances {
    fn drop(&mut self) {
        for i in &mut self.list {
            let _ = i.child.kill();
            let _ = i.child.wait();
        }
    }
}

/// One answer and the instance that served it.
pub struct Hop {
    pub reply: Reply,
    pub served_by: String,
}

fn random_client() -> String {
    let n: u32 = rand::random();
    format!(
        "198.{}.{}.{}",
        18 + (n >> 16) % 2,
        (n >> 8) & 0xff,
        n & 0xff
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Bed {
    /// `None` (with a note) when HAProxy is missing or no Redis answers, outside CI.
    pub async fn start() -> Option<Bed> {
        let haproxy_bin = crate::support::tools::require_tool("haproxy")?;
        let redis = crate::redis_url();
        crate::support::tools::require(
            crate::redis_answers(&redis).await.then_some(()),
            &format!("no Redis answers at {redis} (start redis-server or set REDIS_URL)"),
        )?;
        let db = TestDb::empty().await;
        let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
        let sms = FakeProvider::start().await;
        let mut idp_settings =
            fake_provider::Settings::new("client-oidc", "secret-oidc", ClientAuth::Basic);
        idp_settings.discovery = true;
        idp_settings.id_tokens = Some(IdTokens {
            issuer: None,
            claims: serde_json::json!({"sub": "oidc-user-1", "email": "kim@idp.test",
                                       "email_verified": true, "name": "Kim Lee"}),
            in_token_response: true,
        });
        let idp = fake_provider::FakeProvider::start(idp_settings).await;
        let dir = std::env::temp_dir().join(format!("hasura-auth-scale-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("bed dir");
        let lb_port = free_port();
        let base = format!("http://127.0.0.1:{lb_port}");
        let redis_prefix = format!("scale-{}:", uuid::Uuid::new_v4().simple());

        // All three at once, on the empty database: they race for the migration lock.
        let ports: Vec<u16> = (0..INSTANCES).map(|_| free_port()).collect();
        let mut instances = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let name = format!("auth{}", i + 1);
            let log = dir.join(format!("{name}.log"));
            let out = std::fs::File::create(&log).expect("log file");
            let child = Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .envs(instance_env(
                    *port,
                    &db.url,
                    &base,
                    &smtp,
                    &sms,
                    &redis,
                    &redis_prefix,
                ))
                .envs([
                    ("AUTH_PROVIDER_OIDC_ENABLED", "true"),
                    ("AUTH_PROVIDER_OIDC_CLIENT_ID", "client-oidc"),
                    ("AUTH_PROVIDER_OIDC_CLIENT_SECRET", "secret-oidc"),
                    ("AUTH_PROVIDER_OIDC_DISCOVERY_URL", idp.base.as_str()),
                ])
                .stdout(out.try_clone().expect("log fd"))
                .stderr(out)
                .spawn()
                .expect("spawn hasura-auth");
            instances.push(Instance { name, child, log });
        }

        let http = crate::support::app::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let mut instances_ready = Instances {
            list: instances,
            http: http.clone(),
        };
        instances_ready.wait_ready(&ports).await;
        let instances = std::mem::take(&mut instances_ready.list);

        // HAProxy once the instances listen: a first failed check would keep a server
        // down for a while.
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(&cfg, haproxy_config(lb_port, &ports)).expect("haproxy.cfg");
        let haproxy = Command::new(haproxy_bin)
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("haproxy.log")).expect("haproxy log"))
            .spawn()
            .expect("spawn haproxy");

        let bed = Bed {
            db,
            smtp,
            sms,
            idp,
            base,
            http,
            redis_prefix,
            instances,
            haproxy,
            dir,
        };
        bed.wait_balanced().await;
        Some(bed)
    }

    /// HAProxy answers, and every instance has served a request through it.
    async fn wait_balanced(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = std::collections::HashSet::new();
        while seen.len() < INSTANCES {
            if let Ok(res) = self.http.get(self.url("/healthz")).send().await
                && let Some(name) = res.headers().get("x-served-by")
            {
                seen.insert(name.to_str().unwrap_or_default().to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "HAProxy does not reach every instance: {seen:?}\n{}",
                std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Every instance's log so far (for failure messages).
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for i in &self.instances {
            all.push_str(&format!("--- {}\n", i.name));
            all.push_str(&std::fs::read_to_string(&i.log).unwrap_or_default());
        }
        all
    }

    /// The JSON log lines of every instance, with the instance's name.
    pub fn log_lines(&self) -> Vec<(String, Value)> {
        self.instances
            .iter()
            .flat_map(|i| {
                std::fs::read_to_string(&i.log)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .map(|v| (i.name.clone(), v))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Sends `req` through HAProxy. Unless the caller named the client, each request
    /// comes from an address of its own (198.18.0.0/15): the flows run many sign-ins and
    /// code checks, and must not use up the brute-force limit the rate test checks.
    async fn hop(&self, req: reqwest::RequestBuilder) -> Hop {
        self.hop_from(req, &random_client()).await
    }

    async fn hop_from(&self, req: reqwest::RequestBuilder, client_ip: &str) -> Hop {
        let res = req
            .header("X-Forwarded-For", client_ip)
            .send()
            .await
            .expect("request through haproxy");
        let served_by = res
            .headers()
            .get("x-served-by")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Hop {
            reply: Reply::read(res).await,
            served_by,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Hop {
        self.hop(self.http.post(self.url(path)).json(&body)).await
    }

    pub async fn post_from(&self, path: &str, client_ip: &str, body: Value) -> Hop {
        self.hop_from(self.http.post(self.url(path)).json(&body), client_ip)
            .await
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: Value) -> Hop {
        self.hop(
            self.http
                .post(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    pub async fn get(&self, path_or_url: &str) -> Hop {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            self.url(path_or_url)
        };
        self.hop(self.http.get(url)).await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Hop {
        self.hop(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
        for i in &mut self.instances {
            let _ = i.child.kill();
            let _ = i.child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn instance_env(
    port: u16,
    db_url: &str,
    base: &str,
    smtp: &SmtpServer,
    sms: &FakeProvider,
    redis: &str,
    redis_prefix: &str,
) -> Vec<(String, String)> {
    [
        ("AUTH_HOST", "127.0.0.1".to_owned()),
        ("AUTH_PORT", port.to_string()),
        ("POSTGRES_CONNECTION", db_url.to_owned()),
        ("HASURA_GRAPHQL_JWT_SECRET", HS256_SECRET.to_owned()),
        ("AUTH_SERVER_URL", base.to_owned()),
        ("AUTH_CLIENT_URL", CLIENT_URL.to_owned()),
        ("AUTH_HASURA_METADATA_SYNC", "false".to_owned()),
        (
            "AUTH_EMAIL_TEMPLATES_PATH",
            "/nonexistent-test-templates".to_owned(),
        ),
        ("AUTH_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ("AUTH_SMTP_HOST", "127.0.0.1".to_owned()),
        ("AUTH_SMTP_PORT", smtp.port().to_string()),
        ("AUTH_SMTP_USER", "user".to_owned()),
        ("AUTH_SMTP_PASS", "password".to_owned()),
        (
            "AUTH_SMTP_SENDER",
            "Hasura Auth <auth@example.com>".to_owned(),
        ),
        ("AUTH_SMTP_SECURE", "false".to_owned()),
        ("AUTH_EMAIL_PASSWORDLESS_ENABLED", "true".to_owned()),
        ("AUTH_OTP_EMAIL_ENABLED", "true".to_owned()),
        ("AUTH_MFA_ENABLED", "true".to_owned()),
        ("AUTH_WEBAUTHN_ENABLED", "true".to_owned()),
        (
            "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED",
            "false".to_owned(),
        ),
        ("AUTH_SMS_PASSWORDLESS_ENABLED", "true".to_owned()),
        ("AUTH_SMS_PROVIDER", "twilio".to_owned()),
        ("AUTH_SMS_TWILIO_ACCOUNT_SID", "ACtest".to_owned()),
        ("AUTH_SMS_TWILIO_AUTH_TOKEN", "tw-secret".to_owned()),
        ("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID", "MGtest".to_owned()),
        ("AUTH_SMS_TWILIO_API_URL", sms.base.clone()),
        ("AUTH_SMS_TWILIO_VERIFY_API_URL", sms.base.clone()),
        ("AUTH_RATE_LIMIT_ENABLE", "true".to_owned()),
        ("AUTH_RATE_LIMIT_REDIS_URL", redis.to_owned()),
        ("AUTH_RATE_LIMIT_REDIS_PREFIX", redis_prefix.to_owned()),
        ("AUTH_RATE_LIMIT_GLOBAL_BURST", "10000".to_owned()),
        ("AUTH_RATE_LIMIT_EMAIL_BURST", "10000".to_owned()),
        ("AUTH_RATE_LIMIT_SMS_BURST", "10000".to_owned()),
        ("AUTH_RATE_LIMIT_SIGNUPS_BURST", "10000".to_owned()),
        (
            "AUTH_RATE_LIMIT_BRUTE_FORCE_BURST",
            BRUTE_FORCE_BURST.to_string(),
        ),
        ("AUTH_RATE_LIMIT_BRUTE_FORCE_INTERVAL", "1h".to_owned()),
        ("AUTH_SHUTDOWN_TIMEOUT", "2s".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The HAProxy configuration of the bed (also shown in docs/DEPLOYMENT.md).
pub fn haproxy_config(lb_port: u16, ports: &[u16]) -> String {
    let mut cfg = format!(
        "global\n    maxconn 2000\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    \
         timeout server 30s\n    option forwardfor\n\n\
         frontend auth_in\n    bind 127.0.0.1:{lb_port}\n    default_backend auth\n\n\
         backend auth\n    balance roundrobin\n    option httpchk GET /readyz\n    \
         http-response set-header X-Served-By %[srv_name]\n"
    );
    for (i, port) in ports.iter().enumerate() {
        cfg.push_str(&format!(
            "    server auth{} 127.0.0.1:{port} check inter 1s fall 2 rise 1\n",
            i + 1
        ));
    }
    cfg
}
