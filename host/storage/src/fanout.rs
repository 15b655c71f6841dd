//! Ingest inside a transaction: insert new events, then one delivery per
//! matching active target. Shared by [`Db::ingest`](crate::Db::ingest) and
//! [`Db::complete`](crate::Db::complete), whose system events fan out the
//! same way.

use std::collections::HashMap;

use sluice_core::{EventTypePattern, UnixMillis, new_id};
use sqlx::AnyConnection;
use sqlx::Row;

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
    target_id: String,
}

/// Ingests `events` on `conn`, which must be inside a transaction, and
/// returns an outcome per event kept. Sluice's own (system) events are kept
/// only when some active target of their store subscribes to them, so a
/// report of every delivery does not double the event log; every other
/// event is kept.
pub(crate) async fn ingest_in(
    conn: &mut AnyConnection,
    backend: Backend,
    events: &[NewEvent],
    now: UnixMillis,
) -> Result<Vec<IngestOutcome>> {
    let mut targets_by_store: HashMap<&str, Vec<Target>> = HashMap::new();
    for event in events {
        if !targets_by_store.contains_key(event.store_id.as_str()) {
            let targets = active_targets(conn, &event.store_id).await?;
            targets_by_store.insert(&event.store_id, targets);
        }
    }
    let subscribed = |event: &NewEvent| {
        targets_by_store[event.store_id.as_str()]
            .iter()
            .any(|target| EventTypePattern::any_matches(&target.patterns, &event.event_type))
    };
    let events: Vec<&NewEvent> = events
        .iter()
        .filter(|event| event.source != EventSource::System || subscribed(event))
        .collect();
    let mut inserted = insert_new_events(conn, backend, &events, now).await?;
    let mut outcomes = Vec::with_capacity(events.len());
    let mut deliveries = Vec::new();
    for event in events {
        // Removing the key makes a repeat later in the batch a duplicate.
        let created = inserted.remove(&(event.store_id.clone(), event.id.clone()));
        let mut count = 0;
        if let Some(event_seq) = created {
            for target in &targets_by_store[event.store_id.as_str()] {
                if EventTypePattern::any_matches(&target.patterns, &event.event_type) {
                    deliveries.push(NewDelivery {
                        event,
                        event_seq,
                        kind: target.kind,
                        target_id: target.id.clone(),
                    });
                    count += 1;
                }
            }
        }
        outcomes.push(IngestOutcome {
            store_id: event.store_id.clone(),
            event_id: event.id.clone(),
            status: if created.is_some() {
                IngestStatus::Created
            } else {
                IngestStatus::Duplicate
            },
            deliveries: count,
        });
    }
    insert_deliveries(conn, backend, &deliveries, now).await?;
    Ok(outcomes)
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
        let mut sql = SqlBuilder::new(
            backend,
            "INSERT INTO events \
             (store_id, id, event_type, occurred_at, received_at, payload, source)",
        );
        sql.values(chunk, |row, event| {
            row.bind(event.store_id.as_str())
                .bind(event.id.as_str())
                .bind(event.event_type.as_str())
                .bind(event.occurred_at)
                .bind(now)
                .bind(event.payload.as_str())
                .bind(event.source.as_str());
        })
        .push(" ON CONFLICT (store_id, id) DO NOTHING RETURNING seq, store_id, id");
        for row in sql.fetch_all(&mut *conn).await? {
            inserted.insert(
                (row.try_get("store_id")?, row.try_get("id")?),
                row.try_get("seq")?,
            );
        }
    }
    Ok(inserted)
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
                .bind(delivery.target_id.as_str())
                .bind(now)
                .bind(now)
                .bind(now);
        });
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}
