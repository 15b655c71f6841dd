use std::time::Duration;

use serde_json::Value;
use sluice_storage::{
    Circuits, EventSource, NewEvent, NewRejectedMessage, REJECTED_PAYLOAD_LIMIT, SYNC_RUN_FINISHED,
    SyncRun, Verdict,
};

use crate::support::{T0, attempted, connector, event, webhook};

const LEASE: Duration = Duration::from_secs(30);

fn system(id: &str, event_type: &str) -> NewEvent {
    NewEvent {
        source: EventSource::System,
        ..event("store_a", id, event_type)
    }
}

/// Ingests one event for a subscription and claims its delivery.
async fn claimed(db: &sluice_storage::Db) -> sluice_storage::ClaimedDelivery {
    webhook(db, "store_a", &["order.*"]).await;
    db.ingest(&[event("store_a", "evt_1", "order.placed")], T0)
        .await
        .unwrap();
    db.claim_due(T0, 10, 10, Duration::from_secs(60))
        .await
        .unwrap()
        .remove(0)
}

on_both_backends! {
    async fn outcomes_reach_the_outbox_only_when_it_is_on(db: TestDb) {
        let claim = claimed(&db).await;
        db.complete(&[attempted(&claim, Verdict::Failed, T0)], &[system("sys_0", "webhook.dead_lettered")], &Circuits::default(), T0 + 1)
            .await
            .unwrap();
        assert_eq!(db.outbox_backlog().await.unwrap(), 0, "the outbox is off by default");
    }

    async fn each_committed_outcome_enters_the_outbox_once_as_an_event_envelope(db: TestDb) {
        let mut db = (*db).clone();
        let signal = db.enable_outbox();
        let claim = claimed(&db).await;
        // Nobody subscribes to it, so it is not stored as an event; the bus
        // still hears of it, once, although it was raised twice.
        let dead = system("sys_1", "webhook.dead_lettered");
        db.complete(&[attempted(&claim, Verdict::Failed, T0)], &[dead.clone(), dead], &Circuits::default(), T0 + 1)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), signal.notified())
            .await
            .expect("the commit notifies the publisher");
        assert_eq!(db.outbox_backlog().await.unwrap(), 1);

        let messages = db.claim_outbox(T0 + 2, LEASE, 10).await.unwrap();
        assert_eq!(messages.len(), 1);
        let message = &messages[0];
        assert_eq!((message.store_id.as_str(), message.event_id.as_str()), ("store_a", "sys_1"));
        assert_eq!(message.event_type, "webhook.dead_lettered");
        let body: Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(body["id"], "sys_1");
        assert_eq!(body["type"], "webhook.dead_lettered");
        assert_eq!(body["store_id"], "store_a");
        assert_eq!(body["occurred_at"], "2023-11-14T22:13:19.000Z");
        assert_eq!(body["payload"]["id"], "sys_1");

        assert!(db.claim_outbox(T0 + 3, LEASE, 10).await.unwrap().is_empty(), "held by its lease");
        let again = db.claim_outbox(T0 + 2 + LEASE.as_millis() as i64, LEASE, 10).await.unwrap();
        assert_eq!(again, messages, "a lapsed lease lets another publisher take it");
        assert_eq!(db.delete_outbox(&[message.seq]).await.unwrap(), 1);
        assert_eq!(db.outbox_backlog().await.unwrap(), 0);
    }

    async fn outcomes_already_stored_are_not_published_twice(db: TestDb) {
        let mut db = (*db).clone();
        db.enable_outbox();
        webhook(&db, "store_a", &["webhook.delivered"]).await;
        let claim = claimed(&db).await;
        let delivered = system("sys_2", "webhook.delivered");
        db.complete(&[attempted(&claim, Verdict::Delivered { external_id: None }, T0)], std::slice::from_ref(&delivered), &Circuits::default(), T0 + 1)
            .await
            .unwrap();
        // The same outcome raised again (a completion recorded twice) is a
        // duplicate of the stored event and adds nothing to the outbox.
        db.complete(&[], &[delivered], &Circuits::default(), T0 + 2).await.unwrap();
        assert_eq!(db.outbox_backlog().await.unwrap(), 1);
    }

    async fn a_finished_sync_run_enters_the_outbox_with_its_counts(db: TestDb) {
        let mut db = (*db).clone();
        db.enable_outbox();
        let config = connector(&db, "store_a", &["order.*"], true).await;
        db.ensure_sync_positions("store_a", &config.id, &["orders".into()], T0).await.unwrap();
        let position = db.claim_due_syncs(T0, T0 + 60_000, 10).await.unwrap().remove(0);
        let run = SyncRun {
            id: "syn_1".into(),
            store_id: "store_a".into(),
            config_id: config.id.clone(),
            entity: "orders".into(),
            direction: "inbound".into(),
            trigger: "manual".into(),
            status: "succeeded".into(),
            batches: 2,
            records: 7,
            events: 5,
            error: None,
            started_at: T0,
            finished_at: T0 + 40,
        };
        db.finish_sync_run(&position, &run, T0 + 300_000).await.unwrap();
        let messages = db.claim_outbox(T0 + 50, LEASE, 10).await.unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].event_type, SYNC_RUN_FINISHED);
        assert_eq!(messages[0].event_id, "syn_1");
        let body: Value = serde_json::from_str(&messages[0].body).unwrap();
        assert_eq!(body["payload"]["config_id"], config.id.as_str());
        assert_eq!(body["payload"]["events"], 5);
        assert_eq!(body["payload"]["status"], "succeeded");
    }

    async fn rejected_messages_are_logged_bounded_and_listed_newest_first(db: TestDb) {
        let big = vec![b'x'; REJECTED_PAYLOAD_LIMIT + 10];
        let mut ids = Vec::new();
        for (store, payload) in [(Some("store_a"), b"{\"id\":1}".as_slice()), (None, b"\xff\xfe".as_slice()), (Some("store_b"), big.as_slice())] {
            let id = db
                .insert_rejected(
                    &NewRejectedMessage {
                        store_id: store,
                        source: "nats",
                        subject: "platform.events.orders",
                        position: "stream PLATFORM sequence 1",
                        reason: r#"[{"field":"id","message":"missing"}]"#,
                        payload,
                    },
                    T0,
                )
                .await
                .unwrap();
            ids.push(id);
        }
        let all = db.list_rejected(None, None, 10).await.unwrap();
        let listed: Vec<_> = all.iter().map(|r| r.id.clone()).collect();
        assert_eq!(listed, ids.iter().rev().cloned().collect::<Vec<_>>());
        assert_eq!(all[0].payload.len(), REJECTED_PAYLOAD_LIMIT);
        assert_eq!(all[0].payload_size, (REJECTED_PAYLOAD_LIMIT + 10) as u64);
        assert_eq!(all[1].payload, b"\xff\xfe");
        assert_eq!(all[1].store_id, None);
        assert_eq!(all[2].subject, "platform.events.orders");
        assert_eq!(all[2].rejected_at, T0);

        let store_a = db.list_rejected(Some("store_a"), None, 10).await.unwrap();
        assert_eq!(store_a.len(), 1);
        assert_eq!(store_a[0].id, ids[0]);
        let older = db.list_rejected(None, Some(ids[2].as_str()), 1).await.unwrap();
        assert_eq!(older.len(), 1);
        assert_eq!(older[0].id, ids[1]);
    }
}
