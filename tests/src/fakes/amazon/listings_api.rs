//! Listings Items 2021-08-01:
//! `PUT|PATCH|GET|DELETE /listings/2021-08-01/items/{sellerId}/{sku}`.
//!
//! Every put and patch that passes the fake's own checks is also checked
//! against the official model
//! (`tests/schemas/amazon/listings_items_2021-08-01.json`: query, headers
//! and body; for example `includedData=identifiers` only with
//! `mode=VALIDATION_PREVIEW`). Malformed requests are 400 `BAD_REQUEST`
//! with `details` naming the problem; an incomplete or invalid listing is HTTP 200 with
//! `status: INVALID` and issues ([`listing_rules`](super::listing_rules)).
//! `mode=VALIDATION_PREVIEW` answers `VALID` or `INVALID` and stores
//! nothing. `issueLocale` is accepted and, as Amazon does for locales it has
//! no translation for, messages stay in English.
//!
//! Where Amazon documents no answer the fake chooses: `getListingsItem` of a
//! SKU not listed in every requested marketplace is 404 `NOT_FOUND`
//! (`SKU '<sku>' not found in marketplace <id>`); `deleteListingsItem` of an
//! unknown SKU is `ACCEPTED`, so a retried delete succeeds; a patch of an
//! unknown SKU is checked as a new `LISTING` built from the patches alone,
//! so it is usually `INVALID`.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use axum::extract::{Path, Query, State};
use axum::routing::put;
use axum::{Extension, Json, Router};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Map, Value, json};

use super::gateway::admit;
use super::ids;
use super::listing::Listing;
use super::listing_body::{ListingContent, PatchBody, Requirements};
use super::listing_patch;
use super::listing_rules::Issue;
use super::marketplace::{Marketplace, Region};
use super::operation::{LISTINGS_PREFIX, Operation};
use super::sp_api_error::SpApiError;
use super::{AmazonChange, AmazonState};
use crate::fakes::spec::{self, AMAZON_LISTINGS, Operation as SpecOperation, RequestDocument};

static PUT_SPEC: LazyLock<SpecOperation> =
    LazyLock::new(|| SpecOperation::new(&AMAZON_LISTINGS, "putListingsItem"));
static PATCH_SPEC: LazyLock<SpecOperation> =
    LazyLock::new(|| SpecOperation::new(&AMAZON_LISTINGS, "patchListingsItem"));

/// Checks a submission against the official model: 400 `BAD_REQUEST`
/// naming every violation otherwise.
fn conform(
    spec: &SpecOperation,
    seller_id: &str,
    sku: &str,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), SpApiError> {
    let document = RequestDocument::new()
        .path(&[("sellerId", seller_id), ("sku", sku)])
        .query(params)
        .headers(headers)
        .body(body)
        .build();
    spec.check(&document)
        .map_err(|violations| SpApiError::listings_bad_request(spec::describe(&violations)))
}

/// What an operation reads from the query besides `marketplaceIds`.
struct QuerySpec {
    /// The `includedData` values it takes; none means it reads no `includedData`.
    data_sets: &'static [&'static str],
    /// The data set returned when `includedData` is absent.
    default_data_set: &'static str,
    /// Whether it takes `mode=VALIDATION_PREVIEW`.
    takes_mode: bool,
}

const SUBMISSION_QUERY: QuerySpec = QuerySpec {
    data_sets: &["identifiers", "issues"],
    default_data_set: "issues",
    takes_mode: true,
};

const ITEM_QUERY: QuerySpec = QuerySpec {
    data_sets: &[
        "summaries",
        "attributes",
        "issues",
        "offers",
        "fulfillmentAvailability",
        "procurement",
        "relationships",
        "productTypes",
    ],
    default_data_set: "summaries",
    takes_mode: false,
};

const DELETE_QUERY: QuerySpec = QuerySpec {
    data_sets: &[],
    default_data_set: "issues",
    takes_mode: false,
};

/// The Listings Items routes, on every regional SP-API host.
pub(super) fn routes(amazon: AmazonState) -> Router {
    Router::new()
        .route(
            &format!("{LISTINGS_PREFIX}{{seller_id}}/{{sku}}"),
            put(put_item)
                .patch(patch_item)
                .get(get_item)
                .delete(delete_item),
        )
        .with_state(amazon)
}

type Params = HashMap<String, String>;

/// The query parameters every Listings Items call shares.
struct ListingsQuery {
    marketplaces: Vec<&'static Marketplace>,
    included: BTreeSet<&'static str>,
    preview: bool,
}

impl ListingsQuery {
    /// Reads the query of a call by `seller_id` through `region`'s endpoint.
    fn parse(
        amazon: &AmazonState,
        seller_id: &str,
        region: Region,
        params: &Params,
        spec: &QuerySpec,
    ) -> Result<Self, SpApiError> {
        let marketplace_ids = params
            .get("marketplaceIds")
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| SpApiError::listings_bad_request("marketplaceIds is required"))?;
        let marketplaces = amazon
            .central
            .lock()
            .marketplaces(seller_id, marketplace_ids, region)
            .map_err(|reason| {
                SpApiError::listings_bad_request(format!("marketplaceIds: {reason}"))
            })?;
        let requested_data = params
            .get("includedData")
            .filter(|_| !spec.data_sets.is_empty());
        let included = match requested_data {
            None => BTreeSet::from([spec.default_data_set]),
            Some(list) => list
                .split(',')
                .map(|name| {
                    spec.data_sets
                        .iter()
                        .copied()
                        .find(|known| *known == name)
                        .ok_or_else(|| {
                            SpApiError::listings_bad_request(format!(
                                "includedData: {name:?} is not one of {}",
                                spec.data_sets.join(", ")
                            ))
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let mode = params.get("mode").filter(|_| spec.takes_mode);
        let preview = match mode.map(String::as_str) {
            None => false,
            Some("VALIDATION_PREVIEW") => true,
            Some(other) => {
                return Err(SpApiError::listings_bad_request(format!(
                    "mode: {other:?} is not VALIDATION_PREVIEW"
                )));
            }
        };
        Ok(Self {
            marketplaces,
            included,
            preview,
        })
    }
}

/// The answer to a put, patch or delete.
struct Submission<'a> {
    id: String,
    sku: &'a str,
    issues: Vec<Issue>,
    preview: bool,
}

impl Submission<'_> {
    /// Whether the listing passed: stored, or `VALID` in a preview.
    fn passed(&self) -> bool {
        self.issues.is_empty()
    }

    fn stores(&self) -> bool {
        self.passed() && !self.preview
    }

    fn to_json(&self, seller_id: &str, query: &ListingsQuery) -> Value {
        let status = match (self.passed(), self.preview) {
            (false, _) => "INVALID",
            (true, true) => "VALID",
            (true, false) => "ACCEPTED",
        };
        let mut body = Map::new();
        body.insert("sku".into(), self.sku.into());
        body.insert("status".into(), status.into());
        body.insert("submissionId".into(), self.id.clone().into());
        if query.included.contains("issues") {
            let issues: Vec<Value> = self.issues.iter().map(Issue::to_json).collect();
            body.insert("issues".into(), issues.into());
        }
        if query.included.contains("identifiers") {
            let identifiers: Vec<Value> = if self.passed() {
                let asin = ids::asin_for(seller_id, self.sku);
                query
                    .marketplaces
                    .iter()
                    .map(|marketplace| json!({"marketplaceId": marketplace.id, "asin": asin}))
                    .collect()
            } else {
                Vec::new()
            };
            body.insert("identifiers".into(), identifiers.into());
        }
        Value::Object(body)
    }
}

/// The listing to store when `content` passed in `submission` at `now`.
fn updated_listing(
    previous: Option<&Listing>,
    submission: &Submission<'_>,
    seller_id: &str,
    content: ListingContent,
    query: &ListingsQuery,
    now: sluice_core::UnixMillis,
) -> Listing {
    let sku = submission.sku;
    let mut marketplace_ids = previous
        .map(|listing| listing.marketplace_ids.clone())
        .unwrap_or_default();
    marketplace_ids.extend(query.marketplaces.iter().map(|m| m.id.to_owned()));
    Listing {
        seller_id: seller_id.to_owned(),
        sku: sku.to_owned(),
        asin: ids::asin_for(seller_id, sku),
        product_type: content.product_type,
        requirements: content.requirements,
        marketplace_ids,
        attributes: content.attributes,
        created_at: previous.map_or(now, |listing| listing.created_at),
        last_updated_at: now,
        submission_id: submission.id.clone(),
    }
}

/// `PUT .../items/{sellerId}/{sku}` (putListingsItem): creates or fully
/// replaces the listing.
async fn put_item(
    State(amazon): State<AmazonState>,
    Extension(region): Extension<Region>,
    Path((seller_id, sku)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, SpApiError> {
    admit(
        &amazon,
        &headers,
        Operation::PutListingsItem,
        Some(&seller_id),
    )?;
    let query = ListingsQuery::parse(&amazon, &seller_id, region, &params, &SUBMISSION_QUERY)?;
    let content = ListingContent::parse(&body).map_err(SpApiError::listings_bad_request)?;
    conform(&PUT_SPEC, &seller_id, &sku, &params, &headers, &body)?;
    let submission = Submission {
        id: ids::uuid(),
        sku: &sku,
        issues: amazon
            .rules
            .issues(content.requirements, &content.attributes),
        preview: query.preview,
    };
    if submission.stores() {
        let mut central = amazon.central.lock();
        let listing = updated_listing(
            central.listing(&seller_id, &sku),
            &submission,
            &seller_id,
            content,
            &query,
            amazon.clock.now_ms(),
        );
        central.store_listing(listing.clone());
        // Journaled under the lock, so the journal's order is the writes' order.
        amazon.changes.push(AmazonChange::ListingPut(listing));
    }
    Ok(Json(submission.to_json(&seller_id, &query)))
}

/// `PATCH .../items/{sellerId}/{sku}` (patchListingsItem): applies the
/// patches and checks the resulting listing.
async fn patch_item(
    State(amazon): State<AmazonState>,
    Extension(region): Extension<Region>,
    Path((seller_id, sku)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, SpApiError> {
    admit(
        &amazon,
        &headers,
        Operation::PatchListingsItem,
        Some(&seller_id),
    )?;
    let query = ListingsQuery::parse(&amazon, &seller_id, region, &params, &SUBMISSION_QUERY)?;
    let patch = PatchBody::parse(&body).map_err(SpApiError::listings_bad_request)?;
    conform(&PATCH_SPEC, &seller_id, &sku, &params, &headers, &body)?;
    let body = patch;
    let mut central = amazon.central.lock();
    let previous = central.listing(&seller_id, &sku);
    let requirements = previous.map_or(Requirements::Listing, |listing| listing.requirements);
    let mut attributes = previous
        .map(|listing| listing.attributes.clone())
        .unwrap_or_default();
    listing_patch::apply(&mut attributes, &body.patches);
    let submission = Submission {
        id: ids::uuid(),
        sku: &sku,
        issues: amazon.rules.issues(requirements, &attributes),
        preview: query.preview,
    };
    if submission.stores() {
        let content = ListingContent {
            product_type: body.product_type,
            requirements,
            attributes,
        };
        let listing = updated_listing(
            previous,
            &submission,
            &seller_id,
            content,
            &query,
            amazon.clock.now_ms(),
        );
        central.store_listing(listing.clone());
        amazon.changes.push(AmazonChange::ListingPatched(listing));
    }
    Ok(Json(submission.to_json(&seller_id, &query)))
}

/// `GET .../items/{sellerId}/{sku}` (getListingsItem).
async fn get_item(
    State(amazon): State<AmazonState>,
    Extension(region): Extension<Region>,
    Path((seller_id, sku)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Json<Value>, SpApiError> {
    admit(
        &amazon,
        &headers,
        Operation::GetListingsItem,
        Some(&seller_id),
    )?;
    let query = ListingsQuery::parse(&amazon, &seller_id, region, &params, &ITEM_QUERY)?;
    let central = amazon.central.lock();
    let listing = central.listing(&seller_id, &sku);
    let unlisted = query.marketplaces.iter().find(|marketplace| {
        listing.is_none_or(|listing| !listing.marketplace_ids.contains(marketplace.id))
    });
    match (listing, unlisted) {
        (Some(listing), None) => Ok(Json(
            listing.item_json(&query.marketplaces, &query.included),
        )),
        (_, unlisted) => Err(SpApiError::not_found(
            "NOT_FOUND",
            format!(
                "SKU '{sku}' not found in marketplace {}",
                unlisted.map_or("", |marketplace| marketplace.id)
            ),
        )),
    }
}

/// `DELETE .../items/{sellerId}/{sku}` (deleteListingsItem): takes the
/// listing out of the requested marketplaces; gone when none is left.
async fn delete_item(
    State(amazon): State<AmazonState>,
    Extension(region): Extension<Region>,
    Path((seller_id, sku)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Json<Value>, SpApiError> {
    admit(
        &amazon,
        &headers,
        Operation::DeleteListingsItem,
        Some(&seller_id),
    )?;
    let query = ListingsQuery::parse(&amazon, &seller_id, region, &params, &DELETE_QUERY)?;
    let mut central = amazon.central.lock();
    if let Some(listing) = central.listing(&seller_id, &sku).cloned() {
        let mut remaining = listing.clone();
        for marketplace in &query.marketplaces {
            remaining.marketplace_ids.remove(marketplace.id);
        }
        if remaining.marketplace_ids.is_empty() {
            central.remove_listing(&seller_id, &sku);
        } else {
            remaining.last_updated_at = amazon.clock.now_ms();
            central.store_listing(remaining);
        }
        amazon.changes.push(AmazonChange::ListingDeleted {
            listing,
            marketplace_ids: query.marketplaces.iter().map(|m| m.id.to_owned()).collect(),
        });
    }
    let submission = Submission {
        id: ids::uuid(),
        sku: &sku,
        issues: Vec::new(),
        preview: false,
    };
    Ok(Json(submission.to_json(&seller_id, &query)))
}
