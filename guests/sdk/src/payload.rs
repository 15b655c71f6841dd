//! The payloads of the platform's product events, as `docs/events.md`
//! describes them and the host checks them before any connector sees them.
//!
//! The types read only what connectors use; unknown fields are ignored.
//! [`ProductUpdated`] and [`InventoryUpdated`] take the type of the
//! quantity as a parameter (`u64` unless said otherwise), for a marketplace
//! whose API counts in something smaller, and [`ProductUpdated`] the type of
//! its free attributes' values (`String` unless said otherwise).
//!
//! ```
//! use sluice_guest::payload::ProductUpdated;
//!
//! let payload = r#"{"sku":"A-1","title":"Mug","price":{"amount":"9.50","currency":"EUR"}}"#;
//! let product: ProductUpdated = ProductUpdated::parse(payload).unwrap();
//! assert_eq!(product.price.amount, "9.50");
//! assert_eq!(product.quantity, None);
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A `product.updated` payload: a product was created or changed.
///
/// `Q` is the type of the quantity and `A` that of the free attributes'
/// values; a value that does not fit makes the payload unreadable.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductUpdated<Q = u64, A = String> {
    /// The SKU.
    pub sku: String,
    /// The title.
    pub title: String,
    /// The description.
    pub description: Option<String>,
    /// The brand.
    pub brand: Option<String>,
    /// Product identifiers; none when absent.
    #[serde(default)]
    pub identifiers: Identifiers,
    /// Image URLs, main image first.
    #[serde(default)]
    pub images: Vec<String>,
    /// The price.
    pub price: Money,
    /// `new`, `used` or `refurbished`; `new` when absent.
    pub condition: Option<String>,
    /// The sellable quantity, when known.
    pub quantity: Option<Q>,
    /// The absolute URL of the product page.
    pub link: Option<String>,
    /// Free attributes (`color`, `size`).
    #[serde(default = "BTreeMap::new")]
    pub attributes: BTreeMap<String, A>,
}

/// Product identifiers of a [`ProductUpdated`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Identifiers {
    /// GTIN-8, -12, -13 or -14.
    pub gtin: Option<String>,
    /// UPC-A.
    pub upc: Option<String>,
    /// EAN-13.
    pub ean: Option<String>,
    /// ISBN.
    pub isbn: Option<String>,
    /// Manufacturer part number.
    pub mpn: Option<String>,
}

/// An amount: a decimal string and an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Money {
    /// `"19.99"`.
    pub amount: String,
    /// `"USD"`.
    pub currency: String,
}

/// An `inventory.updated` payload: the sellable quantity of a SKU changed.
///
/// `Q` is the type of the quantity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InventoryUpdated<Q = u64> {
    /// The SKU.
    pub sku: String,
    /// The sellable quantity.
    pub quantity: Q,
}

impl<Q: DeserializeOwned, A: DeserializeOwned> ProductUpdated<Q, A> {
    /// Reads a `product.updated` payload, or says why it cannot be read.
    pub fn parse(payload: &str) -> Result<Self, String> {
        serde_json::from_str(payload)
            .map_err(|error| format!("the product.updated payload cannot be read: {error}"))
    }
}

impl<Q: DeserializeOwned> InventoryUpdated<Q> {
    /// Reads an `inventory.updated` payload, or says why it cannot be read.
    pub fn parse(payload: &str) -> Result<Self, String> {
        serde_json::from_str(payload)
            .map_err(|error| format!("the inventory.updated payload cannot be read: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    const DOCUMENTED: &str = r#"{
      "sku": "TSHIRT-RED-M", "title": "Red T-shirt, medium",
      "description": "100% organic cotton.", "brand": "Acme",
      "identifiers": { "gtin": "00012345678905", "upc": "012345678905", "mpn": "TS-R-M" },
      "images": ["https://cdn.example.com/tshirt-red.jpg"],
      "price": { "amount": "19.99", "currency": "USD" },
      "condition": "new", "quantity": 10,
      "link": "https://shop.example.com/p/tshirt-red-m",
      "attributes": { "color": "red", "size": "M" }
    }"#;

    #[test]
    fn the_documented_product_is_read_whole() {
        let product: ProductUpdated = ProductUpdated::parse(DOCUMENTED).unwrap();
        assert_eq!(product.sku, "TSHIRT-RED-M");
        assert_eq!(product.title, "Red T-shirt, medium");
        assert_eq!(product.description.as_deref(), Some("100% organic cotton."));
        assert_eq!(product.brand.as_deref(), Some("Acme"));
        assert_eq!(
            product.identifiers,
            Identifiers {
                gtin: Some("00012345678905".into()),
                upc: Some("012345678905".into()),
                mpn: Some("TS-R-M".into()),
                ..Identifiers::default()
            }
        );
        assert_eq!(product.images, ["https://cdn.example.com/tshirt-red.jpg"]);
        assert_eq!(
            product.price,
            Money {
                amount: "19.99".into(),
                currency: "USD".into()
            }
        );
        assert_eq!(product.condition.as_deref(), Some("new"));
        assert_eq!(product.quantity, Some(10));
        assert_eq!(
            product.link.as_deref(),
            Some("https://shop.example.com/p/tshirt-red-m")
        );
        assert_eq!(product.attributes["size"], "M");
    }

    #[test]
    fn a_minimal_product_has_empty_defaults() {
        let payload = r#"{"sku":"A","title":"T","price":{"amount":"1","currency":"EUR"}}"#;
        let product: ProductUpdated = ProductUpdated::parse(payload).unwrap();
        assert_eq!(product.identifiers, Identifiers::default());
        assert!(product.images.is_empty() && product.attributes.is_empty());
        assert_eq!((product.quantity, product.link), (None, None));
    }

    #[test]
    fn quantities_and_attributes_take_the_types_asked_for() {
        let payload = r#"{"sku":"A","title":"T","price":{"amount":"1","currency":"EUR"},
            "quantity":5000000000,"attributes":{"pack":6}}"#;
        let product: ProductUpdated<u64, Value> = ProductUpdated::parse(payload).unwrap();
        assert_eq!(product.quantity, Some(5_000_000_000));
        assert_eq!(product.attributes["pack"], 6);
        let too_large = ProductUpdated::<u32, Value>::parse(payload).unwrap_err();
        assert!(too_large.contains("expected u32"), "{too_large}");
        let not_text = ProductUpdated::<u64>::parse(payload).unwrap_err();
        assert!(not_text.contains("expected a string"), "{not_text}");
    }

    #[test]
    fn unreadable_payloads_say_which_event_they_were() {
        let error = ProductUpdated::<u64>::parse(r#"{"sku":"A"}"#).unwrap_err();
        assert!(
            error.starts_with("the product.updated payload cannot be read: missing field"),
            "{error}"
        );
        let error = InventoryUpdated::<u64>::parse(r#"{"sku":"A"}"#).unwrap_err();
        assert_eq!(
            error,
            "the inventory.updated payload cannot be read: missing field `quantity` at line 1 column 11"
        );
        let inventory: InventoryUpdated =
            InventoryUpdated::parse(r#"{"sku":"A","quantity":5,"location":"main"}"#).unwrap();
        assert_eq!(
            inventory,
            InventoryUpdated {
                sku: "A".into(),
                quantity: 5
            }
        );
    }
}
