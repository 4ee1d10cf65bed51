//! Personal access tokens: creation, sign-in, expiry, and the separation from refresh
//! tokens.

use serde_json::json;

use crate::common::{NO_VERIFY, query_one, user_with_token};
use crate::support::app::TestApp;

async fn create(app: &TestApp, token: &str, body: serde_json::Value) -> (String, String) {
    let r = app.post_auth("/pat", token, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(2), "{}", r.text);
    (
        r.body["id"].as_str().expect("id").to_owned(),
        r.body["personalAccessToken"]
            .as_str()
            .expect("pat")
            .to_owned(),
    )
}

#[tokio::test]
async fn pat_is_stored_hashed_as_a_pat_refresh_token_and_signs_in() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let (user_id, token) = user_with_token(&app, "p@example.com").await;
    let (id, pat) = create(
        &app,
        &token,
        json!({"expiresAt": "2099-01-02T03:04:05+02:00", "metadata": {"name": "ci", "n": 1}}),
    )
    .await;
    assert!(uuid::Uuid::parse_str(&pat).is_ok());
    let row = query_one(
        &app,
        &format!(
            "SELECT user_id, type, refresh_token_hash = '\\x' || encode(sha256(convert_to('{pat}', 'UTF8')), 'hex'), \
             expires_at = '2099-01-02T01:04:05Z'::timestamptz, metadata \
             FROM auth.refresh_tokens WHERE id = '{id}'"
        ),
    )
    .await;
    assert_eq!(row.get::<_, uuid::Uuid>(0), user_id);
    assert_eq!(row.get::<_, String>(1), "pat");
    assert!(row.get::<_, bool>(2), "hash exactly as upstream stores it");
    assert!(row.get::<_, bool>(3));
    assert_eq!(
        row.get::<_, serde_json::Value>(4),
        json!({"name": "ci", "n": 1})
    );

    let r = app
        .post("/signin/pat", json!({"personalAccessToken": pat}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["session"];
    assert_eq!(s["user"]["email"], "p@example.com");
    assert_ne!(s["refreshTokenId"], id.as_str());
    assert_ne!(s["refreshToken"], pat.as_str());
    // The session's refresh token is a regular one, and the PAT is not rotated.
    let row = query_one(
        &app,
        &format!(
            "SELECT (SELECT type FROM auth.refresh_tokens WHERE id = '{}'), \
             (SELECT count(*) FROM auth.refresh_tokens WHERE type = 'pat')",
            s["refreshTokenId"].as_str().expect("id")
        ),
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "regular");
    assert_eq!(row.get::<_, i64>(1), 1);
    let again = app
        .post("/signin/pat", json!({"personalAccessToken": pat}))
        .await;
    assert_eq!(again.status, 200, "a PAT is reusable: {}", again.text);

    // Without metadata: SQL NULL.
    let (id, _) = create(&app, &token, json!({"expiresAt": "2099-01-01T00:00:00Z"})).await;
    let row = query_one(
        &app,
        &format!("SELECT metadata IS NULL FROM auth.refresh_tokens WHERE id = '{id}'"),
    )
    .await;
    assert!(row.get::<_, bool>(0));
}

#[tokio::test]
async fn pat_and_refresh_tokens_are_not_interchangeable() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let session = app.signup("x@example.com", "hunter22").await;
    let token = session["accessToken"].as_str().expect("token");
    let refresh = session["refreshToken"].as_str().expect("refresh");
    let (_, pat) = create(&app, token, json!({"expiresAt": "2099-01-01T00:00:00Z"})).await;
    app.post("/token", json!({"refreshToken": pat}))
        .await
        .assert_error(401, "invalid-refresh-token");
    app.post("/signin/pat", json!({"personalAccessToken": refresh}))
        .await
        .assert_error(401, "invalid-pat");
    // Both still work where they belong.
    assert_eq!(
        app.post("/token", json!({"refreshToken": refresh}))
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/signin/pat", json!({"personalAccessToken": pat}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn pat_expiry_revocation_and_account_state() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let (_, token) = user_with_token(&app, "e@example.com").await;
    // A past expiry is accepted and gives a dead token (as upstream).
    let (_, past) = create(&app, &token, json!({"expiresAt": "2000-01-01T00:00:00Z"})).await;
    app.post("/signin/pat", json!({"personalAccessToken": past}))
        .await
        .assert_error(401, "invalid-pat");

    let (id, pat) = create(&app, &token, json!({"expiresAt": "2099-01-01T00:00:00Z"})).await;
    app.sql(&format!(
        "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' WHERE id = '{id}'"
    ))
    .await;
    app.post("/signin/pat", json!({"personalAccessToken": pat}))
        .await
        .assert_error(401, "invalid-pat");

    let (_, pat) = create(&app, &token, json!({"expiresAt": "2099-01-01T00:00:00Z"})).await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post("/signin/pat", json!({"personalAccessToken": pat}))
        .await
        .assert_error(401, "disabled-user");
    app.post_auth("/pat", &token, json!({"expiresAt": "2099-01-01T00:00:00Z"}))
        .await
        .assert_error(401, "disabled-user");
    app.sql("UPDATE auth.users SET disabled = false").await;

    // Sign-out with the PAT revokes it.
    let r = app.post("/signout", json!({"refreshToken": pat})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post("/signin/pat", json!({"personalAccessToken": pat}))
        .await
        .assert_error(401, "invalid-pat");
    app.post(
        "/signin/pat",
        json!({"personalAccessToken": uuid::Uuid::new_v4().to_string()}),
    )
    .await
    .assert_error(401, "invalid-pat");
}

#[tokio::test]
async fn pat_requests_are_validated() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let (_, token) = user_with_token(&app, "v@example.com").await;
    app.post("/pat", json!({"expiresAt": "2099-01-01T00:00:00Z"}))
        .await
        .assert_error(400, "invalid-request");
    for body in [
        json!({}),
        json!({"expiresAt": "tomorrow"}),
        json!({"expiresAt": "2099-01-01"}),
        json!({"expiresAt": "2099-01-01T00:00:00Z", "metadata": "x"}),
        json!({"expiresAt": "2099-01-01T00:00:00Z", "other": 1}),
    ] {
        app.post_auth("/pat", &token, body.clone())
            .await
            .assert_error(400, "invalid-request");
    }
    for bad in ["", "not-a-uuid", "2C35B6F3-C4B9-48E3-978A-D4D0F1D42E24"] {
        app.post("/signin/pat", json!({"personalAccessToken": bad}))
            .await
            .assert_error(400, "invalid-request");
    }
    app.post("/signin/pat", json!({}))
        .await
        .assert_error(400, "invalid-request");
}
