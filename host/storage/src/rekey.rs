//! Rewriting every sealed value, for moving to a new master key.

use sluice_secrets::{OpenError, SecretSlot};
use sqlx::Row;

use crate::{Db, Result};

/// What [`Db::rekey`] rewrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RekeyReport {
    /// Configurations whose credentials were rewritten.
    pub connector_credentials: u64,
    /// Webhook signing secrets rewritten.
    pub webhook_secrets: u64,
}

impl Db {
    /// Replaces every sealed value (connector credentials, webhook signing
    /// secrets) with what `reseal` returns for it, in one transaction: either
    /// every value is rewritten or, on the first error, none is.
    ///
    /// `reseal` is typically [`sluice_secrets::Rekey::reseal`]. This handle
    /// keeps sealing with the key it was opened with, so reconnect with the
    /// new key afterwards.
    pub async fn rekey<F>(&self, mut reseal: F) -> Result<RekeyReport>
    where
        F: FnMut(&[u8], &SecretSlot) -> Result<Vec<u8>, OpenError> + Send,
    {
        let mut tx = self.writer().begin().await?;
        let mut report = RekeyReport::default();
        let tables = [
            (
                "SELECT id, credentials_sealed AS sealed FROM connector_configs \
                 WHERE credentials_sealed IS NOT NULL",
                "UPDATE connector_configs SET credentials_sealed = $1 WHERE id = $2",
                SecretSlot::connector_credentials as fn(&str) -> SecretSlot,
                &mut report.connector_credentials,
            ),
            (
                "SELECT id, sealed FROM webhook_secrets",
                "UPDATE webhook_secrets SET sealed = $1 WHERE id = $2",
                SecretSlot::webhook_secret,
                &mut report.webhook_secrets,
            ),
        ];
        for (select, update, slot, count) in tables {
            for row in sqlx::query(select).fetch_all(&mut *tx).await? {
                let id: String = row.try_get("id")?;
                let sealed: Vec<u8> = row.try_get("sealed")?;
                let resealed = reseal(&sealed, &slot(&id))?;
                sqlx::query(update)
                    .bind(resealed)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                *count += 1;
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}
