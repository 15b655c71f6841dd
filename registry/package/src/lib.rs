//! The connector package, `.sluicepkg`: one file a publisher signs and an
//! operator installs.
//!
//! A package is an uncompressed ustar archive of exactly four regular files,
//! always in this order and always encoded the same way (mode 0644, owner 0,
//! mtime 0), so the same inputs give the same bytes:
//!
//! | entry | what |
//! |---|---|
//! | `statement.json` | [`Statement`]: format, connector id and version, contract, SHA-256 and size of the manifest and of the component, as canonical JSON |
//! | `connector.toml` | the manifest (see `sluice-manifest`) |
//! | `component.wasm` | the WebAssembly component |
//! | `signatures.json` | [`PackageSignature`]s: Ed25519 signatures over the statement's bytes, sorted by key id (`[]` when unsigned) |
//!
//! The signatures cover the statement, and the statement covers the manifest
//! and the component by digest, so one signature vouches for the whole
//! package, capabilities included. Adding a signature changes only
//! `signatures.json`; the statement digest ([`Package::statement_digest`])
//! stays the release's identity across signings, while the package digest
//! ([`digest`] of the file) identifies one exact file.
//!
//! Publishers hold an Ed25519 [`SigningKeyFile`] (`sluice keys generate`);
//! operators decide whom to trust with a [`TrustPolicy`].

mod archive;
mod keys;
mod statement;
mod trust;

pub use archive::{
    ArchiveError, COMPONENT_ENTRY, MANIFEST_ENTRY, MAX_COMPONENT_BYTES, MAX_MANIFEST_BYTES,
    MAX_PACKAGE_BYTES, MAX_SIGNATURES_BYTES, MAX_STATEMENT_BYTES, PackError, Package,
    PackageSignature, SIGNATURES_ENTRY, STATEMENT_ENTRY, sign,
};
pub use keys::{KeyError, PublicKey, SigningKeyFile};
pub use statement::{CONTRACT, FORMAT, FileDigest, Statement};
pub use trust::{Publisher, Refusal, Signer, TrustError, TrustPolicy};

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `bytes`: how Sluice (and OCI) name content.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
