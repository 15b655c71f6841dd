//! The official request schemas the fakes check every request against:
//! subsets of Amazon's, eBay's, Google's and Slack's published contracts,
//! transcribed as JSON Schema under `tests/schemas/` with where each came
//! from (see `tests/schemas/README.md`).
//!
//! A request is checked as one document, so that its path parameters,
//! query parameters and headers are validated like its body:
//!
//! ```json
//! {"path": {"sku": "A-1"}, "query": {"marketplaceIds": "ATVPDKIKX0DER"},
//!  "headers": {"content-type": "application/json"}, "body": {...}}
//! ```
//!
//! Query values are the raw strings of the query string; header names are
//! lower-case. Each fake turns the violations into its API's own error
//! shape.

use std::collections::BTreeMap;

use http::HeaderMap;
use jsonschema::Validator;
use serde_json::{Map, Value, json};

/// One of the schema files under `tests/schemas/`.
pub struct SchemaFile {
    /// Its path under `tests/schemas/`, for messages.
    name: &'static str,
    /// Its text.
    text: &'static str,
}

/// Amazon's Listings Items 2021-08-01.
pub static AMAZON_LISTINGS: SchemaFile = SchemaFile {
    name: "amazon/listings_items_2021-08-01.json",
    text: include_str!("../../schemas/amazon/listings_items_2021-08-01.json"),
};
/// eBay's Sell Inventory API v1.
pub static EBAY_INVENTORY: SchemaFile = SchemaFile {
    name: "ebay/sell_inventory_v1.json",
    text: include_str!("../../schemas/ebay/sell_inventory_v1.json"),
};
/// eBay's Sell Fulfillment API v1.
pub static EBAY_FULFILLMENT: SchemaFile = SchemaFile {
    name: "ebay/sell_fulfillment_v1.json",
    text: include_str!("../../schemas/ebay/sell_fulfillment_v1.json"),
};
/// Google's Merchant API v1 products.
pub static GOOGLE_PRODUCTS: SchemaFile = SchemaFile {
    name: "google/merchant_products_v1.json",
    text: include_str!("../../schemas/google/merchant_products_v1.json"),
};
/// Slack's Block Kit.
pub static SLACK_BLOCK_KIT: SchemaFile = SchemaFile {
    name: "slack/block_kit.json",
    text: include_str!("../../schemas/slack/block_kit.json"),
};

impl SchemaFile {
    /// The file's JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.text)
            .unwrap_or_else(|error| panic!("tests/schemas/{} is not JSON: {error}", self.name))
    }

    /// A validator for the definition `$defs/<definition>` of the file.
    pub fn validator(&self, definition: &str) -> Validator {
        let mut schema = self.json();
        let defs = schema["$defs"].clone();
        assert!(
            defs.get(definition).is_some(),
            "tests/schemas/{} has no $defs/{definition}",
            self.name
        );
        // The definition as the root, with the file's other definitions
        // beside it for its references.
        let root = schema.as_object_mut().expect("a schema file is an object");
        root.retain(|key, _| key == "$schema" || key == "$id" || key == "$defs");
        root.insert("$ref".into(), json!(format!("#/$defs/{definition}")));
        jsonschema::validator_for(&schema).unwrap_or_else(|error| {
            panic!(
                "tests/schemas/{} $defs/{definition} is not a valid schema: {error}",
                self.name
            )
        })
    }
}

/// A compiled definition: the schema of one API operation's requests.
/// Fakes keep theirs in a `LazyLock`, compiled on first use.
pub struct Operation {
    file: &'static SchemaFile,
    definition: &'static str,
    validator: Validator,
}

impl Operation {
    /// The definition `definition` of `file`, compiled.
    pub fn new(file: &'static SchemaFile, definition: &'static str) -> Self {
        Self {
            file,
            definition,
            validator: file.validator(definition),
        }
    }

    /// The violations of `document`, each `"<where>: <what>"`; empty when
    /// it is valid.
    pub fn violations(&self, document: &Value) -> Vec<Violation> {
        self.validator
            .iter_errors(document)
            .map(|error| Violation {
                pointer: error.instance_path().to_string(),
                message: error.to_string(),
            })
            .collect()
    }

    /// `Err` with the violations of `document`.
    pub fn check(&self, document: &Value) -> Result<(), Vec<Violation>> {
        let violations = self.violations(document);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    /// Where the schema comes from: `<file> $defs/<definition>`.
    pub fn source(&self) -> String {
        format!("tests/schemas/{} $defs/{}", self.file.name, self.definition)
    }
}

/// One way a request breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the request document (`/body/product/brand`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Violation {
    /// The field as the API names it: the pointer without its document
    /// part, dotted (`product.brand`, `sku`).
    pub fn field(&self) -> String {
        let mut parts = self.pointer.trim_start_matches('/').split('/');
        parts.next();
        parts.collect::<Vec<_>>().join(".")
    }

    /// Whether the violation is in the document part `part` (`path`,
    /// `query`, `headers`, `body`).
    pub fn is_in(&self, part: &str) -> bool {
        self.pointer
            .trim_start_matches('/')
            .split('/')
            .next()
            .is_some_and(|first| first == part)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

/// All violations, `; `-separated.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A request document being built.
#[derive(Debug, Default)]
pub struct RequestDocument {
    document: Map<String, Value>,
}

impl RequestDocument {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// With path parameters.
    pub fn path(mut self, params: &[(&str, &str)]) -> Self {
        let params: Map<String, Value> = params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
            .collect();
        self.document.insert("path".into(), Value::Object(params));
        self
    }

    /// With the query parameters.
    pub fn query<'a>(mut self, params: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let params: BTreeMap<&String, &String> = params.into_iter().collect();
        self.document.insert("query".into(), json!(params));
        self
    }

    /// With the headers (lower-case names; the first value of each).
    pub fn headers(mut self, headers: &HeaderMap) -> Self {
        let mut map = Map::new();
        for (name, value) in headers {
            if let Ok(value) = value.to_str() {
                map.entry(name.as_str().to_owned())
                    .or_insert_with(|| Value::from(value));
            }
        }
        self.document.insert("headers".into(), Value::Object(map));
        self
    }

    /// With a JSON body; a body that is not JSON is left out, for the
    /// fake's own parsing to refuse.
    pub fn body(mut self, body: &[u8]) -> Self {
        if let Ok(body) = serde_json::from_slice::<Value>(body) {
            self.document.insert("body".into(), body);
        }
        self
    }

    /// With an already parsed body.
    pub fn json_body(mut self, body: Value) -> Self {
        self.document.insert("body".into(), body);
        self
    }

    /// The document.
    pub fn build(self) -> Value {
        Value::Object(self.document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_compiles_with_each_definition() {
        for file in [
            &AMAZON_LISTINGS,
            &EBAY_INVENTORY,
            &EBAY_FULFILLMENT,
            &GOOGLE_PRODUCTS,
            &SLACK_BLOCK_KIT,
        ] {
            let json = file.json();
            assert!(
                json["$comment"]
                    .as_str()
                    .is_some_and(|c| c.contains("commit")
                        || c.contains("support.google.com")
                        || c.contains("docs.slack.dev")),
                "{} says where it comes from",
                file.name
            );
            for definition in json["$defs"].as_object().unwrap().keys() {
                file.validator(definition);
            }
        }
    }

    #[test]
    fn violations_name_the_field() {
        let operation = Operation::new(&EBAY_INVENTORY, "createOrReplaceInventoryItem");
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("content-language", "en-US".parse().unwrap());
        let document = RequestDocument::new()
            .path(&[("sku", "A B")])
            .headers(&headers)
            .json_body(json!({"product": {"brand": "b".repeat(66)}}))
            .build();
        let violations = operation.check(&document).unwrap_err();
        let mut fields: Vec<String> = violations.iter().map(Violation::field).collect();
        fields.sort();
        assert_eq!(fields, ["product.brand", "sku"], "{violations:?}");
        assert!(violations.iter().any(|violation| violation.is_in("path")));
        assert!(violations.iter().any(|violation| violation.is_in("body")));
    }
}
