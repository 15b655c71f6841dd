//! The bodies of `putListingsItem` and `patchListingsItem`, checked against
//! the Listings Items 2021-08-01 schema. A body that breaks the schema is a
//! malformed request (400); whether the listing it describes is complete is
//! a separate question ([`listing_rules`](super::listing_rules)), answered
//! with HTTP 200 and issues.

use serde_json::{Map, Value};

/// Which requirement set a submission is checked against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Requirements {
    /// `LISTING`: product facts and sales terms (the default).
    #[default]
    Listing,
    /// `LISTING_PRODUCT_ONLY`: product facts only.
    ListingProductOnly,
    /// `LISTING_OFFER_ONLY`: sales terms only.
    ListingOfferOnly,
}

impl Requirements {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "LISTING" => Some(Self::Listing),
            "LISTING_PRODUCT_ONLY" => Some(Self::ListingProductOnly),
            "LISTING_OFFER_ONLY" => Some(Self::ListingOfferOnly),
            _ => None,
        }
    }
}

/// A full listing: the body of `putListingsItem`, and what a patch makes of
/// a stored listing.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ListingContent {
    pub(super) product_type: String,
    pub(super) requirements: Requirements,
    pub(super) attributes: Map<String, Value>,
}

/// A JSON Patch operation as `patchListingsItem` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PatchOp {
    Add,
    Replace,
    Merge,
    Delete,
}

/// One patch, on a top-level attribute.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Patch {
    pub(super) op: PatchOp,
    pub(super) attribute: String,
    /// The attribute values; optional only for `delete`.
    pub(super) value: Option<Vec<Value>>,
}

/// A `patchListingsItem` body.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PatchBody {
    pub(super) product_type: String,
    pub(super) patches: Vec<Patch>,
}

/// Why a body breaks the schema, naming the field.
pub(super) type SchemaError = String;

fn object(body: &[u8]) -> Result<Map<String, Value>, SchemaError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(error) => Err(format!("the body is not valid JSON: {error}")),
    }
}

fn product_type(body: &Map<String, Value>) -> Result<String, SchemaError> {
    match body.get("productType") {
        Some(Value::String(product_type)) if !product_type.is_empty() => Ok(product_type.clone()),
        Some(_) => Err("productType must be a non-empty string".into()),
        None => Err("productType is required".into()),
    }
}

/// Checks that an attribute's value is what the schema allows: an array of
/// objects (`[{"value":"T","marketplace_id":"..."}]`).
fn attribute_values(name: &str, value: &Value) -> Result<Vec<Value>, SchemaError> {
    match value {
        Value::Array(entries) if entries.iter().all(Value::is_object) => Ok(entries.clone()),
        _ => Err(format!(
            "attributes.{name} must be an array of objects, got {value}"
        )),
    }
}

impl ListingContent {
    pub(super) fn parse(body: &[u8]) -> Result<Self, SchemaError> {
        let body = object(body)?;
        let product_type = product_type(&body)?;
        let requirements = match body.get("requirements") {
            None => Requirements::default(),
            Some(value) => value
                .as_str()
                .and_then(Requirements::parse)
                .ok_or_else(|| {
                    format!(
                        "requirements must be LISTING, LISTING_PRODUCT_ONLY or \
                         LISTING_OFFER_ONLY, got {value}"
                    )
                })?,
        };
        let attributes = match body.get("attributes") {
            Some(Value::Object(attributes)) => attributes.clone(),
            Some(_) => return Err("attributes must be a JSON object".into()),
            None => return Err("attributes is required".into()),
        };
        for (name, value) in &attributes {
            attribute_values(name, value)?;
        }
        Ok(Self {
            product_type,
            requirements,
            attributes,
        })
    }
}

impl Patch {
    fn parse(index: usize, patch: &Value) -> Result<Self, SchemaError> {
        let field = |name: &str| patch.get(name).and_then(Value::as_str);
        let op = match field("op") {
            Some("add") => PatchOp::Add,
            Some("replace") => PatchOp::Replace,
            Some("merge") => PatchOp::Merge,
            Some("delete") => PatchOp::Delete,
            _ => {
                return Err(format!(
                    "patches[{index}].op must be add, replace, merge or delete"
                ));
            }
        };
        let attribute = field("path")
            .and_then(|path| path.strip_prefix("/attributes/"))
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .ok_or_else(|| {
                format!(
                    "patches[{index}].path must be /attributes/<name>: only top-level \
                     attributes can be patched"
                )
            })?
            .to_owned();
        let value = match patch.get("value") {
            None => None,
            Some(value) => Some(attribute_values(&attribute, value)?),
        };
        if value.is_none() && op != PatchOp::Delete {
            return Err(format!("patches[{index}].value is required for this op"));
        }
        Ok(Self {
            op,
            attribute,
            value,
        })
    }
}

impl PatchBody {
    pub(super) fn parse(body: &[u8]) -> Result<Self, SchemaError> {
        let body = object(body)?;
        let product_type = product_type(&body)?;
        let patches = match body.get("patches") {
            Some(Value::Array(patches)) if !patches.is_empty() => patches,
            Some(Value::Array(_)) => return Err("patches must hold at least one patch".into()),
            Some(_) => return Err("patches must be an array".into()),
            None => return Err("patches is required".into()),
        };
        let patches = patches
            .iter()
            .enumerate()
            .map(|(index, patch)| Patch::parse(index, patch))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            product_type,
            patches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(body: Value) -> Result<ListingContent, SchemaError> {
        ListingContent::parse(body.to_string().as_bytes())
    }

    fn patch(body: Value) -> Result<PatchBody, SchemaError> {
        PatchBody::parse(body.to_string().as_bytes())
    }

    #[test]
    fn a_put_body_needs_a_product_type_and_attributes() {
        let body = put(json!({
            "productType": "PRODUCT",
            "attributes": {"item_name": [{"value": "Mug"}]},
        }))
        .unwrap();
        assert_eq!(body.requirements, Requirements::Listing);
        assert_eq!(body.attributes["item_name"][0]["value"], "Mug");

        assert_eq!(
            put(json!({"attributes": {}})).unwrap_err(),
            "productType is required"
        );
        assert_eq!(
            put(json!({"productType": "PRODUCT"})).unwrap_err(),
            "attributes is required"
        );
        assert!(
            ListingContent::parse(b"not json")
                .unwrap_err()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn attribute_values_must_be_arrays_of_objects() {
        let error = put(json!({
            "productType": "PRODUCT",
            "attributes": {"item_name": "Mug"},
        }))
        .unwrap_err();
        assert!(
            error.starts_with("attributes.item_name must be an array of objects"),
            "{error}"
        );
        assert!(put(json!({"productType": "P", "attributes": {"item_name": ["Mug"]}})).is_err());
    }

    #[test]
    fn requirements_must_be_one_of_amazons_sets() {
        let body = put(json!({
            "productType": "P", "requirements": "LISTING_OFFER_ONLY", "attributes": {},
        }))
        .unwrap();
        assert_eq!(body.requirements, Requirements::ListingOfferOnly);
        assert!(put(json!({"productType": "P", "requirements": "ALL", "attributes": {}})).is_err());
    }

    #[test]
    fn patches_name_a_top_level_attribute_and_an_op() {
        let body = patch(json!({
            "productType": "PRODUCT",
            "patches": [
                {"op": "replace", "path": "/attributes/fulfillment_availability",
                 "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]},
                {"op": "delete", "path": "/attributes/bullet_point"},
            ],
        }))
        .unwrap();
        assert_eq!(body.patches[0].op, PatchOp::Replace);
        assert_eq!(body.patches[0].attribute, "fulfillment_availability");
        assert_eq!(body.patches[1].value, None);
    }

    #[test]
    fn malformed_patches_are_named_by_index() {
        let nested = patch(json!({"productType": "P", "patches": [
            {"op": "replace", "path": "/attributes/purchasable_offer/0/our_price", "value": [{}]},
        ]}));
        assert!(nested.unwrap_err().contains("patches[0].path"));
        let bad_op = patch(json!({"productType": "P", "patches": [
            {"op": "move", "path": "/attributes/item_name", "value": [{}]},
        ]}));
        assert!(bad_op.unwrap_err().contains("patches[0].op"));
        let no_value = patch(json!({"productType": "P", "patches": [
            {"op": "add", "path": "/attributes/item_name"},
        ]}));
        assert!(no_value.unwrap_err().contains("patches[0].value"));
        assert_eq!(
            patch(json!({"productType": "P", "patches": []})).unwrap_err(),
            "patches must hold at least one patch"
        );
    }
}
