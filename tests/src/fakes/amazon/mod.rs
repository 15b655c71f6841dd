//! A fake Amazon: Login with Amazon on `api.amazon.com` and the Selling
//! Partner API (Listings Items 2021-08-01, Orders v0) on the regional
//! endpoints `sellingpartnerapi-{na,eu,fe}.amazon.com` and the sandbox
//! `sandbox.sellingpartnerapi-na.amazon.com`, over TLS with certificates for
//! those names.
//!
//! Tests register an LWA app and a seller (or both at once with
//! [`FakeAmazon::onboard_seller`]), seed orders, point the host's egress
//! overrides at [`FakeAmazon::egress_overrides`], and then look at what
//! arrived: the stored listings ([`FakeAmazon::listing`]), the orders
//! ([`FakeAmazon::order`]), the writes in order ([`FakeAmazon::changes`]) or
//! the raw requests ([`FakeAmazon::recorder`]).
//!
//! Like Amazon:
//! - every SP-API answer carries `x-amzn-RequestId`; successes, 400 and 404
//!   also carry `x-amzn-RateLimit-Limit`; 429 `QuotaExceeded` has no
//!   `Retry-After`;
//! - an access token acts for the seller who granted the refresh token, and
//!   a path naming another seller is 403 `Unauthorized`; so is a request to
//!   a path the API does not serve;
//! - an incomplete listing is HTTP 200 `INVALID` with issues (see
//!   [`ListingRules`] for what the fake requires); 400 is for malformed
//!   requests only.
//!
//! Where the fake departs from Amazon:
//! - a listing has one attribute set for all its marketplaces;
//! - listings are processed at once (Amazon takes minutes), and carry no
//!   issues once accepted;
//! - the sandbox host behaves like the North American endpoint, with live
//!   data rather than Amazon's canned answers;
//! - only the `refresh_token` grant is served.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sluice_tests::TestCa;
//! use sluice_tests::fakes::amazon::{AmazonOptions, FakeAmazon, MARKETPLACE_US, OrderSeed};
//!
//! let ca = TestCa::new()?;
//! let amazon = FakeAmazon::start(&ca, AmazonOptions::unthrottled()).await?;
//! let seller = amazon.onboard_seller(&[MARKETPLACE_US]);
//! let order_id = amazon.seed_order(
//!     &seller.seller_id,
//!     OrderSeed::new(MARKETPLACE_US, 1_767_225_600_000).item("MUG-1", 2, "19.99"),
//! );
//! // ... configure the host with amazon.egress_overrides() and ca.pem_path(),
//! // install the connector with seller.client_id / client_secret /
//! // refresh_token / seller_id, send events ...
//! let changes = amazon.wait_for_changes(1, Duration::from_secs(10)).await?;
//! let mug = amazon.listing(&seller.seller_id, "MUG-1");
//! # Ok(()) }
//! ```

mod gateway;
mod ids;
mod listing;
mod listing_body;
mod listing_patch;
mod listing_rules;
mod listings_api;
mod lwa;
mod marketplace;
mod operation;
mod order;
mod orders_api;
mod orders_query;
mod response_headers;
mod seller_central;
mod shipment;
mod sp_api_error;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use parking_lot::Mutex;
use sluice_core::{SharedClock, SystemClock};

use crate::failures::{FailureScript, RequestMatch};
use crate::fakes::oauth::AccessToken;
use crate::hosts::route_by_host;
use crate::journal::{Journal, WaitTimeout};
use crate::rate_limit::RateLimit;
use crate::recorder::RequestRecorder;
use crate::server::{FakeServer, StartError};
use crate::tls::TestCa;

pub use gateway::ACCESS_TOKEN_HEADER;
pub use listing::{Listing, OfferPrice};
pub use listing_body::Requirements;
pub use listing_rules::ListingRules;
pub use lwa::{ACCESS_TOKEN_LIFETIME, LwaApp, LwaError, TOKEN_PATH};
pub use marketplace::{
    MARKETPLACE_CA, MARKETPLACE_DE, MARKETPLACE_JP, MARKETPLACE_UK, MARKETPLACE_US, MARKETPLACES,
    Marketplace, Region,
};
pub use operation::Operation;
pub use order::{
    ConfirmedItem, FulfillmentChannel, Order, OrderItem, OrderSeed, OrderStatus,
    ShipmentConfirmation,
};
pub use response_headers::{RATE_LIMIT, REQUEST_ID};
pub use sp_api_error::{ACCESS_DENIED, SpApiError};

/// Where Login with Amazon lives.
pub const LWA_HOST: &str = "api.amazon.com";
/// The North American sandbox endpoint.
pub const SANDBOX_HOST: &str = "sandbox.sellingpartnerapi-na.amazon.com";
/// Every hostname the fake answers for.
pub const HOSTNAMES: [&str; 5] = [
    LWA_HOST,
    "sellingpartnerapi-na.amazon.com",
    "sellingpartnerapi-eu.amazon.com",
    "sellingpartnerapi-fe.amazon.com",
    SANDBOX_HOST,
];

/// How the fake throttles, what it requires of listings, and how it tells
/// time.
#[derive(Clone)]
pub struct AmazonOptions {
    /// Per operation and seller. An operation without an entry gets its
    /// [documented usage plan](Operation::documented_rate).
    pub rate_limits: BTreeMap<Operation, RateLimit>,
    /// The attributes a listing must carry.
    pub listing_rules: ListingRules,
    /// The clock tokens expire on, dates come from and rate limits refill on.
    pub clock: SharedClock,
}

impl Default for AmazonOptions {
    /// Amazon's documented usage plans, [`ListingRules::default`], the
    /// system clock.
    fn default() -> Self {
        Self {
            rate_limits: BTreeMap::new(),
            listing_rules: ListingRules::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl AmazonOptions {
    /// No throttling at all, for throughput tests and benchmarks. Answers
    /// still report the documented rates in `x-amzn-RateLimit-Limit`.
    pub fn unthrottled() -> Self {
        Self {
            rate_limits: Operation::ALL
                .into_iter()
                .map(|operation| (operation, RateLimit::Unlimited))
                .collect(),
            ..Self::default()
        }
    }

    /// These options with `operation` throttled at `limit`.
    pub fn with_rate_limit(mut self, operation: Operation, limit: RateLimit) -> Self {
        self.rate_limits.insert(operation, limit);
        self
    }

    /// The limit that applies to `operation`.
    pub fn rate_limit(&self, operation: Operation) -> RateLimit {
        self.rate_limits
            .get(&operation)
            .copied()
            .unwrap_or_else(|| operation.documented_rate())
    }
}

/// A write the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum AmazonChange {
    /// `putListingsItem`: the listing as stored.
    ListingPut(Listing),
    /// `patchListingsItem`: the listing after the patches.
    ListingPatched(Listing),
    /// `deleteListingsItem`.
    ListingDeleted {
        /// The listing as it was before.
        listing: Listing,
        /// The marketplaces it was taken out of.
        marketplace_ids: Vec<String>,
    },
    /// `confirmShipment`.
    ShipmentConfirmed(ShipmentConfirmation),
}

/// What the Amazon connector is configured with for one seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerCredentials {
    /// The seller (merchant) id, the `{sellerId}` of listings paths.
    pub seller_id: String,
    /// The LWA app's client id.
    pub client_id: String,
    /// The LWA app's client secret.
    pub client_secret: String,
    /// The refresh token the seller granted the app.
    pub refresh_token: String,
}

/// What the handlers share.
#[derive(Clone)]
struct AmazonState {
    identity: Arc<Mutex<lwa::Identity>>,
    central: Arc<Mutex<seller_central::SellerCentral>>,
    changes: Journal<AmazonChange>,
    usage_plans: Arc<gateway::UsagePlans>,
    rules: Arc<ListingRules>,
    clock: SharedClock,
}

/// A running fake Amazon; it stops when dropped.
pub struct FakeAmazon {
    server: FakeServer,
    state: AmazonState,
    token_failures: FailureScript<LwaError>,
    api_failures: FailureScript<SpApiError>,
}

impl FakeAmazon {
    /// Starts the fake on `127.0.0.1:0` with a certificate from `ca` for
    /// [`HOSTNAMES`]. It knows no app, seller or order yet.
    pub async fn start(ca: &TestCa, options: AmazonOptions) -> Result<Self, StartError> {
        let state = AmazonState {
            identity: Arc::default(),
            central: Arc::default(),
            changes: Journal::new(),
            usage_plans: Arc::new(gateway::UsagePlans::new(
                |operation| options.rate_limit(operation),
                &options.clock,
            )),
            rules: Arc::new(options.listing_rules.clone()),
            clock: options.clock.clone(),
        };
        let reported_rates = Arc::new(response_headers::ReportedRates::new(|operation| {
            options.rate_limit(operation)
        }));
        let token_failures = FailureScript::new();
        let api_failures = FailureScript::new();
        let sp_api = |region: Region| {
            let api = listings_api::routes(state.clone())
                .merge(orders_api::routes(state.clone()))
                // Amazon refuses paths and methods it does not serve as unauthorized.
                .fallback(|| async { SpApiError::unauthorized("") })
                .method_not_allowed_fallback(|| async { SpApiError::unauthorized("") })
                .layer(Extension(region));
            api_failures
                .guard(api)
                .layer(axum::middleware::from_fn_with_state(
                    reported_rates.clone(),
                    response_headers::add,
                ))
        };
        let app: Router = route_by_host([
            (LWA_HOST, token_failures.guard(lwa::routes(state.clone()))),
            (
                Region::NorthAmerica.hostname(),
                sp_api(Region::NorthAmerica),
            ),
            (Region::Europe.hostname(), sp_api(Region::Europe)),
            (Region::FarEast.hostname(), sp_api(Region::FarEast)),
            (SANDBOX_HOST, sp_api(Region::NorthAmerica)),
        ]);
        let server = FakeServer::start_tls(ca, &HOSTNAMES, app).await?;
        Ok(Self {
            server,
            state,
            token_failures,
            api_failures,
        })
    }

    /// The local address every hostname is served on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `{"api.amazon.com:443": addr, "sellingpartnerapi-na.amazon.com:443":
    /// addr, ...}` for the host's egress settings.
    pub fn egress_overrides(&self) -> BTreeMap<String, SocketAddr> {
        self.server.egress_overrides()
    }

    /// Every request received, including refused ones.
    pub fn recorder(&self) -> &RequestRecorder {
        self.server.recorder()
    }

    /// Registers an LWA app and returns its client id and secret.
    pub fn register_app(&self) -> LwaApp {
        self.state.identity.lock().register_app()
    }

    /// Creates a seller selling in `marketplace_ids` and returns its id.
    ///
    /// # Panics
    /// If a marketplace id is not one of [`MARKETPLACES`].
    pub fn add_seller(&self, marketplace_ids: &[&str]) -> String {
        self.state.central.lock().add_seller(marketplace_ids)
    }

    /// Seller `seller_id` authorizes `app`: returns the refresh token
    /// (`Atzr|...`) the app exchanges for access tokens acting for that
    /// seller.
    pub fn authorize(&self, app: &LwaApp, seller_id: &str) -> String {
        self.state
            .identity
            .lock()
            .authorize(&app.client_id, seller_id)
    }

    /// An app, a seller selling in `marketplace_ids`, and the seller's
    /// refresh token for the app: everything the connector is configured
    /// with.
    ///
    /// # Panics
    /// If a marketplace id is not one of [`MARKETPLACES`].
    pub fn onboard_seller(&self, marketplace_ids: &[&str]) -> SellerCredentials {
        let app = self.register_app();
        let seller_id = self.add_seller(marketplace_ids);
        let refresh_token = self.authorize(&app, &seller_id);
        SellerCredentials {
            seller_id,
            client_id: app.client_id,
            client_secret: app.client_secret,
            refresh_token,
        }
    }

    /// Revokes a refresh token: grants with it answer `invalid_grant`.
    /// Access tokens already issued live on until they expire, as LWA's do.
    ///
    /// # Panics
    /// If the fake never issued `token`.
    pub fn revoke_refresh_token(&self, token: &str) {
        self.state.identity.lock().revoke_refresh_token(token);
    }

    /// Every access token issued, oldest first; each one's grant is the
    /// seller id it acts for.
    pub fn access_tokens(&self) -> Vec<AccessToken<String>> {
        self.state.identity.lock().access_tokens()
    }

    /// Makes an access token expire now: the SP-API answers 403
    /// `The access token you provided has expired.` to it. (Tokens also
    /// expire on their own an hour after they were issued.)
    ///
    /// # Panics
    /// If the fake never issued `token`.
    pub fn expire_access_token(&self, token: &str) {
        let now = self.state.clock.now_ms();
        self.state.identity.lock().expire_access_token(token, now);
    }

    /// Revokes an access token: the SP-API answers 403
    /// `The access token you provided is revoked, malformed or invalid.`
    ///
    /// # Panics
    /// If the fake never issued `token`.
    pub fn revoke_access_token(&self, token: &str) {
        self.state.identity.lock().revoke_access_token(token);
    }

    /// Seller `seller_id`'s listing of `sku`, if stored.
    pub fn listing(&self, seller_id: &str, sku: &str) -> Option<Listing> {
        self.state.central.lock().listing(seller_id, sku).cloned()
    }

    /// Every listing of seller `seller_id`, by SKU.
    pub fn listings(&self, seller_id: &str) -> Vec<Listing> {
        self.state.central.lock().listings_of(seller_id)
    }

    /// Places an order with seller `seller_id` and returns its
    /// `AmazonOrderId`.
    ///
    /// # Panics
    /// If there is no seller `seller_id` or it does not sell in the seed's
    /// marketplace.
    pub fn seed_order(&self, seller_id: &str, seed: OrderSeed) -> String {
        self.state.central.lock().seed_order(seller_id, seed)
    }

    /// The order `amazon_order_id`, with its shipments.
    pub fn order(&self, amazon_order_id: &str) -> Option<Order> {
        self.state.central.lock().order(amazon_order_id).cloned()
    }

    /// Changes an order's status as Amazon would (a buyer cancels, payment
    /// clears); its `LastUpdateDate` moves to now.
    ///
    /// # Panics
    /// If there is no order `amazon_order_id`.
    pub fn set_order_status(&self, amazon_order_id: &str, status: OrderStatus) {
        let now = self.state.clock.now_ms();
        self.state
            .central
            .lock()
            .set_order_status(amazon_order_id, status, now);
    }

    /// Makes the next `times` token requests fail with `failure`.
    pub fn fail_token_requests(&self, failure: LwaError, times: usize) {
        self.token_failures
            .push(RequestMatch::post(TOKEN_PATH), failure, times);
    }

    /// Makes the next `times` calls of `operation` fail with `failure`
    /// (`SpApiError::quota_exceeded()`, `SpApiError::internal_failure()`, ...).
    pub fn fail_operation(&self, operation: Operation, failure: SpApiError, times: usize) {
        self.api_failures
            .push(operation.request_match(), failure, times);
    }

    /// Makes the next `times` SP-API calls, whatever the operation, fail
    /// with `failure`.
    pub fn fail_every_operation(&self, failure: SpApiError, times: usize) {
        self.api_failures.push(RequestMatch::any(), failure, times);
    }

    /// How many writes were accepted so far, without copying them.
    pub fn change_count(&self) -> usize {
        self.state.changes.len()
    }

    /// Every accepted write so far, in order.
    pub fn changes(&self) -> Vec<AmazonChange> {
        self.state.changes.entries()
    }

    /// Waits until at least `count` writes were accepted.
    pub async fn wait_for_changes(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<AmazonChange>, WaitTimeout> {
        self.state.changes.wait_for(count, timeout).await
    }
}
