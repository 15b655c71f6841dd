//! The Inventory API routes the eBay connector calls, under
//! `/sell/inventory/v1`: `PUT|GET /inventory_item/{sku}`, `POST|GET /offer`,
//! `POST /offer/{offerId}/publish` and `POST /bulk_update_price_quantity`.
//!
//! Writes with a body need `Content-Type: application/json` and a
//! `Content-Language` eBay supports (`en-US`, ...); anything else is 400
//! errorId 25709 `Invalid value for header <name>.`.
//!
//! Every write that passes the fake's own checks is also checked against
//! eBay's contract
//! (`tests/schemas/ebay/sell_inventory_v1.json`: path, headers and body): a
//! SKU eBay refuses is errorId 25707, a header 25709 naming the header, a
//! value of the wrong type 2004 (as eBay's deserializer answers), any other
//! field 25709 `Invalid value for <field>.` with the rule broken.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use http::header::{CONTENT_LANGUAGE, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::access::{Access, admit};
use super::api_error::{EbayError, ErrorDetail};
use super::bulk_update;
use super::ids;
use super::inventory_item::{InventoryItem, check_sku, invalid_sku};
use super::json_fields::serialize_error;
use super::offer::{Offer, invalid_value};
use super::seller_account::offer_not_available;
use super::{ApiHost, EbayChange, EbayState, SellApi};
use crate::fakes::spec::{EBAY_INVENTORY, Operation, RequestDocument, Violation};

static ITEM_SPEC: LazyLock<Operation> =
    LazyLock::new(|| Operation::new(&EBAY_INVENTORY, "createOrReplaceInventoryItem"));
static OFFER_SPEC: LazyLock<Operation> =
    LazyLock::new(|| Operation::new(&EBAY_INVENTORY, "createOffer"));
static BULK_SPEC: LazyLock<Operation> =
    LazyLock::new(|| Operation::new(&EBAY_INVENTORY, "bulkUpdatePriceQuantity"));

/// Checks a write against eBay's contract; the first violation is the
/// error, in eBay's words.
fn conform(spec: &Operation, document: RequestDocument, body: &[u8]) -> Result<(), EbayError> {
    let document = document.body(body).build();
    let Err(violations) = spec.check(&document) else {
        return Ok(());
    };
    let first: &Violation = &violations[0];
    let field = first.field();
    if first.is_in("path") || field.ends_with("sku") {
        let sku = document
            .pointer(&first.pointer)
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(invalid_sku(sku));
    }
    if first.is_in("headers") {
        let name = match field.as_str() {
            "content-language" => "Content-Language",
            "content-type" => "Content-Type",
            "" => {
                if first.message.contains("content-type") {
                    "Content-Type"
                } else {
                    "Content-Language"
                }
            }
            other => other,
        };
        return Err(invalid_header(name));
    }
    if first.message.contains("is not of type") {
        // eBay's deserializer refuses a wrong type before any rule.
        return Err(serialize_error(&field));
    }
    Err(EbayError::bad_request(invalid_value(
        &field,
        &first.message,
    )))
}

/// The `Content-Language` values eBay's Inventory API takes.
const CONTENT_LANGUAGES: [&str; 17] = [
    "en-US", "en-CA", "fr-CA", "en-GB", "en-AU", "en-IE", "de-DE", "de-AT", "de-CH", "fr-FR",
    "fr-BE", "nl-BE", "nl-NL", "it-IT", "es-ES", "pl-PL", "zh-HK",
];

/// The Inventory API routes.
pub(super) fn routes(ebay: EbayState) -> Router {
    let base = SellApi::Inventory.base_path();
    Router::new()
        .route(
            &format!("{base}/inventory_item/{{sku}}"),
            put(put_inventory_item).get(get_inventory_item),
        )
        .route(&format!("{base}/offer"), post(create_offer).get(get_offers))
        // eBay's contract spells the path with a trailing slash; clients send both.
        .route(
            &format!("{base}/offer/{{offer_id}}/publish"),
            post(publish_offer),
        )
        .route(
            &format!("{base}/offer/{{offer_id}}/publish/"),
            post(publish_offer),
        )
        .route(
            &format!("{base}/bulk_update_price_quantity"),
            post(bulk_update_price_quantity),
        )
        .with_state(ebay)
}

fn invalid_header(name: &str) -> EbayError {
    EbayError::bad_request(
        ErrorDetail::request(
            SellApi::Inventory,
            25709,
            format!("Invalid value for header {name}."),
        )
        .parameter("fieldName", name),
    )
}

/// Checks the content headers of a write and returns its locale (`en_US`).
fn content_locale(headers: &HeaderMap) -> Result<String, EbayError> {
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let is_json = header(CONTENT_TYPE)
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    if !is_json {
        return Err(invalid_header("Content-Type"));
    }
    header(CONTENT_LANGUAGE)
        .filter(|language| CONTENT_LANGUAGES.contains(language))
        .map(|language| language.replace('-', "_"))
        .ok_or_else(|| invalid_header("Content-Language"))
}

/// `PUT /inventory_item/{sku}` (createOrReplaceInventoryItem): 204.
async fn put_inventory_item(
    State(ebay): State<EbayState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, EbayError> {
    admit(&ebay, &headers, SellApi::Inventory, Access::Write)?;
    let locale = content_locale(&headers)?;
    let item = InventoryItem::parse(&sku, &locale, &body)?;
    let document = RequestDocument::new()
        .path(&[("sku", &sku)])
        .headers(&headers);
    conform(&ITEM_SPEC, document, &body)?;
    let mut account = ebay.account.lock();
    account.put_item(item.clone());
    // Journaled under the lock, so the journal's order is the writes' order.
    ebay.changes.push(EbayChange::InventoryItemPut(item));
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /inventory_item/{sku}` (getInventoryItem).
async fn get_inventory_item(
    State(ebay): State<EbayState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, EbayError> {
    admit(&ebay, &headers, SellApi::Inventory, Access::Read)?;
    check_sku(&sku)?;
    let account = ebay.account.lock();
    let item = account.inventory_item(&sku).ok_or_else(|| {
        EbayError::new(
            StatusCode::NOT_FOUND,
            ErrorDetail::request(
                SellApi::Inventory,
                25710,
                "We didn't find the resource/entity you are requesting. Please verify the request",
            ),
        )
    })?;
    Ok(Json(item.to_json()))
}

/// `POST /offer` (createOffer): 201 `{"offerId":"..."}`.
async fn create_offer(
    State(ebay): State<EbayState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EbayError> {
    admit(&ebay, &headers, SellApi::Inventory, Access::Write)?;
    content_locale(&headers)?;
    let offer = Offer::parse(&body, ids::offer_id())?;
    conform(&OFFER_SPEC, RequestDocument::new().headers(&headers), &body)?;
    let mut account = ebay.account.lock();
    let offer = account.create_offer(offer)?;
    let body = json!({"offerId": offer.offer_id});
    ebay.changes.push(EbayChange::OfferCreated(offer));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A `limit` or `offset` of `getOffers`: a whole number (25706 otherwise).
fn paging(
    params: &HashMap<String, String>,
    name: &str,
    default: usize,
) -> Result<usize, EbayError> {
    params.get(name).map_or(Ok(default), |value| {
        value.parse().map_err(|_| {
            EbayError::bad_request(
                ErrorDetail::request(
                    SellApi::Inventory,
                    25706,
                    "You have provided invalid pagination values.",
                )
                .parameter(name, value.as_str()),
            )
        })
    })
}

/// `GET /offer?sku=...` (getOffers): the SKU's offers, 404 when it has
/// none. A SKU has at most one offer per marketplace, so one page always
/// holds them.
async fn get_offers(
    State(ebay): State<EbayState>,
    Extension(host): Extension<ApiHost>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, EbayError> {
    admit(&ebay, &headers, SellApi::Inventory, Access::Read)?;
    let sku = params
        .get("sku")
        .ok_or_else(|| EbayError::bad_request(invalid_value("sku", "The field is required.")))?;
    check_sku(sku)?;
    let limit = paging(&params, "limit", 100)?;
    paging(&params, "offset", 0)?;
    let account = ebay.account.lock();
    let offers: Vec<Value> = account
        .offers_of(sku, params.get("marketplace_id").map(String::as_str))
        .into_iter()
        .map(Offer::to_json)
        .collect();
    if offers.is_empty() {
        return Err(offer_not_available(sku));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sku", sku)
        .finish();
    Ok(Json(json!({
        "href": format!("https://{}{}/offer?{query}", host.0, SellApi::Inventory.base_path()),
        "limit": limit,
        "size": offers.len(),
        "total": offers.len(),
        "offers": offers,
    })))
}

/// `POST /offer/{offerId}/publish` (publishOffer): 200 `{"listingId":"..."}`.
async fn publish_offer(
    State(ebay): State<EbayState>,
    Path(offer_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, EbayError> {
    admit(&ebay, &headers, SellApi::Inventory, Access::Write)?;
    let mut account = ebay.account.lock();
    let offer = account.publish(&offer_id)?;
    let body = json!({"listingId": offer.listing_id});
    ebay.changes.push(EbayChange::OfferPublished(offer));
    Ok(Json(body))
}

/// `POST /bulk_update_price_quantity`: 200 or 207 with one answer per
/// offer or SKU.
async fn bulk_update_price_quantity(
    State(ebay): State<EbayState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EbayError> {
    admit(&ebay, &headers, SellApi::Inventory, Access::Write)?;
    content_locale(&headers)?;
    conform(&BULK_SPEC, RequestDocument::new().headers(&headers), &body)?;
    let mut account = ebay.account.lock();
    let outcome = bulk_update::run(&mut account, &body)?;
    for update in outcome.updates {
        ebay.changes.push(EbayChange::PriceQuantityUpdated(update));
    }
    Ok((outcome.status, Json(outcome.body)).into_response())
}
