//! The sign-up → email → `/verify` → sign-in path, with the email read from a real SMTP
//! server that the test starts (upstream's e2e environment: PLAIN auth, no TLS).

use std::time::Duration;

use serde_json::json;

use crate::support::app::TestApp;
use crate::support::smtp::{SmtpOptions, SmtpServer};

const WAIT: Duration = Duration::from_secs(10);

async fn app_with_smtp(extra: &[&str]) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let mut args = vec![
        "--smtp-host=127.0.0.1",
        port.as_str(),
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=Hasura Auth <hasura-auth@example.com>",
        "--default-allowed-roles=me,user,editor",
    ];
    args.extend_from_slice(extra);
    (TestApp::with(&args).await, smtp)
}

#[tokio::test]
async fn signup_verify_by_emailed_link_then_signin_refresh_user_signout() {
    let (app, smtp) = app_with_smtp(&["--allowed-locales=en,fr"]).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "new@example.com", "password": "hunter22",
                   "options": {"locale": "fr", "displayName": "Nouvel", "redirectTo": "http://localhost:3000/verified?x=1"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({}));

    let mail = smtp.wait_for_message("new@example.com", WAIT).await;
    assert_eq!(
        mail.header("X-Email-Template").as_deref(),
        Some("email-verify")
    );
    let link = mail.header("X-Link").expect("X-Link header");
    let ticket = mail.header("X-Ticket").expect("X-Ticket header");
    assert!(ticket.starts_with("verifyEmail:"), "{ticket}");
    assert!(link.starts_with(&format!("{}/verify?", app.base)), "{link}");
    assert!(link.contains("type=emailVerify"), "{link}");
    let html = mail.html().expect("html part");
    let text = mail.text().expect("text part");
    assert!(
        html.contains("lang=\"fr\"") && html.contains("new@example.com"),
        "the French template, with the address"
    );
    assert!(
        text.contains(&link),
        "the text part carries the link: {text}"
    );

    // Before following the link the user cannot sign in.
    app.post(
        "/signin/email-password",
        json!({"email": "new@example.com", "password": "hunter22"}),
    )
    .await
    .assert_error(401, "unverified-user");

    // Follow the emailed link like a browser.
    let res = app.http.get(&link).send().await.expect("follow link");
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let target = url::Url::parse(&location).expect("redirect URL");
    assert_eq!(target.path(), "/verified");
    let q: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(q["x"], "1");
    assert_eq!(q["type"], "verifyEmail");
    let refresh = q["refreshToken"].clone();

    // The redirect's refresh token works, and so does a password sign-in.
    let session = app.post("/token", json!({"refreshToken": refresh})).await;
    assert_eq!(session.status, 200, "{}", session.text);
    assert_eq!(session.body["user"]["emailVerified"], true);
    let signin = app
        .post(
            "/signin/email-password",
            json!({"email": "new@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    let s = &signin.body["session"];
    let me = app
        .get_auth("/user", s["accessToken"].as_str().unwrap_or_default())
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["locale"], "fr");
    assert_eq!(me.body["displayName"], "Nouvel");
    let out = app
        .post("/signout", json!({"refreshToken": s["refreshToken"]}))
        .await;
    assert_eq!(out.status, 200);
    app.post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await
        .assert_error(401, "invalid-refresh-token");
}

#[tokio::test]
async fn signup_fails_cleanly_when_the_smtp_server_refuses_credentials() {
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let app = TestApp::with(&[
        "--smtp-host=127.0.0.1",
        &port,
        "--smtp-user=user",
        "--smtp-password=wrong",
        "--smtp-sender=hasura-auth@example.com",
    ])
    .await;
    app.post(
        "/signup/email-password",
        json!({"email": "x@example.com", "password": "hunter22"}),
    )
    .await
    .assert_error(500, "internal-server-error");
}
