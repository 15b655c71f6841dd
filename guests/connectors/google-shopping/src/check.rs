//! The connection check: one read of the data source, which needs an
//! access token (the host obtains it with the service account's key), access
//! to the merchant account and the data source, without writing anything.

use serde::Deserialize;
use sluice_guest::http::Request;
use sluice_guest::{ConnectionCheck, InvocationContext};

use crate::config::{self, DATA_SOURCE, MERCHANT_ID, Merchant};
use crate::merchant_api::{self, CallError, ErrorClass, GoogleError, MERCHANT_API};
use crate::token;

/// The `DataSource` resource; only what the check reports.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataSource {
    name: Option<String>,
    display_name: Option<String>,
    input: Option<String>,
}

/// What the `token` step found when Google answered the read.
const TOKEN_STEP: &str = "the host signed in as the service account";

/// Checks the configuration of `context`.
pub fn test_connection(context: &InvocationContext) -> ConnectionCheck {
    let merchant = match Merchant::from_context(context) {
        Ok(merchant) => merchant,
        Err(problem) => return ConnectionCheck::misconfigured(format!("{problem}.")),
    };
    if let Err(problem) = config::require_key() {
        return ConnectionCheck::misconfigured(format!("{problem}."));
    }
    let name = merchant.data_source_name();
    let url = format!(
        "{MERCHANT_API}/datasources/v1/accounts/{}/dataSources/{}",
        merchant.account, merchant.data_source_id
    );
    // The host's cached token if it has one: a key Google stopped accepting
    // shows when the host next renews it (within the hour).
    match merchant_api::call(Request::get(&url), context.now_ms) {
        Ok(response) => {
            let source = response.json::<DataSource>().ok();
            let display = source
                .as_ref()
                .and_then(|s| s.display_name.clone())
                .unwrap_or_else(|| name.clone());
            let input = source
                .as_ref()
                .and_then(|s| s.input.clone())
                .unwrap_or_else(|| "unknown".into());
            let full_name = source.and_then(|s| s.name).unwrap_or_else(|| name.clone());
            ConnectionCheck::ok(format!(
                "Google accepted the service account key; products go to data source \
                 \"{display}\" ({full_name}) of Merchant Center account {}.",
                merchant.account
            ))
            .with_step("token", TOKEN_STEP)
            .with_step(
                "data_source",
                format!("{full_name}: \"{display}\", input {input}"),
            )
        }
        Err(CallError::Auth(failure)) => token::check(&failure),
        Err(CallError::Http(error)) => {
            ConnectionCheck::unreachable(format!("Could not reach the Merchant API: {error}."))
                .with_step("data_source", format!("request failed: {error}"))
        }
        Err(CallError::Google(error)) => verdict(&error, &merchant)
            .with_step("token", TOKEN_STEP)
            .with_step("data_source", error.summary()),
    }
}

/// The verdict on a refused data source read.
fn verdict(error: &GoogleError, merchant: &Merchant) -> ConnectionCheck {
    let account = &merchant.account;
    let summary = error.summary();
    match (error.class(), error.status.as_deref()) {
        (_, Some("PERMISSION_DENIED")) => ConnectionCheck::unauthorized(format!(
            "The service account has no access to Merchant Center account {account} \
             ({summary}); check setting `{MERCHANT_ID}` and add the service account \
             (client_email in its JSON key) as a user of the account in Merchant Center."
        )),
        (_, Some("NOT_FOUND")) => ConnectionCheck::unreachable(format!(
            "Merchant Center account {account} has no data source {}; create an API data \
             source or correct setting `{DATA_SOURCE}` ({summary}).",
            merchant.data_source_id
        )),
        (ErrorClass::Unauthenticated, _) => ConnectionCheck::unauthorized(format!(
            "Google refused the service account's access token ({summary}); check that the \
             service account and its key are enabled."
        )),
        (ErrorClass::Retry, _) => ConnectionCheck::unreachable(format!(
            "The Merchant API is unavailable or over quota ({summary}); try again later."
        )),
        (ErrorClass::Permanent, _) => ConnectionCheck::unreachable(format!(
            "The Merchant API refused to read data source {} of account {account} ({summary}).",
            merchant.data_source_id
        )),
    }
}
