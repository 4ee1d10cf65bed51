//! `GET|POST /oauth2/userinfo` (reference §2.1.5).

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::common::*;
use crate::grants::*;
use crate::support::app::{Reply, TestApp};

/// Tokens of a completed grant for `scopes`: `(client, user, token response)`.
async fn grant(app: &TestApp, email: &str, scopes: &[&str]) -> (String, String, Value) {
    let authz = Authz {
        scopes,
        ..Authz::default()
    };
    let (client, user, code) = setup(app, email, authz).await;
    let r = exchange(app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (client, user, r.body)
}

async fn userinfo(app: &TestApp, authorization: Option<&str>, post: bool) -> Reply {
    let mut req = if post {
        app.http.post(app.url("/oauth2/userinfo"))
    } else {
        app.http.get(app.url("/oauth2/userinfo"))
    };
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    Reply::read(req.send().await.expect("request")).await
}

#[track_caller]
fn assert_invalid_token(r: &Reply, description: &str) {
    assert_oauth2_error(r, 401, "invalid_token", description);
    assert_eq!(
        r.headers["www-authenticate"],
        format!(r#"Bearer error="invalid_token", error_description="{description}""#),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn claims_follow_the_scopes() {
    let app = provider_app(&[]).await;
    let (_, user, tokens) = grant(
        &app,
        "info@example.com",
        &["openid", "profile", "email", "phone"],
    )
    .await;
    app.sql(&format!(
        "UPDATE auth.users SET phone_number = '+15555550100', phone_number_verified = true, \
           avatar_url = 'https://img.example.com/a.png', display_name = 'Info Person' \
         WHERE id = '{user}'"
    ))
    .await;
    let bearer = format!("Bearer {}", text(&tokens, "access_token"));
    for post in [false, true] {
        let r = userinfo(&app, Some(&bearer), post).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body,
            json!({
                "sub": user,
                "name": "Info Person",
                "picture": "https://img.example.com/a.png",
                "locale": "en",
                "email": "info@example.com",
                "email_verified": false,
                "phone_number": "+15555550100",
                "phone_number_verified": true,
            })
        );
    }
    // The scheme is case-insensitive (RFC 6750).
    let lower = format!("bearer {}", text(&tokens, "access_token"));
    assert_eq!(userinfo(&app, Some(&lower), false).await.status, 200);

    // openid alone: the subject only.
    let (_, user, tokens) = grant(&app, "only@example.com", &["openid"]).await;
    let r = userinfo(
        &app,
        Some(&format!("Bearer {}", text(&tokens, "access_token"))),
        false,
    )
    .await;
    assert_eq!(r.body, json!({"sub": user}));
}

#[tokio::test]
async fn graphql_claims_have_json_types() {
    let app = provider_app(&[
        "--graphql-url=http://127.0.0.1:9/v1/graphql",
        "--hasura-admin-secret=test-admin-secret",
        "--hasura-metadata-sync=false",
        r#"--custom-claims={"tier":"profile.tier","orgs":"profile.orgs"}"#,
        r#"--custom-claims-defaults={"tier":3,"orgs":["o1","o2"]}"#,
        "--custom-claims-timeout=1s",
    ])
    .await;
    let (_, user, tokens) = grant(&app, "typed@example.com", &["openid", "graphql"]).await;
    let r = userinfo(
        &app,
        Some(&format!("Bearer {}", text(&tokens, "access_token"))),
        false,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut body = r.body.clone();
    let roles = &mut body["https://hasura.io/jwt/claims"]["x-hasura-allowed-roles"];
    if let Some(list) = roles.as_array_mut() {
        list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    assert_eq!(
        body,
        json!({
            "sub": user,
            "https://hasura.io/jwt/claims": {
                "x-hasura-allowed-roles": ["me", "user"],
                "x-hasura-default-role": "user",
                "x-hasura-user-id": user,
                "x-hasura-user-is-anonymous": false,
                "x-hasura-tier": 3,
                "x-hasura-orgs": ["o1", "o2"],
            }
        })
    );

    let (_, user, tokens) = grant(&app, "narrow@example.com", &["graphql:role:me"]).await;
    let r = userinfo(
        &app,
        Some(&format!("Bearer {}", text(&tokens, "access_token"))),
        true,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let claims = &r.body["https://hasura.io/jwt/claims"];
    assert_eq!(claims["x-hasura-allowed-roles"], json!(["me"]));
    assert_eq!(claims["x-hasura-default-role"], "me");
    assert_eq!(claims["x-hasura-user-id"], user.as_str());

    // The role is taken away: the narrowed claims are no longer served.
    app.sql(&format!(
        "DELETE FROM auth.user_roles WHERE user_id = '{user}' AND role = 'me'"
    ))
    .await;
    let r = userinfo(
        &app,
        Some(&format!("Bearer {}", text(&tokens, "access_token"))),
        false,
    )
    .await;
    assert_invalid_token(&r, "The user no longer has a role the token names");
}

#[tokio::test]
async fn refusals_are_401_invalid_token() {
    let app = provider_app(&[]).await;
    let (client, user, tokens) = grant(&app, "refused@example.com", &["openid", "email"]).await;
    let access = text(&tokens, "access_token");

    let r = userinfo(&app, None, false).await;
    assert_invalid_token(&r, "Missing bearer token");
    let r = userinfo(&app, Some("Basic abc"), false).await;
    assert_invalid_token(&r, "Missing bearer token");
    let r = userinfo(&app, Some("Bearer not.a.jwt"), false).await;
    assert_invalid_token(&r, "Invalid or expired access token");

    // The ID token is not an access token (no scope).
    let r = userinfo(
        &app,
        Some(&format!("Bearer {}", text(&tokens, "id_token"))),
        false,
    )
    .await;
    assert_invalid_token(&r, "Invalid or expired access token");

    // An ordinary session access token is not an OAuth2 access token.
    let (_, session_token) = signed_in_user(&app, "session@example.com").await;
    let r = userinfo(&app, Some(&format!("Bearer {session_token}")), false).await;
    assert_invalid_token(&r, "Invalid or expired access token");

    // Forged: our claims, signed with another RSA key (same kid), or altered.
    let mut claims = payload(&access);
    let forged_key =
        EncodingKey::from_rsa_pem(include_bytes!("../fixtures/keys/other-private.pem"))
            .expect("key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = jsonwebtoken::decode_header(&access).unwrap().kid;
    let forged = encode(&header, &claims, &forged_key).unwrap();
    let r = userinfo(&app, Some(&format!("Bearer {forged}")), false).await;
    assert_invalid_token(&r, "Invalid or expired access token");
    let mut parts: Vec<&str> = access.split('.').collect();
    use base64::Engine;
    claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let altered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    parts[1] = &altered;
    let r = userinfo(&app, Some(&format!("Bearer {}", parts.join("."))), false).await;
    assert_invalid_token(&r, "Invalid or expired access token");
    // alg none.
    let none = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        altered
    );
    let r = userinfo(&app, Some(&format!("Bearer {none}")), false).await;
    assert_invalid_token(&r, "Invalid or expired access token");

    // Expired: a real token from a provider with a 1-second lifetime.
    let short = provider_app(&["--oauth2-provider-access-token-ttl=1"]).await;
    let (_, _, t) = grant(&short, "short@example.com", &["openid"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = userinfo(
        &short,
        Some(&format!("Bearer {}", text(&t, "access_token"))),
        false,
    )
    .await;
    assert_invalid_token(&r, "Invalid or expired access token");

    // Another issuer: a token of a provider whose secret names another issuer, same key.
    let secret = format!(
        "--hasura-graphql-jwt-secret={}",
        rsa_secret_with_issuer("https://elsewhere.example.com")
    );
    let other = provider_app(&[&secret]).await;
    let (_, _, t) = grant(&other, "elsewhere@example.com", &["openid"]).await;
    let r = userinfo(
        &app,
        Some(&format!("Bearer {}", text(&t, "access_token"))),
        false,
    )
    .await;
    assert_invalid_token(&r, "Invalid or expired access token");

    // Disabled, then deleted user.
    let bearer = format!("Bearer {access}");
    assert_eq!(userinfo(&app, Some(&bearer), false).await.status, 200);
    app.sql(&format!(
        "UPDATE auth.users SET disabled = true WHERE id = '{user}'"
    ))
    .await;
    let r = userinfo(&app, Some(&bearer), false).await;
    assert_invalid_token(&r, "User account is not active");
    app.sql(&format!("DELETE FROM auth.users WHERE id = '{user}'"))
        .await;
    let r = userinfo(&app, Some(&bearer), false).await;
    assert_invalid_token(&r, "User not found");
    let _ = client;
}
