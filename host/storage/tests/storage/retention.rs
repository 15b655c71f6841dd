use std::time::Duration;

use sluice_storage::{Circuits, DeliveryFilter, PageRequest, PruneReport, StorageError, Verdict};

use crate::support::{T0, TestDb, attempted, event, webhook};

const LEASE: Duration = Duration::from_secs(60);
const DAY: i64 = 86_400_000;

/// Completes every delivery due at `now` with the verdict `decide` picks by event id.
async fn complete_due(db: &TestDb, now: i64, decide: impl Fn(&str) -> Verdict) {
    let claimed = db.claim_due(now, 100, 100, LEASE).await.unwrap();
    let results: Vec<_> = claimed
        .iter()
        .map(|c| attempted(c, decide(&c.delivery.event_id), now))
        .collect();
    db.complete(&results, &[], &Circuits::default(), now)
        .await
        .unwrap();
}

on_both_backends! {
    async fn prune_removes_old_delivered_work_in_chunks_and_keeps_the_rest(db: TestDb) {
        webhook(&db, "store_a", &["order.*"]).await;
        let old = ["d1", "d2", "d3", "dead", "pending"].map(|id| event("store_a", id, "order.placed"));
        db.ingest(&old, T0).await.unwrap();
        db.ingest(&[event("store_a", "unmatched", "product.updated")], T0).await.unwrap();
        complete_due(&db, T0, |id| match id {
            "d1" => Verdict::RetryAt(T0 + 10),
            "dead" => Verdict::Failed,
            "pending" => Verdict::RetryAt(T0 + 10 * DAY),
            _ => Verdict::Delivered { external_id: None },
        })
        .await;
        complete_due(&db, T0 + 10, |_| Verdict::Delivered { external_id: None }).await;
        db.ingest(&[event("store_a", "recent", "order.placed")], T0 + 2 * DAY).await.unwrap();
        complete_due(&db, T0 + 2 * DAY, |_| Verdict::Delivered { external_id: None }).await;

        let report = db.prune(T0 + DAY, 2).await.unwrap();
        assert_eq!(report, PruneReport { deliveries: 3, attempts: 4, events: 4 });

        for gone in ["d1", "d2", "d3", "unmatched"] {
            assert!(matches!(db.get_event("store_a", gone).await, Err(StorageError::NotFound { .. })), "{gone}");
        }
        for kept in ["dead", "pending", "recent"] {
            db.get_event("store_a", kept).await.unwrap();
        }
        let page = PageRequest { cursor: None, limit: 10 };
        let left = db.list_deliveries("store_a", &DeliveryFilter::default(), &page).await.unwrap().items;
        let mut left: Vec<_> = left.iter().map(|d| d.event_id.as_str()).collect();
        left.sort();
        assert_eq!(left, ["dead", "pending", "recent"]);

        assert_eq!(db.prune(T0 + DAY, 2).await.unwrap(), PruneReport::default());
    }
}

on_both_backends! {
    async fn one_node_at_a_time_holds_a_task_and_another_takes_it_once_it_expires(db: TestDb) {
        assert!(db.claim_task("retention", "node-a", T0, T0 + 60_000).await.unwrap());
        assert!(!db.claim_task("retention", "node-b", T0 + 1_000, T0 + 61_000).await.unwrap());
        // The holder renews its own lease before it expires.
        assert!(db.claim_task("retention", "node-a", T0 + 59_000, T0 + 119_000).await.unwrap());
        assert!(!db.claim_task("retention", "node-b", T0 + 60_000, T0 + 120_000).await.unwrap());
        // Another task is a separate lease.
        assert!(db.claim_task("other", "node-b", T0, T0 + 60_000).await.unwrap());
        // A holder that stops renewing loses the task once its lease expires.
        assert!(db.claim_task("retention", "node-b", T0 + 119_000, T0 + 179_000).await.unwrap());
        assert!(!db.claim_task("retention", "node-a", T0 + 120_000, T0 + 180_000).await.unwrap());
    }
}
