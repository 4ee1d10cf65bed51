//! Shared helpers: a server wired to a test SMTP server, reading emails, following links.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::support::smtp::{CapturedMessage, SmtpOptions, SmtpServer};

pub const WAIT: Duration = Duration::from_secs(10);
pub const PASSWORD: &str = "hunter22";

/// A server whose emails go to a fresh SMTP server (upstream's e2e set-up: PLAIN auth on
/// a local host, no TLS).
pub async fn app_with_smtp(extra: &[&str]) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let mut args = vec![
        "--smtp-host=127.0.0.1",
        port.as_str(),
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=Hasura Auth <hasura-auth@example.com>",
        "--default-allowed-roles=me,user,editor",
        "--allowed-locales=en,fr,de",
        "--allow-redirect-urls=https://app.example.com/welcome",
    ];
    args.extend_from_slice(extra);
    (TestApp::with(&args).await, smtp)
}

/// The `n`-th (0-based) email sent to `to`; panics after [`WAIT`].
pub async fn nth_email(smtp: &SmtpServer, to: &str, n: usize) -> CapturedMessage {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mine: Vec<CapturedMessage> = smtp
            .messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect();
        if let Some(m) = mine.get(n) {
            return m.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email #{n} to {to} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many emails were sent to `to` so far.
pub fn emails_to(smtp: &SmtpServer, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
        .count()
}

pub fn header(mail: &CapturedMessage, name: &str) -> String {
    mail.header(name)
        .unwrap_or_else(|| panic!("no {name} header in {}", mail.raw()))
}

/// The query of a URL as a map (the last value of a repeated key wins).
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .query_pairs()
        .into_owned()
        .collect()
}

/// Follows a link like a browser would (one hop) and returns the redirect target.
pub async fn follow(app: &TestApp, link: &str) -> String {
    let res = app.http.get(link).send().await.expect("follow link");
    assert_eq!(res.status(), 302, "link {link}");
    res.headers()["location"]
        .to_str()
        .expect("location header")
        .to_owned()
}

/// A user with a verified email and password [`PASSWORD`], signed in. With verification
/// required (the default) the address is marked verified in the database directly.
pub async fn signed_up(app: &TestApp, email: &str) -> Value {
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "sign-up: {}", r.text);
    if r.body["session"].is_object() {
        return r.body["session"].clone();
    }
    app.sql(&format!(
        "UPDATE auth.users SET email_verified = true, ticket = NULL WHERE email = '{email}'"
    ))
    .await;
    let r = sign_in(app, email, PASSWORD).await;
    assert_eq!(r.status, 200, "sign-in: {}", r.text);
    r.body["session"].clone()
}

pub fn access_token(session: &Value) -> String {
    session["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned()
}

/// Signs in with a password; the session or the failed reply.
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> crate::support::app::Reply {
    app.post(
        "/signin/email-password",
        json!({"email": email, "password": password}),
    )
    .await
}

/// Runs a query returning one value (as text) on the test database.
pub async fn sql_value(app: &TestApp, query: &str) -> Option<String> {
    let client = app.db.client().await;
    let row = client.query_opt(query, &[]).await.expect("sql");
    row.and_then(|r| r.get::<_, Option<String>>(0))
}

pub async fn sql_count(app: &TestApp, query: &str) -> i64 {
    let client = app.db.client().await;
    client.query_one(query, &[]).await.expect("sql").get(0)
}
