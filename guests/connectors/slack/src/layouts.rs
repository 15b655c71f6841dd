//! Block Kit layouts for platform events.
//!
//! Orders, products, inventory and Sluice's own delivery reports get layouts
//! of their own (payloads as in `docs/events.md`); any other event gets a
//! generic one: the type as header and the payload's top-level scalar values
//! as fields. Every message ends with a context line naming the store, the
//! event id and when it happened. A payload missing expected fields still
//! renders, with what it has.

use serde_json::{Map, Value};
use sluice_guest::Event;

use crate::blocks::{MAX_FIELDS, Message, escape, truncate};

type Payload = Map<String, Value>;

/// Longest product description shown, in characters: enough to recognise
/// the product without flooding the channel.
const MAX_DESCRIPTION_CHARS: usize = 300;

/// The message for `event`.
pub fn render(event: &Event) -> Message {
    let payload = match serde_json::from_str(&event.payload) {
        Ok(Value::Object(payload)) => Some(payload),
        _ => None,
    };
    let family = event.event_type.split('.').next().unwrap_or_default();
    let message = match (family, event.event_type.as_str(), &payload) {
        ("order", _, Some(payload)) => order(event, payload),
        ("product", _, Some(payload)) => product(event, payload),
        ("inventory", _, Some(payload)) => inventory(event, payload),
        (_, "webhook.delivered", Some(payload)) => delivery_report(payload, true),
        (_, "webhook.dead_lettered", Some(payload)) => delivery_report(payload, false),
        _ => generic(event, payload.as_ref()),
    };
    message.context(&[
        format!("Store `{}`", escape(&event.store_id)),
        format!("Event `{}`", escape(&event.id)),
        escape(&event.occurred_at),
    ])
}

fn order(event: &Event, payload: &Payload) -> Message {
    let action = action(event);
    let title = match text(payload, "order_id") {
        Some(id) => format!("Order {id} {action}"),
        None => format!("Order {action}"),
    };
    let status = match (text(payload, "status"), text(payload, "marketplace_status")) {
        (Some(status), Some(own)) => Some(format!("{status} ({own})")),
        (status, own) => status.or(own),
    };
    let carrier = match (text(payload, "carrier"), text(payload, "service")) {
        (Some(carrier), Some(service)) => Some(format!("{carrier}, {service}")),
        (carrier, service) => carrier.or(service),
    };
    let message = Message::new(&title)
        .header(&format!("🛒 {title}"))
        .fields(&present([
            ("Marketplace", text(payload, "marketplace")),
            ("Status", status),
            ("Total", money(payload.get("total"))),
            ("Purchased", text(payload, "purchased_at")),
            ("Updated", text(payload, "updated_at")),
            ("Carrier", carrier),
            ("Tracking number", text(payload, "tracking_number")),
            ("Shipped", text(payload, "shipped_at")),
        ]));
    match line_items(payload) {
        Some(items) => message.section(&items),
        None => message,
    }
}

/// `• 2 × `SKU` (line 10001)` per line item, or `None` without items.
fn line_items(payload: &Payload) -> Option<String> {
    let items = payload.get("line_items")?.as_array()?;
    let lines: Vec<String> = items
        .iter()
        .filter_map(Value::as_object)
        .map(|item| {
            let quantity = text(item, "quantity").unwrap_or_else(|| "?".into());
            let what = match (text(item, "sku"), text(item, "line_item_id")) {
                (Some(sku), Some(line)) => format!("`{}` (line {})", escape(&sku), escape(&line)),
                (Some(sku), None) => format!("`{}`", escape(&sku)),
                (None, Some(line)) => format!("line {}", escape(&line)),
                (None, None) => "an item".to_owned(),
            };
            format!("• {} × {what}", escape(&quantity))
        })
        .collect();
    (!lines.is_empty()).then(|| format!("*Items*\n{}", lines.join("\n")))
}

fn product(event: &Event, payload: &Payload) -> Message {
    let action = action(event);
    let name = text(payload, "title").or_else(|| text(payload, "sku"));
    let title = match name {
        Some(name) => format!("Product {action}: {name}"),
        None => format!("Product {action}"),
    };
    let mut fields = present([
        ("SKU", text(payload, "sku")),
        ("Price", money(payload.get("price"))),
        ("Quantity", text(payload, "quantity")),
        ("Brand", text(payload, "brand")),
        ("Condition", text(payload, "condition")),
    ]);
    if let Some(Value::Object(identifiers)) = payload.get("identifiers") {
        fields.extend(
            identifiers
                .iter()
                .filter_map(|(kind, value)| Some((kind.to_uppercase(), scalar(value)?))),
        );
    }
    let description =
        text(payload, "description").map(|d| escape(&truncate(&d, MAX_DESCRIPTION_CHARS)));
    let link = text(payload, "link").map(|link| format!("<{}|View product>", escape(&link)));
    let body: Vec<String> = description.into_iter().chain(link).collect();
    let image = payload
        .get("images")
        .and_then(|images| images.get(0))
        .and_then(Value::as_str)
        .filter(|url| url.starts_with("https://"));
    let message = Message::new(&title).header(&format!("🏷️ {title}"));
    let message = match image {
        Some(image) => {
            let text = if body.is_empty() {
                escape(&title)
            } else {
                body.join("\n")
            };
            message.section_with_image(&text, image, &title)
        }
        None if body.is_empty() => message,
        None => message.section(&body.join("\n")),
    };
    message.fields(&fields)
}

fn inventory(event: &Event, payload: &Payload) -> Message {
    let action = action(event);
    let title = match text(payload, "sku") {
        Some(sku) => format!("Inventory of {sku} {action}"),
        None => format!("Inventory {action}"),
    };
    let quantity = payload.get("quantity").and_then(|q| match q.as_u64() {
        Some(0) => Some("0 (out of stock)".to_owned()),
        _ => scalar(q),
    });
    Message::new(&title)
        .header(&format!("📦 {title}"))
        .fields(&present([
            ("SKU", text(payload, "sku")),
            ("Quantity", quantity),
            ("Location", text(payload, "location")),
        ]))
}

/// `webhook.delivered` and `webhook.dead_lettered`, raised by Sluice.
fn delivery_report(payload: &Payload, delivered: bool) -> Message {
    let (title, header) = if delivered {
        ("Delivery succeeded", "✅ Delivery succeeded")
    } else {
        ("Delivery dead-lettered", "⚠️ Delivery dead-lettered")
    };
    let event_type = text(payload, "event_type").unwrap_or_else(|| "an event".into());
    let event = match text(payload, "event_id") {
        Some(id) => format!("Event `{}` (`{}`)", escape(&event_type), escape(&id)),
        None => format!("Event `{}`", escape(&event_type)),
    };
    let target = text(payload, "target_name").or_else(|| text(payload, "target_id"));
    let target = match (target, text(payload, "target_kind")) {
        (Some(target), Some(kind)) => format!("*{}* ({})", escape(&target), escape(&kind)),
        (Some(target), None) => format!("*{}*", escape(&target)),
        (None, _) => "its target".to_owned(),
    };
    let attempts = text(payload, "attempts")
        .map(|n| {
            format!(
                " after {} attempt{}",
                escape(&n),
                if n == "1" { "" } else { "s" }
            )
        })
        .unwrap_or_default();
    let summary = if delivered {
        format!("{event} was delivered to {target}{attempts}.")
    } else {
        format!("{event} could not be delivered to {target} and was dead-lettered{attempts}.")
    };
    let message = Message::new(title)
        .header(header)
        .section(&summary)
        .fields(&present([
            ("Delivery", text(payload, "delivery_id")),
            ("Target", text(payload, "target_id")),
            ("Attempts", text(payload, "attempts")),
            ("HTTP status", text(payload, "http_status")),
            ("External id", text(payload, "external_id")),
        ]));
    match text(payload, "reason") {
        Some(reason) => message.section(&format!("*Reason*\n{}", escape(&reason))),
        None => message,
    }
}

/// Any other event: the type as header, top-level scalar values as fields.
fn generic(event: &Event, payload: Option<&Payload>) -> Message {
    let message = Message::new(&event.event_type).header(&event.event_type);
    let Some(payload) = payload else {
        return message.section(&format!("```{}```", escape(&event.payload)));
    };
    let fields: Vec<(String, String)> = payload
        .iter()
        .filter_map(|(key, value)| Some((key.clone(), scalar(value)?)))
        .take(MAX_FIELDS)
        .collect();
    let hidden = payload.len() - fields.len();
    let message = message.fields(&fields);
    match hidden {
        0 => message,
        1 => message.section("_1 more field not shown._"),
        n => message.section(&format!("_{n} more fields not shown._")),
    }
}

/// The last segment of the event type, for titles: `order.placed` gives
/// `placed`, `webhook.dead_lettered` gives `dead lettered`.
fn action(event: &Event) -> String {
    event
        .event_type
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .replace(['_', '-'], " ")
}

/// A string, number or boolean as text; `None` for anything else or an
/// empty string.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(payload: &Payload, key: &str) -> Option<String> {
    payload.get(key).and_then(scalar)
}

/// `{"amount": "19.99", "currency": "USD"}` as `19.99 USD`.
fn money(value: Option<&Value>) -> Option<String> {
    let money = value?.as_object()?;
    let amount = text(money, "amount")?;
    Some(match text(money, "currency") {
        Some(currency) => format!("{amount} {currency}"),
        None => amount,
    })
}

/// The fields whose value is present.
fn present<const N: usize>(fields: [(&str, Option<String>); N]) -> Vec<(String, String)> {
    fields
        .into_iter()
        .filter_map(|(label, value)| Some((label.to_owned(), value?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(event_type: &str, payload: Value) -> Event {
        Event {
            id: "evt_1".into(),
            event_type: event_type.into(),
            store_id: "store_42".into(),
            occurred_at: "2026-11-22T10:15:00Z".into(),
            payload: payload.to_string(),
        }
    }

    fn rendered(event_type: &str, payload: Value) -> Value {
        render(&event(event_type, payload)).to_json()
    }

    /// All mrkdwn and plain texts of the message, one per line.
    fn all_text(message: &Value) -> String {
        let mut out = Vec::new();
        collect_text(message, &mut out);
        out.join("\n")
    }

    fn collect_text(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(text)) = map.get("text") {
                    out.push(text.clone());
                }
                map.values().for_each(|v| collect_text(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
            _ => {}
        }
    }

    fn header(message: &Value) -> &str {
        message["blocks"][0]["text"]["text"].as_str().unwrap()
    }

    #[test]
    fn orders_show_id_status_total_and_items() {
        let message = rendered(
            "order.placed",
            json!({
                "marketplace": "ebay", "order_id": "12-03456-78901", "status": "unshipped",
                "marketplace_status": "NOT_STARTED", "purchased_at": "2026-11-21T18:04:11Z",
                "line_items": [{"line_item_id": "10001", "sku": "TSHIRT-RED-M", "quantity": 2}],
                "total": {"amount": "39.98", "currency": "USD"}
            }),
        );
        assert_eq!(header(&message), "🛒 Order 12-03456-78901 placed");
        assert_eq!(message["text"], "Order 12-03456-78901 placed");
        let text = all_text(&message);
        for expected in [
            "*Total*\n39.98 USD",
            "*Status*\nunshipped (NOT_STARTED)",
            "• 2 × `TSHIRT-RED-M` (line 10001)",
            "*Marketplace*\nebay",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn fulfilled_orders_show_the_shipment() {
        let message = rendered(
            "order.fulfilled",
            json!({
                "marketplace": "amazon", "order_id": "902-3159896-1390916", "carrier": "UPS",
                "service": "UPS Ground", "tracking_number": "1Z999AA10123456784",
                "shipped_at": "2026-11-22T09:00:00Z",
                "line_items": [{"line_item_id": "79039765272157", "quantity": 1}]
            }),
        );
        let text = all_text(&message);
        assert!(text.contains("*Carrier*\nUPS, UPS Ground"), "{text}");
        assert!(
            text.contains("*Tracking number*\n1Z999AA10123456784"),
            "{text}"
        );
        assert!(text.contains("• 1 × line 79039765272157"), "{text}");
    }

    #[test]
    fn products_show_price_identifiers_link_and_image() {
        let message = rendered(
            "product.updated",
            json!({
                "sku": "TSHIRT-RED-M", "title": "Red T-shirt, medium", "brand": "Acme",
                "identifiers": {"gtin": "00012345678905"}, "price": {"amount": "19.99", "currency": "USD"},
                "images": ["https://cdn.example.com/tshirt-red.jpg"], "quantity": 10,
                "link": "https://shop.example.com/p/tshirt-red-m", "description": "100% organic cotton."
            }),
        );
        assert_eq!(header(&message), "🏷️ Product updated: Red T-shirt, medium");
        let text = all_text(&message);
        assert!(text.contains("*Price*\n19.99 USD"), "{text}");
        assert!(text.contains("*GTIN*\n00012345678905"), "{text}");
        assert!(
            text.contains("<https://shop.example.com/p/tshirt-red-m|View product>"),
            "{text}"
        );
        assert_eq!(
            message["blocks"][1]["accessory"]["image_url"],
            "https://cdn.example.com/tshirt-red.jpg"
        );
    }

    #[test]
    fn inventory_at_zero_says_out_of_stock() {
        let message = rendered(
            "inventory.updated",
            json!({"sku": "S1", "quantity": 0, "location": "main"}),
        );
        assert_eq!(header(&message), "📦 Inventory of S1 updated");
        assert!(all_text(&message).contains("*Quantity*\n0 (out of stock)"));
    }

    #[test]
    fn dead_letters_explain_what_failed_where_and_why() {
        let message = rendered(
            "webhook.dead_lettered",
            json!({
                "delivery_id": "dlv_1", "event_id": "evt_9", "event_type": "order.placed",
                "target_kind": "webhook", "target_id": "whk_1", "target_name": "ERP",
                "attempts": 5, "reason": "the endpoint answered HTTP 500", "http_status": 500
            }),
        );
        assert_eq!(header(&message), "⚠️ Delivery dead-lettered");
        let text = all_text(&message);
        assert!(
            text.contains("Event `order.placed` (`evt_9`) could not be delivered to *ERP* (webhook) and was dead-lettered after 5 attempts."),
            "{text}"
        );
        assert!(
            text.contains("*Reason*\nthe endpoint answered HTTP 500"),
            "{text}"
        );
        assert!(text.contains("*Delivery*\ndlv_1"), "{text}");
    }

    #[test]
    fn successful_deliveries_are_reported() {
        let message = rendered(
            "webhook.delivered",
            json!({"delivery_id": "dlv_2", "event_type": "product.updated", "target_name": "Slack", "attempts": 1}),
        );
        assert_eq!(header(&message), "✅ Delivery succeeded");
        assert!(all_text(&message).contains("was delivered to *Slack* after 1 attempt."));
    }

    #[test]
    fn other_events_show_their_scalar_fields() {
        let message = rendered(
            "customer.created",
            json!({"email": "a@example.com", "vip": true, "visits": 3, "address": {"city": "Paris"}}),
        );
        assert_eq!(header(&message), "customer.created");
        let text = all_text(&message);
        assert!(text.contains("*email*\na@example.com"), "{text}");
        assert!(text.contains("*vip*\ntrue"), "{text}");
        assert!(text.contains("*visits*\n3"), "{text}");
        assert!(text.contains("_1 more field not shown._"), "{text}");
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_shown_raw() {
        let message = render(&Event {
            payload: "[1,2]".into(),
            ..event("thing.happened", json!({}))
        })
        .to_json();
        assert!(all_text(&message).contains("```[1,2]```"));
    }

    #[test]
    fn known_families_with_odd_payloads_still_render() {
        let message = rendered("order.cancelled", json!({"unexpected": [1]}));
        assert_eq!(header(&message), "🛒 Order cancelled");
    }

    #[test]
    fn every_message_ends_with_store_event_and_time() {
        let message = rendered("order.placed", json!({"order_id": "1"}));
        let blocks = message["blocks"].as_array().unwrap();
        let context = blocks.last().unwrap();
        assert_eq!(context["type"], "context");
        assert_eq!(context["elements"][0]["text"], "Store `store_42`");
        assert_eq!(context["elements"][1]["text"], "Event `evt_1`");
        assert_eq!(context["elements"][2]["text"], "2026-11-22T10:15:00Z");
    }

    #[test]
    fn payload_text_is_escaped() {
        let message = rendered(
            "inventory.updated",
            json!({"sku": "<!channel>", "quantity": 1}),
        );
        assert!(all_text(&message).contains("*SKU*\n&lt;!channel&gt;"));
    }
}
