//! A fake Google: the OAuth token endpoint for service accounts on
//! `oauth2.googleapis.com` and the Merchant API v1 (product inputs, products,
//! data sources) on `merchantapi.googleapis.com`, over TLS with certificates
//! for those names.
//!
//! The fake knows one service account, [`ServiceAccount::test_account`],
//! whose fixed test key it verifies assertions with. A test hands the
//! account's JSON key file ([`ServiceAccount::key_file_json`]) to the Google
//! connector as its credential, creates a merchant account and a data source,
//! and then looks at what arrived: the stored product inputs
//! ([`FakeGoogle::product_input`]), the writes in order
//! ([`FakeGoogle::changes`]) or the raw requests ([`FakeGoogle::recorder`]).
//!
//! Where the fake departs from Google:
//! - products are processed at once (Google takes minutes);
//! - an unknown `dataSource` is 400 `INVALID_ARGUMENT`, never 404, so it
//!   cannot pass for "product already deleted";
//! - int64 fields must be strings of digits (Google also takes JSON numbers);
//! - `link`/`imageLink` URLs and GTINs are refused with 400 when malformed
//!   (Google files them as item issues);
//! - assertions must carry `kid` and `typ: JWT`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sluice_tests::TestCa;
//! use sluice_tests::fakes::google::{AccountAccess, FakeGoogle, GoogleOptions};
//!
//! let ca = TestCa::new()?;
//! let google = FakeGoogle::start(&ca, GoogleOptions::unthrottled()).await?;
//! let credential = google.service_account().key_file_json();
//! let account = google.add_merchant_account(AccountAccess::Granted);
//! let data_source = google.create_data_source(account, "Sluice");
//! // ... configure the host with google.egress_overrides() and ca.pem_path(),
//! // install the connector with credential / account / data_source, send events ...
//! let changes = google.wait_for_changes(1, Duration::from_secs(10)).await?;
//! let mug = google.product_input(account, "en~US~sku123");
//! # Ok(()) }
//! ```

mod api_error;
mod credentials;
mod input_body;
mod jwt;
mod merchant_api;
mod merchant_center;
mod product_input;
mod service_account;
mod token_endpoint;
mod token_error;
mod update_mask;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use parking_lot::Mutex;
use sluice_core::{SharedClock, SystemClock};

use crate::failures::{FailureScript, RequestMatch};
use crate::hosts::route_by_host;
use crate::journal::{Journal, WaitTimeout};
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::recorder::RequestRecorder;
use crate::server::{FakeServer, StartError};
use crate::tls::TestCa;

pub use api_error::{ApiError, RpcStatus};
pub use credentials::AccessToken;
pub use merchant_center::AccountAccess;
pub use product_input::{Price, ProductInput};
pub use service_account::ServiceAccount;
pub use token_error::{TokenError, TokenFailure};

/// Where the OAuth token endpoint lives.
pub const TOKEN_HOST: &str = "oauth2.googleapis.com";
/// Where the Merchant API lives.
pub const MERCHANT_API_HOST: &str = "merchantapi.googleapis.com";
/// Every hostname the fake answers for.
pub const HOSTNAMES: [&str; 2] = [TOKEN_HOST, MERCHANT_API_HOST];

/// The token endpoint: the key file's `token_uri` and the assertion's `aud`.
pub const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The scope the Merchant API requires.
pub const CONTENT_SCOPE: &str = "https://www.googleapis.com/auth/content";
/// The `grant_type` of the service account flow.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How the fake throttles and tells time.
#[derive(Clone)]
pub struct GoogleOptions {
    /// Per merchant account, over every Merchant API method.
    pub merchant_api_rate: RateLimit,
    /// The clock that assertions are checked against, tokens expire on and
    /// rate limits refill on.
    pub clock: SharedClock,
}

impl Default for GoogleOptions {
    /// Five calls a second per merchant account with bursts of ten, enough to
    /// catch a connector that ignores 429; the system clock.
    fn default() -> Self {
        Self {
            merchant_api_rate: RateLimit::per_second(5.0, 10),
            clock: Arc::new(SystemClock),
        }
    }
}

impl GoogleOptions {
    /// No throttling at all, for throughput tests and benchmarks.
    pub fn unthrottled() -> Self {
        Self {
            merchant_api_rate: RateLimit::Unlimited,
            ..Self::default()
        }
    }
}

/// A write the Merchant API accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum ProductChange {
    /// `productInputs.insert`: the input as stored.
    Inserted(ProductInput),
    /// `productInputs.patch`: the input after the patch.
    Updated {
        /// The input as stored after the patch.
        product: ProductInput,
        /// The paths applied (`productAttributes.price`), from `updateMask`
        /// or implied by the body.
        update_mask: Vec<String>,
    },
    /// `productInputs.delete`: the input as it was.
    Deleted(ProductInput),
}

/// The Merchant API methods a scripted failure can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantCall {
    /// Every Merchant API request.
    Any,
    /// `productInputs.insert`.
    InsertProductInput,
    /// `productInputs.patch`.
    UpdateProductInput,
    /// `productInputs.delete`.
    DeleteProductInput,
    /// `products.get`.
    GetProduct,
    /// `dataSources.list` and `dataSources.get`.
    DataSources,
}

impl MerchantCall {
    fn request_match(self) -> RequestMatch {
        let products =
            |method: Method| RequestMatch::path_prefix("/products/v1/").with_method(method);
        match self {
            Self::Any => RequestMatch::any(),
            Self::InsertProductInput => products(Method::POST),
            Self::UpdateProductInput => products(Method::PATCH),
            Self::DeleteProductInput => products(Method::DELETE),
            Self::GetProduct => products(Method::GET),
            Self::DataSources => RequestMatch::path_prefix("/datasources/v1/"),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
struct GoogleState {
    credentials: Arc<Mutex<credentials::Credentials>>,
    center: Arc<Mutex<merchant_center::MerchantCenter>>,
    changes: Journal<ProductChange>,
    limiter: Arc<RateLimiter<u64>>,
    clock: SharedClock,
}

/// A running fake Google; it stops when dropped.
pub struct FakeGoogle {
    server: FakeServer,
    state: GoogleState,
    service_account: ServiceAccount,
    token_failures: FailureScript<TokenFailure>,
    merchant_failures: FailureScript<ApiError>,
}

impl FakeGoogle {
    /// Starts the fake on `127.0.0.1:0` with a certificate from `ca` for
    /// [`HOSTNAMES`]. It knows [`ServiceAccount::test_account`] and no
    /// merchant account yet.
    pub async fn start(ca: &TestCa, options: GoogleOptions) -> Result<Self, StartError> {
        let service_account = ServiceAccount::test_account();
        let state = GoogleState {
            credentials: Arc::new(Mutex::new(credentials::Credentials::new(&service_account))),
            center: Arc::default(),
            changes: Journal::new(),
            limiter: Arc::new(RateLimiter::new(
                options.merchant_api_rate,
                options.clock.clone(),
            )),
            clock: options.clock,
        };
        let token_failures = FailureScript::new();
        let merchant_failures = FailureScript::new();
        let app = route_by_host([
            (
                TOKEN_HOST,
                token_failures.guard(token_endpoint::routes(state.clone())),
            ),
            (
                MERCHANT_API_HOST,
                merchant_failures.guard(merchant_api::routes(state.clone())),
            ),
        ]);
        let server = FakeServer::start_tls(ca, &HOSTNAMES, app).await?;
        Ok(Self {
            server,
            state,
            service_account,
            token_failures,
            merchant_failures,
        })
    }

    /// The local address both hostnames are served on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `{"merchantapi.googleapis.com:443": addr, "oauth2.googleapis.com:443":
    /// addr}` for the host's egress settings.
    pub fn egress_overrides(&self) -> BTreeMap<String, SocketAddr> {
        self.server.egress_overrides()
    }

    /// Every request received, including refused ones.
    pub fn recorder(&self) -> &RequestRecorder {
        self.server.recorder()
    }

    /// The service account the fake issues tokens to; its
    /// [`key_file_json`](ServiceAccount::key_file_json) is the connector's
    /// credential.
    pub fn service_account(&self) -> &ServiceAccount {
        &self.service_account
    }

    /// Deletes the service account: new assertions answer `invalid_grant`
    /// `Invalid grant: account not found`; tokens already issued live on
    /// until they expire.
    pub fn delete_service_account(&self) {
        self.state.credentials.lock().delete_account();
    }

    /// Every access token issued, oldest first.
    pub fn access_tokens(&self) -> Vec<AccessToken> {
        self.state.credentials.lock().tokens()
    }

    /// Revokes an access token: the Merchant API answers 401 to it from now
    /// on. (Tokens also expire on their own as the clock passes
    /// [`AccessToken::expires_at`].)
    ///
    /// # Panics
    /// If the fake never issued `token`.
    pub fn revoke_access_token(&self, token: &str) {
        self.state.credentials.lock().revoke(token);
    }

    /// Creates a merchant account and returns its id.
    pub fn add_merchant_account(&self, access: AccountAccess) -> u64 {
        self.state.center.lock().add_account(access)
    }

    /// Grants or withdraws the service account's access to `account`.
    ///
    /// # Panics
    /// If there is no merchant account `account`.
    pub fn set_account_access(&self, account: u64, access: AccountAccess) {
        self.state.center.lock().set_access(account, access);
    }

    /// Creates a primary API data source in `account` and returns its name
    /// (`accounts/{account}/dataSources/{id}`), the `dataSource` parameter
    /// of product input calls.
    ///
    /// # Panics
    /// If there is no merchant account `account`.
    pub fn create_data_source(&self, account: u64, display_name: &str) -> String {
        self.state
            .center
            .lock()
            .add_data_source(account, display_name)
    }

    /// Makes the next `times` token requests fail with `failure`.
    pub fn fail_token_requests(&self, failure: TokenFailure, times: usize) {
        self.token_failures
            .push(RequestMatch::post("/token"), failure, times);
    }

    /// Makes the next `times` Merchant API calls of kind `call` fail with
    /// `failure` (`ApiError::from(RpcStatus::Unavailable)`, ...).
    pub fn fail_merchant_calls(&self, call: MerchantCall, failure: ApiError, times: usize) {
        self.merchant_failures
            .push(call.request_match(), failure, times);
    }

    /// The product input `id` (`en~US~sku123`) of `account`, if stored.
    ///
    /// # Panics
    /// If there is no merchant account `account`.
    pub fn product_input(&self, account: u64, id: &str) -> Option<ProductInput> {
        self.state.center.lock().product(account, id).ok().cloned()
    }

    /// Every product input of `account`.
    ///
    /// # Panics
    /// If there is no merchant account `account`.
    pub fn product_inputs(&self, account: u64) -> Vec<ProductInput> {
        self.state.center.lock().products(account)
    }

    /// How many writes were accepted so far, without copying them.
    pub fn change_count(&self) -> usize {
        self.state.changes.len()
    }

    /// Every accepted write so far, in order.
    pub fn changes(&self) -> Vec<ProductChange> {
        self.state.changes.entries()
    }

    /// Waits until at least `count` writes were accepted.
    pub async fn wait_for_changes(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ProductChange>, WaitTimeout> {
        self.state.changes.wait_for(count, timeout).await
    }
}
