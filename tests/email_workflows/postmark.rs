//! `AUTH_SMTP_HOST=postmark`: emails go to Postmark's `/email/withTemplate` API, here a
//! local server that records each request and answers like Postmark.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    routing::post,
};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::app::TestApp;

#[derive(Clone, Debug)]
struct Recorded {
    path: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Clone)]
struct Fake {
    status: StatusCode,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

async fn with_template(
    State(fake): State<Fake>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let to = body["To"].clone();
    fake.requests.lock().unwrap().push(Recorded {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    if fake.status == StatusCode::OK {
        (
            StatusCode::OK,
            Json(json!({"To": to, "SubmittedAt": "2025-01-01T00:00:00Z",
                        "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "ErrorCode": 0, "Message": "OK"})),
        )
    } else {
        (
            fake.status,
            Json(json!({"ErrorCode": 1101, "Message": "The template alias was not found"})),
        )
    }
}

/// Starts the fake API; returns its base URL and the recorded requests.
async fn start_fake(status: StatusCode) -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/email/withTemplate", post(with_template))
        .with_state(Fake {
            status,
            requests: requests.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake postmark");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/"), requests)
}

async fn app_with_postmark(api_url: &str) -> TestApp {
    let api = format!("--smtp-postmark-api-url={api_url}");
    TestApp::with(&[
        "--smtp-host=postmark",
        "--smtp-password=pm-server-token",
        "--smtp-sender=Acme <no-reply@acme.test>",
        "--allowed-locales=en,fr",
        &api,
    ])
    .await
}

#[tokio::test]
async fn signup_email_goes_through_postmark_templates() {
    let (api, requests) = start_fake(StatusCode::OK).await;
    let app = app_with_postmark(&api).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "pm@example.com", "password": PASSWORD,
                   "options": {"locale": "fr", "displayName": "Pé Em", "redirectTo": "http://localhost:3000/v"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let recorded = requests.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let req = &recorded[0];
    assert_eq!(req.path, "/email/withTemplate");
    let h = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(h("x-postmark-server-token"), "pm-server-token");
    assert_eq!(h("content-type"), "application/json");
    assert_eq!(h("accept"), "application/json");

    let model = &req.body["TemplateModel"];
    let ticket = model["ticket"].as_str().unwrap_or_default().to_owned();
    assert!(ticket.starts_with("verifyEmail:"), "{ticket}");
    let link = format!(
        "{}/verify?redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fv&ticket={}&type=emailVerify",
        app.base,
        ticket.replace(':', "%3A")
    );
    assert_eq!(
        req.body,
        json!({
            "TemplateAlias": "fr.email-verify",
            "TemplateModel": {
                "link": link,
                "displayName": "Pé Em",
                "email": "pm@example.com",
                "newEmail": "",
                "ticket": ticket,
                "redirectTo": "http://localhost:3000/v",
                "locale": "fr",
                "serverUrl": app.base,
                "clientUrl": "http://localhost:3000",
            },
            "From": "Acme <no-reply@acme.test>",
            "To": "pm@example.com",
        })
    );
    // The link Postmark puts in the email works.
    assert_eq!(query(&follow(&app, &link).await)["type"], "verifyEmail");
}

#[tokio::test]
async fn a_postmark_refusal_fails_the_request_and_keeps_nothing() {
    let (api, requests) = start_fake(StatusCode::UNPROCESSABLE_ENTITY).await;
    let app = app_with_postmark(&api).await;
    app.post(
        "/signup/email-password",
        json!({"email": "pm@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(500, "internal-server-error");
    assert_eq!(requests.lock().unwrap().len(), 1);
    assert_eq!(sql_count(&app, "SELECT count(*) FROM auth.users").await, 0);
}

#[tokio::test]
async fn an_unreachable_postmark_fails_the_request() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    let app = app_with_postmark(&format!("http://127.0.0.1:{port}")).await;
    app.post(
        "/signup/email-password",
        json!({"email": "pm@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(500, "internal-server-error");
    assert_eq!(sql_count(&app, "SELECT count(*) FROM auth.users").await, 0);
}
