//! Rate limits (SPEC §9): upstream's buckets, paths, store keys and sliding-window
//! algorithm, with the counters in process memory or in memcached (shared by every
//! instance that uses the same server and prefix).
//!
//! Differences from upstream, on purpose: sign-ups count in their own bucket
//! (`user-signups`; upstream reused `user-bruteforce`), the first exceeded bucket stops the
//! evaluation (upstream kept incrementing later buckets), and every decision reports
//! what the `RateLimit-*` / `Retry-After` headers need.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::adapters::memcached::{self, Memcached};
use crate::config::Config;
use crate::domain::client_ip::TrustedProxies;

/// One bucket: a store-key prefix, a limit and a window.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    prefix: &'static str,
    limit: u64,
    window_ms: u64,
}

/// The outcome of one bucket, with what the response headers report.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The bucket's store-key prefix (`user-global`, `user-email`, …).
    pub bucket: &'static str,
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the current window ends.
    pub reset_secs: u64,
    pub window_secs: u64,
    /// Seconds until a request would be allowed again (denials only).
    pub retry_after_secs: Option<u64>,
}

fn ceil_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

impl SlidingWindow {
    pub fn new(prefix: &'static str, limit: u32, window: Duration) -> SlidingWindow {
        SlidingWindow {
            prefix,
            limit: u64::from(limit),
            window_ms: (window.as_millis() as u64).max(1),
        }
    }

    fn key(&self, index: u64, client: &str) -> String {
        format!("{}{index}:{client}", self.prefix)
    }

    /// Upstream's `SlidingWindow.Allow` at `now_ms`.
    pub async fn check(&self, store: &Store, client: &str, now_ms: u64) -> Decision {
        let w = self.window_ms;
        let index = now_ms / w;
        let offset = now_ms % w;
        let remaining_ms = w - offset;
        let current_key = self.key(index, client);
        let previous_key = self.key(index.saturating_sub(1), client);
        let (current, previous) = store.get_pair(&current_key, &previous_key).await;
        let previous = previous.min(self.limit);
        // floor(prev / w * remaining) as upstream computes it in float64.
        let carried = ((previous as f64 / w as f64) * remaining_ms as f64).floor() as u64;

        let deny = |count: u64| self.denied(count, previous, offset);
        if current >= self.limit || carried + current >= self.limit {
            return deny(current);
        }
        let after = store.increment(&current_key, w.saturating_mul(2)).await;
        // Upstream: newCount = Increment - 1; allowed iff newCount < limit.
        if after.saturating_sub(1) >= self.limit {
            return deny(after);
        }
        Decision {
            bucket: self.prefix,
            allowed: true,
            limit: self.limit,
            remaining: self.limit.saturating_sub(carried + after),
            reset_secs: ceil_secs(remaining_ms),
            window_secs: ceil_secs(w),
            retry_after_secs: None,
        }
    }

    /// A denial, with the earliest time the estimate drops below the limit.
    fn denied(&self, current: u64, previous: u64, offset: u64) -> Decision {
        let w = self.window_ms;
        let remaining_ms = w - offset;
        let wait_ms = if self.limit == 0 {
            remaining_ms
        } else if current >= self.limit {
            // Next window: carried = floor(limit·(w−o)/w) < limit as soon as o > 0.
            remaining_ms + 1
        } else {
            // This window: floor(p·(w−o)/w) < limit − current ⇔ o > w − (limit−current)·w/p.
            let need = (self.limit - current) as f64;
            let p = previous.max(1) as f64;
            let threshold = w as f64 - need * w as f64 / p;
            let wait = (threshold - offset as f64).floor() as i64 + 1;
            (wait.max(1) as u64).min(remaining_ms + 1)
        };
        Decision {
            bucket: self.prefix,
            allowed: false,
            limit: self.limit,
            remaining: 0,
            reset_secs: ceil_secs(remaining_ms),
            window_secs: ceil_secs(w),
            retry_after_secs: Some(ceil_secs(wait_ms).max(1)),
        }
    }
}

// ---- stores ----

/// Where the counters live.
pub enum Store {
    Memory(MemoryStore),
    Memcached { client: Memcached, prefix: String },
}

impl Store {
    /// Counts of two keys (0 when missing or on error: limits fail open, as upstream).
    async fn get_pair(&self, a: &str, b: &str) -> (u64, u64) {
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
        }
    }

    /// Increments a key created with a time to live; returns the new count.
    async fn increment(&self, key: &str, ttl_ms: u64) -> u64 {
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

// ---- the limiter ----

/// Every bucket with upstream's store keys; see SPEC §9.
pub struct RateLimiter {
    store: Store,
    api_prefix: Option<String>,
    global: SlidingWindow,
    email: SlidingWindow,
    email_is_global: bool,
    email_verification_required: bool,
    sms: SlidingWindow,
    brute_force: SlidingWindow,
    signups: SlidingWindow,
    pub trusted_proxies: TrustedProxies,
}

impl RateLimiter {
    /// `None` unless `AUTH_RATE_LIMIT_ENABLE`; errors name the setting at fault.
    pub fn from_config(config: &Config) -> Result<Option<RateLimiter>, String> {
        let trusted_proxies = TrustedProxies::parse(&config.rate_limit.trusted_proxies)
            .map_err(|e| format!("AUTH_TRUSTED_PROXIES: {e}"))?;
        if !config.rate_limit.rate_limit_enable {
            return Ok(None);
        }
        for (env, interval) in [
            (
                "AUTH_RATE_LIMIT_GLOBAL_INTERVAL",
                config.rate_limit.rate_limit_global_interval,
            ),
            (
                "AUTH_RATE_LIMIT_EMAIL_INTERVAL",
                config.rate_limit.rate_limit_email_interval,
            ),
            (
                "AUTH_RATE_LIMIT_SMS_INTERVAL",
                config.rate_limit.rate_limit_sms_interval,
            ),
            (
                "AUTH_RATE_LIMIT_BRUTE_FORCE_INTERVAL",
                config.rate_limit.rate_limit_brute_force_interval,
            ),
            (
                "AUTH_RATE_LIMIT_SIGNUPS_INTERVAL",
                config.rate_limit.rate_limit_signups_interval,
            ),
        ] {
            if interval.as_millis() == 0 {
                return Err(format!("{env} must be at least 1ms"));
            }
        }
        let server = config.rate_limit.rate_limit_memcache_server.trim();
        let store = if server.is_empty() {
            Store::Memory(MemoryStore::default())
        } else {
            let prefix = config.rate_limit.rate_limit_memcache_prefix.clone();
            if (!prefix.is_empty() && !memcached::valid_key(&prefix)) || prefix.len() > 150 {
                return Err(format!(
                    "AUTH_RATE_LIMIT_MEMCACHE_PREFIX {prefix:?}: memcached keys allow no \
                     spaces or control characters (150 bytes at most for the prefix)"
                ));
            }
            tracing::info!(server = %server, "rate limit counters in memcached");
            Store::Memcached {
                client: Memcached::new(server),
                prefix,
            }
        };
        let api_prefix = {
            let p = config.server.api_prefix.trim().trim_end_matches('/');
            (!p.is_empty()).then(|| {
                if p.starts_with('/') {
                    p.to_owned()
                } else {
                    format!("/{p}")
                }
            })
        };
        Ok(Some(RateLimiter {
            store,
            api_prefix,
            global: SlidingWindow::new(
                "user-global",
                config.rate_limit.rate_limit_global_burst,
                config.rate_limit.rate_limit_global_interval,
            ),
            email: SlidingWindow::new(
                if config.rate_limit.rate_limit_email_is_global {
                    "global-email"
                } else {
                    "user-email"
                },
                config.rate_limit.rate_limit_email_burst,
                config.rate_limit.rate_limit_email_interval,
            ),
            email_is_global: config.rate_limit.rate_limit_email_is_global,
            email_verification_required: config.signup.email_verification_required,
            sms: SlidingWindow::new(
                "user-sms",
                config.rate_limit.rate_limit_sms_burst,
                config.rate_limit.rate_limit_sms_interval,
            ),
            brute_force: SlidingWindow::new(
                "user-bruteforce",
                config.rate_limit.rate_limit_brute_force_burst,
                config.rate_limit.rate_limit_brute_force_interval,
            ),
            signups: SlidingWindow::new(
                "user-signups",
                config.rate_limit.rate_limit_signups_burst,
                config.rate_limit.rate_limit_signups_interval,
            ),
            trusted_proxies,
        }))
    }

    /// The request path with `AUTH_API_PREFIX` removed (upstream matches on that).
    fn route<'p>(&self, path: &'p str) -> &'p str {
        match &self.api_prefix {
            Some(prefix) => match path.strip_prefix(prefix.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
                _ => path,
            },
            None => path,
        }
    }

    /// The buckets a path counts in, in upstream's order.
    fn buckets(&self, path: &str) -> Vec<(&SlidingWindow, bool)> {
        let path = self.route(path);
        let mut out = vec![(&self.global, false)];
        if sends_email(path, self.email_verification_required) {
            out.push((&self.email, self.email_is_global));
        }
        if path == "/signin/passwordless/sms" {
            out.push((&self.sms, false));
        }
        if path.starts_with("/signin") || path.ends_with("/verify") || path.ends_with("/otp") {
            out.push((&self.brute_force, false));
        }
        if path.starts_with("/signup") {
            out.push((&self.signups, false));
        }
        out
    }

    /// Counts the request in each bucket until one is exceeded. Returns the denial, or
    /// the allowed bucket with the fewest requests left (for the headers).
    pub async fn check(&self, client_key: &str, path: &str) -> Decision {
        self.check_at(client_key, path, now_ms()).await
    }

    pub async fn check_at(&self, client_key: &str, path: &str, now_ms: u64) -> Decision {
        let mut tightest: Option<Decision> = None;
        for (window, global_key) in self.buckets(path) {
            let key = if global_key { "global" } else { client_key };
            let decision = window.check(&self.store, key, now_ms).await;
            if !decision.allowed {
                return decision;
            }
            if tightest
                .as_ref()
                .is_none_or(|t| decision.remaining <= t.remaining)
            {
                tightest = Some(decision);
            }
        }
        tightest.unwrap_or(Decision {
            bucket: "",
            allowed: true,
            limit: 0,
            remaining: 0,
            reset_secs: 0,
            window_secs: 0,
            retry_after_secs: None,
        })
    }
}

/// Endpoints that send email (upstream's list; three more when verification is required).
fn sends_email(path: &str, verification_required: bool) -> bool {
    matches!(
        path,
        "/signin/passwordless/email" | "/user/email/change" | "/user/password/reset"
    ) || (verification_required
        && matches!(
            path,
            "/user/email/send-verification-email" | "/signup/email-password" | "/user/deanonymize"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(limit: u32, secs: u64) -> SlidingWindow {
        SlidingWindow::new("t", limit, Duration::from_secs(secs))
    }

    fn store() -> Store {
        Store::Memory(MemoryStore::default())
    }

    #[tokio::test]
    async fn rate_limit_window_allows_the_limit_then_denies() {
        let (w, s) = (window(3, 60), store());
        let start = now_ms() / 60_000 * 60_000; // beginning of a window
        for i in 0..3 {
            let d = w.check(&s, "ip", start + i).await;
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 2 - i);
            assert_eq!(d.limit, 3);
        }
        let d = w.check(&s, "ip", start + 10).await;
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, Some(60));
        assert!(w.check(&s, "other", start + 10).await.allowed, "per key");
    }

    #[tokio::test]
    async fn rate_limit_previous_window_weighs_in_then_fades() {
        let (w, s) = (window(4, 10), store());
        let start = now_ms() / 10_000 * 10_000;
        for i in 0..4 {
            assert!(w.check(&s, "ip", start + i).await.allowed);
        }
        // Next window, 1 s in: carried = floor(4/10000·9000) = 3 → one request left.
        let d = w.check(&s, "ip", start + 11_000).await;
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        let d = w.check(&s, "ip", start + 11_001).await;
        assert!(!d.allowed);
        // Allowed again once floor(4·(10000−o)/10000) + 1 < 4, i.e. o > 2500.
        assert_eq!(d.retry_after_secs, Some(2));
        assert!(!w.check(&s, "ip", start + 12_400).await.allowed);
        assert!(w.check(&s, "ip", start + 12_600).await.allowed);
    }

    #[tokio::test]
    async fn rate_limit_zero_limit_denies_everything() {
        let d = window(0, 60).check(&store(), "ip", now_ms()).await;
        assert!(!d.allowed);
        assert!(d.retry_after_secs.is_some());
    }

    fn limiter(args: &[&str]) -> RateLimiter {
        let mut argv = vec!["hasura-auth", "--rate-limit-enable"];
        argv.extend_from_slice(args);
        let config = Config::from_args(argv).unwrap();
        RateLimiter::from_config(&config).unwrap().unwrap()
    }

    fn prefixes(l: &RateLimiter, path: &str) -> Vec<&'static str> {
        l.buckets(path).iter().map(|(w, _)| w.prefix).collect()
    }

    #[test]
    fn rate_limit_paths_select_upstream_buckets() {
        let l = limiter(&["--api-prefix=/v1"]);
        assert_eq!(prefixes(&l, "/v1/healthz"), ["user-global"]);
        assert_eq!(prefixes(&l, "/nothing"), ["user-global"]);
        assert_eq!(
            prefixes(&l, "/v1/signin/passwordless/email"),
            ["user-global", "user-email", "user-bruteforce"]
        );
        assert_eq!(
            prefixes(&l, "/v1/signin/passwordless/sms"),
            ["user-global", "user-sms", "user-bruteforce"]
        );
        assert_eq!(
            prefixes(&l, "/v1/signup/email-password"),
            ["user-global", "user-email", "user-signups"]
        );
        assert_eq!(
            prefixes(&l, "/v1/signup/webauthn/verify"),
            ["user-global", "user-bruteforce", "user-signups"]
        );
        assert_eq!(
            prefixes(&l, "/v1/token/verify"),
            ["user-global", "user-bruteforce"]
        );
        assert_eq!(
            prefixes(&l, "/v1/signin/passwordless/sms/otp"),
            ["user-global", "user-bruteforce"]
        );
        assert_eq!(
            prefixes(&l, "/v1/user/password/reset"),
            ["user-global", "user-email"]
        );
        assert_eq!(
            prefixes(&l, "/v1/signin/otp/email"),
            ["user-global", "user-bruteforce"]
        );
        assert_eq!(prefixes(&l, "/v1x/signin"), ["user-global"]);

        let no_verify = limiter(&["--email-verification-required=false"]);
        assert_eq!(
            prefixes(&no_verify, "/signup/email-password"),
            ["user-global", "user-signups"]
        );
        assert_eq!(prefixes(&no_verify, "/user/deanonymize"), ["user-global"]);

        let global = limiter(&["--rate-limit-email-is-global"]);
        let b = global.buckets("/user/email/change");
        assert_eq!(b[1].0.prefix, "global-email");
        assert!(b[1].1, "keyed by the one global key");
    }

    #[test]
    fn rate_limit_settings_are_checked() {
        let config = Config::from_args([
            "hasura-auth",
            "--rate-limit-enable",
            "--rate-limit-sms-interval=0",
        ])
        .unwrap();
        let err = RateLimiter::from_config(&config).err().unwrap();
        assert!(err.contains("AUTH_RATE_LIMIT_SMS_INTERVAL"), "{err}");
        let config = Config::from_args([
            "hasura-auth",
            "--rate-limit-enable",
            "--rate-limit-memcache-server=127.0.0.1:1",
            "--rate-limit-memcache-prefix=a b",
        ])
        .unwrap();
        assert!(RateLimiter::from_config(&config).is_err());
        let config = Config::from_args(["hasura-auth", "--trusted-proxies=nope"]).unwrap();
        assert!(RateLimiter::from_config(&config).is_err());
        let config = Config::from_args(["hasura-auth"]).unwrap();
        assert!(RateLimiter::from_config(&config).unwrap().is_none());
    }

    #[test]
    fn rate_limit_memcached_ttl_is_never_zero() {
        assert_eq!(memcached_ttl(1), 1);
        assert_eq!(memcached_ttl(2_000), 2);
        assert_eq!(memcached_ttl(7_200_000), 7200);
        assert!(memcached_ttl(60 * 24 * 3600 * 1000) > 1_000_000_000);
    }
}
