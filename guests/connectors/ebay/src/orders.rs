//! Sync of entity `orders`: `GET /sell/fulfillment/v1/order` with a
//! `lastmodifieddate:[<since>..]` filter, oldest change first, one page per
//! batch.
//!
//! The cursor is the `lastModifiedDate` of the last order returned and the
//! ids of the orders returned with exactly that date, as
//! `v1;<date>;<id>,<id>`. The next page starts at that date (the filter is
//! inclusive) and leaves those orders out. Paging by the last date seen
//! rather than by a growing offset means an order modified while paging
//! moves behind the cursor instead of making another one be skipped, and an
//! order modified again comes back with its new date. The first run looks
//! back [`FIRST_RUN_LOOKBACK_DAYS`] days.
//!
//! Each order becomes a record whose payload is the platform's
//! `order.placed`/`order.updated` payload, version its `lastModifiedDate`.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sluice_guest::encode::percent;
use sluice_guest::http::Request;
use sluice_guest::time::parse_rfc3339_ms;
use sluice_guest::{InvocationContext, SyncBatch, SyncError, SyncRecord, SyncRequest, log};

use crate::api::{FULFILLMENT, Refusal, Session};
use crate::config::Account;
use crate::dates;
use crate::shipment::MARKETPLACE;

/// The entity this syncer pulls.
pub const ENTITY: &str = "orders";
/// How far back the first run looks, in days.
pub const FIRST_RUN_LOOKBACK_DAYS: i64 = 90;
/// The largest page `getOrders` serves.
pub const MAX_PAGE: u32 = 200;

const DAY_MS: i64 = 86_400_000;

/// Where the previous batch stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The filter's start: the last `lastModifiedDate` returned.
    pub since_ms: i64,
    /// The orders modified exactly at `since_ms` already returned.
    pub seen: Vec<String>,
}

impl Cursor {
    /// Reads a cursor this connector wrote.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        if parts.next()? != "v1" {
            return None;
        }
        let since_ms = parse_rfc3339_ms(parts.next()?)?;
        let seen = parts
            .next()?
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect();
        if parts.next().is_some() {
            return None;
        }
        Some(Self { since_ms, seen })
    }

    /// The cursor as text.
    pub fn render(&self) -> String {
        format!(
            "v1;{};{}",
            dates::format_ebay(self.since_ms),
            self.seen.join(",")
        )
    }

    /// Whether the order `id` modified at `modified_ms` was returned before.
    pub fn has_seen(&self, id: &str, modified_ms: i64) -> bool {
        modified_ms < self.since_ms
            || (modified_ms == self.since_ms && self.seen.iter().any(|seen| seen == id))
    }

    /// Where returning `returned` (id and modification, oldest first) leaves
    /// the cursor.
    pub fn after(&self, returned: &[(String, i64)]) -> Self {
        let Some((_, last)) = returned.last() else {
            return self.clone();
        };
        let mut seen: Vec<String> = if *last == self.since_ms {
            self.seen.clone()
        } else {
            Vec::new()
        };
        seen.extend(
            returned
                .iter()
                .filter(|(_, at)| at == last)
                .map(|(id, _)| id.clone()),
        );
        Self {
            since_ms: *last,
            seen,
        }
    }
}

#[derive(Debug, Deserialize)]
struct OrdersPage {
    #[serde(default)]
    orders: Vec<EbayOrder>,
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Amount {
    value: String,
    currency: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct PricingSummary {
    total: Option<Amount>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelStatus {
    cancel_state: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EbayLineItem {
    line_item_id: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    quantity: u32,
}

/// An order as `getOrders` lists it; only what the payload needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EbayOrder {
    order_id: String,
    creation_date: Option<String>,
    last_modified_date: Option<String>,
    order_fulfillment_status: Option<String>,
    order_payment_status: Option<String>,
    #[serde(default)]
    cancel_status: CancelStatus,
    #[serde(default)]
    pricing_summary: PricingSummary,
    #[serde(default)]
    line_items: Vec<EbayLineItem>,
}

/// The unified status and the eBay value it was read from: a cancelled
/// order is `cancelled` (`cancelState`), an unpaid one `pending`
/// (`orderPaymentStatus`), others follow `orderFulfillmentStatus`.
pub fn unified_status(
    cancel_state: Option<&str>,
    payment_status: Option<&str>,
    fulfillment_status: Option<&str>,
) -> (&'static str, Option<String>) {
    if cancel_state == Some("CANCELED") {
        return ("cancelled", Some("CANCELED".into()));
    }
    if let Some(payment @ ("PENDING" | "FAILED")) = payment_status {
        return ("pending", Some(payment.into()));
    }
    let status = match fulfillment_status {
        Some("NOT_STARTED") => "unshipped",
        Some("IN_PROGRESS") => "partially_shipped",
        Some("FULFILLED") => "shipped",
        _ => "unknown",
    };
    (status, fulfillment_status.map(str::to_owned))
}

impl EbayOrder {
    /// The date and time the order last changed: `lastModifiedDate`, or
    /// `creationDate` for an order never modified.
    fn modified(&self) -> Option<(&str, i64)> {
        [&self.last_modified_date, &self.creation_date]
            .into_iter()
            .flatten()
            .find_map(|text| parse_rfc3339_ms(text).map(|ms| (text.as_str(), ms)))
    }

    fn payload(&self, modified_ms: i64) -> Value {
        let (status, marketplace_status) = unified_status(
            self.cancel_status.cancel_state.as_deref(),
            self.order_payment_status.as_deref(),
            self.order_fulfillment_status.as_deref(),
        );
        let mut payload = Map::new();
        payload.insert("marketplace".into(), MARKETPLACE.into());
        payload.insert("order_id".into(), self.order_id.clone().into());
        payload.insert("status".into(), status.into());
        if let Some(marketplace_status) = marketplace_status {
            payload.insert("marketplace_status".into(), marketplace_status.into());
        }
        if let Some(created) = self.creation_date.as_deref().and_then(parse_rfc3339_ms) {
            payload.insert(
                "purchased_at".into(),
                dates::format_platform(created).into(),
            );
        }
        payload.insert(
            "updated_at".into(),
            dates::format_platform(modified_ms).into(),
        );
        let line_items: Vec<Value> = self
            .line_items
            .iter()
            .map(|item| {
                let mut line = json!({
                    "line_item_id": item.line_item_id,
                    "quantity": item.quantity,
                });
                if let Some(sku) = item.sku.as_deref().filter(|sku| !sku.is_empty()) {
                    line["sku"] = sku.into();
                }
                line
            })
            .collect();
        payload.insert("line_items".into(), line_items.into());
        if let Some(total) = &self.pricing_summary.total {
            payload.insert(
                "total".into(),
                json!({"amount": total.value, "currency": total.currency}),
            );
        }
        Value::Object(payload)
    }
}

/// Pulls the batch after `request.cursor`.
pub fn sync(context: &InvocationContext, request: &SyncRequest) -> Result<SyncBatch, SyncError> {
    if request.entity != ENTITY {
        return Err(SyncError::permanent(format!(
            "the eBay connector syncs `{ENTITY}` only, not `{}`",
            request.entity
        )));
    }
    let account = Account::from_configuration(context).map_err(SyncError::permanent)?;
    let cursor = match &request.cursor {
        Some(text) => Cursor::parse(text).ok_or_else(|| {
            SyncError::permanent(format!(
                "the cursor {text:?} was not written by this connector"
            ))
        })?,
        None => Cursor {
            since_ms: i64::try_from(context.now_ms).unwrap_or(i64::MAX)
                - FIRST_RUN_LOOKBACK_DAYS * DAY_MS,
            seen: Vec::new(),
        },
    };
    let wanted = request.max_records.min(MAX_PAGE);
    if wanted == 0 {
        return Ok(SyncBatch {
            records: Vec::new(),
            next_cursor: Some(cursor.render()),
            has_more: false,
        });
    }
    // Room for the orders at `since` that were returned already.
    let seen = u32::try_from(cursor.seen.len()).unwrap_or(u32::MAX);
    let limit = wanted.saturating_add(seen).min(MAX_PAGE);
    let filter = format!(
        "lastmodifieddate:[{}..]",
        dates::format_ebay(cursor.since_ms)
    );
    let session = Session::new(&account, context.now_ms);
    let url = session.url(&format!(
        "{FULFILLMENT}/order?filter={}&limit={limit}&offset=0",
        percent(&filter)
    ));
    let action = "list orders";
    let response = session
        .send(Request::get(url))
        .map_err(|error| error.sync_error(&account, action))?;
    if !response.is_success() {
        return Err(Refusal::read(&response, context.now_ms).sync_error(action));
    }
    let page: OrdersPage = response.json().map_err(|error| {
        SyncError::retryable(format!("eBay's order list could not be read: {error}"))
    })?;
    let mut fresh: Vec<(&EbayOrder, &str, i64)> = Vec::new();
    for order in &page.orders {
        let Some((version, modified_ms)) = order.modified() else {
            log::warn(
                "skipped an order without a readable modification date",
                &[("order_id", &order.order_id)],
            );
            continue;
        };
        if !cursor.has_seen(&order.order_id, modified_ms) {
            fresh.push((order, version, modified_ms));
        }
    }
    let more_pages = match page.total {
        Some(total) => total > page.orders.len() as u64,
        None => page.next.is_some(),
    };
    let has_more = fresh.len() > wanted as usize || more_pages;
    fresh.truncate(wanted as usize);
    let returned: Vec<(String, i64)> = fresh
        .iter()
        .map(|(order, _, modified_ms)| (order.order_id.clone(), *modified_ms))
        .collect();
    let mut next = cursor.after(&returned);
    if returned.is_empty() && more_pages {
        // A full page of orders all returned before, all changed at the
        // same millisecond: step past that millisecond rather than loop.
        log::warn(
            "more orders changed at one moment than a page holds; moving past it",
            &[("since", &dates::format_ebay(cursor.since_ms))],
        );
        next = Cursor {
            since_ms: cursor.since_ms + 1,
            seen: Vec::new(),
        };
    }
    let records: Vec<SyncRecord> = fresh
        .iter()
        .map(|(order, version, modified_ms)| SyncRecord {
            external_id: order.order_id.clone(),
            version: (*version).to_owned(),
            occurred_at: dates::format_platform(*modified_ms),
            payload: order.payload(*modified_ms).to_string(),
        })
        .collect();
    log::info(
        "listed eBay orders",
        &[
            ("count", &records.len().to_string()),
            ("since", &dates::format_ebay(cursor.since_ms)),
        ],
    );
    Ok(SyncBatch {
        records,
        next_cursor: Some(next.render()),
        has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_767_225_600_000;

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            since_ms: T + 42,
            seen: vec!["12-34567-89012".into(), "12-34567-89013".into()],
        };
        assert_eq!(
            cursor.render(),
            "v1;2026-01-01T00:00:00.042Z;12-34567-89012,12-34567-89013"
        );
        assert_eq!(Cursor::parse(&cursor.render()), Some(cursor));
        let empty = Cursor {
            since_ms: T,
            seen: Vec::new(),
        };
        assert_eq!(Cursor::parse(&empty.render()), Some(empty));
        assert_eq!(Cursor::parse("v2;2026-01-01T00:00:00.042Z;1"), None);
        assert_eq!(Cursor::parse("v1;yesterday;1"), None);
    }

    #[test]
    fn the_cursor_moves_to_the_last_date_and_keeps_its_orders() {
        let start = Cursor {
            since_ms: T,
            seen: vec!["a".into()],
        };
        assert_eq!(start.after(&[]), start);
        let id = |id: &str, at: i64| (id.to_owned(), at);
        assert_eq!(
            start.after(&[id("b", T), id("c", T + 5), id("d", T + 5)]),
            Cursor {
                since_ms: T + 5,
                seen: vec!["c".into(), "d".into()],
            }
        );
        assert_eq!(
            start.after(&[id("b", T)]),
            Cursor {
                since_ms: T,
                seen: vec!["a".into(), "b".into()],
            }
        );
        assert!(start.has_seen("a", T));
        assert!(!start.has_seen("a", T + 1));
        assert!(!start.has_seen("b", T));
    }

    #[test]
    fn statuses_map_with_an_unknown_fallback() {
        assert_eq!(
            unified_status(Some("NONE_REQUESTED"), Some("PAID"), Some("NOT_STARTED")),
            ("unshipped", Some("NOT_STARTED".into()))
        );
        assert_eq!(
            unified_status(None, Some("PAID"), Some("IN_PROGRESS")).0,
            "partially_shipped"
        );
        assert_eq!(
            unified_status(None, Some("PAID"), Some("FULFILLED")).0,
            "shipped"
        );
        assert_eq!(
            unified_status(
                Some("CANCELED"),
                Some("FULLY_REFUNDED"),
                Some("NOT_STARTED")
            ),
            ("cancelled", Some("CANCELED".into()))
        );
        assert_eq!(
            unified_status(None, Some("PENDING"), Some("NOT_STARTED")),
            ("pending", Some("PENDING".into()))
        );
        assert_eq!(
            unified_status(None, Some("PAID"), Some("ON_HOLD")),
            ("unknown", Some("ON_HOLD".into()))
        );
        assert_eq!(unified_status(None, None, None), ("unknown", None));
    }
}
