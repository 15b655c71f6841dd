//! How a store's products become listings of its Amazon product type: the
//! requirement set submitted, which store attributes go out under which
//! Amazon attribute names, the fixed attributes the product type requires
//! that the store's events do not carry, and the currency of each
//! marketplace.
//!
//! Amazon validates a listing against the product type's definition
//! (`getDefinitionsProductType`); what it requires differs by product type
//! and marketplace, so the store declares it in settings rather than the
//! connector guessing:
//! - `listing_requirements`: `LISTING` (product facts and offer, for new
//!   products) or `LISTING_OFFER_ONLY` (an offer on a product already in
//!   Amazon's catalog, identified by a mapped `merchant_suggested_asin` or
//!   by a GTIN, UPC, EAN or ISBN);
//! - `attribute_map`: a JSON object from the store's attribute keys to the
//!   product type's attribute names (`{"Größe": "size", "color": "color"}`);
//!   unmapped store attributes are not sent, so nothing goes out under a
//!   name the product type does not define;
//! - `fixed_attributes`: a JSON object of attributes in Amazon's own form,
//!   the same for every product (`{"country_of_origin": [{"value": "CN"}]}`);
//!   each entry gets the configuration's `marketplace_id` when it has none.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The requirement set of full listings (`putListingsItem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirements {
    /// Product facts and sales terms.
    Listing,
    /// Sales terms only: an offer on an existing catalog product.
    ListingOfferOnly,
}

impl Requirements {
    /// Amazon's name of the set.
    pub fn name(self) -> &'static str {
        match self {
            Self::Listing => "LISTING",
            Self::ListingOfferOnly => "LISTING_OFFER_ONLY",
        }
    }

    /// Reads setting `listing_requirements`.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("LISTING") => Ok(Self::Listing),
            Some("LISTING_OFFER_ONLY") => Ok(Self::ListingOfferOnly),
            Some(other) => Err(format!(
                "setting `listing_requirements` is {other:?}; it must be LISTING or \
                 LISTING_OFFER_ONLY"
            )),
        }
    }
}

/// The attribute through which an offer names the catalog product it is for.
pub const SUGGESTED_ASIN: &str = "merchant_suggested_asin";

/// Whether `name` has the form of Amazon's attribute names: lower-case
/// ASCII letters, digits and `_`, starting with a letter.
pub fn is_attribute_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Reads setting `attribute_map`: store attribute key → Amazon attribute
/// name.
pub fn parse_attribute_map(value: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    let Some(text) = value.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let map: BTreeMap<String, String> = serde_json::from_str(text).map_err(|error| {
        format!(
            "setting `attribute_map` must be a JSON object from store attribute keys to Amazon \
             attribute names, such as {{\"Größe\": \"size\"}}: {error}"
        )
    })?;
    if let Some((key, name)) = map.iter().find(|(_, name)| !is_attribute_name(name)) {
        return Err(format!(
            "setting `attribute_map` maps {key:?} to {name:?}, which is not an Amazon attribute \
             name (lower-case letters, digits and _, starting with a letter)"
        ));
    }
    Ok(map)
}

/// Reads setting `fixed_attributes`: Amazon attribute name → its values,
/// an array of objects, each given `marketplace_id` when it has none.
pub fn parse_fixed_attributes(
    value: Option<&str>,
    marketplace_id: &str,
) -> Result<Map<String, Value>, String> {
    let Some(text) = value.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(Map::new());
    };
    let usage = "setting `fixed_attributes` must be a JSON object of Amazon attributes, each an \
                 array of objects, such as {\"country_of_origin\": [{\"value\": \"CN\"}]}";
    let map: Map<String, Value> =
        serde_json::from_str(text).map_err(|error| format!("{usage}: {error}"))?;
    let mut fixed = Map::new();
    for (name, values) in map {
        if !is_attribute_name(&name) {
            return Err(format!("{usage}; {name:?} is not an Amazon attribute name"));
        }
        let Value::Array(entries) = values else {
            return Err(format!("{usage}; {name:?} is not an array"));
        };
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            let Value::Object(mut entry) = entry else {
                return Err(format!("{usage}; an entry of {name:?} is not an object"));
            };
            entry
                .entry("marketplace_id")
                .or_insert_with(|| Value::from(marketplace_id));
            kept.push(Value::Object(entry));
        }
        fixed.insert(name, Value::Array(kept));
    }
    Ok(fixed)
}

/// The currency each Amazon marketplace sells in, by marketplace id.
const MARKETPLACE_CURRENCIES: [(&str, &str); 23] = [
    ("ATVPDKIKX0DER", "USD"),
    ("A2EUQ1WTGCTBG2", "CAD"),
    ("A1AM78C64UM0Y8", "MXN"),
    ("A2Q3Y263D00KWC", "BRL"),
    ("A1F83G8C2ARO7P", "GBP"),
    ("A1PA6795UKMFR9", "EUR"),
    ("A13V1IB3VIYZZH", "EUR"),
    ("APJ6JRA9NG5V4", "EUR"),
    ("A1RKKUPIHCS9HS", "EUR"),
    ("A1805IZSGTT6HS", "EUR"),
    ("AMEN7PMS3EDWL", "EUR"),
    ("A28R8C7NBKEWEA", "EUR"),
    ("A2NODRKZP88ZB9", "SEK"),
    ("A1C3SOZRARQ6R3", "PLN"),
    ("A33AVAJ2PDY3EV", "TRY"),
    ("A2VIGQ35RCS4UG", "AED"),
    ("A17E79C6D8DWNP", "SAR"),
    ("ARBP9OOSHTCHU", "EGP"),
    ("A21TJRUUN4KGV", "INR"),
    ("A1VC38T7YXB528", "JPY"),
    ("A39IBJ37TRP1C6", "AUD"),
    ("A19VAU5U5O7RUS", "SGD"),
    ("AE08WJ6YKNBMC", "ZAR"),
];

/// The currency `marketplace_id` sells in, when it is a marketplace the
/// connector knows.
pub fn marketplace_currency(marketplace_id: &str) -> Option<&'static str> {
    MARKETPLACE_CURRENCIES
        .iter()
        .find(|(id, _)| *id == marketplace_id)
        .map(|(_, currency)| *currency)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn requirements_are_listing_unless_offer_only_is_asked() {
        assert_eq!(Requirements::parse(None), Ok(Requirements::Listing));
        assert_eq!(
            Requirements::parse(Some("LISTING_OFFER_ONLY")),
            Ok(Requirements::ListingOfferOnly)
        );
        assert!(
            Requirements::parse(Some("LISTING_PRODUCT_ONLY"))
                .unwrap_err()
                .contains("listing_requirements")
        );
    }

    #[test]
    fn the_attribute_map_names_amazon_attributes() {
        let map = parse_attribute_map(Some(r#"{"Größe": "size", "color": "color"}"#)).unwrap();
        assert_eq!(map["Größe"], "size");
        let error = parse_attribute_map(Some(r#"{"Größe": "gr__e "}"#)).unwrap_err();
        assert!(error.contains("attribute_map"), "{error}");
        assert!(parse_attribute_map(Some("size=size")).is_err());
        assert!(parse_attribute_map(None).unwrap().is_empty());
    }

    #[test]
    fn fixed_attributes_get_the_marketplace() {
        let fixed = parse_fixed_attributes(
            Some(r#"{"country_of_origin": [{"value": "CN"}], "bullet_point": [{"value": "Soft", "language_tag": "en_US", "marketplace_id": "X"}]}"#),
            "ATVPDKIKX0DER",
        )
        .unwrap();
        assert_eq!(
            fixed["country_of_origin"],
            json!([{"value": "CN", "marketplace_id": "ATVPDKIKX0DER"}])
        );
        assert_eq!(fixed["bullet_point"][0]["marketplace_id"], "X");
        for bad in [r#"{"a": "b"}"#, r#"{"Bad": []}"#, r#"{"a": [1]}"#, "[]"] {
            let error = parse_fixed_attributes(Some(bad), "M").unwrap_err();
            assert!(error.contains("fixed_attributes"), "{error}");
        }
    }

    #[test]
    fn marketplaces_have_their_currency() {
        assert_eq!(marketplace_currency("ATVPDKIKX0DER"), Some("USD"));
        assert_eq!(marketplace_currency("A1F83G8C2ARO7P"), Some("GBP"));
        assert_eq!(marketplace_currency("UNKNOWN"), None);
    }
}
