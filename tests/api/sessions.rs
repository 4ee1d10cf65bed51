//! `GET /user/sessions` and `POST /user/sessions/revoke`.

use serde_json::{Value, json};

use crate::support::app::{Reply, TestApp};

const NO_VERIFY: &str = "--email-verification-required=false";

async fn signin_as(app: &TestApp, email: &str, user_agent: &str, forwarded_for: &str) -> Value {
    let res = app
        .http
        .post(app.url("/signin/email-password"))
        .header("user-agent", user_agent)
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": "hunter22"}))
        .send()
        .await
        .expect("request");
    let r = Reply::read(res).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["session"].clone()
}

fn access(session: &Value) -> &str {
    session["accessToken"].as_str().unwrap_or_default()
}

async fn list(app: &TestApp, session: &Value) -> Vec<Value> {
    let r = app.get_auth("/user/sessions", access(session)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.as_array().cloned().unwrap_or_default()
}

fn ids(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["id"].as_str().unwrap_or_default())
        .collect()
}

async fn refresh_status(app: &TestApp, session: &Value) -> u16 {
    app.post("/token", json!({"refreshToken": session["refreshToken"]}))
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn the_list_shows_each_session_with_its_client_and_marks_the_callers() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let first = app.signup("list@example.com", "hunter22").await;
    let laptop = signin_as(&app, "list@example.com", "Laptop/1.0", "203.0.113.9").await;
    let pat = app
        .post_auth(
            "/pat",
            access(&laptop),
            json!({"expiresAt": "2099-01-01T00:00:00Z", "metadata": {"name": "ci"}}),
        )
        .await;
    assert_eq!(pat.status, 200, "{}", pat.text);
    // An expired session is not listed.
    let old = signin_as(&app, "list@example.com", "Old/1.0", "203.0.113.9").await;
    app.sql(&format!(
        "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        old["refreshTokenId"].as_str().unwrap_or_default()
    ))
    .await;

    let entries = list(&app, &laptop).await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    // Newest first.
    assert_eq!(
        ids(&entries),
        [
            pat.body["id"].as_str().unwrap_or_default(),
            laptop["refreshTokenId"].as_str().unwrap_or_default(),
            first["refreshTokenId"].as_str().unwrap_or_default(),
        ]
    );
    let (p, l, f) = (&entries[0], &entries[1], &entries[2]);
    assert_eq!(l["current"], true);
    assert_eq!(f["current"], false);
    assert_eq!(p["current"], false);
    assert_eq!(l["type"], "regular");
    assert_eq!(p["type"], "pat");
    assert_eq!(p["metadata"], json!({"name": "ci"}));
    assert!(l.get("metadata").is_none());
    assert_eq!(l["userAgent"], "Laptop/1.0");
    // X-Forwarded-For from a peer that is not a trusted proxy is ignored.
    assert_eq!(l["ip"], "127.0.0.1");
    assert_eq!(f["ip"], "127.0.0.1");
    assert!(p["lastUsedAt"].is_null());
    assert_eq!(l["lastUsedAt"], l["createdAt"]);
    for e in &entries {
        for field in ["createdAt", "expiresAt"] {
            let t = e[field].as_str().unwrap_or_default();
            assert!(
                chrono::DateTime::parse_from_rfc3339(t).is_ok(),
                "{field}: {t}"
            );
        }
    }

    // A refreshed access token still names its session; the refresh is its last use.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let refreshed = app
        .post("/token", json!({"refreshToken": laptop["refreshToken"]}))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let entries = list(&app, &refreshed.body).await;
    let l = &entries[1];
    assert_eq!(l["current"], true);
    assert_ne!(l["lastUsedAt"], l["createdAt"]);
    // The sign-up's own access token marks the sign-up's session.
    let entries = list(&app, &first).await;
    assert_eq!(entries[2]["current"], true);
    assert_eq!(entries[1]["current"], false);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_recorded() {
    let app = TestApp::with(&[NO_VERIFY, "--trusted-proxies=127.0.0.1"]).await;
    app.signup("proxy@example.com", "hunter22").await;
    let long_agent = "A".repeat(2000);
    let s = signin_as(&app, "proxy@example.com", &long_agent, "198.51.100.7").await;
    let entries = list(&app, &s).await;
    let mine = entries
        .iter()
        .find(|e| e["current"] == true)
        .expect("current");
    assert_eq!(mine["ip"], "198.51.100.7");
    // The user agent is kept, cut to a bounded length.
    assert_eq!(mine["userAgent"], "A".repeat(512));
}

#[tokio::test]
async fn revoking_one_session_ends_it_and_leaves_the_others() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let first = app.signup("one@example.com", "hunter22").await;
    let second = signin_as(&app, "one@example.com", "B/1", "x").await;
    let r = app
        .post_auth(
            "/user/sessions/revoke",
            access(&second),
            json!({"sessionId": first["refreshTokenId"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    assert_eq!(refresh_status(&app, &first).await, 401);
    let entries = list(&app, &second).await;
    assert_eq!(
        ids(&entries),
        [second["refreshTokenId"].as_str().unwrap_or_default()]
    );
    assert_eq!(refresh_status(&app, &second).await, 200);
    // Gone is gone: a second revocation of the same id is a 404.
    app.post_auth(
        "/user/sessions/revoke",
        access(&second),
        json!({"sessionId": first["refreshTokenId"]}),
    )
    .await
    .assert_error(404, "invalid-request");
    // Our own rows about it went with it.
    let left: i64 = app
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM hasura_auth.session_clients WHERE refresh_token_id = $1",
            &[
                &uuid::Uuid::parse_str(first["refreshTokenId"].as_str().unwrap_or_default())
                    .expect("uuid"),
            ],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn revoking_the_others_keeps_the_current_session_and_the_pats() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let first = app.signup("others@example.com", "hunter22").await;
    let second = signin_as(&app, "others@example.com", "B/1", "x").await;
    let third = signin_as(&app, "others@example.com", "C/1", "x").await;
    let pat = app
        .post_auth(
            "/pat",
            access(&third),
            json!({"expiresAt": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(pat.status, 200, "{}", pat.text);
    let r = app
        .post_auth(
            "/user/sessions/revoke",
            access(&second),
            json!({"others": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(refresh_status(&app, &first).await, 401);
    assert_eq!(refresh_status(&app, &third).await, 401);
    let entries = list(&app, &second).await;
    assert_eq!(
        ids(&entries),
        [
            pat.body["id"].as_str().unwrap_or_default(),
            second["refreshTokenId"].as_str().unwrap_or_default()
        ]
    );
    assert_eq!(refresh_status(&app, &second).await, 200);
    // The PAT is revoked by its id, like a session.
    let r = app
        .post_auth(
            "/user/sessions/revoke",
            access(&second),
            json!({"sessionId": pat.body["id"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post(
        "/signin/pat",
        json!({"personalAccessToken": pat.body["personalAccessToken"]}),
    )
    .await
    .assert_error(401, "invalid-pat");
}

#[tokio::test]
async fn another_users_session_cannot_be_seen_or_revoked() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let alice = app.signup("alice@example.com", "hunter22").await;
    let mallory = app.signup("mallory@example.com", "hunter22").await;
    let entries = list(&app, &mallory).await;
    assert_eq!(
        ids(&entries),
        [mallory["refreshTokenId"].as_str().unwrap_or_default()]
    );
    // Indistinguishable from an id nobody has.
    let theirs = app
        .post_auth(
            "/user/sessions/revoke",
            access(&mallory),
            json!({"sessionId": alice["refreshTokenId"]}),
        )
        .await;
    theirs.assert_error(404, "invalid-request");
    let nobodys = app
        .post_auth(
            "/user/sessions/revoke",
            access(&mallory),
            json!({"sessionId": uuid::Uuid::new_v4()}),
        )
        .await;
    nobodys.assert_error(404, "invalid-request");
    assert_eq!(theirs.body["message"], nobodys.body["message"]);
    // "others" means the caller's others.
    let r = app
        .post_auth(
            "/user/sessions/revoke",
            access(&mallory),
            json!({"others": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(refresh_status(&app, &alice).await, 200);
}

#[tokio::test]
async fn hostile_and_malformed_requests_are_refused() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("hostile@example.com", "hunter22").await;
    for body in [
        json!({}),
        json!({"others": false}),
        json!({"others": true, "sessionId": s["refreshTokenId"]}),
        json!({"sessionId": "not-a-uuid"}),
        json!({"sessionId": "' OR 1=1 --"}),
        json!({"sessionId": null, "others": null}),
        json!({"others": "true"}),
        json!({"sessionId": s["refreshTokenId"], "userId": uuid::Uuid::new_v4()}),
        json!([s["refreshTokenId"]]),
    ] {
        app.post_auth("/user/sessions/revoke", access(&s), body.clone())
            .await
            .assert_error(400, "invalid-request");
    }
    // Not JSON.
    let r = app
        .http
        .post(app.url("/user/sessions/revoke"))
        .bearer_auth(access(&s))
        .header("content-type", "text/plain")
        .body(format!("sessionId={}", s["refreshTokenId"]))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 415);
    // No token, a bad token.
    for token in [None, Some("garbage")] {
        let mut req = app.http.get(app.url("/user/sessions"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = Reply::read(req.send().await.expect("request")).await;
        r.assert_error(400, "invalid-request");
    }
    // Nothing was revoked along the way.
    assert_eq!(refresh_status(&app, &s).await, 200);
}

#[tokio::test]
async fn an_access_token_naming_no_session_cannot_revoke_the_others() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("legacy@example.com", "hunter22").await;
    let other = signin_as(&app, "legacy@example.com", "B/1", "x").await;
    // As issued before the session claim existed (or by upstream).
    let user_id =
        uuid::Uuid::parse_str(s["user"]["id"].as_str().unwrap_or_default()).expect("uuid");
    let roles = vec!["user".to_owned()];
    let legacy = app
        .state
        .jwt
        .sign(
            &hasura_auth::tokens::AccessClaims {
                user_id,
                allowed_roles: &roles,
                default_role: "user",
                is_anonymous: false,
                extra: &[],
                elevated: false,
            },
            900,
        )
        .expect("sign");
    let entries = app.get_auth("/user/sessions", &legacy).await;
    assert_eq!(entries.status, 200, "{}", entries.text);
    assert!(
        entries
            .body
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|e| e["current"] == false))
    );
    app.post_auth("/user/sessions/revoke", &legacy, json!({"others": true}))
        .await
        .assert_error(400, "invalid-request");
    assert_eq!(refresh_status(&app, &s).await, 200);
    assert_eq!(refresh_status(&app, &other).await, 200);
    // Naming one still works.
    let r = app
        .post_auth(
            "/user/sessions/revoke",
            &legacy,
            json!({"sessionId": other["refreshTokenId"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn revoking_needs_the_elevated_claim_where_the_policy_says_so() {
    let app = TestApp::with(&[NO_VERIFY, "--require-elevated-claim=required"]).await;
    let s = app.signup("elevated@example.com", "hunter22").await;
    let r = app.get_auth("/user/sessions", access(&s)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post_auth(
        "/user/sessions/revoke",
        access(&s),
        json!({"sessionId": s["refreshTokenId"]}),
    )
    .await
    .assert_error(400, "elevated-claim-required");
    assert_eq!(refresh_status(&app, &s).await, 200);
}

#[tokio::test]
async fn access_tokens_name_their_session() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("claim@example.com", "hunter22").await;
    let verified = app.state.jwt.verify(access(&s)).expect("verifies");
    assert_eq!(
        verified.claims.get("x-hasura-auth-session-id"),
        Some(&s["refreshTokenId"])
    );
}
