//! Cloudflare Turnstile on sign-up routes (SPEC §8.21).

use hasura_auth::http::policy::Challenge;
use serde_json::json;

use crate::NO_VERIFY;
use crate::fakes::{Answer, Fake, reserved_addr};
use crate::support::app::TestApp;

async fn cloudflare() -> Fake {
    Fake::start(|req, _| {
        let body = req.json();
        if body["response"] == "good-token" {
            Answer::json(200, json!({"success": true, "error-codes": [], "messages": []}))
        } else {
            Answer::json(
                200,
                json!({"success": false, "error-codes": ["invalid-input-response"], "messages": ["bad token"]}),
            )
        }
    })
    .await
}

async fn app(fake_url: &str, extra: &[&str]) -> TestApp {
    let mut args = vec![
        NO_VERIFY.to_owned(),
        "--turnstile-secret=s3cret-turnstile".to_owned(),
        format!("--turnstile-url={fake_url}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::with(&refs).await
}

async fn signup(app: &TestApp, token: Option<&str>) -> crate::support::app::Reply {
    let mut req = app
        .http
        .post(app.url("/signup/email-password"))
        .json(&json!({"email": "t@example.com", "password": "hunter22"}));
    if let Some(t) = token {
        req = req.header("X-Cf-Turnstile-Response", t);
    }
    crate::support::app::Reply::read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn turnstile_pass_and_fail() {
    let fake = cloudflare().await;
    let app = app(&format!("{}/turnstile/v0/siteverify", fake.base), &[]).await;

    let r = signup(&app, None).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["message"], "missing x-cf-turnstile-response header");
    assert!(fake.requests().is_empty(), "no call without a token");

    let r = signup(&app, Some("bad-token")).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["message"], "failed to pass turnstile: [bad token]");

    let r = signup(&app, Some("good-token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["session"]["accessToken"].is_string());

    let calls = fake.requests();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].method, "POST");
    assert_eq!(calls[1].path, "/turnstile/v0/siteverify");
    assert_eq!(calls[1].header("content-type"), Some("application/json"));
    assert_eq!(
        calls[1].json(),
        json!({"secret": "s3cret-turnstile", "response": "good-token"})
    );

    // Other routes need no token.
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "t@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn turnstile_token_cannot_inject_json() {
    let fake = cloudflare().await;
    let app = app(&format!("{}/siteverify", fake.base), &[]).await;
    let r = signup(&app, Some(r#"x","response":"good-token"#)).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        fake.requests()[0].json()["response"],
        r#"x","response":"good-token"#
    );
}

#[tokio::test]
async fn turnstile_unreachable_is_an_internal_error() {
    let nobody = reserved_addr().await;
    let app = app(&format!("http://{nobody}/siteverify"), &[]).await;
    signup(&app, Some("good-token"))
        .await
        .assert_error(500, "internal-server-error");
}

#[tokio::test]
async fn turnstile_honours_the_api_prefix() {
    let fake = cloudflare().await;
    let app = app(&format!("{}/siteverify", fake.base), &["--api-prefix=/v1"]).await;
    let r = app
        .post(
            "/v1/signup/email-password",
            json!({"email": "p@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

/// Without a token, exactly the routes whose policy asks for Turnstile are refused, with
/// and without `AUTH_API_PREFIX`; Cloudflare is never asked.
#[tokio::test]
async fn turnstile_guards_exactly_the_routes_that_declare_it() {
    let fake = cloudflare().await;
    for prefix in ["", "/v1"] {
        let prefix_flag = format!("--api-prefix={prefix}");
        let extra: Vec<&str> = if prefix.is_empty() {
            Vec::new()
        } else {
            vec![&prefix_flag]
        };
        let app = app(&format!("{}/siteverify", fake.base), &extra).await;
        for (method, url, policy) in crate::rate_limits::operations(prefix) {
            let r = crate::rate_limits::send(&app, &method, &url).await;
            let refused =
                r.status == 403 && r.body["message"] == "missing x-cf-turnstile-response header";
            assert_eq!(
                refused,
                policy.challenge == Challenge::Turnstile,
                "{method} {url}: {} {}",
                r.status,
                r.text
            );
        }
    }
    assert!(fake.requests().is_empty());
}

/// Nhost Auth 0.44's coverage: passwordless sign-in and the password-reset request are
/// challenged too; the SMS code step and email verification are not.
#[tokio::test]
async fn turnstile_covers_passwordless_sign_in_and_password_reset() {
    let fake = cloudflare().await;
    let app = app(
        &format!("{}/siteverify", fake.base),
        &["--email-passwordless-enabled=true"],
    )
    .await;
    let post = |path: &'static str, body: serde_json::Value, token: Option<&'static str>| {
        let mut req = app.http.post(app.url(path)).json(&body);
        if let Some(t) = token {
            req = req.header("x-cf-turnstile-response", t);
        }
        async move { crate::support::app::Reply::read(req.send().await.unwrap()).await }
    };
    for path in ["/user/password/reset", "/signin/passwordless/email"] {
        let body = json!({"email": "nobody@example.com"});
        let r = post(path, body.clone(), None).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        let r = post(path, body.clone(), Some("bad-token")).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        let r = post(path, body, Some("good-token")).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let before = fake.requests().len();
    // The SMS code step is not challenged (its answer is about the code, not Turnstile).
    let r = post(
        "/signin/passwordless/sms/otp",
        json!({"phoneNumber": "+33600000000", "otp": "123456"}),
        None,
    )
    .await;
    assert_ne!(r.status, 403, "{}", r.text);
    assert_eq!(fake.requests().len(), before);
}
