//! The configuration being run: its settings, and whether the credentials
//! the host applies are set, checked before anything is sent.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sluice_guest::auth::{self, AuthError};
use sluice_guest::{InvocationContext, MissingField};

use crate::lwa;
use crate::profile::{self, Requirements};

/// The North American SP-API endpoint, used when setting `endpoint` is unset.
pub const DEFAULT_ENDPOINT: &str = "https://sellingpartnerapi-na.amazon.com";
/// The product type listings are submitted as when setting `product_type` is unset.
pub const DEFAULT_PRODUCT_TYPE: &str = "PRODUCT";
/// The language of listing texts when setting `language_tag` is unset.
pub const DEFAULT_LANGUAGE_TAG: &str = "en_US";

/// Everything the connector needs to call Amazon for one seller; the
/// credentials stay with the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The seller (merchant) id, the `{sellerId}` of listings paths.
    pub seller_id: String,
    /// The marketplace listed in and synced from.
    pub marketplace_id: String,
    /// The SP-API base URL, `https://host`, without a trailing slash.
    pub endpoint: String,
    /// The product type of submitted listings.
    pub product_type: String,
    /// The language of listing texts and issue messages.
    pub language_tag: String,
    /// The requirement set of full listings (setting `listing_requirements`).
    pub requirements: Requirements,
    /// Store attribute key → Amazon attribute name (setting `attribute_map`).
    pub attribute_map: BTreeMap<String, String>,
    /// Attributes sent with every product (setting `fixed_attributes`).
    pub fixed_attributes: Map<String, Value>,
}

impl Config {
    /// Reads the configuration of `context`, or says which field is missing
    /// or malformed.
    pub fn from_context(context: &InvocationContext) -> Result<Self, String> {
        let missing = |error: MissingField| error.to_string();
        let endpoint = context.setting("endpoint").unwrap_or(DEFAULT_ENDPOINT);
        let marketplace_id = context
            .require_setting("marketplace_id")
            .map_err(missing)?
            .trim()
            .to_owned();
        require_host_credential(lwa::CREDENTIAL)?;
        Ok(Self {
            seller_id: context
                .require_setting("seller_id")
                .map_err(missing)?
                .trim()
                .to_owned(),
            requirements: Requirements::parse(context.setting("listing_requirements"))?,
            attribute_map: profile::parse_attribute_map(context.setting("attribute_map"))?,
            fixed_attributes: profile::parse_fixed_attributes(
                context.setting("fixed_attributes"),
                &marketplace_id,
            )?,
            marketplace_id,
            endpoint: normalize_endpoint(endpoint)?,
            product_type: context
                .setting("product_type")
                .unwrap_or(DEFAULT_PRODUCT_TYPE)
                .trim()
                .to_owned(),
            language_tag: context
                .setting("language_tag")
                .unwrap_or(DEFAULT_LANGUAGE_TAG)
                .trim()
                .to_owned(),
        })
    }
}

/// Checks that the host can apply credential `key`: the connector cannot
/// read it, but can ask whether it is set. (The client id and secret the
/// grant also needs are checked by the host when it asks for a token.)
fn require_host_credential(key: &str) -> Result<(), String> {
    match auth::request_header(key) {
        Ok(_) => Ok(()),
        Err(AuthError::NotConfigured(_)) => Err(MissingField::credential(key).to_string()),
        Err(error) => Err(error.to_string()),
    }
}

/// `endpoint` as `https://host[:port]`, or why it cannot be one.
///
/// Only the form is checked here: which hosts the connector may reach is
/// the manifest's allowed origins, enforced by the host for every request.
pub fn normalize_endpoint(endpoint: &str) -> Result<String, String> {
    let trimmed = endpoint.trim().trim_end_matches('/');
    let Some(authority) = trimmed.strip_prefix("https://") else {
        return Err(format!(
            "setting `endpoint` must be an https URL such as {DEFAULT_ENDPOINT}, got {endpoint:?}"
        ));
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "setting `endpoint` must be the endpoint's origin alone, such as {DEFAULT_ENDPOINT}, \
             got {endpoint:?}"
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_lose_their_trailing_slash() {
        assert_eq!(
            normalize_endpoint("https://sellingpartnerapi-eu.amazon.com/"),
            Ok("https://sellingpartnerapi-eu.amazon.com".to_owned())
        );
        assert_eq!(
            normalize_endpoint(" https://sellingpartnerapi-na.amazon.com "),
            Ok(DEFAULT_ENDPOINT.to_owned())
        );
    }

    #[test]
    fn endpoints_must_be_https_origins() {
        assert!(normalize_endpoint("http://sellingpartnerapi-na.amazon.com").is_err());
        assert!(normalize_endpoint("https://sellingpartnerapi-na.amazon.com/orders").is_err());
        assert!(normalize_endpoint("https://").is_err());
    }
}
