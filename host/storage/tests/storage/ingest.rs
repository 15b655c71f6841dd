use std::collections::BTreeSet;

use sluice_storage::{
    DeliveryFilter, EventSource, IngestStatus, NewEvent, PageRequest, TargetKind,
    WebhookSubscriptionUpdate,
};

use crate::support::{T0, TestDb, connector, event, webhook};

async fn targets_of(db: &TestDb, store_id: &str, event_id: &str) -> BTreeSet<(TargetKind, String)> {
    let filter = DeliveryFilter {
        event_id: Some(event_id.into()),
        ..Default::default()
    };
    let page = PageRequest {
        cursor: None,
        limit: 100,
    };
    db.list_deliveries(store_id, &filter, &page)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| (d.target_kind, d.target_id))
        .collect()
}

on_both_backends! {
    async fn a_repeated_event_is_acknowledged_and_creates_nothing(db: TestDb) {
        webhook(&db, "store_a", &["order.*"]).await;
        let first = db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        assert_eq!(first[0].status, IngestStatus::Created);
        assert_eq!(first[0].deliveries, 1);

        // Again later, and twice within one batch.
        let batch = [
            event("store_a", "evt_1", "order.placed"),
            event("store_a", "evt_2", "order.placed"),
            event("store_a", "evt_2", "order.placed"),
        ];
        let again = db.ingest(&batch, T0 + 5).await.unwrap();
        let statuses: Vec<_> = again.iter().map(|o| (o.event_id.as_str(), o.status, o.deliveries)).collect();
        assert_eq!(statuses, [
            ("evt_1", IngestStatus::Duplicate, 0),
            ("evt_2", IngestStatus::Created, 1),
            ("evt_2", IngestStatus::Duplicate, 0),
        ]);
        assert_eq!(targets_of(&db, "store_a", "evt_1").await.len(), 1);
        assert_eq!(targets_of(&db, "store_a", "evt_2").await.len(), 1);
        assert_eq!(db.get_event("store_a", "evt_1").await.unwrap().received_at, T0);
    }

    async fn each_matching_active_target_of_the_store_gets_exactly_one_delivery(db: TestDb) {
        let exact = webhook(&db, "store_a", &["order.placed"]).await;
        let prefix = webhook(&db, "store_a", &["order.*", "order.placed"]).await;
        let everything = webhook(&db, "store_a", &["*"]).await;
        webhook(&db, "store_a", &["product.*"]).await;
        webhook(&db, "store_a", &["order.placed.v2"]).await;
        let inactive = webhook(&db, "store_a", &["order.*"]).await;
        db.update_webhook_subscription("store_a", &inactive.id, &WebhookSubscriptionUpdate {
            active: Some(false),
            ..Default::default()
        }, T0).await.unwrap();
        let slack = connector(&db, "store_a", &["order.*"], true).await;
        connector(&db, "store_a", &["order.placed"], false).await;
        webhook(&db, "store_b", &["order.*"]).await;
        connector(&db, "store_b", &["*"], true).await;

        let outcome = db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        assert_eq!(outcome[0].deliveries, 4);
        let expected = BTreeSet::from([
            (TargetKind::Webhook, exact.id),
            (TargetKind::Webhook, prefix.id),
            (TargetKind::Webhook, everything.id),
            (TargetKind::Connector, slack.id),
        ]);
        assert_eq!(targets_of(&db, "store_a", "evt_1").await, expected);
        assert!(targets_of(&db, "store_b", "evt_1").await.is_empty());
    }

    async fn a_batch_of_a_thousand_events_fans_out_in_one_call(db: TestDb) {
        webhook(&db, "store_a", &["order.*"]).await;
        connector(&db, "store_a", &["order.placed"], true).await;
        let events: Vec<NewEvent> = (0..1_000)
            .map(|i| event("store_a", &format!("evt_{i}"), if i % 2 == 0 { "order.placed" } else { "order.paid" }))
            .collect();
        let outcomes = db.ingest(&events, T0).await.unwrap();
        assert!(outcomes.iter().all(|o| o.status == IngestStatus::Created));
        let deliveries: usize = outcomes.iter().map(|o| o.deliveries).sum();
        assert_eq!(deliveries, 1_000 + 500);
        let claimed = db.claim_due(T0, 2_000, 2_000, std::time::Duration::from_secs(60)).await.unwrap();
        assert_eq!(claimed.len(), 1_500);
    }

    async fn the_payload_is_kept_byte_for_byte(db: TestDb) {
        let payload = "{ \"note\" : \"caf\u{e9} \u{1f600}\",\n  \"n\": 1.50 }";
        let new = NewEvent {
            payload: payload.into(),
            source: EventSource::Inbound,
            ..event("store_a", "evt_1", "order.placed")
        };
        db.ingest(&[new], T0).await.unwrap();
        let stored = db.get_event("store_a", "evt_1").await.unwrap();
        assert_eq!(stored.payload, payload);
        assert_eq!(stored.source, EventSource::Inbound);
        assert_eq!(stored.occurred_at, T0 - 1_000);
    }

    async fn the_same_event_id_in_two_stores_is_two_events_each_delivered_to_its_own_store(db: TestDb) {
        let a = webhook(&db, "store_a", &["order.*"]).await;
        let b = webhook(&db, "store_b", &["order.*"]).await;
        db.ingest(&[event("store_b", "evt_0", "order.placed")], T0).await.unwrap();
        let outcomes = db
            .ingest(&[
                event("store_a", "evt_1", "order.placed"),
                event("store_b", "evt_0", "order.placed"),
                event("store_b", "evt_1", "order.placed"),
            ], T0)
            .await
            .unwrap();
        let statuses: Vec<_> = outcomes.iter().map(|o| (o.status, o.deliveries)).collect();
        assert_eq!(statuses, [
            (IngestStatus::Created, 1),
            (IngestStatus::Duplicate, 0),
            (IngestStatus::Created, 1),
        ]);
        assert_eq!(targets_of(&db, "store_a", "evt_1").await, BTreeSet::from([(TargetKind::Webhook, a.id)]));
        assert_eq!(targets_of(&db, "store_b", "evt_1").await, BTreeSet::from([(TargetKind::Webhook, b.id.clone())]));
        assert_eq!(targets_of(&db, "store_b", "evt_0").await, BTreeSet::from([(TargetKind::Webhook, b.id)]));
    }
}
