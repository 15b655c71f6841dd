//! `POST /bulk_update_price_quantity`: a SKU's ship-to-home quantity and its
//! offer's price and quantity in one call.
//!
//! eBay answers 200 when every part was applied and 207 with one answer per
//! offer (or per SKU when no offer is named) otherwise; what passed is
//! applied even when other parts failed. Resending is harmless: quantities
//! and prices are absolute.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_guest::http::Request;
use sluice_guest::payload::Money;
use sluice_guest::{DeliveryOutcome, RemoteError, log};

use crate::api::{ApiError, ErrorList, INVENTORY, Refusal, Session};
use crate::config::Site;

/// errorId: the SKU has no inventory item.
const UNKNOWN_SKU: u64 = 25702;
/// errorId: the offer does not exist (any more).
const UNKNOWN_OFFER: u64 = 25713;

/// A change to an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferChange {
    /// `offerId`.
    pub offer_id: String,
    /// `availableQuantity`.
    pub quantity: Option<u32>,
    /// `price`.
    pub price: Option<Money>,
}

/// A change to one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuChange {
    /// The SKU.
    pub sku: String,
    /// `shipToLocationAvailability.quantity`.
    pub quantity: Option<u32>,
    /// Its offer's change.
    pub offer: Option<OfferChange>,
}

impl SkuChange {
    /// The call's body.
    pub fn body(&self) -> Value {
        let mut request = json!({ "sku": self.sku });
        if let Some(quantity) = self.quantity {
            request["shipToLocationAvailability"] = json!({ "quantity": quantity });
        }
        if let Some(offer) = &self.offer {
            let mut entry = json!({ "offerId": offer.offer_id });
            if let Some(quantity) = offer.quantity {
                entry["availableQuantity"] = quantity.into();
            }
            if let Some(price) = &offer.price {
                entry["price"] = json!({ "value": price.amount, "currency": price.currency });
            }
            request["offers"] = json!([entry]);
        }
        json!({ "requests": [request] })
    }
}

/// What eBay did with a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Everything.
    All,
    /// Everything but the offer, which eBay does not know (any more).
    OfferUnknown,
}

#[derive(Debug, Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    responses: Vec<PartAnswer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartAnswer {
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    offer_id: Option<String>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

impl PartAnswer {
    fn has(&self, error_id: u64) -> bool {
        self.errors
            .iter()
            .any(|error| error.error_id == Some(error_id))
    }

    fn is_retryable(&self) -> bool {
        // An unknown SKU is most often a product.updated still on its way.
        matches!(self.status_code, 408 | 429 | 500..=599) || self.has(UNKNOWN_SKU)
    }

    /// `offer 5005317010 of TSHIRT-RED-M: HTTP 400, 25004: ...`.
    fn describe(&self) -> String {
        let subject = match (&self.offer_id, &self.sku) {
            (Some(offer), Some(sku)) => format!("offer {offer} of {sku}"),
            (Some(offer), None) => format!("offer {offer}"),
            (None, Some(sku)) => format!("SKU {sku}"),
            (None, None) => "an entry".to_owned(),
        };
        let errors = ErrorList {
            errors: self.errors.clone(),
        };
        match errors.summary() {
            Some(summary) => format!("{subject}: HTTP {}, {summary}", self.status_code),
            None => format!("{subject}: HTTP {}", self.status_code),
        }
    }
}

/// Sends `change`; `Err` is the outcome of a call that failed in part or in
/// whole.
pub fn send(
    session: &Session<'_>,
    site: &Site,
    change: &SkuChange,
    now_ms: u64,
) -> Result<Applied, DeliveryOutcome> {
    let action = format!("update the price and quantity of SKU {}", change.sku);
    let request = Request::post(session.url(&format!("{INVENTORY}/bulk_update_price_quantity")))
        .header("content-language", &site.content_language)
        .json(&change.body());
    let response = session
        .send(request)
        .map_err(|error| error.outcome(session.account(), &action))?;
    match response.status {
        200 => Ok(Applied::All),
        207 => {
            let answer: BulkAnswer = response.json().map_err(|error| {
                DeliveryOutcome::retry(
                    format!("eBay answered HTTP 207 to {action} with an unreadable body: {error}"),
                    None,
                )
            })?;
            let applied = partial_outcome(change, &answer, &action)?;
            if applied == Applied::OfferUnknown {
                let offer_id = change.offer.as_ref().map(|offer| offer.offer_id.as_str());
                log::warn(
                    "eBay no longer knows the offer kept for the SKU",
                    &[
                        ("sku", &change.sku),
                        ("offer_id", offer_id.unwrap_or_default()),
                    ],
                );
            }
            Ok(applied)
        }
        _ => Err(Refusal::read(&response, now_ms).outcome(&action)),
    }
}

/// The verdict on a 207 answer.
fn partial_outcome(
    change: &SkuChange,
    answer: &BulkAnswer,
    action: &str,
) -> Result<Applied, DeliveryOutcome> {
    let offer_id = change.offer.as_ref().map(|offer| offer.offer_id.as_str());
    let mut offer_unknown = false;
    let mut failed: Vec<&PartAnswer> = Vec::new();
    for part in answer
        .responses
        .iter()
        .filter(|part| part.status_code != 200)
    {
        if part.has(UNKNOWN_OFFER) && offer_id.is_some() && part.offer_id.as_deref() == offer_id {
            offer_unknown = true;
        } else {
            failed.push(part);
        }
    }
    if failed.is_empty() {
        return Ok(if offer_unknown {
            Applied::OfferUnknown
        } else {
            Applied::All
        });
    }
    let details: Vec<String> = failed.iter().map(|part| part.describe()).collect();
    let first = failed[0];
    let mut remote = RemoteError::http(207).with_message(&details.join("; "));
    if let Some(id) = first.errors.iter().find_map(|error| error.error_id) {
        remote = remote.with_code(id.to_string());
    }
    let retryable = failed.iter().any(|part| part.is_retryable());
    let outcome = if retryable {
        DeliveryOutcome::retry(
            format!("eBay did not {action} in full: {}", details.join("; ")),
            None,
        )
    } else {
        DeliveryOutcome::failed(format!(
            "eBay refused part of the call to {action}: {}",
            details.join("; ")
        ))
    };
    Err(outcome.with_remote(remote))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(offer: bool) -> SkuChange {
        SkuChange {
            sku: "MUG-1".into(),
            quantity: Some(5),
            offer: offer.then(|| OfferChange {
                offer_id: "111".into(),
                quantity: Some(5),
                price: Some(Money {
                    amount: "19.99".into(),
                    currency: "USD".into(),
                }),
            }),
        }
    }

    fn answer(json: &str) -> BulkAnswer {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_body_names_the_offer_with_a_string_price() {
        assert_eq!(
            change(true).body(),
            json!({"requests": [{
                "sku": "MUG-1",
                "shipToLocationAvailability": {"quantity": 5},
                "offers": [{"offerId": "111", "availableQuantity": 5,
                            "price": {"value": "19.99", "currency": "USD"}}],
            }]})
        );
        assert_eq!(
            change(false).body(),
            json!({"requests": [{"sku": "MUG-1", "shipToLocationAvailability": {"quantity": 5}}]})
        );
    }

    #[test]
    fn an_unknown_offer_alone_is_reported_as_such() {
        let answer = answer(
            r#"{"responses":[{"statusCode":404,"sku":"MUG-1","offerId":"111","errors":[{"errorId":25713,"message":"This Offer is not available : 111."}]}]}"#,
        );
        assert!(matches!(
            partial_outcome(&change(true), &answer, "x"),
            Ok(Applied::OfferUnknown)
        ));
    }

    #[test]
    fn validation_failures_are_permanent_and_unknown_skus_retry() {
        let invalid = answer(
            r#"{"responses":[{"statusCode":400,"sku":"MUG-1","offerId":"111","errors":[{"errorId":25004,"message":"bad quantity"}]}]}"#,
        );
        let Err(DeliveryOutcome::Failed(failure)) =
            partial_outcome(&change(true), &invalid, "update MUG-1")
        else {
            panic!("expected a permanent failure");
        };
        assert!(
            failure.reason.contains("25004: bad quantity"),
            "{}",
            failure.reason
        );
        assert_eq!(failure.remote.unwrap().code.as_deref(), Some("25004"));
        let unknown = answer(
            r#"{"responses":[{"statusCode":404,"sku":"MUG-1","errors":[{"errorId":25702,"message":"MUG-1 could not be found"}]}]}"#,
        );
        assert!(matches!(
            partial_outcome(&change(false), &unknown, "x"),
            Err(DeliveryOutcome::Retry(_))
        ));
    }
}
