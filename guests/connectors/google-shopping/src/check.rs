//! The connection check: one token exchange and one read of the data
//! source, which needs access to the merchant account and finds the data
//! source, without writing anything.

use serde::Deserialize;
use sluice_guest::http::Request;
use sluice_guest::{ConnectionCheck, InvocationContext};

use crate::config::{DATA_SOURCE, MERCHANT_ID, Merchant, ServiceAccountKey};
use crate::merchant_api::{self, CallError, ErrorClass, GoogleError, MERCHANT_API};
use crate::token::Tokens;

/// The `DataSource` resource; only what the check reports.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataSource {
    name: Option<String>,
    display_name: Option<String>,
    input: Option<String>,
}

/// Checks the configuration of `context`.
pub fn test_connection(context: &InvocationContext) -> ConnectionCheck {
    let merchant = match Merchant::from_context(context) {
        Ok(merchant) => merchant,
        Err(problem) => return ConnectionCheck::misconfigured(format!("{problem}.")),
    };
    let key = match ServiceAccountKey::load() {
        Ok(key) => key,
        Err(problem) => return ConnectionCheck::misconfigured(format!("{problem}.")),
    };
    let email = key.client_email.as_str();
    let tokens = Tokens::new(&key, context.now_ms);
    // A fresh exchange, so that a key Google no longer accepts shows now
    // rather than when the cached token expires.
    if let Err(error) = tokens.fresh() {
        return error.check(email);
    }
    let token_step = format!("Google issued an access token to {email}");
    let name = merchant.data_source_name();
    let url = format!(
        "{MERCHANT_API}/datasources/v1/accounts/{}/dataSources/{}",
        merchant.account, merchant.data_source_id
    );
    let result = merchant_api::call(&tokens, context.now_ms, |token| {
        Request::get(&url).bearer_auth(token)
    });
    match result {
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
                "Google accepted service account {email}; products go to data source \
                 \"{display}\" ({full_name}) of Merchant Center account {}.",
                merchant.account
            ))
            .with_step("token", token_step)
            .with_step(
                "data_source",
                format!("{full_name}: \"{display}\", input {input}"),
            )
        }
        Err(CallError::Token(error)) => error.check(email),
        Err(CallError::Http(error)) => {
            ConnectionCheck::unreachable(format!("Could not reach the Merchant API: {error}."))
                .with_step("token", token_step)
                .with_step("data_source", format!("request failed: {error}"))
        }
        Err(CallError::Google(error)) => verdict(&error, &merchant, email)
            .with_step("token", token_step)
            .with_step("data_source", error.summary()),
    }
}

/// The verdict on a refused data source read.
fn verdict(error: &GoogleError, merchant: &Merchant, email: &str) -> ConnectionCheck {
    let account = &merchant.account;
    let summary = error.summary();
    match (error.class(), error.status.as_deref()) {
        (_, Some("PERMISSION_DENIED")) => ConnectionCheck::unauthorized(format!(
            "Service account {email} has no access to Merchant Center account {account} \
             ({summary}); check setting `{MERCHANT_ID}` and add the service account as a user \
             of the account in Merchant Center."
        )),
        (_, Some("NOT_FOUND")) => ConnectionCheck::unreachable(format!(
            "Merchant Center account {account} has no data source {}; create an API data \
             source or correct setting `{DATA_SOURCE}` ({summary}).",
            merchant.data_source_id
        )),
        (ErrorClass::Unauthenticated, _) => ConnectionCheck::unauthorized(format!(
            "Google refused the access token it issued to {email} ({summary})."
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
