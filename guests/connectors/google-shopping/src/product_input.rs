//! Platform payloads as Merchant API `ProductInput`s: `product.updated`
//! becomes a whole input to insert, `inventory.updated` an availability to
//! patch.
//!
//! Google's product data specification wants `link` and `imageLink` (and
//! each additional image link) as ASCII URLs that comply with RFC 3986, of
//! 1 to 2,000 characters, and a `brand` and `mpn` of at most 70 characters. URLs are
//! percent-encoded ([`encode::uri`]); a link or main image that is still
//! too long, or a longer brand or MPN, fails permanently naming the field and the
//! limit; an additional image that does not fit is left out.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sluice_guest::{encode, log, payload};

use crate::config::Merchant;

/// Most `additionalImageLinks` Google keeps.
const MAX_ADDITIONAL_IMAGES: usize = 10;
/// The lengths of GTIN-8, UPC (GTIN-12), EAN (GTIN-13) and GTIN-14.
const GTIN_LENGTHS: [usize; 4] = [8, 12, 13, 14];
/// Longest `link`, `imageLink` or additional image link.
pub const MAX_URL_CHARS: usize = 2000;
/// Longest `brand`.
pub const MAX_BRAND_CHARS: usize = 70;
/// Longest `mpn`.
pub const MAX_MPN_CHARS: usize = 70;
/// The update mask of an availability patch.
pub const AVAILABILITY_MASK: &str = "productAttributes.availability";

/// A `product.updated` payload (docs/events.md), its free attributes read
/// whatever their JSON type.
pub type ProductUpdated = payload::ProductUpdated<u64, Value>;

/// An `inventory.updated` payload; the SKU is Google's `offerId`.
pub type InventoryUpdated = payload::InventoryUpdated;

/// The `offerId` Google files `sku` under: whitespace runs become one space,
/// as Google normalises them.
pub fn offer_id(sku: &str) -> String {
    sku.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Google's availability for a sellable `quantity`.
pub fn availability(quantity: u64) -> &'static str {
    if quantity > 0 {
        "IN_STOCK"
    } else {
        "OUT_OF_STOCK"
    }
}

/// The body of `productInputs:insert` of `product` for `merchant`.
pub fn to_input(product: &ProductUpdated, merchant: &Merchant) -> Result<Value, String> {
    let mut attributes = Map::new();
    attributes.insert("title".into(), product.title.clone().into());
    if let Some(description) = non_empty(&product.description) {
        attributes.insert("description".into(), description.into());
    }
    if let Some(link) = non_empty(&product.link) {
        attributes.insert("link".into(), google_url("link", &link)?.into());
    }
    if let Some((main, more)) = product.images.split_first() {
        attributes.insert("imageLink".into(), google_url("images[0]", main)?.into());
        let more: Vec<String> = more
            .iter()
            .filter_map(|url| match google_url("images[]", url) {
                Ok(url) => Some(url),
                Err(problem) => {
                    log::warn("additional image left out", &[("problem", &problem)]);
                    None
                }
            })
            .take(MAX_ADDITIONAL_IMAGES)
            .collect();
        if !more.is_empty() {
            attributes.insert("additionalImageLinks".into(), json!(more));
        }
    }
    // Without a quantity the product is offered as it is listed.
    let availability = product.quantity.map_or("IN_STOCK", availability);
    attributes.insert("availability".into(), availability.into());
    attributes.insert(
        "price".into(),
        json!({
            "amountMicros": micros(&product.price.amount)?,
            "currencyCode": product.price.currency.trim().to_ascii_uppercase(),
        }),
    );
    let gtins = gtins(&product.identifiers);
    if !gtins.is_empty() {
        attributes.insert("gtins".into(), json!(gtins));
    }
    if let Some(brand) = non_empty(&product.brand) {
        attributes.insert(
            "brand".into(),
            bounded("brand", brand, MAX_BRAND_CHARS)?.into(),
        );
    }
    if let Some(mpn) = non_empty(&product.identifiers.mpn) {
        attributes.insert(
            "mpn".into(),
            bounded("identifiers.mpn", mpn, MAX_MPN_CHARS)?.into(),
        );
    }
    attributes.insert(
        "condition".into(),
        condition(product.condition.as_deref())?.into(),
    );
    let mut input = json!({
        "offerId": offer_id(&product.sku),
        "contentLanguage": merchant.content_language,
        "feedLabel": merchant.feed_label,
        "productAttributes": attributes,
    });
    let custom = custom_attributes(&product.attributes);
    if !custom.is_empty() {
        input["customAttributes"] = Value::Array(custom);
    }
    Ok(input)
}

/// `value` of event field `field` when it has at most `max` characters.
fn bounded(field: &str, value: String, max: usize) -> Result<String, String> {
    let count = value.chars().count();
    if count > max {
        return Err(format!(
            "{field} is {count} characters; Google's product data specification allows at most {max}"
        ));
    }
    Ok(value)
}

/// `url` (from event field `field`) as Google takes it: `http` or `https`,
/// percent-encoded to ASCII and RFC 3986, at most 2,000 characters.
pub fn google_url(field: &str, url: &str) -> Result<String, String> {
    let url = url.trim();
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(format!(
            "{field} {url:?} is not an http or https URL, as Google's product data specification requires"
        ));
    }
    let encoded = encode::uri(url);
    let count = encoded.chars().count();
    if count > MAX_URL_CHARS {
        return Err(format!(
            "{field} is {count} characters once percent-encoded; Google's product data specification allows at most {MAX_URL_CHARS}"
        ));
    }
    Ok(encoded)
}

/// The GTINs among `ids`, each once: GTIN, UPC, EAN and ISBN are all GTINs
/// when they have 8, 12, 13 or 14 digits (an ISBN-10 is not, and is left
/// out).
fn gtins(ids: &payload::Identifiers) -> Vec<String> {
    let mut gtins: Vec<String> = Vec::new();
    for value in [&ids.gtin, &ids.upc, &ids.ean, &ids.isbn]
        .into_iter()
        .flatten()
    {
        let digits = value.trim();
        let is_gtin =
            GTIN_LENGTHS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        if is_gtin && !gtins.iter().any(|known| known == digits) {
            gtins.push(digits.to_owned());
        }
    }
    gtins
}

/// The free attributes as Google's generic custom attributes
/// (`{"name":"color","value":"red"}`), which also carry attributes of
/// Google's data specification by name.
fn custom_attributes(attributes: &BTreeMap<String, Value>) -> Vec<Value> {
    attributes
        .iter()
        .filter_map(|(name, value)| {
            let value = match value {
                Value::String(text) => text.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            Some(json!({"name": name, "value": value}))
        })
        .collect()
}

/// The body of an availability patch.
pub fn availability_patch(quantity: u64) -> Value {
    json!({"productAttributes": {"availability": availability(quantity)}})
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// Google's condition for the payload's, `new` when absent.
fn condition(condition: Option<&str>) -> Result<&'static str, String> {
    match condition.map(|c| c.trim().to_ascii_lowercase()).as_deref() {
        None | Some("new") => Ok("NEW"),
        Some("used") => Ok("USED"),
        Some("refurbished") => Ok("REFURBISHED"),
        Some(other) => Err(format!(
            "condition {other:?} is not one of new, used, refurbished"
        )),
    }
}

/// A decimal amount (`"19.99"`) in micros (`"19990000"`), as the string
/// Google's JSON carries int64 values in.
fn micros(amount: &str) -> Result<String, String> {
    let invalid = || format!("price amount {amount:?} is not a non-negative decimal number");
    let (units, fraction) = amount.trim().split_once('.').unwrap_or((amount.trim(), ""));
    let digits = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() || !digits(units) || !digits(fraction) || fraction.len() > 6 {
        return Err(invalid());
    }
    let units: u64 = units.parse().map_err(|_| invalid())?;
    let fraction: u64 = format!("{fraction:0<6}").parse().map_err(|_| invalid())?;
    units
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(fraction))
        .filter(|micros| *micros <= i64::MAX as u64)
        .map(|micros| micros.to_string())
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant() -> Merchant {
        Merchant {
            account: "123".into(),
            data_source_id: "456".into(),
            feed_label: "US".into(),
            content_language: "en".into(),
        }
    }

    #[test]
    fn amounts_become_micros_strings() {
        assert_eq!(micros("19.99").unwrap(), "19990000");
        assert_eq!(micros("15.9").unwrap(), "15900000");
        assert_eq!(micros("7").unwrap(), "7000000");
        assert_eq!(micros("0.01").unwrap(), "10000");
        assert_eq!(micros("0").unwrap(), "0");
        for bad in ["", "-1.00", "1,00", "1.2345678", ".5", "abc", "1e3"] {
            assert!(micros(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_documented_example_maps_to_a_full_product_input() {
        let payload = r#"{
          "sku": "TSHIRT-RED-M", "title": "Red T-shirt, medium",
          "description": "100% organic cotton.", "brand": "Acme",
          "identifiers": { "gtin": "00012345678905", "upc": "012345678905", "mpn": "TS-R-M" },
          "images": ["https://cdn.example.com/tshirt-red.jpg", "https://cdn.example.com/back.jpg"],
          "price": { "amount": "19.99", "currency": "USD" },
          "condition": "new", "quantity": 10,
          "link": "https://shop.example.com/p/tshirt-red-m",
          "attributes": { "color": "red", "size": "M" }
        }"#;
        let input = to_input(&ProductUpdated::parse(payload).unwrap(), &merchant()).unwrap();
        assert_eq!(
            input,
            json!({
                "offerId": "TSHIRT-RED-M",
                "contentLanguage": "en",
                "feedLabel": "US",
                "productAttributes": {
                    "title": "Red T-shirt, medium",
                    "description": "100% organic cotton.",
                    "link": "https://shop.example.com/p/tshirt-red-m",
                    "imageLink": "https://cdn.example.com/tshirt-red.jpg",
                    "additionalImageLinks": ["https://cdn.example.com/back.jpg"],
                    "availability": "IN_STOCK",
                    "price": {"amountMicros": "19990000", "currencyCode": "USD"},
                    "gtins": ["00012345678905", "012345678905"],
                    "brand": "Acme",
                    "mpn": "TS-R-M",
                    "condition": "NEW"
                },
                "customAttributes": [
                    {"name": "color", "value": "red"},
                    {"name": "size", "value": "M"}
                ]
            })
        );
    }

    #[test]
    fn a_minimal_product_is_new_and_in_stock() {
        let payload = r#"{"sku":"A","title":"T","price":{"amount":"1.50","currency":"eur"}}"#;
        let input = to_input(&ProductUpdated::parse(payload).unwrap(), &merchant()).unwrap();
        assert_eq!(
            input["productAttributes"],
            json!({
                "title": "T",
                "availability": "IN_STOCK",
                "price": {"amountMicros": "1500000", "currencyCode": "EUR"},
                "condition": "NEW"
            })
        );
        assert!(input.get("customAttributes").is_none());
    }

    #[test]
    fn conditions_quantities_and_isbn10s_map_as_google_expects() {
        let payload = r#"{"sku":"B","title":"T","price":{"amount":"1","currency":"USD"},
            "condition":"refurbished","quantity":0,"identifiers":{"isbn":"0306406152"}}"#;
        let input = to_input(&ProductUpdated::parse(payload).unwrap(), &merchant()).unwrap();
        let attributes = &input["productAttributes"];
        assert_eq!(attributes["condition"], "REFURBISHED");
        assert_eq!(attributes["availability"], "OUT_OF_STOCK");
        assert!(attributes.get("gtins").is_none());
        assert_eq!(condition(Some("used")), Ok("USED"));
        assert!(condition(Some("broken")).is_err());
    }

    #[test]
    fn links_are_percent_encoded_and_bounded() {
        assert_eq!(
            google_url("link", "https://shop.example.com/p/größe").unwrap(),
            "https://shop.example.com/p/gr%C3%B6%C3%9Fe"
        );
        let long = format!("https://shop.example.com/{}", "é".repeat(400));
        let error = google_url("link", &long).unwrap_err();
        assert!(
            error.starts_with("link is") && error.contains("2000"),
            "{error}"
        );
        assert!(google_url("images[0]", "ftp://x.example/a.jpg").is_err());
        let payload = format!(
            r#"{{"sku":"A","title":"T","price":{{"amount":"1","currency":"USD"}},"brand":"{}"}}"#,
            "b".repeat(71)
        );
        let error = to_input(&ProductUpdated::parse(&payload).unwrap(), &merchant()).unwrap_err();
        assert!(error.contains("brand") && error.contains("70"), "{error}");
    }

    #[test]
    fn inventory_patches_only_the_availability() {
        assert_eq!(
            availability_patch(5),
            json!({"productAttributes": {"availability": "IN_STOCK"}})
        );
        assert_eq!(
            availability_patch(0),
            json!({"productAttributes": {"availability": "OUT_OF_STOCK"}})
        );
        assert!(InventoryUpdated::parse(r#"{"sku":"A"}"#).is_err());
    }
}
