//! The SP-API operations the fake serves, how a request maps to one, and
//! each one's documented usage plan (rate and burst).

use http::Method;

use crate::failures::RequestMatch;
use crate::rate_limit::RateLimit;

/// Where Listings Items 2021-08-01 lives.
pub(super) const LISTINGS_PREFIX: &str = "/listings/2021-08-01/items/";
/// The Orders v0 collection.
pub(super) const ORDERS_PATH: &str = "/orders/v0/orders";

/// An SP-API operation the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// `PUT /listings/2021-08-01/items/{sellerId}/{sku}`.
    PutListingsItem,
    /// `PATCH /listings/2021-08-01/items/{sellerId}/{sku}`.
    PatchListingsItem,
    /// `GET /listings/2021-08-01/items/{sellerId}/{sku}`.
    GetListingsItem,
    /// `DELETE /listings/2021-08-01/items/{sellerId}/{sku}`.
    DeleteListingsItem,
    /// `GET /orders/v0/orders`.
    GetOrders,
    /// `GET /orders/v0/orders/{orderId}/orderItems`.
    GetOrderItems,
    /// `POST /orders/v0/orders/{orderId}/shipmentConfirmation`.
    ConfirmShipment,
}

impl Operation {
    /// Every operation the fake serves.
    pub const ALL: [Operation; 7] = [
        Self::PutListingsItem,
        Self::PatchListingsItem,
        Self::GetListingsItem,
        Self::DeleteListingsItem,
        Self::GetOrders,
        Self::GetOrderItems,
        Self::ConfirmShipment,
    ];

    /// The default usage plan Amazon documents for the operation.
    pub fn documented_rate(self) -> RateLimit {
        let (per_second, burst) = match self {
            Self::PutListingsItem | Self::GetListingsItem => (5.0, 10),
            Self::PatchListingsItem | Self::DeleteListingsItem => (5.0, 5),
            Self::GetOrders => (0.0167, 20),
            Self::GetOrderItems => (0.5, 30),
            Self::ConfirmShipment => (2.0, 10),
        };
        RateLimit::per_second(per_second, burst)
    }

    /// The operation a request with `method` to `path` calls, if any.
    pub(super) fn of(method: &Method, path: &str) -> Option<Self> {
        if path.starts_with(LISTINGS_PREFIX) {
            return match *method {
                Method::PUT => Some(Self::PutListingsItem),
                Method::PATCH => Some(Self::PatchListingsItem),
                Method::GET => Some(Self::GetListingsItem),
                Method::DELETE => Some(Self::DeleteListingsItem),
                _ => None,
            };
        }
        let order_subresource = path
            .strip_prefix(ORDERS_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once('/'))
            .map(|(_order_id, subresource)| subresource);
        match (method, path, order_subresource) {
            (&Method::GET, ORDERS_PATH, _) => Some(Self::GetOrders),
            (&Method::GET, _, Some("orderItems")) => Some(Self::GetOrderItems),
            (&Method::POST, _, Some("shipmentConfirmation")) => Some(Self::ConfirmShipment),
            _ => None,
        }
    }

    /// The requests a scripted failure for this operation applies to.
    ///
    /// The order-scoped operations are told apart by method alone: the fake
    /// serves no other `GET` or `POST` under `/orders/v0/orders/`.
    pub(super) fn request_match(self) -> RequestMatch {
        let listings = |method| RequestMatch::path_prefix(LISTINGS_PREFIX).with_method(method);
        let order =
            |method| RequestMatch::path_prefix(format!("{ORDERS_PATH}/")).with_method(method);
        match self {
            Self::PutListingsItem => listings(Method::PUT),
            Self::PatchListingsItem => listings(Method::PATCH),
            Self::GetListingsItem => listings(Method::GET),
            Self::DeleteListingsItem => listings(Method::DELETE),
            Self::GetOrders => RequestMatch::path(ORDERS_PATH).with_method(Method::GET),
            Self::GetOrderItems => order(Method::GET),
            Self::ConfirmShipment => order(Method::POST),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = "/listings/2021-08-01/items/A1SELLER/SKU-1";

    #[test]
    fn requests_map_to_their_operation() {
        assert_eq!(
            Operation::of(&Method::PUT, ITEM),
            Some(Operation::PutListingsItem)
        );
        assert_eq!(
            Operation::of(&Method::DELETE, ITEM),
            Some(Operation::DeleteListingsItem)
        );
        assert_eq!(
            Operation::of(&Method::GET, "/orders/v0/orders"),
            Some(Operation::GetOrders)
        );
        assert_eq!(
            Operation::of(&Method::GET, "/orders/v0/orders/113-1-2/orderItems"),
            Some(Operation::GetOrderItems)
        );
        assert_eq!(
            Operation::of(
                &Method::POST,
                "/orders/v0/orders/113-1-2/shipmentConfirmation"
            ),
            Some(Operation::ConfirmShipment)
        );
        assert_eq!(
            Operation::of(&Method::GET, "/orders/v0/orders/113-1-2"),
            None
        );
        assert_eq!(Operation::of(&Method::POST, ITEM), None);
        assert_eq!(
            Operation::of(&Method::GET, "/sellers/v1/marketplaceParticipations"),
            None
        );
    }

    #[test]
    fn failure_matches_select_the_operations_requests() {
        assert!(
            Operation::PatchListingsItem
                .request_match()
                .matches(&Method::PATCH, ITEM)
        );
        assert!(
            !Operation::PatchListingsItem
                .request_match()
                .matches(&Method::PUT, ITEM)
        );
        let confirm = Operation::ConfirmShipment.request_match();
        assert!(confirm.matches(&Method::POST, "/orders/v0/orders/1/shipmentConfirmation"));
        assert!(
            !Operation::GetOrders
                .request_match()
                .matches(&Method::GET, "/orders/v0/orders/1/orderItems")
        );
    }

    #[test]
    fn usage_plans_are_amazons_defaults() {
        assert_eq!(
            Operation::PutListingsItem.documented_rate(),
            RateLimit::per_second(5.0, 10)
        );
        assert_eq!(
            Operation::PatchListingsItem.documented_rate(),
            RateLimit::per_second(5.0, 5)
        );
        assert_eq!(
            Operation::ConfirmShipment.documented_rate(),
            RateLimit::per_second(2.0, 10)
        );
    }
}
