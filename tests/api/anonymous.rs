use serde_json::json;

use crate::support::app::TestApp;

fn hasura_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    v["https://hasura.io/jwt/claims"].clone()
}

#[tokio::test]
async fn anonymous_signin_creates_an_anonymous_user() {
    let app = TestApp::with(&["--enable-anonymous-users", "--allowed-locales=en,fr"]).await;
    let r = app
        .post(
            "/signin/anonymous",
            json!({"displayName": "Guest", "locale": "fr", "metadata": {"k": "v"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["session"];
    assert_eq!(s["user"]["isAnonymous"], true);
    assert_eq!(s["user"]["displayName"], "Guest");
    assert_eq!(s["user"]["locale"], "fr");
    assert_eq!(s["user"]["roles"], json!(["anonymous"]));
    assert_eq!(s["user"]["defaultRole"], "anonymous");
    assert_eq!(s["user"]["avatarUrl"], "");
    assert!(s["user"].get("email").is_none());
    let c = hasura_claims(s["accessToken"].as_str().unwrap_or_default());
    assert_eq!(c["x-hasura-user-is-anonymous"], "true");
    assert_eq!(c["x-hasura-allowed-roles"], json!(["anonymous"]));
    assert_eq!(c["x-hasura-default-role"], "anonymous");
}

#[tokio::test]
async fn anonymous_signin_body_is_optional_and_defaults_apply() {
    let app = TestApp::with(&["--enable-anonymous-users"]).await;
    let r = app
        .post_raw("/signin/anonymous", "", "application/json")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["displayName"], "Anonymous User");
    assert_eq!(r.body["session"]["user"]["locale"], "en");
}

#[tokio::test]
async fn anonymous_signin_is_gated() {
    let app = TestApp::spawn().await;
    app.post("/signin/anonymous", json!({}))
        .await
        .assert_error(409, "disabled-endpoint");
    let app = TestApp::with(&["--enable-anonymous-users", "--disable-signup"]).await;
    app.post("/signin/anonymous", json!({}))
        .await
        .assert_error(403, "signup-disabled");
}

#[tokio::test]
async fn anonymous_users_are_refused_on_user_endpoints() {
    let app = TestApp::with(&[
        "--enable-anonymous-users",
        "--email-verification-required=false",
    ])
    .await;
    let r = app.post("/signin/anonymous", json!({})).await;
    let token = r.body["session"]["accessToken"]
        .as_str()
        .unwrap_or_default();
    app.get_auth("/user", token)
        .await
        .assert_error(403, "forbidden-anonymous");
}

#[tokio::test]
async fn anonymous_signin_rejects_bad_input() {
    let app = TestApp::with(&["--enable-anonymous-users"]).await;
    app.post("/signin/anonymous", json!({"locale": "french"}))
        .await
        .assert_error(400, "invalid-request");
    app.post("/signin/anonymous", json!({"metadata": [1, 2]}))
        .await
        .assert_error(400, "invalid-request");
    app.post("/signin/anonymous", json!({"extra": 1}))
        .await
        .assert_error(400, "invalid-request");
}
