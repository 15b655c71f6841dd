//! What the fake Amazon knows about sellers: the marketplaces each sells in,
//! their listings, their orders, and the `NextToken`s of order searches in
//! progress. The fake keeps it behind one mutex.

use std::collections::{BTreeMap, HashMap};

use sluice_core::UnixMillis;

use super::ids;
use super::listing::Listing;
use super::marketplace::{self, Marketplace, Region};
use super::order::{Order, OrderSeed, OrderStatus};
use super::orders_query::OrdersPage;

#[derive(Default)]
pub(super) struct SellerCentral {
    /// Seller id to the marketplaces it sells in.
    sellers: HashMap<String, Vec<&'static Marketplace>>,
    /// By seller id and SKU.
    listings: BTreeMap<(String, String), Listing>,
    /// By Amazon order id.
    orders: BTreeMap<String, Order>,
    /// Order searches in progress, by `NextToken`.
    pages: HashMap<String, OrdersPage>,
}

impl SellerCentral {
    /// # Panics
    /// If a marketplace id is not one of [`marketplace::MARKETPLACES`].
    pub(super) fn add_seller(&mut self, marketplace_ids: &[&str]) -> String {
        let marketplaces = marketplace_ids
            .iter()
            .map(|id| {
                marketplace::find(id)
                    .unwrap_or_else(|| panic!("the fake Amazon knows no marketplace {id:?}"))
            })
            .collect();
        let seller_id = ids::seller_id();
        self.sellers.insert(seller_id.clone(), marketplaces);
        seller_id
    }

    /// The marketplaces of a comma-separated `marketplaceIds` value, if the
    /// seller sells in each and `region` serves each; else the reason.
    pub(super) fn marketplaces(
        &self,
        seller_id: &str,
        marketplace_ids: &str,
        region: Region,
    ) -> Result<Vec<&'static Marketplace>, String> {
        let participations = self
            .sellers
            .get(seller_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        marketplace_ids
            .split(',')
            .map(str::trim)
            .map(|id| {
                let known = marketplace::find(id)
                    .ok_or_else(|| format!("{id:?} is not a marketplace id"))?;
                if known.region != region {
                    return Err(format!(
                        "marketplace {id} is served by {}, not this endpoint",
                        known.region.hostname()
                    ));
                }
                if !participations.contains(&known) {
                    return Err(format!("the seller does not sell in marketplace {id}"));
                }
                Ok(known)
            })
            .collect()
    }

    pub(super) fn listing(&self, seller_id: &str, sku: &str) -> Option<&Listing> {
        self.listings.get(&(seller_id.to_owned(), sku.to_owned()))
    }

    pub(super) fn listings_of(&self, seller_id: &str) -> Vec<Listing> {
        self.listings
            .values()
            .filter(|listing| listing.seller_id == seller_id)
            .cloned()
            .collect()
    }

    pub(super) fn store_listing(&mut self, listing: Listing) {
        let key = (listing.seller_id.clone(), listing.sku.clone());
        self.listings.insert(key, listing);
    }

    pub(super) fn remove_listing(&mut self, seller_id: &str, sku: &str) {
        self.listings
            .remove(&(seller_id.to_owned(), sku.to_owned()));
    }

    /// # Panics
    /// If the seller is unknown or does not sell in the seed's marketplace.
    pub(super) fn seed_order(&mut self, seller_id: &str, seed: OrderSeed) -> String {
        let marketplaces = self
            .sellers
            .get(seller_id)
            .unwrap_or_else(|| panic!("the fake Amazon has no seller {seller_id:?}"));
        let order = seed.into_order(seller_id, marketplaces);
        let id = order.amazon_order_id.clone();
        self.orders.insert(id.clone(), order);
        id
    }

    pub(super) fn order(&self, amazon_order_id: &str) -> Option<&Order> {
        self.orders.get(amazon_order_id)
    }

    /// The order if it belongs to `seller_id`: another seller's order is as
    /// good as absent.
    pub(super) fn order_of(&self, seller_id: &str, amazon_order_id: &str) -> Option<&Order> {
        self.orders
            .get(amazon_order_id)
            .filter(|order| order.seller_id == seller_id)
    }

    /// [`Self::order_of`], to change.
    pub(super) fn order_of_mut(
        &mut self,
        seller_id: &str,
        amazon_order_id: &str,
    ) -> Option<&mut Order> {
        self.orders
            .get_mut(amazon_order_id)
            .filter(|order| order.seller_id == seller_id)
    }

    pub(super) fn orders_of(&self, seller_id: &str) -> impl Iterator<Item = &Order> {
        self.orders
            .values()
            .filter(move |order| order.seller_id == seller_id)
    }

    /// # Panics
    /// If there is no order `amazon_order_id`.
    pub(super) fn set_order_status(
        &mut self,
        amazon_order_id: &str,
        status: OrderStatus,
        now: UnixMillis,
    ) {
        let order = self
            .orders
            .get_mut(amazon_order_id)
            .unwrap_or_else(|| panic!("the fake Amazon has no order {amazon_order_id:?}"));
        order.status = status;
        order.touch(now);
    }

    /// Remembers a search page under a fresh `NextToken`.
    pub(super) fn remember_page(&mut self, page: OrdersPage) -> String {
        let token = ids::next_token();
        self.pages.insert(token.clone(), page);
        token
    }

    pub(super) fn page(&self, next_token: &str) -> Option<&OrdersPage> {
        self.pages.get(next_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::amazon::marketplace::{MARKETPLACE_CA, MARKETPLACE_DE, MARKETPLACE_US};

    #[test]
    fn marketplaces_must_be_known_regional_and_the_sellers() {
        let mut central = SellerCentral::default();
        let seller = central.add_seller(&[MARKETPLACE_US, MARKETPLACE_DE]);
        let na = Region::NorthAmerica;

        let found = central.marketplaces(&seller, MARKETPLACE_US, na).unwrap();
        assert_eq!(found[0].id, MARKETPLACE_US);
        assert!(
            central
                .marketplaces(&seller, "XYZ", na)
                .unwrap_err()
                .contains("\"XYZ\"")
        );
        assert!(
            central
                .marketplaces(&seller, MARKETPLACE_DE, na)
                .unwrap_err()
                .contains("sellingpartnerapi-eu.amazon.com")
        );
        assert!(
            central
                .marketplaces(&seller, &format!("{MARKETPLACE_US},{MARKETPLACE_CA}"), na)
                .unwrap_err()
                .contains("does not sell")
        );
    }

    #[test]
    #[should_panic(expected = "knows no marketplace")]
    fn sellers_sell_in_known_marketplaces_only() {
        SellerCentral::default().add_seller(&["NOPE"]);
    }
}
