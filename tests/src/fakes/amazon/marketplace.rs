//! The Amazon stores (marketplaces) the fake knows and the regional endpoint
//! that serves each: a North American marketplace id sent to the European
//! endpoint is refused, as Amazon's regions do not share data.

/// A regional Selling Partner API endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// `sellingpartnerapi-na.amazon.com` (and the sandbox at
    /// `sandbox.sellingpartnerapi-na.amazon.com`).
    NorthAmerica,
    /// `sellingpartnerapi-eu.amazon.com`.
    Europe,
    /// `sellingpartnerapi-fe.amazon.com`.
    FarEast,
}

impl Region {
    /// The production hostname of the region's endpoint.
    pub fn hostname(self) -> &'static str {
        match self {
            Self::NorthAmerica => "sellingpartnerapi-na.amazon.com",
            Self::Europe => "sellingpartnerapi-eu.amazon.com",
            Self::FarEast => "sellingpartnerapi-fe.amazon.com",
        }
    }
}

/// An Amazon store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marketplace {
    /// The marketplace id (`ATVPDKIKX0DER`).
    pub id: &'static str,
    /// The currency its prices and order totals are in.
    pub currency: &'static str,
    /// The `SalesChannel` orders report (`Amazon.com`).
    pub sales_channel: &'static str,
    /// The endpoint that serves it.
    pub region: Region,
}

/// Amazon.com.
pub const MARKETPLACE_US: &str = "ATVPDKIKX0DER";
/// Amazon.ca.
pub const MARKETPLACE_CA: &str = "A2EUQ1WTGCTBG2";
/// Amazon.co.uk.
pub const MARKETPLACE_UK: &str = "A1F83G8C2ARO7P";
/// Amazon.de.
pub const MARKETPLACE_DE: &str = "A1PA6795UKMFR9";
/// Amazon.co.jp.
pub const MARKETPLACE_JP: &str = "A1VC38T7YXB528";

const fn store(
    id: &'static str,
    currency: &'static str,
    sales_channel: &'static str,
    region: Region,
) -> Marketplace {
    Marketplace {
        id,
        currency,
        sales_channel,
        region,
    }
}

/// Every marketplace the fake knows, with Amazon's ids.
pub const MARKETPLACES: [Marketplace; 16] = [
    store(MARKETPLACE_US, "USD", "Amazon.com", Region::NorthAmerica),
    store(MARKETPLACE_CA, "CAD", "Amazon.ca", Region::NorthAmerica),
    store(
        "A1AM78C64UM0Y8",
        "MXN",
        "Amazon.com.mx",
        Region::NorthAmerica,
    ),
    store(
        "A2Q3Y263D00KWC",
        "BRL",
        "Amazon.com.br",
        Region::NorthAmerica,
    ),
    store(MARKETPLACE_UK, "GBP", "Amazon.co.uk", Region::Europe),
    store(MARKETPLACE_DE, "EUR", "Amazon.de", Region::Europe),
    store("A13V1IB3VIYZZH", "EUR", "Amazon.fr", Region::Europe),
    store("APJ6JRA9NG5V4", "EUR", "Amazon.it", Region::Europe),
    store("A1RKKUPIHCS9HS", "EUR", "Amazon.es", Region::Europe),
    store("A1805IZSGTT6HS", "EUR", "Amazon.nl", Region::Europe),
    store("A2NODRKZP88ZB9", "SEK", "Amazon.se", Region::Europe),
    store("A1C3SOZRARQ6R3", "PLN", "Amazon.pl", Region::Europe),
    store("A21TJRUUN4KGV", "INR", "Amazon.in", Region::Europe),
    store(MARKETPLACE_JP, "JPY", "Amazon.co.jp", Region::FarEast),
    store("A39IBJ37TRP1C6", "AUD", "Amazon.com.au", Region::FarEast),
    store("A19VAU5U5O7RUS", "SGD", "Amazon.sg", Region::FarEast),
];

/// The marketplace with id `id`.
pub fn find(id: &str) -> Option<&'static Marketplace> {
    MARKETPLACES.iter().find(|marketplace| marketplace.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marketplaces_are_found_by_id_with_their_region_and_currency() {
        let us = find(MARKETPLACE_US).unwrap();
        assert_eq!((us.currency, us.region), ("USD", Region::NorthAmerica));
        assert_eq!(find(MARKETPLACE_DE).unwrap().region, Region::Europe);
        assert_eq!(find(MARKETPLACE_JP).unwrap().currency, "JPY");
        assert_eq!(find("NOT-A-MARKETPLACE"), None);
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = MARKETPLACES.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), MARKETPLACES.len());
    }
}
