//! The Amazon connector through the whole service: a store configures it
//! against the fake Amazon, its connection check passes, and each platform
//! event it handles goes in through the API, reaches Amazon as the SP-API
//! call it stands for, and ends as a delivered delivery; a listing Amazon
//! answers INVALID is dead-lettered with Amazon's reason. The host, not the
//! component, exchanges the refresh token and applies the access token.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use sluice_core::Clock;
use sluice_tests::TestCa;
use sluice_tests::fakes::amazon::{
    AmazonChange, AmazonOptions, FakeAmazon, MARKETPLACE_US, OrderSeed, OrderStatus,
    SellerCredentials, TOKEN_PATH,
};
use sluice_tests::service::{Options, TestService};

const STORE: &str = "s1";
const SKU: &str = "TSHIRT-RED-M";

/// The fake Amazon with one seller, and a service reaching it.
async fn start() -> (FakeAmazon, SellerCredentials, TestService) {
    let ca = Arc::new(TestCa::new().unwrap());
    let amazon = FakeAmazon::start(&ca, AmazonOptions::unthrottled())
        .await
        .unwrap();
    let seller = amazon.onboard_seller(&[MARKETPLACE_US]);
    let service = TestService::start(Options {
        resolve: amazon.egress_overrides(),
        ca: Some(ca),
        ..Options::default()
    })
    .await;
    (amazon, seller, service)
}

/// Configures the Amazon connector for `seller` and returns its id.
async fn configure(service: &TestService, seller: &SellerCredentials) -> String {
    let created = service
        .post(
            &format!("/v1/stores/{STORE}/connectors"),
            json!({
                "connector_id": "amazon",
                "name": "Amazon US",
                "settings": {
                    "seller_id": seller.seller_id,
                    "marketplace_id": MARKETPLACE_US,
                },
                "credentials": {
                    "client_id": seller.client_id,
                    "client_secret": seller.client_secret,
                    "refresh_token": seller.refresh_token,
                },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

fn envelope(id: &str, event_type: &str, payload: Value) -> Value {
    json!([{
        "id": id,
        "type": event_type,
        "store_id": STORE,
        "occurred_at": "2026-11-22T10:00:00Z",
        "payload": payload,
    }])
}

/// Sends one event and waits until the configuration has `delivered`
/// delivered deliveries; returns the delivery of this event.
async fn deliver(service: &TestService, config: &str, event: Value, delivered: usize) -> Value {
    let event_id = event[0]["id"].as_str().unwrap().to_owned();
    service.send_events(event).await;
    service
        .wait_for_deliveries(
            STORE,
            &format!("target_id={config}&status=delivered"),
            delivered,
        )
        .await;
    let found = service
        .deliveries(STORE, &format!("target_id={config}&event_id={event_id}"))
        .await;
    let [delivery] = found.as_slice() else {
        panic!("expected one delivery of {event_id}, got {found:#?}");
    };
    assert_eq!(delivery["status"], "delivered", "{delivery:#}");
    delivery.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_type_reaches_amazon_and_is_delivered() {
    let (amazon, seller, service) = start().await;
    let config = configure(&service, &seller).await;
    let order_id = amazon.seed_order(
        &seller.seller_id,
        OrderSeed::new(MARKETPLACE_US, service.clock.now_ms() - 3_600_000).item("MUG-1", 1, "9.99"),
    );
    let item_id = amazon.order(&order_id).unwrap().items[0]
        .order_item_id
        .clone();

    let tested = service
        .post(
            &format!("/v1/stores/{STORE}/connectors/{config}/test"),
            json!({}),
        )
        .await;
    assert_eq!(tested.status, 200, "{:?}", tested.body);
    assert_eq!(tested.body["status"], "ok", "{:#}", tested.body);

    // product.updated: the listing is put.
    let product = deliver(
        &service,
        &config,
        envelope(
            "evt_product",
            "product.updated",
            json!({
                "sku": SKU,
                "title": "Red T-shirt, medium",
                "price": {"amount": "19.99", "currency": "USD"},
                "quantity": 10,
            }),
        ),
        1,
    )
    .await;
    let listing = amazon.listing(&seller.seller_id, SKU).expect("listed");
    assert_eq!(product["external_id"], listing.submission_id.as_str());
    assert_eq!(
        listing.first_value("item_name"),
        Some("Red T-shirt, medium")
    );
    assert_eq!(listing.quantity(), Some(10));

    // inventory.updated: its quantity is patched.
    deliver(
        &service,
        &config,
        envelope(
            "evt_stock",
            "inventory.updated",
            json!({"sku": SKU, "quantity": 4}),
        ),
        2,
    )
    .await;
    assert_eq!(
        amazon.listing(&seller.seller_id, SKU).unwrap().quantity(),
        Some(4)
    );

    // order.fulfilled: the shipment is confirmed.
    let shipped = deliver(
        &service,
        &config,
        envelope(
            "evt_shipped",
            "order.fulfilled",
            json!({
                "marketplace": "amazon",
                "order_id": order_id,
                "line_items": [{"line_item_id": item_id, "quantity": 1}],
                "carrier": "UPS",
                "tracking_number": "1Z999AA10123456784",
                "shipped_at": "2026-11-22T09:00:00Z",
            }),
        ),
        3,
    )
    .await;
    assert!(
        shipped["external_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{order_id}/")),
        "{shipped:#}"
    );
    let order = amazon.order(&order_id).unwrap();
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.shipments[0].tracking_number, "1Z999AA10123456784");

    let changes = amazon.changes();
    assert!(
        matches!(
            changes.as_slice(),
            [
                AmazonChange::ListingPut(_),
                AmazonChange::ListingPatched(_),
                AmazonChange::ShipmentConfirmed(_),
            ]
        ),
        "{changes:#?}"
    );
    // The host cached the check's token for the configuration, and applied
    // it to every delivery's request.
    let requests = amazon.recorder().requests();
    let exchanges = requests
        .iter()
        .filter(|request| request.path == TOKEN_PATH)
        .count();
    assert_eq!(exchanges, 1);
    let [issued] = amazon.access_tokens().try_into().unwrap();
    for request in requests.iter().filter(|request| request.path != TOKEN_PATH) {
        assert_eq!(
            request.header("x-amz-access-token"),
            Some(issued.token.as_str()),
            "{} {}",
            request.method,
            request.path
        );
    }

    let detail = service
        .delivery(STORE, shipped["id"].as_str().unwrap())
        .await;
    let report = &detail["attempts"][0]["report"];
    let egress = report["egress"].as_array().unwrap();
    let [confirm] = egress.as_slice() else {
        panic!("expected one request, got {report:#}");
    };
    assert_eq!(confirm["method"], "POST");
    assert_eq!(
        confirm["origin"],
        "https://sellingpartnerapi-na.amazon.com:443"
    );
    assert_eq!(
        confirm["path"],
        format!("/orders/v0/orders/{order_id}/shipmentConfirmation")
    );
    assert_eq!(confirm["status"], 204);
    assert_eq!(confirm["credential"], "refresh_token", "{confirm:#}");
    assert!(confirm.get("token_exchange").is_none(), "{confirm:#}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_listing_is_dead_lettered_with_amazons_reason() {
    let (amazon, seller, service) = start().await;
    let config = configure(&service, &seller).await;

    service
        .send_events(envelope(
            "evt_unknown_sku",
            "inventory.updated",
            json!({"sku": "NEVER-LISTED", "quantity": 3}),
        ))
        .await;

    let dead = service
        .wait_for_deliveries(STORE, &format!("target_id={config}&status=dead"), 1)
        .await;
    let delivery = &dead[0];
    assert_eq!(delivery["attempt_count"], 1, "{delivery:#}");
    let reason = delivery["last_error"].as_str().unwrap();
    assert!(
        reason.contains(
            "Amazon refused the listing of SKU NEVER-LISTED as INVALID: 90220 'item_name' is \
             required but not supplied."
        ),
        "{reason}"
    );
    let detail = service
        .delivery(STORE, delivery["id"].as_str().unwrap())
        .await;
    let attempt = &detail["attempts"][0];
    assert_eq!(attempt["outcome"], "failed", "{attempt:#}");
    let egress = attempt["report"]["egress"].as_array().unwrap();
    let statuses: BTreeMap<String, i64> = egress
        .iter()
        .map(|record| {
            (
                record["method"].as_str().unwrap().to_owned(),
                record["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        BTreeMap::from([("PATCH".to_owned(), 200), ("POST".to_owned(), 200)])
    );
    // The POST is the host's own token exchange, on the component's behalf.
    let exchange = egress
        .iter()
        .find(|record| record["method"] == "POST")
        .unwrap();
    assert_eq!(exchange["path"], TOKEN_PATH);
    assert_eq!(exchange["token_exchange"], true, "{exchange:#}");
    assert_eq!(exchange["credential"], "refresh_token", "{exchange:#}");
    assert!(amazon.listings(&seller.seller_id).is_empty());
    service.stop().await;
}
