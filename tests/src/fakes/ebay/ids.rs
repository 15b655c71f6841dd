//! Identifiers in eBay's formats, random so that a test cannot pass by
//! guessing one.

use rand::Rng;

use crate::fakes::oauth::random_alphanumeric;

fn random_digits(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// An application's client id (App ID): `Sluice-Connecto-PRD-<hex>-<hex>`.
pub(super) fn client_id() -> String {
    let hex = hex::encode(rand::rng().random::<[u8; 8]>());
    format!("Sluice-Connecto-PRD-{}-{}", &hex[..9], &hex[9..])
}

/// An application's client secret (Cert ID): `PRD-<hex>`.
pub(super) fn client_secret() -> String {
    let hex = hex::encode(rand::rng().random::<[u8; 16]>());
    format!("PRD-{hex}")
}

/// A user refresh token: `v^1.1#i^1#r^1#...`.
pub(super) fn refresh_token() -> String {
    format!("v^1.1#i^1#r^1#p^3#I^3#f^0#t^{}", random_alphanumeric(96))
}

/// A user access token: `v^1.1#i^1#p^3#...`.
pub(super) fn access_token() -> String {
    format!(
        "v^1.1#i^1#p^3#r^1#I^3#f^0#t^H4sI{}",
        random_alphanumeric(200)
    )
}

/// A business policy id: 12 digits.
pub(super) fn policy_id() -> String {
    random_digits(12)
}

/// An offer id: 10 digits.
pub(super) fn offer_id() -> String {
    random_digits(10)
}

/// A listing (item) id: 12 digits starting with `11`.
pub(super) fn listing_id() -> String {
    format!("11{}", random_digits(10))
}

/// An order id in eBay's current format (`12-34567-89012`).
pub(super) fn order_id() -> String {
    format!(
        "{}-{}-{}",
        random_digits(2),
        random_digits(5),
        random_digits(5)
    )
}

/// A line item id: 14 digits.
pub(super) fn line_item_id() -> String {
    format!("1{}", random_digits(13))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_ebays_shapes() {
        let order = order_id();
        assert_eq!(
            order.split('-').map(str::len).collect::<Vec<_>>(),
            [2, 5, 5]
        );
        assert_eq!(line_item_id().len(), 14);
        assert!(listing_id().starts_with("11"));
        assert!(access_token().starts_with("v^1.1#"));
        assert!(client_secret().starts_with("PRD-"));
        assert!(client_id().starts_with("Sluice-Connecto-PRD-"));
    }
}
