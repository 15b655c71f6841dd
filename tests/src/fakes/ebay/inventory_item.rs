//! An inventory item: `createOrReplaceInventoryItem`'s body, checked as
//! eBay checks it, stored whole (a PUT replaces the record), and read back
//! by `getInventoryItem` and by tests.
//!
//! Checks, after the types ([`json_fields`](super::json_fields)):
//! the SKU (at most 50 letters, digits, `-`, `_` or `.`; errorId 25707), the
//! ship-to-home quantity (an integer of at least 0; 25004), the title (at
//! most 80 characters; 25016) and the image URLs (HTTPS; 25015).

use serde_json::{Map, Value};

use super::SellApi;
use super::api_error::{EbayError, ErrorDetail};
use super::json_fields::{Fields, body_object};

/// eBay's `ConditionEnum`.
pub const CONDITIONS: [&str; 17] = [
    "NEW",
    "LIKE_NEW",
    "NEW_OTHER",
    "NEW_WITH_DEFECTS",
    "MANUFACTURER_REFURBISHED",
    "CERTIFIED_REFURBISHED",
    "EXCELLENT_REFURBISHED",
    "VERY_GOOD_REFURBISHED",
    "GOOD_REFURBISHED",
    "SELLER_REFURBISHED",
    "USED_EXCELLENT",
    "USED_VERY_GOOD",
    "USED_GOOD",
    "USED_ACCEPTABLE",
    "FOR_PARTS_OR_NOT_WORKING",
    "PRE_OWNED_EXCELLENT",
    "PRE_OWNED_FAIR",
];

/// The longest SKU eBay takes.
const MAX_SKU_CHARS: usize = 50;
/// The longest title eBay takes.
const MAX_TITLE_CHARS: usize = 80;

/// A seller's inventory item, as last put.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryItem {
    /// The SKU.
    pub sku: String,
    /// The locale of the `Content-Language` it was written in (`en_US`).
    pub locale: String,
    /// The record as sent (`availability`, `condition`, `product`, ...).
    pub record: Map<String, Value>,
}

/// 400, errorId 25707: the SKU is malformed.
pub(super) fn check_sku(sku: &str) -> Result<(), EbayError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
    if !sku.is_empty() && sku.chars().count() <= MAX_SKU_CHARS && sku.chars().all(allowed) {
        Ok(())
    } else {
        Err(invalid_sku(sku))
    }
}

/// The 25707 error about `sku`.
pub(super) fn invalid_sku(sku: &str) -> EbayError {
    EbayError::bad_request(
        ErrorDetail::request(
            SellApi::Inventory,
            25707,
            "This is an invalid value for a SKU. Only alphanumeric characters can be used for \
             SKUs, and their length must not exceed 50 characters.",
        )
        .parameter("sku", sku),
    )
}

fn invalid(error_id: u32, message: String, field: &str) -> EbayError {
    EbayError::bad_request(
        ErrorDetail::request(SellApi::Inventory, error_id, message).parameter("fieldName", field),
    )
}

impl InventoryItem {
    /// Checks a `createOrReplaceInventoryItem` body for `sku` written in
    /// `locale`.
    pub(super) fn parse(sku: &str, locale: &str, body: &[u8]) -> Result<Self, EbayError> {
        check_sku(sku)?;
        let record = body_object(body)?;
        let fields = Fields::new(&record, "");
        fields.enumeration("condition", &CONDITIONS)?;
        fields.string("conditionDescription")?;
        fields.object("packageWeightAndSize")?;
        let quantity = match fields.object("availability")? {
            Some(availability) => match availability.object("shipToLocationAvailability")? {
                Some(ship_to_home) => ship_to_home.integer("quantity")?,
                None => None,
            },
            None => None,
        };
        if quantity.is_some_and(|quantity| quantity < 0) {
            return Err(invalid(
                25004,
                "The eBay listing associated with the inventory item, or the unpublished offer \
                 has an invalid quantity. The quantity must be 0 or more."
                    .into(),
                "availability.shipToLocationAvailability.quantity",
            ));
        }
        if let Some(product) = fields.object("product")? {
            check_product(&product)?;
        }
        Ok(Self {
            sku: sku.to_owned(),
            locale: locale.to_owned(),
            record,
        })
    }

    /// The value at `path` in the record (`["product", "title"]`).
    fn record_value(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.record.get(*first)?, |value, key| value.get(key))
    }

    fn text(&self, path: &[&str]) -> Option<&str> {
        self.record_value(path).and_then(Value::as_str)
    }

    /// `availability.shipToLocationAvailability.quantity`.
    pub fn quantity(&self) -> Option<u64> {
        self.record_value(&["availability", "shipToLocationAvailability", "quantity"])
            .and_then(Value::as_u64)
    }

    /// `condition`.
    pub fn condition(&self) -> Option<&str> {
        self.text(&["condition"])
    }

    /// `product.title`.
    pub fn title(&self) -> Option<&str> {
        self.text(&["product", "title"])
    }

    /// `product.description`.
    pub fn description(&self) -> Option<&str> {
        self.text(&["product", "description"])
    }

    /// `product.imageUrls`.
    pub fn image_urls(&self) -> Vec<&str> {
        self.record_value(&["product", "imageUrls"])
            .and_then(Value::as_array)
            .map(|urls| urls.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Sets the ship-to-home quantity, as `bulkUpdatePriceQuantity` does.
    pub(super) fn set_quantity(&mut self, quantity: u32) {
        let availability = self
            .record
            .entry("availability")
            .or_insert_with(|| Value::Object(Map::new()));
        availability["shipToLocationAvailability"]["quantity"] = quantity.into();
    }

    /// The `getInventoryItem` body.
    pub(super) fn to_json(&self) -> Value {
        let mut item = self.record.clone();
        item.insert("sku".into(), self.sku.clone().into());
        item.insert("locale".into(), self.locale.clone().into());
        Value::Object(item)
    }
}

fn check_product(product: &Fields<'_>) -> Result<(), EbayError> {
    for name in ["description", "brand", "mpn", "subtitle", "epid"] {
        product.string(name)?;
    }
    for name in ["upc", "ean", "isbn"] {
        product.strings(name)?;
    }
    if let Some(aspects) = product.object("aspects")? {
        aspects.check_string_arrays()?;
    }
    if let Some(title) = product.string("title")?
        && title.chars().count() > MAX_TITLE_CHARS
    {
        return Err(invalid(
            25016,
            format!(
                "The title value is invalid. The title must be at most {MAX_TITLE_CHARS} characters."
            ),
            "product.title",
        ));
    }
    for url in product.strings("imageUrls")? {
        if !url.starts_with("https://") {
            return Err(invalid(
                25015,
                format!(
                    "The eBay listing associated with the inventory item, or the unpublished \
                     offer has an invalid picture URL. {url} is not an HTTPS URL."
                ),
                "product.imageUrls",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(sku: &str, body: Value) -> Result<InventoryItem, EbayError> {
        InventoryItem::parse(sku, "en_US", body.to_string().as_bytes())
    }

    fn mug() -> Value {
        json!({
            "availability": {"shipToLocationAvailability": {"quantity": 10}},
            "condition": "NEW",
            "product": {
                "title": "Sluice mug",
                "description": "A mug.",
                "aspects": {"Brand": ["Sluice"]},
                "imageUrls": ["https://img.example/mug.jpg"],
            },
        })
    }

    fn error_id(result: Result<InventoryItem, EbayError>) -> u32 {
        result.unwrap_err().errors[0].error_id
    }

    #[test]
    fn a_complete_item_reads_back() {
        let item = parse("MUG-1", mug()).unwrap();
        assert_eq!(item.quantity(), Some(10));
        assert_eq!(item.condition(), Some("NEW"));
        assert_eq!(item.title(), Some("Sluice mug"));
        assert_eq!(item.image_urls(), ["https://img.example/mug.jpg"]);
        let json = item.to_json();
        assert_eq!(
            (json["sku"].as_str(), json["locale"].as_str()),
            (Some("MUG-1"), Some("en_US"))
        );
    }

    #[test]
    fn skus_are_short_and_plain() {
        assert_eq!(error_id(parse(&"X".repeat(51), mug())), 25707);
        assert_eq!(error_id(parse("MUG 1", mug())), 25707);
        assert!(parse(&"X".repeat(50), mug()).is_ok());
    }

    #[test]
    fn business_rules_use_their_error_ids() {
        let mut negative = mug();
        negative["availability"]["shipToLocationAvailability"]["quantity"] = json!(-1);
        assert_eq!(error_id(parse("MUG-1", negative)), 25004);
        let mut long_title = mug();
        long_title["product"]["title"] = json!("T".repeat(81));
        assert_eq!(error_id(parse("MUG-1", long_title)), 25016);
        let mut http_image = mug();
        http_image["product"]["imageUrls"] = json!(["http://img.example/mug.jpg"]);
        assert_eq!(error_id(parse("MUG-1", http_image)), 25015);
    }

    #[test]
    fn wrong_types_and_conditions_fail_to_deserialize() {
        let mut condition = mug();
        condition["condition"] = json!("3000");
        assert_eq!(error_id(parse("MUG-1", condition)), 2004);
        let mut quantity = mug();
        quantity["availability"]["shipToLocationAvailability"]["quantity"] = json!("10");
        assert_eq!(error_id(parse("MUG-1", quantity)), 2004);
        let mut aspects = mug();
        aspects["product"]["aspects"] = json!({"Brand": "Sluice"});
        assert_eq!(error_id(parse("MUG-1", aspects)), 2004);
    }

    #[test]
    fn setting_the_quantity_creates_the_availability() {
        let mut item = parse("MUG-1", json!({})).unwrap();
        assert_eq!(item.quantity(), None);
        item.set_quantity(4);
        assert_eq!(item.quantity(), Some(4));
    }
}
