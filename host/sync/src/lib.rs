//! Sync: records pulled from remote systems (marketplace orders) through
//! connectors' `syncer` export become platform events.
//!
//! ```text
//!  scheduler ──claim_due_syncs──▶ run ──runtime.sync(cursor)──▶ batch
//!      ▲                            │  commit_sync_batch: events + versions + cursor, one tx
//!      └── woken by the API, or the poll interval on the injected clock
//! ```
//!
//! Every configuration of a connector that offers sync gets one position
//! per entity its manifest declares. A run pulls batches until the
//! connector says there is no more (or [`SyncConfig::max_batches_per_run`]),
//! committing each before asking for the next, so a restart resumes from the
//! last committed cursor. Each run writes one row of the sync log.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::{SharedClock, UnixMillis, new_id};
use sluice_delivery::Waker as DeliveryWaker;
use sluice_metrics::Metrics;
use sluice_runtime::types::{SyncBatch, SyncRequest};
use sluice_runtime::{Catalog, GuestStringLimits, Runtime};
use sluice_storage::{
    Db, EventSource, NewEvent, SyncEventTypes, SyncPosition, SyncRun, SyncedRecord,
};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// The setting a configuration may use to choose its sync interval.
pub const INTERVAL_SETTING: &str = "sync_interval_seconds";

/// How sync runs.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// How often the scheduler looks for due syncs, in milliseconds.
    pub poll_interval_ms: u64,
    /// How often it looks for new configurations to schedule, in milliseconds.
    pub discover_interval_ms: u64,
    /// Records asked for per batch.
    pub max_records: u32,
    /// Batches per run at most; the rest waits for the next run.
    pub max_batches_per_run: u32,
    /// Runs at once on this node.
    pub concurrency: usize,
    /// How long a run holds its position, in milliseconds.
    pub lease_ms: u64,
    /// Delay before trying again after a failed run, in seconds (capped by
    /// the configuration's interval).
    pub retry_after_failure_seconds: u64,
    /// Delay before continuing a run that stopped at `max_batches_per_run`
    /// with more records waiting, in milliseconds: a backlog is pulled at
    /// once, while other configurations get their turn in between.
    pub continue_after_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 1_000,
            discover_interval_ms: 30_000,
            max_records: 100,
            max_batches_per_run: 50,
            concurrency: 4,
            lease_ms: 600_000,
            retry_after_failure_seconds: 60,
            continue_after_ms: 0,
        }
    }
}

/// The event types an entity's records raise.
pub fn event_types(entity: &str) -> (String, String) {
    match entity {
        "orders" => ("order.placed".into(), "order.updated".into()),
        other => {
            let singular = other.strip_suffix('s').unwrap_or(other);
            (format!("{singular}.created"), format!("{singular}.updated"))
        }
    }
}

/// A handle to wake the scheduler, for syncs requested through the API.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    /// Tells the scheduler that a sync may be due now.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Runs syncs.
pub struct Syncer {
    db: Db,
    runtime: Arc<Runtime>,
    catalog: Arc<Catalog>,
    clock: SharedClock,
    metrics: Arc<Metrics>,
    deliveries: DeliveryWaker,
    config: SyncConfig,
}

impl Syncer {
    /// A syncer over these parts; `deliveries` is woken when a batch
    /// created deliveries.
    pub fn new(
        db: Db,
        runtime: Arc<Runtime>,
        catalog: Arc<Catalog>,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        deliveries: DeliveryWaker,
        config: SyncConfig,
    ) -> Self {
        Self {
            db,
            runtime,
            catalog,
            clock,
            metrics,
            deliveries,
            config,
        }
    }

    /// The entities configuration `connector_id` can sync, if it offers sync.
    pub fn entities_of(&self, connector_id: &str) -> Vec<String> {
        self.catalog
            .get(connector_id)
            .filter(|connector| connector.offers().sync)
            .and_then(|connector| connector.manifest().sync.clone())
            .map(|spec| spec.entities)
            .unwrap_or_default()
    }

    /// Gives every active configuration that offers sync its positions.
    pub async fn discover(&self) -> sluice_storage::Result<()> {
        let now = self.clock.now_ms();
        for config in self.db.active_connector_configs().await? {
            let entities = self.entities_of(&config.connector_id);
            if !entities.is_empty() {
                self.db
                    .ensure_sync_positions(&config.store_id, &config.id, &entities, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs one claimed position to its end and records it in the sync log.
    pub async fn run(&self, position: SyncPosition) -> SyncRun {
        let started_at = self.clock.now_ms();
        let mut run = SyncRun {
            id: new_id("syn"),
            store_id: position.store_id.clone(),
            config_id: position.config_id.clone(),
            entity: position.entity.clone(),
            direction: "inbound".into(),
            trigger: position.trigger.clone(),
            status: "succeeded".into(),
            batches: 0,
            records: 0,
            events: 0,
            error: None,
            started_at,
            finished_at: started_at,
        };
        let pulled = self.pull(&position, &mut run).await;
        run.finished_at = self.clock.now_ms();
        if run.error.is_some() {
            run.status = if run.batches > 0 { "partial" } else { "failed" }.into();
        }
        let delay_ms = match &run.error {
            None if pulled.more_waiting => self.config.continue_after_ms,
            None => pulled.interval_seconds * 1_000,
            Some(_) => {
                pulled
                    .interval_seconds
                    .min(self.config.retry_after_failure_seconds)
                    * 1_000
            }
        };
        let next_run_at = run.finished_at + delay_ms as i64;
        if let Err(error) = self.db.finish_sync_run(&position, &run, next_run_at).await {
            tracing::warn!(%error, config = %position.config_id, "recording a sync run failed; its lease will lapse");
        }
        run
    }

    /// Pulls batches into `run`.
    async fn pull(&self, position: &SyncPosition, run: &mut SyncRun) -> Pulled {
        let mut pulled = Pulled {
            interval_seconds: 900,
            more_waiting: false,
        };
        let target = match self
            .db
            .connector_target(&position.store_id, &position.config_id)
            .await
        {
            Ok(target) => target,
            Err(error) => {
                run.error = Some(format!("cannot read the configuration: {error}"));
                return pulled;
            }
        };
        let Some(connector) = self.catalog.get(&target.config.connector_id) else {
            run.error = Some(format!(
                "connector {} is not installed",
                target.config.connector_id
            ));
            return pulled;
        };
        if let Some(spec) = &connector.manifest().sync {
            pulled.interval_seconds = u64::from(spec.default_interval_seconds);
        }
        if let Some(chosen) = target
            .config
            .settings
            .get(INTERVAL_SETTING)
            .and_then(|text| text.parse::<u64>().ok())
        {
            pulled.interval_seconds = chosen.max(60);
        }
        let (new_type, changed_type) = event_types(&position.entity);
        let types = SyncEventTypes {
            new: &new_type,
            changed: &changed_type,
        };
        let mut position = position.clone();
        for _ in 0..self.config.max_batches_per_run {
            let context =
                sluice_connectors::call_context(target.clone(), &self.db, self.clock.clone(), None);
            let request = SyncRequest {
                entity: position.entity.clone(),
                cursor: position.cursor.clone(),
                max_records: self.config.max_records,
            };
            let invocation = self.runtime.sync(&connector, context, request).await;
            let connector_id = connector.manifest().id.as_str();
            let batch = match invocation.result {
                Ok(Ok(batch)) => batch,
                Ok(Err(failure)) => {
                    self.count(connector_id, "failed");
                    let remote = failure
                        .remote
                        .map(|r| {
                            let parts: Vec<String> =
                                [r.status.map(|s| s.to_string()), r.code, r.message]
                                    .into_iter()
                                    .flatten()
                                    .collect();
                            format!(" (remote: {})", parts.join(" "))
                        })
                        .unwrap_or_default();
                    run.error = Some(format!("{}{remote}", failure.reason));
                    return pulled;
                }
                Err(failure) => {
                    self.count(connector_id, "failed");
                    run.error = Some(format!("the connector failed: {failure}"));
                    return pulled;
                }
            };
            run.records += batch.records.len() as u64;
            let has_more = batch.has_more;
            let (records, next_cursor) = match self.check(&position, batch, &new_type) {
                Ok(checked) => checked,
                Err(reason) => {
                    self.count(connector_id, "invalid");
                    run.error = Some(reason);
                    return pulled;
                }
            };
            let now = self.clock.now_ms();
            match self
                .db
                .commit_sync_batch(&position, &records, types, next_cursor.as_deref(), now)
                .await
            {
                Ok(commit) => {
                    self.count(connector_id, "committed");
                    run.batches += 1;
                    run.events += commit.events;
                    if commit.deliveries > 0 {
                        self.deliveries.wake();
                    }
                }
                Err(error) => {
                    run.error = Some(format!("the batch could not be stored: {error}"));
                    return pulled;
                }
            }
            position.cursor = next_cursor;
            pulled.more_waiting = has_more;
            if !has_more {
                break;
            }
        }
        pulled
    }

    /// Checks a batch: its size, and every record as the event it becomes.
    fn check(
        &self,
        position: &SyncPosition,
        batch: SyncBatch,
        event_type: &str,
    ) -> Result<(Vec<SyncedRecord>, Option<String>), String> {
        if batch.records.len() > self.config.max_records as usize {
            return Err(format!(
                "the connector returned {} records, more than the {} asked for",
                batch.records.len(),
                self.config.max_records
            ));
        }
        if let Some(problem) = oversize_identity(&batch, &self.runtime.config().guest_strings) {
            return Err(problem);
        }
        let mut records = Vec::with_capacity(batch.records.len());
        for (index, record) in batch.records.into_iter().enumerate() {
            let occurred_at = chrono::DateTime::parse_from_rfc3339(&record.occurred_at)
                .map_err(|e| {
                    format!(
                        "record {index} ({}): occurred-at {:?} is not RFC 3339: {e}",
                        record.external_id, record.occurred_at
                    )
                })?
                .timestamp_millis();
            let as_event = NewEvent {
                store_id: position.store_id.clone(),
                id: "sync".into(),
                event_type: event_type.to_owned(),
                occurred_at,
                payload: record.payload.clone(),
                source: EventSource::Sync,
            };
            if let Some(problem) = sluice_events::check_event(&as_event).first() {
                return Err(format!(
                    "record {index} ({}): {}: {}",
                    record.external_id, problem.field, problem.message
                ));
            }
            records.push(SyncedRecord {
                external_id: record.external_id,
                version: record.version,
                occurred_at,
                payload: record.payload,
            });
        }
        Ok((records, batch.next_cursor))
    }

    fn count(&self, connector: &str, status: &str) {
        self.metrics
            .sync_batches
            .with_label_values(&[connector, status])
            .inc();
    }
}

/// How a run's pulling ended, for scheduling the next run.
struct Pulled {
    /// The configuration's interval.
    interval_seconds: u64,
    /// The run stopped at its batch limit with records waiting.
    more_waiting: bool,
}

/// The running sync scheduler of this node.
pub struct SyncScheduler {
    waker: Waker,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl SyncScheduler {
    /// Starts scheduling.
    pub fn start(syncer: Arc<Syncer>) -> Self {
        let waker = Waker::default();
        let stop = CancellationToken::new();
        let task = tokio::spawn(schedule(syncer, waker.clone(), stop.clone()));
        Self { waker, stop, task }
    }

    /// A handle that wakes the scheduler.
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Stops claiming and waits for runs in flight; a run cut short keeps
    /// its committed batches and resumes from its cursor next time.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the sync scheduler ended abnormally");
        }
    }
}

async fn schedule(syncer: Arc<Syncer>, waker: Waker, stop: CancellationToken) {
    let config = syncer.config.clone();
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let mut runs = tokio::task::JoinSet::new();
    let mut discovered_at: Option<UnixMillis> = None;
    while !stop.is_cancelled() {
        while runs.try_join_next().is_some() {}
        let now = syncer.clock.now_ms();
        if discovered_at.is_none_or(|at| now - at >= config.discover_interval_ms as i64) {
            if let Err(error) = syncer.discover().await {
                tracing::warn!(%error, "looking for configurations to sync failed");
            }
            discovered_at = Some(now);
        }
        let free = slots.available_permits();
        let claimed = if free == 0 {
            Vec::new()
        } else {
            syncer
                .db
                .claim_due_syncs(now, now + config.lease_ms as i64, free)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "claiming due syncs failed");
                    Vec::new()
                })
        };
        for position in claimed {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            let syncer = syncer.clone();
            runs.spawn(async move {
                let run = syncer.run(position).await;
                tracing::info!(config = %run.config_id, entity = %run.entity, status = %run.status,
                    records = run.records, events = run.events, "sync run finished");
                drop(permit);
            });
        }
        tokio::select! {
            _ = waker.0.notified() => {}
            _ = syncer.clock.sleep_until(now + config.poll_interval_ms as i64) => {}
            _ = stop.cancelled() => {}
            Some(_) = runs.join_next(), if !runs.is_empty() => {}
        }
    }
    // Runs in flight finish their current batch quickly enough; waiting keeps
    // their sync log rows.
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while runs.join_next().await.is_some() {}
    })
    .await;
}

/// The first record id, version or cursor of `batch` longer than `limits`
/// allow. They name records and positions, so a cut would change what they
/// name: an oversize one fails the batch instead.
fn oversize_identity(batch: &SyncBatch, limits: &GuestStringLimits) -> Option<String> {
    let oversize = |what: &str, value: &str, limit: usize| {
        (value.len() > limit)
            .then(|| format!("{what} is {} bytes; the limit is {limit}", value.len()))
    };
    if let Some(problem) = batch
        .next_cursor
        .as_deref()
        .and_then(|cursor| oversize("next-cursor", cursor, limits.max_text_bytes))
    {
        return Some(problem);
    }
    batch
        .records
        .iter()
        .enumerate()
        .find_map(|(index, record)| {
            oversize("external-id", &record.external_id, limits.max_id_bytes)
                .or_else(|| oversize("version", &record.version, limits.max_id_bytes))
                .map(|problem| format!("record {index}: {problem}"))
        })
}

#[cfg(test)]
mod tests {
    use sluice_runtime::types::SyncRecord;

    use super::*;

    fn batch(external_id: &str, cursor: &str) -> SyncBatch {
        SyncBatch {
            records: vec![SyncRecord {
                external_id: external_id.into(),
                version: "1".into(),
                occurred_at: "2026-12-01T10:00:00Z".into(),
                payload: "{}".into(),
            }],
            next_cursor: Some(cursor.into()),
            has_more: false,
        }
    }

    #[test]
    fn an_oversize_record_id_or_cursor_fails_the_batch_without_echoing_it() {
        let limits = GuestStringLimits::default();
        assert_eq!(oversize_identity(&batch("order-1", "c1"), &limits), None);
        let long_id = "i".repeat(limits.max_id_bytes + 1);
        let problem = oversize_identity(&batch(&long_id, "c1"), &limits).unwrap();
        assert_eq!(
            problem,
            "record 0: external-id is 513 bytes; the limit is 512"
        );
        let long_cursor = "c".repeat(limits.max_text_bytes + 1);
        let problem = oversize_identity(&batch("order-1", &long_cursor), &limits).unwrap();
        assert!(
            problem.starts_with("next-cursor is 8193 bytes"),
            "{problem}"
        );
    }

    #[test]
    fn orders_raise_placed_then_updated_and_other_entities_created_then_updated() {
        assert_eq!(
            event_types("orders"),
            ("order.placed".into(), "order.updated".into())
        );
        assert_eq!(
            event_types("returns"),
            ("return.created".into(), "return.updated".into())
        );
    }
}
