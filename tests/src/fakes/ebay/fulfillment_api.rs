//! The Fulfillment API routes the eBay connector calls, under
//! `/sell/fulfillment/v1`: `GET /order` (getOrders) and
//! `POST /order/{orderId}/shipping_fulfillment` (createShippingFulfillment).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::access::{Access, admit};
use super::api_error::{EbayError, ErrorDetail};
use super::order_query::OrderQuery;
use super::shipping_fulfillment;
use super::{ApiHost, EbayChange, EbayState, SellApi};

/// The Fulfillment API routes.
pub(super) fn routes(ebay: EbayState) -> Router {
    let base = SellApi::Fulfillment.base_path();
    Router::new()
        .route(&format!("{base}/order"), get(get_orders))
        .route(
            &format!("{base}/order/{{order_id}}/shipping_fulfillment"),
            post(create_shipping_fulfillment),
        )
        .with_state(ebay)
}

/// `GET /order?filter=...&limit=...&offset=...`: a page of orders with
/// `href`, `total`, `limit`, `offset`, and `next`/`prev` links when there
/// are such pages.
async fn get_orders(
    State(ebay): State<EbayState>,
    Extension(host): Extension<ApiHost>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, EbayError> {
    admit(&ebay, &headers, SellApi::Fulfillment, Access::Read)?;
    let query = OrderQuery::parse(&params, ebay.clock.now_ms())?;
    let account = ebay.account.lock();
    let (orders, total) = query.select(account.orders());
    let url = |offset| {
        format!(
            "https://{}{}/order?{}",
            host.0,
            SellApi::Fulfillment.base_path(),
            query.query_string(offset)
        )
    };
    let mut page = json!({
        "href": url(None),
        "total": total,
        "orders": orders.iter().map(|order| order.to_json(host.0)).collect::<Vec<_>>(),
    });
    if let Some((limit, offset)) = query.window() {
        page["limit"] = limit.into();
        page["offset"] = offset.into();
        if offset + limit < total {
            page["next"] = url(Some(offset + limit)).into();
        }
        if offset > 0 {
            page["prev"] = url(Some(offset.saturating_sub(limit))).into();
        }
    }
    Ok(Json(page))
}

/// `POST /order/{orderId}/shipping_fulfillment`: 201, the new fulfillment's
/// URL in `Location` and nothing in the body.
async fn create_shipping_fulfillment(
    State(ebay): State<EbayState>,
    Extension(host): Extension<ApiHost>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EbayError> {
    admit(&ebay, &headers, SellApi::Fulfillment, Access::Write)?;
    let now = ebay.clock.now_ms();
    let mut account = ebay.account.lock();
    let serial = account.next_fulfillment_serial();
    let order = account.order_mut(&order_id).ok_or_else(|| {
        EbayError::bad_request(
            ErrorDetail::request(SellApi::Fulfillment, 32100, "Invalid order Id")
                .parameter("orderId", order_id.as_str()),
        )
    })?;
    let fulfillment = shipping_fulfillment::parse(&body, order, now, serial)?;
    let location = order.fulfillment_url(host.0, &fulfillment.fulfillment_id);
    order.record_fulfillment(fulfillment.clone(), now);
    ebay.changes
        .push(EbayChange::ShippingFulfillmentCreated(fulfillment));
    Ok((StatusCode::CREATED, [(LOCATION, location)]).into_response())
}
