//! `hasura-auth users …`.

use serde_json::json;

use crate::{PASSWORD, Setup};

/// Follows an emailed `/verify` link; returns the redirect's query.
async fn follow(setup: &Setup, link: &str) -> std::collections::HashMap<String, String> {
    let res = setup.app.http.get(link).send().await.expect("follow link");
    assert_eq!(res.status(), 302, "link {link}");
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    url::Url::parse(&location)
        .expect("redirect URL")
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn users_create_with_password_signs_in_through_the_api() {
    let setup = Setup::new(&[]).await;
    let run = setup
        .run(&[
            "users",
            "create",
            "--email",
            "ada@example.com",
            "--password",
            PASSWORD,
            "--verified",
            "--display-name",
            "Ada",
            "--metadata",
            r#"{"team":"ops"}"#,
        ])
        .await;
    run.ok();
    let out = run.json();
    assert_eq!(out["emailSent"], "none");
    let user = &out["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["displayName"], "Ada");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["disabled"], false);
    assert_eq!(user["defaultRole"], "user");
    assert_eq!(user["roles"], json!(["me", "user"]));
    assert_eq!(user["metadata"], json!({"team": "ops"}));
    assert_eq!(user["lastSeen"], serde_json::Value::Null);

    let signin = setup.signin("ada@example.com", PASSWORD).await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    assert_eq!(signin.body["session"]["user"]["id"], user["id"]);
    // No session was opened by the command itself: only the sign-in's.
    let sessions = setup.run(&["sessions", "list", "ada@example.com"]).await;
    assert_eq!(
        sessions.ok().json()["sessions"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn users_create_unverified_sends_the_verification_email_of_sign_up() {
    let setup = Setup::with_smtp(&[]).await;
    let run = setup
        .run(&[
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--password",
            PASSWORD,
        ])
        .await;
    run.ok();
    assert_eq!(run.json()["emailSent"], "verification");
    assert_eq!(run.json()["user"]["emailVerified"], false);
    setup
        .signin("bob@example.com", PASSWORD)
        .await
        .assert_error(401, "unverified-user");

    let mail = setup.email_to("bob@example.com").await;
    let link = mail.header("X-Link").expect("a link");
    assert!(link.contains("type=emailVerify"), "{link}");
    let query = follow(&setup, &link).await;
    assert!(query.contains_key("refreshToken"), "{query:?}");
    assert_eq!(setup.signin("bob@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn users_create_invite_password_reset_lets_the_user_choose_a_password() {
    let setup = Setup::with_smtp(&[]).await;
    let run = setup
        .run(&[
            "users",
            "create",
            "--email",
            "cy@example.com",
            "--invite",
            "password-reset",
        ])
        .await;
    run.ok();
    assert_eq!(run.json()["emailSent"], "password-reset");

    let mail = setup.email_to("cy@example.com").await;
    let link = mail.header("X-Link").expect("a link");
    assert!(link.contains("type=passwordReset"), "{link}");
    let query = follow(&setup, &link).await;
    let refresh = query.get("refreshToken").expect("signed in by the link");
    let token = setup
        .app
        .post("/token", json!({"refreshToken": refresh}))
        .await;
    assert_eq!(token.status, 200, "{}", token.text);
    let access = token.body["accessToken"].as_str().expect("access token");
    let changed = setup
        .app
        .post_auth(
            "/user/password",
            access,
            json!({"newPassword": "chosen-by-cy"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        setup.signin("cy@example.com", "chosen-by-cy").await.status,
        200
    );
}

#[tokio::test]
async fn users_create_invite_magic_link_needs_passwordless_email() {
    let setup = Setup::with_smtp(&[]).await;
    setup
        .run(&[
            "users",
            "create",
            "--email",
            "di@example.com",
            "--invite",
            "magic-link",
        ])
        .await
        .fails(4, "disabled-endpoint");
    let missing = setup.run(&["users", "show", "di@example.com"]).await;
    missing.fails(3, "user-not-found");

    let setup = Setup::with_smtp(&["--email-passwordless-enabled"]).await;
    let run = setup
        .run(&[
            "users",
            "create",
            "--email",
            "di@example.com",
            "--invite",
            "magic-link",
        ])
        .await;
    run.ok();
    assert_eq!(run.json()["emailSent"], "magic-link");
    let link = setup
        .email_to("di@example.com")
        .await
        .header("X-Link")
        .expect("link");
    assert!(link.contains("type=signinPasswordless"), "{link}");
    let query = follow(&setup, &link).await;
    assert!(query.contains_key("refreshToken"), "{query:?}");
    let shown = setup.run(&["users", "show", "di@example.com"]).await;
    assert_eq!(shown.ok().json()["emailVerified"], true);
}

#[tokio::test]
async fn users_create_refuses_what_sign_up_refuses() {
    let setup = Setup::new(&[
        "--password-min-length=9",
        "--block-email-domains=blocked.test",
    ])
    .await;
    setup
        .run(&[
            "users",
            "create",
            "--email",
            "taken@example.com",
            "--password",
            "long-enough-1",
        ])
        .await
        .ok();
    let create = |email: &'static str, extra: &'static [&'static str]| {
        let mut args = vec!["users", "create", "--email", email];
        args.extend_from_slice(extra);
        args
    };
    setup
        .run(&create(
            "TAKEN@example.com",
            &["--password", "long-enough-1"],
        ))
        .await
        .fails(4, "email-already-in-use");
    setup
        .run(&create("new@example.com", &["--password", "short1"]))
        .await
        .fails(4, "password-too-short");
    setup
        .run(&create("new@example.com", &["--password", "x"]))
        .await
        .fails(2, "invalid-argument");
    setup
        .run(&create(
            "new@example.com",
            &["--password", "long-enough-1", "--role", "admin"],
        ))
        .await
        .fails(4, "role-not-allowed");
    setup
        .run(&create(
            "new@example.com",
            &[
                "--password",
                "long-enough-1",
                "--role",
                "me",
                "--default-role",
                "user",
            ],
        ))
        .await
        .fails(4, "default-role-must-be-in-allowed-roles");
    setup
        .run(&create(
            "new@blocked.test",
            &["--password", "long-enough-1"],
        ))
        .await
        .fails(4, "invalid-email-password");
    setup
        .run(&create("not-an-email", &["--password", "long-enough-1"]))
        .await
        .fails(2, "invalid-argument");
    setup
        .run(&create(
            "new@example.com",
            &["--password", "long-enough-1", "--locale", "xx"],
        ))
        .await
        .fails(4, "locale-not-allowed");
    setup
        .run(&create(
            "new@example.com",
            &[
                "--password",
                "long-enough-1",
                "--redirect-to",
                "https://evil.test",
            ],
        ))
        .await
        .fails(4, "redirectTo-not-allowed");
    // Nothing of the above created a user.
    let list = setup.run(&["users", "list"]).await;
    assert_eq!(list.ok().json()["total"], 1);
}

#[tokio::test]
async fn users_create_is_not_held_back_by_the_sign_up_switches() {
    let setup = Setup::new(&["--disable-signup", "--disable-new-users"]).await;
    let run = setup
        .run(&[
            "users",
            "create",
            "--email",
            "op@example.com",
            "--password",
            PASSWORD,
            "--verified",
        ])
        .await;
    assert_eq!(run.ok().json()["user"]["disabled"], false);
    assert_eq!(setup.signin("op@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn users_create_reads_the_password_from_stdin() {
    let setup = Setup::new(&[]).await;
    setup
        .run_with_stdin(
            &[
                "users",
                "create",
                "--email",
                "in@example.com",
                "--password-stdin",
                "--verified",
            ],
            Some("from-stdin-1\n"),
        )
        .await
        .ok();
    assert_eq!(
        setup.signin("in@example.com", "from-stdin-1").await.status,
        200
    );
}

#[tokio::test]
async fn users_list_pages_and_searches() {
    let setup = Setup::new(&[]).await;
    for email in ["a1@example.com", "a2@example.com", "b1@other.test"] {
        setup.user(email).await;
    }
    let page = setup.run(&["users", "list", "--limit", "2"]).await;
    let page = page.ok().json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["users"].as_array().map(Vec::len), Some(2));
    // Newest first.
    assert_eq!(page["users"][0]["email"], "b1@other.test");
    let rest = setup
        .run(&["users", "list", "--limit", "2", "--offset", "2"])
        .await;
    let rest = rest.ok().json();
    assert_eq!(rest["users"][0]["email"], "a1@example.com");
    let past = setup.run(&["users", "list", "--offset", "10"]).await;
    assert_eq!(past.ok().json()["total"], 3);

    let found = setup
        .run(&["users", "list", "--search", "EXAMPLE.com"])
        .await;
    assert_eq!(found.ok().json()["total"], 2);
    // Wildcards are plain text.
    let none = setup.run(&["users", "list", "--search", "%"]).await;
    assert_eq!(none.ok().json()["total"], 0);

    let text = setup.run_text(&["users", "list"]).await;
    text.ok();
    assert!(text.stdout.starts_with("ID "), "{}", text.stdout);
    assert!(text.stdout.contains("b1@other.test"), "{}", text.stdout);
    assert!(text.stdout.contains("users 1-3 of 3"), "{}", text.stdout);
}

#[tokio::test]
async fn users_show_finds_by_id_or_email() {
    let setup = Setup::new(&[]).await;
    let id = setup.user("show@example.com").await;
    let by_id = setup.run(&["users", "show", &id]).await;
    assert_eq!(by_id.ok().json()["email"], "show@example.com");
    let by_email = setup.run(&["users", "show", "SHOW@example.com"]).await;
    assert_eq!(by_email.ok().json()["id"], id.as_str());
    setup
        .run(&["users", "show", "nobody@example.com"])
        .await
        .fails(3, "user-not-found");
    setup
        .run(&["users", "show", "00000000-0000-4000-8000-000000000000"])
        .await
        .fails(3, "user-not-found");
    setup
        .run(&["users", "show", "neither"])
        .await
        .fails(2, "invalid-argument");

    let text = setup.run_text(&["users", "show", &id]).await;
    text.ok();
    assert!(
        text.stdout.contains("email         show@example.com"),
        "{}",
        text.stdout
    );
    let error = setup
        .run_text(&["users", "show", "nobody@example.com"])
        .await;
    assert_eq!(error.code, 3);
    assert_eq!(
        error.stderr.trim(),
        "hasura-auth: no user nobody@example.com (user-not-found)"
    );
}

#[tokio::test]
async fn users_disable_and_enable_gate_sign_in() {
    let setup = Setup::new(&[]).await;
    setup.user("gate@example.com").await;
    let disabled = setup.run(&["users", "disable", "gate@example.com"]).await;
    assert_eq!(disabled.ok().json()["disabled"], true);
    setup
        .signin("gate@example.com", PASSWORD)
        .await
        .assert_error(401, "disabled-user");
    let enabled = setup.run(&["users", "enable", "gate@example.com"]).await;
    assert_eq!(enabled.ok().json()["disabled"], false);
    assert_eq!(setup.signin("gate@example.com", PASSWORD).await.status, 200);
    setup
        .run(&["users", "disable", "ghost@example.com"])
        .await
        .fails(3, "user-not-found");
}

#[tokio::test]
async fn users_verify_email_lets_an_unverified_user_sign_in() {
    let setup = Setup::with_smtp(&[]).await;
    setup
        .run(&[
            "users",
            "create",
            "--email",
            "unv@example.com",
            "--password",
            PASSWORD,
        ])
        .await
        .ok();
    setup
        .signin("unv@example.com", PASSWORD)
        .await
        .assert_error(401, "unverified-user");
    let run = setup
        .run(&["users", "verify-email", "unv@example.com"])
        .await;
    assert_eq!(run.ok().json()["emailVerified"], true);
    assert_eq!(setup.signin("unv@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn users_set_password_applies_the_password_rules() {
    let setup = Setup::new(&["--password-min-length=9"]).await;
    setup
        .run(&[
            "users",
            "create",
            "--email",
            "pw@example.com",
            "--password",
            "first-pass-1",
            "--verified",
        ])
        .await
        .ok();
    setup
        .run_with_stdin(
            &[
                "users",
                "set-password",
                "pw@example.com",
                "--password-stdin",
            ],
            Some("short1\n"),
        )
        .await
        .fails(4, "password-too-short");
    setup
        .run_with_stdin(
            &[
                "users",
                "set-password",
                "pw@example.com",
                "--password-stdin",
            ],
            Some("second-pass-2\n"),
        )
        .await
        .ok();
    setup
        .signin("pw@example.com", "first-pass-1")
        .await
        .assert_error(401, "invalid-email-password");
    assert_eq!(
        setup.signin("pw@example.com", "second-pass-2").await.status,
        200
    );
    setup
        .run(&[
            "users",
            "set-password",
            "ghost@example.com",
            "--password",
            "second-pass-2",
        ])
        .await
        .fails(3, "user-not-found");
}

#[tokio::test]
async fn users_roles_are_checked_and_reach_the_token() {
    let setup = Setup::new(&["--default-allowed-roles=user,me,editor"]).await;
    setup.user("roles@example.com").await;
    let added = setup
        .run(&["users", "add-role", "roles@example.com", "editor"])
        .await;
    assert_eq!(added.ok().json()["roles"], json!(["editor", "me", "user"]));
    setup
        .run(&["users", "add-role", "roles@example.com", "admin"])
        .await
        .fails(4, "role-not-allowed");
    let default = setup
        .run(&["users", "set-default-role", "roles@example.com", "editor"])
        .await;
    assert_eq!(default.ok().json()["defaultRole"], "editor");

    let signin = setup.signin("roles@example.com", PASSWORD).await;
    let token = signin.body["session"]["accessToken"]
        .as_str()
        .expect("token");
    let claims = decode_claims(token);
    assert_eq!(claims["x-hasura-default-role"], "editor");
    let allowed = claims["x-hasura-allowed-roles"].as_array().expect("roles");
    assert!(allowed.contains(&json!("editor")), "{claims}");

    setup
        .run(&["users", "remove-role", "roles@example.com", "editor"])
        .await
        .fails(4, "default-role-must-be-in-allowed-roles");
    let removed = setup
        .run(&["users", "remove-role", "roles@example.com", "me"])
        .await;
    assert_eq!(removed.ok().json()["roles"], json!(["editor", "user"]));
    setup
        .run(&["users", "set-default-role", "roles@example.com", "me"])
        .await
        .fails(4, "default-role-must-be-in-allowed-roles");
}

/// The Hasura claims of an access token (its signature is the server's business).
fn decode_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    value["https://hasura.io/jwt/claims"].clone()
}

#[tokio::test]
async fn users_delete_needs_yes_and_removes_everything() {
    let setup = Setup::new(&[]).await;
    let id = setup.user("bye@example.com").await;
    assert_eq!(setup.signin("bye@example.com", PASSWORD).await.status, 200);
    setup
        .run(&["users", "delete", "bye@example.com"])
        .await
        .fails(2, "invalid-argument");
    let deleted = setup
        .run(&["users", "delete", "bye@example.com", "--yes"])
        .await;
    assert_eq!(deleted.ok().json()["deleted"]["id"], id.as_str());
    setup
        .signin("bye@example.com", PASSWORD)
        .await
        .assert_error(401, "invalid-email-password");
    let client = setup.app.db.client().await;
    let tokens: i64 = client
        .query_one("SELECT count(*) FROM auth.refresh_tokens", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(tokens, 0);
    setup
        .run(&["users", "delete", "bye@example.com", "--yes"])
        .await
        .fails(3, "user-not-found");
}
