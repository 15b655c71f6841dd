use sluice_storage::{StorageError, SyncEventTypes, SyncRun, SyncedRecord};

use crate::support::{T0, connector, webhook};

const ORDERS: SyncEventTypes<'static> = SyncEventTypes {
    new: "order.placed",
    changed: "order.updated",
};

fn record(id: &str, version: &str) -> SyncedRecord {
    SyncedRecord {
        external_id: id.into(),
        version: version.into(),
        occurred_at: T0,
        payload: format!(r#"{{"order_id":"{id}","v":"{version}"}}"#),
    }
}

fn run(position: &sluice_storage::SyncPosition, status: &str) -> SyncRun {
    SyncRun {
        id: sluice_core::new_id("syn"),
        store_id: position.store_id.clone(),
        config_id: position.config_id.clone(),
        entity: position.entity.clone(),
        direction: "inbound".into(),
        trigger: "scheduled".into(),
        status: status.into(),
        batches: 1,
        records: 2,
        events: 2,
        error: None,
        started_at: T0,
        finished_at: T0 + 5,
    }
}

on_both_backends! {
    async fn new_records_and_new_versions_become_events_once_and_the_cursor_moves(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        webhook(&db, "store_a", &["order.*"]).await;
        db.ensure_sync_positions("store_a", &config.id, &["orders".into()], T0).await.unwrap();
        let position = db.claim_due_syncs(T0, T0 + 60_000, 10).await.unwrap().remove(0);
        assert_eq!(position.cursor, None);
        assert_eq!(position.trigger, "scheduled");

        let first = db
            .commit_sync_batch(&position, &[record("A1", "v1"), record("A2", "v1")], ORDERS, Some("c1"), T0)
            .await
            .unwrap();
        assert_eq!((first.events, first.unchanged), (2, 0));
        assert_eq!(first.deliveries, 4, "each event reaches the webhook and the configuration");
        // The same batch again (a crash before the cursor was used) raises nothing.
        let again = db
            .commit_sync_batch(&position, &[record("A1", "v1"), record("A2", "v2")], ORDERS, Some("c2"), T0)
            .await
            .unwrap();
        assert_eq!((again.events, again.unchanged), (1, 1));
        let page = db
            .list_deliveries("store_a", &Default::default(), &sluice_storage::PageRequest { cursor: None, limit: 100 })
            .await
            .unwrap();
        let mut types: Vec<&str> = page.items.iter().map(|d| d.event_type.as_str()).collect();
        types.sort();
        types.dedup();
        assert_eq!(types, ["order.placed", "order.updated"]);

        db.finish_sync_run(&position, &run(&position, "succeeded"), T0 + 300_000).await.unwrap();
        assert!(db.claim_due_syncs(T0 + 299_999, T0 + 400_000, 10).await.unwrap().is_empty());
        let next = db.claim_due_syncs(T0 + 300_000, T0 + 400_000, 10).await.unwrap();
        assert_eq!(next[0].cursor.as_deref(), Some("c2"), "the run resumes from the saved cursor");
        let runs = db.list_sync_runs("store_a", &config.id, 10).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, "succeeded");
        assert!(db.list_sync_runs("store_b", &config.id, 10).await.unwrap().is_empty());
    }

    async fn a_leased_sync_is_not_claimed_twice_and_a_lost_lease_cannot_commit(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        db.ensure_sync_positions("store_a", &config.id, &["orders".into()], T0).await.unwrap();
        let held = db.claim_due_syncs(T0, T0 + 1_000, 10).await.unwrap().remove(0);
        assert!(db.claim_due_syncs(T0 + 999, T0 + 2_000, 10).await.unwrap().is_empty());
        let taken_over = db.claim_due_syncs(T0 + 1_000, T0 + 2_000, 10).await.unwrap().remove(0);
        let refused = db.commit_sync_batch(&held, &[record("A1", "v1")], ORDERS, Some("x"), T0).await;
        assert!(matches!(refused, Err(StorageError::Conflict(_))), "{refused:?}");
        db.commit_sync_batch(&taken_over, &[record("A1", "v1")], ORDERS, Some("y"), T0).await.unwrap();
    }

    async fn a_sync_is_requested_only_for_the_stores_own_configuration(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        db.ensure_sync_positions("store_a", &config.id, &["orders".into()], T0).await.unwrap();
        let position = db.claim_due_syncs(T0, T0 + 1_000, 10).await.unwrap().remove(0);
        db.finish_sync_run(&position, &run(&position, "succeeded"), T0 + 3_600_000).await.unwrap();
        assert!(matches!(
            db.request_sync("store_b", &config.id, T0 + 10).await,
            Err(StorageError::NotFound { .. })
        ));
        assert_eq!(db.request_sync("store_a", &config.id, T0 + 10).await.unwrap(), 1);
        let requested = db.claim_due_syncs(T0 + 10, T0 + 1_000, 10).await.unwrap();
        assert_eq!(requested[0].trigger, "manual");
    }
}
