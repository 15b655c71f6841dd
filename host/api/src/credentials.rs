//! `/v1/stores/{store_id}/credentials`: a store's API keys and OAuth
//! clients. The secret is shown once, when created or rotated; afterwards
//! only its prefix (API keys) or client id (OAuth clients). Every change is
//! in the audit log (`/v1/stores/{store_id}/credentials/audit`).
//!
//! Operators manage every store's credentials; a store credential with
//! `credentials:manage` manages its own store's, and never grants (or
//! obtains by rotating) a scope it does not hold itself.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sluice_credentials::{CredentialRequest, ManageError, Principal, ScopeSet};
use sluice_storage::{AuditEntry, CredentialKind, MAX_PAGE_SIZE, PageRequest, StoredCredential};
use utoipa::{IntoParams, ToSchema};

use crate::problem::{parse_json, read_body};
use crate::{ApiResult, AppState, Problem, State, check_name, parse_timestamp, timestamp};

/// Largest request body of these routes.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// Audit entries per page when none is asked for.
const DEFAULT_PAGE_SIZE: u32 = 50;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/stores/{store_id}/credentials", post(create).get(list))
        .route("/v1/stores/{store_id}/credentials/audit", get(audit))
        .route("/v1/stores/{store_id}/credentials/{id}", get(read))
        .route(
            "/v1/stores/{store_id}/credentials/{id}/rotate",
            post(rotate),
        )
        .route(
            "/v1/stores/{store_id}/credentials/{id}/revoke",
            post(revoke),
        )
}

/// An API key or OAuth client, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// `crd_...`.
    pub id: String,
    /// The store it acts for.
    pub store_id: String,
    /// `api_key` or `oauth_client`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A label for people.
    pub name: String,
    /// For API keys: the key's public start (`sk_<hex>`), to recognise it.
    pub key_prefix: Option<String>,
    /// For OAuth clients: the client id (`cli_<hex>`).
    pub client_id: Option<String>,
    /// Its `{resource}:{action}` scopes.
    pub scopes: Vec<String>,
    /// False once revoked.
    pub active: bool,
    /// When it stops being accepted, if ever.
    pub expires_at: Option<String>,
    /// When it was last accepted (written every `usage_flush_seconds`).
    pub last_used_at: Option<String>,
    /// Who created it: `operator:adm_...` or `credential:crd_...`.
    pub created_by: String,
    /// When it was created.
    pub created_at: String,
    /// When its secret was last rotated.
    pub rotated_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

impl From<StoredCredential> for CredentialView {
    fn from(c: StoredCredential) -> Self {
        let (key_prefix, client_id) = match c.kind {
            CredentialKind::ApiKey => (Some(c.public_id), None),
            CredentialKind::OauthClient => (None, Some(c.public_id)),
        };
        Self {
            id: c.id,
            store_id: c.store_id,
            kind: c.kind.as_str().to_owned(),
            name: c.name,
            key_prefix,
            client_id,
            scopes: c.scopes,
            active: c.active,
            expires_at: c.expires_at.map(timestamp),
            last_used_at: c.last_used_at.map(timestamp),
            created_by: c.created_by,
            created_at: timestamp(c.created_at),
            rotated_at: c.rotated_at.map(timestamp),
            revoked_at: c.revoked_at.map(timestamp),
        }
    }
}

/// A credential with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCredential {
    /// The credential.
    #[serde(flatten)]
    pub credential: CredentialView,
    /// For API keys: the whole key, sent as `Authorization: Bearer <key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// For OAuth clients: the client secret, used with `client_id` at
    /// `POST /v1/oauth/token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl IssuedCredential {
    fn new(issued: sluice_credentials::Issued) -> Self {
        let (api_key, client_secret) = match issued.credential.kind {
            CredentialKind::ApiKey => (Some(issued.secret), None),
            CredentialKind::OauthClient => (None, Some(issued.secret)),
        };
        Self {
            credential: issued.credential.into(),
            api_key,
            client_secret,
        }
    }
}

/// A credential to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCredential {
    /// A label for people.
    pub name: String,
    /// `api_key` or `oauth_client`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `{resource}:{action}` scopes, at least one: `catalog:read`,
    /// `inventory:read`, `inventory:write`, `orders:read`, `customers:read`,
    /// `webhooks:manage`, `events:write`, `deliveries:read`,
    /// `deliveries:retry`, `connectors:manage`, `credentials:manage`.
    pub scopes: Vec<String>,
    /// When it stops being accepted (RFC 3339, in the future); never if absent.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A store's credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialList {
    /// Oldest first, revoked ones included.
    pub items: Vec<CredentialView>,
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// `aud_...`.
    pub id: String,
    /// The credential acted on.
    pub credential_id: String,
    /// `created`, `rotated` or `revoked`.
    pub action: String,
    /// Who acted: `operator:adm_...` or `credential:crd_...`.
    pub actor: String,
    /// What it concerned (name, type, scopes, expiry); never a secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// When.
    pub at: String,
}

impl From<AuditEntry> for AuditView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            credential_id: entry.credential_id,
            action: entry.action,
            actor: entry.actor,
            detail: entry.detail,
            at: timestamp(entry.at),
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Paging of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// The answer to a failed credential change (shared with the console).
pub fn manage_problem(error: ManageError) -> Problem {
    match error {
        ManageError::Escalation(missing) => Problem::new(
            StatusCode::FORBIDDEN,
            "scope-not-held",
            format!(
                "a credential cannot grant or obtain scopes it does not hold itself: {missing}"
            ),
        ),
        ManageError::Busy(busy) => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", busy.to_string())
        }
        ManageError::Storage(error) => error.into(),
    }
}

/// Parses and checks a create request (shared with the console).
pub fn check_request(request: CreateCredential, now: i64) -> ApiResult<CredentialRequest> {
    check_name(&request.name)?;
    let kind = CredentialKind::parse(&request.kind)
        .ok_or_else(|| Problem::invalid_field("type", "must be api_key or oauth_client"))?;
    let scopes = ScopeSet::parse(request.scopes.iter().map(String::as_str))
        .map_err(|unknown| Problem::invalid_field("scopes", unknown.to_string()))?;
    if scopes.is_empty() {
        return Err(Problem::invalid_field(
            "scopes",
            "at least one scope is needed",
        ));
    }
    let expires_at = request
        .expires_at
        .as_deref()
        .map(|text| parse_timestamp("expires_at", text))
        .transpose()?;
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Problem::invalid_field(
            "expires_at",
            "must be in the future",
        ));
    }
    Ok(CredentialRequest {
        kind,
        name: request.name,
        scopes,
        expires_at,
    })
}

/// Issues an API key or OAuth client and returns its secret, once.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/credentials", tag = "credentials",
    params(("store_id" = String, Path)),
    request_body = CreateCredential,
    responses(
        (status = 201, body = IssuedCredential),
        (status = 403, description = "Scopes the acting credential does not hold", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn create(
    state: State,
    Extension(principal): Extension<Principal>,
    Path(store_id): Path<String>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let request: CreateCredential = parse_json(&read_body(body, MAX_BODY_BYTES).await?)?;
    let request = check_request(request, state.clock.now_ms())?;
    let issued = state
        .credentials
        .create(&store_id, request, &principal)
        .await
        .map_err(manage_problem)?;
    Ok((StatusCode::CREATED, Json(IssuedCredential::new(issued))))
}

/// Lists the store's credentials, without secrets.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/credentials", tag = "credentials",
    params(("store_id" = String, Path)),
    responses((status = 200, body = CredentialList)),
    security(("admin" = []))
)]
pub async fn list(state: State, Path(store_id): Path<String>) -> ApiResult<Json<CredentialList>> {
    let items = state.db.list_credentials(&store_id).await?;
    Ok(Json(CredentialList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Reads one credential, without its secret.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/credentials/{id}", tag = "credentials",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = CredentialView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn read(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<Json<CredentialView>> {
    Ok(Json(state.db.get_credential(&store_id, &id).await?.into()))
}

/// Replaces the secret (the key prefix or client id stays) and returns the
/// new one, once. The old secret and its access tokens stop working.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/credentials/{id}/rotate", tag = "credentials",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = IssuedCredential),
        (status = 403, description = "The credential holds scopes the acting one does not", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn rotate(
    state: State,
    Extension(principal): Extension<Principal>,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<Json<IssuedCredential>> {
    let issued = state
        .credentials
        .rotate(&store_id, &id, &principal)
        .await
        .map_err(manage_problem)?;
    Ok(Json(IssuedCredential::new(issued)))
}

/// Revokes a credential for good; it and its access tokens stop working.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/credentials/{id}/revoke", tag = "credentials",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = CredentialView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Revoked already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn revoke(
    state: State,
    Extension(principal): Extension<Principal>,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<Json<CredentialView>> {
    let revoked = state
        .credentials
        .revoke(&store_id, &id, &principal)
        .await
        .map_err(manage_problem)?;
    Ok(Json(revoked.into()))
}

/// Reads the audit log of the store's credential management, newest first.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/credentials/audit", tag = "credentials",
    params(("store_id" = String, Path), AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn audit(
    state: State,
    Path(store_id): Path<String>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let Query(query) =
        query.map_err(|rejection| Problem::invalid_field("<query>", rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(Problem::invalid_field(
            "limit",
            format!("must be 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    let page = state
        .db
        .list_credential_audit(
            &store_id,
            &PageRequest {
                cursor: query.cursor,
                limit,
            },
        )
        .await?;
    Ok(Json(AuditPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}
