//! Whether a listing is complete and its values valid: the part of Amazon's
//! product type definitions the fake models. A listing that fails is not a
//! malformed request: Amazon answers HTTP 200 with `status: INVALID` and
//! issues, a permanent failure for the caller.
//!
//! The fake's rules:
//! - the attributes [`ListingRules`] lists for the submission's requirement
//!   set must be present and non-empty, else issue `90220`
//!   `'<name>' is required but not supplied.` (`MISSING_ATTRIBUTE`);
//! - `condition_type` values must be Amazon condition values (`new_new`,
//!   `used_good`, ...);
//! - `fulfillment_availability` entries need a `fulfillment_channel_code`
//!   and, when given, a `quantity` that is an integer of at least 0;
//! - `purchasable_offer` entries need a `currency` and an
//!   `our_price[].schedule[].value_with_tax` above 0.
//!
//! A bad value is issue `90000900` `The attributes are invalid.`
//! (`INVALID_ATTRIBUTE`, or `INVALID_PRICE` for prices) naming the attribute.

use serde_json::{Map, Value, json};

use super::listing_body::Requirements;

/// The condition values of Amazon's `condition_type` attribute.
const CONDITION_TYPES: [&str; 13] = [
    "new_new",
    "new_open_box",
    "new_oem",
    "refurbished_refurbished",
    "used_like_new",
    "used_very_good",
    "used_good",
    "used_acceptable",
    "collectible_like_new",
    "collectible_very_good",
    "collectible_good",
    "collectible_acceptable",
    "club_club",
];

/// Which attributes a submission must carry, per requirement set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingRules {
    /// For `LISTING` (the default requirement set).
    pub listing: Vec<String>,
    /// For `LISTING_PRODUCT_ONLY`.
    pub product_only: Vec<String>,
    /// For `LISTING_OFFER_ONLY`.
    pub offer_only: Vec<String>,
}

impl Default for ListingRules {
    /// A full listing needs `item_name`, `condition_type` and
    /// `purchasable_offer`; product facts alone need `item_name`; an offer
    /// alone needs `condition_type` and `purchasable_offer`. Quantity
    /// (`fulfillment_availability`) is optional: without it the listing is
    /// not buyable, but valid.
    fn default() -> Self {
        let names = |names: &[&str]| names.iter().map(|name| name.to_string()).collect();
        Self {
            listing: names(&["item_name", "condition_type", "purchasable_offer"]),
            product_only: names(&["item_name"]),
            offer_only: names(&["condition_type", "purchasable_offer"]),
        }
    }
}

impl ListingRules {
    /// The attributes `requirements` makes mandatory.
    pub fn required(&self, requirements: Requirements) -> &[String] {
        match requirements {
            Requirements::Listing => &self.listing,
            Requirements::ListingProductOnly => &self.product_only,
            Requirements::ListingOfferOnly => &self.offer_only,
        }
    }

    /// The issues of a listing with `attributes` submitted against
    /// `requirements`; empty when it is valid.
    pub(super) fn issues(
        &self,
        requirements: Requirements,
        attributes: &Map<String, Value>,
    ) -> Vec<Issue> {
        let missing = self
            .required(requirements)
            .iter()
            .filter(|name| is_absent(attributes.get(name.as_str())))
            .map(|name| Issue::missing(name));
        let invalid = attributes
            .iter()
            .filter_map(|(name, value)| invalid_value(name, value));
        missing.chain(invalid).collect()
    }
}

fn is_absent(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_array)
        .is_none_or(|entries| entries.is_empty())
}

/// An issue with a submission, as Amazon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Issue {
    code: &'static str,
    message: String,
    attribute_name: String,
    category: &'static str,
}

impl Issue {
    fn missing(attribute: &str) -> Self {
        Self {
            code: "90220",
            message: format!("'{attribute}' is required but not supplied."),
            attribute_name: attribute.to_owned(),
            category: "MISSING_ATTRIBUTE",
        }
    }

    fn invalid(attribute: &str, category: &'static str) -> Self {
        Self {
            code: "90000900",
            message: "The attributes are invalid.".into(),
            attribute_name: attribute.to_owned(),
            category,
        }
    }

    /// The issue's JSON. Every issue the fake raises is an `ERROR`.
    pub(super) fn to_json(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "severity": "ERROR",
            "attributeNames": [self.attribute_name],
            "categories": [self.category],
        })
    }
}

/// The entries of an attribute (already checked to be objects).
fn entries(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn invalid_value(name: &str, value: &Value) -> Option<Issue> {
    let entries = entries(value);
    let (valid, category) = match name {
        "condition_type" => (entries.iter().all(is_condition), "INVALID_ATTRIBUTE"),
        "fulfillment_availability" => (entries.iter().all(is_availability), "INVALID_ATTRIBUTE"),
        "purchasable_offer" => (entries.iter().all(is_priced_offer), "INVALID_PRICE"),
        _ => return None,
    };
    (!valid).then(|| Issue::invalid(name, category))
}

fn is_condition(entry: &Value) -> bool {
    entry
        .get("value")
        .and_then(Value::as_str)
        .is_some_and(|condition| CONDITION_TYPES.contains(&condition))
}

/// A channel code and, if given, a quantity that is an integer of at least 0.
fn is_availability(entry: &Value) -> bool {
    let has_channel = entry
        .get("fulfillment_channel_code")
        .and_then(Value::as_str)
        .is_some_and(|code| !code.is_empty());
    let quantity_ok = entry
        .get("quantity")
        .is_none_or(|quantity| quantity.as_u64().is_some());
    has_channel && quantity_ok
}

/// An offer with a currency and at least one positive scheduled price.
fn is_priced_offer(offer: &Value) -> bool {
    let has_currency = offer
        .get("currency")
        .and_then(Value::as_str)
        .is_some_and(|currency| !currency.is_empty());
    let prices: Vec<f64> = offer
        .get("our_price")
        .map(entries)
        .unwrap_or_default()
        .iter()
        .flat_map(|price| price.get("schedule").map(entries).unwrap_or_default())
        .map(|schedule| schedule.get("value_with_tax").and_then(Value::as_f64))
        .collect::<Option<_>>()
        .unwrap_or_default();
    has_currency && !prices.is_empty() && prices.iter().all(|price| *price > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn complete() -> Map<String, Value> {
        attributes(json!({
            "item_name": [{"value": "Mug", "language_tag": "en_US"}],
            "condition_type": [{"value": "new_new"}],
            "purchasable_offer": [{"currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 19.99}]}]}],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 10}],
        }))
    }

    fn codes(issues: &[Issue]) -> Vec<(&str, &str)> {
        issues
            .iter()
            .map(|issue| (issue.code, issue.attribute_name.as_str()))
            .collect()
    }

    #[test]
    fn a_complete_listing_has_no_issues() {
        assert_eq!(
            ListingRules::default().issues(Requirements::Listing, &complete()),
            vec![]
        );
    }

    #[test]
    fn a_missing_required_attribute_is_issue_90220() {
        let mut listing = complete();
        listing.remove("condition_type");
        listing.insert("item_name".into(), json!([]));
        let issues = ListingRules::default().issues(Requirements::Listing, &listing);
        assert_eq!(
            codes(&issues),
            [("90220", "item_name"), ("90220", "condition_type")]
        );
        assert_eq!(
            issues[1].to_json(),
            json!({
                "code": "90220",
                "message": "'condition_type' is required but not supplied.",
                "severity": "ERROR",
                "attributeNames": ["condition_type"],
                "categories": ["MISSING_ATTRIBUTE"],
            })
        );
    }

    #[test]
    fn requirement_sets_require_different_attributes() {
        let rules = ListingRules::default();
        let offer = attributes(json!({
            "condition_type": [{"value": "used_good"}],
            "purchasable_offer": [{"currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 5}]}]}],
        }));
        assert_eq!(rules.issues(Requirements::ListingOfferOnly, &offer), vec![]);
        assert_eq!(
            codes(&rules.issues(Requirements::ListingProductOnly, &offer)),
            [("90220", "item_name")]
        );
    }

    #[test]
    fn rules_are_configurable() {
        let rules = ListingRules {
            listing: vec!["brand".into()],
            ..ListingRules::default()
        };
        assert_eq!(
            codes(&rules.issues(Requirements::Listing, &complete())),
            [("90220", "brand")]
        );
    }

    #[test]
    fn bad_values_are_invalid_attributes() {
        let rules = ListingRules::default();
        let with = |name: &str, value: Value| {
            let mut listing = complete();
            listing.insert(name.into(), value);
            codes(&rules.issues(Requirements::Listing, &listing))
                .into_iter()
                .map(|(code, attribute)| (code.to_owned(), attribute.to_owned()))
                .collect::<Vec<_>>()
        };
        let invalid = |name: &str| vec![("90000900".to_owned(), name.to_owned())];
        assert_eq!(
            with("condition_type", json!([{"value": "brand_new"}])),
            invalid("condition_type")
        );
        assert_eq!(
            with(
                "fulfillment_availability",
                json!([{"fulfillment_channel_code": "DEFAULT", "quantity": -1}])
            ),
            invalid("fulfillment_availability")
        );
        assert_eq!(
            with(
                "fulfillment_availability",
                json!([{"fulfillment_channel_code": "DEFAULT", "quantity": "3"}])
            ),
            invalid("fulfillment_availability")
        );
        assert_eq!(
            with(
                "purchasable_offer",
                json!([{"currency": "USD", "our_price": [{"schedule": [{"value_with_tax": "19.99"}]}]}])
            ),
            invalid("purchasable_offer")
        );
        assert_eq!(
            with("purchasable_offer", json!([{"currency": "USD"}])),
            invalid("purchasable_offer")
        );
    }

    #[test]
    fn an_invalid_price_is_categorised_as_such() {
        let mut listing = complete();
        listing.insert(
            "purchasable_offer".into(),
            json!([{"currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 0}]}]}]),
        );
        let issues = ListingRules::default().issues(Requirements::Listing, &listing);
        assert_eq!(issues[0].to_json()["categories"], json!(["INVALID_PRICE"]));
    }
}
