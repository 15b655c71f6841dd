//! Property tests: the bundled connectors, run in the real host runtime
//! against their fakes, for events generated across the ranges
//! `docs/events.md` allows (optional fields absent, unicode, values at and
//! past the marketplaces' limits, zero and huge quantities, odd SKUs,
//! several carriers). For every event, each request the connector sends
//! validates against the official schema subset in `tests/schemas/`, and
//! the delivery either succeeds or fails permanently, before any refused
//! call, with a reason naming the field and the marketplace's limit.
//!
//! Case counts are kept small (each case runs wasm calls over TLS); the
//! generators put their weight on the boundaries.

use std::sync::Arc;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use sluice_core::{Clock, ManualClock};
use sluice_runtime::types::{DeliveryOutcome, Event};
use sluice_runtime::{Invocation, LoadedConnector, MemoryState, Runtime};
use sluice_tests::TestCa;
use sluice_tests::fakes::amazon::{AmazonOptions, FakeAmazon, MARKETPLACE_US};
use sluice_tests::fakes::ebay::{EbayOptions, EbayOrderSeed, FakeEbay};
use sluice_tests::fakes::google::{AccountAccess, FakeGoogle, GoogleOptions};
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::fakes::spec::{
    AMAZON_LISTINGS, EBAY_FULFILLMENT, EBAY_INVENTORY, GOOGLE_PRODUCTS, Operation, RequestDocument,
    SLACK_BLOCK_KIT,
};
use sluice_tests::guests::guest;
use sluice_tests::recorder::RecordedRequest;
use sluice_tests::sandbox::{call_context, event, runtime};

/// Cases per property: enough to reach every boundary the generators
/// weigh, few enough for `make test`.
const CASES: u32 = 24;

fn runner() -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })
}

/// Text of exactly `chars` characters, words of mixed scripts.
fn text(chars: usize) -> String {
    "Größe café naïve T-shirt 100% cotton & more "
        .chars()
        .cycle()
        .take(chars)
        .collect()
}

/// A length weighted towards `limit` and just past it, within `max`.
fn around(limit: usize, max: usize) -> BoxedStrategy<usize> {
    prop_oneof![
        2 => 1..=limit,
        2 => limit.saturating_sub(2).max(1)..=(limit + 2).min(max),
        1 => 1..=max,
    ]
    .boxed()
}

/// An `https` URL of about `chars` characters, sometimes with non-ASCII
/// letters and spaces in its path.
fn url(host: &'static str, chars: BoxedStrategy<usize>) -> impl Strategy<Value = String> {
    (chars, any::<bool>()).prop_map(move |(chars, unicode)| {
        let prefix = format!("https://{host}/");
        let path: String = if unicode {
            "bild größe 1/"
        } else {
            "image-1/"
        }
        .chars()
        .cycle()
        .take(chars.saturating_sub(prefix.len()))
        .collect();
        format!("{prefix}{path}")
    })
}

fn sku() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9_-]{1,50}",
        1 => "[A-Za-z0-9 /#%~éß_.-]{1,50}",
    ]
}

fn quantity() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        1 => Just(None),
        3 => (0u64..=20).prop_map(Some),
        1 => (2_147_483_640u64..=2_147_483_650).prop_map(Some),
        1 => (3_000_000_000u64..=9_007_199_254_740_991).prop_map(Some),
    ]
}

fn gtin() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{8}", "[0-9]{12}", "[0-9]{13}", "[0-9]{14}"]
}

/// A `product.updated` payload (docs/events.md), priced in `currency` most
/// of the time.
fn product(currency: &'static str) -> impl Strategy<Value = Value> {
    let identity = (
        sku(),
        around(150, 150).prop_map(text),
        proptest::option::of(around(4000, 5000).prop_map(text)),
        proptest::option::of(around(70, 120).prop_map(text)),
        proptest::option::of(gtin()),
        proptest::option::of(around(65, 100).prop_map(text)),
    );
    let offer = (
        "[1-9][0-9]{0,5}(\\.[0-9]{1,2})?",
        prop_oneof![4 => Just(currency), 1 => Just("EUR"), 1 => Just("GBP")],
        proptest::option::of(prop_oneof![Just("new"), Just("used"), Just("refurbished")]),
        quantity(),
    );
    let media = (
        vec(url("cdn.example.com", around(2000, 3100)), 0..=30),
        proptest::option::of(url("shop.example.com", around(2000, 2100))),
        btree_map(
            prop_oneof![
                Just("color".to_owned()),
                Just("Größe".to_owned()),
                Just("material".to_owned()),
                around(40, 60).prop_map(text),
            ],
            around(50, 80).prop_map(text),
            0..=4,
        ),
    );
    (identity, offer, media).prop_map(
        |(
            (sku, title, description, brand, gtin, mpn),
            (amount, currency, condition, quantity),
            (images, link, attributes),
        )| {
            let mut payload = json!({
                "sku": sku,
                "title": title,
                "price": {"amount": amount, "currency": currency},
                "images": images,
                "attributes": attributes,
            });
            let mut put = |name: &str, value: Option<Value>| {
                if let Some(value) = value {
                    payload[name] = value;
                }
            };
            put("description", description.map(Value::from));
            put("brand", brand.map(Value::from));
            put("condition", condition.map(Value::from));
            put("quantity", quantity.map(Value::from));
            put("link", link.map(Value::from));
            let mut identifiers = Map::new();
            if let Some(gtin) = gtin {
                identifiers.insert("gtin".into(), gtin.into());
            }
            if let Some(mpn) = mpn {
                identifiers.insert("mpn".into(), mpn.into());
            }
            payload["identifiers"] = Value::Object(identifiers);
            payload
        },
    )
}

/// `text` with `%XX` escapes decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_of(request: &RecordedRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The request as the document its schema describes.
fn document(request: &RecordedRequest, path: &[(&str, &str)]) -> Value {
    let query = query_of(request);
    RequestDocument::new()
        .path(path)
        .query(query.iter().map(|(name, value)| (name, value)))
        .headers(&request.headers)
        .body(&request.body)
        .build()
}

/// Fails the case when `document` breaks `operation`'s schema.
fn conforms(
    operation: &Operation,
    request: &RecordedRequest,
    document: &Value,
) -> Result<(), TestCaseError> {
    let violations = operation.violations(document);
    prop_assert!(
        violations.is_empty(),
        "{} {} breaks {}: {violations:?}",
        request.method,
        request.path,
        operation.source()
    );
    Ok(())
}

/// Fails the case unless `invocation` was delivered, or failed permanently
/// with a reason that names one of `fields` and states a rule.
fn delivered_or_refused(
    invocation: &Invocation<DeliveryOutcome>,
    fields: &[&str],
) -> Result<Option<String>, TestCaseError> {
    match &invocation.result {
        Ok(DeliveryOutcome::Delivered(_)) => Ok(None),
        Ok(DeliveryOutcome::Failed(failure)) => {
            let reason = &failure.reason;
            prop_assert!(
                failure.remote.is_none(),
                "the marketplace refused a request the connector sent: {reason}"
            );
            prop_assert!(
                fields.iter().any(|field| reason.contains(field)),
                "the reason names none of {fields:?}: {reason}"
            );
            Ok(Some(reason.clone()))
        }
        other => Err(TestCaseError::fail(format!("unexpected outcome {other:?}"))),
    }
}

/// Runs `property` on a multi-threaded runtime for the fakes.
fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Sandbox {
    runtime: Runtime,
    connector: Arc<LoadedConnector>,
    clock: Arc<ManualClock>,
}

impl Sandbox {
    async fn load(
        ca: &TestCa,
        overrides: std::collections::BTreeMap<String, std::net::SocketAddr>,
        folder: &str,
    ) -> Self {
        let runtime = runtime(ca, overrides);
        let (manifest, bytes) = guest(folder);
        let connector = runtime.load(manifest, bytes).await.unwrap();
        Self {
            runtime,
            connector,
            clock: Arc::new(ManualClock::starting_now()),
        }
    }

    async fn deliver(
        &self,
        settings: &[(&str, &str)],
        credentials: &[(&str, &str)],
        event: Event,
    ) -> Invocation<DeliveryOutcome> {
        let context = call_context(
            settings,
            credentials,
            &MemoryState::default(),
            self.clock.clone(),
        );
        self.runtime.deliver(&self.connector, context, event).await
    }
}

#[test]
fn every_ebay_listing_request_conforms_or_the_event_is_refused_with_ebays_rule() {
    let tokio = tokio();
    let ca = TestCa::new().unwrap();
    let ebay = tokio
        .block_on(FakeEbay::start(&ca, EbayOptions::unthrottled()))
        .unwrap();
    let sandbox = tokio.block_on(Sandbox::load(
        &ca,
        ebay.egress_overrides(),
        "connectors/ebay",
    ));
    let seller = ebay.onboard_seller();
    let policies = &seller.policies;
    let settings = [
        ("marketplace_id", "EBAY_US"),
        ("content_language", "en-US"),
        (
            "merchant_location_key",
            seller.merchant_location_key.as_str(),
        ),
        ("category_id", "15687"),
        (
            "fulfillment_policy_id",
            policies.fulfillment_policy_id.as_str(),
        ),
        ("payment_policy_id", policies.payment_policy_id.as_str()),
        ("return_policy_id", policies.return_policy_id.as_str()),
    ];
    let credentials = [
        ("client_id", seller.app.client_id.as_str()),
        ("client_secret", seller.app.client_secret.as_str()),
        ("refresh_token", seller.refresh_token.as_str()),
    ];
    let item = Operation::new(&EBAY_INVENTORY, "createOrReplaceInventoryItem");
    let offer = Operation::new(&EBAY_INVENTORY, "createOffer");
    let bulk = Operation::new(&EBAY_INVENTORY, "bulkUpdatePriceQuantity");
    runner()
        .run(&product("USD"), |payload| {
            let before = ebay.recorder().len();
            let invocation = tokio.block_on(sandbox.deliver(
                &settings,
                &credentials,
                event("product.updated", &payload.to_string()),
            ));
            let sent = &ebay.recorder().requests()[before..];
            for request in sent.iter().filter(|r| r.path.starts_with("/sell/")) {
                let path = request.path.trim_start_matches("/sell/inventory/v1");
                match (request.method.as_str(), path) {
                    ("PUT", path) if path.starts_with("/inventory_item/") => {
                        let sku = percent_decoded(path.trim_start_matches("/inventory_item/"));
                        conforms(&item, request, &document(request, &[("sku", &sku)]))?
                    }
                    ("POST", "/offer") => conforms(&offer, request, &document(request, &[]))?,
                    ("POST", "/bulk_update_price_quantity") => {
                        conforms(&bulk, request, &document(request, &[]))?
                    }
                    _ => {}
                }
            }
            let reason = delivered_or_refused(
                &invocation,
                &[
                    "sku",
                    "brand",
                    "identifiers.mpn",
                    "quantity",
                    "price.currency",
                    "product.imageUrls",
                    "availableQuantity",
                ],
            )?;
            if let Some(reason) = reason {
                prop_assert!(
                    reason.contains("eBay takes")
                        || reason.contains("int32")
                        || reason.contains("lists in")
                        || reason.contains("publishes an offer only with"),
                    "the reason states no eBay rule: {reason}"
                );
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_ebay_shipment_conforms_with_ebays_carrier_codes_or_is_refused() {
    let tokio = tokio();
    let ca = TestCa::new().unwrap();
    let ebay = tokio
        .block_on(FakeEbay::start(&ca, EbayOptions::unthrottled()))
        .unwrap();
    let sandbox = tokio.block_on(Sandbox::load(
        &ca,
        ebay.egress_overrides(),
        "connectors/ebay",
    ));
    let seller = ebay.onboard_seller();
    let credentials = [
        ("client_id", seller.app.client_id.as_str()),
        ("client_secret", seller.app.client_secret.as_str()),
        ("refresh_token", seller.refresh_token.as_str()),
    ];
    let fulfillment = Operation::new(&EBAY_FULFILLMENT, "ShippingFulfillmentDetails");
    let carriers = prop_oneof![
        Just("UPS"),
        Just("USPS"),
        Just("FedEx"),
        Just("DHL"),
        Just("Royal Mail"),
        Just("Deutsche Post"),
        Just("royalmail"),
        Just("La Poste"),
        Just("Bob's Couriers"),
    ];
    let tracking = prop_oneof![
        3 => "[A-Z0-9]{8,22}",
        2 => "[A-Z0-9]{2,6}([ ./-][A-Z0-9]{2,6}){1,3}",
        1 => "[A-Z0-9ÄÖ]{4,12}",
    ];
    runner()
        .run(&(carriers, tracking, 1u64..=3), |(carrier, tracking, quantity)| {
            let now = sandbox.clock.now_ms();
            let order_id = ebay.seed_order(
                EbayOrderSeed::new(now - 3_600_000).line_item("MUG-1", 3, "19.99"),
            );
            let order = ebay.order(&order_id).unwrap();
            let payload = json!({
                "marketplace": "ebay",
                "order_id": order_id,
                "line_items": [{"line_item_id": order.line_items[0].line_item_id, "quantity": quantity}],
                "carrier": carrier,
                "tracking_number": tracking,
                "shipped_at": "2026-11-22T10:00:00+01:00",
            });
            let before = ebay.recorder().len();
            let invocation = tokio.block_on(sandbox.deliver(
                &[],
                &credentials,
                event("order.fulfilled", &payload.to_string()),
            ));
            let sent = &ebay.recorder().requests()[before..];
            let posts: Vec<&RecordedRequest> = sent
                .iter()
                .filter(|r| r.path.ends_with("/shipping_fulfillment"))
                .collect();
            for request in &posts {
                let body: Value = request.json().unwrap();
                conforms(&fulfillment, request, &body)?;
            }
            if delivered_or_refused(&invocation, &["tracking_number"])?.is_none() {
                prop_assert_eq!(posts.len(), 1);
                let body: Value = posts[0].json().unwrap();
                if carrier == "Royal Mail" || carrier == "royalmail" {
                    prop_assert_eq!(&body["shippingCarrierCode"], "RoyalMail");
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_amazon_listing_request_conforms_or_the_event_is_refused() {
    let tokio = tokio();
    let ca = TestCa::new().unwrap();
    let amazon = tokio
        .block_on(FakeAmazon::start(&ca, AmazonOptions::unthrottled()))
        .unwrap();
    let sandbox = tokio.block_on(Sandbox::load(
        &ca,
        amazon.egress_overrides(),
        "connectors/amazon",
    ));
    let seller = amazon.onboard_seller(&[MARKETPLACE_US]);
    let settings = [
        ("seller_id", seller.seller_id.as_str()),
        ("marketplace_id", MARKETPLACE_US),
        ("attribute_map", r#"{"color": "color", "Größe": "size"}"#),
    ];
    let credentials = [
        ("client_id", seller.client_id.as_str()),
        ("client_secret", seller.client_secret.as_str()),
        ("refresh_token", seller.refresh_token.as_str()),
    ];
    let put = Operation::new(&AMAZON_LISTINGS, "putListingsItem");
    let patch = Operation::new(&AMAZON_LISTINGS, "patchListingsItem");
    runner()
        .run(&product("USD"), |payload| {
            let before = amazon.recorder().len();
            let invocation = tokio.block_on(sandbox.deliver(
                &settings,
                &credentials,
                event("product.updated", &payload.to_string()),
            ));
            let sent = &amazon.recorder().requests()[before..];
            for request in sent.iter().filter(|r| r.path.starts_with("/listings/")) {
                let mut segments = request.path.rsplit('/');
                let sku = percent_decoded(segments.next().unwrap());
                let seller_id = percent_decoded(segments.next().unwrap());
                let document = document(request, &[("sellerId", &seller_id), ("sku", &sku)]);
                let operation = if request.method == "PUT" {
                    &put
                } else {
                    &patch
                };
                conforms(operation, request, &document)?;
                let attributes = &document["body"]["attributes"];
                prop_assert!(
                    attributes.get("gr__e").is_none() && attributes.get("material").is_none(),
                    "unmapped attributes went out: {attributes}"
                );
            }
            if let Some(reason) = delivered_or_refused(&invocation, &["price.currency"])? {
                prop_assert!(reason.contains("sells in USD"), "{reason}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_google_insert_conforms_or_the_event_is_refused_with_googles_limit() {
    let tokio = tokio();
    let ca = TestCa::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let google = tokio
        .block_on(FakeGoogle::start(
            &ca,
            GoogleOptions {
                merchant_api_rate: sluice_tests::RateLimit::Unlimited,
                clock: clock.clone(),
            },
        ))
        .unwrap();
    let sandbox = tokio.block_on(Sandbox::load(
        &ca,
        google.egress_overrides(),
        "connectors/google-shopping",
    ));
    let account = google.add_merchant_account(AccountAccess::Granted);
    let data_source = google.create_data_source(account, "Sluice");
    let data_source_id = data_source.rsplit('/').next().unwrap().to_owned();
    let account = account.to_string();
    let key_file = google.service_account().key_file_json();
    let settings = [
        ("merchant_id", account.as_str()),
        ("data_source", data_source_id.as_str()),
        ("feed_label", "US"),
        ("content_language", "en"),
    ];
    let credentials = [("service_account_key", key_file.as_str())];
    let insert = Operation::new(&GOOGLE_PRODUCTS, "insertProductInput");
    runner()
        .run(&product("USD"), |payload| {
            let before = google.recorder().len();
            let invocation = tokio.block_on(sandbox.deliver(
                &settings,
                &credentials,
                event("product.updated", &payload.to_string()),
            ));
            let sent = &google.recorder().requests()[before..];
            for request in sent
                .iter()
                .filter(|r| r.path.ends_with("productInputs:insert"))
            {
                conforms(&insert, request, &document(request, &[]))?;
            }
            if let Some(reason) = delivered_or_refused(
                &invocation,
                &["link", "images[0]", "brand", "identifiers.mpn"],
            )? {
                prop_assert!(reason.contains("2000") || reason.contains("70"), "{reason}");
            }
            Ok(())
        })
        .unwrap();
}

/// A generic event: up to 40 top-level fields of up to 3,000 characters.
fn generic_payload() -> impl Strategy<Value = Value> {
    btree_map("[a-z_]{1,20}", around(2000, 3000).prop_map(text), 0..=40)
        .prop_map(|fields| json!(fields))
}

#[test]
fn every_slack_message_conforms_to_block_kit_within_the_total_text_bound() {
    let tokio = tokio();
    let ca = TestCa::new().unwrap();
    let slack = tokio
        .block_on(FakeSlack::start(&ca, SlackOptions::unthrottled()))
        .unwrap();
    let sandbox = tokio.block_on(Sandbox::load(
        &ca,
        slack.egress_overrides(),
        "connectors/slack",
    ));
    let channel = slack.create_channel("orders", Membership::Member);
    let webhook = slack.register_webhook(&channel);
    let message = Operation::new(&SLACK_BLOCK_KIT, "message");
    let events = prop_oneof![
        generic_payload().prop_map(|payload| ("thing.happened", payload)),
        product("USD").prop_map(|payload| ("product.updated", payload)),
    ];
    runner()
        .run(&events, |(event_type, payload)| {
            let before = slack.recorder().len();
            let invocation = tokio.block_on(sandbox.deliver(
                &[("mode", "incoming-webhook")],
                &[("webhook_url", webhook.as_str())],
                event(event_type, &payload.to_string()),
            ));
            let sent = &slack.recorder().requests()[before..];
            prop_assert_eq!(sent.len(), 1);
            let body: Value = sent[0].json().unwrap();
            conforms(&message, &sent[0], &body)?;
            let total: usize = body["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .map(text_chars)
                .sum();
            prop_assert!(total <= 12_000, "{total} characters of block text");
            prop_assert!(
                matches!(invocation.result, Ok(DeliveryOutcome::Delivered(_))),
                "{:?}",
                invocation.result
            );
            Ok(())
        })
        .unwrap();
}

/// Characters of text in `value`: its `text` and `alt_text` strings.
fn text_chars(value: &Value) -> usize {
    match value {
        Value::Object(object) => object
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) if key == "text" || key == "alt_text" => text.chars().count(),
                other => text_chars(other),
            })
            .sum(),
        Value::Array(values) => values.iter().map(text_chars).sum(),
        _ => 0,
    }
}
