//! The fake eBay answers like eBay's OAuth service and Sell APIs, over TLS
//! for the real hostnames.
//!
//! A plain HTTP client (reqwest, trusting only the test CA, resolving the
//! real hostnames to the fake) plays the connector: it trades the seller's
//! refresh token for an access token and calls the Inventory and
//! Fulfillment APIs.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice_core::clock::format_rfc3339;
use sluice_core::{ManualClock, UnixMillis};
use sluice_tests::fakes::ebay::{
    EbayCall, EbayChange, EbayError, EbayOptions, EbayOrderSeed, EbaySeller, FakeEbay,
    FulfillmentStatus, SCOPE_FULFILLMENT, SCOPE_INVENTORY, SCOPE_INVENTORY_READONLY, SellApi,
    TokenError,
};
use sluice_tests::{RateLimit, TestCa};

const TOKEN_URL: &str = "https://api.ebay.com/identity/v1/oauth2/token";
const INVENTORY: &str = "https://api.ebay.com/sell/inventory/v1";
const FULFILLMENT: &str = "https://api.ebay.com/sell/fulfillment/v1";
/// 2026-01-01T00:00:00Z, where every test's clock starts.
const START_MS: UnixMillis = 1_767_225_600_000;
const HOUR_MS: i64 = 3_600_000;
const WAIT: Duration = Duration::from_secs(5);

struct Harness {
    ebay: FakeEbay,
    clock: ManualClock,
    http: reqwest::Client,
    seller: EbaySeller,
    _ca: TestCa,
}

/// A Sell API answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn error_id(&self) -> u64 {
        self.body["errors"][0]["errorId"]
            .as_u64()
            .unwrap_or_default()
    }

    fn error_ids(&self) -> Vec<u64> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|error| error["errorId"].as_u64())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A request's optional parts.
#[derive(Default)]
struct Call<'a> {
    token: Option<&'a str>,
    body: Option<Value>,
    content_language: Option<&'a str>,
}

impl Harness {
    async fn start(options: EbayOptions) -> Self {
        let ca = TestCa::new().unwrap();
        let clock = ManualClock::new(START_MS);
        let options = EbayOptions {
            clock: Arc::new(clock.clone()),
            ..options
        };
        let ebay = FakeEbay::start(&ca, options).await.unwrap();
        let http = client(&ebay, &ca);
        let seller = ebay.onboard_seller();
        Self {
            ebay,
            clock,
            http,
            seller,
            _ca: ca,
        }
    }

    async fn unthrottled() -> Self {
        Self::start(EbayOptions::unthrottled()).await
    }

    /// A token request with the app's Basic credentials and `params`.
    async fn grant_as(&self, client_secret: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let credentials = STANDARD.encode(format!("{}:{client_secret}", self.seller.app.client_id));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let response = self
            .http
            .post(TOKEN_URL)
            .header("authorization", format!("Basic {credentials}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn grant(&self, params: &[(&str, &str)]) -> (StatusCode, Value) {
        self.grant_as(&self.seller.app.client_secret, params).await
    }

    async fn token_for(&self, refresh_token: &str, scope: Option<&str>) -> String {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        let (status, body) = self.grant(&params).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn token(&self) -> String {
        self.token_for(&self.seller.refresh_token, None).await
    }

    async fn call(&self, method: Method, url: &str, call: Call<'_>) -> Answer {
        let mut request = self.http.request(method, url);
        if let Some(token) = call.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = call.body {
            request = request
                .header("content-type", "application/json")
                .header("content-language", call.content_language.unwrap_or("en-US"))
                .body(body.to_string());
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

    async fn put_item(&self, token: &str, sku: &str, item: Value) -> Answer {
        let url = format!("{INVENTORY}/inventory_item/{sku}");
        self.call(
            Method::PUT,
            &url,
            Call {
                token: Some(token),
                body: Some(item),
                ..Call::default()
            },
        )
        .await
    }

    async fn create_offer(&self, token: &str, offer: Value) -> Answer {
        let url = format!("{INVENTORY}/offer");
        self.call(
            Method::POST,
            &url,
            Call {
                token: Some(token),
                body: Some(offer),
                ..Call::default()
            },
        )
        .await
    }

    async fn post(&self, token: &str, url: &str, body: Option<Value>) -> Answer {
        self.call(
            Method::POST,
            url,
            Call {
                token: Some(token),
                body,
                ..Call::default()
            },
        )
        .await
    }

    async fn get(&self, token: &str, url: &str) -> Answer {
        self.call(
            Method::GET,
            url,
            Call {
                token: Some(token),
                ..Call::default()
            },
        )
        .await
    }

    /// A complete offer for `sku` naming the seller's policies and location.
    fn offer(&self, sku: &str) -> Value {
        json!({
            "sku": sku,
            "marketplaceId": "EBAY_US",
            "format": "FIXED_PRICE",
            "listingDuration": "GTC",
            "availableQuantity": 10,
            "categoryId": "20625",
            "pricingSummary": {"price": {"value": "19.99", "currency": "USD"}},
            "listingPolicies": {
                "fulfillmentPolicyId": self.seller.policies.fulfillment_policy_id,
                "paymentPolicyId": self.seller.policies.payment_policy_id,
                "returnPolicyId": self.seller.policies.return_policy_id,
            },
            "merchantLocationKey": self.seller.merchant_location_key,
        })
    }

    /// An item and its offer; returns the offer id.
    async fn listed_item(&self, token: &str, sku: &str) -> String {
        assert_eq!(
            self.put_item(token, sku, mug(10)).await.status,
            StatusCode::NO_CONTENT
        );
        let created = self.create_offer(token, self.offer(sku)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["offerId"].as_str().unwrap().to_owned()
    }
}

/// A client that resolves the fake's real hostnames to the fake, like the
/// host's egress overrides do.
fn client(ebay: &FakeEbay, ca: &TestCa) -> reqwest::Client {
    let mut builder =
        reqwest::Client::builder().tls_backend_preconfigured(ca.client_config().unwrap());
    for (host_and_port, addr) in ebay.egress_overrides() {
        let (host, _port) = host_and_port.rsplit_once(':').unwrap();
        builder = builder.resolve(host, addr);
    }
    builder.build().unwrap()
}

/// An inventory item with everything publishing needs.
fn mug(quantity: i64) -> Value {
    json!({
        "availability": {"shipToLocationAvailability": {"quantity": quantity}},
        "condition": "NEW",
        "product": {
            "title": "Sluice mug",
            "description": "A mug for the integration team.",
            "aspects": {"Brand": ["Sluice"]},
            "brand": "Sluice",
            "mpn": "SL-MUG-1",
            "imageUrls": ["https://img.example/mug.jpg"],
        },
    })
}

mod tls {
    use super::*;

    #[tokio::test]
    async fn both_hostnames_serve_the_apis() {
        let h = Harness::unthrottled().await;
        let keys: Vec<String> = h.ebay.egress_overrides().into_keys().collect();
        assert_eq!(keys, ["api.ebay.com:443", "api.sandbox.ebay.com:443"]);
        let token = h.token().await;
        for host in ["api.ebay.com", "api.sandbox.ebay.com"] {
            let url = format!("https://{host}/sell/inventory/v1/inventory_item/NONE-1");
            assert_eq!(
                h.get(&token, &url).await.status,
                StatusCode::NOT_FOUND,
                "{host}"
            );
        }
    }
}

mod oauth {
    use super::*;

    #[tokio::test]
    async fn a_refresh_grant_returns_a_two_hour_user_token_and_no_refresh_token() {
        let h = Harness::unthrottled().await;
        let (status, body) = h
            .grant(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &h.seller.refresh_token),
            ])
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["access_token"].as_str().unwrap().starts_with("v^1.1#"));
        assert_eq!(body["expires_in"], 7200);
        assert_eq!(body["token_type"], "User Access Token");
        assert!(body.get("refresh_token").is_none());
        let [issued] = h.ebay.access_tokens().try_into().unwrap();
        assert_eq!(issued.grant.scopes, [SCOPE_INVENTORY, SCOPE_FULFILLMENT]);
    }

    #[tokio::test]
    async fn scopes_may_be_narrowed_but_not_widened() {
        let h = Harness::unthrottled().await;
        h.token_for(&h.seller.refresh_token, Some(SCOPE_INVENTORY))
            .await;
        let wider = format!("{SCOPE_INVENTORY} https://api.ebay.com/oauth/api_scope/sell.account");
        let (status, body) = h
            .grant(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &h.seller.refresh_token),
                ("scope", &wider),
            ])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_scope");
    }

    #[tokio::test]
    async fn bad_clients_and_grants_are_refused_in_ebays_words() {
        let h = Harness::unthrottled().await;
        let grant = [
            ("grant_type", "refresh_token"),
            ("refresh_token", h.seller.refresh_token.as_str()),
        ];
        let (status, body) = h.grant_as("PRD-wrong", &grant).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"error": "invalid_client", "error_description": "client authentication failed"})
        );

        let (status, body) = h
            .grant(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "v^1.1#made-up"),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );

        h.ebay.revoke_refresh_token(&h.seller.refresh_token);
        let (status, body) = h.grant(&grant).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
    }

    #[tokio::test]
    async fn scripted_failures_answer_the_next_grants_then_stop() {
        let h = Harness::unthrottled().await;
        h.ebay
            .fail_token_requests(TokenError::TemporarilyUnavailable, 1);
        let (status, body) = h
            .grant(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &h.seller.refresh_token),
            ])
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "temporarily_unavailable");
        h.token().await;
    }
}

mod access {
    use super::*;

    fn item_url() -> String {
        format!("{INVENTORY}/inventory_item/MUG-1")
    }

    #[tokio::test]
    async fn a_missing_or_expired_token_is_401_errorid_1001() {
        let h = Harness::unthrottled().await;
        let anonymous = h.call(Method::GET, &item_url(), Call::default()).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            anonymous.body["errors"][0],
            json!({
                "errorId": 1001,
                "domain": "OAuth",
                "category": "REQUEST",
                "message": "Invalid access token",
                "longMessage": "Invalid access token. Check the value of the Authorization HTTP request header.",
            })
        );

        let token = h.token().await;
        h.clock.advance(Duration::from_secs(7199));
        assert_eq!(
            h.get(&token, &item_url()).await.status,
            StatusCode::NOT_FOUND
        );
        h.clock.advance(Duration::from_secs(1));
        assert_eq!(h.get(&token, &item_url()).await.error_id(), 1001);

        let fresh = h.token().await;
        h.ebay.expire_access_token(&fresh);
        assert_eq!(
            h.get(&fresh, &item_url()).await.status,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn a_token_without_the_apis_scope_is_403_errorid_1100() {
        let h = Harness::unthrottled().await;
        let inventory_only = h
            .token_for(&h.seller.refresh_token, Some(SCOPE_INVENTORY))
            .await;
        let orders = h
            .get(&inventory_only, &format!("{FULFILLMENT}/order"))
            .await;
        assert_eq!(orders.status, StatusCode::FORBIDDEN);
        assert_eq!(orders.error_id(), 1100);
        assert_eq!(orders.body["errors"][0]["message"], "Access denied");
    }

    #[tokio::test]
    async fn a_readonly_scope_reads_but_does_not_write() {
        let h = Harness::unthrottled().await;
        let app = h.ebay.register_app();
        let refresh_token = h
            .ebay
            .grant_refresh_token(&app, &[SCOPE_INVENTORY_READONLY]);
        let credentials = STANDARD.encode(format!("{}:{}", app.client_id, app.client_secret));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", &refresh_token)
            .finish();
        let grant: Value = h
            .http
            .post(TOKEN_URL)
            .header("authorization", format!("Basic {credentials}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = grant["access_token"].as_str().unwrap();
        assert_eq!(
            h.get(token, &item_url()).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(h.put_item(token, "MUG-1", mug(1)).await.error_id(), 1100);
    }
}

mod inventory {
    use super::*;

    #[tokio::test]
    async fn an_item_is_stored_whole_and_read_back_with_its_locale() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;

        let put = h.put_item(&token, "MUG-1", mug(10)).await;
        assert_eq!(put.status, StatusCode::NO_CONTENT);
        assert_eq!(put.body, Value::Null);

        let got = h
            .get(&token, &format!("{INVENTORY}/inventory_item/MUG-1"))
            .await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body["sku"], "MUG-1");
        assert_eq!(got.body["locale"], "en_US");
        assert_eq!(got.body["product"]["title"], "Sluice mug");

        // A PUT replaces the record: fields left out are gone.
        h.put_item(&token, "MUG-1", json!({"condition": "USED_GOOD"}))
            .await;
        let item = h.ebay.inventory_item("MUG-1").unwrap();
        assert_eq!(item.condition(), Some("USED_GOOD"));
        assert_eq!(item.quantity(), None);
        let changes = h.ebay.wait_for_changes(2, WAIT).await.unwrap();
        assert!(
            matches!(&changes[0], EbayChange::InventoryItemPut(item) if item.quantity() == Some(10))
        );
    }

    #[tokio::test]
    async fn content_headers_are_required_with_errorid_25709() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let url = format!("{INVENTORY}/inventory_item/MUG-1");
        let french = h
            .call(
                Method::PUT,
                &url,
                Call {
                    token: Some(&token),
                    body: Some(mug(1)),
                    content_language: Some("fr"),
                },
            )
            .await;
        assert_eq!(french.status, StatusCode::BAD_REQUEST);
        assert_eq!(french.error_id(), 25709);
        assert_eq!(
            french.body["errors"][0]["message"],
            "Invalid value for header Content-Language."
        );
        assert_eq!(french.body["errors"][0]["domain"], "API_INVENTORY");
        assert_eq!(french.body["errors"][0]["subdomain"], "Selling");

        let no_language = h
            .http
            .put(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(mug(1).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(no_language.status(), StatusCode::BAD_REQUEST);
        assert!(h.ebay.inventory_item("MUG-1").is_none());
    }

    #[tokio::test]
    async fn item_values_are_checked_with_ebays_error_ids() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let long_sku = "X".repeat(51);
        assert_eq!(
            h.put_item(&token, &long_sku, mug(1)).await.error_id(),
            25707
        );
        assert_eq!(h.put_item(&token, "MUG-1", mug(-1)).await.error_id(), 25004);

        let mut condition = mug(1);
        condition["condition"] = json!("BRAND_NEW");
        let refused = h.put_item(&token, "MUG-1", condition).await;
        assert_eq!(refused.error_id(), 2004);
        assert_eq!(
            refused.body["errors"][0]["parameters"][0]["value"],
            "Could not serialize field [condition]"
        );

        let mut title = mug(1);
        title["product"]["title"] = json!("T".repeat(81));
        assert_eq!(h.put_item(&token, "MUG-1", title).await.error_id(), 25016);

        let mut image = mug(1);
        image["product"]["imageUrls"] = json!(["http://img.example/mug.jpg"]);
        assert_eq!(h.put_item(&token, "MUG-1", image).await.error_id(), 25015);
    }

    #[tokio::test]
    async fn an_unknown_item_is_404_errorid_25710() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let answer = h
            .get(&token, &format!("{INVENTORY}/inventory_item/NONE-1"))
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(answer.error_id(), 25710);
    }

    #[tokio::test]
    async fn an_offer_is_created_once_per_sku_and_marketplace() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let offer_id = h.listed_item(&token, "MUG-1").await;

        let again = h.create_offer(&token, h.offer("MUG-1")).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
        assert_eq!(again.error_id(), 25002);
        assert_eq!(
            again.body["errors"][0]["message"],
            "Offer entity already exists"
        );
        assert_eq!(
            again.body["errors"][0]["parameters"],
            json!([{"name": "offerId", "value": offer_id}])
        );

        let unknown = h.create_offer(&token, h.offer("GHOST-1")).await;
        assert_eq!(unknown.error_id(), 25702);

        let mut numeric = h.offer("MUG-1");
        numeric["pricingSummary"]["price"]["value"] = json!(19.99);
        assert_eq!(h.create_offer(&token, numeric).await.error_id(), 2004);
        assert_eq!(h.ebay.offers("MUG-1").len(), 1);
    }

    #[tokio::test]
    async fn get_offers_lists_the_skus_offers_and_404s_when_there_are_none() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let offer_id = h.listed_item(&token, "MUG-1").await;

        let listed = h.get(&token, &format!("{INVENTORY}/offer?sku=MUG-1")).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.body["total"], 1);
        assert_eq!(listed.body["offers"][0]["offerId"], offer_id.as_str());
        assert_eq!(listed.body["offers"][0]["status"], "UNPUBLISHED");
        assert_eq!(
            listed.body["offers"][0]["pricingSummary"]["price"]["value"],
            "19.99"
        );

        h.put_item(&token, "CUP-1", mug(1)).await;
        let none = h.get(&token, &format!("{INVENTORY}/offer?sku=CUP-1")).await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);
        assert_eq!(none.error_id(), 25713);
    }

    #[tokio::test]
    async fn publishing_a_complete_offer_returns_a_listing_id() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let offer_id = h.listed_item(&token, "MUG-1").await;

        let published = h
            .post(
                &token,
                &format!("{INVENTORY}/offer/{offer_id}/publish"),
                None,
            )
            .await;
        assert_eq!(published.status, StatusCode::OK);
        let listing_id = published.body["listingId"].as_str().unwrap().to_owned();
        // The contract's trailing-slash spelling works and revises the same listing.
        let again = h
            .post(
                &token,
                &format!("{INVENTORY}/offer/{offer_id}/publish/"),
                None,
            )
            .await;
        assert_eq!(again.body["listingId"], listing_id.as_str());

        let listed = h.get(&token, &format!("{INVENTORY}/offer?sku=MUG-1")).await;
        assert_eq!(listed.body["offers"][0]["status"], "PUBLISHED");
        assert_eq!(
            listed.body["offers"][0]["listing"]["listingId"],
            listing_id.as_str()
        );
        assert!(h
            .ebay
            .changes()
            .iter()
            .any(|change| matches!(change, EbayChange::OfferPublished(offer) if offer.listing_id.as_deref() == Some(listing_id.as_str()))));
    }

    #[tokio::test]
    async fn publishing_an_incomplete_offer_lists_every_missing_piece() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.put_item(
            &token,
            "MUG-1",
            json!({"availability": {"shipToLocationAvailability": {"quantity": 0}}}),
        )
        .await;
        let created = h
            .create_offer(
                &token,
                json!({"sku": "MUG-1", "marketplaceId": "EBAY_US", "format": "FIXED_PRICE"}),
            )
            .await;
        let offer_id = created.body["offerId"].as_str().unwrap();

        let refused = h
            .post(
                &token,
                &format!("{INVENTORY}/offer/{offer_id}/publish"),
                None,
            )
            .await;

        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            refused.error_ids(),
            [
                25002, 25002, 25002, 25021, 25003, 25004, 25002, 25005, 25007, 25008, 25009, 25012
            ]
        );
        let unknown = h
            .post(&token, &format!("{INVENTORY}/offer/404/publish"), None)
            .await;
        assert_eq!(
            (unknown.status, unknown.error_id()),
            (StatusCode::NOT_FOUND, 25713)
        );
    }

    #[tokio::test]
    async fn bulk_updates_answer_per_offer_with_200_or_207() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let offer_id = h.listed_item(&token, "MUG-1").await;
        let url = format!("{INVENTORY}/bulk_update_price_quantity");

        let update = json!({"requests": [{
            "sku": "MUG-1",
            "shipToLocationAvailability": {"quantity": 4},
            "offers": [{"offerId": offer_id, "availableQuantity": 4, "price": {"value": "17.50", "currency": "USD"}}],
        }]});
        let all_ok = h.post(&token, &url, Some(update)).await;
        assert_eq!(all_ok.status, StatusCode::OK);
        assert_eq!(
            all_ok.body,
            json!({"responses": [{"statusCode": 200, "sku": "MUG-1", "offerId": offer_id, "errors": [], "warnings": []}]})
        );
        assert_eq!(h.ebay.inventory_item("MUG-1").unwrap().quantity(), Some(4));
        assert_eq!(
            h.ebay.offers("MUG-1")[0].price.as_ref().unwrap().value,
            "17.50"
        );

        let mixed = json!({"requests": [
            {"sku": "MUG-1", "shipToLocationAvailability": {"quantity": 2}},
            {"sku": "GHOST-1", "shipToLocationAvailability": {"quantity": 2}},
        ]});
        let partly = h.post(&token, &url, Some(mixed)).await;
        assert_eq!(partly.status, StatusCode::MULTI_STATUS);
        assert_eq!(partly.body["responses"][0]["statusCode"], 200);
        assert_eq!(partly.body["responses"][1]["statusCode"], 404);
        assert_eq!(partly.body["responses"][1]["errors"][0]["errorId"], 25702);
        assert_eq!(h.ebay.inventory_item("MUG-1").unwrap().quantity(), Some(2));
    }
}

mod fulfillment {
    use super::*;

    /// Three orders created a day ago, last modified 3, 1 and 2 hours ago.
    fn seed_three(h: &Harness) -> Vec<String> {
        [3, 1, 2]
            .into_iter()
            .map(|hours_ago| {
                h.ebay.seed_order(
                    EbayOrderSeed::new(START_MS - 24 * HOUR_MS)
                        .last_modified(START_MS - hours_ago * HOUR_MS)
                        .line_item("MUG-1", 2, "19.99"),
                )
            })
            .collect()
    }

    fn ids(answer: &Answer) -> Vec<String> {
        answer.body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|order| order["orderId"].as_str().unwrap().to_owned())
            .collect()
    }

    fn orders_url(since: UnixMillis, rest: &str) -> String {
        format!(
            "{FULFILLMENT}/order?filter=lastmodifieddate:%5B{}..%5D{rest}",
            format_rfc3339(since)
        )
    }

    #[tokio::test]
    async fn orders_page_oldest_modification_first_until_next_is_absent() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let seeded = seed_three(&h);

        let first = h
            .get(&token, &orders_url(START_MS - 4 * HOUR_MS, "&limit=2"))
            .await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.body["total"], 3);
        assert_eq!(
            (first.body["limit"].as_u64(), first.body["offset"].as_u64()),
            (Some(2), Some(0))
        );
        assert_eq!(ids(&first), [seeded[0].clone(), seeded[2].clone()]);
        let order = &first.body["orders"][0];
        assert_eq!(order["orderFulfillmentStatus"], "NOT_STARTED");
        assert_eq!(order["orderPaymentStatus"], "PAID");
        assert_eq!(
            order["pricingSummary"]["total"],
            json!({"value": "39.98", "currency": "USD"})
        );
        assert_eq!(order["lineItems"][0]["sku"], "MUG-1");
        assert_eq!(order["lineItems"][0]["quantity"], 2);
        assert_eq!(
            order["lineItems"][0]["lineItemFulfillmentStatus"],
            "NOT_STARTED"
        );

        let next = first.body["next"].as_str().unwrap();
        assert!(
            next.starts_with("https://api.ebay.com/sell/fulfillment/v1/order?"),
            "{next}"
        );
        let second = h.get(&token, next).await;
        assert_eq!(ids(&second), [seeded[1].clone()]);
        assert!(second.body.get("next").is_none());
        assert!(second.body["prev"].as_str().is_some());
    }

    #[tokio::test]
    async fn bad_filters_and_limits_use_the_fulfillment_apis_error_ids() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let since = START_MS - HOUR_MS;
        let unknown = h
            .get(
                &token,
                &format!(
                    "{FULFILLMENT}/order?filter=modified:%5B{}..%5D",
                    format_rfc3339(since)
                ),
            )
            .await;
        assert_eq!(
            (unknown.status, unknown.error_id()),
            (StatusCode::BAD_REQUEST, 30700)
        );
        assert_eq!(unknown.body["errors"][0]["domain"], "API_FULFILLMENT");
        assert_eq!(
            h.get(&token, &orders_url(since, "&limit=201"))
                .await
                .error_id(),
            31100
        );
        assert_eq!(
            h.get(&token, &orders_url(START_MS + HOUR_MS, ""))
                .await
                .error_id(),
            30850
        );
        let date_only = h
            .get(
                &token,
                &format!("{FULFILLMENT}/order?filter=lastmodifieddate:%5B2025-12-31..%5D"),
            )
            .await;
        assert_eq!(date_only.error_id(), 30810);
    }

    #[tokio::test]
    async fn a_shipping_fulfillment_is_201_with_its_url_in_location_only() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let order_id = h.ebay.seed_order(
            EbayOrderSeed::new(START_MS - HOUR_MS)
                .line_item("MUG-1", 2, "19.99")
                .line_item("CUP-1", 1, "5.00"),
        );
        let order = h.ebay.order(&order_id).unwrap();
        h.clock.advance(Duration::from_secs(30));
        let url = format!("{FULFILLMENT}/order/{order_id}/shipping_fulfillment");

        let created = h
            .post(
                &token,
                &url,
                Some(json!({
                    "lineItems": [{"lineItemId": order.line_items[0].line_item_id, "quantity": 2}],
                    "shippedDate": "2025-12-31T23:30:00.000Z",
                    "shippingCarrierCode": "USPS",
                    "trackingNumber": "9400111899223100012345",
                })),
            )
            .await;

        assert_eq!(created.status, StatusCode::CREATED);
        assert_eq!(created.body, Value::Null);
        assert_eq!(
            created.headers["location"],
            format!("https://api.ebay.com/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment/9400111899223100012345")
                .as_str()
        );
        let order = h.ebay.order(&order_id).unwrap();
        assert_eq!(order.fulfillment_status(), FulfillmentStatus::InProgress);
        assert_eq!(order.last_modified_date, START_MS + 30_000);
        assert_eq!(
            order.fulfillments[0].tracking_number.as_deref(),
            Some("9400111899223100012345")
        );

        // The change shows up in a last-modified search.
        let found = h.get(&token, &orders_url(START_MS, "")).await;
        assert_eq!(ids(&found), [order_id.as_str()]);
        assert_eq!(
            found.body["orders"][0]["orderFulfillmentStatus"],
            "IN_PROGRESS"
        );
        assert_eq!(
            found.body["orders"][0]["fulfillmentHrefs"][0],
            created.headers["location"].to_str().unwrap()
        );
        let changes = h.ebay.wait_for_changes(1, WAIT).await.unwrap();
        assert!(
            matches!(&changes[0], EbayChange::ShippingFulfillmentCreated(created) if created.order_id == order_id)
        );
    }

    #[tokio::test]
    async fn fulfillment_refusals_name_what_is_wrong() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        let order_id = h
            .ebay
            .seed_order(EbayOrderSeed::new(START_MS - HOUR_MS).line_item("MUG-1", 1, "19.99"));
        let line_item_id = h.ebay.order(&order_id).unwrap().line_items[0]
            .line_item_id
            .clone();
        let url = format!("{FULFILLMENT}/order/{order_id}/shipping_fulfillment");
        let body = |line_item_ids: &[&str], carrier: &str, tracking: &str, date: &str| {
            let line_items: Vec<Value> = line_item_ids
                .iter()
                .map(|id| json!({"lineItemId": id}))
                .collect();
            json!({"lineItems": line_items, "shippingCarrierCode": carrier, "trackingNumber": tracking, "shippedDate": date})
        };
        let date = "2025-12-31T23:30:00.000Z";
        let id = line_item_id.as_str();

        let unknown_order = h
            .post(
                &token,
                &format!("{FULFILLMENT}/order/99-99999-99999/shipping_fulfillment"),
                Some(body(&[id], "USPS", "9400", date)),
            )
            .await;
        assert_eq!(unknown_order.error_id(), 32100);
        assert_eq!(
            h.post(&token, &url, Some(body(&["123"], "USPS", "9400", date)))
                .await
                .error_id(),
            32200
        );
        assert_eq!(
            h.post(&token, &url, Some(body(&[id, id], "USPS", "9400", date)))
                .await
                .error_id(),
            32210
        );
        assert_eq!(
            h.post(&token, &url, Some(body(&[id], "USPS", "9400-11", date)))
                .await
                .error_id(),
            32300
        );
        assert_eq!(
            h.post(
                &token,
                &url,
                Some(body(&[id], "USPS", "9400", "12/31/2025"))
            )
            .await
            .error_id(),
            32500
        );

        assert_eq!(
            h.post(&token, &url, Some(body(&[id], "USPS", "9400", date)))
                .await
                .status,
            StatusCode::CREATED
        );
        let again = h
            .post(&token, &url, Some(body(&[id], "USPS", "9401", date)))
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(h.ebay.order(&order_id).unwrap().fulfillments.len(), 1);
    }
}

mod rate_limits {
    use super::*;

    #[tokio::test]
    async fn over_the_limit_is_429_errorid_2001_until_time_passes() {
        let h = Harness::start(EbayOptions {
            inventory_rate: RateLimit::per_second(1.0, 2),
            ..EbayOptions::unthrottled()
        })
        .await;
        let token = h.token().await;
        let url = format!("{INVENTORY}/inventory_item/MUG-1");
        for _ in 0..2 {
            assert_eq!(h.get(&token, &url).await.status, StatusCode::NOT_FOUND);
        }

        let throttled = h.get(&token, &url).await;

        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            throttled.body,
            json!({"errors": [{
                "errorId": 2001,
                "domain": "ACCESS",
                "category": "REQUEST",
                "message": "Too many requests.",
                "longMessage": "The request limit has been reached for the resource.",
            }]})
        );
        // Orders are counted separately.
        assert_eq!(
            h.get(&token, &format!("{FULFILLMENT}/order")).await.status,
            StatusCode::OK
        );
        h.clock.advance(Duration::from_secs(1));
        assert_eq!(h.get(&token, &url).await.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_default_limits_allow_a_burst_of_a_hundred() {
        let h = Harness::start(EbayOptions::default()).await;
        let token = h.token().await;
        let url = format!("{INVENTORY}/inventory_item/MUG-1");
        for _ in 0..100 {
            assert_eq!(h.get(&token, &url).await.status, StatusCode::NOT_FOUND);
        }
        assert_eq!(
            h.get(&token, &url).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

mod failures {
    use super::*;

    #[tokio::test]
    async fn a_scripted_failure_hits_its_call_only_then_stops() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.put_item(&token, "MUG-1", mug(1)).await;
        h.ebay.fail_calls(
            EbayCall::CreateOffer,
            EbayError::system_error(SellApi::Inventory),
            1,
        );

        assert_eq!(
            h.get(&token, &format!("{INVENTORY}/inventory_item/MUG-1"))
                .await
                .status,
            StatusCode::OK
        );
        let failed = h.create_offer(&token, h.offer("MUG-1")).await;
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failed.error_id(), 25001);
        assert_eq!(failed.body["errors"][0]["category"], "APPLICATION");
        assert_eq!(
            h.create_offer(&token, h.offer("MUG-1")).await.status,
            StatusCode::CREATED
        );
    }

    #[tokio::test]
    async fn a_whole_api_can_be_made_to_fail() {
        let h = Harness::unthrottled().await;
        let token = h.token().await;
        h.ebay
            .fail_calls(EbayCall::AnyFulfillment, EbayError::too_many_requests(), 2);
        let orders = h.get(&token, &format!("{FULFILLMENT}/order")).await;
        assert_eq!(
            (orders.status, orders.error_id()),
            (StatusCode::TOO_MANY_REQUESTS, 2001)
        );
        let url = format!("{FULFILLMENT}/order/1/shipping_fulfillment");
        assert_eq!(h.post(&token, &url, Some(json!({}))).await.error_id(), 2001);
        assert_eq!(
            h.get(&token, &format!("{FULFILLMENT}/order")).await.status,
            StatusCode::OK
        );
    }
}
