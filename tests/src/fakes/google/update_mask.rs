//! `productInputs.patch`'s `updateMask`, with Google's documented rules:
//!
//! - only top-level product attributes (`productAttributes.price`, also
//!   spelled `product_attributes.price`) and custom attributes
//!   (`custom_attribute.<name>`) can be named;
//! - a named attribute takes its value from the body, and one named but
//!   absent from the body is deleted;
//! - body fields the mask does not name are ignored;
//! - without a mask, every attribute populated in the body is updated
//!   (the "implied mask"); `*` is not supported.

use serde_json::Value;

use super::api_error::ApiError;
use super::input_body::InputBody;
use super::product_input::ProductInput;

/// One path of an update mask.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MaskPath {
    /// A key of `productAttributes`, camelCase.
    Attribute(String),
    /// The `name` of custom attributes.
    CustomAttribute(String),
}

/// The attributes a patch changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UpdateMask {
    paths: Vec<MaskPath>,
}

impl UpdateMask {
    /// Parses the `updateMask` query value (comma-separated paths).
    pub(super) fn parse(mask: &str) -> Result<Self, ApiError> {
        let paths = mask
            .split(',')
            .map(str::trim)
            .map(parse_path)
            .collect::<Result<_, _>>()?;
        Ok(Self { paths })
    }

    /// The implied mask: every attribute and custom attribute `body`
    /// populates.
    pub(super) fn implied_by(body: &InputBody) -> Self {
        let attributes = body
            .attributes
            .iter()
            .filter(|(_, value)| is_populated(value))
            .map(|(name, _)| MaskPath::Attribute(name.clone()));
        let custom = body
            .custom_attributes
            .iter()
            .filter_map(custom_name)
            .map(|name| MaskPath::CustomAttribute(name.to_owned()));
        Self {
            paths: attributes.chain(custom).collect(),
        }
    }

    /// The paths as the fake reports them in
    /// [`ProductChange::Updated`](super::ProductChange::Updated).
    pub(super) fn paths(&self) -> Vec<String> {
        self.paths
            .iter()
            .map(|path| match path {
                MaskPath::Attribute(name) => format!("productAttributes.{name}"),
                MaskPath::CustomAttribute(name) => format!("custom_attribute.{name}"),
            })
            .collect()
    }

    /// Applies `body` to `product` through the mask.
    pub(super) fn apply(&self, body: &InputBody, product: &mut ProductInput) {
        for path in &self.paths {
            match path {
                MaskPath::Attribute(name) => {
                    match body
                        .attributes
                        .get(name)
                        .filter(|value| is_populated(value))
                    {
                        Some(value) => {
                            product.attributes.insert(name.clone(), value.clone());
                        }
                        None => {
                            product.attributes.remove(name);
                        }
                    }
                }
                MaskPath::CustomAttribute(name) => {
                    let named = |entry: &Value| custom_name(entry) == Some(name.as_str());
                    product.custom_attributes.retain(|entry| !named(entry));
                    product.custom_attributes.extend(
                        body.custom_attributes
                            .iter()
                            .filter(|entry| named(entry))
                            .cloned(),
                    );
                }
            }
        }
    }
}

fn parse_path(path: &str) -> Result<MaskPath, ApiError> {
    let attribute = path
        .strip_prefix("productAttributes.")
        .or_else(|| path.strip_prefix("product_attributes."));
    match (attribute, path.strip_prefix("custom_attribute.")) {
        (Some(name), _) if is_top_level(name) => Ok(MaskPath::Attribute(camel_case(name))),
        (_, Some(name)) if !name.is_empty() => Ok(MaskPath::CustomAttribute(name.to_owned())),
        _ => Err(ApiError::invalid_argument(format!(
            "updateMask: {path:?} cannot be updated; name top-level attributes \
             (productAttributes.<attribute>) or custom attributes (custom_attribute.<name>)"
        ))),
    }
}

fn is_top_level(name: &str) -> bool {
    !name.is_empty() && !name.contains('.')
}

/// `sale_price` -> `salePrice`; camelCase names pass through.
fn camel_case(name: &str) -> String {
    let mut camel = String::with_capacity(name.len());
    let mut upper_next = false;
    for c in name.chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            camel.push(c.to_ascii_uppercase());
            upper_next = false;
        } else {
            camel.push(c);
        }
    }
    camel
}

fn custom_name(entry: &Value) -> Option<&str> {
    entry.get("name").and_then(Value::as_str)
}

/// Whether a value counts as set in proto3 JSON terms.
fn is_populated(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attributes(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn body(value: Value) -> InputBody {
        InputBody::parse(value.to_string().as_bytes()).unwrap()
    }

    fn stored() -> ProductInput {
        ProductInput {
            account: 1,
            name: "accounts/1/productInputs/en~US~sku1".into(),
            product: "accounts/1/products/en~US~sku1".into(),
            offer_id: "sku1".into(),
            content_language: "en".into(),
            feed_label: "US".into(),
            data_source: "accounts/1/dataSources/2".into(),
            version_number: None,
            attributes: attributes(json!({
                "title": "Mug", "availability": "IN_STOCK",
                "price": {"amountMicros": "1000000", "currencyCode": "USD"}
            })),
            custom_attributes: vec![json!({"name": "material", "value": "clay"})],
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_masked_attributes_change_and_other_body_fields_are_ignored() {
        let mut product = stored();
        let patch = body(json!({
            "offerId": "ignored",
            "productAttributes": {
                "availability": "OUT_OF_STOCK",
                "title": "Not in the mask",
                "price": {"amountMicros": "2000000", "currencyCode": "USD"}
            }
        }));
        UpdateMask::parse("productAttributes.availability,productAttributes.price")
            .unwrap()
            .apply(&patch, &mut product);
        assert_eq!(product.attributes["availability"], "OUT_OF_STOCK");
        assert_eq!(product.attributes["price"]["amountMicros"], "2000000");
        assert_eq!(product.attributes["title"], "Mug");
        assert_eq!(product.offer_id, "sku1");
    }

    #[test]
    fn a_masked_attribute_missing_from_the_body_is_deleted() {
        let mut product = stored();
        UpdateMask::parse("productAttributes.title")
            .unwrap()
            .apply(&body(json!({})), &mut product);
        assert!(!product.attributes.contains_key("title"));
        assert_eq!(product.attributes["availability"], "IN_STOCK");
    }

    #[test]
    fn snake_case_paths_name_the_same_attributes() {
        let mask = UpdateMask::parse("product_attributes.sale_price, productAttributes.imageLink")
            .unwrap();
        assert_eq!(
            mask.paths(),
            ["productAttributes.salePrice", "productAttributes.imageLink"]
        );
    }

    #[test]
    fn custom_attributes_are_replaced_by_name() {
        let mut product = stored();
        let patch = body(json!({"customAttributes": [{"name": "material", "value": "steel"}]}));
        UpdateMask::parse("custom_attribute.material")
            .unwrap()
            .apply(&patch, &mut product);
        assert_eq!(
            product.custom_attributes,
            vec![json!({"name": "material", "value": "steel"})]
        );
        UpdateMask::parse("custom_attribute.material")
            .unwrap()
            .apply(&body(json!({})), &mut product);
        assert!(product.custom_attributes.is_empty());
    }

    #[test]
    fn the_implied_mask_covers_populated_attributes_only() {
        let patch = body(json!({
            "productAttributes": {"availability": "BACKORDER", "title": ""},
            "customAttributes": [{"name": "material", "value": "glass"}]
        }));
        let mask = UpdateMask::implied_by(&patch);
        assert_eq!(
            mask.paths(),
            [
                "productAttributes.availability",
                "custom_attribute.material"
            ]
        );
        let mut product = stored();
        mask.apply(&patch, &mut product);
        assert_eq!(
            product.attributes["title"], "Mug",
            "empty values are not in the implied mask"
        );
        assert_eq!(product.attributes["availability"], "BACKORDER");
    }

    #[test]
    fn paths_outside_top_level_attributes_are_refused_by_name() {
        for path in [
            "offerId",
            "*",
            "productAttributes.price.amountMicros",
            "productAttributes.",
            "attributes.title",
            "",
        ] {
            let error = UpdateMask::parse(path).unwrap_err();
            assert!(
                error.message.starts_with(&format!("updateMask: {path:?}")),
                "{}",
                error.message
            );
        }
        assert!(UpdateMask::parse("productAttributes.title,feedLabel").is_err());
    }
}
