//! Liveness and readiness: whether the process answers (`/healthz`, always), and whether
//! it can serve requests, i.e. reach its database (`/readyz`).

use std::time::Duration;

use crate::db::{DbError, DbPool};
use crate::error::ApiError;

pub struct Health {
    pub db: DbPool,
    /// How long the database check may take (`AUTH_POSTGRES_POOL_TIMEOUT`).
    pub timeout: Duration,
}

impl Health {
    /// Ok when a pooled connection answers `SELECT 1` in time; otherwise 503
    /// `service-unavailable` (the cause is logged).
    pub async fn database(&self) -> Result<(), ApiError> {
        crate::db::ping(&self.db, self.timeout)
            .await
            .map_err(|e: DbError| ApiError::Unavailable(format!("readiness: database: {e}")))
    }
}
