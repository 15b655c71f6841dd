//! What `publishOffer` requires before an offer becomes a live listing, and
//! the seller's business policies and inventory locations it checks against.
//!
//! Every missing piece is its own error in one 400 answer, with eBay's ids
//! where the Inventory API has one for it:
//! - price 25003, quantity of at least one 25004, category 25005;
//! - fulfillment, payment and return policy 25007, 25008 and 25009;
//! - inventory location 25012, condition 25021;
//! - title, description, photo or listing duration: the generic user
//!   error 25002.

use std::collections::HashSet;

use super::SellApi;
use super::api_error::ErrorDetail;
use super::ids;
use super::inventory_item::InventoryItem;
use super::offer::Offer;

/// A seller's business policies, as offers name them in `listingPolicies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessPolicies {
    /// Shipping terms.
    pub fulfillment_policy_id: String,
    /// Payment terms.
    pub payment_policy_id: String,
    /// Return terms.
    pub return_policy_id: String,
}

/// The policies and inventory locations a seller has set up.
#[derive(Debug, Default)]
pub(super) struct SellingSetup {
    fulfillment_policies: HashSet<String>,
    payment_policies: HashSet<String>,
    return_policies: HashSet<String>,
    locations: HashSet<String>,
}

fn blocker(error_id: u32, what: &str, field: &str) -> ErrorDetail {
    let message = if error_id == 25002 {
        format!("A user error has occurred. {what}")
    } else {
        what.to_owned()
    };
    ErrorDetail::request(SellApi::Inventory, error_id, message).parameter("fieldName", field)
}

fn named<'a>(set: &HashSet<String>, id: Option<&'a str>) -> Option<&'a str> {
    id.filter(|id| set.contains(*id))
}

impl SellingSetup {
    pub(super) fn add_policies(&mut self) -> BusinessPolicies {
        let policies = BusinessPolicies {
            fulfillment_policy_id: ids::policy_id(),
            payment_policy_id: ids::policy_id(),
            return_policy_id: ids::policy_id(),
        };
        self.fulfillment_policies
            .insert(policies.fulfillment_policy_id.clone());
        self.payment_policies
            .insert(policies.payment_policy_id.clone());
        self.return_policies
            .insert(policies.return_policy_id.clone());
        policies
    }

    pub(super) fn add_location(&mut self, merchant_location_key: &str) {
        self.locations.insert(merchant_location_key.to_owned());
    }

    /// Why `offer` of `item` cannot be published; empty when it can.
    pub(super) fn blockers(&self, offer: &Offer, item: &InventoryItem) -> Vec<ErrorDetail> {
        let policies = &offer.listing_policies;
        let quantity = offer
            .available_quantity
            .map(u64::from)
            .or(item.quantity())
            .unwrap_or(0);
        let description = offer.listing_description.as_deref().or(item.description());
        let checks = [
            (
                item.title().is_some(),
                25002,
                "The title is missing.",
                "product.title",
            ),
            (
                description.is_some(),
                25002,
                "The item description is missing.",
                "product.description",
            ),
            (
                !item.image_urls().is_empty(),
                25002,
                "Add at least 1 photo.",
                "product.imageUrls",
            ),
            (
                item.condition().is_some(),
                25021,
                "The item condition is missing.",
                "condition",
            ),
            (
                offer.price.is_some(),
                25003,
                "The offer has no price.",
                "pricingSummary.price",
            ),
            (
                quantity > 0,
                25004,
                "The available quantity must be at least 1.",
                "availableQuantity",
            ),
            (
                offer.listing_duration.is_some(),
                25002,
                "The listing duration is missing; a fixed-price offer is listed GTC.",
                "listingDuration",
            ),
            (
                offer.category_id.is_some(),
                25005,
                "The offer has no category.",
                "categoryId",
            ),
            (
                named(
                    &self.fulfillment_policies,
                    policies.fulfillment_policy_id.as_deref(),
                )
                .is_some(),
                25007,
                "The fulfillment policy is missing or unknown.",
                "listingPolicies.fulfillmentPolicyId",
            ),
            (
                named(
                    &self.payment_policies,
                    policies.payment_policy_id.as_deref(),
                )
                .is_some(),
                25008,
                "The payment policy is missing or unknown.",
                "listingPolicies.paymentPolicyId",
            ),
            (
                named(&self.return_policies, policies.return_policy_id.as_deref()).is_some(),
                25009,
                "The return policy is missing or unknown.",
                "listingPolicies.returnPolicyId",
            ),
            (
                named(&self.locations, offer.merchant_location_key.as_deref()).is_some(),
                25012,
                "Invalid inventory location. The merchantLocationKey is missing or unknown.",
                "merchantLocationKey",
            ),
        ];
        checks
            .into_iter()
            .filter(|(holds, ..)| !holds)
            .map(|(_, error_id, what, field)| blocker(error_id, what, field))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setup() -> (SellingSetup, BusinessPolicies) {
        let mut setup = SellingSetup::default();
        let policies = setup.add_policies();
        setup.add_location("warehouse-1");
        (setup, policies)
    }

    fn item(body: serde_json::Value) -> InventoryItem {
        InventoryItem::parse("MUG-1", "en_US", body.to_string().as_bytes()).unwrap()
    }

    fn complete_item() -> InventoryItem {
        item(json!({
            "availability": {"shipToLocationAvailability": {"quantity": 5}},
            "condition": "NEW",
            "product": {"title": "Mug", "description": "A mug.", "imageUrls": ["https://i/1.jpg"]},
        }))
    }

    fn offer(policies: &BusinessPolicies) -> Offer {
        let body = json!({
            "sku": "MUG-1", "marketplaceId": "EBAY_US", "format": "FIXED_PRICE",
            "listingDuration": "GTC", "categoryId": "20625",
            "pricingSummary": {"price": {"value": "19.99", "currency": "USD"}},
            "listingPolicies": {
                "fulfillmentPolicyId": policies.fulfillment_policy_id,
                "paymentPolicyId": policies.payment_policy_id,
                "returnPolicyId": policies.return_policy_id,
            },
            "merchantLocationKey": "warehouse-1",
        });
        Offer::parse(body.to_string().as_bytes(), "1".into()).unwrap()
    }

    fn ids(blockers: &[ErrorDetail]) -> Vec<u32> {
        blockers.iter().map(|blocker| blocker.error_id).collect()
    }

    #[test]
    fn a_complete_offer_of_a_complete_item_can_be_published() {
        let (setup, policies) = setup();
        assert_eq!(setup.blockers(&offer(&policies), &complete_item()), vec![]);
    }

    #[test]
    fn an_incomplete_item_lists_every_missing_piece() {
        let (setup, policies) = setup();
        let blockers = setup.blockers(&offer(&policies), &item(json!({})));
        assert_eq!(ids(&blockers), [25002, 25002, 25002, 25021, 25004]);
        assert_eq!(
            blockers[0].message,
            "A user error has occurred. The title is missing."
        );
    }

    #[test]
    fn policies_and_locations_must_be_the_sellers() {
        let (setup, _) = setup();
        let stranger = BusinessPolicies {
            fulfillment_policy_id: "9".into(),
            payment_policy_id: "8".into(),
            return_policy_id: "7".into(),
        };
        let mut offer = offer(&stranger);
        offer.merchant_location_key = Some("elsewhere".into());
        assert_eq!(
            ids(&setup.blockers(&offer, &complete_item())),
            [25007, 25008, 25009, 25012]
        );
    }
}
