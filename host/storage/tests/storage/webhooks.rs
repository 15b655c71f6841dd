use sluice_core::EventTypePattern;
use sluice_secrets::SecretString;
use sluice_storage::{
    IngestStatus, SECRET_ROTATION_OVERLAP_MS, StorageError, WebhookSubscriptionUpdate,
};

use crate::support::{T0, event, patterns, secret_box, webhook};

fn exposed(secrets: &[SecretString]) -> Vec<&str> {
    secrets.iter().map(SecretString::expose).collect()
}

on_both_backends! {
    async fn signing_uses_unexpired_secrets_newest_first_across_rotations(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        let target = db.webhook_target("store_a", &hook.id, T0).await.unwrap();
        assert_eq!(exposed(&target.signing_secrets), ["whsec_first"]);

        let second = db.rotate_webhook_secret("store_a", &hook.id, &SecretString::new("whsec_second"), T0 + 1).await.unwrap();
        assert_eq!(second.expires_at, None);
        let target = db.webhook_target("store_a", &hook.id, T0 + 1).await.unwrap();
        assert_eq!(exposed(&target.signing_secrets), ["whsec_second", "whsec_first"]);

        // A second rotation within the overlap keeps the first secret's earlier expiry.
        let hour = 3_600_000;
        db.rotate_webhook_secret("store_a", &hook.id, &SecretString::new("whsec_third"), T0 + hour).await.unwrap();
        let first_expiry = T0 + 1 + SECRET_ROTATION_OVERLAP_MS;
        let just_before = db.webhook_target("store_a", &hook.id, first_expiry - 1).await.unwrap();
        assert_eq!(exposed(&just_before.signing_secrets), ["whsec_third", "whsec_second", "whsec_first"]);
        let after = db.webhook_target("store_a", &hook.id, first_expiry).await.unwrap();
        assert_eq!(exposed(&after.signing_secrets), ["whsec_third", "whsec_second"]);
        let later = db.webhook_target("store_a", &hook.id, T0 + hour + SECRET_ROTATION_OVERLAP_MS).await.unwrap();
        assert_eq!(exposed(&later.signing_secrets), ["whsec_third"]);
    }

    async fn secrets_do_not_open_under_another_master_key(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        let stranger = db.reconnect(secret_box()).await;
        let error = stranger.webhook_target("store_a", &hook.id, T0).await.unwrap_err();
        assert!(error.to_string().contains("fingerprint does not match"), "{error}");
        stranger.close().await;
    }

    async fn updates_change_only_the_given_fields(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        let update = WebhookSubscriptionUpdate {
            url: Some("https://example.org/new".into()),
            event_types: Some(patterns(&["product.updated"])),
            ..Default::default()
        };
        let updated = db.update_webhook_subscription("store_a", &hook.id, &update, T0 + 9).await.unwrap();
        assert_eq!(updated.url, "https://example.org/new");
        assert_eq!(updated.event_types, [EventTypePattern::Exact("product.updated".into())]);
        assert_eq!(updated.name, hook.name);
        assert!(updated.active);
        assert_eq!(updated.updated_at, T0 + 9);
        assert_eq!(db.list_webhook_subscriptions("store_a").await.unwrap(), [updated]);
    }

    async fn deactivation_records_the_reason_and_stops_fan_out_until_reactivated(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        let off = db.deactivate_webhook_subscription("store_a", &hook.id, "endpoint gone (410)", T0).await.unwrap();
        assert!(!off.active);
        assert_eq!(off.disabled_reason.as_deref(), Some("endpoint gone (410)"));
        let outcome = db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        assert_eq!((outcome[0].status, outcome[0].deliveries), (IngestStatus::Created, 0));

        let on = WebhookSubscriptionUpdate { active: Some(true), ..Default::default() };
        let back = db.update_webhook_subscription("store_a", &hook.id, &on, T0 + 1).await.unwrap();
        assert!(back.active);
        assert_eq!(back.disabled_reason, None);
        let outcome = db.ingest(&[event("store_a", "evt_2", "order.placed")], T0 + 1).await.unwrap();
        assert_eq!(outcome[0].deliveries, 1);
    }

    async fn deleting_a_subscription_removes_it_and_its_secrets(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        db.delete_webhook_subscription("store_a", &hook.id).await.unwrap();
        assert!(matches!(
            db.webhook_target("store_a", &hook.id, T0).await,
            Err(StorageError::NotFound { kind: "webhook subscription", .. })
        ));
        assert!(db.delete_webhook_subscription("store_a", &hook.id).await.is_err());
    }
}
