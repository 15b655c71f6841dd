//! Orders v0 `confirmShipment`: `order.fulfilled` for an Amazon order
//! becomes `POST /orders/v0/orders/{orderId}/shipmentConfirmation`, which
//! Amazon answers 204.
//!
//! The package reference Amazon asks for (a positive number, unique within
//! the order) is derived from the event id, so every attempt of one event
//! confirms the same package and two events of one order confirm two.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_guest::http::Method;
use sluice_guest::{DeliveryOutcome, Event, InvocationContext, encode, log, signature};

use crate::config::Config;
use crate::outcome::{self, Attempt};
use crate::sp_api::{AmazonError, Operation, SpApi};

/// The value of `order.fulfilled`'s `marketplace` for Amazon orders.
pub const MARKETPLACE: &str = "amazon";

/// The `order.fulfilled` payload.
#[derive(Debug, Deserialize)]
pub struct OrderFulfilled {
    marketplace: String,
    order_id: String,
    line_items: Vec<LineItem>,
    carrier: String,
    service: Option<String>,
    tracking_number: String,
    shipped_at: String,
}

/// A shipped line.
#[derive(Debug, Deserialize)]
struct LineItem {
    line_item_id: String,
    quantity: u64,
}

/// Amazon's carrier codes for the carriers stores name most, by their name
/// folded to lower-case letters and digits.
const CARRIER_CODES: &[(&str, &str)] = &[
    ("ups", "UPS"),
    ("usps", "USPS"),
    ("fedex", "FedEx"),
    ("dhl", "DHL"),
    ("dhlecommerce", "DHL eCommerce"),
    ("ontrac", "OnTrac"),
    ("amazonshipping", "Amazon Shipping"),
    ("canadapost", "Canada Post"),
    ("purolator", "Purolator"),
    ("royalmail", "Royal Mail"),
    ("parcelforce", "Parcelforce"),
    ("dpd", "DPD"),
    ("gls", "GLS"),
    ("hermes", "Hermes"),
    ("evri", "Evri"),
    ("deutschepost", "Deutsche Post"),
    ("laposte", "La Poste"),
    ("chronopost", "Chronopost"),
    ("colissimo", "Colissimo"),
    ("correos", "Correos"),
    ("posteitaliane", "Poste Italiane"),
    ("postnl", "PostNL"),
    ("japanpost", "Japan Post"),
    ("yamato", "Yamato Transport"),
    ("yamatotransport", "Yamato Transport"),
    ("sagawa", "Sagawa Express"),
    ("sagawaexpress", "Sagawa Express"),
    ("australiapost", "Australia Post"),
];

/// Amazon's `carrierCode` for `carrier`: its own code when Amazon knows the
/// carrier, else `Other` (with the name in `carrierName`).
pub fn carrier_code(carrier: &str) -> &'static str {
    let folded: String = carrier
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    CARRIER_CODES
        .iter()
        .find(|(name, _)| *name == folded)
        .map_or("Other", |(_, code)| code)
}

/// The package reference for event `event_id`: a positive number below a
/// billion, the same for every attempt of the event.
pub fn package_reference_id(event_id: &str) -> String {
    let digest = signature::hmac_sha256(b"sluice-amazon-package", &[event_id.as_bytes()]);
    let number = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (number % 999_999_999 + 1).to_string()
}

/// The `confirmShipment` body for `shipment` in `marketplace_id`.
pub fn confirmation_body(shipment: &OrderFulfilled, marketplace_id: &str, package: &str) -> Value {
    let mut package_detail = json!({
        "packageReferenceId": package,
        "carrierCode": carrier_code(&shipment.carrier),
        "carrierName": shipment.carrier,
        "trackingNumber": shipment.tracking_number,
        "shipDate": shipment.shipped_at,
        "orderItems": shipment
            .line_items
            .iter()
            .map(|item| json!({"orderItemId": item.line_item_id, "quantity": item.quantity}))
            .collect::<Vec<_>>(),
    });
    if let Some(service) = &shipment.service {
        package_detail["shippingMethod"] = json!(service);
    }
    json!({"marketplaceId": marketplace_id, "packageDetail": package_detail})
}

/// Reads an `order.fulfilled` payload.
pub fn parse(payload: &str) -> Result<OrderFulfilled, String> {
    serde_json::from_str(payload)
        .map_err(|error| format!("the order.fulfilled payload cannot be read: {error}"))
}

impl OrderFulfilled {
    /// Whether the order is an Amazon order; others are not this connector's.
    pub fn is_amazon(&self) -> bool {
        self.marketplace == MARKETPLACE
    }
}

/// Delivers an `order.fulfilled` event whose order is Amazon's.
pub fn deliver(
    context: &InvocationContext,
    config: &Config,
    event: &Event,
    shipment: &OrderFulfilled,
) -> DeliveryOutcome {
    let order_id = &shipment.order_id;
    let package = package_reference_id(&event.id);
    let body = confirmation_body(shipment, &config.marketplace_id, &package);
    let path = format!(
        "/orders/v0/orders/{}/shipmentConfirmation",
        encode::percent(order_id)
    );
    let subject = format!("the shipment of order {order_id}");
    let attempt = Attempt {
        operation: Operation::ConfirmShipment,
        subject: &subject,
        attempt: context.attempt,
        endpoint: &config.endpoint,
    };
    let api = SpApi::new(config);
    match api.send(Method::Post, &path, Some(&body)) {
        Ok(response) if response.is_success() => {
            log::info(
                "Amazon confirmed the shipment",
                &[
                    ("order_id", order_id),
                    ("package_reference_id", &package),
                    ("tracking_number", &shipment.tracking_number),
                ],
            );
            DeliveryOutcome::delivered(Some(format!("{order_id}/{package}")))
        }
        Ok(response) => {
            let error = AmazonError::from_response(&response);
            outcome::log_refusal(&error, Operation::ConfirmShipment);
            outcome::api_failure(&error, &attempt, response.retry_after(context.now_ms))
        }
        Err(error) => outcome::call_failure(&error, &attempt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriers_map_to_amazons_codes_or_other() {
        assert_eq!(carrier_code("UPS"), "UPS");
        assert_eq!(carrier_code("fedex"), "FedEx");
        assert_eq!(carrier_code("Fed-Ex"), "FedEx");
        assert_eq!(carrier_code("Royal Mail"), "Royal Mail");
        assert_eq!(carrier_code("Bob's Couriers"), "Other");
    }

    #[test]
    fn package_references_are_positive_numbers_stable_per_event() {
        let first = package_reference_id("evt_1");
        assert_eq!(first, package_reference_id("evt_1"));
        assert_ne!(first, package_reference_id("evt_2"));
        let number: u64 = first.parse().unwrap();
        assert!((1..1_000_000_000).contains(&number));
    }

    #[test]
    fn the_body_carries_the_package_and_its_items() {
        let shipment = parse(
            r#"{"marketplace":"amazon","order_id":"902-3159896-1390916",
                "line_items":[{"line_item_id":"79039765272157","sku":"S","quantity":1}],
                "carrier":"UPS","service":"UPS Ground","tracking_number":"1Z999",
                "shipped_at":"2026-11-22T09:00:00Z"}"#,
        )
        .unwrap();
        assert!(shipment.is_amazon());
        assert_eq!(
            confirmation_body(&shipment, "ATVPDKIKX0DER", "7"),
            json!({"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
                "packageReferenceId": "7",
                "carrierCode": "UPS",
                "carrierName": "UPS",
                "shippingMethod": "UPS Ground",
                "trackingNumber": "1Z999",
                "shipDate": "2026-11-22T09:00:00Z",
                "orderItems": [{"orderItemId": "79039765272157", "quantity": 1}],
            }})
        );
    }
}
