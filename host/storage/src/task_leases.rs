//! Leases on node-wide tasks, so that among the nodes sharing a database one
//! at a time runs a task such as retention.

use sluice_core::UnixMillis;

use crate::{Db, Result};

impl Db {
    /// Takes or renews the lease on `task` for `holder` until `until`: taken
    /// when no node holds it or its lease expired at `now`, renewed when
    /// `holder` already holds it. Returns whether `holder` now holds it.
    pub async fn claim_task(
        &self,
        task: &str,
        holder: &str,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool> {
        let held = sqlx::query(
            "INSERT INTO task_leases (task, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (task) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE task_leases.expires_at <= $4 OR task_leases.holder = excluded.holder \
             RETURNING holder",
        )
        .bind(task)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(self.writer())
        .await?;
        Ok(held.is_some())
    }
}
