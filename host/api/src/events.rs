//! `POST /v1/events`: one event or a batch, idempotent on (store, event id).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Serialize;
use sluice_credentials::Principal;
use sluice_events::parse_events;
use sluice_storage::{IngestStatus, StoredEvent};
use utoipa::ToSchema;

use crate::problem::read_body;
use crate::{ApiResult, AppState, FieldProblem, Problem, State, timestamp};

/// Largest request body: a full batch of average-sized events.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/events", post(ingest))
        .route("/v1/stores/{store_id}/events/{event_id}", get(read))
}

/// What happened to one event of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    /// The event's store.
    pub store_id: String,
    /// The event's id.
    pub event_id: String,
    /// `created`, or `duplicate` when this (store, id) was accepted before:
    /// nothing new was created for it.
    pub status: &'static str,
    /// Deliveries created for it.
    pub deliveries: usize,
}

/// The answer to an ingest request, in the order of the events sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    /// One result per event sent.
    pub results: Vec<IngestResult>,
}

/// Accepts one event or an array of up to 1,000; answers once they and
/// their deliveries are committed.
#[utoipa::path(
    post, path = "/v1/events", tag = "events",
    request_body(content = crate::openapi::EventInput, description = "One event, or an array of up to 1,000"),
    responses(
        (status = 202, description = "Stored with their deliveries", body = IngestResponse),
        (status = 403, description = "A store credential sent events of another store", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn ingest(
    state: State,
    Extension(principal): Extension<Principal>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let body = read_body(body, MAX_BODY_BYTES).await?;
    let events = parse_events(&body).map_err(|errors| {
        state
            .metrics
            .events_not_accepted
            .with_label_values(&["invalid"])
            .inc();
        Problem::invalid(
            errors
                .into_iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    })?;
    check_stores(&principal, &body, &events)?;

    let outcomes =
        state
            .ingestor
            .ingest(events)
            .await
            .map_err(|error| match Arc::try_unwrap(error) {
                Ok(error) => Problem::from(error),
                Err(shared) => Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ingest-unavailable",
                    shared.to_string(),
                ),
            })?;
    let results = outcomes
        .into_iter()
        .map(|outcome| IngestResult {
            store_id: outcome.store_id,
            event_id: outcome.event_id,
            status: match outcome.status {
                IngestStatus::Created => "created",
                IngestStatus::Duplicate => "duplicate",
            },
            deliveries: outcome.deliveries,
        })
        .collect();
    Ok((StatusCode::ACCEPTED, axum::Json(IngestResponse { results })))
}

/// A store credential sends events of its own store only; every event of
/// another store is named.
fn check_stores(
    principal: &Principal,
    body: &[u8],
    events: &[sluice_storage::NewEvent],
) -> ApiResult<()> {
    let Some(own) = principal.store_id() else {
        return Ok(());
    };
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let errors: Vec<FieldProblem> = events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.store_id != own)
        .map(|(index, event)| FieldProblem {
            field: if batch {
                format!("events[{index}].store_id")
            } else {
                "store_id".to_owned()
            },
            message: format!(
                "this credential sends events of store {own} only, not {}",
                event.store_id
            ),
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(Problem {
        errors,
        ..Problem::new(
            StatusCode::FORBIDDEN,
            "other-store",
            format!("this credential sends events of store {own} only"),
        )
    })
}

/// A stored event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// The event's id, unique in its store.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its store.
    pub store_id: String,
    /// When it happened.
    pub occurred_at: String,
    /// When Sluice accepted it.
    pub received_at: String,
    /// Where it came from: `api`, `sync`, `inbound` or `system`.
    pub source: String,
    /// The payload, exactly as sent.
    #[schema(value_type = Object)]
    pub payload: Box<serde_json::value::RawValue>,
}

impl EventView {
    fn new(event: StoredEvent) -> ApiResult<Self> {
        let payload = serde_json::value::RawValue::from_string(event.payload)
            .map_err(|error| Problem::internal(&error))?;
        Ok(Self {
            id: event.id,
            event_type: event.event_type,
            store_id: event.store_id,
            occurred_at: timestamp(event.occurred_at),
            received_at: timestamp(event.received_at),
            source: event.source.as_str().to_owned(),
            payload,
        })
    }
}

/// Reads one event of the store.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/events/{event_id}", tag = "events",
    params(("store_id" = String, Path), ("event_id" = String, Path)),
    responses(
        (status = 200, body = EventView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn read(
    state: State,
    Path((store_id, event_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<EventView>> {
    let event = state.db.get_event(&store_id, &event_id).await?;
    Ok(axum::Json(EventView::new(event)?))
}
