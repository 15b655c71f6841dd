//! The connection check: one token exchange with Login with Amazon, then one
//! cheap read, `getListingsItem` of a SKU nobody lists, in the configured
//! seller's name and marketplace.
//!
//! Amazon's answers to the read tell the settings apart: 404 `NOT_FOUND`
//! (or 200) means the seller and marketplace are right; 403 means the
//! access token does not act for `seller_id`; 400 names a marketplace the
//! seller does not sell in or the endpoint does not serve.

use sluice_guest::http::{HttpError, Method};
use sluice_guest::{CheckStatus, ConnectionCheck, InvocationContext};

use crate::config::Config;
use crate::listings;
use crate::lwa::{self, TokenError};
use crate::sp_api::{AmazonError, CallError, SpApi};

/// The SKU the check asks for; that nobody lists it is the point.
pub const PROBE_SKU: &str = "sluice-connection-check";

/// Checks the configuration being run.
pub fn test_connection(context: &InvocationContext) -> ConnectionCheck {
    let config = match Config::from_context(context) {
        Ok(config) => config,
        Err(problem) => {
            return ConnectionCheck::misconfigured(format!(
                "The configuration is incomplete: {problem}."
            ));
        }
    };
    let token = match lwa::refreshed_token(&config) {
        Ok(token) => token,
        Err(error) => return token_verdict(&error),
    };
    let mut api = SpApi::with_token(&config, token);
    let path = listings::item_path(&config, PROBE_SKU, "summaries");
    let check = match api.send(Method::Get, &path, None) {
        Ok(response) if response.is_success() || response.status == 404 => {
            ConnectionCheck::ok(format!(
                "Amazon accepted the credentials: seller {} can use the Listings Items API in \
                 marketplace {} through {}.",
                config.seller_id, config.marketplace_id, config.endpoint
            ))
            .with_step("seller", format!("{} accepted", config.seller_id))
            .with_step("marketplace", format!("{} accepted", config.marketplace_id))
        }
        Ok(response) => read_verdict(&config, &AmazonError::from_response(&response)),
        Err(CallError::Token(error)) => return token_verdict(&error),
        Err(CallError::Http(error)) => transport_verdict(&config, &error),
    };
    ConnectionCheck {
        steps: [(
            "token".to_owned(),
            "Login with Amazon exchanged the refresh token for an access token".to_owned(),
        )]
        .into_iter()
        .chain(check.steps)
        .collect(),
        ..check
    }
}

/// The verdict when no access token could be had.
fn token_verdict(error: &TokenError) -> ConnectionCheck {
    let explained = error.explain();
    let status = match error {
        _ if error.is_refused_credentials() => CheckStatus::Unauthorized,
        TokenError::Http(error) if error.is_refused() => CheckStatus::Misconfigured,
        TokenError::Lwa {
            code: Some(code), ..
        } if code == "invalid_request" => CheckStatus::Misconfigured,
        _ => CheckStatus::Unreachable,
    };
    let message = match error {
        TokenError::Lwa {
            code: Some(code), ..
        } if code == "invalid_client" => {
            format!("The LWA client id or client secret is wrong: {explained}.")
        }
        TokenError::Lwa {
            code: Some(code), ..
        } if code == "invalid_grant" => {
            format!("The refresh token was revoked or belongs to another app: {explained}.")
        }
        _ => format!("No access token could be had: {explained}."),
    };
    ConnectionCheck::new(status, message).with_step("token", explained)
}

/// The verdict when Amazon refused the read.
fn read_verdict(config: &Config, error: &AmazonError) -> ConnectionCheck {
    let summary = error.summary();
    match error.status {
        403 => ConnectionCheck::unauthorized(format!(
            "Amazon denied access to seller {}'s listings ({summary}); set `seller_id` to the \
             merchant token of the seller who authorized the app.",
            config.seller_id
        ))
        .with_step("seller", format!("{} refused: {summary}", config.seller_id)),
        400 => ConnectionCheck::unreachable(format!(
            "Amazon refused marketplace {} for seller {} ({summary}); set `marketplace_id` to a \
             marketplace the seller sells in, served by {}.",
            config.marketplace_id, config.seller_id, config.endpoint
        ))
        .with_step(
            "marketplace",
            format!("{} refused: {summary}", config.marketplace_id),
        ),
        status => ConnectionCheck::unreachable(format!(
            "Amazon answered the test read with HTTP {status} ({summary}); try again later."
        ))
        .with_step("seller", format!("getListingsItem answered HTTP {status}")),
    }
}

/// The verdict when the read brought no answer.
fn transport_verdict(config: &Config, error: &HttpError) -> ConnectionCheck {
    if error.is_refused() {
        ConnectionCheck::misconfigured(format!(
            "Sluice refused to send the request to {}: {error}; set `endpoint` to one of \
             Amazon's Selling Partner API endpoints.",
            config.endpoint
        ))
        .with_step("endpoint", format!("{} refused by Sluice", config.endpoint))
    } else {
        ConnectionCheck::unreachable(format!("Could not reach {}: {error}.", config.endpoint))
            .with_step("endpoint", format!("{} unreachable", config.endpoint))
    }
}
