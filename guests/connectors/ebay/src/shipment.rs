//! `order.fulfilled`: a shipping fulfillment for an eBay order.
//!
//! `POST /order/{orderId}/shipping_fulfillment` answers 201 with the new
//! fulfillment's URL in `Location` and no body; its last segment is the
//! delivery's external id. Orders of other marketplaces are acknowledged
//! without a call.
//!
//! A 409 says the line items are already fulfilled. When the order lists a
//! fulfillment with this tracking number (eBay names fulfillments after
//! their tracking number) the shipment is already recorded, most likely by
//! an attempt whose answer was lost, and the delivery is done; otherwise
//! another shipment claimed the items and the delivery fails.
//!
//! The carrier goes as eBay's carrier code ([`rules::carrier_code`]:
//! `Royal Mail` → `RoyalMail`, an unknown carrier `Other`) and the tracking
//! number without the spaces and punctuation eBay does not support; one
//! with other characters fails permanently.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_guest::encode::percent;
use sluice_guest::http::{Request, Response};
use sluice_guest::time::parse_rfc3339_ms;
use sluice_guest::{DeliveryOutcome, Event, InvocationContext, log};

use crate::api::{FULFILLMENT, Refusal, Session};
use crate::config::Account;
use crate::dates;
use crate::rules;

/// The marketplace value of eBay orders.
pub const MARKETPLACE: &str = "ebay";

#[derive(Debug, Deserialize)]
struct LineItem {
    line_item_id: String,
    quantity: u64,
}

/// The `order.fulfilled` payload.
#[derive(Debug, Deserialize)]
struct OrderFulfilled {
    marketplace: String,
    order_id: String,
    line_items: Vec<LineItem>,
    carrier: String,
    tracking_number: String,
    shipped_at: String,
}

/// Delivers an `order.fulfilled` event.
pub fn deliver(context: &InvocationContext, event: &Event) -> DeliveryOutcome {
    match run(context, event) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn run(context: &InvocationContext, event: &Event) -> Result<DeliveryOutcome, DeliveryOutcome> {
    let shipment: OrderFulfilled = serde_json::from_str(&event.payload).map_err(|error| {
        DeliveryOutcome::failed(format!(
            "the payload is not an order.fulfilled payload: {error}"
        ))
    })?;
    if !shipment.marketplace.eq_ignore_ascii_case(MARKETPLACE) {
        log::info(
            "the order is not an eBay order; nothing to do",
            &[("marketplace", &shipment.marketplace)],
        );
        return Ok(DeliveryOutcome::delivered(None));
    }
    let shipped_ms = parse_rfc3339_ms(&shipment.shipped_at).ok_or_else(|| {
        DeliveryOutcome::failed(format!(
            "shipped_at {:?} is not an RFC 3339 time",
            shipment.shipped_at
        ))
    })?;
    let tracking = rules::tracking_number(&shipment.tracking_number).map_err(|problem| {
        DeliveryOutcome::failed(format!(
            "cannot record the shipment of eBay order {}: {problem}",
            shipment.order_id
        ))
    })?;
    let carrier = rules::carrier_code(&shipment.carrier);
    if carrier == "Other" {
        log::warn(
            "eBay has no code for the carrier; it is sent as Other",
            &[("carrier", &shipment.carrier)],
        );
    }
    let account = Account::from_configuration(context).map_err(DeliveryOutcome::failed)?;
    let session = Session::new(&account, context.now_ms);
    let line_items = shipment
        .line_items
        .iter()
        .map(|item| {
            let quantity = rules::quantity("line_items[].quantity", item.quantity)?;
            Ok(json!({"lineItemId": item.line_item_id, "quantity": quantity}))
        })
        .collect::<Result<Vec<Value>, String>>()
        .map_err(|problem| {
            DeliveryOutcome::failed(format!(
                "cannot record the shipment of eBay order {}: {problem}",
                shipment.order_id
            ))
        })?;
    let body = json!({
        "lineItems": line_items,
        "shippedDate": dates::format_ebay(shipped_ms),
        "shippingCarrierCode": carrier,
        "trackingNumber": tracking,
    });
    let order_id = &shipment.order_id;
    let action = format!("create the shipping fulfillment for order {order_id}");
    let url = session.url(&format!(
        "{FULFILLMENT}/order/{}/shipping_fulfillment",
        percent(order_id)
    ));
    let response = session
        .send(Request::post(url).json(&body))
        .map_err(|error| error.outcome(&account, &action))?;
    match response.status {
        200..=299 => {
            let fulfillment_id = fulfillment_id(&response);
            match &fulfillment_id {
                Some(id) => log::info(
                    "shipping fulfillment created",
                    &[("order_id", order_id), ("fulfillment_id", id)],
                ),
                None => log::warn(
                    "eBay created the shipping fulfillment without a Location header",
                    &[("order_id", order_id)],
                ),
            }
            Ok(DeliveryOutcome::delivered(fulfillment_id))
        }
        409 => {
            let conflict = Refusal::read(&response, context.now_ms);
            already_recorded(&session, order_id, &tracking, context.now_ms)?
                .map(|id| DeliveryOutcome::delivered(Some(id)))
                .ok_or_else(|| {
                    DeliveryOutcome::failed(format!(
                        "eBay says the line items of order {order_id} are already fulfilled by another shipment: {}",
                        conflict.errors.summary().unwrap_or_else(|| "HTTP 409".into())
                    ))
                    .with_remote(conflict.remote())
                })
        }
        _ => Err(Refusal::read(&response, context.now_ms).outcome(&action)),
    }
}

/// The last path segment of `Location`.
fn fulfillment_id(response: &Response) -> Option<String> {
    let location = response.header("location")?;
    let path = location.split(['?', '#']).next().unwrap_or_default();
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[derive(Debug, Deserialize)]
struct OrdersPage {
    #[serde(default)]
    orders: Vec<OrderHrefs>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderHrefs {
    order_id: String,
    #[serde(default)]
    fulfillment_hrefs: Vec<String>,
}

/// The id of the order's fulfillment with `tracking`, if it has one.
fn already_recorded(
    session: &Session<'_>,
    order_id: &str,
    tracking: &str,
    now_ms: u64,
) -> Result<Option<String>, DeliveryOutcome> {
    let action = format!("read order {order_id}");
    let url = session.url(&format!(
        "{FULFILLMENT}/order?orderIds={}",
        percent(order_id)
    ));
    let response = session
        .send(Request::get(url))
        .map_err(|error| error.outcome(session.account(), &action))?;
    if !response.is_success() {
        return Err(Refusal::read(&response, now_ms).outcome(&action));
    }
    let page: OrdersPage = response.json().unwrap_or(OrdersPage { orders: Vec::new() });
    let suffix = format!("/shipping_fulfillment/{tracking}");
    let found = page
        .orders
        .iter()
        .filter(|order| order.order_id == order_id)
        .flat_map(|order| &order.fulfillment_hrefs)
        .any(|href| !tracking.is_empty() && href.ends_with(&suffix));
    if found {
        log::info(
            "eBay already has this shipment; nothing to do",
            &[("order_id", order_id), ("fulfillment_id", tracking)],
        );
    }
    Ok(found.then(|| tracking.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fulfillment_id_is_the_last_segment_of_location() {
        let response = Response {
            status: 201,
            headers: vec![(
                "location".into(),
                "https://api.ebay.com/sell/fulfillment/v1/order/12-03456-78901/shipping_fulfillment/1Z999".into(),
            )],
            body: Vec::new(),
        };
        assert_eq!(fulfillment_id(&response).as_deref(), Some("1Z999"));
    }
}
