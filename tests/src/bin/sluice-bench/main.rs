//! `make bench`: figures, not assertions.
//!
//! - Runtime: the Slack component against a local fake Slack over TLS: a
//!   fresh instance plus one `deliver` (median, p99), compiling versus
//!   loading from the artifact cache, and the same delivery done by native
//!   Rust as the baseline; then a component that does nothing, delivered
//!   through the runtime beside wasmtime's floor (the same engine
//!   configuration, a fresh store, an instance from an `InstancePre`, one
//!   call), and the runtime's overhead over that floor.
//! - Service: a `sluice serve` process driven over loopback HTTP, on SQLite
//!   and on PostgreSQL: webhook deliveries per second end to end with one
//!   event per request and the resident memory under that load, events
//!   accepted per second, deliveries per second end to end in batches
//!   (webhooks to a local sink; the Slack connector to the fake), the CPU
//!   time per delivery of each of those paths (the service's and the whole
//!   machine's, so a path's cost shows even where the cores are not
//!   saturated), acceptance-to-delivery latency at a fixed offered rate,
//!   resident memory, and the time of each admin console page on the data
//!   left behind.
//! - Marketplace: the Amazon, eBay and Google Shopping connectors against
//!   their fakes, unthrottled: `inventory.updated` deliveries per second end
//!   to end through a `sluice serve` process (on SQLite) with the token
//!   exchanges the fake saw, and the time per order sync batch of 100 (Amazon,
//!   eBay) in the runtime (median, p99).
//!
//! - Fairness: store B's acceptance-to-delivery latency alone and beside
//!   store A's backlog of 3,000 events on a 2-second webhook, and deliveries
//!   per second to 1,000 targets of mixed speed.
//! - Credentials: validations per second of the service's own credential
//!   checks with a warm cache, with a stale one (a row read each time) and
//!   cold (an argon2id verification each time).
//! - Polyglot: the same Slack webhook connector in Rust, Python and
//!   JavaScript: component size, first compile, cached load, a fresh
//!   instance plus one `deliver` (median, p99, fuel, peak memory), and
//!   deliveries per second end to end through `sluice serve` on SQLite.
//! - Registry: activation latency of a connector version, warm (compiled
//!   and loaded) and cold (a new package: verify, compile, store, swap),
//!   and deliveries per second to the fake Slack during 20 upgrades and
//!   rollbacks against a steady run (in-process service on SQLite).
//! - Cluster: `sluice serve` nodes on one PostgreSQL: events per second one
//!   node consumes from JetStream (stored and fanned out), webhook
//!   deliveries per second with 1, 2 and 3 nodes, and repeated deliveries
//!   per 10,000 while a node is killed every second.
//!
//! `SLUICE_BENCH_ONLY=runtime|service|marketplace|fairness|credentials|registry|polyglot|cluster` runs one
//! part; `SLUICE_BENCH_SCALE` (default 1.0) scales the amounts of work;
//! `SLUICE_BENCH_EXTRA_CONFIG` is TOML appended to the configuration of the
//! service part's `sluice serve`, to compare settings (for example
//! `[delivery]` with `per_target_concurrency = 64`).
//!
//! Every figure printed is also written, at the end of a run, to
//! `target/bench/results.json` (see [`report`]); each figure the previous
//! file also holds is printed beside its previous value first.

mod cluster;
mod console;
mod credentials;
mod fairness;
mod marketplace;
mod polyglot;
mod registry;
mod report;
mod runtime;
mod service;

fn scale() -> f64 {
    std::env::var("SLUICE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn scaled(n: usize) -> usize {
    ((n as f64) * scale()).max(1.0) as usize
}

/// Median and 99th percentile of `samples` (sorted in place).
fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let only = std::env::var("SLUICE_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "runtime" {
        runtime::run().await?;
    }
    if only.is_empty() || only == "service" {
        service::run().await?;
    }
    if only.is_empty() || only == "marketplace" {
        marketplace::run().await?;
    }
    if only.is_empty() || only == "fairness" {
        fairness::run().await?;
    }
    if only.is_empty() || only == "credentials" {
        credentials::run().await?;
    }
    if only.is_empty() || only == "registry" {
        registry::run().await?;
    }
    if only.is_empty() || only == "polyglot" {
        polyglot::run().await?;
    }
    if only.is_empty() || only == "cluster" {
        cluster::run().await?;
    }
    report::finish()
}
