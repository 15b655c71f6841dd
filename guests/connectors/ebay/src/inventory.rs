//! `inventory.updated`: the SKU's ship-to-home quantity, and its offer's
//! available quantity when an offer is kept for it, in one
//! `bulk_update_price_quantity` call.
//!
//! When eBay no longer knows the kept offer, the offer is forgotten and the
//! quantity sent again for the SKU alone, so that the outcome says for sure
//! whether the item's quantity was set.
//!
//! A SKU eBay would refuse or a quantity beyond eBay's `int32` fails
//! permanently with eBay's rule, before any call.

use sluice_guest::payload::InventoryUpdated;
use sluice_guest::{DeliveryOutcome, Event, InvocationContext};

use crate::api::Session;
use crate::bulk::{self, Applied, OfferChange, SkuChange};
use crate::config::{Account, Site};
use crate::offers;
use crate::rules;

/// Delivers an `inventory.updated` event.
pub fn deliver(context: &InvocationContext, event: &Event) -> DeliveryOutcome {
    match run(context, event) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn run(context: &InvocationContext, event: &Event) -> Result<DeliveryOutcome, DeliveryOutcome> {
    let update: InventoryUpdated = serde_json::from_str(&event.payload).map_err(|error| {
        DeliveryOutcome::failed(format!(
            "the payload is not an inventory.updated payload: {error}"
        ))
    })?;
    let quantity = rules::check_sku(&update.sku)
        .and_then(|()| rules::quantity("quantity", update.quantity))
        .map_err(|problem| {
            DeliveryOutcome::failed(format!(
                "cannot set the quantity of SKU {} on eBay: {problem}",
                update.sku
            ))
        })?;
    let account = Account::from_configuration(context).map_err(DeliveryOutcome::failed)?;
    let site = Site::from_configuration(context).map_err(DeliveryOutcome::failed)?;
    let session = Session::new(&account, context.now_ms);
    let known = offers::load(&site.marketplace_id, &update.sku);
    let change = SkuChange {
        sku: update.sku.clone(),
        quantity: Some(quantity),
        offer: known.map(|offer| OfferChange {
            offer_id: offer.offer_id,
            quantity: Some(quantity),
            price: None,
        }),
    };
    match bulk::send(&session, &site, &change, context.now_ms)? {
        Applied::All => {}
        Applied::OfferUnknown => {
            offers::forget(&site.marketplace_id, &update.sku);
            let alone = SkuChange {
                offer: None,
                ..change
            };
            bulk::send(&session, &site, &alone, context.now_ms)?;
        }
    }
    Ok(DeliveryOutcome::delivered(None))
}
