use sluice_storage::{CredentialKind, NewCredential, PageRequest, StorageError};

use crate::support::T0;

fn new_key(public_id: &str, scopes: &[&str]) -> NewCredential {
    NewCredential {
        kind: CredentialKind::ApiKey,
        name: "warehouse".into(),
        public_id: public_id.into(),
        secret_hash: format!("hash-of-{public_id}"),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: Some(T0 + 1_000),
        created_by: "operator:adm_1".into(),
    }
}

fn first_page(limit: u32) -> PageRequest {
    PageRequest {
        cursor: None,
        limit,
    }
}

on_both_backends! {
    async fn credentials_are_found_by_public_id_and_belong_to_one_store(db: TestDb) {
        let created = db.create_credential("s1", &new_key("sk_1", &["orders:read"]), T0).await.unwrap();
        assert!(created.id.starts_with("crd_"));
        assert!(created.active);
        assert_eq!(created.scopes, vec!["orders:read"]);
        assert_eq!(created.expires_at, Some(T0 + 1_000));
        assert!(created.usable_at(T0 + 999));
        assert!(!created.usable_at(T0 + 1_000));
        assert_eq!(db.find_credential("sk_1").await.unwrap(), Some(created.clone()));
        assert_eq!(db.find_credential("sk_2").await.unwrap(), None);
        assert_eq!(db.get_credential("s1", &created.id).await.unwrap(), created);
        let elsewhere = db.get_credential("s2", &created.id).await;
        assert!(matches!(elsewhere, Err(StorageError::NotFound { .. })), "{elsewhere:?}");
        assert!(db.list_credentials("s2").await.unwrap().is_empty());
        let duplicate = db.create_credential("s2", &new_key("sk_1", &[]), T0).await;
        assert!(matches!(duplicate, Err(StorageError::Conflict(_))), "{duplicate:?}");
        assert_eq!(db.list_credentials("s1").await.unwrap().len(), 1);
        let audit = db.list_credential_audit("s1", &first_page(10)).await.unwrap();
        assert_eq!(audit.items.len(), 1, "the refused duplicate left no entry");
    }

    async fn rotation_and_revocation_are_audited_with_the_change_and_drop_tokens(db: TestDb) {
        let client = db.create_credential("s1", &new_key("cli_1", &["orders:read"]), T0).await.unwrap();
        db.insert_access_token("token-hash", &client, &["orders:read".into()], T0, T0 + 900)
            .await
            .unwrap();
        let token = db.find_access_token("token-hash").await.unwrap().expect("stored");
        assert_eq!(token.credential_id, client.id);
        assert!(token.usable_at(T0 + 1));
        assert!(!token.usable_at(T0 + 900));

        let rotated = db.rotate_credential("s1", &client.id, "new-hash", "credential:crd_x", T0 + 5).await.unwrap();
        assert_eq!(rotated.secret_hash, "new-hash");
        assert_eq!(rotated.rotated_at, Some(T0 + 5));
        assert_eq!(db.find_access_token("token-hash").await.unwrap(), None, "tokens of the old secret are gone");

        db.insert_access_token("token-2", &rotated, &["orders:read".into()], T0 + 6, T0 + 900)
            .await
            .unwrap();
        let revoked = db.revoke_credential("s1", &client.id, "operator:adm_1", T0 + 7).await.unwrap();
        assert!(!revoked.active);
        assert_eq!(revoked.revoked_at, Some(T0 + 7));
        assert_eq!(db.find_access_token("token-2").await.unwrap(), None);
        let again = db.revoke_credential("s1", &client.id, "operator:adm_1", T0 + 8).await;
        assert!(matches!(again, Err(StorageError::Conflict(_))), "{again:?}");
        let rotate_revoked = db.rotate_credential("s1", &client.id, "h", "operator:adm_1", T0 + 8).await;
        assert!(matches!(rotate_revoked, Err(StorageError::Conflict(_))), "{rotate_revoked:?}");
        let other_store = db.revoke_credential("s2", &client.id, "operator:adm_1", T0 + 8).await;
        assert!(matches!(other_store, Err(StorageError::NotFound { .. })), "{other_store:?}");

        let page = db.list_credential_audit("s1", &first_page(2)).await.unwrap();
        let seen: Vec<(&str, &str, i64)> = page
            .items
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str(), e.at))
            .collect();
        assert_eq!(seen, vec![("revoked", "operator:adm_1", T0 + 7), ("rotated", "credential:crd_x", T0 + 5)]);
        let rest = db
            .list_credential_audit("s1", &PageRequest { cursor: page.next_cursor.clone(), limit: 2 })
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].action, "created");
        assert_eq!(rest.items[0].detail["scopes"], serde_json::json!(["orders:read"]));
        assert!(rest.next_cursor.is_none());
        assert!(db.list_credential_audit("s2", &first_page(10)).await.unwrap().items.is_empty());
    }

    async fn last_use_only_moves_forward_and_expired_tokens_are_pruned(db: TestDb) {
        let a = db.create_credential("s1", &new_key("sk_a", &[]), T0).await.unwrap();
        let b = db.create_credential("s1", &new_key("sk_b", &[]), T0).await.unwrap();
        let written = db
            .record_credential_use(&[(a.id.clone(), T0 + 50), (b.id.clone(), T0 + 40)])
            .await
            .unwrap();
        assert_eq!(written, 2);
        assert_eq!(db.record_credential_use(&[(a.id.clone(), T0 + 10)]).await.unwrap(), 0);
        assert_eq!(db.get_credential("s1", &a.id).await.unwrap().last_used_at, Some(T0 + 50));
        assert_eq!(db.record_credential_use(&[]).await.unwrap(), 0);

        db.insert_access_token("old", &a, &[], T0, T0 + 10).await.unwrap();
        db.insert_access_token("new", &a, &[], T0, T0 + 100).await.unwrap();
        assert_eq!(db.prune_access_tokens(T0 + 10).await.unwrap(), 1);
        assert!(db.find_access_token("old").await.unwrap().is_none());
        assert!(db.find_access_token("new").await.unwrap().is_some());
    }
}
