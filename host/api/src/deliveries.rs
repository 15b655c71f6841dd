//! `/v1/stores/{store_id}/deliveries`: what a store admin looks at when
//! something failed. Listing with filters, one delivery with every attempt
//! (request headers sent, response, error, and for connectors the
//! invocation report), retrying one now, and retrying dead letters in bulk.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sluice_storage::{
    Attempt, Delivery, DeliveryFilter, DeliveryStatus, MAX_PAGE_SIZE, PageRequest, TargetKind,
};
use utoipa::{IntoParams, ToSchema};

use crate::problem::{parse_json, read_body};
use crate::{ApiResult, AppState, Problem, State, parse_timestamp, timestamp};

/// Page size when none is asked for.
const DEFAULT_PAGE_SIZE: u32 = 50;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/stores/{store_id}/deliveries", get(list))
        .route("/v1/stores/{store_id}/deliveries/retry", post(retry_dead))
        .route("/v1/stores/{store_id}/deliveries/{id}", get(read))
        .route("/v1/stores/{store_id}/deliveries/{id}/retry", post(retry))
}

/// A delivery of one event to one target.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `dlv_...`.
    pub id: String,
    /// The store.
    pub store_id: String,
    /// The event delivered.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// `webhook` or `connector`.
    pub target_kind: String,
    /// The subscription or configuration id.
    pub target_id: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts made so far.
    pub attempt_count: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// The id the target gave the delivered message (a Slack `ts`, ...).
    pub external_id: Option<String>,
    /// When the delivery was created.
    pub created_at: String,
    /// When it was delivered or dead-lettered.
    pub finished_at: Option<String>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            next_attempt_at: (d.status == DeliveryStatus::Pending)
                .then(|| timestamp(d.next_attempt_at)),
            id: d.id,
            store_id: d.store_id,
            event_id: d.event_id,
            event_type: d.event_type,
            target_kind: d.target_kind.as_str().to_owned(),
            target_id: d.target_id,
            status: d.status.as_str().to_owned(),
            attempt_count: d.attempt_count,
            last_error: d.last_error,
            external_id: d.external_id,
            created_at: timestamp(d.created_at),
            finished_at: d.finished_at.map(timestamp),
        }
    }
}

/// One attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first attempt.
    pub number: u32,
    /// `scheduled`, or `manual` for an admin's retry.
    pub trigger: String,
    /// When it started.
    pub started_at: String,
    /// How long it took.
    pub duration_ms: i64,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// The target's HTTP status, for webhooks.
    pub http_status: Option<u16>,
    /// The URL posted to, for webhooks.
    pub request_url: Option<String>,
    /// The headers sent, for webhooks.
    #[schema(value_type = Option<Object>)]
    pub request_headers: Option<serde_json::Value>,
    /// The start of the response body.
    pub response_body: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// For connectors: the invocation report (egress log, logs, fuel, memory).
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    /// When the next attempt was scheduled after this one.
    pub next_attempt_at: Option<String>,
    /// For connectors: the connector version that ran it.
    pub connector_version: Option<String>,
    /// For connectors: the SHA-256 of the component that ran it.
    pub component_digest: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            number: a.number,
            trigger: a.trigger.as_str().to_owned(),
            started_at: timestamp(a.started_at),
            duration_ms: a.duration_ms,
            outcome: a.outcome.as_str().to_owned(),
            http_status: a.http_status,
            request_url: a.request_url,
            request_headers: a.request_headers,
            response_body: a.response_body,
            error: a.error,
            report: a.report,
            next_attempt_at: a.next_attempt_at.map(timestamp),
            connector_version: a.connector_version,
            component_digest: a.component_digest,
        }
    }
}

/// A delivery with its attempts, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetailView {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// Its attempts.
    pub attempts: Vec<AttemptView>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// The deliveries.
    pub items: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Filters of the delivery list and of bulk retries.
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// `pending`, `delivered` or `dead`.
    pub status: Option<String>,
    /// `webhook` or `connector`.
    pub target_kind: Option<String>,
    /// A subscription or configuration id.
    pub target_id: Option<String>,
    /// An event id.
    pub event_id: Option<String>,
    /// An exact event type.
    pub event_type: Option<String>,
    /// Created at or after this RFC 3339 time.
    pub created_from: Option<String>,
    /// Created before this RFC 3339 time.
    pub created_before: Option<String>,
}

impl Filter {
    /// Checks the filter and turns it into storage's, naming a wrong field.
    pub fn to_storage(&self) -> ApiResult<DeliveryFilter> {
        Ok(DeliveryFilter {
            status: self
                .status
                .as_deref()
                .map(|s| {
                    DeliveryStatus::parse(s).ok_or_else(|| {
                        Problem::invalid_field("status", "must be pending, delivered or dead")
                    })
                })
                .transpose()?,
            target_kind: self
                .target_kind
                .as_deref()
                .map(|s| {
                    TargetKind::parse(s).ok_or_else(|| {
                        Problem::invalid_field("target_kind", "must be webhook or connector")
                    })
                })
                .transpose()?,
            target_id: self.target_id.clone(),
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            created_from: self
                .created_from
                .as_deref()
                .map(|t| parse_timestamp("created_from", t))
                .transpose()?,
            created_before: self
                .created_before
                .as_deref()
                .map(|t| parse_timestamp("created_before", t))
                .transpose()?,
        })
    }
}

/// Paging of the delivery list.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListQuery {
    /// The filters.
    #[serde(flatten)]
    #[param(inline)]
    pub filter: Filter,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// Lists deliveries, newest first.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/deliveries", tag = "deliveries",
    params(("store_id" = String, Path), ListQuery),
    responses(
        (status = 200, body = DeliveryPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn list(
    state: State,
    Path(store_id): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<DeliveryPage>> {
    let Query(query) =
        query.map_err(|rejection| Problem::invalid_field("<query>", rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(Problem::invalid_field(
            "limit",
            format!("must be 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    let filter = query.filter.to_storage()?;
    let page = state
        .db
        .list_deliveries(
            &store_id,
            &filter,
            &PageRequest {
                cursor: query.cursor,
                limit,
            },
        )
        .await?;
    Ok(axum::Json(DeliveryPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Reads one delivery with every attempt.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/deliveries/{id}", tag = "deliveries",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = DeliveryDetailView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn read(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<DeliveryDetailView>> {
    let detail = state.db.get_delivery(&store_id, &id).await?;
    Ok(axum::Json(DeliveryDetailView {
        delivery: detail.delivery.into(),
        attempts: detail.attempts.into_iter().map(Into::into).collect(),
    }))
}

/// Attempts a dead or waiting delivery now.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/deliveries/{id}/retry", tag = "deliveries",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 202, body = DeliveryView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Delivered already, or being attempted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn retry(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let delivery = retry_delivery(&state, &store_id, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(DeliveryView::from(delivery)),
    ))
}

/// Makes delivery `id` of `store_id` due now and wakes the workers.
pub async fn retry_delivery(state: &AppState, store_id: &str, id: &str) -> ApiResult<Delivery> {
    let delivery = state
        .db
        .retry_delivery_now(store_id, id, state.clock.now_ms())
        .await?;
    state.waker.wake();
    Ok(delivery)
}

/// How many dead letters a bulk retry revived.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRetried {
    /// Deliveries made due now.
    pub retried: u64,
}

/// Attempts again, now, every dead-lettered delivery matching the filter.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/deliveries/retry", tag = "deliveries",
    params(("store_id" = String, Path)),
    request_body(content = Filter, description = "Which dead letters; `status` must be absent or `dead`"),
    responses(
        (status = 202, body = BulkRetried),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn retry_dead(
    state: State,
    Path(store_id): Path<String>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let body = read_body(body, 16 * 1024).await?;
    let filter: Filter = if body.iter().all(u8::is_ascii_whitespace) {
        Filter::default()
    } else {
        parse_json(&body)?
    };
    let retried = retry_dead_letters(&state, &store_id, &filter).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(BulkRetried { retried })))
}

/// Makes every dead letter of `store_id` matching `filter` due now; returns
/// how many.
pub async fn retry_dead_letters(
    state: &AppState,
    store_id: &str,
    filter: &Filter,
) -> ApiResult<u64> {
    if filter.status.as_deref().is_some_and(|s| s != "dead") {
        return Err(Problem::invalid_field(
            "status",
            "only dead letters are retried in bulk",
        ));
    }
    let retried = state
        .db
        .retry_dead_deliveries(store_id, &filter.to_storage()?, state.clock.now_ms())
        .await?;
    if retried > 0 {
        state.waker.wake();
    }
    Ok(retried)
}
