//! Security notification emails (`AUTH_SECURITY_NOTIFICATIONS`), read from the test SMTP
//! server.

use std::time::Duration;

use serde_json::json;

use crate::support::app::{Reply, TestApp};
use crate::support::smtp::{CapturedMessage, SmtpOptions, SmtpServer};

const WAIT: Duration = Duration::from_secs(10);
const NO_VERIFY: &str = "--email-verification-required=false";

async fn app_with_smtp(extra: &[&str]) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let mut args = vec![
        "--smtp-host=127.0.0.1",
        port.as_str(),
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=hasura-auth@example.com",
        "--trusted-proxies=127.0.0.1",
        "--allowed-locales=en,fr,de",
        NO_VERIFY,
    ];
    args.extend_from_slice(extra);
    (TestApp::with(&args).await, smtp)
}

fn template_of(m: &CapturedMessage) -> String {
    m.header("X-Email-Template").unwrap_or_default()
}

/// The messages with template `name` so far.
fn sent(smtp: &SmtpServer, name: &str) -> Vec<CapturedMessage> {
    smtp.messages()
        .into_iter()
        .filter(|m| template_of(m) == name)
        .collect()
}

async fn signin(app: &TestApp, ua: &str, ip: &str) -> Reply {
    let res = app
        .http
        .post(app.url("/signin/email-password"))
        .header("user-agent", ua)
        .header("x-forwarded-for", ip)
        .json(&json!({"email": "n@example.com", "password": "hunter22"}))
        .send()
        .await
        .expect("request");
    Reply::read(res).await
}

async fn signup_from(app: &TestApp, ua: &str, ip: &str, locale: &str) -> serde_json::Value {
    let res = app
        .http
        .post(app.url("/signup/email-password"))
        .header("user-agent", ua)
        .header("x-forwarded-for", ip)
        .json(&json!({"email": "n@example.com", "password": "hunter22",
                      "options": {"locale": locale}}))
        .send()
        .await
        .expect("request");
    let r = Reply::read(res).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["session"].clone()
}

#[tokio::test]
async fn notifications_off_by_default_send_nothing() {
    let (app, smtp) = app_with_smtp(&[]).await;
    let session = signup_from(&app, "Firefox/1", "198.51.100.1", "en").await;
    assert_eq!(signin(&app, "Other/2", "203.0.113.2").await.status, 200);
    let r = app
        .post_auth(
            "/user/password",
            session["accessToken"].as_str().unwrap_or_default(),
            json!({"newPassword": "hunter23"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(smtp.messages().is_empty(), "no mail at all");
}

#[tokio::test]
async fn new_signin_notice_only_for_an_unseen_device() {
    let (app, smtp) = app_with_smtp(&["--security-notifications=new-signin"]).await;
    signup_from(&app, "Firefox/1", "198.51.100.1", "de").await;
    // The device of the sign-up: seen.
    assert_eq!(signin(&app, "Firefox/1", "198.51.100.1").await.status, 200);
    // A new user agent from a new address: a notice, in the user's language.
    assert_eq!(signin(&app, "Evil/6.6", "203.0.113.66").await.status, 200);
    let mail = smtp.wait_for_message("n@example.com", WAIT).await;
    assert_eq!(template_of(&mail), "signin-new-device");
    let text = mail.text().expect("text");
    assert!(
        text.contains("Evil/6.6") && text.contains("203.0.113.66"),
        "{text}"
    );
    assert!(mail.html().expect("html").contains("lang=\"de\""));
    // That device again: seen now, no second notice.
    assert_eq!(signin(&app, "Evil/6.6", "203.0.113.66").await.status, 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(sent(&smtp, "signin-new-device").len(), 1);
}

#[tokio::test]
async fn new_signin_notice_does_not_delay_the_signin() {
    // A mail server that never answers: the sign-in does not wait for it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn);
        }
    });
    let app = TestApp::with(&[
        NO_VERIFY,
        "--smtp-host=127.0.0.1",
        &format!("--smtp-port={port}"),
        "--smtp-sender=hasura-auth@example.com",
        "--trusted-proxies=127.0.0.1",
        "--security-notifications=new-signin,password-changed",
    ])
    .await;
    app.signup("n@example.com", "hunter22").await;
    for i in 0..3 {
        let started = std::time::Instant::now();
        let r = signin(&app, &format!("Agent/{i}"), "203.0.113.9").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "sign-in waited {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn password_changed_notice_after_change_and_reset() {
    let (app, smtp) = app_with_smtp(&["--security-notifications=password-changed"]).await;
    let session = signup_from(&app, "Firefox/1", "198.51.100.1", "fr").await;
    let r = app
        .post_auth(
            "/user/password",
            session["accessToken"].as_str().unwrap_or_default(),
            json!({"newPassword": "hunter23"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = smtp.wait_for_message("n@example.com", WAIT).await;
    assert_eq!(template_of(&mail), "password-changed");
    assert!(mail.html().expect("html").contains("lang=\"fr\""));
    assert!(mail.text().expect("text").contains("n@example.com"));
    // The new password is never in it.
    assert!(!mail.raw().contains("hunter23"));

    let ticket = format!("passwordReset:{}", uuid::Uuid::new_v4());
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{ticket}', ticket_expires_at = now() + interval '1 hour'"
    ))
    .await;
    let r = app
        .post(
            "/user/password",
            json!({"newPassword": "hunter24", "ticket": ticket}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = std::time::Instant::now() + WAIT;
    while sent(&smtp, "password-changed").len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no second notice");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn email_change_notice_goes_to_the_old_address() {
    let (app, smtp) = app_with_smtp(&["--security-notifications=email-change"]).await;
    let session = signup_from(&app, "Firefox/1", "198.51.100.1", "en").await;
    let r = app
        .post_auth(
            "/user/email/change",
            session["accessToken"].as_str().unwrap_or_default(),
            json!({"newEmail": "thief@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let notice = smtp.wait_for_message("n@example.com", WAIT).await;
    assert_eq!(template_of(&notice), "email-change-notice");
    let text = notice.text().expect("text");
    assert!(text.contains("thief@example.com"), "{text}");
    // The confirmation link itself goes to the new address only.
    let confirm = smtp.wait_for_message("thief@example.com", WAIT).await;
    assert_eq!(template_of(&confirm), "email-confirm-change");
    assert!(notice.header("X-Ticket").unwrap_or_default().is_empty());
    assert!(!notice.raw().contains("emailConfirmChange:"));
}

#[tokio::test]
async fn an_unknown_notification_name_is_refused_at_startup() {
    let parsed = hasura_auth::config::Config::from_args([
        "hasura-auth",
        "--security-notifications=password-changed,everything",
    ]);
    let err = match parsed {
        Ok(_) => panic!("an unknown notification was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("everything"), "{err}");
}
