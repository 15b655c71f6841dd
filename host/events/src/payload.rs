//! Payload schemas of the platform's known event types (docs/events.md).
//!
//! Connectors rely on these shapes, so an event that breaks its schema is
//! refused at the door with the field named, instead of being accepted and
//! dead-lettered by every marketplace later.

use serde_json::{Map, Value};

use crate::envelope::FieldError;

/// Unified order statuses of `order.placed` / `order.updated`.
pub const ORDER_STATUSES: &[&str] = &[
    "pending",
    "unshipped",
    "partially_shipped",
    "shipped",
    "cancelled",
    "unknown",
];

/// Checks `payload` (JSON text) against the schema of `event_type`; any
/// type needs a JSON object, known types need their fields.
pub fn validate(event_type: &str, payload: &str) -> Vec<FieldError> {
    let value: Value = match serde_json::from_str(payload) {
        Ok(value) => value,
        Err(e) => return vec![FieldError::new("payload", format!("is not JSON: {e}"))],
    };
    let Value::Object(object) = value else {
        return vec![FieldError::new("payload", "must be a JSON object")];
    };
    let mut check = Checker {
        object: &object,
        prefix: "payload".to_owned(),
        errors: Vec::new(),
    };
    match event_type {
        "product.updated" => product_updated(&mut check),
        "inventory.updated" => {
            check.text("sku", Required, 1, 50);
            check.count("quantity", Required, 0);
            check.text("location", Optional, 1, 200);
        }
        "order.fulfilled" => order_fulfilled(&mut check),
        "order.placed" | "order.updated" => order_state(&mut check),
        _ => {}
    }
    check.errors
}

fn product_updated(check: &mut Checker<'_>) {
    check.text("sku", Required, 1, 50);
    check.text("title", Required, 1, 150);
    check.text("description", Optional, 0, 5_000);
    check.text("brand", Optional, 1, 200);
    check.nested("identifiers", Optional, |ids| {
        for key in ["gtin", "upc", "ean", "isbn"] {
            ids.digits(key);
        }
        ids.text("mpn", Optional, 1, 70);
    });
    check.list("images", Optional, |images, field, value| {
        match value.as_str() {
            Some(url) if is_https_url(url) => {}
            _ => images.fail(field, "must be an absolute https URL"),
        }
    });
    check.nested("price", Required, money);
    check.choice("condition", Optional, &["new", "used", "refurbished"]);
    check.count("quantity", Optional, 0);
    check.url("link", Optional);
    check.nested("attributes", Optional, |attributes| {
        for (key, value) in attributes.object {
            if !value.is_string() {
                attributes.fail(key, "must be a string");
            }
        }
    });
}

fn order_fulfilled(check: &mut Checker<'_>) {
    check.text("marketplace", Required, 1, 63);
    check.text("order_id", Required, 1, 100);
    check.non_empty_list("line_items", |items, field, value| {
        items.within(field, value, |item| {
            item.text("line_item_id", Required, 1, 100);
            item.text("sku", Optional, 1, 50);
            item.count("quantity", Required, 1);
        });
    });
    check.text("carrier", Required, 1, 60);
    check.text("service", Optional, 1, 100);
    check.text("tracking_number", Required, 1, 100);
    check.time("shipped_at", Required);
}

fn order_state(check: &mut Checker<'_>) {
    check.text("marketplace", Required, 1, 63);
    check.text("order_id", Required, 1, 100);
    check.choice("status", Required, ORDER_STATUSES);
    check.text("marketplace_status", Optional, 0, 100);
    check.time("purchased_at", Optional);
    check.time("updated_at", Optional);
    check.list("line_items", Optional, |items, field, value| {
        items.within(field, value, |item| {
            item.text("line_item_id", Required, 1, 100);
            item.text("sku", Optional, 0, 50);
            item.count("quantity", Required, 0);
        });
    });
    check.nested("total", Optional, money);
}

fn money(price: &mut Checker<'_>) {
    match price.object.get("amount") {
        Some(Value::String(amount)) if is_amount(amount) => {}
        Some(_) => price.fail(
            "amount",
            "must be a decimal string with at most 2 decimals, like \"19.99\"",
        ),
        None => price.fail("amount", "is required"),
    }
    match price.object.get("currency") {
        Some(Value::String(code))
            if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {}
        Some(_) => price.fail("currency", "must be an ISO 4217 code such as USD"),
        None => price.fail("currency", "is required"),
    }
}

fn is_amount(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(text.contains('.') && fraction.is_empty())
}

fn is_https_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| u.scheme() == "https" && u.host().is_some())
}

use Presence::{Optional, Required};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    Required,
    Optional,
}

/// Walks one JSON object, collecting errors under a field path prefix.
struct Checker<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
    errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    fn fail(&mut self, field: &str, message: &str) {
        self.errors
            .push(FieldError::new(format!("{}.{field}", self.prefix), message));
    }

    /// The value of `field`, or none after recording a missing required field.
    fn get(&mut self, field: &str, presence: Presence) -> Option<&'a Value> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                if presence == Required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(value) => Some(value),
        }
    }

    fn text(&mut self, field: &str, presence: Presence, min: usize, max: usize) {
        match self.get(field, presence) {
            None => {}
            Some(Value::String(s)) if (min..=max).contains(&s.chars().count()) => {}
            Some(Value::String(_)) => {
                self.fail(field, &format!("must be {min} to {max} characters"))
            }
            Some(_) => self.fail(field, "must be a string"),
        }
    }

    fn digits(&mut self, field: &str) {
        match self.get(field, Optional) {
            None => {}
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {}
            Some(_) => self.fail(field, "must be a string of digits"),
        }
    }

    fn count(&mut self, field: &str, presence: Presence, min: u64) {
        match self.get(field, presence) {
            None => {}
            Some(value) if value.as_u64().is_some_and(|n| n >= min) => {}
            Some(_) => self.fail(field, &format!("must be an integer of at least {min}")),
        }
    }

    fn choice(&mut self, field: &str, presence: Presence, options: &[&str]) {
        match self.get(field, presence) {
            None => {}
            Some(Value::String(s)) if options.contains(&s.as_str()) => {}
            Some(_) => self.fail(field, &format!("must be one of: {}", options.join(", "))),
        }
    }

    fn url(&mut self, field: &str, presence: Presence) {
        match self.get(field, presence) {
            None => {}
            Some(Value::String(s)) if url::Url::parse(s).is_ok_and(|u| u.host().is_some()) => {}
            Some(_) => self.fail(field, "must be an absolute URL"),
        }
    }

    fn time(&mut self, field: &str, presence: Presence) {
        match self.get(field, presence) {
            None => {}
            Some(Value::String(s)) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {}
            Some(_) => self.fail(field, "must be an RFC 3339 time with an offset"),
        }
    }

    fn nested(&mut self, field: &str, presence: Presence, inner: impl FnOnce(&mut Checker<'_>)) {
        match self.get(field, presence) {
            None => {}
            Some(value) => self.within(field, value, inner),
        }
    }

    /// Checks `value`, the content of `field`, as an object.
    fn within(&mut self, field: &str, value: &Value, inner: impl FnOnce(&mut Checker<'_>)) {
        let Value::Object(object) = value else {
            return self.fail(field, "must be an object");
        };
        let mut nested = Checker {
            object,
            prefix: format!("{}.{field}", self.prefix),
            errors: Vec::new(),
        };
        inner(&mut nested);
        self.errors.append(&mut nested.errors);
    }

    fn list(
        &mut self,
        field: &str,
        presence: Presence,
        mut each: impl FnMut(&mut Self, &str, &Value),
    ) {
        match self.get(field, presence) {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    each(self, &format!("{field}[{i}]"), item);
                }
            }
            Some(_) => self.fail(field, "must be a list"),
        }
    }

    fn non_empty_list(&mut self, field: &str, each: impl FnMut(&mut Self, &str, &Value)) {
        if matches!(self.object.get(field), Some(Value::Array(items)) if items.is_empty()) {
            return self.fail(field, "must hold at least one item");
        }
        self.list(field, Required, each);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(event_type: &str, payload: &str) -> Vec<String> {
        validate(event_type, payload)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn the_documented_examples_are_valid() {
        let docs = include_str!("../../../docs/events.md");
        let examples: Vec<&str> = docs
            .split("```json")
            .skip(1)
            .map(|block| block.split("```").next().unwrap())
            .collect();
        let typed = [
            (1, "product.updated"),
            (2, "inventory.updated"),
            (3, "order.fulfilled"),
            (4, "order.placed"),
            (4, "order.updated"),
        ];
        for (index, event_type) in typed {
            assert_eq!(
                validate(event_type, examples[index]),
                vec![],
                "{event_type}"
            );
        }
    }

    #[test]
    fn any_type_needs_an_object() {
        assert_eq!(fields("thing.happened", "[1]"), vec!["payload"]);
        assert_eq!(fields("thing.happened", "{}"), Vec::<String>::new());
    }

    #[test]
    fn product_fields_are_named_when_wrong() {
        let payload = r#"{"sku":"","price":{"amount":"19.999","currency":"usd"},"condition":"mint",
            "images":["http://x"],"identifiers":{"gtin":"12a"},"attributes":{"size":4}}"#;
        assert_eq!(
            fields("product.updated", payload),
            vec![
                "payload.sku",
                "payload.title",
                "payload.identifiers.gtin",
                "payload.images[0]",
                "payload.price.amount",
                "payload.price.currency",
                "payload.condition",
                "payload.attributes.size",
            ]
        );
    }

    #[test]
    fn fulfillment_needs_line_items_and_a_ship_date() {
        let payload = r#"{"marketplace":"ebay","order_id":"1","line_items":[],"carrier":"UPS",
            "tracking_number":"1Z","shipped_at":"tomorrow"}"#;
        assert_eq!(
            fields("order.fulfilled", payload),
            vec!["payload.line_items", "payload.shipped_at"]
        );
        let payload = r#"{"marketplace":"ebay","order_id":"1","line_items":[{"quantity":0}],"carrier":"UPS",
            "tracking_number":"1Z","shipped_at":"2026-11-22T09:00:00Z"}"#;
        assert_eq!(
            fields("order.fulfilled", payload),
            vec![
                "payload.line_items[0].line_item_id",
                "payload.line_items[0].quantity"
            ]
        );
    }

    #[test]
    fn inventory_quantity_must_be_a_non_negative_integer() {
        assert_eq!(
            fields("inventory.updated", r#"{"sku":"A","quantity":-1}"#),
            vec!["payload.quantity"]
        );
        assert_eq!(
            fields("inventory.updated", r#"{"sku":"A","quantity":3}"#),
            Vec::<String>::new()
        );
    }

    #[test]
    fn amounts_are_decimal_strings() {
        for good in ["0", "19.99", "5.5", "1000"] {
            assert!(is_amount(good), "{good}");
        }
        for bad in ["", "1.", ".5", "1.234", "-1", "1e3", "１"] {
            assert!(!is_amount(bad), "{bad}");
        }
    }
}
