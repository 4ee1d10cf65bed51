//! `POST /oauth2/token` (reference §2.1.4): both grants, client authentication, every
//! refusal in order, the token formats, rotation, the rate-limit bucket and the clean-up.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;
use crate::grants::*;
use crate::support::app::TestApp;

const CUSTOM_CLAIMS: &str = r#"{"tier":"profile.tier","orgs":"profile.orgs"}"#;
const CUSTOM_DEFAULTS: &str = r#"{"tier":3,"orgs":["o1","o2"]}"#;

/// Custom claims configured, with a Hasura that cannot be reached: tokens carry the
/// configured defaults (what ordinary session tokens carry too).
async fn app_with_custom_claims() -> TestApp {
    provider_app(&[
        "--graphql-url=http://127.0.0.1:9/v1/graphql",
        "--hasura-admin-secret=test-admin-secret",
        "--hasura-metadata-sync=false",
        &format!("--custom-claims={CUSTOM_CLAIMS}"),
        &format!("--custom-claims-defaults={CUSTOM_DEFAULTS}"),
        "--custom-claims-timeout=1s",
    ])
    .await
}

#[tokio::test]
async fn code_grant_with_basic_auth_issues_signed_tokens() {
    let app = provider_app(&[]).await;
    let (client, user, code) = setup(&app, "ada@example.com", Authz::default()).await;
    let r = exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_store(&r);
    let body = r.body.as_object().expect("object");
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["scope"], "openid profile email");
    let refresh = text(&r.body, "refresh_token");
    assert!(uuid::Uuid::parse_str(&refresh).is_ok(), "{refresh}");

    let access = verified(&app, &text(&r.body, "access_token")).await;
    let now = chrono::Utc::now().timestamp();
    assert_eq!(access["iss"], app.base.as_str());
    assert_eq!(access["sub"], user.as_str());
    assert_eq!(access["aud"], client.as_str());
    assert_eq!(access["scope"], "openid profile email");
    let iat = access["iat"].as_i64().expect("iat");
    assert!((now - 5..=now + 1).contains(&iat), "{access}");
    assert_eq!(access["exp"].as_i64(), Some(iat + 900));
    assert!(
        access.get("https://hasura.io/jwt/claims").is_none(),
        "no Hasura claims without a graphql scope: {access}"
    );
    let mut keys: Vec<&str> = access
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["aud", "exp", "iat", "iss", "scope", "sub"]);

    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert_eq!(id["iss"], app.base.as_str());
    assert_eq!(id["sub"], user.as_str());
    assert_eq!(id["aud"], client.as_str());
    assert_eq!(id["iat"], access["iat"]);
    assert_eq!(id["exp"], access["exp"]);
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!((now - 40..=now - 20).contains(&auth_time), "{id}");
    // at_hash: the left half of SHA-256 of the access token, base64url.
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text(&r.body, "access_token").as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    assert_eq!(id["at_hash"], expected.as_str());
    // profile: the display name (the email by default), the avatar (Gravatar by
    // default) and the locale; email: email and its verification.
    assert_eq!(id["name"], "ada@example.com");
    assert_eq!(id["locale"], "en");
    assert!(
        text(&id, "picture").starts_with("https://www.gravatar.com/avatar/"),
        "{id}"
    );
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["email_verified"], false);
    assert!(id.get("phone_number").is_none(), "{id}");

    // The refresh token row: bound to the client, the user and the scopes, hashed.
    let row = app
        .db
        .client()
        .await
        .query_one(
            "SELECT client_id, user_id::text, scopes, token_hash, \
               expires_at > now() + interval '29 days' FROM auth.oauth2_refresh_tokens",
            &[],
        )
        .await
        .expect("one refresh token");
    assert_eq!(row.get::<_, String>(0), client);
    assert_eq!(row.get::<_, String>(1), user);
    assert_eq!(row.get::<_, Vec<String>>(2), ["openid", "profile", "email"]);
    assert_eq!(row.get::<_, String>(3), sha256_hex(&refresh));
    assert!(row.get::<_, bool>(4), "refresh TTL of 30 days");
}

#[tokio::test]
async fn code_grant_with_post_auth_and_without_openid_has_no_id_token() {
    let app = provider_app(&["--oauth2-provider-access-token-ttl=60"]).await;
    let authz = Authz {
        scopes: &["profile"],
        ..Authz::default()
    };
    let (client, _, code) = setup(&app, "post@example.com", authz).await;
    let r = exchange(&app, Auth::Post(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("id_token").is_none(), "{}", r.text);
    assert_eq!(r.body["expires_in"], 60);
    assert_eq!(r.body["scope"], "profile");
    let access = verified(&app, &text(&r.body, "access_token")).await;
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        60
    );
}

#[tokio::test]
async fn public_client_with_pkce() {
    let app = provider_app(&[]).await;
    let client = public_client(&app).await;
    let (user, _) = signed_in_user(&app, "pkce@example.com").await;
    let (verifier, challenge) = pkce_pair();
    let authz = || Authz {
        challenge: Some(challenge.clone()),
        ..Authz::default()
    };

    // No client_id at all: a public client must name itself.
    let (code, _) = code_for(&app, &client, &user, authz()).await;
    let r = exchange(&app, Auth::None, &code, Some(&verifier)).await;
    assert_oauth2_error(&r, 401, "invalid_client", "client_id is required");
    assert_no_store(&r);
    // The verifier is required and must match.
    let r = exchange(&app, Auth::Id(&client), &code, None).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "code_verifier is required");
    let (other, _) = pkce_pair();
    let r = exchange(&app, Auth::Id(&client), &code, Some(&other)).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid code_verifier");
    let r = exchange(&app, Auth::Id(&client), &code, Some("too-short")).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid code_verifier");
    // A public client presenting a secret is not authenticated.
    let r = exchange(&app, Auth::Post(&client, "guess"), &code, Some(&verifier)).await;
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    // Refusals did not consume the code.
    let r = exchange(&app, Auth::Id(&client), &code, Some(&verifier)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A public client's code without a stored challenge (not issued by
    // /oauth2/authorize, which requires one): refused all the same.
    let (code, _) = code_for(&app, &client, &user, Authz::default()).await;
    let r = exchange(&app, Auth::Id(&client), &code, None).await;
    assert_oauth2_error(
        &r,
        400,
        "invalid_grant",
        "PKCE is required for public clients",
    );

    // A confidential client with PKCE: the verifier is checked too.
    let confidential = confidential_client(&app).await;
    let (code, _) = code_for(&app, &confidential, &user, authz()).await;
    let basic = Auth::Basic(&confidential, CLIENT_SECRET);
    let r = exchange(&app, basic, &code, None).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "code_verifier is required");
    let r = exchange(&app, basic, &code, Some(&verifier)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn code_grant_refusals_in_order() {
    let app = provider_app(&[]).await;
    let (client, user, code) = setup(&app, "order@example.com", Authz::default()).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);

    let r = post_form(
        &app,
        "/oauth2/token",
        basic,
        &[("grant_type", "authorization_code")],
    )
    .await;
    assert_oauth2_error(&r, 400, "invalid_request", "code is required");
    assert_no_store(&r);
    let r = exchange(&app, basic, "8a4b0c2e-0000-4000-8000-000000000000", None).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid authorization code");

    // Expired.
    let expired = Authz {
        code_ttl: -1,
        ..Authz::default()
    };
    let (old, _) = code_for(&app, &client, &user, expired).await;
    let r = exchange(&app, basic, &old, None).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid authorization code");

    // Not completed (the consent step did not run).
    let pending = Authz {
        done: false,
        ..Authz::default()
    };
    let (pending, _) = code_for(&app, &client, &user, pending).await;
    let r = exchange(&app, basic, &pending, None).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Authorization not completed");

    // redirect_uri: required and exactly the request's.
    for uri in [None, Some("https://app.example.com/callback/"), Some("")] {
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        if let Some(u) = uri {
            fields.push(("redirect_uri", u));
        }
        let r = post_form(&app, "/oauth2/token", basic, &fields).await;
        assert_oauth2_error(&r, 400, "invalid_grant", "redirect_uri mismatch");
    }

    // Client authentication, after the code's checks.
    let other = confidential_client(&app).await;
    let r = exchange(&app, Auth::Basic(&other, CLIENT_SECRET), &code, None).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Client ID mismatch");
    assert_no_store(&r);
    assert_eq!(
        r.headers["www-authenticate"],
        r#"Bearer error="invalid_client", error_description="Client ID mismatch""#
    );
    let r = exchange(&app, Auth::Basic(&client, "wrong"), &code, None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_client");
    assert!(r.headers.get("www-authenticate").is_some());
    let r = exchange(&app, Auth::Id(&client), &code, None).await;
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    let r = exchange(&app, Auth::None, &code, None).await;
    assert_oauth2_error(&r, 401, "invalid_client", "client_id is required");

    // Credentials both ways at once.
    let r = post_form(
        &app,
        "/oauth2/token",
        Auth::Basic(&client, CLIENT_SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_request");

    // None of the refusals consumed the code; the first use does, the second fails.
    let r = exchange(&app, basic, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = exchange(&app, basic, &code, None).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid authorization code");
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_yield_one_token() {
    let app = provider_app(&[]).await;
    for round in 0..3 {
        let (client, _, code) =
            setup(&app, &format!("race{round}@example.com"), Authz::default()).await;
        let calls =
            (0..8).map(|_| exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None));
        let replies = futures_util::future::join_all(calls).await;
        let ok = replies.iter().filter(|r| r.status == 200).count();
        assert_eq!(ok, 1, "exactly one success in round {round}");
        for r in replies.iter().filter(|r| r.status != 200) {
            assert_oauth2_error(r, 400, "invalid_grant", "Invalid authorization code");
        }
        let tokens: i64 = app
            .db
            .client()
            .await
            .query_one(
                "SELECT count(*) FROM auth.oauth2_refresh_tokens WHERE client_id = $1",
                &[&client],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(tokens, 1);
    }
}

#[tokio::test]
async fn inactive_users_get_no_tokens() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);
    for (email, change) in [
        ("disabled@example.com", "disabled = true"),
        ("anon@example.com", "is_anonymous = true"),
    ] {
        let (user, _) = signed_in_user(&app, email).await;
        let (code, _) = code_for(&app, &client, &user, Authz::default()).await;
        let (code2, _) = code_for(&app, &client, &user, Authz::default()).await;
        // A refresh token obtained while the user was active.
        let r = exchange(&app, basic, &code2, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let refresh_token = text(&r.body, "refresh_token");
        app.sql(&format!(
            "UPDATE auth.users SET {change} WHERE id = '{user}'"
        ))
        .await;
        let r = exchange(&app, basic, &code, None).await;
        assert_oauth2_error(&r, 400, "invalid_grant", "User account is not active");
        let r = refresh(&app, basic, &refresh_token).await;
        assert_oauth2_error(&r, 400, "invalid_grant", "User account is not active");
    }

    // Unverified email while verification is required.
    let app = provider_app(&["--email-verification-required=true"]).await;
    let client = confidential_client(&app).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "unverified@example.com", "password": "correct-horse-battery"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = user_id_of(&app, "unverified@example.com").await;
    let (code, _) = code_for(&app, &client, &user, Authz::default()).await;
    let r = exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "User account is not active");
    app.sql(&format!(
        "UPDATE auth.users SET email_verified = true WHERE id = '{user}'"
    ))
    .await;
    let r = exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(
        r.status, 200,
        "a refused user check does not consume the code: {}",
        r.text
    );
}

#[tokio::test]
async fn graphql_scope_carries_the_session_tokens_hasura_claims() {
    let app = app_with_custom_claims().await;
    let client = confidential_client(&app).await;
    let session = app
        .signup("graph@example.com", "correct-horse-battery")
        .await;
    let user = text(&session["user"], "id");
    let authz = Authz {
        scopes: &["openid", "graphql"],
        ..Authz::default()
    };
    let (code, _) = code_for(&app, &client, &user, authz).await;
    let r = exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = verified(&app, &text(&r.body, "access_token")).await;
    let ours = &access["https://hasura.io/jwt/claims"];
    let session_claims = &payload(&text(&session, "accessToken"))["https://hasura.io/jwt/claims"];
    for claim in [
        "x-hasura-allowed-roles",
        "x-hasura-default-role",
        "x-hasura-user-id",
        "x-hasura-user-is-anonymous",
        "x-hasura-tier",
        "x-hasura-orgs",
    ] {
        assert_eq!(ours[claim], session_claims[claim], "{claim}: {access}");
    }
    let mut roles: Vec<&str> = ours["x-hasura-allowed-roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, ["me", "user"]);
    assert_eq!(ours["x-hasura-default-role"], "user");
    assert_eq!(ours["x-hasura-user-is-anonymous"], "false");
    assert_eq!(ours["x-hasura-tier"], "3");
    assert_eq!(ours["x-hasura-orgs"], r#"{"o1","o2"}"#);
    assert!(
        ours.get("x-hasura-auth-session-id").is_none(),
        "not a session of the user: {access}"
    );
    // The ID token never carries Hasura claims.
    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert!(id.get("https://hasura.io/jwt/claims").is_none(), "{id}");
}

#[tokio::test]
async fn graphql_role_scopes_narrow_the_roles_and_are_checked_again_on_refresh() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);
    let (user, _) = signed_in_user(&app, "roles@example.com").await;
    app.sql(&format!(
        "INSERT INTO auth.roles (role) VALUES ('editor') ON CONFLICT DO NOTHING; \
         INSERT INTO auth.user_roles (user_id, role) VALUES ('{user}', 'editor')"
    ))
    .await;
    let authz = Authz {
        scopes: &["openid", "graphql:role:editor", "graphql:role:me"],
        ..Authz::default()
    };
    let (code, _) = code_for(&app, &client, &user, authz.clone()).await;
    let r = exchange(&app, basic, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["scope"],
        "openid graphql:role:editor graphql:role:me"
    );
    let access = verified(&app, &text(&r.body, "access_token")).await;
    let claims = &access["https://hasura.io/jwt/claims"];
    assert_eq!(claims["x-hasura-allowed-roles"], json!(["editor", "me"]));
    assert_eq!(claims["x-hasura-default-role"], "editor");
    assert_eq!(claims["x-hasura-user-id"], user.as_str());
    let refresh_token = text(&r.body, "refresh_token");

    // A role the user does not have: access_denied, and the code stays unused.
    let denied = Authz {
        scopes: &["graphql:role:admin"],
        ..Authz::default()
    };
    let (code, _) = code_for(&app, &client, &user, denied).await;
    let r = exchange(&app, basic, &code, None).await;
    assert_oauth2_error(
        &r,
        400,
        "access_denied",
        "The user does not have the role admin",
    );

    // The role is taken away: refreshing the narrowed grant is denied.
    app.sql(&format!(
        "DELETE FROM auth.user_roles WHERE user_id = '{user}' AND role = 'editor'"
    ))
    .await;
    let r = refresh(&app, basic, &refresh_token).await;
    assert_oauth2_error(
        &r,
        400,
        "access_denied",
        "The user does not have the role editor",
    );
    assert_no_store(&r);
}

#[tokio::test]
async fn refresh_rotates_in_place_and_keeps_the_grant() {
    let app = provider_app(&[]).await;
    let (client, user, code) = setup(&app, "rotate@example.com", Authz::default()).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);
    let first = exchange(&app, basic, &code, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first_id = verified(&app, &text(&first.body, "id_token")).await;
    let old = text(&first.body, "refresh_token");
    let before = refresh_rows(&app).await;

    let r = refresh(&app, basic, &old).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_store(&r);
    assert_eq!(r.body["scope"], "openid profile email");
    let new = text(&r.body, "refresh_token");
    assert_ne!(new, old);
    assert_eq!(
        refresh_rows(&app).await,
        before,
        "same row, rotated in place"
    );
    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert_eq!(id["sub"], user.as_str());
    assert_eq!(
        id["auth_time"], first_id["auth_time"],
        "the original auth_time"
    );
    assert!(id.get("nonce").is_none(), "no nonce on refresh: {id}");
    assert_eq!(id["email"], "rotate@example.com");
    let access = verified(&app, &text(&r.body, "access_token")).await;
    assert_eq!(access["scope"], "openid profile email");
    assert_eq!(access["aud"], client.as_str());

    // The old token is spent; the new one works once.
    let r = refresh(&app, basic, &old).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid refresh token");
    let r = refresh(&app, Auth::Post(&client, CLIENT_SECRET), &new).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = refresh(&app, basic, &new).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid refresh token");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_one_rotation() {
    let app = provider_app(&[]).await;
    let (client, _, code) = setup(&app, "race-refresh@example.com", Authz::default()).await;
    let r = exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    let token = text(&r.body, "refresh_token");
    let calls = (0..8).map(|_| refresh(&app, Auth::Basic(&client, CLIENT_SECRET), &token));
    let replies = futures_util::future::join_all(calls).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_oauth2_error(r, 400, "invalid_grant", "Invalid refresh token");
    }
}

#[tokio::test]
async fn refresh_refusals() {
    let app = provider_app(&[]).await;
    let (client, _, code) = setup(&app, "refusals@example.com", Authz::default()).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);
    let r = exchange(&app, basic, &code, None).await;
    let token = text(&r.body, "refresh_token");

    let r = post_form(
        &app,
        "/oauth2/token",
        basic,
        &[("grant_type", "refresh_token")],
    )
    .await;
    assert_oauth2_error(&r, 400, "invalid_request", "refresh_token is required");
    for bogus in ["not-a-token", "00000000-0000-4000-8000-000000000000"] {
        let r = refresh(&app, basic, bogus).await;
        assert_oauth2_error(&r, 400, "invalid_grant", "Invalid refresh token");
    }
    let r = refresh(&app, basic, &"a".repeat(10_000)).await;
    assert_oauth2_error(&r, 400, "invalid_request", "refresh_token is required");

    // Another client's refresh token, with that other client's valid credentials.
    let thief = confidential_client(&app).await;
    let r = refresh(&app, Auth::Basic(&thief, CLIENT_SECRET), &token).await;
    assert_oauth2_error(&r, 401, "invalid_client", "Client ID mismatch");
    // The owner's id with a wrong secret, or no secret.
    let r = refresh(&app, Auth::Basic(&client, "wrong"), &token).await;
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    let r = refresh(&app, Auth::Id(&client), &token).await;
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    // None of that spent the token.
    let r = refresh(&app, basic, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Expired.
    let token = text(&r.body, "refresh_token");
    app.sql("UPDATE auth.oauth2_refresh_tokens SET expires_at = now() - interval '1 second'")
        .await;
    let r = refresh(&app, basic, &token).await;
    assert_oauth2_error(&r, 400, "invalid_grant", "Invalid refresh token");
}

#[tokio::test]
async fn grant_types_and_hostile_forms() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);
    for grant in [
        "client_credentials",
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ] {
        let r = post_form(&app, "/oauth2/token", basic, &[("grant_type", grant)]).await;
        assert_oauth2_error(&r, 400, "unsupported_grant_type", "Unsupported grant_type");
        assert_no_store(&r);
    }
    let r = post_form(&app, "/oauth2/token", basic, &[]).await;
    assert_oauth2_error(&r, 400, "invalid_request", "grant_type is required");

    let raw = |body: &'static [u8], content_type: &'static str| {
        let req = app
            .http
            .post(app.url("/oauth2/token"))
            .header("content-type", content_type)
            .body(body);
        async move { crate::support::app::Reply::read(req.send().await.unwrap()).await }
    };
    // JSON is not a form.
    let r = raw(br#"{"grant_type":"refresh_token"}"#, "application/json").await;
    assert_oauth2_error(
        &r,
        400,
        "invalid_request",
        "The request body must be application/x-www-form-urlencoded",
    );
    assert_no_store(&r);
    let form = "application/x-www-form-urlencoded";
    let r = raw(
        b"grant_type=refresh_token&grant_type=authorization_code",
        form,
    )
    .await;
    assert_oauth2_error(&r, 400, "invalid_request", "A parameter is repeated");
    let r = raw(b"grant_type=refresh%00_token", form).await;
    assert_oauth2_error(
        &r,
        400,
        "invalid_request",
        "The request contains a NUL character",
    );
    let r = raw(b"grant_type=\xff\xfe", form).await;
    assert_oauth2_error(
        &r,
        400,
        "invalid_request",
        "The request body is not valid UTF-8",
    );
    // Unknown parameters are ignored (RFC 6749 §3.2).
    let r = raw(b"grant_type=password&foo=bar", form).await;
    assert_eq!(r.body["error"], "unsupported_grant_type", "{}", r.text);

    // A malformed Basic header.
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .header("content-type", form)
        .header("authorization", "Basic %%%")
        .body("grant_type=refresh_token&refresh_token=x")
        .send()
        .await
        .unwrap();
    let r = crate::support::app::Reply::read(r).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_request");

    // A huge body: refused before it is read, still an OAuth2 answer.
    let huge = format!(
        "grant_type=refresh_token&refresh_token={}",
        "a".repeat(400 * 1024)
    );
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .header("content-type", form)
        .body(huge)
        .send()
        .await
        .unwrap();
    let r = crate::support::app::Reply::read(r).await;
    // The service-wide size limit answers before any route (its usual body).
    assert_eq!(r.status, 413, "{}", r.text);

    // GET is not the token endpoint.
    let r = app.get("/oauth2/token").await;
    assert_eq!(r.status, 405, "{}", r.text);
}

#[tokio::test]
async fn disabled_provider_answers_server_error() {
    let app = TestApp::with(&[]).await;
    let r = post_form(
        &app,
        "/oauth2/token",
        Auth::Basic("nhoa_x", "y"),
        &[("grant_type", "authorization_code"), ("code", "c")],
    )
    .await;
    assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
    assert_no_store(&r);
    // Even a body that is not a form.
    let r = app
        .post_raw("/oauth2/token", "{}", "application/json")
        .await;
    assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        let r = post_form(&app, path, Auth::Basic("nhoa_x", "y"), &[("token", "t")]).await;
        assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
    }
    let r = app.get("/oauth2/userinfo").await;
    assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
}

#[tokio::test]
async fn oauth2_server_bucket_limits_token_and_introspection_per_ip() {
    let app = provider_app(&[
        "--rate-limit-enable",
        "--rate-limit-oauth2-server-burst=3",
        "--rate-limit-oauth2-server-interval=1h",
    ])
    .await;
    let client = confidential_client(&app).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);
    let token_call = || post_form(&app, "/oauth2/token", basic, &[("grant_type", "password")]);
    for _ in 0..2 {
        let r = token_call().await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.headers.get("ratelimit-limit").is_some());
    }
    let r = post_form(&app, "/oauth2/introspect", basic, &[("token", "x")]).await;
    assert_eq!(
        r.status, 200,
        "introspection counts in the same bucket: {}",
        r.text
    );
    let r = token_call().await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.headers.get("retry-after").is_some());
    let r = post_form(&app, "/oauth2/introspect", basic, &[("token", "x")]).await;
    assert_eq!(r.status, 429);
    // Revocation and userinfo are not in the bucket.
    let r = post_form(&app, "/oauth2/revoke", basic, &[("token", "x")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/oauth2/userinfo").await;
    assert_eq!(r.status, 401, "{}", r.text);
    // Another client IP has its own count (a trusted proxy names it).
    let app2 = provider_app(&[
        "--rate-limit-enable",
        "--rate-limit-oauth2-server-burst=1",
        "--trusted-proxies=127.0.0.1/32",
    ])
    .await;
    let call = |ip: &'static str| {
        let req = app2
            .http
            .post(app2.url("/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body("grant_type=password");
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(call("203.0.113.1").await, 400);
    assert_eq!(call("203.0.113.1").await, 429);
    assert_eq!(call("203.0.113.2").await, 400);
}

#[tokio::test]
async fn cleanup_after_a_token_call_deletes_expired_rows_only() {
    let app = provider_app(&[]).await;
    let (client, user, code) = setup(&app, "cleanup@example.com", Authz::default()).await;
    let basic = Auth::Basic(&client, CLIENT_SECRET);
    // A live grant whose request has expired: kept (its refresh token needs auth_time).
    let r = exchange(&app, basic, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let live_refresh = text(&r.body, "refresh_token");
    // Expired leftovers: a request with an expired code, an expired refresh token
    // (whose request is expired too), an expired pending request.
    let (_, expired_code_request) = code_for(
        &app,
        &client,
        &user,
        Authz {
            code_ttl: -60,
            ..Authz::default()
        },
    )
    .await;
    let (dead_code, dead_request) = code_for(&app, &client, &user, Authz::default()).await;
    let r = exchange(&app, basic, &dead_code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let dead_refresh = text(&r.body, "refresh_token");
    let (_, live_code_request) = code_for(&app, &client, &user, Authz::default()).await;
    app.sql(&format!(
        "UPDATE auth.oauth2_auth_requests SET expires_at = now() - interval '1 minute'; \
         UPDATE auth.oauth2_refresh_tokens SET expires_at = now() - interval '1 minute' \
           WHERE token_hash = '{}'",
        sha256_hex(&dead_refresh)
    ))
    .await;
    let count = |sql: &'static str| count(&app, sql);
    assert_eq!(
        count("SELECT count(*) FROM auth.oauth2_auth_requests").await,
        4
    );

    // Upstream's odds (1/1000) are too rare for a test: every successful call.
    app.state.workflows.oauth2.cleanup.set_one_in(1);
    let r = refresh(&app, basic, &live_refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tokens = count("SELECT count(*) FROM auth.oauth2_refresh_tokens").await;
        let codes = count("SELECT count(*) FROM auth.oauth2_authorization_codes").await;
        let requests = count("SELECT count(*) FROM auth.oauth2_auth_requests").await;
        if (tokens, codes, requests) == (1, 1, 2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "clean-up did not run: {tokens} tokens, {codes} codes, {requests} requests"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let db = app.db.client().await;
    let kept: Vec<uuid::Uuid> = db
        .query(
            "SELECT id FROM auth.oauth2_auth_requests ORDER BY created_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        kept.contains(&live_code_request),
        "a live code keeps its request"
    );
    assert!(!kept.contains(&expired_code_request));
    assert!(!kept.contains(&dead_request));
    // The live grant still refreshes, auth_time and all.
    let r = refresh(&app, basic, &text(&r.body, "refresh_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = verified(&app, &text(&r.body, "id_token")).await;
    assert!(id["auth_time"].is_i64(), "{id}");
    let _: Value = id;
}

/// The ids of the OAuth2 refresh token rows.
async fn refresh_rows(app: &TestApp) -> Vec<String> {
    let c = app.db.client().await;
    let rows = c
        .query("SELECT id::text FROM auth.oauth2_refresh_tokens", &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    let c = app.db.client().await;
    c.query_one(sql, &[]).await.unwrap().get(0)
}

/// An OAuth2 access token with Hasura claims is for Hasura: the service's own
/// bearer-protected routes refuse it even when its issuer is the session tokens' issuer
/// (a client granted `graphql` must not change the account or mint personal access
/// tokens).
#[tokio::test]
async fn oauth2_access_tokens_are_not_session_tokens() {
    let secret = format!(
        "--hasura-graphql-jwt-secret={}",
        rsa_secret_with_issuer("https://auth.example.com")
    );
    let app = provider_app(&[&secret]).await;
    let client = confidential_client(&app).await;
    let (user, session) = signed_in_user(&app, "not-a-session@example.com").await;
    let authz = Authz {
        scopes: &["openid", "graphql"],
        ..Authz::default()
    };
    let (code, _) = code_for(&app, &client, &user, authz).await;
    let r = exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = text(&r.body, "access_token");
    let claims = payload(&access);
    assert_eq!(claims["iss"], "https://auth.example.com");
    assert_eq!(
        claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"],
        user.as_str()
    );

    assert_eq!(app.get_auth("/user", &session).await.status, 200);
    let r = app.get_auth("/user", &access).await;
    assert_eq!(
        r.status, 400,
        "refused like an invalid token (0.42): {}",
        r.text
    );
    let r = app
        .post_auth(
            "/pat",
            &access,
            json!({"expiresAt": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app.post("/token/verify", json!({"token": access})).await;
    assert_eq!(r.status, 400, "{}", r.text);
}
