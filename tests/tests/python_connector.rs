//! The Slack incoming-webhook connector written in Python
//! (`guests/python/slack-webhook`, built by `make polyglot` with
//! componentize-py into `build/polyglot/slack-webhook-python`), run in the
//! real host runtime against the fake Slack over TLS, and through the whole
//! service: the suite every language's build runs
//! ([`sluice_tests::polyglot::suite`]: each of Slack's answers maps to the
//! same outcome as with the Rust connector, requests the host refuses or
//! cannot connect come back with the host's error code (not as a closed
//! body stream), and the component never holds the webhook URL), and the
//! Block Kit message the Python connector lays out.

use serde_json::{Value, json};
use sluice_tests::polyglot::{Harness, SlackWebhook};

sluice_tests::slack_webhook_suite!(Python);

/// Every text of the blocks, in order.
fn texts(blocks: &[Value]) -> Vec<String> {
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(text)) = object.get("text") {
                    out.push(text.clone());
                }
                object.values().for_each(|child| collect(child, out));
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    blocks.iter().for_each(|block| collect(block, &mut out));
    out
}

mod message_layout {
    use super::*;

    #[tokio::test]
    async fn an_ok_answer_is_delivered_as_a_block_kit_message() {
        let harness = Harness::start(SlackWebhook::Python).await;

        let message = harness.deliver_an_order().await;

        let types: Vec<&str> = message
            .blocks
            .iter()
            .map(|block| block["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["header", "section", "section", "context"]);
        assert_eq!(
            message.blocks[0]["text"],
            json!({"type": "plain_text", "text": "🛒 Order 12-03456-78901 created", "emoji": true})
        );
        let texts = texts(&message.blocks);
        for expected in [
            "*Marketplace*\nebay",
            "*Order id*\n12-03456-78901",
            "*Status*\nunshipped",
            "*Total*\n39.98 USD",
            "*Purchased at*\n2026-11-21T18:04:11Z",
            "_1 more field not shown._",
        ] {
            assert!(
                texts.iter().any(|text| text == expected),
                "no {expected:?} in {texts:#?}"
            );
        }
        assert_eq!(
            texts[texts.len() - 3..],
            [
                "Store `store_1`",
                "Event `evt_1`",
                "2026-11-22T10:00:00.000Z"
            ]
        );
        let [request] = harness.slack.recorder().requests().try_into().unwrap();
        assert_eq!(
            request.header("content-type"),
            Some("application/json; charset=utf-8")
        );
    }
}
