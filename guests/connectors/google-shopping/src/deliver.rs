//! Delivering `product.updated` (insert the whole product input) and
//! `inventory.updated` (patch its availability).

use serde::Deserialize;
use sluice_guest::http::{Request, Response};
use sluice_guest::{DeliveryOutcome, Event, InvocationContext, log};

use crate::config::{self, DATA_SOURCE, MERCHANT_ID, Merchant};
use crate::merchant_api::{self, GoogleError, MERCHANT_API};
use crate::product_input::{self, AVAILABILITY_MASK};

/// Delivers `event` for the configuration of `context`.
pub fn deliver(context: &InvocationContext, event: &Event) -> DeliveryOutcome {
    let merchant = match Merchant::from_context(context) {
        Ok(merchant) => merchant,
        Err(problem) => return DeliveryOutcome::failed(problem),
    };
    match event.event_type.as_str() {
        "product.updated" => match product_input::ProductUpdated::parse(&event.payload) {
            Ok(product) => insert(context, &merchant, &product),
            Err(problem) => DeliveryOutcome::failed(problem),
        },
        "inventory.updated" => match product_input::InventoryUpdated::parse(&event.payload) {
            Ok(inventory) => update_availability(context, &merchant, &inventory),
            Err(problem) => DeliveryOutcome::failed(problem),
        },
        other => DeliveryOutcome::failed(format!(
            "the Google Shopping connector does not handle {other} events; it handles \
             product.updated and inventory.updated"
        )),
    }
}

/// `productInputs.insert` of the whole product.
fn insert(
    context: &InvocationContext,
    merchant: &Merchant,
    product: &product_input::ProductUpdated,
) -> DeliveryOutcome {
    let input = match product_input::to_input(product, merchant) {
        Ok(input) => input,
        Err(problem) => {
            return DeliveryOutcome::failed(format!(
                "product {} cannot be sent to Google: {problem}",
                product.sku
            ));
        }
    };
    if let Err(problem) = config::require_key() {
        return DeliveryOutcome::failed(problem);
    }
    let url = format!(
        "{MERCHANT_API}/products/v1/accounts/{}/productInputs:insert?dataSource={}",
        merchant.account,
        merchant.data_source_name()
    );
    let what = format!("insert product {}", product.sku);
    match merchant_api::call(Request::post(&url).json(&input), context.now_ms) {
        Ok(response) => delivered(&response, &what),
        Err(error) => error.outcome(&what, |error| hint(error, merchant)),
    }
}

/// `productInputs.patch` of the availability only.
fn update_availability(
    context: &InvocationContext,
    merchant: &Merchant,
    inventory: &product_input::InventoryUpdated,
) -> DeliveryOutcome {
    if let Err(problem) = config::require_key() {
        return DeliveryOutcome::failed(problem);
    }
    let id = merchant.product_input_id(&product_input::offer_id(&inventory.sku));
    let url = format!(
        "{MERCHANT_API}/products/v1/accounts/{}/productInputs/{id}?dataSource={}&updateMask={AVAILABILITY_MASK}",
        merchant.account,
        merchant.data_source_name()
    );
    let body = product_input::availability_patch(inventory.quantity);
    let what = format!("update the availability of product {}", inventory.sku);
    match merchant_api::call(Request::patch(&url).json(&body), context.now_ms) {
        Ok(response) => delivered(&response, &what),
        Err(error) => error.outcome(&what, |error| {
            if error.status.as_deref() == Some("NOT_FOUND") {
                Some(format!(
                    "the product is not in data source {}; a product.updated event for SKU {} \
                     creates it",
                    merchant.data_source_name(),
                    inventory.sku
                ))
            } else {
                hint(error, merchant)
            }
        }),
    }
}

/// What the store admin can do about a refusal, when it is clear.
fn hint(error: &GoogleError, merchant: &Merchant) -> Option<String> {
    match error.status.as_deref() {
        // The component never reads the key, so it cannot name the account.
        Some("PERMISSION_DENIED") => Some(format!(
            "add the service account (client_email in its JSON key) as a user of Merchant \
             Center account {} or correct setting `{MERCHANT_ID}`",
            merchant.account
        )),
        Some("INVALID_ARGUMENT") if error.message.starts_with("dataSource") => Some(format!(
            "correct setting `{DATA_SOURCE}`: it must name an API data source of account {}",
            merchant.account
        )),
        _ => None,
    }
}

/// The product input Google answered with; its `name` is the external id.
fn delivered(response: &Response, what: &str) -> DeliveryOutcome {
    #[derive(Deserialize)]
    struct Written {
        name: Option<String>,
    }
    let name = response
        .json::<Written>()
        .ok()
        .and_then(|written| written.name);
    log::info(
        "Google accepted the product input",
        &[("call", what), ("name", name.as_deref().unwrap_or(""))],
    );
    DeliveryOutcome::delivered(name)
}
