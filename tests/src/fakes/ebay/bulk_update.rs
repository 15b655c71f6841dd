//! `bulkUpdatePriceQuantity`: up to 25 requests, each updating one SKU's
//! ship-to-home quantity and the price or quantity of its offers.
//!
//! Each request gets its own answers: one per offer it names (with `sku`
//! and `offerId`), or one for the SKU when it names none. A request for an
//! unknown SKU is `statusCode: 404` with errorId 25702; an unknown offer
//! 404 with 25713; an offer of another SKU 400 with 25002; a bad quantity
//! 400 with 25004; a bad price 400 with 25709. What passes is applied even
//! when other parts fail. The call is HTTP 200 when every answer is 200,
//! 207 otherwise.

use http::StatusCode;
use serde_json::{Value, json};

use super::SellApi;
use super::api_error::{EbayError, ErrorDetail};
use super::json_fields::{Fields, body_object};
use super::offer::{Price, SentPrice, currency_of, invalid_value};
use super::seller_account::SellerAccount;

/// The most requests one call takes.
const MAX_REQUESTS: usize = 25;

/// An offer's new price and quantity, as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferUpdate {
    /// The offer.
    pub offer_id: String,
    /// Its new `availableQuantity`, if given.
    pub available_quantity: Option<u32>,
    /// Its new price, if given.
    pub price: Option<Price>,
}

/// What one request of a call changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceQuantityUpdate {
    /// The inventory item.
    pub sku: String,
    /// Its new ship-to-home quantity, if given and applied.
    pub quantity: Option<u32>,
    /// The offers updated.
    pub offers: Vec<OfferUpdate>,
}

struct SentOffer {
    offer_id: Option<String>,
    available_quantity: Option<i64>,
    price: Option<SentPrice>,
}

struct SentRequest {
    sku: Option<String>,
    quantity: Option<i64>,
    offers: Vec<SentOffer>,
}

/// The call's requests, their types checked (2004 otherwise).
fn read(body: &[u8]) -> Result<Vec<SentRequest>, EbayError> {
    let body = body_object(body)?;
    let requests = Fields::new(&body, "").objects("requests")?;
    if requests.is_empty() || requests.len() > MAX_REQUESTS {
        return Err(EbayError::bad_request(invalid_value(
            "requests",
            "Send between 1 and 25 requests.",
        )));
    }
    requests
        .iter()
        .map(|request| {
            let quantity = match request.object("shipToLocationAvailability")? {
                Some(availability) => availability.integer("quantity")?,
                None => None,
            };
            let offers = request
                .objects("offers")?
                .iter()
                .map(|offer| {
                    Ok(SentOffer {
                        offer_id: offer.string("offerId")?.map(str::to_owned),
                        available_quantity: offer.integer("availableQuantity")?,
                        price: offer
                            .object("price")?
                            .map(|price| SentPrice::read(&price))
                            .transpose()?,
                    })
                })
                .collect::<Result<_, EbayError>>()?;
            Ok(SentRequest {
                sku: request.string("sku")?.map(str::to_owned),
                quantity,
                offers,
            })
        })
        .collect()
}

fn quantity(value: Option<i64>, field: &str) -> Result<Option<u32>, (StatusCode, ErrorDetail)> {
    value
        .map(|quantity| {
            u32::try_from(quantity).map_err(|_| {
                let error = ErrorDetail::request(
                    SellApi::Inventory,
                    25004,
                    "The eBay listing associated with the inventory item, or the unpublished \
                     offer has an invalid quantity.",
                )
                .parameter("fieldName", field);
                (StatusCode::BAD_REQUEST, error)
            })
        })
        .transpose()
}

/// One answer of the call.
struct Answer {
    status: StatusCode,
    sku: Option<String>,
    offer_id: Option<String>,
    error: Option<ErrorDetail>,
}

impl Answer {
    fn to_json(&self) -> Value {
        let errors: Vec<Value> = self.error.iter().map(ErrorDetail::to_json).collect();
        let mut answer = json!({
            "statusCode": self.status.as_u16(),
            "errors": errors,
            "warnings": [],
        });
        if let Some(sku) = &self.sku {
            answer["sku"] = sku.clone().into();
        }
        if let Some(offer_id) = &self.offer_id {
            answer["offerId"] = offer_id.clone().into();
        }
        answer
    }
}

/// The SKU-level checks of a request: the SKU is known, the quantity sane.
fn check_sku(
    account: &SellerAccount,
    request: &SentRequest,
) -> Result<(String, Option<u32>), (StatusCode, ErrorDetail)> {
    let sku = request.sku.clone().ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            invalid_value("sku", "The field is required."),
        )
    })?;
    if account.inventory_item(&sku).is_none() {
        let error = ErrorDetail::request(
            SellApi::Inventory,
            25702,
            format!("{sku} could not be found or is not available in the system."),
        )
        .parameter("sku", sku.as_str());
        return Err((StatusCode::NOT_FOUND, error));
    }
    let quantity = quantity(request.quantity, "shipToLocationAvailability.quantity")?;
    Ok((sku, quantity))
}

/// The offer-level checks: the offer is the SKU's, its values sane.
fn check_offer(
    account: &SellerAccount,
    sku: &str,
    offer: SentOffer,
) -> Result<OfferUpdate, (StatusCode, ErrorDetail)> {
    let offer_id = offer.offer_id.ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            invalid_value("offerId", "The field is required."),
        )
    })?;
    let known = account.offer(&offer_id).ok_or_else(|| {
        let error = ErrorDetail::request(
            SellApi::Inventory,
            25713,
            format!("This Offer is not available : {offer_id}."),
        );
        (StatusCode::NOT_FOUND, error)
    })?;
    if known.sku != sku {
        let error = ErrorDetail::request(
            SellApi::Inventory,
            25002,
            format!("A user error has occurred. Offer {offer_id} is not an offer of SKU {sku}."),
        );
        return Err((StatusCode::BAD_REQUEST, error));
    }
    let currency = currency_of(&known.marketplace_id).unwrap_or("USD");
    let price = offer
        .price
        .map(|price| price.check(currency))
        .transpose()
        .map_err(|error| (StatusCode::BAD_REQUEST, error))?;
    let available_quantity = quantity(offer.available_quantity, "availableQuantity")?;
    Ok(OfferUpdate {
        offer_id,
        available_quantity,
        price,
    })
}

/// The outcome of a call: the HTTP status, the body, and what changed.
pub(super) struct BulkOutcome {
    pub(super) status: StatusCode,
    pub(super) body: Value,
    pub(super) updates: Vec<PriceQuantityUpdate>,
}

/// Runs a `bulkUpdatePriceQuantity` body against `account`.
pub(super) fn run(account: &mut SellerAccount, body: &[u8]) -> Result<BulkOutcome, EbayError> {
    let mut answers = Vec::new();
    let mut updates = Vec::new();
    for request in read(body)? {
        let sku_check = check_sku(account, &request);
        let (sku, quantity) = match sku_check {
            Ok(checked) => checked,
            Err((status, error)) => {
                let offer_ids: Vec<Option<String>> = if request.offers.is_empty() {
                    vec![None]
                } else {
                    request
                        .offers
                        .iter()
                        .map(|offer| offer.offer_id.clone())
                        .collect()
                };
                answers.extend(offer_ids.into_iter().map(|offer_id| Answer {
                    status,
                    sku: request.sku.clone(),
                    offer_id,
                    error: Some(error.clone()),
                }));
                continue;
            }
        };
        if let Some(quantity) = quantity {
            account.set_item_quantity(&sku, quantity);
        }
        let mut update = PriceQuantityUpdate {
            sku: sku.clone(),
            quantity,
            offers: Vec::new(),
        };
        if request.offers.is_empty() {
            answers.push(Answer {
                status: StatusCode::OK,
                sku: Some(sku.clone()),
                offer_id: None,
                error: None,
            });
        }
        for offer in request.offers {
            let sent_id = offer.offer_id.clone();
            match check_offer(account, &sku, offer) {
                Ok(offer_update) => {
                    account.apply_offer_update(&offer_update);
                    answers.push(Answer {
                        status: StatusCode::OK,
                        sku: Some(sku.clone()),
                        offer_id: sent_id,
                        error: None,
                    });
                    update.offers.push(offer_update);
                }
                Err((status, error)) => answers.push(Answer {
                    status,
                    sku: Some(sku.clone()),
                    offer_id: sent_id,
                    error: Some(error),
                }),
            }
        }
        if update.quantity.is_some() || !update.offers.is_empty() {
            updates.push(update);
        }
    }
    let all_ok = answers.iter().all(|answer| answer.status == StatusCode::OK);
    let responses: Vec<Value> = answers.iter().map(Answer::to_json).collect();
    Ok(BulkOutcome {
        status: if all_ok {
            StatusCode::OK
        } else {
            StatusCode::MULTI_STATUS
        },
        body: json!({"responses": responses}),
        updates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::ebay::inventory_item::InventoryItem;
    use crate::fakes::ebay::offer::Offer;

    fn account() -> (SellerAccount, String) {
        let mut account = SellerAccount::default();
        for sku in ["MUG-1", "CUP-1"] {
            let item = json!({"availability": {"shipToLocationAvailability": {"quantity": 1}}});
            account
                .put_item(InventoryItem::parse(sku, "en_US", item.to_string().as_bytes()).unwrap());
        }
        let offer = json!({"sku": "MUG-1", "marketplaceId": "EBAY_US", "format": "FIXED_PRICE"});
        let offer = Offer::parse(offer.to_string().as_bytes(), "111".into()).unwrap();
        account.create_offer(offer).unwrap();
        (account, "111".into())
    }

    fn run_json(account: &mut SellerAccount, body: Value) -> Result<BulkOutcome, EbayError> {
        run(account, body.to_string().as_bytes())
    }

    #[test]
    fn a_passing_call_updates_items_and_offers_and_answers_200() {
        let (mut account, offer_id) = account();
        let outcome = run_json(
            &mut account,
            json!({"requests": [{
                "sku": "MUG-1",
                "shipToLocationAvailability": {"quantity": 5},
                "offers": [{"offerId": offer_id, "availableQuantity": 5,
                            "price": {"value": "17.50", "currency": "USD"}}],
            }]}),
        )
        .unwrap();
        assert_eq!(outcome.status, StatusCode::OK);
        assert_eq!(
            outcome.body,
            json!({"responses": [{
                "statusCode": 200, "sku": "MUG-1", "offerId": "111", "errors": [], "warnings": [],
            }]})
        );
        assert_eq!(account.inventory_item("MUG-1").unwrap().quantity(), Some(5));
        let offer = account.offer("111").unwrap();
        assert_eq!(offer.available_quantity, Some(5));
        assert_eq!(offer.price.as_ref().unwrap().value, "17.50");
        assert_eq!(outcome.updates[0].quantity, Some(5));
    }

    #[test]
    fn failed_parts_are_answered_per_entry_with_207_and_the_rest_applied() {
        let (mut account, offer_id) = account();
        let outcome = run_json(
            &mut account,
            json!({"requests": [
                {"sku": "NOPE-1", "shipToLocationAvailability": {"quantity": 5}},
                {"sku": "CUP-1", "shipToLocationAvailability": {"quantity": 7},
                 "offers": [{"offerId": offer_id, "availableQuantity": 1}]},
                {"sku": "MUG-1", "offers": [{"offerId": "999", "availableQuantity": 1},
                                            {"offerId": offer_id, "availableQuantity": -2}]},
            ]}),
        )
        .unwrap();
        assert_eq!(outcome.status, StatusCode::MULTI_STATUS);
        let answers = outcome.body["responses"].as_array().unwrap();
        let summary: Vec<(u64, u64)> = answers
            .iter()
            .map(|answer| {
                (
                    answer["statusCode"].as_u64().unwrap(),
                    answer["errors"][0]["errorId"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [(404, 25702), (400, 25002), (404, 25713), (400, 25004)]
        );
        // The CUP-1 quantity passed although its offer did not.
        assert_eq!(account.inventory_item("CUP-1").unwrap().quantity(), Some(7));
        assert_eq!(outcome.updates.len(), 1);
    }

    #[test]
    fn the_call_takes_one_to_twenty_five_requests_with_string_prices() {
        let (mut account, offer_id) = account();
        let too_many: Vec<Value> = (0..26).map(|_| json!({"sku": "MUG-1"})).collect();
        let error = run_json(&mut account, json!({"requests": too_many}))
            .err()
            .unwrap();
        assert_eq!(error.errors[0].error_id, 25709);
        let error = run_json(&mut account, json!({"requests": []}))
            .err()
            .unwrap();
        assert_eq!(error.errors[0].error_id, 25709);
        let numeric = json!({"requests": [{"sku": "MUG-1", "offers": [
            {"offerId": offer_id, "price": {"value": 17.5, "currency": "USD"}},
        ]}]});
        let error = run_json(&mut account, numeric).err().unwrap();
        assert_eq!(error.errors[0].error_id, 2004);
    }
}
