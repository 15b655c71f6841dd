//! The connection check: the token exchange, then one cheap read (the
//! first order of the seller's order list), and whether the settings a new
//! offer needs are there.

use serde::Deserialize;
use sluice_guest::http::Request;
use sluice_guest::{CheckStatus, ConnectionCheck, InvocationContext};

use crate::api::{FULFILLMENT, Refusal};
use crate::config::{Account, ListingSettings, Site, describe_missing};
use crate::oauth;

#[derive(Deserialize)]
struct OrderCount {
    #[serde(default)]
    total: Option<u64>,
}

/// Checks the configuration being run.
pub fn test_connection(context: &InvocationContext) -> ConnectionCheck {
    let account = match Account::from_configuration(context) {
        Ok(account) => account,
        Err(problem) => {
            return ConnectionCheck::misconfigured(format!("{problem}; nothing was sent to eBay."));
        }
    };
    let site = match Site::from_configuration(context) {
        Ok(site) => site,
        Err(problem) => {
            return ConnectionCheck::misconfigured(format!("{problem}; nothing was sent to eBay."));
        }
    };
    let settings_step = format!(
        "{} ({}), marketplace {}, content language {}",
        account.environment.name(),
        account.environment.host(),
        site.marketplace_id,
        site.content_language
    );
    let issued = match oauth::exchange(&account) {
        Ok(issued) => issued,
        Err(failure) => {
            let status = if failure.is_unauthorized() {
                CheckStatus::Unauthorized
            } else if failure.is_retryable() {
                CheckStatus::Unreachable
            } else {
                CheckStatus::Misconfigured
            };
            let finding = match failure.remote().and_then(|remote| remote.code) {
                Some(code) => format!("refused: {code}"),
                None => "failed".to_owned(),
            };
            return ConnectionCheck::new(status, failure.explain(&account))
                .with_step("settings", settings_step)
                .with_step("token", finding);
        }
    };
    oauth::remember(&account, &issued);
    let token_step = format!(
        "refresh token accepted; access token valid for {} s",
        issued.expires_in
    );
    let url = account.url(&format!("{FULFILLMENT}/order?limit=1"));
    let read = Request::get(url)
        .header("accept", "application/json")
        .bearer_auth(&issued.access_token)
        .send();
    let response = match read {
        Ok(response) => response,
        Err(error) => {
            return ConnectionCheck::unreachable(format!(
                "eBay issued an access token, but the Fulfillment API could not be reached: {error}."
            ))
            .with_step("settings", settings_step)
            .with_step("token", token_step);
        }
    };
    if !response.is_success() {
        let refusal = Refusal::read(&response, context.now_ms);
        let status = match response.status {
            401 | 403 => CheckStatus::Unauthorized,
            _ => CheckStatus::Unreachable,
        };
        return ConnectionCheck::new(
            status,
            format!(
                "eBay issued an access token, but {}.",
                refusal.reason("list orders")
            ),
        )
        .with_step("settings", settings_step)
        .with_step("token", token_step)
        .with_step(
            "orders",
            format!("GET /order answered HTTP {}", response.status),
        );
    }
    let orders = response
        .json::<OrderCount>()
        .ok()
        .and_then(|count| count.total)
        .map_or_else(
            || "orders listed".to_owned(),
            |total| match total {
                1 => "1 order on the account".to_owned(),
                total => format!("{total} orders on the account"),
            },
        );
    let (listing_step, listing_note) = match ListingSettings::from_configuration(context) {
        Ok(listing) => (
            format!(
                "ready: location {}, category {}, fulfillment/payment/return policies {}/{}/{}",
                listing.merchant_location_key,
                listing.category_id,
                listing.fulfillment_policy_id,
                listing.payment_policy_id,
                listing.return_policy_id
            ),
            String::new(),
        ),
        Err(missing) => (
            format!(
                "not ready: {}; product.updated cannot create offers",
                describe_missing(&missing)
            ),
            format!(
                " Listing new products also needs {} ({}).",
                if missing.len() == 1 {
                    "a setting"
                } else {
                    "settings"
                },
                missing.join(", ")
            ),
        ),
    };
    ConnectionCheck::ok(format!(
        "eBay accepted the app's keys and the seller's refresh token, and the Fulfillment API answered ({orders}).{listing_note}"
    ))
    .with_step("settings", settings_step)
    .with_step("token", token_step)
    .with_step("orders", format!("GET /order answered HTTP 200: {orders}"))
    .with_step("listing", listing_step)
}
