//! The fake Amazon answers like Login with Amazon and the Selling Partner
//! API, over TLS for the real hostnames.
//!
//! A plain HTTP client (reqwest, trusting only the test CA, resolving the
//! real hostnames to the fake) plays the connector: it trades the seller's
//! refresh token for an access token and calls Listings Items and Orders.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice_core::clock::format_rfc3339;
use sluice_core::{ManualClock, UnixMillis};
use sluice_tests::fakes::amazon::{
    AmazonChange, AmazonOptions, FakeAmazon, ListingRules, LwaError, MARKETPLACE_CA,
    MARKETPLACE_DE, MARKETPLACE_US, OfferPrice, Operation, OrderSeed, OrderStatus, RATE_LIMIT,
    REQUEST_ID, SellerCredentials, SpApiError,
};
use sluice_tests::{RateLimit, TestCa};

const TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";
const NA: &str = "https://sellingpartnerapi-na.amazon.com";
/// 2026-01-01T00:00:00Z, where every test's clock starts.
const START_MS: UnixMillis = 1_767_225_600_000;
const HOUR_MS: i64 = 3_600_000;
const WAIT: Duration = Duration::from_secs(5);

struct Harness {
    amazon: FakeAmazon,
    clock: ManualClock,
    http: reqwest::Client,
    seller: SellerCredentials,
    _ca: TestCa,
}

/// An SP-API answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn error_code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }
}

impl Harness {
    async fn start(options: AmazonOptions) -> Self {
        let ca = TestCa::new().unwrap();
        let clock = ManualClock::new(START_MS);
        let options = AmazonOptions {
            clock: Arc::new(clock.clone()),
            ..options
        };
        let amazon = FakeAmazon::start(&ca, options).await.unwrap();
        let http = client(&amazon, &ca);
        let seller = amazon.onboard_seller(&[MARKETPLACE_US, MARKETPLACE_CA]);
        Self {
            amazon,
            clock,
            http,
            seller,
            _ca: ca,
        }
    }

    async fn unthrottled() -> Self {
        Self::start(AmazonOptions::unthrottled()).await
    }

    async fn grant(&self, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let response = self
            .http
            .post(TOKEN_URL)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// The seller's refresh grant, form-encoded as most LWA clients send it.
    async fn refresh(&self, refresh_token: &str, client_secret: &str) -> (StatusCode, Value) {
        self.grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &self.seller.client_id),
            ("client_secret", client_secret),
        ])
        .await
    }

    async fn token(&self) -> String {
        let (status, body) = self
            .refresh(&self.seller.refresh_token, &self.seller.client_secret)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.header("x-amz-access-token", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    fn item_url(&self, sku: &str, query: &str) -> String {
        format!(
            "{NA}/listings/2021-08-01/items/{}/{sku}?marketplaceIds={MARKETPLACE_US}{query}",
            self.seller.seller_id
        )
    }

    async fn put_item(&self, token: &str, sku: &str, query: &str, body: Value) -> Answer {
        self.call(
            Method::PUT,
            &self.item_url(sku, query),
            Some(token),
            Some(body),
        )
        .await
    }
}

/// A client that resolves the fake's real hostnames to the fake, like the
/// host's egress overrides do.
fn client(amazon: &FakeAmazon, ca: &TestCa) -> reqwest::Client {
    let mut builder =
        reqwest::Client::builder().tls_backend_preconfigured(ca.client_config().unwrap());
    for (host_and_port, addr) in amazon.egress_overrides() {
        let (host, _port) = host_and_port.rsplit_once(':').unwrap();
        builder = builder.resolve(host, addr);
    }
    builder.build().unwrap()
}

/// A listing with everything the default rules require.
fn mug(quantity: u64, price: f64) -> Value {
    json!({
        "productType": "PRODUCT",
        "requirements": "LISTING",
        "attributes": {
            "item_name": [{"value": "Sluice mug", "language_tag": "en_US", "marketplace_id": MARKETPLACE_US}],
            "condition_type": [{"value": "new_new", "marketplace_id": MARKETPLACE_US}],
            "purchasable_offer": [{
                "marketplace_id": MARKETPLACE_US,
                "currency": "USD",
                "our_price": [{"schedule": [{"value_with_tax": price}]}],
            }],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
        },
    })
}

fn without_attribute(mut listing: Value, name: &str) -> Value {
    listing["attributes"].as_object_mut().unwrap().remove(name);
    listing
}

mod tls {
    use super::*;

    #[tokio::test]
    async fn every_hostname_verifies_against_the_test_ca() {
        let h = Harness::unthrottled().await;
        let keys: Vec<String> = h.amazon.egress_overrides().into_keys().collect();
        assert_eq!(
            keys,
            [
                "api.amazon.com:443",
                "sandbox.sellingpartnerapi-na.amazon.com:443",
                "sellingpartnerapi-eu.amazon.com:443",
                "sellingpartnerapi-fe.amazon.com:443",
                "sellingpartnerapi-na.amazon.com:443",
            ]
        );
        for key in keys {
            let host = key.trim_end_matches(":443");
            let response = h.http.get(format!("https://{host}/")).send().await;
            assert!(response.is_ok(), "{host}: {response:?}");
        }
    }
}

mod login_with_amazon {
    use super::*;

    #[tokio::test]
    async fn a_refresh_grant_returns_an_hour_long_bearer_token() {
        let h = Harness::unthrottled().await;
        let (status, body) = h
            .refresh(&h.seller.refresh_token, &h.seller.client_secret)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["access_token"].as_str().unwrap().starts_with("Atza|"));
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["refresh_token"], h.seller.refresh_token.as_str());
        let [issued] = h.amazon.access_tokens().try_into().unwrap();
        assert_eq!(issued.grant, h.seller.seller_id);
        assert_eq!(issued.expires_at, START_MS + HOUR_MS);
    }

    #[tokio::test]
    async fn a_json_body_works_too() {
        let h = Harness::unthrottled().await;
        let response = h
            .http
            .post(TOKEN_URL)
            .json(&json!({
                "grant_type": "refresh_token",
                "refresh_token": h.seller.refresh_token,
                "client_id": h.seller.client_id,
                "client_secret": h.seller.client_secret,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn refusals_use_lwas_codes_and_statuses() {
        let h = Harness::unthrottled().await;
        let (status, body) = h.refresh(&h.seller.refresh_token, "wrong-secret").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"})
        );

        let (status, body) = h.refresh("Atzr|made-up", &h.seller.client_secret).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );

        let (status, body) = h
            .grant(&[
                ("grant_type", "refresh_token"),
                ("client_id", &h.seller.client_id),
                ("client_secret", &h.seller.client_secret),
            ])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error_description"],
            "The request is missing a required parameter : refresh_token"
        );

        let (status, body) = h.grant(&[("grant_type", "client_credentials")]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
        );
    }

    #[tokio::test]
    async fn a_revoked_refresh_token_is_an_invalid_grant() {
        let h = Harness::unthrottled().await;
        h.amazon.revoke_refresh_token(&h.seller.refresh_token);
        let (status, body) = h
            .refresh(&h.seller.refresh_token, &h.seller.client_secret)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn scripted_failures_answer_the_next_grants_then_stop() {
        let h = Harness::unthrottled().await;
        h.amazon
            .fail_token_requests(LwaError::TemporarilyUnavailable, 1);
        let (status, body) = h
            .refresh(&h.seller.refresh_token, &h.seller.client_secret)
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "temporarily_unavailable");
        h.token().await;
    }
}

mod access {
    use super::*;

    fn details(answer: &Answer) -> &str {
        answer.body["errors"][0]["details"].as_str().unwrap()
    }

    #[tokio::test]
    async fn no_token_is_403_unauthorized_with_a_request_id_and_no_rate() {
        let h = Harness::unthrottled().await;
        let answer = h
            .call(Method::GET, &h.item_url("MUG-1", ""), None, None)
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.error_code(), "Unauthorized");
        assert_eq!(
            answer.body["errors"][0]["message"],
            "Access to requested resource is denied."
        );
        assert_eq!(
            details(&answer),
            "Access token is missing in the request header."
        );
        assert!(answer.headers.contains_key(REQUEST_ID));
        assert!(!answer.headers.contains_key(RATE_LIMIT));
    }

    #[tokio::test]
    async fn a_token_stops_working_when_its_hour_is_over() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.clock.advance(Duration::from_secs(3599));
        let item = h.item_url("MUG-1", "");
        assert_eq!(
            h.call(Method::GET, &item, Some(&token), None).await.status,
            StatusCode::NOT_FOUND
        );
        h.clock.advance(Duration::from_secs(1));
        let answer = h.call(Method::GET, &item, Some(&token), None).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(
            details(&answer),
            "The access token you provided has expired."
        );
    }

    #[tokio::test]
    async fn tests_can_expire_or_revoke_a_token() {
        let h = Harness::unthrottled().await;
        let item = h.item_url("MUG-1", "");
        let expired = h.token().await;
        h.amazon.expire_access_token(&expired);
        let answer = h.call(Method::GET, &item, Some(&expired), None).await;
        assert_eq!(
            details(&answer),
            "The access token you provided has expired."
        );

        let revoked = h.token().await;
        h.amazon.revoke_access_token(&revoked);
        let answer = h.call(Method::GET, &item, Some(&revoked), None).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(
            details(&answer),
            "The access token you provided is revoked, malformed or invalid."
        );
    }

    #[tokio::test]
    async fn a_token_acts_only_for_its_own_seller() {
        let h = Harness::unthrottled().await;
        let other = h.amazon.onboard_seller(&[MARKETPLACE_US]);
        let token = h.token().await;
        let url = format!(
            "{NA}/listings/2021-08-01/items/{}/MUG-1?marketplaceIds={MARKETPLACE_US}",
            other.seller_id
        );
        let answer = h
            .call(Method::PUT, &url, Some(&token), Some(mug(1, 5.0)))
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.error_code(), "Unauthorized");
        assert!(h.amazon.listing(&other.seller_id, "MUG-1").is_none());
    }

    #[tokio::test]
    async fn paths_the_api_does_not_serve_are_unauthorized_too() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let answer = h
            .call(
                Method::GET,
                &format!("{NA}/sellers/v1/marketplaceParticipations"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.error_code(), "Unauthorized");
    }
}

mod listings {
    use super::*;

    #[tokio::test]
    async fn a_complete_listing_is_accepted_stored_and_journaled() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;

        let answer = h.put_item(&token, "MUG-1", "", mug(10, 19.99)).await;

        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body["sku"], "MUG-1");
        assert_eq!(answer.body["status"], "ACCEPTED");
        assert_eq!(answer.body["issues"], json!([]));
        assert_eq!(answer.body["submissionId"].as_str().unwrap().len(), 36);
        assert_eq!(answer.headers[RATE_LIMIT], "5.0");
        assert!(answer.headers.contains_key(REQUEST_ID));

        let listing = h.amazon.listing(&h.seller.seller_id, "MUG-1").unwrap();
        assert_eq!(listing.quantity(), Some(10));
        assert_eq!(
            listing.price(MARKETPLACE_US),
            Some(OfferPrice {
                currency: "USD".into(),
                value_with_tax: 19.99
            })
        );
        assert_eq!(listing.first_value("item_name"), Some("Sluice mug"));
        let changes = h.amazon.wait_for_changes(1, WAIT).await.unwrap();
        assert!(matches!(&changes[0], AmazonChange::ListingPut(put) if put.sku == "MUG-1"));
    }

    #[tokio::test]
    async fn a_missing_required_attribute_is_http_200_invalid_and_not_stored() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;

        let answer = h
            .put_item(
                &token,
                "MUG-1",
                "",
                without_attribute(mug(1, 5.0), "condition_type"),
            )
            .await;

        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body["status"], "INVALID");
        assert_eq!(
            answer.body["issues"],
            json!([{
                "code": "90220",
                "message": "'condition_type' is required but not supplied.",
                "severity": "ERROR",
                "attributeNames": ["condition_type"],
                "categories": ["MISSING_ATTRIBUTE"],
            }])
        );
        assert!(h.amazon.listing(&h.seller.seller_id, "MUG-1").is_none());
        assert!(h.amazon.changes().is_empty());
    }

    #[tokio::test]
    async fn the_rules_are_configurable_to_provoke_invalid_listings() {
        let rules = ListingRules {
            listing: vec!["item_name".into(), "brand".into()],
            ..ListingRules::default()
        };
        let h = Harness::start(AmazonOptions {
            listing_rules: rules,
            ..AmazonOptions::unthrottled()
        })
        .await;
        let token = h.token().await;
        let answer = h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await;
        assert_eq!(answer.body["status"], "INVALID");
        assert_eq!(answer.body["issues"][0]["attributeNames"], json!(["brand"]));
    }

    #[tokio::test]
    async fn a_validation_preview_answers_valid_or_invalid_and_stores_nothing() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let preview = "&mode=VALIDATION_PREVIEW&includedData=identifiers,issues";

        let valid = h.put_item(&token, "MUG-1", preview, mug(1, 5.0)).await;
        assert_eq!(valid.body["status"], "VALID");
        assert_eq!(
            valid.body["identifiers"][0]["marketplaceId"],
            MARKETPLACE_US
        );
        assert!(
            valid.body["identifiers"][0]["asin"]
                .as_str()
                .unwrap()
                .starts_with("B0")
        );

        let invalid = h
            .put_item(
                &token,
                "MUG-1",
                preview,
                without_attribute(mug(1, 5.0), "item_name"),
            )
            .await;
        assert_eq!(invalid.body["status"], "INVALID");
        assert_eq!(invalid.body["identifiers"], json!([]));
        assert!(h.amazon.listing(&h.seller.seller_id, "MUG-1").is_none());
    }

    #[tokio::test]
    async fn malformed_requests_are_400_bad_request_naming_the_problem() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let details = |answer: &Answer| {
            answer.body["errors"][0]["details"]
                .as_str()
                .unwrap()
                .to_owned()
        };

        let no_product_type = h
            .put_item(&token, "MUG-1", "", json!({"attributes": {}}))
            .await;
        assert_eq!(no_product_type.status, StatusCode::BAD_REQUEST);
        assert_eq!(no_product_type.error_code(), "BAD_REQUEST");
        assert_eq!(
            no_product_type.body["errors"][0]["message"],
            "Invalid input"
        );
        assert_eq!(no_product_type.headers[RATE_LIMIT], "5.0");

        let scalar = h
            .put_item(
                &token,
                "MUG-1",
                "",
                json!({"productType": "PRODUCT", "attributes": {"item_name": "Mug"}}),
            )
            .await;
        assert!(
            details(&scalar).contains("attributes.item_name"),
            "{}",
            details(&scalar)
        );

        let url = format!(
            "{NA}/listings/2021-08-01/items/{}/MUG-1",
            h.seller.seller_id
        );
        let no_marketplace = h
            .call(Method::PUT, &url, Some(&token), Some(mug(1, 5.0)))
            .await;
        assert_eq!(details(&no_marketplace), "marketplaceIds is required");

        let european = h
            .call(
                Method::PUT,
                &format!("{url}?marketplaceIds={MARKETPLACE_DE}"),
                Some(&token),
                Some(mug(1, 5.0)),
            )
            .await;
        assert_eq!(european.status, StatusCode::BAD_REQUEST);
        assert!(details(&european).contains("sellingpartnerapi-eu.amazon.com"));
    }

    #[tokio::test]
    async fn a_patch_changes_only_the_named_attributes() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.put_item(&token, "MUG-1", "", mug(10, 19.99)).await;
        h.clock.advance(Duration::from_secs(60));

        let patch = json!({
            "productType": "PRODUCT",
            "patches": [{
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }],
        });
        let answer = h
            .call(
                Method::PATCH,
                &h.item_url("MUG-1", ""),
                Some(&token),
                Some(patch),
            )
            .await;

        assert_eq!(answer.body["status"], "ACCEPTED");
        let listing = h.amazon.listing(&h.seller.seller_id, "MUG-1").unwrap();
        assert_eq!(listing.quantity(), Some(3));
        assert_eq!(listing.price(MARKETPLACE_US).unwrap().value_with_tax, 19.99);
        assert_eq!(listing.last_updated_at, START_MS + 60_000);
        assert_eq!(listing.created_at, START_MS);
        assert!(matches!(
            h.amazon.changes()[1],
            AmazonChange::ListingPatched(_)
        ));
    }

    #[tokio::test]
    async fn patching_an_unknown_sku_checks_the_patches_as_a_new_listing() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let patch = json!({
            "productType": "PRODUCT",
            "patches": [{
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }],
        });
        let answer = h
            .call(
                Method::PATCH,
                &h.item_url("NEW-1", ""),
                Some(&token),
                Some(patch),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body["status"], "INVALID");
        let missing: Vec<&Value> = answer.body["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|issue| &issue["attributeNames"][0])
            .collect();
        assert_eq!(
            missing,
            ["item_name", "condition_type", "purchasable_offer"]
        );
    }

    #[tokio::test]
    async fn nested_patch_paths_are_malformed() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let patch = json!({
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/purchasable_offer/0/our_price", "value": [{}]}],
        });
        let answer = h
            .call(
                Method::PATCH,
                &h.item_url("MUG-1", ""),
                Some(&token),
                Some(patch),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.headers[RATE_LIMIT], "5.0");
    }

    #[tokio::test]
    async fn get_returns_the_requested_data_sets_and_404_for_unknown_skus() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.put_item(&token, "MUG-1", "", mug(10, 19.99)).await;

        let summary = h
            .call(Method::GET, &h.item_url("MUG-1", ""), Some(&token), None)
            .await;
        assert_eq!(
            summary.body["summaries"][0]["status"],
            json!(["BUYABLE", "DISCOVERABLE"])
        );
        assert_eq!(summary.body["summaries"][0]["itemName"], "Sluice mug");
        assert!(summary.body.get("offers").is_none());

        let offers = h
            .call(
                Method::GET,
                &h.item_url("MUG-1", "&includedData=offers,fulfillmentAvailability"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            offers.body["offers"][0]["price"],
            json!({"currencyCode": "USD", "amount": "19.99"})
        );
        assert_eq!(offers.body["fulfillmentAvailability"][0]["quantity"], 10);

        let unknown = h
            .call(Method::GET, &h.item_url("CUP-1", ""), Some(&token), None)
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.error_code(), "NOT_FOUND");
        assert_eq!(
            unknown.body["errors"][0]["message"],
            format!("SKU 'CUP-1' not found in marketplace {MARKETPLACE_US}")
        );
        assert_eq!(unknown.headers[RATE_LIMIT], "5.0");
    }

    #[tokio::test]
    async fn delete_takes_the_listing_down_and_is_accepted_again_when_repeated() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.put_item(&token, "MUG-1", "", mug(10, 19.99)).await;

        for _ in 0..2 {
            let answer = h
                .call(Method::DELETE, &h.item_url("MUG-1", ""), Some(&token), None)
                .await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.body["status"], "ACCEPTED");
        }
        assert!(h.amazon.listing(&h.seller.seller_id, "MUG-1").is_none());
        let deletions = h
            .amazon
            .changes()
            .into_iter()
            .filter(|change| matches!(change, AmazonChange::ListingDeleted { .. }))
            .count();
        assert_eq!(deletions, 1);
    }

    #[tokio::test]
    async fn the_sandbox_host_serves_the_same_api() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let url = format!(
            "https://sandbox.sellingpartnerapi-na.amazon.com/listings/2021-08-01/items/{}/MUG-1?marketplaceIds={MARKETPLACE_US}",
            h.seller.seller_id
        );
        let answer = h
            .call(Method::PUT, &url, Some(&token), Some(mug(1, 5.0)))
            .await;
        assert_eq!(answer.body["status"], "ACCEPTED");
    }
}

mod orders {
    use super::*;

    fn orders_url(query: &str) -> String {
        format!("{NA}/orders/v0/orders?MarketplaceIds={MARKETPLACE_US}{query}")
    }

    /// Three orders placed a day ago, last updated 3, 1 and 2 hours ago.
    fn seed_three(h: &Harness) -> Vec<String> {
        [3, 1, 2]
            .into_iter()
            .map(|hours_ago| {
                h.amazon.seed_order(
                    &h.seller.seller_id,
                    OrderSeed::new(MARKETPLACE_US, START_MS - 24 * HOUR_MS)
                        .last_updated(START_MS - hours_ago * HOUR_MS)
                        .item("MUG-1", 2, "19.99"),
                )
            })
            .collect()
    }

    fn ids(answer: &Answer) -> Vec<String> {
        answer.body["payload"]["Orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|order| order["AmazonOrderId"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn orders_come_oldest_update_first_in_pages_joined_by_next_token() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let seeded = seed_three(&h);
        let after = format_rfc3339(START_MS - 4 * HOUR_MS);

        let first = h
            .call(
                Method::GET,
                &orders_url(&format!("&LastUpdatedAfter={after}&MaxResultsPerPage=2")),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.headers[RATE_LIMIT], "0.0167");
        assert_eq!(ids(&first), [seeded[0].clone(), seeded[2].clone()]);
        let order = &first.body["payload"]["Orders"][0];
        assert_eq!(order["OrderStatus"], "Unshipped");
        assert_eq!(order["FulfillmentChannel"], "MFN");
        assert_eq!(
            order["OrderTotal"],
            json!({"CurrencyCode": "USD", "Amount": "39.98"})
        );
        assert_eq!(order["LastUpdateDate"], "2025-12-31T21:00:00Z");

        let next_token = first.body["payload"]["NextToken"].as_str().unwrap();
        let second = h
            .call(
                Method::GET,
                &orders_url(&format!("&NextToken={next_token}")),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(ids(&second), [seeded[1].clone()]);
        assert!(second.body["payload"].get("NextToken").is_none());
    }

    #[tokio::test]
    async fn a_search_needs_one_after_date_and_sane_bounds() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let message = |answer: &Answer| {
            answer.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .to_owned()
        };

        let undated = h
            .call(Method::GET, &orders_url(""), Some(&token), None)
            .await;
        assert_eq!(undated.status, StatusCode::BAD_REQUEST);
        assert_eq!(undated.error_code(), "InvalidInput");
        assert_eq!(
            message(&undated),
            "Either CreatedAfter or LastUpdatedAfter must be set."
        );
        assert_eq!(undated.headers[RATE_LIMIT], "0.0167");

        let recent_bound = format_rfc3339(START_MS - 60_000);
        let too_recent = h
            .call(
                Method::GET,
                &orders_url(&format!(
                    "&CreatedAfter=2025-12-01&CreatedBefore={recent_bound}"
                )),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            message(&too_recent),
            "CreatedBefore must be at least two minutes before the current time."
        );

        let bad_token = h
            .call(
                Method::GET,
                &orders_url("&NextToken=made-up"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(message(&bad_token), "Invalid NextToken.");
    }

    #[tokio::test]
    async fn order_items_list_every_line_with_its_ids() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let order_id = h.amazon.seed_order(
            &h.seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, START_MS - HOUR_MS)
                .item("MUG-1", 2, "19.99")
                .item("CUP-1", 1, "4.50"),
        );
        let order = h.amazon.order(&order_id).unwrap();

        let answer = h
            .call(
                Method::GET,
                &format!("{NA}/orders/v0/orders/{order_id}/orderItems"),
                Some(&token),
                None,
            )
            .await;

        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers[RATE_LIMIT], "0.5");
        let payload = &answer.body["payload"];
        assert_eq!(payload["AmazonOrderId"], order_id.as_str());
        assert_eq!(
            payload["OrderItems"][0]["OrderItemId"],
            order.items[0].order_item_id.as_str()
        );
        assert_eq!(payload["OrderItems"][0]["SellerSKU"], "MUG-1");
        assert_eq!(payload["OrderItems"][0]["QuantityOrdered"], 2);
        assert_eq!(payload["OrderItems"][0]["QuantityShipped"], 0);
        assert_eq!(payload["OrderItems"][1]["ItemPrice"]["Amount"], "4.50");
    }

    fn confirmation(order_item_id: &str, quantity: u32, package: &str) -> Value {
        json!({
            "marketplaceId": MARKETPLACE_US,
            "packageDetail": {
                "packageReferenceId": package,
                "carrierCode": "FedEx",
                "carrierName": "FedEx",
                "shippingMethod": "FedEx Ground",
                "trackingNumber": "112345678",
                "shipDate": "2025-12-31T23:00:00.000Z",
                "orderItems": [{"orderItemId": order_item_id, "quantity": quantity}],
            },
        })
    }

    #[tokio::test]
    async fn a_shipment_confirmation_is_204_and_moves_the_order_on() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let order_id = h.amazon.seed_order(
            &h.seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, START_MS - HOUR_MS).item("MUG-1", 2, "19.99"),
        );
        let item_id = h.amazon.order(&order_id).unwrap().items[0]
            .order_item_id
            .clone();
        let url = format!("{NA}/orders/v0/orders/{order_id}/shipmentConfirmation");
        h.clock.advance(Duration::from_secs(5));

        let first = h
            .call(
                Method::POST,
                &url,
                Some(&token),
                Some(confirmation(&item_id, 1, "1")),
            )
            .await;
        assert_eq!(first.status, StatusCode::NO_CONTENT);
        assert_eq!(first.body, Value::Null);
        assert_eq!(first.headers[RATE_LIMIT], "2.0");
        let order = h.amazon.order(&order_id).unwrap();
        assert_eq!(order.status, OrderStatus::PartiallyShipped);
        assert_eq!(order.last_update_date, START_MS + 5_000);

        h.call(
            Method::POST,
            &url,
            Some(&token),
            Some(confirmation(&item_id, 1, "2")),
        )
        .await;
        let order = h.amazon.order(&order_id).unwrap();
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.items[0].quantity_shipped, 2);
        assert_eq!(order.shipments[1].package_reference_id, "2");
        let changes = h.amazon.wait_for_changes(2, WAIT).await.unwrap();
        assert!(
            matches!(&changes[1], AmazonChange::ShipmentConfirmed(shipped) if shipped.tracking_number == "112345678")
        );
    }

    #[tokio::test]
    async fn confirmations_are_checked_against_the_order() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let order_id = h.amazon.seed_order(
            &h.seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, START_MS - HOUR_MS).item("MUG-1", 1, "19.99"),
        );
        let item_id = h.amazon.order(&order_id).unwrap().items[0]
            .order_item_id
            .clone();
        let url = format!("{NA}/orders/v0/orders/{order_id}/shipmentConfirmation");

        let unknown_item = h
            .call(
                Method::POST,
                &url,
                Some(&token),
                Some(confirmation("123", 1, "1")),
            )
            .await;
        assert_eq!(unknown_item.status, StatusCode::BAD_REQUEST);
        assert_eq!(unknown_item.error_code(), "InvalidInput");

        let bad_package = h
            .call(
                Method::POST,
                &url,
                Some(&token),
                Some(confirmation(&item_id, 1, "A1")),
            )
            .await;
        assert_eq!(bad_package.status, StatusCode::BAD_REQUEST);

        h.amazon.set_order_status(&order_id, OrderStatus::Canceled);
        let canceled = h
            .call(
                Method::POST,
                &url,
                Some(&token),
                Some(confirmation(&item_id, 1, "1")),
            )
            .await;
        assert_eq!(canceled.status, StatusCode::BAD_REQUEST);
        assert!(h.amazon.order(&order_id).unwrap().shipments.is_empty());
    }

    #[tokio::test]
    async fn unknown_and_other_sellers_orders_are_404_not_found() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let other = h.amazon.onboard_seller(&[MARKETPLACE_US]);
        let foreign = h.amazon.seed_order(
            &other.seller_id,
            OrderSeed::new(MARKETPLACE_US, START_MS - HOUR_MS).item("MUG-1", 1, "19.99"),
        );
        for order_id in ["111-1111111-1111111", foreign.as_str()] {
            let url = format!("{NA}/orders/v0/orders/{order_id}/shipmentConfirmation");
            let answer = h
                .call(
                    Method::POST,
                    &url,
                    Some(&token),
                    Some(confirmation("1", 1, "1")),
                )
                .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND);
            assert_eq!(answer.error_code(), "NotFound");
            assert_eq!(answer.headers[RATE_LIMIT], "2.0");
        }
    }
}

mod rate_limits {
    use super::*;

    #[tokio::test]
    async fn put_listings_item_allows_a_burst_of_ten_then_429_without_retry_after() {
        let h = Harness::start(AmazonOptions::default()).await;
        let token = h.token().await;
        for _ in 0..10 {
            assert_eq!(
                h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await.status,
                StatusCode::OK
            );
        }

        let throttled = h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await;

        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            throttled.body,
            json!({"errors": [{
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
                "details": "",
            }]})
        );
        assert!(!throttled.headers.contains_key("retry-after"));
        assert!(!throttled.headers.contains_key(RATE_LIMIT));
        assert!(throttled.headers.contains_key(REQUEST_ID));

        // Five a second: one token is back after 200 ms.
        h.clock.advance(Duration::from_millis(200));
        assert_eq!(
            h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await.status,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn each_operation_and_seller_has_its_own_bucket() {
        let h = Harness::start(
            AmazonOptions::default()
                .with_rate_limit(Operation::PutListingsItem, RateLimit::per_second(1.0, 1)),
        )
        .await;
        let token = h.token().await;
        assert_eq!(
            h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        let get = h
            .call(Method::GET, &h.item_url("MUG-1", ""), Some(&token), None)
            .await;
        assert_eq!(get.status, StatusCode::OK);

        let other = h.amazon.onboard_seller(&[MARKETPLACE_US]);
        let (_, grant) = h
            .grant(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &other.refresh_token),
                ("client_id", &other.client_id),
                ("client_secret", &other.client_secret),
            ])
            .await;
        let other_token = grant["access_token"].as_str().unwrap();
        let url = format!(
            "{NA}/listings/2021-08-01/items/{}/MUG-1?marketplaceIds={MARKETPLACE_US}",
            other.seller_id
        );
        let answer = h
            .call(Method::PUT, &url, Some(other_token), Some(mug(1, 5.0)))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers[RATE_LIMIT], "1.0");
    }

    #[tokio::test]
    async fn patch_listings_item_bursts_five_only() {
        let h = Harness::start(AmazonOptions::default()).await;
        let token = h.token().await;
        let patch = json!({
            "productType": "PRODUCT",
            "patches": [{"op": "delete", "path": "/attributes/bullet_point"}],
        });
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let answer = h
                .call(
                    Method::PATCH,
                    &h.item_url("MUG-1", ""),
                    Some(&token),
                    Some(patch.clone()),
                )
                .await;
            statuses.push(answer.status.as_u16());
        }
        assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    }

    #[tokio::test]
    async fn unthrottled_fakes_never_refuse_but_still_report_the_documented_rate() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        for _ in 0..30 {
            let answer = h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.headers[RATE_LIMIT], "5.0");
        }
    }
}

mod failures {
    use super::*;

    #[tokio::test]
    async fn a_scripted_failure_hits_its_operation_only_then_stops() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.amazon
            .fail_operation(Operation::PutListingsItem, SpApiError::quota_exceeded(), 1);

        let get = h
            .call(Method::GET, &h.item_url("MUG-1", ""), Some(&token), None)
            .await;
        assert_eq!(get.status, StatusCode::NOT_FOUND);
        let failed = h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await;
        assert_eq!(failed.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(failed.error_code(), "QuotaExceeded");
        assert!(failed.headers.contains_key(REQUEST_ID));
        let passed = h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await;
        assert_eq!(passed.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn every_operation_can_be_made_to_fail() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.amazon
            .fail_every_operation(SpApiError::internal_failure(), 2);

        let put = h.put_item(&token, "MUG-1", "", mug(1, 5.0)).await;
        let orders = h
            .call(
                Method::GET,
                &format!("{NA}/orders/v0/orders?MarketplaceIds={MARKETPLACE_US}"),
                Some(&token),
                None,
            )
            .await;
        for answer in [&put, &orders] {
            assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(answer.error_code(), "InternalFailure");
            assert!(!answer.headers.contains_key(RATE_LIMIT));
        }
        assert!(h.amazon.listing(&h.seller.seller_id, "MUG-1").is_none());
    }
}
