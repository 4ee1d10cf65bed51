//! `AUTH_SMS_PROVIDER=generic` (Nhost Auth 0.52's webhook provider) against a local HTTP
//! server, and `AUTH_SMS_DEV_OUTPUT_DIR` of the dev provider.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::provider::{FakeProvider, Recorded};
use crate::support::app::TestApp;

const PHONE: &str = "+33612345678";

/// A fresh directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("hasura-auth-sms-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
const JSON_TEMPLATE: &str = r#"{"recipient":"${ to }","message":"${body}","sender":"Acme"}"#;

async fn generic_app(provider: &FakeProvider, extra: &[&str]) -> TestApp {
    let mut args = vec![
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=generic".to_owned(),
        format!("--sms-generic-url={}/generic/send", provider.base),
        format!("--sms-generic-body-template={JSON_TEMPLATE}"),
        r#"--sms-generic-headers={"X-Api-Key":"k-123","X-Tenant":"acme"}"#.to_owned(),
    ];
    for e in extra {
        let name = e.split('=').next().unwrap_or_default();
        args.retain(|a| a.split('=').next() != Some(name));
        args.push(e.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::with(&args).await
}

async fn request_code(app: &TestApp, phone: &str) -> crate::support::app::Reply {
    app.post("/signin/passwordless/sms", json!({"phoneNumber": phone}))
        .await
}

async fn verify(app: &TestApp, phone: &str, otp: &str) -> crate::support::app::Reply {
    app.post(
        "/signin/passwordless/sms/otp",
        json!({"phoneNumber": phone, "otp": otp}),
    )
    .await
}

#[tokio::test]
async fn sms_generic_json_webhook_signs_in_end_to_end() {
    let provider = FakeProvider::start().await;
    let app = generic_app(&provider, &[]).await;
    let r = request_code(&app, PHONE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = provider.last();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/generic/send");
    assert_eq!(sent.content_type, "application/json");
    assert_eq!(sent.headers["x-api-key"], "k-123");
    assert_eq!(sent.headers["x-tenant"], "acme");
    let body = sent.json();
    assert_eq!(body["recipient"], PHONE);
    assert_eq!(body["sender"], "Acme");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    let code = Recorded::code_in(body["message"].as_str().unwrap());
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["session"]["accessToken"].is_string(), "{}", r.text);
}

/// The text is JSON-escaped: a template text with quotes and a newline stays valid JSON.
#[tokio::test]
async fn sms_generic_json_escapes_the_message() {
    let dir = TempDir::new();
    let folder = dir.path().join("en").join("signin-passwordless-sms");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("body.txt"), "Say \"${code}\"\\n\tnow").unwrap();
    let provider = FakeProvider::start().await;
    let templates = format!("--templates-path={}", dir.path().display());
    let app = generic_app(&provider, &[&templates]).await;
    let r = request_code(&app, PHONE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = provider.last();
    let message = sent.json()["message"].as_str().unwrap().to_owned();
    let code = Recorded::code_in(&message);
    assert_eq!(message, format!("Say \"{code}\"\\n\tnow"));
}

#[tokio::test]
async fn sms_generic_form_sends_the_object_fields_as_form_values() {
    let provider = FakeProvider::start().await;
    let app = generic_app(
        &provider,
        &[
            "--sms-generic-content-type=application/x-www-form-urlencoded",
            r#"--sms-generic-body-template={"To":"${to}","Body":"${body}","Priority":1}"#,
        ],
    )
    .await;
    let r = request_code(&app, PHONE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = provider.last();
    assert_eq!(sent.content_type, "application/x-www-form-urlencoded");
    let form = sent.form();
    assert_eq!(form.len(), 3, "{form:?}");
    assert_eq!(form["To"], PHONE);
    assert_eq!(form["Priority"], "1");
    let code = Recorded::code_in(&form["Body"]);
    assert_eq!(verify(&app, PHONE, &code).await.status, 200);
}

#[tokio::test]
async fn sms_generic_other_types_send_the_rendered_text() {
    let provider = FakeProvider::start().await;
    let app = generic_app(
        &provider,
        &[
            "--sms-generic-content-type=text/plain; charset=utf-8",
            "--sms-generic-body-template=to=${to};text=${body}",
            "--sms-generic-headers={}",
        ],
    )
    .await;
    assert_eq!(request_code(&app, PHONE).await.status, 200);
    let sent = provider.last();
    assert_eq!(sent.content_type, "text/plain; charset=utf-8");
    assert!(!sent.headers.contains_key("x-api-key"));
    let rest = sent
        .body
        .strip_prefix(&format!("to={PHONE};text="))
        .unwrap_or_else(|| panic!("{:?}", sent.body));
    Recorded::code_in(rest);
}

#[tokio::test]
async fn sms_generic_non_2xx_and_timeout_are_cannot_send_sms() {
    let provider = FakeProvider::start().await;
    let app = generic_app(&provider, &["--sms-generic-timeout=1s"]).await;
    provider.fail_with(500, "boom");
    request_code(&app, PHONE)
        .await
        .assert_error(400, "cannot-send-sms");
    provider.fail_with(302, "elsewhere");
    request_code(&app, PHONE)
        .await
        .assert_error(400, "cannot-send-sms");
    provider.recover();
    provider.delay_answers(Duration::from_secs(3));
    let started = Instant::now();
    request_code(&app, PHONE)
        .await
        .assert_error(400, "cannot-send-sms");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "timeout ignored: {took:?}"
    );
}

async fn start_up_error(args: &[&str]) -> String {
    use hasura_auth::config::Config;
    let db = crate::support::db::TestDb::empty().await;
    let mut argv = vec![
        "hasura-auth".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            crate::support::app::HS256_SECRET
        ),
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=generic".to_owned(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    let config = Config::from_args(argv).expect("parses");
    match hasura_auth::startup::build_state(config).await {
        Ok(_) => panic!("start-up must fail with {args:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn sms_generic_bad_settings_stop_start_up() {
    let url = "--sms-generic-url=http://127.0.0.1:9/send";
    let err = start_up_error(&[]).await;
    assert!(err.contains("AUTH_SMS_GENERIC_URL"), "{err}");
    assert!(err.contains("AUTH_SMS_GENERIC_BODY_TEMPLATE"), "{err}");

    let err = start_up_error(&[url, r#"--sms-generic-body-template={"to":"${phone}"}"#]).await;
    assert!(err.contains("${phone}"), "{err}");
    let err = start_up_error(&[
        url,
        "--sms-generic-content-type=text/plain",
        "--sms-generic-body-template=${body} to ${to",
    ])
    .await;
    assert!(err.contains("unclosed"), "{err}");
    // JSON content type, template that is not JSON.
    let err = start_up_error(&[url, "--sms-generic-body-template=to=${to}"]).await;
    assert!(err.contains("not JSON"), "{err}");
    // Form content type, template that is not a JSON object.
    let err = start_up_error(&[
        url,
        "--sms-generic-content-type=application/x-www-form-urlencoded",
        r#"--sms-generic-body-template=["${to}","${body}"]"#,
    ])
    .await;
    assert!(err.contains("JSON object"), "{err}");
    // Headers: not an object, or not strings; the value is never quoted.
    let template = r#"--sms-generic-body-template={"to":"${to}","m":"${body}"}"#;
    for headers in [
        r#"--sms-generic-headers=["s3cr3t"]"#,
        r#"--sms-generic-headers={"X-Key":42}"#,
        "--sms-generic-headers={\"X-Key\":\"s3cr3t\\n\"}",
        "--sms-generic-headers=s3cr3t",
    ] {
        let err = start_up_error(&[url, template, headers]).await;
        assert!(err.contains("AUTH_SMS_GENERIC_HEADERS"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
    let err = start_up_error(&["--sms-generic-url=ftp://x/y", template]).await;
    assert!(err.contains("AUTH_SMS_GENERIC_URL"), "{err}");
}

#[tokio::test]
async fn sms_dev_output_dir_holds_the_last_message_per_number() {
    let parent = TempDir::new();
    let dir = parent.path().join("sms").join("out");
    let app = TestApp::with(&[
        "--sms-passwordless-enabled=true",
        "--sms-provider=dev",
        &format!("--sms-dev-output-dir={}", dir.display()),
    ])
    .await;
    assert_eq!(request_code(&app, PHONE).await.status, 200);
    let file = dir.join(format!("{PHONE}.txt"));
    let first = std::fs::read_to_string(&file).expect("the directory is created");
    let first_code = Recorded::code_in(&first);
    assert_eq!(request_code(&app, PHONE).await.status, 200);
    let second = std::fs::read_to_string(&file).unwrap();
    let code = Recorded::code_in(&second);
    assert_ne!(first_code, code, "the file is overwritten");
    assert_eq!(second.matches(&code).count(), 1, "{second}");
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Hostile numbers are refused, or reduced to the digits of a number, before any file
    // is named after them: nothing is written outside the directory.
    for hostile in ["../../etc/x", "+33612345678/../../x", "+1\\..\\x"] {
        let r = request_code(&app, hostile).await;
        assert!(r.status == 200 || r.status == 400, "{hostile}: {}", r.text);
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![format!("{PHONE}.txt")]);
    assert!(std::fs::read_dir(parent.path()).unwrap().count() == 1);
}

#[tokio::test]
async fn sms_dev_output_dir_that_cannot_be_written_is_cannot_send_sms() {
    let parent = TempDir::new();
    let blocker = parent.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let app = TestApp::with(&[
        "--sms-passwordless-enabled=true",
        "--sms-provider=dev",
        &format!("--sms-dev-output-dir={}", blocker.join("sub").display()),
    ])
    .await;
    request_code(&app, PHONE)
        .await
        .assert_error(400, "cannot-send-sms");
}
