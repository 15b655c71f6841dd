//! The connection check: one cheap read (the first order of the seller's
//! order list), for which the host obtains an access token with the app's
//! keys and the seller's refresh token (or uses the one it holds, obtained
//! with the same), and whether the settings a new offer needs are there.

use serde::Deserialize;
use sluice_guest::http::Request;
use sluice_guest::{CheckStatus, ConnectionCheck, InvocationContext};

use crate::api::{CallError, FULFILLMENT, Refusal, Session};
use crate::config::{Account, ListingSettings, Site, describe_missing};

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
    let url = account.url(&format!("{FULFILLMENT}/order?limit=1"));
    let response = match Session::new(&account, context.now_ms).send(Request::get(url)) {
        Ok(response) => response,
        Err(CallError::Token(failure)) => {
            return ConnectionCheck::new(failure.check_status(), failure.explain(&account))
                .with_step("settings", settings_step)
                .with_step("token", failure.finding());
        }
        Err(CallError::Http(error)) => {
            return ConnectionCheck::unreachable(format!(
                "the Fulfillment API could not be reached: {error}."
            ))
            .with_step("settings", settings_step);
        }
    };
    let token_step = "refresh token accepted; the host holds the access token";
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
