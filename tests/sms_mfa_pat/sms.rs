//! Passwordless SMS against local Twilio (Messages, Verify) and Modica servers.

use serde_json::json;

use crate::common::query_one;
use crate::provider::{FakeProvider, Recorded, VERIFY_CODE};
use crate::support::app::TestApp;

const PHONE: &str = "+33612345678";

pub(crate) async fn twilio_app(provider: &FakeProvider, extra: &[&str]) -> TestApp {
    let mut args = vec![
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=twilio".to_owned(),
        "--sms-twilio-account-sid=ACtest".to_owned(),
        "--sms-twilio-auth-token=tw-secret".to_owned(),
        "--sms-twilio-messaging-service-id=MGtest".to_owned(),
        format!("--sms-twilio-api-url={}", provider.base),
        format!("--sms-twilio-verify-api-url={}", provider.base),
        "--allowed-locales=en,fr,es".to_owned(),
    ];
    // A flag given in `extra` replaces the default one (clap refuses repeated flags).
    for e in extra {
        let name = e.split('=').next().unwrap_or_default();
        args.retain(|a| a.split('=').next() != Some(name));
        args.push(e.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::with(&args).await
}

pub(crate) async fn request_code(app: &TestApp, phone: &str) -> crate::support::app::Reply {
    app.post("/signin/passwordless/sms", json!({"phoneNumber": phone}))
        .await
}

pub(crate) async fn verify(app: &TestApp, phone: &str, otp: &str) -> crate::support::app::Reply {
    app.post(
        "/signin/passwordless/sms/otp",
        json!({"phoneNumber": phone, "otp": otp}),
    )
    .await
}

/// Asserts the Twilio Messages request and returns the code it carried.
pub(crate) fn twilio_message_code(r: &Recorded, to: &str) -> String {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/2010-04-01/Accounts/ACtest/Messages.json");
    assert_eq!(r.basic_auth.as_deref(), Some("ACtest:tw-secret"));
    assert_eq!(r.content_type, "application/x-www-form-urlencoded");
    let form = r.form();
    assert_eq!(form.len(), 3, "{form:?}");
    assert_eq!(form["To"], to);
    assert_eq!(form["From"], "MGtest");
    Recorded::code_in(&form["Body"])
}

#[tokio::test]
async fn sms_twilio_messages_sign_up_then_sign_in_end_to_end() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    // Any common layout of the number is one account, stored and sent as E.164.
    let r = app
        .post(
            "/signin/passwordless/sms",
            json!({"phoneNumber": "+33 6 12 34 56 78",
                   "options": {"locale": "fr", "metadata": {"plan": "free"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    let sent = provider.last();
    let code = twilio_message_code(&sent, PHONE);
    assert!(sent.form()["Body"].contains(&code));
    assert_ne!(
        sent.form()["Body"],
        format!("Your code is {code}."),
        "French text for a French user"
    );

    // Schema 27: the number is staged until its code proves it (Nhost Auth 0.52).
    let row = query_one(
        &app,
        "SELECT new_phone_number, display_name, locale, otp_hash, otp_method_last_used, \
         otp_hash_expires_at > now() + interval '4 minutes', otp_hash_expires_at < now() + interval '6 minutes', \
         email IS NULL AND phone_number IS NULL, phone_number_verified, metadata->>'plan' FROM auth.users",
    )
    .await;
    assert_eq!(row.get::<_, String>(0), PHONE);
    assert_eq!(
        row.get::<_, String>(1),
        PHONE,
        "display name defaults to the number"
    );
    assert_eq!(row.get::<_, String>(2), "fr");
    let hash: String = row.get(3);
    assert!(hash.starts_with("$2"), "bcrypt by pgcrypto: {hash}");
    assert!(!hash.contains(&code));
    assert_eq!(row.get::<_, String>(4), "sms");
    assert!(row.get::<_, bool>(5) && row.get::<_, bool>(6), "5 minutes");
    assert!(row.get::<_, bool>(7));
    assert!(!row.get::<_, bool>(8));
    assert_eq!(row.get::<_, String>(9), "free");

    let r = verify(&app, "+33 (0)6-12-34-56-78", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["session"];
    assert!(r.body.get("mfa").is_none());
    assert_eq!(s["user"]["phoneNumber"], PHONE);
    assert_eq!(s["user"]["phoneNumberVerified"], true);
    assert!(s["refreshToken"].is_string() && s["accessToken"].is_string());
    let row = query_one(
        &app,
        "SELECT phone_number_verified AND phone_number IS NOT NULL AND new_phone_number IS NULL, \
         (SELECT count(*) FROM auth.refresh_tokens) FROM auth.users",
    )
    .await;
    assert!(
        row.get::<_, bool>(0),
        "promoted: owned, verified, staging cleared"
    );
    assert_eq!(row.get::<_, i64>(1), 1);

    // Single use.
    verify(&app, PHONE, &code)
        .await
        .assert_error(400, "invalid-request");

    // Signing in again: the same user, a new code to the stored number.
    request_code(&app, PHONE).await;
    assert_eq!(provider.requests().len(), 2);
    let code2 = twilio_message_code(&provider.last(), PHONE);
    let r = verify(&app, PHONE, &code2).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        query_one(&app, "SELECT count(*) FROM auth.users")
            .await
            .get::<_, i64>(0),
        1
    );
}

#[tokio::test]
async fn sms_wrong_expired_and_superseded_codes_are_refused() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    verify(&app, PHONE, wrong)
        .await
        .assert_error(400, "invalid-request");
    verify(&app, "+14155552671", &code)
        .await
        .assert_error(400, "invalid-request");
    verify(&app, "not a number", &code)
        .await
        .assert_error(400, "invalid-request");

    // A new request makes the previous code void.
    request_code(&app, PHONE).await;
    let newer = twilio_message_code(&provider.last(), PHONE);
    if newer != code {
        verify(&app, PHONE, &code)
            .await
            .assert_error(400, "invalid-request");
    }

    // Expired.
    app.sql("UPDATE auth.users SET otp_hash_expires_at = now() - interval '1 second'")
        .await;
    verify(&app, PHONE, &newer)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn sms_code_is_void_after_five_wrong_attempts() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    let wrong: Vec<String> = (0..10u32)
        .map(|i| {
            format!(
                "{:06}",
                (code.parse::<u32>().expect("digits") + 1 + i) % 1_000_000
            )
        })
        .collect();
    for w in &wrong[..4] {
        verify(&app, PHONE, w)
            .await
            .assert_error(400, "invalid-request");
    }
    // Four failures: the right code still works.
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A new code starts a new count; five failures void it.
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    let wrong: Vec<String> = (0..5u32)
        .map(|i| {
            format!(
                "{:06}",
                (code.parse::<u32>().expect("digits") + 1 + i) % 1_000_000
            )
        })
        .collect();
    for w in &wrong {
        verify(&app, PHONE, w)
            .await
            .assert_error(400, "invalid-request");
    }
    verify(&app, PHONE, &code)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn sms_provider_failure_is_cannot_send_sms_and_leaves_no_usable_code() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    provider.fail_with(
        400,
        r#"{"code":21211,"message":"The 'To' number is not a valid phone number.","status":400}"#,
    );
    // Unknown number: nothing is created.
    request_code(&app, PHONE)
        .await
        .assert_error(400, "cannot-send-sms");
    assert_eq!(
        query_one(&app, "SELECT count(*) FROM auth.users")
            .await
            .get::<_, i64>(0),
        0
    );
    let failed_code = twilio_message_code(&provider.last(), PHONE);
    verify(&app, PHONE, &failed_code)
        .await
        .assert_error(400, "invalid-request");

    // Known number: the code of the failed message is void.
    provider.recover();
    request_code(&app, PHONE).await;
    let good = twilio_message_code(&provider.last(), PHONE);
    provider.fail_with(503, "unavailable");
    request_code(&app, PHONE)
        .await
        .assert_error(400, "cannot-send-sms");
    let failed_code = twilio_message_code(&provider.last(), PHONE);
    verify(&app, PHONE, &failed_code)
        .await
        .assert_error(400, "invalid-request");
    if good != failed_code {
        verify(&app, PHONE, &good)
            .await
            .assert_error(400, "invalid-request");
    }
    let row = query_one(&app, "SELECT otp_hash IS NULL FROM auth.users").await;
    assert!(row.get::<_, bool>(0));
}

#[tokio::test]
async fn sms_unusable_numbers_are_refused_before_any_send() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    for bad in ["0612345678", "+1234", "+33 6 12", "hello", ""] {
        request_code(&app, bad)
            .await
            .assert_error(400, "cannot-send-sms");
    }
    assert!(provider.requests().is_empty());
    app.post("/signin/passwordless/sms", json!({"phone": PHONE}))
        .await
        .assert_error(400, "invalid-request");
    app.post(
        "/signin/passwordless/sms",
        json!({"phoneNumber": PHONE, "options": {"defaultRole": "admin"}}),
    )
    .await
    .assert_error(400, "default-role-must-be-in-allowed-roles");
    app.post(
        "/signin/passwordless/sms/otp",
        json!({"phoneNumber": PHONE}),
    )
    .await
    .assert_error(400, "invalid-request");
    assert!(provider.requests().is_empty());
}

#[tokio::test]
async fn sms_disabled_endpoints_answer_409() {
    let app = TestApp::spawn().await;
    request_code(&app, PHONE)
        .await
        .assert_error(409, "disabled-endpoint");
    verify(&app, PHONE, "123456")
        .await
        .assert_error(409, "disabled-endpoint");
    // The feature flag is checked before the number.
    request_code(&app, "0612")
        .await
        .assert_error(409, "disabled-endpoint");
    verify(&app, "0612", "123456")
        .await
        .assert_error(409, "disabled-endpoint");
}

#[tokio::test]
async fn sms_account_state_errors_are_401_and_403_not_500() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    app.sql("UPDATE auth.users SET disabled = true").await;
    verify(&app, PHONE, &code)
        .await
        .assert_error(401, "disabled-user");
    request_code(&app, PHONE)
        .await
        .assert_error(401, "disabled-user");
    assert_eq!(provider.requests().len(), 1, "no SMS to a disabled user");

    app.sql("UPDATE auth.users SET disabled = false, is_anonymous = true")
        .await;
    request_code(&app, PHONE)
        .await
        .assert_error(403, "forbidden-anonymous");
    // A code issued before the account became anonymous.
    app.sql("UPDATE auth.users SET is_anonymous = false").await;
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    app.sql("UPDATE auth.users SET is_anonymous = true").await;
    verify(&app, PHONE, &code)
        .await
        .assert_error(403, "forbidden-anonymous");

    // A user with an unverified email (verification required by default).
    app.sql(
        "UPDATE auth.users SET is_anonymous = false, email = 'p@example.com', email_verified = false",
    )
    .await;
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    verify(&app, PHONE, &code)
        .await
        .assert_error(401, "unverified-user");
}

#[tokio::test]
async fn sms_signup_disabled_and_new_users_disabled() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &["--disable-signup=true"]).await;
    request_code(&app, PHONE)
        .await
        .assert_error(403, "signup-disabled");
    assert!(
        provider.requests().is_empty(),
        "no SMS for a refused sign-up"
    );

    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &["--disable-new-users=true"]).await;
    request_code(&app, PHONE)
        .await
        .assert_error(401, "disabled-user");
    assert!(provider.requests().is_empty());
    let row = query_one(&app, "SELECT disabled, otp_hash IS NULL FROM auth.users").await;
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
}

#[tokio::test]
async fn sms_rows_written_by_upstream_keep_working() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    // Upstream stored the number as typed, and a code hashed by pgcrypto.
    app.sql(
        "INSERT INTO auth.users (phone_number, display_name, locale, default_role, otp_hash, \
           otp_hash_expires_at, otp_method_last_used) \
         VALUES ('+33 6 12 34 56 78', 'Old', 'en', 'user', crypt('987654', gen_salt('bf')), \
           now() + interval '5 minutes', 'sms'); \
         INSERT INTO auth.user_roles (user_id, role) SELECT id, 'user' FROM auth.users",
    )
    .await;
    let r = verify(&app, "+33 6 12 34 56 78", "987654").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["displayName"], "Old");
    // Requests with the text it was stored as find it; the SMS goes to the E.164 form.
    request_code(&app, "+33 6 12 34 56 78").await;
    let code = twilio_message_code(&provider.last(), PHONE);
    assert_eq!(verify(&app, "+33 6 12 34 56 78", &code).await.status, 200);
    assert_eq!(
        query_one(&app, "SELECT count(*) FROM auth.users")
            .await
            .get::<_, i64>(0),
        1
    );
}

#[tokio::test]
async fn sms_twilio_verify_api_sends_and_checks_codes() {
    let provider = FakeProvider::start().await;
    // A Verify service SID as the messaging service selects the Verify API.
    let app = twilio_app(&provider, &["--sms-twilio-messaging-service-id=VAservice"]).await;
    let r = app
        .post(
            "/signin/passwordless/sms",
            json!({"phoneNumber": "+1 (415) 555-2671", "options": {"locale": "es"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = provider.last();
    assert_eq!(sent.path, "/v2/Services/VAservice/Verifications");
    assert_eq!(sent.basic_auth.as_deref(), Some("ACtest:tw-secret"));
    assert_eq!(sent.content_type, "application/x-www-form-urlencoded");
    let form = sent.form();
    assert_eq!(form.len(), 3, "{form:?}");
    assert_eq!(form["To"], "+14155552671");
    assert_eq!(form["Channel"], "sms");
    assert_eq!(form["Locale"], "es");
    let row = query_one(
        &app,
        "SELECT otp_hash IS NULL, otp_method_last_used FROM auth.users",
    )
    .await;
    assert!(row.get::<_, bool>(0), "Twilio keeps the code");
    assert_eq!(row.get::<_, String>(1), "sms");

    verify(&app, "+14155552671", "111111")
        .await
        .assert_error(400, "invalid-request");
    let check = provider.last();
    assert_eq!(check.path, "/v2/Services/VAservice/VerificationCheck");
    assert_eq!(check.basic_auth.as_deref(), Some("ACtest:tw-secret"));
    let form = check.form();
    assert_eq!(form.len(), 2, "{form:?}");
    assert_eq!(form["To"], "+14155552671");
    assert_eq!(form["Code"], "111111");

    let r = verify(&app, "+14155552671", VERIFY_CODE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["phoneNumberVerified"], true);
    // Approved verifications are gone at Twilio (404): single use.
    verify(&app, "+14155552671", VERIFY_CODE)
        .await
        .assert_error(400, "invalid-request");

    provider.fail_with(
        429,
        r#"{"code":60203,"message":"Max send attempts reached"}"#,
    );
    request_code(&app, "+14155552671")
        .await
        .assert_error(400, "cannot-send-sms");
}

#[tokio::test]
async fn sms_twilio_verify_is_chosen_by_upstreams_account_sid_rule() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &["--sms-twilio-account-sid=VAaccount"]).await;
    assert_eq!(request_code(&app, PHONE).await.status, 200);
    let sent = provider.last();
    assert_eq!(sent.path, "/v2/Services/MGtest/Verifications");
    assert_eq!(sent.basic_auth.as_deref(), Some("VAaccount:tw-secret"));
}

#[tokio::test]
async fn sms_modica_sends_json_with_basic_auth_and_needs_202() {
    let provider = FakeProvider::start().await;
    let app = TestApp::with(&[
        "--sms-passwordless-enabled=true",
        "--sms-provider=modica",
        "--sms-modica-username=mod-user",
        "--sms-modica-password=mod-pass",
        &format!("--sms-modica-api-url={}/", provider.base),
    ])
    .await;
    assert_eq!(request_code(&app, PHONE).await.status, 200);
    let sent = provider.last();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/rest/sms/v2/messages");
    assert_eq!(sent.basic_auth.as_deref(), Some("mod-user:mod-pass"));
    assert_eq!(sent.content_type, "application/json");
    let body = sent.json();
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    assert_eq!(body["destination"], PHONE);
    let content = body["content"].as_str().expect("content");
    let code = Recorded::code_in(content);
    assert_eq!(
        content,
        hasura_auth::adapters::email::Templates::load(None, "en")
            .expect("built-in templates")
            .sms_body("en", &code)
            .expect("template")
    );
    assert_eq!(verify(&app, PHONE, &code).await.status, 200);

    // Only 202 means sent.
    provider.fail_with(200, "{}");
    request_code(&app, PHONE)
        .await
        .assert_error(400, "cannot-send-sms");
}

#[tokio::test]
async fn sms_dev_provider_needs_no_settings_and_keeps_the_code_hashed() {
    let app = TestApp::with(&["--sms-passwordless-enabled=true", "--sms-provider=dev"]).await;
    assert_eq!(request_code(&app, PHONE).await.status, 200);
    let row = query_one(&app, "SELECT otp_hash LIKE '$2%' FROM auth.users").await;
    assert!(row.get::<_, bool>(0));
    // The code is only in the log; set a known one the way upstream stores it.
    app.sql("UPDATE auth.users SET otp_hash = crypt('246810', gen_salt('bf'))")
        .await;
    assert_eq!(verify(&app, PHONE, "246810").await.status, 200);
}

#[tokio::test]
async fn sms_missing_provider_settings_stop_start_up() {
    use hasura_auth::config::Config;
    let db = crate::support::db::TestDb::empty().await;
    let config = Config::from_args([
        "hasura-auth".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            crate::support::app::HS256_SECRET
        ),
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-twilio-account-sid=ACtest".to_owned(),
    ])
    .expect("parses");
    let err = match hasura_auth::startup::build_state(config).await {
        Ok(_) => panic!("start-up must fail"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("AUTH_SMS_TWILIO_AUTH_TOKEN"), "{err}");
    assert!(
        err.contains("AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID"),
        "{err}"
    );
}

/// `POST /signup/passwordless/sms` (Nhost Auth 0.50): a new number gets a code and a
/// user; a known one gets the same "OK" and nothing is sent.
#[tokio::test]
async fn sms_explicit_sign_up_creates_only_new_numbers() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[]).await;
    let r = app
        .post("/signup/passwordless/sms", json!({"phoneNumber": PHONE}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    let code = twilio_message_code(&provider.last(), PHONE);
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = app
        .post("/signup/passwordless/sms", json!({"phoneNumber": PHONE}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    assert_eq!(
        provider.requests().len(),
        1,
        "nothing sent to a known number"
    );
    let row = query_one(
        &app,
        "SELECT count(*), bool_and(otp_hash IS NULL) FROM auth.users",
    )
    .await;
    assert_eq!(row.get::<_, i64>(0), 1);
    assert!(row.get::<_, bool>(1), "no new code stored");

    app.post("/signup/passwordless/sms", json!({"phoneNumber": "+1"}))
        .await
        .assert_error(400, "cannot-send-sms");
    let r = app
        .post(
            "/signup/passwordless/sms",
            json!({"phoneNumber": PHONE, "extra": true}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

/// `AUTH_DISABLE_AUTO_SIGNUP`: the sign-in route answers "OK" for an unknown number
/// without creating a user or sending anything; known numbers still get their code.
#[tokio::test]
async fn sms_sign_in_creates_nobody_without_auto_signup() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &["--disable-auto-signup=true"]).await;
    let r = request_code(&app, PHONE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    assert!(provider.requests().is_empty());
    assert_eq!(
        query_one(&app, "SELECT count(*) FROM auth.users")
            .await
            .get::<_, i64>(0),
        0
    );
    let r = app
        .post("/signup/passwordless/sms", json!({"phoneNumber": PHONE}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.requests().len(), 1);
    let r = request_code(&app, PHONE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.requests().len(), 2);
    let code = twilio_message_code(&provider.last(), PHONE);
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// `POST /signup/passwordless/sms` on a database upstream v0.42 left at level 18.
#[tokio::test]
async fn sms_explicit_sign_up_at_level_18() {
    let provider = FakeProvider::start().await;
    let db = crate::support::db::TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let args = [
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=twilio".to_owned(),
        "--sms-twilio-account-sid=ACtest".to_owned(),
        "--sms-twilio-auth-token=tw-secret".to_owned(),
        "--sms-twilio-messaging-service-id=MGtest".to_owned(),
        format!("--sms-twilio-api-url={}", provider.base),
        "--disable-auto-signup=true".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let app = TestApp::with_db(db, &args).await;
    let before = query_one(&app, "SELECT count(*) FROM auth.users")
        .await
        .get::<_, i64>(0);
    request_code(&app, PHONE).await;
    assert!(provider.requests().is_empty());
    let r = app
        .post("/signup/passwordless/sms", json!({"phoneNumber": PHONE}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = twilio_message_code(&provider.last(), PHONE);
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        query_one(&app, "SELECT count(*) FROM auth.users")
            .await
            .get::<_, i64>(0),
        before + 1
    );
    assert_eq!(
        query_one(&app, "SELECT version FROM auth.schema_migrations")
            .await
            .get::<_, i64>(0),
        18
    );
}

/// `n` six-digit codes that are not `code`.
pub(crate) fn wrong_codes(code: &str, n: u32) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "{:06}",
                (code.parse::<u32>().expect("digits") + 1 + i) % 1_000_000
            )
        })
        .collect()
}

/// Under the 0.52 contract at schema 27: `invalid-otp` while attempts are left, and the
/// fifth wrong guess burns the code (`otp-too-many-attempts`, also for the right code,
/// until a new one is sent), counted in `auth.users.otp_attempts` as 0.52 counts.
#[tokio::test]
async fn sms_otp_limit_under_0_52_counts_in_auth_users() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &["--upstream-generation=0.52"]).await;
    // No code was ever sent to this number.
    verify(&app, PHONE, "123456")
        .await
        .assert_error(400, "invalid-otp");
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    let wrong = wrong_codes(&code, 6);
    for w in &wrong[..4] {
        verify(&app, PHONE, w)
            .await
            .assert_error(400, "invalid-otp");
    }
    let attempts: i16 = query_one(&app, "SELECT otp_attempts FROM auth.users")
        .await
        .get(0);
    assert_eq!(attempts, 4);
    verify(&app, PHONE, &wrong[4])
        .await
        .assert_error(400, "otp-too-many-attempts");
    verify(&app, PHONE, &code)
        .await
        .assert_error(400, "otp-too-many-attempts");
    verify(&app, PHONE, &wrong[5])
        .await
        .assert_error(400, "otp-too-many-attempts");
    let row = query_one(
        &app,
        "SELECT otp_attempts, otp_hash IS NULL, \
         (SELECT count(*) FROM hasura_auth.sms_otp_failures) FROM auth.users",
    )
    .await;
    assert_eq!(row.get::<_, i16>(0), 5, "no count past the limit");
    assert!(row.get::<_, bool>(1), "the code is burned");
    assert_eq!(row.get::<_, i64>(2), 0, "nothing counted in our schema");

    // A new code starts over; the right one signs in and resets the count.
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    assert_eq!(
        query_one(&app, "SELECT otp_attempts FROM auth.users")
            .await
            .get::<_, i16>(0),
        0
    );
    verify(&app, PHONE, &wrong_codes(&code, 1)[0])
        .await
        .assert_error(400, "invalid-otp");
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        query_one(&app, "SELECT otp_attempts FROM auth.users")
            .await
            .get::<_, i16>(0),
        0
    );
}

/// Concurrent wrong guesses cannot exceed the limit (one atomic increment each).
#[tokio::test]
async fn sms_concurrent_guesses_cannot_exceed_the_limit() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &["--upstream-generation=0.52"]).await;
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    let wrong = wrong_codes(&code, 20);
    let replies =
        futures_util::future::join_all(wrong.iter().map(|w| verify(&app, PHONE, w))).await;
    assert!(replies.iter().all(|r| r.status == 400));
    let burned = replies
        .iter()
        .filter(|r| r.body["error"] == "otp-too-many-attempts")
        .count();
    assert_eq!(burned, 16, "exactly 4 guesses find attempts left");
    assert_eq!(
        query_one(&app, "SELECT otp_attempts FROM auth.users")
            .await
            .get::<_, i16>(0),
        5
    );
    verify(&app, PHONE, &code)
        .await
        .assert_error(400, "otp-too-many-attempts");
}

/// Below schema 23 (no `otp_attempts` column) the count lives in our own schema, with
/// the same answers.
#[tokio::test]
async fn sms_otp_limit_at_level_18_counts_in_our_schema() {
    let provider = FakeProvider::start().await;
    let db = crate::support::db::TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let args = [
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=twilio".to_owned(),
        "--sms-twilio-account-sid=ACtest".to_owned(),
        "--sms-twilio-auth-token=tw-secret".to_owned(),
        "--sms-twilio-messaging-service-id=MGtest".to_owned(),
        format!("--sms-twilio-api-url={}", provider.base),
        "--upstream-generation=0.52".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let app = TestApp::with_db(db, &args).await;
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    let wrong = wrong_codes(&code, 5);
    for w in &wrong[..4] {
        verify(&app, PHONE, w)
            .await
            .assert_error(400, "invalid-otp");
    }
    verify(&app, PHONE, &wrong[4])
        .await
        .assert_error(400, "otp-too-many-attempts");
    verify(&app, PHONE, &code)
        .await
        .assert_error(400, "otp-too-many-attempts");
    let failures: i32 = query_one(
        &app,
        "SELECT f.failures FROM hasura_auth.sms_otp_failures f \
         JOIN auth.users u ON u.id = f.user_id WHERE u.phone_number = '+33612345678'",
    )
    .await
    .get(0);
    assert_eq!(failures, 5);
    // A new code starts over and signs in.
    request_code(&app, PHONE).await;
    let code = twilio_message_code(&provider.last(), PHONE);
    let r = verify(&app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        query_one(&app, "SELECT version FROM auth.schema_migrations")
            .await
            .get::<_, i64>(0),
        18
    );
}
