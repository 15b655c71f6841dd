//! The Amazon Selling Partner connector.
//!
//! - Delivery: `product.updated` puts (or patches) the listing and
//!   `inventory.updated` patches its quantity through Listings Items
//!   2021-08-01 ([`listings`]); `order.fulfilled` of an Amazon order
//!   confirms the shipment through Orders v0 ([`shipment`]). Amazon's
//!   answers map onto delivery outcomes in [`outcome`].
//! - Sync: entity `orders`, pulled with `getOrders` page by page behind an
//!   opaque cursor ([`orders`]).
//! - Connection check: one cheap read ([`check`]).
//!
//! The component holds no secret: every SP-API request asks the host to
//! authenticate it with credential `refresh_token` ([`sp_api`]). The host
//! exchanges it with Login with Amazon, caches the access token per
//! configuration until shortly before it expires, puts it in
//! `x-amz-access-token` only on requests to Amazon's SP-API endpoints, and
//! renews it once when Amazon refuses a cached one; when it gets no token,
//! its answer becomes the outcome ([`lwa`]). The SP-API host comes from
//! setting `endpoint`; the manifest lets the connector reach Amazon's hosts
//! only.

mod check;
mod config;
mod listings;
mod lwa;
mod orders;
mod outcome;
mod profile;
mod shipment;
mod sp_api;

use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InvocationContext, SyncBatch,
    SyncError, SyncRequest, Syncer, log,
};

use crate::config::Config;

struct Amazon;

sluice_guest::connector!(Amazon, worlds: [delivery, sync]);

impl Deliverer for Amazon {
    fn deliver(context: InvocationContext, event: Event) -> DeliveryOutcome {
        if event.event_type == "order.fulfilled" {
            // Orders of other marketplaces are acknowledged without a call,
            // whatever the configuration holds.
            match shipment::parse(&event.payload) {
                Ok(shipment) if !shipment.is_amazon() => {
                    log::info(
                        "not an Amazon order; nothing to confirm",
                        &[("event_id", &event.id)],
                    );
                    return DeliveryOutcome::delivered(None);
                }
                Ok(shipment) => {
                    return match Config::from_context(&context) {
                        Ok(config) => shipment::deliver(&context, &config, &event, &shipment),
                        Err(problem) => DeliveryOutcome::failed(problem),
                    };
                }
                Err(problem) => return DeliveryOutcome::failed(problem),
            }
        }
        let config = match Config::from_context(&context) {
            Ok(config) => config,
            Err(problem) => return DeliveryOutcome::failed(problem),
        };
        match event.event_type.as_str() {
            "product.updated" => listings::deliver_product(&context, &config, &event.payload),
            "inventory.updated" => listings::deliver_inventory(&context, &config, &event.payload),
            other => DeliveryOutcome::failed(format!(
                "the Amazon connector does not deliver {other} events; it handles \
                 product.updated, inventory.updated and order.fulfilled"
            )),
        }
    }
}

impl Connection for Amazon {
    fn test_connection(context: InvocationContext) -> ConnectionCheck {
        check::test_connection(&context)
    }
}

impl Syncer for Amazon {
    fn sync(context: InvocationContext, request: SyncRequest) -> Result<SyncBatch, SyncError> {
        orders::sync(&context, &request)
    }
}
