//! The installed connectors (`/v1/connectors`) and a store's configurations
//! of them (`/v1/stores/{store_id}/connectors`): which connector, which
//! events, settings and credentials checked against its manifest, and a
//! test-connection action. Credentials are never returned; the API shows
//! which keys are set.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sluice_core::EventTypePattern;
use sluice_manifest::Manifest;
use sluice_runtime::types::CheckStatus;
use sluice_runtime::{InvocationReport, LoadedConnector, Offers};
use sluice_secrets::SecretString;
use sluice_storage::{ConnectorConfig, ConnectorConfigUpdate, NewConnectorConfig, TargetKind};
use utoipa::ToSchema;

use crate::circuits::{CircuitView, check_rate_limit, present};
use crate::problem::{parse_json, read_body};
use crate::{
    ApiResult, AppState, FieldProblem, Problem, State, check_name, parse_patterns, pattern_texts,
    timestamp,
};

/// Largest request body of these routes.
const MAX_BODY_BYTES: usize = 256 * 1024;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/connectors", get(catalog))
        .route("/v1/connectors/{connector_id}", get(describe))
        .route("/v1/stores/{store_id}/connectors", post(create).get(list))
        .route(
            "/v1/stores/{store_id}/connectors/{id}",
            get(read).patch(update).delete(delete),
        )
        .route("/v1/stores/{store_id}/connectors/{id}/test", post(test))
}

/// An installed connector: its manifest and what its component offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    /// The manifest (`connector.toml`) as JSON.
    #[schema(value_type = Object)]
    pub manifest: Value,
    /// Which exports the component implements.
    #[schema(value_type = Object)]
    pub offers: Offers,
    /// SHA-256 of the component.
    pub digest: String,
}

impl ConnectorView {
    fn new(connector: &LoadedConnector) -> Self {
        Self {
            manifest: serde_json::to_value(connector.manifest().as_ref())
                .expect("a manifest serializes"),
            offers: connector.offers(),
            digest: connector.digest().to_owned(),
        }
    }
}

/// The installed connectors.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    /// Sorted by id.
    pub items: Vec<ConnectorView>,
}

/// Lists the installed connectors.
#[utoipa::path(
    get, path = "/v1/connectors", tag = "connectors",
    responses((status = 200, body = ConnectorList)),
    security(("admin" = []))
)]
pub async fn catalog(state: State) -> axum::Json<ConnectorList> {
    let mut connectors = state.catalog.all();
    connectors.sort_by(|a, b| a.manifest().id.cmp(&b.manifest().id));
    axum::Json(ConnectorList {
        items: connectors.iter().map(|c| ConnectorView::new(c)).collect(),
    })
}

/// Describes one installed connector.
#[utoipa::path(
    get, path = "/v1/connectors/{connector_id}", tag = "connectors",
    params(("connector_id" = String, Path)),
    responses(
        (status = 200, body = ConnectorView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The connector is still loading (compiling) on this node; try again shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn describe(
    state: State,
    Path(connector_id): Path<String>,
) -> ApiResult<axum::Json<ConnectorView>> {
    let connector = installed(&state, "connector_id", &connector_id)?;
    Ok(axum::Json(ConnectorView::new(&connector)))
}

fn installed(state: &AppState, field: &str, id: &str) -> ApiResult<Arc<LoadedConnector>> {
    if state.catalog.get(id).is_none() && state.catalog.is_loading(id) {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "connector-loading",
            format!(
                "connector {id:?} is still loading (compiling) on this node; try again shortly"
            ),
        )
        .retry_after(5));
    }
    state.catalog.get(id).ok_or_else(|| {
        let mut known: Vec<String> = state
            .catalog
            .all()
            .iter()
            .map(|c| c.manifest().id.clone())
            .collect();
        known.sort();
        Problem::invalid_field(
            field,
            format!(
                "no connector {id:?} is installed (installed: {})",
                known.join(", ")
            ),
        )
    })
}

/// A store's configuration of a connector.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigurationView {
    /// `cfg_...`.
    pub id: String,
    /// The store it belongs to.
    pub store_id: String,
    /// The connector it configures.
    pub connector_id: String,
    /// A label for people.
    pub name: String,
    /// Event types it receives, within those the connector handles.
    pub event_types: Vec<String>,
    /// Settings (not secret).
    pub settings: BTreeMap<String, String>,
    /// Which credentials are set; their values are never shown.
    pub credentials_set: Vec<String>,
    /// Whether it receives new events.
    pub active: bool,
    /// The most deliveries per second its remote system accepts; Sluice
    /// never delivers faster (on all nodes together).
    pub rate_limit_per_second: Option<u32>,
    /// Its circuit breaker.
    pub circuit: CircuitView,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

impl ConfigurationView {
    fn new(c: ConnectorConfig, circuit: CircuitView) -> Self {
        Self {
            id: c.id,
            store_id: c.store_id,
            connector_id: c.connector_id,
            name: c.name,
            event_types: pattern_texts(&c.event_types),
            settings: c.settings,
            credentials_set: c.credential_keys,
            active: c.active,
            rate_limit_per_second: c.rate_limit_per_second,
            circuit,
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
        }
    }

    /// The view of `config` with its circuit as stored.
    pub async fn read(state: &AppState, config: ConnectorConfig) -> ApiResult<Self> {
        let circuit = state
            .db
            .target_state(&config.store_id, TargetKind::Connector, &config.id)
            .await?;
        let now = state.clock.now_ms();
        Ok(Self::new(config, CircuitView::new(&circuit, now)))
    }
}

/// A store's configurations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigurationList {
    /// Oldest first.
    pub items: Vec<ConfigurationView>,
}

/// A configuration to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConfiguration {
    /// The installed connector's id, for example `slack`.
    pub connector_id: String,
    /// A label for people.
    pub name: String,
    /// Event types to receive; by default every type the connector handles.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// Values of the manifest's settings fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// Values of the manifest's credential fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub credentials: Map<String, Value>,
    /// Whether it receives events at once (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// The most deliveries per second the remote system accepts (1 to 1,000).
    #[serde(default)]
    pub rate_limit_per_second: Option<u32>,
}

/// Changes to a configuration; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfiguration {
    /// A new label.
    pub name: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// New settings, replacing the old ones.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
    /// Credentials to set; keys left out keep their values, `null` removes one.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Map<String, Value>>,
    /// Activate or deactivate it; activating closes its circuit.
    pub active: Option<bool>,
    /// A new rate limit; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_per_second: Option<Option<u32>>,
}

/// The result of a connection check.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// `ok`, `misconfigured`, `unauthorized`, `unreachable`, or `failed` when
    /// the connector itself failed (its report says why).
    pub status: String,
    /// What the connector says, for the store admin.
    pub message: String,
    /// Each step checked and its result.
    pub steps: Vec<(String, String)>,
    /// The invocation report: requests made, logs, fuel, memory.
    #[schema(value_type = Object)]
    pub report: InvocationReport,
}

/// Checks settings and credentials against the manifest and event types
/// against what the connector handles.
fn check_against_manifest(
    manifest: &Manifest,
    event_types: Option<&[String]>,
    settings: &Map<String, Value>,
    credentials: &Map<String, Value>,
) -> ApiResult<(Vec<EventTypePattern>, sluice_manifest::CheckedConfiguration)> {
    let mut errors = Vec::new();
    let patterns = match event_types {
        None => manifest.events.clone(),
        Some(texts) => {
            let patterns = parse_patterns("event_types", texts)?;
            for (index, pattern) in patterns.iter().enumerate() {
                if !manifest
                    .events
                    .iter()
                    .any(|handled| pattern.is_within(handled))
                {
                    errors.push(FieldProblem {
                        field: format!("event_types[{index}]"),
                        message: format!(
                            "{pattern} is not handled by {} (it handles: {})",
                            manifest.id,
                            pattern_texts(&manifest.events).join(", ")
                        ),
                    });
                }
            }
            patterns
        }
    };
    let checked = manifest.check_configuration(settings, credentials);
    if let Err(field_errors) = &checked {
        errors.extend(field_errors.iter().map(|e| FieldProblem {
            field: e.field.clone(),
            message: e.message.clone(),
        }));
    }
    match checked {
        Ok(checked) if errors.is_empty() => Ok((patterns, checked)),
        _ => Err(Problem::invalid(errors)),
    }
}

fn sealable(credentials: BTreeMap<String, String>) -> BTreeMap<String, SecretString> {
    credentials
        .into_iter()
        .map(|(key, value)| (key, SecretString::new(value)))
        .collect()
}

/// Creates a configuration.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/connectors", tag = "connectors",
    params(("store_id" = String, Path)),
    request_body = CreateConfiguration,
    responses(
        (status = 201, body = ConfigurationView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The connector is still loading (compiling) on this node; try again shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn create(
    state: State,
    Path(store_id): Path<String>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let request: CreateConfiguration = parse_json(&read_body(body, MAX_BODY_BYTES).await?)?;
    let created = create_configuration(&state, &store_id, request).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Checks a configuration against its connector's manifest and creates it;
/// the API and the console both create through here.
pub async fn create_configuration(
    state: &AppState,
    store_id: &str,
    request: CreateConfiguration,
) -> ApiResult<ConfigurationView> {
    check_name(&request.name)?;
    let connector = installed(state, "connector_id", &request.connector_id)?;
    let (event_types, checked) = check_against_manifest(
        connector.manifest(),
        request.event_types.as_deref(),
        &request.settings,
        &request.credentials,
    )?;
    let rate_limit_per_second = check_rate_limit(request.rate_limit_per_second)?;
    let created = state
        .db
        .create_connector_config(
            store_id,
            &NewConnectorConfig {
                connector_id: request.connector_id,
                name: request.name,
                event_types,
                settings: checked.settings,
                credentials: sealable(checked.credentials),
                active: request.active.unwrap_or(true),
                rate_limit_per_second,
            },
            state.clock.now_ms(),
        )
        .await?;
    Ok(ConfigurationView::new(created, CircuitView::default()))
}

/// Lists the store's configurations.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/connectors", tag = "connectors",
    params(("store_id" = String, Path)),
    responses((status = 200, body = ConfigurationList)),
    security(("admin" = []))
)]
pub async fn list(
    state: State,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<ConfigurationList>> {
    Ok(axum::Json(ConfigurationList {
        items: list_configurations(&state, &store_id).await?,
    }))
}

/// The store's configurations with their circuits; the API and the console
/// list through here.
pub async fn list_configurations(
    state: &AppState,
    store_id: &str,
) -> ApiResult<Vec<ConfigurationView>> {
    let items = state.db.list_connector_configs(store_id).await?;
    let mut circuits = CircuitView::by_target(
        state.db.target_states(store_id).await?,
        state.clock.now_ms(),
    );
    Ok(items
        .into_iter()
        .map(|c| {
            let circuit = circuits.remove(&c.id).unwrap_or_default();
            ConfigurationView::new(c, circuit)
        })
        .collect())
}

/// Reads one configuration.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/connectors/{id}", tag = "connectors",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = ConfigurationView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn read(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<ConfigurationView>> {
    let config = state.db.get_connector_config(&store_id, &id).await?;
    Ok(axum::Json(ConfigurationView::read(&state, config).await?))
}

/// Changes a configuration; the result is checked against the manifest as
/// a whole.
#[utoipa::path(
    patch, path = "/v1/stores/{store_id}/connectors/{id}", tag = "connectors",
    params(("store_id" = String, Path), ("id" = String, Path)),
    request_body = UpdateConfiguration,
    responses(
        (status = 200, body = ConfigurationView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The connector is still loading (compiling) on this node; try again shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn update(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<axum::Json<ConfigurationView>> {
    let request: UpdateConfiguration = parse_json(&read_body(body, MAX_BODY_BYTES).await?)?;
    Ok(axum::Json(
        update_configuration(&state, &store_id, &id, request).await?,
    ))
}

/// Applies changes to configuration `id` of `store_id`, checking the result
/// against the manifest as a whole; credentials left out keep their values.
pub async fn update_configuration(
    state: &AppState,
    store_id: &str,
    id: &str,
    request: UpdateConfiguration,
) -> ApiResult<ConfigurationView> {
    if let Some(name) = &request.name {
        check_name(name)?;
    }
    let current = state.db.connector_target(store_id, id).await?;
    let connector = installed(state, "connector_id", &current.config.connector_id)?;
    let settings: Map<String, Value> = match &request.settings {
        Some(settings) => settings.clone(),
        None => as_values(current.config.settings.clone()),
    };
    let mut credentials: Map<String, Value> = current
        .credentials
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.expose().to_owned())))
        .collect();
    for (key, value) in request.credentials.iter().flatten() {
        if value.is_null() {
            credentials.remove(key);
        } else {
            credentials.insert(key.clone(), value.clone());
        }
    }
    let current_types = pattern_texts(&current.config.event_types);
    let (event_types, checked) = check_against_manifest(
        connector.manifest(),
        Some(request.event_types.as_deref().unwrap_or(&current_types)),
        &settings,
        &credentials,
    )?;
    let update = ConnectorConfigUpdate {
        name: request.name,
        event_types: request.event_types.is_some().then_some(event_types),
        settings: request.settings.is_some().then_some(checked.settings),
        credentials: request
            .credentials
            .is_some()
            .then(|| sealable(checked.credentials)),
        active: request.active,
        rate_limit_per_second: request
            .rate_limit_per_second
            .map(check_rate_limit)
            .transpose()?,
    };
    let updated = state
        .db
        .update_connector_config(store_id, id, &update, state.clock.now_ms())
        .await?;
    if request.active == Some(true) {
        state.db.reset_target_state(store_id, id).await?;
    }
    state
        .targets
        .invalidate(store_id, TargetKind::Connector, id);
    ConfigurationView::read(state, updated).await
}

fn as_values(map: BTreeMap<String, String>) -> Map<String, Value> {
    map.into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect()
}

/// Deletes a configuration and its state.
#[utoipa::path(
    delete, path = "/v1/stores/{store_id}/connectors/{id}", tag = "connectors",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn delete(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.db.delete_connector_config(&store_id, &id).await?;
    state
        .targets
        .invalidate(&store_id, TargetKind::Connector, &id);
    Ok(StatusCode::NO_CONTENT)
}

/// Runs the connector's connection check with this configuration.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/connectors/{id}/test", tag = "connectors",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = TestResult),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The connector is still loading (compiling) on this node; try again shortly", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn test(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<TestResult>> {
    Ok(axum::Json(
        test_configuration(&state, &store_id, &id).await?,
    ))
}

/// Runs the connection check of configuration `id` of `store_id`.
pub async fn test_configuration(
    state: &AppState,
    store_id: &str,
    id: &str,
) -> ApiResult<TestResult> {
    let target = state.db.connector_target(store_id, id).await?;
    let connector = installed(state, "connector_id", &target.config.connector_id)?;
    if !connector.offers().test_connection {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "unsupported",
            format!("{} offers no connection check", connector.manifest().id),
        ));
    }
    let context = sluice_connectors::call_context(target, &state.db, state.clock.clone(), None);
    let invocation = state.runtime.test_connection(&connector, context).await;
    let result = match invocation.result {
        Ok(check) => TestResult {
            status: check_status(check.status).to_owned(),
            message: check.message,
            steps: check.steps,
            report: invocation.report,
        },
        Err(failure) => TestResult {
            status: "failed".to_owned(),
            message: failure.to_string(),
            steps: Vec::new(),
            report: invocation.report,
        },
    };
    Ok(result)
}

fn check_status(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "ok",
        CheckStatus::Misconfigured => "misconfigured",
        CheckStatus::Unauthorized => "unauthorized",
        CheckStatus::Unreachable => "unreachable",
    }
}
