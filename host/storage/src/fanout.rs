//! Ingest with fan-out: insert new events, then one delivery per matching
//! active target. Shared by [`Db::ingest`](crate::Db::ingest) and
//! [`Db::complete`](crate::Db::complete), whose system events fan out the
//! same way, inside a transaction; on PostgreSQL, `Db::ingest` writes a
//! batch in one statement instead.

use std::collections::{HashMap, HashSet};

use sluice_core::{EventTypePattern, UnixMillis, new_id};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::sql::{ROWS_PER_STATEMENT, SqlBuilder, json, stored};
use crate::{Backend, EventSource, IngestOutcome, IngestStatus, NewEvent, Result, TargetKind};

/// A webhook subscription or connector configuration that receives events.
struct Target {
    kind: TargetKind,
    id: String,
    patterns: Vec<EventTypePattern>,
}

/// A delivery to insert.
struct NewDelivery<'e> {
    event: &'e NewEvent,
    event_seq: i64,
    kind: TargetKind,
    target_id: &'e str,
}

/// What a batch of events becomes once its stores' targets are known.
struct Fanout<'e> {
    /// The events to keep, in order.
    events: Vec<&'e NewEvent>,
    /// Per kept event, the targets it is delivered to if it is stored now;
    /// none for a repeat of an event earlier in the batch, which is a
    /// duplicate whatever happens to the first.
    targets: Vec<Vec<(TargetKind, &'e str)>>,
}

impl<'e> Fanout<'e> {
    /// Reads the active targets of the stores of `events` on `conn` and
    /// matches each event against them. Sluice's own (system) events are
    /// kept only when some active target of their store subscribes to them,
    /// so a report of every delivery does not double the event log; every
    /// other event is kept.
    async fn plan(
        conn: &mut AnyConnection,
        events: &'e [NewEvent],
        targets_by_store: &'e mut HashMap<String, Vec<Target>>,
    ) -> Result<Self> {
        for event in events {
            if !targets_by_store.contains_key(&event.store_id) {
                let targets = active_targets(conn, &event.store_id).await?;
                targets_by_store.insert(event.store_id.clone(), targets);
            }
        }
        let targets_by_store = &*targets_by_store;
        let matching = |event: &'e NewEvent| -> Vec<(TargetKind, &'e str)> {
            targets_by_store[&event.store_id]
                .iter()
                .filter(|target| EventTypePattern::any_matches(&target.patterns, &event.event_type))
                .map(|target| (target.kind, target.id.as_str()))
                .collect()
        };
        let mut seen = HashSet::new();
        let mut fanout = Fanout {
            events: Vec::with_capacity(events.len()),
            targets: Vec::with_capacity(events.len()),
        };
        for event in events {
            let targets = matching(event);
            if event.source == EventSource::System && targets.is_empty() {
                continue;
            }
            let first = seen.insert((event.store_id.as_str(), event.id.as_str()));
            fanout.events.push(event);
            fanout
                .targets
                .push(if first { targets } else { Vec::new() });
        }
        Ok(fanout)
    }

    /// The deliveries of the events stored now, whose seq `inserted` holds by
    /// (store, id).
    fn deliveries(&self, inserted: &HashMap<(String, String), i64>) -> Vec<NewDelivery<'e>> {
        let mut deliveries = Vec::new();
        for (event, targets) in self.events.iter().zip(&self.targets) {
            let key = (event.store_id.clone(), event.id.clone());
            let Some(&event_seq) = inserted.get(&key) else {
                continue;
            };
            deliveries.extend(targets.iter().map(|&(kind, target_id)| NewDelivery {
                event,
                event_seq,
                kind,
                target_id,
            }));
        }
        deliveries
    }

    /// An outcome per kept event, given those stored now by (store, id).
    fn outcomes(&self, mut inserted: HashMap<(String, String), i64>) -> Vec<IngestOutcome> {
        self.events
            .iter()
            .zip(&self.targets)
            .map(|(event, targets)| {
                // Removing the key makes a repeat later in the batch a duplicate.
                let created = inserted
                    .remove(&(event.store_id.clone(), event.id.clone()))
                    .is_some();
                IngestOutcome {
                    store_id: event.store_id.clone(),
                    event_id: event.id.clone(),
                    status: if created {
                        IngestStatus::Created
                    } else {
                        IngestStatus::Duplicate
                    },
                    deliveries: if created { targets.len() } else { 0 },
                }
            })
            .collect()
    }

    /// Whether one statement can write the batch ([`ingest_at_once`]).
    fn fits_one_statement(&self) -> bool {
        self.events.len() <= ROWS_PER_STATEMENT
            && self.targets.iter().map(Vec::len).sum::<usize>() <= ROWS_PER_STATEMENT
    }
}

/// Ingests `events` on `conn`, which must be inside a transaction, and
/// returns an outcome per event kept (see [`Fanout::plan`]).
pub(crate) async fn ingest_in(
    conn: &mut AnyConnection,
    backend: Backend,
    events: &[NewEvent],
    now: UnixMillis,
) -> Result<Vec<IngestOutcome>> {
    let mut targets = HashMap::new();
    let fanout = Fanout::plan(conn, events, &mut targets).await?;
    let inserted = insert_new_events(conn, backend, &fanout.events, now).await?;
    insert_deliveries(conn, backend, &fanout.deliveries(&inserted), now).await?;
    Ok(fanout.outcomes(inserted))
}

/// Ingests `events` on PostgreSQL outside a transaction: the targets are
/// read, then a single statement inserts the new events and their
/// deliveries, and commits on its own. Two round trips instead of five.
///
/// Atomic like [`ingest_in`]: the one statement stores events and
/// deliveries together or not at all. As consistent too: under PostgreSQL's
/// read committed each statement of a transaction takes its own snapshot,
/// so a target created while a batch is ingested was missed as well.
/// Returns `None`, having written nothing, when the batch is too large for
/// one statement.
pub(crate) async fn ingest_at_once(
    conn: &mut AnyConnection,
    events: &[NewEvent],
    now: UnixMillis,
) -> Result<Option<Vec<IngestOutcome>>> {
    let mut targets = HashMap::new();
    let fanout = Fanout::plan(conn, events, &mut targets).await?;
    if !fanout.fits_one_statement() {
        return Ok(None);
    }
    if fanout.events.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut sql = SqlBuilder::new(Backend::Postgres, "WITH new_events AS (");
    push_insert_events(&mut sql, &fanout.events, now);
    sql.push(")");
    let planned = fanout
        .events
        .iter()
        .zip(&fanout.targets)
        .flat_map(|(event, targets)| targets.iter().map(move |target| (*event, *target)));
    if fanout.targets.iter().any(|targets| !targets.is_empty()) {
        sql.push(
            ", new_deliveries AS (INSERT INTO deliveries (id, store_id, event_id, event_seq, \
             event_type, target_kind, target_id, next_attempt_at, created_at, updated_at) \
             SELECT planned.id, planned.store_id, planned.event_id, new_events.seq, \
             planned.event_type, planned.target_kind, planned.target_id, ",
        );
        sql.bind(now)
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(" FROM (");
        sql.values(planned, |row, (event, (kind, target_id))| {
            row.bind(new_id("dlv"))
                .bind(event.store_id.as_str())
                .bind(event.id.as_str())
                .bind(event.event_type.as_str())
                .bind(kind.as_str())
                .bind(target_id);
        });
        // Only the events stored now (not duplicates) get deliveries.
        sql.push(
            ") AS planned (id, store_id, event_id, event_type, target_kind, target_id) \
             JOIN new_events ON new_events.store_id = planned.store_id \
             AND new_events.id = planned.event_id)",
        );
    }
    sql.push(" SELECT seq, store_id, id FROM new_events");
    let inserted = inserted_seqs(sql.fetch_all(&mut *conn).await?)?;
    Ok(Some(fanout.outcomes(inserted)))
}

/// Inserts the events not stored yet; returns the seq of those inserted by
/// (store, id).
async fn insert_new_events(
    conn: &mut AnyConnection,
    backend: Backend,
    events: &[&NewEvent],
    now: UnixMillis,
) -> Result<HashMap<(String, String), i64>> {
    let mut inserted = HashMap::with_capacity(events.len());
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let mut sql = SqlBuilder::new(backend, "");
        push_insert_events(&mut sql, chunk, now);
        inserted.extend(inserted_seqs(sql.fetch_all(&mut *conn).await?)?);
    }
    Ok(inserted)
}

/// Appends the statement inserting those of `events`, received at `now`,
/// not stored yet, and returning the seq, store and id of each it inserted.
fn push_insert_events<'q>(sql: &mut SqlBuilder<'q>, events: &[&'q NewEvent], now: UnixMillis) {
    sql.push(
        "INSERT INTO events \
         (store_id, id, event_type, occurred_at, received_at, payload, source)",
    );
    sql.values(events, |row, event| {
        row.bind(event.store_id.as_str())
            .bind(event.id.as_str())
            .bind(event.event_type.as_str())
            .bind(event.occurred_at)
            .bind(now)
            .bind(event.payload.as_str())
            .bind(event.source.as_str());
    })
    .push(" ON CONFLICT (store_id, id) DO NOTHING RETURNING seq, store_id, id");
}

/// The seq of each event a statement inserted, by (store, id).
fn inserted_seqs(rows: Vec<AnyRow>) -> Result<HashMap<(String, String), i64>> {
    rows.iter()
        .map(|row| {
            Ok((
                (row.try_get("store_id")?, row.try_get("id")?),
                row.try_get("seq")?,
            ))
        })
        .collect()
}

/// The store's active webhook subscriptions and connector configurations.
async fn active_targets(conn: &mut AnyConnection, store_id: &str) -> Result<Vec<Target>> {
    let rows = sqlx::query(
        "SELECT 'webhook' AS target_kind, id, event_types FROM webhook_subscriptions \
         WHERE store_id = $1 AND active = $2 \
         UNION ALL \
         SELECT 'connector' AS target_kind, id, event_types FROM connector_configs \
         WHERE store_id = $1 AND active = $2",
    )
    .bind(store_id)
    .bind(true)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: TargetKind = stored(row, "target_kind")?;
            let id: String = row.try_get("id")?;
            let patterns = json(row, "event_types", &format!("{kind} target {id}"))?;
            Ok(Target { kind, id, patterns })
        })
        .collect()
}

/// Inserts pending deliveries, due `now`.
async fn insert_deliveries(
    conn: &mut AnyConnection,
    backend: Backend,
    deliveries: &[NewDelivery<'_>],
    now: UnixMillis,
) -> Result<()> {
    for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
        let mut sql = SqlBuilder::new(
            backend,
            "INSERT INTO deliveries (id, store_id, event_id, event_seq, event_type, target_kind, \
             target_id, next_attempt_at, created_at, updated_at)",
        );
        sql.values(chunk, |row, delivery| {
            row.bind(new_id("dlv"))
                .bind(delivery.event.store_id.as_str())
                .bind(delivery.event.id.as_str())
                .bind(delivery.event_seq)
                .bind(delivery.event.event_type.as_str())
                .bind(delivery.kind.as_str())
                .bind(delivery.target_id)
                .bind(now)
                .bind(now)
                .bind(now);
        });
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}
