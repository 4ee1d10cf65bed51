//! TOTP multi-factor authentication (`GET /mfa/totp/generate`, `POST /user/mfa`,
//! `POST /signin/mfa/totp`).

use serde::Serialize;
use uuid::Uuid;

use crate::adapters::qr;
use crate::db::{mfa as mfa_db, users};
use crate::domain::OneTimeCode;
use crate::domain::totp::{self, TotpKey};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::lockout::Lockout;
use crate::service::session::Session;
use crate::service::tickets::{Ticket, TicketKind};
use crate::tokens::VerifiedToken;
use crate::tokens::encryption::{SecretCipher, StoredSecretError, TotpSecretStore};
use crate::tokens::secret::Redacted;

pub const MFA_TYPE_TOTP: &str = "totp";
/// Side of the QR code image, in pixels (upstream: 200).
const QR_SIZE: u32 = 200;

/// `{"imageUrl": "data:image/png;base64,…", "totpSecret": "<base32>"}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpSetup {
    /// The QR code encodes the secret, so it is one too.
    pub image_url: Redacted,
    pub totp_secret: Redacted,
}

fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// TOTP second factor: set-up, activation and sign-in.
#[derive(Clone)]
pub struct TotpMfa {
    pub(crate) db: crate::db::DbPool,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) settings: crate::settings::SettingsHandle,
    /// `AUTH_ENCRYPTION_KEY`: how secrets are written, and read back.
    pub(crate) secrets: TotpSecretStore,
    pub(crate) lockout: Lockout,
}

impl TotpMfa {
    fn require_mfa_enabled(&self) -> Result<(), ApiError> {
        if self.settings.config().mfa.mfa_enabled {
            Ok(())
        } else {
            Err(ErrorCode::DisabledEndpoint.into())
        }
    }

    /// Accepts `code` for the user's secret once: valid within ±1 step and for a step
    /// later than any accepted before (no replay).
    async fn accept_totp(&self, user_id: Uuid, stored: &str, code: &str) -> Result<(), ApiError> {
        let secret = self.secrets.from_stored(stored).map_err(|e| {
            // Start-up refuses a database whose secrets the key cannot read, so this is a
            // secret written since by something with another key.
            tracing::error!(user = %user_id, error = %e, "TOTP secret cannot be decrypted");
            ApiError::internal(e)
        })?;
        let key = TotpKey::from_secret(&secret).map_err(|e| {
            tracing::warn!(user = %user_id, error = %e, "unreadable TOTP secret");
            ApiError::Code(ErrorCode::InvalidTotp)
        })?;
        let step = key
            .matching_step(code, now_unix())
            .ok_or(ErrorCode::InvalidTotp)?;
        let step = i64::try_from(step).map_err(ApiError::internal)?;
        let db = self.db.get().await?;
        if mfa_db::claim_totp_step(&db, user_id, step).await? {
            Ok(())
        } else {
            Err(ErrorCode::InvalidTotp.into())
        }
    }

    /// `GET /mfa/totp/generate`: a new secret, stored at once, and its QR code.
    ///
    /// Upstream silently replaced the secret of an active TOTP (locking the user's
    /// authenticator out); here an active TOTP must be deactivated first.
    pub async fn totp_generate(&self, token: &VerifiedToken) -> Result<TotpSetup, ApiError> {
        self.require_mfa_enabled()?;
        let user = self
            .accounts
            .user_from_token(token, Default::default())
            .await?;
        if user.active_mfa_type.as_deref() == Some(MFA_TYPE_TOTP) {
            return Err(ErrorCode::TotpAlreadyActive.into());
        }
        let secret = TotpKey::generate_secret();
        let account = user
            .email
            .clone()
            .filter(|e| !e.is_empty())
            .or_else(|| Some(user.display_name.clone()).filter(|d| !d.is_empty()))
            .unwrap_or_else(|| user.id.to_string());
        let url = totp::otpauth_url(
            &self.settings.config().mfa.mfa_totp_issuer,
            &account,
            &secret,
        );
        let image_url = qr::png_data_url(&url, QR_SIZE).map_err(ApiError::internal)?;
        let db = self.db.get().await?;
        let stored = self
            .secrets
            .to_stored(&secret)
            .map_err(ApiError::internal)?;
        mfa_db::set_totp_secret(&db, user.id, &stored).await?;
        Ok(TotpSetup {
            image_url: Redacted::new(image_url),
            totp_secret: Redacted::new(secret),
        })
    }

    /// `POST /user/mfa`: activates (`activate = true`) or deactivates TOTP with a valid code.
    pub async fn change_mfa(
        &self,
        token: &VerifiedToken,
        code: &OneTimeCode,
        activate: bool,
    ) -> Result<(), ApiError> {
        let code = code.expose();
        self.require_mfa_enabled()?;
        let user = self
            .accounts
            .user_from_token(token, Default::default())
            .await?;
        let active = user.active_mfa_type.as_deref() == Some(MFA_TYPE_TOTP);
        if activate && active {
            return Err(ErrorCode::TotpAlreadyActive.into());
        }
        if !activate && !active {
            return Err(ErrorCode::DisabledMfaTotp.into());
        }
        let secret = user
            .totp_secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(ErrorCode::NoTotpSecret)?;
        self.accept_totp(user.id, secret, code).await?;
        let db = self.db.get().await?;
        mfa_db::set_active_mfa_type(&db, user.id, activate.then_some(MFA_TYPE_TOTP)).await?;
        audit::event(
            if activate {
                "mfa-enabled"
            } else {
                "mfa-disabled"
            },
            Outcome::Success,
        )
        .user(user.id)
        .reason(MFA_TYPE_TOTP)
        .record();
        Ok(())
    }

    /// `POST /signin/mfa/totp`: the second step of a password sign-in. The ticket is
    /// consumed first, so a wrong code means signing in with the password again.
    pub async fn signin_mfa_totp(
        &self,
        ticket: &Ticket,
        code: &OneTimeCode,
    ) -> Result<Session, ApiError> {
        let user = self.check_mfa_totp(ticket, code).await?;
        self.sessions.new_session(&user).await
    }

    /// The checks of `POST /signin/mfa/totp` without the session (the built-in consent
    /// page): the ticket's user once the code is accepted.
    pub async fn check_mfa_totp(
        &self,
        ticket: &Ticket,
        code: &OneTimeCode,
    ) -> Result<users::UserRow, ApiError> {
        let code = code.expose();
        self.require_mfa_enabled()?;
        if ticket.kind() != Some(TicketKind::MfaTotp) {
            return Err(ErrorCode::InvalidTicket.into());
        }
        let forms = ticket.lookup_forms();
        let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
        let db = self.db.get().await?;
        let user = users::consume_ticket(&db, &forms)
            .await?
            .ok_or(ErrorCode::InvalidTicket)?;
        drop(db);
        self.accounts.check(&user, Default::default())?;
        if user.active_mfa_type.as_deref() != Some(MFA_TYPE_TOTP) {
            return Err(ErrorCode::DisabledMfaTotp.into());
        }
        let secret = user
            .totp_secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(ErrorCode::NoTotpSecret)?;
        let standing = self.lockout.check(user.id).await?;
        if standing.locked {
            return Err(self.lockout.refusal(user.id, ErrorCode::InvalidTotp));
        }
        if let Err(e) = self.accept_totp(user.id, secret, code).await {
            audit::event("signin", Outcome::Failure)
                .user(user.id)
                .reason(e.code().as_str())
                .record();
            self.lockout.failed(user.id).await;
            return Err(e);
        }
        self.lockout.succeeded(user.id, standing).await;
        Ok(user)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TotpSecretsStartupError {
    #[error("{0}")]
    BadKey(crate::tokens::encryption::EncryptionError),
    #[error(
        "the database holds encrypted TOTP secrets (written by Nhost Auth 0.43 or later, or \
         by this service with AUTH_ENCRYPTION_KEY) but AUTH_ENCRYPTION_KEY is not set: set it \
         to the key they were encrypted with, or users with TOTP could not sign in"
    )]
    KeyMissing,
    #[error(
        "AUTH_ENCRYPTION_KEY does not decrypt the TOTP secrets in the database (they were \
         encrypted with another key): set the key they were encrypted with"
    )]
    WrongKey,
    #[error("encrypting TOTP secrets: {0}")]
    Encrypt(crate::tokens::encryption::EncryptionError),
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
}

/// Start-up step for `AUTH_ENCRYPTION_KEY` (as Nhost Auth 0.52's `EncryptTOTPSecrets`):
/// refuses a database whose encrypted secrets the configuration cannot read, then, with a
/// key, encrypts every plain secret in place. Safe with several instances starting at once:
/// each row is replaced only if it still holds the plain value that was read.
/// Returns the store the workflows use and the number of secrets this call encrypted.
pub async fn prepare_totp_secrets(
    db: &crate::db::DbPool,
    key: Option<&str>,
) -> Result<(TotpSecretStore, usize), TotpSecretsStartupError> {
    let cipher = key
        .filter(|k| !k.trim().is_empty())
        .map(SecretCipher::from_hex)
        .transpose()
        .map_err(TotpSecretsStartupError::BadKey)?;
    let store = TotpSecretStore::new(cipher);
    let client = db.get().await.map_err(crate::db::DbError::from)?;
    if let Some(sample) = mfa_db::one_encrypted_totp_secret(&client).await? {
        match store.from_stored(&sample) {
            Ok(_) => {}
            Err(StoredSecretError::NoKey) => return Err(TotpSecretsStartupError::KeyMissing),
            Err(StoredSecretError::Encryption(_)) => {
                return Err(TotpSecretsStartupError::WrongKey);
            }
        }
    }
    let Some(cipher) = store.cipher() else {
        return Ok((store, 0));
    };
    let mut encrypted = 0;
    for (user_id, plain) in mfa_db::plain_totp_secrets(&client).await? {
        let sealed = cipher
            .encrypt(&plain)
            .map_err(TotpSecretsStartupError::Encrypt)?;
        if mfa_db::replace_totp_secret(&client, user_id, &plain, &sealed).await? {
            encrypted += 1;
        }
    }
    Ok((store, encrypted))
}
