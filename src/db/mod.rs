//! The data layer: every SQL statement the service runs lives under this module.

pub mod email_flows;
pub mod email_otp;
pub mod mfa;
pub mod migrate;
pub mod oauth;
pub mod pkce;
pub mod refresh_tokens;
pub mod schema_level;
pub mod sms;
pub mod tls;
pub mod users;
pub mod webauthn;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

pub type DbPool = Pool;

pub use schema_level::SchemaLevel;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("invalid database URL: {0}")]
    Url(String),
    /// Unique violation on `users_email_key`.
    #[error("email already in use")]
    DuplicateEmail,
    /// Unique violation on `users_phone_number_key`.
    #[error("phone number already in use")]
    DuplicatePhoneNumber,
    /// Unique violation on the security keys' credential id.
    #[error("credential already registered")]
    DuplicateCredential,
}

/// A taken email is the client's `email-already-in-use`; anything else is internal.
/// (Here rather than in `error.rs`, which sits below the data layer.)
impl From<DbError> for crate::error::ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::DuplicateEmail => crate::error::ErrorCode::EmailAlreadyInUse.into(),
            other => crate::error::ApiError::Internal(other.to_string()),
        }
    }
}

/// Maps the unique violations a client can cause to their own [`DbError`] variants.
pub(crate) fn classify(e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error()
        && db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
    {
        match db.constraint() {
            Some("users_email_key") => return DbError::DuplicateEmail,
            Some("users_phone_number_key") => return DbError::DuplicatePhoneNumber,
            Some(webauthn::CREDENTIAL_ID_KEY) => return DbError::DuplicateCredential,
            _ => {}
        }
    }
    DbError::Postgres(e)
}

/// Builds the connection pool. Connections are opened lazily and statements are
/// prepared once per connection (`prepare_cached`).
pub fn connect(url: &str, max_size: usize, roots: &crate::tls::Tls) -> Result<DbPool, DbError> {
    let target = tls::target(url, roots).map_err(DbError::Url)?;
    let manager = Manager::from_config(
        target.config,
        target.tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| DbError::Url(e.to_string()))
}
