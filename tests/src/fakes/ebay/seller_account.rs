//! What the fake eBay knows about its one seller account: inventory items,
//! offers, business policies and locations, and orders. The fake keeps it
//! behind one mutex.

use std::collections::BTreeMap;

use http::StatusCode;

use super::SellApi;
use super::api_error::{EbayError, ErrorDetail};
use super::bulk_update::OfferUpdate;
use super::ids;
use super::inventory_item::InventoryItem;
use super::offer::Offer;
use super::order::{EbayOrder, EbayOrderSeed};
use super::publish::{BusinessPolicies, SellingSetup};

/// 404, errorId 25713: no such offer.
pub(super) fn offer_not_available(what: &str) -> EbayError {
    EbayError::new(
        StatusCode::NOT_FOUND,
        ErrorDetail::request(
            SellApi::Inventory,
            25713,
            format!("This Offer is not available : {what}."),
        ),
    )
}

#[derive(Default)]
pub(super) struct SellerAccount {
    /// By SKU.
    items: BTreeMap<String, InventoryItem>,
    /// By offer id.
    offers: BTreeMap<String, Offer>,
    setup: SellingSetup,
    /// By order id.
    orders: BTreeMap<String, EbayOrder>,
    /// Numbers fulfillments that have no tracking number.
    fulfillment_serial: u64,
}

impl SellerAccount {
    /// Creates or replaces an inventory item.
    pub(super) fn put_item(&mut self, item: InventoryItem) {
        self.items.insert(item.sku.clone(), item);
    }

    pub(super) fn inventory_item(&self, sku: &str) -> Option<&InventoryItem> {
        self.items.get(sku)
    }

    pub(super) fn set_item_quantity(&mut self, sku: &str, quantity: u32) {
        if let Some(item) = self.items.get_mut(sku) {
            item.set_quantity(quantity);
        }
    }

    /// Stores a new offer, unless its SKU is unknown (25702) or the SKU
    /// already has an offer on the marketplace (25002 with the existing
    /// `offerId`).
    pub(super) fn create_offer(&mut self, offer: Offer) -> Result<Offer, EbayError> {
        if !self.items.contains_key(&offer.sku) {
            return Err(EbayError::bad_request(
                ErrorDetail::request(
                    SellApi::Inventory,
                    25702,
                    format!(
                        "{} could not be found or is not available in the system.",
                        offer.sku
                    ),
                )
                .parameter("sku", offer.sku.as_str()),
            ));
        }
        if let Some(existing) = self.offers.values().find(|existing| {
            existing.sku == offer.sku && existing.marketplace_id == offer.marketplace_id
        }) {
            return Err(EbayError::bad_request(
                ErrorDetail::request(SellApi::Inventory, 25002, "Offer entity already exists")
                    .long_message("A user error has occurred. Offer entity already exists")
                    .parameter("offerId", existing.offer_id.as_str()),
            ));
        }
        self.offers.insert(offer.offer_id.clone(), offer.clone());
        Ok(offer)
    }

    pub(super) fn offer(&self, offer_id: &str) -> Option<&Offer> {
        self.offers.get(offer_id)
    }

    /// The offers of `sku`, optionally on one marketplace only.
    pub(super) fn offers_of(&self, sku: &str, marketplace_id: Option<&str>) -> Vec<&Offer> {
        self.offers
            .values()
            .filter(|offer| offer.sku == sku)
            .filter(|offer| marketplace_id.is_none_or(|id| offer.marketplace_id == id))
            .collect()
    }

    pub(super) fn apply_offer_update(&mut self, update: &OfferUpdate) {
        if let Some(offer) = self.offers.get_mut(&update.offer_id) {
            if let Some(quantity) = update.available_quantity {
                offer.available_quantity = Some(quantity);
            }
            if let Some(price) = &update.price {
                offer.price = Some(price.clone());
            }
        }
    }

    /// Publishes `offer_id` (again, for a live listing: eBay revises it and
    /// keeps its id) and returns the offer with its listing id.
    pub(super) fn publish(&mut self, offer_id: &str) -> Result<Offer, EbayError> {
        let blockers = {
            let offer = self
                .offers
                .get(offer_id)
                .ok_or_else(|| offer_not_available(offer_id))?;
            let item = self
                .items
                .get(&offer.sku)
                .ok_or_else(|| offer_not_available(offer_id))?;
            self.setup.blockers(offer, item)
        };
        if !blockers.is_empty() {
            return Err(EbayError {
                status: StatusCode::BAD_REQUEST,
                errors: blockers,
            });
        }
        let offer = self
            .offers
            .get_mut(offer_id)
            .ok_or_else(|| offer_not_available(offer_id))?;
        offer.listing_id.get_or_insert_with(ids::listing_id);
        Ok(offer.clone())
    }

    pub(super) fn add_policies(&mut self) -> BusinessPolicies {
        self.setup.add_policies()
    }

    pub(super) fn add_location(&mut self, merchant_location_key: &str) {
        self.setup.add_location(merchant_location_key);
    }

    pub(super) fn seed_order(&mut self, seed: EbayOrderSeed) -> String {
        let order = seed.into_order();
        let id = order.order_id.clone();
        self.orders.insert(id.clone(), order);
        id
    }

    pub(super) fn order(&self, order_id: &str) -> Option<&EbayOrder> {
        self.orders.get(order_id)
    }

    pub(super) fn order_mut(&mut self, order_id: &str) -> Option<&mut EbayOrder> {
        self.orders.get_mut(order_id)
    }

    pub(super) fn orders(&self) -> impl Iterator<Item = &EbayOrder> {
        self.orders.values()
    }

    /// The next number for a fulfillment without tracking.
    pub(super) fn next_fulfillment_serial(&mut self) -> u64 {
        self.fulfillment_serial += 1;
        self.fulfillment_serial
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn item(sku: &str, body: Value) -> InventoryItem {
        InventoryItem::parse(sku, "en_US", body.to_string().as_bytes()).unwrap()
    }

    fn offer_body(policies: &BusinessPolicies) -> Value {
        json!({
            "sku": "MUG-1", "marketplaceId": "EBAY_US", "format": "FIXED_PRICE",
            "listingDuration": "GTC", "availableQuantity": 3, "categoryId": "20625",
            "pricingSummary": {"price": {"value": "19.99", "currency": "USD"}},
            "listingPolicies": {
                "fulfillmentPolicyId": policies.fulfillment_policy_id,
                "paymentPolicyId": policies.payment_policy_id,
                "returnPolicyId": policies.return_policy_id,
            },
            "merchantLocationKey": "warehouse-1",
        })
    }

    fn offer(body: &Value, offer_id: &str) -> Offer {
        Offer::parse(body.to_string().as_bytes(), offer_id.into()).unwrap()
    }

    fn account() -> (SellerAccount, BusinessPolicies) {
        let mut account = SellerAccount::default();
        let policies = account.add_policies();
        account.add_location("warehouse-1");
        account.put_item(item(
            "MUG-1",
            json!({"condition": "NEW", "product": {
                "title": "Mug", "description": "A mug.", "imageUrls": ["https://i/1.jpg"],
            }}),
        ));
        (account, policies)
    }

    #[test]
    fn a_second_offer_for_the_sku_and_marketplace_names_the_first() {
        let (mut account, policies) = account();
        let body = offer_body(&policies);
        account.create_offer(offer(&body, "1")).unwrap();
        let error = account.create_offer(offer(&body, "2")).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.errors[0].error_id, 25002);
        assert_eq!(error.errors[0].message, "Offer entity already exists");
        assert_eq!(
            error.errors[0].parameters,
            [("offerId".to_owned(), "1".to_owned())]
        );
    }

    #[test]
    fn offers_need_a_known_sku() {
        let (mut account, policies) = account();
        let mut body = offer_body(&policies);
        body["sku"] = json!("GHOST-1");
        let error = account.create_offer(offer(&body, "1")).unwrap_err();
        assert_eq!(error.errors[0].error_id, 25702);
    }

    #[test]
    fn publishing_gives_a_listing_id_that_stays_on_republish() {
        let (mut account, policies) = account();
        account
            .create_offer(offer(&offer_body(&policies), "1"))
            .unwrap();
        let first = account.publish("1").unwrap().listing_id.unwrap();
        let again = account.publish("1").unwrap().listing_id.unwrap();
        assert_eq!(first, again);
        assert_eq!(
            account.publish("2").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn an_item_without_content_cannot_be_published() {
        let (mut account, policies) = account();
        account.put_item(item("MUG-1", json!({})));
        account
            .create_offer(offer(&offer_body(&policies), "1"))
            .unwrap();
        let error = account.publish("1").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.errors[0].error_id, 25002);
        assert!(account.offer("1").unwrap().listing_id.is_none());
    }
}
