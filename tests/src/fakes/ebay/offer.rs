//! An offer: `createOffer`'s body, checked as eBay checks it, and its JSON
//! in `getOffers`.
//!
//! `sku`, `marketplaceId` and `format` are required (errorId 25709 when
//! absent); values out of range are 25709 `Invalid value for <field>.`.
//! Money amounts are strings (`{"value":"19.99","currency":"USD"}`) in the
//! marketplace's currency; the fake refuses a JSON number (2004), where
//! eBay's deserializer may coerce it. Only `FIXED_PRICE` offers are served.

use serde_json::{Map, Value, json};

use super::SellApi;
use super::api_error::{EbayError, ErrorDetail};
use super::json_fields::{Fields, body_object};
use crate::fakes::money::Hundredths;

/// The eBay marketplaces the fake knows, with their currency.
pub const MARKETPLACES: [(&str, &str); 17] = [
    ("EBAY_US", "USD"),
    ("EBAY_MOTORS_US", "USD"),
    ("EBAY_CA", "CAD"),
    ("EBAY_GB", "GBP"),
    ("EBAY_IE", "EUR"),
    ("EBAY_DE", "EUR"),
    ("EBAY_AT", "EUR"),
    ("EBAY_CH", "CHF"),
    ("EBAY_FR", "EUR"),
    ("EBAY_BE", "EUR"),
    ("EBAY_NL", "EUR"),
    ("EBAY_IT", "EUR"),
    ("EBAY_ES", "EUR"),
    ("EBAY_PL", "PLN"),
    ("EBAY_AU", "AUD"),
    ("EBAY_HK", "HKD"),
    ("EBAY_SG", "SGD"),
];

/// A price: eBay's `Amount`, the value a decimal string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// `"19.99"`.
    pub value: String,
    /// `"USD"`.
    pub currency: String,
}

/// The business policies an offer names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingPolicies {
    /// `fulfillmentPolicyId`.
    pub fulfillment_policy_id: Option<String>,
    /// `paymentPolicyId`.
    pub payment_policy_id: Option<String>,
    /// `returnPolicyId`.
    pub return_policy_id: Option<String>,
}

/// An offer of an inventory item on one marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// `offerId`.
    pub offer_id: String,
    /// The inventory item's SKU.
    pub sku: String,
    /// `marketplaceId` (`EBAY_US`).
    pub marketplace_id: String,
    /// `format` (`FIXED_PRICE`).
    pub format: String,
    /// `availableQuantity`.
    pub available_quantity: Option<u32>,
    /// `pricingSummary.price`.
    pub price: Option<Price>,
    /// `categoryId`.
    pub category_id: Option<String>,
    /// `listingPolicies`.
    pub listing_policies: ListingPolicies,
    /// `merchantLocationKey`.
    pub merchant_location_key: Option<String>,
    /// `listingDescription`.
    pub listing_description: Option<String>,
    /// `listingDuration` (`GTC`).
    pub listing_duration: Option<String>,
    /// The listing id once published.
    pub listing_id: Option<String>,
}

/// The currency of marketplace `marketplace_id`.
pub(super) fn currency_of(marketplace_id: &str) -> Option<&'static str> {
    MARKETPLACES
        .iter()
        .find(|(id, _)| *id == marketplace_id)
        .map(|(_, currency)| *currency)
}

/// 400, errorId 25709: `Invalid value for <field>.`
pub(super) fn invalid_value(field: &str, why: &str) -> ErrorDetail {
    ErrorDetail::request(
        SellApi::Inventory,
        25709,
        format!("Invalid value for {field}."),
    )
    .long_message(format!("Invalid value for {field}. {why}"))
    .parameter("fieldName", field)
}

/// An `Amount` as sent, its types checked, its values not yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SentPrice {
    path: String,
    value: Option<String>,
    currency: Option<String>,
}

impl SentPrice {
    /// Reads the `Amount` object `price` (2004 when a field is not a string).
    pub(super) fn read(price: &Fields<'_>) -> Result<Self, EbayError> {
        Ok(Self {
            path: price.location().to_owned(),
            value: price.string("value")?.map(str::to_owned),
            currency: price.string("currency")?.map(str::to_owned),
        })
    }

    /// The price, if its value is a positive decimal string and its
    /// currency is `currency`.
    pub(super) fn check(self, currency: &str) -> Result<Price, ErrorDetail> {
        let value = self
            .value
            .filter(|value| Hundredths::parse(value).is_some_and(|amount| amount.0 > 0))
            .ok_or_else(|| {
                invalid_value(
                    &format!("{}.value", self.path),
                    "The value must be a positive decimal amount as a string.",
                )
            })?;
        if self.currency.as_deref() != Some(currency) {
            return Err(invalid_value(
                &format!("{}.currency", self.path),
                &format!("The marketplace's currency is {currency}."),
            ));
        }
        Ok(Price {
            value,
            currency: currency.to_owned(),
        })
    }
}

impl Offer {
    /// Checks a `createOffer` body; the offer gets id `offer_id`.
    pub(super) fn parse(body: &[u8], offer_id: String) -> Result<Self, EbayError> {
        let body = body_object(body)?;
        let fields = Fields::new(&body, "");
        let required = |value: Option<&str>, name: &str| {
            value.map(str::to_owned).ok_or_else(|| {
                EbayError::bad_request(invalid_value(name, "The field is required."))
            })
        };
        let sku = required(fields.string("sku")?, "sku")?;
        super::inventory_item::check_sku(&sku)?;
        let marketplace_ids: Vec<&str> = MARKETPLACES.iter().map(|(id, _)| *id).collect();
        let marketplace_id = required(
            fields.enumeration("marketplaceId", &marketplace_ids)?,
            "marketplaceId",
        )?;
        let format = required(
            fields.enumeration("format", &["FIXED_PRICE", "AUCTION"])?,
            "format",
        )?;
        if format != "FIXED_PRICE" {
            return Err(EbayError::bad_request(invalid_value(
                "format",
                "The fake serves FIXED_PRICE offers only.",
            )));
        }
        let available_quantity = fields
            .integer("availableQuantity")?
            .map(|quantity| {
                u32::try_from(quantity).map_err(|_| {
                    EbayError::bad_request(invalid_value(
                        "availableQuantity",
                        "It must be 0 or more.",
                    ))
                })
            })
            .transpose()?;
        let currency = currency_of(&marketplace_id).unwrap_or("USD");
        let price = match fields.object("pricingSummary")? {
            Some(summary) => match summary.object("price")? {
                Some(price) => Some(
                    SentPrice::read(&price)?
                        .check(currency)
                        .map_err(EbayError::bad_request)?,
                ),
                None => None,
            },
            None => None,
        };
        let category_id = fields.string("categoryId")?;
        if category_id
            .is_some_and(|id| id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()))
        {
            return Err(EbayError::bad_request(invalid_value(
                "categoryId",
                "A category id is a number.",
            )));
        }
        let listing_policies = match fields.object("listingPolicies")? {
            Some(policies) => ListingPolicies {
                fulfillment_policy_id: policies.string("fulfillmentPolicyId")?.map(str::to_owned),
                payment_policy_id: policies.string("paymentPolicyId")?.map(str::to_owned),
                return_policy_id: policies.string("returnPolicyId")?.map(str::to_owned),
            },
            None => ListingPolicies::default(),
        };
        Ok(Self {
            offer_id,
            sku,
            marketplace_id,
            format,
            available_quantity,
            price,
            category_id: category_id.map(str::to_owned),
            listing_policies,
            merchant_location_key: fields.string("merchantLocationKey")?.map(str::to_owned),
            listing_description: fields.string("listingDescription")?.map(str::to_owned),
            listing_duration: fields.string("listingDuration")?.map(str::to_owned),
            listing_id: None,
        })
    }

    /// The offer as an element of `getOffers`' `offers`.
    pub(super) fn to_json(&self) -> Value {
        let mut offer = Map::new();
        let mut put = |name: &str, value: Value| {
            if !value.is_null() {
                offer.insert(name.into(), value);
            }
        };
        put("offerId", self.offer_id.clone().into());
        put("sku", self.sku.clone().into());
        put("marketplaceId", self.marketplace_id.clone().into());
        put("format", self.format.clone().into());
        put("availableQuantity", self.available_quantity.into());
        put(
            "pricingSummary",
            self.price.as_ref().map_or(
                Value::Null,
                |price| json!({"price": {"value": price.value, "currency": price.currency}}),
            ),
        );
        put("categoryId", self.category_id.clone().into());
        let policies = &self.listing_policies;
        put(
            "listingPolicies",
            json!({
                "fulfillmentPolicyId": policies.fulfillment_policy_id,
                "paymentPolicyId": policies.payment_policy_id,
                "returnPolicyId": policies.return_policy_id,
            }),
        );
        put(
            "merchantLocationKey",
            self.merchant_location_key.clone().into(),
        );
        put(
            "listingDescription",
            self.listing_description.clone().into(),
        );
        put("listingDuration", self.listing_duration.clone().into());
        let status = if self.listing_id.is_some() {
            "PUBLISHED"
        } else {
            "UNPUBLISHED"
        };
        put("status", status.into());
        put(
            "listing",
            self.listing_id.as_ref().map_or(
                Value::Null,
                |listing_id| json!({"listingId": listing_id, "listingStatus": "ACTIVE"}),
            ),
        );
        Value::Object(offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Offer, EbayError> {
        Offer::parse(body.to_string().as_bytes(), "5005317010".into())
    }

    fn offer() -> Value {
        json!({
            "sku": "MUG-1",
            "marketplaceId": "EBAY_US",
            "format": "FIXED_PRICE",
            "availableQuantity": 10,
            "categoryId": "20625",
            "pricingSummary": {"price": {"value": "19.99", "currency": "USD"}},
            "listingPolicies": {
                "fulfillmentPolicyId": "1", "paymentPolicyId": "2", "returnPolicyId": "3",
            },
            "merchantLocationKey": "warehouse-1",
        })
    }

    fn error(body: Value) -> (u32, String) {
        let error = parse(body).unwrap_err();
        let first = &error.errors[0];
        (first.error_id, first.message.clone())
    }

    #[test]
    fn a_complete_offer_parses_and_renders() {
        let offer = parse(offer()).unwrap();
        assert_eq!(
            offer.price,
            Some(Price {
                value: "19.99".into(),
                currency: "USD".into()
            })
        );
        assert_eq!(
            offer.listing_policies.return_policy_id.as_deref(),
            Some("3")
        );
        let json = offer.to_json();
        assert_eq!(json["status"], "UNPUBLISHED");
        assert_eq!(json["pricingSummary"]["price"]["value"], "19.99");
        assert!(json.get("listing").is_none());
    }

    #[test]
    fn required_fields_are_named() {
        for field in ["sku", "marketplaceId", "format"] {
            let mut body = offer();
            body.as_object_mut().unwrap().remove(field);
            assert_eq!(error(body), (25709, format!("Invalid value for {field}.")));
        }
    }

    #[test]
    fn money_is_a_positive_decimal_string_in_the_marketplace_currency() {
        let with_price = |price: Value| {
            let mut body = offer();
            body["pricingSummary"]["price"] = price;
            error(body).0
        };
        assert_eq!(with_price(json!({"value": 19.99, "currency": "USD"})), 2004);
        assert_eq!(with_price(json!({"value": "0", "currency": "USD"})), 25709);
        assert_eq!(
            with_price(json!({"value": "19.999", "currency": "USD"})),
            25709
        );
        assert_eq!(
            with_price(json!({"value": "19.99", "currency": "EUR"})),
            25709
        );
    }

    #[test]
    fn enums_and_ranges_are_checked() {
        let mut marketplace = offer();
        marketplace["marketplaceId"] = json!("EBAY_MARS");
        assert_eq!(error(marketplace).0, 2004);
        let mut auction = offer();
        auction["format"] = json!("AUCTION");
        assert_eq!(error(auction).0, 25709);
        let mut negative = offer();
        negative["availableQuantity"] = json!(-1);
        assert_eq!(error(negative).0, 25709);
        let mut category = offer();
        category["categoryId"] = json!("mugs");
        assert_eq!(error(category).0, 25709);
    }
}
