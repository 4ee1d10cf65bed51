use serde_json::json;

use crate::support::app::TestApp;

#[tokio::test]
async fn metrics_count_requests_outcomes_and_pool_usage() {
    let app = TestApp::with(&["--email-verification-required=false"]).await;
    app.signup("m@example.com", "hunter22").await;
    app.post(
        "/signin/email-password",
        json!({"email": "m@example.com", "password": "wrong-pw"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
    app.get("/healthz").await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = hasura_auth::http::metrics_router(app.state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let res = app
        .http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("body");
    for needle in [
        r#"hasura_auth_http_requests_total{route="/healthz",method="GET",status="200"} 1"#,
        r#"hasura_auth_http_requests_total{route="/signin/email-password",method="POST",status="401"} 1"#,
        r#"hasura_auth_auth_attempts_total{flow="signup/email-password",outcome="ok"} 1"#,
        r#"hasura_auth_auth_attempts_total{flow="signin/email-password",outcome="invalid-email-password"} 1"#,
        "hasura_auth_http_request_duration_seconds_bucket{",
        r#"hasura_auth_db_pool_connections{state="max"}"#,
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
    // Nothing that identifies a user or a token.
    assert!(!text.contains("m@example.com"));
}
