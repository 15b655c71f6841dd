//! The component runtime alone, against the fake Slack.

use std::sync::Arc;
use std::time::Instant;

use sluice_core::SharedClock;
use sluice_egress::{Egress, SystemResolver};
use sluice_runtime::types::DeliveryOutcome;
use sluice_runtime::{LoadedConnector, MemoryState, Runtime, RuntimeConfig};
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::guests::guest;
use sluice_tests::sandbox::{call_context, egress_settings, event};

use crate::{percentiles, scaled};

const ORDER: &str = r#"{"marketplace":"web","order_id":"1001","status":"pending","line_items":[{"sku":"TSHIRT-RED-M","quantity":2,"price":{"amount":"19.99","currency":"USD"}}],"total":{"amount":"39.98","currency":"USD"}}"#;

pub async fn run() -> anyhow::Result<()> {
    let ca = TestCa::new()?;
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled()).await?;
    let channel = slack.create_channel("bench", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let (manifest, wasm) = guest("connectors/slack");
    let settings = egress_settings(&ca, slack.egress_overrides());

    // Compiling versus loading the compiled artifact from the cache.
    let mut compile = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..scaled(5) {
        let cache = tempfile::tempdir()?;
        let runtime = Runtime::new(
            RuntimeConfig {
                cache_dir: Some(cache.path().to_owned()),
                ..RuntimeConfig::default()
            },
            Egress::new(settings.clone(), Arc::new(SystemResolver))?,
        )?;
        let started = Instant::now();
        runtime.load(manifest.clone(), wasm.clone()).await?;
        compile.push(started.elapsed().as_secs_f64() * 1e3);
        let fresh = Runtime::new(
            RuntimeConfig {
                cache_dir: Some(cache.path().to_owned()),
                ..RuntimeConfig::default()
            },
            Egress::new(settings.clone(), Arc::new(SystemResolver))?,
        )?;
        let started = Instant::now();
        fresh.load(manifest.clone(), wasm.clone()).await?;
        cached.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let (compile_p50, _) = percentiles(&mut compile);
    let (cached_p50, _) = percentiles(&mut cached);
    println!("runtime: slack component {} KiB", wasm.len() / 1024);
    println!(
        "runtime: load by compiling {compile_p50:.1} ms, from the compiled cache {cached_p50:.2} ms ({:.0}x faster)",
        compile_p50 / cached_p50
    );

    // A fresh instance plus one deliver, sequentially.
    let runtime = Runtime::new(
        RuntimeConfig::default(),
        Egress::new(settings, Arc::new(SystemResolver))?,
    )?;
    let connector = runtime.load(manifest, wasm).await?;
    let calls = scaled(2_000);
    let mut delivered = deliver_orders(
        &runtime,
        &connector,
        &[("mode", "incoming-webhook")],
        &webhook_url,
        calls,
    )
    .await?;
    let fuel = delivered.fuel;
    let (wasm_p50, wasm_p99) = percentiles(&mut delivered.micros);

    // The same message posted by native Rust over a pooled TLS connection.
    let client = native_client(&ca, &slack)?;
    let body = serde_json::json!({
        "text": "New order 1001",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*New order 1001*\n2 × TSHIRT-RED-M\nTotal 39.98 USD"}}],
    });
    let mut native_us = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let response = client.post(&webhook_url).json(&body).send().await?;
        let text = response.text().await?;
        native_us.push(started.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(text == "ok", "native post failed: {text}");
    }
    let (native_p50, native_p99) = percentiles(&mut native_us);
    println!(
        "runtime: fresh instance + deliver to fake Slack over TLS: p50 {wasm_p50:.0} µs, p99 {wasm_p99:.0} µs ({calls} calls, {fuel} fuel each)"
    );
    println!(
        "runtime: native Rust baseline, same post:               p50 {native_p50:.0} µs, p99 {native_p99:.0} µs"
    );
    println!(
        "runtime: component / native = {:.2} at p50, {:.2} at p99",
        wasm_p50 / native_p50,
        wasm_p99 / native_p99
    );
    Ok(())
}

/// What [`deliver_orders`] measured.
pub(crate) struct Delivered {
    /// Each call's time (a fresh instance plus `deliver`), in µs.
    pub micros: Vec<f64>,
    /// Fuel of the last call.
    pub fuel: u64,
    /// The highest peak memory of a call.
    pub peak_bytes: u64,
}

/// Delivers an order `calls` times, one after the other, each in a fresh
/// instance, to the webhook at `webhook_url`; fails unless each is delivered.
pub(crate) async fn deliver_orders(
    runtime: &Runtime,
    connector: &Arc<LoadedConnector>,
    settings: &[(&str, &str)],
    webhook_url: &str,
    calls: usize,
) -> anyhow::Result<Delivered> {
    let state = MemoryState::default();
    let clock: SharedClock = Arc::new(sluice_core::SystemClock);
    let mut delivered = Delivered {
        micros: Vec::with_capacity(calls),
        fuel: 0,
        peak_bytes: 0,
    };
    for _ in 0..calls {
        let context = call_context(
            settings,
            &[("webhook_url", webhook_url)],
            &state,
            clock.clone(),
        );
        let started = Instant::now();
        let invocation = runtime
            .deliver(connector, context, event("order.placed", ORDER))
            .await;
        delivered.micros.push(started.elapsed().as_secs_f64() * 1e6);
        delivered.fuel = invocation.report.fuel_consumed;
        delivered.peak_bytes = delivered
            .peak_bytes
            .max(invocation.report.memory_peak_bytes);
        anyhow::ensure!(
            matches!(invocation.result, Ok(DeliveryOutcome::Delivered(_))),
            "{}: delivery failed: {:?}",
            connector.manifest().id,
            invocation.result
        );
    }
    Ok(delivered)
}

fn native_client(ca: &TestCa, slack: &FakeSlack) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder().add_root_certificate(
        reqwest::Certificate::from_pem(ca.certificate_pem().as_bytes())?,
    );
    for (host_port, addr) in slack.egress_overrides() {
        let host = host_port.split(':').next().unwrap_or(&host_port).to_owned();
        builder = builder.resolve(&host, addr);
    }
    Ok(builder.build()?)
}
