use serde_json::json;

use crate::support::app::TestApp;

const NO_VERIFY: &str = "--email-verification-required=false";

#[tokio::test]
async fn get_user_returns_the_profile_with_stored_roles_only() {
    let app = TestApp::with(&[NO_VERIFY, "--default-allowed-roles=me,user,editor"]).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "u@example.com", "password": "hunter22", "options": {"allowedRoles": ["me", "editor"], "defaultRole": "me", "metadata": {"a": 1}}}),
        )
        .await;
    let token = r.body["session"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.sql("UPDATE auth.users SET default_role = 'user'").await;
    let r = app.get_auth("/user", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "u@example.com");
    assert_eq!(
        r.body["roles"],
        json!(["me", "editor"]),
        "default role is not appended"
    );
    assert_eq!(r.body["metadata"], json!({"a": 1}));
    assert_eq!(r.body["activeMfaType"], json!(null));
    assert!(
        r.body["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
}

#[tokio::test]
async fn get_user_metadata_sql_null_reads_as_an_empty_object() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("u@example.com", "hunter22").await;
    app.sql("UPDATE auth.users SET metadata = NULL").await;
    let r = app
        .get_auth("/user", s["accessToken"].as_str().unwrap_or_default())
        .await;
    assert_eq!(r.body["metadata"], json!({}));
}

#[tokio::test]
async fn get_user_requires_a_valid_bearer_token() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("u@example.com", "hunter22").await;
    let token = s["accessToken"].as_str().unwrap_or_default();
    app.get("/user").await.assert_error(400, "invalid-request");
    let res = app
        .http
        .get(app.url("/user"))
        .header("Authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 400, "scheme is case-sensitive, as upstream");

    // A token signed with another key.
    let other = hasura_auth::tokens::JwtKeys::from_secret(
        r#"{"type":"HS256","key":"another-key-another-key-another-key-1234"}"#,
    )
    .expect("keys");
    let user_id =
        uuid::Uuid::parse_str(s["user"]["id"].as_str().unwrap_or_default()).expect("uuid");
    let roles = vec!["user".to_owned()];
    let claims = hasura_auth::tokens::AccessClaims {
        user_id,
        allowed_roles: &roles,
        default_role: "user",
        is_anonymous: false,
        extra: &[],
        elevated: false,
    };
    let forged = other.sign(&claims, 900).expect("sign");
    app.get_auth("/user", &forged)
        .await
        .assert_error(400, "invalid-request");

    // Expired, and issued in the future, with the right key.
    let keys = &app.state.jwt;
    let now = chrono::Utc::now().timestamp();
    let expired = keys.sign_at(&claims, now - 1000, 900).expect("sign");
    app.get_auth("/user", &expired)
        .await
        .assert_error(400, "invalid-request");
    let future = keys.sign_at(&claims, now + 600, 900).expect("sign");
    app.get_auth("/user", &future)
        .await
        .assert_error(400, "invalid-request");

    // alg=none is never accepted.
    let parts: Vec<&str> = token.split('.').collect();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    app.get_auth("/user", &none)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn get_user_for_a_deleted_or_disabled_user_is_refused() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("u@example.com", "hunter22").await;
    let token = s["accessToken"].as_str().unwrap_or_default();
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.get_auth("/user", token)
        .await
        .assert_error(401, "disabled-user");
    app.sql("DELETE FROM auth.users").await;
    app.get_auth("/user", token)
        .await
        .assert_error(401, "invalid-email-password");
}

/// Issue 18: an access token whose `nbf` lies ahead was accepted by `/token/verify`
/// and `GET /user`; both refuse it now, for HS256 and RS256 keys.
#[tokio::test]
async fn tokens_not_yet_valid_are_refused_hs256_and_rs256() {
    use base64::Engine;
    let rs_private = include_str!("../fixtures/keys/rsa2048-private.pem");
    let rs_public = include_str!("../fixtures/keys/rsa2048-public.pem");
    let rs_secret = format!(
        "--hasura-graphql-jwt-secret={}",
        json!({"type": "RS256", "key": rs_public, "signing_key": rs_private})
    );
    let hs_key: serde_json::Value =
        serde_json::from_str(crate::support::app::HS256_SECRET).expect("secret");
    let hs_key = hs_key["key"].as_str().unwrap_or_default().to_owned();
    let apps = [
        (
            TestApp::with(&[NO_VERIFY]).await,
            jsonwebtoken::EncodingKey::from_secret(hs_key.as_bytes()),
        ),
        (
            TestApp::with(&[NO_VERIFY, &rs_secret]).await,
            jsonwebtoken::EncodingKey::from_rsa_pem(rs_private.as_bytes()).expect("pem"),
        ),
    ];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for (app, encoding) in apps {
        let s = app.signup("nbf@example.com", "hunter22").await;
        let token = s["accessToken"].as_str().unwrap_or_default();
        let mut it = token.split('.');
        let decode = |part: Option<&str>| -> serde_json::Value {
            serde_json::from_slice(&b64.decode(part.unwrap_or_default()).expect("b64"))
                .expect("json")
        };
        let header: jsonwebtoken::Header =
            serde_json::from_value(decode(it.next())).expect("header");
        let payload = decode(it.next());
        let with_nbf = |nbf: i64| {
            let mut p = payload.clone();
            p["nbf"] = json!(nbf);
            jsonwebtoken::encode(&header, &p, &encoding).expect("sign")
        };
        let now = chrono::Utc::now().timestamp();
        let future = with_nbf(now + 3600);
        let r = app.post("/token/verify", json!({"token": future})).await;
        r.assert_error(400, "invalid-request");
        app.get_auth("/user", &future)
            .await
            .assert_error(400, "invalid-request");
        // The same token with an `nbf` in the past passes: only `nbf` made the difference.
        let past = with_nbf(now - 60);
        let r = app.post("/token/verify", json!({"token": past})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.get_auth("/user", &past).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}
