//! The shipped Amazon Selling Partner connector, run in the real host
//! runtime against the fake Amazon over TLS: each event type becomes the
//! exact SP-API request, Amazon's answers map to the right outcomes, the
//! connection check says what is wrong, orders sync page by page behind the
//! cursor, and the host refuses an `endpoint` that is not Amazon's.
//!
//! The component holds no credential: the host exchanges the refresh token
//! with Login with Amazon, caches the access token (one exchange for many
//! deliveries, a new one shortly before expiry), renews it once when Amazon
//! refuses a cached one, and answers for Login with Amazon when it gets no
//! token, which the connector turns into the outcome.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sluice_core::{Clock, ManualClock, UnixMillis};
use sluice_manifest::AuthScheme;
use sluice_runtime::types::{
    CheckStatus, ConnectionCheck, DeliveryOutcome, Event, SyncBatch, SyncError, SyncRequest,
};
use sluice_runtime::{
    CallContext, Invocation, LoadedConnector, MemoryInspector, MemoryState, Runtime,
};
use sluice_tests::RecordedRequest;
use sluice_tests::TestCa;
use sluice_tests::fakes::amazon::{
    AmazonOptions, FakeAmazon, ListingRules, LwaError, MARKETPLACE_DE, MARKETPLACE_US, Operation,
    OrderSeed, OrderStatus, Requirements, SellerCredentials, SpApiError, TOKEN_PATH,
};
use sluice_tests::fakes::ebay::{EbayOptions, FakeEbay};
use sluice_tests::guests::guest;
use sluice_tests::sandbox::{
    assert_no_secret_in_guest_memory, batch, call_context, check_result, delivered, event, failed,
    inspected_runtime, retry, sync_error,
};

const LWA_ORIGIN: &str = "https://api.amazon.com:443";
const NA_ORIGIN: &str = "https://sellingpartnerapi-na.amazon.com:443";
const LWA_HOST: &str = "api.amazon.com";
/// The credential the host applies to every request of the connector.
const CREDENTIAL: &str = "refresh_token";
const NA_HOST: &str = "sellingpartnerapi-na.amazon.com";
const SKU: &str = "TSHIRT-RED-M";
const HOUR_MS: i64 = 3_600_000;

struct Harness {
    amazon: FakeAmazon,
    runtime: Runtime,
    /// Every linear memory the connector's instances had.
    memory: Arc<MemoryInspector>,
    connector: Arc<LoadedConnector>,
    clock: ManualClock,
    seller: SellerCredentials,
    /// The configuration's state, shared by every call of a test.
    state: MemoryState,
    _ca: TestCa,
}

impl Harness {
    async fn start() -> Self {
        Self::with_options(AmazonOptions::unthrottled()).await
    }

    async fn with_options(options: AmazonOptions) -> Self {
        Self::build(TestCa::new().unwrap(), options, BTreeMap::new()).await
    }

    /// The fake Amazon on `ca`, and a runtime reaching it and whatever
    /// `other_fakes` maps.
    async fn build(
        ca: TestCa,
        options: AmazonOptions,
        other_fakes: BTreeMap<String, SocketAddr>,
    ) -> Self {
        let clock = ManualClock::starting_now();
        let options = AmazonOptions {
            clock: Arc::new(clock.clone()),
            ..options
        };
        let amazon = FakeAmazon::start(&ca, options).await.unwrap();
        let mut overrides = amazon.egress_overrides();
        overrides.extend(other_fakes);
        let (runtime, memory) = inspected_runtime(&ca, overrides);
        let (manifest, bytes) = guest("connectors/amazon");
        let connector = runtime.load(manifest, bytes).await.unwrap();
        let seller = amazon.onboard_seller(&[MARKETPLACE_US]);
        Self {
            amazon,
            runtime,
            memory,
            connector,
            clock,
            seller,
            state: MemoryState::default(),
            _ca: ca,
        }
    }

    fn now_ms(&self) -> UnixMillis {
        self.clock.now_ms()
    }

    /// The seller's settings, with `endpoint` left to its default.
    fn settings(&self) -> Vec<(&str, &str)> {
        vec![
            ("seller_id", self.seller.seller_id.as_str()),
            ("marketplace_id", MARKETPLACE_US),
            ("attribute_map", ATTRIBUTE_MAP),
        ]
    }

    fn credentials(&self) -> Vec<(&str, &str)> {
        vec![
            ("client_id", self.seller.client_id.as_str()),
            ("client_secret", self.seller.client_secret.as_str()),
            ("refresh_token", self.seller.refresh_token.as_str()),
        ]
    }

    fn context_with(&self, settings: &[(&str, &str)], credentials: &[(&str, &str)]) -> CallContext {
        call_context(
            settings,
            credentials,
            &self.state,
            Arc::new(self.clock.clone()),
        )
    }

    fn context(&self) -> CallContext {
        self.context_with(&self.settings(), &self.credentials())
    }

    async fn deliver(&self, event: Event) -> Invocation<DeliveryOutcome> {
        self.deliver_with(self.context(), event).await
    }

    async fn deliver_with(
        &self,
        context: CallContext,
        event: Event,
    ) -> Invocation<DeliveryOutcome> {
        self.runtime.deliver(&self.connector, context, event).await
    }

    async fn check_with(
        &self,
        settings: &[(&str, &str)],
        credentials: &[(&str, &str)],
    ) -> Invocation<ConnectionCheck> {
        let mut context = self.context_with(settings, credentials);
        context.delivery_id = None;
        context.attempt = 0;
        self.runtime.test_connection(&self.connector, context).await
    }

    async fn sync(
        &self,
        cursor: Option<String>,
        max_records: u32,
    ) -> Invocation<Result<SyncBatch, SyncError>> {
        let mut context = self.context();
        context.delivery_id = None;
        context.attempt = 0;
        let request = SyncRequest {
            entity: "orders".into(),
            cursor,
            max_records,
        };
        self.runtime.sync(&self.connector, context, request).await
    }

    /// Lists `SKU` with ten in stock, as a first delivery would.
    async fn list_product(&self) {
        let invocation = self.deliver(product_updated(Some(10))).await;
        delivered(&invocation);
    }

    /// The requests the fake received, oldest first.
    fn requests(&self) -> Vec<RecordedRequest> {
        self.amazon.recorder().requests()
    }

    /// How many times the refresh token was exchanged.
    fn token_exchanges(&self) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.host == LWA_HOST && request.path == TOKEN_PATH)
            .count()
    }

    /// The access token the fake issued `index`-th.
    fn issued_token(&self, index: usize) -> String {
        self.amazon.access_tokens()[index].token.clone()
    }
}

fn product_payload(quantity: Option<u64>) -> Value {
    let mut payload = json!({
        "sku": SKU,
        "title": "Red T-shirt, medium",
        "description": "100% organic cotton.",
        "brand": "Acme",
        "identifiers": {"gtin": "00012345678905", "mpn": "TS-R-M"},
        "images": ["https://cdn.example.com/tshirt-red.jpg", "https://cdn.example.com/tshirt-red-back.jpg"],
        "price": {"amount": "19.99", "currency": "USD"},
        "condition": "new",
        "link": "https://shop.example.com/p/tshirt-red-m",
        "attributes": {"color": "red", "size": "M"}
    });
    if let Some(quantity) = quantity {
        payload["quantity"] = json!(quantity);
    }
    payload
}

fn product_updated(quantity: Option<u64>) -> Event {
    event("product.updated", &product_payload(quantity).to_string())
}

fn inventory_updated(sku: &str, quantity: u64) -> Event {
    event(
        "inventory.updated",
        &json!({"sku": sku, "quantity": quantity, "location": "main-warehouse"}).to_string(),
    )
}

fn order_fulfilled(id: &str, marketplace: &str, order_id: &str, item_id: &str) -> Event {
    Event {
        id: id.into(),
        ..event(
            "order.fulfilled",
            &json!({
                "marketplace": marketplace,
                "order_id": order_id,
                "line_items": [{"line_item_id": item_id, "sku": "MUG-1", "quantity": 1}],
                "carrier": "UPS",
                "service": "UPS Ground",
                "tracking_number": "1Z999AA10123456784",
                "shipped_at": "2026-11-22T09:00:00Z"
            })
            .to_string(),
        )
    }
}

/// The package reference the connector derives from an event id.
fn package_reference_id(event_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"sluice-amazon-package").unwrap();
    mac.update(event_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    let number = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (number % 999_999_999 + 1).to_string()
}

/// The attributes the connector makes of [`product_payload`].
fn expected_attributes(quantity: Option<u64>) -> Value {
    let mp = MARKETPLACE_US;
    let text =
        |value: &str| json!([{"value": value, "language_tag": "en_US", "marketplace_id": mp}]);
    let mut attributes = json!({
        "item_name": text("Red T-shirt, medium"),
        "product_description": text("100% organic cotton."),
        "brand": text("Acme"),
        "externally_assigned_product_identifier": [{"type": "gtin", "value": "00012345678905", "marketplace_id": mp}],
        "part_number": [{"value": "TS-R-M", "marketplace_id": mp}],
        "condition_type": [{"value": "new_new", "marketplace_id": mp}],
        "purchasable_offer": [{"marketplace_id": mp, "currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 19.99}]}]}],
        "main_product_image_locator": [{"media_location": "https://cdn.example.com/tshirt-red.jpg", "marketplace_id": mp}],
        "other_product_image_locator_1": [{"media_location": "https://cdn.example.com/tshirt-red-back.jpg", "marketplace_id": mp}],
        "color": text("red"),
        "size": text("M"),
    });
    if let Some(quantity) = quantity {
        attributes["fulfillment_availability"] =
            json!([{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]);
    }
    attributes
}

/// `(method, origin, path, status)` of every request in the report, each
/// made with the refresh token: the host's own token exchanges with Login
/// with Amazon, and the connector's SP-API calls it authenticated.
fn egress<T>(invocation: &Invocation<T>) -> Vec<(String, String, String, Option<u16>)> {
    invocation
        .report
        .egress
        .iter()
        .map(|record| {
            assert_eq!(record.error, None, "{record:?}");
            assert_eq!(record.credential.as_deref(), Some(CREDENTIAL), "{record:?}");
            assert_eq!(
                record.token_exchange,
                record.origin == LWA_ORIGIN,
                "only the host's token requests go to Login with Amazon: {record:?}"
            );
            (
                record.method.clone(),
                record.origin.clone(),
                record.path.clone(),
                record.status,
            )
        })
        .collect()
}

fn call(
    method: &str,
    origin: &str,
    path: &str,
    status: u16,
) -> (String, String, String, Option<u16>) {
    (method.into(), origin.into(), path.into(), Some(status))
}

fn token_call() -> (String, String, String, Option<u16>) {
    call("POST", LWA_ORIGIN, TOKEN_PATH, 200)
}

/// Asserts `request` is the host's refresh grant of `seller`, form-encoded.
fn assert_token_request(request: &RecordedRequest, seller: &SellerCredentials) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.host, LWA_HOST);
    assert_eq!(request.path, TOKEN_PATH);
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let expected: BTreeMap<String, String> = [
        ("grant_type", "refresh_token"),
        ("refresh_token", seller.refresh_token.as_str()),
        ("client_id", seller.client_id.as_str()),
        ("client_secret", seller.client_secret.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(form, expected);
}

/// Asserts `request` is an SP-API call on the North American endpoint with
/// `token`, JSON `body` and exactly `method path?query`.
fn assert_sp_api_request(
    request: &RecordedRequest,
    method: &str,
    path: &str,
    query: &str,
    token: &str,
    body: Option<&Value>,
) {
    assert_eq!(request.method, method);
    assert_eq!(request.host, NA_HOST);
    assert_eq!(request.path, path);
    assert_eq!(request.query.as_deref(), Some(query));
    assert_eq!(request.header("x-amz-access-token"), Some(token));
    match body {
        Some(body) => {
            assert_eq!(
                request.header("content-type"),
                Some("application/json; charset=utf-8")
            );
            assert_eq!(&request.json().unwrap(), body);
        }
        None => assert!(request.body.is_empty(), "{:?}", request.body_text()),
    }
}

fn item_path(seller_id: &str, sku: &str) -> String {
    format!("/listings/2021-08-01/items/{seller_id}/{sku}")
}

/// The store's attributes mapped to the product type's attribute names.
const ATTRIBUTE_MAP: &str = r#"{"color": "color", "size": "size"}"#;

const SUBMISSION_QUERY: &str = "marketplaceIds=ATVPDKIKX0DER&includedData=issues&issueLocale=en_US";

mod delivery {
    use super::*;

    #[tokio::test]
    async fn a_product_with_a_quantity_puts_the_complete_listing() {
        let harness = Harness::start().await;

        let invocation = harness.deliver(product_updated(Some(10))).await;

        let listing = harness
            .amazon
            .listing(&harness.seller.seller_id, SKU)
            .expect("the listing was stored");
        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(listing.submission_id.as_str())
        );
        let path = item_path(&harness.seller.seller_id, SKU);
        assert_eq!(
            egress(&invocation),
            [token_call(), call("PUT", NA_ORIGIN, &path, 200)]
        );
        let requests = harness.requests();
        let [token, put] = requests.as_slice() else {
            panic!("expected two requests, got {requests:#?}");
        };
        assert_token_request(token, &harness.seller);
        let body = json!({
            "productType": "PRODUCT",
            "requirements": "LISTING",
            "attributes": expected_attributes(Some(10)),
        });
        assert_sp_api_request(
            put,
            "PUT",
            &path,
            SUBMISSION_QUERY,
            &harness.issued_token(0),
            Some(&body),
        );
        assert_eq!(listing.product_type, "PRODUCT");
        assert_eq!(listing.quantity(), Some(10));
        assert_eq!(
            listing.first_value("item_name"),
            Some("Red T-shirt, medium")
        );
        assert_eq!(listing.price(MARKETPLACE_US).unwrap().value_with_tax, 19.99);
    }

    #[tokio::test]
    async fn a_product_without_a_quantity_patches_the_listing_and_keeps_its_stock() {
        let harness = Harness::start().await;
        harness.list_product().await;
        let mut payload = product_payload(None);
        payload["title"] = json!("Red T-shirt, medium, v2");
        payload["price"] = json!({"amount": "17.50", "currency": "USD"});

        let invocation = harness
            .deliver(event("product.updated", &payload.to_string()))
            .await;

        delivered(&invocation);
        let path = item_path(&harness.seller.seller_id, SKU);
        assert_eq!(egress(&invocation), [call("PATCH", NA_ORIGIN, &path, 200)]);
        let patch = harness.requests().pop().unwrap();
        let mut attributes = expected_attributes(None);
        attributes["item_name"][0]["value"] = json!("Red T-shirt, medium, v2");
        attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] =
            json!(17.5);
        // One replace per attribute, in the order of the attribute names.
        let mut names: Vec<&String> = attributes.as_object().unwrap().keys().collect();
        names.sort();
        let patches: Vec<Value> = names
            .into_iter()
            .map(|name| {
                json!({"op": "replace", "path": format!("/attributes/{name}"), "value": attributes[name]})
            })
            .collect();
        let body = json!({"productType": "PRODUCT", "patches": patches});
        assert_sp_api_request(
            &patch,
            "PATCH",
            &path,
            SUBMISSION_QUERY,
            &harness.issued_token(0),
            Some(&body),
        );
        let listing = harness
            .amazon
            .listing(&harness.seller.seller_id, SKU)
            .unwrap();
        assert_eq!(
            listing.first_value("item_name"),
            Some("Red T-shirt, medium, v2")
        );
        assert_eq!(listing.price(MARKETPLACE_US).unwrap().value_with_tax, 17.5);
        assert_eq!(listing.quantity(), Some(10), "the stock was kept");
    }

    #[tokio::test]
    async fn an_inventory_update_patches_the_fulfillment_availability() {
        let harness = Harness::start().await;
        harness.list_product().await;

        let invocation = harness.deliver(inventory_updated(SKU, 0)).await;

        let listing = harness
            .amazon
            .listing(&harness.seller.seller_id, SKU)
            .unwrap();
        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(listing.submission_id.as_str())
        );
        let path = item_path(&harness.seller.seller_id, SKU);
        assert_eq!(egress(&invocation), [call("PATCH", NA_ORIGIN, &path, 200)]);
        let patch = harness.requests().pop().unwrap();
        let body = json!({
            "productType": "PRODUCT",
            "patches": [{
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            }],
        });
        assert_sp_api_request(
            &patch,
            "PATCH",
            &path,
            SUBMISSION_QUERY,
            &harness.issued_token(0),
            Some(&body),
        );
        assert_eq!(listing.quantity(), Some(0));
        assert_eq!(
            listing.first_value("item_name"),
            Some("Red T-shirt, medium")
        );
    }

    #[tokio::test]
    async fn an_amazon_order_fulfilled_confirms_the_shipment() {
        let harness = Harness::start().await;
        let order_id = harness.amazon.seed_order(
            &harness.seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, harness.now_ms() - HOUR_MS).item("MUG-1", 1, "9.99"),
        );
        let item_id = harness.amazon.order(&order_id).unwrap().items[0]
            .order_item_id
            .clone();

        let invocation = harness
            .deliver(order_fulfilled("evt_ship_1", "amazon", &order_id, &item_id))
            .await;

        let package = package_reference_id("evt_ship_1");
        assert_eq!(
            delivered(&invocation).external_id,
            Some(format!("{order_id}/{package}"))
        );
        let path = format!("/orders/v0/orders/{order_id}/shipmentConfirmation");
        assert_eq!(
            egress(&invocation),
            [token_call(), call("POST", NA_ORIGIN, &path, 204)]
        );
        let requests = harness.requests();
        assert_token_request(&requests[0], &harness.seller);
        let body = json!({
            "marketplaceId": MARKETPLACE_US,
            "packageDetail": {
                "packageReferenceId": package,
                "carrierCode": "UPS",
                "carrierName": "UPS",
                "shippingMethod": "UPS Ground",
                "trackingNumber": "1Z999AA10123456784",
                "shipDate": "2026-11-22T09:00:00Z",
                "orderItems": [{"orderItemId": item_id, "quantity": 1}],
            },
        });
        let confirm = &requests[1];
        assert_eq!(confirm.method, "POST");
        assert_eq!(confirm.host, NA_HOST);
        assert_eq!(confirm.path, path);
        assert_eq!(confirm.query, None);
        assert_eq!(
            confirm.header("x-amz-access-token"),
            Some(harness.issued_token(0).as_str())
        );
        assert_eq!(confirm.json().unwrap(), body);
        let order = harness.amazon.order(&order_id).unwrap();
        assert_eq!(order.status, OrderStatus::Shipped);
        let [shipment] = order.shipments.as_slice() else {
            panic!("expected one shipment, got {:?}", order.shipments);
        };
        assert_eq!(shipment.tracking_number, "1Z999AA10123456784");
        assert_eq!(shipment.carrier_code, "UPS");
        assert_eq!(shipment.package_reference_id, package);
    }

    #[tokio::test]
    async fn another_marketplaces_order_is_acknowledged_without_a_call() {
        let harness = Harness::start().await;

        let invocation = harness
            .deliver(order_fulfilled(
                "evt_ebay",
                "ebay",
                "12-03456-78901",
                "10001",
            ))
            .await;

        assert_eq!(delivered(&invocation).external_id, None);
        assert!(invocation.report.egress.is_empty());
        assert!(harness.amazon.recorder().is_empty());
    }
}

mod errors {
    use super::*;

    #[tokio::test]
    async fn an_invalid_listing_fails_permanently_with_amazons_issues() {
        let harness = Harness::with_options(AmazonOptions {
            listing_rules: ListingRules {
                listing: vec![
                    "item_name".into(),
                    "condition_type".into(),
                    "bullet_point".into(),
                ],
                ..ListingRules::default()
            },
            ..AmazonOptions::unthrottled()
        })
        .await;

        let invocation = harness.deliver(product_updated(Some(10))).await;

        let failure = failed(&invocation);
        assert_eq!(
            failure.reason,
            format!(
                "Amazon refused the listing of SKU {SKU} as INVALID: 90220 'bullet_point' is \
                 required but not supplied. [bullet_point]"
            )
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(200));
        assert_eq!(remote.code.as_deref(), Some("90220"));
        assert_eq!(
            remote.message.as_deref(),
            Some("90220 'bullet_point' is required but not supplied. [bullet_point]")
        );
        assert!(
            harness
                .amazon
                .listings(&harness.seller.seller_id)
                .is_empty()
        );
    }

    #[tokio::test]
    async fn inventory_of_a_sku_never_listed_fails_with_the_missing_attributes() {
        let harness = Harness::start().await;

        let invocation = harness.deliver(inventory_updated("NEVER-LISTED", 3)).await;

        let failure = failed(&invocation);
        assert!(
            failure.reason.starts_with(
                "Amazon refused the listing of SKU NEVER-LISTED as INVALID: 90220 'item_name' is \
                 required but not supplied."
            ),
            "{}",
            failure.reason
        );
        assert!(
            failure.reason.contains("'purchasable_offer'"),
            "{}",
            failure.reason
        );
        assert_eq!(
            failure.remote.as_ref().unwrap().code.as_deref(),
            Some("90220")
        );
    }

    #[tokio::test]
    async fn quota_exceeded_retries_after_the_connectors_own_backoff() {
        let harness = Harness::start().await;
        harness
            .amazon
            .fail_operation(Operation::PutListingsItem, SpApiError::quota_exceeded(), 2);

        let first = harness.deliver(product_updated(Some(10))).await;
        let mut third_attempt = harness.context();
        third_attempt.attempt = 3;
        let later = harness
            .deliver_with(third_attempt, product_updated(Some(10)))
            .await;

        let retry_first = retry(&first);
        assert_eq!(retry_first.after_seconds, Some(2));
        assert!(
            retry_first
                .reason
                .contains("Amazon throttled putListingsItem"),
            "{}",
            retry_first.reason
        );
        let remote = retry_first.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(429));
        assert_eq!(remote.code.as_deref(), Some("QuotaExceeded"));
        assert_eq!(
            remote.message.as_deref(),
            Some("You exceeded your quota for the requested resource.")
        );
        assert_eq!(retry(&later).after_seconds, Some(8));
        let path = item_path(&harness.seller.seller_id, SKU);
        assert_eq!(
            egress(&first),
            [token_call(), call("PUT", NA_ORIGIN, &path, 429)]
        );
        assert_eq!(egress(&later), [call("PUT", NA_ORIGIN, &path, 429)]);
    }

    #[tokio::test]
    async fn server_errors_retry() {
        let harness = Harness::start().await;
        let order_id = harness.amazon.seed_order(
            &harness.seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, harness.now_ms() - HOUR_MS).item("MUG-1", 1, "9.99"),
        );
        let item_id = harness.amazon.order(&order_id).unwrap().items[0]
            .order_item_id
            .clone();
        harness.amazon.fail_operation(
            Operation::ConfirmShipment,
            SpApiError::internal_failure(),
            1,
        );
        harness.amazon.fail_operation(
            Operation::ConfirmShipment,
            SpApiError::service_unavailable(),
            1,
        );
        let shipped = || order_fulfilled("evt_ship", "amazon", &order_id, &item_id);

        let internal = harness.deliver(shipped()).await;
        let unavailable = harness.deliver(shipped()).await;
        let recovered = harness.deliver(shipped()).await;

        let retry_internal = retry(&internal);
        assert_eq!(retry_internal.after_seconds, None);
        let remote = retry_internal.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(500));
        assert_eq!(remote.code.as_deref(), Some("InternalFailure"));
        let remote = retry(&unavailable).remote.clone().unwrap();
        assert_eq!(remote.status, Some(503));
        assert_eq!(remote.code.as_deref(), Some("ServiceUnavailable"));
        delivered(&recovered);
        assert_eq!(
            harness.amazon.order(&order_id).unwrap().status,
            OrderStatus::Shipped
        );
    }

    #[tokio::test]
    async fn an_order_amazon_does_not_know_fails_with_amazons_code_and_message() {
        let harness = Harness::start().await;

        let invocation = harness
            .deliver(order_fulfilled(
                "evt_x",
                "amazon",
                "111-0000000-0000000",
                "1",
            ))
            .await;

        let failure = failed(&invocation);
        assert_eq!(
            failure.reason,
            "Amazon does not know the shipment of order 111-0000000-0000000 (confirmShipment, \
             NotFound: The resource specified does not exist.)"
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(404));
        assert_eq!(remote.code.as_deref(), Some("NotFound"));
        assert_eq!(
            remote.message.as_deref(),
            Some("The resource specified does not exist.")
        );
    }

    #[tokio::test]
    async fn a_malformed_shipment_fails_with_amazons_invalid_input() {
        let harness = Harness::start().await;
        let order_id = harness.amazon.seed_order(
            &harness.seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, harness.now_ms() - HOUR_MS).item("MUG-1", 1, "9.99"),
        );

        let invocation = harness
            .deliver(order_fulfilled(
                "evt_bad",
                "amazon",
                &order_id,
                "00000000000000",
            ))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure.reason.starts_with(&format!(
                "Amazon refused the shipment of order {order_id} with HTTP 400 (confirmShipment, \
                 InvalidInput: orderItemId 00000000000000 is not an item of this order.)"
            )),
            "{}",
            failure.reason
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("InvalidInput"));
    }

    #[tokio::test]
    async fn a_revoked_refresh_token_fails_permanently_with_lwas_code() {
        let harness = Harness::start().await;
        harness
            .amazon
            .revoke_refresh_token(&harness.seller.refresh_token);

        let invocation = harness.deliver(product_updated(Some(10))).await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .starts_with("Login with Amazon refused the refresh token (invalid_grant"),
            "{}",
            failure.reason
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));
        assert_eq!(
            egress(&invocation),
            [call("POST", LWA_ORIGIN, TOKEN_PATH, 400)]
        );
        // Without a token the host sent nothing to Amazon.
        assert!(
            harness.requests().iter().all(|r| r.host == LWA_HOST),
            "{:#?}",
            harness.requests()
        );
    }

    #[tokio::test]
    async fn a_wrong_client_secret_fails_permanently_with_invalid_client() {
        let harness = Harness::start().await;
        let credentials = [
            ("client_id", harness.seller.client_id.as_str()),
            ("client_secret", "amzn1.oa2-cs.v1.wrong"),
            ("refresh_token", harness.seller.refresh_token.as_str()),
        ];
        let context = harness.context_with(&harness.settings(), &credentials);

        let invocation = harness
            .deliver_with(context, inventory_updated(SKU, 1))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .contains("client id or client secret (invalid_client"),
            "{}",
            failure.reason
        );
        assert_eq!(failure.remote.as_ref().unwrap().status, Some(401));
    }

    #[tokio::test]
    async fn lwa_being_unavailable_retries() {
        let harness = Harness::start().await;
        harness
            .amazon
            .fail_token_requests(LwaError::TemporarilyUnavailable, 1);

        let invocation = harness.deliver(product_updated(Some(10))).await;

        let retry = retry(&invocation);
        assert!(
            retry
                .reason
                .starts_with("Login with Amazon gave no access token: "),
            "{}",
            retry.reason
        );
        assert!(retry.reason.contains("503"), "{}", retry.reason);
        assert_eq!(retry.after_seconds, None);
        let remote = retry.remote.as_ref().expect("Login with Amazon's answer");
        assert_eq!(remote.status, Some(503));
        assert_eq!(remote.code.as_deref(), Some("temporarily_unavailable"));
        assert_eq!(
            egress(&invocation),
            [call("POST", LWA_ORIGIN, TOKEN_PATH, 503)]
        );
        assert!(
            harness
                .amazon
                .listings(&harness.seller.seller_id)
                .is_empty()
        );

        // Once Login with Amazon is back, the retry gets a token and lists.
        let again = harness.deliver(product_updated(Some(10))).await;
        delivered(&again);
        assert_eq!(egress(&again)[0], token_call());
        assert_eq!(harness.token_exchanges(), 2);
    }

    #[tokio::test]
    async fn another_sellers_id_is_denied_without_a_pointless_refresh() {
        let harness = Harness::start().await;
        let stranger = harness.amazon.add_seller(&[MARKETPLACE_US]);
        let settings = [
            ("seller_id", stranger.as_str()),
            ("marketplace_id", MARKETPLACE_US),
        ];
        let context = harness.context_with(&settings, &harness.credentials());

        let invocation = harness
            .deliver_with(context, product_updated(Some(10)))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure.reason.starts_with(&format!(
                "Amazon denied access to the listing of SKU {SKU} (putListingsItem, \
                 Unauthorized: Access to requested resource is denied.); check that setting \
                 `seller_id`"
            )),
            "{}",
            failure.reason
        );
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(403));
        assert_eq!(remote.code.as_deref(), Some("Unauthorized"));
        // The token was just obtained, so the host does not renew it: no
        // second exchange for a 403 that is about the seller.
        let path = item_path(&stranger, SKU);
        assert_eq!(
            egress(&invocation),
            [token_call(), call("PUT", NA_ORIGIN, &path, 403)]
        );
    }
}

mod tokens {
    use super::*;

    #[tokio::test]
    async fn the_access_token_is_cached_across_deliveries() {
        let harness = Harness::start().await;

        harness.list_product().await;
        for quantity in [7, 6, 5] {
            let invocation = harness.deliver(inventory_updated(SKU, quantity)).await;
            delivered(&invocation);
            assert!(
                egress(&invocation)
                    .iter()
                    .all(|(_, origin, _, _)| origin == NA_ORIGIN),
                "no token request: {:?}",
                invocation.report.egress
            );
        }

        assert_eq!(harness.token_exchanges(), 1);
        assert_eq!(harness.amazon.access_tokens().len(), 1);
        let token = harness.issued_token(0);
        let sp_api_calls: Vec<RecordedRequest> = harness
            .requests()
            .into_iter()
            .filter(|request| request.host == NA_HOST)
            .collect();
        assert_eq!(sp_api_calls.len(), 4);
        assert!(
            sp_api_calls
                .iter()
                .all(|request| request.header("x-amz-access-token") == Some(token.as_str()))
        );
        let listing = harness
            .amazon
            .listing(&harness.seller.seller_id, SKU)
            .unwrap();
        assert_eq!(listing.quantity(), Some(5));
        // The host keeps the token; the component kept nothing.
        assert!(
            harness.state.snapshot(harness.now_ms()).is_empty(),
            "{:?}",
            harness.state.snapshot(harness.now_ms()).keys()
        );
    }

    #[tokio::test]
    async fn a_token_is_exchanged_again_once_it_nears_expiry() {
        let harness = Harness::start().await;
        harness.list_product().await;

        // Almost an hour on, the token is still used...
        harness.clock.advance(Duration::from_secs(3_500));
        let still = harness.deliver(inventory_updated(SKU, 5)).await;
        delivered(&still);
        assert_eq!(harness.token_exchanges(), 1, "{:?}", egress(&still));

        // ...and a minute before it expires, the host gets a new one.
        harness.clock.advance(Duration::from_secs(40));
        let invocation = harness.deliver(inventory_updated(SKU, 4)).await;

        delivered(&invocation);
        let path = item_path(&harness.seller.seller_id, SKU);
        assert_eq!(
            egress(&invocation),
            [token_call(), call("PATCH", NA_ORIGIN, &path, 200)]
        );
        assert_eq!(harness.amazon.access_tokens().len(), 2);
        let patch = harness.requests().pop().unwrap();
        assert_eq!(
            patch.header("x-amz-access-token"),
            Some(harness.issued_token(1).as_str())
        );
    }

    #[tokio::test]
    async fn a_revoked_cached_token_is_refreshed_once_within_the_call() {
        let harness = Harness::start().await;
        harness.list_product().await;
        harness.amazon.revoke_access_token(&harness.issued_token(0));

        let invocation = harness.deliver(inventory_updated(SKU, 2)).await;

        delivered(&invocation);
        let path = item_path(&harness.seller.seller_id, SKU);
        assert_eq!(
            egress(&invocation),
            [
                call("PATCH", NA_ORIGIN, &path, 403),
                token_call(),
                call("PATCH", NA_ORIGIN, &path, 200),
            ]
        );
        let requests = harness.requests();
        let refused = &requests[requests.len() - 3];
        let retried = &requests[requests.len() - 1];
        assert_eq!(
            refused.header("x-amz-access-token"),
            Some(harness.issued_token(0).as_str())
        );
        assert_eq!(
            retried.header("x-amz-access-token"),
            Some(harness.issued_token(1).as_str())
        );
        assert_eq!(retried.body, refused.body);
        assert_eq!(
            harness
                .amazon
                .listing(&harness.seller.seller_id, SKU)
                .unwrap()
                .quantity(),
            Some(2)
        );

        // The new token is the one cached now.
        let next = harness.deliver(inventory_updated(SKU, 1)).await;
        delivered(&next);
        assert_eq!(egress(&next), [call("PATCH", NA_ORIGIN, &path, 200)]);
        assert_eq!(harness.token_exchanges(), 2);
    }

    #[tokio::test]
    async fn an_expired_token_is_refreshed_once_within_the_call() {
        let harness = Harness::start().await;
        let order_id = harness.amazon.seed_order(
            &harness.seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, harness.now_ms() - HOUR_MS).item("MUG-1", 1, "9.99"),
        );
        let item_id = harness.amazon.order(&order_id).unwrap().items[0]
            .order_item_id
            .clone();
        harness.list_product().await;
        harness.amazon.expire_access_token(&harness.issued_token(0));

        let invocation = harness
            .deliver(order_fulfilled("evt_ship", "amazon", &order_id, &item_id))
            .await;

        delivered(&invocation);
        let path = format!("/orders/v0/orders/{order_id}/shipmentConfirmation");
        assert_eq!(
            egress(&invocation),
            [
                call("POST", NA_ORIGIN, &path, 403),
                token_call(),
                call("POST", NA_ORIGIN, &path, 204),
            ]
        );
    }

    #[tokio::test]
    async fn a_token_refused_again_after_the_refresh_fails_without_a_second_refresh() {
        let harness = Harness::start().await;
        harness.list_product().await;
        let refused = SpApiError::unauthorized(
            "The access token you provided is revoked, malformed or invalid.",
        );
        harness
            .amazon
            .fail_operation(Operation::PatchListingsItem, refused, 2);

        let invocation = harness.deliver(inventory_updated(SKU, 2)).await;

        let failure = failed(&invocation);
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(403));
        assert_eq!(remote.code.as_deref(), Some("Unauthorized"));
        assert_eq!(
            remote.message.as_deref(),
            Some(
                "Access to requested resource is denied. (The access token you provided is \
                 revoked, malformed or invalid.)"
            )
        );
        let path = item_path(&harness.seller.seller_id, SKU);
        assert_eq!(
            egress(&invocation),
            [
                call("PATCH", NA_ORIGIN, &path, 403),
                token_call(),
                call("PATCH", NA_ORIGIN, &path, 403),
            ]
        );
        assert_eq!(harness.token_exchanges(), 2);
    }
}

mod connection_check {
    use super::*;

    const PROBE_PATH_SKU: &str = "sluice-connection-check";

    #[tokio::test]
    async fn good_credentials_pass_with_one_exchange_and_one_read() {
        let harness = Harness::start().await;

        let invocation = harness
            .check_with(&harness.settings(), &harness.credentials())
            .await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
        let seller_id = &harness.seller.seller_id;
        assert_eq!(
            check.message,
            format!(
                "Amazon accepted the credentials: seller {seller_id} can use the Listings Items \
                 API in marketplace {MARKETPLACE_US} through \
                 https://sellingpartnerapi-na.amazon.com."
            )
        );
        assert_eq!(
            check.steps,
            [
                (
                    "token".to_owned(),
                    "Login with Amazon granted an access token for the refresh token".to_owned()
                ),
                ("seller".to_owned(), format!("{seller_id} accepted")),
                (
                    "marketplace".to_owned(),
                    format!("{MARKETPLACE_US} accepted")
                ),
            ]
        );
        let path = item_path(seller_id, PROBE_PATH_SKU);
        assert_eq!(
            egress(&invocation),
            [token_call(), call("GET", NA_ORIGIN, &path, 404)]
        );
        let requests = harness.requests();
        assert_token_request(&requests[0], &harness.seller);
        assert_sp_api_request(
            &requests[1],
            "GET",
            &path,
            "marketplaceIds=ATVPDKIKX0DER&includedData=summaries&issueLocale=en_US",
            &harness.issued_token(0),
            None,
        );
        assert!(
            harness.amazon.changes().is_empty(),
            "the check wrote nothing"
        );
    }

    #[tokio::test]
    async fn a_bad_client_id_is_unauthorized() {
        let harness = Harness::start().await;
        let credentials = [
            ("client_id", "amzn1.application-oa2-client.0000"),
            ("client_secret", harness.seller.client_secret.as_str()),
            ("refresh_token", harness.seller.refresh_token.as_str()),
        ];

        let invocation = harness.check_with(&harness.settings(), &credentials).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unauthorized, "{check:?}");
        assert!(
            check
                .message
                .starts_with("The LWA client id or client secret is wrong: "),
            "{}",
            check.message
        );
        assert!(
            check.message.contains("invalid_client"),
            "{}",
            check.message
        );
        assert_eq!(check.steps[0].0, "token");
        assert_eq!(
            egress(&invocation),
            [call("POST", LWA_ORIGIN, TOKEN_PATH, 401)]
        );
    }

    #[tokio::test]
    async fn a_revoked_refresh_token_is_unauthorized() {
        let harness = Harness::start().await;
        harness
            .amazon
            .revoke_refresh_token(&harness.seller.refresh_token);

        let invocation = harness
            .check_with(&harness.settings(), &harness.credentials())
            .await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unauthorized, "{check:?}");
        assert!(
            check
                .message
                .starts_with("The refresh token was revoked or belongs to another app: "),
            "{}",
            check.message
        );
        assert!(
            check.message.contains("authorize the app again"),
            "{}",
            check.message
        );
        assert_eq!(
            egress(&invocation),
            [call("POST", LWA_ORIGIN, TOKEN_PATH, 400)]
        );
    }

    #[tokio::test]
    async fn a_wrong_seller_id_is_unauthorized_and_named() {
        let harness = Harness::start().await;
        let stranger = harness.amazon.add_seller(&[MARKETPLACE_US]);
        let settings = [
            ("seller_id", stranger.as_str()),
            ("marketplace_id", MARKETPLACE_US),
        ];

        let invocation = harness.check_with(&settings, &harness.credentials()).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unauthorized, "{check:?}");
        assert_eq!(
            check.message,
            format!(
                "Amazon denied access to seller {stranger}'s listings (Unauthorized: Access to \
                 requested resource is denied.); set `seller_id` to the merchant token of the \
                 seller who authorized the app."
            )
        );
        assert_eq!(
            egress(&invocation),
            [
                token_call(),
                call("GET", NA_ORIGIN, &item_path(&stranger, PROBE_PATH_SKU), 403)
            ]
        );
    }

    #[tokio::test]
    async fn a_marketplace_the_endpoint_does_not_serve_is_named() {
        let harness = Harness::start().await;
        let settings = [
            ("seller_id", harness.seller.seller_id.as_str()),
            ("marketplace_id", MARKETPLACE_DE),
        ];

        let invocation = harness.check_with(&settings, &harness.credentials()).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unreachable, "{check:?}");
        assert!(
            check.message.starts_with(&format!(
                "Amazon refused marketplace {MARKETPLACE_DE} for seller {}",
                harness.seller.seller_id
            )),
            "{}",
            check.message
        );
        assert!(
            check
                .message
                .contains("served by sellingpartnerapi-eu.amazon.com"),
            "{}",
            check.message
        );
    }

    #[tokio::test]
    async fn a_missing_client_id_is_misconfigured_and_nothing_is_sent() {
        let harness = Harness::start().await;
        let credentials = [
            ("client_secret", harness.seller.client_secret.as_str()),
            ("refresh_token", harness.seller.refresh_token.as_str()),
        ];

        let invocation = harness.check_with(&harness.settings(), &credentials).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
        assert!(
            check.message.contains("'client_id'")
                && check.message.contains("set the LWA client id"),
            "{}",
            check.message
        );
        assert!(harness.amazon.recorder().is_empty());
    }

    #[tokio::test]
    async fn a_missing_credential_is_misconfigured_and_sends_nothing() {
        let harness = Harness::start().await;
        let credentials = [
            ("client_id", harness.seller.client_id.as_str()),
            ("client_secret", harness.seller.client_secret.as_str()),
        ];

        let invocation = harness.check_with(&harness.settings(), &credentials).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
        assert_eq!(
            check.message,
            "The configuration is incomplete: credential `refresh_token` is not set."
        );
        assert!(invocation.report.egress.is_empty());
        assert!(harness.amazon.recorder().is_empty());
    }
}

mod sync {
    use super::*;

    /// `LastUpdatedAfter` of the first run: thirty days before `now_ms`.
    fn thirty_days_before(now_ms: UnixMillis) -> String {
        let seconds = now_ms / 1000 - 30 * 86_400;
        chrono::DateTime::from_timestamp(seconds, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn amazon_date(ms: UnixMillis) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn payload(record: &sluice_runtime::types::SyncRecord) -> Value {
        serde_json::from_str(&record.payload).unwrap()
    }

    #[tokio::test]
    async fn orders_are_pulled_page_by_page_behind_the_cursor() {
        let harness = Harness::start().await;
        let now = harness.now_ms();
        let seller = harness.seller.seller_id.clone();
        // Five orders updated an hour apart, oldest first.
        let ids: Vec<String> = (0..5)
            .map(|i| {
                let placed = now - (10 - i) * HOUR_MS;
                harness.amazon.seed_order(
                    &seller,
                    OrderSeed::new(MARKETPLACE_US, placed)
                        .last_updated(placed + HOUR_MS / 2)
                        .item("MUG-1", 2, "19.99"),
                )
            })
            .collect();

        let first = harness.sync(None, 2).await;
        let first = batch(&first).clone();
        let second = harness.sync(first.next_cursor.clone(), 2).await;
        let second = batch(&second).clone();
        let third = harness.sync(second.next_cursor.clone(), 2).await;
        let third = batch(&third).clone();

        let pulled: Vec<&str> = [&first, &second, &third]
            .iter()
            .flat_map(|batch| batch.records.iter().map(|r| r.external_id.as_str()))
            .collect();
        assert_eq!(pulled, ids.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            [first.has_more, second.has_more, third.has_more],
            [true, true, false]
        );
        assert_eq!(first.records.len(), 2);
        assert_eq!(third.records.len(), 1);

        let order = harness.amazon.order(&ids[0]).unwrap();
        let updated_at = amazon_date(order.last_update_date);
        let record = &first.records[0];
        assert_eq!(record.version, updated_at);
        assert_eq!(record.occurred_at, updated_at);
        assert_eq!(
            payload(record),
            json!({
                "marketplace": "amazon",
                "order_id": ids[0],
                "status": "unshipped",
                "marketplace_status": "Unshipped",
                "purchased_at": amazon_date(order.purchase_date),
                "updated_at": updated_at,
                "line_items": [],
                "total": {"amount": "39.98", "currency": "USD"},
            })
        );

        // The first page searched from thirty days back; the next ones paged
        // on with Amazon's NextToken.
        let requests = harness.requests();
        let gets: Vec<&RecordedRequest> = requests
            .iter()
            .filter(|request| request.host == NA_HOST)
            .collect();
        assert_eq!(gets.len(), 3);
        assert!(
            gets.iter()
                .all(|request| request.path == "/orders/v0/orders")
        );
        let after = thirty_days_before(now);
        let expected_first_query = format!(
            "MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter={}&MaxResultsPerPage=2",
            url::form_urlencoded::byte_serialize(after.as_bytes()).collect::<String>()
        );
        assert_sp_api_request(
            gets[0],
            "GET",
            "/orders/v0/orders",
            &expected_first_query.replace('+', "%20"),
            &harness.issued_token(0),
            None,
        );
        for get in &gets[1..] {
            let query: BTreeMap<String, String> =
                url::form_urlencoded::parse(get.query.as_deref().unwrap().as_bytes())
                    .into_owned()
                    .collect();
            assert_eq!(
                query.keys().map(String::as_str).collect::<Vec<_>>(),
                ["MarketplaceIds", "NextToken"]
            );
        }
        assert_eq!(harness.token_exchanges(), 1);

        // Later, one order is cancelled and a new one placed: the next search
        // starts at the latest update seen and finds both.
        harness.clock.advance(Duration::from_secs(600));
        harness
            .amazon
            .set_order_status(&ids[1], OrderStatus::Canceled);
        let new_order = harness.amazon.seed_order(
            &seller,
            OrderSeed::new(MARKETPLACE_US, harness.now_ms() - 60_000)
                .status(OrderStatus::Pending)
                .item("CUP-1", 1, "5.00"),
        );

        let later = harness.sync(third.next_cursor.clone(), 10).await;
        let later = batch(&later);

        assert!(!later.has_more);
        let by_id: BTreeMap<&str, Value> = later
            .records
            .iter()
            .map(|record| (record.external_id.as_str(), payload(record)))
            .collect();
        // The latest order of the last search comes again (same version,
        // which the host ignores); nothing older does.
        assert_eq!(
            by_id.keys().copied().collect::<Vec<_>>().len(),
            3,
            "{by_id:#?}"
        );
        assert_eq!(by_id[ids[4].as_str()]["status"], "unshipped");
        assert_eq!(by_id[ids[1].as_str()]["status"], "cancelled");
        assert_eq!(by_id[ids[1].as_str()]["marketplace_status"], "Canceled");
        assert_eq!(by_id[new_order.as_str()]["status"], "pending");
        assert!(
            by_id[new_order.as_str()].get("total").is_none(),
            "Amazon shows no total before payment"
        );
        let cancelled = later
            .records
            .iter()
            .find(|record| record.external_id == ids[1])
            .unwrap();
        assert_ne!(
            cancelled.version,
            amazon_date(now - 9 * HOUR_MS + HOUR_MS / 2)
        );
        let last_get = harness.requests().pop().unwrap();
        let query: BTreeMap<String, String> =
            url::form_urlencoded::parse(last_get.query.as_deref().unwrap().as_bytes())
                .into_owned()
                .collect();
        assert_eq!(
            query["LastUpdatedAfter"],
            amazon_date(now - 6 * HOUR_MS + HOUR_MS / 2)
        );
    }

    #[tokio::test]
    async fn every_amazon_status_maps_to_a_unified_status() {
        let harness = Harness::start().await;
        let now = harness.now_ms();
        let expected = [
            (OrderStatus::PendingAvailability, "pending"),
            (OrderStatus::Pending, "pending"),
            (OrderStatus::Unshipped, "unshipped"),
            (OrderStatus::PartiallyShipped, "partially_shipped"),
            (OrderStatus::Shipped, "shipped"),
            (OrderStatus::Canceled, "cancelled"),
            (OrderStatus::Unfulfillable, "unknown"),
            (OrderStatus::InvoiceUnconfirmed, "shipped"),
        ];
        let mut ids = BTreeMap::new();
        for (i, (status, unified)) in expected.iter().enumerate() {
            let id = harness.amazon.seed_order(
                &harness.seller.seller_id,
                OrderSeed::new(MARKETPLACE_US, now - (i as i64 + 1) * HOUR_MS)
                    .status(*status)
                    .item("MUG-1", 1, "9.99"),
            );
            ids.insert(id, (status.name(), *unified));
        }

        let invocation = harness.sync(None, 100).await;

        let batch = batch(&invocation);
        assert!(!batch.has_more);
        assert_eq!(batch.records.len(), expected.len());
        for record in &batch.records {
            let (amazon, unified) = ids[&record.external_id];
            let payload = payload(record);
            assert_eq!(payload["status"], unified, "{payload}");
            assert_eq!(payload["marketplace_status"], amazon, "{payload}");
        }
    }

    #[tokio::test]
    async fn a_throttled_page_is_a_retryable_sync_error() {
        let harness = Harness::start().await;
        harness
            .amazon
            .fail_operation(Operation::GetOrders, SpApiError::quota_exceeded(), 1);

        let invocation = harness.sync(None, 10).await;

        let error = sync_error(&invocation);
        assert!(error.retryable, "{error:?}");
        assert!(
            error.reason.starts_with("Amazon throttled getOrders"),
            "{}",
            error.reason
        );
        let remote = error.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(429));
        assert_eq!(remote.code.as_deref(), Some("QuotaExceeded"));
    }

    #[tokio::test]
    async fn a_cursor_from_elsewhere_is_refused() {
        let harness = Harness::start().await;

        let invocation = harness.sync(Some("2026-01-01T00:00:00Z".into()), 10).await;

        let error = sync_error(&invocation);
        assert!(!error.retryable);
        assert!(
            error.reason.contains("was not written by this connector"),
            "{}",
            error.reason
        );
        assert!(invocation.report.egress.is_empty());
    }
}

mod egress_policy {
    use super::*;

    #[test]
    fn the_manifest_allows_amazons_hosts_only() {
        let (manifest, _) = guest("connectors/amazon");
        let origins: Vec<String> = manifest
            .allowed_origins
            .patterns()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(!origins.is_empty());
        for origin in &origins {
            let host = origin
                .strip_prefix("https://")
                .unwrap_or_else(|| panic!("{origin} is not https"));
            let host = host.split(':').next().unwrap();
            assert!(
                host == "api.amazon.com" || host.contains("sellingpartnerapi-"),
                "{origin} is not one of Amazon's SP-API or LWA hosts"
            );
            assert!(host.ends_with(".amazon.com"), "{origin}");
        }
        let endpoint = manifest
            .settings
            .iter()
            .find(|setting| setting.key == "endpoint")
            .unwrap();
        assert_eq!(
            endpoint.default.as_deref(),
            Some("https://sellingpartnerapi-na.amazon.com")
        );
        for region in ["-na.", "-eu.", "-fe."] {
            assert!(endpoint.help.contains(region), "{}", endpoint.help);
        }
        assert_eq!(
            manifest.sync.as_ref().map(|sync| sync.entities.clone()),
            Some(vec!["orders".to_owned()])
        );
    }

    #[tokio::test]
    async fn an_ebay_endpoint_is_refused_by_the_host_and_ebay_receives_nothing() {
        let ca = TestCa::new().unwrap();
        let ebay = FakeEbay::start(&ca, EbayOptions::unthrottled())
            .await
            .unwrap();
        let harness =
            Harness::build(ca, AmazonOptions::unthrottled(), ebay.egress_overrides()).await;
        let mut settings = harness.settings();
        settings.push(("endpoint", "https://api.ebay.com"));
        let context = harness.context_with(&settings, &harness.credentials());

        let invocation = harness
            .deliver_with(context, product_updated(Some(10)))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .starts_with("Sluice refused to send the request to https://api.ebay.com: "),
            "{}",
            failure.reason
        );
        assert!(
            failure.reason.contains("set `endpoint`"),
            "{}",
            failure.reason
        );
        // The host refused before getting a token: nothing went to Login
        // with Amazon either.
        let [refused] = invocation.report.egress.as_slice() else {
            panic!(
                "expected one egress record, got {:?}",
                invocation.report.egress
            );
        };
        assert_eq!(refused.method, "PUT");
        assert_eq!(refused.origin, "https://api.ebay.com:443");
        assert_eq!(refused.status, None);
        assert_eq!(refused.address, None);
        let refusal = refused.refused.as_deref().expect("an egress refusal");
        assert!(
            refusal.contains("not in the connector's allowed origins"),
            "{refusal}"
        );
        assert!(
            ebay.recorder().is_empty(),
            "{:?}",
            ebay.recorder().requests()
        );
        assert!(harness.amazon.recorder().is_empty());

        // The connection check says the same, as a setting to fix.
        let check = harness.check_with(&settings, &harness.credentials()).await;
        let check = check_result(&check);
        assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
        assert!(
            check.message.contains("set `endpoint`"),
            "{}",
            check.message
        );
        assert!(ebay.recorder().is_empty());
    }
}

/// The credentials never reach the component: the manifest lets it read
/// none, and the host applies them to Amazon's SP-API endpoints only.
mod host_managed_credentials {
    use super::*;

    #[tokio::test]
    async fn no_secret_or_access_token_is_ever_in_the_components_memory() {
        let harness = Harness::start().await;
        let check = harness
            .check_with(&harness.settings(), &harness.credentials())
            .await;
        assert_eq!(check_result(&check).status, CheckStatus::Ok);
        harness.list_product().await;
        delivered(&harness.deliver(inventory_updated(SKU, 3)).await);
        batch(&harness.sync(None, 10).await);

        let seller = &harness.seller;
        let tokens = harness.amazon.access_tokens();
        assert!(!tokens.is_empty());
        let mut secrets = vec![
            ("the client secret", seller.client_secret.as_str()),
            ("the refresh token", seller.refresh_token.as_str()),
        ];
        secrets.extend(tokens.iter().map(|t| ("an access token", t.token.as_str())));
        assert_no_secret_in_guest_memory(&harness.memory, &secrets);
    }

    #[test]
    fn no_credential_is_readable_and_the_refresh_token_is_bound_to_the_sp_api() {
        let (manifest, _) = guest("connectors/amazon");
        let refresh = manifest.credential(CREDENTIAL).unwrap();
        let auth = refresh
            .auth
            .as_ref()
            .expect("the host applies the refresh token");
        let companions = auth.scheme.companions();
        assert_eq!(companions, ["client_id", "client_secret"]);
        for credential in &manifest.credentials {
            assert!(!credential.readable, "{} is readable", credential.key);
            assert!(
                credential.auth.is_some() || companions.contains(&credential.key.as_str()),
                "{} is neither applied by the host nor a companion of one that is",
                credential.key
            );
        }
        let AuthScheme::OAuth2RefreshToken {
            token_url,
            client_auth,
            apply,
            renew_on_status,
            scopes,
            ..
        } = &auth.scheme
        else {
            panic!(
                "expected the refresh-token grant, got {}",
                auth.scheme.name()
            );
        };
        assert_eq!(token_url, &format!("https://{LWA_HOST}{TOKEN_PATH}"));
        assert_eq!(*client_auth, sluice_manifest::ClientAuth::Body);
        assert!(scopes.is_empty());
        assert_eq!(
            (apply.header.as_str(), apply.prefix.as_str()),
            ("x-amz-access-token", "")
        );
        // Amazon answers 403 Unauthorized to an expired or revoked token.
        assert_eq!(renew_on_status, &[401, 403]);
        // Every SP-API origin the connector may call gets the token; Login
        // with Amazon itself never does.
        let bound = auth.allow_list();
        for origin in manifest.allowed_origins.patterns() {
            let uri: http::Uri = origin.to_string().parse().unwrap();
            let host = uri.host().unwrap();
            assert_eq!(
                bound.allows_uri(&uri),
                host != LWA_HOST,
                "{origin} should {}be bound",
                if host == LWA_HOST { "not " } else { "" }
            );
        }
    }

    #[tokio::test]
    async fn deliveries_work_without_the_component_reading_or_keeping_a_credential() {
        let harness = Harness::start().await;

        let listed = harness.deliver(product_updated(Some(10))).await;
        let stocked = harness.deliver(inventory_updated(SKU, 3)).await;

        delivered(&listed);
        delivered(&stocked);
        for invocation in [&listed, &stocked] {
            let report = &invocation.report;
            assert!(report.credentials_read.is_empty(), "{report:?}");
            assert!(report.credentials_refused.is_empty(), "{report:?}");
            let text = serde_json::to_string(report).unwrap();
            for secret in [
                &harness.seller.client_secret,
                &harness.seller.refresh_token,
                &harness.issued_token(0),
            ] {
                assert!(!text.contains(secret.as_str()), "the report shows a secret");
            }
        }
        assert!(harness.state.snapshot(harness.now_ms()).is_empty());
        // The host applied the access token it obtained.
        let patch = harness.requests().pop().unwrap();
        assert_eq!(
            patch.header("x-amz-access-token"),
            Some(harness.issued_token(0).as_str())
        );
    }

    #[tokio::test]
    async fn an_endpoint_on_login_with_amazons_host_gets_no_token() {
        let harness = Harness::start().await;
        let mut settings = harness.settings();
        settings.push(("endpoint", "https://api.amazon.com"));
        let context = harness.context_with(&settings, &harness.credentials());

        let invocation = harness
            .deliver_with(context, product_updated(Some(10)))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .starts_with("Sluice refused to send the request to https://api.amazon.com: "),
            "{}",
            failure.reason
        );
        let [refused] = invocation.report.egress.as_slice() else {
            panic!("expected one refusal, got {:?}", invocation.report.egress);
        };
        let refusal = refused.refused.as_deref().expect("a refusal");
        assert!(
            refusal.contains("credential 'refresh_token' is not bound to"),
            "{refusal}"
        );
        assert!(harness.amazon.recorder().is_empty());
    }
}

/// The listing profile: how a store's products become listings of its
/// product type (settings `listing_requirements`, `attribute_map`,
/// `fixed_attributes`) and the marketplace's currency.
mod listing_profile {
    use super::*;

    /// The attributes issue 14's review found Amazon requiring of product
    /// type PRODUCT in the US marketplace, besides the ones every listing
    /// needs.
    const PRODUCT_TYPE_REQUIRES: [&str; 4] = [
        "bullet_point",
        "country_of_origin",
        "item_type_keyword",
        "supplier_declared_dg_hz_regulation",
    ];

    const FIXED: &str = r#"{
        "bullet_point": [{"value": "100% organic cotton", "language_tag": "en_US"}],
        "country_of_origin": [{"value": "PT"}],
        "item_type_keyword": [{"value": "t-shirts"}],
        "supplier_declared_dg_hz_regulation": [{"value": "not_applicable"}]
    }"#;

    async fn strict_harness() -> Harness {
        let mut rules = ListingRules::default();
        rules
            .listing
            .extend(PRODUCT_TYPE_REQUIRES.iter().map(|name| name.to_string()));
        Harness::with_options(AmazonOptions {
            listing_rules: rules,
            ..AmazonOptions::unthrottled()
        })
        .await
    }

    #[tokio::test]
    async fn attributes_the_product_type_requires_come_from_fixed_attributes() {
        let harness = strict_harness().await;

        let without = harness.deliver(product_updated(Some(3))).await;
        let reason = &failed(&without).reason;
        for name in PRODUCT_TYPE_REQUIRES {
            assert!(
                reason.contains(&format!("'{name}' is required but not supplied.")),
                "{reason}"
            );
        }

        let mut settings = harness.settings();
        settings.push(("fixed_attributes", FIXED));
        let context = harness.context_with(&settings, &harness.credentials());
        let invocation = harness
            .deliver_with(context, product_updated(Some(3)))
            .await;

        let listing = harness
            .amazon
            .listing(&harness.seller.seller_id, SKU)
            .expect("the listing was stored");
        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(listing.submission_id.as_str())
        );
        assert_eq!(listing.first_value("country_of_origin"), Some("PT"));
        assert_eq!(
            listing.attributes["supplier_declared_dg_hz_regulation"],
            json!([{"value": "not_applicable", "marketplace_id": MARKETPLACE_US}])
        );
        assert_eq!(listing.first_value("color"), Some("red"), "mapped");
    }

    #[tokio::test]
    async fn unmapped_store_attributes_are_not_sent_under_made_up_names() {
        let harness = Harness::start().await;
        let mut payload = product_payload(Some(1));
        payload["attributes"] = json!({"Größe": "XL", "color": "red", "fabric": "jersey"});
        let mut settings = harness.settings();
        settings.retain(|(key, _)| *key != "attribute_map");
        settings.push(("attribute_map", r#"{"Größe": "size"}"#));
        let context = harness.context_with(&settings, &harness.credentials());

        delivered(
            &harness
                .deliver_with(context, event("product.updated", &payload.to_string()))
                .await,
        );

        let listing = harness
            .amazon
            .listing(&harness.seller.seller_id, SKU)
            .unwrap();
        assert_eq!(listing.first_value("size"), Some("XL"));
        for absent in ["gr__e", "color", "fabric"] {
            assert!(!listing.attributes.contains_key(absent), "{absent}");
        }
    }

    #[tokio::test]
    async fn an_offer_on_an_existing_asin_is_submitted_as_listing_offer_only() {
        let harness = Harness::start().await;
        let mut payload = product_payload(Some(4));
        payload["attributes"] = json!({"asin": "B0EXAMPLE1"});
        let mut settings = harness.settings();
        settings.retain(|(key, _)| *key != "attribute_map");
        settings.push(("listing_requirements", "LISTING_OFFER_ONLY"));
        settings.push(("attribute_map", r#"{"asin": "merchant_suggested_asin"}"#));
        let context = harness.context_with(&settings, &harness.credentials());

        delivered(
            &harness
                .deliver_with(context, event("product.updated", &payload.to_string()))
                .await,
        );

        let put = harness.requests().pop().unwrap();
        let body = put.json().unwrap();
        assert_eq!(body["requirements"], "LISTING_OFFER_ONLY");
        let attributes = body["attributes"].as_object().unwrap();
        assert_eq!(
            attributes["merchant_suggested_asin"],
            json!([{"value": "B0EXAMPLE1", "marketplace_id": MARKETPLACE_US}])
        );
        for product_fact in ["item_name", "brand", "main_product_image_locator"] {
            assert!(!attributes.contains_key(product_fact), "{product_fact}");
        }
        let listing = harness
            .amazon
            .listing(&harness.seller.seller_id, SKU)
            .unwrap();
        assert_eq!(listing.requirements, Requirements::ListingOfferOnly);
    }

    #[tokio::test]
    async fn a_price_in_another_currency_than_the_marketplaces_fails_without_a_call() {
        let harness = Harness::start().await;
        let mut payload = product_payload(Some(1));
        payload["price"] = json!({"amount": "17.50", "currency": "EUR"});

        let invocation = harness
            .deliver(event("product.updated", &payload.to_string()))
            .await;

        let reason = &failed(&invocation).reason;
        assert!(
            reason.contains("price.currency is EUR")
                && reason.contains("ATVPDKIKX0DER sells in USD"),
            "{reason}"
        );
        assert!(egress(&invocation).is_empty());
    }
}
