use std::collections::BTreeMap;

use sluice_secrets::SecretString;
use sluice_storage::{ConnectorConfigUpdate, Credentials, StorageError};

use crate::support::{T0, connector, patterns, secret_box};

fn exposed(credentials: &Credentials) -> BTreeMap<&str, &str> {
    credentials
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect()
}

on_both_backends! {
    async fn credentials_are_sealed_and_only_their_keys_are_shown(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        assert_eq!(config.credential_keys, ["bot_token"]);
        assert_eq!(config.settings, BTreeMap::from([("channel".to_owned(), "#orders".to_owned())]));
        assert_eq!(config.event_types, patterns(&["order.*"]));

        let target = db.connector_target("store_a", &config.id).await.unwrap();
        assert_eq!(target.config, config);
        assert_eq!(exposed(&target.credentials), BTreeMap::from([("bot_token", "xoxb-1")]));

        let stranger = db.reconnect(secret_box()).await;
        let error = stranger.connector_target("store_a", &config.id).await.unwrap_err();
        assert!(matches!(error, StorageError::Secret(_)), "{error:?}");
        stranger.close().await;
    }

    async fn updates_replace_settings_and_credentials_and_keep_the_rest(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        let update = ConnectorConfigUpdate {
            settings: Some(BTreeMap::from([("channel".to_owned(), "#ops".to_owned())])),
            credentials: Some(Credentials::from([
                ("client_id".to_owned(), SecretString::new("id-1")),
                ("client_secret".to_owned(), SecretString::new("s3cret")),
            ])),
            active: Some(false),
            ..Default::default()
        };
        let updated = db.update_connector_config("store_a", &config.id, &update, T0 + 3).await.unwrap();
        assert_eq!(updated.settings["channel"], "#ops");
        assert_eq!(updated.credential_keys, ["client_id", "client_secret"]);
        assert!(!updated.active);
        assert_eq!(updated.name, config.name);
        assert_eq!(updated.updated_at, T0 + 3);
        let target = db.connector_target("store_a", &config.id).await.unwrap();
        assert_eq!(exposed(&target.credentials), BTreeMap::from([("client_id", "id-1"), ("client_secret", "s3cret")]));

        let cleared = ConnectorConfigUpdate { credentials: Some(Credentials::new()), ..Default::default() };
        let updated = db.update_connector_config("store_a", &config.id, &cleared, T0 + 4).await.unwrap();
        assert!(updated.credential_keys.is_empty());
        assert!(db.connector_target("store_a", &config.id).await.unwrap().credentials.is_empty());
    }

    async fn deleting_a_configuration_removes_its_state(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        db.set_state("store_a", &config.id, "cursor", b"42", None, T0, 10).await.unwrap();
        db.delete_connector_config("store_a", &config.id).await.unwrap();
        assert_eq!(db.get_state("store_a", &config.id, "cursor", T0).await.unwrap(), None);
        assert!(db.list_connector_configs("store_a").await.unwrap().is_empty());
        assert!(matches!(
            db.delete_connector_config("store_a", &config.id).await,
            Err(StorageError::NotFound { .. })
        ));
    }
}

on_both_backends! {
    async fn the_configurations_of_a_connector_are_listed_across_stores_with_credentials(db: TestDb) {
        let a = connector(&db, "store_a", &["order.*"], true).await;
        let b = connector(&db, "store_b", &["order.*"], false).await;
        let targets = db.connector_targets_of("slack").await.unwrap();
        let mut ids: Vec<&str> = targets.iter().map(|t| t.config.id.as_str()).collect();
        ids.sort();
        let mut expected = vec![a.id.as_str(), b.id.as_str()];
        expected.sort();
        assert_eq!(ids, expected);
        assert!(targets.iter().all(|t| t.credentials["bot_token"].expose() == "xoxb-1"));
        assert!(db.connector_targets_of("amazon").await.unwrap().is_empty());
    }
}
