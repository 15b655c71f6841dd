//! The fake Google answers like Google, over TLS for the real hostnames.
//!
//! A plain HTTP client (reqwest, trusting only the test CA, resolving the
//! real hostnames to the fake) plays the connector: it signs assertions with
//! the test service account's key, trades them for access tokens and calls
//! the Merchant API.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use sluice_core::{Clock, ManualClock, UnixMillis};
use sluice_tests::fakes::google::{
    AccountAccess, ApiError, CONTENT_SCOPE, FakeGoogle, GoogleOptions, MerchantCall, Price,
    ProductChange, RpcStatus, ServiceAccount, TokenError, TokenFailure,
};
use sluice_tests::{RateLimit, TestCa};

const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
const MERCHANT_API: &str = "https://merchantapi.googleapis.com";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// 2026-01-01T00:00:00Z, where every test's clock starts.
const START_MS: UnixMillis = 1_767_225_600_000;
const START_SECS: i64 = START_MS / 1000;
const WAIT: Duration = Duration::from_secs(5);

struct Harness {
    google: FakeGoogle,
    clock: ManualClock,
    http: reqwest::Client,
}

/// A merchant account the service account may use, with a data source and
/// a live access token.
struct Merchant {
    account: u64,
    data_source: String,
    token: String,
}

impl Merchant {
    fn insert_url(&self) -> String {
        format!(
            "{MERCHANT_API}/products/v1/accounts/{}/productInputs:insert?dataSource={}",
            self.account, self.data_source
        )
    }

    fn input_url(&self, id: &str, query: &str) -> String {
        format!(
            "{MERCHANT_API}/products/v1/accounts/{}/productInputs/{id}?dataSource={}{query}",
            self.account, self.data_source
        )
    }

    fn product_url(&self, id: &str) -> String {
        format!(
            "{MERCHANT_API}/products/v1/accounts/{}/products/{id}",
            self.account
        )
    }
}

impl Harness {
    async fn start(limit: RateLimit) -> Self {
        let ca = TestCa::new().unwrap();
        let clock = ManualClock::new(START_MS);
        let options = GoogleOptions {
            merchant_api_rate: limit,
            clock: Arc::new(clock.clone()),
        };
        let google = FakeGoogle::start(&ca, options).await.unwrap();
        let http = client(&google, &ca);
        Self {
            google,
            clock,
            http,
        }
    }

    async fn unthrottled() -> Self {
        Self::start(RateLimit::Unlimited).await
    }

    /// `POST /token` with the form fields.
    async fn token_request(&self, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
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

    async fn exchange(&self, assertion: &str) -> (StatusCode, Value) {
        self.token_request(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
            .await
    }

    /// A fresh access token for the test service account.
    async fn access_token(&self) -> String {
        let assertion = self.google.service_account().assertion(self.now_secs());
        let (status, reply) = self.exchange(&assertion).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        reply["access_token"].as_str().unwrap().to_owned()
    }

    async fn merchant(&self) -> Merchant {
        let account = self.google.add_merchant_account(AccountAccess::Granted);
        Merchant {
            account,
            data_source: self.google.create_data_source(account, "Sluice"),
            token: self.access_token().await,
        }
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn insert(&self, merchant: &Merchant, product: &Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &merchant.insert_url(),
            Some(&merchant.token),
            Some(product),
        )
        .await
    }

    fn now_secs(&self) -> i64 {
        self.clock.now_ms() / 1000
    }
}

/// A client that resolves the fake's real hostnames to the fake, like the
/// host's egress overrides do.
fn client(google: &FakeGoogle, ca: &TestCa) -> reqwest::Client {
    let mut builder =
        reqwest::Client::builder().tls_backend_preconfigured(ca.client_config().unwrap());
    for (host_and_port, addr) in google.egress_overrides() {
        let (host, _port) = host_and_port.rsplit_once(':').unwrap();
        builder = builder.resolve(host, addr);
    }
    builder.build().unwrap()
}

fn mug() -> Value {
    json!({
        "offerId": "sku123",
        "contentLanguage": "en",
        "feedLabel": "US",
        "productAttributes": {
            "title": "Stoneware mug",
            "description": "Holds 350 ml.",
            "link": "https://shop.example/mug",
            "imageLink": "https://shop.example/mug.jpg",
            "availability": "IN_STOCK",
            "price": {"amountMicros": "15990000", "currencyCode": "USD"},
            "gtins": ["4006381333931"],
            "brand": "Acme",
            "condition": "NEW"
        }
    })
}

fn google_error(status: u16, name: &str, message: &str) -> Value {
    json!({"error": {"code": status, "message": message, "status": name}})
}

fn token_error(error: TokenError) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({"error": error.code(), "error_description": error.description()}),
    )
}

mod tls {
    use super::*;

    #[tokio::test]
    async fn both_hostnames_verify_against_the_test_ca_on_port_443() {
        let h = Harness::unthrottled().await;
        let keys: Vec<String> = h.google.egress_overrides().into_keys().collect();
        assert_eq!(
            keys,
            [
                "merchantapi.googleapis.com:443",
                "oauth2.googleapis.com:443"
            ]
        );
        for url in [
            TOKEN_URL.to_owned(),
            format!("{MERCHANT_API}/datasources/v1/accounts/1/dataSources"),
        ] {
            let response = h.http.get(&url).send().await;
            assert!(response.is_ok(), "{url}: {response:?}");
        }
    }
}

mod token {
    use super::*;

    /// Signs like a connector would: from the key file's PEM, independently
    /// of the fake's own signing helper.
    fn sign_with_key_file(key_file: &Value, claims: &Value) -> String {
        let pem = key_file["private_key"].as_str().unwrap();
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": key_file["private_key_id"]});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[tokio::test]
    async fn an_assertion_signed_with_the_key_file_gets_a_bearer_token() {
        let h = Harness::unthrottled().await;
        let key_file: Value =
            serde_json::from_str(&h.google.service_account().key_file_json()).unwrap();
        assert_eq!(key_file["token_uri"], TOKEN_URL);
        let claims = json!({
            "iss": key_file["client_email"],
            "scope": CONTENT_SCOPE,
            "aud": key_file["token_uri"],
            "iat": START_SECS,
            "exp": START_SECS + 3600,
        });

        let (status, reply) = h.exchange(&sign_with_key_file(&key_file, &claims)).await;

        assert_eq!(status, StatusCode::OK, "{reply}");
        let token = reply["access_token"].as_str().unwrap();
        assert!(token.starts_with("ya29."), "{token}");
        assert_eq!(
            reply,
            json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
        );
        let [issued] = h.google.access_tokens().try_into().unwrap();
        assert_eq!(issued.token, token);
        assert_eq!(issued.scopes, [CONTENT_SCOPE]);
        assert_eq!(issued.expires_at, START_MS + 3_599_000);
    }

    #[tokio::test]
    async fn assertions_wrong_in_one_way_are_refused_with_googles_error() {
        let h = Harness::unthrottled().await;
        let account = h.google.service_account().clone();
        let stranger = ServiceAccount::stranger();
        let header = account.header();
        let claims = account.claims(START_SECS);
        let with = |base: &Value, name: &str, value: Value| {
            let mut changed = base.clone();
            changed[name] = value;
            changed
        };
        let unsigned = {
            let signed = account.sign_jwt(&with(&header, "alg", json!("none")), &claims);
            format!("{}.", signed.rsplit_once('.').unwrap().0)
        };
        let cases = [
            (
                "signed by another key",
                stranger.sign_jwt(&header, &claims),
                TokenError::InvalidSignature,
            ),
            (
                "unknown kid",
                account.sign_jwt(
                    &with(&header, "kid", json!(stranger.private_key_id())),
                    &claims,
                ),
                TokenError::InvalidSignature,
            ),
            ("alg none", unsigned, TokenError::InvalidSignature),
            (
                "expired",
                account.assertion(START_SECS - 3601),
                TokenError::InvalidTimeframe,
            ),
            (
                "exp more than an hour after iat",
                account.sign_jwt(&header, &with(&claims, "exp", json!(START_SECS + 3601))),
                TokenError::InvalidTimeframe,
            ),
            (
                "issued in the future",
                account.assertion(START_SECS + 600),
                TokenError::InvalidTimeframe,
            ),
            (
                "wrong audience",
                account.sign_jwt(
                    &header,
                    &with(
                        &claims,
                        "aud",
                        json!("https://www.googleapis.com/oauth2/v4/token"),
                    ),
                ),
                TokenError::FailedAudienceCheck,
            ),
            (
                "no scope",
                account.sign_jwt(&header, &with(&claims, "scope", Value::Null)),
                TokenError::InvalidScope,
            ),
            (
                "unknown account",
                stranger.assertion(START_SECS),
                TokenError::AccountNotFound,
            ),
            (
                "issuer not an email",
                account.sign_jwt(&header, &with(&claims, "iss", json!("sluice-connector"))),
                TokenError::NotAValidEmail,
            ),
            (
                "not a JWT",
                "not-a-jwt".to_owned(),
                TokenError::MalformedAssertion,
            ),
        ];
        for (case, assertion, expected) in cases {
            assert_eq!(
                h.exchange(&assertion).await,
                token_error(expected),
                "{case}"
            );
        }
        assert!(h.google.access_tokens().is_empty());
    }

    #[test]
    fn the_descriptions_are_googles_words() {
        assert_eq!(
            TokenError::InvalidSignature.description(),
            "Invalid JWT Signature."
        );
        assert_eq!(
            TokenError::InvalidTimeframe.description(),
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable \
             timeframe. Check your iat and exp values in the JWT claim."
        );
        assert_eq!(
            TokenError::AccountNotFound.description(),
            "Invalid grant: account not found"
        );
    }

    #[tokio::test]
    async fn the_grant_type_and_assertion_parameters_are_required() {
        let h = Harness::unthrottled().await;
        let assertion = h.google.service_account().assertion(START_SECS);
        assert_eq!(
            h.token_request(&[
                ("grant_type", "client_credentials"),
                ("assertion", &assertion)
            ])
            .await,
            token_error(TokenError::UnsupportedGrantType)
        );
        assert_eq!(
            h.token_request(&[("assertion", &assertion)]).await,
            token_error(TokenError::UnsupportedGrantType)
        );
        assert_eq!(
            h.token_request(&[("grant_type", JWT_BEARER)]).await,
            token_error(TokenError::MissingAssertion)
        );
    }

    #[tokio::test]
    async fn the_clock_decides_whether_an_assertion_is_current() {
        let h = Harness::unthrottled().await;
        let assertion = h.google.service_account().assertion(START_SECS);
        h.clock.advance(Duration::from_secs(3601));
        assert_eq!(
            h.exchange(&assertion).await,
            token_error(TokenError::InvalidTimeframe)
        );
        let fresh = h.google.service_account().assertion(h.now_secs());
        assert_eq!(h.exchange(&fresh).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_deleted_account_gets_no_new_tokens_but_old_ones_still_work() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.google.delete_service_account();

        let assertion = h.google.service_account().assertion(START_SECS);
        let list_url = format!(
            "{MERCHANT_API}/datasources/v1/accounts/{}/dataSources",
            merchant.account
        );
        assert_eq!(
            h.exchange(&assertion).await,
            token_error(TokenError::AccountNotFound)
        );
        let (status, _) = h
            .call(Method::GET, &list_url, Some(&merchant.token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn scripted_token_failures_come_first_then_tokens_are_issued() {
        let h = Harness::unthrottled().await;
        h.google.fail_token_requests(TokenFailure::Unavailable, 1);
        h.google
            .fail_token_requests(TokenFailure::Error(TokenError::InvalidSignature), 1);
        let assertion = h.google.service_account().assertion(START_SECS);

        let unavailable = h.exchange(&assertion).await;
        let refused = h.exchange(&assertion).await;
        let granted = h.exchange(&assertion).await;

        assert_eq!(
            unavailable,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "temporarily_unavailable", "error_description": "The service is currently unavailable."})
            )
        );
        assert_eq!(refused, token_error(TokenError::InvalidSignature));
        assert_eq!(granted.0, StatusCode::OK);
        assert_eq!(h.google.access_tokens().len(), 1);
    }
}

mod authentication {
    use super::*;

    async fn list_data_sources(
        h: &Harness,
        account: u64,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let url = format!("{MERCHANT_API}/datasources/v1/accounts/{account}/dataSources");
        h.call(Method::GET, &url, token, None).await
    }

    fn unauthenticated() -> (StatusCode, Value) {
        (
            StatusCode::UNAUTHORIZED,
            google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, \
                 login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project.",
            ),
        )
    }

    #[tokio::test]
    async fn a_missing_token_is_unauthenticated_with_a_bearer_challenge() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let url = format!(
            "{MERCHANT_API}/datasources/v1/accounts/{}/dataSources",
            merchant.account
        );

        let response = h.http.get(&url).send().await.unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer realm=")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Request is missing required authentication credential."),
            "{body}"
        );
    }

    #[tokio::test]
    async fn forged_expired_and_revoked_tokens_are_unauthenticated() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;

        assert_eq!(
            list_data_sources(&h, merchant.account, Some("ya29.forged")).await,
            unauthenticated()
        );

        h.clock.advance(Duration::from_secs(3598));
        assert_eq!(
            list_data_sources(&h, merchant.account, Some(&merchant.token))
                .await
                .0,
            StatusCode::OK
        );
        h.clock.advance(Duration::from_secs(1));
        assert_eq!(
            list_data_sources(&h, merchant.account, Some(&merchant.token)).await,
            unauthenticated(),
            "expired after 3599 s"
        );

        let fresh = h.access_token().await;
        h.google.revoke_access_token(&fresh);
        assert_eq!(
            list_data_sources(&h, merchant.account, Some(&fresh)).await,
            unauthenticated()
        );
    }

    #[tokio::test]
    async fn a_token_without_the_content_scope_is_permission_denied() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let account = h.google.service_account();
        let mut claims = account.claims(START_SECS);
        claims["scope"] = json!("https://www.googleapis.com/auth/cloud-platform");
        let (_, reply) = h
            .exchange(&account.sign_jwt(&account.header(), &claims))
            .await;
        let token = reply["access_token"].as_str().unwrap();

        assert_eq!(
            list_data_sources(&h, merchant.account, Some(token)).await,
            (
                StatusCode::FORBIDDEN,
                google_error(
                    403,
                    "PERMISSION_DENIED",
                    "Request had insufficient authentication scopes."
                )
            )
        );
    }

    #[tokio::test]
    async fn accounts_not_shared_with_the_service_account_are_permission_denied() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let foreign = h.google.add_merchant_account(AccountAccess::NotGranted);
        let denied = |account: u64| {
            (
                StatusCode::FORBIDDEN,
                google_error(
                    403,
                    "PERMISSION_DENIED",
                    &format!("The caller does not have access to the accounts: [{account}]"),
                ),
            )
        };

        assert_eq!(
            list_data_sources(&h, foreign, Some(&merchant.token)).await,
            denied(foreign)
        );
        assert_eq!(
            list_data_sources(&h, 999, Some(&merchant.token)).await,
            denied(999),
            "unknown accounts look forbidden"
        );
        h.google
            .set_account_access(merchant.account, AccountAccess::NotGranted);
        assert_eq!(
            list_data_sources(&h, merchant.account, Some(&merchant.token)).await,
            denied(merchant.account)
        );
    }
}

mod product_inputs {
    use super::*;

    #[tokio::test]
    async fn insert_echoes_the_input_with_its_names_and_stores_it_parsed() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;

        let (status, reply) = h.insert(&merchant, &mug()).await;

        assert_eq!(status, StatusCode::OK, "{reply}");
        let mut expected = mug();
        expected["name"] = json!(format!(
            "accounts/{}/productInputs/en~US~sku123",
            merchant.account
        ));
        expected["product"] = json!(format!(
            "accounts/{}/products/en~US~sku123",
            merchant.account
        ));
        assert_eq!(reply, expected);

        let stored = h
            .google
            .product_input(merchant.account, "en~US~sku123")
            .unwrap();
        assert_eq!(stored.data_source, merchant.data_source);
        assert_eq!(stored.text("availability"), Some("IN_STOCK"));
        assert_eq!(stored.price("price"), Some(Price::new(15_990_000, "USD")));
        assert_eq!(h.google.changes(), [ProductChange::Inserted(stored)]);
    }

    #[tokio::test]
    async fn inserting_the_same_identity_replaces_the_input() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let mut sold_out = mug();
        sold_out["productAttributes"] = json!({"title": "Mug", "availability": "OUT_OF_STOCK"});
        let mut other_label = mug();
        other_label["feedLabel"] = json!("GB");

        h.insert(&merchant, &mug()).await;
        h.insert(&merchant, &sold_out).await;
        h.insert(&merchant, &other_label).await;

        let inputs = h.google.product_inputs(merchant.account);
        assert_eq!(inputs.len(), 2, "GB is another product");
        let us = h
            .google
            .product_input(merchant.account, "en~US~sku123")
            .unwrap();
        assert_eq!(us.text("availability"), Some("OUT_OF_STOCK"));
        assert_eq!(us.price("price"), None, "replaced, not merged");
    }

    #[tokio::test]
    async fn invalid_fields_are_refused_naming_the_field_and_nothing_is_stored() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let changed = |path: &[&str], value: Value| {
            let mut product = mug();
            let (last, parents) = path.split_last().unwrap();
            let mut target = &mut product;
            for parent in parents {
                target = &mut target[*parent];
            }
            match value {
                Value::Null => {
                    target.as_object_mut().unwrap().remove(*last);
                }
                value => target[*last] = value,
            }
            product
        };
        let cases = [
            (
                changed(&["offerId"], Value::Null),
                "offerId: required field is missing",
            ),
            (
                changed(&["contentLanguage"], json!("eng")),
                "contentLanguage: must be a two-letter",
            ),
            (
                changed(&["feedLabel"], Value::Null),
                "feedLabel: required field is missing",
            ),
            (
                changed(&["productAttributes", "availability"], json!("SOLD_OUT")),
                "Invalid value at 'product_input.product_attributes.availability'",
            ),
            (
                changed(&["productAttributes", "condition"], json!("new")),
                "Invalid value at 'product_input.product_attributes.condition'",
            ),
            (
                changed(
                    &["productAttributes", "price", "amountMicros"],
                    json!(15990000),
                ),
                "productAttributes.price.amountMicros: int64 values are sent as a string of digits",
            ),
            (
                changed(&["productAttributes", "price", "currencyCode"], Value::Null),
                "productAttributes.price.currencyCode: required field is missing",
            ),
            (
                changed(&["productAttributes", "link"], json!("shop.example/mug")),
                "productAttributes.link: must be an absolute http or https URL",
            ),
            (
                changed(&["productAttributes", "gtins"], json!(["40063813339"])),
                "productAttributes.gtins[0]: a GTIN is 8, 12, 13 or 14 digits",
            ),
            (
                changed(&["attributes"], json!({})),
                "Invalid JSON payload received. Unknown name \"attributes\" at 'product_input'",
            ),
        ];
        for (product, message) in cases {
            let (status, reply) = h.insert(&merchant, &product).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{product}");
            assert_eq!(reply["error"]["status"], "INVALID_ARGUMENT");
            let text = reply["error"]["message"].as_str().unwrap();
            assert!(
                text.starts_with(message),
                "{text:?} should start with {message:?}"
            );
        }
        assert!(h.google.changes().is_empty());
    }

    #[tokio::test]
    async fn the_data_source_must_be_given_and_exist_in_the_account() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let base = format!(
            "{MERCHANT_API}/products/v1/accounts/{}/productInputs:insert",
            merchant.account
        );
        let unknown = format!("accounts/{}/dataSources/1", merchant.account);
        let cases = [
            (
                base.clone(),
                "dataSource: required field is missing".to_owned(),
            ),
            (
                format!("{base}?dataSource={unknown}"),
                format!("dataSource: {unknown} does not exist"),
            ),
        ];
        for (url, message) in cases {
            let answer = h
                .call(Method::POST, &url, Some(&merchant.token), Some(&mug()))
                .await;
            assert_eq!(
                answer,
                (
                    StatusCode::BAD_REQUEST,
                    google_error(400, "INVALID_ARGUMENT", &message)
                )
            );
        }
    }

    #[tokio::test]
    async fn patch_changes_only_the_masked_attributes() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.insert(&merchant, &mug()).await;
        let patch = json!({
            "offerId": "sku123", "contentLanguage": "en", "feedLabel": "US",
            "productAttributes": {
                "availability": "OUT_OF_STOCK",
                "price": {"amountMicros": "12990000", "currencyCode": "USD"},
                "title": "Not in the mask, so ignored"
            }
        });
        let url = merchant.input_url(
            "en~US~sku123",
            "&updateMask=productAttributes.availability,productAttributes.price",
        );

        let (status, reply) = h
            .call(Method::PATCH, &url, Some(&merchant.token), Some(&patch))
            .await;

        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["productAttributes"]["availability"], "OUT_OF_STOCK");
        assert_eq!(reply["productAttributes"]["title"], "Stoneware mug");
        assert_eq!(
            reply["productAttributes"]["brand"], "Acme",
            "untouched attributes stay"
        );
        let stored = h
            .google
            .product_input(merchant.account, "en~US~sku123")
            .unwrap();
        assert_eq!(stored.price("price"), Some(Price::new(12_990_000, "USD")));
        assert_eq!(
            h.google.changes()[1],
            ProductChange::Updated {
                product: stored,
                update_mask: vec![
                    "productAttributes.availability".into(),
                    "productAttributes.price".into()
                ],
            }
        );
    }

    #[tokio::test]
    async fn a_masked_attribute_absent_from_the_body_is_deleted() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.insert(&merchant, &mug()).await;
        let url = merchant.input_url("en~US~sku123", "&updateMask=productAttributes.gtins");

        let (status, reply) = h
            .call(Method::PATCH, &url, Some(&merchant.token), Some(&json!({})))
            .await;

        assert_eq!(status, StatusCode::OK);
        assert!(reply["productAttributes"].get("gtins").is_none(), "{reply}");
    }

    #[tokio::test]
    async fn without_update_mask_the_populated_attributes_are_updated() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.insert(&merchant, &mug()).await;
        let patch = json!({"productAttributes": {"availability": "BACKORDER"}});

        let (status, reply) = h
            .call(
                Method::PATCH,
                &merchant.input_url("en~US~sku123", ""),
                Some(&merchant.token),
                Some(&patch),
            )
            .await;

        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["productAttributes"]["availability"], "BACKORDER");
        assert_eq!(reply["productAttributes"]["title"], "Stoneware mug");
    }

    #[tokio::test]
    async fn patch_refuses_bad_masks_and_unknown_inputs() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.insert(&merchant, &mug()).await;
        let patch = json!({"productAttributes": {"availability": "BACKORDER"}});
        let bad_mask_url = merchant.input_url("en~US~sku123", "&updateMask=offerId");
        let unknown_url =
            merchant.input_url("en~US~nope", "&updateMask=productAttributes.availability");

        let (status, bad_mask) = h
            .call(
                Method::PATCH,
                &bad_mask_url,
                Some(&merchant.token),
                Some(&patch),
            )
            .await;
        let (unknown_status, unknown) = h
            .call(
                Method::PATCH,
                &unknown_url,
                Some(&merchant.token),
                Some(&patch),
            )
            .await;

        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            bad_mask["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("updateMask: \"offerId\" cannot be updated"),
            "{bad_mask}"
        );
        assert_eq!(unknown_status, StatusCode::NOT_FOUND);
        assert_eq!(unknown["error"]["status"], "NOT_FOUND");
        assert_eq!(h.google.changes().len(), 1, "only the insert");
    }

    #[tokio::test]
    async fn delete_answers_an_empty_object_and_then_not_found() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.insert(&merchant, &mug()).await;
        let url = merchant.input_url("en~US~sku123", "");

        let first = h
            .call(Method::DELETE, &url, Some(&merchant.token), None)
            .await;
        let second = h
            .call(Method::DELETE, &url, Some(&merchant.token), None)
            .await;

        assert_eq!(first, (StatusCode::OK, json!({})));
        assert_eq!(second.0, StatusCode::NOT_FOUND);
        assert_eq!(second.1["error"]["status"], "NOT_FOUND");
        assert!(h.google.product_inputs(merchant.account).is_empty());
        assert!(matches!(h.google.changes()[1], ProductChange::Deleted(_)));
    }

    #[tokio::test]
    async fn offer_ids_with_slashes_use_the_base64url_form() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let mut product = mug();
        product["offerId"] = json!("sku/123");

        let (_, reply) = h.insert(&merchant, &product).await;
        let encoded = URL_SAFE_NO_PAD.encode("en~US~sku/123");
        let (status, fetched) = h
            .call(
                Method::GET,
                &merchant.product_url(&encoded),
                Some(&merchant.token),
                None,
            )
            .await;

        assert_eq!(
            reply["name"],
            format!("accounts/{}/productInputs/{encoded}", merchant.account)
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fetched["offerId"], "sku/123");
    }
}

mod products_and_data_sources {
    use super::*;

    #[tokio::test]
    async fn the_processed_product_is_readable_with_its_status_dates() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.insert(&merchant, &mug()).await;

        let (status, product) = h
            .call(
                Method::GET,
                &merchant.product_url("en~US~sku123"),
                Some(&merchant.token),
                None,
            )
            .await;

        assert_eq!(status, StatusCode::OK, "{product}");
        assert_eq!(
            product["name"],
            format!("accounts/{}/products/en~US~sku123", merchant.account)
        );
        assert_eq!(product["dataSource"], merchant.data_source.as_str());
        assert_eq!(product["productAttributes"], mug()["productAttributes"]);
        assert_eq!(
            product["productStatus"],
            json!({
                "creationDate": "2026-01-01T00:00:00.000Z",
                "lastUpdateDate": "2026-01-01T00:00:00.000Z",
                "googleExpirationDate": "2026-01-31T00:00:00.000Z"
            })
        );
        let (status, missing) = h
            .call(
                Method::GET,
                &merchant.product_url("en~US~other"),
                Some(&merchant.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(missing["error"]["code"], 404);
    }

    #[tokio::test]
    async fn data_sources_are_listed_and_fetched() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let id = merchant.data_source.rsplit('/').next().unwrap();
        let base = format!(
            "{MERCHANT_API}/datasources/v1/accounts/{}/dataSources",
            merchant.account
        );
        let expected = json!({
            "name": merchant.data_source, "dataSourceId": id, "displayName": "Sluice",
            "primaryProductDataSource": {}, "input": "API"
        });

        let listed = h
            .call(Method::GET, &base, Some(&merchant.token), None)
            .await;
        let fetched = h
            .call(
                Method::GET,
                &format!("{base}/{id}"),
                Some(&merchant.token),
                None,
            )
            .await;
        let unknown = h
            .call(
                Method::GET,
                &format!("{base}/1"),
                Some(&merchant.token),
                None,
            )
            .await;

        assert_eq!(
            listed,
            (StatusCode::OK, json!({"dataSources": [expected.clone()]}))
        );
        assert_eq!(fetched, (StatusCode::OK, expected));
        assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    }
}

mod throttling {
    use super::*;

    #[tokio::test]
    async fn each_merchant_account_has_a_bucket_and_429_carries_no_retry_after() {
        let h = Harness::start(RateLimit::per_second(1.0, 2)).await;
        let merchant = h.merchant().await;
        let other = h.merchant().await;

        assert_eq!(h.insert(&merchant, &mug()).await.0, StatusCode::OK);
        assert_eq!(h.insert(&merchant, &mug()).await.0, StatusCode::OK);
        let throttled = h
            .http
            .post(merchant.insert_url())
            .bearer_auth(&merchant.token)
            .json(&mug())
            .send()
            .await
            .unwrap();
        let other_account = h.insert(&other, &mug()).await;
        h.clock.advance(Duration::from_secs(1));
        let after_a_second = h.insert(&merchant, &mug()).await;

        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(throttled.headers().get("retry-after").is_none());
        assert_eq!(
            throttled.json::<Value>().await.unwrap(),
            google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota)."
            )
        );
        assert_eq!(other_account.0, StatusCode::OK);
        assert_eq!(after_a_second.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn the_default_pace_allows_a_burst_of_ten() {
        let h = Harness::start(GoogleOptions::default().merchant_api_rate).await;
        let merchant = h.merchant().await;

        let mut statuses = Vec::new();
        for _ in 0..11 {
            statuses.push(h.insert(&merchant, &mug()).await.0);
        }

        assert!(
            statuses[..10]
                .iter()
                .all(|status| *status == StatusCode::OK)
        );
        assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    }
}

mod scripted_failures {
    use super::*;

    #[tokio::test]
    async fn each_documented_status_can_be_scripted_and_then_calls_succeed() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let statuses = [
            (RpcStatus::InvalidArgument, 400),
            (RpcStatus::Unauthenticated, 401),
            (RpcStatus::PermissionDenied, 403),
            (RpcStatus::NotFound, 404),
            (RpcStatus::Aborted, 409),
            (RpcStatus::ResourceExhausted, 429),
            (RpcStatus::Internal, 500),
            (RpcStatus::Unavailable, 503),
        ];
        for (status, _) in statuses {
            h.google.fail_merchant_calls(
                MerchantCall::InsertProductInput,
                ApiError::from(status),
                1,
            );
        }

        for (status, code) in statuses {
            let (http_status, reply) = h.insert(&merchant, &mug()).await;
            assert_eq!(http_status.as_u16(), code);
            assert_eq!(reply["error"]["status"], status.name());
            assert_eq!(reply["error"]["code"], code);
        }
        assert_eq!(h.insert(&merchant, &mug()).await.0, StatusCode::OK);
        assert_eq!(h.google.changes().len(), 1, "failed calls change nothing");
    }

    #[tokio::test]
    async fn a_failure_scripted_for_one_method_leaves_the_others_alone() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.google.fail_merchant_calls(
            MerchantCall::DeleteProductInput,
            ApiError::new(RpcStatus::Internal, "Backend failure"),
            1,
        );

        let inserted = h.insert(&merchant, &mug()).await;
        let deleted = h
            .call(
                Method::DELETE,
                &merchant.input_url("en~US~sku123", ""),
                Some(&merchant.token),
                None,
            )
            .await;

        assert_eq!(inserted.0, StatusCode::OK);
        assert_eq!(
            deleted,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                google_error(500, "INTERNAL", "Backend failure")
            )
        );
    }
}

mod observation {
    use super::*;

    #[tokio::test]
    async fn requests_are_recorded_with_host_and_authorization() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        h.insert(&merchant, &mug()).await;

        let [token, insert] = h.google.recorder().requests().try_into().unwrap();
        assert_eq!(
            (token.host.as_str(), token.path.as_str()),
            ("oauth2.googleapis.com", "/token")
        );
        assert!(token.body_text().starts_with("grant_type=urn%3Aietf"));
        assert_eq!(insert.host, "merchantapi.googleapis.com");
        assert_eq!(
            insert.header("authorization"),
            Some(format!("Bearer {}", merchant.token).as_str())
        );
        assert_eq!(insert.json().unwrap(), mug());
    }

    #[tokio::test]
    async fn wait_for_changes_wakes_when_a_write_lands() {
        let h = Harness::unthrottled().await;
        let merchant = h.merchant().await;
        let product = mug();

        let (changes, _) = tokio::join!(
            h.google.wait_for_changes(1, WAIT),
            h.insert(&merchant, &product)
        );

        let changes = changes.unwrap();
        let [ProductChange::Inserted(product)] = changes.as_slice() else {
            panic!("expected one insert, got {changes:?}");
        };
        assert_eq!(product.offer_id, "sku123");
    }
}
