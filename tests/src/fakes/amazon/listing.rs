//! A listing as the fake stores it, what tests read from it (quantity,
//! price, title), and its `getListingsItem` representation.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use sluice_core::UnixMillis;

use super::listing_body::Requirements;
use super::marketplace::Marketplace;
use crate::fakes::money::Hundredths;

/// A seller's listing, as accepted by `putListingsItem` or
/// `patchListingsItem`.
///
/// The fake keeps one attribute set per seller and SKU; the marketplaces are
/// those the listing was submitted for and not yet deleted from.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// The seller (merchant) id.
    pub seller_id: String,
    /// The seller's SKU.
    pub sku: String,
    /// The ASIN the fake's catalogue matched it to.
    pub asin: String,
    /// The Amazon product type (`PRODUCT`, `LUGGAGE`, ...).
    pub product_type: String,
    /// The requirement set it was last fully submitted against.
    pub requirements: Requirements,
    /// The marketplaces it is listed in.
    pub marketplace_ids: BTreeSet<String>,
    /// The attributes, as submitted (`{"item_name":[{"value":"..."}],...}`).
    pub attributes: Map<String, Value>,
    /// When it was first accepted, on the fake's clock.
    pub created_at: UnixMillis,
    /// When it was last changed, on the fake's clock.
    pub last_updated_at: UnixMillis,
    /// The `submissionId` of the submission that last changed it.
    pub submission_id: String,
}

/// A price from `purchasable_offer`.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferPrice {
    /// The offer's `currency`.
    pub currency: String,
    /// The first `our_price[].schedule[].value_with_tax`.
    pub value_with_tax: f64,
}

impl Listing {
    /// The values of attribute `name`, if it is set.
    pub fn attribute(&self, name: &str) -> Option<&[Value]> {
        self.attributes
            .get(name)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
    }

    /// The first `value` of attribute `name` (`item_name`, `condition_type`).
    pub fn first_value(&self, name: &str) -> Option<&str> {
        self.attribute(name)?
            .iter()
            .find_map(|entry| entry.get("value").and_then(Value::as_str))
    }

    /// The merchant-fulfilled quantity: `fulfillment_availability` with
    /// channel `DEFAULT`.
    pub fn quantity(&self) -> Option<u64> {
        self.attribute("fulfillment_availability")?
            .iter()
            .find(|entry| entry["fulfillment_channel_code"] == "DEFAULT")
            .and_then(|entry| entry.get("quantity"))
            .and_then(Value::as_u64)
    }

    /// The price offered in `marketplace_id` (an offer without a
    /// `marketplace_id` applies to all).
    pub fn price(&self, marketplace_id: &str) -> Option<OfferPrice> {
        let offer = self.attribute("purchasable_offer")?.iter().find(|offer| {
            offer
                .get("marketplace_id")
                .is_none_or(|id| id == marketplace_id)
        })?;
        let value_with_tax = offer
            .get("our_price")?
            .get(0)?
            .get("schedule")?
            .get(0)?
            .get("value_with_tax")?
            .as_f64()?;
        Some(OfferPrice {
            currency: offer.get("currency")?.as_str()?.to_owned(),
            value_with_tax,
        })
    }

    /// `BUYABLE` needs a price and stock; every listing is `DISCOVERABLE`.
    fn statuses(&self, marketplace_id: &str) -> Vec<&'static str> {
        let buyable =
            self.price(marketplace_id).is_some() && self.quantity().is_some_and(|stock| stock > 0);
        if buyable {
            vec!["BUYABLE", "DISCOVERABLE"]
        } else {
            vec!["DISCOVERABLE"]
        }
    }

    /// The `getListingsItem` body for `marketplaces`, with the data sets in
    /// `included` (`summaries`, `attributes`, `issues`, `offers`,
    /// `fulfillmentAvailability`, `procurement`, `relationships`,
    /// `productTypes`).
    pub(super) fn item_json(
        &self,
        marketplaces: &[&'static Marketplace],
        included: &BTreeSet<&str>,
    ) -> Value {
        let mut item = Map::new();
        item.insert("sku".into(), self.sku.clone().into());
        let per_marketplace = |render: &dyn Fn(&Marketplace) -> Option<Value>| -> Value {
            marketplaces
                .iter()
                .filter_map(|marketplace| render(marketplace))
                .collect()
        };
        for data_set in included {
            let value = match *data_set {
                "summaries" => per_marketplace(&|marketplace| Some(self.summary(marketplace))),
                "attributes" => Value::Object(self.attributes.clone()),
                // Accepted listings carry no issues in the fake.
                "issues" | "relationships" => json!([]),
                "offers" => per_marketplace(&|marketplace| {
                    let price = self.price(marketplace.id)?;
                    Some(json!({
                        "marketplaceId": marketplace.id,
                        "offerType": "B2C",
                        "price": {
                            "currencyCode": price.currency,
                            "amount": Hundredths::from_f64(price.value_with_tax)?.to_string(),
                        },
                    }))
                }),
                "fulfillmentAvailability" => self
                    .quantity()
                    .map(|quantity| {
                        json!([{"fulfillmentChannelCode": "DEFAULT", "quantity": quantity}])
                    })
                    .unwrap_or_else(|| json!([])),
                "productTypes" => per_marketplace(&|marketplace| {
                    Some(json!({"marketplaceId": marketplace.id, "productType": self.product_type}))
                }),
                // Business-to-business cost prices are not modelled.
                _ => continue,
            };
            item.insert((*data_set).into(), value);
        }
        Value::Object(item)
    }

    fn summary(&self, marketplace: &Marketplace) -> Value {
        let mut summary = json!({
            "marketplaceId": marketplace.id,
            "asin": self.asin,
            "productType": self.product_type,
            "status": self.statuses(marketplace.id),
            "createdDate": sluice_core::clock::format_rfc3339(self.created_at),
            "lastUpdatedDate": sluice_core::clock::format_rfc3339(self.last_updated_at),
        });
        if let Some(condition) = self.first_value("condition_type") {
            summary["conditionType"] = condition.into();
        }
        if let Some(name) = self.first_value("item_name") {
            summary["itemName"] = name.into();
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::amazon::marketplace::{MARKETPLACE_CA, MARKETPLACE_US, find};

    fn mug() -> Listing {
        Listing {
            seller_id: "A1".into(),
            sku: "MUG-1".into(),
            asin: "B0TEST0001".into(),
            product_type: "PRODUCT".into(),
            requirements: Requirements::Listing,
            marketplace_ids: [MARKETPLACE_US.to_owned()].into(),
            attributes: json!({
                "item_name": [{"value": "Mug", "marketplace_id": MARKETPLACE_US}],
                "condition_type": [{"value": "new_new"}],
                "purchasable_offer": [{
                    "marketplace_id": MARKETPLACE_US,
                    "currency": "USD",
                    "our_price": [{"schedule": [{"value_with_tax": 19.99}]}],
                }],
                "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
            })
            .as_object()
            .unwrap()
            .clone(),
            created_at: 1_700_000_000_000,
            last_updated_at: 1_700_000_060_000,
            submission_id: "f1dc2914-75dd-11ea-bc55-0242ac130003".into(),
        }
    }

    #[test]
    fn quantity_price_and_title_come_from_the_attributes() {
        let mug = mug();
        assert_eq!(mug.quantity(), Some(7));
        assert_eq!(
            mug.price(MARKETPLACE_US),
            Some(OfferPrice {
                currency: "USD".into(),
                value_with_tax: 19.99
            })
        );
        assert_eq!(mug.price(MARKETPLACE_CA), None);
        assert_eq!(mug.first_value("item_name"), Some("Mug"));
    }

    #[test]
    fn the_item_holds_the_requested_data_sets() {
        let us = find(MARKETPLACE_US).unwrap();
        let included = BTreeSet::from(["summaries", "offers", "fulfillmentAvailability"]);
        let item = mug().item_json(&[us], &included);
        assert_eq!(
            item,
            json!({
                "sku": "MUG-1",
                "summaries": [{
                    "marketplaceId": MARKETPLACE_US,
                    "asin": "B0TEST0001",
                    "productType": "PRODUCT",
                    "conditionType": "new_new",
                    "status": ["BUYABLE", "DISCOVERABLE"],
                    "itemName": "Mug",
                    "createdDate": "2023-11-14T22:13:20.000Z",
                    "lastUpdatedDate": "2023-11-14T22:14:20.000Z",
                }],
                "offers": [{
                    "marketplaceId": MARKETPLACE_US,
                    "offerType": "B2C",
                    "price": {"currencyCode": "USD", "amount": "19.99"},
                }],
                "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 7}],
            })
        );
    }

    #[test]
    fn an_out_of_stock_listing_is_not_buyable() {
        let mut mug = mug();
        mug.attributes.insert(
            "fulfillment_availability".into(),
            json!([{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]),
        );
        assert_eq!(mug.statuses(MARKETPLACE_US), ["DISCOVERABLE"]);
    }
}
