//! The Merchant API v1 methods the Google connector calls on
//! `merchantapi.googleapis.com`: product inputs (insert, patch, delete), the
//! processed product (get) and data sources (list, get).
//!
//! Every call is admitted the way Google's front end does it: a live access
//! token (401), the Content API scope and access to the merchant account
//! (403), then the account's quota (429, without `Retry-After`). An insert
//! that passes the fake's own checks is also checked against Google's contract and product data
//! specification (`tests/schemas/google/merchant_products_v1.json`).

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use bytes::Bytes;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::api_error::{ApiError, MISSING_CREDENTIALS, RpcStatus};
use super::credentials::Unauthenticated;
use super::input_body::InputBody;
use super::update_mask::UpdateMask;
use super::{CONTENT_SCOPE, GoogleState, ProductChange};
use crate::fakes::spec::{self, GOOGLE_PRODUCTS, Operation, RequestDocument};

/// The Merchant API routes, on `merchantapi.googleapis.com`.
pub(super) fn routes(google: GoogleState) -> Router {
    Router::new()
        .route(
            "/products/v1/accounts/{account}/productInputs:insert",
            post(insert_input),
        )
        .route(
            "/products/v1/accounts/{account}/productInputs/{input}",
            patch(update_input).delete(delete_input),
        )
        .route(
            "/products/v1/accounts/{account}/products/{product}",
            get(get_product),
        )
        .route(
            "/datasources/v1/accounts/{account}/dataSources",
            get(list_data_sources),
        )
        .route(
            "/datasources/v1/accounts/{account}/dataSources/{data_source}",
            get(get_data_source),
        )
        .with_state(google)
}

/// Checks the caller and the account named in the URL, in Google's order,
/// and returns the account id.
fn admit(google: &GoogleState, headers: &HeaderMap, account: &str) -> Result<u64, ApiError> {
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let has_scope = google
        .credentials
        .lock()
        .authenticate(authorization, google.clock.now_ms())
        .map_err(|refusal| match refusal {
            Unauthenticated::Missing => {
                ApiError::new(RpcStatus::Unauthenticated, MISSING_CREDENTIALS)
            }
            Unauthenticated::Invalid => ApiError::from(RpcStatus::Unauthenticated),
        })?
        .iter()
        .any(|scope| scope == CONTENT_SCOPE);
    if !has_scope {
        return Err(ApiError::new(
            RpcStatus::PermissionDenied,
            "Request had insufficient authentication scopes.",
        ));
    }
    let account = google.center.lock().accessible_account(account)?;
    google
        .limiter
        .acquire(account)
        .map_err(|_| ApiError::from(RpcStatus::ResourceExhausted))?;
    Ok(account)
}

/// `productInputs.insert` as Google's contract and product data
/// specification describe it (`tests/schemas/google/merchant_products_v1.json`):
/// a request that breaks it is 400 `INVALID_ARGUMENT` naming each problem.
static INSERT_SPEC: LazyLock<Operation> =
    LazyLock::new(|| Operation::new(&GOOGLE_PRODUCTS, "insertProductInput"));

/// The query parameters, decoded.
fn query_params(raw: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// `POST /products/v1/accounts/{account}/productInputs:insert?dataSource=...`.
async fn insert_input(
    State(google): State<GoogleState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let account = admit(&google, &headers, &account)?;
    let query = query_params(query);
    let mut center = google.center.lock();
    let data_source = center.data_source(account, query.get("dataSource").map(String::as_str))?;
    let input = InputBody::parse(&body)?;
    let document = RequestDocument::new()
        .query(&query)
        .headers(&headers)
        .body(&body)
        .build();
    // The input's own fields (offerId, contentLanguage, feedLabel, required
    // or not) are the fake's own checks below, in Google's words; the
    // schema adds the product data specification's rules on the attributes.
    let violations: Vec<_> = INSERT_SPEC
        .violations(&document)
        .into_iter()
        .filter(|violation| {
            !violation.message.ends_with("is a required property")
                && (!violation.is_in("body")
                    || violation.pointer.starts_with("/body/productAttributes"))
        })
        .collect();
    if !violations.is_empty() {
        return Err(ApiError::invalid_argument(spec::describe(&violations)));
    }
    let inserted = center.insert(account, data_source, input, google.clock.now_ms())?;
    // Journaled under the lock, so the journal's order is the writes' order.
    google
        .changes
        .push(ProductChange::Inserted(inserted.clone()));
    Ok(Json(inserted.to_json()))
}

/// `PATCH /products/v1/accounts/{account}/productInputs/{input}?dataSource=...&updateMask=...`.
async fn update_input(
    State(google): State<GoogleState>,
    Path((account, input)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let account = admit(&google, &headers, &account)?;
    let query = query_params(query);
    let mut center = google.center.lock();
    let data_source = center.data_source(account, query.get("dataSource").map(String::as_str))?;
    let body = InputBody::parse(&body)?;
    let mask = match query.get("updateMask") {
        Some(mask) => UpdateMask::parse(mask)?,
        None => UpdateMask::implied_by(&body),
    };
    let updated = center.update(
        account,
        &input,
        &data_source,
        &body,
        &mask,
        google.clock.now_ms(),
    )?;
    google.changes.push(ProductChange::Updated {
        product: updated.clone(),
        update_mask: mask.paths(),
    });
    Ok(Json(updated.to_json()))
}

/// `DELETE /products/v1/accounts/{account}/productInputs/{input}?dataSource=...`.
async fn delete_input(
    State(google): State<GoogleState>,
    Path((account, input)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let account = admit(&google, &headers, &account)?;
    let query = query_params(query);
    let mut center = google.center.lock();
    let data_source = center.data_source(account, query.get("dataSource").map(String::as_str))?;
    let deleted = center.delete(account, &input, &data_source)?;
    google.changes.push(ProductChange::Deleted(deleted));
    Ok(Json(json!({})))
}

/// `GET /products/v1/accounts/{account}/products/{product}`.
async fn get_product(
    State(google): State<GoogleState>,
    Path((account, product)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let account = admit(&google, &headers, &account)?;
    let center = google.center.lock();
    Ok(Json(center.product(account, &product)?.to_product_json()))
}

/// `GET /datasources/v1/accounts/{account}/dataSources`.
async fn list_data_sources(
    State(google): State<GoogleState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let account = admit(&google, &headers, &account)?;
    let data_sources = google.center.lock().data_sources_json(account);
    // An empty repeated field is left out of Google's JSON.
    if data_sources.is_empty() {
        Ok(Json(json!({})))
    } else {
        Ok(Json(json!({"dataSources": data_sources})))
    }
}

/// `GET /datasources/v1/accounts/{account}/dataSources/{data_source}`.
async fn get_data_source(
    State(google): State<GoogleState>,
    Path((account, data_source)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let account = admit(&google, &headers, &account)?;
    let data_source = google
        .center
        .lock()
        .data_source_json(account, &data_source)?;
    Ok(Json(data_source))
}
