//! The built-in device verification page (`/oauth2/ui/device`, with
//! `AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE`) over HTTP: the default verification URL,
//! code entry, sign-in (password, TOTP), approve and deny with the client's poll, CSRF,
//! the sign-in cookie's binding, unusable codes and the guessing budget, escaping, and
//! the setting off. The real browser is in `consent_browser.rs`.

use hasura_auth::domain::totp::TotpKey;
use serde_json::json;

use crate::common::*;
use crate::consent_page::{BUILTIN, PASSWORD, hidden, page_app};
use crate::grants::*;
use crate::support::app::{CLIENT_URL, Reply, TestApp};

pub const DEVICE_PAGE: &str = "/oauth2/ui/device";
pub const DEVICE_COOKIE: &str = "hasura_auth_oauth2_ui_device";
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /oauth2/device` for a public client: the whole answer.
pub async fn authorize_device(app: &TestApp, client: &str, scope: &str) -> Reply {
    let r = post_form(app, "/oauth2/device", Auth::Id(client), &[("scope", scope)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// One poll of the token endpoint for a public client.
pub async fn poll(app: &TestApp, client: &str, device_code: &str) -> Reply {
    app.sql("UPDATE hasura_auth.oauth2_device_codes SET last_polled_at = NULL")
        .await;
    post_form(
        app,
        "/oauth2/token",
        Auth::Id(client),
        &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
    )
    .await
}

async fn get_device(app: &TestApp, user_code: Option<&str>, cookie: Option<&str>) -> Reply {
    let path = match user_code {
        Some(c) => format!("{DEVICE_PAGE}?{}", form(&[("user_code", c)])),
        None => DEVICE_PAGE.to_owned(),
    };
    let mut req = app.http.get(app.url(&path));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{DEVICE_COOKIE}={c}"));
    }
    Reply::read(req.send().await.expect("request")).await
}

async fn post_device(app: &TestApp, fields: &[(&str, &str)], cookie: Option<&str>) -> Reply {
    let mut req = app
        .http
        .post(app.url(DEVICE_PAGE))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{DEVICE_COOKIE}={c}"));
    }
    Reply::read(req.send().await.expect("request")).await
}

/// The device sign-in cookie a response sets: `(value, the whole header)`.
fn device_cookie(r: &Reply) -> Option<(String, String)> {
    let header = r.headers.get("set-cookie")?.to_str().ok()?.to_owned();
    let value = header
        .strip_prefix(&format!("{DEVICE_COOKIE}="))?
        .split(';')
        .next()?
        .to_owned();
    Some((value, header))
}

/// Signs in on the page of `user_code`: `(cookie, csrf)`.
async fn signin(app: &TestApp, user_code: &str, email: &str) -> (String, String) {
    let page = get_device(app, Some(user_code), None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let r = post_device(
        app,
        &[
            ("user_code", user_code),
            ("csrf", &csrf),
            ("step", "password"),
            ("email", email),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.location(),
        format!("device?{}", form(&[("user_code", user_code)]))
    );
    (device_cookie(&r).expect("cookie").0, csrf)
}

async fn decide(app: &TestApp, user_code: &str, csrf: &str, cookie: &str, d: &str) -> Reply {
    post_device(
        app,
        &[("user_code", user_code), ("csrf", csrf), ("decision", d)],
        Some(cookie),
    )
    .await
}

#[track_caller]
fn assert_page_headers(r: &Reply) {
    let h = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        h("content-type").starts_with("text/html"),
        "{:?}",
        r.headers
    );
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(h("x-frame-options"), "DENY");
    let csp = h("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self';"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
}

#[tokio::test]
async fn approve_on_the_page_and_the_device_gets_tokens() {
    let app = page_app(&[]).await;
    let client = public_client(&app).await;
    let (user, _) = signed_in_user(&app, "tv@example.com").await;

    let r = authorize_device(&app, &client, "openid email").await;
    let uri = format!("{}{DEVICE_PAGE}", app.base);
    assert_eq!(r.body["verification_uri"], uri.as_str());
    let user_code = text(&r.body, "user_code");
    let device_code = text(&r.body, "device_code");
    assert_eq!(
        r.body["verification_uri_complete"],
        format!("{uri}?user_code={user_code}")
    );
    let doc = app.get("/.well-known/openid-configuration").await;
    assert_eq!(
        doc.body["device_authorization_endpoint"],
        format!("{}/oauth2/device", app.base)
    );

    // The code form, then the code typed loosely.
    let entry = get_device(&app, None, None).await;
    assert_eq!(entry.status, 200);
    assert_page_headers(&entry);
    assert!(
        entry
            .text
            .contains(r#"<label for="user_code">Code</label>"#)
    );
    assert!(entry.text.contains(r#"method="get" action="device""#));
    let typed = user_code.to_lowercase().replace('-', " ");
    let page = get_device(&app, Some(&typed), None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_page_headers(&page);
    assert!(page.text.contains(&client), "the client id is shown");
    assert!(
        page.text.contains("See your email address"),
        "{}",
        page.text
    );
    assert!(page.text.contains("(openid)"));
    assert!(
        page.text.contains(&user_code),
        "the canonical code is shown"
    );
    assert!(page.text.contains(r#"<label for="password">"#));

    let (cookie, csrf) = signin(&app, &user_code, "tv@example.com").await;
    let still = poll(&app, &client, &device_code).await;
    assert_oauth2_error(
        &still,
        400,
        "authorization_pending",
        "The user has not approved the request yet",
    );

    let consent = get_device(&app, Some(&user_code), Some(&cookie)).await;
    assert_eq!(consent.status, 200);
    assert!(
        consent
            .text
            .contains("Signed in as <strong>tv@example.com</strong>"),
        "{}",
        consent.text
    );
    let r = decide(&app, &user_code, &csrf, &cookie, "approve").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_page_headers(&r);
    assert!(
        r.text.contains("You can return to your device"),
        "{}",
        r.text
    );
    assert!(r.text.contains(r#"role="status""#));
    let (gone, _) = device_cookie(&r).expect("the cookie is deleted");
    assert!(gone.is_empty());

    // The code is decided: deciding again is refused with a clear message.
    let again = decide(&app, &user_code, &csrf, &cookie, "deny").await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert!(again.text.contains("already been used"), "{}", again.text);
    assert!(again.text.contains(r#"role="alert""#));

    let tokens = poll(&app, &client, &device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let access = text(&tokens.body, "access_token");
    assert_eq!(payload(&access)["sub"], user.as_str());
}

#[tokio::test]
async fn deny_on_the_page_is_access_denied() {
    let app = page_app(&[]).await;
    let client = public_client(&app).await;
    signed_in_user(&app, "deny@example.com").await;
    let r = authorize_device(&app, &client, "openid").await;
    let user_code = text(&r.body, "user_code");
    let device_code = text(&r.body, "device_code");
    let (cookie, csrf) = signin(&app, &user_code, "deny@example.com").await;
    let r = decide(&app, &user_code, &csrf, &cookie, "deny").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Access denied"), "{}", r.text);
    let r = poll(&app, &client, &device_code).await;
    assert_oauth2_error(
        &r,
        400,
        "access_denied",
        "The user denied the authorization request",
    );
    // Another decision word is no decision.
    let r = authorize_device(&app, &client, "openid").await;
    let other = text(&r.body, "user_code");
    let (cookie, csrf) = signin(&app, &other, "deny@example.com").await;
    let r = decide(&app, &other, &csrf, &cookie, "maybe").await;
    assert_eq!(r.status, 400);
    let r = get_device(&app, Some(&other), Some(&cookie)).await;
    assert!(r.text.contains(r#"value="approve""#), "still pending");
}

#[tokio::test]
async fn users_with_totp_give_a_code_after_the_password() {
    let app = page_app(&["--mfa-enabled=true"]).await;
    let client = public_client(&app).await;
    let (user, _) = signed_in_user(&app, "mfa-tv@example.com").await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    app.sql(&format!(
        "UPDATE auth.users SET active_mfa_type = 'totp', totp_secret = '{secret}' \
         WHERE id = '{user}'"
    ))
    .await;
    let r = authorize_device(&app, &client, "openid").await;
    let user_code = text(&r.body, "user_code");
    let device_code = text(&r.body, "device_code");
    let csrf = hidden(&get_device(&app, Some(&user_code), None).await.text, "csrf");
    let password = || async {
        post_device(
            &app,
            &[
                ("user_code", &user_code),
                ("csrf", &csrf),
                ("step", "password"),
                ("email", "mfa-tv@example.com"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await
    };
    let totp = |ticket: String, code: String| {
        let (user_code, csrf, app) = (&user_code, &csrf, &app);
        async move {
            post_device(
                app,
                &[
                    ("user_code", user_code),
                    ("csrf", csrf),
                    ("step", "totp"),
                    ("ticket", &ticket),
                    ("code", &code),
                ],
                None,
            )
            .await
        }
    };
    let r = password().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        device_cookie(&r).is_none(),
        "no cookie before the second factor"
    );
    assert!(r.text.contains(r#"<label for="code">"#), "{}", r.text);
    let r = totp(hidden(&r.text, "ticket"), "000000".into()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("The verification code was not accepted"));
    assert!(device_cookie(&r).is_none());

    let r = password().await;
    let code = TotpKey::from_secret(secret)
        .unwrap()
        .code_at(u64::try_from(chrono::Utc::now().timestamp()).unwrap());
    let r = totp(hidden(&r.text, "ticket"), code).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let cookie = device_cookie(&r).expect("cookie").0;
    let r = decide(&app, &user_code, &csrf, &cookie, "approve").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(poll(&app, &client, &device_code).await.status, 200);
}

#[tokio::test]
async fn forms_need_their_codes_csrf_and_cookies_their_authorization() {
    let app = page_app(&[]).await;
    let client = public_client(&app).await;
    signed_in_user(&app, "csrf-tv@example.com").await;
    let a = text(
        &authorize_device(&app, &client, "openid").await.body,
        "user_code",
    );
    let b = text(
        &authorize_device(&app, &client, "openid").await.body,
        "user_code",
    );
    let (cookie_a, csrf_a) = signin(&app, &a, "csrf-tv@example.com").await;
    let csrf_b = hidden(&get_device(&app, Some(&b), None).await.text, "csrf");
    assert_ne!(csrf_a, csrf_b);

    // Missing, forged, or another code's token: refused before anything is done.
    for csrf in ["", "AAAA", csrf_b.as_str()] {
        let r = decide(&app, &a, csrf, &cookie_a, "approve").await;
        assert_eq!(r.status, 403, "{csrf}: {}", r.text);
        assert!(r.text.contains("This form cannot be used"));
        let r = post_device(
            &app,
            &[
                ("user_code", &a),
                ("csrf", csrf),
                ("step", "password"),
                ("email", "csrf-tv@example.com"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
        assert_eq!(r.status, 403);
        assert!(device_cookie(&r).is_none());
    }
    // A's sign-in proves nothing for B: back to B's sign-in form.
    let r = decide(&app, &b, &csrf_b, &cookie_a, "approve").await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), format!("device?user_code={b}"));
    let page = get_device(&app, Some(&b), Some(&cookie_a)).await;
    assert!(page.text.contains(r#"<label for="password">"#));
    // Nor does a forged or missing cookie.
    for cookie in ["", "garbage", &cookie_a.replace('.', "x")] {
        let r = decide(&app, &a, &csrf_a, cookie, "approve").await;
        assert_eq!(r.status, 303, "{cookie}");
    }
    // Nothing was decided.
    let pending: i64 = app
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM hasura_auth.oauth2_device_codes WHERE status = 'pending'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 2);
    // Only forms: another content type is refused.
    let r = Reply::read(
        app.http
            .post(app.url(DEVICE_PAGE))
            .json(&json!({"user_code": a, "csrf": csrf_a, "decision": "approve"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn unusable_codes_are_explained_and_spend_the_guessing_budget() {
    let app = page_app(&[]).await;
    let client = public_client(&app).await;
    let (_, token) = signed_in_user(&app, "guess-tv@example.com").await;
    let r = authorize_device(&app, &client, "openid").await;
    let user_code = text(&r.body, "user_code");
    let wrong = if user_code == "BCDF-GHJK" {
        "BCDF-GHJL"
    } else {
        "BCDF-GHJK"
    };

    let r = get_device(&app, Some(wrong), None).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("This code is not valid"), "{}", r.text);
    assert!(
        r.text
            .contains(r#"id="form-error" class="error" role="alert""#)
    );
    assert!(r.text.contains(r#"aria-invalid="true""#));
    assert!(
        r.text.contains(&format!(r#"value="{wrong}""#)),
        "typed code kept"
    );

    // Expired.
    let expired = text(
        &authorize_device(&app, &client, "openid").await.body,
        "user_code",
    );
    app.sql(&format!(
        "UPDATE hasura_auth.oauth2_device_codes SET expires_at = now() - interval '1 s' \
         WHERE user_code_hash = '{}'",
        sha256_hex(&expired.replace('-', ""))
    ))
    .await;
    let r = get_device(&app, Some(&expired), None).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("This code has expired"), "{}", r.text);

    // One unknown code was spent above; 59 more through the page and the JSON API
    // together spend the service-wide budget.
    for i in 0..59 {
        let r = if i % 2 == 0 {
            get_device(&app, Some(wrong), None).await
        } else {
            app.get(&format!("/oauth2/device/verify?user_code={wrong}"))
                .await
        };
        assert_eq!(r.status, 400, "{i}: {}", r.text);
    }
    let r = get_device(&app, Some(&user_code), None).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.text.contains("Too many invalid codes"), "{}", r.text);
    let r = app
        .post_auth(
            "/oauth2/device/verify",
            &token,
            json!({"userCode": user_code, "action": "approve"}),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
}

#[tokio::test]
async fn input_and_client_metadata_are_escaped() {
    let app = page_app(&[]).await;
    let client = public_client(&app).await;
    app.sql(&format!(
        "UPDATE auth.oauth2_clients SET metadata = \
         '{{\"client_name\": \"<script>alert(1)</script> & \\\"Co\\\"\"}}'::jsonb \
         WHERE client_id = '{client}'"
    ))
    .await;
    let user_code = text(
        &authorize_device(&app, &client, "openid").await.body,
        "user_code",
    );
    let page = get_device(&app, Some(&user_code), None).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("<script"), "{}", page.text);
    assert!(
        page.text
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;"),
        "{}",
        page.text
    );
    let hostile = "\"><script>alert(2)</script>' OR 1=1 --";
    let r = get_device(&app, Some(hostile), None).await;
    assert_eq!(r.status, 400);
    assert!(!r.text.contains("<script"), "{}", r.text);
    assert!(r.text.contains("&quot;&gt;&lt;script&gt;"), "{}", r.text);
    // A long code is not echoed whole.
    let long = "B".repeat(2000);
    let r = get_device(&app, Some(&long), None).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains(&"B".repeat(64)));
    assert!(!r.text.contains(&"B".repeat(65)));
    // The sign-in form with hostile input answers the generic failure, escaped.
    let csrf = hidden(&page.text, "csrf");
    let r = post_device(
        &app,
        &[
            ("user_code", &user_code),
            ("csrf", &csrf),
            ("step", "password"),
            ("email", hostile),
            ("password", "x"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("Incorrect email or password."));
    assert!(!r.text.contains("<script"), "{}", r.text);
}

#[tokio::test]
async fn the_verification_url_follows_the_setting() {
    // The page off: no route, and the client URL default.
    let app = provider_app(&[]).await;
    assert_eq!(get_device(&app, None, None).await.status, 404);
    let client = public_client(&app).await;
    let r = authorize_device(&app, &client, "openid").await;
    assert_eq!(
        r.body["verification_uri"],
        format!("{CLIENT_URL}/oauth2/device")
    );

    // On, with an explicit URL: the setting wins (the page is still served).
    let app = provider_app(&[
        BUILTIN,
        "--oauth2-provider-device-verify-url=https://tv.example.com/activate",
    ])
    .await;
    let client = public_client(&app).await;
    let r = authorize_device(&app, &client, "openid").await;
    assert_eq!(
        r.body["verification_uri"],
        "https://tv.example.com/activate"
    );
    assert_eq!(get_device(&app, None, None).await.status, 200);

    // On, without AUTH_CLIENT_URL: the device flow still works, on the page.
    let app = provider_app(&[BUILTIN, "--client-url="]).await;
    let doc = app.get("/.well-known/openid-configuration").await;
    assert_eq!(
        doc.body["device_authorization_endpoint"],
        format!("{}/oauth2/device", app.base)
    );
    let client = public_client(&app).await;
    let r = authorize_device(&app, &client, "openid").await;
    assert_eq!(
        r.body["verification_uri"],
        format!("{}{DEVICE_PAGE}", app.base)
    );
}
