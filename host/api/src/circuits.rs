//! What webhook subscriptions and connector configurations share about
//! their target's health: the circuit breaker as the API shows it, and the
//! declared rate limit.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize};
use sluice_core::UnixMillis;
use sluice_storage::{CircuitState, TargetState};
use utoipa::ToSchema;

use crate::{ApiResult, Problem, timestamp};

/// The highest rate limit a target may declare, in requests per second.
pub const MAX_RATE_LIMIT_PER_SECOND: u32 = 1_000;

/// A target's circuit breaker.
#[derive(Debug, Serialize, ToSchema)]
pub struct CircuitView {
    /// `closed` (deliveries flow), `open` (they wait for the back-off to
    /// end) or `half_open` (one probe attempt is deciding).
    pub state: String,
    /// Failures (5xx, timeouts, refused connections) since the last success.
    pub consecutive_failures: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the current outage began.
    pub outage_started_at: Option<String>,
    /// No attempt before this time: the back-off of an open circuit, or a
    /// pause the target asked for with `429 Retry-After`.
    pub paused_until: Option<String>,
    /// Why Sluice disabled the target after a long outage.
    pub disabled_reason: Option<String>,
}

impl Default for CircuitView {
    fn default() -> Self {
        Self {
            state: CircuitState::Closed.as_str().to_owned(),
            consecutive_failures: 0,
            last_error: None,
            outage_started_at: None,
            paused_until: None,
            disabled_reason: None,
        }
    }
}

impl CircuitView {
    /// The view of `state` at `now`.
    pub fn new(state: &TargetState, now: UnixMillis) -> Self {
        Self {
            state: state.circuit.as_str().to_owned(),
            consecutive_failures: state.consecutive_failures,
            last_error: state.last_error.clone(),
            outage_started_at: state.opened_at.map(timestamp),
            paused_until: (state.blocked_until > now && state.disabled_reason.is_none())
                .then(|| timestamp(state.blocked_until)),
            disabled_reason: state.disabled_reason.clone(),
        }
    }

    /// The views of `states` by target id; targets missing are healthy.
    pub fn by_target(states: Vec<TargetState>, now: UnixMillis) -> HashMap<String, Self> {
        states
            .into_iter()
            .map(|state| (state.target_id.clone(), Self::new(&state, now)))
            .collect()
    }
}

/// Checks a declared rate limit.
pub(crate) fn check_rate_limit(value: Option<u32>) -> ApiResult<Option<u32>> {
    match value {
        Some(rate) if !(1..=MAX_RATE_LIMIT_PER_SECOND).contains(&rate) => {
            Err(Problem::invalid_field(
                "rate_limit_per_second",
                format!("must be between 1 and {MAX_RATE_LIMIT_PER_SECOND} requests per second"),
            ))
        }
        other => Ok(other),
    }
}

/// Reads a field that may be absent (unchanged), `null` (removed) or set.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
