//! Capabilities of a stored configuration, and the context of one call.

use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::clock::format_rfc3339;
use sluice_core::{SharedClock, UnixMillis};
use sluice_runtime::types::Event;
use sluice_runtime::{
    BackendError, CallContext, Capabilities, Credentials, StateRefusal, StateStore,
};
use sluice_storage::{ConnectorTarget, Db, StateWrite};

/// A configuration's opened credentials, kept as secret strings until the
/// guest asks for one it declares.
pub struct StoredCredentials(sluice_storage::Credentials);

#[async_trait]
impl Credentials for StoredCredentials {
    async fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        Ok(self.0.get(key).map(|value| value.expose().to_owned()))
    }
}

/// A configuration's state, kept in the database.
pub struct DbState {
    db: Db,
    store_id: String,
    config_id: String,
}

impl DbState {
    /// The state of configuration `config_id` of `store_id`.
    pub fn new(db: Db, store_id: String, config_id: String) -> Self {
        Self {
            db,
            store_id,
            config_id,
        }
    }
}

fn backend(error: sluice_storage::StorageError) -> BackendError {
    BackendError(error.to_string())
}

#[async_trait]
impl StateStore for DbState {
    async fn get(&self, key: &str, now: UnixMillis) -> Result<Option<Vec<u8>>, BackendError> {
        self.db
            .get_state(&self.store_id, &self.config_id, key, now)
            .await
            .map_err(backend)
    }

    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        expires_at: Option<UnixMillis>,
        now: UnixMillis,
        max_keys: usize,
    ) -> Result<Result<(), StateRefusal>, BackendError> {
        let written = self
            .db
            .set_state(
                &self.store_id,
                &self.config_id,
                key,
                &value,
                expires_at,
                now,
                max_keys,
            )
            .await
            .map_err(backend)?;
        Ok(match written {
            StateWrite::Stored => Ok(()),
            StateWrite::QuotaExceeded => Err(StateRefusal::QuotaExceeded),
        })
    }

    async fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.db
            .delete_state(&self.store_id, &self.config_id, key)
            .await
            .map_err(backend)
    }
}

/// The context of one call for `target`: its settings, its credentials, its
/// state in `db`, and for deliveries the delivery id and attempt number.
pub fn call_context(
    target: ConnectorTarget,
    db: &Db,
    clock: SharedClock,
    delivery: Option<(&str, u32)>,
) -> CallContext {
    let ConnectorTarget {
        config,
        credentials,
    } = target;
    CallContext {
        capabilities: Capabilities {
            credentials: Arc::new(StoredCredentials(credentials)),
            state: Arc::new(DbState::new(
                db.clone(),
                config.store_id.clone(),
                config.id.clone(),
            )),
            clock,
        },
        delivery_id: delivery.map(|(id, _)| id.to_owned()),
        attempt: delivery.map_or(0, |(_, attempt)| attempt),
        store_id: config.store_id,
        configuration_id: config.id,
        settings: config.settings,
    }
}

/// A stored event as the contract's `event`.
pub fn wit_event(
    store_id: &str,
    event_id: &str,
    event_type: &str,
    occurred_at: UnixMillis,
    payload: String,
) -> Event {
    Event {
        id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        store_id: store_id.to_owned(),
        occurred_at: format_rfc3339(occurred_at),
        payload,
    }
}
