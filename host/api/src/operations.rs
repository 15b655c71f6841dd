//! What operators and their tooling call: liveness, readiness, metrics and
//! the OpenAPI document.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;

use crate::{AppState, Problem, State};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// The process can serve: the database answers. Connectors still compiling
/// do not hold readiness back: they are listed under `loading`, and their
/// deliveries wait for them.
async fn readyz(state: State) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => axum::Json(json!({
            "status": "ready",
            "connectors": state.catalog.all().len(),
            "loading": state.catalog.loading(),
        }))
        .into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "the database does not answer",
            )
            .into_response()
        }
    }
}

/// Prometheus text format; delivery counts, open circuits and the bus
/// outbox's backlog are read from the database at scrape time, so every node
/// reports the same shared queue.
async fn metrics(state: State) -> impl IntoResponse {
    match state.db.count_deliveries().await {
        Ok(counts) => {
            state.metrics.deliveries.reset();
            for (status, kind, count) in counts {
                state
                    .metrics
                    .deliveries
                    .with_label_values(&[status.as_str(), kind.as_str()])
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
        Err(error) => tracing::warn!(%error, "cannot count deliveries for /metrics"),
    }
    match state.db.count_circuits().await {
        Ok(counts) => {
            state.metrics.circuits.reset();
            for (circuit, kind, count) in counts {
                state
                    .metrics
                    .circuits
                    .with_label_values(&[circuit.as_str(), kind.as_str()])
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
        Err(error) => tracing::warn!(%error, "cannot count circuits for /metrics"),
    }
    match state.db.outbox_backlog().await {
        Ok(backlog) => state
            .metrics
            .bus_outbox_backlog
            .with_label_values::<&str>(&[])
            .set(i64::try_from(backlog).unwrap_or(i64::MAX)),
        Err(error) => tracing::warn!(%error, "cannot count the bus outbox for /metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    axum::Json(crate::openapi::document())
}
