//! The Web API methods the Slack connector calls on `slack.com`:
//! `chat.postMessage` and `auth.test`.
//!
//! Like Slack, a failed call is HTTP 200 with `{"ok":false,"error":"..."}`;
//! only the rate limit is an HTTP error (429 with `Retry-After`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use http::header::{AUTHORIZATION, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::block_kit::BlocksError;
use super::body::{Encoding, encoding, form_fields};
use super::message::{ContentError, MessageContent};
use super::workspace::{ChannelRefusal, TokenStatus};
use super::{BOT_ID, PostedVia, SlackState, TEAM, TEAM_ID, TEAM_URL, USER, USER_ID};
use crate::rate_limit::RetryAfter;

/// The longest `text` `chat.postMessage` takes, in characters.
const MAX_TEXT_CHARS: usize = 40_000;

/// The scope `chat.postMessage` needs.
const CHAT_WRITE: &str = "chat:write";

/// A Web API error code (`{"ok":false,"error":"<code>"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiError {
    /// `channel_not_found`: no such channel (or none given).
    ChannelNotFound,
    /// `not_in_channel`: the bot is not a member.
    NotInChannel,
    /// `is_archived`: the channel is archived.
    IsArchived,
    /// `msg_too_long`: text over 40,000 characters.
    MsgTooLong,
    /// `no_text`: neither text nor blocks.
    NoText,
    /// `invalid_auth`: unknown token.
    InvalidAuth,
    /// `not_authed`: no token.
    NotAuthed,
    /// `token_revoked`.
    TokenRevoked,
    /// `missing_scope`: the token lacks the method's scope.
    MissingScope,
    /// `invalid_blocks`: blocks break Block Kit rules.
    InvalidBlocks,
    /// `invalid_blocks_format`: `blocks` is not an array.
    InvalidBlocksFormat,
    /// `invalid_arguments`: an argument has the wrong type.
    InvalidArguments,
    /// `invalid_json`: a JSON body that does not parse.
    InvalidJson,
    /// `json_not_object`: a JSON body that is not an object.
    JsonNotObject,
    /// `internal_error`: a transient failure on Slack's side.
    InternalError,
    /// `fatal_error`: a failure after which part of the call may have happened.
    FatalError,
}

impl ApiError {
    /// The code Slack puts in `error`.
    pub fn code(self) -> &'static str {
        match self {
            Self::ChannelNotFound => "channel_not_found",
            Self::NotInChannel => "not_in_channel",
            Self::IsArchived => "is_archived",
            Self::MsgTooLong => "msg_too_long",
            Self::NoText => "no_text",
            Self::InvalidAuth => "invalid_auth",
            Self::NotAuthed => "not_authed",
            Self::TokenRevoked => "token_revoked",
            Self::MissingScope => "missing_scope",
            Self::InvalidBlocks => "invalid_blocks",
            Self::InvalidBlocksFormat => "invalid_blocks_format",
            Self::InvalidArguments => "invalid_arguments",
            Self::InvalidJson => "invalid_json",
            Self::JsonNotObject => "json_not_object",
            Self::InternalError => "internal_error",
            Self::FatalError => "fatal_error",
        }
    }
}

/// How a Web API call can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFailure {
    /// HTTP 200 `{"ok":false,"error":"<code>"}`.
    Error(ApiError),
    /// HTTP 429, `Retry-After: <retry_after_secs>`, `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        Rejection::from(self).into_response()
    }
}

/// A failure with the extra fields Slack adds to some errors
/// (`needed` on `missing_scope`, `errors` on `invalid_blocks`).
struct Rejection {
    failure: ApiFailure,
    details: Map<String, Value>,
}

impl Rejection {
    fn with_detail(mut self, name: &str, value: Value) -> Self {
        self.details.insert(name.to_owned(), value);
        self
    }
}

impl From<ApiFailure> for Rejection {
    fn from(failure: ApiFailure) -> Self {
        Self {
            failure,
            details: Map::new(),
        }
    }
}

impl From<ApiError> for Rejection {
    fn from(error: ApiError) -> Self {
        ApiFailure::Error(error).into()
    }
}

impl From<RetryAfter> for Rejection {
    fn from(wait: RetryAfter) -> Self {
        ApiFailure::RateLimited {
            retry_after_secs: wait.header_seconds(),
        }
        .into()
    }
}

impl From<ChannelRefusal> for Rejection {
    fn from(refusal: ChannelRefusal) -> Self {
        match refusal {
            ChannelRefusal::NotFound => ApiError::ChannelNotFound,
            ChannelRefusal::Archived => ApiError::IsArchived,
            ChannelRefusal::NotMember => ApiError::NotInChannel,
        }
        .into()
    }
}

impl From<ContentError> for Rejection {
    fn from(error: ContentError) -> Self {
        match error {
            ContentError::NoText => ApiError::NoText.into(),
            ContentError::TextNotAString => ApiError::InvalidArguments.into(),
            ContentError::Blocks(BlocksError::NotAnArray) => ApiError::InvalidBlocksFormat.into(),
            ContentError::Blocks(BlocksError::Invalid(errors)) => {
                let messages: Vec<String> = errors
                    .iter()
                    .map(|error| format!("[ERROR] {error}"))
                    .collect();
                Rejection::from(ApiError::InvalidBlocks)
                    .with_detail("errors", json!(errors))
                    .with_detail("response_metadata", json!({"messages": messages}))
            }
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self.failure {
            ApiFailure::Error(error) => {
                let mut body = Map::new();
                body.insert("ok".into(), false.into());
                body.insert("error".into(), error.code().into());
                body.extend(self.details);
                (StatusCode::OK, Json(body)).into_response()
            }
            ApiFailure::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(RETRY_AFTER, retry_after_secs.to_string())],
                Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response(),
        }
    }
}

/// The Web API routes, on `slack.com`.
pub(super) fn routes(slack: SlackState) -> Router {
    Router::new()
        .route("/api/chat.postMessage", post(post_message))
        .route("/api/auth.test", post(auth_test))
        .with_state(slack)
}

/// A method's arguments, from whichever encoding the body used.
struct CallArgs {
    fields: Map<String, Value>,
    /// Form bodies may carry the token; JSON bodies may not.
    form_token: Option<String>,
    missing_charset: bool,
}

impl CallArgs {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        match encoding(headers) {
            Encoding::Json { has_charset } => {
                let value: Value =
                    serde_json::from_slice(body).map_err(|_| ApiError::InvalidJson)?;
                let Value::Object(fields) = value else {
                    return Err(ApiError::JsonNotObject);
                };
                Ok(Self {
                    fields,
                    form_token: None,
                    missing_charset: !has_charset,
                })
            }
            Encoding::Form => {
                let mut fields = form_fields(body);
                let form_token = match fields.remove("token") {
                    Some(Value::String(token)) => Some(token),
                    _ => None,
                };
                // Form bodies carry blocks as a JSON string.
                if let Some(Value::String(blocks)) = fields.get("blocks")
                    && let Ok(parsed) = serde_json::from_str::<Value>(blocks)
                {
                    fields.insert("blocks".into(), parsed);
                }
                Ok(Self {
                    fields,
                    form_token,
                    missing_charset: false,
                })
            }
            Encoding::Other => Ok(Self {
                fields: Map::new(),
                form_token: None,
                missing_charset: false,
            }),
        }
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }
}

/// The caller's token if it is known, not revoked and (when `scope` is
/// given) carries that scope.
fn authenticate(
    slack: &SlackState,
    headers: &HeaderMap,
    args: &CallArgs,
    scope: Option<&str>,
) -> Result<String, Rejection> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let token = bearer
        .or(args.form_token.as_deref())
        .filter(|token| !token.is_empty())
        .ok_or(ApiError::NotAuthed)?;
    let status = slack.workspace.lock().token_status(token);
    match (status, scope) {
        (None, _) => Err(ApiError::InvalidAuth.into()),
        (Some(TokenStatus::Revoked), _) => Err(ApiError::TokenRevoked.into()),
        (Some(TokenStatus::MissingScope), Some(scope)) => {
            Err(Rejection::from(ApiError::MissingScope).with_detail("needed", scope.into()))
        }
        (Some(TokenStatus::Valid), _) | (Some(TokenStatus::MissingScope), None) => {
            Ok(token.to_owned())
        }
    }
}

/// `POST /api/chat.postMessage`.
async fn post_message(
    State(slack): State<SlackState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Rejection> {
    let args = CallArgs::parse(&headers, &body)?;
    let token = authenticate(&slack, &headers, &args, Some(CHAT_WRITE))?;
    let channel = slack
        .workspace
        .lock()
        .postable_channel(args.str("channel").unwrap_or_default())?;
    slack.channel_limiter.acquire(channel.clone())?;
    let content = MessageContent::from_fields(&args.fields)?;
    let text_chars = content
        .text
        .as_deref()
        .map_or(0, |text| text.chars().count());
    if text_chars > MAX_TEXT_CHARS {
        return Err(ApiError::MsgTooLong.into());
    }

    let posted = slack.post(channel, content, PostedVia::PostMessage { token });
    let mut message = json!({
        "type": "message",
        "text": posted.text.clone().unwrap_or_default(),
        "user": USER_ID,
        "bot_id": BOT_ID,
        "team": TEAM_ID,
        "ts": posted.ts,
    });
    if !posted.blocks.is_empty() {
        message["blocks"] = Value::Array(posted.blocks.clone());
    }
    let mut reply =
        json!({"ok": true, "channel": posted.channel, "ts": posted.ts, "message": message});
    if args.missing_charset {
        reply["warning"] = "missing_charset".into();
        reply["response_metadata"] = json!({"warnings": ["missing_charset"]});
    }
    Ok(Json(reply))
}

/// `POST /api/auth.test`: who the token belongs to. Needs no scope.
async fn auth_test(
    State(slack): State<SlackState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Rejection> {
    let args = CallArgs::parse(&headers, &body)?;
    authenticate(&slack, &headers, &args, None)?;
    Ok(Json(json!({
        "ok": true,
        "url": TEAM_URL,
        "team": TEAM,
        "user": USER,
        "team_id": TEAM_ID,
        "user_id": USER_ID,
        "bot_id": BOT_ID,
    })))
}
