use sluice_storage::StateWrite;

use crate::support::{T0, connector};

on_both_backends! {
    async fn values_expire_at_their_time(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        let write = db.set_state("store_a", &config.id, "token", b"abc", Some(T0 + 1_000), T0, 10).await.unwrap();
        assert_eq!(write, StateWrite::Stored);
        assert_eq!(db.get_state("store_a", &config.id, "token", T0 + 999).await.unwrap(), Some(b"abc".to_vec()));
        assert_eq!(db.get_state("store_a", &config.id, "token", T0 + 1_000).await.unwrap(), None);

        db.set_state("store_a", &config.id, "token", b"def", None, T0 + 2_000, 10).await.unwrap();
        assert_eq!(db.get_state("store_a", &config.id, "token", i64::MAX).await.unwrap(), Some(b"def".to_vec()));
        db.delete_state("store_a", &config.id, "token").await.unwrap();
        assert_eq!(db.get_state("store_a", &config.id, "token", T0).await.unwrap(), None);
    }

    async fn new_keys_beyond_the_quota_are_refused_but_live_keys_can_change(db: TestDb) {
        let config = connector(&db, "store_a", &["order.*"], true).await;
        let set = |key: &'static str, expires_at: Option<i64>, now: i64| {
            let db = &db;
            let id = config.id.clone();
            async move { db.set_state("store_a", &id, key, b"v", expires_at, now, 2).await.unwrap() }
        };
        assert_eq!(set("a", None, T0).await, StateWrite::Stored);
        assert_eq!(set("b", Some(T0 + 100), T0).await, StateWrite::Stored);
        assert_eq!(set("c", None, T0).await, StateWrite::QuotaExceeded);
        assert_eq!(set("a", None, T0).await, StateWrite::Stored, "overwriting is not a new key");
        assert_eq!(db.get_state("store_a", &config.id, "c", T0).await.unwrap(), None);
        // Once "b" expires it no longer counts.
        assert_eq!(set("c", None, T0 + 100).await, StateWrite::Stored);
    }
}
