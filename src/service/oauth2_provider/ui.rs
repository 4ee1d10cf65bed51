//! The built-in sign-in and consent page (`AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE`,
//! docs/oidc-provider.md): what it shows (the client, the scopes in words) and does
//! (password sign-in with its TOTP step, magic links, passkeys, approve, deny), free of HTTP. The HTML is
//! `crate::http::oauth2::ui`'s.
//!
//! No session is created: a sign-in on the page is bound to one authorization request
//! and proved by a cookie signed with [`PageKey`] (request, user, expiry). Approval is
//! [`OAuth2Provider::approve_for`], the same completion as `POST /oauth2/login`.

use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::authorize::error_redirect;
use super::device::{DeviceDecision, PendingDevice, normalize_user_code};
use super::error::OAuth2Error;
use super::login::PendingRequest;
use super::login::stored_hash;
use super::{AUTH_REQUEST_TTL_SECS, OAuth2Provider, scopes};
use crate::config::Config;
use crate::db::oauth2_provider as sql;
use crate::db::users::UserRow;
use crate::domain::webauthn::CredentialAssertion;
use crate::domain::{Email, OneTimeCode, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::mfa::TotpMfa;
use crate::service::passwordless::EmailSignIn;
use crate::service::signin::{EmailPasswordSignIn, PasswordCheck};
use crate::service::tickets::Ticket;
use crate::service::webauthn::{Passkeys, RequestOptions};
use crate::tokens::secret::Redacted;

/// Where the pages live, under `AUTH_SERVER_URL` (the sign-in cookie's path).
pub const UI_PATH: &str = "/oauth2/ui";
/// The sign-in page, which `/oauth2/authorize` sends the browser to.
pub const LOGIN_PATH: &str = "/oauth2/ui/login";
/// The device verification page (RFC 8628's `verification_uri` when the pages are on).
pub const DEVICE_PATH: &str = "/oauth2/ui/device";
/// Where the approve / deny form posts.
pub const CONSENT_PATH: &str = "/oauth2/ui/consent";
/// The sign-in cookie.
pub const COOKIE_NAME: &str = "hasura_auth_oauth2_ui";
/// The device page's sign-in cookie (its own: a device sign-in never replaces a
/// sign-in for an authorization request open in another tab).
pub const DEVICE_COOKIE_NAME: &str = "hasura_auth_oauth2_ui_device";
/// A sign-in on the page lasts as long as a request can: ten minutes.
pub const SIGNIN_TTL_SECS: i64 = AUTH_REQUEST_TTL_SECS;

/// The key of the page's CSRF tokens and sign-in cookies: HMAC-SHA256 of a label under
/// the JWT secret as configured (the provider's private key), so every instance sharing
/// the secret shares it, and it is never the signing key itself.
#[derive(Clone)]
pub struct PageKey([u8; 32]);

impl std::fmt::Debug for PageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageKey(**redacted**)")
    }
}

fn hmac_key(key: &[u8]) -> aws_lc_rs::hmac::Key {
    aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key)
}

/// The message of a MAC: each part length-prefixed, so no two part lists collide.
fn message(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

impl PageKey {
    pub fn from_config(config: &Config) -> PageKey {
        let jwt = &config.jwt;
        let secret = jwt
            .jwt_secrets
            .as_ref()
            .filter(|s| !s.is_empty())
            .or(jwt.jwt_secret.as_ref())
            .map(|s| s.expose())
            .unwrap_or_default();
        PageKey::from_secret(secret)
    }

    /// The key derived from a JWT secret's text.
    pub fn from_secret(secret: &str) -> PageKey {
        let tag = aws_lc_rs::hmac::sign(
            &hmac_key(secret.as_bytes()),
            b"hasura-auth oauth2 built-in page key v1",
        );
        let mut key = [0u8; 32];
        key.copy_from_slice(tag.as_ref());
        PageKey(key)
    }

    fn sign(&self, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&hmac_key(&self.0), &message(parts)))
    }

    /// Constant-time check of a MAC given as base64url.
    fn verify(&self, parts: &[&[u8]], mac: &str) -> bool {
        let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        aws_lc_rs::hmac::verify(&hmac_key(&self.0), &message(parts), &mac).is_ok()
    }

    /// The CSRF token of a form about `subject` (`login:<request id>`; a device page
    /// would use its own subject): a MAC, so nothing is stored.
    pub fn csrf_token(&self, subject: &str) -> String {
        self.sign(&[b"csrf", subject.as_bytes()])
    }

    pub fn csrf_ok(&self, subject: &str, token: &str) -> bool {
        self.verify(&[b"csrf", subject.as_bytes()], token)
    }

    /// The sign-in cookie's value: `<user id>.<expiry>.<mac>`, bound to the request.
    pub fn signin_cookie(&self, request_id: Uuid, user_id: Uuid, now: i64) -> String {
        self.bound_cookie(Bound::Request(request_id), user_id, now)
    }

    /// The user a sign-in cookie proves for this request, if it is genuine and live.
    pub fn signed_in_user(&self, request_id: Uuid, cookie: &str, now: i64) -> Option<Uuid> {
        self.bound_user(Bound::Request(request_id), cookie, now)
    }

    /// A sign-in cookie's value bound to what was signed in for.
    pub fn bound_cookie(&self, bound: Bound, user_id: Uuid, now: i64) -> String {
        let expires = (now + SIGNIN_TTL_SECS).to_string();
        let (label, id) = bound.parts();
        let mac = self.sign(&[label, id.as_bytes(), user_id.as_bytes(), expires.as_bytes()]);
        format!("{user_id}.{expires}.{mac}")
    }

    /// The user a sign-in cookie proves for `bound`, if it is genuine and live.
    pub fn bound_user(&self, bound: Bound, cookie: &str, now: i64) -> Option<Uuid> {
        let mut parts = cookie.splitn(3, '.');
        let (user, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let user_id = Uuid::parse_str(user).ok()?;
        let (label, id) = bound.parts();
        let ok = self.verify(
            &[label, id.as_bytes(), user_id.as_bytes(), expires.as_bytes()],
            mac,
        );
        (ok && expires.parse::<i64>().ok()? > now).then_some(user_id)
    }
}

/// Why passkeys cannot work on the page at `page_url` under this relying party (its
/// origin not allowed, or its host outside the RP ID), for a start-up warning: the page
/// is on `AUTH_SERVER_URL`, the RP's origins default to `AUTH_CLIENT_URL`.
pub fn passkey_origin_problem(page_url: &str, rp_id: &str, origins: &[String]) -> Option<String> {
    let page = url::Url::parse(page_url).ok()?;
    let origin = page.origin().ascii_serialization();
    let host = page.host_str().unwrap_or_default();
    let allowed = origins
        .iter()
        .any(|o| url::Url::parse(o).is_ok_and(|u| u.origin().ascii_serialization() == origin));
    let in_rp = host == rp_id || host.ends_with(&format!(".{rp_id}"));
    match (allowed, in_rp) {
        (true, true) => None,
        (false, _) => Some(format!(
            "the built-in OAuth2 page offers passkeys but its origin {origin} is not in \
             AUTH_WEBAUTHN_RP_ORIGINS: browsers' passkey answers will be refused"
        )),
        (true, false) => Some(format!(
            "the built-in OAuth2 page offers passkeys but its host {host:?} is not within \
             the RP ID {rp_id:?} (AUTH_WEBAUTHN_RP_ID): browsers will refuse the ceremony"
        )),
    }
}

/// What a sign-in on a page is for: an authorization request (the login page) or a
/// device authorization (the device page). Cookies of one never prove the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Request(Uuid),
    Device(Uuid),
}

impl Bound {
    fn parts(self) -> (&'static [u8], Uuid) {
        match self {
            Bound::Request(id) => (b"signin", id),
            Bound::Device(id) => (b"signin-device", id),
        }
    }
}

/// A scope as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeView {
    pub scope: String,
    pub description: String,
}

/// A scope in plain words.
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Confirm who you are (your user ID)".to_owned(),
        "profile" => "See your name, profile picture and language".to_owned(),
        "email" => "See your email address".to_owned(),
        "phone" => "See your phone number".to_owned(),
        "offline_access" => "Stay connected when you are not using it".to_owned(),
        "graphql" => "Use the API on your behalf, with your roles".to_owned(),
        other => match scopes::role_of(other) {
            Some(role) => format!("Use the API on your behalf, as the role {role}"),
            None => other.to_owned(),
        },
    }
}

/// What the page shows about a pending request.
#[derive(Debug)]
pub struct PageRequest {
    pub request: PendingRequest,
    /// The client's `client_name` from its metadata, when it has one (shown as text).
    pub client_name: Option<String>,
    pub scopes: Vec<ScopeView>,
}

/// The outcome of the password step.
pub enum SignInStep {
    /// Signed in: the cookie's value.
    SignedIn(String),
    /// The user has TOTP: the MFA ticket for the next step.
    Totp(Redacted),
}

/// The built-in page's workflow.
pub struct LoginPage {
    pub(crate) provider: Arc<OAuth2Provider>,
    pub(crate) password: Arc<EmailPasswordSignIn>,
    pub(crate) mfa: Arc<TotpMfa>,
    pub(crate) email: Arc<EmailSignIn>,
    pub(crate) passkeys: Arc<Passkeys>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn invalid(message: &'static str) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
}

/// The longest `client_name` shown.
const MAX_CLIENT_NAME: usize = 100;

impl LoginPage {
    /// Whether the page is served (the provider and the setting on).
    pub fn enabled(&self) -> bool {
        let s = &self.provider.settings;
        s.enabled && s.builtin_login_page
    }

    pub fn key(&self) -> &PageKey {
        &self.provider.settings.page_key
    }

    /// The CSRF subject of the forms about `request_id`.
    pub fn csrf_subject(request_id: Uuid) -> String {
        format!("login:{request_id}")
    }

    /// Whether this is the CSRF token of the forms about `request_id`.
    pub fn csrf_ok(&self, request_id: Uuid, token: &str) -> bool {
        self.key().csrf_ok(&Self::csrf_subject(request_id), token)
    }

    pub fn csrf_token(&self, request_id: Uuid) -> String {
        self.key().csrf_token(&Self::csrf_subject(request_id))
    }

    /// The pending request `request_id` with its client's name and the scopes in words.
    pub async fn request(&self, request_id: Uuid) -> Result<PageRequest, ApiError> {
        let request = self.provider.pending_request(request_id).await?;
        let client_name = self.client_name(&request.client_id).await?;
        let scopes = scope_views(&request.scopes);
        Ok(PageRequest {
            request,
            client_name,
            scopes,
        })
    }

    /// A client's `client_name` from its metadata, trimmed and shortened.
    async fn client_name(&self, client_id: &str) -> Result<Option<String>, ApiError> {
        let db = self.provider.db.get().await?;
        let client = sql::find_client(&db, client_id).await?;
        drop(db);
        Ok(client
            .and_then(|c| c.metadata)
            .and_then(|m| {
                m.get("client_name")?
                    .as_str()
                    .map(str::trim)
                    .map(str::to_owned)
            })
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(MAX_CLIENT_NAME).collect()))
    }

    /// The user a sign-in cookie proves for `request_id`, if they may still sign in
    /// (`Err` only when that cannot be told: the database).
    pub async fn signed_in(
        &self,
        request_id: Uuid,
        cookie: Option<&str>,
    ) -> Result<Option<UserRow>, ApiError> {
        self.signed_in_for(Bound::Request(request_id), cookie).await
    }

    /// The user a sign-in cookie proves for `bound`, if they may still sign in.
    pub async fn signed_in_for(
        &self,
        bound: Bound,
        cookie: Option<&str>,
    ) -> Result<Option<UserRow>, ApiError> {
        let Some(user_id) = cookie.and_then(|c| self.key().bound_user(bound, c, now())) else {
            return Ok(None);
        };
        match self
            .provider
            .accounts
            .checked_user(user_id, Default::default())
            .await
        {
            Ok(user) => Ok(Some(user)),
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => Err(e),
            // Deleted, disabled, unverified since: no longer signed in.
            Err(_) => Ok(None),
        }
    }

    /// The password step, for a request that is still pending.
    pub async fn sign_in_password(
        &self,
        request_id: Uuid,
        email: &str,
        password: String,
    ) -> Result<SignInStep, ApiError> {
        self.provider.pending_request(request_id).await?;
        self.password_step(Bound::Request(request_id), email, password)
            .await
    }

    /// The password step of a sign-in for `bound` (whose pending state the caller checked).
    pub async fn password_step(
        &self,
        bound: Bound,
        email: &str,
        password: String,
    ) -> Result<SignInStep, ApiError> {
        // Malformed input gets the answer of wrong credentials: nothing to learn from it.
        let (Ok(email), Ok(password)) = (Email::parse(email), Password::parse(password)) else {
            return Err(ErrorCode::InvalidEmailPassword.into());
        };
        match self.password.check_email_password(email, password).await? {
            PasswordCheck::User(user) => Ok(SignInStep::SignedIn(
                self.signed_in_as(bound, &user, "password"),
            )),
            PasswordCheck::Mfa(challenge) => Ok(SignInStep::Totp(challenge.ticket)),
        }
    }

    /// The TOTP step of a sign-in for `bound` (whose pending state the caller checked).
    pub async fn totp_step(
        &self,
        bound: Bound,
        ticket: String,
        code: String,
    ) -> Result<String, ApiError> {
        let user = self
            .mfa
            .check_mfa_totp(&Ticket::presented(ticket), &OneTimeCode::new(code))
            .await?;
        Ok(self.signed_in_as(bound, &user, "totp"))
    }

    /// The TOTP step: the ticket of the password step and a code.
    pub async fn sign_in_totp(
        &self,
        request_id: Uuid,
        ticket: String,
        code: String,
    ) -> Result<String, ApiError> {
        self.provider.pending_request(request_id).await?;
        self.totp_step(Bound::Request(request_id), ticket, code)
            .await
    }

    /// Whether the page offers magic links (`AUTH_EMAIL_PASSWORDLESS_ENABLED`).
    pub fn magic_links(&self) -> bool {
        self.email.magic_links_enabled()
    }

    /// Emails a magic link back to this page for `request_id` (existing users only;
    /// the answer is the same for any address). `Err` for an address that is not one.
    pub async fn send_magic_link(&self, request_id: Uuid, email: &str) -> Result<(), ApiError> {
        self.provider.pending_request(request_id).await?;
        let email = Email::parse(email).map_err(ApiError::validation)?;
        let page = self.provider.settings.builtin_login_url.clone();
        self.email
            .send_page_link(&email, |ticket| {
                let mut url = page;
                url.push_str("?request_id=");
                url.push_str(&request_id.to_string());
                url.push_str("&ticket=");
                url.extend(url::form_urlencoded::byte_serialize(ticket.as_bytes()));
                url
            })
            .await
    }

    /// The magic link followed: the cookie's value.
    pub async fn sign_in_link(&self, request_id: Uuid, ticket: String) -> Result<String, ApiError> {
        self.provider.pending_request(request_id).await?;
        let user = self
            .email
            .check_page_link(&Ticket::presented(ticket))
            .await?;
        Ok(self.signed_in_as(Bound::Request(request_id), &user, "magic-link"))
    }

    /// Whether the page offers passkey sign-in (`AUTH_WEBAUTHN_ENABLED`).
    pub fn passkeys(&self) -> bool {
        self.passkeys.enabled()
    }

    /// The options of a passkey sign-in for `request_id`: the user's keys when an
    /// address is given, else any discoverable credential (as `POST /signin/webauthn`).
    pub async fn passkey_options(
        &self,
        request_id: Uuid,
        email: Option<&str>,
    ) -> Result<RequestOptions, ApiError> {
        self.provider.pending_request(request_id).await?;
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => Some(Email::parse(e).map_err(|_| ErrorCode::InvalidEmailPassword)?),
        };
        self.passkeys.webauthn_signin_start(email).await
    }

    /// The passkey's assertion checked (no session): the cookie's value.
    pub async fn sign_in_passkey(
        &self,
        request_id: Uuid,
        assertion: &CredentialAssertion,
    ) -> Result<String, ApiError> {
        self.provider.pending_request(request_id).await?;
        let user = self.passkeys.check_webauthn_signin(assertion).await?;
        Ok(self.signed_in_as(Bound::Request(request_id), &user, "passkey"))
    }

    fn signed_in_as(&self, bound: Bound, user: &UserRow, how: &'static str) -> String {
        let page = match bound {
            Bound::Request(_) => "oauth2-login-page",
            Bound::Device(_) => "oauth2-device-page",
        };
        audit::event("signin", Outcome::Success)
            .user(user.id)
            .reason(format!("{page}:{how}"))
            .record();
        self.key().bound_cookie(bound, user.id, now())
    }

    /// Approves `request_id` for the cookie's user: where the browser goes (the client's
    /// redirect URI with the code). `None` when no one is signed in for the request.
    pub async fn approve(
        &self,
        request_id: Uuid,
        cookie: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let Some(user) = self.signed_in(request_id, cookie).await? else {
            return Ok(None);
        };
        let approved = self.provider.approve_for(user.id, request_id).await?;
        Ok(Some(approved.redirect_uri))
    }

    /// Whether cookies are marked `Secure`: the pages are served over https.
    pub fn secure_cookies(&self) -> bool {
        self.provider
            .settings
            .builtin_login_url
            .starts_with("https://")
    }

    /// Denies `request_id` (RFC 6749 §4.1.2.1): the request can no longer be completed,
    /// and the browser goes to the client with `error=access_denied`, `state` and `iss`.
    pub async fn deny(&self, request_id: Uuid) -> Result<String, ApiError> {
        self.provider.ensure_enabled_for_ui()?;
        let db = self.provider.db.get().await?;
        let denied = sql::deny_auth_request(&db, request_id).await?;
        let Some(denied) = denied else {
            let why = match sql::find_auth_request(&db, request_id).await? {
                None => "Unknown authorization request",
                Some(r) if r.done => "Authorization request already completed",
                Some(_) => "Authorization request expired",
            };
            return Err(invalid(why));
        };
        drop(db);
        let uri = url::Url::parse(&denied.redirect_uri)
            .map_err(|e| ApiError::internal(format!("stored redirect_uri: {e}")))?;
        audit::event("oauth2-authorization", Outcome::Failure)
            .reason(format!("access_denied:{}", denied.client_id))
            .record();
        Ok(error_redirect(
            &uri,
            &OAuth2Error::access_denied("The user denied the request"),
            &self.provider.settings.issuer,
            denied.state.as_deref(),
        ))
    }
}

/// What the device page shows about a pending device authorization.
#[derive(Debug)]
pub struct DevicePageRequest {
    pub device: PendingDevice,
    pub client_name: Option<String>,
    pub scopes: Vec<ScopeView>,
}

fn scope_views(scopes: &[String]) -> Vec<ScopeView> {
    scopes
        .iter()
        .map(|s| ScopeView {
            scope: s.clone(),
            description: describe_scope(s),
        })
        .collect()
}

/// The device page (RFC 8628's verification page, `/oauth2/ui/device`): the lookups and
/// decisions of `/oauth2/device/verify`, with the login page's sign-in bound to the device
/// authorization.
impl LoginPage {
    /// The CSRF subject of the device forms about a user code: its stored hash, so the
    /// token of one code is no token of another. `None` for what cannot be a code.
    fn device_csrf_subject(user_code: &str) -> Option<String> {
        normalize_user_code(user_code).map(|c| format!("device:{}", stored_hash(&c)))
    }

    pub fn device_csrf_token(&self, user_code: &str) -> String {
        Self::device_csrf_subject(user_code)
            .map(|s| self.key().csrf_token(&s))
            .unwrap_or_default()
    }

    pub fn device_csrf_ok(&self, user_code: &str, token: &str) -> bool {
        Self::device_csrf_subject(user_code).is_some_and(|s| self.key().csrf_ok(&s, token))
    }

    /// The pending device authorization of a user code (unknown codes spend the guessing
    /// budget, as at `GET /oauth2/device/verify`).
    pub async fn device(&self, user_code: &str) -> Result<DevicePageRequest, ApiError> {
        let device = self.provider.pending_device(user_code).await?;
        let client_name = self.client_name(&device.client_id).await?;
        let scopes = scope_views(&device.scopes);
        Ok(DevicePageRequest {
            device,
            client_name,
            scopes,
        })
    }

    /// Approves or denies a user code for the user the cookie proves for its pending
    /// authorization: `POST /oauth2/device/verify`'s decision. `None` when no one is
    /// signed in for it.
    pub async fn decide_device(
        &self,
        user_code: &str,
        cookie: Option<&str>,
        approve: bool,
    ) -> Result<Option<DeviceDecision>, ApiError> {
        let device = self.provider.pending_device(user_code).await?;
        let Some(user) = self.signed_in_for(Bound::Device(device.id), cookie).await? else {
            return Ok(None);
        };
        self.provider
            .decide_device_for(&user, user_code, approve)
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PageKey {
        PageKey([b; 32])
    }

    #[test]
    fn csrf_tokens_are_bound_to_subject_and_key() {
        let t = key(1).csrf_token("login:a");
        assert!(key(1).csrf_ok("login:a", &t));
        assert!(!key(1).csrf_ok("login:b", &t));
        assert!(!key(2).csrf_ok("login:a", &t));
        assert!(!key(1).csrf_ok("login:a", ""));
        assert!(!key(1).csrf_ok("login:a", "not base64!"));
    }

    #[test]
    fn signin_cookies_are_bound_to_request_and_expire() {
        let (req, other, user) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let c = key(1).signin_cookie(req, user, 1000);
        assert_eq!(key(1).signed_in_user(req, &c, 1000), Some(user));
        assert_eq!(key(1).signed_in_user(other, &c, 1000), None);
        assert_eq!(key(2).signed_in_user(req, &c, 1000), None);
        assert_eq!(key(1).signed_in_user(req, &c, 1000 + SIGNIN_TTL_SECS), None);
        // Another user id or a later expiry under the same MAC is refused.
        let (_, rest) = c.split_once('.').unwrap();
        let forged = format!("{}.{rest}", Uuid::new_v4());
        assert_eq!(key(1).signed_in_user(req, &forged, 1000), None);
        let mut parts: Vec<&str> = c.split('.').collect();
        let later = (1000 + 10 * SIGNIN_TTL_SECS).to_string();
        parts[1] = &later;
        assert_eq!(key(1).signed_in_user(req, &parts.join("."), 1000), None);
        assert_eq!(key(1).signed_in_user(req, "garbage", 1000), None);
    }

    #[test]
    fn passkey_origins_are_checked_against_the_page() {
        let origins = [
            "https://app.example.com".to_owned(),
            "https://auth.example.com/".to_owned(),
        ];
        let page = "https://auth.example.com/v1/oauth2/ui/login";
        assert_eq!(passkey_origin_problem(page, "example.com", &origins), None);
        assert_eq!(
            passkey_origin_problem(page, "auth.example.com", &origins),
            None
        );
        let other_rp = passkey_origin_problem(page, "app.example.com", &origins);
        assert!(other_rp.is_some_and(|p| p.contains("RP ID")));
        let missing = passkey_origin_problem(page, "example.com", &origins[..1]);
        assert!(missing.is_some_and(|p| p.contains("https://auth.example.com is not in")));
        // A suffix that is not a parent domain.
        assert!(
            passkey_origin_problem(
                "https://badexample.com/x",
                "example.com",
                &["https://badexample.com".to_owned()]
            )
            .is_some()
        );
    }

    #[test]
    fn scopes_in_words() {
        assert_eq!(describe_scope("email"), "See your email address");
        assert!(describe_scope("graphql:role:editor").ends_with("as the role editor"));
    }
}
