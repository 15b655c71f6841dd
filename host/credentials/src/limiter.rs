//! Brute-force protection: authentication failures counted per source.
//!
//! A source is the peer address of the connection, or the address a
//! configured trusted proxy header names ([`crate::CredentialsConfig`]).
//! IPv6 sources count per /64, the smallest block one holder usually gets.
//! After `limit` failures within `window` of the first one, the source is
//! refused (HTTP 429 with `Retry-After`) until the window ends, before any
//! credential is looked up or hashed. Windows are read from the injected
//! clock. At most `max_sources` sources are tracked: when full, ended
//! windows are dropped first, then new sources are not tracked until room
//! frees up (memory stays bounded whatever an attacker sends).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use parking_lot::Mutex;
use sluice_core::UnixMillis;

/// A source is refused for this many more whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

#[derive(Debug, Clone, Copy)]
struct Window {
    started: UnixMillis,
    failures: u32,
}

/// Counts failures per source in fixed windows.
#[derive(Debug)]
pub struct FailureLimiter {
    limit: u32,
    window_ms: i64,
    max_sources: usize,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// The key a source counts under: IPv4 as is, IPv6 by its /64.
fn key(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(_) => source,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl FailureLimiter {
    /// Refuses a source after `limit` failures within `window_ms`.
    pub fn new(limit: u32, window_ms: i64, max_sources: usize) -> Self {
        Self {
            limit: limit.max(1),
            window_ms: window_ms.max(1),
            max_sources,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn blocked(&self, window: &Window, now: UnixMillis) -> Option<RetryAfter> {
        let ends = window.started + self.window_ms;
        (window.failures >= self.limit && now < ends)
            .then(|| RetryAfter(((ends - now) as u64).div_ceil(1000).max(1)))
    }

    /// Whether `source` may try to authenticate now.
    pub fn check(&self, source: IpAddr, now: UnixMillis) -> Result<(), RetryAfter> {
        match self.windows.lock().get(&key(source)) {
            Some(window) => self.blocked(window, now).map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    /// Counts a failure of `source`; returns how long it is refused if this
    /// failure reached the limit.
    pub fn record_failure(&self, source: IpAddr, now: UnixMillis) -> Option<RetryAfter> {
        let mut windows = self.windows.lock();
        let key = key(source);
        if !windows.contains_key(&key) && windows.len() >= self.max_sources {
            let window_ms = self.window_ms;
            windows.retain(|_, window| now < window.started + window_ms);
            if windows.len() >= self.max_sources {
                tracing::warn!(
                    sources = windows.len(),
                    "too many sources failing authentication to track another"
                );
                return None;
            }
        }
        let window = windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= window.started + self.window_ms {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures += 1;
        self.blocked(window, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 8));

    #[test]
    fn a_source_is_refused_after_the_limit_until_its_window_ends() {
        let limiter = FailureLimiter::new(3, 60_000, 100);
        assert_eq!(limiter.record_failure(A, 0), None);
        assert_eq!(limiter.record_failure(A, 1_000), None);
        assert_eq!(limiter.check(A, 1_000), Ok(()));
        assert_eq!(limiter.record_failure(A, 2_000), Some(RetryAfter(58)));
        assert_eq!(limiter.check(A, 2_000), Err(RetryAfter(58)));
        assert_eq!(limiter.check(A, 59_500), Err(RetryAfter(1)));
        assert_eq!(
            limiter.check(B, 2_000),
            Ok(()),
            "other sources are not affected"
        );
        assert_eq!(limiter.check(A, 60_000), Ok(()), "the window ended");
        assert_eq!(
            limiter.record_failure(A, 60_000),
            None,
            "a new window starts"
        );
    }

    #[test]
    fn ipv6_sources_count_per_64() {
        let limiter = FailureLimiter::new(2, 60_000, 100);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other_in_same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        limiter.record_failure(one, 0);
        assert!(limiter.record_failure(other_in_same_64, 1).is_some());
        assert!(limiter.check(one, 2).is_err());
        assert_eq!(limiter.check(other_64, 2), Ok(()));
    }

    #[test]
    fn tracked_sources_are_bounded() {
        let limiter = FailureLimiter::new(1, 1_000, 2);
        assert!(limiter.record_failure(A, 0).is_some());
        assert!(limiter.record_failure(B, 0).is_some());
        let c: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            limiter.record_failure(c, 10),
            None,
            "not tracked while full"
        );
        assert!(
            limiter.record_failure(c, 1_000).is_some(),
            "ended windows make room"
        );
        assert_eq!(limiter.windows.lock().len(), 1);
    }
}
