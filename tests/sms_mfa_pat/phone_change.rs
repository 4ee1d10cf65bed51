//! Phone-number change (Nhost Auth 0.52): `POST /user/phone-number/change` and
//! `/user/phone-number/change/verify`, at schema levels 27 and 18, under both contracts.

use serde_json::json;
use uuid::Uuid;

use crate::common::{query_one, token_for, user_with_token};
use crate::provider::FakeProvider;
use crate::sms::{request_code, twilio_app, twilio_message_code, verify, wrong_codes};
use crate::support::app::{Reply, TestApp};

const NEW: &str = "+33611111111";
const OTHER: &str = "+33622222222";
const CHANGE: &str = "/user/phone-number/change";
const VERIFY: &str = "/user/phone-number/change/verify";
const V052: &str = "--upstream-generation=0.52";

pub(crate) async fn change(app: &TestApp, token: &str, number: &str) -> Reply {
    app.post_auth(CHANGE, token, json!({"newPhoneNumber": number}))
        .await
}

pub(crate) async fn confirm(app: &TestApp, token: &str, number: &str, otp: &str) -> Reply {
    app.post_auth(VERIFY, token, json!({"newPhoneNumber": number, "otp": otp}))
        .await
}

/// An email user (verification not required) and an elevated token for them.
pub(crate) async fn email_user(app: &TestApp, email: &str) -> (Uuid, String) {
    let (id, _) = user_with_token(app, email).await;
    (id, token_for(app, id, true))
}

pub(crate) async fn app_at_18(provider: &FakeProvider, extra: &[&str]) -> TestApp {
    let db = crate::support::db::TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let mut args = vec![
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=twilio".to_owned(),
        "--sms-twilio-account-sid=ACtest".to_owned(),
        "--sms-twilio-auth-token=tw-secret".to_owned(),
        "--sms-twilio-messaging-service-id=MGtest".to_owned(),
        format!("--sms-twilio-api-url={}", provider.base),
        crate::common::NO_VERIFY.to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::with_db(db, &args).await
}

async fn phone_of(app: &TestApp, id: Uuid) -> (Option<String>, bool) {
    let row = query_one(
        app,
        &format!("SELECT phone_number, phone_number_verified FROM auth.users WHERE id = '{id}'"),
    )
    .await;
    (row.get(0), row.get(1))
}

async fn audit_reasons(app: &TestApp, id: Uuid) -> Vec<String> {
    for _ in 0..100 {
        let rows = app
            .db
            .client()
            .await
            .query(
                "SELECT outcome || ':' || COALESCE(reason, '') FROM hasura_auth.audit_events \
                 WHERE event = 'phone-number-change' AND user_id = $1 ORDER BY id",
                &[&id],
            )
            .await
            .expect("audit rows");
        if rows.len() >= 2 {
            return rows.iter().map(|r| r.get(0)).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Vec::new()
}

/// Level 27, 0.52 contract: the number is staged in `auth.users.new_phone_number` as 0.52
/// stages it, the right code moves the user to it (verified), and the user can then sign
/// in by SMS with it.
#[tokio::test]
async fn phone_change_end_to_end_at_level_27() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052, crate::common::NO_VERIFY]).await;
    let (id, token) = email_user(&app, "a@example.com").await;
    let r = change(&app, &token, "+33 6 11 11 11 11").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    let code = twilio_message_code(&provider.last(), NEW);
    let row = query_one(
        &app,
        &format!(
            "SELECT new_phone_number, otp_method_last_used, otp_attempts, otp_hash IS NOT NULL, \
             phone_number IS NULL FROM auth.users WHERE id = '{id}'"
        ),
    )
    .await;
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some(NEW));
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("sms-change")
    );
    assert_eq!(row.get::<_, i16>(2), 0);
    assert!(row.get::<_, bool>(3) && row.get::<_, bool>(4));

    // The code of another number, or a wrong code: invalid-otp.
    confirm(&app, &token, OTHER, &code)
        .await
        .assert_error(400, "invalid-otp");
    confirm(&app, &token, NEW, &wrong_codes(&code, 1)[0])
        .await
        .assert_error(400, "invalid-otp");
    let r = confirm(&app, &token, NEW, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(phone_of(&app, id).await, (Some(NEW.to_owned()), true));
    let row = query_one(
        &app,
        &format!(
            "SELECT new_phone_number IS NULL, otp_hash IS NULL, otp_attempts \
             FROM auth.users WHERE id = '{id}'"
        ),
    )
    .await;
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i16>(2), 0);
    // Used codes are void.
    confirm(&app, &token, NEW, &code)
        .await
        .assert_error(400, "invalid-otp");
    // The new number signs in by SMS.
    request_code(&app, NEW).await;
    let sign_in = twilio_message_code(&provider.last(), NEW);
    let r = verify(&app, NEW, &sign_in).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(id.to_string()));
    assert_eq!(
        audit_reasons(&app, id).await,
        ["success:requested", "success:confirmed"]
    );
}

/// Level 18 (no 0.52 columns), v0.42 contract: the staged number and the wrong-guess count
/// live in our schema, `auth.users` is untouched but for the codes, and v0.42's code
/// for a wrong code is `invalid-request`.
#[tokio::test]
async fn phone_change_at_level_18_keeps_staging_in_our_schema() {
    let provider = FakeProvider::start().await;
    let app = app_at_18(&provider, &[]).await;
    let (id, token) = email_user(&app, "a@example.com").await;
    let r = change(&app, &token, NEW).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = twilio_message_code(&provider.last(), NEW);
    let staged: String = query_one(
        &app,
        &format!("SELECT new_phone_number FROM hasura_auth.phone_changes WHERE user_id = '{id}'"),
    )
    .await
    .get(0);
    assert_eq!(staged, NEW);
    confirm(&app, &token, OTHER, &code)
        .await
        .assert_error(400, "invalid-request");
    let r = confirm(&app, &token, NEW, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(phone_of(&app, id).await, (Some(NEW.to_owned()), true));
    let left: i64 = query_one(&app, "SELECT count(*) FROM hasura_auth.phone_changes")
        .await
        .get(0);
    assert_eq!(left, 0);
    assert_eq!(
        query_one(&app, "SELECT max(version) FROM auth.schema_migrations")
            .await
            .get::<_, i64>(0),
        18
    );
}

/// The fifth wrong guess burns the code, at 27 (auth.users.otp_attempts) and at 18 (our
/// counter), under 0.52; under v0.42 the same guesses answer `invalid-request`.
#[tokio::test]
async fn phone_change_fifth_wrong_guess_burns_the_code() {
    let provider = FakeProvider::start().await;
    for app in [
        twilio_app(&provider, &[V052, crate::common::NO_VERIFY]).await,
        app_at_18(&provider, &[V052]).await,
    ] {
        let (id, token) = email_user(&app, "a@example.com").await;
        change(&app, &token, NEW).await;
        let code = twilio_message_code(&provider.last(), NEW);
        let wrong = wrong_codes(&code, 5);
        for w in &wrong[..4] {
            confirm(&app, &token, NEW, w)
                .await
                .assert_error(400, "invalid-otp");
        }
        confirm(&app, &token, NEW, &wrong[4])
            .await
            .assert_error(400, "otp-too-many-attempts");
        confirm(&app, &token, NEW, &code)
            .await
            .assert_error(400, "otp-too-many-attempts");
        assert_eq!(phone_of(&app, id).await, (None, false));
        // A new code starts over.
        change(&app, &token, NEW).await;
        let code = twilio_message_code(&provider.last(), NEW);
        let r = confirm(&app, &token, NEW, &code).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let app = twilio_app(&provider, &[crate::common::NO_VERIFY]).await;
    let (_, token) = email_user(&app, "a@example.com").await;
    change(&app, &token, NEW).await;
    let code = twilio_message_code(&provider.last(), NEW);
    for w in wrong_codes(&code, 6) {
        confirm(&app, &token, NEW, &w)
            .await
            .assert_error(400, "invalid-request");
    }
    confirm(&app, &token, NEW, &code)
        .await
        .assert_error(400, "invalid-request");
}

/// Only an owned `phone_number` blocks: 409 `user-already-exists` (v0.42:
/// `email-already-in-use`), also when the number was taken between request and verify.
#[tokio::test]
async fn phone_change_to_an_owned_number_is_409_under_both_contracts() {
    let provider = FakeProvider::start().await;
    for (generation, code) in [
        ("--upstream-generation=0.42", "email-already-in-use"),
        (V052, "user-already-exists"),
    ] {
        let app = twilio_app(&provider, &[generation, crate::common::NO_VERIFY]).await;
        let (owner, _) = email_user(&app, "owner@example.com").await;
        app.sql(&format!(
            "UPDATE auth.users SET phone_number = '{OTHER}' WHERE id = '{owner}'"
        ))
        .await;
        let (id, token) = email_user(&app, "a@example.com").await;
        let sent = provider.requests().len();
        change(&app, &token, OTHER).await.assert_error(409, code);
        assert_eq!(provider.requests().len(), sent, "nothing sent");
        // Its own number: no conflict with itself.
        app.sql(&format!(
            "UPDATE auth.users SET phone_number = '{NEW}' WHERE id = '{id}'"
        ))
        .await;
        let r = change(&app, &token, NEW).await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.sql(&format!(
            "UPDATE auth.users SET phone_number = NULL WHERE id = '{id}'"
        ))
        .await;
        // Taken meanwhile.
        change(&app, &token, "+33633333333").await;
        let otp = twilio_message_code(&provider.last(), "+33633333333");
        app.sql(&format!(
            "UPDATE auth.users SET phone_number = '+33633333333' WHERE id = '{owner}'"
        ))
        .await;
        confirm(&app, &token, "+33633333333", &otp)
            .await
            .assert_error(409, code);
        assert_eq!(phone_of(&app, id).await.0, None);
    }
}

/// Upstream's phone-squat scenario: an attacker stages the victim's number without ever
/// getting its code. The victim still signs in by SMS with it, and can move an account to
/// it; the attacker's pending code then meets an owned number.
#[tokio::test]
async fn phone_squat_never_blocks_the_owner() {
    let provider = FakeProvider::start().await;
    for app in [
        twilio_app(&provider, &[V052, crate::common::NO_VERIFY]).await,
        app_at_18(&provider, &[V052]).await,
    ] {
        let (_, attacker) = email_user(&app, "attacker@example.com").await;
        let r = change(&app, &attacker, NEW).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let attacker_code = twilio_message_code(&provider.last(), NEW);

        // The victim moves an existing account to the number.
        let (victim, token) = email_user(&app, "victim@example.com").await;
        let r = change(&app, &token, NEW).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let code = twilio_message_code(&provider.last(), NEW);
        let r = confirm(&app, &token, NEW, &code).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(phone_of(&app, victim).await, (Some(NEW.to_owned()), true));
        // The squatter learns the code somehow: the number is owned now.
        confirm(&app, &attacker, NEW, &attacker_code)
            .await
            .assert_error(409, "user-already-exists");

        // An SMS sign-up placeholder made for a number without its code (anyone can
        // make one) does not block the owner's change either, and is released by it.
        const THIRD: &str = "+33644444444";
        request_code(&app, THIRD).await;
        let (other_victim, token) = email_user(&app, "victim2@example.com").await;
        let r = change(&app, &token, THIRD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let code = twilio_message_code(&provider.last(), THIRD);
        let r = confirm(&app, &token, THIRD, &code).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            phone_of(&app, other_victim).await,
            (Some(THIRD.to_owned()), true)
        );
        let holders: i64 = query_one(
            &app,
            &format!("SELECT count(*) FROM auth.users WHERE phone_number = '{THIRD}'"),
        )
        .await
        .get(0);
        assert_eq!(holders, 1, "the placeholder is gone");
        // A verified SMS user does own the number.
        change(&app, &attacker, THIRD)
            .await
            .assert_error(409, "user-already-exists");

        // Squatting a number nobody owns yet does not stop an SMS sign-up with it.
        change(&app, &attacker, OTHER).await;
        request_code(&app, OTHER).await;
        let code = twilio_message_code(&provider.last(), OTHER);
        let r = verify(&app, OTHER, &code).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["session"]["user"]["phoneNumber"], json!(OTHER));
    }
}

/// Switch, authentication and hostile input.
#[tokio::test]
async fn phone_change_refusals_and_hostile_input() {
    let provider = FakeProvider::start().await;
    // Disabled: 409 before anything else.
    let off = TestApp::with(&[V052, crate::common::NO_VERIFY]).await;
    let (_, token) = email_user(&off, "a@example.com").await;
    change(&off, &token, NEW)
        .await
        .assert_error(409, "disabled-endpoint");
    confirm(&off, &token, NEW, "123456")
        .await
        .assert_error(409, "disabled-endpoint");

    let app = twilio_app(&provider, &[V052, crate::common::NO_VERIFY]).await;
    let (id, token) = email_user(&app, "a@example.com").await;
    // No, forged and expired tokens: 401 under 0.52.
    for path in [CHANGE, VERIFY] {
        let r = app
            .post(path, json!({"newPhoneNumber": NEW, "otp": "123456"}))
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        let forged = format!("{}x", &token[..token.len() - 1]);
        let r = app
            .post_auth(
                path,
                &forged,
                json!({"newPhoneNumber": NEW, "otp": "123456"}),
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        let r = app
            .post_auth(path, "not.a.jwt", json!({"newPhoneNumber": NEW}))
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    // Numbers no SMS reaches: cannot-send-sms, nothing sent.
    for bad in [
        "0612345678",
        "+1234",
        "hello",
        "",
        "'; DROP TABLE auth.users; --",
        "<b>+33</b>",
    ] {
        change(&app, &token, bad)
            .await
            .assert_error(400, "cannot-send-sms");
        confirm(&app, &token, bad, "123456")
            .await
            .assert_error(400, "invalid-otp");
    }
    assert!(provider.requests().is_empty());
    // Malformed bodies.
    let bad_bodies = [
        json!({}),
        json!({"newPhoneNumber": 33611111111u64}),
        json!({"newPhoneNumber": NEW, "extra": true}),
        json!({"phoneNumber": NEW}),
        json!("+33611111111"),
        json!(null),
    ];
    for body in &bad_bodies {
        let r = app.post_auth(CHANGE, &token, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    let r = app
        .post_auth(VERIFY, &token, json!({"newPhoneNumber": NEW}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app
        .http
        .post(app.url(CHANGE))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"newPhoneNumber\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    // Verify with nothing staged.
    confirm(&app, &token, NEW, "123456")
        .await
        .assert_error(400, "invalid-otp");
    assert_eq!(phone_of(&app, id).await, (None, false));

    // Provider failure: cannot-send-sms and the code is void.
    provider.fail_with(503, "unavailable");
    change(&app, &token, NEW)
        .await
        .assert_error(400, "cannot-send-sms");
    let failed = twilio_message_code(&provider.last(), NEW);
    provider.recover();
    confirm(&app, &token, NEW, &failed)
        .await
        .assert_error(400, "invalid-otp");
    assert_eq!(phone_of(&app, id).await, (None, false));

    // Anonymous users deanonymise instead.
    let anon_app = twilio_app(
        &provider,
        &[V052, crate::common::NO_VERIFY, "--enable-anonymous-users"],
    )
    .await;
    let anon = anon_app.post("/signin/anonymous", json!({})).await;
    let anon_token = anon.body["session"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    change(&anon_app, &anon_token, NEW)
        .await
        .assert_error(403, "forbidden-anonymous");
}

/// With Twilio Verify the provider keeps and checks the code: the change and the
/// deanonymisation complete with its approval, and a refusal counts as a wrong guess.
#[tokio::test]
async fn phone_change_and_deanonymize_with_twilio_verify() {
    use crate::provider::VERIFY_CODE;
    let provider = FakeProvider::start().await;
    let app = twilio_app(
        &provider,
        &[
            V052,
            crate::common::NO_VERIFY,
            "--enable-anonymous-users",
            "--sms-twilio-messaging-service-id=VAservice",
        ],
    )
    .await;
    let (id, token) = email_user(&app, "a@example.com").await;
    let r = change(&app, &token, NEW).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.last().path, "/v2/Services/VAservice/Verifications");
    confirm(&app, &token, NEW, "111111")
        .await
        .assert_error(400, "invalid-otp");
    // Another number than the staged one is refused before Twilio is asked.
    let asked = provider.requests().len();
    confirm(&app, &token, OTHER, VERIFY_CODE)
        .await
        .assert_error(400, "invalid-otp");
    assert_eq!(provider.requests().len(), asked);
    let r = confirm(&app, &token, NEW, VERIFY_CODE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(phone_of(&app, id).await, (Some(NEW.to_owned()), true));

    let anon = app.post("/signin/anonymous", json!({})).await;
    let anon_token = anon.body["session"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = app
        .post_auth(
            "/user/deanonymize/sms",
            &anon_token,
            json!({"phoneNumber": OTHER}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = verify(&app, OTHER, VERIFY_CODE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["isAnonymous"], json!(false));
    assert_eq!(r.body["session"]["user"]["phoneNumber"], json!(OTHER));
}
