//! The statement: what a package contains, by digest.

use serde::{Deserialize, Serialize};

use crate::digest;

/// The package format this crate writes and reads.
pub const FORMAT: &str = "sluice.pkg/v1";
/// The contract a packaged component targets.
pub const CONTRACT: &str = "sluice:connector@0.1.1";

/// What a package contains. Signatures are made over its canonical JSON
/// (the field order below, no whitespace), which is exactly the bytes of
/// `statement.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Always [`FORMAT`].
    pub format: String,
    /// The connector id, equal to the manifest's `id`.
    pub id: String,
    /// The connector version, equal to the manifest's `version`.
    pub version: String,
    /// The contract the component targets, [`CONTRACT`].
    pub contract: String,
    /// Digest and size of `connector.toml`.
    pub manifest: FileDigest,
    /// Digest and size of `component.wasm`.
    pub component: FileDigest,
}

/// The `sha256:<hex>` digest and the size of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// `sha256:<hex>` of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl FileDigest {
    /// The digest and size of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            sha256: digest(bytes),
            size: bytes.len() as u64,
        }
    }

    /// Why `bytes` do not match this digest, if they do not; `what` names the file.
    pub fn mismatch(&self, what: &str, bytes: &[u8]) -> Option<String> {
        let actual = Self::of(bytes);
        if actual.size != self.size {
            Some(format!(
                "{what} is {} bytes but the statement says {}",
                actual.size, self.size
            ))
        } else if actual.sha256 != self.sha256 {
            Some(format!(
                "{what} has digest {} but the statement says {}",
                actual.sha256, self.sha256
            ))
        } else {
            None
        }
    }
}

impl Statement {
    /// The canonical bytes of this statement.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a statement always serializes")
    }
}
