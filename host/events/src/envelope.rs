//! The event envelope accepted by `POST /v1/events`: parsing a request body
//! of one event or a batch, with every problem named by its field.

use chrono::DateTime;
use serde::Deserialize;
use serde_json::value::RawValue;
use sluice_core::{SYSTEM_PREFIX, validate_event_type};
use sluice_storage::{EventSource, NewEvent};

use crate::payload;

/// Most events in one request.
pub const MAX_BATCH: usize = 1_000;
/// Largest payload of one event, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Path of the field, for example `events[2].occurred_at` or `payload.price.amount`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    store_id: String,
    occurred_at: String,
    payload: Box<RawValue>,
}

/// Parses a request body holding one event object or an array of them.
/// Returns the events, or every problem found, each naming its field
/// (`events[i].` prefixes fields of a batch).
pub fn parse_events(body: &[u8]) -> Result<Vec<NewEvent>, Vec<FieldError>> {
    let not_json = |e: serde_json::Error| {
        vec![FieldError::new(
            "<body>",
            format!("not a JSON event or array of events: {e}"),
        )]
    };
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let items: Vec<Box<RawValue>> = if batch {
        serde_json::from_slice(body).map_err(not_json)?
    } else {
        vec![serde_json::from_slice(body).map_err(not_json)?]
    };
    if items.is_empty() {
        return Err(vec![FieldError::new("<body>", "the batch holds no event")]);
    }
    if items.len() > MAX_BATCH {
        return Err(vec![FieldError::new(
            "<body>",
            format!(
                "a batch holds at most {MAX_BATCH} events, this one {}",
                items.len()
            ),
        )]);
    }
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let prefix = if batch {
            format!("events[{index}].")
        } else {
            String::new()
        };
        match parse_one(item.get()) {
            Ok(event) => events.push(event),
            Err(found) => errors.extend(found.into_iter().map(|e| FieldError {
                field: format!("{prefix}{}", e.field),
                message: e.message,
            })),
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(errors)
    }
}

fn parse_one(text: &str) -> Result<NewEvent, Vec<FieldError>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let raw: RawEnvelope = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "<event>".to_owned()
        } else {
            path
        };
        vec![FieldError::new(field, e.into_inner().to_string())]
    })?;
    let occurred_at = DateTime::parse_from_rfc3339(&raw.occurred_at).map_err(|e| {
        FieldError::new(
            "occurred_at",
            format!("must be an RFC 3339 time with an offset, like 2026-11-22T10:15:00Z: {e}"),
        )
    });
    let event = NewEvent {
        store_id: raw.store_id,
        id: raw.id,
        event_type: raw.event_type,
        occurred_at: occurred_at.as_ref().map_or(0, |at| at.timestamp_millis()),
        payload: raw.payload.get().to_owned(),
        source: EventSource::Api,
    };
    let mut errors = check_event(&event);
    if let Err(error) = occurred_at {
        // In the envelope's order: before the payload's problems.
        let at = errors
            .iter()
            .position(|e| e.field.starts_with("payload"))
            .unwrap_or(errors.len());
        errors.insert(at, error);
    }
    if errors.is_empty() {
        Ok(event)
    } else {
        Err(errors)
    }
}

/// Checks an event from any source (the API, an inbound webhook, a sync
/// batch): its id, store, type (not reserved) and payload (size and, for the
/// documented types, schema).
pub fn check_event(event: &NewEvent) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !valid_token(&event.id, 200, true) {
        errors.push(FieldError::new(
            "id",
            "must be 1 to 200 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'",
        ));
    }
    if !valid_token(&event.store_id, 100, false) {
        errors.push(FieldError::new(
            "store_id",
            "must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
        ));
    }
    if let Err(e) = validate_event_type(&event.event_type) {
        errors.push(FieldError::new(
            "type",
            format!("'{}' {e}", event.event_type),
        ));
    } else if event.event_type.starts_with(SYSTEM_PREFIX) {
        errors.push(FieldError::new(
            "type",
            format!("types starting with '{SYSTEM_PREFIX}' are reserved for Sluice's own events"),
        ));
    }
    if event.payload.len() > MAX_PAYLOAD_BYTES {
        errors.push(FieldError::new(
            "payload",
            format!(
                "is {} bytes; the limit is {MAX_PAYLOAD_BYTES}",
                event.payload.len()
            ),
        ));
    } else {
        errors.extend(payload::validate(&event.event_type, &event.payload));
    }
    errors
}

fn valid_token(text: &str, max: usize, allow_colon: bool) -> bool {
    (1..=max).contains(&text.len())
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'_' | b'-')
                || (allow_colon && b == b':')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str) -> Vec<String> {
        parse_events(body.as_bytes())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    const GOOD: &str = r#"{"id":"evt_1","type":"order.shipped","store_id":"s1","occurred_at":"2026-11-22T10:15:00+01:00","payload":{"b": 1,  "a":[2]}}"#;

    #[test]
    fn one_event_or_a_batch_is_accepted_with_its_payload_byte_for_byte() {
        let one = parse_events(GOOD.as_bytes()).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].payload, r#"{"b": 1,  "a":[2]}"#);
        assert_eq!(
            one[0].occurred_at, 1_795_338_900_000,
            "10:15+01:00 is 09:15Z"
        );
        let batch = parse_events(format!("[{GOOD},{GOOD}]").as_bytes()).unwrap();
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn each_bad_field_is_named() {
        let bad =
            r#"{"id":"evt 1","type":"Order","store_id":"","occurred_at":"yesterday","payload":{}}"#;
        assert_eq!(fields(bad), vec!["id", "store_id", "type", "occurred_at"]);
        assert_eq!(fields(&format!("[{GOOD},{bad}]"))[0], "events[1].id");
        let reserved = GOOD.replace("order.shipped", "webhook.delivered");
        assert_eq!(fields(&reserved), vec!["type"]);
    }

    #[test]
    fn missing_unknown_and_malformed_fields_are_named() {
        let missing = r#"{"id":"e","type":"a.b","store_id":"s","payload":{}}"#;
        let errors = parse_events(missing.as_bytes()).unwrap_err();
        assert!(
            errors[0].message.contains("missing field `occurred_at`"),
            "{errors:?}"
        );
        let unknown = GOOD.replace("\"payload\"", "\"colour\":1,\"payload\"");
        let errors = parse_events(unknown.as_bytes()).unwrap_err();
        assert!(
            errors[0].message.contains("unknown field `colour`"),
            "{errors:?}"
        );
        assert_eq!(fields("not json"), vec!["<body>"]);
        assert_eq!(fields("[]"), vec!["<body>"]);
    }

    #[test]
    fn oversized_batches_and_payloads_are_refused() {
        let many = format!("[{}]", vec![GOOD; MAX_BATCH + 1].join(","));
        assert!(
            parse_events(many.as_bytes()).unwrap_err()[0]
                .message
                .contains("at most 1000")
        );
        let big = GOOD.replace(
            "{\"b\": 1,  \"a\":[2]}",
            &format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_PAYLOAD_BYTES)),
        );
        assert_eq!(fields(&big), vec!["payload"]);
    }
}
