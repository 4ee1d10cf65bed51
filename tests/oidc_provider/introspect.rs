//! `POST /oauth2/introspect` (reference §2.1.7) and `POST /oauth2/revoke` (§2.1.8).

use serde_json::{Value, json};

use crate::common::*;
use crate::grants::*;
use crate::support::app::TestApp;

/// A confidential client's grant: `(client, user, token response)`.
async fn grant(app: &TestApp, email: &str) -> (String, String, Value) {
    let (client, user, code) = setup(app, email, Authz::default()).await;
    let r = exchange(app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (client, user, r.body)
}

#[tokio::test]
async fn introspection_of_refresh_and_access_tokens() {
    let app = provider_app(&[]).await;
    let (client, user, tokens) = grant(&app, "intro@example.com").await;
    let refresh_token = text(&tokens, "refresh_token");
    let access_token = text(&tokens, "access_token");
    let basic = Auth::Basic(&client, CLIENT_SECRET);

    for hint in [None, Some("refresh_token"), Some("access_token")] {
        let mut fields = vec![("token", refresh_token.as_str())];
        if let Some(h) = hint {
            fields.push(("token_type_hint", h));
        }
        let r = post_form(&app, "/oauth2/introspect", basic, &fields).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.headers["cache-control"], "no-store");
        let exp = r.body["exp"].as_i64().expect("exp");
        let iat = r.body["iat"].as_i64().expect("iat");
        assert!(exp - iat >= 2_592_000 - 5, "{}", r.text);
        assert_eq!(
            r.body,
            json!({
                "active": true,
                "client_id": client,
                "sub": user,
                "scope": "openid profile email",
                "exp": exp,
                "iat": iat,
                "iss": app.base,
                "token_type": "refresh_token",
            }),
            "hint {hint:?}"
        );
    }

    let access = verified(&app, &access_token).await;
    for hint in [None, Some("access_token"), Some("refresh_token")] {
        let mut fields = vec![("token", access_token.as_str())];
        if let Some(h) = hint {
            fields.push(("token_type_hint", h));
        }
        let r = post_form(
            &app,
            "/oauth2/introspect",
            Auth::Post(&client, CLIENT_SECRET),
            &fields,
        )
        .await;
        assert_eq!(
            r.body,
            json!({
                "active": true,
                "client_id": client,
                "sub": user,
                "scope": "openid profile email",
                "exp": access["exp"],
                "iat": access["iat"],
                "iss": app.base,
                "token_type": "access_token",
            }),
            "hint {hint:?}"
        );
    }

    // Another client learns nothing about these tokens.
    let other = confidential_client(&app).await;
    for token in [&refresh_token, &access_token] {
        let r = post_form(
            &app,
            "/oauth2/introspect",
            Auth::Basic(&other, CLIENT_SECRET),
            &[("token", token)],
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, json!({"active": false}));
    }
    // Neither do an ID token, a session token, garbage or an expired refresh token.
    let (_, session) = signed_in_user(&app, "sess@example.com").await;
    let id_token = text(&tokens, "id_token");
    for token in [
        id_token.as_str(),
        session.as_str(),
        "garbage",
        "00000000-0000-4000-8000-000000000000",
        &"x".repeat(10_000),
    ] {
        let r = post_form(&app, "/oauth2/introspect", basic, &[("token", token)]).await;
        assert_eq!(
            r.body,
            json!({"active": false}),
            "{}",
            &token[..token.len().min(40)]
        );
    }
    app.sql("UPDATE auth.oauth2_refresh_tokens SET expires_at = now() - interval '1 second'")
        .await;
    let r = post_form(
        &app,
        "/oauth2/introspect",
        basic,
        &[("token", &refresh_token)],
    )
    .await;
    assert_eq!(r.body, json!({"active": false}));
}

#[tokio::test]
async fn introspection_needs_client_authentication() {
    let app = provider_app(&[]).await;
    let (client, _, tokens) = grant(&app, "auth-intro@example.com").await;
    let token = text(&tokens, "refresh_token");
    let fields = [("token", token.as_str())];

    let r = post_form(&app, "/oauth2/introspect", Auth::None, &fields).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Client authentication required");
    let r = post_form(
        &app,
        "/oauth2/introspect",
        Auth::Basic(&client, "wrong"),
        &fields,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_client");
    let r = post_form(&app, "/oauth2/introspect", Auth::Id(&client), &fields).await;
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    let r = post_form(
        &app,
        "/oauth2/introspect",
        Auth::Basic("nhoa_unknown", "x"),
        &fields,
    )
    .await;
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    // Both ways at once.
    let r = post_form(
        &app,
        "/oauth2/introspect",
        Auth::Basic(&client, CLIENT_SECRET),
        &[("token", &token), ("client_secret", CLIENT_SECRET)],
    )
    .await;
    assert_eq!(r.body["error"], "invalid_request", "{}", r.text);
    // No token.
    let r = post_form(
        &app,
        "/oauth2/introspect",
        Auth::Basic(&client, CLIENT_SECRET),
        &[],
    )
    .await;
    assert_oauth2_error(&r, 400, "invalid_request", "token is required");

    // A public client authenticates with its id alone and sees its own tokens.
    let public = public_client(&app).await;
    let (user, _) = signed_in_user(&app, "public-intro@example.com").await;
    let (verifier, challenge) = pkce_pair();
    let authz = Authz {
        challenge: Some(challenge),
        ..Authz::default()
    };
    let (code, _) = code_for(&app, &public, &user, authz).await;
    let r = exchange(&app, Auth::Id(&public), &code, Some(&verifier)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post_form(
        &app,
        "/oauth2/introspect",
        Auth::Id(&public),
        &[("token", &text(&r.body, "refresh_token"))],
    )
    .await;
    assert_eq!(r.body["active"], true, "{}", r.text);
}

#[tokio::test]
async fn revocation_ends_the_clients_refresh_token_only() {
    let app = provider_app(&[]).await;
    let (client, _, tokens) = grant(&app, "revoke@example.com").await;
    let token = text(&tokens, "refresh_token");
    let basic = Auth::Basic(&client, CLIENT_SECRET);

    // Another client cannot revoke it (and is told nothing).
    let other = confidential_client(&app).await;
    let r = post_form(
        &app,
        "/oauth2/revoke",
        Auth::Basic(&other, CLIENT_SECRET),
        &[("token", &token)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    let r = post_form(&app, "/oauth2/introspect", basic, &[("token", &token)]).await;
    assert_eq!(r.body["active"], true);

    // Access tokens and unknown tokens: 200, nothing happens.
    for (t, hint) in [
        (text(&tokens, "access_token"), "access_token"),
        ("unknown".to_owned(), "refresh_token"),
    ] {
        let r = post_form(
            &app,
            "/oauth2/revoke",
            basic,
            &[("token", &t), ("token_type_hint", hint)],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.text, "");
    }

    // The owner revokes it: it no longer refreshes nor introspects.
    let r = post_form(
        &app,
        "/oauth2/revoke",
        Auth::Post(&client, CLIENT_SECRET),
        &[("token", &token)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    let r = refresh(&app, basic, &token).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid refresh token");
    let r = post_form(&app, "/oauth2/introspect", basic, &[("token", &token)]).await;
    assert_eq!(r.body, json!({"active": false}));
    // Revoking again is fine.
    let r = post_form(&app, "/oauth2/revoke", basic, &[("token", &token)]).await;
    assert_eq!(r.status, 200);

    // Client authentication and the token are required.
    let r = post_form(&app, "/oauth2/revoke", Auth::None, &[("token", &token)]).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Client authentication required");
    let r = post_form(
        &app,
        "/oauth2/revoke",
        Auth::Basic(&client, "wrong"),
        &[("token", &token)],
    )
    .await;
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    let r = post_form(&app, "/oauth2/revoke", basic, &[]).await;
    assert_oauth2_error(&r, 400, "invalid_request", "token is required");
    let r = app
        .post_raw("/oauth2/revoke", r#"{"token":"x"}"#, "application/json")
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_request");
}
