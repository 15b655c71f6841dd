//! PostgreSQL stopped for 10 seconds under two `sluice serve` nodes while
//! producers keep sending: the nodes keep answering, say they are not ready,
//! refuse events with 503 and Retry-After instead of accepting what they
//! cannot store, and deliver every event they accepted before, during and
//! after the outage once the database is back.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};
use sluice_tests::private_postgres::PrivatePostgres;
use sluice_tests::process::{serve, serve_command, short_leases_config};
use sluice_tests::sink::{WebhookSink, delivered_events};

const TOKEN: &str = "outage-test-admin-token";
const NODES: usize = 2;
const BATCH: usize = 20;
const OUTAGE: Duration = Duration::from_secs(10);

/// What producers and probes saw.
#[derive(Default)]
struct Seen {
    /// Event ids acknowledged with 202.
    accepted: BTreeSet<String>,
    /// 503 answers to ingest, each with its Retry-After.
    refusals: Vec<Option<String>>,
    /// Answers that are neither: status and body.
    unexpected: Vec<String>,
    /// `/readyz` answers by status.
    ready: usize,
    not_ready: usize,
    /// Probes that got no answer in time.
    unanswered: Vec<String>,
}

fn batch(n: usize) -> Vec<Value> {
    (n * BATCH..(n + 1) * BATCH)
        .map(|i| {
            json!({
                "id": format!("e{i}"), "type": "order.created", "store_id": "s1",
                "occurred_at": "2026-11-30T10:00:00Z", "payload": {"n": i},
            })
        })
        .collect()
}

/// Sends batches to the nodes in turn until `stop`, each until it is
/// acknowledged, recording every answer.
async fn produce(bases: Vec<String>, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let events = batch(next);
        let base = &bases[next % bases.len()];
        let sent = client
            .post(format!("{base}/v1/events"))
            .bearer_auth(TOKEN)
            .json(&events)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let pause = match sent {
            Ok(response) if response.status() == 202 => {
                let mut seen = seen.lock();
                seen.accepted
                    .extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
                next += 1;
                Duration::from_millis(50)
            }
            Ok(response) if response.status() == 503 => {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|value| value.to_str().unwrap_or_default().to_owned());
                seen.lock().refusals.push(retry_after);
                Duration::from_millis(200)
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                seen.lock().unexpected.push(format!("{status}: {body}"));
                Duration::from_millis(200)
            }
            Err(error) => {
                seen.lock().unexpected.push(format!("no answer: {error}"));
                Duration::from_millis(200)
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// Asks every node's `/readyz` every 250 ms until `stop`.
async fn probe(bases: Vec<String>, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    while !stop.load(Ordering::Relaxed) {
        for base in &bases {
            let answer = client
                .get(format!("{base}/readyz"))
                .timeout(Duration::from_secs(8))
                .send()
                .await;
            let mut seen = seen.lock();
            match answer {
                Ok(response) if response.status() == 200 => seen.ready += 1,
                Ok(response) if response.status() == 503 => seen.not_ready += 1,
                Ok(response) => seen
                    .unanswered
                    .push(format!("{base}: {}", response.status())),
                Err(error) => seen.unanswered.push(format!("{base}: {error}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_refuse_events_with_retry_after_while_postgres_is_down_and_deliver_all_they_accepted()
{
    let _ = rustls::crypto::ring::default_provider().install_default();
    let postgres = PrivatePostgres::start();
    let sink = WebhookSink::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, short_leases_config(None)).unwrap();
    let master_key = sluice_secrets::MasterKey::generate().to_base64();
    let mut nodes = Vec::new();
    let mut bases = Vec::new();
    for n in 0..NODES {
        let mut command = serve_command(
            "debug",
            &config,
            &dir.path().join(format!("node{n}")),
            TOKEN,
        );
        command
            .env("SLUICE_MASTER_KEY", master_key.expose())
            .env("DATABASE_URL", postgres.url());
        let (child, base) = serve(command).expect("a node starts");
        nodes.push(child);
        bases.push(base);
    }
    let created = reqwest::Client::new()
        .post(format!("{}/v1/stores/s1/webhooks", bases[0]))
        .bearer_auth(TOKEN)
        .json(&json!({ "name": "sink", "url": sink.url("sink"), "event_types": ["order.*"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let producer = tokio::spawn(produce(bases.clone(), seen.clone(), stop.clone()));
    let prober = tokio::spawn(probe(bases.clone(), seen.clone(), stop.clone()));

    tokio::time::sleep(Duration::from_secs(2)).await;
    let accepted_before = seen.lock().accepted.len();
    postgres.stop();
    tokio::time::sleep(OUTAGE).await;
    let (refused_during, not_ready_during) = {
        let seen = seen.lock();
        (seen.refusals.len(), seen.not_ready)
    };
    postgres.start_again();
    let back = Instant::now();
    // Producers get through again once the pools reconnect.
    let accepted_at_restart = seen.lock().accepted.len();
    while seen.lock().accepted.len() < accepted_at_restart + 5 * BATCH {
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "no event was accepted in the minute after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    producer.await.unwrap();
    prober.await.unwrap();

    let seen = Arc::try_unwrap(seen).ok().unwrap().into_inner();
    let deadline = Instant::now() + Duration::from_secs(120);
    let missing = loop {
        let delivered = delivered_events(&sink.recorder().requests());
        let missing: Vec<&String> = seen
            .accepted
            .iter()
            .filter(|id| !delivered.contains(&("/sink".to_owned(), (*id).clone())))
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.into_iter().take(10).cloned().collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    drop(nodes);

    eprintln!(
        "accepted {} events ({accepted_before} before the outage); {} refusals with 503; \
         readyz: {} ready, {} not ready",
        seen.accepted.len(),
        seen.refusals.len(),
        seen.ready,
        seen.not_ready
    );
    assert!(
        accepted_before > 0,
        "nothing was accepted before the outage"
    );
    assert!(
        refused_during > 0,
        "no ingest was refused while PostgreSQL was down"
    );
    assert!(
        seen.refusals.iter().all(|after| after.is_some()),
        "a 503 without Retry-After"
    );
    assert!(
        seen.unexpected.is_empty(),
        "answers that are neither 202 nor 503: {:?}",
        seen.unexpected
    );
    assert!(
        not_ready_during > 0,
        "/readyz never said not ready while PostgreSQL was down"
    );
    assert!(
        seen.unanswered.is_empty(),
        "health probes without an answer: {:?}",
        seen.unanswered
    );
    assert!(
        missing.is_empty(),
        "accepted but not delivered: {missing:?}"
    );
}
