use serde_json::json;

use crate::support::app::TestApp;

#[tokio::test]
async fn healthz_answers_ok_on_get_and_head() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!("OK"));
    let head = app
        .http
        .head(app.url("/healthz"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn version_reports_the_build_version() {
    let app = TestApp::spawn().await;
    let r = app.get("/version").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn jwks_is_an_empty_set_for_hmac_keys() {
    // Upstream answers `{"keys":null}`; its OpenAPI document declares an array
    // (docs/compatibility.md).
    let app = TestApp::spawn().await;
    let r = app.get("/.well-known/jwks.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"keys": []}));
}

#[tokio::test]
async fn api_prefix_moves_routes_and_keeps_an_unprefixed_healthz() {
    let app = TestApp::with(&["--api-prefix=/v1"]).await;
    assert_eq!(app.get("/v1/healthz").await.body, json!("OK"));
    assert_eq!(app.get("/v1/version").await.status, 200);
    assert_eq!(app.get("/healthz").await.body, json!({"status": "ok"}));
    let r = app.get("/version").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "invalid-request");
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let app = TestApp::spawn().await;
    let r = app.get("/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["status"], 404);
}

#[tokio::test]
async fn cors_preflight_reflects_origin_and_requested_headers() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/signin/email-password"))
        .header("Origin", "https://app.example.com")
        .header(
            "Access-Control-Request-Headers",
            "content-type,authorization",
        )
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(res.status(), 204);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-methods"], "POST, GET");
    assert_eq!(
        h["access-control-allow-headers"],
        "content-type,authorization"
    );
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "86400");
}

#[tokio::test]
async fn cors_headers_are_added_to_normal_responses_only_with_an_origin() {
    let app = TestApp::spawn().await;
    let with = app
        .http
        .get(app.url("/healthz"))
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .expect("get");
    assert_eq!(
        with.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let without = app.http.get(app.url("/healthz")).send().await.expect("get");
    assert!(
        without
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn b3_trace_headers_are_echoed_and_generated() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(app.url("/healthz"))
        .header("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124")
        .header("X-B3-SpanId", "a2fb4a1d1a96d312")
        .send()
        .await
        .expect("get");
    assert_eq!(
        res.headers()["x-b3-traceid"],
        "463ac35c9f6413ad48485a3953bb6124"
    );
    assert_eq!(res.headers()["x-b3-spanid"], "a2fb4a1d1a96d312");
    let res = app.http.get(app.url("/healthz")).send().await.expect("get");
    assert!(!res.headers()["x-b3-traceid"].is_empty());
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let app = TestApp::with(&["--email-verification-required=false"]).await;
    // A sign-up spends ~50-100 ms in bcrypt: start it, then ask the server to stop.
    let http = app.http.clone();
    let url = app.url("/signup/email-password");
    let inflight = tokio::spawn(async move {
        http.post(url)
            .json(&json!({"email": "slow@example.com", "password": "password123"}))
            .send()
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.stop().await;
    let res = inflight
        .await
        .expect("join")
        .expect("in-flight request completed");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let app = TestApp::spawn().await;
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.body["info"]["title"], "hasura-auth (Rust)");
    assert_eq!(
        r.body["paths"]["/token"]["post"]["operationId"],
        "refreshToken"
    );
}
