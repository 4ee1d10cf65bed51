//! Discovery, `/oauth2/jwks`, `/oauth2/authorize` and `/oauth2/login` (reference
//! §2.1.1–2.1.3, 2.1.6): every rule with its status, body and redirect parameters.

use serde_json::json;

use crate::common::*;
use crate::support::app::{Reply, TestApp};

/// GET /oauth2/authorize with these query parameters.
async fn authorize(app: &TestApp, params: &[(&str, &str)]) -> Reply {
    let url = url::Url::parse_with_params(&app.url("/oauth2/authorize"), params).unwrap();
    Reply::read(app.http.get(url).send().await.expect("request")).await
}

/// POST /oauth2/authorize with these form parameters.
async fn authorize_post(app: &TestApp, params: &[(&str, &str)]) -> Reply {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    app.post_raw(
        "/oauth2/authorize",
        body,
        "application/x-www-form-urlencoded",
    )
    .await
}

#[track_caller]
fn assert_oauth2_error(r: &Reply, status: u16, code: &str, description: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"error": code, "error_description": description}),
        "{}",
        r.text
    );
}

/// The query of a 302 to the client's redirect URI.
#[track_caller]
fn redirect_error(r: &Reply) -> std::collections::BTreeMap<String, String> {
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.location();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    query_of(&location)
}

async fn pending_request_id(app: &TestApp, client: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", client),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
    ];
    params.extend_from_slice(extra);
    let r = authorize(app, &params).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.location();
    assert!(location.starts_with(DEFAULT_LOGIN_URL), "{location}");
    query_of(&location)["request_id"].clone()
}

#[tokio::test]
async fn discovery_documents_are_identical_and_complete() {
    let app = provider_app(&[]).await;
    let a = app.get("/.well-known/openid-configuration").await;
    let b = app.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
    let issuer = app.base.clone();
    assert_eq!(
        a.body,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
            "jwks_uri": format!("{issuer}/oauth2/jwks"),
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
            "device_authorization_endpoint": format!("{issuer}/oauth2/device"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "urn:ietf:params:oauth:grant-type:device_code"],
            "scopes_supported": ["openid", "profile", "email", "phone", "offline_access", "graphql"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "name", "email", "email_verified", "picture", "locale",
                                 "phone_number", "phone_number_verified"],
            "request_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
        })
    );
    let cimd = provider_app(&["--oauth2-provider-cimd-enabled=true"]).await;
    let doc = cimd.get("/.well-known/openid-configuration").await;
    assert_eq!(doc.body["client_id_metadata_document_supported"], true);
}

#[tokio::test]
async fn jwks_is_the_services_key_set() {
    let app = provider_app(&[]).await;
    let a = app.get("/oauth2/jwks").await;
    let b = app.get("/.well-known/jwks.json").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
    assert_eq!(a.body["keys"][0]["kty"], "RSA");
}

#[tokio::test]
async fn disabled_provider_answers_its_errors() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/oauth2/jwks",
        "/oauth2/authorize?client_id=x",
    ] {
        let r = app.get(path).await;
        assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
    }
    let r = authorize_post(&app, &[("client_id", "x")]).await;
    assert_oauth2_error(&r, 500, "server_error", "OAuth2 provider is disabled");
    let expected = json!({"status": 400, "error": "disabled-endpoint",
                          "message": "OAuth2 provider is disabled"});
    let r = app.get("/oauth2/login?request_id=not-a-uuid").await;
    assert_eq!((r.status.as_u16(), &r.body), (400, &expected), "{}", r.text);
    let token = signed_in_user(&app, "off@example.com").await.1;
    let r = app
        .post_auth("/oauth2/login", &token, json!({"requestId": "x"}))
        .await;
    assert_eq!((r.status.as_u16(), &r.body), (400, &expected), "{}", r.text);
}

#[tokio::test]
async fn authorize_success_stores_the_request_and_goes_to_the_login_page() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let r = authorize(
        &app,
        &[
            ("client_id", &client),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid email profile"),
            ("state", "xyz"),
            ("nonce", "n-1"),
            ("prompt", "consent"),
            ("resource", "https://api.example.com"),
        ],
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let q = query_of(&r.location());
    assert!(r.location().starts_with(&format!("{DEFAULT_LOGIN_URL}?")));
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q["prompt"], "consent");
    let id: uuid::Uuid = q["request_id"].parse().expect("uuid");
    let row = app
        .db
        .client()
        .await
        .query_one(
            "SELECT client_id, scopes, redirect_uri, state, nonce, response_type, \
             code_challenge, resource, done, \
             extract(epoch FROM expires_at - created_at)::int \
             FROM auth.oauth2_auth_requests WHERE id = $1",
            &[&id],
        )
        .await
        .expect("request row");
    assert_eq!(row.get::<_, String>(0), client);
    assert_eq!(row.get::<_, Vec<String>>(1), ["openid", "email", "profile"]);
    assert_eq!(row.get::<_, String>(2), REDIRECT_URI);
    assert_eq!(row.get::<_, Option<String>>(3).as_deref(), Some("xyz"));
    assert_eq!(row.get::<_, Option<String>>(4).as_deref(), Some("n-1"));
    assert_eq!(row.get::<_, String>(5), "code");
    assert_eq!(row.get::<_, Option<String>>(6), None);
    assert_eq!(
        row.get::<_, Option<String>>(7).as_deref(),
        Some("https://api.example.com")
    );
    assert!(!row.get::<_, bool>(8));
    assert_eq!(row.get::<_, i32>(9), 600);

    // POST (form) works the same; no scope means openid; a custom login URL is used.
    let app =
        provider_app(&["--oauth2-provider-login-url=https://ui.example.com/consent?x=1"]).await;
    let client = confidential_client(&app).await;
    let r = authorize_post(
        &app,
        &[
            ("client_id", &client),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
        ],
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert!(
        r.location()
            .starts_with("https://ui.example.com/consent?x=1&request_id=")
    );
    let id: uuid::Uuid = query_of(&r.location())["request_id"].parse().unwrap();
    let scopes: Vec<String> = app
        .db
        .client()
        .await
        .query_one(
            "SELECT scopes FROM auth.oauth2_auth_requests WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(scopes, ["openid"]);
}

#[tokio::test]
async fn authorize_json_errors_before_the_redirect_uri_is_trusted() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let r = authorize(
        &app,
        &[("redirect_uri", REDIRECT_URI), ("response_type", "code")],
    )
    .await;
    assert_oauth2_error(&r, 400, "invalid_request", "client_id is required");
    for unknown in [
        "nhoa_0000000000000000",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
    ] {
        let r = authorize(
            &app,
            &[
                ("client_id", unknown),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
            ],
        )
        .await;
        assert_oauth2_error(&r, 401, "invalid_client", "Unknown client");
    }
    let long = "x".repeat(5000);
    let r = authorize(
        &app,
        &[("client_id", &long), ("redirect_uri", REDIRECT_URI)],
    )
    .await;
    assert_oauth2_error(&r, 401, "invalid_client", "Unknown client");
    // The client is known, the redirect URI is not exactly one of its own: no redirect,
    // even when the other parameters are wrong too.
    for bad in [
        None,
        Some("https://evil.example.com/callback"),
        Some("https://app.example.com/callback/"),
        Some("https://app.example.com/callback?x=1"),
        Some("HTTPS://app.example.com/callback"),
    ] {
        let mut params = vec![("client_id", client.as_str()), ("response_type", "token")];
        if let Some(uri) = bad {
            params.push(("redirect_uri", uri));
        }
        let r = authorize(&app, &params).await;
        assert_oauth2_error(&r, 400, "invalid_request", "Invalid redirect_uri");
        assert!(r.location().is_empty());
    }
    // A repeated redirect_uri is not trusted either.
    let r = authorize(
        &app,
        &[
            ("client_id", &client),
            ("redirect_uri", REDIRECT_URI),
            ("redirect_uri", "https://evil.example.com/"),
            ("response_type", "code"),
        ],
    )
    .await;
    assert_oauth2_error(&r, 400, "invalid_request", "Invalid redirect_uri");
    // NUL characters are refused outright.
    let r = app
        .get(&format!(
            "/oauth2/authorize?client_id={client}&redirect_uri={}&state=a%00b",
            urlencode(REDIRECT_URI)
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_request");
    // A form POST of another content type.
    let r = app
        .post("/oauth2/authorize", json!({"client_id": client}))
        .await;
    assert_oauth2_error(
        &r,
        400,
        "invalid_request",
        "Content-Type must be application/x-www-form-urlencoded",
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A client, extra parameters, the error and its description.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn authorize_redirect_errors_after_the_redirect_uri_is_trusted() {
    let app = provider_app(&[]).await;
    let issuer = app.base.clone();
    let confidential = confidential_client(&app).await;
    let public = public_client(&app).await;
    let narrow = insert_client(
        &app,
        Some(CLIENT_SECRET),
        &[REDIRECT_URI],
        Some(&["openid"]),
    )
    .await;
    let (_, challenge) = pkce_pair();
    let cases: Vec<Case> = vec![
        (
            &confidential,
            vec![("response_type", "token")],
            "unsupported_response_type",
            "Only the code response type is supported",
        ),
        (
            &confidential,
            vec![],
            "invalid_request",
            "response_type is required",
        ),
        (
            &confidential,
            vec![("response_type", "code"), ("scope", "openid address")],
            "invalid_scope",
            "Unsupported scope: address",
        ),
        (
            &narrow,
            vec![("response_type", "code"), ("scope", "openid email")],
            "invalid_scope",
            "Scope not allowed for this client: email",
        ),
        (
            &narrow,
            vec![("response_type", "code"), ("scope", "graphql:role:user")],
            "invalid_scope",
            "Scope not allowed for this client: graphql:role:user",
        ),
        (
            &confidential,
            vec![
                ("response_type", "code"),
                ("scope", "graphql graphql:role:user"),
            ],
            "invalid_scope",
            "The graphql scope cannot be combined with graphql:role scopes",
        ),
        (
            &public,
            vec![("response_type", "code")],
            "invalid_request",
            "PKCE code_challenge is required for public clients",
        ),
        (
            &public,
            vec![
                ("response_type", "code"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
            "Only the S256 code_challenge_method is supported",
        ),
        (
            &confidential,
            vec![("response_type", "code"), ("code_challenge_method", "S256")],
            "invalid_request",
            "code_challenge_method requires a code_challenge",
        ),
        (
            &public,
            vec![
                ("response_type", "code"),
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
            "code_challenge must be 43 base64url characters (S256)",
        ),
        (
            &confidential,
            vec![("response_type", "code"), ("request", "eyJ...")],
            "invalid_request",
            "Request objects are not supported",
        ),
        (
            &confidential,
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("scope", "email"),
            ],
            "invalid_request",
            "scope must not be repeated",
        ),
    ];
    for (client, extra, code, description) in cases {
        let mut params = vec![
            ("client_id", client),
            ("redirect_uri", REDIRECT_URI),
            ("state", "st<&>\"'"),
        ];
        params.extend(extra.iter().copied());
        let q = redirect_error(&authorize(&app, &params).await);
        assert_eq!(q["error"], code, "{params:?}");
        assert_eq!(q["error_description"], description, "{params:?}");
        assert_eq!(q["iss"], issuer);
        assert_eq!(q["state"], "st<&>\"'");
    }
    // Without a state, none is added; a too long value is an error, not stored.
    let long = "s".repeat(5000);
    let q = redirect_error(
        &authorize(
            &app,
            &[
                ("client_id", &confidential),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
                ("nonce", &long),
            ],
        )
        .await,
    );
    assert_eq!(q["error_description"], "nonce is too long");
    assert!(!q.contains_key("state"));
    let stored: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM auth.oauth2_auth_requests", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0, "no failed request is stored");

    // The good cases of the same rules.
    pending_request_id(
        &app,
        &public,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    pending_request_id(&app, &public, &[("code_challenge", &challenge)]).await;
    pending_request_id(
        &app,
        &confidential,
        &[("scope", "graphql:role:user graphql:role:me")],
    )
    .await;
    pending_request_id(&app, &confidential, &[("scope", "openid graphql")]).await;
}

#[tokio::test]
async fn login_shows_and_approves_a_request_once() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let id = pending_request_id(
        &app,
        &client,
        &[("scope", "openid email"), ("state", "s 1")],
    )
    .await;
    let r = app.get(&format!("/oauth2/login?request_id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"requestId": id, "clientId": client, "scopes": ["openid", "email"],
               "redirectUri": REDIRECT_URI})
    );
    let (user_id, token) = signed_in_user(&app, "consent@example.com").await;
    let r = app
        .post_auth("/oauth2/login", &token, json!({"requestId": id}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let redirect = r.body["redirectUri"]
        .as_str()
        .expect("redirectUri")
        .to_owned();
    assert!(
        redirect.starts_with(&format!("{REDIRECT_URI}?code=")),
        "{redirect}"
    );
    let q = query_of(&redirect);
    assert_eq!(q["iss"], app.base);
    assert_eq!(q["state"], "s 1");
    let code = q["code"].clone();
    assert!(uuid::Uuid::parse_str(&code).is_ok(), "{code}");
    // Stored: the request done for the user, the code as its SHA-256, five minutes.
    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT r.done, r.user_id::text, r.auth_time IS NOT NULL, c.code_hash, \
             extract(epoch FROM c.expires_at - c.created_at)::int \
             FROM auth.oauth2_auth_requests r JOIN auth.oauth2_authorization_codes c \
             ON c.auth_request_id = r.id WHERE r.id = $1::text::uuid",
            &[&id],
        )
        .await
        .expect("completed request");
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, String>(1), user_id);
    assert!(row.get::<_, bool>(2));
    assert_eq!(
        row.get::<_, String>(3),
        hasura_auth::service::oauth2_provider::login::stored_hash(&code)
    );
    assert_ne!(row.get::<_, String>(3), code);
    assert_eq!(row.get::<_, i32>(4), 300);
    // Once only.
    let r = app
        .post_auth("/oauth2/login", &token, json!({"requestId": id}))
        .await;
    r.assert_error(400, "invalid-request");
    assert_eq!(r.body["message"], "Authorization request already completed");
    let r = app.get(&format!("/oauth2/login?request_id={id}")).await;
    r.assert_error(400, "invalid-request");
    assert_eq!(r.body["message"], "Authorization request already completed");
}

#[tokio::test]
async fn login_errors() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (_, token) = signed_in_user(&app, "errors@example.com").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = app
        .get(&format!("/oauth2/login?request_id={unknown}"))
        .await;
    r.assert_error(400, "invalid-request");
    assert_eq!(r.body["message"], "Unknown authorization request");
    let r = app
        .post_auth("/oauth2/login", &token, json!({"requestId": unknown}))
        .await;
    r.assert_error(400, "invalid-request");
    assert_eq!(r.body["message"], "Unknown authorization request");
    // Expired.
    let id = pending_request_id(&app, &client, &[]).await;
    app.sql(&format!(
        "UPDATE auth.oauth2_auth_requests SET expires_at = now() - interval '1 second' \
         WHERE id = '{id}'"
    ))
    .await;
    let r = app.get(&format!("/oauth2/login?request_id={id}")).await;
    assert_eq!(
        r.body["message"], "Authorization request expired",
        "{}",
        r.text
    );
    let r = app
        .post_auth("/oauth2/login", &token, json!({"requestId": id}))
        .await;
    r.assert_error(400, "invalid-request");
    assert_eq!(r.body["message"], "Authorization request expired");
    // Malformed input.
    for query in [
        "",
        "?request_id=",
        "?request_id=1%27%20OR%201=1",
        "?request_id=<b>x</b>",
    ] {
        let r = app.get(&format!("/oauth2/login{query}")).await;
        r.assert_error(400, "invalid-request");
    }
    for body in [
        json!({}),
        json!({"requestId": 5}),
        json!({"requestId": "x", "extra": 1}),
    ] {
        let r = app.post_auth("/oauth2/login", &token, body).await;
        r.assert_error(400, "invalid-request");
    }
    // No token, a bad token.
    let id = pending_request_id(&app, &client, &[]).await;
    let r = app.post("/oauth2/login", json!({"requestId": id})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app
        .post_auth("/oauth2/login", "not.a.jwt", json!({"requestId": id}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A disabled user is refused, and the request stays pending.
    let (user_id, token) = signed_in_user(&app, "disabled@example.com").await;
    app.sql(&format!(
        "UPDATE auth.users SET disabled = true WHERE id = '{user_id}'"
    ))
    .await;
    let r = app
        .post_auth("/oauth2/login", &token, json!({"requestId": id}))
        .await;
    r.assert_error(401, "disabled-user");
    let r = app.get(&format!("/oauth2/login?request_id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn concurrent_approvals_issue_one_code() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let (_, token) = signed_in_user(&app, "race@example.com").await;
    let id = pending_request_id(&app, &client, &[]).await;
    let body = json!({"requestId": id});
    let replies: Vec<Reply> = futures_util::future::join_all(
        (0..6).map(|_| app.post_auth("/oauth2/login", &token, body.clone())),
    )
    .await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let codes: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM auth.oauth2_authorization_codes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(codes, 1);
}
