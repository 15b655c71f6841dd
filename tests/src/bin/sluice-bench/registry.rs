//! Hot-loading connectors: how long an activation takes as the operator sees
//! it (the API call, until this node runs the version), with the version
//! already compiled (warm: a rollback or re-activation) and never compiled
//! before (cold: the install of a new package, verification and compilation
//! included); and delivery throughput to the fake Slack while the connector
//! is upgraded and rolled back 20 times, against a steady run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::packages::Publisher;
use sluice_tests::service::{Options, TestService};

use crate::report::{Backend, figure};
use crate::{percentiles, scaled};

pub(crate) async fn run() -> anyhow::Result<()> {
    println!("\n== registry: activation and hot swap (in-process service, SQLite) ==");
    let ca = Arc::new(TestCa::new()?);
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled()).await?;
    let channel = slack.create_channel("bench", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let publisher = Publisher::new("Bench", &["slack"]);
    let policy = publisher.trust_policy().to_owned();
    let cache = tempfile::tempdir()?;
    let cache_dir = cache.path().to_owned();
    let service = TestService::start(Options {
        resolve: slack
            .egress_overrides()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ca: Some(ca),
        configure: Box::new(move |config| {
            config.registry.trust_policy = Some(policy);
            // A cache of its own, so that "cold" means never compiled.
            config.runtime.cache_dir = Some(cache_dir);
        }),
        ..Options::default()
    })
    .await;
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "slack", "name": "bench", "event_types": ["order.*"],
                "settings": { "mode": "incoming-webhook" },
                "credentials": { "webhook_url": webhook_url },
            }),
        )
        .await;
    anyhow::ensure!(created.status == 201, "configuration: {:?}", created.body);

    let mut cold = Vec::new();
    for i in 0..scaled(10) {
        let package = publisher.slack(&published_version(i), &[]);
        let started = Instant::now();
        let installed = service.upload("/v1/connectors/packages", package).await;
        cold.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            installed.body["outcome"] == "activated",
            "install: {:?}",
            installed.body
        );
    }
    let mut warm = Vec::new();
    for round in 0..scaled(200) {
        let path = if round % 2 == 0 {
            "/v1/connectors/slack/rollback".to_owned()
        } else {
            format!(
                "/v1/connectors/slack/versions/{}/activate",
                published_version(scaled(10) - 1)
            )
        };
        let started = Instant::now();
        let changed = service.post(&path, json!({})).await;
        warm.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(changed.status == 200, "activation: {:?}", changed.body);
    }
    let sqlite = Some(Backend::Sqlite);
    let (p50, p99) = percentiles(&mut warm);
    println!(
        "activation, warm (compiled and loaded; rollback / re-activate through the API): p50 {p50:.2} ms, p99 {p99:.2} ms ({} swaps)",
        warm.len()
    );
    figure("registry.activation_warm_p50_ms", p50, "ms", sqlite);
    figure("registry.activation_warm_p99_ms", p99, "ms", sqlite);
    let (p50, p99) = percentiles(&mut cold);
    println!(
        "activation, cold (install of a new signed package: verify, compile, store, swap): p50 {p50:.1} ms, p99 {p99:.1} ms ({} installs)",
        cold.len()
    );
    figure("registry.activation_cold_p50_ms", p50, "ms", sqlite);
    figure("registry.activation_cold_p99_ms", p99, "ms", sqlite);

    let events = scaled(2_000);
    let steady = throughput(&service, "steady", events, 0).await?;
    let swapping = throughput(&service, "swap", events, 20).await?;
    println!(
        "deliveries to Slack: {steady:.0}/s steady, {swapping:.0}/s during 20 upgrades and rollbacks ({events} events each)"
    );
    figure(
        "registry.slack_deliveries_steady_per_s",
        steady,
        "per_s",
        sqlite,
    );
    figure(
        "registry.slack_deliveries_during_swaps_per_s",
        swapping,
        "per_s",
        sqlite,
    );
    service.stop().await;
    Ok(())
}

/// The `i`th version the bench publishes: above the bundled Slack
/// connector's, so that each install is an upgrade.
fn published_version(i: usize) -> String {
    format!("1.0.{i}")
}

/// Sends `events` orders and waits until all are delivered, doing `swaps`
/// rollbacks and re-activations meanwhile; returns deliveries per second.
async fn throughput(
    service: &TestService,
    prefix: &str,
    events: usize,
    swaps: usize,
) -> anyhow::Result<f64> {
    // Swaps alternate between a rollback and re-activating the version the
    // rollback left.
    let versions = service.get("/v1/connectors/slack/versions").await;
    let active = versions.body["active_version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let before = delivered(service).await?;
    let started = Instant::now();
    for batch in 0..events.div_ceil(100) {
        let orders: Vec<Value> = (batch * 100..((batch + 1) * 100).min(events))
            .map(|i| {
                json!({
                    "id": format!("{prefix}-{i}"), "type": "order.created", "store_id": "s1",
                    "occurred_at": "2026-12-03T10:00:00Z", "payload": { "order_id": i },
                })
            })
            .collect();
        service.send_events(Value::Array(orders)).await;
    }
    let mut swapped = 0;
    loop {
        if swapped < swaps {
            let path = if swapped % 2 == 0 {
                "/v1/connectors/slack/rollback".to_owned()
            } else {
                format!("/v1/connectors/slack/versions/{active}/activate")
            };
            let changed = service.post(&path, json!({})).await;
            anyhow::ensure!(changed.status == 200, "swap: {:?}", changed.body);
            swapped += 1;
        }
        let done = delivered(service).await? - before;
        if done >= events && swapped >= swaps {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "{done} of {events} delivered after 5 minutes"
        );
        // The same pace with and without swaps, so that the runs differ only
        // by the swaps.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = service.deliveries("s1", "status=dead").await.len();
    anyhow::ensure!(dead == 0, "{dead} dead letters");
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

/// Delivered connector deliveries, as `/metrics` counts them in the database.
async fn delivered(service: &TestService) -> anyhow::Result<usize> {
    let text = service
        .anonymous()
        .get(format!("{}/metrics", service.base))
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find_map(|line| {
            line.strip_prefix(r#"sluice_deliveries{state="delivered",target_kind="connector"} "#)
        })
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0))
}
