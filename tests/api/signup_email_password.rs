use serde_json::json;

use crate::support::app::TestApp;

const NO_VERIFY: &str = "--email-verification-required=false";

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("jwt payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json payload")
}

#[tokio::test]
async fn signup_returns_a_session_with_upstream_claims_when_verification_is_off() {
    let app = TestApp::with(&[NO_VERIFY, "--default-allowed-roles=me,user,editor"]).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "Joe@Example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["session"];
    assert_eq!(s["accessTokenExpiresIn"], 900);
    assert!(
        s["refreshToken"]
            .as_str()
            .is_some_and(|t| uuid::Uuid::parse_str(t).is_ok())
    );
    assert!(
        s["refreshTokenId"]
            .as_str()
            .is_some_and(|t| uuid::Uuid::parse_str(t).is_ok())
    );
    let user = &s["user"];
    assert_eq!(user["email"], "Joe@Example.com");
    assert_eq!(user["displayName"], "Joe@Example.com");
    assert_eq!(user["defaultRole"], "user");
    assert_eq!(user["roles"], json!(["me", "user", "editor"]));
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["isAnonymous"], false);
    assert_eq!(user["locale"], "en");
    assert_eq!(
        user["metadata"],
        json!({}),
        "the contract says object, even when none was given"
    );
    assert_eq!(user["activeMfaType"], json!(null));
    assert!(user.get("phoneNumber").is_none());
    assert!(user["avatarUrl"].as_str().is_some_and(|u| {
        u.starts_with("https://www.gravatar.com/avatar/") && u.ends_with("?d=blank&r=g")
    }));

    let c = claims(s["accessToken"].as_str().expect("token"));
    assert_eq!(c["iss"], "hasura-auth");
    assert_eq!(c["sub"], user["id"]);
    assert_eq!(
        c["exp"].as_i64().unwrap_or(0) - c["iat"].as_i64().unwrap_or(0),
        900
    );
    let h = &c["https://hasura.io/jwt/claims"];
    assert_eq!(h["x-hasura-allowed-roles"], json!(["me", "user", "editor"]));
    assert_eq!(h["x-hasura-default-role"], "user");
    assert_eq!(h["x-hasura-user-id"], user["id"]);
    assert_eq!(h["x-hasura-user-is-anonymous"], "false");

    // Stored as upstream stores it: bcrypt $2a$ cost 10, hashed refresh token, roles rows.
    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT password_hash, last_seen IS NOT NULL FROM auth.users",
            &[],
        )
        .await
        .expect("user row");
    let hash: String = row.get(0);
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    let stored: String = db
        .query_one("SELECT refresh_token_hash FROM auth.refresh_tokens", &[])
        .await
        .expect("token row")
        .get(0);
    let expected = db
        .query_one(
            "SELECT '\\x' || encode(sha256($1::text::bytea), 'hex')",
            &[&s["refreshToken"].as_str().unwrap_or_default()],
        )
        .await
        .expect("hash")
        .get::<_, String>(0);
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn signup_applies_every_option() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--default-allowed-roles=me,user,editor",
        "--allowed-locales=en,fr",
        "--allow-redirect-urls=https://app.example.com",
    ])
    .await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "opt@example.com", "password": "hunter22", "options": {
                "allowedRoles": ["me", "editor"], "defaultRole": "editor", "displayName": "Jöe O'Neil",
                "locale": "fr", "metadata": {"plan": "pro", "n": 1}, "redirectTo": "https://app.example.com/welcome"
            }}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["roles"], json!(["me", "editor"]));
    assert_eq!(user["defaultRole"], "editor");
    assert_eq!(user["displayName"], "Jöe O'Neil");
    assert_eq!(user["locale"], "fr");
    assert_eq!(user["metadata"], json!({"plan": "pro", "n": 1}));
}

#[tokio::test]
async fn signup_falls_back_to_the_default_locale_silently() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "l@example.com", "password": "hunter22", "options": {"locale": "xx"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["locale"], "en");
}

#[tokio::test]
async fn signup_option_errors() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let cases = [
        (json!({"allowedRoles": ["admin"]}), 400, "role-not-allowed"),
        (
            json!({"allowedRoles": ["me"], "defaultRole": "user"}),
            400,
            "default-role-must-be-in-allowed-roles",
        ),
        (
            json!({"allowedRoles": []}),
            400,
            "default-role-must-be-in-allowed-roles",
        ),
        (
            json!({"redirectTo": "https://evil.example.com"}),
            400,
            "redirectTo-not-allowed",
        ),
        (
            json!({"displayName": "<script>alert(1)</script>"}),
            400,
            "invalid-request",
        ),
        (
            json!({"displayName": "a".repeat(33)}),
            400,
            "invalid-request",
        ),
        (json!({"locale": "engl"}), 400, "invalid-request"),
        (json!({"unknown": true}), 400, "invalid-request"),
        (json!({"metadata": "not-an-object"}), 400, "invalid-request"),
    ];
    for (i, (options, status, code)) in cases.into_iter().enumerate() {
        let r = app
            .post(
                "/signup/email-password",
                json!({"email": format!("o{i}@example.com"), "password": "hunter22", "options": options}),
            )
            .await;
        r.assert_error(status, code);
    }
    let db = app.db.client().await;
    let n: i64 = db
        .query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0, "no user is created by a rejected sign-up");
}

#[tokio::test]
async fn signup_duplicate_email_is_a_conflict_case_insensitively() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    app.signup("dup@example.com", "hunter22").await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "DUP@example.com", "password": "hunter22"}),
        )
        .await;
    r.assert_error(409, "email-already-in-use");
}

#[tokio::test]
async fn signup_disabled_is_forbidden() {
    let app = TestApp::with(&[NO_VERIFY, "--disable-signup=true"]).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "x@example.com", "password": "hunter22"}),
        )
        .await;
    r.assert_error(403, "signup-disabled");
}

#[tokio::test]
async fn signup_with_new_users_disabled_creates_a_disabled_user() {
    let app = TestApp::with(&[NO_VERIFY, "--disable-new-users"]).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "x@example.com", "password": "hunter22"}),
        )
        .await;
    r.assert_error(401, "disabled-user");
    let db = app.db.client().await;
    let disabled: bool = db
        .query_one(
            "SELECT disabled FROM auth.users WHERE email = 'x@example.com'",
            &[],
        )
        .await
        .expect("user")
        .get(0);
    assert!(disabled);
}

#[tokio::test]
async fn signup_respects_email_allow_and_block_lists() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--allowed-email-domains=good.com",
        "--block-emails=bad@good.com",
    ])
    .await;
    let ok = app
        .post(
            "/signup/email-password",
            json!({"email": "me@good.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    for email in ["bad@good.com", "me@other.com"] {
        app.post(
            "/signup/email-password",
            json!({"email": email, "password": "hunter22"}),
        )
        .await
        .assert_error(401, "invalid-email-password");
    }
}

#[tokio::test]
async fn signup_enforces_the_minimum_password_length_in_bytes() {
    let app = TestApp::with(&[NO_VERIFY, "--password-min-length=8"]).await;
    app.post(
        "/signup/email-password",
        json!({"email": "p@example.com", "password": "short"}),
    )
    .await
    .assert_error(400, "password-too-short");
    // The contract caps passwords at 50 characters.
    app.post(
        "/signup/email-password",
        json!({"email": "p@example.com", "password": "x".repeat(51)}),
    )
    .await
    .assert_error(400, "invalid-request");
    app.post(
        "/signup/email-password",
        json!({"email": "p@example.com", "password": "ab"}),
    )
    .await
    .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn signup_with_verification_required_returns_no_session() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "v@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({}));
    let db = app.db.client().await;
    let row = db
        .query_one("SELECT email_verified, ticket FROM auth.users", &[])
        .await
        .expect("user");
    assert!(!row.get::<_, bool>(0));
    let ticket: String = row.get(1);
    assert!(
        ticket.starts_with("verifyEmail:sha256:"),
        "ticket stored hashed: {ticket}"
    );
    // And signing in is refused until the address is verified.
    app.post(
        "/signin/email-password",
        json!({"email": "v@example.com", "password": "hunter22"}),
    )
    .await
    .assert_error(401, "unverified-user");
}

#[tokio::test]
async fn gravatar_can_be_disabled_or_tuned() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--gravatar-default=retro",
        "--gravatar-rating=pg",
    ])
    .await;
    let s = app.signup("Grav@Example.com", "hunter22").await;
    assert_eq!(
        s["user"]["avatarUrl"],
        format!(
            "https://www.gravatar.com/avatar/{}?d=retro&r=pg",
            hex::encode(<md5::Md5 as md5::Digest>::digest(b"grav@example.com"))
        )
    );
    let app = TestApp::with(&[NO_VERIFY, "--gravatar-enabled=false"]).await;
    let s = app.signup("g@example.com", "hunter22").await;
    assert_eq!(s["user"]["avatarUrl"], "");
}
