use std::collections::HashSet;
use std::time::Duration;

use sluice_storage::{
    AttemptOutcome, AttemptTrigger, Circuits, DeliveryStatus, EventSource, IngestStatus, NewEvent,
    Verdict,
};

use crate::support::{T0, TestDb, attempted, event, webhook};

const LEASE: Duration = Duration::from_secs(60);
const LEASE_MS: i64 = 60_000;

/// One subscription and `count` events for it, ingested at `T0`.
async fn pending(db: &TestDb, count: usize) {
    webhook(db, "store_a", &["order.*"]).await;
    let events: Vec<_> = (0..count)
        .map(|i| event("store_a", &format!("evt_{i}"), "order.placed"))
        .collect();
    db.ingest(&events, T0).await.unwrap();
}

on_both_backends! {
    async fn claims_take_due_deliveries_once_with_their_event(db: TestDb) {
        pending(&db, 1).await;
        assert!(db.claim_due(T0 - 1, 10, 10, LEASE).await.unwrap().is_empty(), "not due yet");

        let claimed = db.claim_due(T0, 10, 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let claim = &claimed[0];
        assert_eq!(claim.payload, r#"{"id":"evt_0"}"#);
        assert_eq!(claim.occurred_at, T0 - 1_000);
        assert_eq!(claim.delivery.event_id, "evt_0");
        assert_eq!(claim.delivery.lease_token.as_deref(), Some(claim.lease.token.as_str()));
        assert_eq!(claim.delivery.lease_expires_at, T0 + LEASE_MS);
        assert_eq!(claim.delivery.next_attempt_at, T0 + LEASE_MS, "attempted again once the lease lapses");
        let detail = db.get_delivery("store_a", &claim.delivery.id).await.unwrap();
        assert_eq!(detail.delivery.next_attempt_at, T0 + LEASE_MS);

        assert!(db.claim_due(T0 + LEASE_MS - 1, 10, 10, LEASE).await.unwrap().is_empty(), "leased");
    }

    async fn a_lapsed_lease_is_claimed_again_and_the_old_holder_cannot_complete(db: TestDb) {
        pending(&db, 1).await;
        let first = db.claim_due(T0, 10, 10, LEASE).await.unwrap().remove(0);
        let second = db.claim_due(T0 + LEASE_MS, 10, 10, LEASE).await.unwrap().remove(0);
        assert_eq!(first.delivery.id, second.delivery.id);
        assert_ne!(first.lease.token, second.lease.token);

        let late = attempted(&first, Verdict::Delivered { external_id: None }, T0 + LEASE_MS + 1);
        let completion = db.complete(&[late], &[], &Circuits::default(), T0 + LEASE_MS + 1).await.unwrap();
        assert_eq!(completion.stale, std::slice::from_ref(&first.lease));
        let detail = db.get_delivery("store_a", &first.delivery.id).await.unwrap();
        assert_eq!(detail.delivery.status, DeliveryStatus::Pending);
        assert_eq!(detail.delivery.lease_token.as_deref(), Some(second.lease.token.as_str()));
        assert!(detail.attempts.is_empty());

        let current = attempted(&second, Verdict::Delivered { external_id: None }, T0 + LEASE_MS + 2);
        assert!(db.complete(&[current], &[], &Circuits::default(), T0 + LEASE_MS + 2).await.unwrap().stale.is_empty());
        let detail = db.get_delivery("store_a", &first.delivery.id).await.unwrap();
        assert_eq!(detail.delivery.status, DeliveryStatus::Delivered);
        assert_eq!(detail.attempts.len(), 1);
    }

    async fn a_retry_is_due_at_its_time_and_every_attempt_is_recorded(db: TestDb) {
        pending(&db, 1).await;
        let first = db.claim_due(T0, 10, 10, LEASE).await.unwrap().remove(0);
        db.complete(&[attempted(&first, Verdict::RetryAt(T0 + 300_000), T0)], &[], &Circuits::default(), T0 + 20).await.unwrap();

        let detail = db.get_delivery("store_a", &first.delivery.id).await.unwrap();
        assert_eq!(detail.delivery.status, DeliveryStatus::Pending);
        assert_eq!(detail.delivery.attempt_count, 1);
        assert_eq!(detail.delivery.next_attempt_at, T0 + 300_000);
        assert_eq!(detail.delivery.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(detail.delivery.lease_token, None);
        assert!(db.claim_due(T0 + 299_999, 10, 10, LEASE).await.unwrap().is_empty());

        let second = db.claim_due(T0 + 300_000, 10, 10, LEASE).await.unwrap().remove(0);
        assert_eq!(second.delivery.attempt_count, 1);
        let delivered = Verdict::Delivered { external_id: Some("msg_42".into()) };
        db.complete(&[attempted(&second, delivered, T0 + 300_000)], &[], &Circuits::default(), T0 + 300_050).await.unwrap();

        let detail = db.get_delivery("store_a", &first.delivery.id).await.unwrap();
        assert_eq!(detail.delivery.status, DeliveryStatus::Delivered);
        assert_eq!(detail.delivery.attempt_count, 2);
        assert_eq!(detail.delivery.external_id.as_deref(), Some("msg_42"));
        assert_eq!(detail.delivery.last_error, None);
        assert_eq!(detail.delivery.finished_at, Some(T0 + 300_050));
        let history: Vec<_> = detail
            .attempts
            .iter()
            .map(|a| (a.number, a.outcome, a.trigger, a.next_attempt_at, a.http_status))
            .collect();
        assert_eq!(history, [
            (1, AttemptOutcome::Retry, AttemptTrigger::Scheduled, Some(T0 + 300_000), Some(503)),
            (2, AttemptOutcome::Delivered, AttemptTrigger::Scheduled, None, Some(200)),
        ]);
        let headers = detail.attempts[0].request_headers.as_ref().unwrap();
        assert_eq!(headers["webhook-id"], first.delivery.id.as_str());
    }

    async fn exhausted_and_failed_attempts_dead_letter_the_delivery(db: TestDb) {
        pending(&db, 2).await;
        let claimed = db.claim_due(T0, 10, 10, LEASE).await.unwrap();
        let results = [
            attempted(&claimed[0], Verdict::Exhausted, T0),
            attempted(&claimed[1], Verdict::Failed, T0),
        ];
        db.complete(&results, &[], &Circuits::default(), T0 + 1).await.unwrap();
        for (claim, outcome) in claimed.iter().zip([AttemptOutcome::Retry, AttemptOutcome::Failed]) {
            let detail = db.get_delivery("store_a", &claim.delivery.id).await.unwrap();
            assert_eq!(detail.delivery.status, DeliveryStatus::Dead);
            assert_eq!(detail.delivery.finished_at, Some(T0 + 1));
            assert_eq!(detail.attempts[0].outcome, outcome);
        }
        assert!(db.claim_due(T0 + 10 * LEASE_MS, 10, 10, LEASE).await.unwrap().is_empty());
    }

    async fn concurrent_claimers_never_get_the_same_delivery(db: TestDb) {
        pending(&db, 400).await;
        let claimers: Vec<_> = (0..8)
            .map(|_| {
                let db = (*db).clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let batch = db.claim_due(T0, 15, 1_000, LEASE).await.unwrap();
                        if batch.is_empty() {
                            return mine;
                        }
                        mine.extend(batch.into_iter().map(|c| c.delivery.id));
                    }
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for claimer in claimers {
            for id in claimer.await.unwrap() {
                assert!(seen.insert(id.clone()), "{id} was claimed twice");
            }
        }
        assert_eq!(seen.len(), 400);
    }

    async fn released_deliveries_are_due_again_at_once(db: TestDb) {
        pending(&db, 3).await;
        let claimed = db.claim_due(T0, 10, 10, LEASE).await.unwrap();
        let leases: Vec<_> = claimed[..2].iter().map(|c| c.lease.clone()).collect();
        assert_eq!(db.release(&leases, T0 + 5).await.unwrap(), 2);
        assert_eq!(db.release(&leases, T0 + 5).await.unwrap(), 0, "no longer held");

        let again: HashSet<_> = db
            .claim_due(T0 + 5, 10, 10, LEASE)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.delivery.id)
            .collect();
        let released: HashSet<_> = claimed[..2].iter().map(|c| c.delivery.id.clone()).collect();
        assert_eq!(again, released);
    }

    async fn deferred_deliveries_are_due_again_later_without_an_attempt(db: TestDb) {
        pending(&db, 1).await;
        let claimed = db.claim_due(T0, 10, 10, LEASE).await.unwrap();
        let lease = std::slice::from_ref(&claimed[0].lease);
        assert_eq!(db.defer(lease, T0 + 1_000, T0).await.unwrap(), 1);

        assert!(db.claim_due(T0 + 999, 10, 10, LEASE).await.unwrap().is_empty(), "not due yet");
        let again = db.claim_due(T0 + 1_000, 10, 10, LEASE).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].delivery.id, claimed[0].delivery.id);
        assert_eq!(again[0].delivery.attempt_count, 0, "no attempt was recorded");
    }

    async fn system_events_fan_out_in_the_completing_transaction(db: TestDb) {
        pending(&db, 1).await;
        let watcher = webhook(&db, "store_a", &["webhook.*"]).await;
        let claim = db.claim_due(T0, 10, 10, LEASE).await.unwrap().remove(0);
        let dead_lettered = NewEvent {
            source: EventSource::System,
            ..crate::support::event("store_a", "sys_1", "webhook.dead_lettered")
        };
        let completion = db
            .complete(&[attempted(&claim, Verdict::Failed, T0)], &[dead_lettered.clone(), dead_lettered], &Circuits::default(), T0 + 1)
            .await
            .unwrap();
        let statuses: Vec<_> = completion.ingested.iter().map(|o| (o.status, o.deliveries)).collect();
        assert_eq!(statuses, [(IngestStatus::Created, 1), (IngestStatus::Duplicate, 0)]);
        let next = db.claim_due(T0 + 1, 10, 10, LEASE).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].delivery.target_id, watcher.id);
        assert_eq!(next[0].delivery.event_type, "webhook.dead_lettered");
    }

    async fn system_events_nobody_subscribes_to_are_not_stored(db: TestDb) {
        pending(&db, 1).await;
        let claim = db.claim_due(T0, 10, 10, LEASE).await.unwrap().remove(0);
        let delivered = NewEvent {
            source: EventSource::System,
            ..crate::support::event("store_a", "sys_1", "webhook.delivered")
        };
        let completion = db
            .complete(&[attempted(&claim, Verdict::Delivered { external_id: None }, T0)], &[delivered], &Circuits::default(), T0 + 1)
            .await
            .unwrap();
        assert!(completion.ingested.is_empty());
        assert!(db.get_event("store_a", "sys_1").await.is_err());
    }
}
