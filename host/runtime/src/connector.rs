//! A component loaded for a manifest: compiled, pre-linked and checked
//! against the contract.

use std::sync::Arc;

use serde::Serialize;
use sluice_manifest::Manifest;
use wasmtime::component::InstancePre;

use crate::bindings::{connection, deliverer, inbound_handler, syncer};
use crate::cache::CompileSource;
use crate::host::CallState;

/// Which exports of the contract a component offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Offers {
    /// `deliverer.deliver`.
    pub deliver: bool,
    /// `connection.test-connection`.
    pub test_connection: bool,
    /// `syncer.sync`.
    pub sync: bool,
    /// `inbound-handler.handle`.
    pub inbound: bool,
}

/// Export lookups resolved once at load time.
#[derive(Clone)]
pub(crate) struct ExportIndices {
    pub deliverer: Option<deliverer::GuestIndices>,
    pub connection: Option<connection::GuestIndices>,
    pub syncer: Option<syncer::GuestIndices>,
    pub inbound: Option<inbound_handler::GuestIndices>,
}

impl ExportIndices {
    pub fn resolve(pre: &InstancePre<CallState>) -> Self {
        Self {
            deliverer: deliverer::GuestIndices::new(pre).ok(),
            connection: connection::GuestIndices::new(pre).ok(),
            syncer: syncer::GuestIndices::new(pre).ok(),
            inbound: inbound_handler::GuestIndices::new(pre).ok(),
        }
    }

    pub fn offers(&self) -> Offers {
        Offers {
            deliver: self.deliverer.is_some(),
            test_connection: self.connection.is_some(),
            sync: self.syncer.is_some(),
            inbound: self.inbound.is_some(),
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is not a valid component or failed to compile.
    #[error("not a loadable component: {0}")]
    Compile(String),
    /// The component imports something the host does not provide.
    #[error("the component imports something Sluice does not provide: {0}")]
    Imports(String),
    /// The component's exports do not match what its manifest declares, or
    /// their signatures do not match the contract.
    #[error("the component does not match its manifest: {0}")]
    Contract(String),
    /// The component needs more linear memory to start than its call limit
    /// allows (a Python or JavaScript interpreter's snapshot, for example).
    #[error(
        "the component needs more than {setting} ({limit_mib} MiB) just to start; it asked for {asked}"
    )]
    MemoryTooSmall {
        /// The setting that sets the limit: the manifest's
        /// `limits.memory_mib`, or the operator's `max_memory_mib` when lower.
        setting: &'static str,
        /// The limit, in MiB.
        limit_mib: u32,
        /// What instantiation asked for, in readable units.
        asked: String,
    },
    /// The component or manifest file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] sluice_manifest::ManifestError),
}

/// A connector ready to be called: its manifest and its pre-linked
/// component. Shared behind an `Arc`; replacing a connector in the
/// [`Catalog`](crate::Catalog) leaves calls in flight on the old one.
pub struct LoadedConnector {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) digest: String,
    pub(crate) source: CompileSource,
    pub(crate) pre: InstancePre<CallState>,
    pub(crate) exports: ExportIndices,
    /// Built against contract 0.1.0 (before host-managed authentication):
    /// it reads the credentials the host does not apply.
    pub(crate) reads_unbound_credentials: bool,
}

impl std::fmt::Debug for LoadedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedConnector")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version.to_string())
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl LoadedConnector {
    /// The connector's manifest.
    pub fn manifest(&self) -> &Arc<Manifest> {
        &self.manifest
    }

    /// SHA-256 of the component bytes, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether the component was compiled at load or came from the cache.
    pub fn compile_source(&self) -> CompileSource {
        self.source
    }

    /// The exports the component offers.
    pub fn offers(&self) -> Offers {
        self.exports.offers()
    }

    /// Whether the component was built against contract 0.1.0 and so reads
    /// every credential its manifest declares without an `auth` table.
    pub fn reads_unbound_credentials(&self) -> bool {
        self.reads_unbound_credentials
    }
}

/// Checks that what the manifest declares matches what the component exports.
pub(crate) fn check_contract(manifest: &Manifest, offers: Offers) -> Result<(), LoadError> {
    let mut problems = Vec::new();
    if !offers.deliver && !offers.sync && !offers.inbound {
        problems.push(
            "it exports none of deliverer, syncer or inbound-handler from sluice:connector@0.1.1"
                .to_owned(),
        );
    }
    if !manifest.events.is_empty() && !offers.deliver {
        problems.push(
            "the manifest lists events but the component does not export deliverer".to_owned(),
        );
    }
    if offers.deliver && manifest.events.is_empty() {
        problems
            .push("the component exports deliverer but the manifest lists no events".to_owned());
    }
    match (&manifest.sync, offers.sync) {
        (Some(_), false) => problems.push(
            "the manifest has a [sync] section but the component does not export syncer".to_owned(),
        ),
        (None, true) => problems
            .push("the component exports syncer but the manifest has no [sync] section".to_owned()),
        _ => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LoadError::Contract(problems.join("; ")))
    }
}
