//! The configuration a check runs with: the publisher's file, or one made up
//! from the manifest.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use sluice_manifest::{AuthScheme, FieldKind, FieldSpec, Manifest};

use crate::CheckError;
use crate::remote::Origins;
use crate::sample::matching_value;

/// TEST-ONLY RSA key of a made-up service account, for manifests with an
/// `oauth2-jwt-bearer` credential. It is published in this repository and
/// only ever signs assertions for the kit's own fake token endpoint. Fixed
/// rather than generated because RSA key generation is slow.
const SERVICE_ACCOUNT_KEY_PEM: &str = include_str!("keys/conformance-service-account.pem");

/// The text given to text and secret fields without a pattern or default.
pub(crate) const PLACEHOLDER: &str = "conformance";

/// The settings, credentials and sample event of a check.
///
/// ```toml
/// event = "order.json"          # optional; one event as POST /v1/events takes it
/// [settings]
/// mode = "bot"
/// channel = "C0123456789"
/// [credentials]
/// bot_token = "xoxb-1-2-3"
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Configuration {
    /// Settings, as a configuration's `settings` object.
    pub settings: Map<String, Value>,
    /// Credentials, as a configuration's `credentials` object.
    pub credentials: Map<String, Value>,
    /// A sample event (JSON, one event in the envelope of
    /// `POST /v1/events`); none lets the kit make one up.
    pub event: Option<Vec<u8>>,
}

/// The configuration file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigurationFile {
    #[serde(default)]
    settings: Map<String, Value>,
    #[serde(default)]
    credentials: Map<String, Value>,
    event: Option<PathBuf>,
}

impl Configuration {
    /// Reads a configuration file; its `event` path is relative to the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Self, CheckError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CheckError::configuration("<file>", format!("cannot read: {e}")))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
    }

    /// Parses configuration file text, reading `event` relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, CheckError> {
        let file: ConfigurationFile = toml::from_str(text)
            .map_err(|e| CheckError::configuration("<file>", e.message().to_owned()))?;
        let event = match file.event {
            Some(relative) => {
                let path = base.join(&relative);
                Some(std::fs::read(&path).map_err(|e| {
                    CheckError::configuration(
                        "event",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?)
            }
            None => None,
        };
        Ok(Self {
            settings: file.settings,
            credentials: file.credentials,
            event,
        })
    }

    /// A configuration made up from `manifest`: every declared field gets
    /// its default, else a service account key for a JWT-bearer credential,
    /// a value matching its pattern, the first option of a select, `false`
    /// for a boolean, a URL on the first origin it may reach (which the
    /// kit's fake remote stands in for), or the text `conformance`.
    pub(crate) fn synthesize(manifest: &Manifest, origins: &Origins) -> Result<Self, CheckError> {
        let section = |name: &str, fields: &[FieldSpec]| {
            fields
                .iter()
                .map(|field| {
                    value_for(field, origins)
                        .map(|value| (field.key.clone(), Value::String(value)))
                        .ok_or_else(|| {
                            CheckError::configuration(
                                format!("{name}.{}", field.key),
                                "the kit cannot make up a value for it (a pattern it cannot write out, or a URL with no origin it can stand in for)",
                            )
                        })
                })
                .collect::<Result<Map<_, _>, _>>()
        };
        Ok(Self {
            settings: section("settings", &manifest.settings)?,
            credentials: section("credentials", &manifest.credentials)?,
            event: None,
        })
    }
}

/// The made-up value of one field.
fn value_for(field: &FieldSpec, origins: &Origins) -> Option<String> {
    if let Some(default) = &field.default {
        return Some(default.clone());
    }
    if let Some(auth) = &field.auth
        && let AuthScheme::OAuth2JwtBearer { token_url, .. } = &auth.scheme
    {
        return Some(service_account_key(token_url));
    }
    if let Some(pattern) = &field.pattern {
        return matching_value(pattern);
    }
    Some(match field.kind {
        FieldKind::Select => field.options.first()?.clone(),
        FieldKind::Boolean => "false".to_owned(),
        FieldKind::Url => {
            // A URL credential the host applies must be on an origin it is
            // bound to; any other URL goes to the manifest's first origin.
            let bound = field.auth.as_ref().map(|auth| &auth.origins);
            let origin = match bound {
                Some(bound) => origins.mapped_of(bound).into_iter().next(),
                None => origins.first_mapped(),
            }?;
            format!("{}/{PLACEHOLDER}", origin.trim_end_matches('/'))
        }
        FieldKind::Text | FieldKind::Secret => PLACEHOLDER.to_owned(),
    })
}

/// A service account's JSON key, as Google issues it, holding the kit's
/// test-only private key.
fn service_account_key(token_url: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "sluice-conformance",
        "private_key_id": "conformance",
        "private_key": SERVICE_ACCOUNT_KEY_PEM,
        "client_email": "conformance@sluice-conformance.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_url,
    })
    .to_string()
}
