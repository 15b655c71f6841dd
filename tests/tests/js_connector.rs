//! The Slack incoming-webhook connector written in JavaScript
//! (`guests/js/slack-webhook`, with the JS guest SDK `guests/js/sdk`), as
//! `make polyglot` builds it into `build/polyglot/slack-webhook-js`: the
//! suite every language's build runs ([`sluice_tests::polyglot::suite`]:
//! run in the real host runtime against the fake Slack over TLS, each of
//! Slack's answers maps to the outcome the Rust connector gives; a request
//! the host refuses ends as an outcome, never a trap; it delivers end to end
//! through the service), and the Block Kit messages the JavaScript connector
//! lays out: a header, the event's fields and a context line, escaped and
//! within Block Kit's limits.

use serde_json::Value;
use sluice_runtime::types::Event;
use sluice_tests::polyglot::{Harness, SlackWebhook};
use sluice_tests::sandbox::{delivered, event};

sluice_tests::slack_webhook_suite!(JavaScript);

/// The text of every element of `block` that has one, in order.
fn texts(block: &Value) -> Vec<&str> {
    let elements = block
        .get("fields")
        .or_else(|| block.get("elements"))
        .and_then(Value::as_array);
    match elements {
        Some(elements) => elements.iter().filter_map(|e| e["text"].as_str()).collect(),
        None => block["text"]["text"].as_str().into_iter().collect(),
    }
}

/// The type of each block.
fn block_types(blocks: &[Value]) -> Vec<&str> {
    blocks.iter().map(|b| b["type"].as_str().unwrap()).collect()
}

/// Delivers `event` to a new webhook and returns the blocks of the one
/// message it posted.
async fn delivered_blocks(event: Event) -> Vec<Value> {
    let harness = Harness::start(SlackWebhook::JavaScript).await;
    let (_, url) = harness.webhook();

    let invocation = harness.deliver(&url, event).await;

    delivered(&invocation);
    let messages = harness.slack.messages();
    let [message] = messages.as_slice() else {
        panic!("expected one message, got {messages:?}");
    };
    message.blocks.clone()
}

mod message_layout {
    use super::*;

    #[tokio::test]
    async fn an_ok_answer_is_delivered_as_a_header_fields_and_context_message() {
        let harness = Harness::start(SlackWebhook::JavaScript).await;

        let message = harness.deliver_an_order().await;

        let blocks = &message.blocks;
        assert_eq!(block_types(blocks), ["header", "section", "context"]);
        assert_eq!(texts(&blocks[0]), ["🛒 Order 12-03456-78901 created"]);
        assert_eq!(
            texts(&blocks[1]),
            [
                "*Marketplace*\nebay",
                "*Status*\nunshipped",
                "*Total*\n39.98 USD",
                "*Purchased*\n2026-11-21T18:04:11Z",
                "*Items*\n2 × TSHIRT-RED-M",
            ]
        );
        assert_eq!(
            texts(&blocks[2]),
            [
                "Store `store_1`",
                "Event `evt_1`",
                "2026-11-22T10:00:00.000Z"
            ]
        );
    }

    #[tokio::test]
    async fn an_unknown_event_type_shows_its_scalar_fields_escaped() {
        let unknown = event(
            "customer.signed_up",
            r#"{"email":"ada@example.com","plan":"<pro> & co","seats":3,"address":{"city":"Paris"}}"#,
        );

        let blocks = delivered_blocks(unknown).await;

        assert_eq!(block_types(&blocks), ["header", "section", "context"]);
        assert_eq!(texts(&blocks[0]), ["customer.signed_up"]);
        assert_eq!(
            texts(&blocks[1]),
            [
                "*email*\nada@example.com",
                "*plan*\n&lt;pro&gt; &amp; co",
                "*seats*\n3"
            ]
        );
    }

    #[tokio::test]
    async fn a_payload_of_long_values_stays_within_block_kit_limits() {
        let fields: serde_json::Map<String, Value> = (0..30)
            .map(|i| (format!("field_{i}"), Value::String("&".repeat(5_000))))
            .collect();
        let long = event(
            &format!("x.{}", "y".repeat(300)),
            &Value::Object(fields).to_string(),
        );

        // The fake validates Block Kit as Slack does: a block over a limit,
        // or too much text in all, would be answered 400 invalid_payload.
        let blocks = delivered_blocks(long).await;

        let header = texts(&blocks[0])[0];
        assert_eq!(header.chars().count(), 150);
        assert!(header.ends_with('…'));
        let fields = texts(&blocks[1]);
        assert_eq!(fields.len(), 10, "at most ten fields");
        // Escaped, then cut between two entities.
        assert!(
            fields[0].starts_with("*field_0*\n&amp;&amp;") && fields[0].ends_with("&amp;…"),
            "{}",
            fields[0]
        );
    }
}
