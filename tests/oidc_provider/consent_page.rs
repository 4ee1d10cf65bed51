//! The built-in sign-in and consent page (`AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE`) over
//! HTTP: where `/oauth2/authorize` sends the browser, the password and TOTP steps,
//! approve and deny, CSRF, the sign-in cookie, unusable requests, escaping, headers,
//! hostile bodies, rate limits and the setting off. The real browser is in
//! `consent_browser.rs`.

use hasura_auth::domain::totp::TotpKey;

use crate::common::*;
use crate::grants::*;
use crate::support::app::{Reply, TestApp};

pub const BUILTIN: &str = "--oauth2-provider-builtin-login-page=true";
pub const PASSWORD: &str = "correct-horse-battery";
pub const PAGE: &str = "/oauth2/ui/login";
pub const CONSENT: &str = "/oauth2/ui/consent";
pub const COOKIE: &str = "hasura_auth_oauth2_ui";

/// A provider app with the page on.
pub async fn page_app(extra: &[&str]) -> TestApp {
    let mut args = vec![BUILTIN];
    args.extend_from_slice(extra);
    provider_app(&args).await
}

/// Runs `/oauth2/authorize` for `client` (state `st-7`); returns the request id after
/// checking that the browser is sent to the built-in page.
pub async fn start(app: &TestApp, client: &str, redirect_uri: &str, scope: &str) -> String {
    let q = form(&[
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st-7"),
    ]);
    let r = app.get(&format!("/oauth2/authorize?{q}")).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.location();
    let prefix = format!("{}{PAGE}?request_id=", app.base);
    assert!(location.starts_with(&prefix), "{location}");
    query_of(&location)["request_id"].clone()
}

/// A GET of the page, with the sign-in cookie when given.
pub async fn get_page(app: &TestApp, request_id: &str, cookie: Option<&str>) -> Reply {
    let mut req = app
        .http
        .get(app.url(&format!("{PAGE}?request_id={request_id}")));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{COOKIE}={c}"));
    }
    Reply::read(req.send().await.expect("request")).await
}

/// A form POST to a page route, with the sign-in cookie when given.
pub async fn post_page(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> Reply {
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{COOKIE}={c}"));
    }
    Reply::read(req.send().await.expect("request")).await
}

/// The value of the hidden input `name` of a page.
pub fn hidden(html: &str, name: &str) -> String {
    let re = regex::Regex::new(&format!(r#"name="{name}" value="([^"]*)""#)).unwrap();
    re.captures(html)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))[1]
        .to_owned()
}

/// The sign-in cookie a response sets: `(value, the whole header)`.
pub fn signin_cookie(r: &Reply) -> Option<(String, String)> {
    let header = r.headers.get("set-cookie")?.to_str().ok()?.to_owned();
    let value = header
        .strip_prefix(&format!("{COOKIE}="))?
        .split(';')
        .next()?
        .to_owned();
    Some((value, header))
}

/// Signs in on the page with email and password; returns the cookie's value.
pub async fn password_signin(app: &TestApp, request_id: &str, email: &str) -> String {
    let page = get_page(app, request_id, None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let r = post_page(
        app,
        PAGE,
        &[
            ("request_id", request_id),
            ("csrf", &csrf),
            ("step", "password"),
            ("email", email),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), format!("login?request_id={request_id}"));
    signin_cookie(&r).expect("sign-in cookie").0
}

/// Whether the request is still pending (not completed, not denied).
pub async fn pending(app: &TestApp, request_id: &str) -> bool {
    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT done FROM auth.oauth2_auth_requests WHERE id = $1::text::uuid",
            &[&request_id],
        )
        .await
        .expect("request row");
    !row.get::<_, bool>(0)
}

#[tokio::test]
async fn password_signin_then_approve_issues_a_code_the_client_exchanges() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    let (user, _) = signed_in_user(&app, "page@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid email").await;

    let page = get_page(&app, &id, None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(&client), "the client id is shown");
    assert!(
        page.text.contains("See your email address"),
        "{}",
        page.text
    );
    assert!(page.text.contains("(openid)"));
    assert!(page.text.contains(r#"<label for="email">"#));
    assert!(page.text.contains(r#"<label for="password">"#));

    let csrf = hidden(&page.text, "csrf");
    let r = post_page(
        &app,
        PAGE,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("step", "password"),
            ("email", "page@example.com"),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let (cookie, header) = signin_cookie(&r).expect("cookie");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Strict"), "{header}");
    assert!(header.contains("Max-Age=600"), "{header}");
    assert!(!header.contains("Secure"), "http server: {header}");
    // No session was created: the page signs in for this request only.
    let db = app.db.client().await;
    let sessions: i64 = db
        .query_one(
            "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1::text::uuid",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1, "only the sign-up's session");

    let consent = get_page(&app, &id, Some(&cookie)).await;
    assert_eq!(consent.status, 200);
    assert!(
        consent
            .text
            .contains("Signed in as <strong>page@example.com</strong>")
    );
    assert!(consent.text.contains(r#"value="approve""#));

    let r = post_page(
        &app,
        CONSENT,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("decision", "approve"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let back = r.location();
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    let params = query_of(&back);
    assert_eq!(params["state"], "st-7");
    assert_eq!(params["iss"], app.base);
    // The cookie is forgotten once used.
    assert!(signin_cookie(&r).is_some_and(|(v, h)| v.is_empty() && h.contains("Max-Age=0")));

    let tokens = exchange(
        &app,
        Auth::Basic(&client, CLIENT_SECRET),
        &params["code"],
        None,
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let idt = verified(&app, &text(&tokens.body, "id_token")).await;
    assert_eq!(idt["sub"], user.as_str());
    assert_eq!(idt["email"], "page@example.com");

    // Approving again: the request is spent.
    let again = post_page(
        &app,
        CONSENT,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("decision", "approve"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert!(again.text.contains("already completed"), "{}", again.text);
}

#[tokio::test]
async fn deny_sends_access_denied_and_the_request_is_unusable() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    let (_, token) = signed_in_user(&app, "deny@example.com").await;

    // Denied before signing in (the sign-in view has the button too).
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");
    let r = post_page(
        &app,
        CONSENT,
        &[("request_id", &id), ("csrf", &csrf), ("decision", "deny")],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let back = r.location();
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    let params = query_of(&back);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-7");
    assert_eq!(params["iss"], app.base);
    assert!(!params.contains_key("code"));
    assert!(!pending(&app, &id).await);
    let page = get_page(&app, &id, None).await;
    assert_eq!(page.status, 400);
    // Nor can the JSON consent API complete it.
    let r = app
        .post_auth(
            "/oauth2/login",
            &token,
            serde_json::json!({"requestId": id}),
        )
        .await;
    r.assert_error(400, "invalid-request");
    // Denying twice is refused.
    let r = post_page(
        &app,
        CONSENT,
        &[("request_id", &id), ("csrf", &csrf), ("decision", "deny")],
        None,
    )
    .await;
    assert_eq!(r.status, 400);

    // Denied after signing in.
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let cookie = password_signin(&app, &id, "deny@example.com").await;
    let csrf = hidden(&get_page(&app, &id, Some(&cookie)).await.text, "csrf");
    let r = post_page(
        &app,
        CONSENT,
        &[("request_id", &id), ("csrf", &csrf), ("decision", "deny")],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(query_of(&r.location())["error"], "access_denied");
    // The cookie cannot approve it afterwards.
    let r = post_page(
        &app,
        CONSENT,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("decision", "approve"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn forms_without_the_request_csrf_token_are_refused() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    signed_in_user(&app, "csrf@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let other = start(&app, &client, REDIRECT_URI, "openid").await;
    let other_csrf = hidden(&get_page(&app, &other, None).await.text, "csrf");
    let cookie = password_signin(&app, &id, "csrf@example.com").await;

    for csrf in [None, Some(""), Some("AAAA"), Some(other_csrf.as_str())] {
        let mut fields = vec![
            ("request_id", id.as_str()),
            ("step", "password"),
            ("email", "csrf@example.com"),
            ("password", PASSWORD),
        ];
        if let Some(c) = csrf {
            fields.push(("csrf", c));
        }
        let r = post_page(&app, PAGE, &fields, None).await;
        assert_eq!(r.status, 403, "{csrf:?}: {}", r.text);
        assert!(signin_cookie(&r).is_none());
        for decision in ["approve", "deny"] {
            let mut fields = vec![("request_id", id.as_str()), ("decision", decision)];
            if let Some(c) = csrf {
                fields.push(("csrf", c));
            }
            let r = post_page(&app, CONSENT, &fields, Some(&cookie)).await;
            assert_eq!(r.status, 403, "{decision} {csrf:?}: {}", r.text);
        }
    }
    assert!(pending(&app, &id).await, "nothing happened to the request");
}

#[tokio::test]
async fn approval_needs_a_signin_cookie_for_this_request() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    signed_in_user(&app, "cookie@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let other = start(&app, &client, REDIRECT_URI, "openid").await;
    let other_cookie = password_signin(&app, &other, "cookie@example.com").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");

    // A forged user id under a genuine MAC.
    let (_, rest) = other_cookie.split_once('.').unwrap();
    let forged = format!("{}.{rest}", uuid::Uuid::new_v4());
    for cookie in [
        None,
        Some(other_cookie.as_str()),
        Some("x.y.z"),
        Some(forged.as_str()),
    ] {
        // The page shows the sign-in form, not the consent.
        let page = get_page(&app, &id, cookie).await;
        assert!(page.text.contains(r#"name="password""#), "{cookie:?}");
        let r = post_page(
            &app,
            CONSENT,
            &[
                ("request_id", &id),
                ("csrf", &csrf),
                ("decision", "approve"),
            ],
            cookie,
        )
        .await;
        assert_eq!(r.status, 303, "{cookie:?}: {}", r.text);
        assert_eq!(r.location(), format!("login?request_id={id}"), "{cookie:?}");
    }
    assert!(pending(&app, &id).await);

    // A user disabled after signing in cannot approve.
    let cookie = password_signin(&app, &id, "cookie@example.com").await;
    app.sql("UPDATE auth.users SET disabled = true WHERE email = 'cookie@example.com'")
        .await;
    let r = post_page(
        &app,
        CONSENT,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("decision", "approve"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), format!("login?request_id={id}"));
    assert!(pending(&app, &id).await);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_read_the_same() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    signed_in_user(&app, "known@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");
    let mut pages = Vec::new();
    for (email, password) in [
        ("known@example.com", "wrong-password-123"),
        ("nobody@example.com", PASSWORD),
        ("not an email", PASSWORD),
        ("known@example.com", ""),
    ] {
        let r = post_page(
            &app,
            PAGE,
            &[
                ("request_id", &id),
                ("csrf", &csrf),
                ("step", "password"),
                ("email", email),
                ("password", password),
            ],
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{email}: {}", r.text);
        assert!(signin_cookie(&r).is_none());
        assert!(
            r.text.contains(
                r#"<p id="form-error" class="error" role="alert">Incorrect email or password.</p>"#
            ),
            "{}",
            r.text
        );
        assert!(r.text.contains(r#"aria-describedby="form-error""#));
        // The password is never echoed.
        assert!(password.is_empty() || !r.text.contains(password));
        pages.push(r.text.replace(email, "EMAIL"));
    }
    // Apart from the echoed address, the answers are the same.
    let strip_nonce = |s: &str| {
        regex::Regex::new(r#"nonce="[^"]*""#)
            .unwrap()
            .replace(s, "")
            .into_owned()
    };
    assert_eq!(strip_nonce(&pages[0]), strip_nonce(&pages[1]));
    assert!(pending(&app, &id).await);
}

#[tokio::test]
async fn unknown_expired_and_malformed_requests_get_a_message() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    signed_in_user(&app, "expired@example.com").await;

    for query in [
        "",
        "?request_id=",
        "?request_id=not-a-uuid",
        "?request_id=%3Cscript%3E",
    ] {
        let r = app.get(&format!("{PAGE}{query}")).await;
        assert_eq!(r.status, 400, "{query}");
        assert!(
            r.text.contains("no valid authorization request"),
            "{}",
            r.text
        );
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = get_page(&app, &unknown, None).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text.contains("Unknown authorization request"),
        "{}",
        r.text
    );

    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");
    let cookie = password_signin(&app, &id, "expired@example.com").await;
    app.sql(&format!(
        "UPDATE auth.oauth2_auth_requests SET expires_at = now() - interval '1 second' \
         WHERE id = '{id}'"
    ))
    .await;
    let r = get_page(&app, &id, Some(&cookie)).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text.contains("Authorization request expired"),
        "{}",
        r.text
    );
    let r = post_page(
        &app,
        PAGE,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("step", "password"),
            ("email", "expired@example.com"),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(signin_cookie(&r).is_none());
    for decision in ["approve", "deny"] {
        let r = post_page(
            &app,
            CONSENT,
            &[("request_id", &id), ("csrf", &csrf), ("decision", decision)],
            Some(&cookie),
        )
        .await;
        assert_eq!(r.status, 400, "{decision}: {}", r.text);
        assert!(r.text.contains("expired"), "{}", r.text);
    }
    // An unknown decision or step.
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");
    let r = post_page(
        &app,
        CONSENT,
        &[("request_id", &id), ("csrf", &csrf), ("decision", "maybe")],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post_page(
        &app,
        PAGE,
        &[("request_id", &id), ("csrf", &csrf), ("step", "sms")],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(pending(&app, &id).await);
}

#[tokio::test]
async fn client_metadata_and_input_are_escaped() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    app.sql(&format!(
        "UPDATE auth.oauth2_clients SET metadata = \
         '{{\"client_name\": \"<script>alert(1)</script> & \\\"Co\\\"\"}}'::jsonb \
         WHERE client_id = '{client}'"
    ))
    .await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let page = get_page(&app, &id, None).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("<script"), "{}", page.text);
    assert!(
        page.text
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;"),
        "{}",
        page.text
    );

    let csrf = hidden(&page.text, "csrf");
    let hostile = "\"><script>alert(2)</script>'; DROP TABLE auth.users; --@x.io";
    let r = post_page(
        &app,
        PAGE,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("step", "password"),
            ("email", hostile),
            ("password", "<img src=x onerror=alert(3)>"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(!r.text.contains("<script"), "{}", r.text);
    assert!(!r.text.contains("<img"), "{}", r.text);
    assert!(
        r.text
            .contains("&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;&#39;; DROP TABLE")
    );
    // The users table is still there.
    let db = app.db.client().await;
    db.query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .expect("users");
}

#[tokio::test]
async fn every_answer_carries_the_page_headers() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let page = get_page(&app, &id, None).await;
    let bad = get_page(&app, "nope", None).await;
    let csrf = hidden(&page.text, "csrf");
    let denied = post_page(
        &app,
        CONSENT,
        &[("request_id", &id), ("csrf", &csrf), ("decision", "deny")],
        None,
    )
    .await;
    for r in [&page, &bad, &denied] {
        let h = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(h("cache-control"), "no-store");
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "no-referrer");
        assert_eq!(h("x-content-type-options"), "nosniff");
        let csp = h("content-security-policy");
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("base-uri 'none'"), "{csp}");
        assert!(!csp.contains("script-src"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
    }
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    // Forms post here, and the answer of the consent form redirects to the client.
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    let nonce = regex::Regex::new(r"style-src 'nonce-([A-Za-z0-9_-]+)'")
        .unwrap()
        .captures(csp)
        .expect("style nonce")[1]
        .to_owned();
    assert!(page.text.contains(&format!(r#"<style nonce="{nonce}">"#)));
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(page.text.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(!page.text.contains("<script"));
    // A fresh nonce per answer.
    let again = get_page(&app, &id, None).await;
    assert_ne!(
        again.headers["content-security-policy"],
        page.headers["content-security-policy"]
    );
}

#[tokio::test]
async fn hostile_bodies_are_refused() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");
    let json = app
        .http
        .post(app.url(PAGE))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"request_id":"{id}","csrf":"{csrf}","step":"password"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    for body in [
        format!("request_id={id}&request_id={id}&csrf={csrf}&decision=deny"),
        format!("request_id={id}&csrf={csrf}&decision=deny%00"),
        format!("request_id={id}&csrf={csrf}&decision=%FF"),
    ] {
        let r = app
            .http
            .post(app.url(CONSENT))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    let huge = format!(
        "request_id={id}&csrf={csrf}&step=password&email={}",
        "a".repeat(3 << 20)
    );
    let r = app
        .http
        .post(app.url(PAGE))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(pending(&app, &id).await);
}

#[tokio::test]
async fn users_with_totp_give_a_code_after_the_password() {
    let app = page_app(&["--mfa-enabled=true"]).await;
    let client = confidential_client(&app).await;
    let (user, _) = signed_in_user(&app, "mfa@example.com").await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    app.sql(&format!(
        "UPDATE auth.users SET active_mfa_type = 'totp', totp_secret = '{secret}' \
         WHERE id = '{user}'"
    ))
    .await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");
    let password_step = || async {
        post_page(
            &app,
            PAGE,
            &[
                ("request_id", &id),
                ("csrf", &csrf),
                ("step", "password"),
                ("email", "mfa@example.com"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await
    };

    // A wrong code: back to the password, nothing signed in.
    let r = password_step().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        signin_cookie(&r).is_none(),
        "no cookie before the second factor"
    );
    assert!(r.text.contains(r#"<label for="code">"#), "{}", r.text);
    let ticket = hidden(&r.text, "ticket");
    assert!(ticket.starts_with("mfaTotp:"), "{ticket}");
    let r = post_page(
        &app,
        PAGE,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("step", "totp"),
            ("ticket", &ticket),
            ("code", "000000"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("The verification code was not accepted"),
        "{}",
        r.text
    );
    assert!(signin_cookie(&r).is_none());

    // The right code.
    let r = password_step().await;
    let ticket = hidden(&r.text, "ticket");
    let code = TotpKey::from_secret(secret)
        .unwrap()
        .code_at(u64::try_from(chrono::Utc::now().timestamp()).unwrap());
    let r = post_page(
        &app,
        PAGE,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("step", "totp"),
            ("ticket", &ticket),
            ("code", &code),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let cookie = signin_cookie(&r).expect("cookie").0;
    // The ticket was spent.
    let r = post_page(
        &app,
        PAGE,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("step", "totp"),
            ("ticket", &ticket),
            ("code", &code),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post_page(
        &app,
        CONSENT,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("decision", "approve"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(query_of(&r.location()).contains_key("code"));
}

#[tokio::test]
async fn the_page_counts_in_the_brute_force_bucket() {
    let app = page_app(&[
        "--rate-limit-enable=true",
        "--rate-limit-brute-force-burst=3",
    ])
    .await;
    let client = confidential_client(&app).await;
    // `start` itself counts (authorize is in the bucket): 1, then 2 page loads.
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let csrf = hidden(&get_page(&app, &id, None).await.text, "csrf");
    let r = post_page(
        &app,
        PAGE,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("step", "password"),
            ("email", "a@b.co"),
            ("password", "x"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = post_page(
        &app,
        CONSENT,
        &[("request_id", &id), ("csrf", &csrf), ("decision", "deny")],
        None,
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.text);
}

#[tokio::test]
async fn off_by_default_the_page_is_not_routed() {
    let app = provider_app(&[]).await;
    let client = confidential_client(&app).await;
    let q = form(&[
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
    ]);
    let r = app.get(&format!("/oauth2/authorize?{q}")).await;
    assert!(
        r.location().starts_with(DEFAULT_LOGIN_URL),
        "{}",
        r.location()
    );
    let id = query_of(&r.location())["request_id"].clone();
    assert_eq!(get_page(&app, &id, None).await.status, 404);
    let r = post_page(
        &app,
        CONSENT,
        &[("request_id", &id), ("decision", "deny")],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(pending(&app, &id).await);

    // On, but the provider off: not routed either.
    let app = TestApp::with(&[BUILTIN]).await;
    assert_eq!(get_page(&app, &id, None).await.status, 404);
}

#[tokio::test]
async fn an_explicit_login_url_still_wins() {
    let app = page_app(&["--oauth2-provider-login-url=https://consent.example.com/login"]).await;
    let client = confidential_client(&app).await;
    let q = form(&[
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
    ]);
    let r = app.get(&format!("/oauth2/authorize?{q}")).await;
    assert!(
        r.location()
            .starts_with("https://consent.example.com/login?request_id="),
        "{}",
        r.location()
    );
    // The page is still served for requests that reach it.
    let id = query_of(&r.location())["request_id"].clone();
    assert_eq!(get_page(&app, &id, None).await.status, 200);
}

#[tokio::test]
async fn with_the_page_no_client_url_is_needed() {
    let app = page_app(&["--client-url="]).await;
    let client = confidential_client(&app).await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    assert_eq!(get_page(&app, &id, None).await.status, 200);

    let err = startup_error(
        crate::support::db::TestDb::empty().await,
        &[ENABLED, BUILTIN, "--client-url=", "--server-url="],
    )
    .await;
    assert!(
        err.contains("AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE=true needs AUTH_SERVER_URL"),
        "{err}"
    );
    let err = startup_error(
        crate::support::db::TestDb::empty().await,
        &[ENABLED, BUILTIN, "--server-url=ftp://auth.example.com"],
    )
    .await;
    assert!(err.contains("needs an http(s) AUTH_SERVER_URL"), "{err}");
}

/// A page app whose emails go to a test SMTP server, magic links on.
async fn magic_link_app() -> (TestApp, crate::support::smtp::SmtpServer) {
    use crate::support::smtp::{SmtpOptions, SmtpServer};
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let app = page_app(&[
        "--smtp-host=127.0.0.1",
        &port,
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=Hasura Auth <hasura-auth@example.com>",
        "--email-passwordless-enabled=true",
    ])
    .await;
    (app, smtp)
}

/// The `X-Link` of the first email to `to`, waiting up to 10 s.
async fn emailed_link(smtp: &crate::support::smtp::SmtpServer, to: &str) -> String {
    for _ in 0..200 {
        let found = smtp
            .messages()
            .into_iter()
            .find(|m| m.rcpt_to.iter().any(|r| r == to));
        if let Some(m) = found {
            assert_eq!(
                m.header("X-Email-Template").as_deref(),
                Some("signin-passwordless")
            );
            return m.header("X-Link").expect("X-Link");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no email to {to}");
}

#[tokio::test]
async fn a_magic_link_signs_in_for_this_request() {
    let (app, smtp) = magic_link_app().await;
    let client = confidential_client(&app).await;
    let (user, _) = signed_in_user(&app, "link@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid email").await;
    let page = get_page(&app, &id, None).await;
    assert!(
        page.text.contains(r#"action="magic-link""#),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"<label for="magic-email">"#));
    let csrf = hidden(&page.text, "csrf");
    let ask = |email: &'static str| {
        let (app, id, csrf) = (&app, id.clone(), csrf.clone());
        async move {
            post_page(
                app,
                "/oauth2/ui/magic-link",
                &[("request_id", &id), ("csrf", &csrf), ("email", email)],
                None,
            )
            .await
        }
    };

    // An unknown address reads the same and gets nothing.
    let unknown = ask("nobody@example.com").await;
    let known = ask("link@example.com").await;
    assert_eq!(known.status, 200, "{}", known.text);
    assert_eq!(unknown.status, 200);
    assert!(
        known
            .text
            .contains(r#"<p role="status">If an account uses <strong>link@example.com</strong>"#)
    );
    let strip = |s: &str, email: &str| {
        regex::Regex::new(r#"nonce="[^"]*""#)
            .unwrap()
            .replace(&s.replace(email, "EMAIL"), "")
            .into_owned()
    };
    assert_eq!(
        strip(&known.text, "link@example.com"),
        strip(&unknown.text, "nobody@example.com")
    );
    assert!(signin_cookie(&known).is_none());

    let link = emailed_link(&smtp, "link@example.com").await;
    let prefix = format!(
        "{}{PAGE}?request_id={id}&ticket=passwordlessEmail%3A",
        app.base
    );
    assert!(link.starts_with(&prefix), "{link}");
    assert!(
        smtp.messages()
            .iter()
            .all(|m| !m.rcpt_to.iter().any(|r| r == "nobody@example.com"))
    );

    let path = link.strip_prefix(&app.base).unwrap();
    let r = app.get(path).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), format!("login?request_id={id}"));
    let cookie = signin_cookie(&r).expect("cookie").0;
    // The link works once.
    let again = app.get(path).await;
    assert_eq!(again.status, 400);
    assert!(
        again
            .text
            .contains("This sign-in link is invalid or has expired.")
    );
    assert!(signin_cookie(&again).is_none());

    let r = post_page(
        &app,
        CONSENT,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("decision", "approve"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let code = query_of(&r.location())["code"].clone();
    let tokens = exchange(&app, Auth::Basic(&client, CLIENT_SECRET), &code, None).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let idt = verified(&app, &text(&tokens.body, "id_token")).await;
    assert_eq!(idt["sub"], user.as_str());

    // A forged or foreign ticket signs no one in.
    let id2 = start(&app, &client, REDIRECT_URI, "openid").await;
    for ticket in [
        "passwordlessEmail:00000000-0000-0000-0000-000000000000",
        "mfaTotp:x",
        "<script>",
    ] {
        let q = form(&[("request_id", id2.as_str()), ("ticket", ticket)]);
        let r = app.get(&format!("{PAGE}?{q}")).await;
        assert_eq!(r.status, 400, "{ticket}");
        assert!(signin_cookie(&r).is_none());
        assert!(!r.text.contains("<script>"));
    }
    // A malformed address.
    let csrf2 = hidden(&get_page(&app, &id2, None).await.text, "csrf");
    let r = post_page(
        &app,
        "/oauth2/ui/magic-link",
        &[
            ("request_id", &id2),
            ("csrf", &csrf2),
            ("email", "not an email"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("Enter a valid email address"));
    // Without the CSRF token.
    let r = post_page(
        &app,
        "/oauth2/ui/magic-link",
        &[("request_id", &id2), ("email", "link@example.com")],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn without_passwordless_email_there_is_no_magic_link() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let page = get_page(&app, &id, None).await;
    assert!(!page.text.contains("magic-link"), "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    let r = post_page(
        &app,
        "/oauth2/ui/magic-link",
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("email", "x@example.com"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let q = form(&[
        ("request_id", id.as_str()),
        ("ticket", "passwordlessEmail:abc"),
    ]);
    let r = app.get(&format!("{PAGE}?{q}")).await;
    assert_eq!(r.status, 400);
    assert!(signin_cookie(&r).is_none());
}
