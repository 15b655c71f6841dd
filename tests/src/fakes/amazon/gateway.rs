//! What every SP-API call passes before the operation runs, in Amazon's
//! order: a live `x-amz-access-token` (403 `Unauthorized` otherwise), a
//! seller in the path that is the token's seller (403 too), and the
//! operation's usage plan for that seller (429 `QuotaExceeded`).

use std::collections::HashMap;

use http::HeaderMap;

use super::AmazonState;
use super::operation::Operation;
use super::sp_api_error::SpApiError;
use crate::rate_limit::{RateLimit, RateLimiter};

/// The header carrying the LWA access token.
pub const ACCESS_TOKEN_HEADER: &str = "x-amz-access-token";

/// One token bucket per operation and seller.
pub(super) struct UsagePlans {
    limiters: HashMap<Operation, RateLimiter<String>>,
}

impl UsagePlans {
    pub(super) fn new(
        rate_of: impl Fn(Operation) -> RateLimit,
        clock: &sluice_core::SharedClock,
    ) -> Self {
        let limiters = Operation::ALL
            .into_iter()
            .map(|operation| {
                (
                    operation,
                    RateLimiter::new(rate_of(operation), clock.clone()),
                )
            })
            .collect();
        Self { limiters }
    }

    fn acquire(&self, operation: Operation, seller_id: &str) -> Result<(), SpApiError> {
        self.limiters[&operation]
            .acquire(seller_id.to_owned())
            .map_err(|_| SpApiError::quota_exceeded())
    }
}

/// Admits a call of `operation` and returns the seller it acts for.
/// `path_seller` is the `{sellerId}` of the path, for operations that have
/// one.
pub(super) fn admit(
    amazon: &AmazonState,
    headers: &HeaderMap,
    operation: Operation,
    path_seller: Option<&str>,
) -> Result<String, SpApiError> {
    let token = headers
        .get(ACCESS_TOKEN_HEADER)
        .and_then(|value| value.to_str().ok());
    let seller_id = amazon
        .identity
        .lock()
        .seller_of(token, amazon.clock.now_ms())?;
    if path_seller.is_some_and(|path_seller| path_seller != seller_id) {
        return Err(SpApiError::unauthorized(""));
    }
    amazon.usage_plans.acquire(operation, &seller_id)?;
    Ok(seller_id)
}
