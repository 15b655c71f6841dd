//! A micro-benchmark of the queue's hot path: ingest, claim and complete.
//!
//! Run with
//! `cargo test --release -p sluice-storage --test storage throughput -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use sluice_storage::{AttemptResult, Circuits, NewEvent, Verdict};

use crate::support::{T0, TestDb, attempted, event, webhook};

const EVENTS: usize = 20_000;
const INGEST_BATCH: usize = 100;
const CLAIM_BATCH: usize = 200;

async fn measure(db: TestDb) {
    webhook(&db, "store_a", &["order.*"]).await;
    let events: Vec<NewEvent> = (0..EVENTS)
        .map(|i| event("store_a", &format!("evt_{i}"), "order.placed"))
        .collect();

    let started = Instant::now();
    for batch in events.chunks(INGEST_BATCH) {
        db.ingest(batch, T0).await.unwrap();
    }
    let ingest = started.elapsed();

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
        let results: Vec<AttemptResult> = claimed
            .iter()
            .map(|c| attempted(c, Verdict::Delivered { external_id: None }, T0))
            .collect();
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
