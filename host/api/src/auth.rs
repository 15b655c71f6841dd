//! Who may call what: every `/v1` route except inbound webhooks, the token
//! endpoint and credential validation authenticates its caller through
//! [`sluice_credentials::Credentials::authenticate`] and checks the route's
//! entry in [`ROUTE_SCOPES`].
//!
//! - An operator's admin token (`Authorization: Bearer <token>`) may call
//!   every route for every store.
//! - A store credential (`Bearer sk_...` API key, `Bearer sat_...` access
//!   token, or `Basic` client id and secret) may call a route only for its
//!   own store (another store's path answers 404, as if nothing were there)
//!   and only with the route's scope (403 naming the missing scope). Routes
//!   absent from the table are for operators only.
//!
//! The [`sluice_credentials::Principal`] is put in the request's extensions for handlers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sluice_credentials::{AuthError, Denied, Presented, Scope};

use crate::{AppState, Problem};

pub use sluice_credentials::hash_token;

/// The scope each route needs from a store credential: (method, route
/// pattern, scope). Operators need none; a route missing here is for
/// operators only.
pub const ROUTE_SCOPES: &[(&str, &str, Scope)] = &[
    ("POST", "/v1/events", Scope::EventsWrite),
    (
        "GET",
        "/v1/stores/{store_id}/events/{event_id}",
        Scope::DeliveriesRead,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/webhooks",
        Scope::WebhooksManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/webhooks",
        Scope::WebhooksManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/webhooks/{id}",
        Scope::WebhooksManage,
    ),
    (
        "PATCH",
        "/v1/stores/{store_id}/webhooks/{id}",
        Scope::WebhooksManage,
    ),
    (
        "DELETE",
        "/v1/stores/{store_id}/webhooks/{id}",
        Scope::WebhooksManage,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/webhooks/{id}/rotate-secret",
        Scope::WebhooksManage,
    ),
    ("GET", "/v1/connectors", Scope::ConnectorsManage),
    (
        "GET",
        "/v1/connectors/{connector_id}",
        Scope::ConnectorsManage,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/connectors",
        Scope::ConnectorsManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/connectors",
        Scope::ConnectorsManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/connectors/{id}",
        Scope::ConnectorsManage,
    ),
    (
        "PATCH",
        "/v1/stores/{store_id}/connectors/{id}",
        Scope::ConnectorsManage,
    ),
    (
        "DELETE",
        "/v1/stores/{store_id}/connectors/{id}",
        Scope::ConnectorsManage,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/connectors/{id}/test",
        Scope::ConnectorsManage,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/connectors/{id}/sync",
        Scope::ConnectorsManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/connectors/{id}/sync-runs",
        Scope::ConnectorsManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/deliveries",
        Scope::DeliveriesRead,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/deliveries/{id}",
        Scope::DeliveriesRead,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/deliveries/retry",
        Scope::DeliveriesRetry,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/deliveries/{id}/retry",
        Scope::DeliveriesRetry,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/credentials",
        Scope::CredentialsManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/credentials",
        Scope::CredentialsManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/credentials/audit",
        Scope::CredentialsManage,
    ),
    (
        "GET",
        "/v1/stores/{store_id}/credentials/{id}",
        Scope::CredentialsManage,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/credentials/{id}/rotate",
        Scope::CredentialsManage,
    ),
    (
        "POST",
        "/v1/stores/{store_id}/credentials/{id}/revoke",
        Scope::CredentialsManage,
    ),
];

/// The scope a store credential needs for `method` on `route`; none means
/// operators only.
pub fn required_scope(method: &Method, route: &str) -> Option<Scope> {
    ROUTE_SCOPES
        .iter()
        .find(|(m, r, _)| *m == method.as_str() && *r == route)
        .map(|(_, _, scope)| *scope)
}

/// The store a `/v1/stores/{store_id}/...` path names, percent-decoded as
/// the handlers' `Path` extractor decodes it.
fn store_of(route: &str, path: &str) -> Option<String> {
    if !route.starts_with("/v1/stores/{store_id}") {
        return None;
    }
    let segment = path.split('/').nth(3)?;
    Some(
        percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// The source of a request for failure counting: the trusted proxy header
/// if configured, else the peer address.
pub fn request_source(state: &AppState, request: &Request) -> std::net::IpAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    state.credentials.config().source(request.headers(), peer)
}

/// Authenticates the request, checks the route's store and scope, and
/// hands the [`Principal`] to the handler.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = match Presented::from_headers(request.headers()) {
        Ok(Some(presented)) => presented,
        Ok(None) => {
            return unauthorized(
                "a credential is needed: Authorization: Bearer <admin token, API key or access token>",
            );
        }
        Err(malformed) => return unauthorized(&malformed.to_string()),
    };
    let source = request_source(&state, &request);
    let principal = match state.credentials.authenticate(&presented, source).await {
        Ok(principal) => principal,
        Err(error) => return auth_error(error),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned())
        .unwrap_or_default();
    let store = store_of(&route, request.uri().path());
    let allowed = match required_scope(request.method(), &route) {
        Some(scope) => principal.allows(store.as_deref(), scope),
        None if principal.is_operator() => Ok(()),
        None => Err(Denied::OperatorOnly),
    };
    if let Err(denied) = allowed {
        return denied_problem(&denied, store.as_deref()).into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The problem for a denied request.
pub fn denied_problem(denied: &Denied, store: Option<&str>) -> Problem {
    match denied {
        Denied::OtherStore => Problem::not_found(format!(
            "store {} has nothing at this path for this credential",
            store.unwrap_or("?")
        )),
        Denied::MissingScope(scope) => Problem::new(
            StatusCode::FORBIDDEN,
            "missing-scope",
            format!("this credential lacks the scope {scope} needed here"),
        ),
        Denied::OperatorOnly => Problem::new(
            StatusCode::FORBIDDEN,
            "operator-only",
            "only an operator's admin token may do this",
        ),
    }
}

/// The answer to a failed authentication: 401 (unknown, wrong, revoked or
/// expired), 429 with `Retry-After` (the source failed too often), 503
/// (hashing at capacity, or the database failed).
pub fn auth_error(error: AuthError) -> Response {
    match error {
        AuthError::Invalid(failure) => unauthorized(failure.message()),
        AuthError::Throttled(retry) => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-failures",
            format!(
                "too many failed authentication attempts from this source; retry in {} s",
                retry.0
            ),
        )
        .retry_after(retry.0)
        .into_response(),
        AuthError::Busy(busy) => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", busy.to_string())
                .retry_after(1)
                .into_response()
        }
        AuthError::Storage(error) => Problem::from(error).into_response(),
    }
}

fn unauthorized(detail: &str) -> Response {
    let mut response =
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_are_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn every_documented_route_has_a_scope_or_is_public_or_for_operators() {
        let document = crate::openapi::document();
        let public = [
            "/v1/inbound/{store_id}/{config_id}/{path}",
            "/v1/oauth/token",
            "/v1/credentials/validate",
        ];
        // Installing connector code changes what runs for every store: only
        // operators may, so these routes are deliberately absent from the table.
        let operators_only = [
            "/v1/connectors/packages",
            "/v1/connectors/{connector_id}/rollback",
            "/v1/connectors/{connector_id}/versions",
            "/v1/connectors/{connector_id}/versions/{version}",
            "/v1/connectors/{connector_id}/versions/{version}/activate",
            "/v1/connectors/{connector_id}/versions/{version}/approve",
            // The bus is the platform's, not a store's: its rejected log
            // holds messages of any store, or of none.
            "/v1/bus/rejected",
        ];
        let mut missing = Vec::new();
        for (path, item) in &document.paths.paths {
            if public.contains(&path.as_str()) || operators_only.contains(&path.as_str()) {
                continue;
            }
            for (method, operation) in [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
                (Method::PUT, &item.put),
            ] {
                if operation.is_some() && required_scope(&method, path).is_none() {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(missing.is_empty(), "routes without a scope: {missing:?}");
    }

    #[test]
    fn the_store_comes_from_store_routes_only() {
        assert_eq!(
            store_of(
                "/v1/stores/{store_id}/deliveries",
                "/v1/stores/shop%201/deliveries"
            ),
            Some("shop 1".to_owned())
        );
        assert_eq!(store_of("/v1/events", "/v1/events"), None);
    }
}
