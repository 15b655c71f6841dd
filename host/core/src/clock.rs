//! Time as an injected capability.
//!
//! Everything in Sluice that decides *when* (retry schedules, leases, token
//! and state expiry, sync intervals) asks a [`Clock`] instead of the system.
//! Production uses [`SystemClock`]; tests use [`ManualClock`] and move time
//! forward explicitly, so no test ever sleeps through a retry delay.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

/// Milliseconds since the Unix epoch, UTC.
pub type UnixMillis = i64;

/// A future returned by [`Clock::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time that can also wait for a moment to come.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now_ms(&self) -> UnixMillis;

    /// Completes once [`Clock::now_ms`] has reached `deadline`.
    fn sleep_until(&self, deadline: UnixMillis) -> Sleep;

    /// The current time as a UTC date-time.
    fn now(&self) -> DateTime<Utc> {
        millis_to_datetime(self.now_ms())
    }
}

/// A clock shared across tasks.
pub type SharedClock = Arc<dyn Clock>;

/// Converts Unix milliseconds to a UTC date-time, saturating on overflow.
pub fn millis_to_datetime(ms: UnixMillis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Formats Unix milliseconds as RFC 3339 with millisecond precision and `Z`.
pub fn format_rfc3339(ms: UnixMillis) -> String {
    millis_to_datetime(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> UnixMillis {
        Utc::now().timestamp_millis()
    }

    fn sleep_until(&self, deadline: UnixMillis) -> Sleep {
        let wait = deadline.saturating_sub(self.now_ms()).max(0) as u64;
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that moves only when told to. Sleepers wake as soon as an
/// [`advance`](ManualClock::advance) or [`set`](ManualClock::set) reaches
/// their deadline.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<tokio::sync::watch::Sender<UnixMillis>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: UnixMillis) -> Self {
        Self {
            now: Arc::new(tokio::sync::watch::Sender::new(start)),
        }
    }

    /// A clock standing at the current real time, a convenient start for tests
    /// whose timestamps must look plausible to fakes.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now_ms())
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now.send_modify(|now| *now = now.saturating_add(by));
    }

    /// Sets the time; it may move backwards, as a real wall clock can.
    pub fn set(&self, to: UnixMillis) {
        self.now.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> UnixMillis {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: UnixMillis) -> Sleep {
        let mut changes = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as any clone of the clock; if every
            // clone is gone, time can no longer reach the deadline.
            if changes.wait_for(|now| *now >= deadline).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_sleep_wakes_exactly_when_time_reaches_the_deadline() {
        let clock = ManualClock::new(1_000);
        let sleeper = tokio::spawn(clock.sleep_until(1_000 + 7_200_000));
        clock.advance(Duration::from_secs(3_600));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "woke an hour early");
        clock.advance(Duration::from_secs(3_600));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper did not wake")
            .unwrap();
        assert_eq!(clock.now_ms(), 1_000 + 7_200_000);
    }

    #[tokio::test]
    async fn manual_sleep_in_the_past_completes_at_once() {
        let clock = ManualClock::new(5_000);
        tokio::time::timeout(Duration::from_secs(1), clock.sleep_until(10))
            .await
            .expect("a past deadline must not wait");
    }

    #[test]
    fn rfc3339_uses_milliseconds_and_z() {
        assert_eq!(
            format_rfc3339(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
