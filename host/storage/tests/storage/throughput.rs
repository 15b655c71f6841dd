//! Micro-benchmarks of the queue's hot path: ingest, claim and complete,
//! and claims made while a target holds leases, as in a running pool.
//!
//! Run with
//! `cargo test --release -p sluice-storage --test storage throughput -- --ignored --nocapture`
//! (add `--test-threads=1` to time each backend alone).

use std::time::{Duration, Instant};

use sluice_storage::{AttemptResult, Circuits, ClaimedDelivery, NewEvent, Verdict};

use crate::support::{T0, TestDb, attempted, event, webhook};

const EVENTS: usize = 20_000;
const INGEST_BATCH: usize = 100;
const CLAIM_BATCH: usize = 200;

/// Ingests [`EVENTS`] events for one webhook, in batches; returns how long
/// it took.
async fn ingest_backlog(db: &TestDb) -> Duration {
    webhook(db, "store_a", &["order.*"]).await;
    let events: Vec<NewEvent> = (0..EVENTS)
        .map(|i| event("store_a", &format!("evt_{i}"), "order.placed"))
        .collect();
    let started = Instant::now();
    for batch in events.chunks(INGEST_BATCH) {
        db.ingest(batch, T0).await.unwrap();
    }
    started.elapsed()
}

/// The results of attempts that delivered every claimed row.
fn all_delivered(claimed: &[ClaimedDelivery]) -> Vec<AttemptResult> {
    claimed
        .iter()
        .map(|c| attempted(c, Verdict::Delivered { external_id: None }, T0))
        .collect()
}

async fn measure(db: TestDb) {
    let ingest = ingest_backlog(&db).await;

    let started = Instant::now();
    let mut delivered = 0;
    let mut claiming = Duration::ZERO;
    let mut completing = Duration::ZERO;
    loop {
        let claim_started = Instant::now();
        let claimed = db
            .claim_due(T0, CLAIM_BATCH, CLAIM_BATCH, Duration::from_secs(60))
            .await
            .unwrap();
        claiming += claim_started.elapsed();
        if claimed.is_empty() {
            break;
        }
        let results = all_delivered(&claimed);
        let complete_started = Instant::now();
        db.complete(&results, &[], &Circuits::default(), T0)
            .await
            .unwrap();
        completing += complete_started.elapsed();
        delivered += claimed.len();
    }
    let drain = started.elapsed();
    assert_eq!(delivered, EVENTS);

    let rate = |count: usize, took: Duration| count as f64 / took.as_secs_f64();
    eprintln!(
        "{:?}: ingest {:.0} events/s (batches of {INGEST_BATCH}); claim {:.0}/s and complete \
         {:.0}/s (batches of {CLAIM_BATCH}); claim+complete {:.0} deliveries/s; \
         end to end {:.0} deliveries/s",
        db.backend(),
        rate(EVENTS, ingest),
        rate(EVENTS, claiming),
        rate(EVENTS, completing),
        rate(EVENTS, drain),
        rate(EVENTS, ingest + drain),
    );
}

on_both_backends! {
    #[ignore = "benchmark; run with --release --ignored --nocapture"]
    async fn ingest_claim_complete_throughput(db: TestDb) {
        measure(db).await;
    }
}

/// Like [`measure`], with leases held while claiming, as a worker pool
/// does: each claim is made before the previous claim's results are
/// recorded, so a target's cap is partly held at every claim.
async fn measure_pipelined(db: TestDb) {
    const CAP: usize = 64;
    ingest_backlog(&db).await;
    let mut in_flight: Vec<AttemptResult> = Vec::new();
    let (mut claiming, mut completing) = (Duration::ZERO, Duration::ZERO);
    let (mut delivered, mut claims) = (0, 0);
    loop {
        let started = Instant::now();
        let claimed = db
            .claim_due(T0, CAP / 2, CAP, Duration::from_secs(60))
            .await
            .unwrap();
        claiming += started.elapsed();
        claims += 1;
        if claimed.is_empty() && in_flight.is_empty() {
            break;
        }
        let started = Instant::now();
        db.complete(&in_flight, &[], &Circuits::default(), T0)
            .await
            .unwrap();
        completing += started.elapsed();
        delivered += in_flight.len();
        in_flight = all_delivered(&claimed);
    }
    assert_eq!(delivered, EVENTS);
    eprintln!(
        "{:?} pipelined: {claims} claims, {:.1} µs per claimed row, {:.1} µs per recorded row",
        db.backend(),
        claiming.as_secs_f64() * 1e6 / EVENTS as f64,
        completing.as_secs_f64() * 1e6 / EVENTS as f64,
    );
}

on_both_backends! {
    #[ignore = "benchmark; run with --release --ignored --nocapture"]
    async fn claim_while_leases_are_held_throughput(db: TestDb) {
        measure_pipelined(db).await;
    }
}
