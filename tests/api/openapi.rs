//! Conformance with the contract: every operation of upstream's OpenAPI document is
//! routed here, and the responses of real flows validate against its schemas.

use std::collections::BTreeSet;

use hasura_auth::http::policy::Auth;
use hasura_auth::http::routes::table;
use serde_json::{Map, Value, json};

use crate::support::app::{Reply, TestApp};

const DOC: &str = include_str!("../../openapi/hasura-auth.json");
/// Upstream's document, when this checkout sits next to the reference material.
const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/reference/hasura-auth-openapi.yaml"
);

fn doc() -> Value {
    serde_json::from_str(DOC).expect("openapi/hasura-auth.json is JSON")
}

fn doc_operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            ops.push((method.to_uppercase(), path.clone()));
        }
    }
    ops.sort();
    ops
}

/// Paths and methods of upstream's YAML, read line by line (two-space path keys,
/// four-space method keys), so no YAML parser is needed.
fn reference_operations() -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(REFERENCE).ok()?;
    let mut ops = Vec::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("paths:") {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.trim().is_empty() {
            break;
        }
        if let Some(path) = line.strip_prefix("  /") {
            current = path.strip_suffix(':').map(|p| format!("/{p}"));
        } else if let (Some(path), Some(method)) = (&current, line.strip_prefix("    ")) {
            let method = method.trim_end_matches(':');
            if ["get", "post", "head", "put", "delete", "patch"].contains(&method) {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops.sort();
    Some(ops)
}

/// Every feature on, so that no route answers "disabled" instead of existing.
async fn full_app() -> TestApp {
    TestApp::with(&[
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
    ])
    .await
}

#[tokio::test]
async fn every_operation_of_the_contract_is_routed() {
    let doc = doc();
    let ours = doc_operations(&doc);
    if let Some(reference) = reference_operations() {
        assert_eq!(reference.len(), 40, "upstream's document has 40 operations");
        for op in &reference {
            assert!(
                ours.contains(op),
                "{op:?} is in upstream's contract but not in ours"
            );
        }
    }
    let app = full_app().await;
    for (method, path) in &ours {
        // Ours, routed only with the identity provider and its built-in page on
        // (tests/oidc_provider/consent_page.rs).
        if path.starts_with("/oauth2/ui/") {
            continue;
        }
        let concrete = path.replace("{provider}", "github");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = app.http.request(method.clone(), app.url(&concrete));
        if method == reqwest::Method::POST {
            req = req.header("content-type", "application/json").body("{}");
        }
        let r = Reply::read(req.send().await.expect("request")).await;
        let unrouted = r.status == 404 && r.text.contains("no route for");
        assert!(
            !unrouted && r.status != 405,
            "{method} {path} is not routed: {} {}",
            r.status,
            r.text
        );
    }
}

/// The contract's `security` for a route's declared access token.
fn security(auth: Auth) -> Value {
    match auth {
        Auth::Public => Value::Null,
        Auth::OptionalBearer => json!([{"BearerAuth": []}, {}]),
        Auth::OptionalElevated => json!([{"BearerAuthElevated": []}, {}]),
        Auth::Bearer => json!([{"BearerAuth": []}]),
        Auth::Elevated | Auth::ElevatedFirstKey => json!([{"BearerAuthElevated": []}]),
    }
}

/// The document served at `/openapi.json` and the route table list the same operations,
/// both ways, with the same access token for each.
#[tokio::test]
async fn served_document_and_route_table_list_the_same_operations() {
    let app = TestApp::spawn().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let documented: BTreeSet<(String, String)> = doc_operations(&served.body).into_iter().collect();
    assert!(documented.len() >= 40, "{}", served.text);

    let mut tabled = BTreeSet::new();
    let mut outside = Vec::new();
    for route in table() {
        if !route.in_contract {
            outside.push(route.path);
            continue;
        }
        for method in &route.methods {
            tabled.insert((method.as_str().to_owned(), route.path.to_owned()));
            let declared = &served.body["paths"][route.path][method.as_str().to_lowercase()];
            assert_eq!(
                declared["security"],
                security(route.auth_for(method)),
                "{method} {}: the document's security vs the table's {:?}",
                route.path,
                route.auth_for(method)
            );
        }
    }
    let untabled: Vec<_> = documented.difference(&tabled).collect();
    let undocumented: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        untabled.is_empty(),
        "documented, not in the table: {untabled:?}"
    );
    assert!(
        undocumented.is_empty(),
        "in the table, not documented: {undocumented:?}"
    );
    // Routes of ours outside upstream's contract are a deliberate, short list.
    assert_eq!(
        outside,
        [
            "/healthz",
            "/readyz",
            "/readyz",
            "/openapi.json",
            "/change-env"
        ]
    );
}

/// OpenAPI 3.0 `nullable` → JSON Schema's `"type": [T, "null"]`.
fn to_json_schema(node: &Value) -> Value {
    match node {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "nullable")
                .map(|(k, v)| (k.clone(), to_json_schema(v)))
                .collect();
            if map.get("nullable") == Some(&Value::Bool(true)) {
                match out.get("type").cloned() {
                    Some(Value::String(t)) => {
                        out.insert("type".into(), json!([t, "null"]));
                    }
                    _ => return json!({"anyOf": [Value::Object(out), {"type": "null"}]}),
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// Validates a JSON response against the contract's schema for that operation/status.
#[track_caller]
fn assert_conforms(doc: &Value, method: &str, path: &str, reply: &Reply) {
    let responses = &doc["paths"][path][method]["responses"];
    let status = reply.status.as_u16().to_string();
    let response = if responses.get(&status).is_some() {
        &responses[&status]
    } else {
        &responses["default"]
    };
    let schema = &response["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "no schema for {method} {path} {status}");
    let root = json!({
        "components": to_json_schema(&doc["components"]),
        "allOf": [to_json_schema(schema)],
    });
    let validator = jsonschema::validator_for(&root).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&reply.body)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match the contract: {errors:?}\nbody: {}",
        reply.text
    );
}

#[tokio::test]
async fn responses_of_real_flows_validate_against_the_contract() {
    let doc = doc();
    let app = full_app().await;

    let signup = app
        .post(
            "/signup/email-password",
            json!({"email": "c@example.com", "password": "hunter22", "options": {"metadata": {"a": 1}}}),
        )
        .await;
    assert_conforms(&doc, "post", "/signup/email-password", &signup);
    let session = &signup.body["session"];
    let access = session["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let signin = app
        .post(
            "/signin/email-password",
            json!({"email": "c@example.com", "password": "hunter22"}),
        )
        .await;
    assert_conforms(&doc, "post", "/signin/email-password", &signin);
    let wrong = app
        .post(
            "/signin/email-password",
            json!({"email": "c@example.com", "password": "nope-nope"}),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_conforms(&doc, "post", "/signin/email-password", &wrong);

    let refreshed = app
        .post("/token", json!({"refreshToken": session["refreshToken"]}))
        .await;
    assert_conforms(&doc, "post", "/token", &refreshed);
    let user = app.get_auth("/user", &access).await;
    assert_conforms(&doc, "get", "/user", &user);
    let verify = app.post("/token/verify", json!({"token": access})).await;
    assert_conforms(&doc, "post", "/token/verify", &verify);
    let anonymous = app.post("/signin/anonymous", json!({})).await;
    assert_conforms(&doc, "post", "/signin/anonymous", &anonymous);
    assert_conforms(&doc, "get", "/version", &app.get("/version").await);
    assert_conforms(&doc, "get", "/healthz", &app.get("/healthz").await);

    let pat = app
        .post_auth(
            "/pat",
            &access,
            json!({"expiresAt": "2099-01-01T00:00:00Z", "metadata": {"name": "ci"}}),
        )
        .await;
    assert_conforms(&doc, "post", "/pat", &pat);
    let pat_signin = app
        .post(
            "/signin/pat",
            json!({"personalAccessToken": pat.body["personalAccessToken"]}),
        )
        .await;
    assert_conforms(&doc, "post", "/signin/pat", &pat_signin);
    // The sessions of the sign-up, the sign-ins and the PAT.
    let sessions = app.get_auth("/user/sessions", &access).await;
    assert_eq!(sessions.status, 200, "{}", sessions.text);
    assert!(sessions.body.as_array().is_some_and(|a| a.len() >= 3));
    assert_conforms(&doc, "get", "/user/sessions", &sessions);
    let revoke = app
        .post_auth(
            "/user/sessions/revoke",
            &access,
            json!({"sessionId": pat.body["id"]}),
        )
        .await;
    assert_conforms(&doc, "post", "/user/sessions/revoke", &revoke);
    let missing = app
        .post_auth(
            "/user/sessions/revoke",
            &access,
            json!({"sessionId": pat.body["id"]}),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_conforms(&doc, "post", "/user/sessions/revoke", &missing);
    let totp = app.get_auth("/mfa/totp/generate", &access).await;
    assert_conforms(&doc, "get", "/mfa/totp/generate", &totp);

    let webauthn_signup = app
        .post("/signup/webauthn", json!({"email": "w@example.com"}))
        .await;
    assert_conforms(&doc, "post", "/signup/webauthn", &webauthn_signup);
    let add_key = app
        .post_auth("/user/webauthn/add", &access, json!({}))
        .await;
    assert_conforms(&doc, "post", "/user/webauthn/add", &add_key);
    let discoverable = app.post("/signin/webauthn", json!({})).await;
    assert_conforms(&doc, "post", "/signin/webauthn", &discoverable);

    let reset = app
        .post("/user/password/reset", json!({"email": "c@example.com"}))
        .await;
    assert_conforms(&doc, "post", "/user/password/reset", &reset);
    let signout = app
        .post(
            "/signout",
            json!({"refreshToken": refreshed.body["refreshToken"]}),
        )
        .await;
    assert_conforms(&doc, "post", "/signout", &signout);
    let bad = app
        .post(
            "/token",
            json!({"refreshToken": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_conforms(&doc, "post", "/token", &bad);
}

#[tokio::test]
async fn jwks_of_rsa_ec_and_ed25519_keys_validates_against_the_contract() {
    let secret = |alg: &str, public: &str, private: &str| {
        json!({"type": alg, "key": public, "signing_key": private}).to_string()
    };
    let list = format!(
        "[{},{},{}]",
        secret(
            "RS256",
            include_str!("../fixtures/keys/rsa2048-public.pem"),
            include_str!("../fixtures/keys/rsa2048-private.pem")
        ),
        secret(
            "ES256",
            include_str!("../fixtures/keys/ec-p256-public.pem"),
            include_str!("../fixtures/keys/ec-p256-private.pem")
        ),
        secret(
            "Ed25519",
            include_str!("../fixtures/keys/ed25519-public.pem"),
            include_str!("../fixtures/keys/ed25519-private.pem")
        ),
    );
    let app = TestApp::with(&[&format!("--hasura-graphql-jwt-secrets={list}")]).await;
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.body["keys"].as_array().map(Vec::len), Some(3));
    assert_conforms(&doc(), "get", "/.well-known/jwks.json", &jwks);
}

/// Every GET operation without parameters, against the document the server itself
/// serves (not the file in the repository): the system routes, the JWKS of an HMAC key
/// (once `{"keys":null}` while the document declares an array) and the authenticated
/// ones with a real token.
#[tokio::test]
async fn get_routes_answer_what_the_served_document_declares() {
    let app = full_app().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let served = served.body;
    let signup = app
        .post(
            "/signup/email-password",
            json!({"email": "get@example.com", "password": "hunter22"}),
        )
        .await;
    let access = signup.body["session"]["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();

    let mut checked = Vec::new();
    for (path, item) in served["paths"].as_object().into_iter().flatten() {
        let Some(op) = item.get("get") else { continue };
        let has_parameters = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
        // The identity provider's documents answer `server_error` while it is off (as
        // here); tests/oidc_provider checks them with it on.
        let provider = path.starts_with("/oauth2/") || path.starts_with("/.well-known/o");
        if has_parameters || path.contains('{') || provider {
            continue;
        }
        let reply = if op["security"].is_array() {
            app.get_auth(path, &access).await
        } else {
            app.get(path).await
        };
        assert!(
            reply.status.is_success(),
            "GET {path}: {} {}",
            reply.status,
            reply.text
        );
        assert_conforms(&served, "get", path, &reply);
        checked.push(path.as_str());
    }
    for expected in [
        "/.well-known/jwks.json",
        "/healthz",
        "/version",
        "/user",
        "/mfa/totp/generate",
    ] {
        assert!(
            checked.contains(&expected),
            "{expected} not checked: {checked:?}"
        );
    }
}

/// The Nhost Auth 0.52 error bodies (401 `unauthorized`, the validator's 400s) are
/// described by the served document, next to v0.42's `ErrorResponse`.
#[tokio::test]
async fn contract_0_52_error_bodies_validate_against_the_served_document() {
    let doc = doc();
    let app = TestApp::with(&["--upstream-generation=0.52"]).await;
    let r = app.get("/user").await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_conforms(&doc, "get", "/user", &r);
    let r = app
        .post_raw("/signin/email-password", "{".to_owned(), "application/json")
        .await;
    assert_eq!(r.body["error"], "request-validation-error", "{}", r.text);
    assert_conforms(&doc, "post", "/signin/email-password", &r);
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": 1, "password": "x"}),
        )
        .await;
    assert_eq!(r.body["error"], "schema-validation-error", "{}", r.text);
    assert_conforms(&doc, "post", "/signin/email-password", &r);
    // Provider sign-in declares `upstreamParams`.
    for path in ["/signin/provider/{provider}", "/signup/provider/{provider}"] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        assert!(
            params.iter().any(|p| p["name"] == "upstreamParams"),
            "{path}"
        );
    }
}
