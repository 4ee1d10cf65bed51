//! The route table's declarations (`hasura_auth::http::routes::table`) against what the
//! running server answers: the access token each route needs, and the feature gate that
//! turns it off. A route added to the table with a wrong declaration fails here.

use hasura_auth::http::policy::{Auth, Gate, Policy};
use hasura_auth::http::routes::{Mount, table};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{Reply, TestApp};

const BEARER_REQUIRED: &str = "authorization header with a bearer token is required";

enum Input {
    Empty,
    Json(Value),
    Form(String),
}

/// Every operation of the API (the root probe aside), `HEAD` aside.
fn operations() -> Vec<(Method, &'static str, Policy)> {
    let mut ops = Vec::new();
    for route in table() {
        if route.mount != Mount::Api {
            continue;
        }
        for method in &route.methods {
            if *method != Method::HEAD {
                let mut policy = route.policy;
                policy.auth = route.auth_for(method);
                ops.push((method.clone(), route.path, policy));
            }
        }
    }
    ops
}

fn needs_bearer(auth: Auth) -> bool {
    matches!(auth, Auth::Bearer | Auth::Elevated | Auth::ElevatedFirstKey)
}

async fn call(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
    input: Input,
) -> Reply {
    let url = app.url(&path.replace("{provider}", "github"));
    let mut req = app.http.request(method.clone(), url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req = match input {
        Input::Empty => req,
        Input::Json(body) => req.json(&body),
        Input::Form(body) => req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    };
    Reply::read(req.send().await.expect("request")).await
}

fn empty_input(method: &Method) -> Input {
    if *method == Method::POST {
        Input::Json(json!({}))
    } else {
        Input::Empty
    }
}

async fn access_token(app: &TestApp, email: &str) -> String {
    let session = app.signup(email, "hunter22").await;
    session["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned()
}

#[tokio::test]
async fn every_route_demands_the_access_token_it_declares() {
    let app = TestApp::with(&[
        "--email-verification-required=false",
        "--require-elevated-claim=required",
        "--enable-change-env",
    ])
    .await;
    for (method, path, policy) in operations() {
        let r = call(&app, &method, path, None, empty_input(&method)).await;
        if needs_bearer(policy.auth) {
            assert_eq!(r.status, 400, "{method} {path} without a token: {}", r.text);
            assert_eq!(r.body["message"], BEARER_REQUIRED, "{method} {path}");
        } else {
            assert_ne!(
                r.body["message"], BEARER_REQUIRED,
                "{method} {path} asks for a token it does not declare"
            );
        }
    }

    // A valid token without the elevated claim, of a user without security keys.
    let token = access_token(&app, "auth@example.com").await;
    for (method, path, policy) in operations() {
        let r = call(&app, &method, path, Some(&token), empty_input(&method)).await;
        let refused = r.body["error"] == "elevated-claim-required";
        assert_eq!(
            refused,
            policy.auth == Auth::Elevated,
            "{method} {path} declares {:?}: {} {}",
            policy.auth,
            r.status,
            r.text
        );
    }
}

fn fake_creation() -> Value {
    json!({"id": "AQ", "rawId": "AQ", "type": "public-key",
           "response": {"clientDataJSON": "e30", "attestationObject": "oA"}})
}

fn fake_assertion() -> Value {
    json!({"id": "AQ", "rawId": "AQ", "type": "public-key",
           "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"}})
}

/// A request each route reads without complaint (query string and body), so that what
/// it answers next is its gate or its work. Callback `state`s are stored by
/// [`store_oauth_state`].
fn sample(method: &Method, path: &str) -> (&'static str, Input) {
    let email = json!("gate@example.com");
    let phone = json!("+14155550100");
    let body = match (method.as_str(), path) {
        ("GET", "/signin/provider/{provider}/callback") => {
            return ("?state=gate-get&code=c", Input::Empty);
        }
        ("POST", "/signin/provider/{provider}/callback") => {
            return ("", Input::Form("state=gate-post&code=c".to_owned()));
        }
        ("GET", _) => return ("", Input::Empty),
        (_, "/signup/email-password" | "/signin/email-password") => {
            json!({"email": email, "password": "hunter22"})
        }
        (_, "/signin/passwordless/email" | "/signin/otp/email" | "/signup/webauthn") => {
            json!({"email": email})
        }
        (_, "/signup/passwordless/email" | "/signup/otp/email") => json!({"email": email}),
        (_, "/signup/passwordless/sms") => json!({"phoneNumber": phone}),
        (_, "/token/exchange") => {
            json!({"code": "unknown", "codeVerifier": "v".repeat(43)})
        }
        (_, "/user/password/reset" | "/user/email/send-verification-email") => {
            json!({"email": email})
        }
        (_, "/user/email/change") => json!({"newEmail": email}),
        (_, "/signin/otp/email/verify") => json!({"email": email, "otp": "123456"}),
        (_, "/signin/passwordless/sms") => json!({"phoneNumber": phone}),
        (_, "/signin/passwordless/sms/otp") => json!({"phoneNumber": phone, "otp": "123456"}),
        (_, "/signin/mfa/totp") => {
            json!({"ticket": "mfaTotp:00000000-0000-0000-0000-000000000000", "otp": "123456"})
        }
        (_, "/user/mfa") => json!({"code": "123456", "activeMfaType": "totp"}),
        (_, "/signup/webauthn/verify" | "/user/webauthn/verify") => {
            json!({"credential": fake_creation()})
        }
        (_, "/signin/webauthn/verify" | "/elevate/webauthn/verify") => {
            json!({"credential": fake_assertion()})
        }
        (_, "/signin/idtoken" | "/signup/idtoken" | "/link/idtoken") => {
            json!({"provider": "google", "idToken": "x"})
        }
        (_, "/token/provider/{provider}") => json!({"refreshToken": "x"}),
        (_, "/token") => json!({"refreshToken": uuid::Uuid::new_v4().to_string()}),
        (_, "/signin/pat") => json!({"personalAccessToken": uuid::Uuid::new_v4().to_string()}),
        (_, "/pat") => json!({"expiresAt": "2099-01-01T00:00:00Z"}),
        (_, "/user/password") => json!({"newPassword": "hunter2222"}),
        (_, "/user/deanonymize/sms") => json!({"phoneNumber": phone}),
        (_, "/user/phone-number/change") => json!({"newPhoneNumber": phone}),
        (_, "/user/phone-number/change/verify") => {
            json!({"newPhoneNumber": phone, "otp": "123456"})
        }
        (_, "/user/deanonymize") => {
            json!({"signInMethod": "email-password", "email": email, "password": "hunter22"})
        }
        _ => json!({}),
    };
    ("", Input::Json(body))
}

async fn call_sample(app: &TestApp, method: &Method, path: &str, token: Option<&str>) -> Reply {
    let (query, input) = sample(method, path);
    call(app, method, &format!("{path}{query}"), token, input).await
}

/// A pending sign-in with `github` under `state`, as the start of the flow leaves it.
async fn store_oauth_state(app: &TestApp, state: &str) {
    app.db
        .client()
        .await
        .execute(
            "INSERT INTO hasura_auth.oauth_states (state_hash, provider, data, expires_at) \
             VALUES ($1, 'github', $2, now() + interval '5 minutes')",
            &[
                &hasura_auth::tokens::refresh::stored_hash(state),
                &json!({"options": {"redirectTo": "http://localhost:3000/gh"}, "nonce": "n", "provider": {}}),
            ],
        )
        .await
        .expect("insert state");
}

fn answers_disabled(r: &Reply) -> bool {
    (r.status == 409 && r.body["error"] == "disabled-endpoint")
        || (r.status == 302 && r.location().contains("error=disabled-endpoint"))
}

fn unrouted(r: &Reply) -> bool {
    r.status == 404 && r.text.contains("no route for")
}

#[tokio::test]
async fn every_route_is_disabled_exactly_as_its_gate_declares() {
    // Every feature off, no provider configured.
    let off = TestApp::with(&["--email-verification-required=false"]).await;
    let token = access_token(&off, "gate-off@example.com").await;
    store_oauth_state(&off, "gate-get").await;
    store_oauth_state(&off, "gate-post").await;
    for (method, path, policy) in operations() {
        let token = needs_bearer(policy.auth).then_some(token.as_str());
        let r = call_sample(&off, &method, path, token).await;
        match policy.gate {
            Gate::Switch(_) | Gate::Provider => assert!(
                answers_disabled(&r),
                "{method} {path} declares {:?}: {} {} {}",
                policy.gate,
                r.status,
                r.location(),
                r.text
            ),
            Gate::Open => assert!(
                !answers_disabled(&r) && !unrouted(&r),
                "{method} {path} is disabled but declares no gate: {} {}",
                r.status,
                r.text
            ),
            Gate::Mounted(_) => assert!(unrouted(&r), "{method} {path}: {}", r.status),
        }
    }

    // Every feature on. Provider gates depend on the provider a request names; the OAuth
    // tests cover enabled providers.
    let on = TestApp::with(&[
        "--email-verification-required=false",
        "--enable-anonymous-users",
        "--mfa-enabled",
        "--email-passwordless-enabled",
        "--otp-email-enabled",
        "--sms-passwordless-enabled",
        "--sms-provider=dev",
        "--webauthn-enabled",
        "--webauthn-rp-id=localhost",
        "--webauthn-rp-origins=http://localhost:3000",
        "--enable-change-env",
    ])
    .await;
    let token = access_token(&on, "gate-on@example.com").await;
    for (method, path, policy) in operations() {
        // The built-in consent page needs the identity provider, hence an RSA key:
        // tests/oidc_provider/consent_page.rs checks it routed when on.
        if policy.gate == Gate::Provider
            || policy.gate == Gate::Mounted(hasura_auth::http::policy::Feature::OAuth2LoginPage)
        {
            continue;
        }
        let token = needs_bearer(policy.auth).then_some(token.as_str());
        let r = call_sample(&on, &method, path, token).await;
        assert!(
            !answers_disabled(&r) && !unrouted(&r),
            "{method} {path} with its feature on: {} {}",
            r.status,
            r.text
        );
    }
}
