use serde_json::json;

use crate::support::app::TestApp;

/// Signs up with verification required and plants a ticket the way upstream stores it
/// (clear text), which we must keep accepting after a takeover.
async fn unverified_user_with_ticket(app: &TestApp, ticket: &str) {
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "v@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{ticket}', ticket_expires_at = now() + interval '1 hour'"
    ))
    .await;
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .expect("absolute location")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn verify_email_ticket_verifies_and_redirects_with_a_refresh_token() {
    let app = TestApp::spawn().await;
    let ticket = format!("verifyEmail:{}", uuid::Uuid::new_v4());
    unverified_user_with_ticket(&app, &ticket).await;
    let r = app
        .get(&format!(
            "/verify?ticket={ticket}&type=emailVerify&redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fwelcome%3Ffrom%3Dmail"
        ))
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.location();
    assert!(
        location.starts_with("http://localhost:3000/welcome?"),
        "{location}"
    );
    let q = query_of(&location);
    let keys: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["from", "refreshToken", "type"]);
    assert_eq!(q[0].1, "mail");
    assert_eq!(q[2].1, "verifyEmail");
    let refreshed = app.post("/token", json!({"refreshToken": q[1].1})).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(refreshed.body["user"]["emailVerified"], true);

    // Single use.
    let again = app
        .get(&format!(
            "/verify?ticket={ticket}&redirectTo=http://localhost:3000"
        ))
        .await;
    let q = query_of(&again.location());
    assert!(
        q.contains(&("error".to_owned(), "invalid-ticket".to_owned())),
        "{q:?}"
    );
}

#[tokio::test]
async fn verify_expired_or_unknown_tickets_redirect_with_an_error() {
    let app = TestApp::spawn().await;
    let ticket = format!("verifyEmail:{}", uuid::Uuid::new_v4());
    unverified_user_with_ticket(&app, &ticket).await;
    app.sql("UPDATE auth.users SET ticket_expires_at = now() - interval '1 second'")
        .await;
    for t in [
        ticket.as_str(),
        "verifyEmail:00000000-0000-0000-0000-000000000000",
        "garbage",
    ] {
        let r = app
            .get(&format!(
                "/verify?ticket={t}&redirectTo=http://localhost:3000/x"
            ))
            .await;
        assert_eq!(r.status, 302);
        let q = query_of(&r.location());
        assert!(
            q.contains(&("error".to_owned(), "invalid-ticket".to_owned())),
            "{q:?}"
        );
        assert!(
            q.contains(&("errorDescription".to_owned(), "Invalid ticket".to_owned())),
            "{q:?}"
        );
    }
}

#[tokio::test]
async fn verify_refuses_redirects_outside_the_allow_list() {
    let app = TestApp::spawn().await;
    let r = app
        .get("/verify?ticket=verifyEmail:x&redirectTo=https://evil.example.com/steal")
        .await;
    assert_eq!(r.status, 302);
    let location = r.location();
    assert!(
        location.starts_with("http://localhost:3000/?")
            || location.starts_with("http://localhost:3000?"),
        "{location}"
    );
    assert!(
        location.contains("error=redirectTo-not-allowed"),
        "{location}"
    );
}

#[tokio::test]
async fn verify_validates_its_parameters() {
    let app = TestApp::spawn().await;
    app.get("/verify?redirectTo=http://localhost:3000")
        .await
        .assert_error(400, "invalid-request");
    app.get("/verify?ticket=verifyEmail:x")
        .await
        .assert_error(400, "invalid-request");
    app.get("/verify?ticket=verifyEmail:x&redirectTo=not%20a%20url")
        .await
        .assert_error(400, "invalid-request");
    app.get("/verify?ticket=verifyEmail:x&redirectTo=http://localhost:3000&type=bogus")
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn verify_reports_disabled_users_and_conceals_when_asked() {
    let app = TestApp::spawn().await;
    let ticket = format!("verifyEmail:{}", uuid::Uuid::new_v4());
    unverified_user_with_ticket(&app, &ticket).await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    let r = app
        .get(&format!(
            "/verify?ticket={ticket}&redirectTo=http://localhost:3000"
        ))
        .await;
    assert!(
        r.location().contains("error=disabled-user"),
        "{}",
        r.location()
    );

    let app = TestApp::with(&["--conceal-errors"]).await;
    let r = app
        .get("/verify?ticket=verifyEmail:nope&redirectTo=http://localhost:3000")
        .await;
    assert!(
        r.location().contains("error=invalid-request"),
        "{}",
        r.location()
    );
}

#[tokio::test]
async fn a_stored_ticket_hash_cannot_be_replayed_as_a_ticket() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "h@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let stored: String = app
        .db
        .client()
        .await
        .query_one("SELECT ticket FROM auth.users", &[])
        .await
        .expect("row")
        .get(0);
    let r = app
        .get(&format!(
            "/verify?ticket={}&redirectTo=http://localhost:3000",
            url::form_urlencoded::byte_serialize(stored.as_bytes()).collect::<String>()
        ))
        .await;
    assert!(
        r.location().contains("error=invalid-ticket"),
        "{}",
        r.location()
    );
}
