//! The connection check: one cheap read, `getListingsItem` of a SKU nobody
//! lists, in the configured seller's name and marketplace, with the access
//! token the host gets from Login with Amazon for the configuration's
//! credentials.
//!
//! The host's answer when it gets no token tells the credentials apart
//! (`invalid_client`: the app's id or secret; `invalid_grant`: the refresh
//! token). Amazon's answers to the read tell the settings apart: 404
//! `NOT_FOUND` (or 200) means the seller and marketplace are right; 403
//! means the access token does not act for `seller_id`; 400 names a
//! marketplace the seller does not sell in or the endpoint does not serve.

use sluice_guest::auth::{HostAuthFailure, HostAuthReason};
use sluice_guest::http::{HttpError, Method};
use sluice_guest::{CheckStatus, ConnectionCheck, InvocationContext};

use crate::config::Config;
use crate::listings;
use crate::lwa;
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
    let api = SpApi::new(&config);
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
        Err(CallError::Auth(failure)) => return token_verdict(&failure),
        Err(CallError::Http(error)) => transport_verdict(&config, &error),
    };
    ConnectionCheck {
        steps: [(
            "token".to_owned(),
            "Login with Amazon granted an access token for the refresh token".to_owned(),
        )]
        .into_iter()
        .chain(check.steps)
        .collect(),
        ..check
    }
}

/// The verdict when the host could get no access token.
fn token_verdict(failure: &HostAuthFailure) -> ConnectionCheck {
    let explained = lwa::explain(failure);
    let status = match failure.reason {
        _ if lwa::is_refused_credentials(failure) => CheckStatus::Unauthorized,
        HostAuthReason::CredentialUnreadable => CheckStatus::Misconfigured,
        _ if failure.token_error() == Some("invalid_request") => CheckStatus::Misconfigured,
        _ => CheckStatus::Unreachable,
    };
    let message = match failure.token_error() {
        Some("invalid_client" | "unauthorized") => {
            format!("The LWA client id or client secret is wrong: {explained}.")
        }
        Some("invalid_grant") => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lwa::tests::{refused, unavailable, unreadable};

    #[test]
    fn refused_credentials_are_unauthorized_and_named() {
        let check = token_verdict(&refused(401, "invalid_client"));
        assert_eq!(check.status, CheckStatus::Unauthorized);
        assert!(
            check
                .message
                .starts_with("The LWA client id or client secret is wrong: "),
            "{}",
            check.message
        );
        let check = token_verdict(&refused(400, "invalid_grant"));
        assert_eq!(check.status, CheckStatus::Unauthorized);
        assert!(
            check.message.contains("authorize the app again"),
            "{}",
            check.message
        );
        assert_eq!(check.steps[0].0, "token");
    }

    #[test]
    fn an_unset_client_id_is_misconfigured_and_lwa_trouble_unreachable() {
        assert_eq!(
            token_verdict(&unreadable()).status,
            CheckStatus::Misconfigured
        );
        assert_eq!(
            token_verdict(&refused(400, "invalid_request")).status,
            CheckStatus::Misconfigured
        );
        assert_eq!(
            token_verdict(&unavailable()).status,
            CheckStatus::Unreachable
        );
    }
}
