//! The shipped Google Shopping connector, run in the real host runtime
//! against the fake Google over TLS: the component holds no secret, the host
//! signs the service account's assertion (verified by the fake's token
//! endpoint), caches the access token, renews it shortly before it expires
//! and once when Google refuses it; each event type reaches the Merchant API
//! as the exact request Google expects, and every documented error, Google's
//! or the host's, maps to the right outcome.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sluice_core::{Clock, ManualClock, SharedClock};
use sluice_manifest::AuthScheme;
use sluice_runtime::types::{
    CheckStatus, ConnectionCheck, DeliveryOutcome, Event, PermanentFailure,
};
use sluice_runtime::{Invocation, LoadedConnector, MemoryInspector, MemoryState, Runtime};
use sluice_tests::fakes::google::{
    AccountAccess, ApiError, CONTENT_SCOPE, FakeGoogle, GoogleOptions, MerchantCall, Price,
    ProductChange, RpcStatus, ServiceAccount, TokenFailure,
};
use sluice_tests::guests::guest;
use sluice_tests::sandbox::{
    assert_no_secret_in_guest_memory, call_context, check_result, delivered, event, failed,
    inspected_runtime, retry,
};
use sluice_tests::{FakeServer, RateLimit, RecordedRequest, TestCa};

const TOKEN_ORIGIN: &str = "https://oauth2.googleapis.com:443";
const MERCHANT_ORIGIN: &str = "https://merchantapi.googleapis.com:443";
const MERCHANT_HOST: &str = "merchantapi.googleapis.com";
const TOKEN_HOST: &str = "oauth2.googleapis.com";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const KEY_CREDENTIAL: &str = "service_account_key";
const SKU: &str = "TSHIRT-RED-M";
const INPUT_ID: &str = "en~US~TSHIRT-RED-M";

struct Harness {
    google: FakeGoogle,
    runtime: Runtime,
    /// Every linear memory the connector's instances had.
    memory: Arc<MemoryInspector>,
    connector: Arc<LoadedConnector>,
    /// The clock of both the host and the fake, so assertions are current.
    clock: Arc<ManualClock>,
    /// The configuration's state, shared by every call of a test.
    state: MemoryState,
    account: u64,
    data_source: String,
    key_file: String,
    /// Stands in for the Merchant API when a test needs an answer the fake
    /// cannot script.
    _merchant_stand_in: Option<FakeServer>,
    _ca: TestCa,
}

impl Harness {
    async fn start() -> Self {
        Self::with(RateLimit::Unlimited, None).await
    }

    /// A fake Google throttling at `limit`; with `merchant_api`, that router
    /// answers for the Merchant API instead of the fake.
    async fn with(limit: RateLimit, merchant_api: Option<Router>) -> Self {
        let ca = TestCa::new().unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let shared: SharedClock = clock.clone();
        let options = GoogleOptions {
            merchant_api_rate: limit,
            clock: shared,
        };
        let google = FakeGoogle::start(&ca, options).await.unwrap();
        let mut overrides = google.egress_overrides();
        let stand_in = match merchant_api {
            Some(router) => {
                let server = FakeServer::start_tls(&ca, &[MERCHANT_HOST], router)
                    .await
                    .unwrap();
                overrides.extend(server.egress_overrides());
                Some(server)
            }
            None => None,
        };
        let (runtime, memory) = inspected_runtime(&ca, overrides);
        let (manifest, bytes) = guest("connectors/google-shopping");
        let connector = runtime.load(manifest, bytes).await.unwrap();
        let account = google.add_merchant_account(AccountAccess::Granted);
        let data_source = google.create_data_source(account, "Sluice");
        let key_file = google.service_account().key_file_json();
        Self {
            google,
            runtime,
            memory,
            connector,
            clock,
            state: MemoryState::default(),
            account,
            data_source,
            key_file,
            _merchant_stand_in: stand_in,
            _ca: ca,
        }
    }

    fn data_source_id(&self) -> String {
        self.data_source.rsplit('/').next().unwrap().to_owned()
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("merchant_id", self.account.to_string()),
            ("data_source", self.data_source_id()),
            ("feed_label", "US".to_owned()),
            ("content_language", "en".to_owned()),
        ]
    }

    async fn deliver(&self, event: Event) -> Invocation<DeliveryOutcome> {
        self.deliver_with(&self.settings(), &self.key_file, event)
            .await
    }

    async fn deliver_with(
        &self,
        settings: &[(&str, String)],
        key_file: &str,
        event: Event,
    ) -> Invocation<DeliveryOutcome> {
        let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let credentials: &[(&str, &str)] = if key_file.is_empty() {
            &[]
        } else {
            &[("service_account_key", key_file)]
        };
        let context = call_context(&settings, credentials, &self.state, self.clock.clone());
        self.runtime.deliver(&self.connector, context, event).await
    }

    async fn check(&self) -> Invocation<ConnectionCheck> {
        self.check_with(&self.settings(), &self.key_file).await
    }

    async fn check_with(
        &self,
        settings: &[(&str, String)],
        key_file: &str,
    ) -> Invocation<ConnectionCheck> {
        let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let credentials: &[(&str, &str)] = if key_file.is_empty() {
            &[]
        } else {
            &[("service_account_key", key_file)]
        };
        let context = call_context(&settings, credentials, &self.state, self.clock.clone());
        self.runtime.test_connection(&self.connector, context).await
    }

    /// Delivers the documented product and asserts it arrived.
    async fn insert_product(&self) {
        delivered(&self.deliver(product_updated()).await);
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        self.google.recorder().requests()
    }

    fn merchant_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.host == MERCHANT_HOST)
            .collect()
    }

    fn token_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.host == TOKEN_HOST)
            .collect()
    }

    fn input_name(&self, id: &str) -> String {
        format!("accounts/{}/productInputs/{id}", self.account)
    }

    fn insert_path(&self) -> String {
        format!(
            "/products/v1/accounts/{}/productInputs:insert",
            self.account
        )
    }

    fn input_path(&self, id: &str) -> String {
        format!("/products/v1/{}", self.input_name(id))
    }

    fn data_source_query(&self) -> String {
        format!("dataSource={}", self.data_source)
    }

    fn patch_query(&self) -> String {
        format!(
            "{}&updateMask=productAttributes.availability",
            self.data_source_query()
        )
    }
}

/// The key file of the test account with another key: Google finds the
/// account but the signature does not verify.
fn key_file_with_a_foreign_key(google: &FakeGoogle) -> String {
    let mut key_file: Value =
        serde_json::from_str(&google.service_account().key_file_json()).unwrap();
    let stranger: Value =
        serde_json::from_str(&ServiceAccount::stranger().key_file_json()).unwrap();
    key_file["private_key"] = stranger["private_key"].clone();
    key_file.to_string()
}

fn product_payload() -> Value {
    json!({
        "sku": SKU,
        "title": "Red T-shirt, medium",
        "description": "100% organic cotton.",
        "brand": "Acme",
        "identifiers": {"gtin": "00012345678905", "upc": "012345678905", "mpn": "TS-R-M"},
        "images": ["https://cdn.example.com/tshirt-red.jpg", "https://cdn.example.com/tshirt-red-back.jpg"],
        "price": {"amount": "19.99", "currency": "USD"},
        "condition": "new",
        "quantity": 10,
        "link": "https://shop.example.com/p/tshirt-red-m",
        "attributes": {"color": "red", "size": "M"}
    })
}

fn product_updated() -> Event {
    event("product.updated", &product_payload().to_string())
}

/// The product input the documented product becomes.
fn expected_input() -> Value {
    json!({
        "offerId": SKU,
        "contentLanguage": "en",
        "feedLabel": "US",
        "productAttributes": {
            "title": "Red T-shirt, medium",
            "description": "100% organic cotton.",
            "link": "https://shop.example.com/p/tshirt-red-m",
            "imageLink": "https://cdn.example.com/tshirt-red.jpg",
            "additionalImageLinks": ["https://cdn.example.com/tshirt-red-back.jpg"],
            "availability": "IN_STOCK",
            "price": {"amountMicros": "19990000", "currencyCode": "USD"},
            "gtins": ["00012345678905", "012345678905"],
            "brand": "Acme",
            "mpn": "TS-R-M",
            "condition": "NEW"
        },
        "customAttributes": [
            {"name": "color", "value": "red"},
            {"name": "size", "value": "M"}
        ]
    })
}

fn inventory_updated(sku: &str, quantity: u64) -> Event {
    event(
        "inventory.updated",
        &json!({"sku": sku, "quantity": quantity, "location": "main-warehouse"}).to_string(),
    )
}

/// The report's requests as `(method, origin, path, status)`. Every one
/// carries the service account's credential, applied by the host, and the
/// host's own token exchanges are marked as such.
fn egress<T>(invocation: &Invocation<T>) -> Vec<(String, String, String, Option<u16>)> {
    invocation
        .report
        .egress
        .iter()
        .map(|record| {
            assert_eq!(record.refused, None, "{record:?}");
            assert_eq!(record.error, None, "{record:?}");
            assert_eq!(
                record.credential.as_deref(),
                Some(KEY_CREDENTIAL),
                "{record:?}"
            );
            assert_eq!(
                record.token_exchange,
                record.origin == TOKEN_ORIGIN,
                "{record:?}"
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

fn request(
    method: &str,
    origin: &str,
    path: &str,
    status: u16,
) -> (String, String, String, Option<u16>) {
    (method.into(), origin.into(), path.into(), Some(status))
}

fn token_exchange() -> (String, String, String, Option<u16>) {
    request("POST", TOKEN_ORIGIN, "/token", 200)
}

/// Asserts a failure with Google's HTTP `status`, status name `code` and
/// `message`, whose reason names both.
fn assert_google_refusal(failure: &PermanentFailure, status: u16, code: &str, message: &str) {
    let remote = failure.remote.as_ref().expect("Google's answer");
    assert_eq!(remote.status, Some(status), "{failure:?}");
    assert_eq!(remote.code.as_deref(), Some(code), "{failure:?}");
    assert_eq!(remote.message.as_deref(), Some(message), "{failure:?}");
    assert!(
        failure.reason.contains(&format!("{code}: {message}")),
        "{}",
        failure.reason
    );
}

/// The bearer token a request carried.
fn bearer(request: &RecordedRequest) -> &str {
    request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .expect("a bearer token")
}

mod token_exchange {
    use super::*;

    #[tokio::test]
    async fn no_key_or_access_token_is_ever_in_the_components_memory() {
        let harness = Harness::start().await;
        assert_eq!(check_result(&harness.check().await).status, CheckStatus::Ok);
        delivered(&harness.deliver(product_updated()).await);
        delivered(&harness.deliver(inventory_updated("TSHIRT-RED-M", 3)).await);

        let key_file: Value = serde_json::from_str(&harness.key_file).unwrap();
        let private_key = key_file["private_key"].as_str().unwrap();
        // The PEM's armour is public text; its body is the key.
        let body: String = private_key
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let tokens = harness.google.access_tokens();
        assert!(!tokens.is_empty());
        let mut secrets = vec![("the private key", body.as_str())];
        secrets.extend(tokens.iter().map(|t| ("an access token", t.token.as_str())));
        assert_no_secret_in_guest_memory(&harness.memory, &secrets);
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_host_signs_the_assertion_with_the_key_files_identity() {
        let harness = Harness::start().await;

        let invocation = harness.deliver(product_updated()).await;

        delivered(&invocation);
        let [token_request] = harness.token_requests().try_into().unwrap();
        assert_eq!(token_request.method, "POST");
        assert_eq!(token_request.path, "/token");
        assert_eq!(
            token_request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&token_request.body)
            .into_owned()
            .collect();
        assert_eq!(form.keys().collect::<Vec<_>>(), ["assertion", "grant_type"]);
        assert_eq!(form["grant_type"], JWT_BEARER);
        let parts: Vec<&str> = form["assertion"].split('.').collect();
        assert_eq!(parts.len(), 3);
        let account = harness.google.service_account();
        assert_eq!(
            decode(parts[0]),
            json!({"alg": "RS256", "typ": "JWT", "kid": account.private_key_id()})
        );
        let now = harness.clock.now_ms() / 1000;
        assert_eq!(
            decode(parts[1]),
            json!({
                "iss": account.client_email(),
                "scope": CONTENT_SCOPE,
                "aud": "https://oauth2.googleapis.com/token",
                "iat": now,
                "exp": now + 3600,
            })
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256);
        // The fake verified the signature with the account's public key.
        let [issued] = harness.google.access_tokens().try_into().unwrap();
        assert_eq!(issued.scopes, [CONTENT_SCOPE]);
        let [insert] = harness.merchant_requests().try_into().unwrap();
        assert_eq!(bearer(&insert), issued.token);
        // The exchange is the host's, in the call's report under the
        // credential's key; the component asked for nothing but the insert.
        assert_eq!(
            egress(&invocation),
            [
                token_exchange(),
                request("POST", MERCHANT_ORIGIN, &harness.insert_path(), 200)
            ]
        );
        assert!(invocation.report.credentials_read.is_empty());
    }

    #[tokio::test]
    async fn the_component_holds_no_credential_and_delivers_with_the_hosts_token() {
        let (manifest, _) = sluice_tests::guests::guest("connectors/google-shopping");
        let [credential] = manifest.credentials.as_slice() else {
            panic!("one credential, the key: {:?}", manifest.credentials);
        };
        assert_eq!(credential.key, KEY_CREDENTIAL);
        assert!(!credential.readable, "the component may not read the key");
        let auth = credential.auth.as_ref().expect("the host applies the key");
        assert_eq!(auth.origins, ["https://merchantapi.googleapis.com"]);
        let AuthScheme::OAuth2JwtBearer {
            token_url,
            scopes,
            apply,
            renew_on_status,
        } = &auth.scheme
        else {
            panic!("expected oauth2-jwt-bearer, got {:?}", auth.scheme);
        };
        assert_eq!(token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(scopes, &[CONTENT_SCOPE]);
        assert_eq!(
            (apply.header.as_str(), apply.prefix.as_str()),
            ("authorization", "Bearer ")
        );
        assert_eq!(renew_on_status, &[401]);
        assert!(
            auth.scheme.companions().is_empty(),
            "no client id or secret"
        );

        let harness = Harness::start().await;
        let delivery = harness.deliver(product_updated()).await;
        let check = harness.check().await;

        delivered(&delivery);
        assert_eq!(check_result(&check).status, CheckStatus::Ok);
        for report in [&delivery.report, &check.report] {
            assert!(report.credentials_read.is_empty(), "{report:?}");
            assert!(report.credentials_refused.is_empty(), "{report:?}");
            // Nothing the component logged or printed holds the key or the
            // token.
            let said =
                serde_json::to_string(&(&report.logs, &report.stdout, &report.stderr)).unwrap();
            assert!(!said.contains("PRIVATE KEY"), "{said}");
            assert!(
                !said.contains(&harness.google.access_tokens()[0].token),
                "{said}"
            );
        }
        // Nor did it keep a token of its own.
        assert!(harness.state.snapshot(harness.clock.now_ms()).is_empty());
    }

    #[tokio::test]
    async fn one_exchange_serves_a_burst_of_deliveries_until_shortly_before_expiry() {
        let harness = Harness::start().await;

        let first = harness.deliver(product_updated()).await;
        let second = harness.deliver(inventory_updated(SKU, 3)).await;
        let third = harness.deliver(product_updated()).await;

        delivered(&first);
        delivered(&second);
        delivered(&third);
        assert_eq!(
            egress(&first),
            [
                token_exchange(),
                request("POST", MERCHANT_ORIGIN, &harness.insert_path(), 200)
            ]
        );
        assert_eq!(
            egress(&second),
            [request(
                "PATCH",
                MERCHANT_ORIGIN,
                &harness.input_path(INPUT_ID),
                200
            )]
        );
        assert_eq!(
            egress(&third),
            [request(
                "POST",
                MERCHANT_ORIGIN,
                &harness.insert_path(),
                200
            )]
        );
        let [issued] = harness.google.access_tokens().try_into().unwrap();
        assert!(
            harness
                .merchant_requests()
                .iter()
                .all(|request| bearer(request) == issued.token)
        );

        // Google's token lives 3599 s; a second before the host's renewal
        // point it still serves, a minute before expiry it is replaced.
        harness.clock.advance(Duration::from_secs(3599 - 61));
        let still = harness.deliver(inventory_updated(SKU, 1)).await;
        assert_eq!(
            egress(&still),
            [request(
                "PATCH",
                MERCHANT_ORIGIN,
                &harness.input_path(INPUT_ID),
                200
            )]
        );
        harness.clock.advance(Duration::from_secs(1));
        let later = harness.deliver(inventory_updated(SKU, 0)).await;

        delivered(&later);
        assert_eq!(
            egress(&later),
            [
                token_exchange(),
                request("PATCH", MERCHANT_ORIGIN, &harness.input_path(INPUT_ID), 200)
            ]
        );
        let tokens = harness.google.access_tokens();
        assert_eq!(tokens.len(), 2);
        assert_eq!(harness.token_requests().len(), 2);
        let last = harness.merchant_requests().pop().unwrap();
        assert_eq!(bearer(&last), tokens[1].token);
    }

    #[tokio::test]
    async fn a_revoked_token_is_renewed_once_within_the_delivery() {
        let harness = Harness::start().await;
        harness.insert_product().await;
        let [first] = harness.google.access_tokens().try_into().unwrap();
        harness.google.revoke_access_token(&first.token);

        let invocation = harness.deliver(inventory_updated(SKU, 0)).await;

        delivered(&invocation);
        let patch = harness.input_path(INPUT_ID);
        assert_eq!(
            egress(&invocation),
            [
                request("PATCH", MERCHANT_ORIGIN, &patch, 401),
                token_exchange(),
                request("PATCH", MERCHANT_ORIGIN, &patch, 200),
            ]
        );
        let tokens = harness.google.access_tokens();
        assert_eq!(tokens.len(), 2);
        let requests = harness.merchant_requests();
        assert_eq!(bearer(&requests[1]), first.token);
        assert_eq!(bearer(&requests[2]), tokens[1].token);
        // The host sent the same patch again.
        assert_eq!(requests[1].body, requests[2].body);
        let stored = harness
            .google
            .product_input(harness.account, INPUT_ID)
            .unwrap();
        assert_eq!(stored.text("availability"), Some("OUT_OF_STOCK"));

        // The new token is the cached one now.
        let next = harness.deliver(inventory_updated(SKU, 4)).await;
        assert_eq!(
            egress(&next),
            [request("PATCH", MERCHANT_ORIGIN, &patch, 200)]
        );
    }

    #[tokio::test]
    async fn a_renewed_token_refused_again_fails_with_unauthenticated_after_one_renewal() {
        let harness = Harness::start().await;
        harness.insert_product().await;
        harness.google.fail_merchant_calls(
            MerchantCall::Any,
            ApiError::from(RpcStatus::Unauthenticated),
            2,
        );

        let invocation = harness.deliver(product_updated()).await;

        let failure = failed(&invocation);
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(401));
        assert_eq!(remote.code.as_deref(), Some("UNAUTHENTICATED"));
        assert!(
            failure.reason.starts_with(&format!(
                "Google refused the service account's access token to insert product {SKU}: \
                 UNAUTHENTICATED"
            )),
            "{}",
            failure.reason
        );
        let insert = harness.insert_path();
        assert_eq!(
            egress(&invocation),
            [
                request("POST", MERCHANT_ORIGIN, &insert, 401),
                token_exchange(),
                request("POST", MERCHANT_ORIGIN, &insert, 401),
            ]
        );
        assert_eq!(harness.token_requests().len(), 2, "no second renewal");
        assert_eq!(harness.google.changes().len(), 1, "only the first insert");
    }

    #[tokio::test]
    async fn a_key_that_does_not_verify_fails_with_googles_invalid_grant() {
        let harness = Harness::start().await;
        let foreign = key_file_with_a_foreign_key(&harness.google);

        let invocation = harness
            .deliver_with(&harness.settings(), &foreign, product_updated())
            .await;

        let failure = failed(&invocation);
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));
        assert_eq!(remote.message.as_deref(), Some("Invalid JWT Signature."));
        assert_eq!(
            failure.reason,
            "Google refused the service account key in credential `service_account_key`: \
             Invalid JWT Signature. (invalid_grant); the key was deleted or does not belong to \
             the service account; create a new JSON key"
        );
        // The host tried once and did not send the insert.
        assert_eq!(
            egress(&invocation),
            [request("POST", TOKEN_ORIGIN, "/token", 400)]
        );
        assert!(harness.merchant_requests().is_empty());
    }

    #[tokio::test]
    async fn a_deleted_service_account_fails_with_account_not_found() {
        let harness = Harness::start().await;
        harness.google.delete_service_account();

        let invocation = harness.deliver(product_updated()).await;

        let failure = failed(&invocation);
        let remote = failure.remote.as_ref().unwrap();
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));
        assert_eq!(
            remote.message.as_deref(),
            Some("Invalid grant: account not found")
        );
        assert!(
            failure.reason.contains(
                "Invalid grant: account not found (invalid_grant); the service account in the \
                 key does not exist"
            ),
            "{}",
            failure.reason
        );
        assert!(harness.merchant_requests().is_empty());
    }

    #[tokio::test]
    async fn a_key_file_that_is_no_key_fails_with_the_hosts_credential_unreadable() {
        let harness = Harness::start().await;

        for not_a_key in [
            r#"{"type":"authorized_user","client_id":"1.apps.googleusercontent.com"}"#,
            "-----BEGIN PRIVATE KEY-----",
            r#"{"client_email":"sa@p.iam.gserviceaccount.com","private_key":"not a PEM"}"#,
        ] {
            let invocation = harness
                .deliver_with(&harness.settings(), not_a_key, product_updated())
                .await;

            let failure = failed(&invocation);
            assert!(
                failure.reason.starts_with(
                    "credential `service_account_key` is not a service account JSON key Sluice \
                     can sign in with (the host could not obtain an access token for credential \
                     'service_account_key'"
                ),
                "{}",
                failure.reason
            );
            assert!(
                failure.reason.ends_with(
                    "create a key of type JSON for the service account in the Google Cloud \
                     console and paste the whole file"
                ),
                "{}",
                failure.reason
            );
            assert!(!failure.reason.contains("not a PEM"), "{}", failure.reason);
            assert!(failure.remote.is_none(), "Google was not asked");
            // The host answered without sending anything.
            assert!(
                invocation.report.egress.is_empty(),
                "{:?}",
                invocation.report
            );
        }
        assert!(harness.requests().is_empty());
    }

    #[tokio::test]
    async fn an_unavailable_token_endpoint_retries() {
        let harness = Harness::start().await;
        harness
            .google
            .fail_token_requests(TokenFailure::Unavailable, 1);

        let invocation = harness.deliver(product_updated()).await;

        let retry = retry(&invocation);
        assert!(
            retry
                .reason
                .starts_with("Google's token endpoint issued no access token: "),
            "{}",
            retry.reason
        );
        assert!(retry.reason.contains("503"), "{}", retry.reason);
        assert_eq!(
            egress(&invocation),
            [request("POST", TOKEN_ORIGIN, "/token", 503)]
        );
        assert!(harness.merchant_requests().is_empty());

        let again = harness.deliver(product_updated()).await;
        delivered(&again);
        assert_eq!(
            egress(&again),
            [
                token_exchange(),
                request("POST", MERCHANT_ORIGIN, &harness.insert_path(), 200)
            ]
        );
    }
}

mod product_updated {
    use super::*;

    #[tokio::test]
    async fn inserts_the_whole_product_input_with_price_in_micros() {
        let harness = Harness::start().await;

        let invocation = harness.deliver(product_updated()).await;

        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(harness.input_name(INPUT_ID).as_str())
        );
        assert_eq!(
            egress(&invocation),
            [
                token_exchange(),
                request("POST", MERCHANT_ORIGIN, &harness.insert_path(), 200)
            ]
        );
        let [insert] = harness.merchant_requests().try_into().unwrap();
        assert_eq!(insert.method, "POST");
        assert_eq!(insert.path, harness.insert_path());
        assert_eq!(
            insert.query.as_deref(),
            Some(harness.data_source_query().as_str())
        );
        assert_eq!(
            insert.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(insert.json().unwrap(), expected_input());

        let changes: [ProductChange; 1] = harness.google.changes().try_into().unwrap();
        let [ProductChange::Inserted(stored)] = changes else {
            panic!("expected one insert");
        };
        assert_eq!(stored.name, harness.input_name(INPUT_ID));
        assert_eq!(stored.data_source, harness.data_source);
        assert_eq!(stored.price("price"), Some(Price::new(19_990_000, "USD")));
        assert_eq!(stored.text("availability"), Some("IN_STOCK"));
        assert_eq!(stored.text("condition"), Some("NEW"));
    }

    #[tokio::test]
    async fn a_used_product_out_of_stock_maps_to_googles_enums() {
        let harness = Harness::start().await;
        let mut payload = product_payload();
        payload["condition"] = json!("used");
        payload["quantity"] = json!(0);
        payload["price"] = json!({"amount": "5", "currency": "EUR"});

        let invocation = harness
            .deliver(event("product.updated", &payload.to_string()))
            .await;

        delivered(&invocation);
        let stored = harness
            .google
            .product_input(harness.account, INPUT_ID)
            .unwrap();
        assert_eq!(stored.text("condition"), Some("USED"));
        assert_eq!(stored.text("availability"), Some("OUT_OF_STOCK"));
        assert_eq!(stored.price("price"), Some(Price::new(5_000_000, "EUR")));
    }

    #[tokio::test]
    async fn the_same_sku_again_replaces_the_product_input() {
        let harness = Harness::start().await;
        harness.insert_product().await;
        let mut payload = product_payload();
        payload["title"] = json!("Red T-shirt, medium (new cut)");
        payload["condition"] = json!("refurbished");

        let invocation = harness
            .deliver(event("product.updated", &payload.to_string()))
            .await;

        delivered(&invocation);
        let [stored] = harness
            .google
            .product_inputs(harness.account)
            .try_into()
            .unwrap();
        assert_eq!(stored.text("title"), Some("Red T-shirt, medium (new cut)"));
        assert_eq!(stored.text("condition"), Some("REFURBISHED"));
    }

    #[tokio::test]
    async fn a_link_google_would_refuse_fails_before_any_call() {
        let harness = Harness::start().await;
        let mut payload = product_payload();
        payload["link"] = json!("ftp://shop.example.com/p/tshirt-red-m");

        let invocation = harness
            .deliver(event("product.updated", &payload.to_string()))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure.reason.contains(
                "link \"ftp://shop.example.com/p/tshirt-red-m\" is not an http or https URL"
            ),
            "{}",
            failure.reason
        );
        assert!(failure.remote.is_none());
        assert!(harness.google.recorder().is_empty());
    }

    #[tokio::test]
    async fn non_ascii_links_are_percent_encoded_and_overlong_ones_refused() {
        let harness = Harness::start().await;
        let mut payload = product_payload();
        payload["link"] = json!("https://shop.example.com/p/t-shirt größe m");
        payload["images"] = json!(["https://cdn.example.com/bild größe.jpg"]);

        delivered(
            &harness
                .deliver(event("product.updated", &payload.to_string()))
                .await,
        );

        let insert = harness.google.recorder().requests().pop().unwrap();
        let attributes = &insert.json().unwrap()["productAttributes"];
        assert_eq!(
            attributes["link"],
            "https://shop.example.com/p/t-shirt%20gr%C3%B6%C3%9Fe%20m"
        );
        assert_eq!(
            attributes["imageLink"],
            "https://cdn.example.com/bild%20gr%C3%B6%C3%9Fe.jpg"
        );

        payload["link"] = json!(format!("https://shop.example.com/{}", "é".repeat(700)));
        payload["brand"] = json!("Acme");
        let failure = harness
            .deliver(event("product.updated", &payload.to_string()))
            .await;
        let reason = &failed(&failure).reason;
        assert!(
            reason.contains("link is 4225 characters once percent-encoded")
                && reason.contains("at most 2000"),
            "{reason}"
        );

        payload["link"] = json!("https://shop.example.com/p/1");
        payload["brand"] = json!("B".repeat(71));
        let failure = harness
            .deliver(event("product.updated", &payload.to_string()))
            .await;
        let reason = &failed(&failure).reason;
        assert!(
            reason.contains("brand is 71 characters") && reason.contains("at most 70"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn an_unknown_data_source_fails_naming_the_setting() {
        let harness = Harness::start().await;
        let mut settings = harness.settings();
        settings[1].1 = "999".into();

        let invocation = harness
            .deliver_with(&settings, &harness.key_file, product_updated())
            .await;

        let failure = failed(&invocation);
        assert_google_refusal(
            failure,
            400,
            "INVALID_ARGUMENT",
            &format!(
                "dataSource: accounts/{}/dataSources/999 does not exist",
                harness.account
            ),
        );
        assert!(
            failure.reason.contains("correct setting `data_source`"),
            "{}",
            failure.reason
        );
    }

    #[tokio::test]
    async fn an_account_not_shared_with_the_service_account_fails_with_permission_denied() {
        let harness = Harness::start().await;
        harness
            .google
            .set_account_access(harness.account, AccountAccess::NotGranted);

        let invocation = harness.deliver(product_updated()).await;

        let failure = failed(&invocation);
        assert_google_refusal(
            failure,
            403,
            "PERMISSION_DENIED",
            &format!(
                "The caller does not have access to the accounts: [{}]",
                harness.account
            ),
        );
        assert!(
            failure.reason.contains(&format!(
                "add the service account (client_email in its JSON key) as a user of Merchant \
                 Center account {}",
                harness.account
            )),
            "{}",
            failure.reason
        );
    }

    #[tokio::test]
    async fn a_product_without_price_fails_without_a_call() {
        let harness = Harness::start().await;

        let invocation = harness
            .deliver(event("product.updated", r#"{"sku":"A","title":"T"}"#))
            .await;

        let failure = failed(&invocation);
        assert!(
            failure
                .reason
                .starts_with("the product.updated payload cannot be read"),
            "{}",
            failure.reason
        );
        assert!(invocation.report.egress.is_empty());
    }
}

mod inventory_updated {
    use super::*;

    #[tokio::test]
    async fn patches_the_availability_with_an_update_mask() {
        let harness = Harness::start().await;
        harness.insert_product().await;

        let invocation = harness.deliver(inventory_updated(SKU, 0)).await;

        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(harness.input_name(INPUT_ID).as_str())
        );
        let patch = harness.merchant_requests().pop().unwrap();
        assert_eq!(patch.method, "PATCH");
        assert_eq!(patch.path, harness.input_path(INPUT_ID));
        assert_eq!(patch.query.as_deref(), Some(harness.patch_query().as_str()));
        assert_eq!(
            patch.json().unwrap(),
            json!({"productAttributes": {"availability": "OUT_OF_STOCK"}})
        );
        let changes = harness.google.changes();
        let Some(ProductChange::Updated {
            product,
            update_mask,
        }) = changes.last()
        else {
            panic!("expected an update, got {changes:?}");
        };
        assert_eq!(update_mask, &["productAttributes.availability"]);
        assert_eq!(product.text("availability"), Some("OUT_OF_STOCK"));
        // Everything else is left as inserted.
        assert_eq!(product.price("price"), Some(Price::new(19_990_000, "USD")));
        assert_eq!(product.text("title"), Some("Red T-shirt, medium"));

        let restocked = harness.deliver(inventory_updated(SKU, 7)).await;
        delivered(&restocked);
        let stored = harness
            .google
            .product_input(harness.account, INPUT_ID)
            .unwrap();
        assert_eq!(stored.text("availability"), Some("IN_STOCK"));
    }

    #[tokio::test]
    async fn a_sku_with_a_slash_is_addressed_in_the_base64url_form() {
        let harness = Harness::start().await;
        let mut payload = product_payload();
        payload["sku"] = json!("TS/RED/M");
        delivered(
            &harness
                .deliver(event("product.updated", &payload.to_string()))
                .await,
        );

        let invocation = harness.deliver(inventory_updated("TS/RED/M", 0)).await;

        let encoded = URL_SAFE_NO_PAD.encode("en~US~TS/RED/M");
        assert_eq!(
            delivered(&invocation).external_id.as_deref(),
            Some(harness.input_name(&encoded).as_str())
        );
        let patch = harness.merchant_requests().pop().unwrap();
        assert_eq!(patch.path, harness.input_path(&encoded));
        let stored = harness
            .google
            .product_input(harness.account, &encoded)
            .unwrap();
        assert_eq!(stored.offer_id, "TS/RED/M");
        assert_eq!(stored.text("availability"), Some("OUT_OF_STOCK"));
    }

    #[tokio::test]
    async fn an_unknown_product_fails_with_not_found() {
        let harness = Harness::start().await;

        let invocation = harness.deliver(inventory_updated("NO-SUCH-SKU", 3)).await;

        let failure = failed(&invocation);
        assert_google_refusal(
            failure,
            404,
            "NOT_FOUND",
            &format!(
                "Requested entity was not found: accounts/{}/productInputs/en~US~NO-SUCH-SKU in {}",
                harness.account, harness.data_source
            ),
        );
        assert!(
            failure
                .reason
                .contains("a product.updated event for SKU NO-SUCH-SKU creates it"),
            "{}",
            failure.reason
        );
    }
}

mod google_errors {
    use super::*;

    #[tokio::test]
    async fn resource_exhausted_unavailable_and_internal_retry() {
        for (status, http) in [
            (RpcStatus::ResourceExhausted, 429),
            (RpcStatus::Unavailable, 503),
            (RpcStatus::Internal, 500),
        ] {
            let harness = Harness::start().await;
            harness.google.fail_merchant_calls(
                MerchantCall::InsertProductInput,
                ApiError::from(status),
                1,
            );

            let invocation = harness.deliver(product_updated()).await;

            let retry = retry(&invocation);
            assert_eq!(retry.after_seconds, None, "Google sent no Retry-After");
            assert!(
                retry
                    .reason
                    .starts_with("Google could not insert product TSHIRT-RED-M right now"),
                "{}",
                retry.reason
            );
            let remote = retry.remote.as_ref().unwrap();
            assert_eq!(remote.status, Some(http));
            assert_eq!(remote.code.as_deref(), Some(status.name()));
            assert!(harness.google.changes().is_empty());

            delivered(&harness.deliver(product_updated()).await);
        }
    }

    #[tokio::test]
    async fn the_accounts_quota_running_out_retries() {
        let harness = Harness::with(RateLimit::per_second(0.001, 1), None).await;
        harness.insert_product().await;

        let invocation = harness.deliver(inventory_updated(SKU, 1)).await;

        let retry = retry(&invocation);
        let remote = retry.remote.as_ref().unwrap();
        assert_eq!(remote.status, Some(429));
        assert_eq!(remote.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(retry.after_seconds, None);
    }

    /// A Merchant API answering every call with `status` and `Retry-After`.
    fn throttling_merchant_api(
        status: u16,
        name: &'static str,
        retry_after: &'static str,
    ) -> Router {
        Router::new().fallback(move || async move {
            (
                http::StatusCode::from_u16(status).unwrap(),
                [("retry-after", retry_after)],
                axum::Json(json!({"error": {
                    "code": status, "message": "Slow down.", "status": name
                }})),
            )
        })
    }

    #[tokio::test]
    async fn a_retry_after_header_is_honoured() {
        for (status, name) in [(429, "RESOURCE_EXHAUSTED"), (503, "UNAVAILABLE")] {
            let harness = Harness::with(
                RateLimit::Unlimited,
                Some(throttling_merchant_api(status, name, "42")),
            )
            .await;

            let invocation = harness.deliver(product_updated()).await;

            let retry = retry(&invocation);
            assert_eq!(retry.after_seconds, Some(42), "{name}");
            let remote = retry.remote.as_ref().unwrap();
            assert_eq!(remote.status, Some(status));
            assert_eq!(remote.code.as_deref(), Some(name));
            assert_eq!(remote.message.as_deref(), Some("Slow down."));
            assert_eq!(
                egress(&invocation),
                [
                    token_exchange(),
                    request("POST", MERCHANT_ORIGIN, &harness.insert_path(), status)
                ]
            );
        }
    }

    #[tokio::test]
    async fn a_retry_after_date_is_turned_into_seconds() {
        let when = chrono::Utc::now() + chrono::Duration::seconds(120);
        let date: &'static str = Box::leak(
            when.format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
                .into_boxed_str(),
        );
        let harness = Harness::with(
            RateLimit::Unlimited,
            Some(throttling_merchant_api(503, "UNAVAILABLE", date)),
        )
        .await;

        let invocation = harness.deliver(product_updated()).await;

        let seconds = retry(&invocation).after_seconds.unwrap();
        assert!((115..=121).contains(&seconds), "{seconds}");
    }

    #[tokio::test]
    async fn a_missing_credential_or_setting_fails_without_a_call() {
        let harness = Harness::start().await;

        let no_key = harness
            .deliver_with(&harness.settings(), "", product_updated())
            .await;
        assert_eq!(
            failed(&no_key).reason,
            "credential `service_account_key` is not set"
        );
        assert!(no_key.report.egress.is_empty());

        let mut settings = harness.settings();
        settings.remove(0);
        let no_merchant = harness
            .deliver_with(&settings, &harness.key_file, product_updated())
            .await;
        assert_eq!(
            failed(&no_merchant).reason,
            "setting `merchant_id` is not set"
        );
        assert!(no_merchant.report.egress.is_empty());
        assert!(harness.requests().is_empty());
    }

    #[tokio::test]
    async fn an_event_type_it_does_not_handle_fails_without_a_call() {
        let harness = Harness::start().await;

        let invocation = harness
            .deliver(event("order.placed", r#"{"order_id":"1"}"#))
            .await;

        assert!(
            failed(&invocation)
                .reason
                .contains("does not handle order.placed events"),
        );
        assert!(invocation.report.egress.is_empty());
    }
}

mod connection_check {
    use super::*;

    fn data_source_path(harness: &Harness, id: &str) -> String {
        format!(
            "/datasources/v1/accounts/{}/dataSources/{id}",
            harness.account
        )
    }

    #[tokio::test]
    async fn a_working_configuration_reads_the_data_source_with_the_hosts_token() {
        let harness = Harness::start().await;

        let invocation = harness.check().await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
        assert_eq!(
            check.message,
            format!(
                "Google accepted the service account key; products go to data source \"Sluice\" \
                 ({}) of Merchant Center account {}.",
                harness.data_source, harness.account
            )
        );
        assert_eq!(
            check.steps,
            [
                (
                    "token".to_owned(),
                    "the host signed in as the service account".to_owned()
                ),
                (
                    "data_source".to_owned(),
                    format!("{}: \"Sluice\", input API", harness.data_source)
                ),
            ]
        );
        assert_eq!(
            egress(&invocation),
            [
                token_exchange(),
                request(
                    "GET",
                    MERCHANT_ORIGIN,
                    &data_source_path(&harness, &harness.data_source_id()),
                    200
                ),
            ]
        );
        assert!(harness.google.changes().is_empty());

        // The token the check's exchange obtained serves the deliveries.
        let delivery = harness.deliver(product_updated()).await;
        assert_eq!(
            egress(&delivery),
            [request(
                "POST",
                MERCHANT_ORIGIN,
                &harness.insert_path(),
                200
            )]
        );
    }

    #[tokio::test]
    async fn a_key_google_does_not_accept_is_unauthorized() {
        let harness = Harness::start().await;
        let foreign = key_file_with_a_foreign_key(&harness.google);

        let invocation = harness.check_with(&harness.settings(), &foreign).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unauthorized, "{check:?}");
        assert_eq!(
            check.message,
            "Google refused the service account key in credential `service_account_key`: \
             Invalid JWT Signature. (invalid_grant); the key was deleted or does not belong to \
             the service account; create a new JSON key."
        );
        assert_eq!(
            check.steps,
            [("token".to_owned(), "refused: invalid_grant".to_owned())]
        );
        assert_eq!(
            egress(&invocation),
            [request("POST", TOKEN_ORIGIN, "/token", 400)]
        );
    }

    #[tokio::test]
    async fn an_unknown_merchant_account_is_unauthorized_naming_the_account() {
        let harness = Harness::start().await;
        let mut settings = harness.settings();
        settings[0].1 = "987654321".into();
        settings[1].1 = "1".into();

        let invocation = harness.check_with(&settings, &harness.key_file).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unauthorized, "{check:?}");
        assert!(
            check.message.starts_with(
                "The service account has no access to Merchant Center account 987654321 \
                 (PERMISSION_DENIED: The caller does not have access to the accounts: [987654321])"
            ),
            "{}",
            check.message
        );
        assert!(check.message.contains("check setting `merchant_id`"));
    }

    #[tokio::test]
    async fn an_unknown_data_source_is_reported() {
        let harness = Harness::start().await;
        let mut settings = harness.settings();
        settings[1].1 = "424242".into();

        let invocation = harness.check_with(&settings, &harness.key_file).await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unreachable, "{check:?}");
        assert!(
            check.message.starts_with(&format!(
                "Merchant Center account {} has no data source 424242; create an API data \
                 source or correct setting `data_source`",
                harness.account
            )),
            "{}",
            check.message
        );
        assert_eq!(
            egress(&invocation).last().unwrap(),
            &request(
                "GET",
                MERCHANT_ORIGIN,
                &data_source_path(&harness, "424242"),
                404
            )
        );
    }

    #[tokio::test]
    async fn malformed_settings_and_keys_are_misconfigured_without_a_call() {
        let harness = Harness::start().await;
        let mut settings = harness.settings();
        settings[0].1 = "acme".into();

        let bad_merchant = harness.check_with(&settings, &harness.key_file).await;
        let check = check_result(&bad_merchant);
        assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
        assert!(
            check
                .message
                .starts_with("setting `merchant_id` must be the numeric")
        );

        let no_key = harness.check_with(&harness.settings(), "").await;
        let check = check_result(&no_key);
        assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
        assert_eq!(
            check.message,
            "credential `service_account_key` is not set."
        );

        // The host reads the key and finds it is none: nothing is sent.
        let not_json = harness
            .check_with(&harness.settings(), "-----BEGIN PRIVATE KEY-----")
            .await;
        let check = check_result(&not_json);
        assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
        assert!(
            check.message.starts_with(
                "Credential `service_account_key` is not a service account JSON key Sluice can \
                 sign in with"
            ),
            "{}",
            check.message
        );
        assert_eq!(
            check.steps,
            [(
                "token".to_owned(),
                "not requested: the key cannot be read".to_owned()
            )]
        );
        assert!(harness.requests().is_empty());
    }

    #[tokio::test]
    async fn an_outage_of_the_merchant_api_is_unreachable() {
        let harness = Harness::start().await;
        harness.google.fail_merchant_calls(
            MerchantCall::DataSources,
            ApiError::from(RpcStatus::Unavailable),
            1,
        );

        let invocation = harness.check().await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unreachable, "{check:?}");
        assert!(check.message.contains("UNAVAILABLE"), "{}", check.message);
    }

    #[tokio::test]
    async fn an_unavailable_token_endpoint_is_unreachable() {
        let harness = Harness::start().await;
        harness
            .google
            .fail_token_requests(TokenFailure::Unavailable, 1);

        let invocation = harness.check().await;

        let check = check_result(&invocation);
        assert_eq!(check.status, CheckStatus::Unreachable, "{check:?}");
        assert!(
            check
                .message
                .starts_with("Google's token endpoint issued no access token ("),
            "{}",
            check.message
        );
        assert!(check.message.ends_with("try again later."));
        assert!(harness.merchant_requests().is_empty());
    }
}
