//! At least once across a crash: the `sluice` process is killed (SIGKILL, no
//! shutdown) in the middle of a stream of events and deliveries, started
//! again on the same data directory, and every accepted event still reaches
//! every target.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};
use sluice_tests::process::{Node, send_events, serve, serve_command, short_leases_config};
use sluice_tests::sink::{WebhookSink, delivered_events};

const TOKEN: &str = "crash-test-admin-token";
const EVENTS: usize = 2_000;
const BATCH: usize = 50;

/// Starts `sluice serve` on `data_dir` and returns it with its base URL.
fn start(data_dir: &std::path::Path, config: &std::path::Path) -> (Node, String) {
    let mut command = serve_command("debug", config, data_dir, TOKEN);
    command
        .env_remove("DATABASE_URL")
        .env_remove("SLUICE_MASTER_KEY");
    serve(command).expect("sluice starts and listens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_event_is_delivered_after_the_process_is_killed_mid_stream() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sink = WebhookSink::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, short_leases_config(None)).unwrap();
    let data_dir = dir.path().join("data");
    let (mut first, base) = start(&data_dir, &config);
    let base = Arc::new(Mutex::new(base));
    let client = reqwest::Client::new();
    for target in ["a", "b"] {
        let created = client
            .post(format!("{}/v1/stores/s1/webhooks", base.lock()))
            .bearer_auth(TOKEN)
            .json(&json!({ "name": target, "url": sink.url(target), "event_types": ["order.*"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }

    // The sender retries a batch until it is acknowledged, as a producer
    // must; the process dies under it.
    let acknowledged = Arc::new(Mutex::new(0usize));
    let sender = tokio::spawn({
        let base = base.clone();
        let acknowledged = acknowledged.clone();
        let client = client.clone();
        async move {
            for batch in 0..EVENTS / BATCH {
                let events: Vec<Value> = (batch * BATCH..(batch + 1) * BATCH)
                    .map(|i| {
                        json!({
                            "id": format!("e{i}"),
                            "type": "order.created",
                            "store_id": "s1",
                            "occurred_at": "2026-11-30T10:00:00Z",
                            "payload": { "n": i },
                        })
                    })
                    .collect();
                loop {
                    let url = base.lock().clone();
                    if send_events(&client, &url, TOKEN, &events).await {
                        *acknowledged.lock() += BATCH;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });

    // Kill once events are flowing and deliveries are under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    while *acknowledged.lock() < EVENTS / 4 || sink.recorder().len() < 100 {
        assert!(Instant::now() < deadline, "the stream never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    let delivered_before = sink.recorder().len();
    assert!(
        delivered_before < 2 * EVENTS,
        "killed too late: everything was delivered already"
    );

    let (mut second, restarted) = start(&data_dir, &config);
    *base.lock() = restarted;
    sender.await.unwrap();
    assert_eq!(*acknowledged.lock(), EVENTS);

    let expected: BTreeSet<(String, String)> = ["/a", "/b"]
        .iter()
        .flat_map(|path| (0..EVENTS).map(move |i| (path.to_string(), format!("e{i}"))))
        .collect();
    let all = sink
        .recorder()
        .wait_until(
            |requests| delivered_events(requests).len() >= expected.len(),
            Duration::from_secs(120),
        )
        .await;
    second.kill();
    let requests = all.unwrap_or_else(|timeout| panic!("not every event arrived: {timeout:?}"));
    let got = delivered_events(&requests);
    let missing: Vec<_> = expected
        .iter()
        .filter(|e| !got.contains(*e))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "lost deliveries, for example {missing:?}"
    );
    eprintln!(
        "{} requests for {} deliveries: {} repeated after the crash; {} delivered before it",
        requests.len(),
        expected.len(),
        requests.len() - expected.len(),
        delivered_before
    );
}
