//! What every Sell API call passes before it runs, in eBay's order: a live
//! user access token (401, errorId 1001), the API's scope (403, errorId
//! 1100; reads also accept the `.readonly` scope), and the app's call limit
//! for the API (429, errorId 2001).

use http::HeaderMap;
use http::header::AUTHORIZATION;
use sluice_core::SharedClock;

use super::EbayState;
use super::api_error::EbayError;
use crate::rate_limit::{RateLimit, RateLimiter};

/// The scope the Inventory API needs.
pub const SCOPE_INVENTORY: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory";
/// The scope that lets a token read, not write, inventory.
pub const SCOPE_INVENTORY_READONLY: &str =
    "https://api.ebay.com/oauth/api_scope/sell.inventory.readonly";
/// The scope the Fulfillment API needs.
pub const SCOPE_FULFILLMENT: &str = "https://api.ebay.com/oauth/api_scope/sell.fulfillment";
/// The scope that lets a token read, not write, orders.
pub const SCOPE_FULFILLMENT_READONLY: &str =
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment.readonly";

/// A Sell API the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SellApi {
    /// `/sell/inventory/v1`: inventory items, offers, price and quantity.
    Inventory,
    /// `/sell/fulfillment/v1`: orders and shipping fulfillments.
    Fulfillment,
}

impl SellApi {
    /// The `domain` of the API's own errors.
    pub fn domain(self) -> &'static str {
        match self {
            Self::Inventory => "API_INVENTORY",
            Self::Fulfillment => "API_FULFILLMENT",
        }
    }

    /// The API's base path.
    pub fn base_path(self) -> &'static str {
        match self {
            Self::Inventory => "/sell/inventory/v1",
            Self::Fulfillment => "/sell/fulfillment/v1",
        }
    }

    /// The scopes that allow a call.
    fn accepted_scopes(self, access: Access) -> &'static [&'static str] {
        match (self, access) {
            (Self::Inventory, Access::Write) => &[SCOPE_INVENTORY],
            (Self::Inventory, Access::Read) => &[SCOPE_INVENTORY, SCOPE_INVENTORY_READONLY],
            (Self::Fulfillment, Access::Write) => &[SCOPE_FULFILLMENT],
            (Self::Fulfillment, Access::Read) => &[SCOPE_FULFILLMENT, SCOPE_FULFILLMENT_READONLY],
        }
    }
}

/// Whether a call changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

/// One token bucket per API and app.
pub(super) struct CallLimits {
    inventory: RateLimiter<String>,
    fulfillment: RateLimiter<String>,
}

impl CallLimits {
    pub(super) fn new(inventory: RateLimit, fulfillment: RateLimit, clock: &SharedClock) -> Self {
        Self {
            inventory: RateLimiter::new(inventory, clock.clone()),
            fulfillment: RateLimiter::new(fulfillment, clock.clone()),
        }
    }

    fn acquire(&self, api: SellApi, client_id: &str) -> Result<(), EbayError> {
        let limiter = match api {
            SellApi::Inventory => &self.inventory,
            SellApi::Fulfillment => &self.fulfillment,
        };
        limiter
            .acquire(client_id.to_owned())
            .map_err(|_| EbayError::too_many_requests())
    }
}

/// Admits a call to `api`.
pub(super) fn admit(
    ebay: &EbayState,
    headers: &HeaderMap,
    api: SellApi,
    access: Access,
) -> Result<(), EbayError> {
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let client_id = {
        let identity = ebay.identity.lock();
        let grant = identity
            .authenticate(authorization, ebay.clock.now_ms())
            .map_err(|_| EbayError::invalid_access_token())?;
        let allowed = api.accepted_scopes(access);
        if !grant
            .scopes
            .iter()
            .any(|scope| allowed.contains(&scope.as_str()))
        {
            return Err(EbayError::insufficient_permissions());
        }
        grant.client_id.clone()
    };
    ebay.call_limits.acquire(api, &client_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accept_the_readonly_scope_and_writes_do_not() {
        let read = SellApi::Inventory.accepted_scopes(Access::Read);
        let write = SellApi::Inventory.accepted_scopes(Access::Write);
        assert!(read.contains(&SCOPE_INVENTORY_READONLY));
        assert!(!write.contains(&SCOPE_INVENTORY_READONLY));
        assert_eq!(
            SellApi::Fulfillment.accepted_scopes(Access::Write),
            [SCOPE_FULFILLMENT]
        );
    }
}
