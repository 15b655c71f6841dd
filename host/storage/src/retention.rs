//! Retention: deleting what is old and done, in bounded chunks, so that the
//! tables stay bounded without long transactions.
//!
//! Delivered deliveries and their attempts go once they finished before the
//! cutoff; events go once received before it and no delivery refers to them.
//! Pending and dead deliveries, and therefore their events, are kept.

use sluice_core::UnixMillis;
use sqlx::Row;

use crate::sql::SqlBuilder;
use crate::{Db, Result};

/// What [`Db::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Delivered deliveries.
    pub deliveries: u64,
    /// Their attempts.
    pub attempts: u64,
    /// Events no delivery referred to any more.
    pub events: u64,
}

impl Db {
    /// Deletes deliveries delivered before `cutoff` with their attempts, then
    /// events received before `cutoff` that no delivery refers to, at most
    /// `chunk` rows of each table per transaction.
    pub async fn prune(&self, cutoff: UnixMillis, chunk: usize) -> Result<PruneReport> {
        let chunk = chunk.max(1);
        let mut report = PruneReport::default();
        loop {
            let (deliveries, attempts) = self.prune_delivered_chunk(cutoff, chunk).await?;
            report.deliveries += deliveries;
            report.attempts += attempts;
            if deliveries < chunk as u64 {
                break;
            }
        }
        let mut after = (i64::MIN, i64::MIN);
        while let Some((deleted, last)) = self.prune_events_chunk(cutoff, chunk, after).await? {
            report.events += deleted;
            after = last;
        }
        Ok(report)
    }

    /// Deletes up to `chunk` delivered deliveries finished before `cutoff`
    /// and their attempts; returns how many of each.
    async fn prune_delivered_chunk(&self, cutoff: UnixMillis, chunk: usize) -> Result<(u64, u64)> {
        let mut tx = self.writer().begin().await?;
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM deliveries WHERE status = 'delivered' AND finished_at < $1 \
             ORDER BY finished_at LIMIT $2",
        )
        .bind(cutoff)
        .bind(chunk as i64)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok((0, 0));
        }
        let mut attempts = SqlBuilder::new(
            self.backend(),
            "DELETE FROM attempts WHERE delivery_id IN (",
        );
        attempts.bind_list(ids.iter().map(String::as_str)).push(")");
        let attempts = attempts.execute(&mut *tx).await?;
        let mut deliveries =
            SqlBuilder::new(self.backend(), "DELETE FROM deliveries WHERE id IN (");
        deliveries
            .bind_list(ids.iter().map(String::as_str))
            .push(")");
        let deliveries = deliveries.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok((deliveries, attempts))
    }

    /// Looks at up to `chunk` events received before `cutoff`, after the
    /// (received_at, seq) position `after`, and deletes those no delivery
    /// refers to. Returns how many were deleted and the position reached, or
    /// none when no event was left to look at.
    async fn prune_events_chunk(
        &self,
        cutoff: UnixMillis,
        chunk: usize,
        after: (UnixMillis, i64),
    ) -> Result<Option<(u64, (UnixMillis, i64))>> {
        let mut tx = self.writer().begin().await?;
        let candidates = sqlx::query(
            "SELECT seq, received_at FROM events WHERE received_at < $1 \
             AND (received_at, seq) > ($2, $3) ORDER BY received_at, seq LIMIT $4",
        )
        .bind(cutoff)
        .bind(after.0)
        .bind(after.1)
        .bind(chunk as i64)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = candidates.last() else {
            return Ok(None);
        };
        let last = (last.try_get("received_at")?, last.try_get("seq")?);
        let seqs = candidates
            .iter()
            .map(|row| row.try_get::<i64, _>("seq"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sql = SqlBuilder::new(self.backend(), "DELETE FROM events WHERE seq IN (");
        sql.bind_list(seqs).push(
            ") AND NOT EXISTS (SELECT 1 FROM deliveries \
             WHERE deliveries.store_id = events.store_id AND deliveries.event_id = events.id)",
        );
        let deleted = sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some((deleted, last)))
    }
}
