use std::time::Duration;

use sluice_storage::{
    AttemptTrigger, Circuits, DeliveryFilter, DeliveryStatus, PageRequest, StorageError,
    TargetKind, Verdict,
};

use crate::support::{T0, TestDb, attempted, connector, event, webhook};

const LEASE: Duration = Duration::from_secs(60);

fn first_page(limit: u32) -> PageRequest {
    PageRequest {
        cursor: None,
        limit,
    }
}

/// Dead-letters every delivery due at `now`.
async fn dead_letter_all(db: &TestDb, now: i64) {
    let claimed = db.claim_due(now, 1_000, 1_000, LEASE).await.unwrap();
    let results: Vec<_> = claimed
        .iter()
        .map(|c| attempted(c, Verdict::Failed, now))
        .collect();
    db.complete(&results, &[], &Circuits::default(), now)
        .await
        .unwrap();
}

on_both_backends! {
    async fn listing_filters_and_pages_newest_first(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        let slack = connector(&db, "store_a", &["order.placed"], true).await;
        db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        db.ingest(&[event("store_a", "evt_2", "order.paid")], T0 + 10).await.unwrap();
        db.ingest(&[event("store_a", "evt_3", "order.placed")], T0 + 20).await.unwrap();

        let all = db.list_deliveries("store_a", &DeliveryFilter::default(), &first_page(100)).await.unwrap();
        assert_eq!(all.items.len(), 5);
        assert_eq!(all.next_cursor, None);
        assert!(all.items.windows(2).all(|w| w[0].id > w[1].id), "newest first");

        let mut paged = Vec::new();
        let mut page = first_page(2);
        loop {
            let result = db.list_deliveries("store_a", &DeliveryFilter::default(), &page).await.unwrap();
            assert!(result.items.len() <= 2);
            paged.extend(result.items);
            match result.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        assert_eq!(paged, all.items);

        let count = |filter: DeliveryFilter| {
            let db = &db;
            async move { db.list_deliveries("store_a", &filter, &first_page(100)).await.unwrap().items.len() }
        };
        assert_eq!(count(DeliveryFilter { target_kind: Some(TargetKind::Connector), ..Default::default() }).await, 2);
        assert_eq!(count(DeliveryFilter { target_id: Some(hook.id.clone()), ..Default::default() }).await, 3);
        assert_eq!(count(DeliveryFilter { target_id: Some(slack.id.clone()), event_type: Some("order.placed".into()), ..Default::default() }).await, 2);
        assert_eq!(count(DeliveryFilter { event_type: Some("order.paid".into()), ..Default::default() }).await, 1);
        assert_eq!(count(DeliveryFilter { created_from: Some(T0 + 10), created_before: Some(T0 + 20), ..Default::default() }).await, 1);
        assert_eq!(count(DeliveryFilter { status: Some(DeliveryStatus::Dead), ..Default::default() }).await, 0);
        assert_eq!(count(DeliveryFilter { status: Some(DeliveryStatus::Pending), ..Default::default() }).await, 5);
    }

    async fn retry_now_makes_a_dead_delivery_due_as_a_manual_attempt(db: TestDb) {
        webhook(&db, "store_a", &["order.*"]).await;
        db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        dead_letter_all(&db, T0).await;
        let dead = db.list_deliveries("store_a", &DeliveryFilter::default(), &first_page(10)).await.unwrap().items.remove(0);
        assert_eq!(dead.status, DeliveryStatus::Dead);

        let retried = db.retry_delivery_now("store_a", &dead.id, T0 + 1_000).await.unwrap();
        assert_eq!(retried.status, DeliveryStatus::Pending);
        assert_eq!(retried.next_attempt_at, T0 + 1_000);
        assert_eq!(retried.next_trigger, AttemptTrigger::Manual);
        assert_eq!(retried.finished_at, None);

        let claim = db.claim_due(T0 + 1_000, 10, 10, LEASE).await.unwrap().remove(0);
        assert_eq!(claim.delivery.next_trigger, AttemptTrigger::Manual);
        let delivered = Verdict::Delivered { external_id: None };
        db.complete(&[attempted(&claim, delivered, T0 + 1_000)], &[], &Circuits::default(), T0 + 1_001).await.unwrap();
        let detail = db.get_delivery("store_a", &dead.id).await.unwrap();
        assert_eq!(detail.delivery.status, DeliveryStatus::Delivered);
        assert_eq!(detail.delivery.next_trigger, AttemptTrigger::Scheduled);
        let triggers: Vec<_> = detail.attempts.iter().map(|a| a.trigger).collect();
        assert_eq!(triggers, [AttemptTrigger::Scheduled, AttemptTrigger::Manual]);
    }

    async fn retry_now_brings_a_backed_off_delivery_forward(db: TestDb) {
        webhook(&db, "store_a", &["order.*"]).await;
        db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        let claim = db.claim_due(T0, 10, 10, LEASE).await.unwrap().remove(0);
        db.complete(&[attempted(&claim, Verdict::RetryAt(T0 + 7_200_000), T0)], &[], &Circuits::default(), T0).await.unwrap();

        db.retry_delivery_now("store_a", &claim.delivery.id, T0 + 5).await.unwrap();
        assert_eq!(db.claim_due(T0 + 5, 10, 10, LEASE).await.unwrap().len(), 1);
    }

    async fn retry_now_refuses_delivered_and_in_flight_deliveries(db: TestDb) {
        webhook(&db, "store_a", &["order.*"]).await;
        db.ingest(&[event("store_a", "evt_1", "order.placed"), event("store_a", "evt_2", "order.placed")], T0).await.unwrap();
        let claimed = db.claim_due(T0, 10, 10, LEASE).await.unwrap();
        let delivered = Verdict::Delivered { external_id: None };
        db.complete(&[attempted(&claimed[0], delivered, T0)], &[], &Circuits::default(), T0).await.unwrap();

        let error = db.retry_delivery_now("store_a", &claimed[0].delivery.id, T0 + 1).await.unwrap_err();
        assert!(matches!(&error, StorageError::Conflict(m) if m.contains("delivered already")), "{error}");
        let error = db.retry_delivery_now("store_a", &claimed[1].delivery.id, T0 + 1).await.unwrap_err();
        assert!(matches!(&error, StorageError::Conflict(m) if m.contains("being attempted")), "{error}");
        let error = db.retry_delivery_now("store_a", "dlv_missing", T0 + 1).await.unwrap_err();
        assert!(matches!(error, StorageError::NotFound { kind: "delivery", .. }), "{error}");
    }

    async fn bulk_retry_revives_only_the_matching_dead_deliveries(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        connector(&db, "store_a", &["order.*"], true).await;
        db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        dead_letter_all(&db, T0).await;
        db.ingest(&[event("store_a", "evt_2", "order.placed")], T0 + 1).await.unwrap();

        let to_hook = DeliveryFilter { target_id: Some(hook.id.clone()), ..Default::default() };
        assert_eq!(db.retry_dead_deliveries("store_a", &to_hook, T0 + 2).await.unwrap(), 1);
        assert_eq!(db.retry_dead_deliveries("store_a", &to_hook, T0 + 2).await.unwrap(), 0);

        let dead = DeliveryFilter { status: Some(DeliveryStatus::Dead), ..Default::default() };
        let still_dead = db.list_deliveries("store_a", &dead, &first_page(10)).await.unwrap().items;
        assert_eq!(still_dead.len(), 1);
        assert_eq!(still_dead[0].target_kind, TargetKind::Connector);

        let due: Vec<_> = db.claim_due(T0 + 2, 10, 10, LEASE).await.unwrap();
        assert_eq!(due.len(), 3, "the revived one and the two new ones");
        let revived = due.iter().find(|c| c.delivery.event_id == "evt_1").unwrap();
        assert_eq!(revived.delivery.next_trigger, AttemptTrigger::Manual);
    }
}
