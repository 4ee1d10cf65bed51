//! Interoperability with a relying party we did not write (issue 13): Python's Authlib,
//! driven by `interop/rp.py`, against the real binary started as a separate process with
//! only the settings docs/oidc-provider.md documents, its clients and users made with the
//! operator's commands (docs/cli.md). The RP prints one JSON line per scenario; a failure
//! here names the scenario and says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::Command;

use crate::common::{REDIRECT_URI, rsa_secret};
use crate::support::db::TestDb;
use crate::support::tools;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-auth");
const PASSWORD: &str = "correct-horse-battery";
/// The consent page the provider sends browsers to (nothing serves it: the RP plays the
/// page through the `/oauth2/login` API).
const CONSENT_URL: &str = "https://app.example.com/oauth2/consent";
/// The device flow's verification page (likewise played through its API by the RP).
const DEVICE_VERIFY_URL: &str = "https://app.example.com/activate";
/// What the RP must report, all passed. A scenario added to rp.py is added here.
const SCENARIOS: &[&str] = &[
    "discovery",
    "confidential_client_secret_basic",
    "confidential_client_secret_post",
    "public_client",
    "wrong_redirect_uri",
    "reused_code",
    "wrong_verifier",
    "plain_method",
    "mixed_graphql_scopes",
    "tokens_of_another_client",
    "device_flow",
    "disabled_user",
    "revoked_client",
];
/// The Python modules rp.py imports beyond the standard library.
const PYTHON_PROBE: &str = "import authlib.integrations.requests_client, authlib.oidc.core, \
                            authlib.oidc.discovery, joserfc, requests; print(authlib.__version__)";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const RP_TIMEOUT: Duration = Duration::from_secs(180);

/// The server process, killed when dropped (before its database is).
struct Server {
    child: std::process::Child,
    log: PathBuf,
    base: String,
    env: Vec<(&'static str, String)>,
}

impl Server {
    /// The binary on `db` with the provider's documented settings and nothing else but
    /// the database URL and where to listen.
    async fn start(db: &TestDb) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let base = format!("http://127.0.0.1:{port}");
        let env = vec![
            ("POSTGRES_CONNECTION", db.url.clone()),
            ("AUTH_HOST", "127.0.0.1".to_owned()),
            ("AUTH_PORT", port.to_string()),
            ("AUTH_OAUTH2_PROVIDER_ENABLED", "true".to_owned()),
            ("HASURA_GRAPHQL_JWT_SECRET", rsa_secret()),
            ("AUTH_SERVER_URL", base.clone()),
            ("AUTH_OAUTH2_PROVIDER_LOGIN_URL", CONSENT_URL.to_owned()),
            (
                "AUTH_OAUTH2_PROVIDER_DEVICE_VERIFY_URL",
                DEVICE_VERIFY_URL.to_owned(),
            ),
        ];
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "oidc-interop-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let out = std::fs::File::create(&log).expect("log file");
        let child = std::process::Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log fd"))
            .stderr(out)
            .spawn()
            .expect("spawn hasura-auth");
        let mut server = Server {
            child,
            log,
            base,
            env,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let http = crate::support::app::http_client()
            .build()
            .expect("http client");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ready = http
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "hasura-auth exited ({status}) at start-up:\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "hasura-auth not ready in time:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An operator's command, with the server's environment (docs/cli.md), as JSON.
    async fn cli(&self, args: &[&str]) -> Value {
        let (group, rest) = args.split_first().expect("a command");
        let out = Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg(group)
            .arg("--json")
            .args(rest)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("run hasura-auth");
        assert!(
            out.status.success(),
            "hasura-auth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    async fn client(&self, public: bool) -> (String, Option<String>) {
        let mut args = vec!["oauth2-clients", "create", "--redirect-uri", REDIRECT_URI];
        if public {
            args.push("--public");
        }
        let created = self.cli(&args).await;
        let id = created["client"]["clientId"]
            .as_str()
            .expect("clientId")
            .to_owned();
        (id, created["clientSecret"].as_str().map(str::to_owned))
    }

    async fn user(&self, email: &str) {
        let created = self
            .cli(&[
                "users",
                "create",
                "--email",
                email,
                "--password",
                PASSWORD,
                "--verified",
            ])
            .await;
        assert_eq!(created["user"]["email"], email);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn rp_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc_provider/interop/rp.py")
}

/// `python3` with the environment it was given minus anything the service or rp.py
/// reads (so the operator's commands rp.py runs see only the server's settings).
fn python(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if ["AUTH_", "HASURA_", "POSTGRES_", "RP_"]
            .iter()
            .any(|p| key.starts_with(p))
        {
            cmd.env_remove(&*key);
        }
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// Python with Authlib (and joserfc, requests), or the CI failure / skip note.
async fn python_with_authlib() -> Option<PathBuf> {
    let python3 = tools::require_tool("python3")?;
    let probe = python(&python3)
        .args(["-c", PYTHON_PROBE])
        .output()
        .await
        .ok()
        .filter(|o| o.status.success());
    tools::require(
        probe.map(|_| python3),
        "Python's Authlib is missing (`python3 -m pip install authlib==1.9.10`)",
    )
}

#[tokio::test]
async fn authlib_completes_every_flow_against_the_documented_settings() {
    let Some(python3) = python_with_authlib().await else {
        return;
    };
    let db = TestDb::empty().await;
    let server = Server::start(&db).await;
    let (confidential, secret) = server.client(false).await;
    let (public, none) = server.client(true).await;
    assert_eq!(none, None, "a public client has no secret");
    let (revoked, revoked_secret) = server.client(false).await;
    server.user("ada@example.com").await;
    server.user("dis@example.com").await;

    let rp_env = [
        ("RP_ISSUER", server.base.clone()),
        ("RP_REDIRECT_URI", REDIRECT_URI.to_owned()),
        ("RP_CONSENT_URL", CONSENT_URL.to_owned()),
        ("RP_DEVICE_VERIFY_URL", DEVICE_VERIFY_URL.to_owned()),
        ("RP_CONFIDENTIAL_ID", confidential),
        ("RP_CONFIDENTIAL_SECRET", secret.expect("a secret")),
        ("RP_PUBLIC_ID", public),
        ("RP_REVOKED_ID", revoked),
        ("RP_REVOKED_SECRET", revoked_secret.expect("a secret")),
        ("RP_USER_EMAIL", "ada@example.com".to_owned()),
        ("RP_USER_PASSWORD", PASSWORD.to_owned()),
        ("RP_DISABLED_EMAIL", "dis@example.com".to_owned()),
        ("RP_OPERATOR", BIN.to_owned()),
    ];
    let run = python(&python3)
        .arg(rp_script())
        .envs(server.env.iter().map(|(k, v)| (*k, v.as_str())))
        .envs(rp_env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let out = tokio::time::timeout(RP_TIMEOUT, run)
        .await
        .expect("rp.py finished in time")
        .expect("run rp.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    let results: BTreeMap<String, Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| Some((v["scenario"].as_str()?.to_owned(), v)))
        .collect();
    let failed: Vec<String> = SCENARIOS
        .iter()
        .filter_map(|name| match results.get(*name) {
            Some(line) if line["result"] == "pass" => None,
            Some(line) => Some(format!("{name}: {}", line["error"])),
            None => Some(format!("{name}: not reported")),
        })
        .collect();
    assert!(
        failed.is_empty() && out.status.success(),
        "the relying party failed ({}):\n{}\n--- rp.py stdout\n{stdout}\n--- rp.py stderr\n\
         {stderr}\n--- server log\n{}",
        out.status,
        failed.join("\n"),
        server.logs()
    );
    let unexpected: Vec<&String> = results
        .keys()
        .filter(|k| !SCENARIOS.contains(&k.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "rp.py ran scenarios this test does not list: {unexpected:?}"
    );
    // Each scenario checked something (a scenario that returns early would pass empty).
    for (name, line) in &results {
        assert!(line["checks"].as_u64().unwrap_or(0) >= 10, "{name}: {line}");
    }
    drop(server);
    drop(db);
}
