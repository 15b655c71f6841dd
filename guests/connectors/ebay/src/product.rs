//! `product.updated`: create or replace the inventory item, then make sure
//! the SKU has a published offer at the product's price.
//!
//! - `PUT /inventory_item/{sku}` replaces the whole record, so when the
//!   event carries no quantity the item's current availability is read
//!   first and kept.
//! - The first time a SKU is seen, `POST /offer` creates its offer (price,
//!   category, policies, location from the settings) and
//!   `POST /offer/{offerId}/publish` lists it; the offer id and listing id
//!   are kept in state ([`crate::offers`]).
//! - Afterwards the kept offer's price (and quantity) is updated with
//!   `bulk_update_price_quantity`; an offer eBay no longer knows is created
//!   again, and one never published is published.
//!
//! The delivery's external id is the listing id.
//!
//! Before anything is sent the event is fitted to eBay's contract
//! ([`crate::rules`]): a SKU eBay would refuse, a brand or MPN over 65
//! characters, a quantity beyond `int32` or a price in another currency
//! than the marketplace's fail permanently with eBay's rule; so does a
//! first listing without a picture or with no quantity, which eBay would
//! refuse at publish. Long texts are cut at a word, at most 24 pictures
//! are sent, and aspects whose name is over 40 characters are left out.

use serde_json::{Map, Value, json};
use sluice_guest::encode::percent;
use sluice_guest::http::Request;
use sluice_guest::{DeliveryOutcome, Event, InvocationContext, log, payload};

use crate::api::{ErrorList, INVENTORY, Refusal, Session};
use crate::bulk::{self, Applied, OfferChange, SkuChange};
use crate::config::{Account, ListingSettings, Site, describe_missing};
use crate::offers::{self, KnownOffer};
use crate::rules::{
    self, MAX_ASPECT_NAME_CHARS, MAX_ASPECT_VALUE_CHARS, MAX_BRAND_CHARS, MAX_DESCRIPTION_CHARS,
    MAX_IMAGES, MAX_TITLE_CHARS,
};

/// errorId of "Offer entity already exists" (with the offer's id as the
/// `offerId` parameter), also eBay's generic user error.
const USER_ERROR: u64 = 25002;

/// The `product.updated` payload (docs/events.md); its quantity is checked
/// against eBay's `int32` before use.
pub type ProductUpdated = payload::ProductUpdated;

/// Delivers a `product.updated` event.
pub fn deliver(context: &InvocationContext, event: &Event) -> DeliveryOutcome {
    match run(context, event) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn run(context: &InvocationContext, event: &Event) -> Result<DeliveryOutcome, DeliveryOutcome> {
    let product: ProductUpdated = serde_json::from_str(&event.payload).map_err(|error| {
        DeliveryOutcome::failed(format!(
            "the payload is not a product.updated payload: {error}"
        ))
    })?;
    let account = Account::from_configuration(context).map_err(DeliveryOutcome::failed)?;
    let site = Site::from_configuration(context).map_err(DeliveryOutcome::failed)?;
    let quantity = check_product(&product, &site).map_err(|problem| {
        DeliveryOutcome::failed(format!(
            "cannot list SKU {} on eBay: {problem}",
            product.sku
        ))
    })?;
    let known = offers::load(&site.marketplace_id, &product.sku);
    let listing = ListingSettings::from_configuration(context);
    if known.is_none() {
        // Nothing is sent when the offer could not be created anyway.
        if let Err(missing) = &listing {
            return Err(missing_settings(&product.sku, missing));
        }
    }
    let mut lister = Lister {
        session: Session::new(&account, context.now_ms),
        site: &site,
        product: &product,
        quantity,
        listing,
        now_ms: context.now_ms,
    };
    let publishable = known
        .as_ref()
        .is_none_or(|offer| offer.listing_id.is_none());
    if publishable && product.images.is_empty() {
        // eBay publishes an offer only with a picture: nothing is sent.
        return Err(unpublishable(
            &product.sku,
            "product.imageUrls",
            "at least one picture; the event has no images",
        ));
    }
    let availability = lister.availability()?;
    if publishable {
        let stock = availability
            .as_ref()
            .and_then(|availability| {
                availability["shipToLocationAvailability"]["quantity"].as_u64()
            })
            .unwrap_or(0);
        if stock == 0 {
            return Err(unpublishable(
                &product.sku,
                "availableQuantity",
                "a quantity of at least 1; the event's quantity is 0 or absent and eBay has none for the item",
            ));
        }
    }
    lister.put_inventory_item(availability)?;
    let offer = match known {
        Some(known) => match lister.update_offer(&known.offer_id)? {
            Applied::All => known,
            Applied::OfferUnknown => {
                offers::forget(&site.marketplace_id, &product.sku);
                lister.create_offer()?
            }
        },
        None => lister.create_offer()?,
    };
    let listing_id = match offer.listing_id {
        Some(listing_id) => Some(listing_id),
        None => lister.publish(&offer.offer_id)?,
    };
    Ok(DeliveryOutcome::delivered(listing_id))
}

/// The permanent failure of a listing eBay would refuse to publish.
fn unpublishable(sku: &str, field: &str, rule: &str) -> DeliveryOutcome {
    DeliveryOutcome::failed(format!(
        "cannot list SKU {sku} on eBay: eBay publishes an offer only with {field} of {rule}"
    ))
}

/// Checks `product` against eBay's rules for `site`; returns its quantity
/// as eBay's `int32`.
pub fn check_product(product: &ProductUpdated, site: &Site) -> Result<Option<u32>, String> {
    rules::check_sku(&product.sku)?;
    let quantity = product
        .quantity
        .map(|quantity| rules::quantity("quantity", quantity))
        .transpose()?;
    if let Some(brand) = &product.brand {
        rules::check_length("brand", brand.trim(), MAX_BRAND_CHARS)?;
    }
    if let Some(mpn) = &product.identifiers.mpn {
        rules::check_length("identifiers.mpn", mpn.trim(), MAX_BRAND_CHARS)?;
    }
    let currency = site.currency();
    if !product.price.currency.eq_ignore_ascii_case(currency) {
        return Err(format!(
            "price.currency is {}, but marketplace {} lists in {currency}; eBay refuses prices in another currency",
            product.price.currency, site.marketplace_id
        ));
    }
    Ok(quantity)
}

fn missing_settings(sku: &str, missing: &[&str]) -> DeliveryOutcome {
    DeliveryOutcome::failed(format!(
        "cannot list SKU {sku} on eBay: {}; eBay needs them to create the offer",
        describe_missing(missing)
    ))
}

struct Lister<'a> {
    session: Session<'a>,
    site: &'a Site,
    product: &'a ProductUpdated,
    /// The product's quantity as eBay's `int32`.
    quantity: Option<u32>,
    listing: Result<ListingSettings, Vec<&'static str>>,
    now_ms: u64,
}

impl Lister<'_> {
    fn item_url(&self) -> String {
        self.session.url(&format!(
            "{INVENTORY}/inventory_item/{}",
            percent(&self.product.sku)
        ))
    }

    fn refused(&self, response: &sluice_guest::http::Response, action: &str) -> DeliveryOutcome {
        Refusal::read(response, self.now_ms).outcome(action)
    }

    /// The item's current `availability`, kept when the event has no
    /// quantity (a PUT replaces the whole record).
    fn current_availability(&mut self) -> Result<Option<Value>, DeliveryOutcome> {
        let action = format!("read inventory item {}", self.product.sku);
        let response = self
            .session
            .send(Request::get(self.item_url()))
            .map_err(|error| error.outcome(self.session.account(), &action))?;
        match response.status {
            200 => Ok(response
                .json::<Value>()
                .ok()
                .and_then(|item| item.get("availability").cloned())),
            404 => Ok(None),
            _ => Err(self.refused(&response, &action)),
        }
    }

    /// The item's availability to put: the event's quantity, or the one
    /// eBay has.
    fn availability(&mut self) -> Result<Option<Value>, DeliveryOutcome> {
        match self.quantity {
            Some(quantity) => Ok(Some(
                json!({"shipToLocationAvailability": {"quantity": quantity}}),
            )),
            None => self.current_availability(),
        }
    }

    fn put_inventory_item(&mut self, availability: Option<Value>) -> Result<(), DeliveryOutcome> {
        let body = inventory_item(self.product, availability);
        let action = format!("create or replace inventory item {}", self.product.sku);
        let request = Request::put(self.item_url())
            .header("content-language", &self.site.content_language)
            .json(&body);
        let response = self
            .session
            .send(request)
            .map_err(|error| error.outcome(self.session.account(), &action))?;
        if !response.is_success() {
            return Err(self.refused(&response, &action));
        }
        log::info(
            "inventory item created or replaced",
            &[("sku", &self.product.sku)],
        );
        Ok(())
    }

    /// Updates the price (and quantity) of the kept offer.
    fn update_offer(&mut self, offer_id: &str) -> Result<Applied, DeliveryOutcome> {
        let change = SkuChange {
            sku: self.product.sku.clone(),
            quantity: None,
            offer: Some(OfferChange {
                offer_id: offer_id.to_owned(),
                quantity: self.quantity,
                price: Some(self.product.price.clone()),
            }),
        };
        bulk::send(&self.session, self.site, &change, self.now_ms)
    }

    /// Creates the SKU's offer, or adopts the one eBay says exists.
    fn create_offer(&mut self) -> Result<KnownOffer, DeliveryOutcome> {
        let sku = &self.product.sku;
        let listing = match &self.listing {
            Ok(listing) => listing,
            Err(missing) => return Err(missing_settings(sku, missing)),
        };
        let body = offer(
            self.product,
            self.quantity,
            &self.site.marketplace_id,
            listing,
        );
        let action = format!("create the offer for SKU {sku}");
        let request = Request::post(self.session.url(&format!("{INVENTORY}/offer")))
            .header("content-language", &self.site.content_language)
            .json(&body);
        let response = self
            .session
            .send(request)
            .map_err(|error| error.outcome(self.session.account(), &action))?;
        if response.is_success() {
            let offer_id = response
                .json::<Value>()
                .ok()
                .and_then(|answer| answer["offerId"].as_str().map(str::to_owned))
                .ok_or_else(|| {
                    DeliveryOutcome::retry(
                        format!(
                            "eBay answered HTTP {} to {action} without an offerId",
                            response.status
                        ),
                        None,
                    )
                })?;
            let offer = KnownOffer {
                offer_id,
                listing_id: None,
            };
            offers::save(&self.site.marketplace_id, sku, &offer);
            log::info(
                "offer created",
                &[("sku", sku), ("offer_id", &offer.offer_id)],
            );
            return Ok(offer);
        }
        let errors = ErrorList::read(&response);
        let existing = errors
            .find(USER_ERROR)
            .and_then(|error| error.parameter("offerId"))
            .map(str::to_owned);
        let Some(offer_id) = existing.filter(|_| response.status == 400) else {
            return Err(self.refused(&response, &action));
        };
        // The offer exists (created by an attempt whose answer was lost, or
        // forgotten by the state): adopt it and bring its price up to date.
        log::info(
            "eBay already has an offer for the SKU; using it",
            &[("sku", sku), ("offer_id", &offer_id)],
        );
        let offer = KnownOffer {
            offer_id,
            listing_id: None,
        };
        offers::save(&self.site.marketplace_id, sku, &offer);
        match self.update_offer(&offer.offer_id)? {
            Applied::All => Ok(offer),
            Applied::OfferUnknown => Err(DeliveryOutcome::retry(
                format!(
                    "eBay said SKU {sku} has offer {} but does not know it",
                    offer.offer_id
                ),
                None,
            )),
        }
    }

    /// Publishes the offer; returns the listing id.
    fn publish(&mut self, offer_id: &str) -> Result<Option<String>, DeliveryOutcome> {
        let action = format!("publish offer {offer_id} of SKU {}", self.product.sku);
        let url = self
            .session
            .url(&format!("{INVENTORY}/offer/{}/publish", percent(offer_id)));
        let response = self
            .session
            .send(Request::post(url))
            .map_err(|error| error.outcome(self.session.account(), &action))?;
        if !response.is_success() {
            return Err(self.refused(&response, &action));
        }
        let listing_id = response
            .json::<Value>()
            .ok()
            .and_then(|answer| answer["listingId"].as_str().map(str::to_owned));
        match &listing_id {
            Some(listing_id) => {
                let offer = KnownOffer {
                    offer_id: offer_id.to_owned(),
                    listing_id: Some(listing_id.clone()),
                };
                offers::save(&self.site.marketplace_id, &self.product.sku, &offer);
                log::info(
                    "offer published",
                    &[("sku", &self.product.sku), ("listing_id", listing_id)],
                );
            }
            None => log::warn(
                "eBay published the offer without saying its listing id",
                &[("offer_id", offer_id)],
            ),
        }
        Ok(listing_id)
    }
}

/// eBay's condition for the platform's.
pub fn condition(condition: Option<&str>) -> &'static str {
    match condition {
        Some("used") => "USED_EXCELLENT",
        Some("refurbished") => "SELLER_REFURBISHED",
        _ => "NEW",
    }
}

/// The title cut to eBay's 80 characters, at a word boundary when one is
/// near the end.
pub fn title(title: &str) -> String {
    rules::cut_at_word(title, MAX_TITLE_CHARS)
}

/// `color` → `Color`, `size_type` → `Size Type`.
fn aspect_name(key: &str) -> String {
    key.split(['_', ' ', '-'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A GTIN as eBay's UPC (12 digits) or EAN (8 or 13 digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gtin {
    /// A UPC-A.
    Upc(String),
    /// An EAN-13 or EAN-8.
    Ean(String),
}

/// What eBay calls `gtin`, or `None` for a GTIN-14 of a case, which eBay
/// does not list.
pub fn classify_gtin(gtin: &str) -> Option<Gtin> {
    let mut digits = gtin.trim();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() == 14 {
        digits = digits.strip_prefix('0')?;
    }
    match digits.len() {
        13 => Some(match digits.strip_prefix('0') {
            Some(upc) => Gtin::Upc(upc.to_owned()),
            None => Gtin::Ean(digits.to_owned()),
        }),
        12 => Some(Gtin::Upc(digits.to_owned())),
        8 => Some(Gtin::Ean(digits.to_owned())),
        _ => None,
    }
}

/// The `createOrReplaceInventoryItem` body for `product`.
pub fn inventory_item(product: &ProductUpdated, availability: Option<Value>) -> Value {
    let mut ebay_product = Map::new();
    let ebay_title = title(&product.title);
    if ebay_title != product.title.trim() {
        log::warn(
            "the title is longer than eBay's 80 characters; it was cut",
            &[("sku", &product.sku), ("title", &ebay_title)],
        );
    }
    let description = product
        .description
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .unwrap_or(product.title.trim());
    let description = rules::cut_at_word(description, MAX_DESCRIPTION_CHARS);
    ebay_product.insert("title".into(), ebay_title.into());
    ebay_product.insert("description".into(), description.into());
    let mut aspects = Map::new();
    // The brand goes as its own field; as an aspect only when it fits an
    // aspect value.
    if let Some(brand) = product
        .brand
        .as_deref()
        .map(str::trim)
        .filter(|brand| brand.chars().count() <= MAX_ASPECT_VALUE_CHARS)
    {
        aspects.insert("Brand".into(), json!([brand]));
    }
    for (key, value) in &product.attributes {
        let name = aspect_name(key);
        if name.chars().count() > MAX_ASPECT_NAME_CHARS {
            log::warn(
                "attribute left out: its name is longer than eBay's 40 characters for an aspect name",
                &[("sku", &product.sku), ("attribute", key)],
            );
            continue;
        }
        let value = rules::cut_at_word(value, MAX_ASPECT_VALUE_CHARS);
        if !name.is_empty() && !value.is_empty() && !aspects.contains_key(&name) {
            aspects.insert(name, json!([value]));
        }
    }
    if !aspects.is_empty() {
        ebay_product.insert("aspects".into(), Value::Object(aspects));
    }
    if let Some(brand) = &product.brand {
        ebay_product.insert("brand".into(), brand.trim().into());
    }
    let ids = &product.identifiers;
    if let Some(mpn) = &ids.mpn {
        ebay_product.insert("mpn".into(), mpn.trim().into());
    }
    let from_gtin = ids.gtin.as_deref().and_then(classify_gtin);
    let upc = ids.upc.clone().or(match &from_gtin {
        Some(Gtin::Upc(upc)) => Some(upc.clone()),
        _ => None,
    });
    let ean = ids.ean.clone().or(match &from_gtin {
        Some(Gtin::Ean(ean)) => Some(ean.clone()),
        _ => None,
    });
    for (name, value) in [("upc", upc), ("ean", ean), ("isbn", ids.isbn.clone())] {
        if let Some(value) = value {
            ebay_product.insert(name.into(), json!([value]));
        }
    }
    if !product.images.is_empty() {
        if product.images.len() > MAX_IMAGES {
            log::warn(
                "more images than eBay's 24 pictures per listing; the first 24 are sent",
                &[("sku", &product.sku)],
            );
        }
        let images: Vec<&String> = product.images.iter().take(MAX_IMAGES).collect();
        ebay_product.insert("imageUrls".into(), json!(images));
    }
    let mut item = Map::new();
    if let Some(availability) = availability {
        item.insert("availability".into(), availability);
    }
    item.insert(
        "condition".into(),
        condition(product.condition.as_deref()).into(),
    );
    item.insert("product".into(), Value::Object(ebay_product));
    Value::Object(item)
}

/// The `createOffer` body for `product` (with `quantity` as eBay's
/// `int32`) on `marketplace_id`: a fixed-price offer, so listed `GTC`, the
/// only duration eBay takes for one.
pub fn offer(
    product: &ProductUpdated,
    quantity: Option<u32>,
    marketplace_id: &str,
    listing: &ListingSettings,
) -> Value {
    let mut offer = json!({
        "sku": product.sku,
        "marketplaceId": marketplace_id,
        "format": "FIXED_PRICE",
        "listingDuration": "GTC",
        "categoryId": listing.category_id,
        "pricingSummary": {
            "price": {"value": product.price.amount, "currency": product.price.currency},
        },
        "listingPolicies": {
            "fulfillmentPolicyId": listing.fulfillment_policy_id,
            "paymentPolicyId": listing.payment_policy_id,
            "returnPolicyId": listing.return_policy_id,
        },
        "merchantLocationKey": listing.merchant_location_key,
    });
    if let Some(quantity) = quantity {
        offer["availableQuantity"] = quantity.into();
    }
    offer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(payload: Value) -> ProductUpdated {
        serde_json::from_value(payload).unwrap()
    }

    #[test]
    fn long_titles_are_cut_at_a_word_under_80_characters() {
        let long = format!(
            "{} {}",
            "Organic cotton T-shirt in red,".repeat(2),
            "medium size and more words"
        );
        let cut = title(&long);
        assert!(cut.chars().count() <= MAX_TITLE_CHARS, "{cut}");
        assert!(long.starts_with(&cut));
        assert!(!cut.ends_with(' '));
        let unbroken = "x".repeat(100);
        assert_eq!(title(&unbroken).len(), 80);
        assert_eq!(title("  Mug  "), "Mug");
    }

    #[test]
    fn gtins_become_upcs_or_eans() {
        assert_eq!(
            classify_gtin("00012345678905"),
            Some(Gtin::Upc("012345678905".into()))
        );
        assert_eq!(
            classify_gtin("4006381333931"),
            Some(Gtin::Ean("4006381333931".into()))
        );
        assert_eq!(
            classify_gtin("012345678905"),
            Some(Gtin::Upc("012345678905".into()))
        );
        assert_eq!(
            classify_gtin("96385074"),
            Some(Gtin::Ean("96385074".into()))
        );
        assert_eq!(classify_gtin("10012345678902"), None);
    }

    #[test]
    fn the_item_carries_the_product_with_aspects() {
        let item = inventory_item(
            &product(json!({
                "sku": "TSHIRT-RED-M", "title": "Red T-shirt", "brand": "Acme",
                "identifiers": {"gtin": "00012345678905", "mpn": "TS-R-M"},
                "images": ["https://cdn.example.com/1.jpg"],
                "price": {"amount": "19.99", "currency": "USD"},
                "condition": "used",
                "attributes": {"color": "red", "size_type": "Regular"},
            })),
            None,
        );
        assert_eq!(
            item,
            json!({
                "condition": "USED_EXCELLENT",
                "product": {
                    "title": "Red T-shirt",
                    "description": "Red T-shirt",
                    "aspects": {"Brand": ["Acme"], "Color": ["red"], "Size Type": ["Regular"]},
                    "brand": "Acme",
                    "mpn": "TS-R-M",
                    "upc": ["012345678905"],
                    "imageUrls": ["https://cdn.example.com/1.jpg"],
                },
            })
        );
    }
}
