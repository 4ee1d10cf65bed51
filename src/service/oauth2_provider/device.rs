//! The device authorization grant (RFC 8628), for clients that cannot open a browser
//! (CLIs, TVs): the shape of Nhost's unreleased branch (reference §2.8) where it fits the
//! RFC.
//!
//! 1. `POST /oauth2/device`: the client (authenticated as at the token endpoint) gets a
//!    `device_code` (256 random bits, for itself) and a `user_code` (`XXXX-XXXX`, for the
//!    user to type at `verification_uri`), valid ten minutes, and a polling interval.
//! 2. The application's verification page reads the request
//!    (`GET /oauth2/device/verify?user_code=…`) and, with the signed-in user's access
//!    token, approves or denies it (`POST /oauth2/device/verify`): the consent contract
//!    of `/oauth2/login`, with the user code instead of a request id.
//! 3. The client polls `POST /oauth2/token` with
//!    `grant_type=urn:ietf:params:oauth:grant-type:device_code`: `authorization_pending`,
//!    `slow_down` (polled sooner than the interval, which then grows by five seconds),
//!    `access_denied`, `expired_token`, or the tokens of the code grant, once.
//!
//! User codes are eight letters of a 20-consonant alphabet without vowels (no words) nor
//! look-alikes (RFC 8628 §6.1): 20^8 ≈ 2.6·10^10 codes. Input is read case-insensitively,
//! dashes and spaces ignored. Guessing is bounded by the route's per-IP rate limit and by
//! a service-wide budget of unknown user codes ([`FailureBudget`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine;
use rand::Rng;
use serde::Serialize;

use super::clients::Credentials;
use super::error::{OAuth2Error, OAuth2ErrorCode};
use super::login::stored_hash;
use super::tokens::{
    GRANT_DEVICE_CODE, Grant, TokenRequest, TokenResponse, hasura_roles, inactive, new_token,
    token_hash, usable,
};
use super::{OAuth2Provider, scopes};
use crate::db::oauth2_device as sql;
use crate::db::users::UserRow;
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::user_check::Tolerate;
use crate::tokens::VerifiedToken;
use crate::tokens::secret::Redacted;

/// Lifetime of a device authorization (the branch's `expires_in`): ten minutes.
pub const DEVICE_CODE_TTL_SECS: i64 = 600;
/// The polling interval handed out, seconds (RFC 8628 §3.2's default).
pub const POLL_INTERVAL_SECS: i32 = 5;
/// What a `slow_down` adds to a code's interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: i32 = 5;
/// The user-code alphabet: consonants only, without look-alikes (RFC 8628 §6.1).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code (shown as two groups of four).
pub const USER_CODE_LEN: usize = 8;
/// Unknown user codes the service answers per [`FAILURE_WINDOW`] before refusing every
/// lookup until the window ends.
pub const FAILURE_BUDGET: u32 = 60;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The longest `scope` accepted.
const MAX_SCOPE_LEN: usize = 4096;

/// A fresh user code from the operating system's CSPRNG, as shown: `XXXX-XXXX`.
pub fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut code = String::with_capacity(USER_CODE_LEN + 1);
    for i in 0..USER_CODE_LEN {
        if i == USER_CODE_LEN / 2 {
            code.push('-');
        }
        // gen_range is uniform: no modulo bias.
        code.push(char::from(
            USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())],
        ));
    }
    code
}

/// A user code as typed, in canonical form (eight letters of the alphabet, upper case),
/// or `None` when it cannot be one: case is ignored, and so are dashes and spaces.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A canonical user code as shown: `XXXX-XXXX`.
pub fn display_user_code(canonical: &str) -> String {
    let (a, b) = canonical.split_at(canonical.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// A fresh device code: 256 bits from the CSPRNG, base64url.
fn new_device_code() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The service-wide budget of unknown user codes: a fixed window, in memory (per
/// instance). Per-IP limits do not stop guesses spread over many addresses; this does,
/// at the price of refusing every lookup (429) for the rest of a window under attack.
pub struct FailureBudget {
    window: Mutex<(Instant, u32)>,
    budget: u32,
    length: Duration,
}

impl Default for FailureBudget {
    fn default() -> Self {
        FailureBudget::new(FAILURE_BUDGET, FAILURE_WINDOW)
    }
}

impl FailureBudget {
    pub fn new(budget: u32, length: Duration) -> FailureBudget {
        FailureBudget {
            window: Mutex::new((Instant::now(), 0)),
            budget,
            length,
        }
    }

    /// Whether the current window's budget is spent.
    fn exhausted(&self) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.0.elapsed() >= self.length {
            *w = (Instant::now(), 0);
        }
        w.1 >= self.budget
    }

    /// Counts one unknown user code.
    fn spend(&self) {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.0.elapsed() >= self.length {
            *w = (Instant::now(), 0);
        }
        w.1 = w.1.saturating_add(1);
    }
}

/// `POST /oauth2/device`'s answer (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: Redacted,
    pub user_code: Redacted,
    pub verification_uri: String,
    pub verification_uri_complete: Redacted,
    pub expires_in: i64,
    pub interval: i32,
}

/// `GET /oauth2/device/verify`'s answer: what the user is asked to approve.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingDevice {
    /// The authorization's row (what the built-in page binds its sign-in to).
    #[serde(skip)]
    pub id: uuid::Uuid,
    pub user_code: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// `POST /oauth2/device/verify`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDecision {
    pub user_code: String,
    pub client_id: String,
    /// `approved` or `denied`.
    pub status: &'static str,
}

fn invalid(message: &'static str) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
}

fn too_many() -> ApiError {
    ApiError::custom(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::InvalidRequest,
        "Too many unknown user codes, try again in a minute",
    )
}

impl OAuth2Provider {
    /// `POST /oauth2/device`: a new device authorization for the authenticated client.
    pub async fn device_authorization(
        &self,
        creds: &Credentials,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorization, OAuth2Error> {
        self.ensure_enabled()?;
        let verification_uri = self.settings.device_verify_url.as_str();
        if verification_uri.is_empty() {
            return Err(OAuth2Error::new(
                OAuth2ErrorCode::ServerError,
                "The device flow needs AUTH_OAUTH2_PROVIDER_DEVICE_VERIFY_URL or AUTH_CLIENT_URL",
            ));
        }
        if creds.client_id.is_none() {
            return Err(OAuth2Error::invalid_request("client_id is required"));
        }
        let client = self.authenticate_client(creds).await?;
        if scope.is_some_and(|s| s.len() > MAX_SCOPE_LEN) {
            return Err(OAuth2Error::invalid_request("scope is too long"));
        }
        let requested = scopes::parse(scope);
        scopes::check(&requested, client.scopes())?;

        let device_code = new_device_code();
        let device_hash = token_hash(&device_code);
        let db = self.db.get().await?;
        // A clash with a pending user code is one in billions: draw again.
        for _ in 0..4 {
            let user_code = new_user_code();
            let canonical = user_code.replace('-', "");
            let stored = sql::insert(
                &db,
                &sql::NewDeviceCode {
                    device_code_hash: &device_hash,
                    user_code_hash: &stored_hash(&canonical),
                    client_id: client.id(),
                    scopes: &requested,
                    interval_secs: POLL_INTERVAL_SECS,
                    ttl_secs: DEVICE_CODE_TTL_SECS,
                },
            )
            .await?;
            if !stored {
                continue;
            }
            drop(db);
            self.cleanup.maybe_start(&self.db);
            let mut complete = url::Url::parse(verification_uri)
                .map_err(|e| OAuth2Error::internal(format!("device verify URL: {e}")))?;
            complete
                .query_pairs_mut()
                .append_pair("user_code", &user_code);
            return Ok(DeviceAuthorization {
                device_code: Redacted::new(device_code),
                user_code: Redacted::new(user_code),
                verification_uri: verification_uri.to_owned(),
                verification_uri_complete: Redacted::new(String::from(complete)),
                expires_in: DEVICE_CODE_TTL_SECS,
                interval: POLL_INTERVAL_SECS,
            });
        }
        Err(OAuth2Error::internal("no free user code after 4 draws"))
    }

    /// The canonical form of a user code the budget allows looking up.
    fn lookup_code(&self, user_code: &str) -> Result<String, ApiError> {
        if self.device_failures.exhausted() {
            return Err(too_many());
        }
        normalize_user_code(user_code).ok_or_else(|| invalid("Unknown user code"))
    }

    /// `GET /oauth2/device/verify`: the pending authorization of a user code.
    pub async fn pending_device(&self, user_code: &str) -> Result<PendingDevice, ApiError> {
        self.ensure_enabled_for_ui()?;
        let canonical = self.lookup_code(user_code)?;
        let db = self.db.get().await?;
        let Some(found) = sql::find_by_user_code(&db, &stored_hash(&canonical)).await? else {
            self.device_failures.spend();
            return Err(invalid("Unknown user code"));
        };
        if found.status != "pending" {
            return Err(invalid("User code already used"));
        }
        if found.expired {
            return Err(invalid("User code expired"));
        }
        Ok(PendingDevice {
            id: found.id,
            user_code: display_user_code(&canonical),
            client_id: found.client_id,
            scopes: found.scopes,
        })
    }

    /// `POST /oauth2/device/verify`: the token's user approves or denies the authorization
    /// of a user code, once. The user must pass the usual check of sign-ins.
    pub async fn decide_device(
        &self,
        token: &VerifiedToken,
        user_code: &str,
        approve: bool,
    ) -> Result<DeviceDecision, ApiError> {
        self.ensure_enabled_for_ui()?;
        let user = self
            .accounts
            .user_from_token(token, Default::default())
            .await?;
        self.decide_device_for(&user, user_code, approve).await
    }

    /// The decision of `user` (who passed the usual check of sign-ins) on a user code:
    /// `POST /oauth2/device/verify`'s and the built-in device page's.
    pub async fn decide_device_for(
        &self,
        user: &UserRow,
        user_code: &str,
        approve: bool,
    ) -> Result<DeviceDecision, ApiError> {
        self.ensure_enabled_for_ui()?;
        let canonical = self.lookup_code(user_code)?;
        let hash = stored_hash(&canonical);
        let db = self.db.get().await?;
        let event = if approve {
            "oauth2-device-approval"
        } else {
            "oauth2-device-denial"
        };
        let Some(client_id) = sql::decide(&db, &hash, user.id, approve).await? else {
            let why = match sql::find_by_user_code(&db, &hash).await? {
                None => {
                    self.device_failures.spend();
                    "Unknown user code"
                }
                Some(f) if f.status != "pending" => "User code already used",
                Some(_) => "User code expired",
            };
            audit::event(event, Outcome::Failure)
                .user(user.id)
                .reason(why)
                .record();
            return Err(invalid(why));
        };
        audit::event(event, Outcome::Success)
            .user(user.id)
            .reason(client_id.clone())
            .record();
        Ok(DeviceDecision {
            user_code: display_user_code(&canonical),
            client_id,
            status: if approve { "approved" } else { "denied" },
        })
    }

    /// The device-code grant of `POST /oauth2/token`.
    pub(super) async fn device_grant(
        &self,
        req: &TokenRequest,
    ) -> Result<TokenResponse, OAuth2Error> {
        let device_code = usable(req.device_code.as_deref())
            .ok_or_else(|| OAuth2Error::invalid_request("device_code is required"))?;
        let creds = req
            .credentials
            .clone()
            .unwrap_or_else(super::tokens::no_credentials);
        let invalid = || OAuth2Error::invalid_grant("Invalid device code");
        let db = self.db.get().await?;
        let grant = sql::find_by_device_code(&db, &token_hash(device_code))
            .await?
            .ok_or_else(invalid)?;
        drop(db);
        self.client_of_grant(&creds, &grant.client_id).await?;
        let expired = || OAuth2Error::new(OAuth2ErrorCode::ExpiredToken, "The device code expired");
        if grant.expired {
            return Err(expired());
        }
        let db = self.db.get().await?;
        let poll = sql::poll(&db, grant.id, SLOW_DOWN_SECS)
            .await?
            .ok_or_else(invalid)?;
        drop(db);
        match poll.status.as_str() {
            "pending" if poll.too_fast => {
                return Err(OAuth2Error::new(
                    OAuth2ErrorCode::SlowDown,
                    "Polling too fast: wait the interval, now five seconds longer",
                ));
            }
            "pending" => {
                return Err(OAuth2Error::new(
                    OAuth2ErrorCode::AuthorizationPending,
                    "The user has not approved the request yet",
                ));
            }
            "denied" => {
                return Err(OAuth2Error::access_denied(
                    "The user denied the authorization request",
                ));
            }
            _ => {}
        }
        let user_id = poll.user_id.ok_or_else(invalid)?;
        let db = self.db.get().await?;
        let (user, roles) = sql::user_with_roles(&db, user_id)
            .await?
            .ok_or_else(invalid)?;
        drop(db);
        if self.accounts.check(&user, Tolerate::default()).is_err() {
            return Err(inactive());
        }
        let hasura = hasura_roles(&poll.scopes, &user, roles)?;
        let refresh = new_token();
        let db = self.db.get().await?;
        sql::consume(
            &db,
            grant.id,
            &token_hash(&refresh),
            self.settings.refresh_token_ttl,
        )
        .await?
        .ok_or_else(invalid)?;
        drop(db);
        audit::event("oauth2-token", Outcome::Success)
            .user(user.id)
            .reason(GRANT_DEVICE_CODE)
            .record();
        self.issue(
            Grant {
                user: &user,
                client_id: &grant.client_id,
                scopes: &poll.scopes,
                auth_time: poll.auth_time,
                nonce: None,
            },
            hasura,
            refresh,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_two_groups_of_the_alphabet() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), 9, "{code}");
            assert_eq!(&code[4..5], "-");
            assert!(
                code.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
            seen.insert(code);
        }
        // 200 draws from 2.6e10 codes: a repeat means the generator is broken.
        assert_eq!(seen.len(), 200);
        for vowel_or_lookalike in b"AEIOUY01" {
            assert!(!USER_CODE_ALPHABET.contains(vowel_or_lookalike));
        }
    }

    #[test]
    fn user_codes_are_read_leniently() {
        for typed in [
            "BCDF-GHJK",
            "bcdfghjk",
            "bcdf ghjk",
            " Bcdf-Ghjk ",
            "B-C-D-F-G-H-J-K",
        ] {
            assert_eq!(
                normalize_user_code(typed).as_deref(),
                Some("BCDFGHJK"),
                "{typed}"
            );
        }
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ1",
            "BCDF_GHJK",
            "ВCDF-GHJK",
            "BCDF-GHJK\0",
            "' OR 1=1 --",
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad:?}");
        }
        assert_eq!(normalize_user_code(&"-".repeat(65)), None);
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    }

    #[test]
    fn device_codes_are_256_bits() {
        let a = new_device_code();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_device_code());
    }

    #[test]
    fn the_failure_budget_refills_each_window() {
        let b = FailureBudget::new(2, Duration::from_millis(50));
        assert!(!b.exhausted());
        b.spend();
        assert!(!b.exhausted());
        b.spend();
        assert!(b.exhausted());
        std::thread::sleep(Duration::from_millis(60));
        assert!(!b.exhausted());
    }

    #[test]
    fn debug_hides_the_codes() {
        let d = DeviceAuthorization {
            device_code: Redacted::new("device-secret"),
            user_code: Redacted::new("BCDF-GHJK"),
            verification_uri: "https://app.example.com/device".into(),
            verification_uri_complete: Redacted::new(
                "https://app.example.com/device?user_code=BCDF-GHJK",
            ),
            expires_in: 600,
            interval: 5,
        };
        let text = format!("{d:?}");
        assert!(
            !text.contains("device-secret") && !text.contains("BCDF-GHJK"),
            "{text}"
        );
    }
}
