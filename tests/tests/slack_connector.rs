//! The shipped Slack connector, run in the real host runtime against the fake
//! Slack over TLS: each of Slack's answers maps to the right outcome, and
//! every request shows up in the invocation report.

use std::sync::Arc;

use http::HeaderMap;
use serde_json::{Value, json};
use sluice_core::{Clock, ManualClock};
use sluice_runtime::types::{
    CheckStatus, ConnectionCheck, DeliveryOutcome, Event, InboundAccepted, InboundRejection,
    InboundRequest,
};
use sluice_runtime::{Invocation, LoadedConnector, MemoryInspector, MemoryState, Runtime};
use sluice_tests::fakes::slack::{
    ApiError, ApiFailure, FakeSlack, Membership, PostedMessage, PostedVia, SlackOptions,
    TokenStatus, WebhookFailure, sign_request,
};
use sluice_tests::guests::guest;
use sluice_tests::sandbox::{
    assert_no_secret_in_guest_memory, call_context, check_result, delivered, event, failed,
    inspected_runtime, retry,
};
use sluice_tests::{RateLimit, TestCa};

const WEBHOOK_ORIGIN: &str = "https://hooks.slack.com:443";
const API_ORIGIN: &str = "https://slack.com:443";
const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// How the report shows a request to the webhook URL, whose path is the
/// secret: by the credential's name.
const WEBHOOK_RECORDED: &str = "(the URL of credential webhook_url)";

struct Harness {
    slack: FakeSlack,
    runtime: Runtime,
    /// Every linear memory the connector's instances had.
    memory: Arc<MemoryInspector>,
    connector: Arc<LoadedConnector>,
    clock: Arc<ManualClock>,
    _ca: TestCa,
}

impl Harness {
    async fn start() -> Self {
        Self::with_options(SlackOptions::unthrottled()).await
    }

    async fn with_options(options: SlackOptions) -> Self {
        let ca = TestCa::new().unwrap();
        let slack = FakeSlack::start(&ca, options).await.unwrap();
        let (runtime, memory) = inspected_runtime(&ca, slack.egress_overrides());
        let (manifest, bytes) = guest("connectors/slack");
        let connector = runtime.load(manifest, bytes).await.unwrap();
        Self {
            slack,
            runtime,
            memory,
            connector,
            clock: Arc::new(ManualClock::starting_now()),
            _ca: ca,
        }
    }

    /// A channel the bot is a member of, with an incoming webhook into it.
    fn webhook(&self) -> (String, String) {
        let channel = self.slack.create_channel("orders", Membership::Member);
        let url = self.slack.register_webhook(&channel);
        (channel, url)
    }

    async fn deliver_via_webhook(&self, url: &str, event: Event) -> Invocation<DeliveryOutcome> {
        let context = call_context(
            &[("mode", "incoming-webhook")],
            &[("webhook_url", url)],
            &MemoryState::default(),
            self.clock.clone(),
        );
        self.runtime.deliver(&self.connector, context, event).await
    }

    async fn deliver_as_bot(
        &self,
        token: &str,
        channel: &str,
        event: Event,
    ) -> Invocation<DeliveryOutcome> {
        let context = call_context(
            &[("mode", "bot"), ("channel", channel)],
            &[("bot_token", token)],
            &MemoryState::default(),
            self.clock.clone(),
        );
        self.runtime.deliver(&self.connector, context, event).await
    }

    async fn check(
        &self,
        settings: &[(&str, &str)],
        credentials: &[(&str, &str)],
    ) -> Invocation<ConnectionCheck> {
        let context = call_context(
            settings,
            credentials,
            &MemoryState::default(),
            self.clock.clone(),
        );
        self.runtime.test_connection(&self.connector, context).await
    }

    async fn inbound(
        &self,
        request: InboundRequest,
    ) -> Invocation<Result<InboundAccepted, InboundRejection>> {
        self.inbound_with(&[("signing_secret", SIGNING_SECRET)], request)
            .await
    }

    async fn inbound_with(
        &self,
        credentials: &[(&str, &str)],
        request: InboundRequest,
    ) -> Invocation<Result<InboundAccepted, InboundRejection>> {
        let context = call_context(
            &[],
            credentials,
            &MemoryState::default(),
            self.clock.clone(),
        );
        self.runtime
            .handle_inbound(&self.connector, context, request)
            .await
    }

    /// The host's current time, Unix seconds.
    fn now_seconds(&self) -> i64 {
        self.clock.now_ms() / 1000
    }
}

fn order_created() -> Event {
    event(
        "order.created",
        &json!({
            "marketplace": "ebay",
            "order_id": "12-03456-78901",
            "status": "unshipped",
            "marketplace_status": "NOT_STARTED",
            "purchased_at": "2026-11-21T18:04:11Z",
            "updated_at": "2026-11-21T18:05:00Z",
            "line_items": [{"line_item_id": "10001", "sku": "TSHIRT-RED-M", "quantity": 2}],
            "total": {"amount": "39.98", "currency": "USD"}
        })
        .to_string(),
    )
}

fn product_updated() -> Event {
    event(
        "product.updated",
        &json!({
            "sku": "TSHIRT-RED-M",
            "title": "Red T-shirt, medium",
            "description": "100% organic cotton.",
            "brand": "Acme",
            "identifiers": {"gtin": "00012345678905"},
            "images": ["https://cdn.example.com/tshirt-red.jpg"],
            "price": {"amount": "19.99", "currency": "USD"},
            "condition": "new",
            "quantity": 10,
            "link": "https://shop.example.com/p/tshirt-red-m"
        })
        .to_string(),
    )
}

fn inventory_updated() -> Event {
    event(
        "inventory.updated",
        r#"{"sku":"TSHIRT-RED-M","quantity":0,"location":"main-warehouse"}"#,
    )
}

/// Asserts the report holds exactly one request: `POST origin path` answered
/// with `status`.
fn assert_one_request<T>(invocation: &Invocation<T>, origin: &str, path: &str, status: u16) {
    let [record] = invocation.report.egress.as_slice() else {
        panic!(
            "expected one egress record, got {:?}",
            invocation.report.egress
        );
    };
    assert_eq!(record.method, "POST");
    assert_eq!(record.origin, origin);
    assert_eq!(record.path, path);
    assert_eq!(record.status, Some(status));
    assert_eq!(record.refused, None);
    assert_eq!(record.error, None);
    assert!(record.address.is_some(), "{record:?}");
    assert!(record.response_bytes > 0, "{record:?}");
}

/// Asserts a permanent failure carrying Slack's `code` answered with `status`.
fn assert_refused_with(invocation: &Invocation<DeliveryOutcome>, status: u16, code: &str) {
    let failure = failed(invocation);
    assert!(
        failure.reason.starts_with("Slack refused the message") && failure.reason.contains(code),
        "{}",
        failure.reason
    );
    let remote = failure.remote.as_ref().expect("Slack's answer");
    assert_eq!(remote.status, Some(status));
    assert_eq!(remote.code.as_deref(), Some(code));
}

fn only_message(slack: &FakeSlack) -> PostedMessage {
    let messages = slack.messages();
    let [message] = messages.as_slice() else {
        panic!("expected one message, got {messages:?}");
    };
    message.clone()
}

/// Every text of the blocks (headers, sections, fields, context), in order.
fn texts(blocks: &[Value]) -> Vec<String> {
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(text)) = object.get("text") {
                    out.push(text.clone());
                }
                for (key, child) in object {
                    if key != "text" || !child.is_string() {
                        collect(child, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    blocks.iter().for_each(|block| collect(block, &mut out));
    out
}

fn block_types(blocks: &[Value]) -> Vec<&str> {
    blocks
        .iter()
        .map(|block| block["type"].as_str().unwrap())
        .collect()
}

fn header(blocks: &[Value]) -> &str {
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    blocks[0]["text"]["text"].as_str().unwrap()
}

fn assert_has_texts(blocks: &[Value], expected: &[&str]) {
    let texts = texts(blocks);
    for text in expected {
        assert!(
            texts.iter().any(|t| t == text),
            "no text {text:?} in {texts:#?}"
        );
    }
}

/// The context line every message ends with.
fn assert_ends_with_context(blocks: &[Value]) {
    let last = blocks.last().unwrap();
    assert_eq!(last["type"], "context");
    assert_eq!(
        texts(std::slice::from_ref(last)),
        [
            "Store `store_1`",
            "Event `evt_1`",
            "2026-11-22T10:00:00.000Z"
        ]
    );
}

fn signed_request(body: &str, headers: &HeaderMap) -> InboundRequest {
    InboundRequest {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
            .chain([("content-type".to_owned(), "application/json".to_owned())])
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn accepted(
    invocation: &Invocation<Result<InboundAccepted, InboundRejection>>,
) -> &InboundAccepted {
    match &invocation.result {
        Ok(Ok(accepted)) => accepted,
        other => panic!("expected the request to be accepted, got {other:?}"),
    }
}

fn rejected(
    invocation: &Invocation<Result<InboundAccepted, InboundRejection>>,
) -> &InboundRejection {
    match &invocation.result {
        Ok(Err(rejection)) => rejection,
        other => panic!("expected the request to be rejected, got {other:?}"),
    }
}

mod webhook_delivery {
    use super::*;

    #[tokio::test]
    async fn an_ok_answer_is_delivered_as_a_readable_order_message() {
        let harness = Harness::start().await;
        let (channel, url) = harness.webhook();

        let invocation = harness.deliver_via_webhook(&url, order_created()).await;

        assert_eq!(delivered(&invocation).external_id, None);
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 200);
        let message = only_message(&harness.slack);
        assert_eq!(message.channel, channel);
        assert_eq!(message.via, PostedVia::Webhook { url: url.clone() });
        assert_eq!(
            message.text.as_deref(),
            Some("Order 12-03456-78901 created")
        );
        let blocks = &message.blocks;
        assert_eq!(header(blocks), "🛒 Order 12-03456-78901 created");
        assert_eq!(
            block_types(blocks),
            ["header", "section", "section", "context"]
        );
        assert_has_texts(
            blocks,
            &[
                "*Marketplace*\nebay",
                "*Status*\nunshipped (NOT_STARTED)",
                "*Total*\n39.98 USD",
                "*Purchased*\n2026-11-21T18:04:11Z",
                "*Items*\n• 2 × `TSHIRT-RED-M` (line 10001)",
            ],
        );
        assert_ends_with_context(blocks);
    }

    #[tokio::test]
    async fn a_product_event_shows_its_details_and_image() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();

        let invocation = harness.deliver_via_webhook(&url, product_updated()).await;

        delivered(&invocation);
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 200);
        let blocks = only_message(&harness.slack).blocks;
        assert_eq!(header(&blocks), "🏷️ Product updated: Red T-shirt, medium");
        assert_eq!(
            block_types(&blocks),
            ["header", "section", "section", "context"]
        );
        assert_eq!(
            blocks[1]["accessory"]["image_url"],
            "https://cdn.example.com/tshirt-red.jpg"
        );
        assert_has_texts(
            &blocks,
            &[
                "100% organic cotton.\n<https://shop.example.com/p/tshirt-red-m|View product>",
                "*SKU*\nTSHIRT-RED-M",
                "*Price*\n19.99 USD",
                "*Quantity*\n10",
                "*Brand*\nAcme",
                "*GTIN*\n00012345678905",
            ],
        );
        assert_ends_with_context(&blocks);
    }

    #[tokio::test]
    async fn an_inventory_event_says_when_a_sku_is_out_of_stock() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();

        let invocation = harness.deliver_via_webhook(&url, inventory_updated()).await;

        delivered(&invocation);
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 200);
        let blocks = only_message(&harness.slack).blocks;
        assert_eq!(header(&blocks), "📦 Inventory of TSHIRT-RED-M updated");
        assert_eq!(block_types(&blocks), ["header", "section", "context"]);
        assert_has_texts(
            &blocks,
            &[
                "*SKU*\nTSHIRT-RED-M",
                "*Quantity*\n0 (out of stock)",
                "*Location*\nmain-warehouse",
            ],
        );
        assert_ends_with_context(&blocks);
    }

    #[tokio::test]
    async fn an_unknown_event_type_gets_the_generic_layout() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();
        let unknown = event(
            "customer.signed_up",
            r#"{"email":"ada@example.com","plan":"pro","seats":3,"address":{"city":"Paris"}}"#,
        );

        let invocation = harness.deliver_via_webhook(&url, unknown).await;

        delivered(&invocation);
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 200);
        let message = only_message(&harness.slack);
        assert_eq!(message.text.as_deref(), Some("customer.signed_up"));
        let blocks = &message.blocks;
        assert_eq!(header(blocks), "customer.signed_up");
        assert_eq!(
            block_types(blocks),
            ["header", "section", "section", "context"]
        );
        assert_has_texts(
            blocks,
            &[
                "*email*\nada@example.com",
                "*plan*\npro",
                "*seats*\n3",
                "_1 more field not shown._",
            ],
        );
        assert_ends_with_context(blocks);
    }

    #[tokio::test]
    async fn a_scripted_429_retries_after_the_retry_after_seconds() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();
        harness.slack.fail_webhook_posts(
            WebhookFailure::RateLimited {
                retry_after_secs: 7,
            },
            1,
        );

        let invocation = harness.deliver_via_webhook(&url, order_created()).await;

        let retry = retry(&invocation);
        assert_eq!(retry.after_seconds, Some(7));
        assert_eq!(retry.reason, "Slack is rate limiting this webhook");
        let remote = retry.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(429));
        assert_eq!(remote.code.as_deref(), Some("rate_limited"));
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 429);
        assert!(harness.slack.messages().is_empty());
    }

    #[tokio::test]
    async fn a_throttled_webhook_retries_after_the_wait_slack_announces() {
        let clock = ManualClock::starting_now();
        let harness = Harness::with_options(SlackOptions {
            webhook_rate: RateLimit::per_second(0.2, 1),
            post_message_rate: RateLimit::Unlimited,
            clock: Arc::new(clock.clone()),
        })
        .await;
        let (_, url) = harness.webhook();

        let first = harness.deliver_via_webhook(&url, order_created()).await;
        let second = harness.deliver_via_webhook(&url, order_created()).await;

        delivered(&first);
        assert_one_request(&first, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 200);
        assert_eq!(retry(&second).after_seconds, Some(5));
        assert_eq!(
            retry(&second).remote.as_ref().unwrap().code.as_deref(),
            Some("rate_limited")
        );
        assert_one_request(&second, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 429);

        clock.advance(std::time::Duration::from_secs(5));
        let third = harness.deliver_via_webhook(&url, order_created()).await;
        delivered(&third);
        assert_eq!(harness.slack.messages().len(), 2);
    }

    #[tokio::test]
    async fn a_5xx_answer_retries() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();
        harness
            .slack
            .fail_webhook_posts(WebhookFailure::RollupError, 1);

        let invocation = harness.deliver_via_webhook(&url, order_created()).await;

        let retry = retry(&invocation);
        assert_eq!(retry.reason, "Slack answered HTTP 500");
        assert_eq!(retry.after_seconds, None);
        let remote = retry.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(500));
        assert_eq!(remote.code.as_deref(), Some("rollup_error"));
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 500);

        let again = harness.deliver_via_webhook(&url, order_created()).await;
        delivered(&again);
    }

    #[tokio::test]
    async fn a_removed_webhook_fails_with_no_service() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();
        harness.slack.remove_webhook(&url);

        let invocation = harness.deliver_via_webhook(&url, order_created()).await;

        assert_refused_with(&invocation, 404, "no_service");
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 404);
    }

    #[tokio::test]
    async fn a_deleted_channel_fails_with_channel_not_found() {
        let harness = Harness::start().await;
        let (channel, url) = harness.webhook();
        harness.slack.delete_channel(&channel);

        let invocation = harness.deliver_via_webhook(&url, order_created()).await;

        assert_refused_with(&invocation, 404, "channel_not_found");
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 404);
    }

    #[tokio::test]
    async fn an_archived_channel_fails_with_channel_is_archived() {
        let harness = Harness::start().await;
        let (channel, url) = harness.webhook();
        harness.slack.archive_channel(&channel);

        let invocation = harness.deliver_via_webhook(&url, order_created()).await;

        assert_refused_with(&invocation, 410, "channel_is_archived");
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 410);
    }

    #[tokio::test]
    async fn an_invalid_payload_answer_fails_permanently() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();
        harness
            .slack
            .fail_webhook_posts(WebhookFailure::InvalidPayload, 1);

        let invocation = harness.deliver_via_webhook(&url, order_created()).await;

        assert_refused_with(&invocation, 400, "invalid_payload");
        assert_one_request(&invocation, WEBHOOK_ORIGIN, WEBHOOK_RECORDED, 400);
        assert!(harness.slack.messages().is_empty());
    }
}

mod bot_delivery {
    use super::*;

    const POST_MESSAGE: &str = "/api/chat.postMessage";

    #[tokio::test]
    async fn an_ok_answer_is_delivered_with_the_message_ts_as_external_id() {
        let harness = Harness::start().await;
        let channel = harness.slack.create_channel("orders", Membership::Member);
        let token = harness.slack.register_token(TokenStatus::Valid);

        let invocation = harness
            .deliver_as_bot(&token, &channel, order_created())
            .await;

        let message = only_message(&harness.slack);
        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(message.ts.as_str())
        );
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 200);
        assert_eq!(message.channel, channel);
        assert_eq!(
            message.via,
            PostedVia::PostMessage {
                token: token.clone()
            }
        );
        let [request] = harness.slack.recorder().requests().try_into().unwrap();
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(request.json().unwrap()["channel"], channel.as_str());
        assert_eq!(header(&message.blocks), "🛒 Order 12-03456-78901 created");
        assert_ends_with_context(&message.blocks);
    }

    #[tokio::test]
    async fn a_429_retries_after_the_retry_after_seconds() {
        let harness = Harness::start().await;
        let channel = harness.slack.create_channel("orders", Membership::Member);
        let token = harness.slack.register_token(TokenStatus::Valid);
        harness.slack.fail_api_calls(
            "chat.postMessage",
            ApiFailure::RateLimited {
                retry_after_secs: 30,
            },
            1,
        );

        let invocation = harness
            .deliver_as_bot(&token, &channel, order_created())
            .await;

        let retry = retry(&invocation);
        assert_eq!(retry.after_seconds, Some(30));
        assert_eq!(retry.reason, "Slack is rate limiting chat.postMessage");
        let remote = retry.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(429));
        assert_eq!(remote.code.as_deref(), Some("ratelimited"));
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 429);
    }

    #[tokio::test]
    async fn an_internal_error_retries() {
        let harness = Harness::start().await;
        let channel = harness.slack.create_channel("orders", Membership::Member);
        let token = harness.slack.register_token(TokenStatus::Valid);
        harness.slack.fail_api_calls(
            "chat.postMessage",
            ApiFailure::Error(ApiError::InternalError),
            1,
        );

        let invocation = harness
            .deliver_as_bot(&token, &channel, order_created())
            .await;

        let retry = retry(&invocation);
        assert_eq!(
            retry.reason,
            "Slack could not post the message (internal_error)"
        );
        assert_eq!(
            retry.remote.as_ref().unwrap().code.as_deref(),
            Some("internal_error")
        );
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 200);
    }

    #[tokio::test]
    async fn an_unknown_token_fails_with_invalid_auth() {
        let harness = Harness::start().await;
        let channel = harness.slack.create_channel("orders", Membership::Member);

        let invocation = harness
            .deliver_as_bot("xoxb-0-unknown", &channel, order_created())
            .await;

        assert_refused_with(&invocation, 200, "invalid_auth");
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 200);
    }

    #[tokio::test]
    async fn a_revoked_token_fails_with_token_revoked() {
        let harness = Harness::start().await;
        let channel = harness.slack.create_channel("orders", Membership::Member);
        let token = harness.slack.register_token(TokenStatus::Valid);
        harness.slack.set_token_status(&token, TokenStatus::Revoked);

        let invocation = harness
            .deliver_as_bot(&token, &channel, order_created())
            .await;

        assert_refused_with(&invocation, 200, "token_revoked");
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 200);
    }

    #[tokio::test]
    async fn an_unknown_channel_fails_with_channel_not_found() {
        let harness = Harness::start().await;
        let token = harness.slack.register_token(TokenStatus::Valid);

        let invocation = harness
            .deliver_as_bot(&token, "C0NOSUCH", order_created())
            .await;

        assert_refused_with(&invocation, 200, "channel_not_found");
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 200);
    }

    #[tokio::test]
    async fn an_archived_channel_fails_with_is_archived() {
        let harness = Harness::start().await;
        let channel = harness.slack.create_channel("old", Membership::Member);
        harness.slack.archive_channel(&channel);
        let token = harness.slack.register_token(TokenStatus::Valid);

        let invocation = harness
            .deliver_as_bot(&token, &channel, order_created())
            .await;

        assert_refused_with(&invocation, 200, "is_archived");
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 200);
    }

    #[tokio::test]
    async fn a_channel_without_the_bot_fails_with_not_in_channel() {
        let harness = Harness::start().await;
        let channel = harness
            .slack
            .create_channel("private", Membership::NotMember);
        let token = harness.slack.register_token(TokenStatus::Valid);

        let invocation = harness
            .deliver_as_bot(&token, &channel, order_created())
            .await;

        assert_refused_with(&invocation, 200, "not_in_channel");
        assert!(failed(&invocation).reason.contains("invite it"));
        assert_one_request(&invocation, API_ORIGIN, POST_MESSAGE, 200);
    }
}

mod connection_check {
    use super::*;

    const AUTH_TEST: &str = "/api/auth.test";

    #[tokio::test]
    async fn a_valid_bot_token_is_accepted_by_auth_test() {
        let harness = Harness::start().await;
        let token = harness.slack.register_token(TokenStatus::Valid);

        let invocation = harness
            .check(
                &[("mode", "bot"), ("channel", "C0123456789")],
                &[("bot_token", &token), ("signing_secret", SIGNING_SECRET)],
            )
            .await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
        assert_eq!(
            check.message,
            "Slack accepted the bot token for team Acme (T123) as sluice-bot (U123); \
             messages go to channel C0123456789."
        );
        assert_eq!(
            check.steps,
            [
                ("token".to_owned(), "accepted by auth.test".to_owned()),
                ("team".to_owned(), "Acme (T123)".to_owned()),
                ("user".to_owned(), "sluice-bot (U123)".to_owned()),
                ("channel".to_owned(), "C0123456789".to_owned()),
                (
                    "signing_secret".to_owned(),
                    "set: the host verifies the signature of inbound requests with it".to_owned()
                ),
            ]
        );
        assert_one_request(&invocation, API_ORIGIN, AUTH_TEST, 200);
        assert!(harness.slack.messages().is_empty());
    }

    #[tokio::test]
    async fn a_revoked_bot_token_is_unauthorized() {
        let harness = Harness::start().await;
        let token = harness.slack.register_token(TokenStatus::Valid);
        harness.slack.set_token_status(&token, TokenStatus::Revoked);

        let invocation = harness
            .check(
                &[("mode", "bot"), ("channel", "C0123456789")],
                &[("bot_token", &token)],
            )
            .await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unauthorized, "{check:?}");
        assert_eq!(
            check.message,
            "Slack refused the bot token (token_revoked); set a valid bot token (xoxb-…)."
        );
        assert_eq!(
            check.steps[0],
            (
                "token".to_owned(),
                "refused by auth.test: token_revoked".to_owned()
            )
        );
        assert_one_request(&invocation, API_ORIGIN, AUTH_TEST, 200);
    }

    #[tokio::test]
    async fn webhook_mode_says_the_webhook_cannot_be_tested_without_posting() {
        let harness = Harness::start().await;
        let (_, url) = harness.webhook();

        let invocation = harness
            .check(&[("mode", "incoming-webhook")], &[("webhook_url", &url)])
            .await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
        assert!(
            check.message.contains(
                "Slack offers no way to test an incoming webhook without posting a message, \
                 so nothing was sent"
            ),
            "{}",
            check.message
        );
        assert_eq!(
            check.steps[0],
            (
                "webhook_url".to_owned(),
                "set; applied by the host".to_owned()
            )
        );
        assert!(invocation.report.egress.is_empty());
        assert!(harness.slack.recorder().requests().is_empty());
    }

    #[tokio::test]
    async fn a_missing_webhook_url_is_misconfigured() {
        let harness = Harness::start().await;

        let invocation = harness.check(&[("mode", "incoming-webhook")], &[]).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
        assert!(
            check
                .message
                .contains("credential `webhook_url` is not set"),
            "{}",
            check.message
        );
        assert!(invocation.report.egress.is_empty());
    }
}

mod credentials {
    use super::*;

    #[tokio::test]
    async fn the_component_reads_no_credential_in_either_mode() {
        let harness = Harness::start().await;
        let (channel, url) = harness.webhook();
        let token = harness.slack.register_token(TokenStatus::Valid);

        let via_webhook = harness.deliver_via_webhook(&url, order_created()).await;
        let as_bot = harness
            .deliver_as_bot(&token, &channel, order_created())
            .await;

        for invocation in [&via_webhook, &as_bot] {
            delivered(invocation);
            assert!(invocation.report.credentials_read.is_empty());
            let [record] = invocation.report.egress.as_slice() else {
                panic!("{:?}", invocation.report.egress);
            };
            assert!(record.credential.is_some(), "{record:?}");
        }
        assert_eq!(
            via_webhook.report.egress[0].credential.as_deref(),
            Some("webhook_url")
        );
        assert_eq!(
            as_bot.report.egress[0].credential.as_deref(),
            Some("bot_token")
        );
        let manifest = harness.connector.manifest();
        assert!(
            manifest.credentials.iter().all(|c| !c.readable),
            "no Slack credential is readable by the component"
        );
    }

    #[tokio::test]
    async fn no_secret_is_ever_in_the_components_memory() {
        let harness = Harness::start().await;
        let (channel, url) = harness.webhook();
        let token = harness.slack.register_token(TokenStatus::Valid);

        delivered(&harness.deliver_via_webhook(&url, order_created()).await);
        delivered(
            &harness
                .deliver_as_bot(&token, &channel, order_created())
                .await,
        );
        let check = harness
            .check(
                &[("mode", "bot"), ("channel", &channel)],
                &[("bot_token", &token), ("signing_secret", SIGNING_SECRET)],
            )
            .await;
        assert_eq!(check_result(&check).status, CheckStatus::Ok);
        let headers = sign_request(SIGNING_SECRET, harness.now_seconds(), b"{}");
        accepted(&harness.inbound(signed_request("{}", &headers)).await);

        // The URL's origin is public (the connector sends to it); its path
        // is the secret.
        let webhook_path = url.strip_prefix("https://hooks.slack.com").unwrap();
        assert_no_secret_in_guest_memory(
            &harness.memory,
            &[
                ("the webhook URL's path", webhook_path),
                ("the webhook URL's secret", url.rsplit('/').next().unwrap()),
                ("the bot token", &token),
                ("the signing secret", SIGNING_SECRET),
            ],
        );
    }
}

mod events_api {
    use super::*;

    const CALLBACK: &str = r#"{"token":"x","team_id":"T123","api_app_id":"A1","type":"event_callback","event_id":"Ev08MFMKH6J","event_time":1531420600,"event":{"type":"app_mention","user":"U1","text":"<@U123> hi","channel":"C1","ts":"1531420600.000100"}}"#;

    #[tokio::test]
    async fn a_signed_url_verification_is_answered_with_its_challenge() {
        let harness = Harness::start().await;
        let body = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let headers = sign_request(SIGNING_SECRET, harness.now_seconds(), body.as_bytes());

        let invocation = harness.inbound(signed_request(body, &headers)).await;

        let accepted = accepted(&invocation);
        assert_eq!(accepted.response.status, 200);
        assert_eq!(
            accepted.response.body,
            b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        );
        assert!(accepted.events.is_empty());
        assert!(invocation.report.egress.is_empty());
    }

    #[tokio::test]
    async fn a_signed_event_callback_emits_a_platform_event() {
        let harness = Harness::start().await;
        let headers = sign_request(SIGNING_SECRET, harness.now_seconds(), CALLBACK.as_bytes());

        let invocation = harness.inbound(signed_request(CALLBACK, &headers)).await;

        let accepted = accepted(&invocation);
        assert_eq!(accepted.response.status, 200);
        let [event] = accepted.events.as_slice() else {
            panic!("expected one event, got {:?}", accepted.events);
        };
        assert_eq!(event.id, "Ev08MFMKH6J");
        assert_eq!(event.event_type, "slack.app_mention");
        assert_eq!(event.occurred_at.as_deref(), Some("2018-07-12T18:36:40Z"));
        let payload: Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(
            payload,
            json!({
                "team_id": "T123",
                "api_app_id": "A1",
                "event_id": "Ev08MFMKH6J",
                "event_time": 1531420600,
                "event": {"type": "app_mention", "user": "U1", "text": "<@U123> hi",
                          "channel": "C1", "ts": "1531420600.000100"}
            })
        );
    }

    #[tokio::test]
    async fn a_bad_signature_is_rejected() {
        let harness = Harness::start().await;
        let headers = sign_request("not-the-secret", harness.now_seconds(), CALLBACK.as_bytes());

        let invocation = harness.inbound(signed_request(CALLBACK, &headers)).await;

        let rejection = rejected(&invocation);
        assert_eq!(rejection.status, 401);
        assert_eq!(
            rejection.reason,
            "x-slack-signature does not match the request"
        );
        assert_eq!(
            invocation.report.duration_ms, 0,
            "refused by the host before the component ran"
        );
    }

    #[tokio::test]
    async fn without_a_signing_secret_requests_are_refused_before_the_component_runs() {
        let harness = Harness::start().await;
        let headers = sign_request(SIGNING_SECRET, harness.now_seconds(), CALLBACK.as_bytes());

        let invocation = harness
            .inbound_with(&[], signed_request(CALLBACK, &headers))
            .await;

        let rejection = rejected(&invocation);
        assert_eq!(rejection.status, 401);
        assert!(
            rejection.reason.contains("signing_secret"),
            "{}",
            rejection.reason
        );
        assert_eq!(invocation.report.duration_ms, 0);
    }

    #[tokio::test]
    async fn a_tampered_body_is_rejected() {
        let harness = Harness::start().await;
        let headers = sign_request(SIGNING_SECRET, harness.now_seconds(), CALLBACK.as_bytes());
        let tampered = CALLBACK.replace("hi", "ho");

        let invocation = harness.inbound(signed_request(&tampered, &headers)).await;

        assert_eq!(rejected(&invocation).status, 401);
    }

    #[tokio::test]
    async fn a_stale_timestamp_is_rejected_even_when_correctly_signed() {
        let harness = Harness::start().await;
        let stale = harness.now_seconds() - 301;
        let headers = sign_request(SIGNING_SECRET, stale, CALLBACK.as_bytes());

        let invocation = harness.inbound(signed_request(CALLBACK, &headers)).await;

        let rejection = rejected(&invocation);
        assert_eq!(rejection.status, 401);
        assert!(rejection.reason.contains("stale"), "{}", rejection.reason);
    }
}
