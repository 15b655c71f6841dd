//! Orders v0: the orders tests seed, their shipment confirmations, and their
//! JSON in `getOrders` and `getOrderItems`.

use serde_json::{Value, json};
use sluice_core::UnixMillis;

use super::ids;
use super::marketplace::{self, Marketplace};
use crate::fakes::money::Hundredths;

/// An order's status, as Amazon names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// `PendingAvailability`: a pre-order not yet payable.
    PendingAvailability,
    /// `Pending`: placed, payment not yet authorized.
    Pending,
    /// `Unshipped`: paid, nothing shipped.
    Unshipped,
    /// `PartiallyShipped`: some items shipped.
    PartiallyShipped,
    /// `Shipped`: every item shipped.
    Shipped,
    /// `Canceled`.
    Canceled,
    /// `Unfulfillable`: cannot be fulfilled (Amazon-fulfilled orders).
    Unfulfillable,
    /// `InvoiceUnconfirmed`: shipped, invoice not yet confirmed.
    InvoiceUnconfirmed,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [Self; 8] = [
        Self::PendingAvailability,
        Self::Pending,
        Self::Unshipped,
        Self::PartiallyShipped,
        Self::Shipped,
        Self::Canceled,
        Self::Unfulfillable,
        Self::InvoiceUnconfirmed,
    ];

    /// Amazon's name for it (`PartiallyShipped`).
    pub fn name(self) -> &'static str {
        match self {
            Self::PendingAvailability => "PendingAvailability",
            Self::Pending => "Pending",
            Self::Unshipped => "Unshipped",
            Self::PartiallyShipped => "PartiallyShipped",
            Self::Shipped => "Shipped",
            Self::Canceled => "Canceled",
            Self::Unfulfillable => "Unfulfillable",
            Self::InvoiceUnconfirmed => "InvoiceUnconfirmed",
        }
    }

    pub(super) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.name() == name)
    }

    /// Whether the seller may confirm a shipment for the order.
    pub(super) fn is_shippable(self) -> bool {
        matches!(self, Self::Unshipped | Self::PartiallyShipped)
    }
}

/// Who fulfils an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FulfillmentChannel {
    /// `MFN`: the seller ships it.
    Merchant,
    /// `AFN`: Amazon ships it.
    Amazon,
}

impl FulfillmentChannel {
    /// Amazon's code for it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Merchant => "MFN",
            Self::Amazon => "AFN",
        }
    }

    pub(super) fn parse(code: &str) -> Option<Self> {
        [Self::Merchant, Self::Amazon]
            .into_iter()
            .find(|channel| channel.code() == code)
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    /// The `OrderItemId` shipment confirmations name.
    pub order_item_id: String,
    /// The seller's SKU.
    pub seller_sku: String,
    /// The ASIN of the SKU in the fake's catalogue.
    pub asin: String,
    /// Units ordered.
    pub quantity_ordered: u32,
    /// Units confirmed shipped so far.
    pub quantity_shipped: u32,
    /// The line's price: unit price times quantity, as Amazon's `ItemPrice`.
    pub item_price: Hundredths,
}

/// One line of a shipment confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedItem {
    /// The order item shipped.
    pub order_item_id: String,
    /// Units in the package.
    pub quantity: u32,
}

/// A package the seller confirmed shipped (`confirmShipment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentConfirmation {
    /// The order.
    pub amazon_order_id: String,
    /// The `marketplaceId` of the request.
    pub marketplace_id: String,
    /// The seller's package number within the order.
    pub package_reference_id: String,
    /// `carrierCode` (`FedEx`, `UPS`, `Other`, ...).
    pub carrier_code: String,
    /// `carrierName`, required when the code is `Other`.
    pub carrier_name: Option<String>,
    /// `shippingMethod`.
    pub shipping_method: Option<String>,
    /// `trackingNumber`.
    pub tracking_number: String,
    /// `shipDate`.
    pub ship_date: UnixMillis,
    /// What the package holds.
    pub items: Vec<ConfirmedItem>,
}

/// An order in the fake, with what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// `AmazonOrderId`, in 3-7-7 format.
    pub amazon_order_id: String,
    /// The seller it was placed with.
    pub seller_id: String,
    /// Where it was placed.
    pub marketplace_id: String,
    /// `OrderStatus`.
    pub status: OrderStatus,
    /// `PurchaseDate`.
    pub purchase_date: UnixMillis,
    /// `LastUpdateDate`: moves with every status change and shipment.
    pub last_update_date: UnixMillis,
    /// `FulfillmentChannel`.
    pub fulfillment_channel: FulfillmentChannel,
    /// The order's lines.
    pub items: Vec<OrderItem>,
    /// Confirmed shipments, oldest first.
    pub shipments: Vec<ShipmentConfirmation>,
}

/// An order for a test to put in the fake ([`FakeAmazon::seed_order`]).
///
/// [`FakeAmazon::seed_order`]: super::FakeAmazon::seed_order
#[derive(Debug, Clone)]
pub struct OrderSeed {
    marketplace_id: String,
    purchase_date: UnixMillis,
    last_update_date: Option<UnixMillis>,
    status: OrderStatus,
    fulfillment_channel: FulfillmentChannel,
    items: Vec<(String, u32, Hundredths)>,
}

impl OrderSeed {
    /// An `Unshipped`, merchant-fulfilled order placed in `marketplace_id`
    /// at `purchase_date` and not updated since.
    pub fn new(marketplace_id: &str, purchase_date: UnixMillis) -> Self {
        Self {
            marketplace_id: marketplace_id.to_owned(),
            purchase_date,
            last_update_date: None,
            status: OrderStatus::Unshipped,
            fulfillment_channel: FulfillmentChannel::Merchant,
            items: Vec::new(),
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: OrderStatus) -> Self {
        self.status = status;
        self
    }

    /// Sets who fulfils it.
    pub fn fulfillment_channel(mut self, channel: FulfillmentChannel) -> Self {
        self.fulfillment_channel = channel;
        self
    }

    /// Sets `LastUpdateDate` (the purchase date otherwise).
    pub fn last_updated(mut self, at: UnixMillis) -> Self {
        self.last_update_date = Some(at);
        self
    }

    /// Adds a line: `quantity` units of `seller_sku` at `unit_price`
    /// (`"19.99"`, in the marketplace's currency).
    ///
    /// # Panics
    /// If `unit_price` is not a decimal with at most two fraction digits.
    pub fn item(mut self, seller_sku: &str, quantity: u32, unit_price: &str) -> Self {
        let price = Hundredths::parse(unit_price)
            .unwrap_or_else(|| panic!("unit price {unit_price:?} is not a decimal amount"));
        self.items.push((seller_sku.to_owned(), quantity, price));
        self
    }

    /// The order, with fresh ids, for seller `seller_id` selling in
    /// `marketplaces`.
    ///
    /// # Panics
    /// If the seller does not sell in the seed's marketplace.
    pub(super) fn into_order(
        self,
        seller_id: &str,
        marketplaces: &[&'static Marketplace],
    ) -> Order {
        assert!(
            marketplaces
                .iter()
                .any(|known| known.id == self.marketplace_id),
            "seller {seller_id} does not sell in marketplace {}",
            self.marketplace_id
        );
        let items = self
            .items
            .into_iter()
            .map(|(seller_sku, quantity, unit_price)| OrderItem {
                order_item_id: ids::order_item_id(),
                asin: ids::asin_for(seller_id, &seller_sku),
                seller_sku,
                quantity_ordered: quantity,
                quantity_shipped: 0,
                item_price: unit_price.times(i64::from(quantity)),
            })
            .collect();
        Order {
            amazon_order_id: ids::amazon_order_id(),
            seller_id: seller_id.to_owned(),
            marketplace_id: self.marketplace_id,
            status: self.status,
            purchase_date: self.purchase_date,
            last_update_date: self.last_update_date.unwrap_or(self.purchase_date),
            fulfillment_channel: self.fulfillment_channel,
            items,
            shipments: Vec::new(),
        }
    }
}

/// Amazon writes order dates to the second: `2017-01-20T19:49:35Z`.
pub(super) fn format_date(at: UnixMillis) -> String {
    sluice_core::clock::millis_to_datetime(at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Order {
    /// `OrderTotal`: the sum of the item prices.
    pub fn order_total(&self) -> Hundredths {
        self.items.iter().map(|item| item.item_price).sum()
    }

    /// The currency of the order's marketplace.
    pub fn currency(&self) -> &'static str {
        marketplace::find(&self.marketplace_id).map_or("USD", |found| found.currency)
    }

    /// Records a change at `now`; `LastUpdateDate` never moves backwards.
    pub(super) fn touch(&mut self, now: UnixMillis) {
        self.last_update_date = self.last_update_date.max(now);
    }

    /// Records a confirmed package at `now` and moves the status on.
    pub(super) fn record_shipment(&mut self, shipment: ShipmentConfirmation, now: UnixMillis) {
        for shipped in &shipment.items {
            if let Some(item) = self
                .items
                .iter_mut()
                .find(|item| item.order_item_id == shipped.order_item_id)
            {
                item.quantity_shipped += shipped.quantity;
            }
        }
        self.shipments.push(shipment);
        let all_shipped = self
            .items
            .iter()
            .all(|item| item.quantity_shipped >= item.quantity_ordered);
        self.status = if all_shipped {
            OrderStatus::Shipped
        } else {
            OrderStatus::PartiallyShipped
        };
        self.touch(now);
    }

    fn money(&self, amount: Hundredths) -> Value {
        json!({"CurrencyCode": self.currency(), "Amount": amount.to_string()})
    }

    /// Amazon leaves prices out while payment is not authorized.
    fn shows_prices(&self) -> bool {
        !matches!(
            self.status,
            OrderStatus::Pending | OrderStatus::PendingAvailability
        )
    }

    /// The order as an element of `getOrders`' `Orders`.
    pub(super) fn to_json(&self) -> Value {
        let shipped: u32 = self.items.iter().map(|item| item.quantity_shipped).sum();
        let ordered: u32 = self.items.iter().map(|item| item.quantity_ordered).sum();
        let sales_channel = marketplace::find(&self.marketplace_id)
            .map_or("Amazon.com", |found| found.sales_channel);
        let mut order = json!({
            "AmazonOrderId": self.amazon_order_id,
            "PurchaseDate": format_date(self.purchase_date),
            "LastUpdateDate": format_date(self.last_update_date),
            "OrderStatus": self.status.name(),
            "FulfillmentChannel": self.fulfillment_channel.code(),
            "SalesChannel": sales_channel,
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": ordered.saturating_sub(shipped),
            "PaymentMethod": "Other",
            "MarketplaceId": self.marketplace_id,
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "IsBusinessOrder": false,
            "IsPrime": false,
            "IsPremiumOrder": false,
            "IsReplacementOrder": false,
        });
        if self.shows_prices() {
            order["OrderTotal"] = self.money(self.order_total());
        }
        order
    }

    /// The `getOrderItems` payload.
    pub(super) fn items_json(&self) -> Value {
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|item| {
                let mut json = json!({
                    "ASIN": item.asin,
                    "SellerSKU": item.seller_sku,
                    "OrderItemId": item.order_item_id,
                    "QuantityOrdered": item.quantity_ordered,
                    "QuantityShipped": item.quantity_shipped,
                });
                if self.shows_prices() {
                    json["ItemPrice"] = self.money(item.item_price);
                }
                json
            })
            .collect();
        json!({"AmazonOrderId": self.amazon_order_id, "OrderItems": items})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::amazon::marketplace::{MARKETPLACE_UK, MARKETPLACE_US};

    const PLACED: UnixMillis = 1_700_000_000_000;

    fn order() -> Order {
        let us = marketplace::find(MARKETPLACE_US).unwrap();
        OrderSeed::new(MARKETPLACE_US, PLACED)
            .item("MUG-1", 2, "19.99")
            .item("CUP-1", 1, "5")
            .into_order("A1", &[us])
    }

    fn shipment(order: &Order, items: &[(usize, u32)]) -> ShipmentConfirmation {
        ShipmentConfirmation {
            amazon_order_id: order.amazon_order_id.clone(),
            marketplace_id: MARKETPLACE_US.into(),
            package_reference_id: "1".into(),
            carrier_code: "UPS".into(),
            carrier_name: None,
            shipping_method: None,
            tracking_number: "1Z999".into(),
            ship_date: PLACED,
            items: items
                .iter()
                .map(|&(index, quantity)| ConfirmedItem {
                    order_item_id: order.items[index].order_item_id.clone(),
                    quantity,
                })
                .collect(),
        }
    }

    #[test]
    fn a_seeded_order_totals_its_lines() {
        let order = order();
        assert_eq!(order.status, OrderStatus::Unshipped);
        assert_eq!(order.last_update_date, PLACED);
        assert_eq!(order.items[0].item_price, Hundredths(3998));
        assert_eq!(order.order_total(), Hundredths(4498));
        let json = order.to_json();
        assert_eq!(
            json["OrderTotal"],
            json!({"CurrencyCode": "USD", "Amount": "44.98"})
        );
        assert_eq!(json["PurchaseDate"], "2023-11-14T22:13:20Z");
        assert_eq!(json["NumberOfItemsUnshipped"], 3);
    }

    #[test]
    fn shipments_move_the_status_and_the_update_date() {
        let mut order = order();
        order.record_shipment(shipment(&order, &[(0, 1)]), PLACED + 1000);
        assert_eq!(order.status, OrderStatus::PartiallyShipped);
        assert_eq!(order.last_update_date, PLACED + 1000);
        order.record_shipment(shipment(&order, &[(0, 1), (1, 1)]), PLACED + 2000);
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.items_json()["OrderItems"][0]["QuantityShipped"], 2);
        assert_eq!(order.shipments.len(), 2);
    }

    #[test]
    fn pending_orders_show_no_prices() {
        let us = marketplace::find(MARKETPLACE_US).unwrap();
        let pending = OrderSeed::new(MARKETPLACE_US, PLACED)
            .status(OrderStatus::Pending)
            .item("MUG-1", 1, "9.99")
            .into_order("A1", &[us]);
        assert!(pending.to_json().get("OrderTotal").is_none());
        assert!(
            pending.items_json()["OrderItems"][0]
                .get("ItemPrice")
                .is_none()
        );
    }

    #[test]
    #[should_panic(expected = "does not sell in marketplace")]
    fn seeds_stay_in_the_sellers_marketplaces() {
        let us = marketplace::find(MARKETPLACE_US).unwrap();
        OrderSeed::new(MARKETPLACE_UK, PLACED).into_order("A1", &[us]);
    }

    #[test]
    fn statuses_and_channels_parse_from_amazons_names() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.name()), Some(status));
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
        assert_eq!(
            FulfillmentChannel::parse("AFN"),
            Some(FulfillmentChannel::Amazon)
        );
    }
}
