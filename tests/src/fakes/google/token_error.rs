//! How `POST https://oauth2.googleapis.com/token` refuses a grant:
//! `{"error":"<code>","error_description":"<text>"}`, as Google words it.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

/// A refusal from the token endpoint. The codes and descriptions are
/// Google's; [`MalformedAssertion`](Self::MalformedAssertion) and
/// [`MissingAssertion`](Self::MissingAssertion) use the fake's wording where
/// Google documents none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// `invalid_grant`, `Invalid JWT Signature.`: the signature does not
    /// verify with the key named by `kid`, the key is unknown, or the header
    /// is not `{"alg":"RS256","typ":"JWT"}`.
    InvalidSignature,
    /// `invalid_grant`: `iat`/`exp` missing, more than an hour apart, or not
    /// around the current time.
    InvalidTimeframe,
    /// `invalid_grant`: `aud` is not the token endpoint.
    FailedAudienceCheck,
    /// `invalid_grant`: `iss` names no (or a deleted) service account.
    AccountNotFound,
    /// `invalid_grant`: `iss` is missing or not an email address.
    NotAValidEmail,
    /// `invalid_grant`: the assertion is not a JWT at all.
    MalformedAssertion,
    /// `invalid_scope`: no scope, or one that is not a Google API scope.
    InvalidScope,
    /// `unsupported_grant_type`: `grant_type` is not the JWT bearer grant.
    UnsupportedGrantType,
    /// `invalid_request`: no `assertion` parameter.
    MissingAssertion,
}

impl TokenError {
    /// The `error` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidSignature
            | Self::InvalidTimeframe
            | Self::FailedAudienceCheck
            | Self::AccountNotFound
            | Self::NotAValidEmail
            | Self::MalformedAssertion => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::MissingAssertion => "invalid_request",
        }
    }

    /// The `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            Self::InvalidSignature => "Invalid JWT Signature.",
            Self::InvalidTimeframe => {
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable \
                 timeframe. Check your iat and exp values in the JWT claim."
            }
            Self::FailedAudienceCheck => {
                "Invalid JWT: Failed audience check. The right audience is \
                 https://oauth2.googleapis.com/token"
            }
            Self::AccountNotFound => "Invalid grant: account not found",
            Self::NotAValidEmail => "Not a valid email or user ID.",
            Self::MalformedAssertion => {
                "Invalid JWT: the assertion is not three base64url-encoded parts \
                 (header.claims.signature) with JSON objects for header and claims."
            }
            Self::InvalidScope => "Invalid OAuth scope or ID token audience provided.",
            Self::UnsupportedGrantType => {
                "Invalid grant_type: expected urn:ietf:params:oauth:grant-type:jwt-bearer"
            }
            Self::MissingAssertion => "Missing required parameter: assertion",
        }
    }
}

/// How a token request can be made to fail by a test script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure {
    /// HTTP 400 with the error's code and description.
    Error(TokenError),
    /// HTTP 503 `temporarily_unavailable`: Google's side is down for a moment.
    Unavailable,
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        oauth_error(StatusCode::BAD_REQUEST, self.code(), self.description())
    }
}

impl IntoResponse for TokenFailure {
    fn into_response(self) -> Response {
        match self {
            Self::Error(error) => error.into_response(),
            Self::Unavailable => oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The service is currently unavailable.",
            ),
        }
    }
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}
