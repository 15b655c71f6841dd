use sluice_storage::StorageError;

use crate::support::T0;

on_both_backends! {
    async fn tokens_are_found_by_hash_and_hashes_are_unique(db: TestDb) {
        assert_eq!(db.count_admin_tokens().await.unwrap(), 0);
        let token = db.insert_admin_token("hash_1", "bootstrap", T0).await.unwrap();
        assert_eq!(db.find_admin_token("hash_1").await.unwrap(), Some(token));
        assert_eq!(db.find_admin_token("hash_2").await.unwrap(), None);
        let duplicate = db.insert_admin_token("hash_1", "again", T0).await;
        assert!(matches!(duplicate, Err(StorageError::Conflict(_))), "{duplicate:?}");
        assert_eq!(db.count_admin_tokens().await.unwrap(), 1);
    }
}
