//! The operator's commands (`hasura-auth users|sessions|keys`), run as the built binary
//! against a server's fresh database: what they print, their exit codes, and that the
//! API sees their effect (sign-in, refresh, roles in the token).

#[path = "../support/mod.rs"]
mod support;

mod keys;
mod oauth2_clients;
mod sessions;
mod users;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use support::app::{CLIENT_URL, HS256_SECRET, TestApp};
use support::smtp::{CapturedMessage, SmtpOptions, SmtpServer};

pub const PASSWORD: &str = "hunter22";
const WAIT: Duration = Duration::from_secs(60);

/// A server and the settings the commands share with it.
pub struct Setup {
    pub app: TestApp,
    pub smtp: Option<SmtpServer>,
    flags: Vec<String>,
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON (`--json` runs).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// The `--json` error on stderr.
    pub fn error(&self) -> Value {
        let line = self.stderr.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }

    /// Failed with this exit code and (`--json`) error code.
    #[track_caller]
    pub fn fails(&self, exit: i32, code: &str) {
        assert_eq!(self.code, exit, "{self:?}");
        assert_eq!(self.error()["error"], code, "{self:?}");
        assert!(!self.stderr.contains("panicked"), "{self:?}");
    }
}

impl Setup {
    /// A server with these settings (verification required, as upstream's default).
    pub async fn new(extra: &[&str]) -> Setup {
        Self::build(extra, None, None).await
    }

    /// A server started on this database (a fixture of an older schema, say).
    pub async fn on_db(db: support::db::TestDb, extra: &[&str]) -> Setup {
        Self::build(extra, None, Some(db)).await
    }

    /// Same, with a test SMTP server for both the server and the commands.
    pub async fn with_smtp(extra: &[&str]) -> Setup {
        let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
        Self::build(extra, Some(smtp), None).await
    }

    async fn build(
        extra: &[&str],
        smtp: Option<SmtpServer>,
        db: Option<support::db::TestDb>,
    ) -> Setup {
        let mut flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if let Some(smtp) = &smtp {
            flags.push("--smtp-host=127.0.0.1".into());
            flags.push(format!("--smtp-port={}", smtp.port()));
            flags.push("--smtp-user=user".into());
            flags.push("--smtp-password=password".into());
            flags.push("--smtp-sender=auth@example.com".into());
        }
        let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
        let app = match db {
            Some(db) => TestApp::with_db(db, &refs).await,
            None => TestApp::with(&refs).await,
        };
        flags.extend([
            format!("--postgres={}", app.db.url),
            format!("--hasura-graphql-jwt-secret={HS256_SECRET}"),
            format!("--client-url={CLIENT_URL}"),
            format!("--server-url={}", app.base),
            "--templates-path=/nonexistent-test-templates".to_owned(),
        ]);
        Setup { app, smtp, flags }
    }

    /// `hasura-auth <group> <settings…> <rest…>` with `--json`.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None).await
    }

    /// Same, without `--json`.
    pub async fn run_text(&self, args: &[&str]) -> Run {
        run_binary(&self.argv(args, false), None).await
    }

    pub async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        run_binary(&self.argv(args, true), stdin).await
    }

    fn argv(&self, args: &[&str], json: bool) -> Vec<String> {
        let (group, rest) = args.split_first().expect("a command");
        let mut argv = vec![group.to_string()];
        argv.extend(self.flags.iter().cloned());
        if json {
            argv.push("--json".into());
        }
        argv.extend(rest.iter().map(|s| s.to_string()));
        argv
    }

    /// Creates a verified user with [`PASSWORD`]; returns its id.
    pub async fn user(&self, email: &str) -> String {
        let run = self
            .run(&[
                "users",
                "create",
                "--email",
                email,
                "--password",
                PASSWORD,
                "--verified",
            ])
            .await;
        run.ok();
        run.json()["user"]["id"].as_str().expect("id").to_owned()
    }

    pub async fn signin(&self, email: &str, password: &str) -> support::app::Reply {
        self.app
            .post(
                "/signin/email-password",
                json!({"email": email, "password": password}),
            )
            .await
    }

    /// The first email to `to`, waiting for it.
    pub async fn email_to(&self, to: &str) -> CapturedMessage {
        let smtp = self.smtp.as_ref().expect("an SMTP server");
        smtp.wait_for_message(to, Duration::from_secs(10)).await
    }
}

/// Runs the built binary with only these arguments (and PATH) in its environment.
pub async fn run_binary(args: &[String], stdin: Option<&str>) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("start hasura-auth");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("hasura-auth finished in time")
        .expect("hasura-auth output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
