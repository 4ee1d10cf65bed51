use serde_json::json;

use crate::support::app::TestApp;

const NO_VERIFY: &str = "--email-verification-required=false";

#[tokio::test]
async fn refresh_rotates_the_token_and_keeps_the_row_id() {
    // Without reuse detection the old token is dead at once (tests/api/reuse.rs: with it).
    let app = TestApp::with(&[NO_VERIFY, "--refresh-reuse-detection=false"]).await;
    let s = app.signup("r@example.com", "hunter22").await;
    let first = s["refreshToken"].as_str().unwrap_or_default().to_owned();
    let r = app.post("/token", json!({"refreshToken": first})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A bare Session, not wrapped.
    assert!(r.body.get("session").is_none());
    assert_eq!(r.body["refreshTokenId"], s["refreshTokenId"]);
    assert_ne!(r.body["refreshToken"], first.as_str());
    assert_eq!(r.body["user"]["email"], "r@example.com");
    assert!(r.body["accessToken"].is_string());

    // The old token is dead, the new one works.
    app.post("/token", json!({"refreshToken": first}))
        .await
        .assert_error(401, "invalid-refresh-token");
    let second = r.body["refreshToken"].clone();
    assert_eq!(
        app.post("/token", json!({"refreshToken": second}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn refresh_has_a_sliding_expiry() {
    let app = TestApp::with(&[NO_VERIFY, "--refresh-token-expires-in=60"]).await;
    let s = app.signup("r@example.com", "hunter22").await;
    app.sql("UPDATE auth.refresh_tokens SET expires_at = now() + interval '5 seconds'")
        .await;
    let r = app
        .post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secs: f64 = app
        .db
        .client()
        .await
        .query_one(
            "SELECT extract(epoch FROM expires_at - now())::float8 FROM auth.refresh_tokens",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert!(secs > 50.0 && secs <= 60.0, "{secs}");
}

#[tokio::test]
async fn refresh_rejects_unknown_expired_and_malformed_tokens() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("r@example.com", "hunter22").await;
    app.post(
        "/token",
        json!({"refreshToken": uuid::Uuid::new_v4().to_string()}),
    )
    .await
    .assert_error(401, "invalid-refresh-token");
    app.post("/token", json!({"refreshToken": "not-a-token"}))
        .await
        .assert_error(400, "invalid-request");
    app.post("/token", json!({}))
        .await
        .assert_error(400, "invalid-request");
    app.sql("UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second'")
        .await;
    app.post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await
        .assert_error(401, "invalid-refresh-token");
}

#[tokio::test]
async fn refresh_refuses_disabled_and_unverified_users() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("r@example.com", "hunter22").await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await
        .assert_error(401, "disabled-user");
    // The refused refresh did not consume the token.
    app.sql("UPDATE auth.users SET disabled = false").await;
    assert_eq!(
        app.post("/token", json!({"refreshToken": s["refreshToken"]}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_personal_access_token_is_not_a_refresh_token() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("r@example.com", "hunter22").await;
    let pat = uuid::Uuid::new_v4().to_string();
    app.sql(&format!(
        "INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, type, expires_at) \
         VALUES ('{}', '\\x' || encode(sha256('{pat}'::bytea), 'hex'), 'pat', now() + interval '1 day')",
        s["user"]["id"].as_str().unwrap_or_default()
    ))
    .await;
    app.post("/token", json!({"refreshToken": pat}))
        .await
        .assert_error(401, "invalid-refresh-token");
}

#[tokio::test]
async fn without_reuse_detection_concurrent_refreshes_of_one_token_yield_one_session() {
    let app = TestApp::with(&[NO_VERIFY, "--refresh-reuse-detection=false"]).await;
    let s = app.signup("r@example.com", "hunter22").await;
    let body = json!({"refreshToken": s["refreshToken"]});
    let (a, b) = tokio::join!(
        app.post("/token", body.clone()),
        app.post("/token", body.clone())
    );
    let ok = [a.status.as_u16(), b.status.as_u16()]
        .iter()
        .filter(|s| **s == 200)
        .count();
    assert_eq!(ok, 1, "exactly one refresh wins: {} / {}", a.text, b.text);
}

#[tokio::test]
async fn token_verify_accepts_valid_tokens_and_rejects_forged_ones() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("v@example.com", "hunter22").await;
    let access = s["accessToken"].as_str().unwrap_or_default();
    let r = app.post("/token/verify", json!({"token": access})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!("OK"));
    // Bearer form, no body.
    let r = app.post_auth("/token/verify", access, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let mut forged = access.to_owned();
    forged.pop();
    forged.push(if access.ends_with('A') { 'B' } else { 'A' });
    app.post("/token/verify", json!({"token": forged}))
        .await
        .assert_error(400, "invalid-request");
    app.post("/token/verify", json!({}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn anonymous_sessions_refresh_even_when_verification_is_required() {
    let app = TestApp::with(&["--enable-anonymous-users"]).await;
    let r = app.post("/signin/anonymous", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refreshed = app
        .post(
            "/token",
            json!({"refreshToken": r.body["session"]["refreshToken"]}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(refreshed.body["user"]["isAnonymous"], true);
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db
        .client()
        .await
        .query_one(sql, &[])
        .await
        .expect("count")
        .get(0)
}

/// Expired refresh tokens are deleted now and then during normal traffic (upstream
/// 0.43.2), in the background and at most 1000 rows per sweep; live tokens stay.
#[tokio::test]
async fn expired_refresh_tokens_are_swept_in_bounded_batches() {
    let app = TestApp::with(&[NO_VERIFY, "--expired-session-cleanup-one-in=1"]).await;
    let s = app.signup("sweep@example.com", "hunter22").await;
    app.sql(
        "INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, expires_at) \
           SELECT id, md5(g::text), now() - interval '1 day' \
           FROM auth.users, generate_series(1, 1200) g; \
         INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, type, expires_at) \
           SELECT id, md5('pat'), 'pat', now() - interval '1 second' FROM auth.users; \
         INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, type, expires_at) \
           SELECT id, md5('live pat'), 'pat', now() + interval '1 day' FROM auth.users;",
    )
    .await;
    const EXPIRED: &str = "SELECT count(*) FROM auth.refresh_tokens WHERE expires_at < now()";
    let mut seen = vec![count(&app, EXPIRED).await];
    assert_eq!(seen, [1201]);
    let mut refresh = s["refreshToken"].as_str().unwrap_or_default().to_owned();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut sign_in = true;
    while seen.last() != Some(&0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not swept: {seen:?}"
        );
        // Both sign-ins and refreshes trigger a sweep.
        if sign_in {
            let r = app
                .post(
                    "/signin/email-password",
                    json!({"email": "sweep@example.com", "password": "hunter22"}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        } else {
            let r = app.post("/token", json!({"refreshToken": refresh})).await;
            assert_eq!(r.status, 200, "{}", r.text);
            refresh = r.body["refreshToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        sign_in = !sign_in;
        // A sweep runs after the response; wait for it to show.
        for _ in 0..40 {
            let n = count(&app, EXPIRED).await;
            if Some(&n) != seen.last() {
                seen.push(n);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    assert_eq!(seen, [1201, 201, 0], "one batch of 1000, then the rest");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM auth.refresh_tokens WHERE type = 'pat'"
        )
        .await,
        1,
        "the live personal access token stays"
    );
    let sessions = count(
        &app,
        "SELECT count(*) FROM auth.refresh_tokens WHERE type = 'regular'",
    )
    .await;
    assert!(
        sessions >= 2,
        "the sign-up's and the sign-ins' sessions stay: {sessions}"
    );
    let r = app.post("/token", json!({"refreshToken": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
