//! Incoming webhooks: `POST https://hooks.slack.com/services/T.../B.../...`.
//!
//! Success is `200 ok` in plain text; failures are plain-text codes with
//! their HTTP status, except the rate limit, which is JSON with
//! `Retry-After`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Map, Value, json};

use super::body::{Encoding, encoding, form_fields};
use super::message::{ContentError, MessageContent};
use super::workspace::WebhookRefusal;
use super::{PostedVia, SlackState, WEBHOOK_HOST};
use crate::rate_limit::RetryAfter;

/// How an incoming webhook post can fail, as Slack answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFailure {
    /// 400 `invalid_payload`: the body is not JSON or the blocks are malformed.
    InvalidPayload,
    /// 400 `no_text`: neither text nor blocks.
    NoText,
    /// 403 `action_prohibited`: an admin restricted posting.
    ActionProhibited,
    /// 404 `channel_not_found`: the webhook's channel is gone.
    ChannelNotFound,
    /// 404 `no_service`: the webhook is unknown or was removed.
    NoService,
    /// 410 `channel_is_archived`.
    ChannelIsArchived,
    /// 500 `rollup_error`: a transient failure on Slack's side.
    RollupError,
    /// 429 with `Retry-After: <retry_after_secs>`.
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
}

impl WebhookFailure {
    /// The HTTP status Slack answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidPayload | Self::NoText => StatusCode::BAD_REQUEST,
            Self::ActionProhibited => StatusCode::FORBIDDEN,
            Self::ChannelNotFound | Self::NoService => StatusCode::NOT_FOUND,
            Self::ChannelIsArchived => StatusCode::GONE,
            Self::RollupError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The error code in the body.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidPayload => "invalid_payload",
            Self::NoText => "no_text",
            Self::ActionProhibited => "action_prohibited",
            Self::ChannelNotFound => "channel_not_found",
            Self::NoService => "no_service",
            Self::ChannelIsArchived => "channel_is_archived",
            Self::RollupError => "rollup_error",
            Self::RateLimited { .. } => "rate_limited",
        }
    }
}

impl IntoResponse for WebhookFailure {
    fn into_response(self) -> Response {
        match self {
            Self::RateLimited { retry_after_secs } => (
                self.status(),
                [(RETRY_AFTER, retry_after_secs.to_string())],
                Json(json!({"ok": false, "error": self.code(), "retry_after": retry_after_secs})),
            )
                .into_response(),
            _ => (self.status(), self.code()).into_response(),
        }
    }
}

impl From<WebhookRefusal> for WebhookFailure {
    fn from(refusal: WebhookRefusal) -> Self {
        match refusal {
            WebhookRefusal::UnknownWebhook => Self::NoService,
            WebhookRefusal::ChannelGone => Self::ChannelNotFound,
            WebhookRefusal::ChannelArchived => Self::ChannelIsArchived,
        }
    }
}

impl From<RetryAfter> for WebhookFailure {
    fn from(wait: RetryAfter) -> Self {
        Self::RateLimited {
            retry_after_secs: wait.header_seconds(),
        }
    }
}

impl From<ContentError> for WebhookFailure {
    fn from(error: ContentError) -> Self {
        match error {
            ContentError::NoText => Self::NoText,
            ContentError::TextNotAString | ContentError::Blocks(_) => Self::InvalidPayload,
        }
    }
}

/// The incoming-webhook routes, on `hooks.slack.com`.
pub(super) fn routes(slack: SlackState) -> Router {
    Router::new()
        .route("/services/{*webhook}", axum::routing::post(post))
        .with_state(slack)
}

/// `POST /services/...`.
async fn post(
    State(slack): State<SlackState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, WebhookFailure> {
    let path = uri.path();
    let channel = slack.workspace.lock().webhook_channel(path)?;
    slack.webhook_limiter.acquire(path.to_owned())?;
    let payload = payload(&headers, &body).ok_or(WebhookFailure::InvalidPayload)?;
    let content = MessageContent::from_fields(&payload)?;
    let url = format!("https://{WEBHOOK_HOST}{path}");
    slack.post(channel, content, PostedVia::Webhook { url });
    Ok("ok")
}

/// The JSON payload: the body itself, or the `payload` field of a form, as
/// Slack also accepts.
fn payload(headers: &HeaderMap, body: &[u8]) -> Option<Map<String, Value>> {
    match encoding(headers) {
        Encoding::Form => {
            let payload = form_fields(body).remove("payload")?;
            serde_json::from_str(payload.as_str()?).ok()
        }
        Encoding::Json { .. } | Encoding::Other => serde_json::from_slice(body).ok(),
    }
}
