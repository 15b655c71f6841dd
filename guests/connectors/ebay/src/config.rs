//! What a configuration supplies: the app's keys and the seller's refresh
//! token (credentials), and the site and listing settings.

use sluice_guest::{InvocationContext, MissingField, credentials};

/// The OAuth scopes every token is asked for: the Inventory API (listings,
/// quantities) and the Fulfillment API (orders, shipments).
pub const SCOPES: [&str; 2] = [
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
];

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

/// The app and the seller's consent: everything a token exchange needs.
#[derive(Debug, Clone)]
pub struct Account {
    /// Where the APIs are.
    pub environment: Environment,
    /// The App ID.
    pub client_id: String,
    /// The Cert ID.
    pub client_secret: String,
    /// The seller's refresh token.
    pub refresh_token: String,
}

impl Account {
    /// Reads the credentials and the environment; the problem names what is
    /// missing or wrong.
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
        let missing: Vec<String> = ["client_id", "client_secret", "refresh_token"]
            .into_iter()
            .filter(|key| credentials::get(key).is_none())
            .map(|key| MissingField::credential(key).to_string())
            .collect();
        if !missing.is_empty() {
            return Err(missing.join("; "));
        }
        let get = |key| credentials::get(key).unwrap_or_default();
        Ok(Self {
            environment,
            client_id: get("client_id").trim().to_owned(),
            client_secret: get("client_secret").trim().to_owned(),
            refresh_token: get("refresh_token").trim().to_owned(),
        })
    }

    /// `https://<host><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.environment.host())
    }

    /// A hint when the App ID is of the other environment's keyset (eBay's
    /// App IDs carry `PRD` or `SBX`).
    pub fn keyset_hint(&self) -> Option<&'static str> {
        let sandbox_keys = self.client_id.contains("-SBX-");
        let production_keys = self.client_id.contains("-PRD-");
        match self.environment {
            Environment::Production if sandbox_keys => Some(
                " The App ID is of a sandbox keyset; set environment to sandbox or use the production keyset.",
            ),
            Environment::Sandbox if production_keys => Some(
                " The App ID is of a production keyset; set environment to production or use the sandbox keyset.",
            ),
            _ => None,
        }
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
