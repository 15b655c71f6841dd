//! When to try a failed delivery again, and when to give up.
//!
//! The default schedule follows the brief: the first attempt immediately,
//! then 1 min, 5 min, 30 min and 2 h after each failure, then the dead-letter
//! queue. Each delay is spread by a random jitter so that deliveries that
//! failed together do not retry together. A delay the remote side asks for
//! (`Retry-After`, or a connector's requested delay) replaces the schedule's,
//! within bounds, so a misbehaving server can neither make us hammer it nor
//! park a delivery for days.

use std::time::Duration;

use rand::Rng;
use serde::Deserialize;

/// Retry settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Delay before the 2nd, 3rd, ... attempt, in seconds. Its length plus one
    /// is the number of attempts before a delivery is dead-lettered.
    pub schedule_seconds: Vec<u64>,
    /// Fraction by which each scheduled delay is randomly spread, both ways.
    pub jitter: f64,
    /// Shortest delay honoured from a remote request, in seconds.
    pub min_requested_seconds: u64,
    /// Longest delay honoured from a remote request, in seconds.
    pub max_requested_seconds: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            schedule_seconds: vec![60, 300, 1_800, 7_200],
            jitter: 0.1,
            min_requested_seconds: 1,
            max_requested_seconds: 3_600,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Attempts are exhausted: dead-letter the delivery.
    GiveUp,
}

impl RetryPolicy {
    /// Checks the settings, naming the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.jitter) {
            return Err("delivery.retry.jitter must be at least 0 and below 1".into());
        }
        if self.min_requested_seconds > self.max_requested_seconds {
            return Err(
                "delivery.retry.min_requested_seconds must not exceed max_requested_seconds".into(),
            );
        }
        Ok(())
    }

    /// How long to wait when the remote side asked for `requested` (or for
    /// a pause without saying how long): within the configured bounds.
    pub fn honoured(&self, requested: Option<Duration>) -> Duration {
        let min = Duration::from_secs(self.min_requested_seconds);
        requested
            .unwrap_or(min)
            .clamp(min, Duration::from_secs(self.max_requested_seconds))
    }

    /// The delay after a failed circuit probe: the schedule's, or its last
    /// step once the schedule is used up, since a probe never dead-letters
    /// its delivery.
    pub fn after_probe(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        match self.after_failure(attempt, None, rng) {
            NextStep::RetryAfter(delay) => delay,
            NextStep::GiveUp => self
                .schedule_seconds
                .last()
                .map_or_else(|| self.honoured(None), |s| Duration::from_secs(*s)),
        }
    }

    /// Attempts made before a delivery is dead-lettered.
    pub fn max_attempts(&self) -> u32 {
        self.schedule_seconds.len() as u32 + 1
    }

    /// The step after attempt number `attempt` (1-based) failed, given the
    /// delay the remote side asked for, if any.
    pub fn after_failure(
        &self,
        attempt: u32,
        requested: Option<Duration>,
        rng: &mut impl Rng,
    ) -> NextStep {
        let Some(&scheduled) = self
            .schedule_seconds
            .get(attempt.saturating_sub(1) as usize)
        else {
            return NextStep::GiveUp;
        };
        let delay = match requested {
            Some(requested) => self.honoured(Some(requested)),
            None => {
                let spread = if self.jitter > 0.0 {
                    rng.random_range(-self.jitter..=self.jitter)
                } else {
                    0.0
                };
                Duration::from_secs_f64(scheduled as f64 * (1.0 + spread))
            }
        };
        NextStep::RetryAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn no_jitter() -> RetryPolicy {
        RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn default_schedule_is_1m_5m_30m_2h_then_dead_letter() {
        let policy = no_jitter();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let steps: Vec<NextStep> = (1..=5)
            .map(|n| policy.after_failure(n, None, &mut rng))
            .collect();
        assert_eq!(
            steps,
            vec![
                NextStep::RetryAfter(Duration::from_secs(60)),
                NextStep::RetryAfter(Duration::from_secs(300)),
                NextStep::RetryAfter(Duration::from_secs(1_800)),
                NextStep::RetryAfter(Duration::from_secs(7_200)),
                NextStep::GiveUp,
            ]
        );
        assert_eq!(policy.max_attempts(), 5);
    }

    #[test]
    fn jitter_spreads_delays_within_its_fraction() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..200)
            .map(|_| match policy.after_failure(1, None, &mut rng) {
                NextStep::RetryAfter(d) => d,
                NextStep::GiveUp => panic!("first failure must retry"),
            })
            .collect();
        assert!(
            delays
                .iter()
                .all(|d| (54.0..=66.0).contains(&d.as_secs_f64()))
        );
        assert!(delays.iter().any(|d| d.as_secs_f64() < 59.0));
        assert!(delays.iter().any(|d| d.as_secs_f64() > 61.0));
    }

    #[test]
    fn requested_delays_replace_the_schedule_within_bounds() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let step = |requested| {
            policy.after_failure(
                2,
                Some(requested),
                &mut rand::rngs::StdRng::seed_from_u64(1),
            )
        };
        assert_eq!(
            step(Duration::from_secs(7)),
            NextStep::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            step(Duration::ZERO),
            NextStep::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            step(Duration::from_secs(86_400)),
            NextStep::RetryAfter(Duration::from_secs(3_600))
        );
        // A requested delay does not buy extra attempts.
        assert_eq!(
            policy.after_failure(5, Some(Duration::from_secs(7)), &mut rng),
            NextStep::GiveUp
        );
    }

    #[test]
    fn invalid_settings_name_their_field() {
        let bad = RetryPolicy {
            jitter: 1.5,
            ..RetryPolicy::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("delivery.retry.jitter")
        );
    }
}
