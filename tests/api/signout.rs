use serde_json::json;

use crate::support::app::TestApp;

const NO_VERIFY: &str = "--email-verification-required=false";

#[tokio::test]
async fn signout_revokes_one_refresh_token() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("o@example.com", "hunter22").await;
    let r = app
        .post("/signout", json!({"refreshToken": s["refreshToken"]}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!("OK"));
    app.post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await
        .assert_error(401, "invalid-refresh-token");
    // Unknown tokens are not an error.
    let r = app
        .post(
            "/signout",
            json!({"refreshToken": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn signout_all_needs_a_valid_access_token_and_revokes_every_session() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("o@example.com", "hunter22").await;
    let second = app
        .post(
            "/signin/email-password",
            json!({"email": "o@example.com", "password": "hunter22"}),
        )
        .await;
    app.post("/signout", json!({"all": true}))
        .await
        .assert_error(400, "invalid-request");
    let r = app
        .post_auth(
            "/signout",
            s["accessToken"].as_str().unwrap_or_default(),
            json!({"all": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for token in [&s["refreshToken"], &second.body["session"]["refreshToken"]] {
        app.post("/token", json!({"refreshToken": token}))
            .await
            .assert_error(401, "invalid-refresh-token");
    }
}

#[tokio::test]
async fn signout_without_a_token_is_a_bad_request() {
    let app = TestApp::spawn().await;
    app.post("/signout", json!({}))
        .await
        .assert_error(400, "invalid-request");
    app.post("/signout", json!({"refreshToken": ""}))
        .await
        .assert_error(400, "invalid-request");
    app.post_raw("/signout", "", "application/json")
        .await
        .assert_error(400, "invalid-request");
}

/// A refused sign-out says what was wrong, in the words `POST /token` uses.
#[tokio::test]
async fn signout_refusals_say_what_was_wrong() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    for (body, token_body, expected) in [
        (
            json!({}),
            json!({}),
            "invalid request body: missing field `refreshToken`",
        ),
        (
            json!({"refreshToken": ""}),
            json!({"refreshToken": ""}),
            "invalid request body: expected a token containing a UUID",
        ),
    ] {
        let r = app.post("/signout", body.clone()).await;
        r.assert_error(400, "invalid-request");
        assert_eq!(r.body["message"], expected, "{body}");
        let token = app.post("/token", token_body).await;
        token.assert_error(400, "invalid-request");
        let token_message = token.body["message"].as_str().unwrap_or_default();
        assert!(
            token_message.starts_with(expected),
            "/token says {token_message:?}, /signout {expected:?}"
        );
    }
    let r = app.post("/signout", json!({"all": true})).await;
    r.assert_error(400, "invalid-request");
    assert_eq!(
        r.body["message"],
        "\"all\": true needs a valid access token (Authorization: Bearer)"
    );
}
