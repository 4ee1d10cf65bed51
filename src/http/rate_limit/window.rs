//! Upstream's sliding-window estimate (SPEC §9) for one bucket, with what the
//! `RateLimit-*` / `Retry-After` headers need.

use std::time::Duration;

use super::store::Store;

/// One bucket: a store-key prefix, a limit and a window.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    pub(super) prefix: &'static str,
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

pub(super) fn ceil_secs(ms: u64) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::rate_limit::store::{MemoryStore, now_ms};

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
}
