use serde_json::json;
use sluice_storage::{
    Activation, Installed, NewConnectorVersion, StorageError, Trust, VersionState,
};

use std::time::Duration;

use sluice_storage::{Circuits, Verdict};

use crate::support::{T0, attempted, connector, event};

fn version(id: &str, version: &str, package: &str, trust: Trust) -> NewConnectorVersion {
    NewConnectorVersion {
        connector_id: id.to_owned(),
        version: version.to_owned(),
        package_digest: format!("sha256:{package}"),
        component_digest: format!("component-{package}"),
        publisher: "key-1".to_owned(),
        trust,
    }
}

fn activation<'a>(id: &'a str, version: &'a str, expected: Option<i64>) -> Activation<'a> {
    Activation {
        connector_id: id,
        version,
        expected_generation: expected,
        by: "ops",
    }
}

on_both_backends! {
    async fn packages_are_stored_by_digest_and_installing_twice_changes_nothing(db: TestDb) {
        let new = version("slack", "1.0.0", "aa", Trust::Signed);
        let first = db
            .install_connector_version(&new, b"package one", VersionState::Available, "ops", T0)
            .await
            .unwrap();
        assert!(matches!(first, Installed::New(_)), "{first:?}");
        assert_eq!(first.version().installed_by, "ops");
        assert!(!first.version().active);
        let again = db
            .install_connector_version(&new, b"package one", VersionState::Available, "other", T0 + 1)
            .await
            .unwrap();
        assert_eq!(again, Installed::Existing(first.version().clone()));
        assert_eq!(db.connector_package("sha256:aa").await.unwrap(), b"package one");
        let missing = db.connector_package("sha256:zz").await;
        assert!(matches!(missing, Err(StorageError::NotFound { .. })), "{missing:?}");
    }

    async fn another_package_under_an_installed_version_is_refused_unless_both_are_bundled(db: TestDb) {
        db.install_connector_version(&version("slack", "1.0.0", "aa", Trust::Signed), b"a", VersionState::Available, "ops", T0)
            .await
            .unwrap();
        let clash = db
            .install_connector_version(&version("slack", "1.0.0", "bb", Trust::Signed), b"b", VersionState::Available, "ops", T0)
            .await;
        match clash {
            Err(StorageError::Conflict(message)) => {
                assert!(message.contains("sha256:aa") && message.contains("sha256:bb"), "{message}")
            }
            other => panic!("expected a conflict, got {other:?}"),
        }

        db.install_connector_version(&version("amazon", "0.1.0", "c1", Trust::Bundled), b"c1", VersionState::Available, "bundled", T0)
            .await
            .unwrap();
        let head = db
            .activate_connector_version(&activation("amazon", "0.1.0", None), None, T0)
            .await
            .unwrap();
        let rebuilt = db
            .install_connector_version(&version("amazon", "0.1.0", "c2", Trust::Bundled), b"c2", VersionState::Available, "bundled", T0 + 1)
            .await
            .unwrap();
        assert_eq!(rebuilt.version().package_digest, "sha256:c2");
        assert!(rebuilt.version().active);
        let reloaded = db.connector_head("amazon").await.unwrap().unwrap();
        assert_eq!(reloaded.generation, head.generation + 1, "nodes reload the rebuilt package");
        assert!(matches!(db.connector_package("sha256:c1").await, Err(StorageError::NotFound { .. })));
    }

    async fn activation_moves_the_head_under_a_compare_and_set(db: TestDb) {
        for (v, p) in [("1.0.0", "a1"), ("1.1.0", "a2")] {
            db.install_connector_version(&version("slack", v, p, Trust::Signed), p.as_bytes(), VersionState::Available, "ops", T0)
                .await
                .unwrap();
        }
        assert_eq!(db.connector_head("slack").await.unwrap(), None);
        let first = db
            .activate_connector_version(&activation("slack", "1.0.0", None), None, T0)
            .await
            .unwrap();
        assert_eq!((first.active_version.as_str(), first.previous_version.as_deref()), ("1.0.0", None));
        let twice = db
            .activate_connector_version(&activation("slack", "1.1.0", None), None, T0)
            .await;
        assert!(matches!(twice, Err(StorageError::Conflict(_))), "{twice:?}");

        let second = db
            .activate_connector_version(&activation("slack", "1.1.0", Some(first.generation)), None, T0 + 5)
            .await
            .unwrap();
        assert_eq!(second.active_version, "1.1.0");
        assert_eq!(second.previous_version.as_deref(), Some("1.0.0"));
        assert_eq!(second.generation, first.generation + 1);
        assert_eq!((second.changed_by.as_str(), second.changed_at), ("ops", T0 + 5));
        let stale = db
            .activate_connector_version(&activation("slack", "1.0.0", Some(first.generation)), None, T0)
            .await;
        match stale {
            Err(StorageError::Conflict(message)) => assert!(message.contains("changed meanwhile"), "{message}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        let versions = db.connector_versions("slack").await.unwrap();
        let active: Vec<_> = versions.iter().filter(|v| v.active).map(|v| v.version.as_str()).collect();
        assert_eq!(active, ["1.1.0"]);
        assert_eq!(db.connector_heads().await.unwrap(), vec![second]);

        let unknown = db
            .activate_connector_version(&activation("slack", "9.9.9", Some(first.generation + 1)), None, T0)
            .await;
        assert!(matches!(unknown, Err(StorageError::NotFound { .. })), "{unknown:?}");
    }

    async fn a_pending_version_records_its_diff_and_approval_records_who_and_when(db: TestDb) {
        db.install_connector_version(&version("slack", "1.0.0", "a1", Trust::Signed), b"a1", VersionState::Available, "ops", T0)
            .await
            .unwrap();
        let head = db
            .activate_connector_version(&activation("slack", "1.0.0", None), None, T0)
            .await
            .unwrap();
        db.install_connector_version(&version("slack", "2.0.0", "a2", Trust::Signed), b"a2", VersionState::PendingApproval, "ops", T0)
            .await
            .unwrap();
        let diff = json!({"egress_added": ["https://files.slack.com"]});
        let pending = db
            .set_pending_approval("slack", "2.0.0", &diff, "sha256:d1")
            .await
            .unwrap();
        assert_eq!(pending.state, VersionState::PendingApproval);
        assert_eq!(pending.diff.as_ref(), Some(&diff));
        assert_eq!(pending.diff_hash.as_deref(), Some("sha256:d1"));

        let approving = Activation { by: "alice", ..activation("slack", "2.0.0", Some(head.generation)) };
        db.activate_connector_version(&approving, Some("sha256:d1"), T0 + 9)
            .await
            .unwrap();
        let approved = db.connector_version("slack", "2.0.0").await.unwrap();
        assert!(approved.active);
        assert_eq!(approved.state, VersionState::Available);
        assert_eq!((approved.diff.as_ref(), approved.diff_hash.as_deref()), (None, None));
        assert_eq!(approved.approved_diff_hash.as_deref(), Some("sha256:d1"));
        assert_eq!((approved.approved_by.as_deref(), approved.approved_at), (Some("alice"), Some(T0 + 9)));
    }

    async fn only_inactive_versions_are_deleted_and_their_packages_go_with_them(db: TestDb) {
        for (v, p) in [("1.0.0", "a1"), ("1.1.0", "a2")] {
            db.install_connector_version(&version("slack", v, p, Trust::Signed), p.as_bytes(), VersionState::Available, "ops", T0)
                .await
                .unwrap();
        }
        let head = db
            .activate_connector_version(&activation("slack", "1.0.0", None), None, T0)
            .await
            .unwrap();
        let head = db
            .activate_connector_version(&activation("slack", "1.1.0", Some(head.generation)), None, T0)
            .await
            .unwrap();
        assert_eq!(head.previous_version.as_deref(), Some("1.0.0"));
        let active = db.delete_connector_version("slack", "1.1.0").await;
        assert!(matches!(active, Err(StorageError::Conflict(_))), "{active:?}");
        db.delete_connector_version("slack", "1.0.0").await.unwrap();
        assert_eq!(db.connector_head("slack").await.unwrap().unwrap().previous_version, None);
        assert!(matches!(db.connector_package("sha256:a1").await, Err(StorageError::NotFound { .. })));
        assert_eq!(db.connector_versions("slack").await.unwrap().len(), 1);
        let gone = db.delete_connector_version("slack", "1.0.0").await;
        assert!(matches!(gone, Err(StorageError::NotFound { .. })), "{gone:?}");
    }

    async fn an_attempt_records_the_connector_version_and_component_that_ran_it(db: TestDb) {
        connector(&db, "store_a", &["order.*"], true).await;
        db.ingest(&[event("store_a", "evt_1", "order.placed")], T0).await.unwrap();
        let claimed = db.claim_due(T0, 10, 10, Duration::from_secs(60)).await.unwrap().remove(0);
        let mut result = attempted(&claimed, Verdict::Delivered { external_id: None }, T0);
        result.attempt.connector_version = Some("1.1.0".into());
        result.attempt.component_digest = Some("c0ffee".into());
        db.complete(&[result], &[], &Circuits::default(), T0).await.unwrap();
        let detail = db.get_delivery("store_a", &claimed.delivery.id).await.unwrap();
        let attempt = &detail.attempts[0];
        assert_eq!(attempt.connector_version.as_deref(), Some("1.1.0"));
        assert_eq!(attempt.component_digest.as_deref(), Some("c0ffee"));
    }
}
