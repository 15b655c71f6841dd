//! The Selling Partner API's error answer: an HTTP status and
//! `{"errors":[{"code":"...","message":"...","details":"..."}]}`.
//!
//! Which headers go with it (`x-amzn-RequestId` always, the rate limit only
//! on some statuses) is decided for every response in
//! [`response_headers`](super::response_headers).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

/// The message of every 403 `Unauthorized`.
pub const ACCESS_DENIED: &str = "Access to requested resource is denied.";

/// An SP-API error. Also what tests script as failures
/// ([`FakeAmazon::fail_operation`](super::FakeAmazon::fail_operation)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error `code` (`QuotaExceeded`, `Unauthorized`, `InvalidInput`, ...).
    pub code: String,
    /// The `message`.
    pub message: String,
    /// The `details`; Amazon sends `""` when it has none.
    pub details: String,
}

impl SpApiError {
    /// An error with every field given.
    pub fn new(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
        details: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            details: details.into(),
        }
    }

    /// 429 `QuotaExceeded`, sent without `Retry-After`: the client backs off
    /// on its own.
    pub fn quota_exceeded() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "QuotaExceeded",
            "You exceeded your quota for the requested resource.",
            "",
        )
    }

    /// 403 `Unauthorized`, `Access to requested resource is denied.`, with
    /// `details` saying why (`"The access token you provided has expired."`).
    pub fn unauthorized(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Unauthorized",
            ACCESS_DENIED,
            details,
        )
    }

    /// 500 `InternalFailure`: a transient failure on Amazon's side.
    pub fn internal_failure() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "We encountered an internal error. Please try again.",
            "",
        )
    }

    /// 503 `ServiceUnavailable`: temporary overloading or maintenance.
    pub fn service_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Service temporarily unavailable. Please try again.",
            "",
        )
    }

    /// 400 as the Listings Items API words it: `BAD_REQUEST`, `Invalid input`,
    /// with `details` naming what is wrong.
    pub fn listings_bad_request(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "Invalid input",
            details,
        )
    }

    /// 400 as the Orders API words it: `InvalidInput` with a `message`
    /// naming what is wrong.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidInput", message, "")
    }

    /// 404 with the API's own `code` (`NOT_FOUND` for listings, `NotFound`
    /// for orders).
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message, "")
    }
}

impl IntoResponse for SpApiError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{
            "code": self.code,
            "message": self.message,
            "details": self.details,
        }]});
        (self.status, Json(body)).into_response()
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
    async fn renders_amazons_error_list() {
        let response = SpApiError::quota_exceeded().into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().get(http::header::RETRY_AFTER).is_none());
        assert_eq!(
            body_of(response).await,
            json!({"errors": [{
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
                "details": "",
            }]})
        );
    }

    #[test]
    fn unauthorized_is_403_access_denied_with_the_reason_in_details() {
        let error = SpApiError::unauthorized("The access token you provided has expired.");
        assert_eq!(error.status, StatusCode::FORBIDDEN);
        assert_eq!(error.code, "Unauthorized");
        assert_eq!(error.message, ACCESS_DENIED);
        assert_eq!(error.details, "The access token you provided has expired.");
    }
}
