//! Security keys: adding more, the first-key exemption, duplicates, and keys stored in
//! upstream's format (registered by upstream, or read back by it).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use coset::{CborSerializable, CoseKey, KeyType, Label, iana};
use serde_json::json;

use crate::{
    access_token, app, authenticator, hasura_claims, passkey_signin, passkey_signup, sql_json,
    sql_rows,
};

/// The user handle a browser keeps for a credential created with upstream's options:
/// `user.id` (the UUID string) decoded as base64url.
pub fn upstream_user_handle(user_id: &str) -> Vec<u8> {
    B64.decode(user_id)
        .expect("a UUID string is valid base64url")
}

#[tokio::test]
async fn a_second_key_is_added_and_used() {
    let app = app(&[]).await;
    let mut first = authenticator();
    let session = passkey_signup(&app, &mut first, "two@example.com").await;
    let token = access_token(&session);
    let user_id = session["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let options = app.post_auth("/user/webauthn/add", &token, json!({})).await;
    assert_eq!(options.status, 200, "{}", options.text);
    assert_eq!(options.body["user"]["id"], user_id.as_str());
    assert_eq!(options.body["user"]["name"], "two@example.com");
    assert_eq!(
        options.body["excludeCredentials"],
        json!([{"type": "public-key", "id": first.credentials[0].id_b64(), "transports": ["internal"]}])
    );
    let mut second = authenticator();
    let credential = second.create(&options.body);
    let r = app
        .post_auth(
            "/user/webauthn/verify",
            &token,
            json!({"credential": credential, "nickname": "phone"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["nickname"], "phone");
    let key_id = r.body["id"].as_str().unwrap_or_default().to_owned();
    let row = sql_json(
        &app,
        &format!(
            "SELECT user_id::text, nickname, credential_id FROM auth.user_security_keys \
             WHERE id = '{key_id}'"
        ),
    )
    .await;
    assert_eq!(
        row,
        json!({"user_id": user_id, "nickname": "phone", "credential_id": second.credentials[0].id_b64()})
    );

    let options = app
        .post("/signin/webauthn", json!({"email": "two@example.com"}))
        .await;
    assert_eq!(
        options.body["allowCredentials"].as_array().map(Vec::len),
        Some(2)
    );
    let r = passkey_signin(&app, &mut second, Some("two@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = passkey_signin(&app, &mut first, None).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A third key without a nickname: none stored, none echoed.
    let options = app.post_auth("/user/webauthn/add", &token, json!({})).await;
    let mut third = authenticator();
    let credential = third.create(&options.body);
    let r = app
        .post_auth(
            "/user/webauthn/verify",
            &token,
            json!({"credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("nickname").is_none(), "{}", r.body);
    let n = sql_json(
        &app,
        "SELECT count(*) AS n FROM auth.user_security_keys WHERE nickname IS NULL",
    )
    .await;
    assert_eq!(n["n"], 1);
}

#[tokio::test]
async fn a_first_key_needs_no_elevation_whatever_the_prefix() {
    let app = app(&["--require-elevated-claim=required", "--api-prefix=/v1"]).await;
    let session = app
        .post(
            "/v1/signup/email-password",
            json!({"email": "first@example.com", "password": "hunter22"}),
        )
        .await
        .body["session"]
        .clone();
    let token = access_token(&session);
    let options = app
        .post_auth("/v1/user/webauthn/add", &token, json!({}))
        .await;
    assert_eq!(options.status, 200, "{}", options.text);
    let mut auth = authenticator();
    let credential = auth.create(&options.body);
    let r = app
        .post_auth(
            "/v1/user/webauthn/verify",
            &token,
            json!({"credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Now the user has a key: adding another needs an elevated token.
    app.post_auth("/v1/user/webauthn/add", &token, json!({}))
        .await
        .assert_error(400, "elevated-claim-required");

    let options = app
        .post_auth("/v1/elevate/webauthn", &token, json!({}))
        .await;
    let assertion = auth.get(&options.body);
    let r = app
        .post_auth(
            "/v1/elevate/webauthn/verify",
            &token,
            json!({"credential": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let elevated = access_token(&r.body["session"]);
    assert!(hasura_claims(&elevated)["x-hasura-auth-elevated"].is_string());
    let r = app
        .post_auth("/v1/user/webauthn/add", &elevated, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_add_key_ceremony_belongs_to_its_user() {
    let app = app(&[]).await;
    let a = app.signup("a@example.com", "hunter22").await;
    let b = app.signup("b@example.com", "hunter22").await;
    let options = app
        .post_auth("/user/webauthn/add", &access_token(&a), json!({}))
        .await;
    let mut auth = authenticator();
    let credential = auth.create(&options.body);
    app.post_auth(
        "/user/webauthn/verify",
        &access_token(&b),
        json!({"credential": credential}),
    )
    .await
    .assert_error(400, "invalid-request");
    let r = app
        .post_auth(
            "/user/webauthn/verify",
            &access_token(&a),
            json!({"credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_credential_registered_twice_is_refused_not_a_500() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    let a = passkey_signup(&app, &mut auth, "a@example.com").await;

    // The same authenticator credential presented for another user.
    let b = app.signup("b@example.com", "hunter22").await;
    let options = app
        .post_auth("/user/webauthn/add", &access_token(&b), json!({}))
        .await;
    let credential = auth.attest(0, &options.body);
    app.post_auth(
        "/user/webauthn/verify",
        &access_token(&b),
        json!({"credential": credential}),
    )
    .await
    .assert_error(400, "invalid-request");

    // ... and for a new passkey user.
    let options = app
        .post("/signup/webauthn", json!({"email": "c@example.com"}))
        .await;
    let credential = auth.attest(0, &options.body);
    app.post("/signup/webauthn/verify", json!({"credential": credential}))
        .await
        .assert_error(400, "invalid-request");
    let users = sql_json(&app, "SELECT count(*) AS n FROM auth.users").await;
    assert_eq!(users["n"], 2, "no user left behind");

    // ... and again for its owner, although it is in excludeCredentials.
    let options = app
        .post_auth("/user/webauthn/add", &access_token(&a), json!({}))
        .await;
    let credential = auth.attest(0, &options.body);
    app.post_auth(
        "/user/webauthn/verify",
        &access_token(&a),
        json!({"credential": credential}),
    )
    .await
    .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn keys_stored_by_upstream_keep_working() {
    let app = app(&[]).await;
    let session = app.signup("old@example.com", "hunter22").await;
    let user_id = session["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // A passkey registered under upstream: the browser kept user.id decoded as
    // base64url; upstream stored the id, the COSE key and a nickname, nothing else.
    let mut auth = authenticator();
    let i = auth.make_credential("localhost", upstream_user_handle(&user_id));
    let pk_hex = hex::encode(auth.credentials[i].cose_key());
    app.sql(&format!(
        "INSERT INTO auth.user_security_keys (user_id, credential_id, credential_public_key, nickname) \
         VALUES ('{user_id}', '{}', '\\x{pk_hex}', 'yubikey')",
        auth.credentials[i].id_b64()
    ))
    .await;

    let options = app
        .post("/signin/webauthn", json!({"email": "old@example.com"}))
        .await;
    assert_eq!(
        options.body["allowCredentials"],
        json!([{"type": "public-key", "id": auth.credentials[i].id_b64()}])
    );
    let r = passkey_signin(&app, &mut auth, Some("old@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = passkey_signin(&app, &mut auth, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], user_id.as_str());

    // Elevation with it.
    let token = access_token(&session);
    let options = app.post_auth("/elevate/webauthn", &token, json!({})).await;
    let assertion = auth.get(&options.body);
    let r = app
        .post_auth(
            "/elevate/webauthn/verify",
            &token,
            json!({"credential": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The counter is kept and the flags seen at first use are remembered.
    let rows = sql_rows(
        &app,
        "SELECT k.counter, k.transports, f.user_verified, f.backup_eligible \
         FROM auth.user_security_keys k \
         JOIN hasura_auth.webauthn_credentials f USING (credential_id)",
    )
    .await;
    assert_eq!(
        rows,
        vec![
            json!({"counter": 3, "transports": "", "user_verified": true, "backup_eligible": false})
        ]
    );
}

#[tokio::test]
async fn unusable_stored_keys_are_refused_not_a_500() {
    let app = app(&[]).await;
    let session = app.signup("ed@example.com", "hunter22").await;
    let user_id = session["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // An Ed25519 key (upstream accepts it; our library cannot verify it) and garbage.
    let ed = coset::CoseKeyBuilder::new_okp_key()
        .param(
            iana::OkpKeyParameter::Crv as i64,
            coset::cbor::value::Value::from(iana::EllipticCurve::Ed25519 as u64),
        )
        .param(
            iana::OkpKeyParameter::X as i64,
            coset::cbor::value::Value::Bytes(vec![7u8; 32]),
        )
        .algorithm(iana::Algorithm::EdDSA)
        .build()
        .to_vec()
        .expect("encodes");
    app.sql(&format!(
        "INSERT INTO auth.user_security_keys (user_id, credential_id, credential_public_key) VALUES \
         ('{user_id}', 'AAAA', '\\x{}'), ('{user_id}', 'BBBB', '\\xdeadbeef')",
        hex::encode(ed)
    ))
    .await;
    app.post("/signin/webauthn", json!({"email": "ed@example.com"}))
        .await
        .assert_error(400, "invalid-request");
    app.post_auth("/elevate/webauthn", &access_token(&session), json!({}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn keys_we_store_read_as_upstream_reads_them() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    passkey_signup(&app, &mut auth, "new@example.com").await;
    let row = sql_json(
        &app,
        "SELECT credential_id, encode(credential_public_key, 'hex') AS pk FROM auth.user_security_keys",
    )
    .await;
    // Upstream decodes the id with base64.RawURLEncoding ...
    let id = B64
        .decode(row["credential_id"].as_str().unwrap_or_default())
        .expect("base64url without padding");
    assert_eq!(id, auth.credentials[0].id);
    // ... and parses the COSE key (here with an independent COSE implementation).
    let pk = hex::decode(row["pk"].as_str().unwrap_or_default()).expect("hex");
    let key = CoseKey::from_slice(&pk).expect("a COSE_Key");
    assert_eq!(key.kty, KeyType::Assigned(iana::KeyType::EC2));
    assert_eq!(
        key.alg,
        Some(coset::Algorithm::Assigned(iana::Algorithm::ES256))
    );
    assert!(
        key.params
            .iter()
            .any(|(l, _)| *l == Label::Int(iana::Ec2KeyParameter::X as i64))
    );
}
