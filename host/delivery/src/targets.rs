//! A short-lived cache of delivery targets.
//!
//! At thousands of deliveries per second to a handful of targets, reading
//! and decrypting the same subscription for every attempt would double the
//! database load. Entries live for a second: a change made through the API
//! on this node is seen at once (the API invalidates the entry), and a change
//! made on another node within a second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sluice_storage::{ConnectorTarget, Db, Result, StorageError, TargetKind, WebhookTarget};

const TIME_TO_LIVE: Duration = Duration::from_secs(1);

/// A cached target, or the fact that it no longer exists.
#[derive(Clone)]
pub(crate) enum Target {
    Webhook(Arc<WebhookTarget>),
    Connector(Arc<ConnectorTarget>),
    Gone,
}

/// Cached targets by (store, kind, id), with when they were loaded.
type Entries = HashMap<(String, TargetKind, String), (sluice_core::UnixMillis, Target)>;

/// Targets by (store, kind, id).
#[derive(Default)]
pub struct TargetCache {
    entries: Mutex<Entries>,
}

impl TargetCache {
    /// Forgets a target, after it changed.
    pub fn invalidate(&self, store_id: &str, kind: TargetKind, id: &str) {
        self.entries
            .lock()
            .remove(&(store_id.to_owned(), kind, id.to_owned()));
    }

    pub(crate) async fn get(
        &self,
        db: &Db,
        store_id: &str,
        kind: TargetKind,
        id: &str,
        now: sluice_core::UnixMillis,
    ) -> Result<Target> {
        let key = (store_id.to_owned(), kind, id.to_owned());
        // Entries age on the injected clock, which also decides when a
        // rotated signing secret expires.
        let fresh = |loaded: &sluice_core::UnixMillis| {
            (now - loaded) < TIME_TO_LIVE.as_millis() as i64 && now >= *loaded
        };
        if let Some((loaded, target)) = self.entries.lock().get(&key)
            && fresh(loaded)
        {
            return Ok(target.clone());
        }
        let target = match kind {
            TargetKind::Webhook => db
                .webhook_target(store_id, id, now)
                .await
                .map(|t| Target::Webhook(Arc::new(t))),
            TargetKind::Connector => db
                .connector_target(store_id, id)
                .await
                .map(|t| Target::Connector(Arc::new(t))),
        };
        let target = match target {
            Err(StorageError::NotFound { .. }) => Target::Gone,
            other => other?,
        };
        let mut entries = self.entries.lock();
        if entries.len() > 10_000 {
            entries.retain(|_, (loaded, _)| fresh(loaded));
        }
        entries.insert(key, (now, target.clone()));
        Ok(target)
    }
}
