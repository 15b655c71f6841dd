//! `/v1/inbound/{store_id}/{configuration_id}[/{path}]`: webhooks from third
//! parties (Slack's Events API, a marketplace's notifications), handed
//! unchanged to the configuration's connector. The connector verifies the
//! sender (no admin token here) and answers; the events it emits are
//! committed before the sender gets a success, so a failure makes the
//! sender retry and nothing is lost.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use sluice_events::check_event;
use sluice_runtime::types::{EmittedEvent, InboundRequest};
use sluice_storage::{EventSource, NewEvent};

use crate::problem::read_body;
use crate::{ApiResult, AppState, Problem, State, parse_timestamp};

/// Largest inbound request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/inbound/{store_id}/{config_id}", any(receive_at_root))
        .route("/v1/inbound/{store_id}/{config_id}/{*path}", any(receive))
}

async fn receive_at_root(
    state: State,
    Path((store_id, config_id)): Path<(String, String)>,
    request: Request,
) -> ApiResult<Response> {
    handle(state, store_id, config_id, String::new(), request).await
}

/// Hands the request to the configuration's connector.
#[utoipa::path(
    post, path = "/v1/inbound/{store_id}/{config_id}/{path}", tag = "inbound",
    params(("store_id" = String, Path), ("config_id" = String, Path), ("path" = String, Path)),
    request_body(content = Vec<u8>, description = "Whatever the sender sends; the connector verifies it"),
    responses(
        (status = 200, description = "The connector's answer"),
        (status = 401, description = "The connector rejected the sender", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not stored; the sender should retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    state: State,
    Path((store_id, config_id, path)): Path<(String, String, String)>,
    request: Request,
) -> ApiResult<Response> {
    handle(state, store_id, config_id, path, request).await
}

async fn handle(
    state: State,
    store_id: String,
    config_id: String,
    path: String,
    request: Request,
) -> ApiResult<Response> {
    let target = state.db.connector_target(&store_id, &config_id).await?;
    let connector = state
        .catalog
        .get(&target.config.connector_id)
        .filter(|c| c.offers().inbound)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "connector configuration {config_id} takes no inbound requests"
            ))
        })?;
    if !target.config.active {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "inactive",
            format!("connector configuration {config_id} is inactive"),
        ));
    }
    let (parts, body) = request.into_parts();
    let body = read_body(body, MAX_BODY_BYTES).await?;
    let inbound = InboundRequest {
        method: parts.method.to_string(),
        path: format!("/{path}"),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    };
    let context = sluice_connectors::call_context(target, &state.db, state.clock.clone(), None);
    let invocation = state
        .runtime
        .handle_inbound(&connector, context, inbound)
        .await;
    let accepted = match invocation.result {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(rejection)) => {
            let status = StatusCode::from_u16(rejection.status)
                .ok()
                .filter(StatusCode::is_client_error)
                .unwrap_or(StatusCode::BAD_REQUEST);
            return Err(Problem::new(status, "inbound-rejected", rejection.reason));
        }
        Err(failure) => {
            tracing::warn!(%failure, connector = %connector.manifest().id, "inbound handler failed");
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "connector-failed",
                format!("the connector failed: {failure}"),
            ));
        }
    };
    let now = state.clock.now_ms();
    let events = accepted
        .events
        .into_iter()
        .map(|emitted| platform_event(&store_id, emitted, now))
        .collect::<ApiResult<Vec<_>>>()?;
    if !events.is_empty() {
        state.ingestor.ingest(events).await.map_err(|error| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-stored",
                format!("the events could not be stored ({error}); retry"),
            )
        })?;
    }
    let mut response = Response::new(Body::from(accepted.response.body));
    *response.status_mut() =
        StatusCode::from_u16(accepted.response.status).unwrap_or(StatusCode::OK);
    for (name, value) in accepted.response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response.into_response())
}

/// A connector's emitted event as a platform event of the store; an
/// invalid one means the connector is at fault, so the sender should retry
/// after it is fixed.
fn platform_event(store_id: &str, emitted: EmittedEvent, now: i64) -> ApiResult<NewEvent> {
    let occurred_at = match &emitted.occurred_at {
        Some(text) => parse_timestamp("occurred_at", text)?,
        None => now,
    };
    let event = NewEvent {
        store_id: store_id.to_owned(),
        id: emitted.id,
        event_type: emitted.event_type,
        occurred_at,
        payload: emitted.payload,
        source: EventSource::Inbound,
    };
    let errors = check_event(&event);
    if let Some(first) = errors.first() {
        return Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "connector-emitted-invalid-event",
            format!(
                "the connector emitted an invalid event {}: {}: {}",
                event.id, first.field, first.message
            ),
        ));
    }
    Ok(event)
}
