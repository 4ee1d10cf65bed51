//! The multi-step flows, each step a request through HAProxy; every flow asserts that its
//! consecutive steps were served by different instances.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hasura_auth::domain::totp::TotpKey;
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::authenticator::Authenticator;
use crate::bed::{Bed, Hop};
use crate::provider::Recorded;
use crate::support::app::CLIENT_URL;

const PASSWORD: &str = "hunter22";
const WAIT: Duration = Duration::from_secs(20);

/// Consecutive hops were served by different instances (round-robin; a concurrent flow
/// of the long form may take a turn in between, so only "not the same" is required).
fn assert_spread(flow: &str, hops: &[&Hop]) {
    for pair in hops.windows(2) {
        assert!(
            !pair[0].served_by.is_empty(),
            "{flow}: no X-Served-By from HAProxy"
        );
        if crate::rounds() == 1 {
            assert_ne!(
                pair[0].served_by, pair[1].served_by,
                "{flow}: two consecutive steps on one instance"
            );
        }
    }
}

fn ok(flow: &str, hop: &Hop) {
    assert_eq!(
        hop.reply.status, 200,
        "{flow}: {} (served by {})",
        hop.reply.text, hop.served_by
    );
}

fn access(session: &Value) -> String {
    session["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token in {session}"))
        .to_owned()
}

/// The query of the redirect of a followed link.
fn redirect_query(hop: &Hop) -> std::collections::HashMap<String, String> {
    assert_eq!(
        hop.reply.status, 302,
        "{} ({})",
        hop.reply.text, hop.served_by
    );
    let location = hop.reply.location();
    url::Url::parse(&location)
        .unwrap_or_else(|e| panic!("{location}: {e}"))
        .query_pairs()
        .into_owned()
        .collect()
}

/// A header of the `n`-th email to `to`.
async fn email_header(bed: &Bed, to: &str, n: usize, header: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mine: Vec<_> = bed
            .smtp
            .messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect();
        if let Some(m) = mine.get(n) {
            return m
                .header(header)
                .unwrap_or_else(|| panic!("no {header} in {}", m.raw()));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email #{n} to {to}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sign_up(bed: &Bed, email: &str) -> (Hop, Value) {
    let hop = bed
        .post(
            "/signup/email-password",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    ok("sign-up", &hop);
    let session = hop.reply.body["session"].clone();
    assert!(session.is_object(), "{}", hop.reply.text);
    (hop, session)
}

/// OAuth (OpenID Connect with PKCE and a nonce): the start on one instance, the provider's
/// callback on another (the state lives in the database), the refresh token on a third.
pub async fn oauth_start_and_callback(bed: &Bed) {
    let start = bed.get("/signin/provider/oidc").await;
    assert_eq!(start.reply.status, 302, "start: {}", start.reply.text);
    // The provider's consent page redirects at once to the callback URL (through HAProxy:
    // AUTH_SERVER_URL is the balancer's).
    let at_idp = bed
        .http
        .get(start.reply.location())
        .send()
        .await
        .expect("provider");
    assert_eq!(at_idp.status(), 302, "provider");
    let authorize = bed.idp.last_authorize();
    assert_eq!(authorize["code_challenge_method"], "S256");
    assert!(authorize.contains_key("nonce"));
    let callback_url = at_idp.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(callback_url.starts_with(&bed.base), "{callback_url}");
    let callback = bed.get(&callback_url).await;
    let q = redirect_query(&callback);
    assert!(!q.contains_key("error"), "{q:?}");
    let token = bed
        .post("/token", json!({"refreshToken": q["refreshToken"]}))
        .await;
    ok("token after oauth", &token);
    assert_eq!(token.reply.body["user"]["email"], "kim@idp.test");
    assert_spread("oauth", &[&start, &callback, &token]);
}

/// Sign-up on one instance, the verification email asked on another, its link followed
/// on a third: the address is verified.
pub async fn email_verification_link(bed: &Bed, tag: &str) {
    let email = format!("verify-{tag}@example.com");
    let (signup, _) = sign_up(bed, &email).await;
    let send = bed
        .post(
            "/user/email/send-verification-email",
            json!({"email": email}),
        )
        .await;
    ok("send verification", &send);
    let link = email_header(bed, &email, 0, "X-Link").await;
    let follow = bed.get(&link).await;
    let q = redirect_query(&follow);
    assert!(!q.contains_key("error"), "{q:?}");
    assert_eq!(q["type"], "verifyEmail", "{q:?}");
    assert_spread("email verification", &[&signup, &send, &follow]);
    let row = bed
        .db
        .client()
        .await
        .query_one(
            "SELECT email_verified FROM auth.users WHERE email = $1::text::citext",
            &[&email],
        )
        .await
        .expect("user");
    assert!(row.get::<_, bool>(0));
}

/// Reset asked on one instance, the link followed on another, the new password set on a
/// third, then used to sign in.
pub async fn password_reset_link(bed: &Bed, tag: &str) {
    let email = format!("reset-{tag}@example.com");
    sign_up(bed, &email).await;
    let ask = bed
        .post("/user/password/reset", json!({"email": email}))
        .await;
    ok("reset", &ask);
    let link = email_header(bed, &email, 0, "X-Link").await;
    let follow = bed.get(&link).await;
    let q = redirect_query(&follow);
    let refresh = q
        .get("refreshToken")
        .unwrap_or_else(|| panic!("{q:?}"))
        .clone();
    let token = bed.post("/token", json!({"refreshToken": refresh})).await;
    ok("token after reset link", &token);
    let change = bed
        .post_auth(
            "/user/password",
            &access(&token.reply.body),
            json!({"newPassword": "brand-new-pass"}),
        )
        .await;
    ok("new password", &change);
    let signin = bed
        .post(
            "/signin/email-password",
            json!({"email": email, "password": "brand-new-pass"}),
        )
        .await;
    ok("sign-in with the new password", &signin);
    assert_spread("password reset", &[&ask, &follow, &token, &change, &signin]);
}

/// Magic link asked on one instance, followed on another, its refresh token used on a third.
pub async fn magic_link(bed: &Bed, tag: &str) {
    let email = format!("magic-{tag}@example.com");
    let ask = bed
        .post("/signin/passwordless/email", json!({"email": email}))
        .await;
    ok("magic link", &ask);
    let link = email_header(bed, &email, 0, "X-Link").await;
    let follow = bed.get(&link).await;
    let q = redirect_query(&follow);
    let token = bed
        .post("/token", json!({"refreshToken": q["refreshToken"]}))
        .await;
    ok("token after magic link", &token);
    let user = bed.get_auth("/user", &access(&token.reply.body)).await;
    ok("user", &user);
    assert_eq!(user.reply.body["email"], email.as_str());
    assert_spread("magic link", &[&ask, &follow, &token, &user]);
}

/// The PKCE form: the code the link's redirect carries is exchanged on another instance.
pub async fn magic_link_pkce(bed: &Bed, tag: &str) {
    let email = format!("pkce-{tag}@example.com");
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let ask = bed
        .post(
            "/signin/passwordless/email",
            json!({"email": email, "codeChallenge": challenge}),
        )
        .await;
    ok("pkce magic link", &ask);
    let link = email_header(bed, &email, 0, "X-Link").await;
    let follow = bed.get(&link).await;
    let q = redirect_query(&follow);
    assert!(!q.contains_key("refreshToken"), "{q:?}");
    let exchange = bed
        .post(
            "/token/exchange",
            json!({"code": q["code"], "codeVerifier": verifier}),
        )
        .await;
    ok("token exchange", &exchange);
    let session = &exchange.reply.body["session"];
    let session = if session.is_object() {
        session.clone()
    } else {
        exchange.reply.body.clone()
    };
    let user = bed.get_auth("/user", &access(&session)).await;
    ok("user", &user);
    // The code is single use, on every instance.
    let again = bed
        .post(
            "/token/exchange",
            json!({"code": q["code"], "codeVerifier": verifier}),
        )
        .await;
    assert_ne!(again.reply.status, 200, "{}", again.reply.text);
    assert_spread("pkce", &[&ask, &follow, &exchange, &user, &again]);
}

/// Email one-time code asked on one instance, checked on another.
pub async fn email_otp(bed: &Bed, tag: &str) {
    let email = format!("otp-{tag}@example.com");
    let ask = bed.post("/signin/otp/email", json!({"email": email})).await;
    ok("email otp", &ask);
    let code = email_header(bed, &email, 0, "X-Ticket").await;
    let check = bed
        .post(
            "/signin/otp/email/verify",
            json!({"email": email, "otp": code}),
        )
        .await;
    ok("email otp verify", &check);
    assert!(
        check.reply.body["session"].is_object(),
        "{}",
        check.reply.text
    );
    assert_spread("email otp", &[&ask, &check]);
}

/// SMS code asked on one instance (sent through the local Twilio), checked on another.
pub async fn sms_otp(bed: &Bed, n: usize) {
    let phone = format!("+336123456{:02}", n % 100);
    let ask = bed
        .post("/signin/passwordless/sms", json!({"phoneNumber": phone}))
        .await;
    ok("sms otp", &ask);
    let sent: Vec<Recorded> = bed
        .sms
        .requests()
        .into_iter()
        .filter(|r| r.form().get("To") == Some(&phone))
        .collect();
    let last = sent.last().expect("an SMS to the number");
    let code = Recorded::code_in(&last.form()["Body"]);
    let check = bed
        .post(
            "/signin/passwordless/sms/otp",
            json!({"phoneNumber": phone, "otp": code}),
        )
        .await;
    ok("sms otp verify", &check);
    assert!(
        check.reply.body["session"].is_object(),
        "{}",
        check.reply.text
    );
    assert_spread("sms otp", &[&ask, &check]);
}

fn totp_code(secret: &str, offset: i64) -> String {
    let now = u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970");
    TotpKey::from_secret(secret)
        .expect("secret")
        .code_at(now.saturating_add_signed(offset * 30))
}

/// TOTP secret generated on one instance, activated on another; the password sign-in
/// then asks for the code, which a third instance checks.
pub async fn totp_activation_and_mfa_sign_in(bed: &Bed, tag: &str) {
    let email = format!("totp-{tag}@example.com");
    let (_, session) = sign_up(bed, &email).await;
    let token = access(&session);
    let generate = bed.get_auth("/mfa/totp/generate", &token).await;
    ok("totp generate", &generate);
    let secret = generate.reply.body["totpSecret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let activate = bed
        .post_auth(
            "/user/mfa",
            &token,
            json!({"code": totp_code(&secret, 0), "activeMfaType": "totp"}),
        )
        .await;
    ok("totp activate", &activate);
    let signin = bed
        .post(
            "/signin/email-password",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    ok("password sign-in", &signin);
    let ticket = signin.reply.body["mfa"]["ticket"]
        .as_str()
        .unwrap_or_else(|| panic!("an MFA challenge: {}", signin.reply.text))
        .to_owned();
    // The code of the next step: the current one was used for the activation (replays
    // are refused), and one step of skew is accepted.
    let mfa = bed
        .post(
            "/signin/mfa/totp",
            json!({"ticket": ticket, "otp": totp_code(&secret, 1)}),
        )
        .await;
    ok("mfa sign-in", &mfa);
    assert!(mfa.reply.body["session"].is_object(), "{}", mfa.reply.text);
    assert_spread("totp", &[&generate, &activate, &signin, &mfa]);
}

/// WebAuthn sign-up, sign-in and elevation: each ceremony's options come from one
/// instance and its verification goes to another (the challenge lives in the database).
pub async fn webauthn_ceremonies(bed: &Bed, tag: &str) {
    let email = format!("passkey-{tag}@example.com");
    let mut auth = Authenticator::new(CLIENT_URL);
    let options = bed.post("/signup/webauthn", json!({"email": email})).await;
    ok("webauthn sign-up options", &options);
    let credential = auth.create(&options.reply.body);
    let verify = bed
        .post(
            "/signup/webauthn/verify",
            json!({"credential": credential, "nickname": "laptop"}),
        )
        .await;
    ok("webauthn sign-up verify", &verify);
    let session = verify.reply.body["session"].clone();

    let options2 = bed.post("/signin/webauthn", json!({"email": email})).await;
    ok("webauthn sign-in options", &options2);
    let assertion = auth.get(&options2.reply.body);
    let signin = bed
        .post("/signin/webauthn/verify", json!({"credential": assertion}))
        .await;
    ok("webauthn sign-in verify", &signin);
    assert!(
        signin.reply.body["session"].is_object(),
        "{}",
        signin.reply.text
    );

    let token = access(&session);
    let options3 = bed.post_auth("/elevate/webauthn", &token, json!({})).await;
    ok("webauthn elevation options", &options3);
    let assertion = auth.get(&options3.reply.body);
    let elevate = bed
        .post_auth(
            "/elevate/webauthn/verify",
            &token,
            json!({"credential": assertion}),
        )
        .await;
    ok("webauthn elevation verify", &elevate);
    assert_spread(
        "webauthn",
        &[&options, &verify, &options2, &signin, &options3, &elevate],
    );
}

/// Refresh tokens rotate on every instance in turn; then eight refreshes of one token at
/// once (spread over the instances) all succeed within the reuse interval, and the
/// session stays usable.
pub async fn refresh_rotation_and_concurrent_refresh(bed: &Bed, tag: &str) {
    let email = format!("refresh-{tag}@example.com");
    let (first, session) = sign_up(bed, &email).await;
    let mut refresh = session["refreshToken"].clone();
    let mut hops = vec![first];
    for _ in 0..4 {
        let hop = bed.post("/token", json!({"refreshToken": refresh})).await;
        ok("refresh", &hop);
        assert_ne!(hop.reply.body["refreshToken"], refresh, "rotated");
        refresh = hop.reply.body["refreshToken"].clone();
        hops.push(hop);
    }
    let refs: Vec<&Hop> = hops.iter().collect();
    assert_spread("refresh rotation", &refs);

    let concurrent: Vec<Hop> = futures_util::future::join_all(
        (0..8).map(|_| bed.post("/token", json!({"refreshToken": refresh}))),
    )
    .await;
    let served: std::collections::HashSet<&str> =
        concurrent.iter().map(|h| h.served_by.as_str()).collect();
    assert!(
        served.len() > 1,
        "concurrent refreshes on several instances"
    );
    for hop in &concurrent {
        ok("concurrent refresh", hop);
    }
    // Reuse detection across instances: the concurrent refreshes share one successor.
    let latest = concurrent[0].reply.body["refreshToken"].clone();
    for hop in &concurrent {
        assert_eq!(hop.reply.body["refreshToken"], latest, "one successor");
    }
    let next = bed.post("/token", json!({"refreshToken": latest})).await;
    ok("refresh after the concurrent ones", &next);
}

/// Two sessions opened on different instances; sign-out of all from a third ends both.
pub async fn sign_out_everywhere(bed: &Bed, tag: &str) {
    let email = format!("signout-{tag}@example.com");
    let (one, first) = sign_up(bed, &email).await;
    let two = bed
        .post(
            "/signin/email-password",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    ok("second session", &two);
    let second = two.reply.body["session"].clone();
    let out = bed
        .post_auth("/signout", &access(&first), json!({"all": true}))
        .await;
    ok("sign-out all", &out);
    for (i, s) in [&first, &second].into_iter().enumerate() {
        let hop = bed
            .post("/token", json!({"refreshToken": s["refreshToken"]}))
            .await;
        assert_eq!(hop.reply.status, 401, "session {i}: {}", hop.reply.text);
    }
    assert_spread("sign-out", &[&one, &two, &out]);
}
