use sluice_secrets::{MasterKey, Rekey, SecretBox};
use sluice_storage::{RekeyReport, StorageError};

use crate::support::{T0, connector, webhook};

on_both_backends! {
    async fn rekey_moves_every_secret_to_the_new_key(db: TestDb) {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let before = db.reconnect(SecretBox::new(&old)).await;
        let hook = webhook(&before, "store_a", &["order.*"]).await;
        before.rotate_webhook_secret("store_a", &hook.id, &"whsec_second".to_owned().into(), T0).await.unwrap();
        let config = connector(&before, "store_b", &["order.*"], true).await;

        let rekey = Rekey::new(&old, &new);
        let report = before.rekey(|sealed, slot| rekey.reseal(sealed, slot)).await.unwrap();
        assert_eq!(report, RekeyReport { connector_credentials: 1, webhook_secrets: 2 });
        // Running it again is harmless.
        before.rekey(|sealed, slot| rekey.reseal(sealed, slot)).await.unwrap();
        before.close().await;

        let after = db.reconnect(SecretBox::new(&new)).await;
        let target = after.webhook_target("store_a", &hook.id, T0).await.unwrap();
        assert_eq!(target.signing_secrets.len(), 2);
        let credentials = after.connector_target("store_b", &config.id).await.unwrap().credentials;
        assert_eq!(credentials["bot_token"].expose(), "xoxb-1");
        after.close().await;

        let stale = db.reconnect(SecretBox::new(&old)).await;
        assert!(matches!(stale.webhook_target("store_a", &hook.id, T0).await, Err(StorageError::Secret(_))));
        stale.close().await;
    }

    async fn a_failing_rekey_changes_nothing(db: TestDb) {
        let hook = webhook(&db, "store_a", &["order.*"]).await;
        let config = connector(&db, "store_a", &["order.*"], true).await;
        let unrelated = Rekey::new(&MasterKey::generate(), &MasterKey::generate());
        let mut calls = 0;
        // The first value is overwritten with garbage, the second fails.
        let error = db
            .rekey(|sealed, slot| {
                calls += 1;
                match calls {
                    1 => Ok(vec![0; sealed.len()]),
                    _ => unrelated.reseal(sealed, slot),
                }
            })
            .await
            .unwrap_err();
        assert!(matches!(error, StorageError::Secret(_)), "{error:?}");
        assert_eq!(calls, 2);
        assert_eq!(db.connector_target("store_a", &config.id).await.unwrap().credentials.len(), 1);
        assert_eq!(db.webhook_target("store_a", &hook.id, T0).await.unwrap().signing_secrets.len(), 1);
    }
}
