//! `createShippingFulfillment`'s body, checked against the order as eBay
//! checks it.
//!
//! - `lineItems` must name at least one `lineItemId` (32600 otherwise),
//!   each one of the order's (32200) and once only (32210);
//! - the body conforms to eBay's contract
//!   (`tests/schemas/ebay/sell_fulfillment_v1.json`):
//!   `shippingCarrierCode` and `trackingNumber` come together or not at
//!   all, the tracking number is letters and digits only, the carrier one
//!   of eBay's `ShippingCarrierCodeType` codes (32300 otherwise), line item
//!   quantities are `int32` (32600);
//! - `shippedDate` is ISO 8601 (32500) and defaults to now;
//! - a line item already fulfilled is 409 Conflict (eBay documents the
//!   status but no errorId; the fake uses 32600 and names the line item).
//!
//! The fulfillment id is the tracking number, as eBay makes it, or a serial
//! number when there is none.

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::DateTime;
use http::StatusCode;
use sluice_core::UnixMillis;

use super::SellApi;
use super::api_error::{EbayError, ErrorDetail};
use super::json_fields::{Fields, body_object};
use super::order::{EbayOrder, FulfilledLineItem, ShippingFulfillment};
use crate::fakes::spec::{EBAY_FULFILLMENT, Operation, describe};

static DETAILS_SPEC: LazyLock<Operation> =
    LazyLock::new(|| Operation::new(&EBAY_FULFILLMENT, "ShippingFulfillmentDetails"));

fn error(error_id: u32, message: &str) -> ErrorDetail {
    ErrorDetail::request(SellApi::Fulfillment, error_id, message)
}

fn invalid_input(why: impl Into<String>) -> EbayError {
    EbayError::bad_request(error(32600, "Invalid input data").long_message(why))
}

/// A type error anywhere in the body is eBay's `Invalid input data`.
fn as_invalid_input(error: EbayError) -> EbayError {
    let reason = error.errors[0]
        .parameters
        .first()
        .map(|(_, reason)| reason.clone())
        .unwrap_or_default();
    invalid_input(reason)
}

/// The fulfillment a `createShippingFulfillment` body makes of `order` at
/// `now`; `serial` numbers a fulfillment without tracking.
pub(super) fn parse(
    body: &[u8],
    order: &EbayOrder,
    now: UnixMillis,
    serial: u64,
) -> Result<ShippingFulfillment, EbayError> {
    let body = body_object(body).map_err(as_invalid_input)?;
    if let Err(violations) = DETAILS_SPEC.check(&serde_json::Value::Object(body.clone())) {
        let tracking = violations.iter().any(|violation| {
            violation.pointer.contains("trackingNumber")
                || violation.pointer.contains("shippingCarrierCode")
                || violation.message.contains("trackingNumber")
                || violation.message.contains("shippingCarrierCode")
        });
        return Err(if tracking {
            EbayError::bad_request(
                error(32300, "Invalid shipment tracking number or carrier")
                    .long_message(describe(&violations)),
            )
        } else {
            invalid_input(describe(&violations))
        });
    }
    let fields = Fields::new(&body, "");
    let line_items = fields.objects("lineItems").map_err(as_invalid_input)?;
    if line_items.is_empty() {
        return Err(invalid_input("lineItems must name at least one line item."));
    }
    let mut seen = HashSet::new();
    let mut fulfilled = Vec::new();
    for line_item in &line_items {
        let id = line_item
            .string("lineItemId")
            .map_err(as_invalid_input)?
            .ok_or_else(|| {
                invalid_input(format!("{} is required.", line_item.path("lineItemId")))
            })?;
        let quantity = line_item
            .integer("quantity")
            .map_err(as_invalid_input)?
            .map(|quantity| {
                u32::try_from(quantity)
                    .ok()
                    .filter(|quantity| *quantity > 0)
                    .ok_or_else(|| {
                        invalid_input(format!("{} must be positive.", line_item.path("quantity")))
                    })
            })
            .transpose()?;
        let item = order
            .line_items
            .iter()
            .find(|item| item.line_item_id == id)
            .ok_or_else(|| {
                EbayError::bad_request(
                    error(32200, "Invalid line item id").parameter("lineItemId", id),
                )
            })?;
        if !seen.insert(id) {
            return Err(EbayError::bad_request(
                error(32210, "Duplicate line item id").parameter("lineItemId", id),
            ));
        }
        if item.fulfilled {
            return Err(EbayError::new(
                StatusCode::CONFLICT,
                error(32600, "Invalid input data")
                    .long_message(format!("Line item {id} is already fulfilled."))
                    .parameter("lineItemId", id),
            ));
        }
        fulfilled.push(FulfilledLineItem {
            line_item_id: id.to_owned(),
            quantity,
        });
    }
    let carrier = fields
        .string("shippingCarrierCode")
        .map_err(as_invalid_input)?;
    let tracking = fields.string("trackingNumber").map_err(as_invalid_input)?;
    let shipped_date = match fields.string("shippedDate").map_err(as_invalid_input)? {
        None => now,
        Some(date) => DateTime::parse_from_rfc3339(date)
            .map_err(|_| EbayError::bad_request(error(32500, "Invalid shipped date")))?
            .timestamp_millis(),
    };
    Ok(ShippingFulfillment {
        fulfillment_id: tracking.map_or_else(|| serial.to_string(), str::to_owned),
        order_id: order.order_id.clone(),
        line_items: fulfilled,
        shipped_date,
        shipping_carrier_code: carrier.map(str::to_owned),
        tracking_number: tracking.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::ebay::order::EbayOrderSeed;
    use serde_json::{Value, json};

    const NOW: UnixMillis = 1_780_000_000_000;

    fn order() -> EbayOrder {
        EbayOrderSeed::new(NOW - 1000)
            .line_item("MUG-1", 2, "19.99")
            .line_item("CUP-1", 1, "5")
            .into_order()
    }

    fn body(order: &EbayOrder) -> Value {
        json!({
            "lineItems": [{"lineItemId": order.line_items[0].line_item_id, "quantity": 2}],
            "shippedDate": "2026-05-01T12:00:00.000Z",
            "shippingCarrierCode": "USPS",
            "trackingNumber": "9400111899223100012345",
        })
    }

    fn run(order: &EbayOrder, body: Value) -> Result<ShippingFulfillment, EbayError> {
        parse(body.to_string().as_bytes(), order, NOW, 1)
    }

    fn error_id(order: &EbayOrder, body: Value) -> (StatusCode, u32) {
        let error = run(order, body).unwrap_err();
        (error.status, error.errors[0].error_id)
    }

    #[test]
    fn the_fulfillment_id_is_the_tracking_number() {
        let order = order();
        let fulfillment = run(&order, body(&order)).unwrap();
        assert_eq!(fulfillment.fulfillment_id, "9400111899223100012345");
        assert_eq!(fulfillment.shipped_date, 1_777_636_800_000);
        assert_eq!(fulfillment.line_items[0].quantity, Some(2));
    }

    #[test]
    fn without_tracking_the_id_is_a_serial_and_the_date_now() {
        let order = order();
        let untracked = json!({"lineItems": [{"lineItemId": order.line_items[1].line_item_id}]});
        let fulfillment = run(&order, untracked).unwrap();
        assert_eq!(
            (
                fulfillment.fulfillment_id.as_str(),
                fulfillment.shipped_date
            ),
            ("1", NOW)
        );
    }

    #[test]
    fn line_items_are_the_orders_once_each() {
        let order = order();
        let mut unknown = body(&order);
        unknown["lineItems"][0]["lineItemId"] = json!("10000000000000");
        assert_eq!(error_id(&order, unknown), (StatusCode::BAD_REQUEST, 32200));
        let mut twice = body(&order);
        let item = twice["lineItems"][0].clone();
        twice["lineItems"] = json!([item.clone(), item]);
        assert_eq!(error_id(&order, twice), (StatusCode::BAD_REQUEST, 32210));
        assert_eq!(
            error_id(&order, json!({"lineItems": []})),
            (StatusCode::BAD_REQUEST, 32600)
        );
    }

    #[test]
    fn carrier_tracking_and_date_are_checked() {
        let order = order();
        let with = |name: &str, value: Value| {
            let mut body = body(&order);
            body[name] = value;
            error_id(&order, body)
        };
        assert_eq!(
            with("trackingNumber", json!("9400-1118")),
            (StatusCode::BAD_REQUEST, 32300)
        );
        assert_eq!(
            with("shippingCarrierCode", json!("Pigeon")),
            (StatusCode::BAD_REQUEST, 32300)
        );
        assert_eq!(
            with("shippingCarrierCode", Value::Null),
            (StatusCode::BAD_REQUEST, 32300)
        );
        assert_eq!(
            with("shippedDate", json!("05/01/2026")),
            (StatusCode::BAD_REQUEST, 32500)
        );
        assert_eq!(
            with("shippingCarrierCode", json!("Royal Mail")),
            (StatusCode::BAD_REQUEST, 32300)
        );
        assert!(
            run(&order, {
                let mut body = body(&order);
                body["shippingCarrierCode"] = json!("RoyalMail");
                body
            })
            .is_ok()
        );
    }

    #[test]
    fn a_fulfilled_line_item_is_a_conflict() {
        let mut order = order();
        let first = run(&order, body(&order)).unwrap();
        order.record_fulfillment(first, NOW);
        assert_eq!(
            error_id(&order, body(&order)),
            (StatusCode::CONFLICT, 32600)
        );
    }
}
