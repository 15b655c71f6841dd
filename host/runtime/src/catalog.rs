//! The set of connectors loaded in a running service.
//!
//! Readers take a snapshot (`Arc<LoadedConnector>`) and keep it for the whole
//! call; writers swap in a new map. Installing, upgrading or removing a
//! connector therefore never waits for calls in flight and never changes the
//! version a call started with.
//!
//! At start-up the service names the connectors it is about to load
//! ([`Catalog::expect`]) and compiles them in the background: until one is
//! installed it is *loading*, which readiness reports and delivery waits on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::connector::LoadedConnector;

/// Loaded connectors by id.
#[derive(Default)]
pub struct Catalog {
    connectors: ArcSwap<BTreeMap<String, Arc<LoadedConnector>>>,
    /// Connectors expected but not installed yet.
    loading: Mutex<BTreeSet<String>>,
    /// Woken when nothing is loading any more.
    settled: Notify,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The connector currently installed under `id`.
    pub fn get(&self, id: &str) -> Option<Arc<LoadedConnector>> {
        self.connectors.load().get(id).cloned()
    }

    /// Every installed connector, by id.
    pub fn all(&self) -> Vec<Arc<LoadedConnector>> {
        self.connectors.load().values().cloned().collect()
    }

    /// Installs `connector` under its manifest id, returning the one it
    /// replaced. It is no longer loading.
    pub fn install(&self, connector: Arc<LoadedConnector>) -> Option<Arc<LoadedConnector>> {
        let id = connector.manifest().id.clone();
        let mut replaced = None;
        self.connectors.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            replaced = next.insert(id.clone(), connector.clone());
            next
        });
        let mut loading = self.loading.lock();
        if loading.remove(&id) && loading.is_empty() {
            self.settled.notify_waiters();
        }
        replaced
    }

    /// Marks `ids` as loading: about to be installed, once compiled.
    pub fn expect(&self, ids: impl IntoIterator<Item = String>) {
        let installed = self.connectors.load();
        self.loading
            .lock()
            .extend(ids.into_iter().filter(|id| !installed.contains_key(id)));
    }

    /// Ends loading: a connector still marked loading failed to load and is
    /// simply not installed.
    pub fn loading_done(&self) {
        self.loading.lock().clear();
        self.settled.notify_waiters();
    }

    /// Whether connector `id` is expected and not installed yet.
    pub fn is_loading(&self, id: &str) -> bool {
        self.loading.lock().contains(id)
    }

    /// The connectors expected and not installed yet, by id.
    pub fn loading(&self) -> Vec<String> {
        self.loading.lock().iter().cloned().collect()
    }

    /// Waits until no connector is loading.
    pub async fn loaded(&self) {
        loop {
            // Registered before the check, so a wake-up in between is kept.
            let settled = self.settled.notified();
            if self.loading.lock().is_empty() {
                return;
            }
            settled.await;
        }
    }

    /// Removes the connector installed under `id`, returning it.
    pub fn remove(&self, id: &str) -> Option<Arc<LoadedConnector>> {
        let mut removed = None;
        self.connectors.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            removed = next.remove(id);
            next
        });
        removed
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn expected_connectors_are_loading_until_loading_is_done() {
        let catalog = Arc::new(Catalog::new());
        catalog.expect(["slack".to_owned(), "ebay".to_owned()]);
        assert!(catalog.is_loading("slack"));
        assert_eq!(catalog.loading(), ["ebay", "slack"]);

        let waiter = tokio::spawn({
            let catalog = catalog.clone();
            async move { catalog.loaded().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "waits while connectors load");

        catalog.loading_done();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken when loading ends")
            .unwrap();
        assert!(!catalog.is_loading("slack"));
        assert!(catalog.loading().is_empty());
    }
}
