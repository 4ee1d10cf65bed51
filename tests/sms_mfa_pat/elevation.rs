//! `AUTH_REQUIRE_ELEVATED_CLAIM` on `POST /pat`: 3 modes × with/without a security key
//! × elevated or plain token, without and with `AUTH_API_PREFIX`. The first-key
//! exemption of the WebAuthn routes is covered by the rule table in `service::auth`.

use serde_json::json;

use crate::common::{NO_VERIFY, add_security_key, token_for, user_with_token};
use crate::support::app::TestApp;

/// Whether `POST /pat` passes, by mode, user has a key, token elevated.
const EXPECTED: [(&str, bool, bool, bool); 12] = [
    ("disabled", false, false, true),
    ("disabled", false, true, true),
    ("disabled", true, false, true),
    ("disabled", true, true, true),
    ("recommended", false, false, true),
    ("recommended", false, true, true),
    ("recommended", true, false, false),
    ("recommended", true, true, true),
    ("required", false, false, false),
    ("required", false, true, true),
    ("required", true, false, false),
    ("required", true, true, true),
];

/// One server per (prefix, mode), one user per (key, elevated) case.
async fn check_mode(prefix: &'static str, mode: &'static str) {
    let app = TestApp::with(&[
        NO_VERIFY,
        &format!("--require-elevated-claim={mode}"),
        &format!("--api-prefix={prefix}"),
    ])
    .await;
    for (i, (_, key, elevated, passes)) in EXPECTED.iter().filter(|c| c.0 == mode).enumerate() {
        let r = app
            .post(
                &format!("{prefix}/signup/email-password"),
                json!({"email": format!("e{i}@example.com"), "password": "hunter22"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let user_id = uuid::Uuid::parse_str(r.body["session"]["user"]["id"].as_str().expect("id"))
            .expect("uuid");
        if *key {
            add_security_key(&app, user_id).await;
        }
        let token = token_for(&app, user_id, *elevated);
        let r = app
            .post_auth(
                &format!("{prefix}/pat"),
                &token,
                json!({"expiresAt": "2099-01-01T00:00:00Z"}),
            )
            .await;
        let case = format!("prefix={prefix:?} mode={mode} key={key} elevated={elevated}");
        if *passes {
            assert_eq!(r.status, 200, "{case}: {}", r.text);
            assert!(r.body["personalAccessToken"].is_string(), "{case}");
        } else {
            assert_eq!(r.status, 400, "{case}: {}", r.text);
            r.assert_error(400, "elevated-claim-required");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn elevation_matrix_on_pat() {
    let mut runs = Vec::new();
    for prefix in ["", "/v1"] {
        for mode in ["disabled", "recommended", "required"] {
            runs.push(check_mode(prefix, mode));
        }
    }
    futures_util::future::join_all(runs).await;
}

#[tokio::test]
async fn elevation_claim_of_another_user_does_not_count() {
    let app = TestApp::with(&[NO_VERIFY, "--require-elevated-claim=required"]).await;
    let (user_id, token) = user_with_token(&app, "a@example.com").await;
    app.post_auth("/pat", &token, json!({"expiresAt": "2099-01-01T00:00:00Z"}))
        .await
        .assert_error(400, "elevated-claim-required");
    // A token whose x-hasura-auth-elevated names someone else.
    let other = uuid::Uuid::new_v4();
    let roles = vec!["user".to_owned()];
    let extra = vec![("x-hasura-auth-elevated".to_owned(), other.to_string())];
    let forged = app
        .state
        .jwt
        .sign(
            &hasura_auth::tokens::AccessClaims {
                user_id,
                allowed_roles: &roles,
                default_role: "user",
                is_anonymous: false,
                extra: &extra,
                elevated: false,
            },
            900,
        )
        .expect("sign");
    app.post_auth(
        "/pat",
        &forged,
        json!({"expiresAt": "2099-01-01T00:00:00Z"}),
    )
    .await
    .assert_error(400, "elevated-claim-required");
    let good = token_for(&app, user_id, true);
    assert_eq!(
        app.post_auth("/pat", &good, json!({"expiresAt": "2099-01-01T00:00:00Z"}))
            .await
            .status,
        200
    );
}

/// `GET /mfa/totp/generate` is elevated since Nhost Auth 0.51 (#4493), with the exemption
/// of `/user/webauthn/add`: a user without a security key sets TOTP up with a plain token.
#[tokio::test]
async fn totp_generate_needs_elevation_once_the_user_has_a_security_key() {
    for (mode, key, elevated, passes) in [
        ("disabled", true, false, true),
        ("recommended", false, false, true),
        ("recommended", true, false, false),
        ("recommended", true, true, true),
        ("required", false, false, true),
        ("required", true, false, false),
        ("required", true, true, true),
    ] {
        let app = TestApp::with(&[
            NO_VERIFY,
            "--mfa-enabled=true",
            &format!("--require-elevated-claim={mode}"),
        ])
        .await;
        let (user_id, _) = user_with_token(&app, "t@example.com").await;
        if key {
            add_security_key(&app, user_id).await;
        }
        let r = app
            .get_auth("/mfa/totp/generate", &token_for(&app, user_id, elevated))
            .await;
        let case = format!("mode={mode} key={key} elevated={elevated}");
        if passes {
            assert_eq!(r.status, 200, "{case}: {}", r.text);
            assert!(r.body["totpSecret"].is_string(), "{case}");
        } else {
            r.assert_error(400, "elevated-claim-required");
        }
    }
}
