//! The shared state of the HTTP layer: every workflow, built once at start-up
//! (by the start-up sequence), plus what the HTTP layer itself needs (token
//! verification for the bearer extractors, rate limits, metrics, settings for the
//! router and the error concealment).
//!
//! Handlers never see this struct: each one asks axum for the one workflow it calls
//! (`State<Arc<SignUp>>`), through the [`FromRef`] implementations below.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::contract::Generation;
use crate::db::{DbPool, SchemaLevel};
use crate::http::rate_limit::RateLimiter;
use crate::metrics::Metrics;
use crate::service::accounts::Accounts;
use crate::service::anonymous::AnonymousSignIn;
use crate::service::change_env::EnvChange;
use crate::service::deanonymize::Deanonymization;
use crate::service::health::Health;
use crate::service::mfa::TotpMfa;
use crate::service::oauth::OAuthSignIn;
use crate::service::oauth2_provider::OAuth2Provider;
use crate::service::oauth2_provider::ui::LoginPage;
use crate::service::password::PasswordChange;
use crate::service::passwordless::EmailSignIn;
use crate::service::pat::PersonalAccessTokens;
use crate::service::pkce::PkceCodes;
use crate::service::session::Sessions;
use crate::service::signin::EmailPasswordSignIn;
use crate::service::signup::SignUp;
use crate::service::sms::SmsSignIn;
use crate::service::user_email::EmailChange;
use crate::service::verify::TicketVerification;
use crate::service::webauthn::Passkeys;
use crate::settings::{ConfigRef, SettingsHandle};
use crate::tokens::JwtKeys;

pub struct AppState {
    pub settings: SettingsHandle,
    /// For the pool gauges of `/metrics` and the readiness of the database.
    pub db: DbPool,
    /// Verifies bearer tokens; serves the JWKS.
    pub jwt: Arc<JwtKeys>,
    /// `None` unless `AUTH_RATE_LIMIT_ENABLE`.
    pub rate_limiter: Option<RateLimiter>,
    pub metrics: Arc<Metrics>,
    /// Where the workflows' security events go (the audit trail, the webhook).
    pub audit: crate::service::audit::Audit,
    /// Outgoing HTTP shared by the HTTP layer's own checks (Turnstile).
    pub http_client: reqwest::Client,
    /// The level of the `auth` schema found or reached at start-up: what it offers.
    pub schema: SchemaLevel,
    /// The upstream contract served (resolved once at start-up).
    pub generation: Generation,
    pub workflows: Workflows,
}

/// One value per workflow; each holds exactly its dependencies.
pub struct Workflows {
    pub accounts: Arc<Accounts>,
    pub sessions: Arc<Sessions>,
    pub signup: Arc<SignUp>,
    pub anonymous: Arc<AnonymousSignIn>,
    pub email_password: Arc<EmailPasswordSignIn>,
    pub email_signin: Arc<EmailSignIn>,
    pub sms: Arc<SmsSignIn>,
    pub mfa: Arc<TotpMfa>,
    pub pats: Arc<PersonalAccessTokens>,
    pub password: Arc<PasswordChange>,
    pub email_change: Arc<EmailChange>,
    pub deanonymize: Arc<Deanonymization>,
    pub verify: Arc<TicketVerification>,
    pub pkce: Arc<PkceCodes>,
    pub oauth: Arc<OAuthSignIn>,
    /// The OAuth2/OIDC identity provider (`/oauth2/*`, discovery).
    pub oauth2: Arc<OAuth2Provider>,
    /// The provider's built-in sign-in and consent page (`/oauth2/ui/*`).
    pub login_page: Arc<LoginPage>,
    pub passkeys: Arc<Passkeys>,
    pub change_env: Arc<EnvChange>,
    pub health: Arc<Health>,
}

impl AppState {
    /// The current configuration snapshot.
    pub fn config(&self) -> ConfigRef {
        self.settings.config()
    }
}

/// What the router holds: one [`AppState`] behind an `Arc` (a local type, so that the
/// workflows can be extracted from it).
#[derive(Clone)]
pub struct SharedState(Arc<AppState>);

impl SharedState {
    pub fn new(state: AppState) -> SharedState {
        SharedState(Arc::new(state))
    }
}

impl std::ops::Deref for SharedState {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl FromRef<SharedState> for SettingsHandle {
    fn from_ref(state: &SharedState) -> SettingsHandle {
        state.settings.clone()
    }
}

impl FromRef<SharedState> for Arc<JwtKeys> {
    fn from_ref(state: &SharedState) -> Arc<JwtKeys> {
        state.jwt.clone()
    }
}

impl FromRef<SharedState> for Generation {
    fn from_ref(state: &SharedState) -> Generation {
        state.generation
    }
}

/// `State<Arc<W>>` for each workflow `W`: one reference-count increment per request.
macro_rules! workflow_state {
    ($($field:ident: $ty:ty),* $(,)?) => {$(
        impl FromRef<SharedState> for Arc<$ty> {
            fn from_ref(state: &SharedState) -> Arc<$ty> {
                state.workflows.$field.clone()
            }
        }
    )*};
}

workflow_state! {
    accounts: Accounts,
    sessions: Sessions,
    signup: SignUp,
    anonymous: AnonymousSignIn,
    email_password: EmailPasswordSignIn,
    email_signin: EmailSignIn,
    sms: SmsSignIn,
    mfa: TotpMfa,
    pats: PersonalAccessTokens,
    password: PasswordChange,
    email_change: EmailChange,
    deanonymize: Deanonymization,
    verify: TicketVerification,
    pkce: PkceCodes,
    oauth: OAuthSignIn,
    oauth2: OAuth2Provider,
    login_page: LoginPage,
    passkeys: Passkeys,
    change_env: EnvChange,
    health: Health,
}
