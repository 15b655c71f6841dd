//! The connector manifest, `connector.toml`, which sits beside every component.
//!
//! The manifest is the single place where a connector declares its
//! capabilities: which events it handles, which credentials and settings a
//! configuration supplies (and how a form should ask for them), which origins
//! it may reach, what it syncs and within which limits it runs. The host grants
//! nothing that is not declared here.
//!
//! ```toml
//! id = "slack"
//! name = "Slack"
//! version = "0.1.0"
//! category = "messaging"
//! description = "Posts platform events to a Slack channel."
//! events = ["*"]
//!
//! [[credentials]]
//! key = "bot_token"
//! label = "Bot token"
//! kind = "secret"
//!
//! [[settings]]
//! key = "channel"
//! label = "Channel ID"
//! kind = "text"
//!
//! [egress]
//! allowed_origins = ["https://slack.com", "https://hooks.slack.com"]
//!
//! [limits]
//! timeout_ms = 10000
//! memory_mib = 64
//! ```
//!
//! Every error names the field it is about (`credentials[1].kind`,
//! `egress.allowed_origins[0]`), and validation reports all errors at once.

pub mod auth;
mod configuration;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sluice_core::EventTypePattern;
use sluice_egress::{AllowList, OriginPattern};

pub use auth::{
    AUTH_REQUEST_HEADER, AuthScheme, ClientAuth, CredentialAuth, InboundSignature, InboundSpec,
    SignatureEncoding, TokenPlacement,
};
pub use configuration::CheckedConfiguration;

/// The name of the manifest file beside each component.
pub const MANIFEST_FILE: &str = "connector.toml";

/// Longest invocation a manifest may ask for, in milliseconds.
pub const MAX_TIMEOUT_MS: u32 = 300_000;
/// Largest memory a manifest may ask for, in MiB.
pub const MAX_MEMORY_MIB: u32 = 4_096;

/// A validated connector manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// Stable identifier, for example `slack`: lower-case letters, digits and `-`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Semantic version of this connector release.
    pub version: semver::Version,
    /// Marketplace category, for example `messaging` or `marketplace`.
    pub category: String,
    /// One paragraph saying what the connector does.
    pub description: String,
    /// Event types (or `prefix.*` patterns) the connector can deliver.
    pub events: Vec<EventTypePattern>,
    /// Credentials a configuration supplies; only these reach the connector.
    pub credentials: Vec<FieldSpec>,
    /// Non-secret settings a configuration supplies.
    pub settings: Vec<FieldSpec>,
    /// Origins the connector may send HTTP requests to.
    #[serde(serialize_with = "serialize_allow_list")]
    pub allowed_origins: AllowList,
    /// Resource limits for each invocation.
    pub limits: Limits,
    /// What the connector can pull in, if it offers sync.
    pub sync: Option<SyncSpec>,
    /// What the host checks on webhooks before the connector sees them.
    pub inbound: Option<InboundSpec>,
}

/// One credential or setting a configuration supplies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Key the connector asks for, for example `bot_token`.
    pub key: String,
    /// Label shown to a store admin.
    pub label: String,
    /// How the value is entered and checked.
    pub kind: FieldKind,
    /// Whether a configuration must supply it.
    #[serde(default)]
    pub required: bool,
    /// Help text shown beside the field.
    #[serde(default)]
    pub help: String,
    /// The allowed values of a `select` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Value used when a configuration leaves an optional field out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A regular expression the whole value must match. For a credential
    /// the component never reads, the host is the only one who can catch
    /// a mistyped value before it is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// For a credential: whether the component may read its value through
    /// `credentials.get`. Off unless the manifest says so: a credential is
    /// otherwise only ever applied by the host (see `auth`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readable: bool,
    /// For a credential: how the host applies it to requests, and the
    /// origins it may be sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<CredentialAuth>,
}

impl FieldSpec {
    /// How the field is asked for and used, in words: `secret, required,
    /// applied by the host (bearer) to https://slack.com`.
    pub fn describe(&self) -> String {
        let kind = serde_json::to_value(self.kind).unwrap_or_default();
        let mut words = vec![kind.as_str().unwrap_or_default().to_owned()];
        if self.required && self.default.is_none() {
            words.push("required".to_owned());
        }
        if self.readable {
            words.push("readable by the component".to_owned());
        }
        if let Some(auth) = &self.auth {
            words.push(format!(
                "applied by the host ({}) to {}",
                auth.scheme.name(),
                auth.origins.join(" ")
            ));
        }
        words.join(", ")
    }
}

/// How a field's value is entered and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// Free text that is never shown again once set.
    Secret,
    /// An absolute `http` or `https` URL.
    Url,
    /// One of the field's `options`.
    Select,
    /// `true` or `false`.
    Boolean,
}

/// Resource limits for one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock time allowed for one call, in milliseconds.
    #[serde(default = "Limits::default_timeout_ms")]
    pub timeout_ms: u32,
    /// Linear memory allowed, in MiB.
    #[serde(default = "Limits::default_memory_mib")]
    pub memory_mib: u32,
    /// Outbound HTTP requests allowed per call; the operator's cap applies
    /// when absent or lower.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u32>,
}

impl Limits {
    fn default_timeout_ms() -> u32 {
        10_000
    }
    fn default_memory_mib() -> u32 {
        64
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_ms: Self::default_timeout_ms(),
            memory_mib: Self::default_memory_mib(),
            max_requests: None,
        }
    }
}

/// What a sync connector can pull in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSpec {
    /// Entities the connector can pull, for example `orders`.
    pub entities: Vec<String>,
    /// Interval between scheduled runs when a configuration sets none, in seconds.
    #[serde(default = "SyncSpec::default_interval_seconds")]
    pub default_interval_seconds: u32,
}

impl SyncSpec {
    fn default_interval_seconds() -> u32 {
        900
    }
}

/// A problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field, for example `credentials[1].kind` or `settings.channel`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a manifest was refused: every problem found, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// The problems, in the order of the manifest.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid connector manifest: ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<FieldError> for ManifestError {
    fn from(error: FieldError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

/// The manifest as written, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    id: String,
    name: String,
    version: String,
    category: String,
    description: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    credentials: Vec<FieldSpec>,
    #[serde(default)]
    settings: Vec<FieldSpec>,
    #[serde(default)]
    egress: RawEgress,
    #[serde(default)]
    limits: Limits,
    sync: Option<SyncSpec>,
    inbound: Option<InboundSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEgress {
    #[serde(default)]
    allowed_origins: Vec<String>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            FieldError::new(path.display().to_string(), format!("cannot read: {e}"))
        })?;
        Self::parse(&text)
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| {
            FieldError::new("<manifest>", format!("not valid TOML: {}", e.message()))
        })?;
        let raw: RawManifest = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "<manifest>".to_owned()
            } else {
                path
            };
            FieldError::new(field, e.into_inner().message().to_owned())
        })?;
        Self::validate(raw)
    }

    fn validate(raw: RawManifest) -> Result<Self, ManifestError> {
        let mut errors = Vec::new();

        if !is_valid_id(&raw.id) {
            errors.push(FieldError::new(
                "id",
                "must be 2 to 63 characters of a-z, 0-9 and '-', starting with a letter",
            ));
        }
        for (field, value) in [
            ("name", &raw.name),
            ("category", &raw.category),
            ("description", &raw.description),
        ] {
            if value.trim().is_empty() {
                errors.push(FieldError::new(field, "must not be empty"));
            }
        }
        let version = semver::Version::parse(&raw.version)
            .map_err(|e| {
                errors.push(FieldError::new(
                    "version",
                    format!("not a semantic version: {e}"),
                ))
            })
            .ok();

        let mut events = Vec::new();
        for (i, text) in raw.events.iter().enumerate() {
            match EventTypePattern::parse(text) {
                Ok(p) => events.push(p),
                Err(e) => errors.push(FieldError::new(
                    format!("events[{i}]"),
                    format!("'{text}' {e}"),
                )),
            }
        }

        validate_fields("credentials", &raw.credentials, &mut errors);
        validate_fields("settings", &raw.settings, &mut errors);
        for (i, field) in raw.settings.iter().enumerate() {
            if field.kind == FieldKind::Secret {
                errors.push(FieldError::new(
                    format!("settings[{i}].kind"),
                    "settings are not secret; declare secret values under [[credentials]]",
                ));
            }
            if field.readable {
                errors.push(FieldError::new(
                    format!("settings[{i}].readable"),
                    "settings are always readable; only credentials say so",
                ));
            }
            if field.auth.is_some() {
                errors.push(FieldError::new(
                    format!("settings[{i}].auth"),
                    "only credentials are applied by the host",
                ));
            }
        }

        let mut origins = Vec::new();
        for (i, text) in raw.egress.allowed_origins.iter().enumerate() {
            match OriginPattern::parse(text) {
                Ok(p) => origins.push(p),
                Err(e) => errors.push(FieldError::new(
                    format!("egress.allowed_origins[{i}]"),
                    e.to_string(),
                )),
            }
        }

        auth::validate(&raw.credentials, &origins, &mut errors);
        if let Some(inbound) = &raw.inbound {
            auth::validate_inbound(inbound, &raw.credentials, &mut errors);
        }

        if raw.limits.timeout_ms == 0 || raw.limits.timeout_ms > MAX_TIMEOUT_MS {
            errors.push(FieldError::new(
                "limits.timeout_ms",
                format!("must be between 1 and {MAX_TIMEOUT_MS}"),
            ));
        }
        if raw.limits.memory_mib == 0 || raw.limits.memory_mib > MAX_MEMORY_MIB {
            errors.push(FieldError::new(
                "limits.memory_mib",
                format!("must be between 1 and {MAX_MEMORY_MIB}"),
            ));
        }
        if raw.limits.max_requests == Some(0) {
            errors.push(FieldError::new("limits.max_requests", "must be at least 1"));
        }

        if let Some(sync) = &raw.sync {
            if sync.entities.is_empty() {
                errors.push(FieldError::new(
                    "sync.entities",
                    "must name at least one entity",
                ));
            }
            for (i, entity) in sync.entities.iter().enumerate() {
                if !is_valid_id(entity) {
                    errors.push(FieldError::new(
                        format!("sync.entities[{i}]"),
                        "must be lower-case letters, digits and '-'",
                    ));
                }
            }
            if sync.default_interval_seconds < 10 {
                errors.push(FieldError::new(
                    "sync.default_interval_seconds",
                    "must be at least 10",
                ));
            }
        }

        match version {
            Some(version) if errors.is_empty() => Ok(Self {
                id: raw.id,
                name: raw.name,
                version,
                category: raw.category,
                description: raw.description,
                events,
                credentials: raw.credentials,
                settings: raw.settings,
                allowed_origins: AllowList::new(origins),
                limits: raw.limits,
                sync: raw.sync,
                inbound: raw.inbound,
            }),
            _ => Err(ManifestError { errors }),
        }
    }

    /// Whether the connector declares that it can deliver `event_type`.
    pub fn handles(&self, event_type: &str) -> bool {
        EventTypePattern::any_matches(&self.events, event_type)
    }

    /// Whether `key` is a credential this manifest declares.
    pub fn declares_credential(&self, key: &str) -> bool {
        self.credentials.iter().any(|c| c.key == key)
    }

    /// The credential `key`, if declared.
    pub fn credential(&self, key: &str) -> Option<&FieldSpec> {
        self.credentials.iter().find(|c| c.key == key)
    }

    /// Whether the component may read credential `key` itself.
    pub fn credential_is_readable(&self, key: &str) -> bool {
        self.credential(key).is_some_and(|c| c.readable)
    }
}

fn validate_fields(section: &str, fields: &[FieldSpec], errors: &mut Vec<FieldError>) {
    let mut seen = HashSet::new();
    for (i, field) in fields.iter().enumerate() {
        let at = |name: &str| format!("{section}[{i}].{name}");
        if !is_valid_key(&field.key) {
            errors.push(FieldError::new(
                at("key"),
                "must be 1 to 64 characters of a-z, 0-9 and '_', starting with a letter",
            ));
        } else if !seen.insert(field.key.as_str()) {
            errors.push(FieldError::new(
                at("key"),
                format!("'{}' is declared twice", field.key),
            ));
        }
        if field.label.trim().is_empty() {
            errors.push(FieldError::new(at("label"), "must not be empty"));
        }
        match field.kind {
            FieldKind::Select if field.options.is_empty() => {
                errors.push(FieldError::new(
                    at("options"),
                    "a select field needs at least one option",
                ));
            }
            FieldKind::Select => {}
            _ if !field.options.is_empty() => {
                errors.push(FieldError::new(
                    at("options"),
                    "only select fields take options",
                ));
            }
            _ => {}
        }
        if let Some(pattern) = &field.pattern
            && let Err(error) = configuration::whole_value_pattern(pattern)
        {
            errors.push(FieldError::new(
                at("pattern"),
                format!("is not a regular expression: {error}"),
            ));
        }
        if let Some(default) = &field.default
            && let Err(message) =
                configuration::check_value(field, &serde_json::Value::String(default.clone()))
        {
            errors.push(FieldError::new(at("default"), message));
        }
    }
}

fn is_valid_id(id: &str) -> bool {
    (2..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn serialize_allow_list<S: serde::Serializer>(list: &AllowList, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.patterns().iter().map(|p| p.to_string()))
}

#[cfg(test)]
mod tests;
