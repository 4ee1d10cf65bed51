//! Where the counters live: in process memory, or in memcached or Redis (shared by every
//! instance that uses the same server and prefix). Errors fail open, as upstream.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::window::ceil_secs;
use crate::adapters::memcached::{self, Memcached};
use crate::adapters::redis_counters::RedisCounters;

/// Where the counters live.
pub enum Store {
    Memory(MemoryStore),
    Memcached {
        client: Memcached,
        prefix: String,
    },
    /// Same keys and semantics as memcached; see [`RedisCounters`].
    Redis {
        client: RedisCounters,
        prefix: String,
    },
}

impl Store {
    /// Counts of two keys (0 when missing or on error: limits fail open, as upstream).
    pub(super) async fn get_pair(&self, a: &str, b: &str) -> (u64, u64) {
        match self {
            Store::Memory(m) => (m.get(a), m.get(b)),
            Store::Memcached { client, prefix } => {
                let (ka, kb) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
                match client.get_many(&[&ka, &kb]).await {
                    Ok(found) => (count_of(&found, &ka), count_of(&found, &kb)),
                    Err(e) => {
                        tracing::error!(error = %e, "rate limit: memcached read failed; not limiting");
                        (0, 0)
                    }
                }
            }
            Store::Redis { client, prefix } => {
                let (ka, kb) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
                match client.get_many(&[&ka, &kb]).await {
                    Ok(counts) => (
                        counts.first().copied().unwrap_or(0),
                        counts.get(1).copied().unwrap_or(0),
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "rate limit: redis read failed; not limiting");
                        (0, 0)
                    }
                }
            }
        }
    }

    /// Increments a key created with a time to live; returns the new count.
    pub(super) async fn increment(&self, key: &str, ttl_ms: u64) -> u64 {
        match self {
            Store::Memory(m) => m.increment(key, ttl_ms),
            Store::Memcached { client, prefix } => {
                let key = format!("{prefix}{key}");
                match memcached_increment(client, &key, ttl_ms).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "rate limit: memcached increment failed; not limiting");
                        0
                    }
                }
            }
            Store::Redis { client, prefix } => {
                match client.increment(&format!("{prefix}{key}"), ttl_ms).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "rate limit: redis increment failed; not limiting");
                        0
                    }
                }
            }
        }
    }
}

fn count_of(found: &HashMap<String, Vec<u8>>, key: &str) -> u64 {
    found
        .get(key)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `incr`, or `add "1"` when missing; a lost `add` race falls back to `incr`, so two
/// instances never both start a counter at 1.
async fn memcached_increment(
    client: &Memcached,
    key: &str,
    ttl_ms: u64,
) -> Result<u64, memcached::MemcachedError> {
    if let Some(n) = client.incr(key, 1).await? {
        return Ok(n);
    }
    if client.add(key, b"1", memcached_ttl(ttl_ms)).await? {
        return Ok(1);
    }
    Ok(client.incr(key, 1).await?.unwrap_or(1))
}

/// Seconds, at least 1 (0 would mean "never expires"); beyond 30 days memcached wants
/// an absolute Unix time.
fn memcached_ttl(ttl_ms: u64) -> u32 {
    const RELATIVE_MAX: u64 = 30 * 24 * 3600;
    let secs = ceil_secs(ttl_ms).max(1);
    if secs <= RELATIVE_MAX {
        secs as u32
    } else {
        (now_ms() / 1000 + secs).min(u64::from(u32::MAX)) as u32
    }
}

/// Counters in this process, expired entries dropped at most once a second.
#[derive(Default)]
pub struct MemoryStore {
    inner: std::sync::Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    counters: HashMap<String, (u64, u64)>,
    last_purge_ms: u64,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &str) -> u64 {
        let now = now_ms();
        self.lock()
            .counters
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map_or(0, |(n, _)| *n)
    }

    fn increment(&self, key: &str, ttl_ms: u64) -> u64 {
        let now = now_ms();
        let mut inner = self.lock();
        if now.saturating_sub(inner.last_purge_ms) >= 1000 {
            inner.counters.retain(|_, (_, expires)| *expires > now);
            inner.last_purge_ms = now;
        }
        let entry = inner
            .counters
            .entry(key.to_owned())
            .or_insert((0, now + ttl_ms));
        if entry.1 <= now {
            *entry = (0, now + ttl_ms);
        }
        entry.0 += 1;
        entry.0
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_memcached_ttl_is_never_zero() {
        assert_eq!(memcached_ttl(1), 1);
        assert_eq!(memcached_ttl(2_000), 2);
        assert_eq!(memcached_ttl(7_200_000), 7200);
        assert!(memcached_ttl(60 * 24 * 3600 * 1000) > 1_000_000_000);
    }
}
