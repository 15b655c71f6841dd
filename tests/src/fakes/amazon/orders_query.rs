//! `getOrders`: its PascalCase query, the search it describes, and paging
//! with `NextToken`.
//!
//! Rules, from the Orders v0 model: `MarketplaceIds` is required; exactly
//! one of `CreatedAfter` and `LastUpdatedAfter`; `CreatedBefore` only with
//! `CreatedAfter` and `LastUpdatedBefore` only with `LastUpdatedAfter`, each
//! no earlier than its `After` and at least two minutes before now;
//! `MaxResultsPerPage` 1 to 100 (default 100). Results come oldest
//! `LastUpdateDate` first. A `NextToken` stands for the whole search, so a
//! request carrying one needs no date and its other filters are not read.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};
use sluice_core::UnixMillis;

use super::marketplace::Marketplace;
use super::order::{FulfillmentChannel, Order, OrderStatus, format_date};
use super::sp_api_error::SpApiError;

/// How far before now a `...Before` bound must be.
const BEFORE_MARGIN: Duration = Duration::from_secs(120);
/// `MaxResultsPerPage`'s maximum and default.
const MAX_RESULTS: usize = 100;

/// Which date a search windows on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateField {
    /// `PurchaseDate`, with `CreatedAfter`/`CreatedBefore`.
    Created,
    /// `LastUpdateDate`, with `LastUpdatedAfter`/`LastUpdatedBefore`.
    LastUpdated,
}

impl DateField {
    fn of(self, order: &Order) -> UnixMillis {
        match self {
            Self::Created => order.purchase_date,
            Self::LastUpdated => order.last_update_date,
        }
    }

    /// The payload field reporting the search's upper bound.
    fn before_field(self) -> &'static str {
        match self {
            Self::Created => "CreatedBefore",
            Self::LastUpdated => "LastUpdatedBefore",
        }
    }
}

/// What a `getOrders` search selects.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Search {
    seller_id: String,
    marketplace_ids: Vec<&'static str>,
    field: DateField,
    after: UnixMillis,
    before: UnixMillis,
    /// Empty means every status.
    statuses: Vec<OrderStatus>,
    /// Empty means both channels.
    channels: Vec<FulfillmentChannel>,
}

impl Search {
    fn matches(&self, order: &Order) -> bool {
        let at = self.field.of(order);
        order.seller_id == self.seller_id
            && self
                .marketplace_ids
                .contains(&order.marketplace_id.as_str())
            && (self.after..=self.before).contains(&at)
            && (self.statuses.is_empty() || self.statuses.contains(&order.status))
            && (self.channels.is_empty() || self.channels.contains(&order.fulfillment_channel))
    }
}

/// One page of a search: what a `NextToken` stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OrdersPage {
    search: Search,
    max_results: usize,
    /// The sort key of the last order already returned.
    after_key: Option<(UnixMillis, String)>,
}

fn sort_key(order: &Order) -> (UnixMillis, String) {
    (order.last_update_date, order.amazon_order_id.clone())
}

impl OrdersPage {
    /// The first page of the search a request without `NextToken` asks for,
    /// at `now`, for `seller_id` in `marketplaces` (already checked).
    pub(super) fn first(
        params: &HashMap<String, String>,
        seller_id: &str,
        marketplaces: &[&'static Marketplace],
        now: UnixMillis,
    ) -> Result<Self, SpApiError> {
        let date = |name: &str| {
            params
                .get(name)
                .map(|text| parse_date(name, text))
                .transpose()
        };
        let created = (date("CreatedAfter")?, date("CreatedBefore")?);
        let updated = (date("LastUpdatedAfter")?, date("LastUpdatedBefore")?);
        let (field, after, before) = match (created, updated) {
            ((Some(after), before), (None, None)) => (DateField::Created, after, before),
            ((None, None), (Some(after), before)) => (DateField::LastUpdated, after, before),
            ((None, None), (None, None)) => {
                return Err(SpApiError::invalid_input(
                    "Either CreatedAfter or LastUpdatedAfter must be set.",
                ));
            }
            ((Some(_), _), (Some(_), _)) => {
                return Err(SpApiError::invalid_input(
                    "CreatedAfter and LastUpdatedAfter cannot both be set.",
                ));
            }
            _ => {
                return Err(SpApiError::invalid_input(
                    "CreatedBefore needs CreatedAfter, LastUpdatedBefore needs LastUpdatedAfter, \
                     and the two date windows cannot be mixed.",
                ));
            }
        };
        let latest_before = now - BEFORE_MARGIN.as_millis() as i64;
        let before_name = field.before_field();
        let before = match before {
            Some(before) if before < after => {
                return Err(SpApiError::invalid_input(format!(
                    "{before_name} must be equal to or after the After date."
                )));
            }
            Some(before) if before > latest_before => {
                return Err(SpApiError::invalid_input(format!(
                    "{before_name} must be at least two minutes before the current time."
                )));
            }
            Some(before) => before,
            None => now,
        };
        Ok(Self {
            search: Search {
                seller_id: seller_id.to_owned(),
                marketplace_ids: marketplaces
                    .iter()
                    .map(|marketplace| marketplace.id)
                    .collect(),
                field,
                after,
                before,
                statuses: parse_list(params, "OrderStatuses", OrderStatus::parse)?,
                channels: parse_list(params, "FulfillmentChannels", FulfillmentChannel::parse)?,
            },
            max_results: max_results(params)?,
            after_key: None,
        })
    }

    /// Whether the page belongs to a search by `seller_id`.
    pub(super) fn is_for(&self, seller_id: &str) -> bool {
        self.search.seller_id == seller_id
    }

    /// This page's orders, oldest `LastUpdateDate` first, and the page after
    /// it when more orders match.
    pub(super) fn run<'a>(
        &self,
        orders: impl Iterator<Item = &'a Order>,
    ) -> (Vec<&'a Order>, Option<OrdersPage>) {
        let mut matching: Vec<&Order> = orders
            .filter(|order| self.search.matches(order))
            .filter(|order| {
                self.after_key
                    .as_ref()
                    .is_none_or(|after| &sort_key(order) > after)
            })
            .collect();
        matching.sort_by_key(|order| sort_key(order));
        let more = matching.len() > self.max_results;
        matching.truncate(self.max_results);
        let next = match matching.last() {
            Some(last) if more => Some(Self {
                after_key: Some(sort_key(last)),
                ..self.clone()
            }),
            _ => None,
        };
        (matching, next)
    }

    /// The `payload` fields besides `Orders` and `NextToken`: the search's
    /// upper bound (`LastUpdatedBefore` or `CreatedBefore`).
    pub(super) fn bound_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(
            self.search.field.before_field().into(),
            format_date(self.search.before).into(),
        );
        fields
    }
}

/// An ISO 8601 date-time (`2026-11-01T00:00:00Z`, any offset, optional
/// fraction) or a bare date (`2026-11-01`, midnight UTC).
fn parse_date(name: &str, text: &str) -> Result<UnixMillis, SpApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.timestamp_millis())
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|day| {
                day.and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis()
            })
        })
        .map_err(|_| SpApiError::invalid_input(format!("{name} {text:?} is not an ISO 8601 date.")))
}

fn parse_list<T>(
    params: &HashMap<String, String>,
    name: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, SpApiError> {
    let Some(list) = params.get(name) else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(|item| {
            parse(item.trim()).ok_or_else(|| {
                SpApiError::invalid_input(format!("{item:?} is not a valid {name} value."))
            })
        })
        .collect()
}

fn max_results(params: &HashMap<String, String>) -> Result<usize, SpApiError> {
    let Some(text) = params.get("MaxResultsPerPage") else {
        return Ok(MAX_RESULTS);
    };
    text.parse()
        .ok()
        .filter(|count| (1..=MAX_RESULTS).contains(count))
        .ok_or_else(|| SpApiError::invalid_input("MaxResultsPerPage must be between 1 and 100."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::amazon::marketplace::{self, MARKETPLACE_CA, MARKETPLACE_US};
    use crate::fakes::amazon::order::OrderSeed;

    const NOW: UnixMillis = 1_800_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn us() -> Vec<&'static Marketplace> {
        vec![marketplace::find(MARKETPLACE_US).unwrap()]
    }

    fn first(pairs: &[(&str, &str)]) -> Result<OrdersPage, SpApiError> {
        OrdersPage::first(&params(pairs), "A1", &us(), NOW)
    }

    fn message(pairs: &[(&str, &str)]) -> String {
        first(pairs).unwrap_err().message
    }

    fn orders(updated_at: &[i64]) -> Vec<Order> {
        let marketplaces = [
            marketplace::find(MARKETPLACE_US).unwrap(),
            marketplace::find(MARKETPLACE_CA).unwrap(),
        ];
        updated_at
            .iter()
            .map(|&at| {
                OrderSeed::new(MARKETPLACE_US, NOW - 10 * HOUR)
                    .last_updated(at)
                    .into_order("A1", &marketplaces)
            })
            .collect()
    }

    #[test]
    fn one_after_date_is_required() {
        assert_eq!(
            message(&[]),
            "Either CreatedAfter or LastUpdatedAfter must be set."
        );
        assert_eq!(
            message(&[
                ("CreatedAfter", "2026-01-01"),
                ("LastUpdatedAfter", "2026-01-01")
            ]),
            "CreatedAfter and LastUpdatedAfter cannot both be set."
        );
        assert!(
            message(&[
                ("LastUpdatedAfter", "2026-01-01"),
                ("CreatedBefore", "2026-01-02")
            ])
            .starts_with("CreatedBefore needs CreatedAfter")
        );
        assert!(first(&[("LastUpdatedAfter", "2026-01-01T00:00:00Z")]).is_ok());
    }

    #[test]
    fn dates_and_limits_are_checked() {
        assert_eq!(
            message(&[("CreatedAfter", "yesterday")]),
            "CreatedAfter \"yesterday\" is not an ISO 8601 date."
        );
        let just_now = format_date(NOW - 60_000);
        assert_eq!(
            message(&[("CreatedAfter", "2020-01-01"), ("CreatedBefore", &just_now)]),
            "CreatedBefore must be at least two minutes before the current time."
        );
        assert_eq!(
            message(&[
                ("CreatedAfter", "2020-01-02"),
                ("CreatedBefore", "2020-01-01")
            ]),
            "CreatedBefore must be equal to or after the After date."
        );
        assert_eq!(
            message(&[("CreatedAfter", "2020-01-01"), ("MaxResultsPerPage", "101")]),
            "MaxResultsPerPage must be between 1 and 100."
        );
        assert_eq!(
            message(&[
                ("CreatedAfter", "2020-01-01"),
                ("OrderStatuses", "Unshipped,Lost")
            ]),
            "\"Lost\" is not a valid OrderStatuses value."
        );
    }

    #[test]
    fn pages_follow_last_update_date_and_end_without_a_next_page() {
        let orders = orders(&[NOW - 3 * HOUR, NOW - HOUR, NOW - 2 * HOUR]);
        let page = first(&[
            ("LastUpdatedAfter", &format_date(NOW - 4 * HOUR)),
            ("MaxResultsPerPage", "2"),
        ])
        .unwrap();

        let (first_orders, next) = page.run(orders.iter());
        let updated: Vec<i64> = first_orders
            .iter()
            .map(|order| order.last_update_date)
            .collect();
        assert_eq!(updated, [NOW - 3 * HOUR, NOW - 2 * HOUR]);

        let (second_orders, after) = next.unwrap().run(orders.iter());
        assert_eq!(second_orders.len(), 1);
        assert_eq!(second_orders[0].last_update_date, NOW - HOUR);
        assert!(after.is_none());
    }

    #[test]
    fn the_window_statuses_and_seller_filter_orders() {
        let mut orders = orders(&[NOW - 3 * HOUR, NOW - HOUR]);
        orders[1].status = OrderStatus::Canceled;
        let page = first(&[
            ("LastUpdatedAfter", &format_date(NOW - 2 * HOUR)),
            ("OrderStatuses", "Unshipped,Canceled"),
        ])
        .unwrap();
        let (found, _) = page.run(orders.iter());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, OrderStatus::Canceled);

        let unshipped_only = first(&[
            ("LastUpdatedAfter", "2020-01-01"),
            ("OrderStatuses", "Unshipped"),
        ])
        .unwrap();
        assert_eq!(unshipped_only.run(orders.iter()).0.len(), 1);
        assert!(!unshipped_only.is_for("A2"));
    }

    #[test]
    fn the_payload_reports_the_searchs_upper_bound() {
        let page = first(&[("CreatedAfter", "2020-01-01")]).unwrap();
        assert_eq!(
            Value::Object(page.bound_fields()),
            serde_json::json!({"CreatedBefore": format_date(NOW)})
        );
    }
}
