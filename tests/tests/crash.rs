//! At least once across a crash: the `sluice` process is killed (SIGKILL, no
//! shutdown) in the middle of a stream of events and deliveries, started
//! again on the same data directory, and every accepted event still reaches
//! every target.

use std::collections::{BTreeSet, HashSet};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};
use sluice_tests::process::{serve, sluice_binary};
use sluice_tests::sink::WebhookSink;

const TOKEN: &str = "crash-test-admin-token";
const EVENTS: usize = 2_000;
const BATCH: usize = 50;

/// Starts `sluice serve` on `data_dir` and returns it with its base URL.
fn start(data_dir: &std::path::Path, config: &std::path::Path) -> (Child, String) {
    let mut command = Command::new(sluice_binary("debug"));
    command
        .args(["serve", "--config"])
        .arg(config)
        .env("SLUICE_DATA_DIR", data_dir)
        .env("SLUICE_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
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
    // Short timeouts make short leases, so the deliveries the killed process
    // held are claimed again within seconds.
    std::fs::write(
        &config,
        r#"
[egress]
allow_cidrs = ["127.0.0.0/8"]
connect_timeout_ms = 1000
request_timeout_ms = 2000
read_timeout_ms = 1000

[runtime]
max_timeout_ms = 2000

[delivery]
lease_margin_ms = 1000
"#,
    )
    .unwrap();
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
                    let url = format!("{}/v1/events", base.lock());
                    let sent = client
                        .post(url)
                        .bearer_auth(TOKEN)
                        .json(&events)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status() == 202) {
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
    first.kill().unwrap();
    first.wait().unwrap();
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
    let received = |requests: &[sluice_tests::RecordedRequest]| -> HashSet<(String, String)> {
        requests
            .iter()
            .map(|r| {
                let id = r.json().unwrap()["id"].as_str().unwrap().to_owned();
                (r.path.clone(), id)
            })
            .collect()
    };
    let all = sink
        .recorder()
        .wait_until(
            |requests| received(requests).len() >= expected.len(),
            Duration::from_secs(120),
        )
        .await;
    second.kill().unwrap();
    second.wait().unwrap();
    let requests = all.unwrap_or_else(|timeout| panic!("not every event arrived: {timeout:?}"));
    let got = received(&requests);
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
