//! What external consumers and the platform's gateway call without an
//! admin token:
//!
//! - `POST /v1/oauth/token`: the OAuth 2.0 client-credentials grant
//!   (RFC 6749 §4.4). A form-encoded `grant_type=client_credentials` and an
//!   optional `scope`, the client authenticated by HTTP Basic (preferred) or
//!   by `client_id` + `client_secret` in the body. Answers an `access_token`
//!   (`Bearer`, valid `expires_in` seconds) or an RFC 6749 §5.2 error.
//! - `GET /v1/credentials/validate`: the gateway's check of the credential
//!   a request presents, passed on unchanged in `Authorization` (`Bearer`
//!   API key or access token, or `Basic` client id and secret). Answers 200
//!   `{valid: true, store_id, scopes, ...}` or 401 `{valid: false, reason}`.
//!
//! Both count failures per source (the gateway should be configured as the
//! trusted proxy, so that its clients are counted and not the gateway) and
//! answer 429 with `Retry-After` to a source over its limit.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use sluice_credentials::{AuthError, Presented, Principal, ScopeSet, TokenError};
use utoipa::ToSchema;

use crate::auth::{auth_error, request_source};
use crate::problem::read_body;
use crate::{AppState, Problem, State};

/// Largest token request body.
const MAX_BODY_BYTES: usize = 8 * 1024;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/oauth/token", post(token))
        .route("/v1/credentials/validate", get(validate))
}

/// A token issued (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// `sat_...`, sent as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// A token request refused (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenErrorResponse {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type`,
    /// `invalid_scope`, or `temporarily_unavailable` (throttled or busy).
    pub error: &'static str,
    /// What is wrong, for the developer.
    pub error_description: String,
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn token_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> Response {
    no_store(
        (
            status,
            Json(TokenErrorResponse {
                error,
                error_description: description.into(),
            }),
        )
            .into_response(),
    )
}

fn invalid_request(description: impl Into<String>) -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// `invalid_client`: 401, with a `WWW-Authenticate` challenge when the
/// client tried HTTP Basic (RFC 6749 §5.2).
fn invalid_client(basic: bool, description: &str) -> Response {
    let mut response = token_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"sluice\""),
        );
    }
    response
}

fn unavailable(status: StatusCode, retry_after: u64, description: String) -> Response {
    let mut response = token_error(status, "temporarily_unavailable", description);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// The form's parameters; a repeated one is an error (RFC 6749 §3.2).
fn form_parameters(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut parameters: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if parameters.iter().any(|(seen, _)| *seen == name) {
            return Err(format!("the parameter {name} is repeated"));
        }
        parameters.push((name.into_owned(), value.into_owned()));
    }
    Ok(parameters)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Issues an access token to a client (the client-credentials grant).
#[utoipa::path(
    post, path = "/v1/oauth/token", tag = "credentials",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "grant_type=client_credentials&scope=orders:read; the client by HTTP Basic or client_id + client_secret"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "invalid_request, unsupported_grant_type or invalid_scope", body = TokenErrorResponse),
        (status = 401, description = "invalid_client", body = TokenErrorResponse),
        (status = 429, description = "Too many failures from this source", body = TokenErrorResponse),
    )
)]
pub async fn token(state: State, request: Request) -> Response {
    let source = request_source(&state, &request);
    let (parts, body) = request.into_parts();
    if !is_form(&parts.headers) {
        return invalid_request("the body must be application/x-www-form-urlencoded");
    }
    let body = match read_body(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(problem) => return invalid_request(problem.detail),
    };
    let parameters = match form_parameters(&body) {
        Ok(parameters) => parameters,
        Err(repeated) => return invalid_request(repeated),
    };
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|(seen, _)| seen == name)
            .map(|(_, value)| value.as_str())
    };
    let from_header = match Presented::from_headers(&parts.headers) {
        Ok(None) => None,
        Ok(Some(Presented::ClientSecret { client_id, secret })) => Some((client_id, secret)),
        Ok(Some(Presented::Bearer(_))) | Err(_) => {
            return invalid_request(
                "clients authenticate with HTTP Basic (client_id:client_secret) or with client_id and client_secret in the body",
            );
        }
    };
    let from_body = match (parameter("client_id"), parameter("client_secret")) {
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        (None, None) => None,
        _ => return invalid_request("client_id and client_secret go together"),
    };
    let basic = from_header.is_some();
    let (client_id, secret) = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return invalid_request(
                "the client authenticated twice: use HTTP Basic or the body, not both",
            );
        }
        (Some(client), None) | (None, Some(client)) => client,
        (None, None) => return invalid_client(false, "the client did not authenticate"),
    };
    match parameter("grant_type") {
        None => return invalid_request("grant_type is missing"),
        Some("client_credentials") => {}
        Some(other) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; use client_credentials"),
            );
        }
    }
    let requested = match parameter("scope").map(ScopeSet::parse_spaced).transpose() {
        Ok(requested) => requested,
        Err(unknown) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                unknown.to_string(),
            );
        }
    };
    match state
        .credentials
        .issue_token(&client_id, &secret, requested, source)
        .await
    {
        Ok(issued) => no_store(
            Json(TokenResponse {
                access_token: issued.access_token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
                scope: issued.scopes.spaced(),
            })
            .into_response(),
        ),
        Err(TokenError::ScopeNotHeld(missing)) => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("the client does not hold {missing}"),
        ),
        Err(TokenError::Auth(AuthError::Invalid(failure))) => {
            invalid_client(basic, failure.message())
        }
        Err(TokenError::Auth(AuthError::Throttled(retry))) => unavailable(
            StatusCode::TOO_MANY_REQUESTS,
            retry.0,
            format!(
                "too many failed authentication attempts from this source; retry in {} s",
                retry.0
            ),
        ),
        Err(TokenError::Auth(AuthError::Busy(busy))) => {
            unavailable(StatusCode::SERVICE_UNAVAILABLE, 1, busy.to_string())
        }
        Err(TokenError::Auth(AuthError::Storage(error)) | TokenError::Storage(error)) => {
            let problem = Problem::from(error);
            unavailable(StatusCode::SERVICE_UNAVAILABLE, 1, problem.detail)
        }
    }
}

/// The answer of the validate endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Validation {
    /// Whether the credential is accepted now.
    pub valid: bool,
    /// The store it acts for.
    pub store_id: Option<String>,
    /// Its scopes (for an access token, those granted to it).
    pub scopes: Vec<String>,
    /// The credential (`crd_...`); for an access token, its client's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// How it was presented: `api_key`, `client_secret` or `access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presented_as: Option<&'static str>,
    /// Why it is not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn not_valid(reason: &str) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(Validation {
            valid: false,
            store_id: None,
            scopes: Vec::new(),
            credential_id: None,
            presented_as: None,
            reason: Some(reason.to_owned()),
        }),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    no_store(response)
}

/// Checks the credential presented in `Authorization`, for the gateway.
#[utoipa::path(
    get, path = "/v1/credentials/validate", tag = "credentials",
    responses(
        (status = 200, description = "Valid", body = Validation),
        (status = 401, description = "Not valid: unknown, wrong, revoked or expired", body = Validation),
        (status = 429, description = "Too many failures from this source", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Checking is at capacity", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn validate(state: State, request: Request<Body>) -> Response {
    let presented = match Presented::from_headers(request.headers()) {
        Ok(Some(presented)) => presented,
        Ok(None) => {
            return not_valid(
                "no credential: send Authorization: Bearer <key or token> or Basic client_id:secret",
            );
        }
        Err(malformed) => return not_valid(&malformed.to_string()),
    };
    let source = request_source(&state, &request);
    match state.credentials.authenticate(&presented, source).await {
        Ok(Principal::Store(access)) => no_store(
            Json(Validation {
                valid: true,
                store_id: Some(access.store_id.clone()),
                scopes: access.scopes.names(),
                credential_id: Some(access.credential_id.clone()),
                presented_as: Some(access.via.as_str()),
                reason: None,
            })
            .into_response(),
        ),
        Ok(Principal::Operator { .. }) => not_valid("an admin token is not a store credential"),
        Err(AuthError::Invalid(failure)) => not_valid(failure.message()),
        Err(error) => auth_error(error),
    }
}
