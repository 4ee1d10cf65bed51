//! Password hashing: bcrypt cost 10 (`$2a$`), so hashes stay readable by upstream and a
//! rollback keeps working. Hashing runs on the blocking pool behind a semaphore sized to
//! the CPU count, so a burst of sign-ins queues here instead of starving other requests.

use std::sync::Arc;
use tokio::sync::Semaphore;

use crate::error::ApiError;

pub const BCRYPT_COST: u32 = 10;

pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when a user has no hash, so unknown accounts cost the same time.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Result<Self, bcrypt::BcryptError> {
        let dummy = uuid::Uuid::new_v4().to_string();
        let dummy_hash =
            bcrypt::hash_with_result(dummy, BCRYPT_COST)?.format_for_version(bcrypt::Version::TwoA);
        Ok(PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash,
        })
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            bcrypt::hash_with_result(password, BCRYPT_COST)
                .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
    }

    /// Checks a password against a stored hash; a missing or empty hash never matches
    /// but still costs one bcrypt verification.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let usable = stored.filter(|h| !h.is_empty());
        let hash = usable.unwrap_or(&self.dummy_hash).to_owned();
        let real = usable.is_some();
        let password = password.to_owned();
        let matched =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .map_err(ApiError::internal)?;
        Ok(real && matched)
    }
}
