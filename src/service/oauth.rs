//! Sign-in with OAuth providers and id tokens (SPEC §8.8–§8.10), linking provider
//! accounts, and the provider's own tokens.
//!
//! The `state` sent to a provider is 256 random bits. Only its SHA-256 is stored, in
//! `hasura_auth.oauth_states`, with everything the callback needs (sign-up options,
//! the account to link, the nonce, the PKCE verifier or OAuth 1.0a secret). The
//! callback deletes the row it presents: a state works once, for one provider, and for
//! [`STATE_TTL_SECS`] at most. Nothing in it can be tampered with, and unlike upstream's
//! signed state it reveals nothing (upstream's carried the user's access token when
//! linking) to the provider or the browser.

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;
use uuid::Uuid;

use crate::adapters::oauth::idtoken::Nonce;
use crate::adapters::oauth::oauth2_flow::{bool_field, opt_string_field, string_field};
use crate::adapters::oauth::{
    AuthorizeInput, CallbackInput, OAuthError, Profile, ProviderSpecificParams, ProviderTokens,
};
use crate::db::oauth::{self as db, ProviderLink, ProviderSessionRow};
use crate::db::users;
use crate::domain::options::{DisplayName, LocaleCode, SignUpOptionsInput};
use crate::domain::{CodeChallenge, Email};
use crate::error::{ApiError, ContractCode, ErrorCode};
use crate::service::registration::{Credential, NewAccount, Origin, Registered, Registration};
use crate::service::session::Session;
use crate::tokens::VerifiedToken;
use crate::tokens::refresh::stored_hash;
use crate::tokens::secret::Redacted;

/// How long a sign-in may take at the provider (upstream: 60 s, too short for a
/// provider login with a second factor).
pub const STATE_TTL_SECS: i64 = 600;
/// How long after the callback `GET …/callback/tokens` can fetch the provider session.
pub const PROVIDER_SESSION_TTL_SECS: i64 = 600;
/// The longest callback `state` handed back as `provider_state` (a longer one is dropped).
const MAX_PROVIDER_STATE_BYTES: usize = 2048;
/// What `user_providers.access_token` (NOT NULL) holds when there is no provider
/// access token (id-token sign-in and linking), as upstream writes it.
const NO_ACCESS_TOKEN: &str = "unset";

/// `GET /signin/provider/{provider}` after the handler parsed the query.
pub struct ProviderSignIn {
    pub provider: String,
    pub options: SignUpOptionsInput,
    pub connect: Option<String>,
    pub client_state: Option<String>,
    pub specific: ProviderSpecificParams,
    /// PKCE: the callback's redirect carries a code instead of the refresh token.
    pub code_challenge: Option<CodeChallenge>,
    /// `upstreamParams`: set on the provider's authorization URL (replacing a parameter of
    /// the same name); the handler refused the ones the service owns.
    pub upstream_params: Vec<(String, String)>,
    /// `GET /signin/provider` (creates unknown users unless `AUTH_DISABLE_AUTO_SIGNUP`)
    /// or `GET /signup/provider` (refuses existing users).
    pub origin: Origin,
}

/// Why `GET /signin/provider/{provider}` did not send the browser to the provider.
#[derive(Debug)]
pub enum StartError {
    /// Answered as JSON (the redirect target itself is not acceptable).
    Json(ApiError),
    /// Answered by a redirect to `redirectTo` with the error.
    Redirect { to: Url, code: ErrorCode },
}

/// What came back to `/signin/provider/{provider}/callback` (GET query or POST form).
#[derive(Default)]
pub struct ProviderCallback {
    pub provider: String,
    pub state: String,
    pub code: Option<String>,
    pub id_token: Option<String>,
    pub oauth_token: Option<String>,
    pub oauth_verifier: Option<String>,
    pub user: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
}

/// Codes, tokens and the state stay out of `Debug`.
impl std::fmt::Debug for ProviderCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCallback")
            .field("provider", &self.provider)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish_non_exhaustive()
    }
}

/// Where the callback sends the browser: `target` plus `params`, and the error if any
/// (the handler adds `error`/`errorDescription`, concealed as configured).
pub struct CallbackOutcome {
    pub target: Url,
    pub params: Vec<(&'static str, String)>,
    /// The error to report, as each contract spells it.
    pub error: Option<ContractCode>,
}

/// The parameters may carry a refresh token: only their names are shown.
impl std::fmt::Debug for CallbackOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(name, _)| *name).collect();
        f.debug_struct("CallbackOutcome")
            .field("target", &self.target.origin().ascii_serialization())
            .field("params", &names)
            .field("error", &self.error)
            .finish()
    }
}

/// Id-token providers of `/signin/idtoken` and `/link/idtoken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum IdTokenProvider {
    Apple,
    Google,
}

/// Our own wording for a refused value in a request body (not serde's).
impl TryFrom<String> for IdTokenProvider {
    type Error = &'static str;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "apple" => Ok(IdTokenProvider::Apple),
            "google" => Ok(IdTokenProvider::Google),
            _ => Err(r#"provider must be "apple" or "google""#),
        }
    }
}

impl IdTokenProvider {
    pub fn id(self) -> &'static str {
        match self {
            IdTokenProvider::Apple => "apple",
            IdTokenProvider::Google => "google",
        }
    }
}

/// The provider session of Nhost's API (`ProviderSession` in @nhost/nhost-js 4.x).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSession {
    pub access_token: Redacted,
    pub expires_in: i64,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Redacted>,
}

/// Sign-up options as kept with the state (the query's, not yet checked against the
/// policy: upstream checks roles only when a user is created).
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KeptOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allowed_roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<Map<String, Value>>,
    redirect_to: String,
}

impl KeptOptions {
    fn into_input(self) -> SignUpOptionsInput {
        SignUpOptionsInput {
            allowed_roles: self.allowed_roles,
            default_role: self.default_role,
            display_name: self.display_name.and_then(|d| DisplayName::parse(d).ok()),
            locale: self.locale.and_then(|l| LocaleCode::parse(l).ok()),
            metadata: self.metadata,
            redirect_to: Some(self.redirect_to),
        }
    }
}

/// The account a sign-in links to (`connect`), checked when the sign-in starts.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Connect {
    /// The access token was valid for this user until `exp`.
    #[serde(rename_all = "camelCase")]
    User { user_id: Uuid, exp: i64 },
    /// The access token was not valid: the callback answers `invalid-request`, as
    /// upstream does when it checks the token there.
    Invalid,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeptState {
    options: KeptOptions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connect: Option<Connect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_state: Option<String>,
    nonce: String,
    #[serde(default)]
    provider: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_challenge: Option<String>,
    /// Started at `/signup/provider` (absent in states written before it existed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    sign_up: bool,
}

/// 256 random bits, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The `exp` of a JWT whose signature was already verified.
fn token_exp(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

fn session_view(tokens_at: DateTime<Utc>, row: ProviderSessionRow) -> ProviderSession {
    let now = Utc::now();
    let (expires_in, expires_at) = match row.expires_at {
        Some(at) => ((at - now).num_seconds().max(0), at),
        None => (0, tokens_at),
    };
    ProviderSession {
        access_token: Redacted::new(row.access_token),
        expires_in,
        expires_at: expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        refresh_token: row.refresh_token.map(Redacted::new),
    }
}

fn session_row(tokens: &ProviderTokens) -> ProviderSessionRow {
    ProviderSessionRow {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_at: tokens
            .expires_in
            .and_then(|s| i64::try_from(s).ok())
            .map(|s| Utc::now() + chrono::Duration::seconds(s)),
    }
}

/// The profile in an Apple or Google id token.
fn id_token_profile(claims: &Map<String, Value>) -> Profile {
    let claims = Value::Object(claims.clone());
    let email = opt_string_field(&claims, "email");
    Profile {
        id: string_field(&claims, "sub"),
        email_verified: email.is_some() && bool_field(&claims, "email_verified"),
        email,
        name: string_field(&claims, "name"),
        avatar_url: string_field(&claims, "picture"),
        locale: opt_string_field(&claims, "locale"),
    }
}

fn log_db(e: impl std::fmt::Display) -> ErrorCode {
    tracing::error!(error = %e, "OAuth sign-in: database");
    ErrorCode::InternalServerError
}

/// `url` with each of `params` set: a parameter of the same name is replaced.
fn with_upstream_params(url: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return url.to_owned();
    }
    let Ok(mut parsed) = Url::parse(url) else {
        return url.to_owned();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| !params.iter().any(|(name, _)| name == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed
        .query_pairs_mut()
        .clear()
        .extend_pairs(kept.iter().chain(params));
    parsed.into()
}

/// Sign-in with OAuth providers and id tokens, and provider tokens.
#[derive(Clone)]
pub struct OAuthSignIn {
    pub(crate) db: crate::db::DbPool,
    pub(crate) oauth: std::sync::Arc<crate::adapters::oauth::OAuthProviders>,
    pub(crate) jwt: std::sync::Arc<crate::tokens::JwtKeys>,
    pub(crate) registration: Registration,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) pkce: crate::service::pkce::PkceCodes,
    pub(crate) settings: crate::settings::SettingsHandle,
}

impl OAuthSignIn {
    /// `GET /signin/provider/{provider}`: records the sign-in and answers the provider's
    /// authorization URL.
    pub async fn start_provider_sign_in(&self, req: ProviderSignIn) -> Result<String, StartError> {
        let redirect_to = self
            .settings
            .policy()
            .resolve_redirect(req.options.redirect_to.as_deref())
            .map_err(|c| StartError::Json(c.into()))?;
        let target = Url::parse(&redirect_to)
            .map_err(|_| StartError::Json(ErrorCode::InvalidRequest.into()))?;
        let redirect_error = |code| StartError::Redirect {
            to: target.clone(),
            code,
        };
        let provider = self
            .oauth
            .get(&req.provider)
            .ok_or_else(|| redirect_error(ErrorCode::DisabledEndpoint))?;

        let connect = req.connect.filter(|c| !c.is_empty()).map(|token| {
            match (self.jwt.verify(&token), token_exp(&token)) {
                (Ok(verified), Some(exp)) => match verified.user_id() {
                    Some(user_id) => Connect::User { user_id, exp },
                    None => Connect::Invalid,
                },
                _ => Connect::Invalid,
            }
        });
        let state = random_token();
        let nonce = random_token();
        let authorization = provider
            .authorize(AuthorizeInput {
                state: &state,
                nonce: &nonce,
                specific: &req.specific,
            })
            .await
            .map_err(|e| {
                tracing::error!(provider = %req.provider, error = %e, "OAuth authorization request");
                redirect_error(ErrorCode::InternalServerError)
            })?;
        let kept = KeptState {
            options: KeptOptions {
                allowed_roles: req.options.allowed_roles,
                default_role: req.options.default_role,
                display_name: req.options.display_name.map(DisplayName::into_inner),
                locale: req.options.locale.map(|l| l.as_str().to_owned()),
                metadata: req.options.metadata,
                redirect_to,
            },
            connect,
            client_state: req.client_state.filter(|s| !s.is_empty()),
            nonce,
            provider: authorization.kept,
            code_challenge: req.code_challenge.map(|c| c.as_str().to_owned()),
            sign_up: req.origin == Origin::SignUp,
        };
        let data = serde_json::to_value(&kept).map_err(|e| {
            tracing::error!(error = %e, "OAuth state");
            redirect_error(ErrorCode::InternalServerError)
        })?;
        let client = self.db.get().await.map_err(|e| redirect_error(log_db(e)))?;
        db::insert_state(
            &client,
            &stored_hash(&state),
            provider.id(),
            &data,
            STATE_TTL_SECS,
        )
        .await
        .map_err(|e| redirect_error(log_db(e)))?;
        Ok(with_upstream_params(
            &authorization.url,
            &req.upstream_params,
        ))
    }

    /// `GET`/`POST /signin/provider/{provider}/callback`: always ends in a redirect.
    pub async fn provider_callback(
        &self,
        cb: ProviderCallback,
    ) -> Result<CallbackOutcome, ApiError> {
        let client_url = Url::parse(&self.settings.config().client.client_url)
            .map_err(|e| ApiError::internal(format!("AUTH_CLIENT_URL: {e}")))?;
        let fail = |target: &Url, params: Vec<(&'static str, String)>, code: ContractCode| {
            CallbackOutcome {
                target: target.clone(),
                params,
                error: Some(code),
            }
        };

        let taken = {
            let client = self.db.get().await?;
            db::take_state(&client, &stored_hash(&cb.state)).await?
        };
        let kept = match taken {
            Some(t) if !t.expired && t.provider == cb.provider => {
                serde_json::from_value::<KeptState>(t.data).ok()
            }
            _ => None,
        };
        let Some(kept) = kept else {
            // Not a sign-in we started (or no longer one): nothing in it can be trusted, so
            // the browser goes to the client URL. The value is handed back as
            // `provider_state` (Nhost Auth 0.43), so an app can recognise a sign-in its
            // identity provider started and begin one of ours.
            let mut params = Vec::new();
            if cb.state.len() <= MAX_PROVIDER_STATE_BYTES {
                params.push(("provider_state", cb.state.clone()));
            }
            return Ok(fail(&client_url, params, ErrorCode::InvalidState.into()));
        };
        // The allow-list may have changed since the sign-in started (`/change-env`).
        let Ok(redirect_to) = self
            .settings
            .policy()
            .resolve_redirect(Some(&kept.options.redirect_to))
        else {
            return Ok(fail(
                &client_url,
                Vec::new(),
                ErrorCode::RedirectToNotAllowed.into(),
            ));
        };
        let Ok(target) = Url::parse(&redirect_to) else {
            return Ok(fail(
                &client_url,
                Vec::new(),
                ErrorCode::InvalidRequest.into(),
            ));
        };
        let mut params: Vec<(&'static str, String)> = Vec::new();
        if let Some(s) = &kept.client_state {
            params.push(("state", s.clone()));
        }
        if let Some(error) = cb.error.as_deref().filter(|e| !e.is_empty()) {
            // As upstream, the provider's error goes to the client URL.
            params.push(("provider_error", error.to_owned()));
            params.push((
                "provider_error_description",
                cb.error_description.clone().unwrap_or_default(),
            ));
            params.push((
                "provider_error_url",
                cb.error_uri.clone().unwrap_or_default(),
            ));
            return Ok(fail(
                &client_url,
                params,
                ErrorCode::OauthProviderError.into(),
            ));
        }
        let Some(provider) = self.oauth.get(&cb.provider) else {
            return Ok(fail(&target, params, ErrorCode::DisabledEndpoint.into()));
        };
        let completed = provider
            .complete(CallbackInput {
                code: cb.code.as_deref(),
                id_token: cb.id_token.as_deref(),
                oauth_token: cb.oauth_token.as_deref(),
                oauth_verifier: cb.oauth_verifier.as_deref(),
                user: cb.user.as_deref(),
                nonce: &kept.nonce,
                kept: &kept.provider,
            })
            .await;
        let (profile, tokens) = match completed {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(provider = %cb.provider, error = %e, "OAuth callback");
                let code = match e {
                    OAuthError::TokenExchange(_) => ErrorCode::OauthTokenExchangeFailed,
                    OAuthError::Profile(_) => ErrorCode::OauthProfileFetchFailed,
                    _ => ErrorCode::InternalServerError,
                };
                return Ok(fail(&target, params, code.into()));
            }
        };
        let link = ProviderLink {
            provider_id: provider.id(),
            provider_user_id: &profile.id,
            access_token: &tokens.access_token,
            refresh_token: tokens.refresh_token.as_deref(),
        };
        let origin = if kept.sign_up {
            Origin::SignUp
        } else {
            Origin::SignIn
        };
        let signed_in = match kept.connect {
            Some(connect) => self
                .connect_provider(connect, &link)
                .await
                .map(|id| (id, None)),
            None => self
                .provider_sign_in(&profile, &link, Some(kept.options.into_input()), origin)
                .await
                .map(|(id, session)| (id, session.map(|s| s.refresh_token.into_exposed()))),
        };
        let (user_id, refresh_token) = match signed_in {
            Ok(done) => done,
            Err(e) => {
                let code = e.contract_code();
                if let ApiError::Internal(cause) = &e {
                    tracing::error!(error = %cause, "OAuth callback");
                }
                return Ok(fail(&target, params, code));
            }
        };
        // Failing to keep the provider's tokens for later does not undo the sign-in.
        match self.db.get().await {
            Ok(client) => {
                if let Err(e) = db::put_provider_session(
                    &client,
                    user_id,
                    provider.id(),
                    &session_row(&tokens),
                    PROVIDER_SESSION_TTL_SECS,
                )
                .await
                {
                    tracing::error!(error = %e, "keeping the provider session");
                }
            }
            Err(e) => tracing::error!(error = %e, "keeping the provider session"),
        }
        let challenge = kept
            .code_challenge
            .as_deref()
            .and_then(|c| CodeChallenge::parse(c).ok());
        match (refresh_token, challenge) {
            (Some(rt), Some(challenge)) => {
                // The shared sign-in path made a session; with PKCE the client gets its
                // session from `POST /token/exchange`, so this one ends at once.
                self.sessions.sign_out(rt).await?;
                let code = self
                    .pkce
                    .issue(user_id, &challenge, Some(target.as_str()))
                    .await?;
                params.push(("code", code));
            }
            (Some(rt), None) => params.push(("refreshToken", rt)),
            (None, _) => {}
        }
        Ok(CallbackOutcome {
            target,
            params,
            error: None,
        })
    }

    /// Links a provider account to the user of `connect`.
    async fn connect_provider(
        &self,
        connect: Connect,
        link: &ProviderLink<'_>,
    ) -> Result<Uuid, ApiError> {
        let Connect::User { user_id, exp } = connect else {
            return Err(ErrorCode::InvalidRequest.into());
        };
        if exp <= Utc::now().timestamp() {
            return Err(ErrorCode::InvalidRequest.into());
        }
        let user = self
            .accounts
            .checked_user(user_id, Default::default())
            .await?;
        let client = self.db.get().await?;
        if !db::insert_link(&client, user.id, link).await? {
            return Err(already_linked(&client, user.id, link).await?);
        }
        Ok(user.id)
    }

    /// Upstream's `providerSignInFlow`, shared by the OAuth callback and id-token
    /// sign-in: the user linked to the provider account, else the user with the same
    /// (provider-verified) email, else a new user. Returns the user and the session
    /// (`None` when the new user must first verify the email).
    pub(crate) async fn provider_sign_in(
        &self,
        profile: &Profile,
        link: &ProviderLink<'_>,
        options: Option<SignUpOptionsInput>,
        origin: Origin,
    ) -> Result<(Uuid, Option<Session>), ApiError> {
        let client = self.db.get().await?;
        if let Some(user) =
            db::find_user_by_provider(&client, link.provider_id, link.provider_user_id).await?
        {
            if origin == Origin::SignUp {
                return Err(ErrorCode::UserAlreadyExists.into());
            }
            self.accounts.check(&user, Default::default())?;
            if link.access_token != NO_ACCESS_TOKEN {
                db::update_link_tokens(&client, link).await?;
            }
            drop(client);
            let session = self.sessions.new_session(&user).await?;
            return Ok((user.id, Some(session)));
        }
        // What the `auth.email` domain would refuse is no address to look up or store
        // (inserting it would fail anyway).
        let email = profile
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| ApiError::internal(format!("provider profile email: {e}")))?;
        if let Some(email) = &email
            && let Some(user) = users::find_by_email(&client, email).await?
        {
            if origin == Origin::SignUp {
                return Err(ErrorCode::UserAlreadyExists.into());
            }
            // Upstream answers 500 here; the real reason is more useful and reveals no
            // more than the sign-in methods that report it.
            self.accounts.check(&user, Default::default())?;
            // Only an address the provider vouches for may take over an existing account.
            if !profile.email_verified {
                return Err(ErrorCode::UnverifiedUser.into());
            }
            if !db::insert_link(&client, user.id, link).await? {
                return Err(ErrorCode::InvalidRequest.into());
            }
            drop(client);
            let session = self.sessions.new_session(&user).await?;
            return Ok((user.id, Some(session)));
        }
        drop(client);
        self.provider_sign_up(profile, email.as_ref(), link, options, origin)
            .await
    }

    async fn provider_sign_up(
        &self,
        profile: &Profile,
        email: Option<&Email>,
        link: &ProviderLink<'_>,
        options: Option<SignUpOptionsInput>,
        origin: Origin,
    ) -> Result<(Uuid, Option<Session>), ApiError> {
        if !self.registration.admits(origin)? {
            // `AUTH_DISABLE_AUTO_SIGNUP`: an unknown identity, as for a wrong password.
            return Err(ErrorCode::InvalidEmailPassword.into());
        }
        if let Some(email) = email {
            self.settings.policy().check_email(email.as_str())?;
        }
        let mut options = options.unwrap_or_default();
        // The provider's locale is the default when the client asked for none.
        if options.locale.is_none()
            && let Some(locale) = &profile.locale
        {
            let short: String = locale.chars().take(2).collect::<String>().to_lowercase();
            options.locale = LocaleCode::parse(short).ok();
        }
        let default_name = if profile.name.trim().is_empty() {
            profile.id.clone()
        } else {
            profile.name.clone()
        };
        let options = self
            .settings
            .policy()
            .resolve_signup_options(Some(options), &default_name)?;
        let avatar_url = if !profile.avatar_url.is_empty() {
            profile.avatar_url.clone()
        } else {
            email
                .map(|e| self.settings.policy().avatar_url(e.as_str()))
                .unwrap_or_default()
        };
        let registered = self
            .registration
            .register(NewAccount {
                id: None,
                email,
                email_verified: profile.email_verified,
                credential: Credential::Provider(link),
                options: &options,
                avatar_url: &avatar_url,
                code_challenge: None,
                origin,
            })
            .await?;
        Ok(match registered {
            Registered::Session { user_id, session } => (user_id, Some(*session)),
            Registered::PendingVerification { user_id } => (user_id, None),
        })
    }

    /// Checks an Apple or Google id token (`disabled-endpoint` when its audience is not
    /// configured, `invalid-request` when the token fails a check).
    async fn verified_id_token(
        &self,
        provider: IdTokenProvider,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<Profile, ApiError> {
        let verifier = match provider {
            IdTokenProvider::Apple => self.oauth.apple_id_tokens.clone(),
            IdTokenProvider::Google => self.oauth.google_id_tokens.clone(),
        }
        .ok_or(ErrorCode::DisabledEndpoint)?;
        let claims = verifier
            .verify(id_token, Nonce::HashedIfPresent(nonce.unwrap_or_default()))
            .await
            .map_err(|e| {
                tracing::info!(provider = provider.id(), error = %e, "id token rejected");
                ErrorCode::InvalidRequest
            })?;
        let profile = id_token_profile(&claims);
        if profile.id.is_empty() {
            return Err(ErrorCode::OauthProfileFetchFailed.into());
        }
        Ok(profile)
    }

    /// `POST /signin/idtoken` (`Origin::SignIn`) and `POST /signup/idtoken`
    /// (`Origin::SignUp`: 409 `user-already-exists` for a known account).
    pub async fn sign_in_id_token(
        &self,
        provider: IdTokenProvider,
        id_token: &str,
        nonce: Option<&str>,
        options: Option<SignUpOptionsInput>,
        origin: Origin,
    ) -> Result<Option<Session>, ApiError> {
        let profile = self.verified_id_token(provider, id_token, nonce).await?;
        let email = profile
            .email
            .as_deref()
            .ok_or(ErrorCode::InvalidEmailPassword)?;
        self.settings.policy().check_email(email)?;
        let link = ProviderLink {
            provider_id: provider.id(),
            provider_user_id: &profile.id,
            access_token: NO_ACCESS_TOKEN,
            refresh_token: None,
        };
        let (_, session) = self
            .provider_sign_in(&profile, &link, options, origin)
            .await?;
        Ok(session)
    }

    /// `POST /link/idtoken`: links the id token's account to the caller.
    pub async fn link_id_token(
        &self,
        caller: &VerifiedToken,
        provider: IdTokenProvider,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<(), ApiError> {
        let profile = self.verified_id_token(provider, id_token, nonce).await?;
        let user_id = caller.user_id().ok_or(ErrorCode::InvalidRequest)?;
        let user = self
            .accounts
            .checked_user(user_id, Default::default())
            .await?;
        let link = ProviderLink {
            provider_id: provider.id(),
            provider_user_id: &profile.id,
            access_token: NO_ACCESS_TOKEN,
            refresh_token: None,
        };
        let client = self.db.get().await?;
        if !db::insert_link(&client, user.id, &link).await? {
            return Err(already_linked(&client, user.id, &link).await?);
        }
        Ok(())
    }

    /// `GET /signin/provider/{provider}/callback/tokens`: the provider session of the
    /// caller's latest sign-in with that provider, once.
    pub async fn take_provider_session(
        &self,
        caller: &VerifiedToken,
        provider: &str,
    ) -> Result<ProviderSession, ApiError> {
        if self.oauth.get(provider).is_none() {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        let user_id = caller.subject_id().ok_or(ErrorCode::InvalidRequest)?;
        let client = self.db.get().await?;
        let row = db::take_provider_session(&client, user_id, provider, PROVIDER_SESSION_TTL_SECS)
            .await?
            .ok_or(ErrorCode::InvalidRequest)?;
        Ok(session_view(Utc::now(), row))
    }

    /// `POST /token/provider/{provider}`: the provider's refresh-token grant.
    pub async fn refresh_provider_session(
        &self,
        caller: &VerifiedToken,
        provider_name: &str,
        refresh_token: &str,
    ) -> Result<ProviderSession, ApiError> {
        let provider = self
            .oauth
            .get(provider_name)
            .ok_or(ErrorCode::DisabledEndpoint)?;
        if !provider.supports_refresh() {
            return Err(ErrorCode::OauthProviderError.into());
        }
        let tokens = provider.refresh(refresh_token).await.map_err(|e| {
            tracing::warn!(provider = provider_name, error = %e, "provider token refresh");
            ErrorCode::OauthProviderError
        })?;
        if let Some(user_id) = caller.subject_id() {
            let client = self.db.get().await?;
            db::update_refreshed_tokens(
                &client,
                user_id,
                provider.id(),
                refresh_token,
                &tokens.access_token,
                tokens.refresh_token.as_deref(),
            )
            .await?;
        }
        let now = Utc::now();
        let expires_in = tokens.expires_in.and_then(|s| i64::try_from(s).ok());
        Ok(ProviderSession {
            access_token: Redacted::new(tokens.access_token),
            expires_in: expires_in.unwrap_or(0),
            expires_at: (now + chrono::Duration::seconds(expires_in.unwrap_or(0)))
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            refresh_token: tokens.refresh_token.map(Redacted::new),
        })
    }
}

/// The answer when linking a provider account that is already linked: to another user,
/// `provider-account-already-linked` under 0.52 (v0.42: `invalid-request`); to the
/// caller, `invalid-request` under both.
async fn already_linked(
    client: &impl crate::db::Db,
    user_id: Uuid,
    link: &ProviderLink<'_>,
) -> Result<ApiError, ApiError> {
    let holder = db::find_user_by_provider(client, link.provider_id, link.provider_user_id).await?;
    Ok(match holder {
        Some(other) if other.id != user_id => ApiError::Changed {
            v0_42: ErrorCode::InvalidRequest,
            v0_52: ErrorCode::ProviderAccountAlreadyLinked,
        },
        _ => ErrorCode::InvalidRequest.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_state_round_trips() {
        let kept = KeptState {
            options: KeptOptions {
                allowed_roles: Some(vec!["me".into()]),
                redirect_to: "http://localhost:3000".into(),
                ..KeptOptions::default()
            },
            connect: Some(Connect::User {
                user_id: Uuid::nil(),
                exp: 5,
            }),
            client_state: Some("abc".into()),
            nonce: "n".into(),
            provider: serde_json::json!({"pkceVerifier": "v"}),
            code_challenge: Some("c".into()),
            sign_up: true,
        };
        let v = serde_json::to_value(&kept).expect("serialize");
        assert_eq!(v["connect"]["kind"], "user");
        let back: KeptState = serde_json::from_value(v).expect("deserialize");
        assert!(matches!(back.connect, Some(Connect::User { exp: 5, .. })));
        assert!(back.sign_up);
        assert_eq!(back.code_challenge.as_deref(), Some("c"));
        // A state written before these fields existed is a sign-in without PKCE.
        let old: KeptState = serde_json::from_value(
            serde_json::json!({"options": {"redirectTo": "x"}, "nonce": "n"}),
        )
        .expect("old state");
        assert!(!old.sign_up && old.code_challenge.is_none());
        assert_eq!(
            back.options.into_input().allowed_roles,
            Some(vec!["me".to_owned()])
        );
    }

    #[test]
    fn upstream_params_replace_or_extend_the_authorization_query() {
        let url = "https://idp.example.com/authorize?client_id=c&prompt=consent&state=s";
        let params = vec![
            ("prompt".to_owned(), "select_account".to_owned()),
            ("login_hint".to_owned(), "a b&c".to_owned()),
        ];
        let out = Url::parse(&with_upstream_params(url, &params)).unwrap();
        let pairs: Vec<(String, String)> = out.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![
                ("client_id".to_owned(), "c".to_owned()),
                ("state".to_owned(), "s".to_owned()),
                ("prompt".to_owned(), "select_account".to_owned()),
                ("login_hint".to_owned(), "a b&c".to_owned()),
            ]
        );
        assert_eq!(with_upstream_params(url, &[]), url);
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
    }

    #[test]
    fn provider_session_view_without_expiry() {
        let at = Utc::now();
        let view = session_view(
            at,
            ProviderSessionRow {
                access_token: "a".into(),
                refresh_token: None,
                expires_at: None,
            },
        );
        assert_eq!(view.expires_in, 0);
        let json = serde_json::to_value(&view).expect("json");
        assert!(json.get("refreshToken").is_none());
    }
}
