//! Checking a configuration's settings and credentials against the manifest.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{FieldError, FieldKind, FieldSpec, Manifest};

/// Settings and credentials that passed the manifest's checks, normalised to
/// strings (booleans become `true` / `false`) with defaults filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckedConfiguration {
    /// Non-secret settings, by key.
    pub settings: BTreeMap<String, String>,
    /// Credentials, by key.
    pub credentials: BTreeMap<String, String>,
}

impl Manifest {
    /// Checks `settings` and `credentials` against the declared fields:
    /// unknown keys, missing required fields and values of the wrong kind are
    /// reported, each naming its field (`settings.channel`,
    /// `credentials.bot_token`).
    pub fn check_configuration(
        &self,
        settings: &Map<String, Value>,
        credentials: &Map<String, Value>,
    ) -> Result<CheckedConfiguration, Vec<FieldError>> {
        let mut errors = Vec::new();
        let settings = check_section("settings", &self.settings, settings, &mut errors);
        let credentials = check_section("credentials", &self.credentials, credentials, &mut errors);
        if errors.is_empty() {
            Ok(CheckedConfiguration {
                settings,
                credentials,
            })
        } else {
            Err(errors)
        }
    }
}

fn check_section(
    section: &str,
    specs: &[FieldSpec],
    values: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<String, String> {
    let mut checked = BTreeMap::new();
    for key in values.keys() {
        if !specs.iter().any(|s| &s.key == key) {
            let known: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
            let hint = if known.is_empty() {
                "this connector declares none".to_owned()
            } else {
                format!("declared: {}", known.join(", "))
            };
            errors.push(FieldError::new(
                format!("{section}.{key}"),
                format!("is not declared by the connector's manifest ({hint})"),
            ));
        }
    }
    for spec in specs {
        let field = format!("{section}.{}", spec.key);
        match values.get(&spec.key) {
            None | Some(Value::Null) => {
                if let Some(default) = &spec.default {
                    checked.insert(spec.key.clone(), default.clone());
                } else if spec.required {
                    errors.push(FieldError::new(field, "is required"));
                }
            }
            Some(value) => match check_value(spec, value) {
                Ok(text) => {
                    checked.insert(spec.key.clone(), text);
                }
                Err(message) => errors.push(FieldError::new(field, message)),
            },
        }
    }
    checked
}

/// Checks one value against its field, returning it as a string.
pub(crate) fn check_value(spec: &FieldSpec, value: &Value) -> Result<String, String> {
    match spec.kind {
        FieldKind::Boolean => match value {
            Value::Bool(b) => Ok(b.to_string()),
            Value::String(s) if s == "true" || s == "false" => Ok(s.clone()),
            _ => Err("must be true or false".to_owned()),
        },
        kind => {
            let Value::String(text) = value else {
                return Err("must be a string".to_owned());
            };
            if spec.required && text.trim().is_empty() {
                return Err("is required and must not be empty".to_owned());
            }
            match kind {
                FieldKind::Url => {
                    let url = url::Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
                    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                        return Err("must be an absolute http or https URL".to_owned());
                    }
                }
                FieldKind::Select if !spec.options.contains(text) => {
                    return Err(format!("must be one of: {}", spec.options.join(", ")));
                }
                _ => {}
            }
            if let Some(pattern) = &spec.pattern
                && !text.is_empty()
                && !whole_value_pattern(pattern).is_ok_and(|re| re.is_match(text))
            {
                // Never the value itself: it may be a secret.
                return Err(if spec.help.is_empty() {
                    "does not have the form this connector expects".to_owned()
                } else {
                    format!(
                        "does not have the form this connector expects: {}",
                        spec.help
                    )
                });
            }
            Ok(text.clone())
        }
    }
}

/// `pattern` anchored at both ends, so that it must match the whole value.
pub(crate) fn whole_value_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}
