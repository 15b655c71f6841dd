//! Connector configurations: a store's use of an installed connector, with
//! its settings and sealed credentials.
//!
//! Credentials are sealed together as one JSON object bound to the
//! configuration's row; only their keys are stored in the clear, for the API
//! to show which are set.

use std::collections::BTreeMap;

use sluice_core::{EventTypePattern, UnixMillis, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sealing::{Credentials, open_credentials, seal_credentials};
use crate::sql::{SqlBuilder, flag, json, to_json};
use crate::{Db, Result, StorageError};

const CONFIG_COLUMNS: &str = "id, store_id, connector_id, name, event_types, settings, \
    credential_keys, active, created_at, updated_at, rate_limit_per_second";

/// A connector configuration, without its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorConfig {
    /// `cfg_...`.
    pub id: String,
    /// The store it belongs to.
    pub store_id: String,
    /// The installed connector it runs.
    pub connector_id: String,
    /// A label chosen by the store admin.
    pub name: String,
    /// Which event types it receives.
    pub event_types: Vec<EventTypePattern>,
    /// Non-secret settings.
    pub settings: BTreeMap<String, String>,
    /// The keys of the credentials that are set.
    pub credential_keys: Vec<String>,
    /// Whether new events fan out to it.
    pub active: bool,
    /// The most deliveries per second its remote system accepts, if declared.
    pub rate_limit_per_second: Option<u32>,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it last changed.
    pub updated_at: UnixMillis,
}

impl ConnectorConfig {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let id: String = row.try_get("id")?;
        let owner = format!("connector configuration {id}");
        Ok(Self {
            store_id: row.try_get("store_id")?,
            connector_id: row.try_get("connector_id")?,
            name: row.try_get("name")?,
            event_types: json(row, "event_types", &owner)?,
            settings: json(row, "settings", &owner)?,
            credential_keys: json(row, "credential_keys", &owner)?,
            active: flag(row, "active")?,
            rate_limit_per_second: crate::sql::optional_narrow(row, "rate_limit_per_second")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            id,
        })
    }
}

/// A configuration to create. Settings and credentials are checked against
/// the connector's manifest by the caller.
#[derive(Debug, Clone)]
pub struct NewConnectorConfig {
    /// The installed connector it runs.
    pub connector_id: String,
    /// A label.
    pub name: String,
    /// Which event types it receives.
    pub event_types: Vec<EventTypePattern>,
    /// Non-secret settings.
    pub settings: BTreeMap<String, String>,
    /// Credentials, sealed at rest.
    pub credentials: Credentials,
    /// Whether it starts active.
    pub active: bool,
    /// The most deliveries per second its remote system accepts, if any.
    pub rate_limit_per_second: Option<u32>,
}

/// Changes to a configuration; unset fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ConnectorConfigUpdate {
    /// A new label.
    pub name: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<EventTypePattern>>,
    /// New settings, replacing all of them.
    pub settings: Option<BTreeMap<String, String>>,
    /// New credentials, replacing all of them.
    pub credentials: Option<Credentials>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// A new rate limit (`Some(None)` removes it).
    pub rate_limit_per_second: Option<Option<u32>>,
}

/// What a worker needs to run a configuration.
#[derive(Debug, Clone)]
pub struct ConnectorTarget {
    /// The configuration.
    pub config: ConnectorConfig,
    /// Its credentials, opened.
    pub credentials: Credentials,
}

impl Db {
    /// Creates a configuration for `store_id`.
    pub async fn create_connector_config(
        &self,
        store_id: &str,
        new: &NewConnectorConfig,
        now: UnixMillis,
    ) -> Result<ConnectorConfig> {
        let id = new_id("cfg");
        let credential_keys: Vec<&String> = new.credentials.keys().collect();
        let row = sqlx::query(&format!(
            "INSERT INTO connector_configs ({CONFIG_COLUMNS}, credentials_sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) RETURNING {CONFIG_COLUMNS}"
        ))
        .bind(id.as_str())
        .bind(store_id)
        .bind(new.connector_id.as_str())
        .bind(new.name.as_str())
        .bind(to_json(&new.event_types))
        .bind(to_json(&new.settings))
        .bind(to_json(&credential_keys))
        .bind(new.active)
        .bind(now)
        .bind(new.rate_limit_per_second.map(i64::from))
        .bind(seal_credentials(self.secrets(), &id, &new.credentials))
        .fetch_one(self.writer())
        .await?;
        ConnectorConfig::from_row(&row)
    }

    /// The configurations of `store_id`, oldest first.
    pub async fn list_connector_configs(&self, store_id: &str) -> Result<Vec<ConnectorConfig>> {
        sqlx::query(&format!(
            "SELECT {CONFIG_COLUMNS} FROM connector_configs WHERE store_id = $1 ORDER BY id"
        ))
        .bind(store_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(ConnectorConfig::from_row)
        .collect()
    }

    /// The configuration `id` of `store_id`.
    pub async fn get_connector_config(&self, store_id: &str, id: &str) -> Result<ConnectorConfig> {
        let row = sqlx::query(&format!(
            "SELECT {CONFIG_COLUMNS} FROM connector_configs WHERE store_id = $1 AND id = $2"
        ))
        .bind(store_id)
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| StorageError::not_found("connector configuration", id))?;
        ConnectorConfig::from_row(&row)
    }

    /// Applies `update` to the configuration `id` of `store_id`.
    pub async fn update_connector_config(
        &self,
        store_id: &str,
        id: &str,
        update: &ConnectorConfigUpdate,
        now: UnixMillis,
    ) -> Result<ConnectorConfig> {
        let mut sql = SqlBuilder::new(self.backend(), "UPDATE connector_configs SET updated_at = ");
        sql.bind(now);
        if let Some(name) = &update.name {
            sql.push(", name = ").bind(name.as_str());
        }
        if let Some(event_types) = &update.event_types {
            sql.push(", event_types = ").bind(to_json(event_types));
        }
        if let Some(settings) = &update.settings {
            sql.push(", settings = ").bind(to_json(settings));
        }
        if let Some(credentials) = &update.credentials {
            let keys: Vec<&String> = credentials.keys().collect();
            sql.push(", credential_keys = ")
                .bind(to_json(&keys))
                .push(", credentials_sealed = ")
                .bind(seal_credentials(self.secrets(), id, credentials));
        }
        if let Some(active) = update.active {
            sql.push(", active = ").bind(active);
        }
        if let Some(rate) = update.rate_limit_per_second {
            sql.push(", rate_limit_per_second = ")
                .bind(rate.map(i64::from));
        }
        sql.push(" WHERE store_id = ")
            .bind(store_id)
            .push(" AND id = ")
            .bind(id)
            .push(&format!(" RETURNING {CONFIG_COLUMNS}"));
        let row = sql
            .fetch_optional(self.writer())
            .await?
            .ok_or_else(|| StorageError::not_found("connector configuration", id))?;
        ConnectorConfig::from_row(&row)
    }

    /// Deletes the configuration `id` of `store_id` and its state. Its
    /// deliveries stay, as history.
    pub async fn delete_connector_config(&self, store_id: &str, id: &str) -> Result<()> {
        let deleted = sqlx::query("DELETE FROM connector_configs WHERE store_id = $1 AND id = $2")
            .bind(store_id)
            .bind(id)
            .execute(self.writer())
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StorageError::not_found("connector configuration", id));
        }
        Ok(())
    }

    /// The active configurations of every store, for node-wide schedulers
    /// such as sync.
    pub async fn active_connector_configs(&self) -> Result<Vec<ConnectorConfig>> {
        sqlx::query(&format!(
            "SELECT {CONFIG_COLUMNS} FROM connector_configs WHERE active = $1 ORDER BY id"
        ))
        .bind(true)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(ConnectorConfig::from_row)
        .collect()
    }

    /// Every configuration of `connector_id`, in every store, with its
    /// credentials opened: what an upgrade checks against the new manifest.
    pub async fn connector_targets_of(&self, connector_id: &str) -> Result<Vec<ConnectorTarget>> {
        sqlx::query(&format!(
            "SELECT {CONFIG_COLUMNS}, credentials_sealed FROM connector_configs \
             WHERE connector_id = $1 ORDER BY id"
        ))
        .bind(connector_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| self.target_from_row(row))
        .collect()
    }

    fn target_from_row(&self, row: &AnyRow) -> Result<ConnectorTarget> {
        let config = ConnectorConfig::from_row(row)?;
        let sealed: Option<Vec<u8>> = row.try_get("credentials_sealed")?;
        Ok(ConnectorTarget {
            credentials: open_credentials(self.secrets(), &config.id, sealed.as_deref())?,
            config,
        })
    }

    /// The configuration `id` of `store_id` with its credentials opened.
    pub async fn connector_target(&self, store_id: &str, id: &str) -> Result<ConnectorTarget> {
        let row = sqlx::query(&format!(
            "SELECT {CONFIG_COLUMNS}, credentials_sealed FROM connector_configs \
             WHERE store_id = $1 AND id = $2"
        ))
        .bind(store_id)
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| StorageError::not_found("connector configuration", id))?;
        self.target_from_row(&row)
    }
}
