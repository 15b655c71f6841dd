//! Reading a `ProductInput` request body and checking it as Google does.
//!
//! Two kinds of refusal, both 400 `INVALID_ARGUMENT`:
//! - what Google's JSON-to-proto layer refuses (an unknown field name, a
//!   value of the wrong JSON type, an unknown enum value), worded exactly as
//!   Google words it (`Invalid value at 'product_input.product_attributes.
//!   availability' (...), "SOLD_OUT"`);
//! - the fields the fake checks beyond that (required identity fields, URLs,
//!   GTINs, prices), worded `<jsonPath>: <problem>`.
//!
//! Only the attributes the connectors send are type-checked; other
//! `productAttributes` entries are kept as sent.

use serde_json::{Map, Value};

use super::api_error::ApiError;
use super::product_input::ProductKey;

/// The fields of a `google.shopping.type.Price`.
const PRICE_FIELDS: [&str; 2] = ["amountMicros", "currencyCode"];

/// The fields of a `google.shopping.type.CustomAttribute`.
const CUSTOM_ATTRIBUTE_FIELDS: [&str; 3] = ["name", "value", "groupValues"];

/// Google's longest `offerId`, in characters.
const MAX_OFFER_ID_CHARS: usize = 50;
/// Google's longest `feedLabel`, in characters.
const MAX_FEED_LABEL_CHARS: usize = 20;
/// The lengths of GTIN-8, UPC (GTIN-12), EAN (GTIN-13) and GTIN-14.
const GTIN_LENGTHS: [usize; 4] = [8, 12, 13, 14];

/// How the fake checks a product attribute's value.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Url,
    UrlList,
    Enum {
        proto_type: &'static str,
        values: &'static [&'static str],
    },
    Price,
    Gtins,
}

const AVAILABILITY: Kind = Kind::Enum {
    proto_type: "google.shopping.merchant.products.v1.Availability",
    values: &[
        "IN_STOCK",
        "OUT_OF_STOCK",
        "PREORDER",
        "LIMITED_AVAILABILITY",
        "BACKORDER",
    ],
};

const CONDITION: Kind = Kind::Enum {
    proto_type: "google.shopping.merchant.products.v1.Condition",
    values: &["NEW", "USED", "REFURBISHED"],
};

/// The attributes whose values are checked.
const CHECKED_ATTRIBUTES: [(&str, Kind); 16] = [
    ("title", Kind::Text),
    ("description", Kind::Text),
    ("brand", Kind::Text),
    ("mpn", Kind::Text),
    ("itemGroupId", Kind::Text),
    ("link", Kind::Url),
    ("mobileLink", Kind::Url),
    ("imageLink", Kind::Url),
    ("additionalImageLinks", Kind::UrlList),
    ("availability", AVAILABILITY),
    ("condition", CONDITION),
    ("price", Kind::Price),
    ("salePrice", Kind::Price),
    ("costOfGoodsSold", Kind::Price),
    ("maximumRetailPrice", Kind::Price),
    ("gtins", Kind::Gtins),
];

/// A request body that passed every check.
#[derive(Debug, Default)]
pub(super) struct InputBody {
    offer_id: Option<String>,
    content_language: Option<String>,
    feed_label: Option<String>,
    pub version_number: Option<i64>,
    pub attributes: Map<String, Value>,
    pub custom_attributes: Vec<Value>,
}

impl InputBody {
    /// Parses and checks `body`; identity fields are checked by
    /// [`key`](Self::key), as only insert needs them.
    pub(super) fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|error| {
            ApiError::invalid_argument(format!("Invalid JSON payload received. {error}"))
        })?;
        let Value::Object(fields) = value else {
            return Err(invalid_value(
                "",
                "type.googleapis.com/google.shopping.merchant.products.v1.ProductInput",
                &value,
            ));
        };
        let mut input = Self::default();
        for (name, value) in &fields {
            match name.as_str() {
                // Output only on input: type-checked, then ignored.
                "name" | "product" => {
                    string(name, value)?;
                }
                "legacyLocal" => {
                    if bool_value(name, value)? {
                        return Err(ApiError::invalid_argument(
                            "legacyLocal: local-only products are not modelled by this fake",
                        ));
                    }
                }
                "offerId" => input.offer_id = Some(string(name, value)?.to_owned()),
                "contentLanguage" => input.content_language = Some(string(name, value)?.to_owned()),
                "feedLabel" => input.feed_label = Some(string(name, value)?.to_owned()),
                "versionNumber" => input.version_number = Some(int64(name, value)?),
                "productAttributes" => input.attributes = attributes(value)?,
                "customAttributes" => input.custom_attributes = custom_attributes(value)?,
                unknown => return Err(unknown_name(unknown, "")),
            }
        }
        Ok(input)
    }

    /// The product's identity, required on insert. `offerId` is
    /// whitespace-normalised as Google does.
    pub(super) fn key(&self) -> Result<ProductKey, ApiError> {
        let offer_id = self
            .offer_id
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if offer_id.is_empty() {
            return Err(missing("offerId"));
        }
        if offer_id.chars().count() > MAX_OFFER_ID_CHARS {
            return Err(problem(
                "offerId",
                format!("must be at most {MAX_OFFER_ID_CHARS} characters"),
            ));
        }
        let content_language = required(&self.content_language, "contentLanguage")?;
        if content_language.len() != 2 || !content_language.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(problem(
                "contentLanguage",
                format!("must be a two-letter ISO 639-1 code, got {content_language:?}"),
            ));
        }
        let feed_label = required(&self.feed_label, "feedLabel")?;
        let label_chars_ok = feed_label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if feed_label.len() > MAX_FEED_LABEL_CHARS || !label_chars_ok {
            return Err(problem(
                "feedLabel",
                format!(
                    "must be at most {MAX_FEED_LABEL_CHARS} of A-Z, 0-9, '-' and '_', got {feed_label:?}"
                ),
            ));
        }
        Ok(ProductKey {
            content_language: content_language.to_owned(),
            feed_label: feed_label.to_owned(),
            offer_id,
        })
    }
}

fn required<'a>(field: &'a Option<String>, path: &str) -> Result<&'a str, ApiError> {
    field
        .as_deref()
        .filter(|value| !value.is_empty())
        .ok_or_else(|| missing(path))
}

fn attributes(value: &Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(attributes) = value else {
        return Err(invalid_value(
            "productAttributes",
            "type.googleapis.com/google.shopping.merchant.products.v1.ProductAttributes",
            value,
        ));
    };
    for (name, kind) in CHECKED_ATTRIBUTES {
        if let Some(value) = attributes.get(name) {
            check_attribute(&format!("productAttributes.{name}"), kind, value)?;
        }
    }
    Ok(attributes.clone())
}

fn check_attribute(path: &str, kind: Kind, value: &Value) -> Result<(), ApiError> {
    match kind {
        Kind::Text => string(path, value).map(drop),
        Kind::Url => url(path, value),
        Kind::UrlList => list(path, value)?
            .iter()
            .enumerate()
            .try_for_each(|(index, link)| url(&format!("{path}[{index}]"), link)),
        Kind::Enum { proto_type, values } => match value.as_str() {
            Some(text) if values.contains(&text) => Ok(()),
            _ => Err(invalid_value(
                path,
                &format!("type.googleapis.com/{proto_type}"),
                value,
            )),
        },
        Kind::Price => price(path, value),
        Kind::Gtins => list(path, value)?
            .iter()
            .enumerate()
            .try_for_each(|(index, gtin)| {
                let path = format!("{path}[{index}]");
                let gtin = string(&path, gtin)?;
                if GTIN_LENGTHS.contains(&gtin.len()) && gtin.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err(problem(
                        &path,
                        format!("a GTIN is 8, 12, 13 or 14 digits, got {gtin:?}"),
                    ))
                }
            }),
    }
}

fn price(path: &str, value: &Value) -> Result<(), ApiError> {
    let Value::Object(fields) = value else {
        return Err(invalid_value(
            path,
            "type.googleapis.com/google.shopping.type.Price",
            value,
        ));
    };
    check_known_names(fields, &PRICE_FIELDS, path)?;
    let amount_path = format!("{path}.amountMicros");
    int64(
        &amount_path,
        fields
            .get("amountMicros")
            .ok_or_else(|| missing(&amount_path))?,
    )?;
    let currency_path = format!("{path}.currencyCode");
    let currency = string(
        &currency_path,
        fields
            .get("currencyCode")
            .ok_or_else(|| missing(&currency_path))?,
    )?;
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(problem(
            &currency_path,
            format!("must be an ISO 4217 code such as \"USD\", got {currency:?}"),
        ))
    }
}

fn custom_attributes(value: &Value) -> Result<Vec<Value>, ApiError> {
    let entries = list("customAttributes", value)?;
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("customAttributes[{index}]");
        let Value::Object(fields) = entry else {
            return Err(invalid_value(
                &path,
                "type.googleapis.com/google.shopping.type.CustomAttribute",
                entry,
            ));
        };
        check_known_names(fields, &CUSTOM_ATTRIBUTE_FIELDS, &path)?;
        for name in ["name", "value"] {
            if let Some(text) = fields.get(name) {
                string(&format!("{path}.{name}"), text)?;
            }
        }
    }
    Ok(entries.to_vec())
}

fn check_known_names(
    fields: &Map<String, Value>,
    known: &[&str],
    path: &str,
) -> Result<(), ApiError> {
    match fields.keys().find(|name| !known.contains(&name.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(unknown_name(unknown, path)),
    }
}

/// Google's JSON-layer refusal of a field the message does not have.
fn unknown_name(name: &str, path: &str) -> ApiError {
    ApiError::invalid_argument(format!(
        "Invalid JSON payload received. Unknown name {name:?} at '{}': Cannot find field.",
        proto_path(path)
    ))
}

fn string<'a>(path: &str, value: &'a Value) -> Result<&'a str, ApiError> {
    value
        .as_str()
        .ok_or_else(|| invalid_value(path, "TYPE_STRING", value))
}

fn bool_value(path: &str, value: &Value) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| invalid_value(path, "TYPE_BOOL", value))
}

fn list<'a>(path: &str, value: &'a Value) -> Result<&'a [Value], ApiError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| invalid_value(path, "TYPE_LIST", value))
}

/// An int64 in Google's canonical JSON form: a string of digits. Google also
/// takes a bare JSON number; the fake insists on the documented form so that
/// connectors send what the reference describes.
fn int64(path: &str, value: &Value) -> Result<i64, ApiError> {
    value
        .as_str()
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| {
            problem(
                path,
                format!("int64 values are sent as a string of digits, got {value}"),
            )
        })
}

fn url(path: &str, value: &Value) -> Result<(), ApiError> {
    let text = string(path, value)?;
    match url::Url::parse(text) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        _ => Err(problem(
            path,
            format!("must be an absolute http or https URL, got {text:?}"),
        )),
    }
}

/// Google's JSON-layer refusal of a value of the wrong type.
fn invalid_value(path: &str, proto_type: &str, value: &Value) -> ApiError {
    ApiError::invalid_argument(format!(
        "Invalid value at '{}' ({proto_type}), {value}",
        proto_path(path)
    ))
}

fn missing(path: &str) -> ApiError {
    problem(path, "required field is missing".to_owned())
}

fn problem(path: &str, problem: String) -> ApiError {
    ApiError::invalid_argument(format!("{path}: {problem}"))
}

/// `productAttributes.price` as Google names it in errors:
/// `product_input.product_attributes.price`.
fn proto_path(json_path: &str) -> String {
    let mut proto = String::from("product_input");
    if !json_path.is_empty() {
        proto.push('.');
    }
    for c in json_path.chars() {
        if c.is_ascii_uppercase() {
            proto.push('_');
            proto.push(c.to_ascii_lowercase());
        } else {
            proto.push(c);
        }
    }
    proto
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: Value) -> Result<InputBody, String> {
        InputBody::parse(body.to_string().as_bytes()).map_err(|error| error.message)
    }

    fn product(attributes: Value) -> Value {
        json!({"offerId": "sku1", "contentLanguage": "en", "feedLabel": "US", "productAttributes": attributes})
    }

    fn key_error(body: Value) -> String {
        parse(body).unwrap().key().unwrap_err().message
    }

    #[test]
    fn a_full_product_parses_with_its_identity() {
        let body = product(json!({
            "title": "Mug", "link": "https://shop.example/mug", "imageLink": "https://shop.example/mug.jpg",
            "availability": "IN_STOCK", "condition": "NEW", "brand": "Acme",
            "price": {"amountMicros": "15990000", "currencyCode": "USD"},
            "gtins": ["4006381333931"], "color": "blue"
        }));
        let input = parse(body).unwrap();
        let key = input.key().unwrap();
        assert_eq!(
            (
                key.content_language.as_str(),
                key.feed_label.as_str(),
                key.offer_id.as_str()
            ),
            ("en", "US", "sku1")
        );
        assert_eq!(
            input.attributes["color"], "blue",
            "unchecked attributes are kept"
        );
    }

    #[test]
    fn offer_id_whitespace_is_normalised() {
        let body = json!({"offerId": "  big   mug ", "contentLanguage": "en", "feedLabel": "US"});
        assert_eq!(parse(body).unwrap().key().unwrap().offer_id, "big mug");
    }

    #[test]
    fn identity_fields_are_required_and_well_formed() {
        let base = json!({"offerId": "sku1", "contentLanguage": "en", "feedLabel": "US"});
        let without = |name: &str| {
            let mut body = base.clone();
            body.as_object_mut().unwrap().remove(name);
            body
        };
        let with = |name: &str, value: &str| {
            let mut body = base.clone();
            body[name] = value.into();
            body
        };
        assert_eq!(
            key_error(without("offerId")),
            "offerId: required field is missing"
        );
        assert_eq!(
            key_error(with("offerId", "   ")),
            "offerId: required field is missing"
        );
        assert_eq!(
            key_error(without("contentLanguage")),
            "contentLanguage: required field is missing"
        );
        assert_eq!(
            key_error(without("feedLabel")),
            "feedLabel: required field is missing"
        );
        assert!(
            key_error(with("offerId", &"x".repeat(51))).starts_with("offerId: must be at most 50")
        );
        assert!(
            key_error(with("contentLanguage", "eng"))
                .starts_with("contentLanguage: must be a two-letter")
        );
        assert!(key_error(with("feedLabel", "us")).starts_with("feedLabel: must be at most 20"));
        assert!(key_error(with("feedLabel", &"A".repeat(21))).starts_with("feedLabel:"));
    }

    #[test]
    fn unknown_fields_are_refused_as_google_refuses_them() {
        assert_eq!(
            parse(json!({"offerId": "sku1", "attributes": {}})).unwrap_err(),
            "Invalid JSON payload received. Unknown name \"attributes\" at 'product_input': Cannot find field."
        );
        assert_eq!(
            parse(product(
                json!({"price": {"amountMicros": "1", "currencyCode": "USD", "value": 1}})
            ))
            .unwrap_err(),
            "Invalid JSON payload received. Unknown name \"value\" at 'product_input.product_attributes.price': Cannot find field."
        );
    }

    #[test]
    fn wrong_json_types_name_the_proto_field() {
        assert_eq!(
            parse(json!({"offerId": 7})).unwrap_err(),
            "Invalid value at 'product_input.offer_id' (TYPE_STRING), 7"
        );
        assert_eq!(
            parse(json!({"productAttributes": []})).unwrap_err(),
            "Invalid value at 'product_input.product_attributes' \
             (type.googleapis.com/google.shopping.merchant.products.v1.ProductAttributes), []"
        );
        assert!(
            parse(json!([1]))
                .unwrap_err()
                .starts_with("Invalid value at 'product_input' (")
        );
        assert!(
            InputBody::parse(b"{\"offerId\":")
                .unwrap_err()
                .message
                .starts_with("Invalid JSON payload received.")
        );
    }

    #[test]
    fn enums_take_only_their_values() {
        for value in [
            "IN_STOCK",
            "OUT_OF_STOCK",
            "PREORDER",
            "LIMITED_AVAILABILITY",
            "BACKORDER",
        ] {
            assert!(
                parse(product(json!({"availability": value}))).is_ok(),
                "{value}"
            );
        }
        assert_eq!(
            parse(product(json!({"availability": "in stock"}))).unwrap_err(),
            "Invalid value at 'product_input.product_attributes.availability' \
             (type.googleapis.com/google.shopping.merchant.products.v1.Availability), \"in stock\""
        );
        assert!(parse(product(json!({"condition": "REFURBISHED"}))).is_ok());
        assert!(
            parse(product(json!({"condition": "BROKEN"})))
                .unwrap_err()
                .contains(".Condition), \"BROKEN\"")
        );
    }

    #[test]
    fn prices_need_micros_as_a_digit_string_and_a_currency_code() {
        let priced = |price: Value| parse(product(json!({"price": price})));
        assert!(priced(json!({"amountMicros": "0", "currencyCode": "EUR"})).is_ok());
        assert_eq!(
            priced(json!({"amountMicros": 15990000, "currencyCode": "USD"})).unwrap_err(),
            "productAttributes.price.amountMicros: int64 values are sent as a string of digits, got 15990000"
        );
        assert!(priced(json!({"amountMicros": "15.99", "currencyCode": "USD"})).is_err());
        assert!(priced(json!({"amountMicros": "-1", "currencyCode": "USD"})).is_err());
        assert!(
            priced(json!({"amountMicros": "99999999999999999999", "currencyCode": "USD"})).is_err()
        );
        assert_eq!(
            priced(json!({"amountMicros": "1"})).unwrap_err(),
            "productAttributes.price.currencyCode: required field is missing"
        );
        assert!(
            priced(json!({"amountMicros": "1", "currencyCode": "usd"}))
                .unwrap_err()
                .starts_with("productAttributes.price.currencyCode: must be an ISO 4217")
        );
        assert!(
            parse(product(json!({"salePrice": {"currencyCode": "USD"}})))
                .unwrap_err()
                .starts_with("productAttributes.salePrice.amountMicros:")
        );
    }

    #[test]
    fn links_must_be_absolute_web_urls() {
        assert!(parse(product(json!({"link": "http://shop.example/p?id=1"}))).is_ok());
        assert_eq!(
            parse(product(json!({"link": "/p/1"}))).unwrap_err(),
            "productAttributes.link: must be an absolute http or https URL, got \"/p/1\""
        );
        assert!(
            parse(product(json!({"imageLink": "ftp://shop.example/a.jpg"})))
                .unwrap_err()
                .starts_with("productAttributes.imageLink:")
        );
        assert!(
            parse(product(
                json!({"additionalImageLinks": ["https://a.example/1.jpg", "nope"]})
            ))
            .unwrap_err()
            .starts_with("productAttributes.additionalImageLinks[1]:")
        );
    }

    #[test]
    fn gtins_are_lists_of_8_12_13_or_14_digits() {
        let gtins = [
            "12345670",
            "036000291452",
            "4006381333931",
            "10036000291459",
        ];
        assert!(parse(product(json!({"gtins": gtins}))).is_ok());
        assert_eq!(
            parse(product(json!({"gtins": ["12345670", "12345"]}))).unwrap_err(),
            "productAttributes.gtins[1]: a GTIN is 8, 12, 13 or 14 digits, got \"12345\""
        );
        assert!(parse(product(json!({"gtins": ["40063813339X1"]}))).is_err());
        assert!(
            parse(product(json!({"gtins": "4006381333931"})))
                .unwrap_err()
                .contains("(TYPE_LIST)")
        );
    }

    #[test]
    fn custom_attributes_are_name_value_objects() {
        assert!(
            parse(json!({"customAttributes": [{"name": "size type", "value": "regular"}]})).is_ok()
        );
        assert!(
            parse(json!({"customAttributes": [{"name": 1}]}))
                .unwrap_err()
                .contains("custom_attributes[0].name")
        );
        assert!(
            parse(json!({"customAttributes": [{"key": "x"}]}))
                .unwrap_err()
                .contains("Unknown name \"key\"")
        );
    }

    #[test]
    fn version_numbers_are_int64_strings_and_legacy_local_is_refused() {
        assert_eq!(
            parse(json!({"versionNumber": "12"}))
                .unwrap()
                .version_number,
            Some(12)
        );
        assert!(parse(json!({"versionNumber": 12})).is_err());
        assert!(parse(json!({"legacyLocal": false})).is_ok());
        assert!(
            parse(json!({"legacyLocal": true}))
                .unwrap_err()
                .starts_with("legacyLocal:")
        );
    }
}
