//! Installing, upgrading and rolling back connectors (`/v1/connectors/...`):
//! upload a package or name an OCI reference, list a connector's versions,
//! activate one, approve a pending upgrade by the hash of its diff, roll
//! back, delete an inactive version. Nothing needs a restart; every node of
//! a cluster follows within its poll interval.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_connectors::{BrokenConfiguration, Change, InstallError, Outcome};
use sluice_credentials::Principal;
use sluice_storage::ConnectorVersion;
use utoipa::ToSchema;

use crate::problem::{parse_json, read_body};
use crate::{ApiResult, AppState, Problem, State, timestamp};

/// Largest package upload (the package format's own cap is checked again
/// by verification).
const MAX_PACKAGE_BYTES: usize = sluice_package::MAX_PACKAGE_BYTES;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/connectors/packages", post(install))
        .route("/v1/connectors/{connector_id}/versions", get(versions))
        .route(
            "/v1/connectors/{connector_id}/versions/{version}",
            delete(remove),
        )
        .route(
            "/v1/connectors/{connector_id}/versions/{version}/activate",
            post(activate),
        )
        .route(
            "/v1/connectors/{connector_id}/versions/{version}/approve",
            post(approve),
        )
        .route("/v1/connectors/{connector_id}/rollback", post(rollback))
}

/// An installed version of a connector.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// The connector's id.
    pub connector_id: String,
    /// Its version.
    pub version: String,
    /// `active`, `available` or `pending_approval`.
    pub state: String,
    /// `sha256:...` of the package file.
    pub package_digest: String,
    /// SHA-256 of the component (hex), as attempts record it.
    pub component_digest: String,
    /// The publisher who signed it, or who vouched for it.
    pub publisher: String,
    /// `signed`, `bundled` (shipped with the service) or `unsigned`
    /// (development switch).
    pub trust: String,
    /// Who installed it.
    pub installed_by: String,
    /// When.
    pub installed_at: String,
    /// Who approved its capability diff.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// The hash of the diff that was approved.
    pub approved_diff_hash: Option<String>,
    /// When pending: the capability diff from the active version.
    #[schema(value_type = Option<Object>)]
    pub diff: Option<Value>,
    /// When pending: the hash to echo when approving.
    pub diff_hash: Option<String>,
    /// When pending: the diff, one readable line per change.
    pub diff_text: Vec<String>,
}

impl From<ConnectorVersion> for VersionView {
    fn from(v: ConnectorVersion) -> Self {
        let state = if v.active { "active" } else { v.state.as_str() };
        let diff_text = v
            .diff
            .as_ref()
            .map(sluice_connectors::render_diff)
            .unwrap_or_default();
        Self {
            state: state.to_owned(),
            connector_id: v.connector_id,
            version: v.version,
            package_digest: v.package_digest,
            component_digest: v.component_digest,
            publisher: v.publisher,
            trust: v.trust.as_str().to_owned(),
            installed_by: v.installed_by,
            installed_at: timestamp(v.installed_at),
            approved_by: v.approved_by,
            approved_at: v.approved_at.map(timestamp),
            approved_diff_hash: v.approved_diff_hash,
            diff: v.diff,
            diff_hash: v.diff_hash,
            diff_text,
        }
    }
}

/// A connector's versions and which one runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    /// The connector.
    pub connector_id: String,
    /// The version every node runs (or converges on).
    pub active_version: Option<String>,
    /// The version a rollback returns to.
    pub previous_version: Option<String>,
    /// Bumped by every activation.
    pub generation: Option<i64>,
    /// Oldest install first.
    pub items: Vec<VersionView>,
}

/// A configuration that does not validate against a version's manifest.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrokenConfigurationView {
    /// The store.
    pub store_id: String,
    /// `cfg_...`.
    pub config_id: String,
    /// Its label.
    pub name: String,
    /// What fails, one line per field.
    pub problems: Vec<String>,
}

impl From<BrokenConfiguration> for BrokenConfigurationView {
    fn from(b: BrokenConfiguration) -> Self {
        Self {
            store_id: b.store_id,
            config_id: b.config_id,
            name: b.name,
            problems: b.problems,
        }
    }
}

/// What an install, activation, approval or rollback did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    /// `activated`, `unchanged`, `pending_approval` (the active version
    /// keeps serving until the diff is approved) or `installed` (an older
    /// version than the active one, installed but not activated).
    pub outcome: String,
    /// The version concerned.
    pub version: VersionView,
    /// The version active now.
    pub active_version: Option<String>,
    /// The capability diff from the version that was active.
    #[schema(value_type = Option<Object>)]
    pub diff: Option<Value>,
    /// Its hash: approving echoes it.
    pub diff_hash: Option<String>,
    /// The diff, one readable line per change.
    pub diff_text: Vec<String>,
    /// Configurations whose stored settings or credentials do not validate
    /// against this version's manifest.
    pub broken_configurations: Vec<BrokenConfigurationView>,
}

fn answer(change: Change) -> (StatusCode, axum::Json<ChangeView>) {
    let status = match change.outcome {
        Outcome::Activated => StatusCode::OK,
        Outcome::Unchanged => StatusCode::OK,
        Outcome::PendingApproval => StatusCode::ACCEPTED,
        Outcome::Installed => StatusCode::CREATED,
    };
    let diff_text = change
        .diff
        .as_ref()
        .map(sluice_connectors::render_diff)
        .unwrap_or_default();
    let view = ChangeView {
        outcome: change.outcome.as_str().to_owned(),
        version: change.version.into(),
        active_version: change.active_version,
        diff: change.diff,
        diff_hash: change.diff_hash,
        diff_text,
        broken_configurations: change
            .broken_configurations
            .into_iter()
            .map(Into::into)
            .collect(),
    };
    (status, axum::Json(view))
}

impl From<InstallError> for Problem {
    fn from(error: InstallError) -> Self {
        let error = match error {
            InstallError::Storage(storage) => return storage.into(),
            other => other,
        };
        let (status, kind) = match &error {
            InstallError::Refused(_) => (StatusCode::UNPROCESSABLE_ENTITY, "package-refused"),
            InstallError::Pull(_) => (StatusCode::BAD_GATEWAY, "pull-failed"),
            InstallError::Load { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "load-failed"),
            InstallError::StaleDiff { .. } => (StatusCode::CONFLICT, "stale-diff"),
            InstallError::NotPending { .. } => (StatusCode::CONFLICT, "not-pending"),
            InstallError::NoPrevious(_) => (StatusCode::CONFLICT, "no-previous-version"),
            InstallError::NotInstalled(_) => (StatusCode::NOT_FOUND, "not-found"),
            InstallError::Corrupt { .. } | InstallError::Storage(_) => {
                return Self::internal(&error);
            }
        };
        Self::new(status, kind, error.to_string())
    }
}

/// An OCI reference to pull the package from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallReference {
    /// `registry/repository:tag` or `registry/repository@sha256:...`.
    pub reference: String,
}

/// Installs a package: the `.sluicepkg` bytes as
/// `application/octet-stream`, or `{"reference": ...}` to pull it from an
/// OCI registry. Every verification step runs before anything is stored.
/// A first install or a narrowing upgrade activates at once; a widening
/// upgrade waits for approval (202) while the active version keeps serving.
#[utoipa::path(
    post, path = "/v1/connectors/packages", tag = "registry",
    request_body(content(
        (Vec<u8> = "application/octet-stream"),
        (InstallReference = "application/json"),
    )),
    responses(
        (status = 200, body = ChangeView, description = "activated, or already installed"),
        (status = 201, body = ChangeView, description = "installed, not activated (older than the active version)"),
        (status = 202, body = ChangeView, description = "installed, waiting for approval of its diff"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "refused: `type` names the verification step"),
        (status = 502, body = Problem, content_type = "application/problem+json", description = "the OCI registry failed"),
    ),
    security(("admin" = []))
)]
pub async fn install(
    state: State,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let bytes = read_body(body, MAX_PACKAGE_BYTES).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let package = if is_json {
        let request: InstallReference = parse_json(&bytes)?;
        state.installer.pull(&request.reference).await?
    } else {
        bytes.to_vec()
    };
    let change = state.installer.install(package, &principal.actor()).await?;
    Ok(answer(change))
}

/// Lists a connector's installed versions.
#[utoipa::path(
    get, path = "/v1/connectors/{connector_id}/versions", tag = "registry",
    params(("connector_id" = String, Path)),
    responses(
        (status = 200, body = VersionList),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn versions(
    state: State,
    Path(connector_id): Path<String>,
) -> ApiResult<axum::Json<VersionList>> {
    let items = state.db.connector_versions(&connector_id).await?;
    if items.is_empty() {
        return Err(InstallError::NotInstalled(connector_id).into());
    }
    let head = state.db.connector_head(&connector_id).await?;
    Ok(axum::Json(VersionList {
        active_version: head.as_ref().map(|h| h.active_version.clone()),
        previous_version: head.as_ref().and_then(|h| h.previous_version.clone()),
        generation: head.map(|h| h.generation),
        connector_id,
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Activates an installed version. If its capability diff from the active
/// version widens and that diff was never approved, it waits for approval
/// instead (202) and the active version keeps serving.
#[utoipa::path(
    post, path = "/v1/connectors/{connector_id}/versions/{version}/activate", tag = "registry",
    params(("connector_id" = String, Path), ("version" = String, Path)),
    responses(
        (status = 200, body = ChangeView),
        (status = 202, body = ChangeView, description = "waiting for approval of its diff"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn activate(
    state: State,
    Extension(principal): Extension<Principal>,
    Path((connector_id, version)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let change = state
        .installer
        .activate(&connector_id, &version, &principal.actor())
        .await?;
    Ok(answer(change))
}

/// The diff being approved.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The `diff_hash` the operator was shown.
    pub diff_hash: String,
}

/// Approves a pending version's capability diff, by its hash, and activates
/// it. A hash other than that of the diff against the version active now is
/// refused (409, naming both), so nobody approves what they did not see.
#[utoipa::path(
    post, path = "/v1/connectors/{connector_id}/versions/{version}/approve", tag = "registry",
    params(("connector_id" = String, Path), ("version" = String, Path)),
    request_body = Approval,
    responses(
        (status = 200, body = ChangeView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "stale diff hash, or not pending"),
    ),
    security(("admin" = []))
)]
pub async fn approve(
    state: State,
    Extension(principal): Extension<Principal>,
    Path((connector_id, version)): Path<(String, String)>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let request: Approval = parse_json(&read_body(body, 4 * 1024).await?)?;
    let change = state
        .installer
        .approve(
            &connector_id,
            &version,
            &request.diff_hash,
            &principal.actor(),
        )
        .await?;
    Ok(answer(change))
}

/// Activates the version that was active before the current one. Needs
/// nothing from outside the database: it works offline.
#[utoipa::path(
    post, path = "/v1/connectors/{connector_id}/rollback", tag = "registry",
    params(("connector_id" = String, Path)),
    responses(
        (status = 200, body = ChangeView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "no previous version"),
    ),
    security(("admin" = []))
)]
pub async fn rollback(
    state: State,
    Extension(principal): Extension<Principal>,
    Path(connector_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let change = state
        .installer
        .rollback(&connector_id, &principal.actor())
        .await?;
    Ok(answer(change))
}

/// Deletes an installed version that is not active, with its package.
#[utoipa::path(
    delete, path = "/v1/connectors/{connector_id}/versions/{version}", tag = "registry",
    params(("connector_id" = String, Path), ("version" = String, Path)),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the version is active"),
    ),
    security(("admin" = []))
)]
pub async fn remove(
    state: State,
    Path((connector_id, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.installer.delete(&connector_id, &version).await?;
    Ok(StatusCode::NO_CONTENT)
}
