//! `/v1/bus/rejected`: the messages taken from the message bus that were not
//! events, acknowledged so the bus stops redelivering them and kept here
//! with the reason. For operators only.

use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sluice_storage::RejectedMessage;
use utoipa::{IntoParams, ToSchema};

use crate::{ApiResult, AppState, FieldProblem, Problem, State, timestamp};

/// Most rejected messages on one page.
const MAX_PAGE: u32 = 500;
/// Rejected messages on a page unless `limit` says otherwise.
const DEFAULT_PAGE: u32 = 50;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v1/bus/rejected", get(rejected))
}

/// Paging and filtering of the rejected-message log.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RejectedQuery {
    /// Only messages that named this store.
    pub store_id: Option<String>,
    /// `next_before` of the previous page: only older messages.
    pub before: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// A message from the bus that was not an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedView {
    /// `rej_...`.
    pub id: String,
    /// The store the message named, if it named one.
    pub store_id: Option<String>,
    /// The bus, such as `nats`.
    pub source: String,
    /// The subject it came on.
    pub subject: String,
    /// Where it was in the bus, such as `stream PLATFORM sequence 42 (delivery 1)`.
    pub position: String,
    /// Why it is not an event, field by field (`<message>` for the whole message).
    pub reason: Vec<FieldProblem>,
    /// The message as text, when its kept bytes are UTF-8.
    pub payload_text: Option<String>,
    /// The kept bytes of the message, base64 (standard alphabet).
    pub payload_base64: String,
    /// How long the message was, in bytes.
    pub payload_size: u64,
    /// Whether only the first 64 KiB were kept.
    pub payload_truncated: bool,
    /// When it was rejected.
    pub rejected_at: String,
}

impl From<RejectedMessage> for RejectedView {
    fn from(message: RejectedMessage) -> Self {
        let reason = serde_json::from_str(&message.reason).unwrap_or_else(|_| {
            vec![FieldProblem {
                field: "<message>".into(),
                message: message.reason.clone(),
            }]
        });
        Self {
            id: message.id,
            store_id: message.store_id,
            source: message.source,
            subject: message.subject,
            position: message.position,
            reason,
            payload_text: String::from_utf8(message.payload.clone()).ok(),
            payload_base64: base64::engine::general_purpose::STANDARD.encode(&message.payload),
            payload_truncated: (message.payload.len() as u64) < message.payload_size,
            payload_size: message.payload_size,
            rejected_at: timestamp(message.rejected_at),
        }
    }
}

/// A page of the rejected-message log.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedPage {
    /// Newest first.
    pub items: Vec<RejectedView>,
    /// Pass as `before` for the next page; none on the last page.
    pub next_before: Option<String>,
}

/// Lists the messages taken from the bus that were not events, newest first.
/// Each was acknowledged (the bus does not deliver it again) only after it
/// was stored here.
#[utoipa::path(
    get, path = "/v1/bus/rejected", tag = "bus",
    params(RejectedQuery),
    responses(
        (status = 200, body = RejectedPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn rejected(
    state: State,
    query: Result<Query<RejectedQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<RejectedPage>> {
    let Query(query) =
        query.map_err(|rejection| Problem::invalid_field("<query>", rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_field(
            "limit",
            format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    let items = state
        .db
        .list_rejected(query.store_id.as_deref(), query.before.as_deref(), limit)
        .await?;
    let next_before = if items.len() == limit as usize {
        items.last().map(|item| item.id.clone())
    } else {
        None
    };
    Ok(axum::Json(RejectedPage {
        items: items.into_iter().map(Into::into).collect(),
        next_before,
    }))
}
