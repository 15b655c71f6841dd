//! Settings of the delivery workers.

use serde::Deserialize;

use crate::retry::RetryPolicy;

/// How the delivery workers run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts running at once on this node.
    pub concurrency: usize,
    /// Attempts running at once against one target on this node.
    pub per_target_concurrency: usize,
    /// Deliveries claimed per database round trip, at most.
    pub claim_batch: usize,
    /// How often idle workers look for due deliveries, in milliseconds
    /// (new events and manual retries wake them at once).
    pub poll_interval_ms: u64,
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
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency: 256,
            per_target_concurrency: 64,
            claim_batch: 256,
            poll_interval_ms: 500,
            lease_margin_ms: 30_000,
            max_attempt_ms: 60_000,
            response_body_limit: 8 * 1024,
            completion_batch: 512,
            shutdown_grace_ms: 10_000,
            retry: RetryPolicy::default(),
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
        self.retry.validate()
    }

    /// How long a claim holds a delivery.
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.max_attempt_ms + self.lease_margin_ms)
    }
}
