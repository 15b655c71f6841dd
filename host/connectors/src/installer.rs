//! Installing, upgrading and rolling back connectors in a running service.
//!
//! The database is the source of truth: packages by digest, the installed
//! versions, and one head per connector naming the active version with a
//! generation counter. Every node runs what the heads say: an activation
//! moves the head (compare-and-set on the generation) and swaps the local
//! [`Catalog`] at once; other nodes notice the new generation on their next
//! poll ([`Installer::converge`]) and swap too. A call in flight finishes on
//! the version it started with, because the catalog hands out `Arc`s.
//!
//! An upgrade whose capability diff widens what the connector may reach or
//! read waits in `pending_approval` until an operator approves that exact
//! diff (by its hash); the old version serves meanwhile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Map, Value};
use sluice_core::SharedClock;
use sluice_manifest::Manifest;
use sluice_registry::{
    CapabilityDiff, ComponentSurface, OperatorMaxima, Registries, TrustPolicy, VerifiedPackage,
    VerifyError,
};
use sluice_runtime::{Catalog, LoadError, LoadedConnector, Runtime};
use sluice_storage::{
    Activation, ConnectorHead, ConnectorVersion, Db, Installed, NewConnectorVersion, StorageError,
    Trust, VersionState,
};
use tokio_util::sync::CancellationToken;

/// Who installs the connectors of the bundled directory.
pub const BUNDLED_INSTALLER: &str = "bundled directory";

/// How packages are trusted and checked before anything runs.
pub struct InstallPolicy {
    /// The operator's trust policy.
    pub trust: TrustPolicy,
    /// The operator's ceilings on a connector's limits.
    pub maxima: OperatorMaxima,
    /// The OCI registries packages are pulled from.
    pub registries: Registries,
}

/// Why an install, activation, approval, rollback or deletion was refused.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The package failed a verification step; nothing was installed.
    #[error(transparent)]
    Refused(#[from] VerifyError),
    /// The component could not be loaded on this node.
    #[error("{connector}@{version} cannot be loaded: {source}")]
    Load {
        /// The connector.
        connector: String,
        /// The version.
        version: String,
        /// Why.
        #[source]
        source: LoadError,
    },
    /// A stored package no longer matches its digest or does not parse.
    #[error("the stored package {digest} is unusable: {reason}")]
    Corrupt {
        /// The package digest.
        digest: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The approval names another diff than the one the version waits on.
    #[error(
        "the diff hash {given} does not match the current diff of {connector}@{version} ({current}); look at the versions again and approve what you see"
    )]
    StaleDiff {
        /// The connector.
        connector: String,
        /// The version.
        version: String,
        /// The hash the operator sent.
        given: String,
        /// The hash of the diff against the version active now.
        current: String,
    },
    /// The version is not waiting for an approval.
    #[error("{connector}@{version} is not pending approval")]
    NotPending {
        /// The connector.
        connector: String,
        /// The version.
        version: String,
    },
    /// The package could not be pulled from its OCI registry.
    #[error("cannot pull the package: {0}")]
    Pull(String),
    /// Nothing to roll back to.
    #[error("{0} has no previous version to roll back to")]
    NoPrevious(String),
    /// The connector has never been installed.
    #[error("connector {0} is not installed")]
    NotInstalled(String),
    /// The database refused or failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What an install or activation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The version is active now.
    Activated,
    /// The version was active already; nothing changed.
    Unchanged,
    /// The version widens what the connector may reach or read: it waits
    /// for an operator to approve its diff; the active version keeps serving.
    PendingApproval,
    /// Installed without being activated (an older version than the active one).
    Installed,
}

/// A configuration whose stored settings or credentials do not validate
/// against a version's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenConfiguration {
    /// The store.
    pub store_id: String,
    /// `cfg_...`.
    pub config_id: String,
    /// Its label.
    pub name: String,
    /// What no longer validates, one entry per field.
    pub problems: Vec<String>,
}

impl Outcome {
    /// The name the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activated => "activated",
            Self::Unchanged => "unchanged",
            Self::PendingApproval => "pending_approval",
            Self::Installed => "installed",
        }
    }
}

/// The result of an install, activation, approval or rollback.
#[derive(Debug, Clone)]
pub struct Change {
    /// What happened.
    pub outcome: Outcome,
    /// The version concerned, as stored afterwards.
    pub version: ConnectorVersion,
    /// The version active afterwards.
    pub active_version: Option<String>,
    /// The capability diff from the version that was active, when there was one.
    pub diff: Option<Value>,
    /// Its hash, to echo when approving.
    pub diff_hash: Option<String>,
    /// Configurations that do not validate against this version.
    pub broken_configurations: Vec<BrokenConfiguration>,
}

/// A stored or verified package, opened: what loading and comparing need.
struct Release {
    manifest: Manifest,
    component: Vec<u8>,
    surface: ComponentSurface,
}

/// Installs, activates and rolls back connector versions; keeps this node's
/// catalog on the active versions.
pub struct Installer {
    db: Db,
    runtime: Arc<Runtime>,
    catalog: Arc<Catalog>,
    clock: SharedClock,
    policy: InstallPolicy,
    /// Packages opened on this node, by package digest.
    releases: Mutex<HashMap<String, Arc<Release>>>,
    /// Versions loaded on this node, by package digest: activating one of
    /// them again is a catalog swap.
    loaded: Mutex<HashMap<String, Arc<LoadedConnector>>>,
    /// The head generation this node runs, by connector.
    running: Mutex<HashMap<String, i64>>,
    /// One convergence at a time.
    converging: tokio::sync::Mutex<()>,
}

impl Installer {
    /// An installer over these parts; it loads nothing until
    /// [`converge`](Self::converge).
    pub fn new(
        db: Db,
        runtime: Arc<Runtime>,
        catalog: Arc<Catalog>,
        clock: SharedClock,
        policy: InstallPolicy,
    ) -> Self {
        Self {
            db,
            runtime,
            catalog,
            clock,
            policy,
            releases: Mutex::new(HashMap::new()),
            loaded: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            converging: tokio::sync::Mutex::new(()),
        }
    }

    /// Pulls a package from an OCI registry, by tag or digest. Nothing is
    /// installed yet.
    pub async fn pull(&self, reference: &str) -> Result<Vec<u8>, InstallError> {
        self.policy
            .registries
            .pull(reference)
            .await
            .map_err(|e| InstallError::Pull(format!("{e:#}")))
    }

    /// Verifies `package` (every step, before anything is stored), compiles
    /// it into the cache and stores it. The first version of a connector,
    /// and a newer version whose capability diff only narrows, activate at
    /// once; a newer version that widens waits for approval; an older one
    /// is only installed.
    pub async fn install(&self, package: Vec<u8>, by: &str) -> Result<Change, InstallError> {
        let verified = sluice_registry::verify(&package, &self.policy.trust, &self.policy.maxima)?;
        let (trust, publisher) = if verified.signers.is_empty() {
            (
                Trust::Unsigned,
                format!("unsigned (allowed by the trust policy), from {by}"),
            )
        } else {
            let names: Vec<String> = verified
                .signers
                .iter()
                .map(|signer| format!("{} ({})", signer.publisher, signer.key_id))
                .collect();
            (Trust::Signed, names.join(", "))
        };
        self.install_verified(verified, package, trust, publisher, by)
            .await
    }

    /// Installs the connectors of the bundled directory (each folder holding
    /// `connector.toml` and the component) as operator-trusted versions,
    /// idempotently per package. A bundled version activates when its
    /// connector has no active version, or runs an older bundled one. A
    /// folder that fails is reported and skipped.
    pub async fn install_bundled(
        &self,
        dir: &Path,
    ) -> std::io::Result<Vec<Result<Change, (PathBuf, InstallError)>>> {
        let folders = bundled_folders(dir)?;
        let mut results = Vec::with_capacity(folders.len());
        for folder in folders {
            let result = self.install_bundled_folder(&folder).await;
            match &result {
                Ok(change) => tracing::info!(
                    connector = %change.version.connector_id,
                    version = %change.version.version,
                    outcome = change.outcome.as_str(),
                    "bundled connector"
                ),
                Err(error) => {
                    tracing::error!(path = %folder.display(), %error, "bundled connector refused")
                }
            }
            results.push(result.map_err(|e| (folder, e)));
        }
        Ok(results)
    }

    /// The ids of the connectors in the bundled directory, from their
    /// manifests; a folder whose manifest does not parse is left out
    /// (installing it says why).
    pub fn bundled_ids(dir: &Path) -> std::io::Result<Vec<String>> {
        Ok(bundled_folders(dir)?
            .iter()
            .filter_map(|folder| Manifest::load(&folder.join(sluice_manifest::MANIFEST_FILE)).ok())
            .map(|manifest| manifest.id)
            .collect())
    }

    /// The connectors that have an active version, by id.
    pub async fn active_connector_ids(&self) -> Result<Vec<String>, InstallError> {
        Ok(self
            .db
            .connector_heads()
            .await?
            .into_iter()
            .map(|head| head.connector_id)
            .collect())
    }

    /// Installs the bundled directory's connectors (when there is one), then
    /// loads every active version, in the background: compiling an
    /// interpreted guest takes seconds to a minute. Connectors the catalog
    /// [expects](Catalog::expect) stay loading until they are installed; when
    /// the task ends, whatever failed to load is simply not installed.
    pub fn load_in_background(
        self: Arc<Self>,
        bundled: Option<PathBuf>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if let Some(dir) = bundled
                && let Err(error) = self.install_bundled(&dir).await
            {
                tracing::error!(path = %dir.display(), %error, "cannot read the connectors directory");
            }
            if let Err(error) = self.converge().await {
                tracing::error!(%error, "cannot load the active connector versions; the watcher retries");
            }
            self.catalog.loading_done();
        })
    }

    async fn install_bundled_folder(&self, folder: &Path) -> Result<Change, InstallError> {
        let package = sluice_registry::pack_dir(folder).map_err(VerifyError::from)?;
        let verified = sluice_registry::verify_bundled(&package, &self.policy.maxima)?;
        self.install_verified(
            verified,
            package,
            Trust::Bundled,
            BUNDLED_INSTALLER.to_owned(),
            BUNDLED_INSTALLER,
        )
        .await
    }

    async fn install_verified(
        &self,
        verified: VerifiedPackage,
        package: Vec<u8>,
        trust: Trust,
        publisher: String,
        by: &str,
    ) -> Result<Change, InstallError> {
        let digest = verified.digest.clone();
        let release = Arc::new(Release {
            manifest: verified.manifest,
            component: verified.component,
            surface: verified.surface,
        });
        // Compile before storing: a stored version must load on every node.
        let loaded = self.load(&digest, &release).await?;
        let id = release.manifest.id.clone();
        let version = release.manifest.version.to_string();
        let new = NewConnectorVersion {
            connector_id: id.clone(),
            version: version.clone(),
            package_digest: digest,
            component_digest: loaded.digest().to_owned(),
            publisher,
            trust,
        };
        let now = self.clock.now_ms();
        let head = self.db.connector_head(&id).await?;
        let installed = self
            .db
            .install_connector_version(&new, &package, VersionState::Available, by, now)
            .await?;
        let stored = installed.version().clone();
        let Some(head) = head else {
            // The first version of a connector: nothing to widen from.
            return match self.move_head(&stored, None, None, by, None).await {
                Err(InstallError::Storage(StorageError::Conflict(_))) => {
                    // Another node activated a first version meanwhile
                    // (several nodes starting with the same bundled set).
                    self.converge().await?;
                    let head = self.head(&id).await?;
                    self.unchanged(stored, &head)
                }
                other => other,
            };
        };
        if head.active_version == version {
            // The active version again; a rebuilt bundled package replaced
            // it and bumped the generation, which convergence loads.
            self.converge().await?;
            return self.unchanged(stored, &head);
        }
        if matches!(installed, Installed::Existing(_)) {
            return self.unchanged(stored, &head);
        }
        let active = self.db.connector_version(&id, &head.active_version).await?;
        let active_release = self.release(&active).await?;
        let (diff, hash, widens) = capability_diff(&active_release, &release);
        let broken = self.broken_configurations(&release.manifest).await?;
        if release.manifest.version < active_release.manifest.version {
            return Ok(Change {
                outcome: Outcome::Installed,
                version: stored,
                active_version: Some(head.active_version),
                diff: Some(diff),
                diff_hash: Some(hash),
                broken_configurations: broken,
            });
        }
        let bundled_refresh = trust == Trust::Bundled && active.trust == Trust::Bundled;
        if widens && !bundled_refresh {
            return self
                .hold_for_approval(head, &id, &version, (diff, hash, broken))
                .await;
        }
        self.move_head(&stored, Some(&head), None, by, Some((diff, hash, broken)))
            .await
    }

    /// Activates an installed version. When its diff from the active version
    /// widens and that very diff was never approved for it, the version is
    /// left pending approval instead and the active one keeps serving.
    pub async fn activate(
        &self,
        connector_id: &str,
        version: &str,
        by: &str,
    ) -> Result<Change, InstallError> {
        let head = self.head(connector_id).await?;
        let target = self.db.connector_version(connector_id, version).await?;
        if head.active_version == version {
            return self.unchanged(target, &head);
        }
        let (diff, hash, widens) = self.diff_from_active(&head, &target).await?;
        let broken = self
            .broken_configurations(&self.release(&target).await?.manifest)
            .await?;
        if widens && target.approved_diff_hash.as_deref() != Some(hash.as_str()) {
            return self
                .hold_for_approval(head, connector_id, version, (diff, hash, broken))
                .await;
        }
        self.move_head(&target, Some(&head), None, by, Some((diff, hash, broken)))
            .await
    }

    /// Leaves `version` pending approval of its widening diff; the active
    /// version keeps serving.
    async fn hold_for_approval(
        &self,
        head: ConnectorHead,
        connector_id: &str,
        version: &str,
        (diff, hash, broken): (Value, String, Vec<BrokenConfiguration>),
    ) -> Result<Change, InstallError> {
        let pending = self
            .db
            .set_pending_approval(connector_id, version, &diff, &hash)
            .await?;
        Ok(Change {
            outcome: Outcome::PendingApproval,
            version: pending,
            active_version: Some(head.active_version),
            diff: Some(diff),
            diff_hash: Some(hash),
            broken_configurations: broken,
        })
    }

    /// Approves the diff of a pending version and activates it. The hash
    /// must be that of the diff against the version active now: approving
    /// a diff computed against another version is refused, naming both.
    pub async fn approve(
        &self,
        connector_id: &str,
        version: &str,
        diff_hash: &str,
        by: &str,
    ) -> Result<Change, InstallError> {
        let head = self.head(connector_id).await?;
        let target = self.db.connector_version(connector_id, version).await?;
        if target.state != VersionState::PendingApproval {
            return Err(InstallError::NotPending {
                connector: connector_id.to_owned(),
                version: version.to_owned(),
            });
        }
        let (diff, hash, _) = self.diff_from_active(&head, &target).await?;
        if hash != diff_hash {
            if target.diff_hash.as_deref() != Some(hash.as_str()) {
                // Show the operator the diff that would be approved now.
                self.db
                    .set_pending_approval(connector_id, version, &diff, &hash)
                    .await?;
            }
            return Err(InstallError::StaleDiff {
                connector: connector_id.to_owned(),
                version: version.to_owned(),
                given: diff_hash.to_owned(),
                current: hash,
            });
        }
        let broken = self
            .broken_configurations(&self.release(&target).await?.manifest)
            .await?;
        self.move_head(
            &target,
            Some(&head),
            Some(&hash),
            by,
            Some((diff, hash.clone(), broken)),
        )
        .await
    }

    /// Activates the version that was active before the current one. It is
    /// stored in the database (and usually still loaded), so this works
    /// offline and needs no approval: it ran before.
    pub async fn rollback(&self, connector_id: &str, by: &str) -> Result<Change, InstallError> {
        let head = self.head(connector_id).await?;
        let previous = head
            .previous_version
            .clone()
            .ok_or_else(|| InstallError::NoPrevious(connector_id.to_owned()))?;
        let target = self.db.connector_version(connector_id, &previous).await?;
        self.move_head(&target, Some(&head), None, by, None).await
    }

    /// Deletes a version that is not active, with its package.
    pub async fn delete(&self, connector_id: &str, version: &str) -> Result<(), InstallError> {
        let target = self.db.connector_version(connector_id, version).await?;
        self.db
            .delete_connector_version(connector_id, version)
            .await?;
        self.loaded.lock().remove(&target.package_digest);
        self.releases.lock().remove(&target.package_digest);
        Ok(())
    }

    /// The configurations whose stored settings or credentials do not
    /// validate against an installed version's manifest: what an operator
    /// checks before activating or approving it.
    pub async fn broken_configurations_of(
        &self,
        connector_id: &str,
        version: &str,
    ) -> Result<Vec<BrokenConfiguration>, InstallError> {
        let target = self.db.connector_version(connector_id, version).await?;
        self.broken_configurations(&self.release(&target).await?.manifest)
            .await
    }

    /// Brings this node's catalog to the active version of every connector:
    /// loads each connector whose head generation moved since the last
    /// time. A version that fails to load is logged and retried on the next
    /// call; the previous one keeps serving.
    pub async fn converge(&self) -> Result<(), InstallError> {
        let _one_at_a_time = self.converging.lock().await;
        for head in self.db.connector_heads().await? {
            if self.running.lock().get(&head.connector_id) == Some(&head.generation) {
                continue;
            }
            match self.swap_in(&head).await {
                Ok(()) => {
                    self.running
                        .lock()
                        .insert(head.connector_id.clone(), head.generation);
                }
                Err(error) => tracing::error!(
                    connector = %head.connector_id,
                    version = %head.active_version,
                    %error,
                    "cannot run the active version; the previous one keeps serving"
                ),
            }
        }
        Ok(())
    }

    async fn swap_in(&self, head: &ConnectorHead) -> Result<(), InstallError> {
        let version = self
            .db
            .connector_version(&head.connector_id, &head.active_version)
            .await?;
        let release = self.release(&version).await?;
        let loaded = self.load(&version.package_digest, &release).await?;
        let replaced = self.catalog.install(loaded);
        tracing::info!(
            connector = %head.connector_id,
            version = %head.active_version,
            generation = head.generation,
            replaced = ?replaced.map(|c| c.manifest().version.to_string()),
            "running connector version"
        );
        Ok(())
    }

    async fn head(&self, connector_id: &str) -> Result<ConnectorHead, InstallError> {
        self.db
            .connector_head(connector_id)
            .await?
            .ok_or_else(|| InstallError::NotInstalled(connector_id.to_owned()))
    }

    /// Moves the head to `target` (compare-and-set on `head`'s generation)
    /// and swaps this node's catalog before answering.
    async fn move_head(
        &self,
        target: &ConnectorVersion,
        head: Option<&ConnectorHead>,
        approved_diff_hash: Option<&str>,
        by: &str,
        diff: Option<(Value, String, Vec<BrokenConfiguration>)>,
    ) -> Result<Change, InstallError> {
        let activation = Activation {
            connector_id: &target.connector_id,
            version: &target.version,
            expected_generation: head.map(|h| h.generation),
            by,
        };
        let moved = self
            .db
            .activate_connector_version(&activation, approved_diff_hash, self.clock.now_ms())
            .await?;
        self.converge().await?;
        let version = self
            .db
            .connector_version(&target.connector_id, &target.version)
            .await?;
        let (diff, diff_hash, broken) = match diff {
            Some((diff, hash, broken)) => (Some(diff), Some(hash), broken),
            None => (None, None, Vec::new()),
        };
        Ok(Change {
            outcome: Outcome::Activated,
            version,
            active_version: Some(moved.active_version),
            diff,
            diff_hash,
            broken_configurations: broken,
        })
    }

    fn unchanged(
        &self,
        version: ConnectorVersion,
        head: &ConnectorHead,
    ) -> Result<Change, InstallError> {
        Ok(Change {
            outcome: Outcome::Unchanged,
            version,
            active_version: Some(head.active_version.clone()),
            diff: None,
            diff_hash: None,
            broken_configurations: Vec::new(),
        })
    }

    async fn diff_from_active(
        &self,
        head: &ConnectorHead,
        target: &ConnectorVersion,
    ) -> Result<(Value, String, bool), InstallError> {
        let active = self
            .db
            .connector_version(&head.connector_id, &head.active_version)
            .await?;
        let from = self.release(&active).await?;
        let to = self.release(target).await?;
        Ok(capability_diff(&from, &to))
    }

    /// The opened package of a stored version, from memory or the database.
    async fn release(&self, version: &ConnectorVersion) -> Result<Arc<Release>, InstallError> {
        let digest = &version.package_digest;
        if let Some(release) = self.releases.lock().get(digest) {
            return Ok(release.clone());
        }
        let bytes = self.db.connector_package(digest).await?;
        let release = Arc::new(open_stored(digest, &bytes, &self.policy.maxima)?);
        self.releases.lock().insert(digest.clone(), release.clone());
        Ok(release)
    }

    /// The loaded connector of a package: from memory, else compiled (or
    /// read from the artifact cache) and pre-linked.
    async fn load(
        &self,
        digest: &str,
        release: &Arc<Release>,
    ) -> Result<Arc<LoadedConnector>, InstallError> {
        if let Some(loaded) = self.loaded.lock().get(digest) {
            return Ok(loaded.clone());
        }
        let loaded = self
            .runtime
            .load(release.manifest.clone(), release.component.clone())
            .await
            .map_err(|source| InstallError::Load {
                connector: release.manifest.id.clone(),
                version: release.manifest.version.to_string(),
                source,
            })?;
        self.releases
            .lock()
            .entry(digest.to_owned())
            .or_insert_with(|| release.clone());
        self.loaded.lock().insert(digest.to_owned(), loaded.clone());
        Ok(loaded)
    }

    /// The configurations of this connector, in every store, whose stored
    /// settings or credentials do not validate against `manifest`.
    async fn broken_configurations(
        &self,
        manifest: &Manifest,
    ) -> Result<Vec<BrokenConfiguration>, InstallError> {
        let mut broken = Vec::new();
        for target in self.db.connector_targets_of(&manifest.id).await? {
            let settings: Map<String, Value> = target
                .config
                .settings
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect();
            let credentials: Map<String, Value> = target
                .credentials
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(value.expose().to_owned())))
                .collect();
            let mut problems: Vec<String> =
                match manifest.check_configuration(&settings, &credentials) {
                    Ok(_) => Vec::new(),
                    Err(errors) => errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect(),
                };
            problems.extend(
                target
                    .config
                    .event_types
                    .iter()
                    .filter(|pattern| {
                        !manifest
                            .events
                            .iter()
                            .any(|handled| pattern.is_within(handled))
                    })
                    .map(|pattern| format!("event_types: {pattern} is no longer handled")),
            );
            if !problems.is_empty() {
                broken.push(BrokenConfiguration {
                    store_id: target.config.store_id,
                    config_id: target.config.id,
                    name: target.config.name,
                    problems,
                });
            }
        }
        Ok(broken)
    }
}

/// The folders of the bundled directory that hold a manifest, sorted.
fn bundled_folders(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join(sluice_manifest::MANIFEST_FILE).is_file())
        .collect();
    folders.sort();
    Ok(folders)
}

/// Opens a package read back from the database. It was verified when it
/// was installed; here its bytes must still have the digest they are stored
/// under, and pass every check but the signatures again (the operator's
/// maxima included, which may have been lowered since).
fn open_stored(
    digest: &str,
    bytes: &[u8],
    maxima: &OperatorMaxima,
) -> Result<Release, InstallError> {
    let actual = sluice_registry::digest(bytes);
    if actual != digest {
        return Err(InstallError::Corrupt {
            digest: digest.to_owned(),
            reason: format!("its bytes have digest {actual}"),
        });
    }
    let verified = sluice_registry::verify_bundled(bytes, maxima)?;
    Ok(Release {
        manifest: verified.manifest,
        component: verified.component,
        surface: verified.surface,
    })
}

/// The capability diff from `from` to `to`: as JSON, its hash, and whether
/// it widens what the connector may reach or read.
fn capability_diff(from: &Release, to: &Release) -> (Value, String, bool) {
    let diff = CapabilityDiff::between(&from.manifest, &from.surface, &to.manifest, &to.surface);
    (
        serde_json::to_value(&diff).expect("a capability diff serializes"),
        diff.hash(),
        diff.widens(),
    )
}

/// The diff as the API and CLI print it, one line per change.
pub fn render_diff(diff: &Value) -> Vec<String> {
    match serde_json::from_value::<CapabilityDiff>(diff.clone()) {
        Ok(diff) => diff.to_string().lines().map(str::to_owned).collect(),
        Err(_) => vec![diff.to_string()],
    }
}

/// Polls the connector heads every `every` and converges this node's
/// catalog on them, until `stop`.
pub fn spawn_watcher(
    installer: Arc<Installer>,
    every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.cancelled() => return,
            }
            if let Err(error) = installer.converge().await {
                tracing::warn!(%error, "cannot read the active connector versions; retrying");
            }
        }
    })
}
