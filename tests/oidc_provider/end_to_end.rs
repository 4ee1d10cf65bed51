//! The whole authorization-code flow through the real endpoints: `/oauth2/authorize` →
//! consent page (`GET`/`POST /oauth2/login` with the user's session) → the client's
//! redirect with a code → `/oauth2/token` → `/oauth2/userinfo` → refresh → introspect →
//! revoke.

use serde_json::json;

use crate::common::*;
use crate::grants::*;
use crate::support::app::TestApp;

/// Runs authorize and the consent step; returns the code of the redirect.
async fn authorize_and_approve(
    app: &TestApp,
    client: &str,
    session: &str,
    scope: &str,
    challenge: Option<&str>,
) -> String {
    let mut query = vec![
        ("client_id", client),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st-42"),
        ("nonce", "nonce-42"),
    ];
    if let Some(c) = challenge {
        query.push(("code_challenge", c));
        query.push(("code_challenge_method", "S256"));
    }
    let r = app
        .get(&format!("/oauth2/authorize?{}", form(&query)))
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let consent = query_of(&r.location());
    let request_id = consent.get("request_id").expect("request_id").clone();

    let r = app
        .get(&format!("/oauth2/login?request_id={request_id}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["clientId"], client);

    let r = app
        .post_auth("/oauth2/login", session, json!({"requestId": request_id}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let back = text(&r.body, "redirectUri");
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    let params = query_of(&back);
    assert_eq!(params["state"], "st-42");
    assert_eq!(params["iss"], app.base);
    params["code"].clone()
}

#[tokio::test]
async fn confidential_client_full_flow() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (user, session) = signed_in_user(&app, "e2e@example.com").await;
    let code = authorize_and_approve(&app, &client, &session, "openid email graphql", None).await;

    let basic = Auth::Basic(&client, CLIENT_SECRET);
    let r = exchange(&app, basic, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["scope"], "openid email graphql");
    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert_eq!(id["sub"], user.as_str());
    assert_eq!(id["nonce"], "nonce-42");
    assert_eq!(id["email"], "e2e@example.com");
    assert!(id["auth_time"].is_i64(), "{id}");
    let access = text(&r.body, "access_token");
    let claims = verified(&app, &access).await;
    assert_eq!(
        claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"],
        user.as_str()
    );
    // The code is spent.
    let again = exchange(&app, basic, &code, None).await;
    assert_oauth2_error(&again, 400, "invalid_grant", "Invalid authorization code");

    let info = app.get_auth("/oauth2/userinfo", &access).await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.body["sub"], user.as_str());
    assert_eq!(info.body["email"], "e2e@example.com");

    let refreshed = refresh(&app, basic, &text(&r.body, "refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let new_refresh = text(&refreshed.body, "refresh_token");
    let id2 = verified(&app, &text(&refreshed.body, "id_token")).await;
    assert_eq!(id2["auth_time"], id["auth_time"]);

    let r = post_form(
        &app,
        "/oauth2/introspect",
        basic,
        &[("token", &new_refresh)],
    )
    .await;
    assert_eq!(r.body["active"], true, "{}", r.text);
    let r = post_form(&app, "/oauth2/revoke", basic, &[("token", &new_refresh)]).await;
    assert_eq!(r.status, 200);
    let r = refresh(&app, basic, &new_refresh).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid refresh token");
}

#[tokio::test]
async fn public_client_full_flow_with_pkce() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let (user, session) = signed_in_user(&app, "e2e-public@example.com").await;
    let (verifier, challenge) = pkce_pair();
    let code =
        authorize_and_approve(&app, &client, &session, "openid profile", Some(&challenge)).await;
    let r = exchange(
        &app,
        Auth::Id(&client),
        &code,
        Some("x".repeat(43).as_str()),
    )
    .await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid code_verifier");
    let r = exchange(&app, Auth::Id(&client), &code, Some(&verifier)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert_eq!(id["sub"], user.as_str());
    assert_eq!(id["aud"], client.as_str());
    assert_eq!(id["name"], "e2e-public@example.com");
}
