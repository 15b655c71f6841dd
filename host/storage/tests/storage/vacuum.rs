use std::time::{Duration, Instant};

use sqlx::Connection;

use sluice_storage::{Backend, Circuits, NewEvent, VacuumMemory, Verdict};

use crate::support::{T0, TestDb, attempted, event, webhook};

const LEASE: Duration = Duration::from_secs(60);

/// Claims and records every delivery of 1,500 new events of `store`: a claim
/// and a record rewrite each row, so 3,000 dead rows.
async fn deliver_many(db: &TestDb, store: &str) {
    webhook(db, store, &["order.*"]).await;
    let events: Vec<NewEvent> = (0..1_500)
        .map(|i| event(store, &format!("e{i}"), "order.placed"))
        .collect();
    db.ingest(&events, T0).await.unwrap();
    let claimed = db.claim_due(T0, 2_000, 2_000, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1_500);
    let results: Vec<_> = claimed
        .iter()
        .map(|c| attempted(c, Verdict::Delivered { external_id: None }, T0))
        .collect();
    db.complete(&results, &[], &Circuits::default(), T0)
        .await
        .unwrap();
}

/// Vacuums until `deliveries` is vacuumed or 20 s have passed; returns its
/// dead rows before. PostgreSQL's statistics arrive within a second from a
/// busy session, but an idle one reports them only after 10 s, and claims
/// and records run on sessions of their own that go idle after them.
async fn vacuum_deliveries(db: &TestDb, memory: &mut VacuumMemory) -> Option<i64> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let vacuumed = db.vacuum_bloated(memory).await.unwrap();
        if let Some((_, dead)) = vacuumed.iter().find(|(table, _)| table == "deliveries") {
            return Some(*dead);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

on_both_backends! {
    async fn the_queue_is_vacuumed_once_deliveries_leave_enough_dead_rows(db: TestDb) {
        let mut memory = VacuumMemory::default();
        assert!(db.vacuum_bloated(&mut memory).await.unwrap().is_empty(), "nothing to vacuum yet");
        deliver_many(&db, "store_a").await;

        if db.backend() == Backend::Sqlite {
            assert!(db.vacuum_bloated(&mut memory).await.unwrap().is_empty(), "SQLite keeps no dead rows");
            return;
        }
        assert!(matches!(vacuum_deliveries(&db, &mut memory).await, Some(dead) if dead >= 2_000));
        assert!(
            !db.vacuum_bloated(&mut memory).await.unwrap().iter().any(|(table, _)| table == "deliveries"),
            "vacuumed deliveries have no dead rows left"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_an_open_transaction_still_sees_do_not_make_every_pass_vacuum_again() {
    crate::support::on_postgres(|db| async move {
        let mut memory = VacuumMemory::default();
        // A transaction that took its snapshot first keeps every row it may see.
        let mut reader = sqlx::PgConnection::connect(db.url()).await.unwrap();
        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;")
            .execute(&mut reader)
            .await
            .unwrap();
        deliver_many(&db, "store_a").await;
        assert!(vacuum_deliveries(&db, &mut memory).await.is_some());
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(
            !db.vacuum_bloated(&mut memory)
                .await
                .unwrap()
                .iter()
                .any(|(table, _)| table == "deliveries"),
            "the rows the reader sees are not vacuumed for again"
        );
        sqlx::raw_sql("COMMIT").execute(&mut reader).await.unwrap();
        deliver_many(&db, "store_b").await;
        assert!(
            vacuum_deliveries(&db, &mut memory).await.is_some(),
            "new dead rows are"
        );
    })
    .await;
}
