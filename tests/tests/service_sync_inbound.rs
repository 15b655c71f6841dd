//! Sync and inbound webhooks through the running service, with the
//! well-behaved test guest (250 numbered records; inbound echo): paging,
//! no duplicate events, the sync log, resuming from the saved cursor after a
//! restart, and inbound events stored before the sender gets its answer.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::service::{Options, TestService};
use sluice_tests::sink::WebhookSink;

/// A service with the well-behaved guest, pulling `max_records` per batch
/// and at most `max_batches` batches per run.
async fn service(max_records: u32, max_batches: u32) -> TestService {
    TestService::start(Options {
        extra_connectors: vec!["test-guests/well-behaved"],
        configure: Box::new(move |config| {
            config.sync.max_records = max_records;
            config.sync.max_batches_per_run = max_batches;
            config.sync.continue_after_ms = 1_000;
        }),
        ..Options::default()
    })
    .await
}

async fn configure(service: &TestService) -> String {
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "well-behaved",
                "name": "records",
                "event_types": ["order.*"],
                "settings": { "target_url": "https://allowed.test/in" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Waits until the sync log of `config` has `count` runs; newest first.
async fn runs(service: &TestService, config: &str, count: usize) -> Vec<Value> {
    service.wait_for_sync_runs("s1", config, count).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requested_sync_pages_through_every_record_once_and_logs_the_run() {
    let service = service(40, 50).await;
    let sink = WebhookSink::start().await.unwrap();
    service
        .subscribe("s1", &sink.url("records"), &["record.*"])
        .await;
    let config = configure(&service).await;

    let requested = service
        .post(
            &format!("/v1/stores/s1/connectors/{config}/sync"),
            json!({}),
        )
        .await;
    assert_eq!(requested.status, 202, "{:?}", requested.body);
    assert_eq!(requested.body["entities"], json!(["records"]));
    let log = runs(&service, &config, 1).await;
    let run = &log[0];
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["direction"], "inbound");
    assert_eq!(run["batches"], 7, "250 records in batches of 40");
    assert_eq!(
        (run["records"].as_u64(), run["events"].as_u64()),
        (Some(250), Some(250))
    );
    let delivered = service
        .wait_for_deliveries("s1", "status=delivered&event_type=record.created", 250)
        .await;
    assert_eq!(delivered.len(), 250);

    // Again: the cursor is at the end and nothing is raised twice.
    service
        .post(
            &format!("/v1/stores/s1/connectors/{config}/sync"),
            json!({}),
        )
        .await;
    let log = runs(&service, &config, 2).await;
    assert_eq!(log[0]["events"], 0, "{:#}", log[0]);
    assert_eq!(service.deliveries("s1", "").await.len(), 250);

    let not_mine = service
        .post(
            &format!("/v1/stores/s2/connectors/{config}/sync"),
            json!({}),
        )
        .await;
    assert_eq!(not_mine.status, 404);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_sync_resumes_from_the_last_committed_cursor() {
    let mut service = service(40, 2).await;
    let config = configure(&service).await;
    service
        .post(
            &format!("/v1/stores/s1/connectors/{config}/sync"),
            json!({}),
        )
        .await;
    let first = runs(&service, &config, 1).await;
    assert_eq!(first[0]["records"], 80, "two batches of 40, then it yields");

    service.restart().await;
    service.advance(Duration::from_secs(1));
    let second = runs(&service, &config, 2).await;
    assert_eq!(second[0]["records"], 80, "{:#}", second[0]);
    assert_eq!(second[0]["events"], 80, "records 80 to 159, none repeated");
    // Pull the rest.
    for (runs_so_far, _) in (3..=4).zip(0..) {
        service.advance(Duration::from_secs(1));
        runs(&service, &config, runs_so_far).await;
    }
    let all = runs(&service, &config, 4).await;
    let events: u64 = all.iter().map(|r| r["events"].as_u64().unwrap()).sum();
    assert_eq!(events, 250);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_requests_reach_the_connector_and_their_events_are_stored_once() {
    let service = service(100, 1).await;
    let sink = WebhookSink::start().await.unwrap();
    service
        .subscribe("s1", &sink.url("echo"), &["echo.*"])
        .await;
    let config = configure(&service).await;
    let url = format!("{}/v1/inbound/s1/{config}/hooks/orders?x=1", service.base);
    for _ in 0..2 {
        let response = service
            .anonymous()
            .post(&url)
            .header("x-echo-id", "ext-42")
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.text().await.unwrap(),
            "hello",
            "the connector's answer"
        );
    }
    let delivered = service
        .wait_for_deliveries("s1", "status=delivered&event_type=echo.received", 1)
        .await;
    assert_eq!(
        delivered.len(),
        1,
        "the repeated request raised nothing new"
    );
    let event = service.get("/v1/stores/s1/events/ext-42").await;
    assert_eq!(event.body["source"], "inbound");
    assert_eq!(event.body["payload"]["path"], "/hooks/orders");
    assert_eq!(event.body["payload"]["query"], "x=1");

    let unknown = service
        .anonymous()
        .post(format!("{}/v1/inbound/s1/cfg_nope", service.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.headers()["content-type"],
        "application/problem+json"
    );
    service.stop().await;
}
