//! Deliveries and their attempts as store admins see them: listing with
//! filters, one delivery with its history, and re-triggering.

use sluice_core::UnixMillis;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{SqlBuilder, narrow, optional_json, stored, stored_enum};
use crate::{Db, Result, StorageError};

stored_enum! {
    /// What receives a delivery.
    pub enum TargetKind {
        /// A webhook subscription (signed HTTP POST).
        Webhook = "webhook",
        /// A connector configuration (a WebAssembly component call).
        Connector = "connector",
    }
}

stored_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Waiting for its next attempt, or being attempted under a lease.
        Pending = "pending",
        /// Done.
        Delivered = "delivered",
        /// Dead-lettered: failed permanently or ran out of attempts. Kept
        /// until retried.
        Dead = "dead",
    }
}

stored_enum! {
    /// Why an attempt was made.
    pub enum AttemptTrigger {
        /// By the retry schedule.
        Scheduled = "scheduled",
        /// By an admin asking for a retry.
        Manual = "manual",
    }
}

stored_enum! {
    /// The result of one attempt.
    pub enum AttemptOutcome {
        /// The target accepted it.
        Delivered = "delivered",
        /// It failed in a way worth retrying.
        Retry = "retry",
        /// It failed permanently.
        Failed = "failed",
    }
}

/// The columns [`Delivery::from_row`] reads.
pub(crate) const DELIVERY_COLUMNS: &str = "id, store_id, event_id, event_type, target_kind, \
    target_id, status, attempt_count, next_attempt_at, next_trigger, lease_token, \
    lease_expires_at, last_error, external_id, created_at, updated_at, finished_at";

/// One event on its way to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `dlv_...`, time-ordered.
    pub id: String,
    /// The store it belongs to.
    pub store_id: String,
    /// The event delivered.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Webhook or connector.
    pub target_kind: TargetKind,
    /// The subscription or configuration id.
    pub target_id: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts recorded so far.
    pub attempt_count: u32,
    /// When it is due next (for a leased delivery: when its lease lapses).
    pub next_attempt_at: UnixMillis,
    /// What the next attempt will be recorded as.
    pub next_trigger: AttemptTrigger,
    /// The token of the worker holding it, if leased.
    pub lease_token: Option<String>,
    /// When the current lease lapses; 0 when never leased or released.
    pub lease_expires_at: UnixMillis,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// The target's id for what it received (e.g. a marketplace's feed id).
    pub external_id: Option<String>,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it last changed.
    pub updated_at: UnixMillis,
    /// When it was delivered or dead-lettered.
    pub finished_at: Option<UnixMillis>,
}

impl Delivery {
    /// Reads the [`DELIVERY_COLUMNS`] of `row`.
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            store_id: row.try_get("store_id")?,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            target_kind: stored(row, "target_kind")?,
            target_id: row.try_get("target_id")?,
            status: stored(row, "status")?,
            attempt_count: narrow(row, "attempt_count")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            next_trigger: stored(row, "next_trigger")?,
            lease_token: row.try_get("lease_token")?,
            lease_expires_at: row.try_get("lease_expires_at")?,
            last_error: row.try_get("last_error")?,
            external_id: row.try_get("external_id")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }
}

/// One recorded attempt of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// `att_...`.
    pub id: String,
    /// The delivery attempted.
    pub delivery_id: String,
    /// The store it belongs to.
    pub store_id: String,
    /// 1 for the first attempt of the delivery, then 2, 3...
    pub number: u32,
    /// Scheduled or manual.
    pub trigger: AttemptTrigger,
    /// When it started.
    pub started_at: UnixMillis,
    /// How long it took.
    pub duration_ms: i64,
    /// Its result.
    pub outcome: AttemptOutcome,
    /// The HTTP status answered, for webhooks.
    pub http_status: Option<u16>,
    /// The URL called, for webhooks.
    pub request_url: Option<String>,
    /// The request headers sent (secrets excluded by the caller).
    pub request_headers: Option<serde_json::Value>,
    /// The start of the response body.
    pub response_body: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The connector invocation report.
    pub report: Option<serde_json::Value>,
    /// When the delivery was scheduled next after this attempt.
    pub next_attempt_at: Option<UnixMillis>,
    /// The connector version that ran, for connector targets.
    pub connector_version: Option<String>,
    /// The SHA-256 of the component that ran, for connector targets.
    pub component_digest: Option<String>,
}

impl Attempt {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let id: String = row.try_get("id")?;
        let owner = format!("attempt {id}");
        Ok(Self {
            delivery_id: row.try_get("delivery_id")?,
            store_id: row.try_get("store_id")?,
            number: narrow(row, "number")?,
            trigger: stored(row, "trigger")?,
            started_at: row.try_get("started_at")?,
            duration_ms: row.try_get("duration_ms")?,
            outcome: stored(row, "outcome")?,
            http_status: row
                .try_get::<Option<i64>, _>("http_status")?
                .map(|status| {
                    u16::try_from(status).map_err(|e| StorageError::corrupt("http_status", e))
                })
                .transpose()?,
            request_url: row.try_get("request_url")?,
            request_headers: optional_json(row, "request_headers", &owner)?,
            response_body: row.try_get("response_body")?,
            error: row.try_get("error")?,
            report: optional_json(row, "report", &owner)?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            connector_version: row.try_get("connector_version")?,
            component_digest: row.try_get("component_digest")?,
            id,
        })
    }
}

/// A delivery with every attempt made, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryDetail {
    /// The delivery.
    pub delivery: Delivery,
    /// Its attempts by number.
    pub attempts: Vec<Attempt>,
}

/// Which deliveries of a store to list or retry; unset fields match all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only this kind of target.
    pub target_kind: Option<TargetKind>,
    /// Only this subscription or configuration.
    pub target_id: Option<String>,
    /// Only deliveries of this event.
    pub event_id: Option<String>,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only those created at or after this time.
    pub created_from: Option<UnixMillis>,
    /// Only those created before this time.
    pub created_before: Option<UnixMillis>,
}

/// The most items one page holds.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Which page of a listing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The `next_cursor` of the previous page; none for the first page.
    pub cursor: Option<String>,
    /// How many items at most, clamped to 1..=[`MAX_PAGE_SIZE`].
    pub limit: u32,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass this to read the next page; none on the last page.
    pub next_cursor: Option<String>,
}

/// Appends `AND ...` for every set field of `filter`.
fn push_filter<'q>(sql: &mut SqlBuilder<'q>, filter: &'q DeliveryFilter) {
    if let Some(status) = filter.status {
        sql.push(" AND status = ").bind(status.as_str());
    }
    if let Some(kind) = filter.target_kind {
        sql.push(" AND target_kind = ").bind(kind.as_str());
    }
    if let Some(target_id) = &filter.target_id {
        sql.push(" AND target_id = ").bind(target_id.as_str());
    }
    if let Some(event_id) = &filter.event_id {
        sql.push(" AND event_id = ").bind(event_id.as_str());
    }
    if let Some(event_type) = &filter.event_type {
        sql.push(" AND event_type = ").bind(event_type.as_str());
    }
    if let Some(from) = filter.created_from {
        sql.push(" AND created_at >= ").bind(from);
    }
    if let Some(before) = filter.created_before {
        sql.push(" AND created_at < ").bind(before);
    }
}

impl Db {
    /// The deliveries of `store_id` matching `filter`, newest first.
    pub async fn list_deliveries(
        &self,
        store_id: &str,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        let limit = page.limit.clamp(1, MAX_PAGE_SIZE) as usize;
        let mut sql = SqlBuilder::new(
            self.backend(),
            &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE store_id = "),
        );
        sql.bind(store_id);
        push_filter(&mut sql, filter);
        if let Some(cursor) = &page.cursor {
            sql.push(" AND id < ").bind(cursor.as_str());
        }
        // One more than asked tells whether another page follows.
        sql.push(" ORDER BY id DESC LIMIT ").bind(limit as i64 + 1);
        let rows = sql.fetch_all(self.reader()).await?;
        let mut items = rows
            .iter()
            .map(Delivery::from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| last.id.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// The delivery `delivery_id` of `store_id` with its attempts.
    pub async fn get_delivery(&self, store_id: &str, delivery_id: &str) -> Result<DeliveryDetail> {
        let mut conn = self.reader().acquire().await?;
        let row = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE store_id = $1 AND id = $2"
        ))
        .bind(store_id)
        .bind(delivery_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StorageError::not_found("delivery", delivery_id))?;
        let attempts = sqlx::query(
            "SELECT id, delivery_id, store_id, number, trigger, started_at, duration_ms, outcome, \
             http_status, request_url, request_headers, response_body, error, report, \
             next_attempt_at, connector_version, component_digest FROM attempts WHERE delivery_id = $1 AND store_id = $2 \
             ORDER BY number",
        )
        .bind(delivery_id)
        .bind(store_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(DeliveryDetail {
            delivery: Delivery::from_row(&row)?,
            attempts: attempts
                .iter()
                .map(Attempt::from_row)
                .collect::<Result<_>>()?,
        })
    }

    /// Makes a dead or pending delivery of `store_id` due `now`, its next
    /// attempt recorded as [`AttemptTrigger::Manual`].
    ///
    /// Refused with [`StorageError::Conflict`] when it was delivered already
    /// or a worker holds it right now.
    pub async fn retry_delivery_now(
        &self,
        store_id: &str,
        delivery_id: &str,
        now: UnixMillis,
    ) -> Result<Delivery> {
        let mut tx = self.writer().begin().await?;
        let retried = sqlx::query(&format!(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $3, \
             next_trigger = 'manual', finished_at = NULL, updated_at = $3 \
             WHERE store_id = $1 AND id = $2 AND status IN ('pending', 'dead') \
             AND lease_expires_at <= $3 RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(store_id)
        .bind(delivery_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = retried {
            let delivery = Delivery::from_row(&row)?;
            tx.commit().await?;
            return Ok(delivery);
        }
        let current = sqlx::query("SELECT status FROM deliveries WHERE store_id = $1 AND id = $2")
            .bind(store_id)
            .bind(delivery_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StorageError::not_found("delivery", delivery_id))?;
        Err(match stored(&current, "status")? {
            DeliveryStatus::Delivered => {
                StorageError::Conflict(format!("delivery {delivery_id} was delivered already"))
            }
            _ => StorageError::Conflict(format!(
                "delivery {delivery_id} is being attempted right now"
            )),
        })
    }

    /// How many deliveries of all stores are in each status, by target kind;
    /// for the metrics gauge.
    pub async fn count_deliveries(&self) -> Result<Vec<(DeliveryStatus, TargetKind, u64)>> {
        let rows = sqlx::query(
            "SELECT status, target_kind, COUNT(*) AS n FROM deliveries \
             GROUP BY status, target_kind",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    stored(row, "status")?,
                    stored(row, "target_kind")?,
                    narrow(row, "n")?,
                ))
            })
            .collect()
    }

    /// Makes every dead delivery of `store_id` matching `filter` pending and
    /// due `now` (a manual retry); returns how many.
    pub async fn retry_dead_deliveries(
        &self,
        store_id: &str,
        filter: &DeliveryFilter,
        now: UnixMillis,
    ) -> Result<u64> {
        let mut sql = SqlBuilder::new(
            self.backend(),
            "UPDATE deliveries SET status = 'pending', next_trigger = 'manual', \
             finished_at = NULL, next_attempt_at = ",
        );
        sql.bind(now)
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE status = 'dead' AND store_id = ")
            .bind(store_id);
        push_filter(&mut sql, filter);
        sql.execute(self.writer()).await
    }
}
