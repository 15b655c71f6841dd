//! Admin console sessions, stored by the hash of their id only.
//!
//! The console hands the browser a random session id; a session says who
//! signed in (the operator's admin token or a store-scoped credential), the
//! store it is confined to (none for the operator), its scopes, the token its
//! forms must carry, and when it ends.

use sluice_core::UnixMillis;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{json, to_json};
use crate::{Db, Result, StorageError};

const SESSION_COLUMNS: &str = "id_hash, principal_kind, principal_id, principal_label, store_id, \
    scopes, csrf_token, created_at, expires_at";

/// One signed-in console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// SHA-256 (hex) of the session id the browser holds.
    pub id_hash: String,
    /// `admin` (an operator's admin token) or `credential` (a store-scoped key).
    pub principal_kind: String,
    /// The admin token's or credential's id.
    pub principal_id: String,
    /// A label for people: the token's label or the credential's name.
    pub principal_label: String,
    /// The only store this session may see; none for the operator.
    pub store_id: Option<String>,
    /// The credential's scopes (`{resource}:{action}`); empty for the operator,
    /// who may do everything.
    pub scopes: Vec<String>,
    /// The token every form of this session must send back.
    pub csrf_token: String,
    /// When it was signed in.
    pub created_at: UnixMillis,
    /// When it ends.
    pub expires_at: UnixMillis,
}

impl ConsoleSession {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let id_hash: String = row.try_get("id_hash")?;
        Ok(Self {
            principal_kind: row.try_get("principal_kind")?,
            principal_id: row.try_get("principal_id")?,
            principal_label: row.try_get("principal_label")?,
            store_id: row.try_get("store_id")?,
            scopes: json(row, "scopes", "console session")?,
            csrf_token: row.try_get("csrf_token")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            id_hash,
        })
    }
}

impl Db {
    /// Records a new session; expired sessions are deleted on the way.
    pub async fn insert_console_session(&self, session: &ConsoleSession) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(session.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO console_sessions ({SESSION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(session.id_hash.as_str())
        .bind(session.principal_kind.as_str())
        .bind(session.principal_id.as_str())
        .bind(session.principal_label.as_str())
        .bind(session.store_id.as_deref())
        .bind(to_json(&session.scopes))
        .bind(session.csrf_token.as_str())
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unexpired session whose id hashes to `id_hash`, if any.
    pub async fn find_console_session(
        &self,
        id_hash: &str,
        now: UnixMillis,
    ) -> Result<Option<ConsoleSession>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM console_sessions WHERE id_hash = $1 AND expires_at > $2"
        ))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(ConsoleSession::from_row)
        .transpose()
    }

    /// Ends the session whose id hashes to `id_hash` (signing out).
    pub async fn delete_console_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Ends every session of a principal, for example a revoked credential's.
    pub async fn delete_console_sessions_of(&self, principal_id: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE principal_id = $1")
            .bind(principal_id)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }

    /// The stores Sluice holds targets or deliveries for, sorted, at most
    /// `limit`. Each store costs one index probe (a skip scan), so this stays
    /// quick however many deliveries a store has.
    pub async fn known_stores(&self, limit: u32) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "WITH RECURSIVE delivered(store_id) AS ( \
               SELECT MIN(store_id) FROM deliveries \
               UNION ALL \
               SELECT (SELECT MIN(d.store_id) FROM deliveries d WHERE d.store_id > delivered.store_id) \
               FROM delivered WHERE delivered.store_id IS NOT NULL \
             ) \
             SELECT store_id FROM delivered WHERE store_id IS NOT NULL \
             UNION SELECT store_id FROM webhook_subscriptions \
             UNION SELECT store_id FROM connector_configs \
             ORDER BY store_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| row.try_get("store_id").map_err(StorageError::Database))
            .collect()
    }
}
