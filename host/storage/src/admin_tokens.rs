//! Admin tokens, stored as hashes only; the caller hashes the token.

use sluice_core::{UnixMillis, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Db, Result, StorageError};

/// An admin token's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// `adm_...`.
    pub id: String,
    /// The hash of the token.
    pub token_hash: String,
    /// What it is for.
    pub label: String,
    /// When it was created.
    pub created_at: UnixMillis,
}

impl AdminToken {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            token_hash: row.try_get("token_hash")?,
            label: row.try_get("label")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl Db {
    /// Records an admin token by its hash. A hash already recorded is a
    /// [`StorageError::Conflict`].
    pub async fn insert_admin_token(
        &self,
        token_hash: &str,
        label: &str,
        now: UnixMillis,
    ) -> Result<AdminToken> {
        let row = sqlx::query(
            "INSERT INTO admin_tokens (id, token_hash, label, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (token_hash) DO NOTHING RETURNING id, token_hash, label, created_at",
        )
        .bind(new_id("adm"))
        .bind(token_hash)
        .bind(label)
        .bind(now)
        .fetch_optional(self.writer())
        .await?
        .ok_or_else(|| StorageError::Conflict("an admin token with this hash exists".into()))?;
        AdminToken::from_row(&row)
    }

    /// The admin token with this hash, if any.
    pub async fn find_admin_token(&self, token_hash: &str) -> Result<Option<AdminToken>> {
        sqlx::query(
            "SELECT id, token_hash, label, created_at FROM admin_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(AdminToken::from_row)
        .transpose()
    }

    /// How many admin tokens exist (none means first start).
    pub async fn count_admin_tokens(&self) -> Result<u64> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS tokens FROM admin_tokens")
            .fetch_one(self.reader())
            .await?
            .try_get("tokens")?;
        Ok(count.unsigned_abs())
    }
}
