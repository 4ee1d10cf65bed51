//! What an operator does to accounts (`hasura-auth users|sessions …`, docs/cli.md), under
//! the API's rules: users are created by the registration workflow; passwords pass the
//! same rules (length, breached-password check) and hashing; emails the same parsing and
//! allow/block lists; roles must be allowed roles; sessions end as sign-out ends them.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::users::{self, UserListing};
use crate::db::{DbPool, email_flows, refresh_tokens};
use crate::domain::options::SignUpOptionsInput;
use crate::domain::{Email, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::password_check::NewPasswordRules;
use crate::service::registration::{
    Invitation, OperatorAccount, OperatorCredential, OperatorEmail, Registration,
};
use crate::service::session::Sessions;
use crate::settings::SettingsHandle;
use crate::tokens::password_hash::PasswordHasher;

/// The operator's actions on users and their sessions.
#[derive(Clone)]
pub struct UserAdmin {
    pub(crate) db: DbPool,
    pub(crate) passwords: Arc<PasswordHasher>,
    pub(crate) password_rules: NewPasswordRules,
    pub(crate) registration: Registration,
    pub(crate) sessions: Sessions,
    pub(crate) settings: SettingsHandle,
    /// The level the database was found at (what the client commands may use).
    pub(crate) schema: crate::db::SchemaLevel,
}

/// Why an operator's action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no user {0}")]
    UnknownUser(String),
    #[error("user {user} has no session {session}")]
    UnknownSession { user: Uuid, session: Uuid },
    #[error("no OAuth2 client {0}")]
    UnknownClient(String),
    /// The database's schema level lacks what the command needs.
    #[error("{0}")]
    Schema(String),
    /// Input that is not well-formed (an email, a password outside the contract's length…).
    #[error("{0}")]
    Invalid(String),
    /// Refused by a rule of the API; `code` is the API's error code.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    /// The database, the mail server or the breached-password service failed.
    #[error("{0}")]
    Failed(String),
}

impl AdminError {
    fn refused(code: ErrorCode, message: impl Into<String>) -> AdminError {
        AdminError::Refused {
            code,
            message: message.into(),
        }
    }
}

impl From<ApiError> for AdminError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Code(ErrorCode::InternalServerError) => {
                AdminError::Failed("internal error".into())
            }
            ApiError::Code(code) => AdminError::refused(code, code.message()),
            ApiError::Custom { code, message, .. } => AdminError::refused(code, message),
            ApiError::Validation(message) | ApiError::Decoding { message, .. } => {
                AdminError::Invalid(message)
            }
            ApiError::Unauthorized { refusal, .. } => AdminError::Invalid(refusal.to_string()),
            // The operator reads the more precise of the two codes.
            ApiError::Changed { v0_52, .. } => AdminError::refused(v0_52, v0_52.message()),
            ApiError::Internal(message) => AdminError::Failed(message),
            ApiError::Unavailable(message) => {
                AdminError::Failed(format!("database unavailable: {message}"))
            }
        }
    }
}

impl From<ErrorCode> for AdminError {
    fn from(code: ErrorCode) -> Self {
        ApiError::from(code).into()
    }
}

impl From<crate::db::DbError> for AdminError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<deadpool_postgres::PoolError> for AdminError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        AdminError::Failed(format!("database: {e}"))
    }
}

/// A user named on the command line: an id, or an email address.
#[derive(Debug, Clone)]
pub enum UserKey {
    Id(Uuid),
    Email(Email),
}

impl UserKey {
    pub fn parse(s: &str) -> Result<UserKey, AdminError> {
        if let Ok(id) = Uuid::parse_str(s) {
            return Ok(UserKey::Id(id));
        }
        Email::parse(s).map(UserKey::Email).map_err(|_| {
            AdminError::Invalid(format!(
                "{s:?} is neither a user id (UUID) nor an email address"
            ))
        })
    }
}

impl std::fmt::Display for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserKey::Id(id) => write!(f, "{id}"),
            UserKey::Email(email) => write!(f, "{email}"),
        }
    }
}

/// A user as the operator's commands print it (`--json` field names are stable).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    pub id: Uuid,
    pub email: Option<String>,
    pub display_name: String,
    pub phone_number: Option<String>,
    pub locale: String,
    pub default_role: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub email_verified: bool,
    pub phone_number_verified: bool,
    pub is_anonymous: bool,
    pub active_mfa_type: Option<String>,
    pub created_at: String,
    pub last_seen: Option<String>,
    pub metadata: Value,
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<UserListing> for UserRecord {
    fn from(l: UserListing) -> Self {
        let u = l.user;
        UserRecord {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            phone_number: u.phone_number,
            locale: u.locale,
            default_role: u.default_role,
            roles: l.roles,
            disabled: u.disabled,
            email_verified: u.email_verified,
            phone_number_verified: u.phone_number_verified,
            is_anonymous: u.is_anonymous,
            active_mfa_type: u.active_mfa_type.filter(|t| !t.is_empty()),
            created_at: timestamp(u.created_at),
            last_seen: l.last_seen.map(timestamp),
            // As `GET /user`: SQL NULL and JSON null read as {}.
            metadata: match u.metadata {
                Some(Value::Object(m)) => Value::Object(m),
                _ => Value::Object(Map::new()),
            },
        }
    }
}

/// One page of [`UserAdmin::list`].
#[derive(Debug, Clone, Serialize)]
pub struct UsersPage {
    pub users: Vec<UserRecord>,
    /// How many users match, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A refresh token or personal access token, never its value or hash.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    pub id: Uuid,
    /// `regular` (a session) or `pat` (a personal access token).
    #[serde(rename = "type")]
    pub token_type: String,
    pub created_at: String,
    pub expires_at: String,
    pub expired: bool,
    pub metadata: Option<Value>,
}

/// How the new user gets in.
pub enum NewCredential {
    Password(Password),
    Invitation(Invitation),
}

/// `hasura-auth users create`.
pub struct NewUserRequest {
    pub email: Email,
    pub credential: NewCredential,
    /// The operator vouches for the address.
    pub verified: bool,
    /// Roles, default role, display name, locale, metadata and redirect, as in sign-up.
    pub options: SignUpOptionsInput,
}

/// What `users create` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedUser {
    pub user: UserRecord,
    /// `none`, `verification`, `password-reset` or `magic-link`.
    pub email_sent: &'static str,
}

impl UserAdmin {
    pub async fn find(&self, key: &UserKey) -> Result<UserRecord, AdminError> {
        Ok(self.listing(key).await?.into())
    }

    async fn listing(&self, key: &UserKey) -> Result<UserListing, AdminError> {
        let db = self.db.get().await?;
        let found = match key {
            UserKey::Id(id) => users::listing_by_id(&db, *id).await?,
            UserKey::Email(email) => users::listing_by_email(&db, email).await?,
        };
        found.ok_or_else(|| AdminError::UnknownUser(key.to_string()))
    }

    async fn user_id(&self, key: &UserKey) -> Result<Uuid, AdminError> {
        Ok(self.listing(key).await?.user.id)
    }

    pub async fn list(
        &self,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<UsersPage, AdminError> {
        let db = self.db.get().await?;
        let (found, total) = users::list(&db, search, limit, offset).await?;
        Ok(UsersPage {
            users: found.into_iter().map(UserRecord::from).collect(),
            total,
            limit,
            offset,
        })
    }

    /// Creates a user through the registration workflow, with the sign-up rules for the
    /// email, the password and the options.
    pub async fn create(&self, request: NewUserRequest) -> Result<CreatedUser, AdminError> {
        let email = request.email;
        {
            let settings = self.settings.snapshot();
            if !settings.policy.email_access.allows(email.as_str()) {
                return Err(AdminError::refused(
                    ErrorCode::InvalidEmailPassword,
                    format!(
                        "{email} is not allowed by the access-control lists \
                         (AUTH_ACCESS_CONTROL_ALLOWED_EMAILS, …_ALLOWED_EMAIL_DOMAINS, \
                         …_BLOCKED_EMAILS, …_BLOCKED_EMAIL_DOMAINS)"
                    ),
                ));
            }
            // The API falls back to the default locale silently; an operator who typed
            // one wants to know.
            if let Some(locale) = &request.options.locale
                && !settings
                    .policy
                    .allowed_locales
                    .contains(&locale.as_str().to_owned())
            {
                return Err(AdminError::refused(
                    ErrorCode::LocaleNotAllowed,
                    format!(
                        "locale {:?} is not one of AUTH_LOCALE_ALLOWED_LOCALES ({})",
                        locale.as_str(),
                        settings.policy.allowed_locales.join(", ")
                    ),
                ));
            }
            if matches!(
                request.credential,
                NewCredential::Invitation(Invitation::MagicLink)
            ) && !settings.config.passwordless.email_passwordless_enabled
            {
                return Err(AdminError::refused(
                    ErrorCode::DisabledEndpoint,
                    "magic-link invitations need AUTH_EMAIL_PASSWORDLESS_ENABLED=true \
                     (or invite with a password-reset link)",
                ));
            }
        }
        let (options, avatar_url, allowed_roles) = {
            let policy = self.settings.policy();
            let options = policy
                .resolve_signup_options(Some(request.options), email.as_str())
                .map_err(|code| self.explain(code))?;
            (
                options,
                policy.avatar_url(email.as_str()),
                policy.allowed_roles.clone(),
            )
        };
        let password_hash = match &request.credential {
            NewCredential::Password(password) => {
                self.password_rules.check(password).await?;
                Some(self.passwords.hash(password.expose()).await?)
            }
            NewCredential::Invitation(_) => None,
        };
        {
            // As at server start-up: the configured roles exist before users get them.
            let db = self.db.get().await?;
            users::upsert_roles(&db, &allowed_roles).await?;
        }
        let credential = match (&password_hash, &request.credential) {
            (Some(hash), _) => OperatorCredential::PasswordHash(hash),
            (None, NewCredential::Invitation(invitation)) => {
                OperatorCredential::Invitation(*invitation)
            }
            (None, NewCredential::Password(_)) => {
                return Err(AdminError::Failed("password was not hashed".into()));
            }
        };
        // `/verify` refuses a password-reset ticket of an unverified user (as the API's
        // reset flow does), so the invited address counts as verified: only its owner
        // can follow the link.
        let email_verified = request.verified
            || matches!(
                request.credential,
                NewCredential::Invitation(Invitation::PasswordReset)
            );
        let (user_id, emailed) = self
            .registration
            .register_by_operator(OperatorAccount {
                email: &email,
                email_verified,
                credential,
                options: &options,
                avatar_url: &avatar_url,
            })
            .await?;
        Ok(CreatedUser {
            user: self.find(&UserKey::Id(user_id)).await?,
            email_sent: match emailed {
                OperatorEmail::Nothing => "none",
                OperatorEmail::Verification => "verification",
                OperatorEmail::Invitation(Invitation::PasswordReset) => "password-reset",
                OperatorEmail::Invitation(Invitation::MagicLink) => "magic-link",
            },
        })
    }

    /// The sign-up option codes, with what an operator needs to fix them.
    fn explain(&self, code: ErrorCode) -> AdminError {
        let policy = self.settings.policy();
        let message = match code {
            ErrorCode::RoleNotAllowed => format!(
                "a role is not one of AUTH_USER_DEFAULT_ALLOWED_ROLES ({})",
                policy.allowed_roles.join(", ")
            ),
            ErrorCode::DefaultRoleMustBeInAllowedRoles => {
                "the default role must be one of the user's roles".to_owned()
            }
            ErrorCode::RedirectToNotAllowed => "--redirect-to is not AUTH_CLIENT_URL nor one of \
                 AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS"
                .to_owned(),
            other => other.message().to_owned(),
        };
        AdminError::refused(code, message)
    }

    pub async fn set_disabled(
        &self,
        key: &UserKey,
        disabled: bool,
    ) -> Result<UserRecord, AdminError> {
        let id = self.user_id(key).await?;
        let db = self.db.get().await?;
        users::set_disabled(&db, id, disabled).await?;
        drop(db);
        self.find(&UserKey::Id(id)).await
    }

    pub async fn verify_email(&self, key: &UserKey) -> Result<UserRecord, AdminError> {
        let listing = self.listing(key).await?;
        if listing.user.email.is_none() {
            return Err(AdminError::Invalid(format!(
                "user {} has no email address",
                listing.user.id
            )));
        }
        let db = self.db.get().await?;
        users::mark_email_verified(&db, listing.user.id).await?;
        drop(db);
        self.find(&UserKey::Id(listing.user.id)).await
    }

    /// The rules and hashing of `POST /user/password`; sessions are left as they are.
    pub async fn set_password(
        &self,
        key: &UserKey,
        password: Password,
    ) -> Result<UserRecord, AdminError> {
        let id = self.user_id(key).await?;
        self.password_rules.check(&password).await?;
        let hash = self.passwords.hash(password.expose()).await?;
        let db = self.db.get().await?;
        email_flows::set_password_hash(&db, id, &hash).await?;
        drop(db);
        self.find(&UserKey::Id(id)).await
    }

    /// Adds roles; each must be one of the allowed roles (`role-not-allowed`).
    pub async fn add_roles(
        &self,
        key: &UserKey,
        roles: &[String],
    ) -> Result<UserRecord, AdminError> {
        let allowed = self.settings.policy().allowed_roles.clone();
        if let Some(role) = roles.iter().find(|r| !allowed.contains(r)) {
            return Err(AdminError::refused(
                ErrorCode::RoleNotAllowed,
                format!(
                    "role {role:?} is not one of AUTH_USER_DEFAULT_ALLOWED_ROLES ({})",
                    allowed.join(", ")
                ),
            ));
        }
        let id = self.user_id(key).await?;
        let db = self.db.get().await?;
        users::upsert_roles(&db, &allowed).await?;
        users::add_roles(&db, id, roles).await?;
        drop(db);
        self.find(&UserKey::Id(id)).await
    }

    /// Removes roles, never the default one (it must stay among the user's roles).
    pub async fn remove_roles(
        &self,
        key: &UserKey,
        roles: &[String],
    ) -> Result<UserRecord, AdminError> {
        let listing = self.listing(key).await?;
        if roles.contains(&listing.user.default_role) {
            return Err(AdminError::refused(
                ErrorCode::DefaultRoleMustBeInAllowedRoles,
                format!(
                    "{:?} is the user's default role; set another one first (set-default-role)",
                    listing.user.default_role
                ),
            ));
        }
        let db = self.db.get().await?;
        users::remove_roles(&db, listing.user.id, roles).await?;
        drop(db);
        self.find(&UserKey::Id(listing.user.id)).await
    }

    /// Sets the default role, which must be one of the user's roles.
    pub async fn set_default_role(
        &self,
        key: &UserKey,
        role: &str,
    ) -> Result<UserRecord, AdminError> {
        let listing = self.listing(key).await?;
        if !listing.roles.iter().any(|r| r == role) {
            return Err(AdminError::refused(
                ErrorCode::DefaultRoleMustBeInAllowedRoles,
                format!(
                    "{role:?} is not one of the user's roles ({}); add it first (add-role)",
                    listing.roles.join(", ")
                ),
            ));
        }
        let db = self.db.get().await?;
        users::set_default_role(&db, listing.user.id, role).await?;
        drop(db);
        self.find(&UserKey::Id(listing.user.id)).await
    }

    /// Deletes the user and, by cascade, everything attached to it; returns it as it was.
    pub async fn delete(&self, key: &UserKey) -> Result<UserRecord, AdminError> {
        let record = self.find(key).await?;
        let db = self.db.get().await?;
        if !users::delete(&db, record.id).await? {
            return Err(AdminError::UnknownUser(key.to_string()));
        }
        Ok(record)
    }

    pub async fn sessions(&self, key: &UserKey) -> Result<Vec<SessionRecord>, AdminError> {
        let id = self.user_id(key).await?;
        let db = self.db.get().await?;
        let now = Utc::now();
        Ok(refresh_tokens::list_for_user(&db, id)
            .await?
            .into_iter()
            .map(|t| SessionRecord {
                id: t.id,
                token_type: t.token_type,
                created_at: timestamp(t.created_at),
                expires_at: timestamp(t.expires_at),
                expired: t.expires_at <= now,
                metadata: t.metadata,
            })
            .collect())
    }

    /// Revokes one session, as sign-out does.
    pub async fn revoke_session(&self, key: &UserKey, session: Uuid) -> Result<(), AdminError> {
        let user = self.user_id(key).await?;
        if self.sessions.revoke(user, session).await? {
            Ok(())
        } else {
            Err(AdminError::UnknownSession { user, session })
        }
    }

    /// Revokes every session and personal access token, as `POST /signout {"all": true}`
    /// does; returns how many there were.
    pub async fn revoke_all_sessions(&self, key: &UserKey) -> Result<u64, AdminError> {
        let user = self.user_id(key).await?;
        Ok(self.sessions.sign_out_everywhere(user).await?)
    }
}
