//! The set of connectors loaded in a running service.
//!
//! Readers take a snapshot (`Arc<LoadedConnector>`) and keep it for the whole
//! call; writers swap in a new map. Installing, upgrading or removing a
//! connector therefore never waits for calls in flight and never changes the
//! version a call started with.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::connector::LoadedConnector;

/// Loaded connectors by id.
#[derive(Default)]
pub struct Catalog {
    connectors: ArcSwap<BTreeMap<String, Arc<LoadedConnector>>>,
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

    /// Installs `connector` under its manifest id, returning the one it replaced.
    pub fn install(&self, connector: Arc<LoadedConnector>) -> Option<Arc<LoadedConnector>> {
        let id = connector.manifest().id.clone();
        let mut replaced = None;
        self.connectors.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            replaced = next.insert(id.clone(), connector.clone());
            next
        });
        replaced
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
