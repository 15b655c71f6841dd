//! The connector registry: packages stored by digest, the installed versions
//! of each connector, and the head that says which version is active.
//!
//! Every change of a head bumps its `generation` under a compare-and-set, so
//! two operators (or two nodes) activating at once cannot both win, and a
//! node that polls the generations knows exactly which connectors to reload.

use serde_json::Value;
use sluice_core::UnixMillis;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::sql::{optional_json, stored, stored_enum, to_json};
use crate::{Db, Result, StorageError};

stored_enum! {
    /// Who vouches for a version.
    pub enum Trust {
        /// Signed by a publisher key the trust policy accepts.
        Signed = "signed",
        /// Bundled with the service by its operator.
        Bundled = "bundled",
        /// Unsigned, accepted under the development switch.
        Unsigned = "unsigned",
    }
}

stored_enum! {
    /// Where an installed version stands (besides being active, which the
    /// head decides).
    pub enum VersionState {
        /// Installed and ready to be activated.
        Available = "available",
        /// Widens what the connector may reach or read: waits for an
        /// operator to approve its diff.
        PendingApproval = "pending_approval",
    }
}

const VERSION_COLUMNS: &str = "v.connector_id, v.version, v.package_digest, v.component_digest, \
    v.publisher, v.trust, v.state, v.diff, v.diff_hash, v.approved_diff_hash, v.installed_by, \
    v.installed_at, v.approved_by, v.approved_at, h.active_version";

const VERSIONS_WITH_HEAD: &str = "connector_versions v LEFT JOIN connector_heads h \
    ON h.connector_id = v.connector_id";

const HEAD_COLUMNS: &str =
    "connector_id, active_version, previous_version, generation, changed_by, changed_at";

/// A version to install.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConnectorVersion {
    /// The connector's id.
    pub connector_id: String,
    /// Its semantic version.
    pub version: String,
    /// `sha256:...` of the package bytes.
    pub package_digest: String,
    /// SHA-256 of the component, as the runtime names it.
    pub component_digest: String,
    /// The signers, or who vouched for an unsigned package.
    pub publisher: String,
    /// Who vouches for it.
    pub trust: Trust,
}

/// An installed version of a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorVersion {
    /// The connector's id.
    pub connector_id: String,
    /// Its semantic version.
    pub version: String,
    /// `sha256:...` of the package bytes.
    pub package_digest: String,
    /// SHA-256 of the component.
    pub component_digest: String,
    /// The signers, or who vouched for it.
    pub publisher: String,
    /// Who vouches for it.
    pub trust: Trust,
    /// Available or pending approval.
    pub state: VersionState,
    /// Whether the connector's head points at it.
    pub active: bool,
    /// The capability diff waiting for approval, when pending.
    pub diff: Option<Value>,
    /// The hash of `diff`.
    pub diff_hash: Option<String>,
    /// The hash of the diff last approved for this version.
    pub approved_diff_hash: Option<String>,
    /// Who installed it.
    pub installed_by: String,
    /// When.
    pub installed_at: UnixMillis,
    /// Who approved its diff, if anyone.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<UnixMillis>,
}

impl ConnectorVersion {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let connector_id: String = row.try_get("connector_id")?;
        let version: String = row.try_get("version")?;
        let owner = format!("connector version {connector_id}@{version}");
        let active_version: Option<String> = row.try_get("active_version")?;
        Ok(Self {
            package_digest: row.try_get("package_digest")?,
            component_digest: row.try_get("component_digest")?,
            publisher: row.try_get("publisher")?,
            trust: stored(row, "trust")?,
            state: stored(row, "state")?,
            active: active_version.as_deref() == Some(version.as_str()),
            diff: optional_json(row, "diff", &owner)?,
            diff_hash: row.try_get("diff_hash")?,
            approved_diff_hash: row.try_get("approved_diff_hash")?,
            installed_by: row.try_get("installed_by")?,
            installed_at: row.try_get("installed_at")?,
            approved_by: row.try_get("approved_by")?,
            approved_at: row.try_get("approved_at")?,
            connector_id,
            version,
        })
    }
}

/// Which version of a connector is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorHead {
    /// The connector's id.
    pub connector_id: String,
    /// The version that runs.
    pub active_version: String,
    /// The version that ran before, the target of a rollback.
    pub previous_version: Option<String>,
    /// Bumped by every change; nodes reload a connector when it moves.
    pub generation: i64,
    /// Who made the last change.
    pub changed_by: String,
    /// When.
    pub changed_at: UnixMillis,
}

impl ConnectorHead {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            connector_id: row.try_get("connector_id")?,
            active_version: row.try_get("active_version")?,
            previous_version: row.try_get("previous_version")?,
            generation: row.try_get("generation")?,
            changed_by: row.try_get("changed_by")?,
            changed_at: row.try_get("changed_at")?,
        })
    }
}

/// What [`Db::install_connector_version`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Installed {
    /// A new version row.
    New(ConnectorVersion),
    /// This very package was installed already; nothing changed.
    Existing(ConnectorVersion),
}

impl Installed {
    /// The version, new or existing.
    pub fn version(&self) -> &ConnectorVersion {
        match self {
            Self::New(version) | Self::Existing(version) => version,
        }
    }
}

/// A change of a connector's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation<'a> {
    /// The connector.
    pub connector_id: &'a str,
    /// The version to make active.
    pub version: &'a str,
    /// The generation the caller decided on (`None`: the connector has no
    /// head yet). A head that moved since is a [`StorageError::Conflict`].
    pub expected_generation: Option<i64>,
    /// Who makes the change.
    pub by: &'a str,
}

impl Db {
    /// Stores `package` (the bytes whose digest is `new.package_digest`) and
    /// records the version in `state`, in one transaction.
    ///
    /// Installing the same package again changes nothing. Another package
    /// under an existing id and version is a [`StorageError::Conflict`],
    /// except that a bundled package replaces the bundled one it rebuilds.
    pub async fn install_connector_version(
        &self,
        new: &NewConnectorVersion,
        package: &[u8],
        state: VersionState,
        by: &str,
        now: UnixMillis,
    ) -> Result<Installed> {
        let mut tx = self.writer().begin().await?;
        let existing = version_in(&mut tx, &new.connector_id, &new.version).await?;
        match existing {
            Some(existing) if existing.package_digest == new.package_digest => {
                return Ok(Installed::Existing(existing));
            }
            Some(existing) if existing.trust == Trust::Bundled && new.trust == Trust::Bundled => {
                store_package(&mut tx, &new.package_digest, package, now).await?;
                sqlx::query(
                    "UPDATE connector_versions SET package_digest = $1, component_digest = $2, \
                     installed_by = $3, installed_at = $4 WHERE connector_id = $5 AND version = $6",
                )
                .bind(new.package_digest.as_str())
                .bind(new.component_digest.as_str())
                .bind(by)
                .bind(now)
                .bind(new.connector_id.as_str())
                .bind(new.version.as_str())
                .execute(&mut *tx)
                .await?;
                delete_package_if_unused(&mut tx, &existing.package_digest).await?;
                // Nodes running the replaced package reload it.
                sqlx::query(
                    "UPDATE connector_heads SET generation = generation + 1 \
                     WHERE connector_id = $1 AND active_version = $2",
                )
                .bind(new.connector_id.as_str())
                .bind(new.version.as_str())
                .execute(&mut *tx)
                .await?;
            }
            Some(existing) => {
                return Err(StorageError::Conflict(format!(
                    "{}@{} is already installed from package {}; a different package {} needs a new version",
                    new.connector_id, new.version, existing.package_digest, new.package_digest
                )));
            }
            None => {
                store_package(&mut tx, &new.package_digest, package, now).await?;
                let inserted = sqlx::query(
                    "INSERT INTO connector_versions (connector_id, version, package_digest, \
                     component_digest, publisher, trust, state, installed_by, installed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                )
                .bind(new.connector_id.as_str())
                .bind(new.version.as_str())
                .bind(new.package_digest.as_str())
                .bind(new.component_digest.as_str())
                .bind(new.publisher.as_str())
                .bind(new.trust.as_str())
                .bind(state.as_str())
                .bind(by)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    // The same package under another id or version cannot
                    // happen (the package names both), so this is a race
                    // with another installer of the same version.
                    return Err(StorageError::Conflict(format!(
                        "{}@{} was installed concurrently; list its versions and try again",
                        new.connector_id, new.version
                    )));
                }
            }
        }
        let version = version_in(&mut tx, &new.connector_id, &new.version)
            .await?
            .ok_or_else(|| StorageError::not_found("connector version", &new.version))?;
        tx.commit().await?;
        Ok(Installed::New(version))
    }

    /// The bytes of the package with `digest`.
    pub async fn connector_package(&self, digest: &str) -> Result<Vec<u8>> {
        sqlx::query("SELECT bytes FROM connector_packages WHERE digest = $1")
            .bind(digest)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| StorageError::not_found("connector package", digest))?
            .try_get("bytes")
            .map_err(Into::into)
    }

    /// The installed versions of `connector_id`, oldest install first.
    pub async fn connector_versions(&self, connector_id: &str) -> Result<Vec<ConnectorVersion>> {
        sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM {VERSIONS_WITH_HEAD} WHERE v.connector_id = $1 \
             ORDER BY v.installed_at, v.version"
        ))
        .bind(connector_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(ConnectorVersion::from_row)
        .collect()
    }

    /// One installed version.
    pub async fn connector_version(
        &self,
        connector_id: &str,
        version: &str,
    ) -> Result<ConnectorVersion> {
        let mut conn = self.reader().acquire().await?;
        version_in(&mut conn, connector_id, version)
            .await?
            .ok_or_else(|| {
                StorageError::not_found("connector version", &format!("{connector_id}@{version}"))
            })
    }

    /// Every connector's head.
    pub async fn connector_heads(&self) -> Result<Vec<ConnectorHead>> {
        sqlx::query(&format!(
            "SELECT {HEAD_COLUMNS} FROM connector_heads ORDER BY connector_id"
        ))
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(ConnectorHead::from_row)
        .collect()
    }

    /// The head of `connector_id`, if any version was ever activated.
    pub async fn connector_head(&self, connector_id: &str) -> Result<Option<ConnectorHead>> {
        sqlx::query(&format!(
            "SELECT {HEAD_COLUMNS} FROM connector_heads WHERE connector_id = $1"
        ))
        .bind(connector_id)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(ConnectorHead::from_row)
        .transpose()
    }

    /// Puts a version in `pending_approval` with the diff it waits on.
    pub async fn set_pending_approval(
        &self,
        connector_id: &str,
        version: &str,
        diff: &Value,
        diff_hash: &str,
    ) -> Result<ConnectorVersion> {
        let mut tx = self.writer().begin().await?;
        let updated = sqlx::query(
            "UPDATE connector_versions SET state = $1, diff = $2, diff_hash = $3 \
             WHERE connector_id = $4 AND version = $5",
        )
        .bind(VersionState::PendingApproval.as_str())
        .bind(to_json(diff))
        .bind(diff_hash)
        .bind(connector_id)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StorageError::not_found(
                "connector version",
                &format!("{connector_id}@{version}"),
            ));
        }
        let version = version_in(&mut tx, connector_id, version)
            .await?
            .ok_or_else(|| StorageError::not_found("connector version", version))?;
        tx.commit().await?;
        Ok(version)
    }

    /// Moves the head of `activation.connector_id` to `activation.version`
    /// and bumps its generation, in one transaction. With `approved_diff_hash`
    /// the version's approval (who, when, which diff) is recorded too. The
    /// version becomes `available`; its pending diff is cleared.
    pub async fn activate_connector_version(
        &self,
        activation: &Activation<'_>,
        approved_diff_hash: Option<&str>,
        now: UnixMillis,
    ) -> Result<ConnectorHead> {
        let Activation {
            connector_id,
            version,
            expected_generation,
            by,
        } = *activation;
        let mut tx = self.writer().begin().await?;
        if version_in(&mut tx, connector_id, version).await?.is_none() {
            return Err(StorageError::not_found(
                "connector version",
                &format!("{connector_id}@{version}"),
            ));
        }
        let moved = match expected_generation {
            None => sqlx::query(
                "INSERT INTO connector_heads (connector_id, active_version, previous_version, \
                 generation, changed_by, changed_at) VALUES ($1, $2, NULL, 1, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(connector_id)
            .bind(version)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Some(generation) => sqlx::query(
                "UPDATE connector_heads SET previous_version = active_version, \
                 active_version = $1, generation = generation + 1, changed_by = $2, \
                 changed_at = $3 WHERE connector_id = $4 AND generation = $5",
            )
            .bind(version)
            .bind(by)
            .bind(now)
            .bind(connector_id)
            .bind(generation)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        };
        if moved == 0 {
            return Err(StorageError::Conflict(format!(
                "the active version of {connector_id} changed meanwhile; look at its versions and try again"
            )));
        }
        let mut sql =
            String::from("UPDATE connector_versions SET state = $1, diff = NULL, diff_hash = NULL");
        if approved_diff_hash.is_some() {
            sql.push_str(", approved_diff_hash = $4, approved_by = $5, approved_at = $6");
        }
        sql.push_str(" WHERE connector_id = $2 AND version = $3");
        let mut update = sqlx::query(&sql)
            .bind(VersionState::Available.as_str())
            .bind(connector_id)
            .bind(version);
        if let Some(hash) = approved_diff_hash {
            update = update.bind(hash).bind(by).bind(now);
        }
        update.execute(&mut *tx).await?;
        let head = sqlx::query(&format!(
            "SELECT {HEAD_COLUMNS} FROM connector_heads WHERE connector_id = $1"
        ))
        .bind(connector_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        ConnectorHead::from_row(&head)
    }

    /// Deletes an inactive version, and its package. The active version is
    /// a [`StorageError::Conflict`]; deleting the rollback target leaves the
    /// connector without one.
    pub async fn delete_connector_version(&self, connector_id: &str, version: &str) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let existing = version_in(&mut tx, connector_id, version)
            .await?
            .ok_or_else(|| {
                StorageError::not_found("connector version", &format!("{connector_id}@{version}"))
            })?;
        if existing.active {
            return Err(StorageError::Conflict(format!(
                "{connector_id}@{version} is active; activate another version first"
            )));
        }
        sqlx::query(
            "UPDATE connector_heads SET previous_version = NULL \
             WHERE connector_id = $1 AND previous_version = $2",
        )
        .bind(connector_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM connector_versions WHERE connector_id = $1 AND version = $2")
            .bind(connector_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        delete_package_if_unused(&mut tx, &existing.package_digest).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn version_in(
    conn: &mut AnyConnection,
    connector_id: &str,
    version: &str,
) -> Result<Option<ConnectorVersion>> {
    sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSIONS_WITH_HEAD} \
         WHERE v.connector_id = $1 AND v.version = $2"
    ))
    .bind(connector_id)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(ConnectorVersion::from_row)
    .transpose()
}

async fn store_package(
    conn: &mut AnyConnection,
    digest: &str,
    bytes: &[u8],
    now: UnixMillis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO connector_packages (digest, bytes, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest)
    .bind(bytes.to_vec())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn delete_package_if_unused(conn: &mut AnyConnection, digest: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM connector_packages WHERE digest = $1 AND NOT EXISTS \
         (SELECT 1 FROM connector_versions WHERE package_digest = $1)",
    )
    .bind(digest)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
