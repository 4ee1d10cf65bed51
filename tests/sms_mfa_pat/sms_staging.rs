//! SMS sign-up staging (Nhost Auth 0.52): from schema level 24 a new SMS sign-up keeps
//! its number in `new_phone_number` until the code proves it; a retry re-stages the
//! same credential-free placeholder; verification promotes it; squatters never block
//! the owner; expired placeholders are swept. At level 18 sign-ups write
//! `phone_number` as v0.42 did, and a never-used placeholder still blocks nobody.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{NO_VERIFY, query_one};
use crate::phone_change::{app_at_18, change, confirm, email_user};
use crate::provider::FakeProvider;
use crate::sms::{twilio_app, twilio_message_code, verify, wrong_codes};
use crate::sms_deanonymize::anonymous;
use crate::support::app::{Reply, TestApp};

const N: &str = "+33644444444";
const SIGNUP: &str = "/signup/passwordless/sms";
const SIGNIN: &str = "/signin/passwordless/sms";
const V052: &str = "--upstream-generation=0.52";
const ANON: &str = "--enable-anonymous-users";
const LOCALES: &str = "--allowed-locales=en,fr,es";

async fn sign_up(app: &TestApp, phone: &str, options: Value) -> Reply {
    app.post(SIGNUP, json!({"phoneNumber": phone, "options": options}))
        .await
}

async fn sign_in(app: &TestApp, phone: &str, options: Value) -> Reply {
    app.post(SIGNIN, json!({"phoneNumber": phone, "options": options}))
        .await
}

/// A user row holding a number, owned or staged.
#[derive(Debug, Clone, PartialEq)]
struct Holder {
    id: Uuid,
    phone_number: Option<String>,
    new_phone_number: Option<String>,
    verified: bool,
    display_name: String,
}

/// Every user holding `number` (in `phone_number`, or staged when the schema has
/// `new_phone_number`), oldest first.
async fn holders(app: &TestApp, number: &str, staged_column: bool) -> Vec<Holder> {
    let sql = if staged_column {
        "SELECT id, phone_number, new_phone_number, phone_number_verified, display_name \
         FROM auth.users WHERE phone_number = $1 OR new_phone_number = $1 ORDER BY created_at, id"
    } else {
        "SELECT id, phone_number, NULL::text, phone_number_verified, display_name \
         FROM auth.users WHERE phone_number = $1 ORDER BY created_at, id"
    };
    let rows = app
        .db
        .client()
        .await
        .query(sql, &[&number])
        .await
        .expect("holders");
    rows.iter()
        .map(|r| Holder {
            id: r.get(0),
            phone_number: r.get(1),
            new_phone_number: r.get(2),
            verified: r.get(3),
            display_name: r.get(4),
        })
        .collect()
}

async fn user_count(app: &TestApp) -> i64 {
    query_one(app, "SELECT count(*) FROM auth.users")
        .await
        .get(0)
}

async fn exists(app: &TestApp, id: Uuid) -> bool {
    query_one(
        app,
        &format!("SELECT EXISTS (SELECT 1 FROM auth.users WHERE id = '{id}')"),
    )
    .await
    .get(0)
}

/// Inserts a staged sign-up placeholder as Nhost Auth 0.52 writes one (number in
/// `new_phone_number`, code hashed by pgcrypto, `otp_method_last_used = 'sms'`), with
/// `code` live for `ttl` (negative: expired), then applies `extra` (an SQL assignment
/// list, or empty).
async fn insert_staged(app: &TestApp, number: &str, code: &str, ttl: &str, extra: &str) -> Uuid {
    let id = Uuid::new_v4();
    app.sql(&format!(
        "INSERT INTO auth.users (id, new_phone_number, display_name, locale, default_role, \
           otp_hash, otp_hash_expires_at, otp_method_last_used, created_at) \
         VALUES ('{id}', '{number}', '{number}', 'en', 'user', \
           public.crypt('{code}', public.gen_salt('bf')), now() + interval '{ttl}', 'sms', \
           now() + interval '1 second'); \
         INSERT INTO auth.user_roles (user_id, role) VALUES ('{id}', 'user')"
    ))
    .await;
    if !extra.is_empty() {
        app.sql(&format!("UPDATE auth.users SET {extra} WHERE id = '{id}'"))
            .await;
    }
    id
}

/// Level 27, 0.52 contract: the sign-up is staged, a retry re-stages the same row with a
/// new code and profile, the code promotes it, and the owned number then behaves as a
/// known one on both routes.
#[tokio::test]
async fn sms_sign_up_is_staged_until_its_code_at_level_27() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052]).await;
    let r = sign_up(&app, N, json!({"displayName": "First", "locale": "fr"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    let first = twilio_message_code(&provider.last(), N);
    let staged = holders(&app, N, true).await;
    assert_eq!(staged.len(), 1, "{staged:?}");
    let id = staged[0].id;
    assert_eq!(
        staged[0].phone_number, None,
        "no number owned before the code"
    );
    assert_eq!(staged[0].new_phone_number.as_deref(), Some(N));
    assert!(!staged[0].verified);
    let row = query_one(
        &app,
        &format!(
            "SELECT otp_method_last_used, otp_attempts, email IS NULL, otp_hash <> '{first}', \
               locale FROM auth.users WHERE id = '{id}'"
        ),
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "sms");
    assert_eq!(row.get::<_, i16>(1), 0);
    assert!(
        row.get::<_, bool>(2) && row.get::<_, bool>(3),
        "code hashed"
    );
    assert_eq!(row.get::<_, String>(4), "fr");

    // A retry, through the sign-in route: the same row, a new code, the new profile.
    let r = sign_in(&app, N, json!({"displayName": "Second"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = twilio_message_code(&provider.last(), N);
    let staged = holders(&app, N, true).await;
    assert_eq!(staged.len(), 1, "one placeholder: {staged:?}");
    assert_eq!(staged[0].id, id);
    assert_eq!(staged[0].display_name, "Second");
    assert_eq!(user_count(&app).await, 1);
    if first != second {
        verify(&app, N, &first)
            .await
            .assert_error(400, "invalid-otp");
    }

    let r = verify(&app, N, &second).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["id"], json!(id));
    assert_eq!(user["phoneNumber"], json!(N));
    assert_eq!(user["phoneNumberVerified"], json!(true));
    assert_eq!(user["displayName"], json!("Second"));
    assert_eq!(user["locale"], json!("en"));
    assert_eq!(user["isAnonymous"], json!(false));
    let owned = holders(&app, N, true).await;
    assert_eq!(
        owned,
        vec![Holder {
            id,
            phone_number: Some(N.to_owned()),
            new_phone_number: None,
            verified: true,
            display_name: "Second".to_owned(),
        }]
    );
    let attempts: i16 = query_one(&app, "SELECT otp_attempts FROM auth.users")
        .await
        .get(0);
    assert_eq!(attempts, 0, "the right code resets the count");

    // Owned now: the sign-up route sends nothing, the sign-in route codes the owner.
    let sent = provider.requests().len();
    let r = sign_up(&app, N, json!({"displayName": "Third"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.requests().len(), sent, "nothing sent to an owner");
    let r = sign_in(&app, N, json!({"displayName": "Third"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = twilio_message_code(&provider.last(), N);
    let r = verify(&app, N, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(id));
    assert_eq!(
        r.body["session"]["user"]["displayName"],
        json!("Second"),
        "an account's profile is not a placeholder's"
    );
    assert_eq!(user_count(&app).await, 1);
}

/// Level 18, v0.42 contract: the sign-up writes `phone_number` (unverified) as v0.42
/// did; a retry re-codes the same row; v0.42's error codes.
#[tokio::test]
async fn sms_sign_up_writes_phone_number_at_level_18() {
    let provider = FakeProvider::start().await;
    let app = app_at_18(&provider, &[LOCALES]).await;
    let before = user_count(&app).await;
    let r = sign_up(&app, N, json!({"displayName": "First"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = twilio_message_code(&provider.last(), N);
    let rows = holders(&app, N, false).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let id = rows[0].id;
    assert_eq!(rows[0].phone_number.as_deref(), Some(N));
    assert!(!rows[0].verified);
    let staged: i64 = query_one(&app, "SELECT count(*) FROM hasura_auth.phone_changes")
        .await
        .get(0);
    assert_eq!(staged, 0, "a sign-up stages nothing at level 18");

    let r = sign_in(&app, N, json!({"displayName": "Second"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = twilio_message_code(&provider.last(), N);
    let rows = holders(&app, N, false).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert_eq!(rows[0].display_name, "Second");
    if first != second {
        verify(&app, N, &first)
            .await
            .assert_error(400, "invalid-request");
    }
    let r = verify(&app, N, &second).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(id));
    assert_eq!(
        r.body["session"]["user"]["phoneNumberVerified"],
        json!(true)
    );
    assert_eq!(user_count(&app).await, before + 1);
    let version: i64 = query_one(&app, "SELECT version FROM auth.schema_migrations")
        .await
        .get(0);
    assert_eq!(version, 18, "the level is kept");
}

/// Level 27: a sign-up placeholder, an anonymous user deanonymising and a user changing
/// their number all staged the owner's number; the owner still signs up, gets the
/// placeholder with their own profile, and none of the squatters' codes steals the
/// number afterwards.
#[tokio::test]
async fn squatters_do_not_block_the_owner_at_level_27() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052, ANON, NO_VERIFY]).await;
    let r = sign_in(
        &app,
        N,
        json!({"displayName": "Squatter", "metadata": {"evil": true}, "locale": "es"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let squat_code = twilio_message_code(&provider.last(), N);
    let placeholder = holders(&app, N, true).await[0].id;
    let (anon_token, _, anon_id) = anonymous(&app).await;
    let r = app
        .post_auth(
            "/user/deanonymize/sms",
            &anon_token,
            json!({"phoneNumber": N}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let anon_code = twilio_message_code(&provider.last(), N);
    let (changer, change_token) = email_user(&app, "changer@example.com").await;
    let r = change(&app, &change_token, N).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let change_code = twilio_message_code(&provider.last(), N);

    // The owner signs up: the placeholder is re-staged for them and a code is sent.
    let r = sign_up(&app, N, json!({"displayName": "Owner"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.requests().len(), 4);
    let owner_code = twilio_message_code(&provider.last(), N);
    let staged = holders(&app, N, true).await;
    assert_eq!(staged.len(), 3, "{staged:?}");
    assert!(staged.iter().all(|h| h.phone_number.is_none()));
    let re_staged: Vec<&Holder> = staged.iter().filter(|h| h.id == placeholder).collect();
    assert_eq!(re_staged[0].display_name, "Owner");
    if squat_code != owner_code {
        verify(&app, N, &squat_code)
            .await
            .assert_error(400, "invalid-otp");
    }
    let r = verify(&app, N, &owner_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["id"], json!(placeholder));
    assert_eq!(user["displayName"], json!("Owner"));
    assert_eq!(user["locale"], json!("en"), "the squatter's locale is gone");
    assert!(
        user["metadata"].is_null() || user["metadata"] == json!({}),
        "the squatter's metadata is gone: {}",
        user["metadata"]
    );

    // The squatters' own codes now meet an owned number: 409, nothing moves.
    verify(&app, N, &anon_code)
        .await
        .assert_error(409, "user-already-exists");
    confirm(&app, &change_token, N, &change_code)
        .await
        .assert_error(409, "user-already-exists");
    let row = query_one(
        &app,
        &format!(
            "SELECT is_anonymous AND phone_number IS NULL FROM auth.users WHERE id = '{anon_id}'"
        ),
    )
    .await;
    assert!(row.get::<_, bool>(0), "the anonymous user keeps nothing");
    let row = query_one(
        &app,
        &format!("SELECT phone_number IS NULL FROM auth.users WHERE id = '{changer}'"),
    )
    .await;
    assert!(row.get::<_, bool>(0), "the change did not take the number");
    let owners: Vec<Uuid> = holders(&app, N, true)
        .await
        .into_iter()
        .filter(|h| h.phone_number.is_some())
        .map(|h| h.id)
        .collect();
    assert_eq!(owners, vec![placeholder]);
}

/// Level 18, v0.42 contract: a placeholder written to `phone_number` by someone who
/// cannot receive the code does not make the sign-up route answer "known number": the
/// owner gets a code and the placeholder, with their profile.
#[tokio::test]
async fn squatter_does_not_block_the_owner_at_level_18() {
    let provider = FakeProvider::start().await;
    let app = app_at_18(&provider, &[LOCALES]).await;
    let r = sign_in(
        &app,
        N,
        json!({"displayName": "Squatter", "metadata": {"evil": true}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let squat_code = twilio_message_code(&provider.last(), N);
    let r = sign_up(&app, N, json!({"displayName": "Owner", "locale": "fr"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.requests().len(), 2, "the owner gets a code");
    let owner_code = twilio_message_code(&provider.last(), N);
    let rows = holders(&app, N, false).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].display_name, "Owner");
    if squat_code != owner_code {
        verify(&app, N, &squat_code)
            .await
            .assert_error(400, "invalid-request");
    }
    let r = verify(&app, N, &owner_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["id"], json!(rows[0].id));
    assert_eq!(user["displayName"], json!("Owner"));
    assert_eq!(user["locale"], json!("fr"));
    assert!(user["metadata"].is_null() || user["metadata"] == json!({}));
    // Owned now: the sign-up route sends nothing more.
    let r = sign_up(&app, N, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.requests().len(), 2);
}

/// Two placeholders staging one number (a concurrent request, or rows 0.52 left): a
/// code binds only its own row; once one owns the number the other's code is refused
/// (409) and it is swept when expired.
#[tokio::test]
async fn two_staged_sign_ups_of_one_number_bind_only_their_own_code() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052]).await;
    let r = sign_up(&app, N, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ours = twilio_message_code(&provider.last(), N);
    let first = holders(&app, N, true).await[0].id;
    let theirs = wrong_codes(&ours, 1).remove(0);
    let second = insert_staged(&app, N, &theirs, "5 minutes", "").await;

    let r = verify(&app, N, &theirs).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(second));
    verify(&app, N, &ours)
        .await
        .assert_error(409, "user-already-exists");
    let rows = holders(&app, N, true).await;
    let left: Vec<&Holder> = rows.iter().filter(|h| h.id == first).collect();
    assert_eq!(left[0].phone_number, None, "the other row owns nothing");
    assert_eq!(left[0].new_phone_number.as_deref(), Some(N));

    // A sign-in now codes the owner; the leftover row goes once its code expired.
    app.sql(&format!(
        "UPDATE auth.users SET otp_hash_expires_at = now() - interval '1 second' WHERE id = '{first}'"
    ))
    .await;
    let r = sign_in(&app, N, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!exists(&app, first).await, "expired placeholder swept");
    let code = twilio_message_code(&provider.last(), N);
    let r = verify(&app, N, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(second));
    assert_eq!(user_count(&app).await, 1);
}

/// Concurrent sign-ups of one number: whatever rows they make, the number ends with one
/// owner and no code completes a second account.
#[tokio::test]
async fn concurrent_sign_ups_of_one_number_end_with_one_owner() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052]).await;
    let (a, b) = tokio::join!(sign_up(&app, N, json!({})), sign_up(&app, N, json!({})));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(b.status, 200, "{}", b.text);
    let codes: Vec<String> = provider
        .requests()
        .iter()
        .map(|r| twilio_message_code(r, N))
        .collect();
    assert_eq!(codes.len(), 2);
    let mut accepted = 0;
    for code in &codes {
        let r = verify(&app, N, code).await;
        match r.status.as_u16() {
            200 => accepted += 1,
            400 => r.assert_error(400, "invalid-otp"),
            _ => r.assert_error(409, "user-already-exists"),
        }
    }
    assert_eq!(accepted, 1, "one code completes the sign-up");
    let owners = holders(&app, N, true)
        .await
        .into_iter()
        .filter(|h| h.phone_number.is_some())
        .count();
    assert_eq!(owners, 1);
}

/// Wrong, burned and expired codes of a staged sign-up (0.52 contract), counted on the
/// staged row.
#[tokio::test]
async fn staged_sign_up_codes_wrong_burned_and_expired() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052]).await;
    sign_up(&app, N, json!({})).await;
    let code = twilio_message_code(&provider.last(), N);
    let wrong = wrong_codes(&code, 5);
    for w in &wrong[..4] {
        verify(&app, N, w).await.assert_error(400, "invalid-otp");
    }
    let attempts: i16 = query_one(&app, "SELECT otp_attempts FROM auth.users")
        .await
        .get(0);
    assert_eq!(attempts, 4);
    verify(&app, N, &wrong[4])
        .await
        .assert_error(400, "otp-too-many-attempts");
    verify(&app, N, &code)
        .await
        .assert_error(400, "otp-too-many-attempts");
    let row = query_one(
        &app,
        "SELECT phone_number IS NULL, otp_hash IS NULL FROM auth.users",
    )
    .await;
    assert!(row.get::<_, bool>(0), "a burned code promotes nothing");
    assert!(row.get::<_, bool>(1), "burned");

    // A new request starts over; an expired code is refused.
    sign_in(&app, N, json!({})).await;
    let code = twilio_message_code(&provider.last(), N);
    let attempts: i16 = query_one(&app, "SELECT otp_attempts FROM auth.users")
        .await
        .get(0);
    assert_eq!(attempts, 0);
    app.sql("UPDATE auth.users SET otp_hash_expires_at = now() - interval '1 second'")
        .await;
    verify(&app, N, &code)
        .await
        .assert_error(400, "invalid-otp");
    assert_eq!(user_count(&app).await, 1);
    sign_in(&app, N, json!({})).await;
    let code = twilio_message_code(&provider.last(), N);
    let r = verify(&app, N, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(user_count(&app).await, 1);
}

/// The sweep deletes expired never-used staged sign-ups only: not a live one, not a
/// disabled one (kept for an administrator), and never an account (seen, with a
/// password, a session, a verified number, a pending change); expired deanonymisations
/// are released, the anonymous user kept.
#[tokio::test]
async fn sweep_deletes_expired_placeholders_and_never_an_account() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052, ANON, NO_VERIFY]).await;
    let number = |i: u32| format!("+336555555{i:02}");
    sign_up(&app, &number(1), json!({})).await;
    let expired_code = twilio_message_code(&provider.last(), &number(1));
    let expired = holders(&app, &number(1), true).await[0].id;
    sign_up(&app, &number(2), json!({})).await;
    let live = holders(&app, &number(2), true).await[0].id;
    let past = "-1 minute";
    let disabled = insert_staged(&app, &number(3), "111111", past, "disabled = true").await;
    let seen = insert_staged(&app, &number(4), "111111", past, "last_seen = now()").await;
    let password = insert_staged(
        &app,
        &number(5),
        "111111",
        past,
        "password_hash = public.crypt('pw', public.gen_salt('bf'))",
    )
    .await;
    let session = insert_staged(&app, &number(6), "111111", past, "").await;
    app.sql(&format!(
        "INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, expires_at) \
         VALUES ('{session}', 'h', now() + interval '1 day')"
    ))
    .await;
    let (anon_token, _, anon) = anonymous(&app).await;
    let anon = Uuid::parse_str(&anon).expect("uuid");
    let r = app
        .post_auth(
            "/user/deanonymize/sms",
            &anon_token,
            json!({"phoneNumber": number(7)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (changer, token) = email_user(&app, "changer@example.com").await;
    assert_eq!(change(&app, &token, &number(8)).await.status, 200);
    sign_up(&app, &number(9), json!({})).await;
    let code = twilio_message_code(&provider.last(), &number(9));
    let r = verify(&app, &number(9), &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let owner = holders(&app, &number(9), true).await[0].id;
    app.sql(&format!(
        "UPDATE auth.users SET otp_hash_expires_at = now() - interval '1 minute' \
         WHERE id IN ('{expired}', '{anon}', '{changer}', '{owner}')"
    ))
    .await;
    let before = user_count(&app).await;

    // Any SMS code request sweeps.
    let r = sign_in(&app, &number(10), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!exists(&app, expired).await, "expired placeholder deleted");
    for (what, id) in [
        ("live", live),
        ("disabled", disabled),
        ("seen", seen),
        ("password", password),
        ("session", session),
        ("anonymous", anon),
        ("changing", changer),
        ("owner", owner),
    ] {
        assert!(exists(&app, id).await, "{what} kept");
    }
    assert_eq!(user_count(&app).await, before - 1 + 1, "one gone, one new");
    let row = query_one(
        &app,
        &format!(
            "SELECT new_phone_number IS NULL AND pending_sms_deanonymize_options IS NULL \
               AND is_anonymous FROM auth.users WHERE id = '{anon}'"
        ),
    )
    .await;
    assert!(row.get::<_, bool>(0), "deanonymisation released");
    let row = query_one(
        &app,
        &format!("SELECT new_phone_number FROM auth.users WHERE id = '{changer}'"),
    )
    .await;
    assert_eq!(row.get::<_, Option<String>>(0), Some(number(8)));
    verify(&app, &number(1), &expired_code)
        .await
        .assert_error(400, "invalid-otp");
    // The deleted placeholder's number is free: a new sign-up completes.
    sign_up(&app, &number(1), json!({})).await;
    let code = twilio_message_code(&provider.last(), &number(1));
    assert_eq!(verify(&app, &number(1), &code).await.status, 200);
}

/// Hostile input on the staging routes: nothing is sent, staged or promoted by it, and
/// text is stored as text.
#[tokio::test]
async fn staging_routes_refuse_hostile_input() {
    let provider = FakeProvider::start().await;
    let app = twilio_app(&provider, &[V052]).await;
    for bad in [
        "'); DELETE FROM auth.users; --",
        "<script>alert(1)</script>",
        "",
        "+",
        "0612",
    ] {
        sign_up(&app, bad, json!({}))
            .await
            .assert_error(400, "cannot-send-sms");
    }
    for body in [
        json!([N]),
        json!("+33644444444"),
        json!({"phoneNumber": 33644444444u64}),
        json!({"phoneNumber": N, "options": {"displayName": 5}}),
        json!({"phoneNumber": N, "options": {"metadata": "x"}}),
        json!({"phoneNumber": N, "options": {"defaultRole": "admin"}}),
        json!({"phoneNumber": N, "extra": 1}),
    ] {
        let r = app.post(SIGNUP, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    let r = app
        .post_raw(SIGNUP, "{\"phoneNumber\":", "application/json")
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let huge = format!(
        "{{\"phoneNumber\":\"{N}\",\"options\":{{\"displayName\":\"{}\"}}}}",
        "x".repeat(300 * 1024)
    );
    let r = app.post_raw(SIGNUP, huge, "application/json").await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(provider.requests().is_empty(), "nothing sent");
    assert_eq!(user_count(&app).await, 0, "nothing staged");

    // Markup in a display name is refused before anything is staged (the contract's
    // pattern); SQL and markup in metadata are kept as text.
    let r = sign_up(&app, N, json!({"displayName": "<b>x</b>"})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(user_count(&app).await, 0);
    let note = "'); DROP TABLE auth.users; --<script>alert(1)</script>";
    let r = sign_up(&app, N, json!({"metadata": {"note": note}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = twilio_message_code(&provider.last(), N);
    for body in [
        json!({"phoneNumber": N, "otp": "' OR '1'='1"}),
        json!({"phoneNumber": N, "otp": code.parse::<u64>().unwrap_or(1)}),
        json!({"phoneNumber": N, "otp": "1".repeat(10_000)}),
        json!({"phoneNumber": [N], "otp": code}),
        json!([N, code]),
    ] {
        let r = app.post("/signin/passwordless/sms/otp", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    let staged = holders(&app, N, true).await;
    assert_eq!(staged.len(), 1);
    assert_eq!(staged[0].phone_number, None, "nothing promoted");
    let r = verify(&app, N, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["metadata"]["note"], json!(note));
}

/// Take-over: the v27 fixture's Dora signed up by SMS under Nhost Auth 0.52 and never
/// entered her code (expired). The first SMS request after the hand-over sweeps her
/// placeholder; her number is free and a new sign-up for it completes with us. A live
/// row 0.52 staged is re-staged (same row) by a retry and completes.
#[tokio::test]
async fn rows_staged_by_0_52_are_swept_or_re_staged_after_take_over() {
    const DORA: &str = "44444444-4444-4444-8444-444444444444";
    const DORA_PHONE: &str = "+33611111111";
    let provider = FakeProvider::start().await;
    let db = crate::support::db::TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v27.sql"))
        .await
        .expect("load upstream v27 fixture");
    let args = [
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=twilio".to_owned(),
        "--sms-twilio-account-sid=ACtest".to_owned(),
        "--sms-twilio-auth-token=tw-secret".to_owned(),
        "--sms-twilio-messaging-service-id=MGtest".to_owned(),
        format!("--sms-twilio-api-url={}", provider.base),
        V052.to_owned(),
        ANON.to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let app = TestApp::with_db(db, &args).await;
    let dora = Uuid::parse_str(DORA).expect("uuid");
    assert!(exists(&app, dora).await);
    let before = user_count(&app).await;

    let r = sign_up(&app, DORA_PHONE, json!({"displayName": "Dora"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!exists(&app, dora).await, "expired 0.52 placeholder swept");
    let anon_kept: bool = query_one(
        &app,
        "SELECT pending_sms_deanonymize_options IS NOT NULL FROM auth.users \
         WHERE id = '22222222-2222-4222-8222-222222222222'",
    )
    .await
    .get(0);
    assert!(
        anon_kept,
        "a staged deanonymisation without code is not a sign-up"
    );
    let code = twilio_message_code(&provider.last(), DORA_PHONE);
    let r = verify(&app, DORA_PHONE, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["displayName"], json!("Dora"));
    assert_eq!(user_count(&app).await, before);

    // A live row 0.52 staged: a retry re-stages it, the 0.52 code is void, ours works.
    let live = insert_staged(&app, N, "123456", "5 minutes", "otp_attempts = 2").await;
    let r = sign_in(&app, N, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = twilio_message_code(&provider.last(), N);
    let rows = holders(&app, N, true).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, live);
    let attempts: i16 = query_one(
        &app,
        &format!("SELECT otp_attempts FROM auth.users WHERE id = '{live}'"),
    )
    .await
    .get(0);
    assert_eq!(attempts, 0, "a new code starts a new count");
    if code != "123456" {
        verify(&app, N, "123456")
            .await
            .assert_error(400, "invalid-otp");
    }
    let r = verify(&app, N, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(live));
}

/// Level 24 (0.52's column, not yet its data move nor index; the deanonymisation
/// options in our schema): Erin's v0.42-style placeholder in `phone_number` is
/// re-staged for the number's owner; a new sign-up is staged in `new_phone_number`, a
/// retry re-stages it and an expired one is swept; Fred (with a session) is an account.
#[tokio::test]
async fn staging_at_level_24() {
    const ERIN: &str = "55555555-5555-4555-8555-555555555555";
    const FRED: &str = "66666666-6666-4666-8666-666666666666";
    let provider = FakeProvider::start().await;
    let db = crate::support::db::TestDb::empty().await;
    let client = db.client().await;
    for fixture in [
        include_str!("../fixtures/upstream/v18.sql"),
        include_str!("../fixtures/upstream/v22.sql"),
        include_str!("../fixtures/upstream/v24.sql"),
    ] {
        client.batch_execute(fixture).await.expect("load fixture");
    }
    drop(client);
    let args = [
        "--sms-passwordless-enabled=true".to_owned(),
        "--sms-provider=twilio".to_owned(),
        "--sms-twilio-account-sid=ACtest".to_owned(),
        "--sms-twilio-auth-token=tw-secret".to_owned(),
        "--sms-twilio-messaging-service-id=MGtest".to_owned(),
        format!("--sms-twilio-api-url={}", provider.base),
        V052.to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let app = TestApp::with_db(db, &args).await;
    let version: i64 = query_one(&app, "SELECT version FROM auth.schema_migrations")
        .await
        .get(0);
    assert_eq!(version, 24);

    // Erin's number: her never-used row is re-staged for the caller, who completes it.
    let r = sign_up(&app, "+33622222222", json!({"displayName": "Owner"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = twilio_message_code(&provider.last(), "+33622222222");
    let r = verify(&app, "+33622222222", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(ERIN));
    assert_eq!(r.body["session"]["user"]["displayName"], json!("Owner"));
    // Fred holds a session: his number is known, the sign-up route sends nothing.
    let sent = provider.requests().len();
    let r = sign_up(&app, "+33633333333", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(provider.requests().len(), sent);
    let fred = Uuid::parse_str(FRED).expect("uuid");

    // A new number is staged; a retry re-stages the same row; its code promotes it.
    sign_up(&app, N, json!({})).await;
    let first = holders(&app, N, true).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].phone_number, None);
    sign_in(&app, N, json!({})).await;
    let code = twilio_message_code(&provider.last(), N);
    let again = holders(&app, N, true).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    let r = verify(&app, N, &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], json!(first[0].id));

    // An expired staged sign-up is swept by the next request; Fred stays.
    let other = "+33655555511";
    sign_up(&app, other, json!({})).await;
    let stale = holders(&app, other, true).await[0].id;
    app.sql(&format!(
        "UPDATE auth.users SET otp_hash_expires_at = now() - interval '1 minute' \
         WHERE id IN ('{stale}', '{FRED}')"
    ))
    .await;
    sign_in(&app, "+33655555512", json!({})).await;
    assert!(!exists(&app, stale).await);
    assert!(exists(&app, fred).await);
}
