//! The delivery table as a queue: workers claim due deliveries under a lease,
//! record attempts in batches, and release what they hold when stopping.
//!
//! A claim is fair: it walks the targets that have pending work (a skip scan
//! over `deliveries_pending_by_target`), leaves out those whose circuit is
//! open or who asked for a pause, gives each of the others at most its
//! allowance (the per-target cap, or its rate limit if lower, minus the leases
//! it holds on every node), and interleaves the rows so that every store,
//! and every target within a store, gets its first row before anyone gets a
//! second. A backlog on one target therefore never fills a claim, and one
//! store's burst never delays another store's first delivery.
//!
//! A claim moves a delivery's `next_attempt_at` to its lease expiry, so a
//! leased delivery is simply not due until the lease lapses, and the partial
//! index on due pending rows is all a claim reads. Every write that ends a
//! lease checks its token, so a worker whose lease lapsed and was claimed
//! again cannot overwrite the newer claim.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::value::RawValue;
use sluice_core::{UnixMillis, new_id};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::bus::enqueue_events;
use crate::deliveries::DELIVERY_COLUMNS;
use crate::fanout::ingest_in;
use crate::health::{self, CircuitTransition, Circuits, TargetSignal};
use crate::sql::{ROWS_PER_STATEMENT, SqlBuilder, stored, to_json};
use crate::{
    AttemptOutcome, AttemptTrigger, Backend, Db, Delivery, DeliveryStatus, IngestOutcome, NewEvent,
    Result, StorageError, TargetKind,
};

/// How many leases each target may hold at once, counted over every node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetCaps {
    /// The cap of every target not in `raised`.
    pub default: usize,
    /// Targets allowed another cap, by target id.
    pub raised: BTreeMap<String, usize>,
}

impl TargetCaps {
    /// The same cap for every target.
    pub fn uniform(cap: usize) -> Self {
        Self {
            default: cap,
            raised: BTreeMap::new(),
        }
    }

    /// The highest cap of any target.
    fn highest(&self) -> usize {
        self.raised.values().copied().fold(self.default, usize::max)
    }
}

/// A worker's hold on one claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The delivery held.
    pub delivery_id: String,
    /// The claim's token; shared by the deliveries of one claim.
    pub token: String,
}

/// A claimed delivery with the event it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery as claimed (leased, `next_attempt_at` = lease expiry).
    pub delivery: Delivery,
    /// The hold to pass back to [`Db::complete`] or [`Db::release`].
    pub lease: Lease,
    /// When the event happened.
    pub occurred_at: UnixMillis,
    /// The event payload exactly as received.
    pub payload: String,
    /// Whether this attempt is its target's circuit probe: its result
    /// decides whether the circuit closes.
    pub probe: bool,
}

/// What an attempt decided for its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered; done.
    Delivered {
        /// The target's id for what it received, if it gave one.
        external_id: Option<String>,
    },
    /// Failed, to be attempted again at the given time.
    RetryAt(UnixMillis),
    /// Failed in a retryable way, but the retry schedule is exhausted:
    /// dead-lettered.
    Exhausted,
    /// Failed permanently: dead-lettered.
    Failed,
}

impl Verdict {
    /// The outcome recorded on the attempt.
    pub fn outcome(&self) -> AttemptOutcome {
        match self {
            Self::Delivered { .. } => AttemptOutcome::Delivered,
            Self::RetryAt(_) | Self::Exhausted => AttemptOutcome::Retry,
            Self::Failed => AttemptOutcome::Failed,
        }
    }

    /// The delivery's status afterwards.
    pub fn status(&self) -> DeliveryStatus {
        match self {
            Self::Delivered { .. } => DeliveryStatus::Delivered,
            Self::RetryAt(_) => DeliveryStatus::Pending,
            Self::Exhausted | Self::Failed => DeliveryStatus::Dead,
        }
    }
}

/// The facts of one attempt, as recorded in its history.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The claimed delivery's `next_trigger`.
    pub trigger: AttemptTrigger,
    /// When it started.
    pub started_at: UnixMillis,
    /// How long it took.
    pub duration_ms: i64,
    /// The HTTP status answered, for webhooks.
    pub http_status: Option<u16>,
    /// The URL called, for webhooks.
    pub request_url: Option<String>,
    /// The request headers sent, without secrets, as JSON.
    pub request_headers: Option<Box<RawValue>>,
    /// The start of the response body, already cut to size.
    pub response_body: Option<String>,
    /// Why it failed; also becomes the delivery's `last_error`.
    pub error: Option<String>,
    /// The connector invocation report, as JSON: serialised once, by
    /// whoever made it.
    pub report: Option<Box<RawValue>>,
    /// The connector version that ran, for connector targets.
    pub connector_version: Option<String>,
    /// The SHA-256 of the component that ran, for connector targets.
    pub component_digest: Option<String>,
}

/// One finished attempt to record with [`Db::complete`].
#[derive(Debug, Clone)]
pub struct AttemptResult {
    /// The lease the attempt ran under.
    pub lease: Lease,
    /// What happens to the delivery.
    pub verdict: Verdict,
    /// What happened during the attempt.
    pub attempt: AttemptRecord,
    /// What it says about the target's health.
    pub signal: TargetSignal,
}

/// What [`Db::complete`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Results not recorded because their lease was no longer held: it
    /// lapsed and another worker claimed the delivery, or it was released.
    pub stale: Vec<Lease>,
    /// What happened to each system event, in order (the circuits' own
    /// events are not listed).
    pub ingested: Vec<IngestOutcome>,
    /// Circuits that opened, closed or gave their target up.
    pub transitions: Vec<CircuitTransition>,
}

impl Db {
    /// Claims up to `limit` pending deliveries due at `now` under one fresh
    /// lease lasting `lease`, fairly: at most `per_target` leases held per
    /// target (fewer for a rate-limited one, one probe for a circuit whose
    /// back-off ended, none for an open circuit or a paused target), stores
    /// and then targets taking turns, oldest due first within a target.
    /// Deliveries whose lease lapsed are due again. On PostgreSQL concurrent
    /// claimers skip each other's rows, so no delivery is handed to two
    /// workers at once.
    pub async fn claim_due(
        &self,
        now: UnixMillis,
        limit: usize,
        per_target: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedDelivery>> {
        self.claim_due_beside_finished(
            now,
            limit,
            &TargetCaps::uniform(per_target),
            lease,
            Vec::new,
        )
        .await
    }

    /// Like [`Db::claim_due`], with a cap per target (`caps`), where
    /// `finished` names deliveries this node still holds whose attempt has
    /// ended, its result not yet recorded. Their target is no longer busy
    /// with them, so their leases do not count against its cap, and a target
    /// that answers fast is not held back by the time its results wait to be
    /// recorded.
    ///
    /// `finished` is called once the claim holds the writer, right before
    /// its statement: attempts that ended while it waited for the writer
    /// count as ended too.
    pub async fn claim_due_beside_finished(
        &self,
        now: UnixMillis,
        limit: usize,
        caps: &TargetCaps,
        lease: Duration,
        finished: impl FnOnce() -> Vec<String>,
    ) -> Result<Vec<ClaimedDelivery>> {
        let token = new_id("lease");
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let lease_end = now.saturating_add(lease_ms);
        let claim = Claim {
            backend: self.backend(),
            token: &token,
            lease_end,
            now,
            limit,
            caps,
        };
        let mut writer = self.redoable_writer().await?;
        let (rows, probes) = match writer.autocommitting() {
            // The claim is one statement, atomic on its own. A probe granted
            // to a claim that then fails waits out the lease, as a crashed
            // claimer's does.
            Some(connection) => claim.run(connection, finished).await?,
            None => {
                let mut tx = writer.begin().await?;
                let claimed = claim.run(&mut tx, finished).await?;
                tx.commit().await?;
                claimed
            }
        };
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok((
                    Delivery::from_row(row)?,
                    row.try_get::<i64, _>("event_seq")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        // SQLite's bodies are read on another connection; on an in-memory
        // database that is this one.
        drop(writer);
        let bodies = match self.backend() {
            Backend::Postgres => rows
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get("event_seq")?,
                        (row.try_get("occurred_at")?, row.try_get("payload")?),
                    ))
                })
                .collect::<Result<HashMap<_, _>>>()?,
            Backend::Sqlite => {
                let event_seqs: Vec<i64> = claimed.iter().map(|(_, seq)| *seq).collect();
                self.event_bodies(&event_seqs).await?
            }
        };
        claimed
            .drain(..)
            .map(|(delivery, event_seq)| {
                // The foreign key keeps the event; a miss means the database
                // was changed behind Sluice's back.
                let (occurred_at, payload) = bodies.get(&event_seq).cloned().ok_or_else(|| {
                    StorageError::corrupt(
                        format!("delivery {}", delivery.id),
                        "its event is missing",
                    )
                })?;
                Ok(ClaimedDelivery {
                    lease: Lease {
                        delivery_id: delivery.id.clone(),
                        token: token.clone(),
                    },
                    probe: probes.contains(&delivery.target_id),
                    delivery,
                    occurred_at,
                    payload,
                })
            })
            .collect()
    }

    /// Records `results` and ingests `system_events` (fanned out like any
    /// event) in one transaction at `now`. With the outbox on
    /// ([`Db::enable_outbox`]) the same transaction puts every system event
    /// not stored before, and those the circuits raise, in the outbox.
    ///
    /// For each result whose lease is still held: one attempt row, numbered
    /// after the delivery's previous attempts, and the delivery updated per
    /// its [`Verdict`] with the lease cleared; its [`TargetSignal`] moves its
    /// target's circuit per `circuits`, whose transitions (and the events
    /// they raise) are part of the same transaction. Results whose lease is
    /// no longer held change nothing and come back in [`Completion::stale`].
    pub async fn complete(
        &self,
        results: &[AttemptResult],
        system_events: &[NewEvent],
        circuits: &Circuits,
        now: UnixMillis,
    ) -> Result<Completion> {
        let mut writer = self.redoable_writer().await?;
        let mut tx = writer.begin().await?;
        let mut stale = Vec::new();
        let mut reports = Vec::new();
        for chunk in results.chunks(ROWS_PER_STATEMENT) {
            let recorded = update_leased(&mut tx, self.backend(), chunk, now).await?;
            let (current, lapsed): (Vec<_>, Vec<_>) = chunk
                .iter()
                .partition(|result| recorded.contains_key(&result.lease.delivery_id));
            stale.extend(lapsed.into_iter().map(|result| result.lease.clone()));
            if !current.is_empty() {
                insert_attempts(&mut tx, self.backend(), &current, &recorded).await?;
            }
            for result in current {
                let target = &recorded[&result.lease.delivery_id];
                reports.push((
                    result,
                    target.store_id.clone(),
                    target.kind,
                    target.target_id.clone(),
                ));
            }
        }
        let reports: Vec<health::Report> = reports
            .iter()
            .map(|(result, store_id, kind, target_id)| health::Report {
                store_id,
                kind: *kind,
                target_id,
                lease_token: &result.lease.token,
                signal: result.signal,
                error: result.attempt.error.as_deref(),
            })
            .collect();
        let transitions = health::record(&mut tx, self.backend(), &reports, circuits, now).await?;
        let ingested = ingest_in(&mut tx, self.backend(), system_events, now).await?;
        let raised: Vec<NewEvent> = transitions.iter().filter_map(circuits.raise).collect();
        let raised_ingested = ingest_in(&mut tx, self.backend(), &raised, now).await?;
        let mut published = 0;
        if self.outbox_signal().is_some() {
            published +=
                enqueue_events(&mut tx, self.backend(), system_events, &ingested, now).await?;
            published +=
                enqueue_events(&mut tx, self.backend(), &raised, &raised_ingested, now).await?;
        }
        tx.commit().await?;
        drop(writer);
        if let Some(outbox) = self.outbox_signal().filter(|_| published > 0) {
            outbox.notify();
        }
        Ok(Completion {
            stale,
            ingested,
            transitions,
        })
    }

    /// Gives back deliveries a stopping worker holds but will not attempt:
    /// each becomes due `now` for another worker. Leases no longer held are
    /// ignored. Returns how many were released.
    pub async fn release(&self, leases: &[Lease], now: UnixMillis) -> Result<u64> {
        self.defer(leases, now, now).await
    }

    /// Gives back deliveries a worker holds but cannot attempt yet (their
    /// connector is still loading): each becomes due at `until`, with no
    /// attempt recorded. Leases no longer held are ignored. Returns how many
    /// were given back.
    pub async fn defer(&self, leases: &[Lease], until: UnixMillis, now: UnixMillis) -> Result<u64> {
        let mut released = 0;
        for chunk in leases.chunks(ROWS_PER_STATEMENT) {
            let mut sql = SqlBuilder::new(
                self.backend(),
                "UPDATE deliveries SET lease_token = NULL, lease_expires_at = 0, next_attempt_at = ",
            );
            sql.bind(until)
                .push(", updated_at = ")
                .bind(now)
                .push(" FROM (");
            sql.values(chunk, |row, lease| {
                row.bind(lease.delivery_id.as_str())
                    .bind(lease.token.as_str());
            })
            .push(") AS v WHERE deliveries.id = v.column1 AND deliveries.lease_token = v.column2");
            released += sql.execute(self.writer()).await?;
        }
        Ok(released)
    }

    /// The occurred-at time and payload of the events `event_seqs`, by seq.
    async fn event_bodies(&self, event_seqs: &[i64]) -> Result<HashMap<i64, (UnixMillis, String)>> {
        let unique: Vec<i64> = event_seqs
            .iter()
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut bodies = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(ROWS_PER_STATEMENT) {
            let mut sql = SqlBuilder::new(
                self.backend(),
                "SELECT seq, occurred_at, payload FROM events WHERE seq IN (",
            );
            sql.bind_list(chunk.iter().copied()).push(")");
            for row in sql.fetch_all(self.reader()).await? {
                bodies.insert(
                    row.try_get("seq")?,
                    (row.try_get("occurred_at")?, row.try_get("payload")?),
                );
            }
        }
        Ok(bodies)
    }
}

/// One claim's parameters; see [`Db::claim_due_beside_finished`].
struct Claim<'a> {
    backend: Backend,
    token: &'a str,
    lease_end: UnixMillis,
    now: UnixMillis,
    limit: usize,
    caps: &'a TargetCaps,
}

impl Claim<'_> {
    /// Grants the probes whose back-off ended, claims, and gives back the
    /// probes the claim did not use; returns the claimed rows and the
    /// targets granted a probe.
    async fn run(
        &self,
        conn: &mut AnyConnection,
        finished: impl FnOnce() -> Vec<String>,
    ) -> Result<(Vec<AnyRow>, Vec<String>)> {
        let probes = health::grant_probes(conn, self.token, self.lease_end, self.now).await?;
        let finished = finished();
        let rows = sqlx::query(claim_statement(self.backend))
            .bind(self.token)
            .bind(self.lease_end)
            .bind(self.now)
            .bind(count(self.limit))
            .bind(count(self.caps.default))
            .bind(to_json(&finished))
            .bind(to_json(&self.caps.raised))
            .bind(count(self.caps.highest()))
            .fetch_all(&mut *conn)
            .await?;
        if !probes.is_empty() {
            let used = rows
                .iter()
                .map(|row| row.try_get::<String, _>("target_id"))
                .collect::<std::result::Result<HashSet<_>, _>>()?;
            let unused: Vec<&str> = probes
                .iter()
                .map(String::as_str)
                .filter(|id| !used.contains(*id))
                .collect();
            health::return_probes(conn, self.backend, self.token, &unused, self.now).await?;
        }
        Ok((rows, probes))
    }
}

/// A count or cap as SQL binds it.
fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The statement claiming, under the lease token `$1` until `$2`, up to `$4`
/// deliveries due at `$3`, at most `$5` leases per target but for the
/// targets in the JSON object `$7` (target id to cap, none above `$8`), not
/// counting the leases of the deliveries in the JSON array `$6` (see
/// [`Db::claim_due_beside_finished`]).
fn claim_statement(backend: Backend) -> &'static str {
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    match backend {
        Backend::Sqlite => SQLITE.get_or_init(|| build_claim_statement(backend)),
        Backend::Postgres => POSTGRES.get_or_init(|| build_claim_statement(backend)),
    }
}

/// Writes [`claim_statement`] for `backend`.
fn build_claim_statement(backend: Backend) -> String {
    let (finished, raised_cap) = match backend {
        Backend::Sqlite => (
            "SELECT value FROM json_each($6)",
            "(SELECT value FROM json_each($7) WHERE key = f.target_id)",
        ),
        Backend::Postgres => (
            "SELECT json_array_elements_text($6::json)",
            "($7::json ->> f.target_id)::bigint",
        ),
    };
    // Each step below reads an index: the skip scan finds each target with
    // pending work and its head in one probe (a target's first pending row
    // in due order is its head if it is due, and it has none otherwise), its
    // next rows in one probe each, so a claim costs O(targets + rows
    // claimed), not O(backlog). One probe per target matters on PostgreSQL,
    // where the front of a target's index range holds the entries of rows
    // claimed since the last vacuum, which every probe there walks past.
    // Each step carries the row's store and due time, so nothing after it
    // reads the row again. `eligible` is materialized so that each target's
    // leases are counted once, not again where `picked` filters on the
    // allowance; counting at most the highest cap in index order lets PostgreSQL walk
    // the index itself, which marks the entries of released leases dead as
    // it passes them, where a bitmap scan would visit them all again on
    // every claim.
    let first_pending = |after: &str| {
        format!(
            "(SELECT x.id FROM deliveries x WHERE x.status = 'pending'{after} \
             ORDER BY x.target_id, x.next_attempt_at, x.id LIMIT 1)"
        )
    };
    let candidates = format!(
        "WITH RECURSIVE \
        firsts(target_id, id, at, store_id) AS ( \
            SELECT d.target_id, d.id, d.next_attempt_at, d.store_id \
            FROM deliveries d WHERE d.id = {first} \
            UNION ALL \
            SELECT d.target_id, d.id, d.next_attempt_at, d.store_id \
            FROM firsts f JOIN deliveries d ON d.id = {next}), \
        capped AS (SELECT f.*, COALESCE({raised_cap}, $5) AS cap FROM firsts f), \
        eligible AS MATERIALIZED ( \
            SELECT f.target_id, f.id, f.at, f.store_id, \
                CASE WHEN s.circuit = 'half_open' THEN 1 \
                     WHEN COALESCE(w.rate_limit_per_second, c.rate_limit_per_second, f.cap) < f.cap \
                     THEN COALESCE(w.rate_limit_per_second, c.rate_limit_per_second) \
                     ELSE f.cap END \
                - (SELECT COUNT(*) FROM (SELECT 1 FROM deliveries l \
                   WHERE l.lease_token IS NOT NULL AND l.target_id = f.target_id \
                   AND l.lease_expires_at > $3 AND l.id NOT IN ({finished}) \
                   ORDER BY l.lease_expires_at LIMIT $8) AS leases) AS allowance \
            FROM capped f \
            LEFT JOIN target_states s ON s.target_id = f.target_id \
            LEFT JOIN webhook_subscriptions w ON w.id = f.target_id \
            LEFT JOIN connector_configs c ON c.id = f.target_id \
            WHERE f.at <= $3 AND (s.target_id IS NULL \
                OR (s.circuit = 'closed' AND s.blocked_until <= $3) \
                OR (s.circuit = 'half_open' AND s.probe_token = $1))), \
        {picked}, \
        ranked AS ( \
            SELECT id, at, ROW_NUMBER() OVER ( \
                PARTITION BY store_id ORDER BY depth, at, id) AS turn \
            FROM picked), \
        candidates AS (SELECT id FROM ranked ORDER BY turn, at, id LIMIT $4) ",
        first = first_pending(""),
        next = first_pending(" AND x.target_id > f.target_id"),
        picked = match backend {
            // One seek per row: SQLite has no LATERAL, and a LIMIT cannot
            // depend on the row.
            Backend::Sqlite => {
                "picked(target_id, id, at, store_id, depth, allowance) AS ( \
                SELECT target_id, id, at, store_id, 1, allowance FROM eligible WHERE allowance > 0 \
                UNION ALL \
                SELECT p.target_id, n.id, n.next_attempt_at, n.store_id, p.depth + 1, p.allowance \
                FROM picked p JOIN deliveries n ON n.id = ( \
                    SELECT d.id FROM deliveries d WHERE d.status = 'pending' \
                    AND d.target_id = p.target_id AND d.next_attempt_at <= $3 \
                    AND (d.next_attempt_at, d.id) > (p.at, p.id) \
                    ORDER BY d.next_attempt_at, d.id LIMIT 1) \
                WHERE p.depth < p.allowance)"
            }
            // One range read per target, from its index alone (a target's
            // rows all belong to its store): with caps of 64 the seek per
            // row was a third of the claim's buffers.
            Backend::Postgres => {
                "picked(target_id, id, at, store_id, depth) AS ( \
                SELECT e.target_id, n.id, n.next_attempt_at, e.store_id, ROW_NUMBER() OVER ( \
                    PARTITION BY e.target_id ORDER BY n.next_attempt_at, n.id) \
                FROM eligible e CROSS JOIN LATERAL ( \
                    SELECT d.id, d.next_attempt_at FROM deliveries d WHERE d.status = 'pending' \
                    AND d.target_id = e.target_id AND d.next_attempt_at <= $3 \
                    ORDER BY d.next_attempt_at, d.id LIMIT GREATEST(e.allowance, 0)) n \
                WHERE e.allowance > 0)"
            }
        },
    );
    let claimed = match backend {
        // One writer: there is nobody to skip.
        Backend::Sqlite => "id IN (SELECT id FROM candidates)".to_owned(),
        // SKIP LOCKED lets concurrent claimers pass each other's rows, and
        // the conditions are checked again on rows changed since the
        // candidates were read. The update then finds the rows it locked by
        // their physical address: no index read, where looking them up by id
        // walked every version the primary key still holds of them. A row
        // changed by another session after this statement began is locked
        // in its newer version, which this statement cannot see, so it is
        // left for the next claim.
        Backend::Postgres => "ctid = ANY(ARRAY(SELECT ctid FROM deliveries WHERE id IN \
            (SELECT id FROM candidates) AND status = 'pending' AND next_attempt_at <= $3 \
            FOR UPDATE SKIP LOCKED))"
            .to_owned(),
    };
    let update = format!(
        "UPDATE deliveries SET lease_token = $1, lease_expires_at = $2, \
         next_attempt_at = $2, updated_at = $3 WHERE {claimed} \
         RETURNING {DELIVERY_COLUMNS}, event_seq"
    );
    match backend {
        Backend::Sqlite => format!("{candidates}{update}"),
        // The events come back with the claim, saving a round trip.
        Backend::Postgres => format!(
            "{candidates}, claimed AS ({update}) \
             SELECT claimed.*, events.occurred_at, events.payload \
             FROM claimed JOIN events ON events.seq = claimed.event_seq"
        ),
    }
}

/// A recorded delivery's store, target and new attempt count.
struct Recorded {
    store_id: String,
    kind: TargetKind,
    target_id: String,
    attempt_count: i64,
}

/// Applies the verdicts of `results` to the deliveries whose lease is still
/// held; returns what they became, by delivery id.
async fn update_leased(
    conn: &mut AnyConnection,
    backend: Backend,
    results: &[AttemptResult],
    now: UnixMillis,
) -> Result<HashMap<String, Recorded>> {
    let mut sql = SqlBuilder::new(backend, "UPDATE deliveries SET updated_at = ");
    sql.bind(now).push(
        ", status = v.column3, next_attempt_at = v.column4, last_error = v.column5, \
         external_id = COALESCE(v.column6, external_id), finished_at = v.column7, \
         attempt_count = attempt_count + 1, lease_token = NULL, lease_expires_at = 0, \
         next_trigger = 'scheduled' FROM (",
    );
    sql.values(results, |row, result| {
        let (next_attempt_at, external_id, finished_at) = match &result.verdict {
            Verdict::Delivered { external_id } => (now, external_id.as_deref(), Some(now)),
            Verdict::RetryAt(at) => (*at, None, None),
            Verdict::Exhausted | Verdict::Failed => (now, None, Some(now)),
        };
        row.bind(result.lease.delivery_id.as_str())
            .bind(result.lease.token.as_str())
            .bind(result.verdict.status().as_str())
            .bind(next_attempt_at)
            .bind(result.attempt.error.as_deref())
            .bind(external_id)
            .bind(finished_at);
    })
    .push(
        ") AS v WHERE deliveries.id = v.column1 AND deliveries.lease_token = v.column2 \
         RETURNING id, store_id, target_kind, target_id, attempt_count",
    );
    sql.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("id")?,
                Recorded {
                    store_id: row.try_get("store_id")?,
                    kind: stored(row, "target_kind")?,
                    target_id: row.try_get("target_id")?,
                    attempt_count: row.try_get("attempt_count")?,
                },
            ))
        })
        .collect()
}

/// Inserts one attempt row per result, numbered by the delivery's new
/// attempt count from `recorded`.
async fn insert_attempts(
    conn: &mut AnyConnection,
    backend: Backend,
    results: &[&AttemptResult],
    recorded: &HashMap<String, Recorded>,
) -> Result<()> {
    let mut sql = SqlBuilder::new(
        backend,
        "INSERT INTO attempts (id, delivery_id, store_id, number, trigger, started_at, \
         duration_ms, outcome, http_status, request_url, request_headers, response_body, \
         error, report, next_attempt_at, connector_version, component_digest)",
    );
    sql.values(results, |row, result| {
        let Recorded {
            store_id,
            attempt_count: number,
            ..
        } = &recorded[&result.lease.delivery_id];
        let attempt = &result.attempt;
        let next_attempt_at = match result.verdict {
            Verdict::RetryAt(at) => Some(at),
            _ => None,
        };
        row.bind(new_id("att"))
            .bind(result.lease.delivery_id.as_str())
            .bind(store_id.as_str())
            .bind(*number)
            .bind(attempt.trigger.as_str())
            .bind(attempt.started_at)
            .bind(attempt.duration_ms)
            .bind(result.verdict.outcome().as_str())
            .bind(attempt.http_status.map(i64::from))
            .bind(attempt.request_url.as_deref())
            .bind(attempt.request_headers.as_deref().map(RawValue::get))
            .bind(attempt.response_body.as_deref())
            .bind(attempt.error.as_deref())
            .bind(attempt.report.as_deref().map(RawValue::get))
            .bind(next_attempt_at)
            .bind(attempt.connector_version.as_deref())
            .bind(attempt.component_digest.as_deref());
    });
    sql.execute(&mut *conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use sluice_core::EventTypePattern;
    use sluice_secrets::SecretString;

    use super::*;
    use crate::db::tests::file_db;
    use crate::{EventSource, NewWebhookSubscription, SqliteDurability};

    const LEASE: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn attempts_that_end_while_a_claim_waits_for_the_writer_free_their_slots_for_it() {
        let (_dir, db) = file_db(SqliteDurability::Full).await;
        let subscription = NewWebhookSubscription {
            name: "orders".into(),
            url: "https://example.com/hooks".into(),
            event_types: vec![EventTypePattern::parse("order.*").unwrap()],
            signing_secret: SecretString::new("whsec_first"),
            rate_limit_per_second: None,
        };
        db.create_webhook_subscription("store_a", &subscription, 1)
            .await
            .unwrap();
        let events: Vec<NewEvent> = (0..10)
            .map(|i| NewEvent {
                store_id: "store_a".into(),
                id: format!("e{i}"),
                event_type: "order.placed".into(),
                occurred_at: 1,
                payload: "{}".into(),
                source: EventSource::Api,
            })
            .collect();
        db.ingest(&events, 1).await.unwrap();
        let running = db.claim_due(1, 10, 4, LEASE).await.unwrap();
        assert_eq!(running.len(), 4, "the cap");

        let ended = Arc::new(Mutex::new(Vec::new()));
        let writer = db.writer().acquire().await.unwrap();
        let claim = tokio::spawn({
            let (db, ended) = (db.clone(), ended.clone());
            async move {
                db.claim_due_beside_finished(1, 10, &TargetCaps::uniform(4), LEASE, || {
                    ended.lock().unwrap().clone()
                })
                .await
                .unwrap()
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Ends while the claim waits for the writer.
        ended
            .lock()
            .unwrap()
            .extend(running[..3].iter().map(|c| c.lease.delivery_id.clone()));
        drop(writer);
        assert_eq!(claim.await.unwrap().len(), 3);
    }
}
