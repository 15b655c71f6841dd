//! A stored product input, its identifier (`en~US~sku123`) and its JSON
//! forms: the `ProductInput` the write methods answer with and the processed
//! `Product` that `products.get` returns.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sluice_core::UnixMillis;
use sluice_core::clock::format_rfc3339;

/// How long Google keeps a product that is not refreshed.
const EXPIRY_AFTER_UPDATE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Characters that force the encoded form of an identifier in URLs.
const URL_PROBLEM_CHARS: [char; 3] = ['/', '%', '~'];

/// What identifies a product within an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ProductKey {
    pub content_language: String,
    pub feed_label: String,
    pub offer_id: String,
}

impl ProductKey {
    /// The `{productinput}` / `{product}` segment of a resource name: plain
    /// `en~US~sku123`, or unpadded base64url of it when a part holds a
    /// character that would break the plain form.
    pub(super) fn segment(&self) -> String {
        let plain = format!(
            "{}~{}~{}",
            self.content_language, self.feed_label, self.offer_id
        );
        let parts = [&self.content_language, &self.feed_label, &self.offer_id];
        if parts.iter().any(|part| part.contains(URL_PROBLEM_CHARS)) {
            URL_SAFE_NO_PAD.encode(plain)
        } else {
            plain
        }
    }

    /// Reads a segment in either form; a `~` marks the plain one.
    pub(super) fn parse_segment(segment: &str) -> Option<Self> {
        let plain = if segment.contains('~') {
            segment.to_owned()
        } else {
            String::from_utf8(URL_SAFE_NO_PAD.decode(segment).ok()?).ok()?
        };
        let mut parts = plain.splitn(3, '~');
        let (Some(content_language), Some(feed_label), Some(offer_id)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Self {
            content_language: content_language.to_owned(),
            feed_label: feed_label.to_owned(),
            offer_id: offer_id.to_owned(),
        })
    }
}

/// A price: micros of the currency unit (1 USD = 1,000,000) and an ISO 4217
/// code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// The amount in micros.
    pub amount_micros: i64,
    /// The ISO 4217 currency code.
    pub currency_code: String,
}

impl Price {
    /// A price of `amount_micros` in `currency_code`.
    pub fn new(amount_micros: i64, currency_code: &str) -> Self {
        Self {
            amount_micros,
            currency_code: currency_code.to_owned(),
        }
    }
}

/// A product input the fake holds, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductInput {
    /// The merchant account id.
    pub account: u64,
    /// `accounts/{account}/productInputs/{contentLanguage}~{feedLabel}~{offerId}`.
    pub name: String,
    /// `accounts/{account}/products/{contentLanguage}~{feedLabel}~{offerId}`.
    pub product: String,
    /// The merchant's id for the product, whitespace-normalised.
    pub offer_id: String,
    /// The two-letter language code.
    pub content_language: String,
    /// The feed label.
    pub feed_label: String,
    /// The data source the input belongs to (`accounts/1/dataSources/2`).
    pub data_source: String,
    /// The optional freshness version.
    pub version_number: Option<i64>,
    /// `productAttributes`, as sent (and as patched).
    pub attributes: Map<String, Value>,
    /// `customAttributes`, as sent (and as patched).
    pub custom_attributes: Vec<Value>,
    /// When it was first inserted, on the fake's clock.
    pub created_at: UnixMillis,
    /// When it was last written, on the fake's clock.
    pub updated_at: UnixMillis,
}

impl ProductInput {
    /// The identity the fake files the input under.
    pub(super) fn key(&self) -> ProductKey {
        ProductKey {
            content_language: self.content_language.clone(),
            feed_label: self.feed_label.clone(),
            offer_id: self.offer_id.clone(),
        }
    }

    /// A text or enum attribute (`"title"`, `"availability"`).
    pub fn text(&self, attribute: &str) -> Option<&str> {
        self.attributes.get(attribute).and_then(Value::as_str)
    }

    /// A price attribute (`"price"`, `"salePrice"`).
    pub fn price(&self, attribute: &str) -> Option<Price> {
        let price = self.attributes.get(attribute)?;
        Some(Price {
            amount_micros: price.get("amountMicros")?.as_str()?.parse().ok()?,
            currency_code: price.get("currencyCode")?.as_str()?.to_owned(),
        })
    }

    /// The `ProductInput` resource, as the insert and patch methods answer.
    pub fn to_json(&self) -> Value {
        let mut resource = json!({
            "name": self.name,
            "product": self.product,
        });
        self.add_identity_and_data(&mut resource);
        resource
    }

    /// The processed `Product` resource, as `products.get` answers. The fake
    /// processes inputs at once; Google takes minutes.
    pub fn to_product_json(&self) -> Value {
        let expires_at = self.updated_at + EXPIRY_AFTER_UPDATE.as_millis() as i64;
        let mut resource = json!({
            "name": self.product,
            "dataSource": self.data_source,
            "productStatus": {
                "creationDate": format_rfc3339(self.created_at),
                "lastUpdateDate": format_rfc3339(self.updated_at),
                "googleExpirationDate": format_rfc3339(expires_at),
            },
        });
        self.add_identity_and_data(&mut resource);
        resource
    }

    fn add_identity_and_data(&self, resource: &mut Value) {
        resource["offerId"] = self.offer_id.clone().into();
        resource["contentLanguage"] = self.content_language.clone().into();
        resource["feedLabel"] = self.feed_label.clone().into();
        if let Some(version) = self.version_number {
            // int64 travels as a string in Google's JSON.
            resource["versionNumber"] = version.to_string().into();
        }
        if !self.attributes.is_empty() {
            resource["productAttributes"] = Value::Object(self.attributes.clone());
        }
        if !self.custom_attributes.is_empty() {
            resource["customAttributes"] = Value::Array(self.custom_attributes.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(offer_id: &str) -> ProductKey {
        ProductKey {
            content_language: "en".into(),
            feed_label: "US".into(),
            offer_id: offer_id.into(),
        }
    }

    #[test]
    fn plain_identifiers_round_trip() {
        assert_eq!(key("sku123").segment(), "en~US~sku123");
        assert_eq!(
            ProductKey::parse_segment("en~US~sku123"),
            Some(key("sku123"))
        );
    }

    #[test]
    fn identifiers_with_url_problem_characters_are_base64url_encoded() {
        assert_eq!(key("sku/123").segment(), "ZW5-VVN-c2t1LzEyMw");
        assert_eq!(
            ProductKey::parse_segment("ZW5-VVN-c2t1LzEyMw"),
            Some(key("sku/123"))
        );
        assert_eq!(
            ProductKey::parse_segment(&key("a~b").segment()),
            Some(key("a~b"))
        );
    }

    #[test]
    fn segments_without_three_parts_do_not_parse() {
        assert_eq!(ProductKey::parse_segment("en~US"), None);
        assert_eq!(ProductKey::parse_segment("not base64!"), None);
        assert_eq!(ProductKey::parse_segment("c2t1"), None, "decodes to 'sku'");
    }

    #[test]
    fn the_price_helper_reads_micros_and_currency() {
        let input = ProductInput {
            account: 1,
            name: String::new(),
            product: String::new(),
            offer_id: "sku".into(),
            content_language: "en".into(),
            feed_label: "US".into(),
            data_source: String::new(),
            version_number: None,
            attributes: json!({"price": {"amountMicros": "15990000", "currencyCode": "USD"}})
                .as_object()
                .unwrap()
                .clone(),
            custom_attributes: Vec::new(),
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(input.price("price"), Some(Price::new(15_990_000, "USD")));
        assert_eq!(input.price("salePrice"), None);
        assert_eq!(input.text("price"), None);
    }
}
