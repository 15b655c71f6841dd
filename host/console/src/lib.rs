//! Sluice's admin console, served by `sluice serve` itself at `/console`.
//!
//! Server-rendered HTML ([maud] templates) with a little embedded vanilla
//! JavaScript for conveniences only (copy buttons, refreshing a delivery that
//! is still pending): every page and action works without it.
//!
//! - [`session`]: signing in with the operator's admin token (every store) or
//!   a store-scoped API key (that store only), an opaque session id in an
//!   HttpOnly `SameSite=Strict` cookie, CSRF tokens on every form, sign out.
//! - [`layout`]: the page shell, navigation, notices and formatting helpers.
//! - [`deliveries`]: deliveries with filters and paging, one delivery with
//!   every attempt (and a connector's invocation report), dead letters with
//!   retry one and bulk retry.
//! - [`webhooks`]: subscriptions: create, edit, pause, rotate the secret
//!   (shown once).
//! - [`connectors`]: the catalog, configurations with a form generated from
//!   the manifest's fields, test connection, sync now and the sync log.
//! - [`credentials`]: API keys and OAuth clients: issue and rotate (the
//!   secret shown once), revoke, and the audit log.
//! - [`stores`]: the operator's choice of store.
//! - [`registry`]: the operator's connector registry: versions, the
//!   capability diff of a pending upgrade with an approve button, activate,
//!   roll back, delete, install from an OCI reference.
//!
//! Every change goes through the same functions as the HTTP API
//! (`sluice_api::webhooks::create_subscription`, ...), so the console checks
//! and does exactly what the API does.

pub mod assets;
pub mod connectors;
pub mod credentials;
pub mod deliveries;
pub mod form;
pub mod layout;
pub mod registry;
pub mod session;
pub mod stores;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use sluice_api::AppState;

/// Where the console lives.
pub const BASE: &str = "/console";

/// The console's routes, to merge into the service's router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/console", get(session::home))
        .route("/console/", get(|| async { Redirect::to(BASE) }))
        .merge(session::routes())
        .merge(assets::routes())
        .merge(stores::routes())
        .merge(deliveries::routes())
        .merge(webhooks::routes())
        .merge(connectors::routes())
        .merge(credentials::routes())
        .merge(registry::routes())
        .route("/console/{*rest}", get(layout::not_found))
        .with_state(state)
}
