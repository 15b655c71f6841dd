//! `confirmShipment`'s body and what Amazon checks before accepting it.
//!
//! The schema (400 `InvalidInput` when broken): `marketplaceId` and
//! `packageDetail` with `packageReferenceId` (a positive number, as a
//! string), `carrierCode`, `trackingNumber`, `shipDate` (ISO 8601) and
//! `orderItems` (at least one `{orderItemId, quantity}`); `carrierName` when
//! the carrier code is `Other`.
//!
//! Against the order (also 400): the marketplace must be the order's, the
//! order must be `Unshipped` or `PartiallyShipped`, the package reference
//! unused on the order, every item the order's, listed once, and shipped no
//! more than it has left to ship.

use std::collections::HashSet;

use chrono::DateTime;
use serde_json::{Map, Value};
use sluice_core::UnixMillis;

use super::order::{ConfirmedItem, Order, ShipmentConfirmation};

/// Why a confirmation is refused, in words naming the field.
pub(super) type Refusal = String;

/// A parsed `confirmShipment` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ShipmentRequest {
    marketplace_id: String,
    package_reference_id: String,
    carrier_code: String,
    carrier_name: Option<String>,
    shipping_method: Option<String>,
    tracking_number: String,
    ship_date: UnixMillis,
    items: Vec<ConfirmedItem>,
}

fn string_field(
    object: &Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<String>, Refusal> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
        Some(_) => Err(format!("{path}{name} must be a non-empty string.")),
    }
}

fn required(object: &Map<String, Value>, path: &str, name: &str) -> Result<String, Refusal> {
    string_field(object, path, name)?.ok_or_else(|| format!("{path}{name} is required."))
}

fn confirmed_item(index: usize, item: &Value) -> Result<ConfirmedItem, Refusal> {
    let path = format!("packageDetail.orderItems[{index}].");
    let item = item
        .as_object()
        .ok_or_else(|| format!("{path} must be an object."))?;
    let quantity = item
        .get("quantity")
        .and_then(Value::as_u64)
        .and_then(|quantity| u32::try_from(quantity).ok())
        .filter(|quantity| *quantity > 0)
        .ok_or_else(|| format!("{path}quantity must be a positive integer."))?;
    Ok(ConfirmedItem {
        order_item_id: required(item, &path, "orderItemId")?,
        quantity,
    })
}

impl ShipmentRequest {
    pub(super) fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            return Err("The body must be a JSON object.".into());
        };
        let marketplace_id = required(&body, "", "marketplaceId")?;
        let package = body
            .get("packageDetail")
            .and_then(Value::as_object)
            .ok_or("packageDetail is required.")?;
        let path = "packageDetail.";
        let package_reference_id = required(package, path, "packageReferenceId")?;
        let is_positive_number = package_reference_id
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            && package_reference_id.bytes().any(|byte| byte != b'0');
        if !is_positive_number {
            return Err(format!(
                "packageDetail.packageReferenceId must be a positive number, got {package_reference_id:?}."
            ));
        }
        let carrier_code = required(package, path, "carrierCode")?;
        let carrier_name = string_field(package, path, "carrierName")?;
        if carrier_code == "Other" && carrier_name.is_none() {
            return Err("packageDetail.carrierName is required when carrierCode is Other.".into());
        }
        let ship_date = required(package, path, "shipDate")?;
        let ship_date = DateTime::parse_from_rfc3339(&ship_date)
            .map_err(|_| {
                format!("packageDetail.shipDate {ship_date:?} is not an ISO 8601 date-time.")
            })?
            .timestamp_millis();
        let items = match package.get("orderItems") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(index, item)| confirmed_item(index, item))
                .collect::<Result<_, _>>()?,
            _ => return Err("packageDetail.orderItems must list at least one item.".into()),
        };
        Ok(Self {
            marketplace_id,
            package_reference_id,
            carrier_code,
            carrier_name,
            shipping_method: string_field(package, path, "shippingMethod")?,
            tracking_number: required(package, path, "trackingNumber")?,
            ship_date,
            items,
        })
    }

    /// Checks the request against `order` and, if it holds, the confirmation
    /// to record.
    pub(super) fn confirm(self, order: &Order) -> Result<ShipmentConfirmation, Refusal> {
        if self.marketplace_id != order.marketplace_id {
            return Err(format!(
                "marketplaceId {} is not the order's marketplace.",
                self.marketplace_id
            ));
        }
        if !order.status.is_shippable() {
            return Err(format!(
                "The order is {} and cannot be confirmed as shipped.",
                order.status.name()
            ));
        }
        if order
            .shipments
            .iter()
            .any(|shipment| shipment.package_reference_id == self.package_reference_id)
        {
            return Err(format!(
                "packageReferenceId {} was already confirmed for this order.",
                self.package_reference_id
            ));
        }
        let mut seen = HashSet::new();
        for shipped in &self.items {
            let id = &shipped.order_item_id;
            let item = order
                .items
                .iter()
                .find(|item| &item.order_item_id == id)
                .ok_or_else(|| format!("orderItemId {id} is not an item of this order."))?;
            if !seen.insert(id) {
                return Err(format!("orderItemId {id} is listed twice."));
            }
            let left = item.quantity_ordered - item.quantity_shipped;
            if shipped.quantity > left {
                return Err(format!(
                    "orderItemId {id}: quantity {} is more than the {left} left to ship.",
                    shipped.quantity
                ));
            }
        }
        Ok(ShipmentConfirmation {
            amazon_order_id: order.amazon_order_id.clone(),
            marketplace_id: self.marketplace_id,
            package_reference_id: self.package_reference_id,
            carrier_code: self.carrier_code,
            carrier_name: self.carrier_name,
            shipping_method: self.shipping_method,
            tracking_number: self.tracking_number,
            ship_date: self.ship_date,
            items: self.items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::amazon::marketplace::{self, MARKETPLACE_US};
    use crate::fakes::amazon::order::{OrderSeed, OrderStatus};
    use serde_json::json;

    fn order() -> Order {
        let us = marketplace::find(MARKETPLACE_US).unwrap();
        OrderSeed::new(MARKETPLACE_US, 1_700_000_000_000)
            .item("MUG-1", 2, "19.99")
            .into_order("A1", &[us])
    }

    fn body(order: &Order, quantity: u64) -> Value {
        json!({
            "marketplaceId": MARKETPLACE_US,
            "packageDetail": {
                "packageReferenceId": "1",
                "carrierCode": "FedEx",
                "carrierName": "FedEx",
                "shippingMethod": "FedEx Ground",
                "trackingNumber": "112345678",
                "shipDate": "2022-02-11T01:00:00.000Z",
                "orderItems": [{"orderItemId": order.items[0].order_item_id, "quantity": quantity}],
            },
        })
    }

    fn parse(body: &Value) -> Result<ShipmentRequest, Refusal> {
        ShipmentRequest::parse(body.to_string().as_bytes())
    }

    fn without(mut body: Value, field: &str) -> Value {
        body["packageDetail"].as_object_mut().unwrap().remove(field);
        body
    }

    #[test]
    fn a_complete_request_confirms() {
        let order = order();
        let confirmation = parse(&body(&order, 2)).unwrap().confirm(&order).unwrap();
        assert_eq!(confirmation.tracking_number, "112345678");
        assert_eq!(confirmation.ship_date, 1_644_541_200_000);
        assert_eq!(confirmation.items[0].quantity, 2);
    }

    #[test]
    fn each_required_field_is_named_when_missing() {
        let order = order();
        for field in [
            "packageReferenceId",
            "carrierCode",
            "trackingNumber",
            "shipDate",
        ] {
            let error = parse(&without(body(&order, 1), field)).unwrap_err();
            assert_eq!(error, format!("packageDetail.{field} is required."));
        }
        let error = parse(&without(body(&order, 1), "orderItems")).unwrap_err();
        assert!(error.contains("orderItems"), "{error}");
        let mut no_marketplace = body(&order, 1);
        no_marketplace
            .as_object_mut()
            .unwrap()
            .remove("marketplaceId");
        assert_eq!(
            parse(&no_marketplace).unwrap_err(),
            "marketplaceId is required."
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        let order = order();
        let with = |field: &str, value: Value| {
            let mut body = body(&order, 1);
            body["packageDetail"][field] = value;
            parse(&body).unwrap_err()
        };
        assert!(with("packageReferenceId", json!("0")).contains("positive number"));
        assert!(with("packageReferenceId", json!("pkg-1")).contains("positive number"));
        assert!(with("shipDate", json!("02/21/2022")).contains("ISO 8601"));
        assert!(
            with("orderItems", json!([{"orderItemId": "1", "quantity": 0}]))
                .contains("positive integer")
        );
        let mut other = body(&order, 1);
        other["packageDetail"]["carrierCode"] = json!("Other");
        other["packageDetail"]
            .as_object_mut()
            .unwrap()
            .remove("carrierName");
        assert!(parse(&other).unwrap_err().contains("carrierName"));
    }

    #[test]
    fn the_order_must_be_able_to_take_the_shipment() {
        let order = order();
        let too_many = parse(&body(&order, 3))
            .unwrap()
            .confirm(&order)
            .unwrap_err();
        assert!(too_many.contains("more than the 2 left"), "{too_many}");

        let mut canceled = order.clone();
        canceled.status = OrderStatus::Canceled;
        let refused = parse(&body(&order, 1))
            .unwrap()
            .confirm(&canceled)
            .unwrap_err();
        assert!(refused.contains("Canceled"), "{refused}");

        let mut foreign = body(&order, 1);
        foreign["packageDetail"]["orderItems"][0]["orderItemId"] = json!("00000000000000");
        let unknown = parse(&foreign).unwrap().confirm(&order).unwrap_err();
        assert!(unknown.contains("not an item of this order"), "{unknown}");

        let mut twice = body(&order, 1);
        let item = twice["packageDetail"]["orderItems"][0].clone();
        twice["packageDetail"]["orderItems"] = json!([item.clone(), item]);
        let duplicate = parse(&twice).unwrap().confirm(&order).unwrap_err();
        assert!(duplicate.contains("listed twice"), "{duplicate}");
    }

    #[test]
    fn a_package_reference_is_confirmed_once_per_order() {
        let mut order = order();
        let first = parse(&body(&order, 1)).unwrap().confirm(&order).unwrap();
        order.record_shipment(first, 1_700_000_001_000);
        let again = parse(&body(&order, 1))
            .unwrap()
            .confirm(&order)
            .unwrap_err();
        assert!(again.contains("already confirmed"), "{again}");
    }
}
