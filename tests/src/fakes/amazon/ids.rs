//! Identifiers in Amazon's formats, random so that a test cannot pass by
//! guessing one.

use std::hash::{DefaultHasher, Hash, Hasher};

use rand::Rng;

use crate::fakes::oauth::random_alphanumeric;

const UPPER_ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

fn random_digits(len: usize) -> String {
    random_from(b"0123456789", len)
}

/// A request or submission id: a UUID (`f1dc2914-75dd-11ea-bc55-0242ac130003`).
pub(super) fn uuid() -> String {
    let hex = hex::encode(rand::rng().random::<[u8; 16]>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A seller (merchant) id: `A` and 13 upper-case letters or digits.
pub(super) fn seller_id() -> String {
    format!("A{}", random_from(UPPER_ALPHANUMERIC, 13))
}

/// An LWA client id (`amzn1.application-oa2-client.<32 hex>`).
pub(super) fn client_id() -> String {
    let hex = hex::encode(rand::rng().random::<[u8; 16]>());
    format!("amzn1.application-oa2-client.{hex}")
}

/// An LWA client secret (`amzn1.oa2-cs.v1.<64 hex>`).
pub(super) fn client_secret() -> String {
    let hex = hex::encode(rand::rng().random::<[u8; 32]>());
    format!("amzn1.oa2-cs.v1.{hex}")
}

/// An LWA refresh token (`Atzr|IwEB...`).
pub(super) fn refresh_token() -> String {
    format!("Atzr|IwEB{}", random_alphanumeric(120))
}

/// An LWA access token (`Atza|IwEB...`).
pub(super) fn access_token() -> String {
    format!("Atza|IwEB{}", random_alphanumeric(120))
}

/// An order id in Amazon's 3-7-7 format (`113-1234567-1234567`).
pub(super) fn amazon_order_id() -> String {
    format!(
        "{}-{}-{}",
        random_digits(3),
        random_digits(7),
        random_digits(7)
    )
}

/// An order item id: 14 digits.
pub(super) fn order_item_id() -> String {
    random_digits(14)
}

/// A `NextToken`: opaque, like Amazon's.
pub(super) fn next_token() -> String {
    random_alphanumeric(40)
}

/// The ASIN the fake's catalogue gives a seller's SKU: `B0` and eight
/// letters or digits, the same every time for the same SKU.
pub(super) fn asin_for(seller_id: &str, sku: &str) -> String {
    let mut hasher = DefaultHasher::new();
    (seller_id, sku).hash(&mut hasher);
    let mut hash = hasher.finish();
    let base = UPPER_ALPHANUMERIC.len() as u64;
    let tail: String = (0..8)
        .map(|_| {
            let digit = UPPER_ALPHANUMERIC[(hash % base) as usize];
            hash /= base;
            char::from(digit)
        })
        .collect();
    format!("B0{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_amazons_shapes() {
        let uuid = uuid();
        assert_eq!(
            uuid.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        let seller = seller_id();
        assert!(seller.starts_with('A') && seller.len() == 14, "{seller}");
        let order = amazon_order_id();
        assert_eq!(
            order.split('-').map(str::len).collect::<Vec<_>>(),
            [3, 7, 7]
        );
        assert!(access_token().starts_with("Atza|"));
        assert!(refresh_token().starts_with("Atzr|"));
        assert!(client_id().starts_with("amzn1.application-oa2-client."));
    }

    #[test]
    fn asins_are_stable_per_seller_and_sku() {
        let asin = asin_for("A1", "SKU-1");
        assert_eq!(asin, asin_for("A1", "SKU-1"));
        assert_ne!(asin, asin_for("A1", "SKU-2"));
        assert!(asin.starts_with("B0") && asin.len() == 10, "{asin}");
    }
}
