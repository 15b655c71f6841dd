//! The fake Slack answers like Slack, over TLS for the real hostnames.
//!
//! A plain HTTP client (reqwest, trusting only the test CA, resolving the
//! real hostnames to the fake) plays the connector.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sluice_core::ManualClock;
use sluice_tests::fakes::slack::{
    ApiError, ApiFailure, FakeSlack, Membership, PostedVia, SlackOptions, TokenStatus,
    WebhookFailure,
};
use sluice_tests::{RateLimit, TestCa};

const CHAT_POST_MESSAGE: &str = "https://slack.com/api/chat.postMessage";
const AUTH_TEST: &str = "https://slack.com/api/auth.test";
const WAIT: Duration = Duration::from_secs(5);

struct Harness {
    ca: TestCa,
    slack: FakeSlack,
    http: reqwest::Client,
}

impl Harness {
    async fn start(options: SlackOptions) -> Self {
        let ca = TestCa::new().unwrap();
        let slack = FakeSlack::start(&ca, options).await.unwrap();
        let http = client(&slack, ca.client_config().unwrap());
        Self { ca, slack, http }
    }

    async fn unthrottled() -> Self {
        Self::start(SlackOptions::unthrottled()).await
    }

    async fn post_webhook(&self, url: &str, body: Value) -> (StatusCode, String) {
        let response = self.http.post(url).json(&body).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Calls a Web API method with a JSON body the way slack_sdk does.
    async fn call(&self, url: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

/// A client that resolves the fake's real hostnames to the fake, like the
/// host's egress overrides do.
fn client(slack: &FakeSlack, tls: rustls::ClientConfig) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().tls_backend_preconfigured(tls);
    for (host_and_port, addr) in slack.egress_overrides() {
        let (host, _port) = host_and_port.rsplit_once(':').unwrap();
        builder = builder.resolve(host, addr);
    }
    builder.build().unwrap()
}

fn manual_clock_options(clock: &ManualClock, limit: RateLimit) -> SlackOptions {
    SlackOptions {
        webhook_rate: limit,
        post_message_rate: limit,
        clock: Arc::new(clock.clone()),
    }
}

mod tls {
    use super::*;

    /// The error and all its sources, where rustls names the refusal.
    fn causes(error: &dyn std::error::Error) -> String {
        let mut text = format!("{error:?}");
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(" / {cause:?}"));
            source = cause.source();
        }
        text
    }

    #[tokio::test]
    async fn both_hostnames_verify_against_the_test_ca() {
        let h = Harness::unthrottled().await;
        for url in ["https://hooks.slack.com/services/x", AUTH_TEST] {
            let response = h.http.post(url).send().await;
            assert!(response.is_ok(), "{url}: {response:?}");
        }
    }

    #[tokio::test]
    async fn a_client_that_does_not_trust_the_test_ca_refuses_the_fake() {
        let h = Harness::unthrottled().await;
        let other_ca = TestCa::new().unwrap();
        let stranger = client(&h.slack, other_ca.client_config().unwrap());
        let error = stranger.post(AUTH_TEST).send().await.unwrap_err();
        assert!(causes(&error).contains("InvalidCertificate"), "{error:?}");
    }

    #[tokio::test]
    async fn the_certificate_is_not_valid_for_other_hostnames() {
        let h = Harness::unthrottled().await;
        let misdirected = reqwest::Client::builder()
            .tls_backend_preconfigured(h.ca.client_config().unwrap())
            .resolve("slack.evil.example", h.slack.addr())
            .build()
            .unwrap();
        let error = misdirected
            .post("https://slack.evil.example/api/auth.test")
            .send()
            .await
            .unwrap_err();
        assert!(causes(&error).contains("NotValidForName"), "{error:?}");
    }

    #[tokio::test]
    async fn egress_overrides_name_both_hosts_on_port_443() {
        let h = Harness::unthrottled().await;
        let keys: Vec<String> = h.slack.egress_overrides().into_keys().collect();
        assert_eq!(keys, ["hooks.slack.com:443", "slack.com:443"]);
    }
}

mod webhooks {
    use super::*;

    #[tokio::test]
    async fn a_text_post_answers_plain_ok_and_lands_in_the_channel() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);

        let (status, body) = h
            .post_webhook(&url, json!({"text": "Order 1001 placed"}))
            .await;

        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
        let [message] = h.slack.messages_in(&channel).try_into().unwrap();
        assert_eq!(message.text.as_deref(), Some("Order 1001 placed"));
        assert_eq!(message.via, PostedVia::Webhook { url });
    }

    #[tokio::test]
    async fn blocks_are_kept_as_sent() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);
        let blocks = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "New order"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Total:* $19.99"}}
        ]);

        let (status, _) = h
            .post_webhook(&url, json!({"text": "New order", "blocks": blocks}))
            .await;

        assert_eq!(status, StatusCode::OK);
        assert_eq!(Value::Array(h.slack.messages()[0].blocks.clone()), blocks);
    }

    #[tokio::test]
    async fn the_legacy_form_payload_field_is_accepted() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);

        let response = h
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("payload=%7B%22text%22%3A%22hi%22%7D")
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(h.slack.messages()[0].text.as_deref(), Some("hi"));
    }

    #[tokio::test]
    async fn malformed_payloads_are_invalid_payload_and_empty_ones_no_text() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);
        let not_json = h.http.post(&url).body("text=hi").send().await.unwrap();
        assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
        assert_eq!(not_json.text().await.unwrap(), "invalid_payload");

        let long_header =
            json!([{"type": "header", "text": {"type": "plain_text", "text": "h".repeat(151)}}]);
        let cases = [
            (
                json!({"text": "x", "blocks": long_header}),
                "invalid_payload",
            ),
            (
                json!({"text": "x", "blocks": {"type": "divider"}}),
                "invalid_payload",
            ),
            (json!(["not", "an", "object"]), "invalid_payload"),
            (json!({"username": "bot"}), "no_text"),
            (json!({"text": ""}), "no_text"),
        ];
        for (payload, code) in cases {
            let answer = h.post_webhook(&url, payload.clone()).await;
            assert_eq!(
                answer,
                (StatusCode::BAD_REQUEST, code.to_owned()),
                "{payload}"
            );
        }
        assert!(h.slack.messages().is_empty());
    }

    #[tokio::test]
    async fn unknown_and_removed_webhooks_are_no_service() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);
        h.slack.remove_webhook(&url);
        let text = json!({"text": "hi"});

        let removed = h.post_webhook(&url, text.clone()).await;
        let unknown = h
            .post_webhook("https://hooks.slack.com/services/T123/B1/nope", text)
            .await;

        let no_service = (StatusCode::NOT_FOUND, "no_service".to_owned());
        assert_eq!(removed, no_service);
        assert_eq!(unknown, no_service);
    }

    #[tokio::test]
    async fn archived_channels_are_gone_and_deleted_ones_not_found() {
        let h = Harness::unthrottled().await;
        let archived = h.slack.create_channel("old", Membership::Member);
        let deleted = h.slack.create_channel("gone", Membership::Member);
        let to_archived = h.slack.register_webhook(&archived);
        let to_deleted = h.slack.register_webhook(&deleted);
        h.slack.archive_channel(&archived);
        h.slack.delete_channel(&deleted);
        let text = json!({"text": "hi"});

        assert_eq!(
            h.post_webhook(&to_archived, text.clone()).await,
            (StatusCode::GONE, "channel_is_archived".to_owned())
        );
        assert_eq!(
            h.post_webhook(&to_deleted, text).await,
            (StatusCode::NOT_FOUND, "channel_not_found".to_owned())
        );
    }

    #[tokio::test]
    async fn posting_too_fast_answers_429_with_retry_after_until_time_passes() {
        let clock = ManualClock::starting_now();
        let h = Harness::start(manual_clock_options(&clock, RateLimit::per_second(1.0, 1))).await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);
        let other_url = h.slack.register_webhook(&channel);
        let text = json!({"text": "hi"});

        assert_eq!(h.post_webhook(&url, text.clone()).await.0, StatusCode::OK);
        let throttled = h.http.post(&url).json(&text).send().await.unwrap();
        let other_webhook = h.post_webhook(&other_url, text.clone()).await;
        clock.advance(Duration::from_secs(1));
        let after_a_second = h.post_webhook(&url, text).await;

        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(throttled.headers()["retry-after"], "1");
        assert_eq!(
            throttled.json::<Value>().await.unwrap(),
            json!({"ok": false, "error": "rate_limited", "retry_after": 1})
        );
        assert_eq!(
            other_webhook.0,
            StatusCode::OK,
            "each webhook has its own bucket"
        );
        assert_eq!(after_a_second.0, StatusCode::OK);
        assert_eq!(h.slack.messages().len(), 3);
    }

    #[tokio::test]
    async fn the_default_pace_allows_a_short_burst_only() {
        let clock = ManualClock::starting_now();
        let options = SlackOptions {
            clock: Arc::new(clock.clone()),
            ..SlackOptions::default()
        };
        let h = Harness::start(options).await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);

        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(h.post_webhook(&url, json!({"text": "hi"})).await.0);
        }

        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
    }

    #[tokio::test]
    async fn scripted_failures_answer_the_next_posts_then_stop() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);
        h.slack.fail_webhook_posts(WebhookFailure::RollupError, 2);
        h.slack.fail_webhook_posts(
            WebhookFailure::RateLimited {
                retry_after_secs: 7,
            },
            1,
        );
        let text = json!({"text": "hi"});

        let rollup = (StatusCode::INTERNAL_SERVER_ERROR, "rollup_error".to_owned());
        assert_eq!(h.post_webhook(&url, text.clone()).await, rollup);
        assert_eq!(h.post_webhook(&url, text.clone()).await, rollup);
        let limited = h.http.post(&url).json(&text).send().await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["retry-after"], "7");
        assert_eq!(h.post_webhook(&url, text).await.0, StatusCode::OK);
        assert_eq!(
            h.slack.messages().len(),
            1,
            "failed posts are not delivered"
        );
        assert_eq!(
            h.slack.recorder().len(),
            4,
            "failed posts are still recorded"
        );
    }

    #[tokio::test]
    async fn a_failure_scripted_for_one_webhook_leaves_the_others_alone() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let broken = h.slack.register_webhook(&channel);
        let healthy = h.slack.register_webhook(&channel);
        h.slack
            .fail_webhook_posts_to(&broken, WebhookFailure::ActionProhibited, 1);
        let text = json!({"text": "hi"});

        assert_eq!(
            h.post_webhook(&healthy, text.clone()).await.0,
            StatusCode::OK
        );
        assert_eq!(
            h.post_webhook(&broken, text).await,
            (StatusCode::FORBIDDEN, "action_prohibited".to_owned())
        );
    }

    #[tokio::test]
    async fn webhook_paths_are_not_served_on_the_api_host() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);
        let on_api_host = url.replace("hooks.slack.com", "slack.com");

        let (status, _) = h.post_webhook(&on_api_host, json!({"text": "hi"})).await;

        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

mod post_message {
    use super::*;

    async fn harness_with_channel() -> (Harness, String, String) {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let token = h.slack.register_token(TokenStatus::Valid);
        (h, channel, token)
    }

    fn error(code: &str) -> (StatusCode, Value) {
        (StatusCode::OK, json!({"ok": false, "error": code}))
    }

    #[tokio::test]
    async fn a_post_answers_ok_with_the_channel_a_unique_ts_and_the_message() {
        let (h, channel, token) = harness_with_channel().await;
        let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]);
        let body = json!({"channel": channel, "text": "hi", "blocks": blocks});

        let (status, first) = h.call(CHAT_POST_MESSAGE, Some(&token), body.clone()).await;
        let (_, second) = h.call(CHAT_POST_MESSAGE, Some(&token), body).await;

        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["ok"], true);
        assert_eq!(first["channel"], channel.as_str());
        assert_eq!(first["message"]["text"], "hi");
        assert_eq!(first["message"]["blocks"], blocks);
        assert_eq!(first["message"]["bot_id"], "B123");
        let ts = |reply: &Value| reply["ts"].as_str().unwrap().parse::<f64>().unwrap();
        assert!(ts(&second) > ts(&first), "{first} then {second}");
        assert!(first.get("warning").is_none());
        let [message, _] = h.slack.messages_in(&channel).try_into().unwrap();
        assert_eq!(message.ts, first["ts"].as_str().unwrap());
        assert_eq!(message.via, PostedVia::PostMessage { token });
    }

    #[tokio::test]
    async fn json_without_a_charset_gets_the_missing_charset_warning() {
        let (h, channel, token) = harness_with_channel().await;

        let reply: Value = h
            .http
            .post(CHAT_POST_MESSAGE)
            .bearer_auth(&token)
            .json(&json!({"channel": channel, "text": "hi"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        assert_eq!(reply["ok"], true);
        assert_eq!(reply["warning"], "missing_charset");
    }

    #[tokio::test]
    async fn form_bodies_carry_the_token_and_blocks_as_a_json_string() {
        let (h, channel, token) = harness_with_channel().await;
        let form = format!(
            "token={token}&channel=%23orders&text=hi&blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D"
        );

        let reply: Value = h
            .http
            .post(CHAT_POST_MESSAGE)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(
            reply["channel"],
            channel.as_str(),
            "#name resolves to the id"
        );
        assert_eq!(h.slack.messages()[0].blocks, [json!({"type": "divider"})]);
    }

    #[tokio::test]
    async fn token_problems_are_ok_false_with_http_200() {
        let (h, channel, _) = harness_with_channel().await;
        let revoked = h.slack.register_token(TokenStatus::Valid);
        h.slack.set_token_status(&revoked, TokenStatus::Revoked);
        let scopeless = h.slack.register_token(TokenStatus::MissingScope);
        let body = json!({"channel": channel, "text": "hi"});

        assert_eq!(
            h.call(CHAT_POST_MESSAGE, None, body.clone()).await,
            error("not_authed")
        );
        assert_eq!(
            h.call(CHAT_POST_MESSAGE, Some("xoxb-1-forged"), body.clone())
                .await,
            error("invalid_auth")
        );
        assert_eq!(
            h.call(CHAT_POST_MESSAGE, Some(&revoked), body.clone())
                .await,
            error("token_revoked")
        );
        assert_eq!(
            h.call(CHAT_POST_MESSAGE, Some(&scopeless), body).await,
            (
                StatusCode::OK,
                json!({"ok": false, "error": "missing_scope", "needed": "chat:write"})
            )
        );
        assert!(h.slack.messages().is_empty());
    }

    #[tokio::test]
    async fn a_token_in_a_json_body_does_not_authenticate() {
        let (h, channel, token) = harness_with_channel().await;
        let body = json!({"token": token, "channel": channel, "text": "hi"});
        assert_eq!(
            h.call(CHAT_POST_MESSAGE, None, body).await,
            error("not_authed")
        );
    }

    #[tokio::test]
    async fn channel_problems_are_named() {
        let (h, _, token) = harness_with_channel().await;
        let archived = h.slack.create_channel("old", Membership::Member);
        h.slack.archive_channel(&archived);
        let foreign = h.slack.create_channel("private", Membership::NotMember);
        let post_to = |channel: &str| json!({"channel": channel, "text": "hi"});

        let cases = [
            (post_to("C_NOPE"), "channel_not_found"),
            (json!({"text": "hi"}), "channel_not_found"),
            (post_to(&archived), "is_archived"),
            (post_to(&foreign), "not_in_channel"),
        ];
        for (body, code) in cases {
            assert_eq!(
                h.call(CHAT_POST_MESSAGE, Some(&token), body.clone()).await,
                error(code),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn content_problems_are_named() {
        let (h, channel, token) = harness_with_channel().await;
        let with = |extra: Value| {
            let mut body = json!({"channel": channel});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };

        let cases = [
            (with(json!({"text": "x".repeat(40_001)})), "msg_too_long"),
            (with(json!({})), "no_text"),
            (with(json!({"text": 7})), "invalid_arguments"),
            (
                with(json!({"text": "x", "blocks": "divider"})),
                "invalid_blocks_format",
            ),
        ];
        for (body, code) in cases {
            let (status, reply) = h.call(CHAT_POST_MESSAGE, Some(&token), body).await;
            assert_eq!(
                (status, &reply),
                (StatusCode::OK, &json!({"ok": false, "error": code}))
            );
        }
        let (_, at_the_limit) = h
            .call(
                CHAT_POST_MESSAGE,
                Some(&token),
                with(json!({"text": "x".repeat(40_000)})),
            )
            .await;
        assert_eq!(at_the_limit["ok"], true);
    }

    #[tokio::test]
    async fn invalid_blocks_list_each_problem_with_its_json_pointer() {
        let (h, channel, token) = harness_with_channel().await;
        let too_many = vec![json!({"type": "divider"}); 51];
        let long_section =
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "s".repeat(3001)}}]);

        let (_, many) = h
            .call(
                CHAT_POST_MESSAGE,
                Some(&token),
                json!({"channel": channel, "blocks": too_many}),
            )
            .await;
        let (_, long) = h
            .call(
                CHAT_POST_MESSAGE,
                Some(&token),
                json!({"channel": channel, "blocks": long_section}),
            )
            .await;

        assert_eq!(many["error"], "invalid_blocks");
        assert_eq!(
            many["errors"],
            json!(["must be less than 51 items [json-pointer:/blocks]"])
        );
        assert_eq!(long["error"], "invalid_blocks");
        assert_eq!(
            long["response_metadata"]["messages"],
            json!(["[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"])
        );
    }

    #[tokio::test]
    async fn bodies_that_are_not_json_objects_are_refused() {
        let (h, _, token) = harness_with_channel().await;
        let send = |body: &'static str| {
            h.http
                .post(CHAT_POST_MESSAGE)
                .bearer_auth(&token)
                .header("content-type", "application/json; charset=utf-8")
                .body(body)
                .send()
        };
        let broken: Value = send("{\"channel\":").await.unwrap().json().await.unwrap();
        let array: Value = send("[1]").await.unwrap().json().await.unwrap();
        assert_eq!(broken["error"], "invalid_json");
        assert_eq!(array["error"], "json_not_object");
    }

    #[tokio::test]
    async fn posting_too_fast_to_a_channel_is_ratelimited_with_retry_after() {
        let clock = ManualClock::starting_now();
        let h = Harness::start(manual_clock_options(&clock, RateLimit::per_second(0.5, 1))).await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let other = h.slack.create_channel("alerts", Membership::Member);
        let token = h.slack.register_token(TokenStatus::Valid);
        let post_to = |channel: &str| json!({"channel": channel, "text": "hi"});

        h.call(CHAT_POST_MESSAGE, Some(&token), post_to(&channel))
            .await;
        let throttled = h
            .http
            .post(CHAT_POST_MESSAGE)
            .bearer_auth(&token)
            .json(&post_to(&channel))
            .send()
            .await
            .unwrap();
        let (_, other_channel) = h
            .call(CHAT_POST_MESSAGE, Some(&token), post_to(&other))
            .await;
        clock.advance(Duration::from_secs(2));
        let (_, later) = h
            .call(CHAT_POST_MESSAGE, Some(&token), post_to(&channel))
            .await;

        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(throttled.headers()["retry-after"], "2");
        assert_eq!(
            throttled.json::<Value>().await.unwrap(),
            json!({"ok": false, "error": "ratelimited"})
        );
        assert_eq!(other_channel["ok"], true, "each channel has its own bucket");
        assert_eq!(later["ok"], true);
    }

    #[tokio::test]
    async fn scripted_failures_apply_to_the_named_method_only() {
        let (h, channel, token) = harness_with_channel().await;
        h.slack.fail_api_calls(
            "chat.postMessage",
            ApiFailure::RateLimited {
                retry_after_secs: 7,
            },
            2,
        );
        h.slack.fail_api_calls(
            "chat.postMessage",
            ApiFailure::Error(ApiError::InternalError),
            1,
        );
        let body = json!({"channel": channel, "text": "hi"});

        let auth = h.call(AUTH_TEST, Some(&token), json!({})).await;
        let mut answers = Vec::new();
        for _ in 0..2 {
            let response = h
                .http
                .post(CHAT_POST_MESSAGE)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            answers.push((response.status(), response.headers()["retry-after"].clone()));
        }
        let internal = h.call(CHAT_POST_MESSAGE, Some(&token), body.clone()).await;
        let (_, finally) = h.call(CHAT_POST_MESSAGE, Some(&token), body).await;

        assert_eq!(auth.1["ok"], true);
        for (status, retry_after) in answers {
            assert_eq!(
                (status, retry_after.to_str().unwrap()),
                (StatusCode::TOO_MANY_REQUESTS, "7")
            );
        }
        assert_eq!(internal, error("internal_error"));
        assert_eq!(finally["ok"], true);
        assert_eq!(h.slack.messages().len(), 1);
    }
}

mod auth_test {
    use super::*;

    #[tokio::test]
    async fn a_valid_token_gets_the_workspace_identity() {
        let h = Harness::unthrottled().await;
        let token = h.slack.register_token(TokenStatus::Valid);

        let (status, reply) = h.call(AUTH_TEST, Some(&token), json!({})).await;

        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            reply,
            json!({"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "user": "sluice-bot",
                   "team_id": "T123", "user_id": "U123", "bot_id": "B123"})
        );
    }

    #[tokio::test]
    async fn needs_no_scope_but_a_known_live_token() {
        let h = Harness::unthrottled().await;
        let scopeless = h.slack.register_token(TokenStatus::MissingScope);
        let revoked = h.slack.register_token(TokenStatus::Revoked);

        assert_eq!(
            h.call(AUTH_TEST, Some(&scopeless), json!({})).await.1["ok"],
            true
        );
        assert_eq!(
            h.call(AUTH_TEST, Some(&revoked), json!({})).await.1["error"],
            "token_revoked"
        );
        assert_eq!(
            h.call(AUTH_TEST, Some("xoxb-forged"), json!({})).await.1["error"],
            "invalid_auth"
        );
        assert_eq!(
            h.call(AUTH_TEST, None, json!({})).await.1["error"],
            "not_authed"
        );
    }
}

mod recording {
    use super::*;

    #[tokio::test]
    async fn every_request_is_recorded_raw_with_its_headers() {
        let h = Harness::unthrottled().await;
        let token = h.slack.register_token(TokenStatus::Valid);
        let waiter = tokio::spawn({
            let recorder = h.slack.recorder().clone();
            async move { recorder.wait_for(2, WAIT).await }
        });

        h.call(AUTH_TEST, Some(&token), json!({"x": 1})).await;
        h.post_webhook(
            "https://hooks.slack.com/services/T123/B0/unknown",
            json!({"text": "hi"}),
        )
        .await;

        let [auth, hook] = waiter.await.unwrap().unwrap().try_into().unwrap();
        assert_eq!(
            (auth.host.as_str(), auth.path.as_str()),
            ("slack.com", "/api/auth.test")
        );
        assert_eq!(
            auth.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
        assert_eq!(auth.json().unwrap(), json!({"x": 1}));
        assert_eq!(hook.host, "hooks.slack.com");
        assert_eq!(hook.body_text(), "{\"text\":\"hi\"}");
    }

    #[tokio::test]
    async fn wait_for_messages_wakes_when_a_message_lands() {
        let h = Harness::unthrottled().await;
        let channel = h.slack.create_channel("orders", Membership::Member);
        let url = h.slack.register_webhook(&channel);

        let (posted, _) = tokio::join!(
            h.slack.wait_for_messages(1, WAIT),
            h.post_webhook(&url, json!({"text": "hi"}))
        );

        assert_eq!(posted.unwrap()[0].text.as_deref(), Some("hi"));
    }
}
