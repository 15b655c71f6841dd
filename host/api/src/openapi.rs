//! The OpenAPI document served at `/v1/openapi.json`, generated from the
//! handlers' annotations.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{
    bus, connectors, credentials, deliveries, events, inbound, oauth, problem, registry, sync,
    webhooks,
};

/// The event envelope of `POST /v1/events` (the parser in `sluice-events`
/// is what enforces it).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventInput {
    /// Unique in its store; a repeat is acknowledged and creates nothing.
    pub id: String,
    /// The event type, for example `order.created`; `webhook.*` is reserved.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The store (tenant) it belongs to.
    pub store_id: String,
    /// When it happened, RFC 3339 with an offset.
    pub occurred_at: String,
    /// The JSON payload, at most 256 KiB; documented types are validated.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sluice", description = "Events in; signed webhooks and sandboxed connectors out, at least once."),
    paths(
        events::ingest, events::read,
        webhooks::create, webhooks::list, webhooks::read, webhooks::update, webhooks::delete,
        webhooks::rotate_secret,
        connectors::catalog, connectors::describe,
        connectors::create, connectors::list, connectors::read, connectors::update,
        connectors::delete, connectors::test,
        registry::install, registry::versions, registry::activate, registry::approve,
        registry::rollback, registry::remove,
        deliveries::list, deliveries::read, deliveries::retry, deliveries::retry_dead,
        sync::request, sync::runs,
        credentials::create, credentials::list, credentials::read, credentials::rotate,
        credentials::revoke, credentials::audit,
        oauth::token, oauth::validate,
        bus::rejected,
        inbound::receive,
    ),
    components(schemas(problem::Problem, problem::FieldProblem, EventInput)),
    modifiers(&AdminToken),
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented() {
        let document = super::document();
        let paths: Vec<&String> = document.paths.paths.keys().collect();
        for path in [
            "/v1/events",
            "/v1/stores/{store_id}/webhooks/{id}/rotate-secret",
            "/v1/stores/{store_id}/connectors/{id}/test",
            "/v1/stores/{store_id}/deliveries/retry",
            "/v1/inbound/{store_id}/{config_id}/{path}",
            "/v1/connectors/packages",
            "/v1/connectors/{connector_id}/versions/{version}/approve",
            "/v1/connectors/{connector_id}/rollback",
            "/v1/bus/rejected",
        ] {
            assert!(
                paths.iter().any(|p| *p == path),
                "{path} missing from {paths:?}"
            );
        }
    }
}
