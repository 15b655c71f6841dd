//! The connector registry's entry point: verifying a `.sluicepkg` before
//! anything runs, and the whole registry API in one crate.
//!
//! [`verify`] runs every step in order and stops at the first that fails,
//! naming it ([`VerifyStep`]):
//!
//! 1. `archive`: size caps, exactly the four entries, regular files, canonical encoding;
//! 2. `digests`: the manifest and component match the statement's SHA-256 and sizes;
//! 3. `signature`: the package is signed and every signature by a known key verifies;
//! 4. `trust`: not yanked, no revoked key, and a trusted key allowed for this connector id signed it
//!    (or the policy's `allow_unsigned` development switch is on);
//! 5. `manifest`: the manifest is valid and its id and version are the statement's;
//! 6. `component`: the component is a valid WebAssembly component;
//! 7. `imports`: it imports only what the platform gives (see [`sluice_contract`]);
//! 8. `exports`: it exports the worlds its manifest declares with the contract's signatures;
//! 9. `limits`: its limits are within the operator's [`OperatorMaxima`].
//!
//! Compiling the component into the runtime's cache comes after, and is the
//! runtime's job. A bundled connector (the build's connectors directory,
//! trusted by the operator's deployment) goes through [`verify_bundled`]:
//! every step except `signature` and `trust`.
//!
//! The rest of the registry, re-exported here:
//! - [`Package`], [`pack`], [`pack_dir`], [`sign`], [`SigningKeyFile`],
//!   [`TrustPolicy`] (from `sluice-package`);
//! - [`CapabilityDiff`] (from `sluice-capability-diff`);
//! - [`ComponentSurface`], [`Contract`] (from `sluice-contract`);
//! - [`Registries`], [`Reference`] (OCI and directory registries, from `sluice-oci`).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sluice_manifest::{MAX_MEMORY_MIB, MAX_TIMEOUT_MS, Manifest};

pub use sluice_capability_diff::{CapabilityDiff, Change, ChangeKind};
pub use sluice_contract::{ComponentSurface, Contract};
pub use sluice_oci::{OciError, Reference, Registries};
pub use sluice_package::{
    ArchiveError, PackError, Package, PublicKey, Refusal, Signer, SigningKeyFile, Statement,
    TrustError, TrustPolicy, digest, sign,
};

/// The steps of verification, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStep {
    /// Archive sanity.
    Archive,
    /// Digests of the manifest and component against the statement.
    Digests,
    /// Signatures present and valid.
    Signature,
    /// The trust policy: yanked, revoked, allowed keys.
    Trust,
    /// Manifest validation.
    Manifest,
    /// The component is a component.
    Component,
    /// Its imports are within the platform.
    Imports,
    /// Its exports match the declared worlds.
    Exports,
    /// Its limits are within the operator's maxima.
    Limits,
}

impl VerifyStep {
    /// Every step, in order.
    pub const ALL: [VerifyStep; 9] = [
        Self::Archive,
        Self::Digests,
        Self::Signature,
        Self::Trust,
        Self::Manifest,
        Self::Component,
        Self::Imports,
        Self::Exports,
        Self::Limits,
    ];

    /// The step's name: `archive`, `digests`, … `limits`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Archive => "archive",
            Self::Digests => "digests",
            Self::Signature => "signature",
            Self::Trust => "trust",
            Self::Manifest => "manifest",
            Self::Component => "component",
            Self::Imports => "imports",
            Self::Exports => "exports",
            Self::Limits => "limits",
        }
    }
}

impl fmt::Display for VerifyStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a package was refused: the step and what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step}: {message}")]
pub struct VerifyError {
    /// The step that failed.
    pub step: VerifyStep,
    /// What failed, naming the field, file, key or import.
    pub message: String,
}

impl VerifyError {
    fn at(step: VerifyStep, error: impl fmt::Display) -> Self {
        Self {
            step,
            message: error.to_string(),
        }
    }
}

impl From<PackError> for VerifyError {
    /// Building a package from a directory fails at `manifest` for an
    /// invalid manifest and at `archive` otherwise.
    fn from(error: PackError) -> Self {
        let step = match error {
            PackError::Manifest(_) => VerifyStep::Manifest,
            _ => VerifyStep::Archive,
        };
        Self::at(step, error)
    }
}

/// The operator's ceilings on what a manifest may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorMaxima {
    /// Largest `limits.memory_mib` accepted.
    pub memory_mib: u32,
    /// Largest `limits.timeout_ms` accepted.
    pub timeout_ms: u32,
    /// Largest `limits.max_requests` accepted; none accepts any.
    pub max_requests: Option<u32>,
}

impl Default for OperatorMaxima {
    /// The manifest format's own maxima.
    fn default() -> Self {
        Self {
            memory_mib: MAX_MEMORY_MIB,
            timeout_ms: MAX_TIMEOUT_MS,
            max_requests: None,
        }
    }
}

/// Where a verified package's trust comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Published: its signatures passed the trust policy (or the policy's
    /// development switch accepted it unsigned; then `signers` is empty).
    Published,
    /// Bundled with the deployment; signatures were not checked.
    Bundled,
}

/// A package that passed every step.
#[derive(Debug, Clone)]
pub struct VerifiedPackage {
    /// `sha256:<hex>` of the package file.
    pub digest: String,
    /// `sha256:<hex>` of the statement: the same for every signing of this release.
    pub statement_digest: String,
    /// `sha256:<hex>` of the component (the runtime's own digest is the same hex without the prefix).
    pub component_digest: String,
    /// The validated manifest.
    pub manifest: Manifest,
    /// The manifest's text, as packaged.
    pub manifest_toml: String,
    /// The component's bytes.
    pub component: Vec<u8>,
    /// Who signed it, as the trust policy names them; empty when unsigned or bundled.
    pub signers: Vec<Signer>,
    /// What the component imports and exports.
    pub surface: ComponentSurface,
    /// The contract worlds it implements (`delivery`, `sync`, `inbound`).
    pub worlds: Vec<String>,
    /// Where its trust comes from.
    pub provenance: Provenance,
}

/// Builds an unsigned package file from a manifest and a component.
/// Deterministic: the same inputs give the same bytes.
pub fn pack(manifest_toml: &str, component: &[u8]) -> Result<Vec<u8>, PackError> {
    Ok(Package::new(manifest_toml.to_owned(), component.to_vec())?.to_bytes())
}

/// Builds an unsigned package file from a directory holding
/// `connector.toml` and `component.wasm` (or `connector.wasm`).
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>, PackError> {
    Ok(Package::from_dir(dir)?.to_bytes())
}

/// Runs every step on a published package, refusing at the first that fails.
pub fn verify(
    package: &[u8],
    policy: &TrustPolicy,
    maxima: &OperatorMaxima,
) -> Result<VerifiedPackage, VerifyError> {
    run(package, Some(policy), maxima)
}

/// Runs every step except `signature` and `trust` on a package the
/// operator's deployment vouches for (the bundled connectors directory).
pub fn verify_bundled(
    package: &[u8],
    maxima: &OperatorMaxima,
) -> Result<VerifiedPackage, VerifyError> {
    run(package, None, maxima)
}

fn run(
    bytes: &[u8],
    policy: Option<&TrustPolicy>,
    maxima: &OperatorMaxima,
) -> Result<VerifiedPackage, VerifyError> {
    let package =
        Package::from_bytes(bytes).map_err(|e| VerifyError::at(VerifyStep::Archive, e))?;
    let statement = package.statement();
    if statement.format != sluice_package::FORMAT {
        return Err(VerifyError::at(
            VerifyStep::Archive,
            format!(
                "format '{}' is not {}",
                statement.format,
                sluice_package::FORMAT
            ),
        ));
    }
    for (what, expected, bytes) in [
        (
            sluice_package::MANIFEST_ENTRY,
            &statement.manifest,
            package.manifest_toml().as_bytes(),
        ),
        (
            sluice_package::COMPONENT_ENTRY,
            &statement.component,
            package.component(),
        ),
    ] {
        if let Some(mismatch) = expected.mismatch(what, bytes) {
            return Err(VerifyError::at(VerifyStep::Digests, mismatch));
        }
    }

    let digest = sluice_package::digest(bytes);
    let (signers, provenance) = match policy {
        Some(policy) => (
            policy
                .check(&package, &digest)
                .map_err(|refusal| match refusal {
                    Refusal::Signature(message) => VerifyError::at(VerifyStep::Signature, message),
                    Refusal::Trust(error) => VerifyError::at(VerifyStep::Trust, error),
                })?,
            Provenance::Published,
        ),
        None => (Vec::new(), Provenance::Bundled),
    };

    let manifest = Manifest::parse(package.manifest_toml())
        .map_err(|e| VerifyError::at(VerifyStep::Manifest, e))?;
    let version = manifest.version.to_string();
    if manifest.id != statement.id || version != statement.version {
        return Err(VerifyError::at(
            VerifyStep::Manifest,
            format!(
                "the manifest is {} {version} but the statement says {} {}",
                manifest.id, statement.id, statement.version
            ),
        ));
    }
    if !sluice_contract::is_compatible_contract(&statement.contract) {
        return Err(VerifyError::at(
            VerifyStep::Component,
            format!(
                "the package targets {}, this Sluice implements {}",
                statement.contract,
                sluice_package::CONTRACT
            ),
        ));
    }

    let decoded = sluice_contract::decode(package.component())
        .map_err(|e| VerifyError::at(VerifyStep::Component, e))?;
    let contract = Contract::get();
    contract
        .check_imports(&decoded)
        .map_err(|e| VerifyError::at(VerifyStep::Imports, e))?;
    let worlds = contract
        .check_exports(&decoded, &manifest)
        .map_err(|e| VerifyError::at(VerifyStep::Exports, e))?;
    check_limits(&manifest, maxima)?;

    Ok(VerifiedPackage {
        digest,
        statement_digest: package.statement_digest(),
        component_digest: statement.component.sha256.clone(),
        manifest_toml: package.manifest_toml().to_owned(),
        manifest,
        surface: decoded.surface(),
        worlds: worlds.into_iter().map(str::to_owned).collect(),
        signers,
        provenance,
        component: package.component().to_vec(),
    })
}

fn check_limits(manifest: &Manifest, maxima: &OperatorMaxima) -> Result<(), VerifyError> {
    let limits = manifest.limits;
    let mut over = Vec::new();
    if limits.memory_mib > maxima.memory_mib {
        over.push(format!(
            "limits.memory_mib is {} but the operator allows at most {}",
            limits.memory_mib, maxima.memory_mib
        ));
    }
    if limits.timeout_ms > maxima.timeout_ms {
        over.push(format!(
            "limits.timeout_ms is {} but the operator allows at most {}",
            limits.timeout_ms, maxima.timeout_ms
        ));
    }
    if let (Some(asked), Some(cap)) = (limits.max_requests, maxima.max_requests)
        && asked > cap
    {
        over.push(format!(
            "limits.max_requests is {asked} but the operator allows at most {cap}"
        ));
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(VerifyError::at(VerifyStep::Limits, over.join("; ")))
    }
}
