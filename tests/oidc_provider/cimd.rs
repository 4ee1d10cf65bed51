//! Client ID Metadata Documents (reference §2.1.9): URL client ids fetched from a local
//! server (so `--oauth2-provider-cimd-allow-insecure-transport` is on, except where the
//! guards against loopback and plain http are tested).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::common::*;
use crate::support::app::{Reply, TestApp};

const CIMD: &str = "--oauth2-provider-cimd-enabled=true";
const INSECURE: &str = "--oauth2-provider-cimd-allow-insecure-transport=true";

struct Docs {
    base: String,
    fetches: AtomicUsize,
}

async fn good(State(docs): State<Arc<Docs>>) -> Response {
    docs.fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({
        "client_id": format!("{}/good.json", docs.base),
        "client_name": "Good <b>app</b>",
        "redirect_uris": [format!("{}/cb", docs.base), "http://localhost:9999/cb"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile"
    }))
    .into_response()
}

async fn cross(State(docs): State<Arc<Docs>>) -> Response {
    axum::Json(json!({
        "client_id": format!("{}/cross.json", docs.base),
        "redirect_uris": ["https://evil.example.com/cb"],
    }))
    .into_response()
}

async fn big(State(docs): State<Arc<Docs>>) -> Response {
    axum::Json(json!({
        "client_id": format!("{}/big.json", docs.base),
        "redirect_uris": [format!("{}/cb", docs.base)],
        "padding": "x".repeat(6000),
    }))
    .into_response()
}

async fn slow() -> Response {
    tokio::time::sleep(Duration::from_secs(8)).await;
    "{}".into_response()
}

async fn serve_docs() -> Arc<Docs> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let docs = Arc::new(Docs {
        base: format!("http://{}", listener.local_addr().unwrap()),
        fetches: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/good.json", get(good))
        .route("/cross.json", get(cross))
        .route("/big.json", get(big))
        .route("/slow.json", get(slow))
        .route("/bad.json", get(|| async { "{not json" }))
        .route(
            "/moved.json",
            get(|| async { (StatusCode::FOUND, [("location", "http://127.0.0.1:1/x")]) }),
        )
        .with_state(docs.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    docs
}

async fn authorize_url_client(app: &TestApp, client_id: &str, redirect_uri: &str) -> Reply {
    let (_, challenge) = pkce_pair();
    let url = url::Url::parse_with_params(
        &app.url("/oauth2/authorize"),
        &[
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("code_challenge", &challenge),
        ],
    )
    .unwrap();
    Reply::read(app.http.get(url).send().await.expect("request")).await
}

#[track_caller]
fn assert_rejected(r: &Reply, why: &str) {
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    let d = r.body["error_description"].as_str().unwrap_or_default();
    assert!(d.contains(why), "{d}");
}

#[tokio::test]
async fn a_metadata_document_client_is_fetched_stored_and_cached() {
    let docs = serve_docs().await;
    let app = provider_app(&[CIMD, INSECURE]).await;
    let id = format!("{}/good.json", docs.base);
    let cb = format!("{}/cb", docs.base);
    let r = authorize_url_client(&app, &id, &cb).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert!(r.location().starts_with(DEFAULT_LOGIN_URL));
    // A localhost redirect URI is allowed too.
    let r = authorize_url_client(&app, &id, "http://localhost:9999/cb").await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(docs.fetches.load(Ordering::SeqCst), 1, "cached for an hour");
    let row = app
        .db
        .client()
        .await
        .query_one(
            "SELECT type, client_secret_hash IS NULL, redirect_uris, scopes, \
             metadata->>'client_name', metadata_document_fetched_at IS NOT NULL \
             FROM auth.oauth2_clients WHERE client_id = $1",
            &[&id],
        )
        .await
        .expect("stored client");
    assert_eq!(row.get::<_, String>(0), "client_id_metadata_document");
    assert!(row.get::<_, bool>(1), "always public");
    assert_eq!(
        row.get::<_, Vec<String>>(2),
        [cb.clone(), "http://localhost:9999/cb".into()]
    );
    assert_eq!(row.get::<_, Vec<String>>(3), ["openid", "profile"]);
    assert_eq!(row.get::<_, String>(4), "Good <b>app</b>");
    assert!(row.get::<_, bool>(5));
    // An hour later it is fetched again.
    app.sql(&format!(
        "UPDATE auth.oauth2_clients SET metadata_document_fetched_at = now() - interval '61 minutes' \
         WHERE client_id = '{id}'"
    ))
    .await;
    let r = authorize_url_client(&app, &id, &cb).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(docs.fetches.load(Ordering::SeqCst), 2);
    // Public: PKCE is required.
    let url = url::Url::parse_with_params(
        &app.url("/oauth2/authorize"),
        &[
            ("client_id", id.as_str()),
            ("redirect_uri", cb.as_str()),
            ("response_type", "code"),
        ],
    )
    .unwrap();
    let r = Reply::read(app.http.get(url).send().await.unwrap()).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        query_of(&r.location())["error_description"],
        "PKCE code_challenge is required for public clients"
    );
}

#[tokio::test]
async fn bad_documents_are_refused() {
    let docs = serve_docs().await;
    let app = provider_app(&[CIMD, INSECURE]).await;
    let b = &docs.base;
    for (path, why) in [
        ("/cross.json", "same-origin"),
        ("/big.json", "larger than 5 KB"),
        ("/bad.json", "not JSON"),
        ("/moved.json", "HTTP status 302"),
        ("/missing.json", "HTTP status 404"),
    ] {
        let r = authorize_url_client(&app, &format!("{b}{path}"), &format!("{b}/cb")).await;
        assert_rejected(&r, why);
    }
    let started = std::time::Instant::now();
    let r = authorize_url_client(&app, &format!("{b}/slow.json"), &format!("{b}/cb")).await;
    assert_rejected(&r, "timed out");
    assert!(started.elapsed() < Duration::from_secs(7));
    // A redirect URI the document does not list.
    let r = authorize_url_client(
        &app,
        &format!("{b}/good.json"),
        "https://evil.example.com/cb",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error_description"], "Invalid redirect_uri");
}

#[tokio::test]
async fn loopback_and_plain_http_are_refused_without_insecure_transport() {
    let docs = serve_docs().await;
    let app = provider_app(&[CIMD]).await;
    let r = authorize_url_client(&app, &format!("{}/good.json", docs.base), "x").await;
    assert_rejected(&r, "the scheme must be https");
    for host in [
        "127.0.0.1",
        "localhost",
        "10.0.0.1",
        "[::1]",
        "169.254.169.254",
    ] {
        let r = authorize_url_client(&app, &format!("https://{host}/client.json"), "x").await;
        assert_rejected(&r, "non-public address");
    }
    assert_eq!(docs.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn url_client_ids_are_unknown_when_cimd_is_off() {
    let docs = serve_docs().await;
    let app = provider_app(&[]).await;
    let r = authorize_url_client(&app, &format!("{}/good.json", docs.base), "x").await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error_description"], "Unknown client");
    assert_eq!(docs.fetches.load(Ordering::SeqCst), 0);
}
