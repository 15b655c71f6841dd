//! `getOrders`' query: `filter` (`creationdate:[start..end]`,
//! `lastmodifieddate:[start..]`, `orderfulfillmentstatus:{A|B}`), `limit`
//! (1 to 200, default 50), `offset` (default 0), or `orderIds` (up to 50,
//! when the others are not read).
//!
//! Errors are the Fulfillment API's: 30700 unknown filter, 30800 bad filter
//! value, 30810 bad date, 30820 no start date, 30840 start after end, 30850
//! a date in the future, 30900 too many order ids, 31000 bad offset, 31100
//! bad limit. With a `lastmodifieddate` filter, orders come oldest
//! `lastModifiedDate` first; otherwise oldest `creationDate` first.

use std::collections::HashMap;

use chrono::DateTime;
use sluice_core::UnixMillis;

use super::SellApi;
use super::api_error::{EbayError, ErrorDetail};
use super::order::{EbayOrder, FulfillmentStatus};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
const MAX_ORDER_IDS: usize = 50;

fn bad(error_id: u32, message: String) -> EbayError {
    EbayError::bad_request(ErrorDetail::request(
        SellApi::Fulfillment,
        error_id,
        message,
    ))
}

/// An inclusive date range; an open end means "until now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DateRange {
    start: UnixMillis,
    end: Option<UnixMillis>,
}

impl DateRange {
    fn parse(name: &str, value: &str, now: UnixMillis) -> Result<Self, EbayError> {
        let invalid_value = || {
            bad(
                30800,
                format!("Invalid filter value {value} for filter {name}"),
            )
        };
        let (start, end) = value
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|range| range.split_once(".."))
            .ok_or_else(invalid_value)?;
        if start.is_empty() {
            return Err(bad(30820, "Start date is missing".into()));
        }
        let date = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.timestamp_millis())
                .map_err(|_| bad(30810, "Invalid date format".into()))
        };
        let start = date(start)?;
        let end = if end.is_empty() {
            None
        } else {
            Some(date(end)?)
        };
        if end.is_some_and(|end| start > end) {
            return Err(bad(30840, "Start date should be before end date".into()));
        }
        if start > now || end.is_some_and(|end| end > now) {
            return Err(bad(
                30850,
                "Start and end dates can't be in the future".into(),
            ));
        }
        Ok(Self { start, end })
    }

    fn contains(&self, at: UnixMillis) -> bool {
        at >= self.start && self.end.is_none_or(|end| at <= end)
    }
}

/// Which orders a `getOrders` call selects, and which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OrderQuery {
    /// `orderIds`: these orders, in the order given.
    ById(Vec<String>),
    /// `filter`, `limit`, `offset`.
    Search {
        /// The raw `filter`, for the page links.
        filter: Option<String>,
        creation: Option<DateRange>,
        last_modified: Option<DateRange>,
        statuses: Vec<FulfillmentStatus>,
        limit: usize,
        offset: usize,
    },
}

fn statuses(name: &str, value: &str) -> Result<Vec<FulfillmentStatus>, EbayError> {
    let invalid_value = || {
        bad(
            30800,
            format!("Invalid filter value {value} for filter {name}"),
        )
    };
    let mut statuses: Vec<FulfillmentStatus> = value
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .ok_or_else(invalid_value)?
        .split('|')
        .map(|status| FulfillmentStatus::parse(status.trim()).ok_or_else(invalid_value))
        .collect::<Result<_, _>>()?;
    statuses.sort_by_key(|status| status.name());
    // eBay supports these two combinations only.
    let supported = [
        [FulfillmentStatus::InProgress, FulfillmentStatus::NotStarted],
        [FulfillmentStatus::Fulfilled, FulfillmentStatus::InProgress],
    ];
    if supported.iter().any(|combination| statuses == combination) {
        Ok(statuses)
    } else {
        Err(invalid_value())
    }
}

fn number(params: &HashMap<String, String>, name: &str, default: usize) -> Option<usize> {
    params
        .get(name)
        .map_or(Some(default), |text| text.parse().ok())
}

impl OrderQuery {
    /// Reads the query at `now`.
    pub(super) fn parse(
        params: &HashMap<String, String>,
        now: UnixMillis,
    ) -> Result<Self, EbayError> {
        if let Some(ids) = params.get("orderIds") {
            let ids: Vec<String> = ids.split(',').map(|id| id.trim().to_owned()).collect();
            if ids.len() > MAX_ORDER_IDS {
                return Err(bad(
                    30900,
                    format!(
                        "Exceeded maximum number of order IDs (the current limit is {MAX_ORDER_IDS})"
                    ),
                ));
            }
            return Ok(Self::ById(ids));
        }
        let limit = number(params, "limit", DEFAULT_LIMIT)
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| bad(31100, format!("Invalid limit: {}", params["limit"])))?;
        let offset = number(params, "offset", 0)
            .ok_or_else(|| bad(31000, format!("Invalid offset: {}", params["offset"])))?;
        let mut creation = None;
        let mut last_modified = None;
        let mut wanted_statuses = Vec::new();
        let filter = params.get("filter").filter(|filter| !filter.is_empty());
        for criterion in filter.iter().flat_map(|filter| filter.split(',')) {
            let (name, value) = criterion
                .trim()
                .split_once(':')
                .unwrap_or((criterion.trim(), ""));
            match name {
                "creationdate" => creation = Some(DateRange::parse(name, value, now)?),
                "lastmodifieddate" => last_modified = Some(DateRange::parse(name, value, now)?),
                "orderfulfillmentstatus" => wanted_statuses = statuses(name, value)?,
                _ => return Err(bad(30700, format!("Invalid filter name: {name}"))),
            }
        }
        Ok(Self::Search {
            filter: filter.cloned(),
            // eBay reads only creationdate when both dates are given.
            last_modified: last_modified.filter(|_| creation.is_none()),
            creation,
            statuses: wanted_statuses,
            limit,
            offset,
        })
    }

    /// The matching orders in result order, and how many match in all.
    pub(super) fn select<'a>(
        &self,
        orders: impl Iterator<Item = &'a EbayOrder>,
    ) -> (Vec<&'a EbayOrder>, usize) {
        match self {
            Self::ById(ids) => {
                let orders: Vec<&EbayOrder> = orders.collect();
                let found: Vec<&EbayOrder> = ids
                    .iter()
                    .filter_map(|id| orders.iter().copied().find(|order| &order.order_id == id))
                    .collect();
                let total = found.len();
                (found, total)
            }
            Self::Search {
                creation,
                last_modified,
                statuses,
                limit,
                offset,
                ..
            } => {
                let mut matching: Vec<&EbayOrder> = orders
                    .filter(|order| {
                        creation.is_none_or(|range| range.contains(order.creation_date))
                    })
                    .filter(|order| {
                        last_modified.is_none_or(|range| range.contains(order.last_modified_date))
                    })
                    .filter(|order| {
                        statuses.is_empty() || statuses.contains(&order.fulfillment_status())
                    })
                    .collect();
                if last_modified.is_some() {
                    matching
                        .sort_by_key(|order| (order.last_modified_date, order.order_id.clone()));
                } else {
                    matching.sort_by_key(|order| (order.creation_date, order.order_id.clone()));
                }
                let total = matching.len();
                let page = matching.into_iter().skip(*offset).take(*limit).collect();
                (page, total)
            }
        }
    }

    /// The query string of this page, or of the page `offset` for a search.
    pub(super) fn query_string(&self, offset: Option<usize>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        match self {
            Self::ById(ids) => {
                query.append_pair("orderIds", &ids.join(","));
            }
            Self::Search {
                filter,
                limit,
                offset: current,
                ..
            } => {
                if let Some(filter) = filter {
                    query.append_pair("filter", filter);
                }
                query
                    .append_pair("limit", &limit.to_string())
                    .append_pair("offset", &offset.unwrap_or(*current).to_string());
            }
        }
        query.finish()
    }

    /// `limit` and `offset` of a search (`None` for `orderIds`).
    pub(super) fn window(&self) -> Option<(usize, usize)> {
        match self {
            Self::ById(_) => None,
            Self::Search { limit, offset, .. } => Some((*limit, *offset)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::ebay::order::EbayOrderSeed;

    const NOW: UnixMillis = 1_780_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn error_id(pairs: &[(&str, &str)]) -> u32 {
        OrderQuery::parse(&params(pairs), NOW).unwrap_err().errors[0].error_id
    }

    fn at(ms: UnixMillis) -> String {
        sluice_core::clock::format_rfc3339(ms)
    }

    #[test]
    fn filters_limits_and_offsets_are_checked_with_ebays_ids() {
        assert_eq!(
            error_id(&[("filter", "modified:[2026-01-01T00:00:00.000Z..]")]),
            30700
        );
        assert_eq!(
            error_id(&[("filter", "lastmodifieddate:2026-01-01T00:00:00.000Z")]),
            30800
        );
        assert_eq!(
            error_id(&[("filter", "lastmodifieddate:[2026-01-01..]")]),
            30810
        );
        assert_eq!(error_id(&[("filter", "lastmodifieddate:[..]")]), 30820);
        let backwards = format!("creationdate:[{}..{}]", at(NOW - HOUR), at(NOW - 2 * HOUR));
        assert_eq!(error_id(&[("filter", &backwards)]), 30840);
        let future = format!("lastmodifieddate:[{}..]", at(NOW + HOUR));
        assert_eq!(error_id(&[("filter", &future)]), 30850);
        assert_eq!(
            error_id(&[("filter", "orderfulfillmentstatus:{NOT_STARTED|FULFILLED}")]),
            30800
        );
        assert_eq!(error_id(&[("limit", "201")]), 31100);
        assert_eq!(error_id(&[("limit", "0")]), 31100);
        assert_eq!(error_id(&[("offset", "-1")]), 31000);
        let many: Vec<String> = (0..51).map(|n| n.to_string()).collect();
        assert_eq!(error_id(&[("orderIds", &many.join(","))]), 30900);
    }

    #[test]
    fn a_last_modified_search_pages_oldest_modification_first() {
        let orders: Vec<EbayOrder> = [3, 1, 2]
            .into_iter()
            .map(|hours_ago| {
                EbayOrderSeed::new(NOW - 10 * HOUR)
                    .last_modified(NOW - hours_ago * HOUR)
                    .line_item("MUG-1", 1, "1")
                    .into_order()
            })
            .collect();
        let filter = format!("lastmodifieddate:[{}..]", at(NOW - 4 * HOUR));
        let query =
            OrderQuery::parse(&params(&[("filter", &filter), ("limit", "2")]), NOW).unwrap();
        let (page, total) = query.select(orders.iter());
        assert_eq!(total, 3);
        let modified: Vec<i64> = page.iter().map(|order| order.last_modified_date).collect();
        assert_eq!(modified, [NOW - 3 * HOUR, NOW - 2 * HOUR]);
        assert_eq!(query.window(), Some((2, 0)));
        assert!(query.query_string(Some(2)).ends_with("limit=2&offset=2"));
    }

    #[test]
    fn fulfillment_status_filters_take_the_supported_pairs() {
        let query = OrderQuery::parse(
            &params(&[("filter", "orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}")]),
            NOW,
        )
        .unwrap();
        let open = EbayOrderSeed::new(NOW)
            .line_item("MUG-1", 1, "1")
            .into_order();
        assert_eq!(query.select([open].iter()).1, 1);
    }

    #[test]
    fn order_ids_select_those_orders_only() {
        let orders: Vec<EbayOrder> = (0..3)
            .map(|_| {
                EbayOrderSeed::new(NOW)
                    .line_item("MUG-1", 1, "1")
                    .into_order()
            })
            .collect();
        let wanted = format!("{},{}", orders[2].order_id, orders[0].order_id);
        let query =
            OrderQuery::parse(&params(&[("orderIds", &wanted), ("limit", "x")]), NOW).unwrap();
        let (found, total) = query.select(orders.iter());
        assert_eq!(total, 2);
        assert_eq!(found[0].order_id, orders[2].order_id);
        assert_eq!(query.window(), None);
    }
}
