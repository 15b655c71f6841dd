//! The platform events Sluice raises about its own deliveries and targets.
//!
//! A delivery that ends raises `webhook.delivered` or
//! `webhook.dead_lettered` for its store, so that a store admin can, for
//! example, have the Slack connector tell them about dead letters. Storage
//! keeps such an event only if some target of the store subscribes to it, and
//! deliveries *of* these events raise nothing, so they never feed themselves.
//!
//! A target's circuit raises `webhook.circuit_opened` when it opens,
//! `webhook.circuit_closed` when a probe closes it, and
//! `webhook.endpoint_disabled` when a long outage disables the target. Like
//! every `webhook.*` event they reach only targets that name them (`*` does
//! not select them), and at most one is raised per change of state.

use serde_json::json;
use sluice_core::SYSTEM_PREFIX;
use sluice_core::clock::format_rfc3339;
use sluice_storage::{
    AttemptRecord, CircuitChange, CircuitTransition, ClaimedDelivery, EventSource, NewEvent,
    Verdict,
};

/// Event type raised when a delivery succeeds.
pub const DELIVERED: &str = "webhook.delivered";
/// Event type raised when a delivery is dead-lettered.
pub const DEAD_LETTERED: &str = "webhook.dead_lettered";
/// Event type raised when a target's circuit opens.
pub const CIRCUIT_OPENED: &str = "webhook.circuit_opened";
/// Event type raised when a probe closes a target's circuit.
pub const CIRCUIT_CLOSED: &str = "webhook.circuit_closed";
/// Event type raised when a long outage disables a target.
pub const ENDPOINT_DISABLED: &str = "webhook.endpoint_disabled";

/// The event a circuit transition raises.
pub(crate) fn for_transition(transition: &CircuitTransition) -> Option<NewEvent> {
    let state = &transition.state;
    let event_type = match transition.change {
        CircuitChange::Opened => CIRCUIT_OPENED,
        CircuitChange::Closed => CIRCUIT_CLOSED,
        CircuitChange::Disabled => ENDPOINT_DISABLED,
    };
    let blocked_until =
        (transition.change == CircuitChange::Opened).then(|| format_rfc3339(state.blocked_until));
    let payload = json!({
        "target_kind": state.target_kind.as_str(),
        "target_id": state.target_id,
        "target_name": transition.target_name,
        "circuit": state.circuit.as_str(),
        "consecutive_failures": state.consecutive_failures,
        "last_error": state.last_error,
        "outage_started_at": state.opened_at.map(format_rfc3339),
        "next_probe_at": blocked_until,
        "disabled_reason": state.disabled_reason,
    });
    Some(NewEvent {
        store_id: state.store_id.clone(),
        // Deterministic: one event per change of state.
        id: format!(
            "{}.{}.{}",
            state.target_id,
            &event_type[SYSTEM_PREFIX.len()..],
            transition.at
        ),
        event_type: event_type.to_owned(),
        occurred_at: transition.at,
        payload: payload.to_string(),
        source: EventSource::System,
    })
}

/// A system event about one delivery.
pub(crate) type SystemEvent = NewEvent;

/// Builds the event a verdict raises, if any.
pub(crate) fn for_verdict(
    claimed: &ClaimedDelivery,
    verdict: &Verdict,
    record: &AttemptRecord,
    target_name: Option<String>,
    attempts: u32,
) -> Option<SystemEvent> {
    let delivery = &claimed.delivery;
    if delivery.event_type.starts_with(SYSTEM_PREFIX) {
        return None;
    }
    let (event_type, external_id) = match verdict {
        Verdict::Delivered { external_id } => (DELIVERED, external_id.clone()),
        Verdict::Exhausted | Verdict::Failed => (DEAD_LETTERED, None),
        Verdict::RetryAt(_) => return None,
    };
    let payload = json!({
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "target_kind": delivery.target_kind.as_str(),
        "target_id": delivery.target_id,
        "target_name": target_name,
        "attempts": attempts,
        "reason": record.error,
        "http_status": record.http_status,
        "external_id": external_id,
    });
    Some(NewEvent {
        store_id: delivery.store_id.clone(),
        // Deterministic, so that a completion recorded twice raises one event.
        id: format!("{}.{}", delivery.id, &event_type[SYSTEM_PREFIX.len()..]),
        event_type: event_type.to_owned(),
        occurred_at: record.started_at + record.duration_ms,
        payload: payload.to_string(),
        source: EventSource::System,
    })
}
