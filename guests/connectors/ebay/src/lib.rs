//! The eBay connector.
//!
//! - Delivery ([`product`], [`inventory`], [`shipment`]): `product.updated`
//!   creates or replaces the inventory item and creates and publishes its
//!   offer once (the offer id kept in state, [`offers`]), then keeps the
//!   offer's price current; `inventory.updated` sets quantities with
//!   `bulk_update_price_quantity` ([`bulk`]); `order.fulfilled` creates a
//!   shipping fulfillment for eBay orders.
//! - Sync ([`orders`]): eBay orders by last modification, as
//!   `order.placed`/`order.updated` payloads.
//! - Connection check ([`check`]): one cheap read, and the listing settings.
//!
//! The component holds no credential: every call asks the host to
//! authenticate it with the seller's refresh token ([`oauth`]); the host
//! obtains the user access token, caches it until shortly before it
//! expires and renews it once when eBay refuses it ([`api`]).

mod api;
mod bulk;
mod check;
mod config;
mod dates;
mod inventory;
mod oauth;
mod offers;
mod orders;
mod product;
mod rules;
mod shipment;

use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InvocationContext, SyncBatch,
    SyncError, SyncRequest, Syncer,
};

struct Ebay;

sluice_guest::connector!(Ebay, worlds: [delivery, sync]);

impl Deliverer for Ebay {
    fn deliver(context: InvocationContext, event: Event) -> DeliveryOutcome {
        match event.event_type.as_str() {
            "product.updated" => product::deliver(&context, &event),
            "inventory.updated" => inventory::deliver(&context, &event),
            "order.fulfilled" => shipment::deliver(&context, &event),
            other => DeliveryOutcome::failed(format!(
                "the eBay connector does not deliver {other} events; it handles product.updated, inventory.updated and order.fulfilled"
            )),
        }
    }
}

impl Connection for Ebay {
    fn test_connection(context: InvocationContext) -> ConnectionCheck {
        check::test_connection(&context)
    }
}

impl Syncer for Ebay {
    fn sync(context: InvocationContext, request: SyncRequest) -> Result<SyncBatch, SyncError> {
        orders::sync(&context, &request)
    }
}
