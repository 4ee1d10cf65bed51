//! Breached passwords through the HIBP range API (SPEC §8.1.6).

use serde_json::json;

use crate::NO_VERIFY;
use crate::fakes::{Answer, Fake};
use crate::support::app::TestApp;

/// SHA-1("password") = 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8.
const BREACHED: &str = "password";
/// The fake answers this one's suffix as a padding line (count 0): not a match.
const CLEAN: &str = "clean-and-long-enough";

fn sha1_parts(p: &str) -> (String, String) {
    hasura_auth::adapters::hibp::hash_parts(p)
}

async fn hibp() -> Fake {
    Fake::start(|req, _| {
        let (_, breached_suffix) = sha1_parts(BREACHED);
        let (_, clean_suffix) = sha1_parts(CLEAN);
        let body = format!(
            "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{breached_suffix}:10434004\r\n{clean_suffix}:0\r\n"
        );
        if req.path.starts_with("/range/") {
            Answer::text(200, &body)
        } else {
            Answer::text(404, "")
        }
    })
    .await
}

#[tokio::test]
async fn hibp_refuses_breached_and_accepts_clean_passwords() {
    let fake = hibp().await;
    let app = TestApp::with(&[
        NO_VERIFY,
        "--password-hibp-enabled",
        &format!("--hibp-url={}", fake.base),
    ])
    .await;

    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "pwned@example.com", "password": BREACHED}),
        )
        .await;
    r.assert_error(400, "password-in-hibp-database");

    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "clean@example.com", "password": CLEAN}),
        )
        .await;
    assert_eq!(r.status, 200, "padding lines are not matches: {}", r.text);

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let (prefix, suffix) = sha1_parts(BREACHED);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        format!("/range/{prefix}"),
        "only 5 hex digits"
    );
    assert_eq!(requests[0].header("add-padding"), Some("true"));
    let (clean_prefix, _) = sha1_parts(CLEAN);
    assert_eq!(requests[1].path, format!("/range/{clean_prefix}"));
    for r in &requests {
        let raw = format!("{:?}{:?}", r.headers, r.body);
        assert!(!raw.contains(&suffix), "the rest of the hash never leaves");
        assert!(r.body.is_empty());
    }
}

#[tokio::test]
async fn hibp_failure_refuses_the_password() {
    let fake = Fake::start(|_, _| Answer::text(503, "unavailable")).await;
    let app = TestApp::with(&[
        NO_VERIFY,
        "--password-hibp-enabled",
        &format!("--hibp-url={}", fake.base),
    ])
    .await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "x@example.com", "password": CLEAN}),
        )
        .await;
    r.assert_error(500, "internal-server-error");
    let db = app.db.client().await;
    let n: i64 = db
        .query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "no user created");
}

#[tokio::test]
async fn hibp_is_not_asked_when_disabled_or_when_too_short() {
    let fake = hibp().await;
    let url = format!("--hibp-url={}", fake.base);
    let app = TestApp::with(&[NO_VERIFY, &url]).await;
    app.signup("off@example.com", BREACHED).await;
    let app = TestApp::with(&[
        NO_VERIFY,
        "--password-hibp-enabled",
        "--password-min-length=10",
        &url,
    ])
    .await;
    app.post(
        "/signup/email-password",
        json!({"email": "short@example.com", "password": "short"}),
    )
    .await
    .assert_error(400, "password-too-short");
    assert!(fake.requests().is_empty());
}
