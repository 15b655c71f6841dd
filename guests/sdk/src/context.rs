//! Reading a configuration's settings from the invocation context.

use std::fmt;

use crate::types::InvocationContext;

impl InvocationContext {
    /// The value of setting `key`, or `None` when the configuration leaves it
    /// out or sets it to an empty string.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// The value of setting `key`, or an error naming it.
    pub fn require_setting(&self, key: &str) -> Result<&str, MissingField> {
        self.setting(key).ok_or_else(|| MissingField::setting(key))
    }
}

/// Where a configuration field lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSource {
    /// A non-secret setting, from the invocation context.
    Setting,
    /// A credential, from [`crate::credentials`].
    Credential,
}

/// A setting or credential the connector needs but the configuration does
/// not supply. Its message names the field, for example
/// ``credential `bot_token` is not set``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingField {
    /// Whether it is a setting or a credential.
    pub source: FieldSource,
    /// The field's key, as declared in the manifest.
    pub key: String,
}

impl MissingField {
    /// A missing setting.
    pub fn setting(key: &str) -> Self {
        Self {
            source: FieldSource::Setting,
            key: key.to_owned(),
        }
    }

    /// A missing credential.
    pub fn credential(key: &str) -> Self {
        Self {
            source: FieldSource::Credential,
            key: key.to_owned(),
        }
    }
}

impl fmt::Display for MissingField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match self.source {
            FieldSource::Setting => "setting",
            FieldSource::Credential => "credential",
        };
        write!(f, "{source} `{}` is not set", self.key)
    }
}

impl std::error::Error for MissingField {}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(settings: &[(&str, &str)]) -> InvocationContext {
        InvocationContext {
            store_id: "store_1".into(),
            configuration_id: "cfg_1".into(),
            delivery_id: None,
            attempt: 0,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            now_ms: 0,
        }
    }

    #[test]
    fn setting_finds_the_value_by_key() {
        let context = context(&[("mode", "bot"), ("channel", "C1")]);
        assert_eq!(context.setting("channel"), Some("C1"));
        assert_eq!(context.setting("absent"), None);
    }

    #[test]
    fn an_empty_setting_counts_as_missing() {
        let context = context(&[("channel", "")]);
        assert_eq!(context.setting("channel"), None);
        let error = context.require_setting("channel").unwrap_err();
        assert_eq!(error.to_string(), "setting `channel` is not set");
    }

    #[test]
    fn missing_credential_names_the_key() {
        assert_eq!(
            MissingField::credential("bot_token").to_string(),
            "credential `bot_token` is not set"
        );
    }
}
