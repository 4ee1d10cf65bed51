//! Hostile input: every malformed request gets a clear 4xx with the standard body.

use serde_json::json;

use crate::support::app::TestApp;

#[tokio::test]
async fn malformed_json_is_a_400_with_a_message() {
    let app = TestApp::spawn().await;
    for body in ["{", "not json", "[]", "null", "{\"email\": }"] {
        let r = app
            .post_raw("/signin/email-password", body, "application/json")
            .await;
        r.assert_error(400, "invalid-request");
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_are_rejected() {
    let app = TestApp::spawn().await;
    let cases = [
        json!({"email": 42, "password": "hunter22"}),
        json!({"email": "a@b.co", "password": ["x"]}),
        json!({"email": "a@b.co", "password": "hunter22", "admin": true}),
        json!({"email": "a@b.co"}),
        json!({"email": "a@b.co", "password": null}),
    ];
    for body in cases {
        app.post("/signin/email-password", body)
            .await
            .assert_error(400, "invalid-request");
    }
    app.post("/token", json!({"refreshToken": 1}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn huge_bodies_are_refused_before_parsing() {
    let app = TestApp::spawn().await;
    let big = format!(
        "{{\"email\":\"a@b.co\",\"password\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let r = app
        .post_raw("/signin/email-password", big, "application/json")
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.body["error"], "invalid-request");
}

#[tokio::test]
async fn sql_and_html_in_strings_are_inert() {
    let app = TestApp::with(&["--email-verification-required=false"]).await;
    for email in [
        "a'; DROP TABLE auth.users;--@x.io",
        "<img src=x onerror=alert(1)>@x.io",
        "a@b.c' OR '1'='1",
    ] {
        app.post(
            "/signin/email-password",
            json!({"email": email, "password": "hunter22"}),
        )
        .await
        .assert_error(400, "invalid-request");
    }
    // Metadata is stored verbatim as JSON, never interpreted.
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "x@x.io", "password": "hunter22", "options": {"metadata": {"q": "'); DELETE FROM auth.users; --", "h": "<script>"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["session"]["user"]["metadata"]["q"],
        "'); DELETE FROM auth.users; --"
    );
    let n: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_garbage_bearer_token_is_rejected_cleanly() {
    let app = TestApp::spawn().await;
    for token in ["x", "a.b.c", "eyJ.eyJ.sig", &"A".repeat(10_000)] {
        app.get_auth("/user", token)
            .await
            .assert_error(400, "invalid-request");
    }
}

/// A value outside an enum of a request body is refused in our words, naming the field
/// and the allowed values, not in the JSON library's (``unknown variant `x`, expected
/// `totp` or ``…``).
#[tokio::test]
async fn enum_values_outside_the_contract_are_refused_in_our_words() {
    let app = TestApp::with(&[
        "--email-verification-required=false",
        "--mfa-enabled",
        "--enable-anonymous-users",
    ])
    .await;
    let user = app.signup("enum@example.com", "hunter22").await;
    let token = user["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let anonymous = app.post("/signin/anonymous", json!({})).await;
    let anonymous_token = anonymous.body["session"]["accessToken"]
        .as_str()
        .expect("anonymous token")
        .to_owned();

    let replies = [
        (
            app.post_auth(
                "/user/mfa",
                &token,
                json!({"code": "123456", "activeMfaType": "incorrect"}),
            )
            .await,
            r#"activeMfaType must be "totp" (activate) or "" (deactivate)"#,
        ),
        (
            app.post_auth(
                "/user/deanonymize",
                &anonymous_token,
                json!({"signInMethod": "magic", "email": "d@example.com"}),
            )
            .await,
            r#"signInMethod must be "email-password" or "passwordless""#,
        ),
        (
            app.post(
                "/signin/idtoken",
                json!({"provider": "facebook", "idToken": "x"}),
            )
            .await,
            r#"provider must be "apple" or "google""#,
        ),
    ];
    for (reply, expected) in replies {
        reply.assert_error(400, "invalid-request");
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains("variant"), "{message}");
    }
}
