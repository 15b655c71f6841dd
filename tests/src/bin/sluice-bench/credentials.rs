//! Credential validation, in process on the service's own `Credentials`
//! (SQLite): validations per second with a warm cache (one key validated
//! over and over: a SHA-256 and a map lookup), with the cache entry stale
//! every time (`cache_ttl_ms = 0`: one row read, no hash), and cold (each
//! key validated once: its argon2id hash verified through the hash gate,
//! 8 callers at once).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use sluice_credentials::{Credentials, Presented};
use sluice_tests::service::{Backend, Options, TestService};

use crate::report::figure;
use crate::scaled;

const CALLERS: usize = 8;

async fn issue_keys(service: &TestService, count: usize) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::with_capacity(count);
    for index in 0..count {
        let answer = service
            .post(
                "/v1/stores/bench/credentials",
                json!({ "name": format!("key {index}"), "type": "api_key", "scopes": ["orders:read"] }),
            )
            .await;
        anyhow::ensure!(
            answer.status == 201,
            "issuing a key failed: {:?}",
            answer.body
        );
        keys.push(
            answer.body["api_key"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    Ok(keys)
}

/// Validates `keys[i % len]` `total` times from `CALLERS` tasks; returns validations per second.
async fn rate(credentials: &Arc<Credentials>, keys: &Arc<Vec<String>>, total: usize) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let credentials = credentials.clone();
            let keys = keys.clone();
            tokio::spawn(async move {
                let source = IpAddr::V4(Ipv4Addr::new(10, 0, 0, caller as u8));
                for index in (caller..total).step_by(CALLERS) {
                    let presented = Presented::Bearer(keys[index % keys.len()].clone());
                    credentials
                        .authenticate(&presented, source)
                        .await
                        .expect("a valid key");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a bench task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Measures with `cache_ttl_ms = ttl_ms`: cold validations of `cold_keys`
/// keys when there are any, then one key over and over, printed as `label`
/// and recorded as `credentials.{name}_validations_per_s`.
async fn measure(ttl_ms: u64, label: &str, name: &str, cold_keys: usize) -> anyhow::Result<()> {
    let service = TestService::start(Options {
        backend: Backend::Sqlite,
        configure: Box::new(move |config| {
            config.credentials.cache_ttl_ms = ttl_ms;
            config.credentials.max_queued_hashes = CALLERS;
        }),
        ..Options::default()
    })
    .await;
    let credentials = service
        .service
        .as_ref()
        .expect("a running service")
        .state
        .credentials
        .clone();
    if cold_keys > 0 {
        let keys = Arc::new(issue_keys(&service, cold_keys).await?);
        let cold = rate(&credentials, &keys, keys.len()).await;
        println!(
            "credentials: cold validations (argon2id verified, {CALLERS} callers, {} keys): {cold:.0}/s",
            keys.len()
        );
        figure(
            "credentials.cold_validations_per_s",
            cold,
            "per_s",
            Some(Backend::Sqlite),
        );
    }
    let keys = Arc::new(issue_keys(&service, 1).await?);
    rate(&credentials, &keys, 1).await;
    let total = scaled(if ttl_ms == 0 { 20_000 } else { 200_000 });
    let warm = rate(&credentials, &keys, total).await;
    println!(
        "credentials: {label}: {warm:.0} validations/s ({total} validations, {CALLERS} callers)"
    );
    figure(
        format!("credentials.{name}_validations_per_s"),
        warm,
        "per_s",
        Some(Backend::Sqlite),
    );
    service.stop().await;
    Ok(())
}

pub(crate) async fn run() -> anyhow::Result<()> {
    measure(5_000, "warm cache", "warm_cache", scaled(40)).await?;
    measure(
        0,
        "cache always stale (row re-read, no hash)",
        "stale_cache",
        0,
    )
    .await
}
