//! The device authorization grant (RFC 8628, docs/oidc-provider.md#device-flow):
//! `POST /oauth2/device`, the verification page's API (`GET|POST /oauth2/device/verify`)
//! and the device-code grant of `POST /oauth2/token`, end to end.

use serde_json::{Value, json};

use crate::common::*;
use crate::grants::*;
use crate::support::app::{Reply, TestApp};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// `POST /oauth2/device`.
async fn device(app: &TestApp, auth: Auth<'_>, scope: Option<&str>) -> Reply {
    let mut fields = Vec::new();
    if let Some(s) = scope {
        fields.push(("scope", s));
    }
    post_form(app, "/oauth2/device", auth, &fields).await
}

/// `POST /oauth2/device`, which must succeed: `(device_code, user_code)`.
async fn codes(app: &TestApp, auth: Auth<'_>, scope: Option<&str>) -> (String, String) {
    let r = device(app, auth, scope).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (text(&r.body, "device_code"), text(&r.body, "user_code"))
}

/// One poll of the token endpoint.
async fn poll(app: &TestApp, auth: Auth<'_>, device_code: &str) -> Reply {
    post_form(
        app,
        "/oauth2/token",
        auth,
        &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
    )
    .await
}

/// Forgets the last poll, so that the next one is not too fast.
async fn rest(app: &TestApp) {
    app.sql("UPDATE hasura_auth.oauth2_device_codes SET last_polled_at = NULL")
        .await;
}

async fn verify_get(app: &TestApp, user_code: &str) -> Reply {
    let q = form(&[("user_code", user_code)]);
    app.get(&format!("/oauth2/device/verify?{q}")).await
}

async fn verify_post(app: &TestApp, token: &str, user_code: &str, action: &str) -> Reply {
    app.post_auth(
        "/oauth2/device/verify",
        token,
        json!({"userCode": user_code, "action": action}),
    )
    .await
}

/// Asserts the usual (non-OAuth2) error body with its message.
#[track_caller]
fn assert_ui_error(r: &Reply, status: u16, message: &str) {
    r.assert_error(status, "invalid-request");
    assert_eq!(r.body["message"], message, "{}", r.text);
}

#[tokio::test]
async fn full_flow_with_a_confidential_client() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (user, token) = signed_in_user(&app, "tv@example.com").await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);

    let r = device(&app, basic, Some("openid email graphql")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_store(&r);
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "device_code",
            "expires_in",
            "interval",
            "user_code",
            "verification_uri",
            "verification_uri_complete"
        ]
    );
    assert_eq!(r.body["expires_in"], 600);
    assert_eq!(r.body["interval"], 5);
    let device_code = text(&r.body, "device_code");
    assert_eq!(device_code.len(), 43, "256 bits, base64url: {device_code}");
    let user_code = text(&r.body, "user_code");
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| ALPHABET.contains(c)),
        "{user_code}"
    );
    assert_eq!(
        r.body["verification_uri"],
        "http://localhost:3000/oauth2/device"
    );
    assert_eq!(
        r.body["verification_uri_complete"],
        format!("http://localhost:3000/oauth2/device?user_code={user_code}")
    );
    // Stored hashed: neither code appears in clear.
    let row = app
        .db
        .client()
        .await
        .query_one(
            "SELECT device_code_hash, user_code_hash, status, scopes, \
               expires_at BETWEEN now() + interval '599 seconds' AND now() + interval '601 seconds' \
             FROM hasura_auth.oauth2_device_codes",
            &[],
        )
        .await
        .expect("one device code");
    assert_eq!(row.get::<_, String>(0), sha256_hex(&device_code));
    assert_eq!(
        row.get::<_, String>(1),
        sha256_hex(&user_code.replace('-', ""))
    );
    assert_eq!(row.get::<_, String>(2), "pending");
    assert_eq!(row.get::<_, Vec<String>>(3), ["openid", "email", "graphql"]);
    assert!(row.get::<_, bool>(4));

    // Polling before approval, then too fast.
    let r = poll(&app, basic, &device_code).await;
    assert_oauth2_error(
        &r,
        400,
        "authorization_pending",
        "The user has not approved the request yet",
    );
    assert_no_store(&r);
    let r = poll(&app, basic, &device_code).await;
    assert_eq!(r.body["error"], "slow_down", "{}", r.text);
    let interval: i32 = app
        .db
        .client()
        .await
        .query_one(
            "SELECT interval_secs FROM hasura_auth.oauth2_device_codes",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(interval, 10, "slow_down adds five seconds");
    // Too fast again: the interval keeps growing.
    let r = poll(&app, basic, &device_code).await;
    assert_eq!(r.body["error"], "slow_down", "{}", r.text);
    rest(&app).await;
    let r = poll(&app, basic, &device_code).await;
    assert_eq!(r.body["error"], "authorization_pending", "{}", r.text);

    // The verification page: any case, dash optional.
    let typed = user_code.replace('-', "").to_lowercase();
    let r = verify_get(&app, &typed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"userCode": user_code, "clientId": client, "scopes": ["openid", "email", "graphql"]})
    );
    let spaced = format!(" {} {} ", &user_code[..4], &user_code[5..]);
    let r = verify_post(&app, &token, &spaced, "approve").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"userCode": user_code, "clientId": client, "status": "approved"})
    );
    // Decided once.
    let r = verify_post(&app, &token, &user_code, "deny").await;
    assert_ui_error(&r, 400, "User code already used");
    let r = verify_get(&app, &user_code).await;
    assert_ui_error(&r, 400, "User code already used");

    // The tokens, as the code grant issues them (no nonce).
    rest(&app).await;
    let r = poll(&app, basic, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_store(&r);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["scope"], "openid email graphql");
    let access = verified(&app, &text(&r.body, "access_token")).await;
    assert_eq!(access["sub"], user.as_str());
    assert_eq!(access["aud"], client.as_str());
    assert_eq!(access["scope"], "openid email graphql");
    let hasura = &access["https://hasura.io/jwt/claims"];
    assert_eq!(hasura["x-hasura-user-id"], user.as_str(), "{access}");
    assert_eq!(hasura["x-hasura-default-role"], "user", "{access}");
    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert_eq!(id["sub"], user.as_str());
    assert_eq!(id["aud"], client.as_str());
    assert_eq!(id["email"], "tv@example.com");
    assert!(id.get("nonce").is_none(), "{id}");
    assert!(id.get("name").is_none(), "no profile scope: {id}");
    let now = chrono::Utc::now().timestamp();
    let auth_time = id["auth_time"].as_i64().expect("auth_time: the approval");
    assert!((now - 10..=now).contains(&auth_time), "{id}");

    // The refresh token works like any other.
    let refreshed = refresh(&app, basic, &text(&r.body, "refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(refreshed.body["scope"], "openid email graphql");

    // The device code is spent.
    let again = poll(&app, basic, &device_code).await;
    assert_oauth2_error(&again, 400, "invalid_grant", "Invalid device code");
    let left: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM hasura_auth.oauth2_device_codes", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_public_client_needs_no_secret_nor_pkce() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let (user, token) = signed_in_user(&app, "cli@example.com").await;
    let (device_code, user_code) = codes(&app, Auth::Id(&client), None).await;
    let r = verify_get(&app, &user_code).await;
    assert_eq!(
        r.body["scopes"],
        json!(["openid"]),
        "default scope: {}",
        r.text
    );
    assert_eq!(
        verify_post(&app, &token, &user_code, "approve")
            .await
            .status,
        200
    );
    // A public client presenting a secret is refused.
    let r = poll(&app, Auth::Post(&client, "anything"), &device_code).await;
    assert_oauth2_error(
        &r,
        401,
        "invalid_client",
        "Public clients authenticate without a secret",
    );
    let r = poll(&app, Auth::Id(&client), &device_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["scope"], "openid");
    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert_eq!(id["sub"], user.as_str());
    assert!(id.get("email").is_none(), "{id}");
    // Without openid: no ID token.
    let client2 = insert_client(&app, None, &[REDIRECT_URI], Some(&["email"])).await;
    let (device_code, user_code) = codes(&app, Auth::Id(&client2), Some("email")).await;
    assert_eq!(
        verify_post(&app, &token, &user_code, "approve")
            .await
            .status,
        200
    );
    let r = poll(&app, Auth::Id(&client2), &device_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("id_token").is_none(), "{}", r.text);
}

#[tokio::test]
async fn denial_is_access_denied_until_expiry() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (_, token) = signed_in_user(&app, "no@example.com").await;
    let auth = Auth::Post(&client, CLIENT_SECRET);
    let (device_code, user_code) = codes(&app, auth, Some("openid profile")).await;
    let r = verify_post(&app, &token, &user_code, "deny").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "denied");
    let r = poll(&app, auth, &device_code).await;
    assert_oauth2_error(
        &r,
        400,
        "access_denied",
        "The user denied the authorization request",
    );
    // Polled again (even too fast): still denied, never slow_down nor tokens.
    let r = poll(&app, auth, &device_code).await;
    assert_eq!(r.body["error"], "access_denied", "{}", r.text);
    let r = verify_post(&app, &token, &user_code, "approve").await;
    assert_ui_error(&r, 400, "User code already used");
    let r = poll(&app, auth, &device_code).await;
    assert_eq!(r.body["error"], "access_denied", "{}", r.text);
}

#[tokio::test]
async fn expired_codes_are_expired_token() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (_, token) = signed_in_user(&app, "late@example.com").await;
    let auth = Auth::Basic(&client, CLIENT_SECRET);
    let (device_code, user_code) = codes(&app, auth, None).await;
    app.sql("UPDATE hasura_auth.oauth2_device_codes SET expires_at = now() - interval '1 second'")
        .await;
    let r = poll(&app, auth, &device_code).await;
    assert_oauth2_error(&r, 400, "expired_token", "The device code expired");
    assert_ui_error(
        &verify_get(&app, &user_code).await,
        400,
        "User code expired",
    );
    assert_ui_error(
        &verify_post(&app, &token, &user_code, "approve").await,
        400,
        "User code expired",
    );
    // Approved, then expired before the poll: expired too.
    let (device_code, user_code) = codes(&app, auth, None).await;
    assert_eq!(
        verify_post(&app, &token, &user_code, "approve")
            .await
            .status,
        200
    );
    app.sql(
        "UPDATE hasura_auth.oauth2_device_codes SET expires_at = now() - interval '1 second' \
         WHERE status = 'approved'",
    )
    .await;
    let r = poll(&app, auth, &device_code).await;
    assert_eq!(r.body["error"], "expired_token", "{}", r.text);
    assert_eq!(
        app.db
            .client()
            .await
            .query_one("SELECT count(*) FROM auth.oauth2_refresh_tokens", &[])
            .await
            .expect("count")
            .get::<_, i64>(0),
        0
    );
}

#[tokio::test]
async fn concurrent_polls_yield_tokens_once() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (_, token) = signed_in_user(&app, "race@example.com").await;
    let auth = Auth::Basic(&client, CLIENT_SECRET);
    let (device_code, user_code) = codes(&app, auth, None).await;
    assert_eq!(
        verify_post(&app, &token, &user_code, "approve")
            .await
            .status,
        200
    );
    let polls = (0..8).map(|_| poll(&app, auth, &device_code));
    let replies = futures_util::future::join_all(polls).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_oauth2_error(r, 400, "invalid_grant", "Invalid device code");
    }
    let tokens: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM auth.oauth2_refresh_tokens", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(tokens, 1);
}

#[tokio::test]
async fn concurrent_decisions_decide_once() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (_, token) = signed_in_user(&app, "both@example.com").await;
    let (_, user_code) = codes(&app, Auth::Basic(&client, CLIENT_SECRET), None).await;
    let decisions = (0..6).map(|i| {
        let action = if i % 2 == 0 { "approve" } else { "deny" };
        verify_post(&app, &token, &user_code, action)
    });
    let replies = futures_util::future::join_all(decisions).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn client_authentication_at_both_endpoints() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let other = confidential_client(&app).await;

    // The device authorization endpoint.
    let r = device(&app, Auth::Id(&client), None).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Client secret is required");
    assert!(
        r.headers.get("www-authenticate").is_some(),
        "{:?}",
        r.headers
    );
    assert_no_store(&r);
    let r = device(&app, Auth::Basic(&client, "wrong"), None).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Invalid client credentials");
    let r = device(&app, Auth::Post(&client, "wrong"), None).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Invalid client credentials");
    let r = device(&app, Auth::Id("nhoa_0000000000000000"), None).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Unknown client");
    let r = device(&app, Auth::None, None).await;
    assert_oauth2_error(&r, 400, "invalid_request", "client_id is required");
    // Both ways at once.
    let r = app
        .http
        .post(app.url("/oauth2/device"))
        .header("content-type", "application/x-www-form-urlencoded")
        .basic_auth(&client, Some(CLIENT_SECRET))
        .body(form(&[("client_secret", CLIENT_SECRET)]))
        .send()
        .await
        .expect("request");
    let r = Reply::read(r).await;
    assert_eq!(r.body["error"], "invalid_request", "{}", r.text);
    let none: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM hasura_auth.oauth2_device_codes", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(none, 0, "no code for a refused client");

    // The token endpoint: the code's own client, authenticated.
    let (device_code, _) = codes(&app, Auth::Basic(&client, CLIENT_SECRET), None).await;
    let r = poll(&app, Auth::Basic(&client, "wrong"), &device_code).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Invalid client credentials");
    let r = poll(&app, Auth::Id(&client), &device_code).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Client secret is required");
    let r = poll(&app, Auth::Basic(&other, CLIENT_SECRET), &device_code).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Client ID mismatch");
    let r = poll(&app, Auth::None, &device_code).await;
    assert_oauth2_error(&r, 401, "invalid_client", "client_id is required");
    // Refused polls did not count as polls: the next one is not too fast.
    let r = poll(&app, Auth::Basic(&client, CLIENT_SECRET), &device_code).await;
    assert_eq!(r.body["error"], "authorization_pending", "{}", r.text);
    // A deleted client's codes are unknown.
    app.sql(&format!(
        "DELETE FROM auth.oauth2_clients WHERE client_id = '{client}'"
    ))
    .await;
    let r = poll(&app, Auth::Basic(&client, CLIENT_SECRET), &device_code).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid device code");
}

#[tokio::test]
async fn scopes_follow_the_authorization_rules() {
    let app = provider_app(&[]).await;
    let narrow = insert_client(&app, None, &[REDIRECT_URI], Some(&["openid", "graphql"])).await;
    let auth = Auth::Id(&narrow);
    let r = device(&app, auth, Some("openid email")).await;
    assert_oauth2_error(
        &r,
        400,
        "invalid_scope",
        "Scope not allowed for this client: email",
    );
    let r = device(&app, auth, Some("openid admin")).await;
    assert_oauth2_error(&r, 400, "invalid_scope", "Unsupported scope: admin");
    let r = device(&app, auth, Some("graphql graphql:role:user")).await;
    assert_eq!(r.body["error"], "invalid_scope", "{}", r.text);
    let r = device(&app, auth, Some(&"openid ".repeat(1000))).await;
    assert_oauth2_error(&r, 400, "invalid_request", "scope is too long");
    // A role scope the user lacks: refused at the token endpoint, as for the code grant.
    let (_, token) = signed_in_user(&app, "role@example.com").await;
    let (device_code, user_code) = codes(&app, auth, Some("openid graphql:role:admin")).await;
    assert_eq!(
        verify_post(&app, &token, &user_code, "approve")
            .await
            .status,
        200
    );
    let r = poll(&app, auth, &device_code).await;
    assert_oauth2_error(
        &r,
        400,
        "access_denied",
        "The user does not have the role admin",
    );
}

#[tokio::test]
async fn unknown_and_malformed_user_codes() {
    let app = provider_app(&[]).await;
    let (_, token) = signed_in_user(&app, "typo@example.com").await;
    for code in [
        "BCDF-GHJK",
        "bcdf-ghjk",
        "AEIO-U123",
        "",
        "BCDF-GHJK-LMNP",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
    ] {
        assert_ui_error(&verify_get(&app, code).await, 400, "Unknown user code");
        assert_ui_error(
            &verify_post(&app, &token, code, "approve").await,
            400,
            "Unknown user code",
        );
    }
    let r = app.get("/oauth2/device/verify").await;
    assert_eq!(r.status, 400, "missing user_code: {}", r.text);
    let r = app.get("/oauth2/device/verify?user_code=BCDF%00GHJK").await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn unknown_user_codes_spend_a_service_wide_budget() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let (_, token) = signed_in_user(&app, "guess@example.com").await;
    let (_, user_code) = codes(&app, Auth::Id(&client), None).await;
    let wrong = if user_code == "BCDF-GHJK" {
        "BCDF-GHJL"
    } else {
        "BCDF-GHJK"
    };
    // Malformed codes cannot match and spend nothing.
    for _ in 0..70 {
        assert_eq!(verify_get(&app, "nope").await.status, 400);
    }
    assert_eq!(verify_get(&app, &user_code).await.status, 200);
    for i in 0..60 {
        let r = if i % 2 == 0 {
            verify_get(&app, wrong).await
        } else {
            verify_post(&app, &token, wrong, "approve").await
        };
        assert_ui_error(&r, 400, "Unknown user code");
    }
    // Spent: every lookup is refused for the rest of the window, the right code too.
    let r = verify_get(&app, &user_code).await;
    assert_ui_error(
        &r,
        429,
        "Too many unknown user codes, try again in a minute",
    );
    let r = verify_post(&app, &token, &user_code, "approve").await;
    assert_eq!(r.status, 429, "{}", r.text);
}

#[tokio::test]
async fn hostile_verification_requests() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let (_, token) = signed_in_user(&app, "hostile@example.com").await;
    let (_, user_code) = codes(&app, Auth::Id(&client), None).await;

    // No token, a forged one, an expired one.
    let r = app
        .post(
            "/oauth2/device/verify",
            json!({"userCode": user_code, "action": "approve"}),
        )
        .await;
    assert!(matches!(r.status.as_u16(), 400 | 401), "{}", r.text);
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let r = verify_post(&app, &forged, &user_code, "approve").await;
    assert!(matches!(r.status.as_u16(), 400 | 401), "{}", r.text);
    // Bodies outside the schema.
    for body in [
        json!([user_code, "approve"]),
        json!({"userCode": user_code}),
        json!({"userCode": user_code, "action": "maybe"}),
        json!({"userCode": user_code, "action": "APPROVE"}),
        json!({"userCode": 12345678, "action": "approve"}),
        json!({"userCode": user_code, "action": "approve", "userId": "someone"}),
        json!({"requestId": user_code}),
    ] {
        let r = app
            .post_auth("/oauth2/device/verify", &token, body.clone())
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    let r = Reply::read(
        app.http
            .post(app.url("/oauth2/device/verify"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"userCode\": ")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let huge = json!({"userCode": "B".repeat(3_000_000), "action": "approve"});
    let r = app.post_auth("/oauth2/device/verify", &token, huge).await;
    assert!(matches!(r.status.as_u16(), 400 | 413), "{}", r.status);
    // Nothing was decided by any of it.
    let r = verify_get(&app, &user_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn hostile_device_and_token_requests() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    // Not a form.
    let r = app
        .post("/oauth2/device", json!({"client_id": client}))
        .await;
    assert_eq!(r.body["error"], "invalid_request", "{}", r.text);
    // NUL, repeated parameters, a body that is not UTF-8.
    let mut not_utf8 = format!("client_id={client}&scope=").into_bytes();
    not_utf8.push(0xFF);
    let raw = app
        .post_raw(
            "/oauth2/device",
            not_utf8,
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(raw.body["error"], "invalid_request", "{}", raw.text);
    // An escape that decodes to no UTF-8 is a scope nobody has.
    let r = app
        .post_raw(
            "/oauth2/device",
            format!("client_id={client}&scope=%FF"),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(r.body["error"], "invalid_scope", "{}", r.text);
    for body in [
        format!("client_id={client}&scope=openid%00"),
        format!("client_id={client}&client_id={client}"),
    ] {
        let r = app
            .post_raw(
                "/oauth2/device",
                body.clone(),
                "application/x-www-form-urlencoded",
            )
            .await;
        assert_eq!(r.body["error"], "invalid_request", "{body}: {}", r.text);
    }
    // SQL and HTML in the client id and scope.
    let r = device(&app, Auth::Id("x' OR '1'='1"), None).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Unknown client");
    let r = device(
        &app,
        Auth::Id(&client),
        Some("openid'; DROP TABLE auth.users; --"),
    )
    .await;
    assert_eq!(r.body["error"], "invalid_scope", "{}", r.text);
    // Device codes that are not ours.
    let auth = Auth::Id(&client);
    for code in [
        "",
        "x",
        &"A".repeat(9000),
        "' OR 1=1 --",
        &uuid::Uuid::new_v4().to_string(),
    ] {
        let r = poll(&app, auth, code).await;
        // Empty or longer than any token: not even looked up.
        let expected = if code.is_empty() || code.len() > 8192 {
            "invalid_request"
        } else {
            "invalid_grant"
        };
        assert_eq!(
            r.body["error"],
            expected,
            "{:?}: {}",
            code.get(..20),
            r.text
        );
        assert_no_store(&r);
    }
    let r = post_form(&app, "/oauth2/token", auth, &[("grant_type", DEVICE_GRANT)]).await;
    assert_oauth2_error(&r, 400, "invalid_request", "device_code is required");
    let users: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .expect("users")
        .get(0);
    assert_eq!(users, 0);
}

#[tokio::test]
async fn a_user_disabled_after_approval_gets_no_tokens() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let (user, token) = signed_in_user(&app, "gone@example.com").await;
    let (device_code, user_code) = codes(&app, Auth::Id(&client), None).await;
    assert_eq!(
        verify_post(&app, &token, &user_code, "approve")
            .await
            .status,
        200
    );
    app.sql(&format!(
        "UPDATE auth.users SET disabled = true WHERE id = '{user}'"
    ))
    .await;
    let r = poll(&app, Auth::Id(&client), &device_code).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "User account is not active");
    // A disabled user cannot approve either.
    let (_, user_code) = codes(&app, Auth::Id(&client), None).await;
    let r = verify_post(&app, &token, &user_code, "approve").await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert_eq!(
        verify_get(&app, &user_code).await.status,
        200,
        "still pending"
    );
}

#[tokio::test]
async fn discovery_and_the_verification_url_setting() {
    let app = provider_app(&[]).await;
    let doc = app.get("/.well-known/openid-configuration").await;
    assert_eq!(
        doc.body["device_authorization_endpoint"],
        format!("{}/oauth2/device", app.base)
    );
    let grants: Vec<Value> = doc.body["grant_types_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(grants.contains(&json!(DEVICE_GRANT)), "{grants:?}");

    let app =
        provider_app(&["--oauth2-provider-device-verify-url=https://tv.example.com/activate?x=1"])
            .await;
    let client = public_client(&app).await;
    let r = device(&app, Auth::Id(&client), None).await;
    assert_eq!(
        r.body["verification_uri"],
        "https://tv.example.com/activate?x=1"
    );
    let user_code = text(&r.body, "user_code");
    assert_eq!(
        r.body["verification_uri_complete"],
        format!("https://tv.example.com/activate?x=1&user_code={user_code}")
    );

    // Neither the setting nor AUTH_CLIENT_URL: no device flow, and discovery says so.
    let app = provider_app(&[
        "--client-url=",
        "--oauth2-provider-login-url=https://app.example.com/consent",
    ])
    .await;
    let doc = app.get("/.well-known/openid-configuration").await;
    assert!(
        doc.body.get("device_authorization_endpoint").is_none(),
        "{}",
        doc.text
    );
    let client = public_client(&app).await;
    let r = device(&app, Auth::Id(&client), None).await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.body["error"], "server_error");
    let r = poll(&app, Auth::Id(&client), "code").await;
    assert_oauth2_error(&r, 400, "unsupported_grant_type", "Unsupported grant_type");

    let err = startup_error(
        crate::support::db::TestDb::empty().await,
        &[
            ENABLED,
            "--oauth2-provider-device-verify-url=javascript:alert(1)",
        ],
    )
    .await;
    assert!(
        err.contains("AUTH_OAUTH2_PROVIDER_DEVICE_VERIFY_URL"),
        "{err}"
    );
}

#[tokio::test]
async fn the_device_flow_is_off_with_the_provider() {
    let app = TestApp::with(&[
        &format!("--hasura-graphql-jwt-secret={}", rsa_secret()),
        NO_VERIFY,
    ])
    .await;
    let r = post_form(&app, "/oauth2/device", Auth::Id("nhoa_x"), &[]).await;
    assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
    let r = verify_get(&app, "BCDF-GHJK").await;
    r.assert_error(400, "disabled-endpoint");
    let session = app.signup("off@example.com", "correct-horse-battery").await;
    let token = text(&session, "accessToken");
    let r = verify_post(&app, &token, "BCDF-GHJK", "approve").await;
    r.assert_error(400, "disabled-endpoint");
    let r = poll(&app, Auth::Id("nhoa_x"), "code").await;
    assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
}

/// The audit events of `name`, `(outcome, reason)` in order, waiting up to five seconds
/// for `count` of them (the trail is written in the background).
async fn audit_of(app: &TestApp, name: &str, count: usize) -> Vec<(String, Option<String>)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let rows: Vec<(String, Option<String>)> = app
            .db
            .client()
            .await
            .query(
                "SELECT outcome, reason FROM hasura_auth.audit_events WHERE event = $1 \
                 ORDER BY id",
                &[&name],
            )
            .await
            .expect("audit rows")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        if rows.len() >= count || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn decisions_and_tokens_are_audited_without_codes() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let (_, token) = signed_in_user(&app, "audit@example.com").await;
    let auth = Auth::Id(&client);
    let (device_code, user_code) = codes(&app, auth, None).await;
    assert_eq!(
        verify_post(&app, &token, &user_code, "approve")
            .await
            .status,
        200
    );
    assert_eq!(poll(&app, auth, &device_code).await.status, 200);
    let (_, denied_code) = codes(&app, auth, None).await;
    assert_eq!(
        verify_post(&app, &token, &denied_code, "deny").await.status,
        200
    );
    assert_eq!(
        verify_post(&app, &token, &denied_code, "deny").await.status,
        400
    );

    let approvals = audit_of(&app, "oauth2-device-approval", 1).await;
    assert_eq!(approvals, [("success".to_owned(), Some(client.clone()))]);
    let denials = audit_of(&app, "oauth2-device-denial", 2).await;
    assert_eq!(
        denials,
        [
            ("success".to_owned(), Some(client.clone())),
            (
                "failure".to_owned(),
                Some("User code already used".to_owned())
            )
        ]
    );
    let issued = audit_of(&app, "oauth2-token", 1).await;
    assert_eq!(
        issued,
        [("success".to_owned(), Some(DEVICE_GRANT.to_owned()))]
    );
    let dump: String = app
        .db
        .client()
        .await
        .query_one(
            "SELECT string_agg(a::text, ' ') FROM hasura_auth.audit_events a",
            &[],
        )
        .await
        .expect("dump")
        .get(0);
    for code in [&device_code, &user_code, &denied_code] {
        assert!(!dump.contains(code.as_str()), "{code} in the audit trail");
    }
}

#[tokio::test]
async fn cleanup_deletes_expired_device_codes_only() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let auth = Auth::Id(&client);
    let (_, expired_user_code) = codes(&app, auth, None).await;
    app.sql("UPDATE hasura_auth.oauth2_device_codes SET expires_at = now() - interval '1 minute'")
        .await;
    // Every successful call starts it (upstream's odds, 1/1000, are too rare for a test).
    app.state.workflows.oauth2.cleanup.set_one_in(1);
    let (_, live_user_code) = codes(&app, auth, None).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let hashes: Vec<String> = app
            .db
            .client()
            .await
            .query(
                "SELECT user_code_hash FROM hasura_auth.oauth2_device_codes",
                &[],
            )
            .await
            .expect("rows")
            .iter()
            .map(|r| r.get(0))
            .collect();
        if hashes.len() == 1 {
            assert_eq!(hashes[0], sha256_hex(&live_user_code.replace('-', "")));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "clean-up did not run: {hashes:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_ui_error(
        &verify_get(&app, &expired_user_code).await,
        400,
        "Unknown user code",
    );
    assert_eq!(verify_get(&app, &live_user_code).await.status, 200);
}
