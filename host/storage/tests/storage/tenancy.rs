//! A store never sees or changes another store's rows, whatever id it names.

use std::time::Duration;

use sluice_secrets::SecretString;
use sluice_storage::{
    ConnectorConfigUpdate, DeliveryFilter, PageRequest, StorageError, WebhookSubscriptionUpdate,
};

use crate::support::{T0, connector, event, webhook};

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StorageError>) {
    assert!(
        matches!(result, Err(StorageError::NotFound { .. })),
        "{result:?}"
    );
}

on_both_backends! {
    async fn webhook_subscriptions_are_invisible_to_other_stores(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        assert!(db.list_webhook_subscriptions("store_b").await.unwrap().is_empty());
        assert_not_found(db.get_webhook_subscription("store_b", &hook.id).await);
        let rename = WebhookSubscriptionUpdate { name: Some("mine".into()), ..Default::default() };
        assert_not_found(db.update_webhook_subscription("store_b", &hook.id, &rename, T0).await);
        assert_not_found(db.deactivate_webhook_subscription("store_b", &hook.id, "no", T0).await);
        assert_not_found(db.rotate_webhook_secret("store_b", &hook.id, &SecretString::new("whsec_x"), T0).await);
        assert_not_found(db.webhook_target("store_b", &hook.id, T0).await);
        assert_not_found(db.delete_webhook_subscription("store_b", &hook.id).await);

        let untouched = db.webhook_target("store_a", &hook.id, T0).await.unwrap();
        assert_eq!(untouched.subscription, hook);
        assert_eq!(untouched.signing_secrets.len(), 1);
    }

    async fn connector_configurations_and_their_state_are_invisible_to_other_stores(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        db.set_state("store_a", &config.id, "token", b"abc", None, T0, 10).await.unwrap();

        assert!(db.list_connector_configs("store_b").await.unwrap().is_empty());
        assert_not_found(db.get_connector_config("store_b", &config.id).await);
        assert_not_found(db.connector_target("store_b", &config.id).await);
        let off = ConnectorConfigUpdate { active: Some(false), ..Default::default() };
        assert_not_found(db.update_connector_config("store_b", &config.id, &off, T0).await);
        assert_not_found(db.delete_connector_config("store_b", &config.id).await);
        assert_eq!(db.get_state("store_b", &config.id, "token", T0).await.unwrap(), None);
        assert_not_found(db.set_state("store_b", &config.id, "token", b"x", None, T0, 10).await);
        db.delete_state("store_b", &config.id, "token").await.unwrap();

        assert_eq!(db.get_state("store_a", &config.id, "token", T0).await.unwrap(), Some(b"abc".to_vec()));
        assert_eq!(db.get_connector_config("store_a", &config.id).await.unwrap(), config);
    }

    async fn events_and_deliveries_are_invisible_to_other_stores(db: TestDb) {
        webhook(&db, "store_a", &["order.*"]).await;
        db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        let claim = db.claim_due(T0, 10, 10, Duration::from_secs(60)).await.unwrap().remove(0);
        db.release(std::slice::from_ref(&claim.lease), T0).await.unwrap();
        let delivery_id = claim.delivery.id;

        let page = PageRequest { cursor: None, limit: 10 };
        assert!(db.list_deliveries("store_b", &DeliveryFilter::default(), &page).await.unwrap().items.is_empty());
        assert_not_found(db.get_delivery("store_b", &delivery_id).await);
        assert_not_found(db.retry_delivery_now("store_b", &delivery_id, T0).await);
        assert_eq!(db.retry_dead_deliveries("store_b", &DeliveryFilter::default(), T0).await.unwrap(), 0);
        assert_not_found(db.get_event("store_b", "evt_1").await);

        assert_eq!(db.get_delivery("store_a", &delivery_id).await.unwrap().delivery.store_id, "store_a");
    }
}
