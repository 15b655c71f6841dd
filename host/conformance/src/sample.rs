//! What the kit makes up when the publisher gives nothing: a sample event of
//! a type the manifest handles, and values that match a field's pattern.

use regex_syntax::hir::{Class, Hir, HirKind};
use sluice_core::EventTypePattern;
use sluice_manifest::Manifest;

/// The platform's event types with a payload valid for each (see
/// `docs/events.md`), in the order the kit prefers them.
const KNOWN_EVENTS: [(&str, &str); 5] = [
    (
        "order.placed",
        r#"{"marketplace":"web","order_id":"conformance-1001","status":"pending","line_items":[{"line_item_id":"1","sku":"CONFORMANCE-SKU","quantity":1}],"total":{"amount":"19.99","currency":"USD"}}"#,
    ),
    (
        "order.updated",
        r#"{"marketplace":"web","order_id":"conformance-1001","status":"unshipped","line_items":[{"line_item_id":"1","sku":"CONFORMANCE-SKU","quantity":1}],"total":{"amount":"19.99","currency":"USD"}}"#,
    ),
    (
        "order.fulfilled",
        r#"{"marketplace":"web","order_id":"conformance-1001","line_items":[{"line_item_id":"1","sku":"CONFORMANCE-SKU","quantity":1}],"carrier":"UPS","tracking_number":"1Z999AA10123456784","shipped_at":"2026-01-01T10:00:00Z"}"#,
    ),
    (
        "product.updated",
        r#"{"sku":"CONFORMANCE-SKU","title":"Conformance T-shirt","description":"A shirt the conformance kit describes.","price":{"amount":"19.99","currency":"USD"},"condition":"new","quantity":5}"#,
    ),
    (
        "inventory.updated",
        r#"{"sku":"CONFORMANCE-SKU","quantity":5}"#,
    ),
];

/// A sample event: its type and payload (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SampleEvent {
    /// The event type, one the manifest handles.
    pub event_type: String,
    /// The payload, valid for the type when the platform knows it.
    pub payload: String,
}

impl SampleEvent {
    /// An event the connector declares it handles: the first known type its
    /// events select, else its first declared type (for a `prefix.*`
    /// pattern, `prefix.conformance`) with a small object payload.
    pub fn for_manifest(manifest: &Manifest) -> Self {
        if let Some((event_type, payload)) = KNOWN_EVENTS
            .iter()
            .find(|(event_type, _)| manifest.handles(event_type))
        {
            return Self {
                event_type: (*event_type).to_owned(),
                payload: (*payload).to_owned(),
            };
        }
        let event_type = match manifest.events.first() {
            Some(EventTypePattern::Exact(exact)) => exact.clone(),
            Some(EventTypePattern::Prefix(prefix)) if !prefix.is_empty() => {
                format!("{prefix}.conformance")
            }
            // `*` selects order.placed, and no events means no deliveries.
            _ => "order.placed".to_owned(),
        };
        Self {
            event_type,
            payload: r#"{"id":"conformance-1"}"#.to_owned(),
        }
    }
}

/// Characters tried first for a character class, so that made-up values
/// read as what they are.
const PREFERRED_CHARACTERS: &str = "conformanceCONFORMANCE0123456789-_";

/// A value that `pattern` (a regular expression the whole value must
/// match) accepts: the shortest repetition of each part, the first branch
/// of each alternation, a readable character of each class. None when the
/// pattern does not parse or has a part that cannot be written out.
pub(crate) fn matching_value(pattern: &str) -> Option<String> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let mut value = String::new();
    write_matching(&hir, &mut value)?;
    Some(value)
}

fn write_matching(hir: &Hir, value: &mut String) -> Option<()> {
    match hir.kind() {
        // Anchors and word boundaries consume nothing.
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => value.push_str(std::str::from_utf8(&literal.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let contains = |c: char| {
                class
                    .ranges()
                    .iter()
                    .any(|range| (range.start()..=range.end()).contains(&c))
            };
            let first = class.ranges().first().map(|range| range.start());
            value.push(
                PREFERRED_CHARACTERS
                    .chars()
                    .find(|c| contains(*c))
                    .or(first)?,
            );
        }
        HirKind::Class(Class::Bytes(class)) => {
            let contains = |b: u8| {
                class
                    .ranges()
                    .iter()
                    .any(|range| (range.start()..=range.end()).contains(&b))
            };
            let byte = PREFERRED_CHARACTERS
                .bytes()
                .find(|b| contains(*b))
                .or_else(|| class.ranges().first().map(|range| range.start()))
                .filter(u8::is_ascii)?;
            value.push(char::from(byte));
        }
        HirKind::Repetition(repetition) => {
            for _ in 0..repetition.min {
                write_matching(&repetition.sub, value)?;
            }
        }
        HirKind::Capture(capture) => write_matching(&capture.sub, value)?,
        HirKind::Concat(parts) => {
            for part in parts {
                write_matching(part, value)?;
            }
        }
        HirKind::Alternation(branches) => write_matching(branches.first()?, value)?,
    }
    Some(())
}
