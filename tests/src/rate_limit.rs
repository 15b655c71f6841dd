//! Token buckets, one per key (a webhook, a channel, a seller), on an
//! injectable clock so throttling tests move time instead of sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use parking_lot::Mutex;
use sluice_core::{SharedClock, UnixMillis};

/// How fast requests under one key may come.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimit {
    /// No throttling: for throughput tests and benchmarks.
    Unlimited,
    /// A token bucket holding up to `burst` tokens, refilled continuously at
    /// `per_second`; each request takes one.
    TokenBucket {
        /// Tokens added per second.
        per_second: f64,
        /// Bucket size: how many requests may come back to back.
        burst: u32,
    },
}

impl RateLimit {
    /// A token bucket of `burst` refilled at `per_second`.
    ///
    /// # Panics
    /// If `per_second` is not a positive finite number or `burst` is zero:
    /// such a limit would refuse everything forever.
    pub fn per_second(per_second: f64, burst: u32) -> Self {
        assert!(
            per_second.is_finite() && per_second > 0.0,
            "rate limit per_second must be positive, got {per_second}"
        );
        assert!(burst > 0, "rate limit burst must be at least 1");
        Self::TokenBucket { per_second, burst }
    }
}

/// How long a throttled client should wait before its next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// The wait in whole seconds, rounded up and at least 1, as a
    /// `Retry-After` header carries it.
    pub fn header_seconds(self) -> u64 {
        let whole = self.0.as_secs();
        let rounded = if self.0.subsec_nanos() > 0 {
            whole + 1
        } else {
            whole
        };
        rounded.max(1)
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: UnixMillis,
}

/// One token bucket per key, all with the same [`RateLimit`].
pub struct RateLimiter<K> {
    limit: RateLimit,
    clock: SharedClock,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// A limiter whose buckets start full.
    pub fn new(limit: RateLimit, clock: SharedClock) -> Self {
        Self {
            limit,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket, or says how long until one is there.
    pub fn acquire(&self, key: K) -> Result<(), RetryAfter> {
        let RateLimit::TokenBucket { per_second, burst } = self.limit else {
            return Ok(());
        };
        let burst = f64::from(burst);
        let now = self.clock.now_ms();
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            refilled_at: now,
        });
        // A clock that moved backwards refills nothing rather than draining.
        let elapsed_secs = now.saturating_sub(bucket.refilled_at).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed_secs * per_second).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(RetryAfter(Duration::from_secs_f64(wait)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::ManualClock;
    use std::sync::Arc;

    fn limiter(limit: RateLimit) -> (RateLimiter<&'static str>, ManualClock) {
        let clock = ManualClock::new(1_000_000);
        (RateLimiter::new(limit, Arc::new(clock.clone())), clock)
    }

    #[test]
    fn a_full_bucket_allows_a_burst_then_refuses() {
        let (limiter, _clock) = limiter(RateLimit::per_second(1.0, 3));
        for _ in 0..3 {
            assert_eq!(limiter.acquire("hook"), Ok(()));
        }
        assert_eq!(
            limiter.acquire("hook"),
            Err(RetryAfter(Duration::from_secs(1)))
        );
    }

    #[test]
    fn tokens_come_back_with_time() {
        let (limiter, clock) = limiter(RateLimit::per_second(2.0, 1));
        limiter.acquire("hook").unwrap();
        clock.advance(Duration::from_millis(250));
        assert_eq!(
            limiter.acquire("hook"),
            Err(RetryAfter(Duration::from_millis(250)))
        );
        clock.advance(Duration::from_millis(250));
        assert_eq!(limiter.acquire("hook"), Ok(()));
    }

    #[test]
    fn keys_have_separate_buckets() {
        let (limiter, _clock) = limiter(RateLimit::per_second(1.0, 1));
        limiter.acquire("a").unwrap();
        assert!(limiter.acquire("a").is_err());
        assert_eq!(limiter.acquire("b"), Ok(()));
    }

    #[test]
    fn unlimited_never_refuses() {
        let (limiter, _clock) = limiter(RateLimit::Unlimited);
        for _ in 0..10_000 {
            limiter.acquire("hook").unwrap();
        }
    }

    #[test]
    fn a_clock_moving_backwards_does_not_refill() {
        let (limiter, clock) = limiter(RateLimit::per_second(1.0, 1));
        limiter.acquire("hook").unwrap();
        clock.set(0);
        assert!(limiter.acquire("hook").is_err());
    }

    #[test]
    fn retry_after_header_rounds_up_to_whole_seconds() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).header_seconds(), 1);
        assert_eq!(RetryAfter(Duration::ZERO).header_seconds(), 1);
        assert_eq!(RetryAfter(Duration::from_secs(7)).header_seconds(), 7);
        assert_eq!(RetryAfter(Duration::from_millis(7001)).header_seconds(), 8);
    }

    #[test]
    #[should_panic(expected = "burst must be at least 1")]
    fn a_zero_burst_is_refused() {
        RateLimit::per_second(1.0, 0);
    }
}
