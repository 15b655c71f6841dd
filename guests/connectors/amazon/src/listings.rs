//! Listings Items 2021-08-01: `product.updated` and `inventory.updated`.
//!
//! - `product.updated` with a `quantity` is a complete listing: `PUT
//!   /listings/2021-08-01/items/{sellerId}/{sku}` (putListingsItem) with
//!   requirements `LISTING`, which creates the listing or fully replaces it.
//!   Without a `quantity` the listing's stock must be left alone, which a
//!   full replacement would drop, so the product and offer attributes are
//!   replaced with `PATCH` (patchListingsItem) instead.
//! - `inventory.updated` replaces attribute `fulfillment_availability`
//!   (channel `DEFAULT`, merchant-fulfilled) with `PATCH`.
//!
//! A listing that fails Amazon's checks is answered HTTP 200 with
//! `status: INVALID` and issues: that is a permanent failure carrying the
//! issues, not a retry.
//!
//! Submissions ask for `includedData=issues` only: the 2021-08-01 model
//! serves `identifiers` (the ASIN) only with `mode=VALIDATION_PREVIEW`, and
//! a listing is matched to its ASIN after Amazon has processed the
//! submission. The delivery's external id is therefore Amazon's
//! `submissionId`.
//!
//! Which attributes go out is the configuration's listing profile
//! ([`crate::profile`]): the requirement set, the attribute map and the
//! fixed attributes; a price in another currency than the marketplace's
//! fails permanently.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sluice_guest::http::Method;
use sluice_guest::http::Response;
use sluice_guest::payload::{InventoryUpdated, ProductUpdated};
use sluice_guest::{DeliveryOutcome, InvocationContext, RemoteError, encode, log};

use crate::config::Config;
use crate::outcome::{self, Attempt};
use crate::profile::{self, Requirements, SUGGESTED_ASIN};
use crate::sp_api::{AmazonError, Operation, SpApi};

/// Where Listings Items 2021-08-01 lives.
pub const LISTINGS_PREFIX: &str = "/listings/2021-08-01/items";

/// The merchant-fulfilled channel of `fulfillment_availability`.
const MERCHANT_CHANNEL: &str = "DEFAULT";

/// The most additional images Amazon takes (`other_product_image_locator_1`
/// to `_8`).
const MAX_OTHER_IMAGES: usize = 8;

/// The path and query of the listing of `sku`, asking for `included_data`
/// in the answer.
pub fn item_path(config: &Config, sku: &str, included_data: &str) -> String {
    format!(
        "{LISTINGS_PREFIX}/{}/{}?{}",
        encode::percent(&config.seller_id),
        encode::percent(sku),
        encode::pairs(&[
            ("marketplaceIds", &config.marketplace_id),
            ("includedData", included_data),
            ("issueLocale", &config.language_tag),
        ])
    )
}

/// The data sets asked for in a submission's answer: `identifiers` is
/// served only in `VALIDATION_PREVIEW` mode.
const SUBMISSION_DATA: &str = "issues";

/// Amazon's condition for the platform's `condition`.
fn condition_type(condition: Option<&str>) -> Result<&'static str, String> {
    match condition.unwrap_or("new") {
        "new" => Ok("new_new"),
        "used" => Ok("used_good"),
        "refurbished" => Ok("refurbished_refurbished"),
        other => Err(format!(
            "condition {other:?} is not one of new, used, refurbished"
        )),
    }
}

/// A price amount (`"19.99"`) as the number Amazon takes.
fn price_value(amount: &str) -> Result<Value, String> {
    let valid = !amount.is_empty()
        && amount.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && amount.bytes().filter(|b| *b == b'.').count() <= 1;
    valid
        .then(|| amount.parse::<f64>().ok())
        .flatten()
        .filter(|value| value.is_finite() && *value > 0.0)
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("price.amount {amount:?} is not a positive decimal amount"))
}

/// Builds attribute values for one configuration's marketplace and language.
struct Attributes<'a> {
    config: &'a Config,
    map: Map<String, Value>,
}

impl<'a> Attributes<'a> {
    fn new(config: &'a Config) -> Self {
        Self {
            config,
            map: Map::new(),
        }
    }

    /// A text in the configuration's language and marketplace.
    fn text(&mut self, name: &str, value: &str) {
        self.map.insert(
            name.to_owned(),
            json!([{
                "value": value,
                "language_tag": self.config.language_tag,
                "marketplace_id": self.config.marketplace_id,
            }]),
        );
    }

    /// A value that is not language-specific.
    fn plain(&mut self, name: &str, value: Value) {
        self.map.insert(name.to_owned(), json!([value]));
    }

    fn values(&mut self, name: &str, values: Vec<Value>) {
        self.map.insert(name.to_owned(), Value::Array(values));
    }
}

/// The listing attributes of `product` for `config`'s marketplace and
/// listing profile, and the keys of free attributes left out (not in the
/// attribute map, or mapped to an attribute derived from the payload's
/// fields).
pub fn product_attributes(
    product: &ProductUpdated,
    config: &Config,
) -> Result<(Map<String, Value>, Vec<String>), String> {
    let marketplace_id = config.marketplace_id.as_str();
    if let Some(currency) = profile::marketplace_currency(marketplace_id)
        && !product.price.currency.eq_ignore_ascii_case(currency)
    {
        return Err(format!(
            "price.currency is {}, but marketplace {marketplace_id} sells in {currency}; Amazon \
             takes purchasable_offer prices in the marketplace's currency",
            product.price.currency
        ));
    }
    let product_facts = config.requirements == Requirements::Listing;
    let mut attributes = Attributes::new(config);
    if product_facts {
        attributes.text("item_name", &product.title);
        if let Some(description) = product.description.as_deref().filter(|d| !d.is_empty()) {
            attributes.text("product_description", description);
        }
        if let Some(brand) = &product.brand {
            attributes.text("brand", brand);
        }
    }
    let ids = &product.identifiers;
    let identifiers: Vec<Value> = [
        ("gtin", &ids.gtin),
        ("upc", &ids.upc),
        ("ean", &ids.ean),
        ("isbn", &ids.isbn),
    ]
    .into_iter()
    .filter_map(|(kind, value)| {
        value
            .as_ref()
            .map(|value| json!({"type": kind, "value": value, "marketplace_id": marketplace_id}))
    })
    .collect();
    if !identifiers.is_empty() {
        attributes.values("externally_assigned_product_identifier", identifiers);
    }
    if let Some(mpn) = ids.mpn.as_ref().filter(|_| product_facts) {
        attributes.plain(
            "part_number",
            json!({"value": mpn, "marketplace_id": marketplace_id}),
        );
    }
    attributes.plain(
        "condition_type",
        json!({
            "value": condition_type(product.condition.as_deref())?,
            "marketplace_id": marketplace_id,
        }),
    );
    attributes.plain(
        "purchasable_offer",
        json!({
            "marketplace_id": marketplace_id,
            "currency": product.price.currency,
            "our_price": [{"schedule": [{"value_with_tax": price_value(&product.price.amount)?}]}],
        }),
    );
    if let Some(quantity) = product.quantity {
        attributes.plain(
            "fulfillment_availability",
            json!({"fulfillment_channel_code": MERCHANT_CHANNEL, "quantity": quantity}),
        );
    }
    let mut images = product.images.iter().take(if product_facts {
        MAX_OTHER_IMAGES + 1
    } else {
        0
    });
    if let Some(main) = images.next() {
        attributes.plain(
            "main_product_image_locator",
            json!({"media_location": main, "marketplace_id": marketplace_id}),
        );
    }
    for (index, image) in images.take(MAX_OTHER_IMAGES).enumerate() {
        attributes.plain(
            &format!("other_product_image_locator_{}", index + 1),
            json!({"media_location": image, "marketplace_id": marketplace_id}),
        );
    }
    // Free attributes (color, size, ...) go under the names the attribute
    // map gives them, without overriding what the connector derives from
    // the payload's fields.
    let mut free = Vec::new();
    let mut left_out = Vec::new();
    for (key, value) in &product.attributes {
        match config.attribute_map.get(key) {
            Some(name) if !attributes.map.contains_key(name) => free.push((name, value)),
            _ => left_out.push(key.clone()),
        }
    }
    for (name, value) in free {
        if name == SUGGESTED_ASIN {
            attributes.plain(
                name,
                json!({"value": value, "marketplace_id": marketplace_id}),
            );
        } else {
            attributes.text(name, value);
        }
    }
    for (name, values) in &config.fixed_attributes {
        if !attributes.map.contains_key(name) {
            attributes.values(name, values.as_array().cloned().unwrap_or_default());
        }
    }
    if !product_facts
        && !attributes.map.contains_key(SUGGESTED_ASIN)
        && !attributes
            .map
            .contains_key("externally_assigned_product_identifier")
    {
        return Err(format!(
            "an offer on an existing product (listing_requirements LISTING_OFFER_ONLY) names the \
             product by {SUGGESTED_ASIN} or by a GTIN, UPC, EAN or ISBN; map a store attribute \
             holding the ASIN to {SUGGESTED_ASIN} in setting `attribute_map`, or send identifiers"
        ));
    }
    Ok((attributes.map, left_out))
}

/// The `putListingsItem` body of a complete listing against
/// `requirements`.
pub fn put_body(
    product_type: &str,
    requirements: Requirements,
    attributes: Map<String, Value>,
) -> Value {
    json!({
        "productType": product_type,
        "requirements": requirements.name(),
        "attributes": attributes,
    })
}

/// The `patchListingsItem` body replacing each of `attributes`.
pub fn patch_body(product_type: &str, attributes: Map<String, Value>) -> Value {
    let patches: Vec<Value> = attributes
        .into_iter()
        .map(|(name, value)| {
            json!({"op": "replace", "path": format!("/attributes/{name}"), "value": value})
        })
        .collect();
    json!({"productType": product_type, "patches": patches})
}

/// The attribute setting the merchant-fulfilled quantity.
pub fn availability(quantity: u64) -> Map<String, Value> {
    let mut attributes = Map::new();
    attributes.insert(
        "fulfillment_availability".into(),
        json!([{"fulfillment_channel_code": MERCHANT_CHANNEL, "quantity": quantity}]),
    );
    attributes
}

/// Delivers a `product.updated` event.
pub fn deliver_product(
    context: &InvocationContext,
    config: &Config,
    payload: &str,
) -> DeliveryOutcome {
    let product: ProductUpdated = match ProductUpdated::parse(payload) {
        Ok(product) => product,
        Err(problem) => return DeliveryOutcome::failed(problem),
    };
    let attributes = match product_attributes(&product, config) {
        Ok((attributes, left_out)) => {
            for key in &left_out {
                log::warn(
                    "attribute left out of the listing: setting attribute_map does not map it, \
                     or maps it to an attribute the connector derives",
                    &[("sku", &product.sku), ("attribute", key)],
                );
            }
            attributes
        }
        Err(problem) => {
            return DeliveryOutcome::failed(format!(
                "the product.updated payload cannot be listed on Amazon: {problem}"
            ));
        }
    };
    let (method, operation, body) = if product.quantity.is_some() {
        (
            Method::Put,
            Operation::PutListingsItem,
            put_body(&config.product_type, config.requirements, attributes),
        )
    } else {
        (
            Method::Patch,
            Operation::PatchListingsItem,
            patch_body(&config.product_type, attributes),
        )
    };
    submit(context, config, &product.sku, method, operation, &body)
}

/// Delivers an `inventory.updated` event.
pub fn deliver_inventory(
    context: &InvocationContext,
    config: &Config,
    payload: &str,
) -> DeliveryOutcome {
    let inventory: InventoryUpdated = match InventoryUpdated::parse(payload) {
        Ok(inventory) => inventory,
        Err(problem) => return DeliveryOutcome::failed(problem),
    };
    let body = patch_body(&config.product_type, availability(inventory.quantity));
    submit(
        context,
        config,
        &inventory.sku,
        Method::Patch,
        Operation::PatchListingsItem,
        &body,
    )
}

/// Sends a listing submission and reads Amazon's verdict.
fn submit(
    context: &InvocationContext,
    config: &Config,
    sku: &str,
    method: Method,
    operation: Operation,
    body: &Value,
) -> DeliveryOutcome {
    let subject = format!("the listing of SKU {sku}");
    let attempt = Attempt {
        operation,
        subject: &subject,
        attempt: context.attempt,
        endpoint: &config.endpoint,
    };
    let api = SpApi::new(config);
    let path = item_path(config, sku, SUBMISSION_DATA);
    match api.send(method, &path, Some(body)) {
        Ok(response) if response.is_success() => {
            let verdict = submission_verdict(&response, sku, operation);
            for warning in &verdict.warnings {
                log::warn(
                    "Amazon reported an issue with the listing",
                    &[("sku", sku), ("issue", warning)],
                );
            }
            if matches!(verdict.outcome, DeliveryOutcome::Delivered(_)) {
                log::info(
                    "Amazon accepted the listing",
                    &[
                        ("sku", sku),
                        ("operation", operation.name()),
                        (
                            "submission_id",
                            verdict.submission_id.as_deref().unwrap_or_default(),
                        ),
                    ],
                );
            }
            verdict.outcome
        }
        Ok(response) => {
            let error = AmazonError::from_response(&response);
            outcome::log_refusal(&error, operation);
            outcome::api_failure(&error, &attempt, response.retry_after(context.now_ms))
        }
        Err(error) => outcome::call_failure(&error, &attempt),
    }
}

/// Amazon's answer to a submission.
#[derive(Debug, Deserialize)]
struct Submission {
    status: String,
    #[serde(rename = "submissionId")]
    submission_id: Option<String>,
    #[serde(default)]
    issues: Vec<Issue>,
}

/// An issue Amazon found with a submission.
#[derive(Debug, Deserialize)]
struct Issue {
    code: String,
    message: String,
    severity: String,
    #[serde(default, rename = "attributeNames")]
    attribute_names: Vec<String>,
}

impl Issue {
    /// `90220 'condition_type' is required but not supplied. [condition_type]`.
    fn describe(&self) -> String {
        if self.attribute_names.is_empty() {
            format!("{} {}", self.code, self.message)
        } else {
            format!(
                "{} {} [{}]",
                self.code,
                self.message,
                self.attribute_names.join(", ")
            )
        }
    }
}

/// What a 2xx answer to a submission says.
pub struct Verdict {
    /// The delivery's outcome.
    pub outcome: DeliveryOutcome,
    /// Issues that did not stop the listing, described.
    pub warnings: Vec<String>,
    /// Amazon's id of the submission.
    pub submission_id: Option<String>,
}

/// The verdict on a 2xx answer to a submission of `sku`.
pub fn submission_verdict(response: &Response, sku: &str, operation: Operation) -> Verdict {
    let submission: Submission = match response.json() {
        Ok(submission) => submission,
        Err(error) => {
            let outcome = DeliveryOutcome::retry(
                format!(
                    "Amazon answered {} for SKU {sku} with something other than a submission \
                     result: {error}",
                    operation.name()
                ),
                None,
            )
            .with_remote(RemoteError::http(response.status).with_message(&response.text()));
            return Verdict {
                outcome,
                warnings: Vec::new(),
                submission_id: None,
            };
        }
    };
    let (errors, warnings): (Vec<&Issue>, Vec<&Issue>) = submission
        .issues
        .iter()
        .partition(|issue| issue.severity == "ERROR");
    let outcome = match submission.status.as_str() {
        "ACCEPTED" | "VALID" => DeliveryOutcome::delivered(submission.submission_id.clone()),
        "INVALID" => {
            let listed = if errors.is_empty() {
                &warnings
            } else {
                &errors
            };
            let issues: Vec<String> = listed.iter().map(|issue| issue.describe()).collect();
            let issues = if issues.is_empty() {
                "no issue given".to_owned()
            } else {
                issues.join("; ")
            };
            let code = listed
                .first()
                .map_or("INVALID", |issue| issue.code.as_str());
            let remote = RemoteError::http(response.status)
                .with_code(code)
                .with_message(&issues);
            DeliveryOutcome::failed(format!(
                "Amazon refused the listing of SKU {sku} as INVALID: {issues}"
            ))
            .with_remote(remote)
        }
        other => DeliveryOutcome::retry(
            format!(
                "Amazon answered {} for SKU {sku} with status {other:?}",
                operation.name()
            ),
            None,
        ),
    };
    Verdict {
        warnings: warnings
            .iter()
            .map(|issue| format!("{} {}", issue.severity, issue.describe()))
            .collect(),
        submission_id: submission.submission_id.clone(),
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use sluice_guest::types::PermanentFailure;

    use super::*;

    fn config() -> Config {
        Config {
            seller_id: "A1SELLER".into(),
            marketplace_id: "ATVPDKIKX0DER".into(),
            endpoint: "https://sellingpartnerapi-na.amazon.com".into(),
            product_type: "PRODUCT".into(),
            language_tag: "en_US".into(),
            requirements: Requirements::Listing,
            attribute_map: [("Color", "color"), ("Größe", "size")]
                .into_iter()
                .map(|(key, name)| (key.to_owned(), name.to_owned()))
                .collect(),
            fixed_attributes: Map::new(),
        }
    }

    fn product(json: Value) -> ProductUpdated {
        serde_json::from_value(json).unwrap()
    }

    fn response(body: &str) -> Response {
        Response::new(200, &[], body)
    }

    #[test]
    fn a_full_product_becomes_amazon_attributes() {
        let product = product(json!({
            "sku": "TSHIRT-RED-M",
            "title": "Red T-shirt, medium",
            "description": "100% organic cotton.",
            "brand": "Acme",
            "identifiers": {"gtin": "00012345678905", "mpn": "TS-R-M"},
            "images": ["https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"],
            "price": {"amount": "19.99", "currency": "USD"},
            "condition": "new",
            "quantity": 10,
            "attributes": {"Color": "red"},
        }));
        let (attributes, left_out) = product_attributes(&product, &config()).unwrap();
        assert!(left_out.is_empty());
        let mp = "ATVPDKIKX0DER";
        assert_eq!(
            Value::Object(attributes),
            json!({
                "item_name": [{"value": "Red T-shirt, medium", "language_tag": "en_US", "marketplace_id": mp}],
                "product_description": [{"value": "100% organic cotton.", "language_tag": "en_US", "marketplace_id": mp}],
                "brand": [{"value": "Acme", "language_tag": "en_US", "marketplace_id": mp}],
                "externally_assigned_product_identifier": [{"type": "gtin", "value": "00012345678905", "marketplace_id": mp}],
                "part_number": [{"value": "TS-R-M", "marketplace_id": mp}],
                "condition_type": [{"value": "new_new", "marketplace_id": mp}],
                "purchasable_offer": [{"marketplace_id": mp, "currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 19.99}]}]}],
                "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 10}],
                "main_product_image_locator": [{"media_location": "https://cdn.example.com/a.jpg", "marketplace_id": mp}],
                "other_product_image_locator_1": [{"media_location": "https://cdn.example.com/b.jpg", "marketplace_id": mp}],
                "color": [{"value": "red", "language_tag": "en_US", "marketplace_id": mp}],
            })
        );
    }

    #[test]
    fn conditions_and_prices_are_checked() {
        assert_eq!(condition_type(Some("used")), Ok("used_good"));
        assert!(condition_type(Some("broken")).is_err());
        assert_eq!(price_value("5").unwrap(), json!(5.0));
        assert!(price_value("-1").is_err());
        assert!(price_value("0").is_err());
        assert!(price_value("1e3").is_err());
    }

    #[test]
    fn only_mapped_free_attributes_go_out_and_never_override_derived_ones() {
        let product = product(json!({
            "sku": "S", "title": "T", "price": {"amount": "1.00", "currency": "USD"},
            "attributes": {"item_name": "other", "material": "wool", "Größe": "XL"},
        }));
        let mut config = config();
        config
            .attribute_map
            .insert("item_name".into(), "item_name".into());
        let (attributes, left_out) = product_attributes(&product, &config).unwrap();
        assert_eq!(attributes["item_name"][0]["value"], "T");
        assert_eq!(attributes["size"][0]["value"], "XL");
        assert!(!attributes.contains_key("material") && !attributes.contains_key("gr__e"));
        assert_eq!(left_out, ["item_name", "material"]);
    }

    #[test]
    fn fixed_attributes_fill_what_the_product_type_requires() {
        let mut config = config();
        config.fixed_attributes = profile::parse_fixed_attributes(
            Some(r#"{"country_of_origin": [{"value": "CN"}], "item_name": [{"value": "x"}]}"#),
            "ATVPDKIKX0DER",
        )
        .unwrap();
        let product = product(json!({
            "sku": "S", "title": "T", "price": {"amount": "1.00", "currency": "USD"},
        }));
        let (attributes, _) = product_attributes(&product, &config).unwrap();
        assert_eq!(
            attributes["country_of_origin"],
            json!([{"value": "CN", "marketplace_id": "ATVPDKIKX0DER"}])
        );
        assert_eq!(attributes["item_name"][0]["value"], "T");
    }

    #[test]
    fn offers_on_existing_products_carry_sales_terms_and_the_product_named() {
        let mut config = config();
        config.requirements = Requirements::ListingOfferOnly;
        config
            .attribute_map
            .insert("asin".into(), SUGGESTED_ASIN.into());
        let offer = product(json!({
            "sku": "S", "title": "T", "brand": "B", "price": {"amount": "1.00", "currency": "USD"},
            "images": ["https://cdn.example.com/a.jpg"], "quantity": 2,
            "attributes": {"asin": "B0EXAMPLE1"},
        }));
        let (attributes, _) = product_attributes(&offer, &config).unwrap();
        let names: Vec<&str> = attributes.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "condition_type",
                "fulfillment_availability",
                "merchant_suggested_asin",
                "purchasable_offer"
            ]
        );
        assert_eq!(
            put_body("PRODUCT", config.requirements, attributes)["requirements"],
            "LISTING_OFFER_ONLY"
        );
        let unnamed = product(json!({
            "sku": "S", "title": "T", "price": {"amount": "1.00", "currency": "USD"},
        }));
        let error = product_attributes(&unnamed, &config).unwrap_err();
        assert!(error.contains(SUGGESTED_ASIN), "{error}");
    }

    #[test]
    fn prices_must_be_in_the_marketplaces_currency() {
        let product = product(json!({
            "sku": "S", "title": "T", "price": {"amount": "1.00", "currency": "EUR"},
        }));
        let error = product_attributes(&product, &config()).unwrap_err();
        assert!(
            error.contains("price.currency is EUR") && error.contains("USD"),
            "{error}"
        );
    }

    #[test]
    fn patches_replace_each_attribute() {
        let body = patch_body("PRODUCT", availability(3));
        assert_eq!(
            body,
            json!({"productType": "PRODUCT", "patches": [{
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }]})
        );
    }

    #[test]
    fn item_paths_encode_the_sku() {
        assert_eq!(
            item_path(&config(), "MUG 1/2", SUBMISSION_DATA),
            "/listings/2021-08-01/items/A1SELLER/MUG%201%2F2?marketplaceIds=ATVPDKIKX0DER\
             &includedData=issues&issueLocale=en_US"
        );
    }

    #[test]
    fn an_accepted_submission_is_delivered_with_the_submission_id() {
        let outcome = submission_verdict(
            &response(r#"{"sku":"S","status":"ACCEPTED","submissionId":"f1","issues":[]}"#),
            "S",
            Operation::PutListingsItem,
        )
        .outcome;
        assert!(
            matches!(outcome, DeliveryOutcome::Delivered(ref d) if d.external_id.as_deref() == Some("f1")),
            "{outcome:?}"
        );
    }

    #[test]
    fn an_invalid_submission_fails_with_amazons_issues() {
        let outcome = submission_verdict(
            &response(r#"{"sku":"S","status":"INVALID","submissionId":"f1","issues":[{"code":"90220","message":"'condition_type' is required but not supplied.","severity":"ERROR","attributeNames":["condition_type"],"categories":["MISSING_ATTRIBUTE"]}]}"#),
            "S",
            Operation::PutListingsItem,
        )
        .outcome;
        let DeliveryOutcome::Failed(PermanentFailure { reason, remote }) = outcome else {
            panic!("expected a failure, got {outcome:?}");
        };
        assert_eq!(
            reason,
            "Amazon refused the listing of SKU S as INVALID: 90220 'condition_type' is required \
             but not supplied. [condition_type]"
        );
        let remote = remote.unwrap();
        assert_eq!(remote.status, Some(200));
        assert_eq!(remote.code.as_deref(), Some("90220"));
    }
}
