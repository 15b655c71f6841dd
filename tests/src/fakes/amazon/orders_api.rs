//! Orders v0: `GET /orders/v0/orders` (getOrders),
//! `GET /orders/v0/orders/{orderId}/orderItems` (getOrderItems) and
//! `POST /orders/v0/orders/{orderId}/shipmentConfirmation` (confirmShipment).
//!
//! Errors use the Orders API's words: 400 `InvalidInput` with a message
//! naming the problem, 404 `NotFound` for an order the token's seller does
//! not have.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Value, json};

use super::gateway::admit;
use super::marketplace::Region;
use super::operation::{ORDERS_PATH, Operation};
use super::orders_query::OrdersPage;
use super::shipment::ShipmentRequest;
use super::sp_api_error::SpApiError;
use super::{AmazonChange, AmazonState};

/// The Orders v0 routes, on every regional SP-API host.
pub(super) fn routes(amazon: AmazonState) -> Router {
    Router::new()
        .route(ORDERS_PATH, get(get_orders))
        .route(
            &format!("{ORDERS_PATH}/{{order_id}}/orderItems"),
            get(get_order_items),
        )
        .route(
            &format!("{ORDERS_PATH}/{{order_id}}/shipmentConfirmation"),
            post(confirm_shipment),
        )
        .with_state(amazon)
}

fn order_not_found() -> SpApiError {
    SpApiError::not_found("NotFound", "The resource specified does not exist.")
}

/// `GET /orders/v0/orders?MarketplaceIds=...&LastUpdatedAfter=...`.
async fn get_orders(
    State(amazon): State<AmazonState>,
    Extension(region): Extension<Region>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, SpApiError> {
    let seller_id = admit(&amazon, &headers, Operation::GetOrders, None)?;
    let marketplace_ids = params
        .get("MarketplaceIds")
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| SpApiError::invalid_input("MarketplaceIds is required."))?;
    let mut central = amazon.central.lock();
    let marketplaces = central
        .marketplaces(&seller_id, marketplace_ids, region)
        .map_err(|reason| SpApiError::invalid_input(format!("MarketplaceIds: {reason}")))?;
    let page = match params.get("NextToken") {
        Some(token) => central
            .page(token)
            .filter(|page| page.is_for(&seller_id))
            .cloned()
            .ok_or_else(|| SpApiError::invalid_input("Invalid NextToken."))?,
        None => OrdersPage::first(&params, &seller_id, &marketplaces, amazon.clock.now_ms())?,
    };
    let (orders, next_page) = page.run(central.orders_of(&seller_id));
    let orders: Vec<Value> = orders.into_iter().map(|order| order.to_json()).collect();
    let mut payload = page.bound_fields();
    payload.insert("Orders".into(), orders.into());
    if let Some(next_page) = next_page {
        payload.insert("NextToken".into(), central.remember_page(next_page).into());
    }
    Ok(Json(json!({"payload": payload})))
}

/// `GET /orders/v0/orders/{orderId}/orderItems`: every line in one page.
async fn get_order_items(
    State(amazon): State<AmazonState>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SpApiError> {
    let seller_id = admit(&amazon, &headers, Operation::GetOrderItems, None)?;
    let central = amazon.central.lock();
    let order = central
        .order_of(&seller_id, &order_id)
        .ok_or_else(order_not_found)?;
    Ok(Json(json!({"payload": order.items_json()})))
}

/// `POST /orders/v0/orders/{orderId}/shipmentConfirmation`: 204 when the
/// package is recorded.
async fn confirm_shipment(
    State(amazon): State<AmazonState>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, SpApiError> {
    let seller_id = admit(&amazon, &headers, Operation::ConfirmShipment, None)?;
    let request = ShipmentRequest::parse(&body).map_err(SpApiError::invalid_input)?;
    let mut central = amazon.central.lock();
    let order = central
        .order_of_mut(&seller_id, &order_id)
        .ok_or_else(order_not_found)?;
    let confirmation = request.confirm(order).map_err(SpApiError::invalid_input)?;
    order.record_shipment(confirmation.clone(), amazon.clock.now_ms());
    amazon
        .changes
        .push(AmazonChange::ShipmentConfirmed(confirmation));
    Ok(StatusCode::NO_CONTENT)
}
