//! The capability diff between the active release of a connector and a new
//! one, computed from both manifests and both components' import and export
//! surfaces.
//!
//! Every [`Change`] says what changed and whether it *widens* what the
//! connector may reach or read:
//!
//! | change | widens |
//! |---|---|
//! | egress origin added (not covered by an old origin or wildcard) / removed | yes / no |
//! | credential key added / removed | yes / no |
//! | credential made readable by the component / no longer readable | yes / no |
//! | credential the host applies bound to an origin it could not reach | yes |
//! | setting added / removed | yes (it reads more of a configuration) / no |
//! | limit (`timeout_ms`, `memory_mib`, `max_requests`) raised / lowered | yes / no |
//! | event types widened (a pattern not covered by the old ones) / narrowed | yes / no |
//! | sync entity added / removed | yes / no |
//! | export added / removed (for example a new `inbound-handler`) | yes / no |
//! | import added / removed | yes / no |
//!
//! An upgrade whose diff [`widens`](CapabilityDiff::widens) waits for an
//! operator's approval, which must echo [`CapabilityDiff::hash`]: the
//! SHA-256 of the diff's canonical JSON (the `Serialize` form: fields in
//! declaration order, changes sorted, no whitespace), so an operator never
//! approves something other than what they saw. The encoding is part of the
//! approval protocol: it does not change within `sluice.diff/v1`.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sluice_contract::ComponentSurface;
use sluice_core::EventTypePattern;
use sluice_egress::OriginPattern;
use sluice_manifest::{FieldSpec, Manifest};

/// The version of the canonical encoding hashed by [`CapabilityDiff::hash`].
pub const DIFF_FORMAT: &str = "sluice.diff/v1";

/// What changed between two releases of one connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityDiff {
    /// Always [`DIFF_FORMAT`].
    pub format: String,
    /// The release being replaced.
    pub from: Release,
    /// The release being installed.
    pub to: Release,
    /// Whether any change widens (the same as [`CapabilityDiff::widens`]).
    pub widens: bool,
    /// The changes, sorted by kind then subject.
    pub changes: Vec<Change>,
}

/// A connector release, as named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Connector id.
    pub id: String,
    /// Version.
    pub version: String,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    /// What kind of change.
    pub kind: ChangeKind,
    /// What it is about: an origin, a key, a limit's name, an event pattern,
    /// an entity or an interface name.
    pub subject: String,
    /// The old value of a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The new value of a limit, or how an added credential or setting is
    /// asked for (`secret, required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Whether this change widens what the connector may reach or read.
    pub widens: bool,
}

/// The kinds of change, in the order a diff lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An egress origin the old release could not reach.
    OriginAdded,
    /// An egress origin no longer declared.
    OriginRemoved,
    /// A credential key added.
    CredentialAdded,
    /// A credential key removed.
    CredentialRemoved,
    /// A credential the component may now read itself (`readable`, or no
    /// longer applied by the host in a component built against 0.1.0).
    CredentialReadable,
    /// A credential the component may no longer read.
    CredentialUnreadable,
    /// A credential the host applies, bound to an origin it could not reach
    /// before (subject `key → origin`).
    CredentialBound,
    /// A setting added.
    SettingAdded,
    /// A setting removed.
    SettingRemoved,
    /// A limit raised (no `max_requests` counts as unbounded).
    LimitRaised,
    /// A limit lowered.
    LimitLowered,
    /// An event pattern matching types the old release did not handle.
    EventsWidened,
    /// An old event pattern no longer fully handled.
    EventsNarrowed,
    /// A sync entity added.
    SyncEntityAdded,
    /// A sync entity removed.
    SyncEntityRemoved,
    /// An exported interface added.
    ExportAdded,
    /// An exported interface removed.
    ExportRemoved,
    /// An imported interface added.
    ImportAdded,
    /// An imported interface removed.
    ImportRemoved,
}

impl ChangeKind {
    /// Whether a change of this kind widens what the connector may reach or read.
    pub fn widens(self) -> bool {
        matches!(
            self,
            Self::OriginAdded
                | Self::CredentialAdded
                | Self::CredentialReadable
                | Self::CredentialBound
                | Self::SettingAdded
                | Self::LimitRaised
                | Self::EventsWidened
                | Self::SyncEntityAdded
                | Self::ExportAdded
                | Self::ImportAdded
        )
    }

    fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::OriginAdded => ("+", "egress origin"),
            Self::OriginRemoved => ("-", "egress origin"),
            Self::CredentialAdded => ("+", "credential"),
            Self::CredentialRemoved => ("-", "credential"),
            Self::CredentialReadable => ("+", "credential readable by the component"),
            Self::CredentialUnreadable => ("-", "credential readable by the component"),
            Self::CredentialBound => ("+", "credential sent to"),
            Self::SettingAdded => ("+", "setting"),
            Self::SettingRemoved => ("-", "setting"),
            Self::LimitRaised => ("~", "limit raised"),
            Self::LimitLowered => ("~", "limit lowered"),
            Self::EventsWidened => ("+", "events"),
            Self::EventsNarrowed => ("-", "events"),
            Self::SyncEntityAdded => ("+", "sync entity"),
            Self::SyncEntityRemoved => ("-", "sync entity"),
            Self::ExportAdded => ("+", "export"),
            Self::ExportRemoved => ("-", "export"),
            Self::ImportAdded => ("+", "import"),
            Self::ImportRemoved => ("-", "import"),
        }
    }
}

impl CapabilityDiff {
    /// The diff from release `old` (its manifest and component surface) to
    /// release `new`.
    pub fn between(
        old: &Manifest,
        old_surface: &ComponentSurface,
        new: &Manifest,
        new_surface: &ComponentSurface,
    ) -> Self {
        let mut changes = Vec::new();
        let mut push =
            |kind: ChangeKind, subject: String, from: Option<String>, to: Option<String>| {
                changes.push(Change {
                    kind,
                    subject,
                    from,
                    to,
                    widens: kind.widens(),
                });
            };

        let (old_origins, new_origins) = (
            old.allowed_origins.patterns(),
            new.allowed_origins.patterns(),
        );
        for origin in uncovered(new_origins, old_origins, OriginPattern::is_within) {
            push(ChangeKind::OriginAdded, origin.to_string(), None, None);
        }
        for origin in uncovered(old_origins, new_origins, OriginPattern::is_within) {
            push(ChangeKind::OriginRemoved, origin.to_string(), None, None);
        }

        for (added, removed, specs_old, specs_new) in [
            (
                ChangeKind::CredentialAdded,
                ChangeKind::CredentialRemoved,
                &old.credentials,
                &new.credentials,
            ),
            (
                ChangeKind::SettingAdded,
                ChangeKind::SettingRemoved,
                &old.settings,
                &new.settings,
            ),
        ] {
            for spec in specs_new.iter().filter(|s| !has_key(specs_old, &s.key)) {
                push(added, spec.key.clone(), None, Some(spec.describe()));
            }
            for spec in specs_old.iter().filter(|s| !has_key(specs_new, &s.key)) {
                push(removed, spec.key.clone(), None, None);
            }
        }

        let (old_readable, new_readable) = (
            readable_credentials(old, old_surface),
            readable_credentials(new, new_surface),
        );
        for spec in new
            .credentials
            .iter()
            .filter(|s| has_key(&old.credentials, &s.key))
        {
            let key = &spec.key;
            let was_readable = old_readable.contains(key);
            match (was_readable, new_readable.contains(key)) {
                (false, true) => push(ChangeKind::CredentialReadable, key.clone(), None, None),
                (true, false) => push(ChangeKind::CredentialUnreadable, key.clone(), None, None),
                _ => {}
            }
            if new_readable.contains(key) {
                continue;
            }
            // Where the credential could go before: anywhere the old release
            // could reach if the component held it, else its old binding.
            let old_reach: Vec<OriginPattern> = if was_readable {
                old_origins.to_vec()
            } else {
                binding(old.credential(key))
            };
            for origin in uncovered(&binding(Some(spec)), &old_reach, OriginPattern::is_within) {
                push(
                    ChangeKind::CredentialBound,
                    format!("{key} → {origin}"),
                    None,
                    None,
                );
            }
        }

        let limits = [
            (
                "timeout_ms",
                Some(old.limits.timeout_ms),
                Some(new.limits.timeout_ms),
            ),
            (
                "memory_mib",
                Some(old.limits.memory_mib),
                Some(new.limits.memory_mib),
            ),
            (
                "max_requests",
                old.limits.max_requests,
                new.limits.max_requests,
            ),
        ];
        for (name, before, after) in limits {
            // No value means no limit of the manifest's own: unbounded.
            let bound = |v: Option<u32>| v.map_or(u64::MAX, u64::from);
            let show = |v: Option<u32>| Some(v.map_or("unbounded".to_owned(), |v| v.to_string()));
            if bound(after) > bound(before) {
                push(
                    ChangeKind::LimitRaised,
                    name.to_owned(),
                    show(before),
                    show(after),
                );
            } else if bound(after) < bound(before) {
                push(
                    ChangeKind::LimitLowered,
                    name.to_owned(),
                    show(before),
                    show(after),
                );
            }
        }

        for pattern in uncovered(&new.events, &old.events, EventTypePattern::is_within) {
            push(ChangeKind::EventsWidened, pattern.to_string(), None, None);
        }
        for pattern in uncovered(&old.events, &new.events, EventTypePattern::is_within) {
            push(ChangeKind::EventsNarrowed, pattern.to_string(), None, None);
        }

        let entities = |m: &Manifest| -> BTreeSet<String> {
            m.sync
                .iter()
                .flat_map(|s| s.entities.iter().cloned())
                .collect()
        };
        let (old_entities, new_entities) = (entities(old), entities(new));
        for entity in new_entities.difference(&old_entities) {
            push(ChangeKind::SyncEntityAdded, entity.clone(), None, None);
        }
        for entity in old_entities.difference(&new_entities) {
            push(ChangeKind::SyncEntityRemoved, entity.clone(), None, None);
        }

        for (added, removed, before, after) in [
            (
                ChangeKind::ExportAdded,
                ChangeKind::ExportRemoved,
                &old_surface.exports,
                &new_surface.exports,
            ),
            (
                ChangeKind::ImportAdded,
                ChangeKind::ImportRemoved,
                &old_surface.imports,
                &new_surface.imports,
            ),
        ] {
            let (before, after) = (unversioned(before), unversioned(after));
            for name in after.difference(&before) {
                push(added, name.clone(), None, None);
            }
            for name in before.difference(&after) {
                push(removed, name.clone(), None, None);
            }
        }

        changes.sort();
        Self {
            format: DIFF_FORMAT.to_owned(),
            from: Release::of(old),
            to: Release::of(new),
            widens: changes.iter().any(|c| c.widens),
            changes,
        }
    }

    /// Whether any change widens what the connector may reach or read, so
    /// that the upgrade needs an operator's approval.
    pub fn widens(&self) -> bool {
        self.widens
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The canonical encoding the hash covers.
    pub fn canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a diff always serializes")
    }

    /// `sha256:<hex>` of [`CapabilityDiff::canonical_json`]: what an approval echoes.
    pub fn hash(&self) -> String {
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.canonical_json()))
        )
    }
}

/// The credential keys the component may read itself: those marked
/// `readable`, and, for a component built against contract 0.1.0 (which
/// imports its credentials interface), every one the host does not apply.
fn readable_credentials(manifest: &Manifest, surface: &ComponentSurface) -> BTreeSet<String> {
    let legacy = surface
        .imports
        .iter()
        .any(|name| name == "sluice:connector/credentials@0.1.0");
    manifest
        .credentials
        .iter()
        .filter(|c| c.readable || (legacy && c.auth.is_none()))
        .map(|c| c.key.clone())
        .collect()
}

/// The origins a credential the host applies is bound to.
fn binding(spec: Option<&FieldSpec>) -> Vec<OriginPattern> {
    spec.and_then(|s| s.auth.as_ref())
        .map(|auth| auth.allow_list().patterns().to_vec())
        .unwrap_or_default()
}

impl Release {
    fn of(manifest: &Manifest) -> Self {
        Self {
            id: manifest.id.clone(),
            version: manifest.version.to_string(),
        }
    }
}

/// The diff as an operator reads it, one change a line:
///
/// ```text
/// slack 0.1.0 → 0.2.0 (widens: approval needed)
/// + egress origin https://api.slack.com  [widens]
/// ~ limit raised timeout_ms 10000 → 20000  [widens]
/// - setting channel
/// ```
impl fmt::Display for CapabilityDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.widens {
            "widens: approval needed"
        } else if self.changes.is_empty() {
            "no capability changes"
        } else {
            "narrows only"
        };
        write!(
            f,
            "{} {} → {} ({verdict})",
            self.to.id, self.from.version, self.to.version
        )?;
        for change in &self.changes {
            let (sign, label) = change.kind.label();
            write!(f, "\n{sign} {label} {}", change.subject)?;
            match (&change.from, &change.to) {
                (Some(from), Some(to)) => write!(f, " {from} → {to}")?,
                (None, Some(to)) => write!(f, " ({to})")?,
                _ => {}
            }
            if change.widens {
                write!(f, "  [widens]")?;
            }
        }
        Ok(())
    }
}

/// The items of `these` that no item of `those` covers.
fn uncovered<'a, T>(these: &'a [T], those: &[T], within: fn(&T, &T) -> bool) -> Vec<&'a T> {
    these
        .iter()
        .filter(|item| !those.iter().any(|other| within(item, other)))
        .collect()
}

fn has_key(specs: &[FieldSpec], key: &str) -> bool {
    specs.iter().any(|s| s.key == key)
}

/// Interface names without their version: a version bump of the same
/// interface is not a capability change.
fn unversioned(names: &[String]) -> BTreeSet<String> {
    names
        .iter()
        .map(|n| {
            n.split_once('@')
                .map_or(n.as_str(), |(name, _)| name)
                .to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests;
