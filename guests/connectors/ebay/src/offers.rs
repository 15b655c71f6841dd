//! The offer of each SKU, kept in the configuration's state so that an
//! offer is created and published once and then updated.
//!
//! Key `offer:<marketplace>:<sku>`, value `{"offer_id":"...","listing_id":"..."}`
//! (`listing_id` once published). State is bounded; when the host cannot
//! keep an offer, the next `product.updated` finds it again through eBay's
//! "Offer entity already exists" answer, which names it.

use serde::{Deserialize, Serialize};
use sluice_guest::{log, state};

/// A SKU's offer on a marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownOffer {
    /// `offerId`.
    pub offer_id: String,
    /// The listing id, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_id: Option<String>,
}

/// The state key of `sku`'s offer on `marketplace_id`.
pub fn key(marketplace_id: &str, sku: &str) -> String {
    format!("offer:{marketplace_id}:{sku}")
}

/// The offer kept for `sku`, if any.
pub fn load(marketplace_id: &str, sku: &str) -> Option<KnownOffer> {
    let bytes = state::get(&key(marketplace_id, sku))?;
    serde_json::from_slice(&bytes).ok()
}

/// Keeps `offer` for `sku`; a refusal by the host is logged, not fatal.
pub fn save(marketplace_id: &str, sku: &str, offer: &KnownOffer) {
    let value = serde_json::to_vec(offer).unwrap_or_default();
    if let Err(error) = state::set(&key(marketplace_id, sku), &value, None) {
        log::warn(
            "could not keep the offer id in state",
            &[
                ("sku", sku),
                ("offer_id", &offer.offer_id),
                ("error", error.message()),
            ],
        );
    }
}

/// Forgets `sku`'s offer (eBay no longer has it).
pub fn forget(marketplace_id: &str, sku: &str) {
    state::delete(&key(marketplace_id, sku));
}
