//! Sync of entity `orders`: Orders v0 `getOrders`, one page per batch.
//!
//! A search asks for the orders of the configured marketplace updated after
//! `LastUpdatedAfter`, oldest first, and pages on with `NextToken`. The
//! cursor is opaque to the host: `v1.` and base64url of a small JSON object
//! holding the search's `LastUpdatedAfter`, the `NextToken` of the page to
//! fetch next (none for the first page), how many orders of that page were
//! already returned (when the host asked for fewer records than a page
//! holds), and the latest `LastUpdateDate` seen so far. When a search ends,
//! the next one starts at that latest date; orders updated at that very
//! second are listed again, which the host ignores as their version did not
//! change.
//!
//! Each order becomes a record whose payload is the `order.placed` /
//! `order.updated` payload of docs/events.md, with Amazon's `OrderStatus`
//! mapped to the unified status. Amazon's order list carries no items, so
//! `line_items` is empty.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sluice_guest::http::Method;
use sluice_guest::time::parse_rfc3339_ms;
use sluice_guest::{
    InvocationContext, SyncBatch, SyncError, SyncRecord, SyncRequest, encode, log, time,
};

use crate::config::Config;
use crate::outcome::{self, Attempt};
use crate::shipment::MARKETPLACE;
use crate::sp_api::{AmazonError, Operation, SpApi};

/// The entity this connector syncs.
pub const ENTITY: &str = "orders";
/// Where Orders v0 lists orders.
pub const ORDERS_PATH: &str = "/orders/v0/orders";
/// How far back the very first run looks, in days.
pub const INITIAL_LOOKBACK_DAYS: u64 = 30;
/// The most orders Amazon returns per page.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The version prefix of cursors this connector writes.
const CURSOR_PREFIX: &str = "v1.";

/// Where a sync stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The search's `LastUpdatedAfter`.
    #[serde(rename = "after")]
    pub last_updated_after: String,
    /// The `NextToken` of the page to fetch; none for the search's first page.
    #[serde(rename = "next", default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Orders of that page already returned.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u32,
    /// The latest `LastUpdateDate` seen in this search.
    #[serde(rename = "latest", default, skip_serializing_if = "Option::is_none")]
    pub latest_update: Option<String>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl Cursor {
    /// The cursor of a first run at `now_ms`.
    pub fn initial(now_ms: u64) -> Self {
        let start = (now_ms / 1000).saturating_sub(INITIAL_LOOKBACK_DAYS * 86_400);
        Self {
            last_updated_after: time::format_rfc3339(start),
            next_token: None,
            skip: 0,
            latest_update: None,
        }
    }

    /// The opaque text handed to the host.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{CURSOR_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Reads a cursor this connector wrote.
    pub fn decode(text: &str) -> Result<Self, String> {
        let refuse = || format!("the sync cursor {text:?} was not written by this connector");
        let encoded = text.strip_prefix(CURSOR_PREFIX).ok_or_else(refuse)?;
        let json = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| refuse())?;
        serde_json::from_slice(&json).map_err(|_| refuse())
    }

    /// The later of the latest update seen and `date`.
    fn with_update(mut self, date: &str) -> Self {
        let later = match (&self.latest_update, parse_rfc3339_ms(date)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(latest), Some(date)) => parse_rfc3339_ms(latest).is_none_or(|l| date > l),
        };
        if later {
            self.latest_update = Some(date.to_owned());
        }
        self
    }
}

/// An order in `getOrders`; only what the connector reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AmazonOrder {
    amazon_order_id: Option<String>,
    order_status: Option<String>,
    purchase_date: Option<String>,
    last_update_date: Option<String>,
    order_total: Option<OrderTotal>,
}

/// An amount in `getOrders`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrderTotal {
    currency_code: Option<String>,
    amount: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OrdersAnswer {
    payload: OrdersPayload,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrdersPayload {
    #[serde(default)]
    orders: Vec<AmazonOrder>,
    next_token: Option<String>,
}

/// The unified status for Amazon's `OrderStatus`.
pub fn unified_status(order_status: &str) -> &'static str {
    match order_status {
        "Pending" | "PendingAvailability" => "pending",
        "Unshipped" => "unshipped",
        "PartiallyShipped" => "partially_shipped",
        "Shipped" | "InvoiceUnconfirmed" => "shipped",
        "Canceled" => "cancelled",
        _ => "unknown",
    }
}

/// `amount` with at most two decimals (`"44.98"`), or `None` when it is
/// not a plain decimal or has significant digits beyond the cents.
fn normalize_amount(amount: &str) -> Option<String> {
    let amount = amount.trim();
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut fraction = fraction.to_owned();
    while fraction.len() > 2 && fraction.ends_with('0') {
        fraction.pop();
    }
    match fraction.len() {
        0 => Some(whole.to_owned()),
        1 | 2 => Some(format!("{whole}.{fraction}")),
        _ => None,
    }
}

/// The record for `order`, or why it cannot be one.
pub fn record(order: &AmazonOrder) -> Result<SyncRecord, &'static str> {
    let order_id = order
        .amazon_order_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or("it has no AmazonOrderId")?;
    let updated_at = order
        .last_update_date
        .as_deref()
        .filter(|date| parse_rfc3339_ms(date).is_some())
        .ok_or("it has no valid LastUpdateDate")?;
    let marketplace_status = order.order_status.as_deref().unwrap_or_default();
    let mut payload = Map::new();
    payload.insert("marketplace".into(), json!(MARKETPLACE));
    payload.insert("order_id".into(), json!(order_id));
    payload.insert("status".into(), json!(unified_status(marketplace_status)));
    payload.insert("marketplace_status".into(), json!(marketplace_status));
    if let Some(purchased_at) = order
        .purchase_date
        .as_deref()
        .filter(|date| parse_rfc3339_ms(date).is_some())
    {
        payload.insert("purchased_at".into(), json!(purchased_at));
    }
    payload.insert("updated_at".into(), json!(updated_at));
    payload.insert("line_items".into(), json!([]));
    let total = order.order_total.as_ref().and_then(|total| {
        let amount = normalize_amount(total.amount.as_deref()?)?;
        let currency = total.currency_code.as_deref()?;
        let valid = currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase());
        valid.then(|| json!({"amount": amount, "currency": currency}))
    });
    if let Some(total) = total {
        payload.insert("total".into(), total);
    }
    Ok(SyncRecord {
        external_id: order_id.to_owned(),
        version: updated_at.to_owned(),
        occurred_at: updated_at.to_owned(),
        payload: Value::Object(payload).to_string(),
    })
}

/// The path and query of the page `cursor` points at.
fn page_path(config: &Config, cursor: &Cursor, page_size: u32) -> String {
    let page_size = page_size.to_string();
    let query = match &cursor.next_token {
        Some(next_token) => encode::pairs(&[
            ("MarketplaceIds", &config.marketplace_id),
            ("NextToken", next_token),
        ]),
        None => encode::pairs(&[
            ("MarketplaceIds", &config.marketplace_id),
            ("LastUpdatedAfter", &cursor.last_updated_after),
            ("MaxResultsPerPage", &page_size),
        ]),
    };
    format!("{ORDERS_PATH}?{query}")
}

/// Returns the batch after `request.cursor`.
pub fn sync(context: &InvocationContext, request: &SyncRequest) -> Result<SyncBatch, SyncError> {
    if request.entity != ENTITY {
        return Err(SyncError::permanent(format!(
            "the Amazon connector syncs {ENTITY}, not {:?}",
            request.entity
        )));
    }
    let config = Config::from_context(context).map_err(SyncError::permanent)?;
    let mut cursor = match &request.cursor {
        Some(text) => Cursor::decode(text).map_err(SyncError::permanent)?,
        None => Cursor::initial(context.now_ms),
    };
    let max_records = request.max_records.max(1);
    let page_size = max_records.min(MAX_PAGE_SIZE);
    let attempt = Attempt {
        operation: Operation::GetOrders,
        subject: "the seller's orders",
        attempt: context.attempt,
        endpoint: &config.endpoint,
    };
    let api = SpApi::new(&config);
    let mut response = api
        .send(Method::Get, &page_path(&config, &cursor, page_size), None)
        .map_err(|error| outcome::sync_call_failure(&error, &attempt))?;
    if response.status == 400 && cursor.next_token.is_some() {
        let refused = AmazonError::from_response(&response);
        log::warn(
            "Amazon refused the NextToken; starting the search again",
            &[("error", &refused.summary())],
        );
        cursor.next_token = None;
        cursor.skip = 0;
        response = api
            .send(Method::Get, &page_path(&config, &cursor, page_size), None)
            .map_err(|error| outcome::sync_call_failure(&error, &attempt))?;
    }
    if !response.is_success() {
        let error = AmazonError::from_response(&response);
        outcome::log_refusal(&error, Operation::GetOrders);
        return Err(outcome::sync_api_failure(&error, &attempt));
    }
    let answer: OrdersAnswer = response.json().map_err(|error| {
        SyncError::retryable(format!(
            "Amazon answered getOrders with something other than an order list: {error}"
        ))
    })?;
    let (batch, left_out) = batch(cursor, answer.payload, max_records);
    for (order_id, why) in &left_out {
        log::warn(
            "order left out of the sync",
            &[("order_id", order_id), ("why", why)],
        );
    }
    log::info(
        "pulled a page of orders",
        &[
            ("records", &batch.records.len().to_string()),
            ("has_more", if batch.has_more { "true" } else { "false" }),
        ],
    );
    Ok(batch)
}

/// The batch of `payload`, the page `cursor` points at, holding at most
/// `max_records` records, and the orders left out of it with why.
fn batch(
    cursor: Cursor,
    payload: OrdersPayload,
    max_records: u32,
) -> (SyncBatch, Vec<(String, &'static str)>) {
    let skip = cursor.skip as usize;
    let remaining: Vec<&AmazonOrder> = payload.orders.iter().skip(skip).collect();
    let taken = remaining.len().min(max_records as usize);
    let mut next = cursor.clone();
    let mut records = Vec::with_capacity(taken);
    let mut left_out = Vec::new();
    for order in &remaining[..taken] {
        if let Some(date) = &order.last_update_date {
            next = next.with_update(date);
        }
        match record(order) {
            Ok(record) => records.push(record),
            Err(why) => left_out.push((order.amazon_order_id.clone().unwrap_or_default(), why)),
        }
    }
    let (next, has_more) = if taken < remaining.len() {
        // The host asked for fewer records than the page holds: come back
        // to the same page for the rest.
        next.skip = cursor.skip + taken as u32;
        (next, true)
    } else if let Some(next_token) = payload.next_token.filter(|token| !token.is_empty()) {
        next.next_token = Some(next_token);
        next.skip = 0;
        (next, true)
    } else {
        // The search is done: the next one starts at the latest update seen.
        let after = next.latest_update.take().unwrap_or(next.last_updated_after);
        let next = Cursor {
            last_updated_after: after,
            next_token: None,
            skip: 0,
            latest_update: None,
        };
        (next, false)
    };
    let batch = SyncBatch {
        records,
        next_cursor: Some(next.encode()),
        has_more,
    };
    (batch, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, status: &str, updated: &str) -> AmazonOrder {
        serde_json::from_value(json!({
            "AmazonOrderId": id,
            "OrderStatus": status,
            "PurchaseDate": "2026-01-01T00:00:00Z",
            "LastUpdateDate": updated,
            "OrderTotal": {"CurrencyCode": "USD", "Amount": "44.98"},
        }))
        .unwrap()
    }

    fn page(orders: Vec<AmazonOrder>, next_token: Option<&str>) -> OrdersPayload {
        OrdersPayload {
            orders,
            next_token: next_token.map(str::to_owned),
        }
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = Cursor {
            last_updated_after: "2026-01-01T00:00:00Z".into(),
            next_token: Some("abc".into()),
            skip: 2,
            latest_update: Some("2026-01-02T00:00:00Z".into()),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        assert!(Cursor::decode("2026-01-01").is_err());
        assert!(Cursor::decode("v1.!!!").is_err());
    }

    #[test]
    fn the_first_run_looks_back_thirty_days() {
        let cursor = Cursor::initial(1_767_225_600_000 + 30 * 86_400_000);
        assert_eq!(cursor.last_updated_after, "2026-01-01T00:00:00Z");
    }

    #[test]
    fn statuses_map_to_the_unified_ones() {
        assert_eq!(unified_status("Pending"), "pending");
        assert_eq!(unified_status("PendingAvailability"), "pending");
        assert_eq!(unified_status("Unshipped"), "unshipped");
        assert_eq!(unified_status("PartiallyShipped"), "partially_shipped");
        assert_eq!(unified_status("Shipped"), "shipped");
        assert_eq!(unified_status("InvoiceUnconfirmed"), "shipped");
        assert_eq!(unified_status("Canceled"), "cancelled");
        assert_eq!(unified_status("Unfulfillable"), "unknown");
        assert_eq!(unified_status("SomethingNew"), "unknown");
    }

    #[test]
    fn an_order_becomes_an_order_payload() {
        let record = record(&order("113-1", "Unshipped", "2026-01-02T03:04:05Z")).unwrap();
        assert_eq!(record.external_id, "113-1");
        assert_eq!(record.version, "2026-01-02T03:04:05Z");
        assert_eq!(record.occurred_at, "2026-01-02T03:04:05Z");
        let payload: Value = serde_json::from_str(&record.payload).unwrap();
        assert_eq!(
            payload,
            json!({
                "marketplace": "amazon",
                "order_id": "113-1",
                "status": "unshipped",
                "marketplace_status": "Unshipped",
                "purchased_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-02T03:04:05Z",
                "line_items": [],
                "total": {"amount": "44.98", "currency": "USD"},
            })
        );
    }

    #[test]
    fn amounts_keep_at_most_two_decimals() {
        assert_eq!(normalize_amount("44.98").as_deref(), Some("44.98"));
        assert_eq!(normalize_amount("1000").as_deref(), Some("1000"));
        assert_eq!(normalize_amount("10.500").as_deref(), Some("10.50"));
        assert_eq!(normalize_amount("10.").as_deref(), Some("10"));
        assert_eq!(normalize_amount("10.555"), None);
        assert_eq!(normalize_amount("-1"), None);
    }

    #[test]
    fn a_page_with_a_next_token_has_more() {
        let cursor = Cursor::initial(1_767_225_600_000);
        let (batch, _) = batch(
            cursor.clone(),
            page(
                vec![order("1", "Shipped", "2026-01-02T00:00:00Z")],
                Some("tok"),
            ),
            10,
        );
        assert!(batch.has_more);
        let next = Cursor::decode(batch.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(next.next_token.as_deref(), Some("tok"));
        assert_eq!(next.last_updated_after, cursor.last_updated_after);
        assert_eq!(next.latest_update.as_deref(), Some("2026-01-02T00:00:00Z"));
    }

    #[test]
    fn the_last_page_moves_the_search_to_the_latest_update() {
        let cursor = Cursor {
            last_updated_after: "2026-01-01T00:00:00Z".into(),
            next_token: Some("tok".into()),
            skip: 0,
            latest_update: Some("2026-01-03T00:00:00Z".into()),
        };
        let (batch, _) = batch(
            cursor,
            page(vec![order("2", "Shipped", "2026-01-02T00:00:00Z")], None),
            10,
        );
        assert!(!batch.has_more);
        let next = Cursor::decode(batch.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(
            next,
            Cursor {
                last_updated_after: "2026-01-03T00:00:00Z".into(),
                next_token: None,
                skip: 0,
                latest_update: None,
            }
        );
    }

    #[test]
    fn a_page_larger_than_the_batch_is_returned_in_parts() {
        let cursor = Cursor::initial(1_767_225_600_000);
        let orders = || {
            vec![
                order("1", "Shipped", "2026-01-02T00:00:00Z"),
                order("2", "Shipped", "2026-01-03T00:00:00Z"),
                order("3", "Shipped", "2026-01-04T00:00:00Z"),
            ]
        };
        let (first, _) = batch(cursor, page(orders(), None), 2);
        assert_eq!(first.records.len(), 2);
        assert!(first.has_more);
        let next = Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(next.skip, 2);
        let (second, _) = batch(next, page(orders(), None), 2);
        assert_eq!(second.records.len(), 1);
        assert_eq!(second.records[0].external_id, "3");
        assert!(!second.has_more);
    }
}
