//! A fake eBay: the OAuth token endpoint and the Sell Inventory and
//! Fulfillment APIs on `api.ebay.com` and `api.sandbox.ebay.com`, over TLS
//! with certificates for those names.
//!
//! The fake holds one seller account. Tests register an app and the
//! seller's consent, business policies and an inventory location (all at
//! once with [`FakeEbay::onboard_seller`]), seed orders, point the host's
//! egress overrides at [`FakeEbay::egress_overrides`], and then look at what
//! arrived: inventory items ([`FakeEbay::inventory_item`]), offers
//! ([`FakeEbay::offers`]), orders ([`FakeEbay::order`]), the writes in
//! order ([`FakeEbay::changes`]) or the raw requests ([`FakeEbay::recorder`]).
//!
//! Like eBay:
//! - every Sell API error is `{"errors":[{"errorId",...}]}`; a bad or
//!   expired token is 401 errorId 1001, a missing scope 403 errorId 1100,
//!   a throttled call 429 errorId 2001;
//! - a body field of the wrong type or enum value is 400 errorId 2004
//!   `Could not serialize field [<field>]`;
//! - a second offer for a SKU and marketplace is 400 errorId 25002
//!   `Offer entity already exists` with the existing `offerId` as a
//!   parameter;
//! - a shipping fulfillment is 201 with its id in `Location` only.
//!
//! Where the fake departs from eBay: the sandbox host shares the production
//! host's data; only `FIXED_PRICE` offers are served; money values must be
//! JSON strings; throttling is a token bucket per app and API, where eBay
//! counts calls per day.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sluice_tests::TestCa;
//! use sluice_tests::fakes::ebay::{EbayOptions, EbayOrderSeed, FakeEbay};
//!
//! let ca = TestCa::new()?;
//! let ebay = FakeEbay::start(&ca, EbayOptions::unthrottled()).await?;
//! let seller = ebay.onboard_seller();
//! let order_id = ebay.seed_order(EbayOrderSeed::new(1_767_225_600_000).line_item("MUG-1", 1, "19.99"));
//! // ... configure the host with ebay.egress_overrides() and ca.pem_path(),
//! // install the connector with seller.app, seller.refresh_token and
//! // seller.policies, send events ...
//! let changes = ebay.wait_for_changes(3, Duration::from_secs(10)).await?;
//! let mug = ebay.inventory_item("MUG-1");
//! # Ok(()) }
//! ```

mod access;
mod api_error;
mod bulk_update;
mod fulfillment_api;
mod identity;
mod ids;
mod inventory_api;
mod inventory_item;
mod json_fields;
mod offer;
mod order;
mod order_query;
mod publish;
mod seller_account;
mod shipping_fulfillment;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use http::Method;
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

pub use access::{
    SCOPE_FULFILLMENT, SCOPE_FULFILLMENT_READONLY, SCOPE_INVENTORY, SCOPE_INVENTORY_READONLY,
    SellApi,
};
pub use api_error::{EbayError, ErrorDetail};
pub use bulk_update::{OfferUpdate, PriceQuantityUpdate};
pub use identity::{ACCESS_TOKEN_LIFETIME, EbayApp, Grant, TOKEN_PATH, TokenError};
pub use inventory_item::{CONDITIONS, InventoryItem};
pub use offer::{ListingPolicies, MARKETPLACES, Offer, Price};
pub use order::{
    BUYER_USERNAME, EbayOrder, EbayOrderSeed, FulfilledLineItem, FulfillmentStatus, LineItem,
    PaymentStatus, SELLER_USERNAME, ShippingFulfillment,
};
pub use publish::BusinessPolicies;

/// The production host.
pub const API_HOST: &str = "api.ebay.com";
/// The sandbox host.
pub const SANDBOX_HOST: &str = "api.sandbox.ebay.com";
/// Every hostname the fake answers for.
pub const HOSTNAMES: [&str; 2] = [API_HOST, SANDBOX_HOST];
/// The inventory location [`FakeEbay::onboard_seller`] sets up.
pub const DEFAULT_LOCATION_KEY: &str = "warehouse-1";

/// The host a request came to, for the links eBay writes into answers.
#[derive(Debug, Clone, Copy)]
struct ApiHost(&'static str);

/// How the fake throttles and tells time.
#[derive(Clone)]
pub struct EbayOptions {
    /// Per app, over every Inventory API call.
    pub inventory_rate: RateLimit,
    /// Per app, over every Fulfillment API call.
    pub fulfillment_rate: RateLimit,
    /// The clock tokens expire on, dates come from and rate limits refill on.
    pub clock: SharedClock,
}

impl Default for EbayOptions {
    /// eBay's daily call limits spread over the day (2,000,000 Inventory
    /// API calls, about 23 a second; 100,000 Fulfillment API calls, about
    /// 1.2 a second), with bursts of 100; the system clock.
    fn default() -> Self {
        Self {
            inventory_rate: RateLimit::per_second(23.0, 100),
            fulfillment_rate: RateLimit::per_second(1.2, 100),
            clock: Arc::new(SystemClock),
        }
    }
}

impl EbayOptions {
    /// No throttling at all, for throughput tests and benchmarks.
    pub fn unthrottled() -> Self {
        Self {
            inventory_rate: RateLimit::Unlimited,
            fulfillment_rate: RateLimit::Unlimited,
            ..Self::default()
        }
    }
}

/// A write the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum EbayChange {
    /// `createOrReplaceInventoryItem`: the item as stored.
    InventoryItemPut(InventoryItem),
    /// `createOffer`.
    OfferCreated(Offer),
    /// `publishOffer`: the offer with its listing id.
    OfferPublished(Offer),
    /// One request of `bulkUpdatePriceQuantity`, as far as it was applied.
    PriceQuantityUpdated(PriceQuantityUpdate),
    /// `createShippingFulfillment`.
    ShippingFulfillmentCreated(ShippingFulfillment),
}

/// The calls a scripted failure can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EbayCall {
    /// Every Inventory API call.
    AnyInventory,
    /// Every Fulfillment API call.
    AnyFulfillment,
    /// `PUT /inventory_item/{sku}`.
    PutInventoryItem,
    /// `POST /offer`.
    CreateOffer,
    /// `GET /offer`.
    GetOffers,
    /// `POST /offer/{offerId}/publish`.
    PublishOffer,
    /// `POST /bulk_update_price_quantity`.
    BulkUpdatePriceQuantity,
    /// `GET /order`.
    GetOrders,
    /// `POST /order/{orderId}/shipping_fulfillment`.
    CreateShippingFulfillment,
}

impl EbayCall {
    fn request_match(self) -> RequestMatch {
        let inventory = |rest: &str| format!("{}{rest}", SellApi::Inventory.base_path());
        let fulfillment = |rest: &str| format!("{}{rest}", SellApi::Fulfillment.base_path());
        match self {
            Self::AnyInventory => RequestMatch::path_prefix(inventory("/")),
            Self::AnyFulfillment => RequestMatch::path_prefix(fulfillment("/")),
            Self::PutInventoryItem => {
                RequestMatch::path_prefix(inventory("/inventory_item/")).with_method(Method::PUT)
            }
            Self::CreateOffer => RequestMatch::post(inventory("/offer")),
            Self::GetOffers => RequestMatch::path(inventory("/offer")).with_method(Method::GET),
            Self::PublishOffer => {
                RequestMatch::path_prefix(inventory("/offer/")).with_method(Method::POST)
            }
            Self::BulkUpdatePriceQuantity => {
                RequestMatch::post(inventory("/bulk_update_price_quantity"))
            }
            Self::GetOrders => RequestMatch::path(fulfillment("/order")).with_method(Method::GET),
            Self::CreateShippingFulfillment => {
                RequestMatch::path_prefix(fulfillment("/order/")).with_method(Method::POST)
            }
        }
    }
}

/// What the eBay connector is configured with for the fake's seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbaySeller {
    /// The app's keys.
    pub app: EbayApp,
    /// The seller's refresh token for the app, granting the inventory and
    /// fulfillment scopes.
    pub refresh_token: String,
    /// The seller's business policies.
    pub policies: BusinessPolicies,
    /// The seller's inventory location ([`DEFAULT_LOCATION_KEY`]).
    pub merchant_location_key: String,
}

/// What the handlers share.
#[derive(Clone)]
struct EbayState {
    identity: Arc<Mutex<identity::Identity>>,
    account: Arc<Mutex<seller_account::SellerAccount>>,
    changes: Journal<EbayChange>,
    call_limits: Arc<access::CallLimits>,
    clock: SharedClock,
}

/// A running fake eBay; it stops when dropped.
pub struct FakeEbay {
    server: FakeServer,
    state: EbayState,
    token_failures: FailureScript<TokenError>,
    api_failures: FailureScript<EbayError>,
}

impl FakeEbay {
    /// Starts the fake on `127.0.0.1:0` with a certificate from `ca` for
    /// [`HOSTNAMES`]. It knows no app yet and its seller has nothing.
    pub async fn start(ca: &TestCa, options: EbayOptions) -> Result<Self, StartError> {
        let state = EbayState {
            identity: Arc::default(),
            account: Arc::default(),
            changes: Journal::new(),
            call_limits: Arc::new(access::CallLimits::new(
                options.inventory_rate,
                options.fulfillment_rate,
                &options.clock,
            )),
            clock: options.clock,
        };
        let token_failures = FailureScript::new();
        let api_failures = FailureScript::new();
        let host_routes = |host: &'static str| {
            let apis = inventory_api::routes(state.clone())
                .merge(fulfillment_api::routes(state.clone()))
                .layer(Extension(ApiHost(host)));
            token_failures
                .guard(identity::routes(state.clone()))
                .merge(api_failures.guard(apis))
        };
        let app = route_by_host([
            (API_HOST, host_routes(API_HOST)),
            (SANDBOX_HOST, host_routes(SANDBOX_HOST)),
        ]);
        let server = FakeServer::start_tls(ca, &HOSTNAMES, app).await?;
        Ok(Self {
            server,
            state,
            token_failures,
            api_failures,
        })
    }

    /// The local address both hostnames are served on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `{"api.ebay.com:443": addr, "api.sandbox.ebay.com:443": addr}` for
    /// the host's egress settings.
    pub fn egress_overrides(&self) -> BTreeMap<String, SocketAddr> {
        self.server.egress_overrides()
    }

    /// Every request received, including refused ones.
    pub fn recorder(&self) -> &RequestRecorder {
        self.server.recorder()
    }

    /// Registers an app and returns its keys.
    pub fn register_app(&self) -> EbayApp {
        self.state.identity.lock().register_app()
    }

    /// The seller consents to `scopes` for `app`: returns the refresh token.
    pub fn grant_refresh_token(&self, app: &EbayApp, scopes: &[&str]) -> String {
        self.state.identity.lock().grant(&app.client_id, scopes)
    }

    /// An app, the seller's refresh token for it with the inventory and
    /// fulfillment scopes, business policies and the inventory location
    /// [`DEFAULT_LOCATION_KEY`]: everything the connector is configured
    /// with.
    pub fn onboard_seller(&self) -> EbaySeller {
        let app = self.register_app();
        let refresh_token = self.grant_refresh_token(&app, &[SCOPE_INVENTORY, SCOPE_FULFILLMENT]);
        let policies = self.add_business_policies();
        self.add_inventory_location(DEFAULT_LOCATION_KEY);
        EbaySeller {
            app,
            refresh_token,
            policies,
            merchant_location_key: DEFAULT_LOCATION_KEY.to_owned(),
        }
    }

    /// Revokes a refresh token: grants with it answer `invalid_grant`.
    ///
    /// # Panics
    /// If the fake never issued `token`.
    pub fn revoke_refresh_token(&self, token: &str) {
        self.state.identity.lock().revoke_refresh_token(token);
    }

    /// Every access token issued, oldest first.
    pub fn access_tokens(&self) -> Vec<AccessToken<Grant>> {
        self.state.identity.lock().access_tokens()
    }

    /// Makes an access token expire now: the Sell APIs answer 401 errorId
    /// 1001 to it. (Tokens also expire on their own two hours after they
    /// were issued.)
    ///
    /// # Panics
    /// If the fake never issued `token`.
    pub fn expire_access_token(&self, token: &str) {
        let now = self.state.clock.now_ms();
        self.state.identity.lock().expire_access_token(token, now);
    }

    /// Creates a fulfillment, a payment and a return policy.
    pub fn add_business_policies(&self) -> BusinessPolicies {
        self.state.account.lock().add_policies()
    }

    /// Creates an inventory location offers can name.
    pub fn add_inventory_location(&self, merchant_location_key: &str) {
        self.state
            .account
            .lock()
            .add_location(merchant_location_key);
    }

    /// The inventory item `sku`, if stored.
    pub fn inventory_item(&self, sku: &str) -> Option<InventoryItem> {
        self.state.account.lock().inventory_item(sku).cloned()
    }

    /// Every offer of `sku`.
    pub fn offers(&self, sku: &str) -> Vec<Offer> {
        self.state
            .account
            .lock()
            .offers_of(sku, None)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Places an order and returns its `orderId`.
    pub fn seed_order(&self, seed: EbayOrderSeed) -> String {
        self.state.account.lock().seed_order(seed)
    }

    /// The order `order_id`, with its fulfillments.
    pub fn order(&self, order_id: &str) -> Option<EbayOrder> {
        self.state.account.lock().order(order_id).cloned()
    }

    /// Makes the next `times` token requests fail with `failure`.
    pub fn fail_token_requests(&self, failure: TokenError, times: usize) {
        self.token_failures
            .push(RequestMatch::post(TOKEN_PATH), failure, times);
    }

    /// Makes the next `times` calls of kind `call` fail with `failure`
    /// (`EbayError::too_many_requests()`,
    /// `EbayError::system_error(SellApi::Inventory)`, ...).
    pub fn fail_calls(&self, call: EbayCall, failure: EbayError, times: usize) {
        self.api_failures.push(call.request_match(), failure, times);
    }

    /// How many writes were accepted so far, without copying them.
    pub fn change_count(&self) -> usize {
        self.state.changes.len()
    }

    /// Every accepted write so far, in order.
    pub fn changes(&self) -> Vec<EbayChange> {
        self.state.changes.entries()
    }

    /// Waits until at least `count` writes were accepted.
    pub async fn wait_for_changes(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<EbayChange>, WaitTimeout> {
        self.state.changes.wait_for(count, timeout).await
    }
}
