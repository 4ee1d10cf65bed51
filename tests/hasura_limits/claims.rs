//! Custom claims in issued tokens (SPEC §4.5).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::fakes::{Answer, Fake};
use crate::support::app::TestApp;
use crate::{ADMIN_SECRET, NO_VERIFY, hasura_claims};

const CLAIMS: &str = r#"{"org-ids":"profile.orgs[].id","tier":"profile.tier","plan":"metadata.plan","missing":"profile.nothing","Org-First":"profile.orgs[0].id","admins":"profile.orgs[?(@.role == 'admin')].id","user-id":"profile.tier"}"#;
const DEFAULTS: &str = r#"{"missing":"none","tier":0}"#;
const QUERY: &str =
    "query GetClaims($id: uuid!) { user(id:$id) {metadata profile{nothing orgs{id role }tier }} }";

/// A Hasura whose GraphQL endpoint answers `graphql` (metadata requests succeed).
async fn hasura(graphql: impl Fn() -> Answer + Send + Sync + 'static) -> Fake {
    Fake::start(move |req, _| {
        if req.path.ends_with("/v1/metadata") {
            Answer::json(200, json!({"message": "success"}))
        } else {
            graphql()
        }
    })
    .await
}

fn user_answer() -> Answer {
    Answer::json(
        200,
        json!({"data": {"user": {
            "metadata": {"plan": "pro"},
            "profile": {
                "orgs": [{"id": "o1", "role": "admin"}, {"id": "o2", "role": "member"}],
                "tier": 3,
                "nothing": null
            }
        }}}),
    )
}

async fn app_with(fake: &Fake, extra: &[&str]) -> TestApp {
    let mut args = vec![
        NO_VERIFY.to_owned(),
        format!("--graphql-url={}/v1/graphql", fake.base),
        format!("--hasura-admin-secret={ADMIN_SECRET}"),
        format!("--custom-claims={CLAIMS}"),
        format!("--custom-claims-defaults={DEFAULTS}"),
        "--enable-anonymous-users".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::with(&refs).await
}

fn assert_full_claims(token: &str) {
    let c = hasura_claims(token);
    assert_eq!(c["x-hasura-org-ids"], r#"{"o1","o2"}"#);
    assert_eq!(c["x-hasura-tier"], "3");
    assert_eq!(c["x-hasura-plan"], "pro");
    assert_eq!(c["x-hasura-missing"], "none", "default for a null value");
    assert_eq!(c["x-hasura-org-first"], "o1");
    assert_eq!(c["x-hasura-admins"], r#"{"o1"}"#);
    assert_ne!(
        c["x-hasura-user-id"], "3",
        "custom claims never replace the default ones"
    );
}

#[tokio::test]
async fn custom_claims_are_in_every_issued_token() {
    let fake = hasura(user_answer).await;
    let app = app_with(&fake, &[]).await;

    let session = app.signup("claims@example.com", "hunter22").await;
    assert_full_claims(session["accessToken"].as_str().unwrap());
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();

    let signin = app
        .post(
            "/signin/email-password",
            json!({"email": "claims@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    assert_full_claims(signin.body["session"]["accessToken"].as_str().unwrap());

    let refreshed = app
        .post(
            "/token",
            json!({"refreshToken": signin.body["session"]["refreshToken"]}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_full_claims(refreshed.body["accessToken"].as_str().unwrap());

    let anonymous = app.post("/signin/anonymous", json!({})).await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.text);
    assert_full_claims(anonymous.body["session"]["accessToken"].as_str().unwrap());

    let lookups = fake.requests_to("/v1/graphql");
    assert_eq!(lookups.len(), 4, "one lookup per token");
    let first = &lookups[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.header("x-hasura-admin-secret"), Some(ADMIN_SECRET));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("accept"), Some("application/json"));
    assert_eq!(
        first.json(),
        json!({"query": QUERY, "variables": {"id": user_id}})
    );
}

#[tokio::test]
async fn custom_claims_fall_back_to_defaults_when_hasura_fails() {
    let fake = hasura(|| Answer::json(500, json!({"error": "down"}))).await;
    let app = app_with(&fake, &[]).await;
    let session = app.signup("down@example.com", "hunter22").await;
    let c = hasura_claims(session["accessToken"].as_str().unwrap());
    assert_eq!(c["x-hasura-missing"], "none");
    assert_eq!(c["x-hasura-tier"], "0");
    for absent in ["x-hasura-org-ids", "x-hasura-plan", "x-hasura-org-first"] {
        assert!(c.get(absent).is_none(), "{absent} has no default: {c}");
    }
    assert_eq!(c["x-hasura-default-role"], "user");
    assert_eq!(fake.requests_to("/v1/graphql").len(), 1);

    // A GraphQL error (200 without data.user) is a failure too.
    let fake = hasura(|| Answer::json(200, json!({"errors": [{"message": "no"}]}))).await;
    let app = app_with(&fake, &[]).await;
    let session = app.signup("errors@example.com", "hunter22").await;
    let c = hasura_claims(session["accessToken"].as_str().unwrap());
    assert_eq!(c["x-hasura-missing"], "none");
    assert!(c.get("x-hasura-plan").is_none());
}

#[tokio::test]
async fn custom_claims_lookup_has_a_time_limit() {
    let fake = hasura(|| user_answer().after(Duration::from_secs(5))).await;
    let app = app_with(&fake, &["--custom-claims-timeout=300ms"]).await;
    let started = Instant::now();
    let session = app.signup("slow@example.com", "hunter22").await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "did not wait for Hasura"
    );
    let c = hasura_claims(session["accessToken"].as_str().unwrap());
    assert_eq!(c["x-hasura-missing"], "none");
    assert!(c.get("x-hasura-plan").is_none());
}

#[tokio::test]
async fn custom_claims_absent_when_not_configured() {
    let fake = hasura(user_answer).await;
    let app = TestApp::with(&[
        NO_VERIFY,
        &format!("--graphql-url={}/v1/graphql", fake.base),
    ])
    .await;
    let session = app.signup("plain@example.com", "hunter22").await;
    let c = hasura_claims(session["accessToken"].as_str().unwrap());
    let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "x-hasura-allowed-roles",
            // Ours: the session the token was issued with (GET /user/sessions).
            "x-hasura-auth-session-id",
            "x-hasura-default-role",
            "x-hasura-user-id",
            "x-hasura-user-is-anonymous"
        ]
    );
    assert!(fake.requests_to("/v1/graphql").is_empty());
}
