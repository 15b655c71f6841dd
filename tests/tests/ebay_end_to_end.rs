//! The eBay connector through the whole service: a store configures it
//! through the API, platform events go in, the fake eBay receives the
//! listing, quantity and shipment calls (authenticated by the host with
//! one access token it obtained and cached), and the deliveries end
//! delivered with eBay's ids, or dead-lettered with eBay's reason, a
//! revoked refresh token included.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use sluice_core::Clock;
use sluice_tests::TestCa;
use sluice_tests::fakes::ebay::{EbayChange, EbayOptions, EbayOrderSeed, EbaySeller, FakeEbay};
use sluice_tests::service::{Options, TestService};

const STORE: &str = "s1";
const SKU: &str = "TSHIRT-RED-M";

struct Setup {
    ebay: FakeEbay,
    seller: EbaySeller,
    service: TestService,
    config_id: String,
    _ca: Arc<TestCa>,
}

/// A service with an eBay configuration for the fake's seller, no retries
/// (a failure dead-letters at once).
async fn setup() -> Setup {
    let ca = Arc::new(TestCa::new().unwrap());
    let ebay = FakeEbay::start(&ca, EbayOptions::unthrottled())
        .await
        .unwrap();
    let seller = ebay.onboard_seller();
    let service = TestService::start(Options {
        resolve: ebay
            .egress_overrides()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ca: Some(ca.clone()),
        configure: Box::new(|config| config.delivery.retry.schedule_seconds = vec![]),
        ..Options::default()
    })
    .await;
    let created = service
        .post(
            &format!("/v1/stores/{STORE}/connectors"),
            configuration(&seller),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let config_id = created.body["id"].as_str().unwrap().to_owned();
    Setup {
        ebay,
        seller,
        service,
        config_id,
        _ca: ca,
    }
}

fn configuration(seller: &EbaySeller) -> Value {
    json!({
        "connector_id": "ebay",
        "name": "eBay US",
        "event_types": ["product.updated", "inventory.updated", "order.fulfilled"],
        "settings": {
            "marketplace_id": "EBAY_US",
            "merchant_location_key": seller.merchant_location_key,
            "category_id": "15687",
            "fulfillment_policy_id": seller.policies.fulfillment_policy_id,
            "payment_policy_id": seller.policies.payment_policy_id,
            "return_policy_id": seller.policies.return_policy_id,
        },
        "credentials": {
            "client_id": seller.app.client_id,
            "client_secret": seller.app.client_secret,
            "refresh_token": seller.refresh_token,
        },
    })
}

fn envelope(id: &str, event_type: &str, payload: Value) -> Value {
    json!([{
        "id": id,
        "type": event_type,
        "store_id": STORE,
        "occurred_at": "2026-11-22T10:15:00Z",
        "payload": payload,
    }])
}

fn product(price: &str, quantity: u32) -> Value {
    json!({
        "sku": SKU,
        "title": "Red T-shirt, medium",
        "description": "100% organic cotton.",
        "brand": "Acme",
        "identifiers": { "gtin": "00012345678905", "mpn": "TS-R-M" },
        "images": ["https://cdn.example.com/tshirt-red.jpg"],
        "price": { "amount": price, "currency": "USD" },
        "condition": "new",
        "quantity": quantity,
        "attributes": { "color": "red", "size": "M" }
    })
}

impl Setup {
    /// Sends one event and waits until its delivery to the eBay
    /// configuration reaches `status`; returns the delivery.
    async fn deliver(&self, id: &str, event_type: &str, payload: Value, status: &str) -> Value {
        self.service
            .send_events(envelope(id, event_type, payload))
            .await;
        let query = format!("target_id={}&event_id={id}&status={status}", self.config_id);
        let found = self.service.wait_for_deliveries(STORE, &query, 1).await;
        found[0].clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_reaches_ebay_and_a_refusal_dead_letters_with_ebays_reason() {
    let setup = setup().await;
    let service = &setup.service;
    let ebay = &setup.ebay;

    let tested = service
        .post(
            &format!("/v1/stores/{STORE}/connectors/{}/test", setup.config_id),
            json!({}),
        )
        .await;
    assert_eq!(tested.status, 200, "{:?}", tested.body);
    assert_eq!(tested.body["status"], "ok", "{:?}", tested.body);
    // The host obtained the access token for the check: the exchange is in
    // its report, named by the credential, and the component read none.
    let egress = tested.body["report"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 2, "{egress:#?}");
    assert_eq!(egress[0]["path"], "/identity/v1/oauth2/token");
    assert_eq!(egress[0]["token_exchange"], true);
    assert_eq!(egress[0]["status"], 200);
    assert!(egress.iter().all(|r| r["credential"] == "refresh_token"));
    assert_eq!(tested.body["report"]["credentials_read"], json!([]));

    // product.updated: item, offer, publish; the listing id comes back.
    let listed = setup
        .deliver(
            "evt_p1",
            "product.updated",
            product("19.99", 10),
            "delivered",
        )
        .await;
    let offers = ebay.offers(SKU);
    let [offer] = offers.as_slice() else {
        panic!("expected one offer, got {offers:?}");
    };
    assert_eq!(listed["external_id"], json!(offer.listing_id));
    // The deliveries use the token the check's exchange got.
    let detail = service
        .delivery(STORE, listed["id"].as_str().unwrap())
        .await;
    let report = &detail["attempts"][0]["report"];
    let egress = report["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 3, "{report:#}");
    assert!(egress.iter().all(|r| r.get("token_exchange").is_none()));
    assert!(egress.iter().all(|r| r["credential"] == "refresh_token"));
    assert_eq!(report["credentials_read"], json!([]), "{report:#}");
    assert_eq!(ebay.inventory_item(SKU).unwrap().quantity(), Some(10));

    // Again: the offer id comes from the configuration's state in the
    // database; no second offer, the new price reaches the kept one.
    setup
        .deliver(
            "evt_p2",
            "product.updated",
            product("17.50", 8),
            "delivered",
        )
        .await;
    let offers = ebay.offers(SKU);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].price.as_ref().unwrap().value, "17.50");

    // inventory.updated: one bulk update of the item and the offer.
    let stocked = setup
        .deliver(
            "evt_i1",
            "inventory.updated",
            json!({"sku": SKU, "quantity": 3}),
            "delivered",
        )
        .await;
    assert_eq!(stocked["external_id"], Value::Null);
    assert_eq!(ebay.inventory_item(SKU).unwrap().quantity(), Some(3));
    assert_eq!(ebay.offers(SKU)[0].available_quantity, Some(3));

    // order.fulfilled: a shipping fulfillment named by its tracking number.
    let order_id = ebay.seed_order(
        EbayOrderSeed::new(service.clock.now_ms() - 3_600_000).line_item(SKU, 1, "19.99"),
    );
    let line = ebay.order(&order_id).unwrap().line_items[0]
        .line_item_id
        .clone();
    let shipped = setup
        .deliver(
            "evt_f1",
            "order.fulfilled",
            json!({
                "marketplace": "ebay",
                "order_id": order_id,
                "line_items": [{"line_item_id": line, "sku": SKU, "quantity": 1}],
                "carrier": "USPS",
                "tracking_number": "9400111899223100012345",
                "shipped_at": "2026-11-22T09:00:00Z",
            }),
            "delivered",
        )
        .await;
    assert_eq!(shipped["external_id"], "9400111899223100012345");
    assert!(ebay.order(&order_id).unwrap().line_items[0].fulfilled);

    // An order eBay does not know: permanent, dead-lettered with eBay's reason.
    let dead = setup
        .deliver(
            "evt_f2",
            "order.fulfilled",
            json!({
                "marketplace": "ebay",
                "order_id": "99-99999-99999",
                "line_items": [{"line_item_id": "10000000000000", "quantity": 1}],
                "carrier": "USPS",
                "tracking_number": "9400111899223100099999",
                "shipped_at": "2026-11-22T09:00:00Z",
            }),
            "dead",
        )
        .await;
    assert_eq!(dead["attempt_count"], 1);
    let last_error = dead["last_error"].as_str().unwrap();
    assert_eq!(
        last_error,
        "eBay refused to create the shipping fulfillment for order 99-99999-99999: 32100: Invalid order Id [orderId=99-99999-99999] (remote: HTTP 400, 32100, 32100: Invalid order Id [orderId=99-99999-99999])"
    );
    let detail = service.delivery(STORE, dead["id"].as_str().unwrap()).await;
    let report = &detail["attempts"][0]["report"];
    assert_eq!(
        report["egress"][0]["path"],
        "/sell/fulfillment/v1/order/99-99999-99999/shipping_fulfillment",
        "{report:#}"
    );
    assert_eq!(report["egress"][0]["status"], 400, "{report:#}");

    // One token served the check and every delivery: the host caches it
    // for the configuration.
    assert_eq!(ebay.access_tokens().len(), 1);
    let exchanges = ebay
        .recorder()
        .requests()
        .iter()
        .filter(|request| request.path == "/identity/v1/oauth2/token")
        .count();
    assert_eq!(exchanges, 1);
    let writes: Vec<&str> = ebay
        .changes()
        .iter()
        .map(|change| match change {
            EbayChange::InventoryItemPut(_) => "item",
            EbayChange::OfferCreated(_) => "offer",
            EbayChange::OfferPublished(_) => "publish",
            EbayChange::PriceQuantityUpdated(_) => "bulk",
            EbayChange::ShippingFulfillmentCreated(_) => "fulfillment",
        })
        .collect();
    assert_eq!(
        writes,
        [
            "item",
            "offer",
            "publish",
            "item",
            "bulk",
            "bulk",
            "fulfillment"
        ]
    );

    // The seller revokes the app's access and eBay drops its token: the
    // host's renewal is refused, and the delivery dead-letters with eBay's
    // code and what to do.
    ebay.revoke_refresh_token(&setup.seller.refresh_token);
    for token in ebay.access_tokens() {
        ebay.expire_access_token(&token.token);
    }
    let refused = setup
        .deliver(
            "evt_i2",
            "inventory.updated",
            json!({"sku": SKU, "quantity": 2}),
            "dead",
        )
        .await;
    assert_eq!(
        refused["last_error"],
        "eBay refused the refresh token (invalid_grant): it was revoked, has expired or was issued to another app; have the seller grant access again and set the new refresh token. (remote: HTTP 400, invalid_grant, the provided authorization refresh token is invalid or was issued to another client)"
    );
    let detail = service
        .delivery(STORE, refused["id"].as_str().unwrap())
        .await;
    let report = &detail["attempts"][0]["report"];
    let steps: Vec<(&str, bool, u64)> = report["egress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap(),
                r.get("token_exchange").is_some(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("/sell/inventory/v1/bulk_update_price_quantity", false, 401),
            ("/identity/v1/oauth2/token", true, 400),
        ],
        "{report:#}"
    );
    setup.service.stop().await;
}
