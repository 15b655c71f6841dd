//! The Google Shopping connector through the whole service: a store admin
//! installs it with a service account key, which the host signs in with
//! (the component never reads it), tests the connection, and platform
//! events become Merchant API writes on the fake Google; a product Google
//! refuses, or a key Google refuses, is dead-lettered with Google's reason,
//! and a token endpoint outage is retried.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::TestCa;
use sluice_tests::fakes::google::{
    AccountAccess, FakeGoogle, GoogleOptions, Price, ProductChange, TokenFailure,
};
use sluice_tests::service::{Options, TestService};

const STORE: &str = "s1";
const SKU: &str = "TSHIRT-RED-M";
const INPUT_ID: &str = "en~US~TSHIRT-RED-M";
const WAIT: Duration = Duration::from_secs(20);

/// The fake Google with a merchant account and data source, and a service
/// reaching it with a Google Shopping configuration for store `s1`.
struct Setup {
    google: FakeGoogle,
    service: TestService,
    account: u64,
    configuration: String,
    _ca: Arc<TestCa>,
}

impl Setup {
    /// No retries: a failure dead-letters at once.
    async fn start() -> Self {
        Self::with_retries(vec![]).await
    }

    /// Retries after the delays of `schedule_seconds`.
    async fn with_retries(schedule_seconds: Vec<u64>) -> Self {
        let ca = Arc::new(TestCa::new().unwrap());
        let google = FakeGoogle::start(&ca, GoogleOptions::unthrottled())
            .await
            .unwrap();
        let account = google.add_merchant_account(AccountAccess::Granted);
        let data_source = google.create_data_source(account, "Sluice");
        let service = TestService::start(Options {
            resolve: google
                .egress_overrides()
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
            ca: Some(ca.clone()),
            configure: Box::new(move |config| {
                config.delivery.retry.schedule_seconds = schedule_seconds;
                config.delivery.retry.jitter = 0.0;
            }),
            ..Options::default()
        })
        .await;
        let created = service
            .post(
                &format!("/v1/stores/{STORE}/connectors"),
                json!({
                    "connector_id": "google-shopping",
                    "name": "Google Shopping US",
                    "event_types": ["product.updated", "inventory.updated"],
                    "settings": {
                        "merchant_id": account.to_string(),
                        "data_source": data_source,
                        "feed_label": "US",
                    },
                    "credentials": {
                        "service_account_key": google.service_account().key_file_json(),
                    },
                }),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let configuration = created.body["id"].as_str().unwrap().to_owned();
        Self {
            google,
            service,
            account,
            configuration,
            _ca: ca,
        }
    }

    async fn send(&self, id: &str, event_type: &str, payload: Value) {
        self.service
            .send_events(json!([{
                "id": id,
                "type": event_type,
                "store_id": STORE,
                "occurred_at": "2026-11-22T10:15:00Z",
                "payload": payload,
            }]))
            .await;
    }

    /// Waits for the configuration's delivery of event `event_id` to end
    /// with `status` and returns it with its attempts.
    async fn finished_delivery(&self, event_id: &str, status: &str) -> Value {
        let query = format!("target_id={}&status={status}", self.configuration);
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let found = self.service.deliveries(STORE, &query).await;
            if let Some(delivery) = found.iter().find(|d| d["event_id"] == event_id) {
                let id = delivery["id"].as_str().unwrap();
                return self.service.delivery(STORE, id).await;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {status} delivery of {event_id}: {:#?}",
                self.service
                    .deliveries(STORE, &format!("target_id={}", self.configuration))
                    .await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn input_name(&self) -> String {
        format!("accounts/{}/productInputs/{INPUT_ID}", self.account)
    }
}

fn product() -> Value {
    json!({
        "sku": SKU,
        "title": "Red T-shirt, medium",
        "description": "100% organic cotton.",
        "brand": "Acme",
        "identifiers": {"gtin": "00012345678905", "mpn": "TS-R-M"},
        "images": ["https://cdn.example.com/tshirt-red.jpg"],
        "price": {"amount": "19.99", "currency": "USD"},
        "condition": "new",
        "quantity": 10,
        "link": "https://shop.example.com/p/tshirt-red-m",
        "attributes": {"color": "red", "size": "M"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_and_inventory_events_reach_google_and_are_delivered() {
    let setup = Setup::start().await;
    let tested = setup
        .service
        .post(
            &format!("/v1/stores/{STORE}/connectors/{}/test", setup.configuration),
            json!({}),
        )
        .await;
    assert_eq!(tested.status, 200, "{:?}", tested.body);
    assert_eq!(tested.body["status"], "ok", "{:#}", tested.body);
    // The host obtained the token for the check, under the credential's key.
    let check_egress = &tested.body["report"]["egress"];
    assert_eq!(
        check_egress[0]["origin"],
        "https://oauth2.googleapis.com:443"
    );
    assert_eq!(check_egress[0]["token_exchange"], true, "{check_egress:#}");
    assert_eq!(check_egress[0]["credential"], "service_account_key");
    assert_eq!(check_egress[1]["credential"], "service_account_key");
    assert_eq!(check_egress[1].get("token_exchange"), None);

    setup
        .send("evt_product_1", "product.updated", product())
        .await;

    let delivery = setup.finished_delivery("evt_product_1", "delivered").await;
    assert_eq!(delivery["external_id"], setup.input_name().as_str());
    assert_eq!(delivery["attempts"][0]["outcome"], "delivered");
    let report = &delivery["attempts"][0]["report"];
    let [insert] = report["egress"].as_array().unwrap().as_slice() else {
        panic!("one request, with the check's token: {report:#}");
    };
    assert_eq!(
        insert["path"],
        format!(
            "/products/v1/accounts/{}/productInputs:insert",
            setup.account
        )
    );
    assert_eq!(insert["credential"], "service_account_key");
    assert_eq!(report["credentials_read"], json!([]), "{report:#}");
    let changes = setup.google.wait_for_changes(1, WAIT).await.unwrap();
    let ProductChange::Inserted(inserted) = &changes[0] else {
        panic!("expected an insert, got {changes:?}");
    };
    assert_eq!(inserted.offer_id, SKU);
    assert_eq!(inserted.content_language, "en", "the manifest's default");
    assert_eq!(inserted.feed_label, "US");
    assert_eq!(inserted.text("title"), Some("Red T-shirt, medium"));
    assert_eq!(inserted.text("availability"), Some("IN_STOCK"));
    assert_eq!(inserted.price("price"), Some(Price::new(19_990_000, "USD")));

    setup
        .send(
            "evt_inventory_1",
            "inventory.updated",
            json!({"sku": SKU, "quantity": 0, "location": "main-warehouse"}),
        )
        .await;

    let delivery = setup
        .finished_delivery("evt_inventory_1", "delivered")
        .await;
    assert_eq!(delivery["external_id"], setup.input_name().as_str());
    let changes = setup.google.wait_for_changes(2, WAIT).await.unwrap();
    let ProductChange::Updated {
        product,
        update_mask,
    } = &changes[1]
    else {
        panic!("expected an update, got {changes:?}");
    };
    assert_eq!(update_mask, &["productAttributes.availability"]);
    assert_eq!(product.text("availability"), Some("OUT_OF_STOCK"));
    assert_eq!(product.price("price"), Some(Price::new(19_990_000, "USD")));
    let patch = setup
        .google
        .recorder()
        .requests()
        .into_iter()
        .rfind(|request| request.method == "PATCH")
        .expect("the availability patch");
    assert_eq!(patch.path, format!("/products/v1/{}", setup.input_name()));
    assert_eq!(
        patch.json().unwrap(),
        json!({"productAttributes": {"availability": "OUT_OF_STOCK"}})
    );

    // The host cached the check's token for the configuration and it served
    // both deliveries.
    assert_eq!(setup.google.access_tokens().len(), 1);
    let bearers: Vec<String> = setup
        .google
        .recorder()
        .requests()
        .iter()
        .filter_map(|request| request.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(bearers.len(), 3, "the check's read and both writes");
    let token = &setup.google.access_tokens()[0].token;
    assert!(bearers.iter().all(|b| *b == format!("Bearer {token}")));
    setup.service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_google_refuses_is_dead_lettered_with_googles_reason() {
    let setup = Setup::start().await;
    setup
        .google
        .set_account_access(setup.account, AccountAccess::NotGranted);

    setup
        .send("evt_product_2", "product.updated", product())
        .await;

    let delivery = setup.finished_delivery("evt_product_2", "dead").await;
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "a permanent failure is not retried");
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[0]["http_status"], 403);
    let google_message = format!(
        "The caller does not have access to the accounts: [{}]",
        setup.account
    );
    let last_error = delivery["last_error"].as_str().unwrap();
    assert!(
        last_error.starts_with(&format!(
            "Google refused to insert product {SKU}: PERMISSION_DENIED: {google_message}"
        )),
        "{last_error}"
    );
    assert!(
        last_error.ends_with(&format!(
            "(remote: HTTP 403, PERMISSION_DENIED, {google_message})"
        )),
        "{last_error}"
    );
    assert!(setup.google.changes().is_empty());
    setup.service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_google_refuses_is_dead_lettered_with_the_token_endpoints_code() {
    let setup = Setup::start().await;
    setup.google.delete_service_account();

    setup
        .send("evt_product_3", "product.updated", product())
        .await;

    let delivery = setup.finished_delivery("evt_product_3", "dead").await;
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "a refused key is not retried");
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[0]["http_status"], 400, "the token endpoint's");
    let egress = &attempts[0]["report"]["egress"];
    assert_eq!(egress.as_array().unwrap().len(), 1, "{egress:#}");
    assert_eq!(egress[0]["token_exchange"], true);
    let last_error = delivery["last_error"].as_str().unwrap();
    assert!(
        last_error.starts_with(
            "Google refused the service account key in credential `service_account_key`: \
             Invalid grant: account not found (invalid_grant); the service account in the key \
             does not exist"
        ),
        "{last_error}"
    );
    assert!(
        last_error.ends_with("(remote: HTTP 400, invalid_grant, Invalid grant: account not found)"),
        "{last_error}"
    );
    assert!(setup.google.changes().is_empty());
    setup.service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_outage_is_retried_and_the_product_then_delivered() {
    let setup = Setup::with_retries(vec![0]).await;
    setup
        .google
        .fail_token_requests(TokenFailure::Unavailable, 1);

    setup
        .send("evt_product_4", "product.updated", product())
        .await;

    let delivery = setup.finished_delivery("evt_product_4", "delivered").await;
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{delivery:#}");
    assert_eq!(attempts[0]["outcome"], "retry");
    assert_eq!(attempts[0]["http_status"], 503);
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("Google's token endpoint issued no access token"),
        "{error}"
    );
    assert_eq!(attempts[1]["outcome"], "delivered");
    assert_eq!(delivery["external_id"], setup.input_name().as_str());
    assert_eq!(setup.google.access_tokens().len(), 1);
    setup.service.stop().await;
}
