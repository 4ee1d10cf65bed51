//! SMS deanonymisation (Nhost Auth 0.52): `POST /user/deanonymize/sms`, completed by
//! `POST /signin/passwordless/sms/otp`, at schema levels 27 and 18.

use serde_json::{Value, json};

use crate::common::{query_one, user_with_token};
use crate::provider::FakeProvider;
use crate::sms::{twilio_app, twilio_message_code, verify, wrong_codes};
use crate::support::app::{Reply, TestApp};

const PHONE: &str = "+33655555555";
const PATH: &str = "/user/deanonymize/sms";
const V052: &str = "--upstream-generation=0.52";
const ANON: &str = "--enable-anonymous-users";

/// (access token, refresh token, user id) of a new anonymous user.
pub(crate) async fn anonymous(app: &TestApp) -> (String, String, String) {
    let r = app.post("/signin/anonymous", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["session"];
    (
        s["accessToken"].as_str().expect("token").to_owned(),
        s["refreshToken"].as_str().expect("refresh").to_owned(),
        s["user"]["id"].as_str().expect("id").to_owned(),
    )
}

async fn request(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post_auth(PATH, token, body).await
}

fn options() -> Value {
    json!({
        "displayName": "Phone Person",
        "locale": "fr",
        "defaultRole": "user",
        "allowedRoles": ["user", "me"],
        "metadata": {"plan": "pro"}
    })
}

async fn app_at_18(provider: &FakeProvider) -> TestApp {
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
        "--allowed-locales=en,fr".to_owned(),
        ANON.to_owned(),
        V052.to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::with_db(db, &args).await
}

/// The whole flow; `staged_sql` reads (number, options) staged for user `$1`.
async fn end_to_end(app: &TestApp, provider: &FakeProvider, staged_sql: &str) {
    let (token, refresh, id) = anonymous(app).await;
    let r = request(
        app,
        &token,
        json!({"phoneNumber": PHONE, "options": options()}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    let code = twilio_message_code(&provider.last(), PHONE);
    let row = query_one(
        app,
        &format!("SELECT is_anonymous, phone_number IS NULL FROM auth.users WHERE id = '{id}'"),
    )
    .await;
    assert!(row.get::<_, bool>(0), "still anonymous until the code");
    assert!(row.get::<_, bool>(1), "no number owned yet");
    let staged = query_one(app, &staged_sql.replace("$1", &format!("'{id}'"))).await;
    assert_eq!(staged.get::<_, String>(0), PHONE);
    let opts: Value = staged.get(1);
    assert_eq!(opts["display_name"], "Phone Person");
    assert_eq!(opts["default_role"], "user");
    assert_eq!(opts["roles"], json!(["user", "me"]));
    assert_eq!(opts["locale"], "fr");
    assert_eq!(opts["metadata"], json!({"plan": "pro"}));

    verify(app, PHONE, &wrong_codes(&code, 1)[0])
        .await
        .assert_error(400, "invalid-otp");
    let r = verify(app, PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["id"], json!(id));
    assert_eq!(user["isAnonymous"], json!(false));
    assert_eq!(user["phoneNumber"], json!(PHONE));
    assert_eq!(user["phoneNumberVerified"], json!(true));
    assert_eq!(user["displayName"], json!("Phone Person"));
    assert_eq!(user["locale"], json!("fr"));
    assert_eq!(user["defaultRole"], json!("user"));
    assert_eq!(user["metadata"], json!({"plan": "pro"}));
    let mut roles: Vec<String> = serde_json::from_value(user["roles"].clone()).expect("roles");
    roles.sort();
    assert_eq!(roles, ["me", "user"]);
    // The anonymous session is over.
    let old = app.post("/token", json!({"refreshToken": refresh})).await;
    assert!(old.status == 401 || old.status == 400, "{}", old.text);
    // The used code is void; the deanonymised user signs in by SMS like any other.
    verify(app, PHONE, &code)
        .await
        .assert_error(400, "invalid-otp");
    // A second deanonymisation with the old anonymous token is refused by the database.
    request(app, &token, json!({"phoneNumber": "+33666666666"}))
        .await
        .assert_error(400, "user-not-anonymous");
}

#[tokio::test]
async fn sms_deanonymize_end_to_end_at_level_27() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052, ANON]).await;
    end_to_end(
        &app,
        &provider,
        "SELECT new_phone_number, pending_sms_deanonymize_options FROM auth.users WHERE id = $1",
    )
    .await;
    let left: i64 = query_one(
        &app,
        "SELECT count(*) FROM auth.users WHERE new_phone_number IS NOT NULL \
         OR pending_sms_deanonymize_options IS NOT NULL",
    )
    .await
    .get(0);
    assert_eq!(left, 0, "staging cleared");
}

#[tokio::test]
async fn sms_deanonymize_end_to_end_at_level_18() {
    let provider = FakeProvider::start().await;
    let app = app_at_18(&provider).await;
    end_to_end(
        &app,
        &provider,
        "SELECT p.new_phone_number, o.options FROM hasura_auth.phone_changes p \
         JOIN hasura_auth.sms_deanonymize_options o USING (user_id) WHERE user_id = $1",
    )
    .await;
    let left: i64 = query_one(
        &app,
        "SELECT (SELECT count(*) FROM hasura_auth.phone_changes) \
         + (SELECT count(*) FROM hasura_auth.sms_deanonymize_options)",
    )
    .await
    .get(0);
    assert_eq!(left, 0, "staging cleared");
}

/// Refusals, both contracts where they differ, and hostile input.
#[tokio::test]
async fn sms_deanonymize_refusals() {
    let provider = FakeProvider::start().await;
    let off = TestApp::with(&[ANON, V052]).await;
    let (token, _, _) = anonymous(&off).await;
    request(&off, &token, json!({"phoneNumber": PHONE}))
        .await
        .assert_error(409, "disabled-endpoint");

    let app = twilio_app(&provider, &[V052, ANON, crate::common::NO_VERIFY]).await;
    // Regular users.
    let (_, regular) = user_with_token(&app, "a@example.com").await;
    request(&app, &regular, json!({"phoneNumber": PHONE}))
        .await
        .assert_error(400, "user-not-anonymous");
    // No or forged token: 401 under 0.52.
    let r = app.post(PATH, json!({"phoneNumber": PHONE})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let (token, _, _) = anonymous(&app).await;
    // Change a full-width character of the signature: the last one holds
    // padding bits, and replacing it with itself (1 in 16) forged nothing.
    let at = token.len() - 10;
    let swap = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swap}{}", &token[..at], &token[at + 1..]);
    let r = request(&app, &forged, json!({"phoneNumber": PHONE})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    // Bad numbers, bad options, malformed bodies: nothing sent.
    for bad in [
        "0612",
        "hello",
        "",
        "'); DELETE FROM auth.users; --",
        "<script>",
    ] {
        request(&app, &token, json!({"phoneNumber": bad}))
            .await
            .assert_error(400, "cannot-send-sms");
    }
    request(
        &app,
        &token,
        json!({"phoneNumber": PHONE, "options": {"defaultRole": "admin"}}),
    )
    .await
    .assert_error(400, "default-role-must-be-in-allowed-roles");
    for body in [
        json!({}),
        json!({"phoneNumber": 33655555555u64}),
        json!({"phoneNumber": PHONE, "email": "x@example.com"}),
        json!({"phoneNumber": PHONE, "options": "x"}),
    ] {
        let r = request(&app, &token, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    assert!(provider.requests().is_empty());
    // An owned number: 409.
    app.sql(&format!(
        "UPDATE auth.users SET phone_number = '{PHONE}', phone_number_verified = true \
         WHERE email = 'a@example.com'"
    ))
    .await;
    request(&app, &token, json!({"phoneNumber": PHONE}))
        .await
        .assert_error(409, "user-already-exists");
    // Provider failure: cannot-send-sms, the code is void.
    provider.fail_with(503, "down");
    request(&app, &token, json!({"phoneNumber": "+33677777777"}))
        .await
        .assert_error(400, "cannot-send-sms");
    let failed = twilio_message_code(&provider.last(), "+33677777777");
    provider.recover();
    verify(&app, "+33677777777", &failed)
        .await
        .assert_error(400, "invalid-otp");

    // v0.42 contract: the owned number is `email-already-in-use`.
    let old = twilio_app(&provider, &[ANON, crate::common::NO_VERIFY]).await;
    let (_, regular) = user_with_token(&old, "a@example.com").await;
    let _ = regular;
    old.sql(&format!(
        "UPDATE auth.users SET phone_number = '{PHONE}', phone_number_verified = true"
    ))
    .await;
    let (token, _, _) = anonymous(&old).await;
    request(&old, &token, json!({"phoneNumber": PHONE}))
        .await
        .assert_error(409, "email-already-in-use");
}

/// Wrong guesses, two anonymous users staging one number, and expiry.
#[tokio::test]
async fn sms_deanonymize_codes_bind_one_row_and_expire() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052, ANON]).await;
    let (a, _, a_id) = anonymous(&app).await;
    let (b, _, b_id) = anonymous(&app).await;
    request(&app, &a, json!({"phoneNumber": PHONE})).await;
    let a_code = twilio_message_code(&provider.last(), PHONE);
    request(&app, &b, json!({"phoneNumber": PHONE})).await;
    let b_code = twilio_message_code(&provider.last(), PHONE);
    // Five wrong guesses burn both pending codes (each row pays one attempt).
    let wrong: Vec<String> = wrong_codes(&a_code, 12)
        .into_iter()
        .filter(|w| *w != b_code)
        .take(5)
        .collect();
    for w in &wrong[..4] {
        verify(&app, PHONE, w)
            .await
            .assert_error(400, "invalid-otp");
    }
    verify(&app, PHONE, &wrong[4])
        .await
        .assert_error(400, "otp-too-many-attempts");
    verify(&app, PHONE, &a_code)
        .await
        .assert_error(400, "otp-too-many-attempts");
    // New codes: B's code promotes B only.
    request(&app, &a, json!({"phoneNumber": PHONE})).await;
    let a_code = twilio_message_code(&provider.last(), PHONE);
    request(&app, &b, json!({"phoneNumber": PHONE})).await;
    let b_code = twilio_message_code(&provider.last(), PHONE);
    let r = verify(&app, PHONE, &b_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(b_id));
    // A's code now meets a number B owns: 409, A stays anonymous.
    verify(&app, PHONE, &a_code)
        .await
        .assert_error(409, "user-already-exists");
    let anon: bool = query_one(
        &app,
        &format!("SELECT is_anonymous FROM auth.users WHERE id = '{a_id}'"),
    )
    .await
    .get(0);
    assert!(anon, "A stays anonymous");

    // Expired staged deanonymisations are released by the next request.
    let (c, _, c_id) = anonymous(&app).await;
    request(&app, &c, json!({"phoneNumber": "+33688888888"})).await;
    app.sql(&format!(
        "UPDATE auth.users SET otp_hash_expires_at = now() - interval '1 minute' WHERE id = '{c_id}'"
    ))
    .await;
    let (d, _, _) = anonymous(&app).await;
    request(&app, &d, json!({"phoneNumber": "+33699999999"})).await;
    let row = query_one(
        &app,
        &format!(
            "SELECT new_phone_number IS NULL, pending_sms_deanonymize_options IS NULL \
             FROM auth.users WHERE id = '{c_id}'"
        ),
    )
    .await;
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
}

/// An SMS sign-up Nhost Auth 0.52 staged (`new_phone_number`, `phone_number` NULL) before
/// the database was handed to us: its code still completes it.
#[tokio::test]
async fn sms_sign_up_staged_by_0_52_completes_at_level_27() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052]).await;
    app.sql(&format!(
        "INSERT INTO auth.users (id, new_phone_number, display_name, locale, default_role, \
           otp_hash, otp_hash_expires_at, otp_method_last_used) \
         VALUES ('11111111-1111-1111-1111-111111111111', '{PHONE}', '{PHONE}', 'en', 'user', \
           public.crypt('123456', public.gen_salt('bf')), now() + interval '5 minutes', 'sms'); \
         INSERT INTO auth.user_roles (user_id, role) \
           VALUES ('11111111-1111-1111-1111-111111111111', 'user')"
    ))
    .await;
    verify(&app, PHONE, "654321")
        .await
        .assert_error(400, "invalid-otp");
    let r = verify(&app, PHONE, "123456").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["phoneNumber"], json!(PHONE));
    let row = query_one(
        &app,
        "SELECT phone_number_verified, new_phone_number IS NULL, otp_attempts FROM auth.users",
    )
    .await;
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i16>(2), 0);
}
