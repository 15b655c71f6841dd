//! Sync: where each configuration's pull of an entity stands, which remote
//! record versions were seen, and the sync log.
//!
//! A batch commits in one transaction: its new record versions become
//! events (fanned out like any event), the versions are remembered, and the
//! cursor moves. A crash before the commit repeats the batch; a repeated
//! version raises nothing, so the same remote state never makes two events.

use sha2::{Digest, Sha256};
use sluice_core::{UnixMillis, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::bus::enqueue_sync_run;
use crate::fanout::ingest_in;
use crate::sql::narrow;
use crate::{Db, EventSource, NewEvent, Result, StorageError};

/// One configuration's sync of one entity, as claimed by a scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPosition {
    /// The store.
    pub store_id: String,
    /// The connector configuration.
    pub config_id: String,
    /// What is pulled, for example `orders`.
    pub entity: String,
    /// Where the last committed batch stopped.
    pub cursor: Option<String>,
    /// `manual` when an admin asked for this run, else `scheduled`.
    pub trigger: String,
    /// The lease under which the claimer runs it.
    pub lease_token: String,
}

/// One record of a pulled batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedRecord {
    /// Its id in the remote system.
    pub external_id: String,
    /// Changes whenever the record changes.
    pub version: String,
    /// When it last changed.
    pub occurred_at: UnixMillis,
    /// The platform event payload (JSON).
    pub payload: String,
}

/// The event types a batch's records raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncEventTypes<'a> {
    /// For a record seen for the first time, for example `order.placed`.
    pub new: &'a str,
    /// For a new version of a known record, for example `order.updated`.
    pub changed: &'a str,
}

/// What committing a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCommit {
    /// Events created (new records and new versions).
    pub events: u64,
    /// Deliveries those events fanned out to.
    pub deliveries: u64,
    /// Records whose version was seen before.
    pub unchanged: u64,
}

/// A finished run, for the sync log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    /// `syn_...`.
    pub id: String,
    /// The store.
    pub store_id: String,
    /// The configuration.
    pub config_id: String,
    /// What was pulled.
    pub entity: String,
    /// `inbound`: records came from the remote system.
    pub direction: String,
    /// `scheduled` or `manual`.
    pub trigger: String,
    /// `succeeded`, `failed` or `partial` (some batches committed, then a failure).
    pub status: String,
    /// Batches committed.
    pub batches: u64,
    /// Records received.
    pub records: u64,
    /// Events created.
    pub events: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it started.
    pub started_at: UnixMillis,
    /// When it ended.
    pub finished_at: UnixMillis,
}

impl SyncRun {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            store_id: row.try_get("store_id")?,
            config_id: row.try_get("config_id")?,
            entity: row.try_get("entity")?,
            direction: row.try_get("direction")?,
            trigger: row.try_get("trigger")?,
            status: row.try_get("status")?,
            batches: narrow(row, "batches")?,
            records: narrow(row, "records")?,
            events: narrow(row, "events")?,
            error: row.try_get("error")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }
}

/// The event id of one version of one record: deterministic, so a repeated
/// batch is acknowledged as a duplicate.
fn sync_event_id(config_id: &str, entity: &str, record: &SyncedRecord) -> String {
    let mut hash = Sha256::new();
    for part in [config_id, entity, &record.external_id, &record.version] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    format!("sync_{}", &hex::encode(hash.finalize())[..40])
}

impl Db {
    /// Makes sure every `(config, entity)` has a position, due `now` when new.
    pub async fn ensure_sync_positions(
        &self,
        store_id: &str,
        config_id: &str,
        entities: &[String],
        now: UnixMillis,
    ) -> Result<()> {
        for entity in entities {
            sqlx::query(
                "INSERT INTO sync_positions (config_id, store_id, entity, cursor, next_run_at, \
                 updated_at) VALUES ($1, $2, $3, NULL, $4, $4) \
                 ON CONFLICT (config_id, entity) DO NOTHING",
            )
            .bind(config_id)
            .bind(store_id)
            .bind(entity.as_str())
            .bind(now)
            .execute(self.writer())
            .await?;
        }
        Ok(())
    }

    /// Claims up to `limit` positions due at `now` whose lease is free, under
    /// a lease until `lease_until`.
    pub async fn claim_due_syncs(
        &self,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: usize,
    ) -> Result<Vec<SyncPosition>> {
        let token = new_id("slease");
        let rows = sqlx::query(
            "UPDATE sync_positions SET lease_token = $1, lease_expires_at = $2 \
             WHERE (config_id, entity) IN (SELECT config_id, entity FROM sync_positions \
             WHERE next_run_at <= $3 AND lease_expires_at <= $3 ORDER BY next_run_at LIMIT $4) \
             AND lease_expires_at <= $3 RETURNING store_id, config_id, entity, cursor, next_trigger",
        )
        .bind(token.as_str())
        .bind(lease_until)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.writer())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SyncPosition {
                    store_id: row.try_get("store_id")?,
                    config_id: row.try_get("config_id")?,
                    entity: row.try_get("entity")?,
                    cursor: row.try_get("cursor")?,
                    trigger: row.try_get("next_trigger")?,
                    lease_token: token.clone(),
                })
            })
            .collect()
    }

    /// Commits one batch under the position's lease: events for the records
    /// whose version is new, the versions, and the next cursor, together.
    /// Refused with [`StorageError::Conflict`] when the lease was lost.
    pub async fn commit_sync_batch(
        &self,
        position: &SyncPosition,
        records: &[SyncedRecord],
        types: SyncEventTypes<'_>,
        next_cursor: Option<&str>,
        now: UnixMillis,
    ) -> Result<BatchCommit> {
        let mut tx = self.writer().begin().await?;
        let moved = sqlx::query(
            "UPDATE sync_positions SET cursor = $1, updated_at = $2 \
             WHERE config_id = $3 AND entity = $4 AND lease_token = $5",
        )
        .bind(next_cursor)
        .bind(now)
        .bind(position.config_id.as_str())
        .bind(position.entity.as_str())
        .bind(position.lease_token.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(StorageError::Conflict(format!(
                "the sync of {} {} is no longer held by this run",
                position.config_id, position.entity
            )));
        }
        let mut commit = BatchCommit::default();
        let mut events = Vec::new();
        for record in records {
            let seen: Option<String> = sqlx::query(
                "SELECT version FROM sync_records WHERE config_id = $1 AND entity = $2 \
                 AND external_id = $3",
            )
            .bind(position.config_id.as_str())
            .bind(position.entity.as_str())
            .bind(record.external_id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("version"))
            .transpose()?;
            if seen.as_deref() == Some(record.version.as_str()) {
                commit.unchanged += 1;
                continue;
            }
            sqlx::query(
                "INSERT INTO sync_records (config_id, entity, external_id, version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (config_id, entity, external_id) \
                 DO UPDATE SET version = $4, updated_at = $5",
            )
            .bind(position.config_id.as_str())
            .bind(position.entity.as_str())
            .bind(record.external_id.as_str())
            .bind(record.version.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            events.push(NewEvent {
                store_id: position.store_id.clone(),
                id: sync_event_id(&position.config_id, &position.entity, record),
                event_type: if seen.is_some() {
                    types.changed
                } else {
                    types.new
                }
                .to_owned(),
                occurred_at: record.occurred_at,
                payload: record.payload.clone(),
                source: EventSource::Sync,
            });
        }
        let outcomes = ingest_in(&mut tx, self.backend(), &events, now).await?;
        tx.commit().await?;
        for outcome in outcomes {
            if outcome.status == crate::IngestStatus::Created {
                commit.events += 1;
                commit.deliveries += outcome.deliveries as u64;
            }
        }
        Ok(commit)
    }

    /// Records a finished run in the sync log, frees its position's lease
    /// and schedules the next run at `next_run_at`. With the outbox on
    /// ([`Db::enable_outbox`]) the run's outcome (`sync.run_finished`) goes
    /// to the outbox in the same transaction.
    pub async fn finish_sync_run(
        &self,
        position: &SyncPosition,
        run: &SyncRun,
        next_run_at: UnixMillis,
    ) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO sync_runs (id, store_id, config_id, entity, direction, trigger, status, \
             batches, records, events, error, started_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(run.id.as_str())
        .bind(run.store_id.as_str())
        .bind(run.config_id.as_str())
        .bind(run.entity.as_str())
        .bind(run.direction.as_str())
        .bind(run.trigger.as_str())
        .bind(run.status.as_str())
        .bind(run.batches as i64)
        .bind(run.records as i64)
        .bind(run.events as i64)
        .bind(run.error.as_deref())
        .bind(run.started_at)
        .bind(run.finished_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE sync_positions SET lease_token = NULL, lease_expires_at = 0, \
             next_trigger = 'scheduled', next_run_at = $1 WHERE config_id = $2 AND entity = $3 AND lease_token = $4",
        )
        .bind(next_run_at)
        .bind(position.config_id.as_str())
        .bind(position.entity.as_str())
        .bind(position.lease_token.as_str())
        .execute(&mut *tx)
        .await?;
        if self.outbox_signal().is_some() {
            enqueue_sync_run(&mut tx, self.backend(), run).await?;
        }
        tx.commit().await?;
        if let Some(outbox) = self.outbox_signal() {
            outbox.notify();
        }
        Ok(())
    }

    /// Makes every sync of configuration `config_id` of `store_id` due `now`;
    /// returns how many entities. Not found when the configuration is not
    /// the store's or has no sync.
    pub async fn request_sync(
        &self,
        store_id: &str,
        config_id: &str,
        now: UnixMillis,
    ) -> Result<u64> {
        let due = sqlx::query(
            "UPDATE sync_positions SET next_run_at = $1, next_trigger = 'manual' \
             WHERE store_id = $2 AND config_id = $3",
        )
        .bind(now)
        .bind(store_id)
        .bind(config_id)
        .execute(self.writer())
        .await?
        .rows_affected();
        if due == 0 {
            return Err(StorageError::not_found(
                "sync of connector configuration",
                config_id,
            ));
        }
        Ok(due)
    }

    /// The newest `limit` runs of configuration `config_id` of `store_id`.
    pub async fn list_sync_runs(
        &self,
        store_id: &str,
        config_id: &str,
        limit: u32,
    ) -> Result<Vec<SyncRun>> {
        let rows = sqlx::query(
            "SELECT id, store_id, config_id, entity, direction, trigger, status, batches, \
             records, events, error, started_at, finished_at FROM sync_runs \
             WHERE store_id = $1 AND config_id = $2 ORDER BY started_at DESC, id DESC LIMIT $3",
        )
        .bind(store_id)
        .bind(config_id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(SyncRun::from_row).collect()
    }
}
