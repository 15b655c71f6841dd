//! The shipped eBay connector, run in the real host runtime against the
//! fake eBay over TLS: the requests each event makes (the host's token
//! exchange, inventory item, offer created and published once, bulk price
//! and quantity updates, shipping fulfillments), how eBay's answers map to
//! outcomes, the host's token caching and renewal and how its failures
//! reach the outcome, that the component holds no credential, the
//! connection check, and order sync across batches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sluice_core::clock::format_rfc3339;
use sluice_core::{Clock, ManualClock, UnixMillis};
use sluice_egress::EgressRecord;
use sluice_manifest::{AuthScheme, ClientAuth};
use sluice_runtime::types::{
    CheckStatus, ConnectionCheck, DeliveryOutcome, Event, SyncBatch, SyncError, SyncRequest,
};
use sluice_runtime::{
    CallContext, Invocation, LoadedConnector, MemoryInspector, MemoryState, Runtime,
};
use sluice_tests::TestCa;
use sluice_tests::fakes::ebay::{
    EbayCall, EbayChange, EbayError, EbayOptions, EbayOrderSeed, EbaySeller, ErrorDetail, FakeEbay,
    PaymentStatus, SCOPE_FULFILLMENT, SCOPE_INVENTORY, SellApi, TokenError,
};
use sluice_tests::guests::guest;
use sluice_tests::recorder::RecordedRequest;
use sluice_tests::sandbox::{
    assert_no_secret_in_guest_memory, call_context, delivered, event, failed, inspected_runtime,
    retry,
};

const SKU: &str = "TSHIRT-RED-M";
const CATEGORY_ID: &str = "15687";
const SCOPES: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory https://api.ebay.com/oauth/api_scope/sell.fulfillment";
const TOKEN_PATH: &str = "/identity/v1/oauth2/token";
const ITEM_PATH: &str = "/sell/inventory/v1/inventory_item/TSHIRT-RED-M";
const OFFER_PATH: &str = "/sell/inventory/v1/offer";
const BULK_PATH: &str = "/sell/inventory/v1/bulk_update_price_quantity";
const ORDERS_PATH: &str = "/sell/fulfillment/v1/order";
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A configuration's settings and credentials.
#[derive(Clone)]
struct Config {
    settings: BTreeMap<String, String>,
    credentials: BTreeMap<String, String>,
}

impl Config {
    fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    fn without_setting(mut self, key: &str) -> Self {
        self.settings.remove(key);
        self
    }

    fn credential(mut self, key: &str, value: &str) -> Self {
        self.credentials.insert(key.into(), value.into());
        self
    }

    fn without_credential(mut self, key: &str) -> Self {
        self.credentials.remove(key);
        self
    }
}

struct Harness {
    ebay: FakeEbay,
    runtime: Runtime,
    /// Every linear memory the connector's instances had.
    memory: Arc<MemoryInspector>,
    connector: Arc<LoadedConnector>,
    clock: Arc<ManualClock>,
    /// The configuration's state, shared by every call unless a test
    /// passes another.
    state: MemoryState,
    seller: EbaySeller,
    _ca: TestCa,
}

impl Harness {
    async fn start() -> Self {
        Self::with_options(EbayOptions::unthrottled()).await
    }

    async fn with_options(options: EbayOptions) -> Self {
        let ca = TestCa::new().unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let ebay = FakeEbay::start(
            &ca,
            EbayOptions {
                clock: clock.clone(),
                ..options
            },
        )
        .await
        .unwrap();
        let (runtime, memory) = inspected_runtime(&ca, ebay.egress_overrides());
        let (manifest, bytes) = guest("connectors/ebay");
        let connector = runtime.load(manifest, bytes).await.unwrap();
        let seller = ebay.onboard_seller();
        Self {
            ebay,
            runtime,
            memory,
            connector,
            clock,
            state: MemoryState::default(),
            seller,
            _ca: ca,
        }
    }

    /// Everything the connector needs for the fake's seller.
    fn config(&self) -> Config {
        let policies = &self.seller.policies;
        let pairs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Config {
            settings: pairs(&[
                ("environment", "production"),
                ("marketplace_id", "EBAY_US"),
                ("content_language", "en-US"),
                ("merchant_location_key", &self.seller.merchant_location_key),
                ("category_id", CATEGORY_ID),
                ("fulfillment_policy_id", &policies.fulfillment_policy_id),
                ("payment_policy_id", &policies.payment_policy_id),
                ("return_policy_id", &policies.return_policy_id),
            ]),
            credentials: pairs(&[
                ("client_id", &self.seller.app.client_id),
                ("client_secret", &self.seller.app.client_secret),
                ("refresh_token", &self.seller.refresh_token),
            ]),
        }
    }

    fn context(&self, config: &Config, state: &MemoryState) -> CallContext {
        let settings: Vec<(&str, &str)> = config
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let credentials: Vec<(&str, &str)> = config
            .credentials
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        call_context(&settings, &credentials, state, self.clock.clone())
    }

    async fn deliver(&self, event: Event) -> Invocation<DeliveryOutcome> {
        self.deliver_with(&self.config(), &self.state, event).await
    }

    async fn deliver_with(
        &self,
        config: &Config,
        state: &MemoryState,
        event: Event,
    ) -> Invocation<DeliveryOutcome> {
        let context = self.context(config, state);
        self.runtime.deliver(&self.connector, context, event).await
    }

    /// Delivers `event` and returns the outcome and the requests the fake
    /// received meanwhile.
    async fn deliver_and_record(
        &self,
        event: Event,
    ) -> (Invocation<DeliveryOutcome>, Vec<RecordedRequest>) {
        let before = self.ebay.recorder().len();
        let invocation = self.deliver(event).await;
        (invocation, self.requests_since(before))
    }

    async fn check(&self, config: &Config) -> (ConnectionCheck, Vec<RecordedRequest>) {
        let before = self.ebay.recorder().len();
        let context = self.context(config, &self.state);
        let invocation = self.runtime.test_connection(&self.connector, context).await;
        let check = invocation
            .result
            .unwrap_or_else(|failure| panic!("the check did not finish: {failure:?}"));
        (check, self.requests_since(before))
    }

    async fn sync(&self, cursor: Option<String>, max_records: u32) -> Result<SyncBatch, SyncError> {
        self.sync_entity("orders", cursor, max_records).await
    }

    async fn sync_entity(
        &self,
        entity: &str,
        cursor: Option<String>,
        max_records: u32,
    ) -> Result<SyncBatch, SyncError> {
        let mut context = self.context(&self.config(), &self.state);
        context.delivery_id = None;
        context.attempt = 0;
        let request = SyncRequest {
            entity: entity.into(),
            cursor,
            max_records,
        };
        let invocation = self.runtime.sync(&self.connector, context, request).await;
        invocation
            .result
            .unwrap_or_else(|failure| panic!("the sync did not finish: {failure:?}"))
    }

    fn requests_since(&self, before: usize) -> Vec<RecordedRequest> {
        self.ebay.recorder().requests().split_off(before)
    }

    fn now(&self) -> UnixMillis {
        self.clock.now_ms()
    }

    /// The offer kept in `state` for `sku`.
    fn kept_offer(&self, state: &MemoryState, sku: &str) -> Option<Value> {
        state
            .snapshot(self.now())
            .get(&format!("offer:EBAY_US:{sku}"))
            .map(|(value, _)| serde_json::from_slice(value).unwrap())
    }

    fn token_requests(&self) -> usize {
        self.ebay
            .recorder()
            .requests()
            .iter()
            .filter(|request| request.path == TOKEN_PATH)
            .count()
    }

    /// Lists the sample product (quantity 10) and returns its offer id and
    /// listing id.
    async fn list_product(&self) -> (String, String) {
        let invocation = self.deliver(product_updated(product())).await;
        let listing_id = delivered(&invocation).external_id.clone().unwrap();
        let offer = self.kept_offer(&self.state, SKU).unwrap();
        (offer["offer_id"].as_str().unwrap().to_owned(), listing_id)
    }

    /// An order with two lines, created an hour ago.
    fn seed_order(&self) -> String {
        self.ebay.seed_order(
            EbayOrderSeed::new(self.now() - HOUR_MS)
                .line_item("MUG-1", 2, "19.99")
                .line_item(SKU, 1, "5.00"),
        )
    }
}

fn product() -> Value {
    json!({
        "sku": SKU,
        "title": "Red T-shirt, medium",
        "description": "100% organic cotton.",
        "brand": "Acme",
        "identifiers": { "gtin": "00012345678905", "upc": "012345678905", "mpn": "TS-R-M" },
        "images": ["https://cdn.example.com/tshirt-red.jpg"],
        "price": { "amount": "19.99", "currency": "USD" },
        "condition": "new",
        "quantity": 10,
        "link": "https://shop.example.com/p/tshirt-red-m",
        "attributes": { "color": "red", "size": "M" }
    })
}

fn product_updated(payload: Value) -> Event {
    event("product.updated", &payload.to_string())
}

fn inventory_updated(sku: &str, quantity: u32) -> Event {
    event(
        "inventory.updated",
        &json!({"sku": sku, "quantity": quantity, "location": "main-warehouse"}).to_string(),
    )
}

fn order_fulfilled(order_id: &str, line_item_ids: &[&str], carrier: &str, tracking: &str) -> Event {
    let line_items: Vec<Value> = line_item_ids
        .iter()
        .map(|id| json!({"line_item_id": id, "quantity": 1}))
        .collect();
    event(
        "order.fulfilled",
        &json!({
            "marketplace": "ebay",
            "order_id": order_id,
            "line_items": line_items,
            "carrier": carrier,
            "service": "UPS Ground",
            "tracking_number": tracking,
            "shipped_at": "2026-11-22T10:00:00+01:00",
        })
        .to_string(),
    )
}

/// `METHOD /path` of each request.
fn lines(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|request| format!("{} {}", request.method, request.path))
        .collect()
}

fn query(request: &RecordedRequest) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(request.query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn bearer(request: &RecordedRequest) -> &str {
    request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("no bearer token on {} {}", request.method, request.path))
}

/// Asserts a token request as eBay wants it: Basic client authentication
/// and the refresh-token grant for both scopes.
fn assert_token_request(request: &RecordedRequest, seller: &EbaySeller) {
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", TOKEN_PATH)
    );
    assert_eq!(request.host, "api.ebay.com");
    let basic = STANDARD.encode(format!(
        "{}:{}",
        seller.app.client_id, seller.app.client_secret
    ));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    assert_eq!(
        form,
        BTreeMap::from([
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), seller.refresh_token.clone()),
            ("scope".to_owned(), SCOPES.to_owned()),
        ])
    );
}

/// Asserts a JSON write with `Content-Language: en-US`.
fn assert_json_write(request: &RecordedRequest, expected: &Value) {
    assert!(
        request
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "{:?}",
        request.headers
    );
    assert_eq!(request.header("content-language"), Some("en-US"));
    assert_eq!(&request.json().unwrap(), expected);
}

fn expected_item(quantity: u32) -> Value {
    json!({
        "availability": {"shipToLocationAvailability": {"quantity": quantity}},
        "condition": "NEW",
        "product": {
            "title": "Red T-shirt, medium",
            "description": "100% organic cotton.",
            "aspects": {"Brand": ["Acme"], "Color": ["red"], "Size": ["M"]},
            "brand": "Acme",
            "mpn": "TS-R-M",
            "upc": ["012345678905"],
            "imageUrls": ["https://cdn.example.com/tshirt-red.jpg"],
        },
    })
}

fn inventory_error(error_id: u32, message: &str) -> EbayError {
    EbayError::bad_request(ErrorDetail::request(SellApi::Inventory, error_id, message))
}

mod product_updated {
    use super::*;

    #[tokio::test]
    async fn the_first_delivery_puts_the_item_then_creates_and_publishes_the_offer() {
        let harness = Harness::start().await;

        let (invocation, sent) = harness.deliver_and_record(product_updated(product())).await;

        let listing_id = delivered(&invocation)
            .external_id
            .clone()
            .expect("a listing id");
        assert_eq!(
            lines(&sent),
            [
                format!("POST {TOKEN_PATH}"),
                format!("PUT {ITEM_PATH}"),
                format!("POST {OFFER_PATH}"),
                format!(
                    "POST {OFFER_PATH}/{}/publish",
                    harness.ebay.offers(SKU)[0].offer_id
                ),
            ]
        );
        assert_token_request(&sent[0], &harness.seller);
        let token = bearer(&sent[1]).to_owned();
        assert!(sent[1..].iter().all(|request| bearer(request) == token));
        assert_json_write(&sent[1], &expected_item(10));
        let policies = &harness.seller.policies;
        assert_json_write(
            &sent[2],
            &json!({
                "sku": SKU,
                "marketplaceId": "EBAY_US",
                "format": "FIXED_PRICE",
                "listingDuration": "GTC",
                "availableQuantity": 10,
                "categoryId": CATEGORY_ID,
                "pricingSummary": {"price": {"value": "19.99", "currency": "USD"}},
                "listingPolicies": {
                    "fulfillmentPolicyId": policies.fulfillment_policy_id,
                    "paymentPolicyId": policies.payment_policy_id,
                    "returnPolicyId": policies.return_policy_id,
                },
                "merchantLocationKey": harness.seller.merchant_location_key,
            }),
        );
        assert!(sent[3].body.is_empty());

        let item = harness.ebay.inventory_item(SKU).unwrap();
        assert_eq!((item.locale.as_str(), item.quantity()), ("en_US", Some(10)));
        let offers = harness.ebay.offers(SKU);
        let [offer] = offers.as_slice() else {
            panic!("expected one offer, got {offers:?}");
        };
        assert_eq!(offer.listing_id.as_deref(), Some(listing_id.as_str()));
        assert_eq!(
            harness.kept_offer(&harness.state, SKU),
            Some(json!({"offer_id": offer.offer_id, "listing_id": listing_id}))
        );
        assert!(matches!(
            harness.ebay.changes().as_slice(),
            [
                EbayChange::InventoryItemPut(_),
                EbayChange::OfferCreated(_),
                EbayChange::OfferPublished(_)
            ]
        ));
        let egress: Vec<(&str, &str, Option<u16>)> = invocation
            .report
            .egress
            .iter()
            .map(|record| {
                (
                    record.method.as_str(),
                    record.origin.as_str(),
                    record.status,
                )
            })
            .collect();
        assert_eq!(
            egress,
            [
                ("POST", "https://api.ebay.com:443", Some(200)),
                ("PUT", "https://api.ebay.com:443", Some(204)),
                ("POST", "https://api.ebay.com:443", Some(201)),
                ("POST", "https://api.ebay.com:443", Some(200)),
            ]
        );
    }

    #[tokio::test]
    async fn later_deliveries_update_the_kept_offer_without_creating_another() {
        let harness = Harness::start().await;
        let (offer_id, listing_id) = harness.list_product().await;

        let mut changed = product();
        changed["price"] = json!({"amount": "17.50", "currency": "USD"});
        changed["quantity"] = json!(7);
        let (invocation, sent) = harness.deliver_and_record(product_updated(changed)).await;

        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(listing_id.as_str())
        );
        assert_eq!(
            lines(&sent),
            [format!("PUT {ITEM_PATH}"), format!("POST {BULK_PATH}")]
        );
        assert_json_write(&sent[0], &expected_item(7));
        assert_json_write(
            &sent[1],
            &json!({"requests": [{
                "sku": SKU,
                "offers": [{"offerId": offer_id, "availableQuantity": 7,
                            "price": {"value": "17.50", "currency": "USD"}}],
            }]}),
        );
        let offers = harness.ebay.offers(SKU);
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].price.as_ref().unwrap().value, "17.50");
        assert_eq!(offers[0].available_quantity, Some(7));
        assert_eq!(
            harness.ebay.inventory_item(SKU).unwrap().quantity(),
            Some(7)
        );
    }

    #[tokio::test]
    async fn without_a_quantity_the_items_availability_is_read_and_kept() {
        let harness = Harness::start().await;
        harness.list_product().await;

        let mut no_quantity = product();
        no_quantity.as_object_mut().unwrap().remove("quantity");
        let (invocation, sent) = harness
            .deliver_and_record(product_updated(no_quantity))
            .await;

        delivered(&invocation);
        assert_eq!(
            lines(&sent),
            [
                format!("GET {ITEM_PATH}"),
                format!("PUT {ITEM_PATH}"),
                format!("POST {BULK_PATH}")
            ]
        );
        assert_eq!(
            sent[1].json().unwrap()["availability"],
            json!({"shipToLocationAvailability": {"quantity": 10}})
        );
        assert_eq!(
            harness.ebay.inventory_item(SKU).unwrap().quantity(),
            Some(10)
        );
        let bulk = sent[2].json().unwrap();
        assert!(
            bulk["requests"][0]["offers"][0]
                .get("availableQuantity")
                .is_none(),
            "{bulk}"
        );
    }

    #[tokio::test]
    async fn an_offer_ebay_already_has_is_adopted_and_published() {
        let harness = Harness::start().await;
        let (offer_id, listing_id) = harness.list_product().await;
        // State that knows nothing of the offer. The host still holds the
        // configuration's access token: tokens are not kept in state.
        let forgetful = MemoryState::default();

        let before = harness.ebay.recorder().len();
        let invocation = harness
            .deliver_with(&harness.config(), &forgetful, product_updated(product()))
            .await;
        let sent = harness.requests_since(before);

        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(listing_id.as_str())
        );
        assert_eq!(
            lines(&sent),
            [
                format!("PUT {ITEM_PATH}"),
                format!("POST {OFFER_PATH}"),
                format!("POST {BULK_PATH}"),
                format!("POST {OFFER_PATH}/{offer_id}/publish"),
            ]
        );
        assert_eq!(harness.ebay.offers(SKU).len(), 1);
        assert_eq!(
            harness.kept_offer(&forgetful, SKU),
            Some(json!({"offer_id": offer_id, "listing_id": listing_id}))
        );
    }

    #[tokio::test]
    async fn an_offer_ebay_no_longer_knows_is_created_again() {
        let harness = Harness::start().await;
        let stale = MemoryState::from_entries(BTreeMap::from([(
            format!("offer:EBAY_US:{SKU}"),
            (
                br#"{"offer_id":"1000000001","listing_id":"110000000001"}"#.to_vec(),
                None,
            ),
        )]));

        let before = harness.ebay.recorder().len();
        let invocation = harness
            .deliver_with(&harness.config(), &stale, product_updated(product()))
            .await;
        let sent = harness.requests_since(before);

        let listing_id = delivered(&invocation).external_id.clone().unwrap();
        let offer = harness.ebay.offers(SKU)[0].clone();
        assert_eq!(
            lines(&sent),
            [
                format!("POST {TOKEN_PATH}"),
                format!("PUT {ITEM_PATH}"),
                format!("POST {BULK_PATH}"),
                format!("POST {OFFER_PATH}"),
                format!("POST {OFFER_PATH}/{}/publish", offer.offer_id),
            ]
        );
        assert_eq!(offer.listing_id.as_deref(), Some(listing_id.as_str()));
        assert_eq!(
            harness.kept_offer(&stale, SKU),
            Some(json!({"offer_id": offer.offer_id, "listing_id": listing_id}))
        );
    }

    #[tokio::test]
    async fn missing_listing_settings_fail_before_anything_is_sent() {
        let harness = Harness::start().await;
        let config = harness
            .config()
            .without_setting("category_id")
            .without_setting("return_policy_id");

        let invocation = harness
            .deliver_with(&config, &harness.state, product_updated(product()))
            .await;

        let failure = failed(&invocation);
        assert_eq!(
            failure.reason,
            "cannot list SKU TSHIRT-RED-M on eBay: settings `category_id` and `return_policy_id` are not set; eBay needs them to create the offer"
        );
        assert!(harness.ebay.recorder().is_empty());
    }

    #[tokio::test]
    async fn a_publish_ebay_refuses_fails_with_its_error_ids_and_keeps_the_offer() {
        let harness = Harness::start().await;
        let config = harness
            .config()
            .setting("fulfillment_policy_id", "999999999999")
            .setting("merchant_location_key", "nowhere");

        let invocation = harness
            .deliver_with(&config, &harness.state, product_updated(product()))
            .await;

        let failure = failed(&invocation);
        let offer_id = harness.ebay.offers(SKU)[0].offer_id.clone();
        assert!(
            failure.reason.starts_with(&format!(
                "eBay refused to publish offer {offer_id} of SKU {SKU}: 25007: The fulfillment policy is missing or unknown."
            )),
            "{}",
            failure.reason
        );
        assert!(
            failure
                .reason
                .contains("; 25012: Invalid inventory location."),
            "{}",
            failure.reason
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(400), Some("25007"))
        );
        assert_eq!(
            harness.kept_offer(&harness.state, SKU),
            Some(json!({"offer_id": offer_id}))
        );

        // The offer is not created again: the next delivery updates and
        // publishes the kept one.
        let before = harness.ebay.recorder().len();
        let again = harness
            .deliver_with(&config, &harness.state, product_updated(product()))
            .await;
        failed(&again);
        assert_eq!(
            lines(&harness.requests_since(before)),
            [
                format!("PUT {ITEM_PATH}"),
                format!("POST {BULK_PATH}"),
                format!("POST {OFFER_PATH}/{offer_id}/publish"),
            ]
        );
        assert_eq!(harness.ebay.offers(SKU).len(), 1);
    }

    #[tokio::test]
    async fn an_item_ebay_refuses_fails_with_its_error_id_and_message() {
        let harness = Harness::start().await;
        // A refusal the connector cannot foresee (the SKU passes eBay's
        // published rule), as eBay words it.
        harness.ebay.fail_calls(
            EbayCall::PutInventoryItem,
            EbayError::bad_request(
                ErrorDetail::request(
                    SellApi::Inventory,
                    25707,
                    "This is an invalid value for a SKU.",
                )
                .parameter("sku", SKU),
            ),
            1,
        );

        let (invocation, sent) = harness.deliver_and_record(product_updated(product())).await;

        assert_eq!(
            lines(&sent),
            [format!("POST {TOKEN_PATH}"), format!("PUT {ITEM_PATH}")]
        );
        let failure = failed(&invocation);
        assert!(
            failure.reason.starts_with(&format!(
                "eBay refused to create or replace inventory item {SKU}: 25707: This is an invalid value for a SKU."
            )),
            "{}",
            failure.reason
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(400), Some("25707"))
        );
        assert!(
            remote
                .message
                .as_deref()
                .unwrap()
                .contains(&format!("[sku={SKU}]"))
        );
    }

    #[tokio::test]
    async fn titles_longer_than_80_characters_are_cut_at_a_word() {
        let harness = Harness::start().await;
        let long = "Organic cotton crew-neck T-shirt in bright red, medium, with reinforced seams and a tagless collar";
        let mut payload = product();
        payload["title"] = json!(long);

        let invocation = harness.deliver(product_updated(payload)).await;

        delivered(&invocation);
        let title = harness
            .ebay
            .inventory_item(SKU)
            .unwrap()
            .title()
            .unwrap()
            .to_owned();
        assert_eq!(
            title,
            "Organic cotton crew-neck T-shirt in bright red, medium, with reinforced seams"
        );
        assert!(title.chars().count() <= 80);
    }

    #[tokio::test]
    async fn throttling_and_ebay_failures_are_retried() {
        let harness = Harness::start().await;
        harness.ebay.fail_calls(
            EbayCall::PutInventoryItem,
            EbayError::too_many_requests(),
            1,
        );
        let throttled = harness.deliver(product_updated(product())).await;
        let retry_later = retry(&throttled);
        assert!(
            retry_later.reason.contains("throttling"),
            "{}",
            retry_later.reason
        );
        let remote = retry_later.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(429), Some("2001"))
        );

        harness.ebay.fail_calls(
            EbayCall::CreateOffer,
            EbayError::system_error(SellApi::Inventory),
            1,
        );
        let failing = harness.deliver(product_updated(product())).await;
        let remote = retry(&failing).remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(500), Some("25001"))
        );
        assert!(harness.ebay.offers(SKU).is_empty());

        // The next attempt goes through.
        delivered(&harness.deliver(product_updated(product())).await);
        assert_eq!(harness.ebay.offers(SKU).len(), 1);
    }
}

mod inventory_updated {
    use super::*;

    #[tokio::test]
    async fn the_quantity_goes_to_the_item_and_the_kept_offer() {
        let harness = Harness::start().await;
        let (offer_id, _) = harness.list_product().await;

        let (invocation, sent) = harness.deliver_and_record(inventory_updated(SKU, 4)).await;

        assert_eq!(delivered(&invocation).external_id, None);
        assert_eq!(lines(&sent), [format!("POST {BULK_PATH}")]);
        assert_json_write(
            &sent[0],
            &json!({"requests": [{
                "sku": SKU,
                "shipToLocationAvailability": {"quantity": 4},
                "offers": [{"offerId": offer_id, "availableQuantity": 4}],
            }]}),
        );
        assert_eq!(
            harness.ebay.inventory_item(SKU).unwrap().quantity(),
            Some(4)
        );
        assert_eq!(harness.ebay.offers(SKU)[0].available_quantity, Some(4));
    }

    #[tokio::test]
    async fn without_a_kept_offer_only_the_item_is_updated() {
        let harness = Harness::start().await;
        harness.list_product().await;
        let no_offer_kept = MemoryState::default();

        let before = harness.ebay.recorder().len();
        let invocation = harness
            .deliver_with(&harness.config(), &no_offer_kept, inventory_updated(SKU, 0))
            .await;
        let sent = harness.requests_since(before);

        delivered(&invocation);
        assert_eq!(lines(&sent), [format!("POST {BULK_PATH}")]);
        assert_json_write(
            &sent[0],
            &json!({"requests": [{"sku": SKU, "shipToLocationAvailability": {"quantity": 0}}]}),
        );
        assert_eq!(
            harness.ebay.inventory_item(SKU).unwrap().quantity(),
            Some(0)
        );
    }

    #[tokio::test]
    async fn a_207_for_an_unknown_sku_is_retried_with_ebays_error() {
        let harness = Harness::start().await;

        let invocation = harness.deliver(inventory_updated("GHOST-1", 3)).await;

        let retry_later = retry(&invocation);
        assert_eq!(
            retry_later.reason,
            "eBay did not update the price and quantity of SKU GHOST-1 in full: SKU GHOST-1: HTTP 404, 25702: GHOST-1 could not be found or is not available in the system. [sku=GHOST-1]"
        );
        let remote = retry_later.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(207), Some("25702"))
        );
    }

    #[tokio::test]
    async fn a_207_refusing_the_offer_fails_permanently_though_the_item_was_updated() {
        let harness = Harness::start().await;
        let (mug_offer, _) = harness.list_product().await;
        let mut cup = product();
        cup["sku"] = json!("CUP-1");
        delivered(&harness.deliver(product_updated(cup)).await);
        // A state that names the T-shirt's offer for the cup.
        let crossed = MemoryState::from_entries(BTreeMap::from([(
            "offer:EBAY_US:CUP-1".to_owned(),
            (
                json!({"offer_id": mug_offer}).to_string().into_bytes(),
                None,
            ),
        )]));

        let invocation = harness
            .deliver_with(&harness.config(), &crossed, inventory_updated("CUP-1", 2))
            .await;

        let failure = failed(&invocation);
        assert_eq!(
            failure.reason,
            format!(
                "eBay refused part of the call to update the price and quantity of SKU CUP-1: offer {mug_offer} of CUP-1: HTTP 400, 25002: A user error has occurred. Offer {mug_offer} is not an offer of SKU CUP-1."
            )
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(207), Some("25002"))
        );
        // What passed was applied: the cup's quantity, not the T-shirt's offer.
        assert_eq!(
            harness.ebay.inventory_item("CUP-1").unwrap().quantity(),
            Some(2)
        );
        assert_eq!(harness.ebay.offers(SKU)[0].available_quantity, Some(10));
    }

    #[tokio::test]
    async fn an_offer_ebay_no_longer_knows_is_forgotten_and_the_item_updated_alone() {
        let harness = Harness::start().await;
        harness.list_product().await;
        let stale = MemoryState::from_entries(BTreeMap::from([(
            format!("offer:EBAY_US:{SKU}"),
            (br#"{"offer_id":"1000000001"}"#.to_vec(), None),
        )]));

        let before = harness.ebay.recorder().len();
        let invocation = harness
            .deliver_with(&harness.config(), &stale, inventory_updated(SKU, 6))
            .await;
        let sent = harness.requests_since(before);

        delivered(&invocation);
        assert_eq!(
            lines(&sent),
            [format!("POST {BULK_PATH}"), format!("POST {BULK_PATH}")]
        );
        assert_eq!(
            sent[0].json().unwrap()["requests"][0]["offers"][0]["offerId"],
            "1000000001"
        );
        assert_json_write(
            &sent[1],
            &json!({"requests": [{"sku": SKU, "shipToLocationAvailability": {"quantity": 6}}]}),
        );
        assert_eq!(harness.kept_offer(&stale, SKU), None);
        assert_eq!(
            harness.ebay.inventory_item(SKU).unwrap().quantity(),
            Some(6)
        );
    }

    #[tokio::test]
    async fn a_refused_call_fails_and_a_failing_one_retries() {
        let harness = Harness::start().await;
        harness.list_product().await;
        harness.ebay.fail_calls(
            EbayCall::BulkUpdatePriceQuantity,
            inventory_error(25709, "Invalid value for requests."),
            1,
        );
        let failure = failed(&harness.deliver(inventory_updated(SKU, 1)).await).clone();
        assert_eq!(
            failure.reason,
            "eBay refused to update the price and quantity of SKU TSHIRT-RED-M: 25709: Invalid value for requests."
        );
        assert_eq!(failure.remote.unwrap().code.as_deref(), Some("25709"));

        harness.ebay.fail_calls(
            EbayCall::BulkUpdatePriceQuantity,
            EbayError::system_error(SellApi::Inventory),
            1,
        );
        retry(&harness.deliver(inventory_updated(SKU, 1)).await);
        harness
            .ebay
            .fail_calls(EbayCall::AnyInventory, EbayError::too_many_requests(), 1);
        retry(&harness.deliver(inventory_updated(SKU, 1)).await);
    }
}

mod order_fulfilled {
    use super::*;

    #[tokio::test]
    async fn a_shipment_becomes_a_shipping_fulfillment_named_by_its_location() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();

        let (invocation, sent) = harness
            .deliver_and_record(order_fulfilled(
                &order_id,
                &[&line],
                "UPS",
                "1Z 999 AA1 0123 4567 84",
            ))
            .await;

        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some("1Z999AA10123456784")
        );
        let path = format!("{ORDERS_PATH}/{order_id}/shipping_fulfillment");
        assert_eq!(
            lines(&sent),
            [format!("POST {TOKEN_PATH}"), format!("POST {path}")]
        );
        assert_eq!(
            sent[1].json().unwrap(),
            json!({
                "lineItems": [{"lineItemId": line, "quantity": 1}],
                "shippedDate": "2026-11-22T09:00:00.000Z",
                "shippingCarrierCode": "UPS",
                "trackingNumber": "1Z999AA10123456784",
            })
        );
        let order = harness.ebay.order(&order_id).unwrap();
        assert_eq!(order.fulfillments.len(), 1);
        assert_eq!(
            order.fulfillments[0].shipping_carrier_code.as_deref(),
            Some("UPS")
        );
        assert!(order.line_items[0].fulfilled && !order.line_items[1].fulfilled);
    }

    #[tokio::test]
    async fn other_marketplaces_orders_are_acknowledged_without_a_call() {
        let harness = Harness::start().await;
        let mut payload: Value = serde_json::from_str(
            &order_fulfilled("902-3159896-1390916", &["79039765272157"], "UPS", "1Z1").payload,
        )
        .unwrap();
        payload["marketplace"] = json!("amazon");

        let invocation = harness
            .deliver(event("order.fulfilled", &payload.to_string()))
            .await;

        assert_eq!(delivered(&invocation).external_id, None);
        assert!(harness.ebay.recorder().is_empty());
        assert!(invocation.report.egress.is_empty());
    }

    #[tokio::test]
    async fn ebays_refusals_fail_with_its_error_ids() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();
        let cases = [
            (
                order_fulfilled("99-99999-99999", &[&line], "UPS", "1Z1"),
                "32100",
                "Invalid order Id",
            ),
            (
                order_fulfilled(&order_id, &["10000000000000"], "UPS", "1Z1"),
                "32200",
                "Invalid line item id",
            ),
            (
                order_fulfilled(&order_id, &[&line, &line], "UPS", "1Z1"),
                "32210",
                "Duplicate line item id",
            ),
        ];
        for (event, code, message) in cases {
            let invocation = harness.deliver(event).await;
            let failure = failed(&invocation);
            assert!(
                failure.reason.contains(&format!("{code}: {message}")),
                "{code}: {}",
                failure.reason
            );
            let remote = failure.remote.as_ref().unwrap();
            assert_eq!(
                (remote.status, remote.code.as_deref()),
                (Some(400), Some(code))
            );
        }
        harness.ebay.fail_calls(
            EbayCall::CreateShippingFulfillment,
            EbayError::bad_request(ErrorDetail::request(
                SellApi::Fulfillment,
                32500,
                "Invalid shipped date",
            )),
            1,
        );
        let invocation = harness
            .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1Z1"))
            .await;
        assert_eq!(
            failed(&invocation).reason,
            format!(
                "eBay refused to create the shipping fulfillment for order {order_id}: 32500: Invalid shipped date"
            )
        );
        assert!(
            harness
                .ebay
                .order(&order_id)
                .unwrap()
                .fulfillments
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_shipment_ebay_already_has_is_delivered_again_after_a_409() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[1]
            .line_item_id
            .clone();
        let shipment = order_fulfilled(&order_id, &[&line], "USPS", "9400111899223100012345");
        delivered(&harness.deliver(shipment.clone()).await);

        let (invocation, sent) = harness.deliver_and_record(shipment).await;

        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some("9400111899223100012345")
        );
        assert_eq!(
            lines(&sent),
            [
                format!("POST {ORDERS_PATH}/{order_id}/shipping_fulfillment"),
                format!("GET {ORDERS_PATH}"),
            ]
        );
        assert_eq!(
            query(&sent[1]),
            BTreeMap::from([("orderIds".to_owned(), order_id.clone())])
        );
        assert_eq!(invocation.report.egress[0].status, Some(409));
        assert_eq!(harness.ebay.order(&order_id).unwrap().fulfillments.len(), 1);
    }

    #[tokio::test]
    async fn items_shipped_in_another_package_fail_with_the_409() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();
        delivered(
            &harness
                .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1ZAAA"))
                .await,
        );

        let invocation = harness
            .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1ZBBB"))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure.reason.starts_with(&format!(
                "eBay says the line items of order {order_id} are already fulfilled by another shipment: 32600: Invalid input data"
            )),
            "{}",
            failure.reason
        );
        assert_eq!(failure.remote.as_ref().unwrap().status, Some(409));
    }

    #[tokio::test]
    async fn fulfillment_api_failures_are_retried() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();
        harness.ebay.fail_calls(
            EbayCall::CreateShippingFulfillment,
            EbayError::system_error(SellApi::Fulfillment),
            1,
        );

        let invocation = harness
            .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1Z1"))
            .await;

        let remote = retry(&invocation).remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(500), Some("30500"))
        );
        delivered(
            &harness
                .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1Z1"))
                .await,
        );
    }
}

/// The host holds the credentials and the access token; the connector only
/// names the credential on each call.
mod tokens {
    use super::*;

    /// The host's token exchanges among a call's egress records.
    fn exchanges<T>(invocation: &Invocation<T>) -> Vec<&EgressRecord> {
        invocation
            .report
            .egress
            .iter()
            .filter(|record| record.token_exchange)
            .collect()
    }

    /// `METHOD /path -> status` of each egress record of a call, the
    /// host's exchanges marked.
    fn egress<T>(invocation: &Invocation<T>) -> Vec<String> {
        invocation
            .report
            .egress
            .iter()
            .map(|record| {
                format!(
                    "{}{} {} -> {}",
                    if record.token_exchange { "(host) " } else { "" },
                    record.method,
                    record.path,
                    record.status.map_or("none".to_owned(), |s| s.to_string())
                )
            })
            .collect()
    }

    /// Expires every access token eBay issued so far, as if eBay had
    /// revoked them: the Sell APIs answer 401 errorId 1001 to them.
    fn expire_issued_tokens(harness: &Harness) {
        for token in harness.ebay.access_tokens() {
            harness.ebay.expire_access_token(&token.token);
        }
    }

    #[tokio::test]
    async fn one_token_exchange_serves_a_burst_of_deliveries() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();

        let invocations = [
            harness.deliver(product_updated(product())).await,
            harness.deliver(inventory_updated(SKU, 3)).await,
            harness
                .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1Z1"))
                .await,
            harness.deliver(product_updated(product())).await,
        ];

        invocations.iter().for_each(|invocation| {
            delivered(invocation);
        });
        assert_eq!(harness.token_requests(), 1);
        let tokens = harness.ebay.access_tokens();
        assert_eq!(tokens.len(), 1);
        assert_eq!(
            tokens[0].grant.scopes,
            [SCOPE_INVENTORY.to_owned(), SCOPE_FULFILLMENT.to_owned()]
        );
        // The host exchanged the refresh token in the first call, before its
        // first request, and the report names the credential.
        let first = exchanges(&invocations[0]);
        assert_eq!(first.len(), 1, "{:?}", invocations[0].report.egress);
        assert_eq!(
            (first[0].method.as_str(), first[0].path.as_str()),
            ("POST", TOKEN_PATH)
        );
        assert_eq!(first[0].status, Some(200));
        assert_eq!(first[0].credential.as_deref(), Some("refresh_token"));
        assert!(invocations[1..].iter().all(|i| exchanges(i).is_empty()));
        assert!(
            invocations
                .iter()
                .flat_map(|invocation| &invocation.report.egress)
                .all(|record| record.credential.as_deref() == Some("refresh_token")),
            "every call is authenticated with the refresh token's access token"
        );
        let requests = harness.ebay.recorder().requests();
        assert_token_request(&requests[0], &harness.seller);
        assert!(
            requests[1..]
                .iter()
                .all(|request| bearer(request) == tokens[0].token),
            "every call carries the one token"
        );
        // The token is not the connector's to keep: its state holds the
        // offer only.
        let kept: Vec<String> = harness.state.snapshot(harness.now()).into_keys().collect();
        assert_eq!(kept, [format!("offer:EBAY_US:{SKU}")]);
    }

    #[tokio::test]
    async fn a_token_about_to_expire_is_exchanged_again() {
        let harness = Harness::start().await;
        harness.list_product().await;
        harness.clock.advance(Duration::from_secs(7_200 - 61));
        let still_cached = harness.deliver(inventory_updated(SKU, 3)).await;
        delivered(&still_cached);
        assert!(exchanges(&still_cached).is_empty());
        assert_eq!(harness.token_requests(), 1);

        // A minute before eBay's two hours are up, the host renews it.
        harness.clock.advance(Duration::from_secs(2));
        let (renewed, sent) = harness.deliver_and_record(inventory_updated(SKU, 3)).await;

        delivered(&renewed);
        assert_eq!(
            lines(&sent),
            [format!("POST {TOKEN_PATH}"), format!("POST {BULK_PATH}")]
        );
        assert_token_request(&sent[0], &harness.seller);
        assert_eq!(exchanges(&renewed).len(), 1);
        let tokens = harness.ebay.access_tokens();
        assert_eq!(tokens.len(), 2);
        assert_eq!(bearer(&sent[1]), tokens[1].token);
    }

    #[tokio::test]
    async fn a_rejected_token_is_refreshed_once_and_the_call_sent_again() {
        let harness = Harness::start().await;
        harness.list_product().await;
        let first = harness.ebay.access_tokens()[0].token.clone();
        harness.ebay.expire_access_token(&first);

        let (invocation, sent) = harness.deliver_and_record(inventory_updated(SKU, 2)).await;

        delivered(&invocation);
        assert_eq!(
            lines(&sent),
            [
                format!("POST {BULK_PATH}"),
                format!("POST {TOKEN_PATH}"),
                format!("POST {BULK_PATH}")
            ]
        );
        assert_eq!(
            egress(&invocation),
            [
                format!("POST {BULK_PATH} -> 401"),
                format!("(host) POST {TOKEN_PATH} -> 200"),
                format!("POST {BULK_PATH} -> 200"),
            ]
        );
        let tokens = harness.ebay.access_tokens();
        assert_eq!(tokens.len(), 2);
        assert_eq!(bearer(&sent[0]), first);
        assert_eq!(bearer(&sent[2]), tokens[1].token);
        assert_eq!(sent[0].body, sent[2].body);
        // The new token is the cached one now.
        let (_, next) = harness.deliver_and_record(inventory_updated(SKU, 1)).await;
        assert_eq!(lines(&next), [format!("POST {BULK_PATH}")]);
        assert_eq!(bearer(&next[0]), tokens[1].token);
    }

    #[tokio::test]
    async fn a_token_refused_again_after_the_refresh_is_retried_later() {
        let harness = Harness::start().await;
        harness.list_product().await;
        harness
            .ebay
            .fail_calls(EbayCall::AnyInventory, EbayError::invalid_access_token(), 2);

        let (invocation, sent) = harness.deliver_and_record(inventory_updated(SKU, 2)).await;

        // The cached token refused, one new token, refused too: no second
        // renewal, and the connector sees eBay's 401.
        assert_eq!(
            lines(&sent),
            [
                format!("POST {BULK_PATH}"),
                format!("POST {TOKEN_PATH}"),
                format!("POST {BULK_PATH}")
            ]
        );
        assert_eq!(exchanges(&invocation).len(), 1);
        let retry_later = retry(&invocation);
        assert!(
            retry_later
                .reason
                .starts_with("eBay refused a newly issued access token"),
            "{}",
            retry_later.reason
        );
        let remote = retry_later.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(401), Some("1001"))
        );
    }

    #[tokio::test]
    async fn a_token_just_obtained_and_refused_is_not_renewed_in_the_same_call() {
        let harness = Harness::start().await;
        harness
            .ebay
            .fail_calls(EbayCall::AnyInventory, EbayError::invalid_access_token(), 1);

        let (invocation, sent) = harness.deliver_and_record(inventory_updated(SKU, 2)).await;

        // A new token would be refused the same way: the connector sees
        // eBay's 401 and the delivery is retried later.
        assert_eq!(
            lines(&sent),
            [format!("POST {TOKEN_PATH}"), format!("POST {BULK_PATH}")]
        );
        assert_eq!(
            retry(&invocation).remote.as_ref().unwrap().code.as_deref(),
            Some("1001")
        );
    }

    #[tokio::test]
    async fn a_revoked_refresh_token_fails_without_calling_the_sell_apis() {
        let harness = Harness::start().await;
        harness
            .ebay
            .revoke_refresh_token(&harness.seller.refresh_token);

        let (invocation, sent) = harness.deliver_and_record(product_updated(product())).await;

        assert_eq!(lines(&sent), [format!("POST {TOKEN_PATH}")]);
        assert_eq!(
            egress(&invocation),
            [format!("(host) POST {TOKEN_PATH} -> 400")]
        );
        let failure = failed(&invocation);
        assert_eq!(
            failure.reason,
            "eBay refused the refresh token (invalid_grant): it was revoked, has expired or was issued to another app; have the seller grant access again and set the new refresh token."
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(400), Some("invalid_grant"))
        );
    }

    #[tokio::test]
    async fn a_refresh_token_revoked_while_a_token_is_cached_fails_at_the_renewal() {
        let harness = Harness::start().await;
        harness.list_product().await;
        harness
            .ebay
            .revoke_refresh_token(&harness.seller.refresh_token);
        expire_issued_tokens(&harness);

        let (invocation, sent) = harness.deliver_and_record(inventory_updated(SKU, 2)).await;

        assert_eq!(
            lines(&sent),
            [format!("POST {BULK_PATH}"), format!("POST {TOKEN_PATH}")]
        );
        let failure = failed(&invocation);
        assert!(
            failure.reason.contains("refresh token (invalid_grant)"),
            "{}",
            failure.reason
        );
        assert_eq!(
            failure.remote.as_ref().unwrap().code.as_deref(),
            Some("invalid_grant")
        );
    }

    #[tokio::test]
    async fn bad_app_keys_fail_and_say_which() {
        let harness = Harness::start().await;
        let config = harness.config().credential("client_secret", "PRD-wrong");

        let invocation = harness
            .deliver_with(&config, &harness.state, inventory_updated(SKU, 1))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .starts_with("eBay refused the app's client id or client secret (invalid_client); check the App ID and Cert ID of the production keyset"),
            "{}",
            failure.reason
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(401), Some("invalid_client"))
        );
        assert_eq!(
            egress(&invocation),
            [format!("(host) POST {TOKEN_PATH} -> 401")]
        );
    }

    #[tokio::test]
    async fn scopes_the_seller_did_not_grant_fail_the_exchange() {
        let harness = Harness::start().await;
        let narrow = harness
            .ebay
            .grant_refresh_token(&harness.seller.app, &[SCOPE_INVENTORY]);
        let config = harness.config().credential("refresh_token", &narrow);

        let invocation = harness
            .deliver_with(&config, &harness.state, inventory_updated(SKU, 1))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure.reason.contains("invalid_scope"),
            "{}",
            failure.reason
        );
        assert!(
            failure.reason.contains("sell.fulfillment"),
            "{}",
            failure.reason
        );
    }

    #[tokio::test]
    async fn an_unavailable_token_endpoint_is_retried() {
        let harness = Harness::start().await;
        harness
            .ebay
            .fail_token_requests(TokenError::TemporarilyUnavailable, 1);

        let invocation = harness.deliver(inventory_updated(SKU, 1)).await;

        let retry_later = retry(&invocation);
        assert_eq!(
            retry_later.reason,
            "eBay's token endpoint answered HTTP 503 (temporarily_unavailable): The authorization server is temporarily unavailable."
        );
        let remote = retry_later.remote.as_ref().unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(503), Some("temporarily_unavailable"))
        );
        assert_eq!(harness.ebay.recorder().len(), 1);
        assert_eq!(
            egress(&invocation),
            [format!("(host) POST {TOKEN_PATH} -> 503")]
        );

        // Once eBay is back, the next attempt gets its token.
        let (again, sent) = harness.deliver_and_record(product_updated(product())).await;
        delivered(&again);
        assert_eq!(lines(&sent)[0], format!("POST {TOKEN_PATH}"));
        assert_eq!(exchanges(&again).len(), 1);
    }

    #[tokio::test]
    async fn a_missing_scope_on_a_call_fails_and_says_what_to_grant() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();
        harness.ebay.fail_calls(
            EbayCall::AnyFulfillment,
            EbayError::insufficient_permissions(),
            1,
        );

        let invocation = harness
            .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1Z1"))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .starts_with("the access token lacks the scope"),
            "{}",
            failure.reason
        );
        assert_eq!(
            failure.remote.as_ref().unwrap().code.as_deref(),
            Some("1100")
        );
    }

    #[tokio::test]
    async fn missing_credentials_fail_naming_them() {
        let harness = Harness::start().await;
        let config = harness.config().without_credential("refresh_token");

        let invocation = harness
            .deliver_with(&config, &harness.state, inventory_updated(SKU, 1))
            .await;

        assert_eq!(
            failed(&invocation).reason,
            "credential `refresh_token` is not set"
        );
        assert!(harness.ebay.recorder().is_empty());

        // The app's keys only the host reads; it names the one missing.
        let config = harness.config().without_credential("client_id");
        let invocation = harness
            .deliver_with(&config, &harness.state, inventory_updated(SKU, 1))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .contains("needs credential 'client_id', which is not set"),
            "{}",
            failure.reason
        );
        assert!(failure.reason.ends_with("nothing was sent to eBay."));
        assert!(harness.ebay.recorder().is_empty());
    }
}

/// The component never holds a credential: the manifest lets it read none,
/// and the host applies the refresh token's access token to its calls.
mod credentials {
    use super::*;

    #[tokio::test]
    async fn no_secret_or_access_token_is_ever_in_the_components_memory() {
        let harness = Harness::start().await;
        harness.seed_order();
        let (check, _) = harness.check(&harness.config()).await;
        assert!(matches!(check.status, CheckStatus::Ok), "{check:?}");
        delivered(&harness.deliver(product_updated(product())).await);
        delivered(&harness.deliver(inventory_updated(SKU, 3)).await);
        harness.sync(None, 10).await.unwrap();

        let seller = &harness.seller;
        let tokens = harness.ebay.access_tokens();
        assert!(!tokens.is_empty());
        let mut secrets = vec![
            ("the client secret", seller.app.client_secret.as_str()),
            ("the refresh token", seller.refresh_token.as_str()),
        ];
        secrets.extend(tokens.iter().map(|t| ("an access token", t.token.as_str())));
        assert_no_secret_in_guest_memory(&harness.memory, &secrets);
    }

    #[test]
    fn the_manifest_lets_the_component_read_no_credential() {
        let (manifest, _) = guest("connectors/ebay");
        let egress: Vec<String> = manifest
            .allowed_origins
            .patterns()
            .iter()
            .map(ToString::to_string)
            .collect();
        let companions: Vec<&str> = manifest
            .credentials
            .iter()
            .filter_map(|credential| credential.auth.as_ref())
            .flat_map(|auth| auth.scheme.companions())
            .collect();
        for credential in &manifest.credentials {
            assert!(!credential.readable, "{} is readable", credential.key);
            assert!(
                credential.auth.is_some() || companions.contains(&credential.key.as_str()),
                "{} is neither applied by the host nor a companion of a credential that is",
                credential.key
            );
        }
        let auth = manifest
            .credential("refresh_token")
            .and_then(|credential| credential.auth.as_ref())
            .expect("the refresh token is applied by the host");
        assert_eq!(auth.origins, egress);
        let AuthScheme::OAuth2RefreshToken {
            token_url,
            client_id,
            client_secret,
            client_auth,
            scopes,
            apply,
            renew_on_status,
        } = &auth.scheme
        else {
            panic!(
                "expected an OAuth refresh-token scheme, got {:?}",
                auth.scheme
            );
        };
        // A path, so that the sandbox's calls get the sandbox's tokens.
        assert_eq!(token_url, TOKEN_PATH);
        assert_eq!(
            (client_id.as_str(), client_secret.as_str()),
            ("client_id", "client_secret")
        );
        assert_eq!(*client_auth, ClientAuth::Basic);
        assert_eq!(scopes.join(" "), SCOPES);
        assert_eq!(
            (apply.header.as_str(), apply.prefix.as_str()),
            ("authorization", "Bearer ")
        );
        assert_eq!(renew_on_status, &[401]);
    }

    #[tokio::test]
    async fn deliveries_work_without_the_component_reading_a_credential() {
        let harness = Harness::start().await;

        let (invocation, sent) = harness.deliver_and_record(product_updated(product())).await;

        delivered(&invocation);
        let report = &invocation.report;
        assert!(
            report.credentials_read.is_empty(),
            "{:?}",
            report.credentials_read
        );
        assert!(
            report.credentials_refused.is_empty(),
            "{:?}",
            report.credentials_refused
        );
        // The host applied them: Basic on the exchange, the bearer token on
        // every call, and the report names the credential, never a value.
        assert_token_request(&sent[0], &harness.seller);
        let token = &harness.ebay.access_tokens()[0].token;
        assert!(sent[1..].iter().all(|request| bearer(request) == token));
        assert!(
            report
                .egress
                .iter()
                .all(|record| record.credential.as_deref() == Some("refresh_token"))
        );
        let text = serde_json::to_string(report).unwrap();
        for secret in [
            harness.seller.refresh_token.as_str(),
            harness.seller.app.client_secret.as_str(),
            token.as_str(),
        ] {
            assert!(!text.contains(secret), "the report shows a secret: {text}");
        }
    }

    #[tokio::test]
    async fn the_sandbox_gets_its_tokens_from_the_sandbox() {
        let harness = Harness::start().await;
        harness.list_product().await;
        let config = harness.config().setting("environment", "sandbox");

        let before = harness.ebay.recorder().len();
        let invocation = harness
            .deliver_with(&config, &harness.state, inventory_updated(SKU, 1))
            .await;
        let sent = harness.requests_since(before);

        delivered(&invocation);
        assert_eq!(
            lines(&sent),
            [format!("POST {TOKEN_PATH}"), format!("POST {BULK_PATH}")]
        );
        assert!(
            sent.iter()
                .all(|request| request.host == "api.sandbox.ebay.com")
        );
    }
}

mod connection {
    use super::*;

    #[tokio::test]
    async fn good_credentials_pass_with_one_exchange_and_one_read() {
        let harness = Harness::start().await;
        harness.seed_order();

        let (check, sent) = harness.check(&harness.config()).await;

        assert!(matches!(check.status, CheckStatus::Ok), "{check:?}");
        assert_eq!(
            check.message,
            "eBay accepted the app's keys and the seller's refresh token, and the Fulfillment API answered (1 order on the account)."
        );
        assert_eq!(
            lines(&sent),
            [format!("POST {TOKEN_PATH}"), format!("GET {ORDERS_PATH}")]
        );
        assert_token_request(&sent[0], &harness.seller);
        assert_eq!(
            query(&sent[1]),
            BTreeMap::from([("limit".to_owned(), "1".to_owned())])
        );
        let steps: BTreeMap<&str, &str> = check
            .steps
            .iter()
            .map(|(step, finding)| (step.as_str(), finding.as_str()))
            .collect();
        assert_eq!(
            steps["token"],
            "refresh token accepted; the host holds the access token"
        );
        assert_eq!(
            steps["orders"],
            "GET /order answered HTTP 200: 1 order on the account"
        );
        assert!(steps["listing"].starts_with("ready: location warehouse-1, category 15687"));
        // The token is kept for the deliveries that follow.
        let (_, next) = harness
            .deliver_and_record(inventory_updated("GHOST-1", 1))
            .await;
        assert_eq!(lines(&next), [format!("POST {BULK_PATH}")]);
    }

    #[tokio::test]
    async fn a_wrong_client_secret_is_unauthorized() {
        let harness = Harness::start().await;
        let config = harness.config().credential("client_secret", "PRD-0000");

        let (check, sent) = harness.check(&config).await;

        assert!(
            matches!(check.status, CheckStatus::Unauthorized),
            "{check:?}"
        );
        assert_eq!(
            check.message,
            "eBay refused the app's client id or client secret (invalid_client); check the App ID and Cert ID of the production keyset (its App ID contains -PRD-; one containing -SBX- is of the other environment's keyset, so set environment to match or use the production keyset)."
        );
        assert_eq!(lines(&sent), [format!("POST {TOKEN_PATH}")]);
        assert!(
            check
                .steps
                .contains(&("token".into(), "refused: invalid_client".into()))
        );
    }

    #[tokio::test]
    async fn refused_keys_are_named_with_the_environments_keyset() {
        let harness = Harness::start().await;
        // A production keyset's App ID, on the sandbox: the connector never
        // sees the App ID, so the hint says what the sandbox's looks like.
        let config = harness
            .config()
            .setting("environment", "sandbox")
            .credential("client_id", "MyShop-Sluice-PRD-1a2b3c4d5-6e7f8a9b");

        let (check, sent) = harness.check(&config).await;

        assert!(
            matches!(check.status, CheckStatus::Unauthorized),
            "{check:?}"
        );
        assert!(
            check
                .message
                .contains("the sandbox keyset (its App ID contains -SBX-; one containing -PRD- is of the other environment's keyset"),
            "{}",
            check.message
        );
        assert_eq!(sent[0].host, "api.sandbox.ebay.com");
    }

    #[tokio::test]
    async fn a_revoked_refresh_token_is_unauthorized() {
        let harness = Harness::start().await;
        harness
            .ebay
            .revoke_refresh_token(&harness.seller.refresh_token);

        let (check, _) = harness.check(&harness.config()).await;

        assert!(
            matches!(check.status, CheckStatus::Unauthorized),
            "{check:?}"
        );
        assert_eq!(
            check.message,
            "eBay refused the refresh token (invalid_grant): it was revoked, has expired or was issued to another app; have the seller grant access again and set the new refresh token."
        );
    }

    #[tokio::test]
    async fn missing_credentials_are_misconfigured_and_nothing_is_sent() {
        let harness = Harness::start().await;
        let config = harness
            .config()
            .without_credential("client_id")
            .without_credential("client_secret");

        let (check, sent) = harness.check(&config).await;

        assert!(
            matches!(check.status, CheckStatus::Misconfigured),
            "{check:?}"
        );
        // The host reads the app's keys; it names the first one missing.
        assert!(
            check.message.contains(
                "credential 'refresh_token' needs credential 'client_id', which is not set"
            ),
            "{}",
            check.message
        );
        assert!(
            check.message.ends_with("nothing was sent to eBay."),
            "{}",
            check.message
        );
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn missing_listing_settings_pass_with_a_note() {
        let harness = Harness::start().await;
        let config = harness.config().without_setting("category_id");

        let (check, _) = harness.check(&config).await;

        assert!(matches!(check.status, CheckStatus::Ok), "{check:?}");
        assert!(
            check
                .message
                .ends_with("Listing new products also needs a setting (category_id)."),
            "{}",
            check.message
        );
        assert!(
            check.steps.contains(&(
                "listing".into(),
                "not ready: setting `category_id` is not set; product.updated cannot create offers"
                    .into()
            ))
        );
    }

    #[tokio::test]
    async fn an_unavailable_ebay_is_unreachable() {
        let harness = Harness::start().await;
        harness.ebay.fail_token_requests(TokenError::ServerError, 1);
        let (check, _) = harness.check(&harness.config()).await;
        assert!(
            matches!(check.status, CheckStatus::Unreachable),
            "{check:?}"
        );
        assert_eq!(
            check.message,
            "eBay's token endpoint answered HTTP 500 (server_error): There was an internal error in the authorization server."
        );
        assert!(
            check
                .steps
                .contains(&("token".into(), "failed: server_error".into()))
        );

        harness.ebay.fail_calls(
            EbayCall::GetOrders,
            EbayError::system_error(SellApi::Fulfillment),
            1,
        );
        let (check, _) = harness.check(&harness.config()).await;
        assert!(
            matches!(check.status, CheckStatus::Unreachable),
            "{check:?}"
        );
        assert!(
            check.message.starts_with(
                "eBay issued an access token, but eBay failed (HTTP 500) to list orders"
            ),
            "{}",
            check.message
        );
    }
}

mod sync {
    use super::*;

    /// The fake's form of a date (`lastModifiedDate`).
    fn ebay_time(ms: UnixMillis) -> String {
        format_rfc3339(ms)
    }

    /// The platform's form of a whole-second date.
    fn platform_time(ms: UnixMillis) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    fn ids(batch: &SyncBatch) -> Vec<String> {
        batch
            .records
            .iter()
            .map(|record| record.external_id.clone())
            .collect()
    }

    /// A whole minute some hours back, so dates have no milliseconds.
    fn base(harness: &Harness) -> UnixMillis {
        harness.now() / 60_000 * 60_000 - 10 * HOUR_MS
    }

    #[tokio::test]
    async fn orders_are_pulled_in_batches_oldest_change_first() {
        let harness = Harness::start().await;
        let t0 = base(&harness);
        // Seeded newest first, so the fake's storage order is not the answer's.
        let seeded: Vec<String> = (0..5)
            .rev()
            .map(|n| {
                harness.ebay.seed_order(
                    EbayOrderSeed::new(t0)
                        .last_modified(t0 + n * HOUR_MS)
                        .line_item("MUG-1", 1, "9.50"),
                )
            })
            .collect();
        let expected: Vec<String> = seeded.iter().rev().cloned().collect();

        let before = harness.ebay.recorder().len();
        let first = harness.sync(None, 2).await.unwrap();
        assert_eq!(ids(&first), expected[0..2]);
        assert!(first.has_more);
        let second = harness.sync(first.next_cursor.clone(), 2).await.unwrap();
        assert_eq!(ids(&second), expected[2..4]);
        assert!(second.has_more);
        let third = harness.sync(second.next_cursor.clone(), 2).await.unwrap();
        assert_eq!(ids(&third), expected[4..5]);
        assert!(!third.has_more);
        let idle = harness.sync(third.next_cursor.clone(), 2).await.unwrap();
        assert!(idle.records.is_empty() && !idle.has_more);
        assert_eq!(idle.next_cursor, third.next_cursor);

        let sent = harness.requests_since(before);
        assert_eq!(
            lines(&sent),
            [
                format!("POST {TOKEN_PATH}"),
                format!("GET {ORDERS_PATH}"),
                format!("GET {ORDERS_PATH}"),
                format!("GET {ORDERS_PATH}"),
                format!("GET {ORDERS_PATH}"),
            ]
        );
        let first_since = query(&sent[1])["filter"].clone();
        let lookback = harness.now() - 90 * DAY_MS;
        assert!(
            first_since.starts_with("lastmodifieddate:["),
            "{first_since}"
        );
        let since_ms = chrono::DateTime::parse_from_rfc3339(
            first_since
                .trim_start_matches("lastmodifieddate:[")
                .trim_end_matches("..]"),
        )
        .unwrap()
        .timestamp_millis();
        assert_eq!(since_ms, lookback);
        let pages: Vec<BTreeMap<String, String>> = sent[2..].iter().map(query).collect();
        assert_eq!(
            (
                query(&sent[1])["limit"].as_str(),
                query(&sent[1])["offset"].as_str()
            ),
            ("2", "0")
        );
        // Each page starts at the last change returned, with room for the
        // order returned at that moment, which the connector leaves out.
        for (page, since) in pages
            .iter()
            .zip([t0 + HOUR_MS, t0 + 3 * HOUR_MS, t0 + 4 * HOUR_MS])
        {
            assert_eq!(
                page["filter"],
                format!("lastmodifieddate:[{}..]", ebay_time(since))
            );
            assert_eq!(
                (page["limit"].as_str(), page["offset"].as_str()),
                ("3", "0")
            );
        }
        assert_eq!(
            third.next_cursor.as_deref(),
            Some(format!("v1;{};{}", ebay_time(t0 + 4 * HOUR_MS), expected[4]).as_str())
        );
    }

    #[tokio::test]
    async fn each_order_is_an_order_payload_versioned_by_its_last_change() {
        let harness = Harness::start().await;
        let t0 = base(&harness);
        let order_id = harness.ebay.seed_order(
            EbayOrderSeed::new(t0)
                .last_modified(t0 + 5 * 60_000)
                .line_item("MUG-1", 2, "19.99")
                .line_item(SKU, 1, "5.00"),
        );
        let lines_of = harness.ebay.order(&order_id).unwrap().line_items;

        let batch = harness.sync(None, 50).await.unwrap();

        let [record] = batch.records.as_slice() else {
            panic!("expected one record, got {:?}", batch.records);
        };
        assert_eq!(record.external_id, order_id);
        assert_eq!(record.version, ebay_time(t0 + 5 * 60_000));
        assert_eq!(record.occurred_at, platform_time(t0 + 5 * 60_000));
        let payload: Value = serde_json::from_str(&record.payload).unwrap();
        assert_eq!(
            payload,
            json!({
                "marketplace": "ebay",
                "order_id": order_id,
                "status": "unshipped",
                "marketplace_status": "NOT_STARTED",
                "purchased_at": platform_time(t0),
                "updated_at": platform_time(t0 + 5 * 60_000),
                "line_items": [
                    {"line_item_id": lines_of[0].line_item_id, "sku": "MUG-1", "quantity": 2},
                    {"line_item_id": lines_of[1].line_item_id, "sku": SKU, "quantity": 1},
                ],
                "total": {"amount": "44.98", "currency": "USD"},
            })
        );
    }

    #[tokio::test]
    async fn statuses_follow_payment_and_fulfillment() {
        let harness = Harness::start().await;
        let t0 = base(&harness);
        let unpaid = harness.ebay.seed_order(
            EbayOrderSeed::new(t0)
                .payment_status(PaymentStatus::Pending)
                .line_item("MUG-1", 1, "1.00"),
        );
        let partly = harness.seed_order();
        let whole = harness.seed_order();
        let line_ids = |id: &str| -> Vec<String> {
            harness
                .ebay
                .order(id)
                .unwrap()
                .line_items
                .iter()
                .map(|item| item.line_item_id.clone())
                .collect()
        };
        let partly_lines = line_ids(&partly);
        let whole_lines = line_ids(&whole);
        delivered(
            &harness
                .deliver(order_fulfilled(&partly, &[&partly_lines[0]], "UPS", "1ZP"))
                .await,
        );
        let whole_refs: Vec<&str> = whole_lines.iter().map(String::as_str).collect();
        delivered(
            &harness
                .deliver(order_fulfilled(&whole, &whole_refs, "UPS", "1ZW"))
                .await,
        );

        let batch = harness.sync(None, 50).await.unwrap();

        let statuses: BTreeMap<String, (String, String)> = batch
            .records
            .iter()
            .map(|record| {
                let payload: Value = serde_json::from_str(&record.payload).unwrap();
                (
                    record.external_id.clone(),
                    (
                        payload["status"].as_str().unwrap().to_owned(),
                        payload["marketplace_status"].as_str().unwrap().to_owned(),
                    ),
                )
            })
            .collect();
        assert_eq!(
            statuses[&unpaid],
            ("pending".to_owned(), "PENDING".to_owned())
        );
        assert_eq!(
            statuses[&partly],
            ("partially_shipped".to_owned(), "IN_PROGRESS".to_owned())
        );
        assert_eq!(
            statuses[&whole],
            ("shipped".to_owned(), "FULFILLED".to_owned())
        );
    }

    #[tokio::test]
    async fn a_changed_order_comes_again_with_a_new_version() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let first = harness.sync(None, 50).await.unwrap();
        assert_eq!(ids(&first), std::slice::from_ref(&order_id));
        let idle = harness.sync(first.next_cursor.clone(), 50).await.unwrap();
        assert!(idle.records.is_empty());

        harness.clock.advance(Duration::from_secs(60));
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();
        delivered(
            &harness
                .deliver(order_fulfilled(&order_id, &[&line], "UPS", "1Z1"))
                .await,
        );
        let again = harness.sync(idle.next_cursor.clone(), 50).await.unwrap();

        let [record] = again.records.as_slice() else {
            panic!("expected the changed order, got {:?}", again.records);
        };
        assert_eq!(record.external_id, order_id);
        assert_ne!(record.version, first.records[0].version);
        assert_eq!(record.version, ebay_time(harness.now()));
        let payload: Value = serde_json::from_str(&record.payload).unwrap();
        assert_eq!(payload["status"], "partially_shipped");
    }

    #[tokio::test]
    async fn orders_changed_at_the_same_moment_are_neither_skipped_nor_repeated() {
        let harness = Harness::start().await;
        let t0 = base(&harness);
        let mut seeded: Vec<String> = (0..3)
            .map(|_| {
                harness.ebay.seed_order(
                    EbayOrderSeed::new(t0)
                        .last_modified(t0 + HOUR_MS)
                        .line_item("MUG-1", 1, "1.00"),
                )
            })
            .collect();
        seeded.sort();

        let first = harness.sync(None, 2).await.unwrap();
        let second = harness.sync(first.next_cursor.clone(), 2).await.unwrap();
        let idle = harness.sync(second.next_cursor.clone(), 2).await.unwrap();

        let mut all = ids(&first);
        all.extend(ids(&second));
        assert_eq!(all, seeded);
        assert!(first.has_more && !second.has_more);
        assert!(idle.records.is_empty());
    }

    #[tokio::test]
    async fn the_first_run_looks_back_90_days() {
        let harness = Harness::start().await;
        let old = harness.ebay.seed_order(
            EbayOrderSeed::new(harness.now() - 100 * DAY_MS).line_item("MUG-1", 1, "1.00"),
        );
        let recent = harness.ebay.seed_order(
            EbayOrderSeed::new(harness.now() - 10 * DAY_MS).line_item("MUG-1", 1, "1.00"),
        );

        let batch = harness.sync(None, 50).await.unwrap();

        assert_eq!(ids(&batch), [recent]);
        assert!(harness.ebay.order(&old).is_some());
    }

    #[tokio::test]
    async fn failures_say_whether_a_later_run_may_succeed() {
        let harness = Harness::start().await;
        let unknown = harness.sync_entity("listings", None, 10).await.unwrap_err();
        assert!(!unknown.retryable);
        assert_eq!(
            unknown.reason,
            "the eBay connector syncs `orders` only, not `listings`"
        );

        let garbled = harness.sync(Some("page-2".into()), 10).await.unwrap_err();
        assert!(!garbled.retryable);

        harness
            .ebay
            .fail_calls(EbayCall::GetOrders, EbayError::too_many_requests(), 1);
        let throttled = harness.sync(None, 10).await.unwrap_err();
        assert!(throttled.retryable);
        assert_eq!(throttled.remote.unwrap().status, Some(429));

        // Revoked while the host holds a token: eBay refuses the token, and
        // the host's renewal gets invalid_grant.
        harness
            .ebay
            .revoke_refresh_token(&harness.seller.refresh_token);
        for token in harness.ebay.access_tokens() {
            harness.ebay.expire_access_token(&token.token);
        }
        let revoked = harness.sync(None, 10).await.unwrap_err();
        assert!(!revoked.retryable);
        assert_eq!(
            revoked.remote.unwrap().code.as_deref(),
            Some("invalid_grant")
        );
    }

    #[tokio::test]
    async fn the_sandbox_is_reached_on_its_own_host() {
        let harness = Harness::start().await;
        harness.seed_order();
        let config = harness.config().setting("environment", "sandbox");
        let context = harness.context(&config, &MemoryState::default());
        let request = SyncRequest {
            entity: "orders".into(),
            cursor: None,
            max_records: 10,
        };
        let invocation = harness
            .runtime
            .sync(&harness.connector, context, request)
            .await;
        assert_eq!(invocation.result.unwrap().unwrap().records.len(), 1);
        assert!(
            harness
                .ebay
                .recorder()
                .requests()
                .iter()
                .all(|request| request.host == "api.sandbox.ebay.com")
        );
        assert_eq!(
            invocation.report.egress[0].origin,
            "https://api.sandbox.ebay.com:443"
        );
    }
}

/// What eBay's published contracts allow (tests/schemas/ebay): events
/// beyond them are fitted in a documented way or refused before any call.
mod contract_limits {
    use super::*;

    fn with(changes: Value) -> Event {
        let mut payload = product();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                payload.as_object_mut().unwrap().remove(key);
            } else {
                payload[key] = value.clone();
            }
        }
        product_updated(payload)
    }

    /// The permanent failure of `event`, asserting nothing was sent.
    async fn refused_without_a_call(harness: &Harness, event: Event) -> String {
        let (invocation, sent) = harness.deliver_and_record(event).await;
        assert!(sent.is_empty(), "{:?}", lines(&sent));
        failed(&invocation).reason.clone()
    }

    #[tokio::test]
    async fn skus_quantities_brands_and_currencies_beyond_ebays_rules_fail_before_any_call() {
        let harness = Harness::start().await;
        for (changes, expected) in [
            (
                json!({"sku": "TSHIRT RED/M"}),
                "eBay takes SKUs of 1 to 50 letters and digits",
            ),
            (json!({"sku": "GRÖSSE-M"}), "errorId 25707"),
            (
                json!({"quantity": 3_000_000_000u64}),
                "int32, at most 2147483647",
            ),
            (
                json!({"brand": "B".repeat(66)}),
                "brand is 66 characters; eBay takes at most 65",
            ),
            (
                json!({"identifiers": {"mpn": "M".repeat(70)}}),
                "identifiers.mpn is 70 characters; eBay takes at most 65",
            ),
            (
                json!({"price": {"amount": "19.99", "currency": "EUR"}}),
                "price.currency is EUR, but marketplace EBAY_US lists in USD",
            ),
        ] {
            let reason = refused_without_a_call(&harness, with(changes.clone())).await;
            assert!(reason.contains(expected), "{changes}: {reason}");
        }
        let reason =
            refused_without_a_call(&harness, inventory_updated_u64(SKU, 3_000_000_000)).await;
        assert!(reason.contains("int32"), "{reason}");
    }

    fn inventory_updated_u64(sku: &str, quantity: u64) -> Event {
        event(
            "inventory.updated",
            &json!({"sku": sku, "quantity": quantity}).to_string(),
        )
    }

    #[tokio::test]
    async fn a_first_listing_without_a_picture_or_stock_is_refused_as_ebay_would_at_publish() {
        let harness = Harness::start().await;

        let reason = refused_without_a_call(&harness, with(json!({"images": []}))).await;
        assert!(
            reason.contains("eBay publishes an offer only with product.imageUrls"),
            "{reason}"
        );

        let reason = refused_without_a_call(&harness, with(json!({"quantity": 0}))).await;
        assert!(
            reason.contains(
                "eBay publishes an offer only with availableQuantity of a quantity of at least 1"
            ),
            "{reason}"
        );
        assert!(harness.ebay.recorder().is_empty());
    }

    #[tokio::test]
    async fn long_texts_are_cut_and_pictures_kept_to_ebays_limits() {
        let harness = Harness::start().await;
        let images: Vec<String> = (0..30)
            .map(|i| format!("https://cdn.example.com/{i}.jpg"))
            .collect();
        let event = with(json!({
            "description": "word ".repeat(1000),
            "brand": "A brand name of exactly fifty-five characters in all!!!",
            "images": images,
            "attributes": {
                "fit": "Relaxed fit with dropped shoulders and a longer back hem",
                "a_very_long_attribute_name_that_eBay_cannot_take": "x",
            },
        }));

        let (invocation, sent) = harness.deliver_and_record(event).await;

        delivered(&invocation);
        let item = sent[1].json().unwrap();
        let product = &item["product"];
        let description = product["description"].as_str().unwrap();
        assert!(description.chars().count() <= 4000 && description.ends_with("word"));
        assert_eq!(product["imageUrls"].as_array().unwrap().len(), 24);
        assert_eq!(
            product["aspects"]["Fit"],
            json!(["Relaxed fit with dropped shoulders and a longer"])
        );
        assert!(
            product["aspects"].get("Brand").is_none(),
            "55 characters is over an aspect value's 50"
        );
        assert_eq!(product["brand"].as_str().unwrap().chars().count(), 55);
        assert_eq!(
            product["aspects"].as_object().unwrap().len(),
            1,
            "{}",
            product["aspects"]
        );
    }

    #[tokio::test]
    async fn carriers_become_ebay_codes_and_tracking_numbers_letters_and_digits() {
        let harness = Harness::start().await;
        let order_id = harness.seed_order();
        let line = harness.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();

        let (invocation, sent) = harness
            .deliver_and_record(order_fulfilled(
                &order_id,
                &[&line],
                "Royal Mail",
                "AB.123/456 GB",
            ))
            .await;

        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some("AB123456GB")
        );
        let body = sent[1].json().unwrap();
        assert_eq!(body["shippingCarrierCode"], "RoyalMail");
        assert_eq!(body["trackingNumber"], "AB123456GB");

        let other = harness.seed_order();
        let line = harness.ebay.order(&other).unwrap().line_items[0]
            .line_item_id
            .clone();
        let reason = refused_without_a_call(
            &harness,
            order_fulfilled(&other, &[&line], "UPS", "1ZÄÖ999"),
        )
        .await;
        assert!(
            reason.contains("letters and digits (A-Z, a-z, 0-9) only"),
            "{reason}"
        );
    }
}
