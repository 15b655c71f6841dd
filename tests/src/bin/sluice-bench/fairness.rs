//! Fair delivery, measured on a `sluice serve` process (SQLite) with default
//! settings:
//!
//! - store B's acceptance-to-delivery latency (p50, p99) at a steady offered
//!   rate, first alone, then while store A has a backlog of 3,000 events for
//!   a webhook that takes 2 s to answer;
//! - total deliveries per second to 1,000 webhook targets of mixed speed
//!   (100 stores of 10 targets: most answer at once, some in 50 ms, a few in
//!   500 ms).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sluice_tests::TestCa;

use crate::report::{Backend, figure};
use crate::service::{api, events, now_us, send_batches, start, wait_for, write_config};
use crate::{percentiles, scaled};

/// What the receiver saw: requests by kind and store B's latencies.
#[derive(Default)]
struct Receiver {
    fast: AtomicUsize,
    slow: AtomicUsize,
    mixed: AtomicUsize,
    latencies_ms: Mutex<Vec<f64>>,
}

async fn fast(State(receiver): State<Arc<Receiver>>, body: axum::body::Bytes) -> &'static str {
    receiver.fast.fetch_add(1, Ordering::Relaxed);
    if let Ok(event) = serde_json::from_slice::<Value>(&body)
        && let Some(sent) = event["payload"]["sent_us"].as_u64()
    {
        receiver
            .latencies_ms
            .lock()
            .push(now_us().saturating_sub(sent) as f64 / 1e3);
    }
    "ok"
}

async fn slow(State(receiver): State<Arc<Receiver>>) -> &'static str {
    tokio::time::sleep(Duration::from_secs(2)).await;
    receiver.slow.fetch_add(1, Ordering::Relaxed);
    "ok"
}

async fn mixed(
    State(receiver): State<Arc<Receiver>>,
    Path((delay_ms, _target)): Path<(u64, String)>,
) -> &'static str {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    receiver.mixed.fetch_add(1, Ordering::Relaxed);
    "ok"
}

/// Offers store `store` 10 events every 20 ms (500/s) for `seconds`;
/// returns p50 and p99 of acceptance to arrival, in ms.
async fn latency_of(
    client: &reqwest::Client,
    base: &str,
    receiver: &Receiver,
    store: &str,
    seconds: usize,
) -> anyhow::Result<(f64, f64)> {
    receiver.latencies_ms.lock().clear();
    let before = receiver.fast.load(Ordering::Relaxed);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let rounds = seconds * 50;
    for round in 0..rounds {
        tick.tick().await;
        let (client, url) = (client.clone(), format!("{base}/v1/events"));
        let batch = events(store, &format!("{store}{before}-"), round * 10, 10);
        tokio::spawn(async move {
            let _ = client
                .post(url)
                .bearer_auth(crate::service::TOKEN)
                .json(&batch)
                .send()
                .await;
        });
    }
    wait_for(
        || receiver.fast.load(Ordering::Relaxed) - before,
        rounds * 10,
    )
    .await?;
    let mut latencies = std::mem::take(&mut *receiver.latencies_ms.lock());
    Ok(percentiles(&mut latencies))
}

pub async fn run() -> anyhow::Result<()> {
    sluice_tests::process::sluice_binary("release");
    let receiver = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/fast/{*path}", post(fast))
        .route("/slow/{*path}", post(slow))
        .route("/mixed/{delay_ms}/{*path}", post(mixed))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = |path: &str| format!("http://{addr}/{path}");
    let sqlite = Some(Backend::Sqlite);
    let client = reqwest::Client::new();
    let ca = TestCa::new()?;

    // Store B alone, then beside store A's backlog on a 2-second target.
    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), &ca, [])?;
    let process = start(&dir.path().join("data"), &config, None)?;
    let base = process.base.clone();
    let subscribe = |store: &str, target: String| {
        let (client, base) = (client.clone(), base.clone());
        let path = format!("/v1/stores/{store}/webhooks");
        async move {
            api(
                &client,
                &base,
                &path,
                json!({"name": "bench", "url": target, "event_types": ["order.*"]}),
            )
            .await
        }
    };
    subscribe("b", url("fast/b")).await?;
    let seconds = scaled(4);
    let (alone_p50, alone_p99) = latency_of(&client, &base, &receiver, "b", seconds).await?;
    println!(
        "fairness: store B alone, 500 events/s for {seconds} s: p50 {alone_p50:.1} ms, p99 {alone_p99:.1} ms"
    );
    figure("fairness.store_b_alone_p50_ms", alone_p50, "ms", sqlite);
    figure("fairness.store_b_alone_p99_ms", alone_p99, "ms", sqlite);
    subscribe("a", url("slow/a")).await?;
    let backlog = scaled(3_000);
    send_batches(&client, &base, backlog, |from, count| {
        events("a", "a", from, count)
    })
    .await?;
    let (p50, p99) = latency_of(&client, &base, &receiver, "b", seconds).await?;
    let slow_delivered = receiver.slow.load(Ordering::Relaxed);
    println!(
        "fairness: store B beside store A's backlog of {backlog} on a 2 s target: p50 {p50:.1} ms, p99 {p99:.1} ms ({:.2}x the unloaded p99); store A delivered {} meanwhile",
        p99 / alone_p99,
        slow_delivered
    );
    figure("fairness.store_b_beside_backlog_p50_ms", p50, "ms", sqlite);
    figure("fairness.store_b_beside_backlog_p99_ms", p99, "ms", sqlite);
    figure(
        "fairness.store_b_beside_backlog_p99_vs_alone",
        p99 / alone_p99,
        "ratio",
        sqlite,
    );
    figure(
        "fairness.store_a_delivered_meanwhile",
        slow_delivered as f64,
        "count",
        sqlite,
    );
    drop(process);

    // 1,000 targets of mixed speed.
    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), &ca, [])?;
    let process = start(&dir.path().join("data"), &config, None)?;
    let base = process.base.clone();
    let stores = scaled(100);
    let mut subscriptions = tokio::task::JoinSet::new();
    for store in 0..stores {
        for target in 0..10 {
            let delay_ms = match target {
                0 => 500,
                1 | 2 => 50,
                _ => 0,
            };
            let (client, base, target_url) = (
                client.clone(),
                base.clone(),
                url(&format!("mixed/{delay_ms}/s{store}/t{target}")),
            );
            subscriptions.spawn(async move {
                api(
                    &client,
                    &base,
                    &format!("/v1/stores/s{store}/webhooks"),
                    json!({"name": "bench", "url": target_url, "event_types": ["order.*"]}),
                )
                .await
            });
        }
        while subscriptions.len() >= 16 {
            subscriptions.join_next().await.expect("a task")??;
        }
    }
    while let Some(done) = subscriptions.join_next().await {
        done??;
    }
    let per_store = 20;
    let total_events = stores * per_store;
    let expected = total_events * 10;
    let started = Instant::now();
    send_batches(&client, &base, total_events, move |from, count| {
        Value::Array(
            (from..from + count)
                .map(|i| {
                    let store = format!("s{}", i % stores);
                    events(&store, &format!("m{i}-"), i, 1)[0].clone()
                })
                .collect(),
        )
    })
    .await?;
    wait_for(|| receiver.mixed.load(Ordering::Relaxed), expected).await?;
    let elapsed = started.elapsed();
    println!(
        "fairness: {} targets of mixed speed (70% at once, 20% 50 ms, 10% 500 ms): {expected} deliveries in {:.1} s, {:.0}/s",
        stores * 10,
        elapsed.as_secs_f64(),
        expected as f64 / elapsed.as_secs_f64()
    );
    figure(
        "fairness.mixed_targets_s",
        elapsed.as_secs_f64(),
        "s",
        sqlite,
    );
    figure(
        "fairness.mixed_targets_deliveries_per_s",
        expected as f64 / elapsed.as_secs_f64(),
        "per_s",
        sqlite,
    );
    Ok(())
}
