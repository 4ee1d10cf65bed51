//! The two upstream contracts on the same routes: hasura-auth v0.42's and Nhost Auth
//! 0.52's (`AUTH_UPSTREAM_GENERATION`), and how `auto` picks one from the database found.

use base64::Engine;
use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::support::db::TestDb;

const NO_VERIFY: &str = "--email-verification-required=false";
const V0_42: &str = "--upstream-generation=0.42";
const V0_52: &str = "--upstream-generation=0.52";
const AUTO: &str = "--upstream-generation=auto";
/// An HS256 secret that names no issuer (the test default names `hasura-auth`).
const HS_NO_ISSUER: &str = r#"--hasura-graphql-jwt-secret={"type":"HS256","key":"5152fa850c02dc222631cca898ed1485821a70912a6e3649c49076912daa3b62"}"#;

fn unauthorized(reason: &str, scheme: &str) -> Value {
    json!({"error": "unauthorized", "reason": reason, "securityScheme": scheme})
}

fn access_token(session: &Value) -> String {
    session["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The payload of a JWT, decoded without verification.
fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

async fn generation_of(app: &TestApp) -> &'static str {
    app.state.generation.as_str()
}

#[tokio::test]
async fn duplicate_sign_up_is_email_already_in_use_under_0_42() {
    let app = TestApp::with(&[NO_VERIFY, V0_42]).await;
    app.signup("dup@example.com", "password-123").await;
    app.post(
        "/signup/email-password",
        json!({"email": "dup@example.com", "password": "password-123"}),
    )
    .await
    .assert_error(409, "email-already-in-use");
}

#[tokio::test]
async fn duplicate_sign_up_is_user_already_exists_under_0_52() {
    let app = TestApp::with(&[NO_VERIFY, V0_52]).await;
    app.signup("dup@example.com", "password-123").await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "DUP@example.com", "password": "password-123"}),
        )
        .await;
    r.assert_error(409, "user-already-exists");
    assert_eq!(r.body["message"], "User already exists");
}

#[tokio::test]
async fn concealment_applies_to_the_0_52_codes_too() {
    let app = TestApp::with(&[NO_VERIFY, V0_52, "--conceal-errors=true"]).await;
    app.signup("dup@example.com", "password-123").await;
    app.post(
        "/signup/email-password",
        json!({"email": "dup@example.com", "password": "password-123"}),
    )
    .await
    .assert_error(400, "invalid-request");
    // The 401 of a refused bearer reveals nothing about an account: not concealed.
    let r = app.get("/user").await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn email_change_to_a_taken_address_follows_the_contract() {
    for (flag, code) in [
        (V0_42, "email-already-in-use"),
        (V0_52, "user-already-exists"),
    ] {
        let app = TestApp::with(&[NO_VERIFY, flag]).await;
        app.signup("taken@example.com", "password-123").await;
        let me = app.signup("me@example.com", "password-123").await;
        app.post_auth(
            "/user/email/change",
            &access_token(&me),
            json!({"newEmail": "taken@example.com"}),
        )
        .await
        .assert_error(409, code);
    }
}

#[tokio::test]
async fn missing_and_bad_bearer_are_400_invalid_request_under_0_42() {
    let app = TestApp::with(&[NO_VERIFY, V0_42]).await;
    app.get("/user").await.assert_error(400, "invalid-request");
    app.get_auth("/user", "not-a-jwt")
        .await
        .assert_error(400, "invalid-request");
    app.post("/user/email/change", json!({"newEmail": "a@example.com"}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn missing_and_bad_bearer_are_401_unauthorized_under_0_52() {
    let app = TestApp::with(&[NO_VERIFY, V0_52]).await;
    let r = app.get("/user").await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        r.body,
        unauthorized("missing or malformed authorization header", "BearerAuth")
    );

    let r = app.get_auth("/user", "not-a-jwt").await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        r.body,
        unauthorized("invalid or expired token", "BearerAuth")
    );

    // A scheme other than `Bearer ` is a malformed header.
    let me = app.signup("me@example.com", "password-123").await;
    let res = app
        .http
        .get(app.url("/user"))
        .header("Authorization", format!("Basic {}", access_token(&me)))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);

    // A token signed by another key is refused the same way.
    let forged = {
        let mut parts: Vec<String> = access_token(&me).split('.').map(String::from).collect();
        parts[2] = "AAAA".into();
        parts.join(".")
    };
    let r = app.get_auth("/user", &forged).await;
    assert_eq!(
        r.body,
        unauthorized("invalid or expired token", "BearerAuth")
    );

    // `BearerAuthElevated` routes name their scheme.
    let r = app
        .post("/user/email/change", json!({"newEmail": "a@example.com"}))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        r.body,
        unauthorized(
            "missing or malformed authorization header",
            "BearerAuthElevated"
        )
    );
    // The valid token still works.
    let r = app.get_auth("/user", &access_token(&me)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_token_without_the_elevated_claim_follows_the_contract() {
    let required = "--require-elevated-claim=required";
    let app = TestApp::with(&[NO_VERIFY, V0_42, required]).await;
    let me = app.signup("me@example.com", "password-123").await;
    // A user with a security key needs elevation.
    app.sql(
        "INSERT INTO auth.user_security_keys (user_id, credential_id, credential_public_key) \
         SELECT id, 'cred', '\\x00' FROM auth.users",
    )
    .await;
    let r = app
        .post_auth(
            "/user/email/change",
            &access_token(&me),
            json!({"newEmail": "new@example.com"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "elevated-claim-required");

    let app = TestApp::with(&[NO_VERIFY, V0_52, required]).await;
    let me = app.signup("me@example.com", "password-123").await;
    app.sql(
        "INSERT INTO auth.user_security_keys (user_id, credential_id, credential_public_key) \
         SELECT id, 'cred', '\\x00' FROM auth.users",
    )
    .await;
    let r = app
        .post_auth(
            "/user/email/change",
            &access_token(&me),
            json!({"newEmail": "new@example.com"}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        r.body,
        unauthorized("elevated claim required", "BearerAuthElevated")
    );
}

#[tokio::test]
async fn issuer_default_is_hasura_auth_under_0_42() {
    let app = TestApp::with(&[NO_VERIFY, V0_42, HS_NO_ISSUER]).await;
    let me = app.signup("me@example.com", "password-123").await;
    assert_eq!(jwt_payload(&access_token(&me))["iss"], "hasura-auth");
    let r = app.get_auth("/user", &access_token(&me)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn issuer_default_is_the_server_url_under_0_52() {
    let app = TestApp::with(&[NO_VERIFY, V0_52, HS_NO_ISSUER]).await;
    let me = app.signup("me@example.com", "password-123").await;
    let token = access_token(&me);
    assert_eq!(jwt_payload(&token)["iss"], json!(app.base));
    assert_eq!(app.get_auth("/user", &token).await.status, 200);
    // The refreshed session carries the same issuer.
    let r = app
        .post("/token", json!({"refreshToken": me["refreshToken"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(jwt_payload(&access_token(&r.body))["iss"], json!(app.base));

    // A token of the same key with v0.42's default issuer is not accepted any more.
    let v042 = TestApp::with_db(TestDb::empty().await, &[NO_VERIFY, V0_42, HS_NO_ISSUER]).await;
    let old = v042.signup("old@example.com", "password-123").await;
    let r = app.get_auth("/user", &access_token(&old)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        r.body,
        unauthorized("invalid or expired token", "BearerAuth")
    );
}

#[tokio::test]
async fn a_configured_issuer_wins_under_0_52() {
    // The test default secret names `hasura-auth`.
    let app = TestApp::with(&[NO_VERIFY, V0_52]).await;
    let me = app.signup("me@example.com", "password-123").await;
    assert_eq!(jwt_payload(&access_token(&me))["iss"], "hasura-auth");
}

#[tokio::test]
async fn jwks_of_an_hmac_key_is_an_empty_list_under_both() {
    for flag in [V0_42, V0_52] {
        let app = TestApp::with(&[flag]).await;
        let r = app.get("/.well-known/jwks.json").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, json!({"keys": []}), "{flag}");
    }
}

#[tokio::test]
async fn auto_serves_0_52_on_an_empty_database() {
    let app = TestApp::with(&[NO_VERIFY, AUTO]).await;
    assert_eq!(generation_of(&app).await, "0.52");
    let r = app.get("/user").await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "unauthorized");
    app.signup("dup@example.com", "password-123").await;
    app.post(
        "/signup/email-password",
        json!({"email": "dup@example.com", "password": "password-123"}),
    )
    .await
    .assert_error(409, "user-already-exists");
}

#[tokio::test]
async fn auto_serves_0_42_on_a_database_upstream_v0_42_left_at_18() {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let app = TestApp::with_db(db, &[NO_VERIFY, AUTO]).await;
    assert_eq!(generation_of(&app).await, "0.42");
    app.get("/user").await.assert_error(400, "invalid-request");
}

#[tokio::test]
async fn auto_serves_0_52_on_a_database_nhost_0_52_left_at_27() {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v27.sql"))
        .await
        .expect("load Nhost 0.52 fixture");
    let app = TestApp::with_db(db, &[NO_VERIFY, AUTO]).await;
    assert_eq!(generation_of(&app).await, "0.52");
}

#[tokio::test]
async fn an_explicit_generation_is_independent_of_the_schema_level() {
    // 0.42 on an empty database: v0.42's answers, and still schema 27.
    let app = TestApp::with(&[NO_VERIFY, V0_42]).await;
    assert_eq!(generation_of(&app).await, "0.42");
    assert_eq!(app.state.schema.version(), 27);
    // 0.52 on a v18 database: 0.52's answers, and the schema stays at 18.
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let app = TestApp::with_db(db, &[NO_VERIFY, V0_52]).await;
    assert_eq!(generation_of(&app).await, "0.52");
    assert_eq!(app.state.schema.version(), 18);
    assert_eq!(app.get("/user").await.status, 401);
}

#[tokio::test]
async fn an_unknown_generation_is_refused_at_start_up() {
    let err = hasura_auth::config::Config::from_args(["hasura-auth", "--upstream-generation=0.47"])
        .expect_err("refused");
    assert!(err.to_string().contains("0.47"), "{err}");
}

/// Nhost Auth 0.52's request-validator body: `error` and `reason`, nothing else.
fn assert_validation_body(r: &crate::support::app::Reply, error: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], error, "{}", r.text);
    assert!(
        r.body["reason"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.text
    );
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(2), "{}", r.text);
}

#[tokio::test]
async fn malformed_requests_get_the_standard_body_under_0_42() {
    let app = TestApp::with(&[NO_VERIFY, V0_42]).await;
    for (body, what) in [
        ("{\"email\":", "truncated JSON"),
        (
            "{\"email\": 5, \"password\": \"password-123\"}",
            "wrong type",
        ),
        ("{\"password\": \"password-123\"}", "missing field"),
        ("", "no body"),
    ] {
        let r = app
            .post_raw(
                "/signin/email-password",
                body.to_owned(),
                "application/json",
            )
            .await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        assert_eq!(r.body["error"], "invalid-request", "{what}: {}", r.text);
        assert_eq!(r.body["status"], 400, "{what}");
        assert!(r.body["message"].is_string(), "{what}");
    }
    app.get("/verify?redirectTo=http://localhost:3000")
        .await
        .assert_error(400, "invalid-request");
    app.get("/signin/provider/github?locale=toolong")
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn malformed_requests_get_the_validator_bodies_under_0_52() {
    let app = TestApp::with(&[NO_VERIFY, V0_52]).await;
    // Not JSON, or no body at all: the request cannot be checked.
    for body in ["{\"email\":", "not json", ""] {
        let r = app
            .post_raw(
                "/signin/email-password",
                body.to_owned(),
                "application/json",
            )
            .await;
        assert_validation_body(&r, "request-validation-error");
    }
    // Well-formed JSON that breaks the schema.
    for body in [
        json!({"email": 5, "password": "password-123"}),
        json!({"password": "password-123"}),
        json!({"email": "not-an-email", "password": "password-123"}),
        json!({"email": "a@example.com", "password": "password-123", "options": {"locale": "toolong"}}),
    ] {
        let r = app.post("/signup/email-password", body.clone()).await;
        assert_validation_body(&r, "schema-validation-error");
    }
    let r = app
        .post(
            "/signin/passwordless/email",
            json!({"email": ["a@example.com"]}),
        )
        .await;
    assert_validation_body(&r, "schema-validation-error");
    // Query arguments: a required one missing, a value outside the schema.
    let r = app.get("/verify?redirectTo=http://localhost:3000").await;
    assert_validation_body(&r, "request-validation-error");
    let r = app.get("/signin/provider/github?locale=toolong").await;
    assert_validation_body(&r, "schema-validation-error");
    let r = app.get("/signin/provider/nope").await;
    assert_validation_body(&r, "schema-validation-error");
    // Application errors keep the standard body.
    app.post(
        "/signin/email-password",
        json!({"email": "x@example.com", "password": "password-123"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
    // A refused content type is not a validation answer.
    let r = app
        .post_raw("/signin/email-password", "{}".to_owned(), "text/plain")
        .await;
    assert_eq!(r.status, 415, "{}", r.text);
}

/// 0.52's CORS (allow every origin, with credentials, GET/POST, max-age 86400) is what
/// v0.42's reflection already gives: the same headers under both contracts.
#[tokio::test]
async fn cors_is_the_same_under_both_contracts() {
    for generation in [V0_42, V0_52] {
        let app = TestApp::with(&[generation]).await;
        let res = app
            .http
            .request(reqwest::Method::OPTIONS, app.url("/signin/email-password"))
            .header("Origin", "https://app.example.com")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
            .await
            .expect("preflight");
        assert_eq!(res.status(), 204, "{generation}");
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(h["access-control-allow-methods"], "POST, GET");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["access-control-max-age"], "86400");
    }
}
