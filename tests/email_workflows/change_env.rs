//! `POST /change-env` (only with `AUTH_ENABLE_CHANGE_ENV=true`).

use serde_json::json;

use crate::common::*;
use crate::support::app::TestApp;

async fn change(app: &TestApp, body: serde_json::Value) {
    let r = app.post("/change-env", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"message": "environment changed successfully"})
    );
}

#[tokio::test]
async fn absent_unless_enabled() {
    let (app, _smtp) = app_with_smtp(&[]).await;
    let r = app
        .post("/change-env", json!({"AUTH_DISABLE_SIGNUP": true}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn settings_change_for_the_next_requests() {
    let (app, smtp) = app_with_smtp(&["--enable-change-env"]).await;
    let signup = |email: &'static str, options: serde_json::Value| {
        app.post(
            "/signup/email-password",
            json!({"email": email, "password": PASSWORD, "options": options}),
        )
    };

    change(&app, json!({"AUTH_DISABLE_SIGNUP": true})).await;
    signup("a@example.com", json!({}))
        .await
        .assert_error(403, "signup-disabled");

    change(
        &app,
        json!({
            "AUTH_DISABLE_SIGNUP": false,
            "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED": false,
            "AUTH_DEFAULT_ALLOWED_ROLES": ["user", "me", "auditor"],
            "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS": "https://new.example.com",
            "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS": "blocked.example",
            "AUTH_LOCALE_ALLOWED_LOCALES": "en,es",
            "AUTH_EMAIL_PASSWORDLESS_ENABLED": true,
            "AUTH_CONCEAL_ERRORS": true,
            "AUTH_USER_DEFAULT_ALLOWED_ROLES": "ignored,as,upstream",
        }),
    )
    .await;
    // A new role, created on the fly; a session straight away (no verification).
    let r = signup(
        "b@example.com",
        json!({"allowedRoles": ["auditor"], "defaultRole": "auditor", "locale": "es"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["roles"], json!(["auditor"]));
    assert_eq!(r.body["session"]["user"]["locale"], "es");
    // The redirect allow-list was rebuilt, the passwordless flag applies, errors are
    // concealed, and the block list is live.
    let r = app
        .post(
            "/signin/passwordless/email",
            json!({"email": "b@example.com", "options": {"redirectTo": "https://new.example.com/x"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        header(&nth_email(&smtp, "b@example.com", 0).await, "X-Redirect-To"),
        "https://new.example.com/x"
    );
    sign_in(&app, "b@example.com", "wrong-password")
        .await
        .assert_error(400, "invalid-request");
    signup("c@blocked.example", json!({}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn bad_bodies_change_nothing() {
    let (app, _smtp) = app_with_smtp(&["--enable-change-env"]).await;
    let r = app
        .post_raw("/change-env", "{not json", "application/json")
        .await;
    r.assert_error(400, "invalid-request");
    for bad in [
        json!({"AUTH_DISABLE_SIGNUP": true, "AUTH_PASSWORD_MIN_LENGTH": "9"}),
        json!({"AUTH_DISABLE_SIGNUP": true, "AUTH_DEFAULT_ALLOWED_ROLES": "user"}),
        json!(["AUTH_DISABLE_SIGNUP"]),
    ] {
        app.post("/change-env", bad.clone())
            .await
            .assert_error(400, "invalid-request");
    }
    // AUTH_DISABLE_SIGNUP=true came with a bad value: none of it was applied.
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "still@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
