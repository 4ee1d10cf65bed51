//! The buckets (SPEC §9): upstream's paths and store keys.
//!
//! Differences from upstream, on purpose: sign-ups count in their own bucket
//! (`user-signups`; upstream reused `user-bruteforce`), the first exceeded bucket stops the
//! evaluation (upstream kept incrementing later buckets), and every decision reports
//! what the `RateLimit-*` / `Retry-After` headers need.

use super::store::{MemoryStore, Store, now_ms};
use super::window::{Decision, SlidingWindow};
use crate::adapters::memcached::{self, Memcached};
use crate::config::Config;
use crate::domain::client_ip::TrustedProxies;

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
        let trusted_proxies = TrustedProxies::parse(&config.trusted_proxies)
            .map_err(|e| format!("AUTH_TRUSTED_PROXIES: {e}"))?;
        if !config.rate_limit_enable {
            return Ok(None);
        }
        for (env, interval) in [
            (
                "AUTH_RATE_LIMIT_GLOBAL_INTERVAL",
                config.rate_limit_global_interval,
            ),
            (
                "AUTH_RATE_LIMIT_EMAIL_INTERVAL",
                config.rate_limit_email_interval,
            ),
            (
                "AUTH_RATE_LIMIT_SMS_INTERVAL",
                config.rate_limit_sms_interval,
            ),
            (
                "AUTH_RATE_LIMIT_BRUTE_FORCE_INTERVAL",
                config.rate_limit_brute_force_interval,
            ),
            (
                "AUTH_RATE_LIMIT_SIGNUPS_INTERVAL",
                config.rate_limit_signups_interval,
            ),
        ] {
            if interval.as_millis() == 0 {
                return Err(format!("{env} must be at least 1ms"));
            }
        }
        let server = config.rate_limit_memcache_server.trim();
        let store = if server.is_empty() {
            Store::Memory(MemoryStore::default())
        } else {
            let prefix = config.rate_limit_memcache_prefix.clone();
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
            let p = config.api_prefix.trim().trim_end_matches('/');
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
                config.rate_limit_global_burst,
                config.rate_limit_global_interval,
            ),
            email: SlidingWindow::new(
                if config.rate_limit_email_is_global {
                    "global-email"
                } else {
                    "user-email"
                },
                config.rate_limit_email_burst,
                config.rate_limit_email_interval,
            ),
            email_is_global: config.rate_limit_email_is_global,
            email_verification_required: config.email_verification_required,
            sms: SlidingWindow::new(
                "user-sms",
                config.rate_limit_sms_burst,
                config.rate_limit_sms_interval,
            ),
            brute_force: SlidingWindow::new(
                "user-bruteforce",
                config.rate_limit_brute_force_burst,
                config.rate_limit_brute_force_interval,
            ),
            signups: SlidingWindow::new(
                "user-signups",
                config.rate_limit_signups_burst,
                config.rate_limit_signups_interval,
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
}
