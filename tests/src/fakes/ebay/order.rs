//! Fulfillment API orders: the orders tests seed, their shipping
//! fulfillments, and their JSON in `getOrders`.
//!
//! eBay treats a fulfillment's line item `quantity` as reserved for future
//! use: a line item named in a fulfillment is fulfilled whole, and so is it
//! here.

use serde_json::{Value, json};
use sluice_core::UnixMillis;
use sluice_core::clock::format_rfc3339;

use super::ids;
use super::offer::currency_of;
use crate::fakes::money::Hundredths;

/// The seller's user name, as orders report it.
pub const SELLER_USERNAME: &str = "sluice_test_seller";
/// The buyer's user name, as orders report it.
pub const BUYER_USERNAME: &str = "sluice_test_buyer";

/// How far an order or a line item is shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FulfillmentStatus {
    /// `NOT_STARTED`.
    NotStarted,
    /// `IN_PROGRESS`: some line items are fulfilled (orders only).
    InProgress,
    /// `FULFILLED`.
    Fulfilled,
}

impl FulfillmentStatus {
    /// eBay's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotStarted => "NOT_STARTED",
            Self::InProgress => "IN_PROGRESS",
            Self::Fulfilled => "FULFILLED",
        }
    }

    pub(super) fn parse(name: &str) -> Option<Self> {
        [Self::NotStarted, Self::InProgress, Self::Fulfilled]
            .into_iter()
            .find(|status| status.name() == name)
    }
}

/// An order's payment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// `PAID`.
    Paid,
    /// `PENDING`.
    Pending,
    /// `FAILED`.
    Failed,
    /// `FULLY_REFUNDED`.
    FullyRefunded,
    /// `PARTIALLY_REFUNDED`.
    PartiallyRefunded,
}

impl PaymentStatus {
    /// eBay's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paid => "PAID",
            Self::Pending => "PENDING",
            Self::Failed => "FAILED",
            Self::FullyRefunded => "FULLY_REFUNDED",
            Self::PartiallyRefunded => "PARTIALLY_REFUNDED",
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// `lineItemId`, what fulfillments name.
    pub line_item_id: String,
    /// The seller's SKU.
    pub sku: String,
    /// Units bought.
    pub quantity: u32,
    /// `lineItemCost`: unit price times quantity.
    pub line_item_cost: Hundredths,
    /// Whether a shipping fulfillment named it.
    pub fulfilled: bool,
}

impl LineItem {
    /// `lineItemFulfillmentStatus`.
    pub fn status(&self) -> FulfillmentStatus {
        if self.fulfilled {
            FulfillmentStatus::Fulfilled
        } else {
            FulfillmentStatus::NotStarted
        }
    }
}

/// A line item in a shipping fulfillment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilledLineItem {
    /// The line item.
    pub line_item_id: String,
    /// The `quantity` sent, if any (eBay does not use it).
    pub quantity: Option<u32>,
}

/// A package the seller shipped (`createShippingFulfillment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingFulfillment {
    /// `fulfillmentId`: the tracking number when one was given.
    pub fulfillment_id: String,
    /// The order.
    pub order_id: String,
    /// What the package holds.
    pub line_items: Vec<FulfilledLineItem>,
    /// `shippedDate` (now when not sent).
    pub shipped_date: UnixMillis,
    /// `shippingCarrierCode`.
    pub shipping_carrier_code: Option<String>,
    /// `trackingNumber`.
    pub tracking_number: Option<String>,
}

/// An order in the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbayOrder {
    /// `orderId`.
    pub order_id: String,
    /// The marketplace it was bought on.
    pub marketplace_id: String,
    /// `creationDate`.
    pub creation_date: UnixMillis,
    /// `lastModifiedDate`: moves with every fulfillment.
    pub last_modified_date: UnixMillis,
    /// `orderPaymentStatus`.
    pub payment_status: PaymentStatus,
    /// The order's lines.
    pub line_items: Vec<LineItem>,
    /// Shipping fulfillments, oldest first.
    pub fulfillments: Vec<ShippingFulfillment>,
}

/// An order for a test to put in the fake ([`FakeEbay::seed_order`]).
///
/// [`FakeEbay::seed_order`]: super::FakeEbay::seed_order
#[derive(Debug, Clone)]
pub struct EbayOrderSeed {
    marketplace_id: String,
    creation_date: UnixMillis,
    last_modified_date: Option<UnixMillis>,
    payment_status: PaymentStatus,
    line_items: Vec<(String, u32, Hundredths)>,
}

impl EbayOrderSeed {
    /// A paid `EBAY_US` order created at `creation_date` and not modified
    /// since.
    pub fn new(creation_date: UnixMillis) -> Self {
        Self {
            marketplace_id: "EBAY_US".into(),
            creation_date,
            last_modified_date: None,
            payment_status: PaymentStatus::Paid,
            line_items: Vec::new(),
        }
    }

    /// Sets the marketplace (and so the currency).
    ///
    /// # Panics
    /// If `marketplace_id` is not one the fake knows.
    pub fn marketplace(mut self, marketplace_id: &str) -> Self {
        assert!(
            currency_of(marketplace_id).is_some(),
            "the fake eBay knows no marketplace {marketplace_id:?}"
        );
        self.marketplace_id = marketplace_id.to_owned();
        self
    }

    /// Sets `lastModifiedDate` (the creation date otherwise).
    pub fn last_modified(mut self, at: UnixMillis) -> Self {
        self.last_modified_date = Some(at);
        self
    }

    /// Sets the payment status.
    pub fn payment_status(mut self, status: PaymentStatus) -> Self {
        self.payment_status = status;
        self
    }

    /// Adds a line: `quantity` units of `sku` at `unit_price` (`"19.99"`).
    ///
    /// # Panics
    /// If `unit_price` is not a decimal with at most two fraction digits.
    pub fn line_item(mut self, sku: &str, quantity: u32, unit_price: &str) -> Self {
        let price = Hundredths::parse(unit_price)
            .unwrap_or_else(|| panic!("unit price {unit_price:?} is not a decimal amount"));
        self.line_items.push((sku.to_owned(), quantity, price));
        self
    }

    /// The order, with fresh ids.
    pub(super) fn into_order(self) -> EbayOrder {
        EbayOrder {
            order_id: ids::order_id(),
            marketplace_id: self.marketplace_id,
            creation_date: self.creation_date,
            last_modified_date: self.last_modified_date.unwrap_or(self.creation_date),
            payment_status: self.payment_status,
            line_items: self
                .line_items
                .into_iter()
                .map(|(sku, quantity, unit_price)| LineItem {
                    line_item_id: ids::line_item_id(),
                    sku,
                    quantity,
                    line_item_cost: unit_price.times(i64::from(quantity)),
                    fulfilled: false,
                })
                .collect(),
            fulfillments: Vec::new(),
        }
    }
}

impl EbayOrder {
    /// `orderFulfillmentStatus`.
    pub fn fulfillment_status(&self) -> FulfillmentStatus {
        let fulfilled = self.line_items.iter().filter(|item| item.fulfilled).count();
        match fulfilled {
            0 => FulfillmentStatus::NotStarted,
            done if done == self.line_items.len() => FulfillmentStatus::Fulfilled,
            _ => FulfillmentStatus::InProgress,
        }
    }

    /// `pricingSummary.total`: the sum of the line item costs.
    pub fn total(&self) -> Hundredths {
        self.line_items.iter().map(|item| item.line_item_cost).sum()
    }

    /// Records a fulfillment at `now`.
    pub(super) fn record_fulfillment(&mut self, fulfillment: ShippingFulfillment, now: UnixMillis) {
        for shipped in &fulfillment.line_items {
            if let Some(item) = self
                .line_items
                .iter_mut()
                .find(|item| item.line_item_id == shipped.line_item_id)
            {
                item.fulfilled = true;
            }
        }
        self.fulfillments.push(fulfillment);
        self.last_modified_date = self.last_modified_date.max(now);
    }

    /// The URL a fulfillment of this order is found at, on `host`.
    pub(super) fn fulfillment_url(&self, host: &str, fulfillment_id: &str) -> String {
        format!(
            "https://{host}/sell/fulfillment/v1/order/{}/shipping_fulfillment/{fulfillment_id}",
            self.order_id
        )
    }

    /// The order as an element of `getOrders`' `orders`, with links on
    /// `host`.
    pub(super) fn to_json(&self, host: &str) -> Value {
        let currency = currency_of(&self.marketplace_id).unwrap_or("USD");
        let amount = |value: Hundredths| json!({"value": value.to_string(), "currency": currency});
        let line_items: Vec<Value> = self
            .line_items
            .iter()
            .map(|item| {
                json!({
                    "lineItemId": item.line_item_id,
                    "sku": item.sku,
                    "title": item.sku,
                    "quantity": item.quantity,
                    "lineItemCost": amount(item.line_item_cost),
                    "total": amount(item.line_item_cost),
                    "lineItemFulfillmentStatus": item.status().name(),
                    "soldFormat": "FIXED_PRICE",
                    "listingMarketplaceId": self.marketplace_id,
                    "purchaseMarketplaceId": self.marketplace_id,
                })
            })
            .collect();
        let fulfillment_hrefs: Vec<String> = self
            .fulfillments
            .iter()
            .map(|fulfillment| self.fulfillment_url(host, &fulfillment.fulfillment_id))
            .collect();
        json!({
            "orderId": self.order_id,
            "creationDate": format_rfc3339(self.creation_date),
            "lastModifiedDate": format_rfc3339(self.last_modified_date),
            "orderFulfillmentStatus": self.fulfillment_status().name(),
            "orderPaymentStatus": self.payment_status.name(),
            "sellerId": SELLER_USERNAME,
            "buyer": {"username": BUYER_USERNAME},
            "pricingSummary": {"priceSubtotal": amount(self.total()), "total": amount(self.total())},
            "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
            "fulfillmentHrefs": fulfillment_hrefs,
            "lineItems": line_items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED: UnixMillis = 1_700_000_000_000;

    fn order() -> EbayOrder {
        EbayOrderSeed::new(CREATED)
            .line_item("MUG-1", 2, "19.99")
            .line_item("CUP-1", 1, "5.00")
            .into_order()
    }

    fn fulfillment(order: &EbayOrder, index: usize) -> ShippingFulfillment {
        ShippingFulfillment {
            fulfillment_id: "9400".into(),
            order_id: order.order_id.clone(),
            line_items: vec![FulfilledLineItem {
                line_item_id: order.line_items[index].line_item_id.clone(),
                quantity: None,
            }],
            shipped_date: CREATED,
            shipping_carrier_code: Some("USPS".into()),
            tracking_number: Some("9400".into()),
        }
    }

    #[test]
    fn a_seeded_order_totals_its_lines_in_the_marketplace_currency() {
        let order = order();
        assert_eq!(order.total(), Hundredths(4498));
        let json = order.to_json("api.ebay.com");
        assert_eq!(
            json["pricingSummary"]["total"],
            json!({"value": "44.98", "currency": "USD"})
        );
        assert_eq!(json["creationDate"], "2023-11-14T22:13:20.000Z");
        assert_eq!(json["orderFulfillmentStatus"], "NOT_STARTED");
        assert_eq!(json["lineItems"][0]["lineItemCost"]["value"], "39.98");
        let german = EbayOrderSeed::new(CREATED)
            .marketplace("EBAY_DE")
            .line_item("MUG-1", 1, "9")
            .into_order();
        assert_eq!(
            german.to_json("api.ebay.com")["pricingSummary"]["total"]["currency"],
            "EUR"
        );
    }

    #[test]
    fn fulfillments_move_the_statuses_and_the_modification_date() {
        let mut order = order();
        order.record_fulfillment(fulfillment(&order, 0), CREATED + 1000);
        assert_eq!(order.fulfillment_status(), FulfillmentStatus::InProgress);
        assert_eq!(order.last_modified_date, CREATED + 1000);
        order.record_fulfillment(fulfillment(&order, 1), CREATED + 2000);
        assert_eq!(order.fulfillment_status(), FulfillmentStatus::Fulfilled);
        let json = order.to_json("api.sandbox.ebay.com");
        assert_eq!(
            json["lineItems"][1]["lineItemFulfillmentStatus"],
            "FULFILLED"
        );
        assert_eq!(
            json["fulfillmentHrefs"][0],
            format!(
                "https://api.sandbox.ebay.com/sell/fulfillment/v1/order/{}/shipping_fulfillment/9400",
                order.order_id
            )
        );
    }

    #[test]
    #[should_panic(expected = "knows no marketplace")]
    fn seeds_use_known_marketplaces() {
        EbayOrderSeed::new(CREATED).marketplace("EBAY_MARS");
    }
}
