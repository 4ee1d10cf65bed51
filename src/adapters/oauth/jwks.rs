//! An issuer's signing keys (JWKS), fetched on first use and cached.
//!
//! The cached set is refetched when it is older than [`MAX_AGE`], and when a token names
//! a key id (`kid`) the set does not hold: issuers rotate keys, and a new key must work
//! without a restart. Unknown-`kid` refetches are coalesced and at most one per
//! [`MIN_REFETCH_INTERVAL`], so tokens with made-up key ids cannot make us hammer the
//! issuer. When a refetch fails, the keys already known keep working.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

/// Keys older than this are refetched on next use.
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// At most one refetch for an unknown key id per this interval.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct Cached {
    keys: Vec<Jwk>,
    fetched: Instant,
}

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    cached: RwLock<Option<Cached>>,
    refetch: Mutex<()>,
}

/// Keys matching a token's `kid` (all keys when the token names none).
fn select(keys: &[Jwk], kid: Option<&str>) -> Vec<Jwk> {
    keys.iter()
        .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
        .cloned()
        .collect()
}

impl JwksCache {
    pub fn new(url: String, http: reqwest::Client) -> JwksCache {
        JwksCache {
            url,
            http,
            cached: RwLock::new(None),
            refetch: Mutex::new(()),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The keys that may have signed a token with this `kid`.
    pub async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<Jwk>, String> {
        let before = self.cached.read().await.clone();
        if let Some(c) = &before {
            let found = select(&c.keys, kid);
            if !found.is_empty() && c.fetched.elapsed() < MAX_AGE {
                return Ok(found);
            }
            if found.is_empty() && c.fetched.elapsed() < MIN_REFETCH_INTERVAL {
                return Err(format!("unknown signing key {kid:?}"));
            }
        }
        let _one_at_a_time = self.refetch.lock().await;
        // Another request may have refetched while we waited.
        if let Some(c) = self.cached.read().await.as_ref()
            && before.as_ref().is_none_or(|b| c.fetched > b.fetched)
        {
            let found = select(&c.keys, kid);
            if !found.is_empty() {
                return Ok(found);
            }
            if c.fetched.elapsed() < MIN_REFETCH_INTERVAL {
                return Err(format!("unknown signing key {kid:?}"));
            }
        }
        match self.fetch().await {
            Ok(keys) => {
                let found = select(&keys, kid);
                *self.cached.write().await = Some(Cached {
                    keys,
                    fetched: Instant::now(),
                });
                if found.is_empty() {
                    Err(format!("unknown signing key {kid:?}"))
                } else {
                    Ok(found)
                }
            }
            Err(e) => {
                let stale = before.map(|c| select(&c.keys, kid)).unwrap_or_default();
                if stale.is_empty() {
                    Err(e)
                } else {
                    tracing::warn!(url = %self.url, error = %e, "refetching signing keys failed; using the cached ones");
                    Ok(stale)
                }
            }
        }
    }

    /// Fetches the set. Keys this library cannot use (other key types or algorithms)
    /// are skipped rather than failing the whole set.
    async fn fetch(&self) -> Result<Vec<Jwk>, String> {
        let res = self
            .http
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("fetching signing keys from {}: {e}", self.url))?;
        if !res.status().is_success() {
            return Err(format!(
                "fetching signing keys from {}: status {}",
                self.url,
                res.status()
            ));
        }
        let body: Value = res
            .json()
            .await
            .map_err(|e| format!("signing keys from {}: {e}", self.url))?;
        let keys = body
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("signing keys from {}: no `keys` array", self.url))?;
        Ok(keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect())
    }
}
