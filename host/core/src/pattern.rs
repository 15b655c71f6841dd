//! Event-type names and the patterns subscriptions use to select them.
//!
//! An event type is a dotted name of lower-case segments (`order.placed`,
//! `inventory.updated`). A pattern is either an exact type or a prefix
//! followed by `.*`, which matches every type below that prefix
//! (`order.*` matches `order.placed` and `order.line.updated`, not `order`).
//! A lone `*` matches every platform event; Sluice's own events about its
//! deliveries (`webhook.delivered`, `webhook.dead_lettered`, under
//! [`SYSTEM_PREFIX`]) are only selected by a pattern that names them, so a
//! catch-all subscription does not receive a report of every delivery.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The prefix of the event types Sluice raises itself; the ingest API
/// refuses it.
pub const SYSTEM_PREFIX: &str = "webhook.";

/// Longest event type accepted, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// Why an event type or pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Empty string.
    #[error("is empty")]
    Empty,
    /// Longer than [`MAX_EVENT_TYPE_LEN`].
    #[error("is longer than {MAX_EVENT_TYPE_LEN} bytes")]
    TooLong,
    /// A segment is empty or holds characters other than `a-z`, `0-9`, `_`, `-`.
    #[error("segment {0:?} must be non-empty and use only a-z, 0-9, '_' and '-'")]
    BadSegment(String),
    /// A `*` somewhere other than a whole last segment.
    #[error("'*' is allowed only as the whole last segment, as in 'order.*'")]
    MisplacedWildcard,
}

/// Checks that `name` is a valid event type (no wildcard).
pub fn validate_event_type(name: &str) -> Result<(), PatternError> {
    if name.is_empty() {
        return Err(PatternError::Empty);
    }
    if name.len() > MAX_EVENT_TYPE_LEN {
        return Err(PatternError::TooLong);
    }
    for segment in name.split('.') {
        if segment == "*" {
            return Err(PatternError::MisplacedWildcard);
        }
        let valid = !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(PatternError::BadSegment(segment.to_owned()));
        }
    }
    Ok(())
}

/// An exact event type or a `prefix.*` wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventTypePattern {
    /// Matches exactly this type.
    Exact(String),
    /// Matches every type that starts with this prefix followed by a dot; an
    /// empty prefix (the pattern `*`) matches every type.
    Prefix(String),
}

impl EventTypePattern {
    /// Parses `order.placed`, `order.*` or `*`.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text == "*" {
            return Ok(Self::Prefix(String::new()));
        }
        match text.strip_suffix(".*") {
            Some(prefix) => {
                validate_event_type(prefix)?;
                Ok(Self::Prefix(prefix.to_owned()))
            }
            None => {
                validate_event_type(text)?;
                Ok(Self::Exact(text.to_owned()))
            }
        }
    }

    /// Whether `event_type` is selected by this pattern.
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            Self::Exact(exact) => exact == event_type,
            Self::Prefix(prefix) if prefix.is_empty() => !event_type.starts_with(SYSTEM_PREFIX),
            Self::Prefix(prefix) => event_type
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('.')),
        }
    }

    /// Whether every type this pattern matches is also matched by `other`,
    /// used to check that a subscription stays within what a connector handles.
    pub fn is_within(&self, other: &EventTypePattern) -> bool {
        match (self, other) {
            (_, Self::Prefix(p)) if p.is_empty() => true,
            (Self::Exact(t), o) => o.matches(t),
            (Self::Prefix(mine), Self::Prefix(theirs)) => {
                mine == theirs || Self::Prefix(theirs.clone()).matches(mine)
            }
            (Self::Prefix(_), Self::Exact(_)) => false,
        }
    }

    /// Whether any pattern in `patterns` matches `event_type`.
    pub fn any_matches(patterns: &[EventTypePattern], event_type: &str) -> bool {
        patterns.iter().any(|p| p.matches(event_type))
    }
}

impl fmt::Display for EventTypePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(t) => f.write_str(t),
            Self::Prefix(p) if p.is_empty() => f.write_str("*"),
            Self::Prefix(p) => write!(f, "{p}.*"),
        }
    }
}

impl std::str::FromStr for EventTypePattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for EventTypePattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventTypePattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|e| serde::de::Error::custom(format!("'{text}' {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> EventTypePattern {
        EventTypePattern::parse(s).unwrap()
    }

    #[test]
    fn the_catch_all_skips_system_events_unless_they_are_named() {
        assert!(p("*").matches("order.placed"));
        assert!(!p("*").matches("webhook.dead_lettered"));
        assert!(p("webhook.*").matches("webhook.dead_lettered"));
        assert!(p("webhook.dead_lettered").matches("webhook.dead_lettered"));
        assert!(p("webhook.dead_lettered").is_within(&p("*")));
    }

    #[test]
    fn exact_patterns_match_only_their_type() {
        assert!(p("order.placed").matches("order.placed"));
        assert!(!p("order.placed").matches("order.placed.v2"));
        assert!(!p("order.placed").matches("order"));
    }

    #[test]
    fn prefix_wildcards_match_types_below_the_prefix_only() {
        assert!(p("order.*").matches("order.placed"));
        assert!(p("order.*").matches("order.line.updated"));
        assert!(!p("order.*").matches("order"));
        assert!(!p("order.*").matches("orders.placed"));
        assert!(p("*").matches("anything.at_all"));
    }

    #[test]
    fn malformed_patterns_are_refused_with_a_reason() {
        assert_eq!(EventTypePattern::parse(""), Err(PatternError::Empty));
        assert_eq!(
            EventTypePattern::parse("order.*.placed"),
            Err(PatternError::MisplacedWildcard)
        );
        assert!(matches!(
            EventTypePattern::parse("Order.Placed"),
            Err(PatternError::BadSegment(_))
        ));
        assert!(matches!(
            EventTypePattern::parse("order..placed"),
            Err(PatternError::BadSegment(_))
        ));
        assert_eq!(
            EventTypePattern::parse(&"a".repeat(200)),
            Err(PatternError::TooLong)
        );
    }

    #[test]
    fn containment_between_patterns() {
        assert!(p("order.placed").is_within(&p("order.*")));
        assert!(p("order.line.*").is_within(&p("order.*")));
        assert!(p("order.*").is_within(&p("order.*")));
        assert!(!p("order.*").is_within(&p("order.placed")));
        assert!(!p("product.updated").is_within(&p("order.*")));
        assert!(p("product.updated").is_within(&p("*")));
    }
}
