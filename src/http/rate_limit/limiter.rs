//! The buckets (SPEC §9) with upstream's store keys, limits and windows; which of them a
//! request counts in is the route's policy ([`Limits`]).
//!
//! Differences from upstream, on purpose: sign-ups count in their own bucket
//! (`user-signups`; upstream reused `user-bruteforce`), the first exceeded bucket stops the
//! evaluation (upstream kept incrementing later buckets), and every decision reports
//! what the `RateLimit-*` / `Retry-After` headers need.

use super::store::{MemoryStore, Store, now_ms};
use super::window::{Decision, SlidingWindow};
use crate::adapters::memcached::{self, Memcached};
use crate::adapters::redis_counters::RedisCounters;
use crate::config::Config;
use crate::domain::client_ip::TrustedProxies;
use crate::http::policy::Limits;

/// Every bucket with upstream's store keys; see SPEC §9.
pub struct RateLimiter {
    store: Store,
    global: SlidingWindow,
    email: SlidingWindow,
    email_is_global: bool,
    sms: SlidingWindow,
    brute_force: SlidingWindow,
    signups: SlidingWindow,
    oauth2_server: SlidingWindow,
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
            (
                "AUTH_RATE_LIMIT_OAUTH2_SERVER_INTERVAL",
                config.rate_limit.rate_limit_oauth2_server_interval,
            ),
        ] {
            if interval.as_millis() == 0 {
                return Err(format!("{env} must be at least 1ms"));
            }
        }
        let server = config.rate_limit.rate_limit_memcache_server.trim();
        let redis_url = config.rate_limit.rate_limit_redis_url.expose().trim();
        let store = if !redis_url.is_empty() {
            if !server.is_empty() {
                return Err(
                    "AUTH_RATE_LIMIT_REDIS_URL and AUTH_RATE_LIMIT_MEMCACHE_SERVER are \
                            both set; the counters live in one store"
                        .into(),
                );
            }
            let prefix = config.rate_limit.rate_limit_redis_prefix.clone();
            if prefix.len() > 150 || prefix.chars().any(char::is_control) {
                return Err(format!(
                    "AUTH_RATE_LIMIT_REDIS_PREFIX {prefix:?}: no control characters \
                     (150 bytes at most)"
                ));
            }
            let client = RedisCounters::new(redis_url).map_err(|e| e.to_string())?;
            tracing::info!(server = %client.addr(), "rate limit counters in redis");
            Store::Redis { client, prefix }
        } else if server.is_empty() {
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
        Ok(Some(RateLimiter {
            store,
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
            oauth2_server: SlidingWindow::new(
                "oauth2-server",
                config.rate_limit.rate_limit_oauth2_server_burst,
                config.rate_limit.rate_limit_oauth2_server_interval,
            ),
            trusted_proxies,
        }))
    }

    /// The buckets a request counts in, in upstream's order, each with whether it is
    /// keyed by the one global key. `email`: the route's email bucket applies now.
    fn buckets(&self, limits: &Limits, email: bool) -> [Option<(&SlidingWindow, bool)>; 6] {
        [
            Some((&self.global, false)),
            email.then_some((&self.email, self.email_is_global)),
            limits.sms.then_some((&self.sms, false)),
            limits.brute_force.then_some((&self.brute_force, false)),
            limits.signups.then_some((&self.signups, false)),
            limits.oauth2_server.then_some((&self.oauth2_server, false)),
        ]
    }

    /// Counts the request in each bucket until one is exceeded. Returns the denial, or
    /// the allowed bucket with the fewest requests left (for the headers).
    pub async fn check(&self, client_key: &str, limits: &Limits, email: bool) -> Decision {
        self.check_at(client_key, limits, email, now_ms()).await
    }

    pub async fn check_at(
        &self,
        client_key: &str,
        limits: &Limits,
        email: bool,
        now_ms: u64,
    ) -> Decision {
        let mut tightest: Option<Decision> = None;
        for (window, global_key) in self.buckets(limits, email).into_iter().flatten() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::policy::Bucket;

    fn limiter(args: &[&str]) -> RateLimiter {
        let mut argv = vec!["hasura-auth", "--rate-limit-enable"];
        argv.extend_from_slice(args);
        let config = Config::from_args(argv).unwrap();
        RateLimiter::from_config(&config).unwrap().unwrap()
    }

    fn prefixes(l: &RateLimiter, limits: &[Bucket], email: bool) -> Vec<&'static str> {
        l.buckets(&Limits::of(limits), email)
            .iter()
            .flatten()
            .map(|(w, _)| w.prefix)
            .collect()
    }

    #[test]
    fn rate_limit_buckets_in_upstream_order() {
        use Bucket::*;
        let l = limiter(&[]);
        assert_eq!(prefixes(&l, &[], false), ["user-global"]);
        assert_eq!(
            prefixes(&l, &[Signups, BruteForce, Sms, Email], true),
            [
                "user-global",
                "user-email",
                "user-sms",
                "user-bruteforce",
                "user-signups"
            ]
        );
        assert_eq!(
            prefixes(&l, &[OAuth2Server, BruteForce], false),
            ["user-global", "user-bruteforce", "oauth2-server"]
        );
        assert_eq!(
            prefixes(&l, &[EmailIfVerifying, Signups], false),
            ["user-global", "user-signups"],
            "the caller says whether the email bucket applies now"
        );

        let global = limiter(&["--rate-limit-email-is-global"]);
        let b = global.buckets(&Limits::of(&[Email]), true);
        let (window, global_key) = b[1].expect("email bucket");
        assert_eq!(window.prefix, "global-email");
        assert!(global_key, "keyed by the one global key");
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
        let config = Config::from_args([
            "hasura-auth",
            "--rate-limit-enable",
            "--rate-limit-redis-url=redis://127.0.0.1:1",
            "--rate-limit-memcache-server=127.0.0.1:1",
        ])
        .unwrap();
        let err = RateLimiter::from_config(&config).err().unwrap();
        assert!(err.contains("AUTH_RATE_LIMIT_REDIS_URL"), "{err}");
        let config = Config::from_args([
            "hasura-auth",
            "--rate-limit-enable",
            "--rate-limit-redis-url=redis://:hunter2@127.0.0.1:1",
            "--rate-limit-redis-prefix=a\nb",
        ])
        .unwrap();
        let err = RateLimiter::from_config(&config).err().unwrap();
        assert!(err.contains("AUTH_RATE_LIMIT_REDIS_PREFIX"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let config = Config::from_args(["hasura-auth", "--trusted-proxies=nope"]).unwrap();
        assert!(RateLimiter::from_config(&config).is_err());
        let config = Config::from_args(["hasura-auth"]).unwrap();
        assert!(RateLimiter::from_config(&config).unwrap().is_none());
    }
}
