//! The component runtime alone, against the fake Slack, and beside
//! wasmtime's own floor on a component that does nothing.

use std::sync::Arc;
use std::time::Instant;

use sluice_core::{Clock, SharedClock};
use sluice_egress::{Egress, SystemResolver};
use sluice_runtime::bindings::{deliverer, model};
use sluice_runtime::types::{DeliveryOutcome, InvocationContext};
use sluice_runtime::{LoadedConnector, MemoryState, Runtime, RuntimeConfig};
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::guests::guest;
use sluice_tests::sandbox::{call_context, egress_settings, event};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::report::figure;
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
    figure(
        "runtime.slack_component_kib",
        wasm.len() as f64 / 1024.0,
        "KiB",
        None,
    );
    println!(
        "runtime: load by compiling {compile_p50:.1} ms, from the compiled cache {cached_p50:.2} ms ({:.0}x faster)",
        compile_p50 / cached_p50
    );
    figure("runtime.slack_load_compile_p50_ms", compile_p50, "ms", None);
    figure("runtime.slack_load_cached_p50_ms", cached_p50, "ms", None);
    figure(
        "runtime.slack_load_cached_speedup",
        compile_p50 / cached_p50,
        "ratio",
        None,
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
    figure("runtime.slack_deliver_p50_us", wasm_p50, "us", None);
    figure("runtime.slack_deliver_p99_us", wasm_p99, "us", None);
    figure("runtime.slack_deliver_fuel", fuel as f64, "fuel", None);
    println!(
        "runtime: native Rust baseline, same post:               p50 {native_p50:.0} µs, p99 {native_p99:.0} µs"
    );
    figure("runtime.native_post_p50_us", native_p50, "us", None);
    figure("runtime.native_post_p99_us", native_p99, "us", None);
    println!(
        "runtime: component / native = {:.2} at p50, {:.2} at p99",
        wasm_p50 / native_p50,
        wasm_p99 / native_p99
    );
    figure(
        "runtime.slack_vs_native_p50",
        wasm_p50 / native_p50,
        "ratio",
        None,
    );
    figure(
        "runtime.slack_vs_native_p99",
        wasm_p99 / native_p99,
        "ratio",
        None,
    );

    // The runtime beside wasmtime's floor, on a component that does nothing.
    let (manifest, wasm) = guest("test-guests/minimal");
    let calls = scaled(5_000);
    let mut floor = wasmtime_floor(&wasm, calls).await?;
    let (floor_p50, floor_p99) = percentiles(&mut floor);
    let connector = runtime.load(manifest, wasm).await?;
    // The minimal guest reads no credential: the URL is never used.
    let unused = "https://unused.invalid/";
    deliver_orders(&runtime, &connector, &[], unused, WARM_UP).await?;
    let mut minimal = deliver_orders(&runtime, &connector, &[], unused, calls).await?;
    let (minimal_p50, minimal_p99) = percentiles(&mut minimal.micros);
    println!(
        "runtime: wasmtime's floor on the minimal component (same engine configuration; a new store, an instance from the InstancePre, deliver): p50 {floor_p50:.1} µs, p99 {floor_p99:.1} µs ({calls} calls)"
    );
    figure("runtime.wasmtime_floor_p50_us", floor_p50, "us", None);
    figure("runtime.wasmtime_floor_p99_us", floor_p99, "us", None);
    println!(
        "runtime: the runtime on the minimal component (Runtime::deliver, all limits on): p50 {minimal_p50:.1} µs, p99 {minimal_p99:.1} µs ({calls} calls, {} fuel each)",
        minimal.fuel
    );
    figure("runtime.minimal_deliver_p50_us", minimal_p50, "us", None);
    figure("runtime.minimal_deliver_p99_us", minimal_p99, "us", None);
    figure(
        "runtime.minimal_deliver_fuel",
        minimal.fuel as f64,
        "fuel",
        None,
    );
    println!(
        "runtime overhead: {:.2} times wasmtime's floor (target ≤ 2) at p50, {:.2} at p99",
        minimal_p50 / floor_p50,
        minimal_p99 / floor_p99
    );
    figure(
        "runtime.overhead_vs_floor_p50",
        minimal_p50 / floor_p50,
        "ratio",
        None,
    );
    figure(
        "runtime.overhead_vs_floor_p99",
        minimal_p99 / floor_p99,
        "ratio",
        None,
    );
    Ok(())
}

/// Untimed calls before each timed series of the floor comparison.
const WARM_UP: usize = 100;

/// What a store of wasmtime's floor holds: WASI, and nothing else.
struct Floor {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Floor {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The data model holds only types.
impl model::Host for Floor {}

/// wasmtime alone: the engine configuration the runtime uses, WASI linked as
/// the runtime links it, the component pre-linked once, then `calls` times a
/// fresh store, an instance from the `InstancePre` and one `deliver` of an
/// order. Returns each call's time, in µs.
async fn wasmtime_floor(wasm: &[u8], calls: usize) -> anyhow::Result<Vec<f64>> {
    let config = RuntimeConfig::default();
    let engine = Engine::new(&Runtime::engine_config(&config))?;
    let mut linker = Linker::<Floor>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    model::add_to_linker::<_, HasSelf<Floor>>(&mut linker, |floor| floor)?;
    let component = Component::new(&engine, wasm)?;
    let pre = linker.instantiate_pre(&component)?;
    let indices = deliverer::GuestIndices::new(&pre)?;
    let context = InvocationContext {
        store_id: "store_1".into(),
        configuration_id: "cfg_1".into(),
        delivery_id: Some("dlv_1".into()),
        attempt: 1,
        settings: Vec::new(),
        now_ms: sluice_core::SystemClock.now_ms() as u64,
    };
    let order = event("order.placed", ORDER);
    // The deadline the runtime sets, although no epoch thread ticks here.
    let ticks = u64::from(config.max_timeout_ms) / config.epoch_tick_ms.max(1) + 1;
    let mut micros = Vec::with_capacity(calls);
    for call in 0..WARM_UP + calls {
        let started = Instant::now();
        let mut store = Store::new(
            &engine,
            Floor {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        store.set_fuel(config.fuel_per_call)?;
        store.set_epoch_deadline(ticks);
        let instance = pre.instantiate_async(&mut store).await?;
        let outcome = indices
            .load(&mut store, &instance)?
            .call_deliver(&mut store, &context, &order)
            .await?;
        drop(store);
        if call >= WARM_UP {
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
        anyhow::ensure!(
            matches!(outcome, DeliveryOutcome::Delivered(_)),
            "the minimal component answered {outcome:?}"
        );
    }
    Ok(micros)
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
