//! Settings of the delivery workers.

use serde::Deserialize;
use sluice_storage::CircuitPolicy;

use crate::retry::RetryPolicy;

/// How the delivery workers run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts running at once on this node.
    pub concurrency: usize,
    /// The most attempts running at once against one target, counted over
    /// every node (leases held), whatever its backlog; reached only by a
    /// target whose attempts succeed within `fast_attempt_ms`.
    pub per_target_concurrency: usize,
    /// Attempts running at once against a target whose attempts are slow or
    /// failing, and against every target until it has proved fast: a slow
    /// receiver holds at most this many workers.
    pub slow_target_concurrency: usize,
    /// An attempt that succeeds within this many milliseconds counts as
    /// fast and raises its target's cap towards `per_target_concurrency`.
    pub fast_attempt_ms: u64,
    /// Deliveries claimed per database round trip, at most.
    pub claim_batch: usize,
    /// How often idle workers look for due deliveries, in milliseconds
    /// (new events and manual retries wake them at once).
    pub poll_interval_ms: u64,
    /// The least time, in milliseconds, between a claim that found only a
    /// few deliveries due (1 to 7) and the next: under a stream of
    /// one-event requests, the events of this interval are claimed together
    /// rather than a few per claim. A wake-up after a quiet spell, or after
    /// a claim that found none or many, claims at once. 0 claims on every
    /// wake-up.
    pub min_claim_interval_ms: u64,
    /// Added to the longest possible attempt to make the lease, in milliseconds.
    pub lease_margin_ms: u64,
    /// Longest attempt, in milliseconds; the lease outlives it so that no
    /// two workers ever hold the same delivery.
    pub max_attempt_ms: u64,
    /// Bytes of a webhook's response body kept in the attempt log.
    pub response_body_limit: usize,
    /// Attempts recorded per database transaction, at most.
    pub completion_batch: usize,
    /// How long a shutdown waits for attempts in flight, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// When a failing target's circuit opens, and when it is given up.
    pub circuit: CircuitConfig,
}

/// The circuit breaker of every target (`[delivery.circuit]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitConfig {
    /// Consecutive failures (5xx, timeouts, refused connections) that open
    /// a target's circuit.
    pub failure_threshold: u32,
    /// How long a circuit first stays open, in seconds; each failed probe
    /// doubles it.
    pub open_seconds: u64,
    /// The longest a circuit stays open between probes, in seconds.
    pub max_open_seconds: u64,
    /// A target failing for this long (from its circuit's first opening) is
    /// disabled with a reason, and its pending deliveries become dead
    /// letters a bulk retry revives; in hours (Svix: 5 days).
    pub disable_after_hours: u64,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_seconds: 30,
            max_open_seconds: 3_600,
            disable_after_hours: 120,
        }
    }
}

impl CircuitConfig {
    /// The policy storage applies.
    pub fn policy(&self) -> CircuitPolicy {
        let ms = |seconds: u64| i64::try_from(seconds.saturating_mul(1_000)).unwrap_or(i64::MAX);
        CircuitPolicy {
            failure_threshold: self.failure_threshold,
            open_ms: ms(self.open_seconds),
            max_open_ms: ms(self.max_open_seconds),
            disable_after_ms: ms(self.disable_after_hours.saturating_mul(3_600)),
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.failure_threshold == 0 {
            return Err("delivery.circuit.failure_threshold must be at least 1".into());
        }
        if self.open_seconds == 0 {
            return Err("delivery.circuit.open_seconds must be at least 1".into());
        }
        if self.max_open_seconds < self.open_seconds {
            return Err("delivery.circuit.max_open_seconds must be at least open_seconds".into());
        }
        if self.disable_after_hours == 0 {
            return Err("delivery.circuit.disable_after_hours must be at least 1".into());
        }
        Ok(())
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency: 256,
            per_target_concurrency: 64,
            slow_target_concurrency: 16,
            fast_attempt_ms: 250,
            claim_batch: 256,
            poll_interval_ms: 500,
            min_claim_interval_ms: 5,
            lease_margin_ms: 30_000,
            max_attempt_ms: 60_000,
            response_body_limit: 8 * 1024,
            completion_batch: 512,
            shutdown_grace_ms: 10_000,
            retry: RetryPolicy::default(),
            circuit: CircuitConfig::default(),
        }
    }
}

impl DeliveryConfig {
    /// Checks the settings, naming the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        for (field, value) in [
            ("delivery.concurrency", self.concurrency),
            (
                "delivery.per_target_concurrency",
                self.per_target_concurrency,
            ),
            (
                "delivery.slow_target_concurrency",
                self.slow_target_concurrency,
            ),
            ("delivery.claim_batch", self.claim_batch),
            ("delivery.completion_batch", self.completion_batch),
        ] {
            if value == 0 {
                return Err(format!("{field} must be at least 1"));
            }
        }
        if self.poll_interval_ms == 0 {
            return Err("delivery.poll_interval_ms must be at least 1".into());
        }
        if self.min_claim_interval_ms > self.poll_interval_ms {
            return Err(format!(
                "delivery.min_claim_interval_ms must be at most delivery.poll_interval_ms ({}): \
                 a small claim would otherwise hold back events longer than an idle worker waits",
                self.poll_interval_ms
            ));
        }
        self.retry.validate()?;
        self.circuit.validate()
    }

    /// [`DeliveryConfig::min_claim_interval_ms`] as a duration.
    pub fn min_claim_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.min_claim_interval_ms)
    }

    /// How long a claim holds a delivery.
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.max_attempt_ms + self.lease_margin_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_cap_is_refused_naming_its_field() {
        for (field, config) in [
            (
                "delivery.per_target_concurrency",
                DeliveryConfig {
                    per_target_concurrency: 0,
                    ..DeliveryConfig::default()
                },
            ),
            (
                "delivery.slow_target_concurrency",
                DeliveryConfig {
                    slow_target_concurrency: 0,
                    ..DeliveryConfig::default()
                },
            ),
        ] {
            let error = config.validate().unwrap_err();
            assert!(error.starts_with(field), "{error}");
        }
    }

    #[test]
    fn a_claim_interval_longer_than_the_poll_interval_is_refused_naming_both() {
        let config = DeliveryConfig {
            min_claim_interval_ms: 501,
            poll_interval_ms: 500,
            ..DeliveryConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert!(
            error.starts_with(
                "delivery.min_claim_interval_ms must be at most delivery.poll_interval_ms (500)"
            ),
            "{error}"
        );
        let at_most = DeliveryConfig {
            min_claim_interval_ms: 500,
            ..config
        };
        assert_eq!(at_most.validate(), Ok(()));
    }
}
