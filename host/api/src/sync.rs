//! `/v1/stores/{store_id}/connectors/{id}/sync`: pull now, and the sync log.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Serialize;
use sluice_storage::SyncRun;
use utoipa::ToSchema;

use crate::{ApiResult, AppState, Problem, State, timestamp};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/stores/{store_id}/connectors/{id}/sync", post(request))
        .route("/v1/stores/{store_id}/connectors/{id}/sync-runs", get(runs))
}

/// A sync requested.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRequested {
    /// The entities that will be pulled now, for example `["orders"]`.
    pub entities: Vec<String>,
}

/// Pulls every entity of the configuration now, instead of at its next
/// scheduled time. The run appears in the sync log when it ends.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/connectors/{id}/sync", tag = "sync",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 202, body = SyncRequested),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The connector offers no sync, or the configuration is inactive", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn request(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let entities = request_sync(&state, &store_id, &id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(SyncRequested { entities })))
}

/// Makes every entity of configuration `id` of `store_id` due for a sync now;
/// returns the entities.
pub async fn request_sync(state: &AppState, store_id: &str, id: &str) -> ApiResult<Vec<String>> {
    let config = state.db.get_connector_config(store_id, id).await?;
    let entities = state.syncer.entities_of(&config.connector_id);
    if entities.is_empty() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "unsupported",
            format!("{} offers no sync", config.connector_id),
        ));
    }
    if !config.active {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "inactive",
            format!("connector configuration {id} is inactive"),
        ));
    }
    let now = state.clock.now_ms();
    state
        .db
        .ensure_sync_positions(store_id, id, &entities, now)
        .await?;
    state.db.request_sync(store_id, id, now).await?;
    state.sync_waker.wake();
    Ok(entities)
}

/// One run of the sync log.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRunView {
    /// `syn_...`.
    pub id: String,
    /// What was pulled.
    pub entity: String,
    /// `inbound`: records came from the remote system.
    pub direction: String,
    /// `scheduled` or `manual`.
    pub trigger: String,
    /// `succeeded`, `failed`, or `partial` (some batches stored, then a failure).
    pub status: String,
    /// Batches stored.
    pub batches: u64,
    /// Records received.
    pub records: u64,
    /// Events created (new orders and changed ones).
    pub events: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
}

impl From<SyncRun> for SyncRunView {
    fn from(run: SyncRun) -> Self {
        Self {
            id: run.id,
            entity: run.entity,
            direction: run.direction,
            trigger: run.trigger,
            status: run.status,
            batches: run.batches,
            records: run.records,
            events: run.events,
            error: run.error,
            started_at: timestamp(run.started_at),
            finished_at: timestamp(run.finished_at),
        }
    }
}

/// The sync log of a configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRunList {
    /// The newest 100 runs, newest first.
    pub items: Vec<SyncRunView>,
}

/// Reads the sync log of a configuration.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/connectors/{id}/sync-runs", tag = "sync",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = SyncRunList),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn runs(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<SyncRunList>> {
    state.db.get_connector_config(&store_id, &id).await?;
    let runs = state.db.list_sync_runs(&store_id, &id, 100).await?;
    Ok(axum::Json(SyncRunList {
        items: runs.into_iter().map(Into::into).collect(),
    }))
}
