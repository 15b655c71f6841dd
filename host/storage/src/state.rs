//! Small key/value state per connector configuration (cached OAuth tokens,
//! cursors), with expiry and a key quota.
//!
//! A value whose expiry is at or before `now` is absent: it is not returned
//! and does not count against the quota. Key and value sizes are bounded by
//! the runtime before they reach storage.

use sluice_core::UnixMillis;
use sqlx::Row;

use crate::{Db, Result, StorageError};

/// Whether [`Db::set_state`] stored the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateWrite {
    /// Stored.
    Stored,
    /// Refused: the key is new and the configuration holds its quota of keys.
    QuotaExceeded,
}

impl Db {
    /// The value under `key` of configuration `config_id` of `store_id`, if
    /// present and unexpired at `now`.
    pub async fn get_state(
        &self,
        store_id: &str,
        config_id: &str,
        key: &str,
        now: UnixMillis,
    ) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query(
            "SELECT value FROM connector_state WHERE config_id = $1 AND store_id = $2 \
             AND key = $3 AND (expires_at IS NULL OR expires_at > $4)",
        )
        .bind(config_id)
        .bind(store_id)
        .bind(key)
        .bind(now)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(|row| row.try_get("value")).transpose()?)
    }

    /// Stores `value` under `key` of configuration `config_id` of
    /// `store_id`, expiring at `expires_at` if given, unless the key is new
    /// and the configuration already holds `max_keys` live keys.
    #[allow(clippy::too_many_arguments)] // Mirrors the runtime's `StateStore::set`.
    pub async fn set_state(
        &self,
        store_id: &str,
        config_id: &str,
        key: &str,
        value: &[u8],
        expires_at: Option<UnixMillis>,
        now: UnixMillis,
        max_keys: usize,
    ) -> Result<StateWrite> {
        let mut tx = self.writer().begin().await?;
        // Locking the configuration serialises writers of its state, so two
        // new keys cannot both take the last free place.
        sqlx::query(&format!(
            "SELECT id FROM connector_configs WHERE store_id = $1 AND id = $2{}",
            self.backend().lock_row()
        ))
        .bind(store_id)
        .bind(config_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StorageError::not_found("connector configuration", config_id))?;
        sqlx::query("DELETE FROM connector_state WHERE config_id = $1 AND expires_at <= $2")
            .bind(config_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let counts = sqlx::query(
            "SELECT COUNT(*) AS live, COUNT(CASE WHEN key = $2 THEN 1 END) AS existing \
             FROM connector_state WHERE config_id = $1",
        )
        .bind(config_id)
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        let live: i64 = counts.try_get("live")?;
        let existing: i64 = counts.try_get("existing")?;
        if existing == 0 && usize::try_from(live).unwrap_or(usize::MAX) >= max_keys {
            return Ok(StateWrite::QuotaExceeded);
        }
        sqlx::query(
            "INSERT INTO connector_state (config_id, key, store_id, value, expires_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (config_id, key) DO UPDATE \
             SET value = excluded.value, expires_at = excluded.expires_at, \
             updated_at = excluded.updated_at",
        )
        .bind(config_id)
        .bind(key)
        .bind(store_id)
        .bind(value)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StateWrite::Stored)
    }

    /// Removes `key` of configuration `config_id` of `store_id`; removing an
    /// absent key is not an error.
    pub async fn delete_state(&self, store_id: &str, config_id: &str, key: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM connector_state WHERE config_id = $1 AND store_id = $2 AND key = $3",
        )
        .bind(config_id)
        .bind(store_id)
        .bind(key)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
