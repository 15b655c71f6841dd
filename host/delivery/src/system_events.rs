//! The platform events Sluice raises about its own deliveries.
//!
//! A delivery that ends raises `webhook.delivered` or
//! `webhook.dead_lettered` for its store, so that a store admin can, for
//! example, have the Slack connector tell them about dead letters. Storage
//! keeps such an event only if some target of the store subscribes to it, and
//! deliveries *of* these events raise nothing, so they never feed themselves.

use serde_json::json;
use sluice_core::SYSTEM_PREFIX;
use sluice_storage::{AttemptRecord, ClaimedDelivery, EventSource, NewEvent, Verdict};

/// Event type raised when a delivery succeeds.
pub const DELIVERED: &str = "webhook.delivered";
/// Event type raised when a delivery is dead-lettered.
pub const DEAD_LETTERED: &str = "webhook.dead_lettered";

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
