//! Google's JSON error envelope for the Merchant API:
//! `{"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT"}}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::WWW_AUTHENTICATE;
use serde_json::json;

/// The canonical RPC status codes the Merchant API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcStatus {
    /// 400: the request is malformed or a field is invalid.
    InvalidArgument,
    /// 401: no access token, or one that is unknown, expired or revoked.
    Unauthenticated,
    /// 403: the caller may not touch the account, or its token lacks the scope.
    PermissionDenied,
    /// 404: no such product, product input or data source.
    NotFound,
    /// 409: an insert carried a `versionNumber` older than the stored one.
    Aborted,
    /// 429: a quota ran out. Google sends no `Retry-After`.
    ResourceExhausted,
    /// 500: a failure on Google's side.
    Internal,
    /// 503: the service is briefly unavailable.
    Unavailable,
}

impl RpcStatus {
    /// The HTTP status Google maps the code to.
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::InvalidArgument => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Aborted => StatusCode::CONFLICT,
            Self::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The name in the error's `status` field.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::NotFound => "NOT_FOUND",
            Self::Aborted => "ABORTED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::Internal => "INTERNAL",
            Self::Unavailable => "UNAVAILABLE",
        }
    }

    /// The message Google's front end uses when the service gives none.
    fn canonical_message(self) -> &'static str {
        match self {
            Self::InvalidArgument => "Request contains an invalid argument.",
            Self::Unauthenticated => INVALID_CREDENTIALS,
            Self::PermissionDenied => "The caller does not have permission",
            Self::NotFound => "Requested entity was not found.",
            Self::Aborted => "The operation was aborted.",
            Self::ResourceExhausted => "Resource has been exhausted (e.g. check quota).",
            Self::Internal => "Internal error encountered.",
            Self::Unavailable => "The service is currently unavailable.",
        }
    }
}

/// The 401 message for a token Google does not accept.
pub(super) const INVALID_CREDENTIALS: &str = "Request had invalid authentication credentials. \
    Expected OAuth 2 access token, login cookie or other valid authentication credential. \
    See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// The 401 message when no credential was sent at all.
pub(super) const MISSING_CREDENTIALS: &str = "Request is missing required authentication \
    credential. Expected OAuth 2 access token, login cookie or other valid authentication \
    credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// A Merchant API error: its status and message. Also what tests script as
/// failures ([`FakeGoogle::fail_merchant_calls`](super::FakeGoogle::fail_merchant_calls)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The RPC status.
    pub status: RpcStatus,
    /// The human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with a specific message.
    pub fn new(status: RpcStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 `INVALID_ARGUMENT` with `message`, which names the field.
    pub(super) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(RpcStatus::InvalidArgument, message)
    }
}

impl From<RpcStatus> for ApiError {
    /// The error with Google's canonical message for `status`.
    fn from(status: RpcStatus) -> Self {
        Self::new(status, status.canonical_message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status.http_status();
        let body = Json(json!({"error": {
            "code": status.as_u16(),
            "message": self.message,
            "status": self.status.name(),
        }}));
        if self.status == RpcStatus::Unauthenticated {
            let challenge = r#"Bearer realm="https://accounts.google.com/", error="invalid_token""#;
            (status, [(WWW_AUTHENTICATE, challenge)], body).into_response()
        } else {
            (status, body).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn renders_googles_error_envelope_with_the_http_code() {
        let response = ApiError::invalid_argument("offerId: required").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            body_of(response).await,
            json!({"error": {"code": 400, "message": "offerId: required", "status": "INVALID_ARGUMENT"}})
        );
    }

    #[tokio::test]
    async fn unauthenticated_errors_carry_a_bearer_challenge() {
        let response = ApiError::from(RpcStatus::Unauthenticated).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer ")
        );
        assert_eq!(
            body_of(response).await["error"]["message"],
            INVALID_CREDENTIALS
        );
    }

    #[test]
    fn each_status_maps_to_its_http_code() {
        let codes: Vec<u16> = [
            RpcStatus::InvalidArgument,
            RpcStatus::Unauthenticated,
            RpcStatus::PermissionDenied,
            RpcStatus::NotFound,
            RpcStatus::Aborted,
            RpcStatus::ResourceExhausted,
            RpcStatus::Internal,
            RpcStatus::Unavailable,
        ]
        .into_iter()
        .map(|status| status.http_status().as_u16())
        .collect();
        assert_eq!(codes, [400, 401, 403, 404, 409, 429, 500, 503]);
    }
}
