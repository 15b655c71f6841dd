//! What a configuration supplies: the environment, site and listing
//! settings. The credentials (the app's keys and the seller's refresh token)
//! stay with the host, which applies them to each call ([`crate::oauth`]).

use sluice_guest::auth::{self, AuthError};
use sluice_guest::{InvocationContext, MissingField};

use crate::oauth::REFRESH_TOKEN;

/// The marketplaces eBay's Inventory API lists on, with their currency.
pub const MARKETPLACES: [(&str, &str); 17] = [
    ("EBAY_US", "USD"),
    ("EBAY_MOTORS_US", "USD"),
    ("EBAY_CA", "CAD"),
    ("EBAY_GB", "GBP"),
    ("EBAY_IE", "EUR"),
    ("EBAY_DE", "EUR"),
    ("EBAY_AT", "EUR"),
    ("EBAY_CH", "CHF"),
    ("EBAY_FR", "EUR"),
    ("EBAY_BE", "EUR"),
    ("EBAY_NL", "EUR"),
    ("EBAY_IT", "EUR"),
    ("EBAY_ES", "EUR"),
    ("EBAY_PL", "PLN"),
    ("EBAY_AU", "AUD"),
    ("EBAY_HK", "HKD"),
    ("EBAY_SG", "SGD"),
];

/// The `Content-Language` values the Inventory API takes.
pub const CONTENT_LANGUAGES: [&str; 17] = [
    "en-US", "en-CA", "fr-CA", "en-GB", "en-AU", "en-IE", "de-DE", "de-AT", "de-CH", "fr-FR",
    "fr-BE", "nl-BE", "nl-NL", "it-IT", "es-ES", "pl-PL", "zh-HK",
];

/// Production or the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// `api.ebay.com`.
    Production,
    /// `api.sandbox.ebay.com`.
    Sandbox,
}

impl Environment {
    /// The API host.
    pub fn host(self) -> &'static str {
        match self {
            Self::Production => "api.ebay.com",
            Self::Sandbox => "api.sandbox.ebay.com",
        }
    }

    /// The setting's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Sandbox => "sandbox",
        }
    }
}

/// The seller's eBay account, as far as the connector knows it: where its
/// APIs are.
#[derive(Debug, Clone)]
pub struct Account {
    /// Where the APIs are.
    pub environment: Environment,
}

impl Account {
    /// Reads the environment and makes sure the host has a refresh token to
    /// authenticate calls with; the problem names what is missing or wrong.
    /// (The host checks the app's keys when it asks eBay for a token.)
    pub fn from_configuration(context: &InvocationContext) -> Result<Self, String> {
        let environment = match context.setting("environment").unwrap_or("production") {
            "production" => Environment::Production,
            "sandbox" => Environment::Sandbox,
            other => {
                return Err(format!(
                    "setting `environment` is {other:?}; it must be production or sandbox"
                ));
            }
        };
        match auth::request_header(REFRESH_TOKEN) {
            Ok(_) => Ok(Self { environment }),
            Err(AuthError::NotConfigured(key)) => Err(MissingField::credential(&key).to_string()),
            Err(error) => Err(error.to_string()),
        }
    }

    /// `https://<host><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.environment.host())
    }
}

/// The eBay site listings go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `EBAY_US`.
    pub marketplace_id: String,
    /// `en-US`.
    pub content_language: String,
}

impl Site {
    /// The currency the marketplace lists in.
    pub fn currency(&self) -> &'static str {
        MARKETPLACES
            .iter()
            .find(|(id, _)| *id == self.marketplace_id)
            .map_or("USD", |(_, currency)| currency)
    }

    /// Reads `marketplace_id` (default `EBAY_US`) and `content_language`
    /// (default `en-US`).
    pub fn from_configuration(context: &InvocationContext) -> Result<Self, String> {
        let marketplace_id = context.setting("marketplace_id").unwrap_or("EBAY_US");
        if !MARKETPLACES.iter().any(|(id, _)| *id == marketplace_id) {
            return Err(format!(
                "setting `marketplace_id` is {marketplace_id:?}, which is not an eBay marketplace the Inventory API lists on"
            ));
        }
        let content_language = context.setting("content_language").unwrap_or("en-US");
        if !CONTENT_LANGUAGES.contains(&content_language) {
            return Err(format!(
                "setting `content_language` is {content_language:?}, which eBay's Inventory API does not take"
            ));
        }
        Ok(Self {
            marketplace_id: marketplace_id.to_owned(),
            content_language: content_language.to_owned(),
        })
    }
}

/// What a new offer needs besides the product: where it ships from, its
/// category and the seller's business policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingSettings {
    /// `merchantLocationKey`.
    pub merchant_location_key: String,
    /// `categoryId`.
    pub category_id: String,
    /// `listingPolicies.fulfillmentPolicyId`.
    pub fulfillment_policy_id: String,
    /// `listingPolicies.paymentPolicyId`.
    pub payment_policy_id: String,
    /// `listingPolicies.returnPolicyId`.
    pub return_policy_id: String,
}

/// The settings [`ListingSettings`] is read from.
pub const LISTING_SETTINGS: [&str; 5] = [
    "merchant_location_key",
    "category_id",
    "fulfillment_policy_id",
    "payment_policy_id",
    "return_policy_id",
];

impl ListingSettings {
    /// Reads the listing settings, or names those missing.
    pub fn from_configuration(context: &InvocationContext) -> Result<Self, Vec<&'static str>> {
        let missing: Vec<&'static str> = LISTING_SETTINGS
            .into_iter()
            .filter(|key| context.setting(key).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let get = |key| context.setting(key).unwrap_or_default().trim().to_owned();
        Ok(Self {
            merchant_location_key: get("merchant_location_key"),
            category_id: get("category_id"),
            fulfillment_policy_id: get("fulfillment_policy_id"),
            payment_policy_id: get("payment_policy_id"),
            return_policy_id: get("return_policy_id"),
        })
    }
}

/// "settings `a` and `b` are not set".
pub fn describe_missing(missing: &[&str]) -> String {
    let quoted: Vec<String> = missing.iter().map(|key| format!("`{key}`")).collect();
    match quoted.as_slice() {
        [one] => format!("setting {one} is not set"),
        [init @ .., last] => format!("settings {} and {last} are not set", init.join(", ")),
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_settings_read_as_a_sentence() {
        assert_eq!(
            describe_missing(&["category_id"]),
            "setting `category_id` is not set"
        );
        assert_eq!(
            describe_missing(&["a", "b", "c"]),
            "settings `a`, `b` and `c` are not set"
        );
    }
}
