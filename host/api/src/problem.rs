//! Errors as `application/problem+json` (RFC 9457), each with a reason and,
//! for bad input, the fields at fault.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sluice_storage::StorageError;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field of a request that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    /// Path of the field, for example `events[2].occurred_at` or `credentials.bot_token`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (relative, under `/problems/`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// The fields at fault, for invalid requests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// Seconds after which trying again may succeed, sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, Problem>;

impl Problem {
    /// A problem of `status`, kind `kind`, with `detail`.
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// The same problem, telling the client to try again after `seconds`.
    pub fn retry_after(self, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..self
        }
    }

    /// 422: the request is well-formed but these fields are wrong.
    pub fn invalid(errors: Vec<FieldProblem>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!(
                "{} fields are invalid, first {}: {}",
                many.len(),
                many[0].field,
                many[0].message
            ),
        };
        Self {
            errors,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", detail)
        }
    }

    /// 422 for one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldProblem {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// 404 for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", what)
    }

    /// 500, with details logged and not shown.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        tracing::error!(error = %ErrorChain(error), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed inside the service; the error is logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).expect("a problem serializes");
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// How long a client should wait after the database failed: a restart or
/// failover takes seconds.
const DATABASE_RETRY_AFTER_SECONDS: u64 = 2;

impl From<StorageError> for Problem {
    fn from(error: StorageError) -> Self {
        match &error {
            StorageError::NotFound { .. } => Self::not_found(error.to_string()),
            StorageError::Conflict(reason) => Self::new(StatusCode::CONFLICT, "conflict", reason),
            StorageError::Database(_) => {
                tracing::error!(error = %ErrorChain(&error), "database failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    "the database failed; nothing was changed, try again",
                )
                .retry_after(DATABASE_RETRY_AFTER_SECONDS)
            }
            _ => Self::internal(&error),
        }
    }
}

/// Reads a request body of at most `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the request body is larger than {limit} bytes"),
        )
    })
}

/// Parses a JSON body into `T`, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            "<body>".to_owned()
        } else {
            path
        };
        let inner = error.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("not valid JSON: {inner}")
        } else {
            strip_position(&inner.to_string())
        };
        Problem::invalid_field(field, message)
    })
}

/// serde_json appends " at line L column C"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Formats an error with its sources, for logs.
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only parsed")]
    struct Sample {
        name: String,
        limits: Limits,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code, reason = "only parsed")]
    struct Limits {
        count: u32,
    }

    #[test]
    fn a_database_failure_is_a_503_asking_to_retry_after_seconds() {
        let failure = StorageError::from(sqlx::Error::PoolTimedOut);
        let response = Problem::from(failure).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn a_wrong_type_names_the_nested_field() {
        let problem = parse_json::<Sample>(br#"{"name":"a","limits":{"count":"x"}}"#).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "limits.count");
        assert!(!problem.errors[0].message.contains("line"));
    }

    #[test]
    fn a_missing_field_and_an_unknown_field_are_named() {
        let missing = parse_json::<Sample>(br#"{"limits":{"count":1}}"#).unwrap_err();
        assert!(
            missing.detail.contains("missing field `name`"),
            "{}",
            missing.detail
        );
        let unknown =
            parse_json::<Sample>(br#"{"name":"a","limits":{"count":1},"x":1}"#).unwrap_err();
        assert!(
            unknown.detail.contains("unknown field `x`"),
            "{}",
            unknown.detail
        );
    }

    #[test]
    fn broken_json_is_reported_as_such() {
        let problem = parse_json::<Sample>(b"{").unwrap_err();
        assert!(
            problem.detail.contains("not valid JSON"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn problems_are_served_as_problem_json() {
        let response = Problem::not_found("webhook subscription whk_1 not found").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
