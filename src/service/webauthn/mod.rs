//! WebAuthn workflows: passkey sign-up, sign-in (with an email or discoverable),
//! adding security keys and elevating a session.
//!
//! Every ceremony is two requests. The first stores the library's ceremony state in
//! PostgreSQL under its challenge (so any instance can answer the second) and returns
//! the options; the second takes the state out (single use, expiring), has webauthn-rs
//! verify the response, and only then touches users, keys or sessions. Any refusal of
//! the response itself is `invalid-request`, as upstream.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::db::users::{self, UserRow};
use crate::db::webauthn::{self as keys_db, CeremonyKind, StoredKey};
use crate::domain::options::SignUpOptionsInput;
use crate::domain::webauthn::{CredentialAssertion, CredentialCreation};
use crate::domain::{CodeChallenge, Email, SignUpOptions};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::registration::{Credential, NewAccount, Origin, Registered, Registration};
use crate::service::session::Session;
use crate::service::user_check::Tolerate;

use crate::adapters::webauthn as rp;
pub use rp::{CreationOptions, RelyingParty, RequestOptions};

/// A refused ceremony: `invalid-request`, with the reason in the message.
fn rejected(reason: impl std::fmt::Display) -> ApiError {
    tracing::info!(%reason, "webauthn ceremony refused");
    ApiError::validation(format!("webauthn: {reason}"))
}

impl From<rp::Rejection> for ApiError {
    fn from(r: rp::Rejection) -> Self {
        rejected(r)
    }
}

/// What a pending passkey sign-up remembers between its two requests.
#[derive(Serialize, Deserialize)]
struct PendingSignup {
    email: String,
    allowed_roles: Vec<String>,
    default_role: String,
    display_name: String,
    locale: String,
    metadata: Value,
    redirect_to: String,
}

/// The result of `POST /user/webauthn/verify`.
pub struct AddedKey {
    pub id: Uuid,
    pub nickname: Option<String>,
}

/// WebAuthn ceremonies: passkey sign-up and sign-in, adding keys, elevation.
#[derive(Clone)]
pub struct Passkeys {
    pub(crate) db: crate::db::DbPool,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) registration: Registration,
    pub(crate) settings: crate::settings::SettingsHandle,
}

impl Passkeys {
    /// The relying party, or `disabled-endpoint` when WebAuthn is off.
    fn relying_party(&self) -> Result<Arc<RelyingParty>, ApiError> {
        self.settings
            .snapshot()
            .webauthn
            .clone()
            .ok_or_else(|| ErrorCode::DisabledEndpoint.into())
    }

    async fn store_ceremony(
        &self,
        rp: &RelyingParty,
        challenge: &str,
        kind: CeremonyKind,
        user_id: Option<Uuid>,
        state: &impl Serialize,
        signup: Option<&Value>,
    ) -> Result<(), ApiError> {
        let state = serde_json::to_value(state).map_err(ApiError::internal)?;
        let db = self.db.get().await?;
        keys_db::insert_ceremony(
            &db,
            challenge,
            kind,
            user_id,
            &state,
            signup,
            i64::from(rp.timeout_ms()),
        )
        .await?;
        Ok(())
    }

    /// Takes the ceremony a response answers; unknown, used or expired: refused.
    async fn take_ceremony<S: for<'de> Deserialize<'de>>(
        &self,
        client_data_json: &[u8],
        kind: CeremonyKind,
        user_id: Option<Uuid>,
    ) -> Result<(keys_db::Ceremony, S), ApiError> {
        let challenge = rp::answered_challenge(client_data_json)?;
        let db = self.db.get().await?;
        let ceremony = keys_db::take_ceremony(&db, &challenge, kind, user_id)
            .await?
            .ok_or_else(|| rejected("unknown, used or expired challenge"))?;
        let state = serde_json::from_value(ceremony.state.clone()).map_err(|e| {
            // E.g. a ceremony begun by another version of the service.
            tracing::warn!(error = %e, "unreadable webauthn ceremony state");
            rejected("the ceremony cannot be finished; start again")
        })?;
        Ok((ceremony, state))
    }

    /// Begins an authentication with `keys` (none: discoverable) and stores it.
    async fn start_authentication_ceremony(
        &self,
        rp: &RelyingParty,
        keys: &[StoredKey],
        kind: CeremonyKind,
        user_id: Option<Uuid>,
    ) -> Result<RequestOptions, ApiError> {
        if user_id.is_some() && keys.is_empty() {
            return Err(rejected("the user has no security key"));
        }
        let (options, state) = rp.start_authentication(keys)?;
        self.store_ceremony(rp, &options.challenge, kind, user_id, &state, None)
            .await?;
        Ok(options)
    }

    async fn keys_of(&self, user_id: Uuid) -> Result<Vec<StoredKey>, ApiError> {
        let db = self.db.get().await?;
        Ok(keys_db::keys_of_user(&db, user_id).await?)
    }

    /// `POST /signup/webauthn`: registration options for a new user.
    pub async fn webauthn_signup_start(
        &self,
        email: Email,
        options: Option<SignUpOptionsInput>,
    ) -> Result<CreationOptions, ApiError> {
        let rp = self.relying_party()?;
        if self.settings.config().signup.disable_signup {
            return Err(ErrorCode::SignupDisabled.into());
        }
        let options = self
            .settings
            .policy()
            .resolve_signup_options(options, email.as_str())?;
        self.settings.policy().check_email(email.as_str())?;
        let user_id = Uuid::new_v4();
        let (creation, state) = rp.start_registration(user_id, &options.display_name, &[])?;
        let pending = PendingSignup {
            email: email.as_str().to_owned(),
            allowed_roles: options.allowed_roles,
            default_role: options.default_role,
            display_name: options.display_name,
            locale: options.locale,
            metadata: options.metadata,
            redirect_to: options.redirect_to,
        };
        let pending = serde_json::to_value(&pending).map_err(ApiError::internal)?;
        self.store_ceremony(
            &rp,
            &creation.challenge,
            CeremonyKind::Signup,
            Some(user_id),
            &state,
            Some(&pending),
        )
        .await?;
        Ok(creation)
    }

    /// `POST /signup/webauthn/verify`: creates the user with its first key; a session,
    /// or `None` when the email must be verified first (the email is sent).
    ///
    /// The options given at `/signup/webauthn` apply: upstream copies the ones sent here
    /// only into fields that are unset, which never happens.
    pub async fn webauthn_signup_finish(
        &self,
        credential: CredentialCreation,
        nickname: Option<String>,
        code_challenge: Option<CodeChallenge>,
    ) -> Result<Option<Session>, ApiError> {
        let rp = self.relying_party()?;
        if self.settings.config().signup.disable_signup {
            return Err(ErrorCode::SignupDisabled.into());
        }
        let (ceremony, state) = self
            .take_ceremony(
                &credential.response.client_data_json.0,
                CeremonyKind::Signup,
                None,
            )
            .await?;
        let key = rp.finish_registration(&credential, &state)?;
        let (Some(user_id), Some(pending)) = (ceremony.user_id, ceremony.signup) else {
            return Err(ApiError::internal("sign-up ceremony without user"));
        };
        let pending: PendingSignup = serde_json::from_value(pending).map_err(ApiError::internal)?;
        let options = SignUpOptions {
            allowed_roles: pending.allowed_roles,
            default_role: pending.default_role,
            display_name: pending.display_name,
            locale: pending.locale,
            metadata: pending.metadata,
            redirect_to: pending.redirect_to,
        };
        let email = Email::parse(&pending.email).map_err(ApiError::internal)?;
        let avatar_url = self.settings.policy().avatar_url(email.as_str());
        let new_key = key.to_store(nickname.as_deref());
        // Upstream's `SignupUserWithFn` with `sendConfirmationEmail = true`.
        let registered = self
            .registration
            .register(NewAccount {
                id: Some(user_id),
                email: Some(&email),
                email_verified: false,
                credential: Credential::SecurityKey(&new_key),
                options: &options,
                avatar_url: &avatar_url,
                code_challenge: code_challenge.as_ref(),
                origin: Origin::SignUp,
            })
            .await?;
        Ok(match registered {
            Registered::Session { session, .. } => Some(*session),
            Registered::PendingVerification { .. } => None,
        })
    }

    /// `POST /signin/webauthn`: with an email, the user's keys are offered; without,
    /// the authenticator chooses a discoverable credential (passkey).
    pub async fn webauthn_signin_start(
        &self,
        email: Option<Email>,
    ) -> Result<RequestOptions, ApiError> {
        let rp = self.relying_party()?;
        let Some(email) = email else {
            return self
                .start_authentication_ceremony(&rp, &[], CeremonyKind::Signin, None)
                .await;
        };
        let db = self.db.get().await?;
        let user = users::find_by_email(&db, &email)
            .await?
            .ok_or(ErrorCode::InvalidEmailPassword)?;
        self.accounts.check(&user, Tolerate::default())?;
        let keys = keys_db::keys_of_user(&db, user.id).await?;
        drop(db);
        self.start_authentication_ceremony(&rp, &keys, CeremonyKind::Signin, Some(user.id))
            .await
    }

    /// `POST /signin/webauthn/verify`.
    pub async fn webauthn_signin_finish(
        &self,
        assertion: CredentialAssertion,
    ) -> Result<Session, ApiError> {
        let user = self.check_webauthn_signin(&assertion).await?;
        self.sessions.new_session(&user).await
    }

    /// The sign-in of `POST /signin/webauthn/verify` without the session: the user the
    /// assertion proves, checked as for a sign-in (the OAuth2 built-in page).
    pub async fn check_webauthn_signin(
        &self,
        assertion: &CredentialAssertion,
    ) -> Result<UserRow, ApiError> {
        let rp = self.relying_party()?;
        let (ceremony, state) = self
            .take_ceremony(
                &assertion.response.client_data_json.0,
                CeremonyKind::Signin,
                None,
            )
            .await?;
        let user_id = self.asserted_user(assertion, ceremony.user_id)?;
        let user = self
            .verify_assertion(&rp, assertion, state, user_id)
            .await?;
        self.accounts.check(&user, Tolerate::default())?;
        Ok(user)
    }

    /// Whether WebAuthn is on (`AUTH_WEBAUTHN_ENABLED`).
    pub fn enabled(&self) -> bool {
        self.settings.snapshot().webauthn.is_some()
    }

    /// The user an assertion is for: the ceremony's, or for a discoverable sign-in the
    /// one the authenticator's user handle names. A user handle that names someone
    /// else than the ceremony's user is refused.
    fn asserted_user(
        &self,
        assertion: &CredentialAssertion,
        ceremony_user: Option<Uuid>,
    ) -> Result<Uuid, ApiError> {
        let from_handle = match &assertion.response.user_handle {
            None => None,
            Some(handle) => Some(
                rp::user_id_from_handle(&handle.0)
                    .ok_or_else(|| rejected("the user handle names no user"))?,
            ),
        };
        match (ceremony_user, from_handle) {
            (Some(expected), Some(named)) if expected != named => {
                Err(rejected("the user handle names another user"))
            }
            (Some(expected), _) => Ok(expected),
            (None, Some(named)) => Ok(named),
            (None, None) => Err(rejected(
                "a discoverable sign-in needs the authenticator's user handle",
            )),
        }
    }

    /// Verifies an assertion against the user's current keys and records the new
    /// counter; returns the user.
    async fn verify_assertion(
        &self,
        rp: &RelyingParty,
        assertion: &CredentialAssertion,
        state: webauthn_rs_core::proto::AuthenticationState,
        user_id: Uuid,
    ) -> Result<UserRow, ApiError> {
        let db = self.db.get().await?;
        let keys = keys_db::keys_of_user(&db, user_id).await?;
        let used = rp.finish_authentication(assertion, state, &keys)?;
        let recorded = keys_db::record_use(
            &db,
            &used.credential_id,
            used.verified_against,
            used.counter,
            used.flags,
        )
        .await?;
        if !recorded {
            return Err(rejected(
                "the credential was used concurrently (signature counter moved)",
            ));
        }
        tracing::debug!(key = %used.key_id, counter = used.counter, "security key used");
        users::find_by_id(&db, user_id)
            .await?
            .ok_or_else(|| rejected("the credential's user no longer exists"))
    }

    /// `POST /user/webauthn/add`: registration options for one more key of the caller.
    pub async fn webauthn_add_key_start(
        &self,
        token: &crate::tokens::VerifiedToken,
    ) -> Result<CreationOptions, ApiError> {
        let rp = self.relying_party()?;
        let user = self
            .accounts
            .user_from_token(token, Tolerate::default())
            .await?;
        let keys = self.keys_of(user.id).await?;
        let (creation, state) = rp.start_registration(user.id, &user.display_name, &keys)?;
        self.store_ceremony(
            &rp,
            &creation.challenge,
            CeremonyKind::AddKey,
            Some(user.id),
            &state,
            None,
        )
        .await?;
        Ok(creation)
    }

    /// `POST /user/webauthn/verify`: stores the new key of the caller.
    pub async fn webauthn_add_key_finish(
        &self,
        token: &crate::tokens::VerifiedToken,
        credential: CredentialCreation,
        nickname: Option<String>,
    ) -> Result<AddedKey, ApiError> {
        let rp = self.relying_party()?;
        let user = self
            .accounts
            .user_from_token(token, Tolerate::default())
            .await?;
        // Only a ceremony this user started: another user's challenge is unknown here.
        let (_, state) = self
            .take_ceremony(
                &credential.response.client_data_json.0,
                CeremonyKind::AddKey,
                Some(user.id),
            )
            .await?;
        let key = rp.finish_registration(&credential, &state)?;
        let stored_nickname = nickname.as_deref().filter(|n| !n.is_empty());
        let db = self.db.get().await?;
        let id = keys_db::insert_key(&db, user.id, &key.to_store(stored_nickname))
            .await?
            .ok_or_else(|| rejected("this credential is already registered"))?;
        audit::event("passkey-added", Outcome::Success)
            .user(user.id)
            .reason(id.to_string())
            .record();
        Ok(AddedKey { id, nickname })
    }

    /// `POST /elevate/webauthn`: authentication options with the caller's keys.
    pub async fn webauthn_elevate_start(
        &self,
        token: &crate::tokens::VerifiedToken,
    ) -> Result<RequestOptions, ApiError> {
        let rp = self.relying_party()?;
        let user = self
            .accounts
            .user_from_token(token, Tolerate::default())
            .await?;
        let keys = self.keys_of(user.id).await?;
        self.start_authentication_ceremony(&rp, &keys, CeremonyKind::Elevate, Some(user.id))
            .await
    }

    /// `POST /elevate/webauthn/verify`: a new session whose access token carries
    /// `x-hasura-auth-elevated`.
    pub async fn webauthn_elevate_finish(
        &self,
        token: &crate::tokens::VerifiedToken,
        assertion: CredentialAssertion,
    ) -> Result<Session, ApiError> {
        let rp = self.relying_party()?;
        let user = self
            .accounts
            .user_from_token(token, Tolerate::default())
            .await?;
        let (ceremony, state) = self
            .take_ceremony(
                &assertion.response.client_data_json.0,
                CeremonyKind::Elevate,
                Some(user.id),
            )
            .await?;
        let user_id = self.asserted_user(&assertion, ceremony.user_id)?;
        let user = self
            .verify_assertion(&rp, &assertion, state, user_id)
            .await?;
        self.accounts.check(&user, Tolerate::default())?;
        self.sessions.new_session_with(&user, true).await
    }
}
