//! The same connector (Slack's incoming-webhook mode) written in Rust,
//! Python and JavaScript: component size, first compile and cached load,
//! a fresh instance plus one `deliver` against the fake Slack (median, p99,
//! fuel, peak memory), and deliveries per second end to end through a
//! `sluice serve` process on SQLite.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use sluice_egress::{Egress, EgressSettings, SystemResolver};
use sluice_manifest::Manifest;
use sluice_runtime::{Runtime, RuntimeConfig};
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::guests::guests_dir;
use sluice_tests::sandbox::egress_settings;

use crate::report::{Backend, figure, slug};
use crate::runtime::deliver_orders;
use crate::service::{api, events, send_batches, start_with_connectors, wait_for, write_config};
use crate::{percentiles, scaled};

/// One language's build of the connector.
struct Variant {
    language: &'static str,
    /// Folder holding `connector.toml` and `connector.wasm`.
    dir: PathBuf,
    /// Settings besides the webhook URL credential.
    settings: &'static [(&'static str, &'static str)],
}

fn variants() -> anyhow::Result<Vec<Variant>> {
    let polyglot = guests_dir().join("../build/polyglot");
    let variants = vec![
        Variant {
            language: "Rust",
            dir: sluice_tests::guests::bundled_connectors_dir().join("slack"),
            settings: &[("mode", "incoming-webhook")],
        },
        Variant {
            language: "Python",
            dir: polyglot.join("slack-webhook-python"),
            settings: &[],
        },
        Variant {
            language: "JavaScript",
            dir: polyglot.join("slack-webhook-js"),
            settings: &[],
        },
    ];
    for variant in &variants {
        anyhow::ensure!(
            variant.dir.join("connector.wasm").is_file(),
            "{}/connector.wasm is missing: `make connectors polyglot` builds it (make bench does)",
            variant.dir.display()
        );
    }
    Ok(variants)
}

pub async fn run() -> anyhow::Result<()> {
    let ca = TestCa::new()?;
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled()).await?;
    let channel = slack.create_channel("bench", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let settings = egress_settings(&ca, slack.egress_overrides());
    for variant in variants()? {
        in_runtime(&variant, &settings, &webhook_url).await?;
    }
    for variant in variants()? {
        end_to_end(&variant, &ca, &slack, &webhook_url).await?;
    }
    Ok(())
}

fn runtime(settings: &EgressSettings, cache: Option<&Path>) -> anyhow::Result<Runtime> {
    Runtime::new(
        RuntimeConfig {
            cache_dir: cache.map(Path::to_owned),
            ..RuntimeConfig::default()
        },
        Egress::new(settings.clone(), Arc::new(SystemResolver))?,
    )
}

async fn in_runtime(
    variant: &Variant,
    settings: &EgressSettings,
    webhook_url: &str,
) -> anyhow::Result<()> {
    let language = variant.language;
    let manifest = Manifest::load(&variant.dir.join("connector.toml"))?;
    let wasm = std::fs::read(variant.dir.join("connector.wasm"))?;

    let cache = tempfile::tempdir()?;
    let started = Instant::now();
    runtime(settings, Some(cache.path()))?
        .load(manifest.clone(), wasm.clone())
        .await?;
    let compile = started.elapsed().as_secs_f64();
    let runtime = runtime(settings, Some(cache.path()))?;
    let started = Instant::now();
    let connector = runtime.load(manifest, wasm.clone()).await?;
    let cached_ms = started.elapsed().as_secs_f64() * 1e3;
    println!(
        "polyglot {language}: component {:.1} MB, first compile {compile:.1} s, load from the compiled cache {cached_ms:.0} ms",
        wasm.len() as f64 / 1e6
    );
    let name = format!("polyglot.{}", slug(language));
    figure(
        format!("{name}.component_mb"),
        wasm.len() as f64 / 1e6,
        "MB",
        None,
    );
    figure(format!("{name}.first_compile_s"), compile, "s", None);
    figure(format!("{name}.cached_load_ms"), cached_ms, "ms", None);

    let calls = scaled(500);
    let mut delivered =
        deliver_orders(&runtime, &connector, variant.settings, webhook_url, calls).await?;
    let (fuel, peak) = (delivered.fuel, delivered.peak_bytes);
    let (p50, p99) = percentiles(&mut delivered.micros);
    println!(
        "polyglot {language}: fresh instance + deliver: p50 {:.2} ms, p99 {:.2} ms, {fuel} fuel, peak memory {:.1} MiB ({calls} calls)",
        p50 / 1e3,
        p99 / 1e3,
        peak as f64 / (1024.0 * 1024.0)
    );
    figure(format!("{name}.deliver_p50_ms"), p50 / 1e3, "ms", None);
    figure(format!("{name}.deliver_p99_ms"), p99 / 1e3, "ms", None);
    figure(format!("{name}.deliver_fuel"), fuel as f64, "fuel", None);
    figure(
        format!("{name}.deliver_peak_memory_mib"),
        peak as f64 / (1024.0 * 1024.0),
        "MiB",
        None,
    );
    Ok(())
}

async fn end_to_end(
    variant: &Variant,
    ca: &TestCa,
    slack: &FakeSlack,
    webhook_url: &str,
) -> anyhow::Result<()> {
    let manifest = Manifest::load(&variant.dir.join("connector.toml"))?;
    let dir = tempfile::tempdir()?;
    // The one connector, alone in the service's connectors directory.
    let connectors = dir.path().join("connectors");
    let own = connectors.join(&manifest.id);
    std::fs::create_dir_all(&own)?;
    for file in ["connector.toml", "connector.wasm"] {
        std::fs::copy(variant.dir.join(file), own.join(file))?;
    }
    let config = write_config(dir.path(), ca, slack.egress_overrides())?;
    let started = Instant::now();
    let process = start_with_connectors(&dir.path().join("data"), &config, None, &connectors)?;
    let ready = started.elapsed().as_secs_f64();
    let client = reqwest::Client::new();
    let settings: serde_json::Map<_, _> = variant
        .settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    api(
        &client,
        &process.base,
        "/v1/stores/poly/connectors",
        json!({
            "connector_id": manifest.id, "name": "bench", "event_types": ["order.*"],
            "settings": settings, "credentials": {"webhook_url": webhook_url},
        }),
    )
    .await?;
    let total = scaled(5_000);
    let before = slack.message_count();
    let started = Instant::now();
    send_batches(&client, &process.base, total, |from, count| {
        events("poly", "poly", from, count)
    })
    .await?;
    wait_for(|| slack.message_count() - before, total).await?;
    let per_second = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "polyglot {}: deliveries end to end on SQLite {:.0}/s ({total}); service ready in {ready:.1} s",
        variant.language, per_second
    );
    let name = format!("polyglot.{}", slug(variant.language));
    let sqlite = Some(Backend::Sqlite);
    figure(
        format!("{name}.deliveries_per_s"),
        per_second,
        "per_s",
        sqlite,
    );
    figure(format!("{name}.service_ready_s"), ready, "s", sqlite);
    Ok(())
}
