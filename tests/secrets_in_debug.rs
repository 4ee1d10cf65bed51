//! No secret reaches `Debug` (and so no log line that formats a value): every response
//! type that carries one, and the parsed request secrets, are formatted with `{:?}` while
//! holding a marker, which must not appear.

use hasura_auth::domain::OneTimeCode;
use hasura_auth::service::mfa::TotpSetup;
use hasura_auth::service::oauth::{CallbackOutcome, ProviderCallback, ProviderSession};
use hasura_auth::service::pat::CreatedPat;
use hasura_auth::service::session::{Session, SessionPayload};
use hasura_auth::service::signin::MfaChallenge;
use hasura_auth::service::tickets::{Ticket, TicketKind, issue};
use hasura_auth::tokens::refresh::RefreshToken;
use hasura_auth::tokens::secret::Redacted;

/// Looks like a token (contains a UUID) so that the parsers accept it.
const MARKER: &str = "m4rk3r-0b5e1c9a-5d2f-4a8e-9c3b-7f6e5d4c3b2a";

fn marker() -> Redacted {
    Redacted::new(MARKER)
}

#[track_caller]
fn assert_hidden(what: &str, debug: String) {
    assert!(
        !debug.contains("m4rk3r"),
        "{what} shows a secret in Debug: {debug}"
    );
}

#[test]
fn response_types_hide_their_secrets() {
    let session = || Session {
        access_token: marker(),
        access_token_expires_in: 900,
        refresh_token: marker(),
        refresh_token_id: uuid::Uuid::nil(),
        user: None,
    };
    assert_hidden("Session", format!("{:?}", session()));
    assert_hidden(
        "SessionPayload",
        format!(
            "{:?}",
            SessionPayload {
                session: Some(session())
            }
        ),
    );
    assert_hidden(
        "CreatedPat",
        format!(
            "{:?}",
            CreatedPat {
                id: uuid::Uuid::nil(),
                personal_access_token: marker(),
            }
        ),
    );
    assert_hidden(
        "TotpSetup",
        format!(
            "{:?}",
            TotpSetup {
                image_url: marker(),
                totp_secret: marker(),
            }
        ),
    );
    assert_hidden(
        "MfaChallenge",
        format!("{:?}", MfaChallenge { ticket: marker() }),
    );
    assert_hidden(
        "ProviderSession",
        format!(
            "{:?}",
            ProviderSession {
                access_token: marker(),
                expires_in: 0,
                expires_at: String::new(),
                refresh_token: Some(marker()),
            }
        ),
    );
}

#[test]
fn provider_callbacks_hide_codes_and_tokens() {
    let callback = ProviderCallback {
        provider: "github".into(),
        state: MARKER.into(),
        code: Some(MARKER.into()),
        id_token: Some(MARKER.into()),
        oauth_token: Some(MARKER.into()),
        oauth_verifier: Some(MARKER.into()),
        user: Some(MARKER.into()),
        ..Default::default()
    };
    assert_hidden("ProviderCallback", format!("{callback:?}"));
    let outcome = CallbackOutcome {
        target: url::Url::parse("https://app.example/landing?x=1").expect("url"),
        params: vec![("refreshToken", MARKER.to_owned())],
        error: None,
    };
    assert_hidden("CallbackOutcome", format!("{outcome:?}"));
}

#[test]
fn presented_tokens_hide_themselves() {
    let token = RefreshToken::parse(MARKER.to_owned()).expect("a token with a UUID parses");
    assert_hidden("RefreshToken", format!("{token:?}"));
    let body: Result<RefreshToken, _> = serde_json::from_str(&format!("\"{MARKER}\""));
    assert_hidden("parsed RefreshToken", format!("{body:?}"));
    let code: OneTimeCode = serde_json::from_str("\"m4rk3r\"").expect("a code parses");
    assert_hidden("OneTimeCode", format!("{code:?}"));
    let ticket = Ticket::presented(format!("passwordReset:{MARKER}"));
    assert_eq!(ticket.kind(), Some(TicketKind::PasswordReset));
    assert_hidden("Ticket", format!("{ticket:?}"));
    let issued = issue(TicketKind::VerifyEmail);
    let shown = format!("{issued:?}");
    assert!(
        !shown.contains(&issued.value) && !shown.contains(&issued.stored),
        "IssuedTicket shows itself: {shown}"
    );
}

/// Serialisation still shows them: the client must receive its tokens.
#[test]
fn responses_still_carry_the_secrets() {
    let json = serde_json::to_string(&CreatedPat {
        id: uuid::Uuid::nil(),
        personal_access_token: marker(),
    })
    .expect("json");
    assert!(json.contains(MARKER), "{json}");
}
