//! Sluice's HTTP API (axum).
//!
//! - [`events`]: `POST /v1/events`, ingest of one event or a batch.
//! - [`webhooks`]: a store's webhook subscriptions and their signing secrets.
//! - [`circuits`]: the circuit breaker and rate limit both kinds of target show.
//! - [`connectors`]: the installed connectors and a store's configurations
//!   of them, with a test-connection action.
//! - [`registry`]: installing connector packages (uploaded or pulled from
//!   an OCI registry), their versions, activation, approval of widening
//!   upgrades, rollback.
//! - [`sync`]: on-demand sync of a configuration and its sync log.
//! - [`deliveries`]: a store's deliveries with their attempts, and retries.
//! - [`credentials`]: a store's API keys and OAuth clients, and their audit log.
//! - [`bus`]: the log of messages from the message bus that were not events.
//! - [`oauth`]: the OAuth 2.0 token endpoint and the gateway's credential check.
//! - [`inbound`]: `/v1/inbound/{store}/{configuration}/...`, webhooks from
//!   third parties handed to the configuration's connector.
//! - [`operations`]: `/healthz`, `/readyz`, `/metrics`, `/v1/openapi.json`.
//!
//! Every error is `application/problem+json` ([`problem`]). Every route
//! under `/v1` except inbound, the token endpoint and validation needs an
//! admin token or a store credential with the route's scope ([`auth`]).

pub mod auth;
pub mod bus;
pub mod circuits;
pub mod connectors;
pub mod credentials;
pub mod deliveries;
pub mod events;
pub mod inbound;
pub mod oauth;
pub mod openapi;
pub mod operations;
pub mod problem;
pub mod registry;
pub mod sync;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use sluice_connectors::Installer;
use sluice_core::{SharedClock, UnixMillis, clock::format_rfc3339};
use sluice_delivery::{TargetCache, Waker};
use sluice_egress::EgressSettings;
use sluice_events::Ingestor;
use sluice_metrics::Metrics;
use sluice_runtime::{Catalog, Runtime};
use sluice_storage::Db;
use sluice_sync::{Syncer, Waker as SyncWaker};

pub use auth::hash_token;
pub use problem::{ApiResult, FieldProblem, Problem};

/// What every handler shares.
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The component runtime.
    pub runtime: Arc<Runtime>,
    /// The installed connectors.
    pub catalog: Arc<Catalog>,
    /// Installs, activates and rolls back connector versions.
    pub installer: Arc<Installer>,
    /// The ingest queue.
    pub ingestor: Ingestor,
    /// Wakes the delivery workers after a manual retry.
    pub waker: Waker,
    /// The workers' target cache, invalidated when a target changes.
    pub targets: Arc<TargetCache>,
    /// The clock of every "now".
    pub clock: SharedClock,
    /// The process's metrics.
    pub metrics: Arc<Metrics>,
    /// The operator's egress settings, to check webhook URLs against.
    pub egress: Arc<EgressSettings>,
    /// Runs syncs; knows which connectors offer them.
    pub syncer: Arc<Syncer>,
    /// Wakes the sync scheduler after a sync is requested.
    pub sync_waker: SyncWaker,
    /// Authenticates admin tokens and store credentials; manages credentials.
    pub credentials: Arc<sluice_credentials::Credentials>,
}

/// Shared state as handlers receive it.
pub type State = axum::extract::State<Arc<AppState>>;

/// The whole API.
pub fn router(state: Arc<AppState>) -> Router {
    let admin = Router::new()
        .merge(events::routes())
        .merge(webhooks::routes())
        .merge(connectors::routes())
        .merge(registry::routes())
        .merge(deliveries::routes())
        .merge(sync::routes())
        .merge(credentials::routes())
        .merge(bus::routes())
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate));
    Router::new()
        .merge(admin)
        .merge(inbound::routes())
        .merge(oauth::routes())
        .merge(operations::routes())
        .fallback(|| async { Problem::not_found("no such route") })
        .with_state(state)
}

/// A time as the API shows it: RFC 3339 with milliseconds, UTC.
pub(crate) fn timestamp(ms: UnixMillis) -> String {
    format_rfc3339(ms)
}

/// Parses an RFC 3339 time given in `field`.
pub(crate) fn parse_timestamp(field: &str, text: &str) -> ApiResult<UnixMillis> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .map_err(|error| {
            Problem::invalid_field(field, format!("not an RFC 3339 time ({error}): {text:?}"))
        })
}

/// Parses event type patterns given in `field`.
pub(crate) fn parse_patterns(
    field: &str,
    texts: &[String],
) -> ApiResult<Vec<sluice_core::EventTypePattern>> {
    let mut errors = Vec::new();
    let mut patterns = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        match sluice_core::EventTypePattern::parse(text) {
            Ok(pattern) => patterns.push(pattern),
            Err(error) => errors.push(FieldProblem {
                field: format!("{field}[{index}]"),
                message: error.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    if patterns.is_empty() {
        return Err(Problem::invalid_field(
            field,
            "at least one event type or pattern is needed",
        ));
    }
    Ok(patterns)
}

/// Checks the `name` of a subscription or configuration: a label for people.
pub(crate) fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(Problem::invalid_field(
            "name",
            "must be 1 to 200 characters",
        ));
    }
    Ok(())
}

/// Patterns as the API shows them.
pub(crate) fn pattern_texts(patterns: &[sluice_core::EventTypePattern]) -> Vec<String> {
    patterns.iter().map(ToString::to_string).collect()
}
