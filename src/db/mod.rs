//! The data layer: every SQL statement the service runs lives under this module.

pub mod audit;
pub mod client;
pub mod email_flows;
pub mod email_otp;
pub mod lockout;
pub mod mfa;
pub mod migrate;
pub mod oauth;
pub mod oauth2_clients;
pub mod oauth2_device;
pub mod oauth2_provider;
pub mod oauth2_tokens;
pub mod otp_attempts;
pub mod phone_change;
pub mod pkce;
pub mod refresh_tokens;
pub mod schema_level;
pub mod sms;
pub mod sms_deanonymize;
pub mod sms_staging;
pub mod tls;
pub mod users;
pub mod webauthn;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;

pub type DbPool = Pool;

pub use client::{Db, Stmt};
pub use schema_level::SchemaLevel;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{}", describe_pool(.0))]
    Pool(#[from] PoolError),
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

impl DbError {
    /// Whether the database could not be reached or answer in time, as opposed to a
    /// statement that failed: the client may retry later (503), nothing is wrong with it.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Postgres(e) => postgres_unavailable(e),
            DbError::Pool(e) => pool_unavailable(e),
            _ => false,
        }
    }
}

/// The database errors of the request path, mapped once: a taken email is the client's
/// `email-already-in-use`, an unreachable or stalled database is 503
/// `service-unavailable`, anything else is internal. The cause is logged by
/// [`crate::error::ApiError`] (see [`describe`]: never a statement's parameters).
/// (Here rather than in `error.rs`, which sits below the data layer.)
impl From<DbError> for crate::error::ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::DuplicateEmail => crate::error::ErrorCode::EmailAlreadyInUse.into(),
            other if other.is_unavailable() => {
                crate::error::ApiError::Unavailable(format!("database: {other}"))
            }
            other => crate::error::ApiError::Internal(format!("database: {other}")),
        }
    }
}

impl From<tokio_postgres::Error> for crate::error::ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Postgres(e).into()
    }
}

impl From<PoolError> for crate::error::ApiError {
    fn from(e: PoolError) -> Self {
        DbError::Pool(e).into()
    }
}

/// What is logged of a driver error: for an error PostgreSQL reported, its severity,
/// SQLSTATE and message (not its `DETAIL`, which quotes the row's values, e.g. the
/// duplicated key); otherwise the driver's error and its causes (`connection refused`).
/// The driver never puts a statement's parameters in either.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn describe_pool(e: &PoolError) -> String {
    match e {
        PoolError::Backend(e) => describe(e),
        PoolError::Timeout(kind) => format!("no connection within the pool timeout ({kind:?})"),
        other => other.to_string(),
    }
}

/// Unreachable, restarting, refusing connections, or too slow (a statement cancelled by
/// `statement_timeout`): conditions that pass without anything changing on our side.
fn postgres_unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::QUERY_CANCELED,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
            ]
            .contains(code);
    }
    // A driver error caused by the socket (refused, reset, timed out).
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn pool_unavailable(e: &PoolError) -> bool {
    match e {
        PoolError::Timeout(_) | PoolError::Closed => true,
        PoolError::Backend(e) => postgres_unavailable(e),
        _ => false,
    }
}

/// Maps the unique violations a client can cause to their own [`DbError`] variants.
pub(crate) fn classify(e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error()
        && db.code() == &SqlState::UNIQUE_VIOLATION
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

/// How the pool waits and how long statements may run.
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    pub max_size: usize,
    /// Waiting for a free connection, opening a new one, checking a returned one: each
    /// gives up after this (`AUTH_POSTGRES_POOL_TIMEOUT`), so an unreachable or frozen
    /// server is an error in bounded time, not a hung request.
    pub timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection; zero leaves the server's.
    pub statement_timeout: Duration,
    /// `AUTH_POSTGRES_TRANSACTION_POOLER`: a transaction pooler (PgBouncer) is in front:
    /// statements run unnamed ([`client`]) and nothing is sent in the start-up packet's
    /// `options`, which PgBouncer refuses.
    pub transaction_pooler: bool,
}

/// Builds the connection pool. Connections are opened lazily and statements are
/// prepared once per connection (`prepare_cached`), unless a transaction pooler is in
/// front ([`client`]; the choice is process-wide).
pub fn connect(url: &str, limits: PoolLimits, roots: &crate::tls::Tls) -> Result<DbPool, DbError> {
    let mut target = tls::target(url, roots).map_err(DbError::Url)?;
    client::set_transaction_pooler(limits.transaction_pooler);
    if limits.transaction_pooler {
        if !limits.statement_timeout.is_zero() {
            tracing::info!(
                "AUTH_POSTGRES_TRANSACTION_POOLER: statement_timeout is not sent (PgBouncer refuses start-up options); set it on the database role or in the pooler"
            );
        }
    } else if !limits.statement_timeout.is_zero() {
        // Sent in the start-up packet: set before the first statement, no round trip.
        let ms = limits.statement_timeout.as_millis().max(1);
        let options = match target.config.get_options() {
            Some(given) if !given.trim().is_empty() => {
                format!("{given} -c statement_timeout={ms}")
            }
            _ => format!("-c statement_timeout={ms}"),
        };
        target.config.options(options);
    }
    let manager = Manager::from_config(
        target.config,
        target.tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let timeout = Some(limits.timeout).filter(|t| !t.is_zero());
    Pool::builder(manager)
        .max_size(limits.max_size)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(timeout)
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Url(e.to_string()))
}

/// Readiness: a connection from the pool answers `SELECT 1` within `timeout`.
pub async fn ping(pool: &DbPool, timeout: Duration) -> Result<(), DbError> {
    let check = async {
        let client = pool.get().await?;
        client.simple_query("SELECT 1").await?;
        Ok::<(), DbError>(())
    };
    match tokio::time::timeout(timeout, check).await {
        Ok(result) => result,
        Err(_) => Err(DbError::Pool(PoolError::Timeout(
            deadpool_postgres::TimeoutType::Wait,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_and_closed_connections_are_unavailable() {
        let timeout = DbError::Pool(PoolError::Timeout(deadpool_postgres::TimeoutType::Create));
        assert!(timeout.is_unavailable());
        assert!(DbError::Pool(PoolError::Closed).is_unavailable());
        assert!(!DbError::DuplicateEmail.is_unavailable());
        assert!(!DbError::Url("x".into()).is_unavailable());
        let api: crate::error::ApiError = timeout.into();
        assert_eq!(
            api.code(),
            crate::error::ErrorCode::ServiceUnavailable,
            "{api}"
        );
    }
}
