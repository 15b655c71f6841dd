//! Delivery through the running service, on an injected clock: the retry
//! schedule and dead letters, Retry-After, 410, bulk retry, signatures a
//! Standard Webhooks library verifies (also across a rotation), the egress
//! policy for webhook targets, claims spaced under a stream of requests,
//! and the Slack connector end to end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::service::{Backend, Options, TestService};
use sluice_tests::sink::{Answer, WebhookSink};

/// A service whose retry schedule has no jitter, so times are exact.
async fn exact_service() -> TestService {
    TestService::start(Options {
        configure: Box::new(|config| config.delivery.retry.jitter = 0.0),
        ..Options::default()
    })
    .await
}

fn order(id: &str) -> Value {
    json!([{
        "id": id,
        "type": "order.created",
        "store_id": "s1",
        "occurred_at": "2026-11-30T10:00:00Z",
        "payload": { "order_id": id },
    }])
}

fn millis(timestamp: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(timestamp.as_str().expect("a timestamp"))
        .unwrap()
        .timestamp_millis()
}

/// Waits until the delivery has made `attempts` attempts.
async fn attempts_of(service: &TestService, id: &str, attempts: usize) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let detail = service.delivery("s1", id).await;
        if detail["attempts"].as_array().unwrap().len() >= attempts {
            return detail;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "delivery {id} never reached {attempts} attempts: {detail:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_at_1_5_30_and_120_minutes_then_dead_letter_and_raise_an_event() {
    let service = exact_service().await;
    let sink = WebhookSink::start().await.unwrap();
    sink.script((0..5).map(|_| Answer::status(500)));
    service
        .subscribe("s1", &sink.url("orders"), &["order.*"])
        .await;
    let (watcher, _) = service
        .subscribe("s1", &sink.url("alerts"), &["webhook.dead_lettered"])
        .await;
    service.send_events(order("o1")).await;
    let id = service
        .wait_for_deliveries("s1", "event_type=order.created", 1)
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut detail = attempts_of(&service, &id, 1).await;
    for (attempt, delay_seconds) in [60u64, 300, 1_800, 7_200].into_iter().enumerate() {
        let last = &detail["attempts"][attempt];
        assert_eq!(last["outcome"], "retry");
        assert_eq!(last["http_status"], 500);
        let wait = millis(&last["next_attempt_at"]) - millis(&last["started_at"]);
        let scheduled = delay_seconds as i64 * 1_000;
        assert!(
            (scheduled..=scheduled + last["duration_ms"].as_i64().unwrap() + 1).contains(&wait),
            "attempt {} waits {wait} ms, not {delay_seconds} s",
            attempt + 1
        );
        // A moment early, nothing happens.
        service.advance(Duration::from_secs(delay_seconds - 1));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            service.delivery("s1", &id).await["attempts"]
                .as_array()
                .unwrap()
                .len(),
            attempt + 1,
            "no attempt before the delay"
        );
        service.advance(Duration::from_secs(1));
        detail = attempts_of(&service, &id, attempt + 2).await;
    }
    let dead = service
        .wait_for_deliveries("s1", "status=dead&event_type=order.created", 1)
        .await;
    assert_eq!(dead[0]["attempt_count"], 5);
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 5);
    assert_eq!(detail["status"], "dead");

    let raised = service
        .wait_for_deliveries("s1", &format!("target_id={watcher}&status=delivered"), 1)
        .await;
    assert_eq!(raised[0]["event_type"], "webhook.dead_lettered");
    let alert = sink
        .recorder()
        .requests()
        .into_iter()
        .find(|r| r.path == "/alerts")
        .expect("the dead letter was reported");
    let payload = &alert.json().unwrap()["payload"];
    assert_eq!(payload["delivery_id"], id.as_str());
    assert_eq!(payload["attempts"], 5);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_from_the_target_sets_the_next_attempt() {
    let service = exact_service().await;
    let sink = WebhookSink::start().await.unwrap();
    sink.script([Answer::status(429).with_header("retry-after", "120")]);
    service.subscribe("s1", &sink.url("h"), &["*"]).await;
    service.send_events(order("o1")).await;
    let id = service.wait_for_deliveries("s1", "", 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = attempts_of(&service, &id, 1).await;
    let first = &detail["attempts"][0];
    assert_eq!(first["http_status"], 429);
    let wait = millis(&first["next_attempt_at"]) - millis(&first["started_at"]);
    assert!(
        (120_000..=120_000 + first["duration_ms"].as_i64().unwrap() + 1).contains(&wait),
        "waited {wait} ms instead of Retry-After's 120 s"
    );
    service.advance(Duration::from_secs(120));
    service
        .wait_for_deliveries("s1", "status=delivered", 1)
        .await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_dead_letters_at_once_and_deactivates_the_subscription() {
    let service = exact_service().await;
    let sink = WebhookSink::start().await.unwrap();
    sink.script([Answer::status(410)]);
    let (hook, _) = service.subscribe("s1", &sink.url("h"), &["*"]).await;
    service.send_events(order("o1")).await;
    let dead = service.wait_for_deliveries("s1", "status=dead", 1).await;
    assert_eq!(dead[0]["attempt_count"], 1);
    let subscription = service.get(&format!("/v1/stores/s1/webhooks/{hook}")).await;
    assert_eq!(subscription.body["active"], false);
    assert!(
        subscription.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{:?}",
        subscription.body
    );
    let later = service.send_events(order("o2")).await;
    assert_eq!(
        later["results"][0]["deliveries"], 0,
        "no fan-out to it any more"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_matching_a_filter_are_retried_in_bulk() {
    let service = TestService::start(Options {
        configure: Box::new(|config| config.delivery.retry.schedule_seconds = vec![]),
        ..Options::default()
    })
    .await;
    let sink = WebhookSink::start().await.unwrap();
    sink.script((0..3).map(|_| Answer::status(503)));
    let (hook, _) = service.subscribe("s1", &sink.url("h"), &["*"]).await;
    let other = WebhookSink::start().await.unwrap();
    other.script([Answer::status(503)]);
    let (other_hook, _) = service.subscribe("s1", &other.url("o"), &["*"]).await;
    service
        .send_events(json!([order("a")[0], order("b")[0], order("c")[0]]))
        .await;
    service.wait_for_deliveries("s1", "status=dead", 4).await;

    let retried = service
        .post(
            "/v1/stores/s1/deliveries/retry",
            json!({ "target_id": hook }),
        )
        .await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    assert_eq!(retried.body["retried"], 3);
    let delivered = service
        .wait_for_deliveries("s1", &format!("status=delivered&target_id={hook}"), 3)
        .await;
    assert!(delivered.iter().all(|d| d["attempt_count"] == 2));
    let detail = service
        .delivery("s1", delivered[0]["id"].as_str().unwrap())
        .await;
    assert_eq!(detail["attempts"][1]["trigger"], "manual");
    let still_dead = service
        .deliveries("s1", &format!("status=dead&target_id={other_hook}"))
        .await;
    assert_eq!(still_dead.len(), 1, "the other target's dead letter stays");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_verify_signatures_with_a_standard_webhooks_library_across_a_rotation() {
    let service = exact_service().await;
    let sink = WebhookSink::start().await.unwrap();
    let (hook, old_secret) = service.subscribe("s1", &sink.url("h"), &["*"]).await;
    service.send_events(order("before")).await;
    sink.recorder()
        .wait_for(1, Duration::from_secs(20))
        .await
        .unwrap();

    let rotated = service
        .post(
            &format!("/v1/stores/s1/webhooks/{hook}/rotate-secret"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    service.send_events(order("after")).await;
    let requests = sink
        .recorder()
        .wait_for(2, Duration::from_secs(20))
        .await
        .unwrap();

    let verify = |secret: &str, request: &sluice_tests::RecordedRequest| {
        let webhook = standardwebhooks::Webhook::new(secret).unwrap();
        webhook.verify(&request.body, &request.headers)
    };
    let (before, after) = (&requests[0], &requests[1]);
    verify(&old_secret, before).expect("signed with the only secret");
    assert!(verify(&new_secret, before).is_err());
    verify(&old_secret, after).expect("the old secret still signs for 24 hours");
    verify(&new_secret, after).expect("the new secret signs at once");
    assert_eq!(after.header("x-sluice-event"), Some("order.created"));
    assert!(after.header("x-sluice-delivery").is_some());

    service.advance(Duration::from_secs(24 * 3_600 + 1));
    service.send_events(order("next-day")).await;
    let requests = sink
        .recorder()
        .wait_for(3, Duration::from_secs(20))
        .await
        .unwrap();
    // A day later the library would refuse the timestamp (the clock moved,
    // the receiver's did not), so count the signatures instead.
    let signatures = |request: &sluice_tests::RecordedRequest| {
        request
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count()
    };
    assert_eq!(signatures(&requests[0]), 1);
    assert_eq!(signatures(&requests[1]), 2);
    assert_eq!(
        signatures(&requests[2]),
        1,
        "the old secret stopped signing after 24 hours"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_targets_on_private_addresses_are_refused_unless_the_operator_allows_them() {
    let strict = TestService::start(Options {
        allow_loopback: false,
        ..Options::default()
    })
    .await;
    let sink = WebhookSink::start().await.unwrap();
    for url in [
        sink.url("h"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::ffff:127.0.0.1]/x".to_owned(),
        "http://10.1.2.3/x".to_owned(),
    ] {
        let answer = strict
            .post(
                "/v1/stores/s1/webhooks",
                json!({ "name": "x", "url": url, "event_types": ["*"] }),
            )
            .await;
        assert_eq!(answer.status, 422, "{url}: {:?}", answer.body);
        assert_eq!(answer.body["errors"][0]["field"], "url");
    }
    // A name is checked after resolution, at every attempt.
    let by_name = sink.url("h").replace("127.0.0.1", "localhost");
    strict.subscribe("s1", &by_name, &["*"]).await;
    strict.send_events(order("o1")).await;
    let refused = strict.wait_for_deliveries("s1", "", 1).await;
    let detail = attempts_of(&strict, refused[0]["id"].as_str().unwrap(), 1).await;
    let error = detail["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("refused"), "{error}");
    assert!(
        sink.recorder().is_empty(),
        "nothing reached the private address"
    );
    let metrics = strict
        .anonymous()
        .get(format!("{}/metrics", strict.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sluice_egress_refusals_total{"),
        "the refusal is counted:\n{metrics}"
    );
    strict.stop().await;

    let allowing = TestService::on(Backend::Sqlite).await;
    allowing.subscribe("s1", &sink.url("h"), &["*"]).await;
    allowing.send_events(order("o1")).await;
    allowing
        .wait_for_deliveries("s1", "status=delivered", 1)
        .await;
    assert_eq!(sink.recorder().len(), 1);
    allowing.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_claim_that_found_a_few_deliveries_makes_the_next_wait_for_the_claim_interval() {
    const INTERVAL: Duration = Duration::from_secs(2);
    let service = TestService::start(Options {
        configure: Box::new(|config| {
            // The poll runs on the test's still clock; it is set no shorter
            // than the interval, as the configuration requires.
            config.delivery.min_claim_interval_ms = INTERVAL.as_millis() as u64;
            config.delivery.poll_interval_ms = INTERVAL.as_millis() as u64;
        }),
        ..Options::default()
    })
    .await;
    let sink = WebhookSink::start().await.unwrap();
    service
        .subscribe("s1", &sink.url("erp"), &["order.*"])
        .await;
    let sink = &sink;
    let arrived = |count| async move {
        sink.recorder()
            .wait_for(count, Duration::from_secs(20))
            .await
            .unwrap_or_else(|_| panic!("the sink never received {count} requests"));
    };
    // Past the interval of the claims made at start.
    tokio::time::sleep(INTERVAL).await;

    // After a quiet spell, a lone event is claimed at once.
    let quiet = std::time::Instant::now();
    service.send_events(order("after-quiet")).await;
    arrived(1).await;
    assert!(
        quiet.elapsed() < INTERVAL,
        "claimed at once after a quiet spell, not {:?} later",
        quiet.elapsed()
    );

    // That claim, of one delivery, began after `quiet`: the next waits.
    service.send_events(order("within")).await;
    arrived(2).await;
    assert!(
        quiet.elapsed() >= INTERVAL,
        "claimed {:?} after the previous claim",
        quiet.elapsed()
    );

    // A claim that found many does not make the next one wait.
    tokio::time::sleep(INTERVAL).await;
    let many_sent = std::time::Instant::now();
    let many: Vec<Value> = (0..10)
        .map(|i| order(&format!("many-{i}"))[0].clone())
        .collect();
    service.send_events(Value::Array(many)).await;
    arrived(12).await;
    service.send_events(order("after-many")).await;
    arrived(13).await;
    assert!(
        many_sent.elapsed() < INTERVAL,
        "the event after a claim of ten waited {:?}",
        many_sent.elapsed()
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_configuration_receives_events_and_is_told_about_dead_letters() {
    let ca = Arc::new(TestCa::new().unwrap());
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled())
        .await
        .unwrap();
    let channel = slack.create_channel("ops", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let service = TestService::start(Options {
        resolve: slack
            .egress_overrides()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ca: Some(ca.clone()),
        configure: Box::new(|config| config.delivery.retry.schedule_seconds = vec![]),
        ..Options::default()
    })
    .await;
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "slack",
                "name": "ops alerts",
                "event_types": ["order.*", "webhook.dead_lettered"],
                "settings": { "mode": "incoming-webhook" },
                "credentials": { "webhook_url": webhook_url },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let config = created.body["id"].as_str().unwrap().to_owned();
    let tested = service
        .post(
            &format!("/v1/stores/s1/connectors/{config}/test"),
            json!({}),
        )
        .await;
    assert_eq!(tested.status, 200, "{:?}", tested.body);
    assert_ne!(tested.body["status"], "failed", "{:?}", tested.body);

    let sink = WebhookSink::start().await.unwrap();
    sink.script([Answer::status(500)]);
    service
        .subscribe("s1", &sink.url("erp"), &["order.*"])
        .await;
    service.send_events(order("o1")).await;

    let messages = slack
        .wait_for_messages(2, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(messages.iter().all(|m| m.channel == channel));
    let text = |m: &sluice_tests::fakes::slack::PostedMessage| {
        format!("{:?} {}", m.text, Value::Array(m.blocks.clone()))
    };
    assert!(
        messages.iter().any(|m| text(m).contains("o1")),
        "the order reached Slack: {messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| text(m).to_lowercase().contains("dead")),
        "the dead letter was reported to Slack: {messages:#?}"
    );
    let to_slack = service
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 2)
        .await;
    let detail = service
        .delivery("s1", to_slack[0]["id"].as_str().unwrap())
        .await;
    let report = &detail["attempts"][0]["report"];
    assert_eq!(report["egress"][0]["status"], 200, "{report:#}");
    assert!(report["fuel_consumed"].as_u64().unwrap() > 0);

    let metrics = service
        .anonymous()
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "sluice_events_accepted_total{source=\"api\"} 1",
        "sluice_deliveries{state=\"delivered\",target_kind=\"connector\"} 2",
        "sluice_deliveries{state=\"dead\",target_kind=\"webhook\"} 1",
        "sluice_attempt_duration_seconds_bucket",
        "sluice_delivery_latency_seconds_bucket",
        "sluice_guest_fuel_consumed_bucket{connector=\"slack\",export=\"deliver\"",
        "sluice_guest_memory_peak_bytes_bucket{connector=\"slack\"",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from\n{metrics}"
        );
    }
    service.stop().await;
}
