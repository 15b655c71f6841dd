//! What a configuration supplies: the service account's JSON key
//! (credential) and where products go in Merchant Center (settings).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sluice_guest::auth::{self, AuthError};
use sluice_guest::{InvocationContext, MissingField};

/// Credential: the service account's JSON key file, as downloaded from the
/// Google Cloud console. The host signs in with it (manifest scheme
/// `oauth2-jwt-bearer`); the component never reads it.
pub const KEY_CREDENTIAL: &str = "service_account_key";
/// Setting: the numeric Merchant Center account id.
pub const MERCHANT_ID: &str = "merchant_id";
/// Setting: the API data source products are written to, as its numeric id
/// or its name `accounts/{merchant_id}/dataSources/{id}`.
pub const DATA_SOURCE: &str = "data_source";
/// Setting: the feed label products are filed under (`US`).
pub const FEED_LABEL: &str = "feed_label";
/// Setting: the two-letter language of the product texts (`en`).
pub const CONTENT_LANGUAGE: &str = "content_language";

/// Google's longest feed label, in characters.
const MAX_FEED_LABEL_CHARS: usize = 20;

/// Where products go in Merchant Center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    /// The Merchant Center account id, digits only.
    pub account: String,
    /// The data source id within the account, digits only.
    pub data_source_id: String,
    /// The feed label, for example `US`.
    pub feed_label: String,
    /// The content language, for example `en`.
    pub content_language: String,
}

impl Merchant {
    /// Reads and checks the settings of `context`; the error names the
    /// setting and says what is wrong with it.
    pub fn from_context(context: &InvocationContext) -> Result<Self, String> {
        let account = context
            .require_setting(MERCHANT_ID)
            .map_err(|missing| missing.to_string())?
            .trim()
            .to_owned();
        if !is_digits(&account) {
            return Err(format!(
                "setting `{MERCHANT_ID}` must be the numeric Merchant Center account id, got {account:?}"
            ));
        }
        let data_source = context
            .require_setting(DATA_SOURCE)
            .map_err(|missing| missing.to_string())?
            .trim();
        let data_source_id = data_source_id(&account, data_source)?;
        let feed_label = context
            .require_setting(FEED_LABEL)
            .map_err(|missing| missing.to_string())?
            .trim()
            .to_owned();
        let label_ok = feed_label.len() <= MAX_FEED_LABEL_CHARS
            && feed_label
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !label_ok {
            return Err(format!(
                "setting `{FEED_LABEL}` must be at most {MAX_FEED_LABEL_CHARS} of A-Z, 0-9, '-' and '_' (for example US), got {feed_label:?}"
            ));
        }
        let content_language = context
            .require_setting(CONTENT_LANGUAGE)
            .map_err(|missing| missing.to_string())?
            .trim()
            .to_ascii_lowercase();
        if content_language.len() != 2 || !content_language.bytes().all(|b| b.is_ascii_lowercase())
        {
            return Err(format!(
                "setting `{CONTENT_LANGUAGE}` must be a two-letter ISO 639-1 code (for example en), got {content_language:?}"
            ));
        }
        Ok(Self {
            account,
            data_source_id,
            feed_label,
            content_language,
        })
    }

    /// The data source's resource name, `accounts/{account}/dataSources/{id}`,
    /// the `dataSource` parameter of product input calls.
    pub fn data_source_name(&self) -> String {
        format!(
            "accounts/{}/dataSources/{}",
            self.account, self.data_source_id
        )
    }

    /// The `{productinput}` segment of a product input's name for
    /// `offer_id`: `en~US~sku123`, or the unpadded base64url of that when a
    /// part holds a character that may not appear as such in a URL path.
    pub fn product_input_id(&self, offer_id: &str) -> String {
        let plain = format!("{}~{}~{offer_id}", self.content_language, self.feed_label);
        let url_safe = |part: &str| {
            part.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if [&self.content_language, &self.feed_label, offer_id]
            .iter()
            .all(|part| url_safe(part))
        {
            plain
        } else {
            URL_SAFE_NO_PAD.encode(plain)
        }
    }
}

/// The data source id in setting `data_source`: digits, or the full name
/// within `account`.
fn data_source_id(account: &str, setting: &str) -> Result<String, String> {
    if is_digits(setting) {
        return Ok(setting.to_owned());
    }
    let prefix = format!("accounts/{account}/dataSources/");
    match setting.strip_prefix(&prefix) {
        Some(id) if is_digits(id) => Ok(id.to_owned()),
        _ => Err(format!(
            "setting `{DATA_SOURCE}` must be the numeric id of an API data source of account \
             {account}, or its name {prefix}<id>, got {setting:?}"
        )),
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Checks that the configuration sets credential [`KEY_CREDENTIAL`] for the
/// host to sign in with; the component never reads it, and a value that is
/// no key comes back from the host when a request is sent.
pub fn require_key() -> Result<(), String> {
    match auth::request_header(KEY_CREDENTIAL) {
        Ok(_) => Ok(()),
        Err(AuthError::NotConfigured(_)) => {
            Err(MissingField::credential(KEY_CREDENTIAL).to_string())
        }
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(settings: &[(&str, &str)]) -> InvocationContext {
        InvocationContext {
            store_id: "store_1".into(),
            configuration_id: "cfg_1".into(),
            delivery_id: None,
            attempt: 1,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            now_ms: 0,
        }
    }

    const FULL: [(&str, &str); 4] = [
        (MERCHANT_ID, "123"),
        (DATA_SOURCE, "456"),
        (FEED_LABEL, "US"),
        (CONTENT_LANGUAGE, "en"),
    ];

    fn with(key: &str, value: &str) -> Vec<(&'static str, String)> {
        FULL.iter()
            .map(|(k, v)| (*k, if *k == key { value } else { v }.to_owned()))
            .collect()
    }

    fn merchant(settings: &[(&'static str, String)]) -> Result<Merchant, String> {
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Merchant::from_context(&context(&pairs))
    }

    #[test]
    fn reads_the_settings_and_names_the_data_source() {
        let merchant = Merchant::from_context(&context(&FULL)).unwrap();
        assert_eq!(merchant.data_source_name(), "accounts/123/dataSources/456");
        assert_eq!(merchant.product_input_id("sku123"), "en~US~sku123");
    }

    #[test]
    fn the_data_source_may_be_given_by_its_name_in_the_same_account() {
        let merchant = merchant(&with(DATA_SOURCE, "accounts/123/dataSources/789")).unwrap();
        assert_eq!(merchant.data_source_id, "789");
        let error = merchant_error(DATA_SOURCE, "accounts/999/dataSources/789");
        assert!(error.contains("of account 123"), "{error}");
    }

    fn merchant_error(key: &str, value: &str) -> String {
        merchant(&with(key, value)).unwrap_err()
    }

    #[test]
    fn malformed_settings_are_named() {
        assert!(merchant_error(MERCHANT_ID, "acme").starts_with("setting `merchant_id`"));
        assert!(merchant_error(FEED_LABEL, "us").starts_with("setting `feed_label`"));
        assert!(merchant_error(CONTENT_LANGUAGE, "eng").starts_with("setting `content_language`"));
        assert_eq!(
            merchant_error(MERCHANT_ID, ""),
            "setting `merchant_id` is not set"
        );
    }

    #[test]
    fn ids_with_characters_unsafe_in_a_path_use_the_base64url_form() {
        let merchant = Merchant::from_context(&context(&FULL)).unwrap();
        assert_eq!(merchant.product_input_id("sku/123"), "ZW5-VVN-c2t1LzEyMw");
        assert_eq!(
            merchant.product_input_id("TSHIRT-RED-M_2.0"),
            "en~US~TSHIRT-RED-M_2.0"
        );
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(merchant.product_input_id("a b"))
                .unwrap(),
            b"en~US~a b"
        );
    }
}
