//! API credentials of external consumers: API keys and OAuth 2.0
//! client-credentials clients of a store, the access tokens issued to
//! clients, and the audit log of every management action.
//!
//! Storage keeps only what the caller hands it: the public id that finds a
//! credential, the slow hash of its secret (computed by `sluice-credentials`),
//! and the SHA-256 of access tokens. Every change (create, rotate, revoke)
//! writes its audit entry in the same transaction, so no action goes
//! unrecorded.

use serde_json::Value;
use sluice_core::{UnixMillis, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{SqlBuilder, flag, json, stored, stored_enum, to_json};
use crate::{Db, MAX_PAGE_SIZE, Page, PageRequest, Result, StorageError};

stored_enum! {
    /// What kind of credential a consumer holds.
    pub enum CredentialKind {
        /// A key sent as `Authorization: Bearer sk_...`.
        ApiKey = "api_key",
        /// An OAuth 2.0 client that exchanges its id and secret for access tokens.
        OauthClient = "oauth_client",
    }
}

const CREDENTIAL_COLUMNS: &str = "id, store_id, kind, name, public_id, secret_hash, scopes, \
     active, expires_at, last_used_at, created_by, created_at, updated_at, rotated_at, revoked_at";

/// A stored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// `crd_...`.
    pub id: String,
    /// The store it acts for.
    pub store_id: String,
    /// API key or OAuth client.
    pub kind: CredentialKind,
    /// A label for people.
    pub name: String,
    /// The non-secret part that finds it: the key prefix or the client id.
    pub public_id: String,
    /// The slow salted hash of its secret (a PHC string).
    pub secret_hash: String,
    /// Its `{resource}:{action}` scopes.
    pub scopes: Vec<String>,
    /// False once revoked.
    pub active: bool,
    /// When it stops being accepted, if ever.
    pub expires_at: Option<UnixMillis>,
    /// When it was last accepted, as of the last coalesced write.
    pub last_used_at: Option<UnixMillis>,
    /// Who created it (`operator:adm_...` or `credential:crd_...`).
    pub created_by: String,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it last changed.
    pub updated_at: UnixMillis,
    /// When its secret was last replaced.
    pub rotated_at: Option<UnixMillis>,
    /// When it was revoked.
    pub revoked_at: Option<UnixMillis>,
}

impl StoredCredential {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let id: String = row.try_get("id")?;
        Ok(Self {
            store_id: row.try_get("store_id")?,
            kind: stored(row, "kind")?,
            name: row.try_get("name")?,
            public_id: row.try_get("public_id")?,
            secret_hash: row.try_get("secret_hash")?,
            scopes: json(row, "scopes", &format!("credential {id}"))?,
            active: flag(row, "active")?,
            expires_at: row.try_get("expires_at")?,
            last_used_at: row.try_get("last_used_at")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            rotated_at: row.try_get("rotated_at")?,
            revoked_at: row.try_get("revoked_at")?,
            id,
        })
    }

    /// Whether it is accepted at `now`: active and not expired.
    pub fn usable_at(&self, now: UnixMillis) -> bool {
        self.active && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// A credential to create; it starts active.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// API key or OAuth client.
    pub kind: CredentialKind,
    /// A label.
    pub name: String,
    /// The key prefix or client id; unique across stores.
    pub public_id: String,
    /// The slow hash of the secret.
    pub secret_hash: String,
    /// Scopes, already checked by the caller.
    pub scopes: Vec<String>,
    /// When it stops being accepted, if ever.
    pub expires_at: Option<UnixMillis>,
    /// Who creates it; also the actor of the audit entry.
    pub created_by: String,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// `aud_...`, time-ordered.
    pub id: String,
    /// The store.
    pub store_id: String,
    /// The credential acted on.
    pub credential_id: String,
    /// `created`, `rotated` or `revoked`.
    pub action: String,
    /// Who acted (`operator:adm_...` or `credential:crd_...`).
    pub actor: String,
    /// What changed: name, kind, scopes, expiry; never a secret.
    pub detail: Value,
    /// When.
    pub at: UnixMillis,
}

impl AuditEntry {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let id: String = row.try_get("id")?;
        Ok(Self {
            store_id: row.try_get("store_id")?,
            credential_id: row.try_get("credential_id")?,
            action: row.try_get("action")?,
            actor: row.try_get("actor")?,
            detail: json(row, "detail", &format!("audit entry {id}"))?,
            at: row.try_get("at")?,
            id,
        })
    }
}

/// An access token found by its hash, with the state of its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccessToken {
    /// The client credential it was issued to.
    pub credential_id: String,
    /// The store it acts for.
    pub store_id: String,
    /// The scopes granted (a subset of the client's).
    pub scopes: Vec<String>,
    /// When it stops being accepted.
    pub expires_at: UnixMillis,
    /// Whether the client is still active.
    pub credential_active: bool,
    /// When the client itself expires, if ever.
    pub credential_expires_at: Option<UnixMillis>,
}

impl StoredAccessToken {
    /// Whether it is accepted at `now`: unexpired, its client active and unexpired.
    pub fn usable_at(&self, now: UnixMillis) -> bool {
        now < self.expires_at
            && self.credential_active
            && self.credential_expires_at.is_none_or(|expiry| now < expiry)
    }
}

impl Db {
    /// Creates an active credential for `store_id` and records it in the
    /// audit log. A `public_id` already used is a [`StorageError::Conflict`].
    pub async fn create_credential(
        &self,
        store_id: &str,
        new: &NewCredential,
        now: UnixMillis,
    ) -> Result<StoredCredential> {
        let id = new_id("crd");
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO api_credentials ({CREDENTIAL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $11, $11, NULL, NULL) \
             ON CONFLICT (public_id) DO NOTHING RETURNING {CREDENTIAL_COLUMNS}"
        ))
        .bind(id.as_str())
        .bind(store_id)
        .bind(new.kind.as_str())
        .bind(new.name.as_str())
        .bind(new.public_id.as_str())
        .bind(new.secret_hash.as_str())
        .bind(to_json(&new.scopes))
        .bind(true)
        .bind(new.expires_at)
        .bind(new.created_by.as_str())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StorageError::Conflict("a credential with this public id exists".into()))?;
        let credential = StoredCredential::from_row(&row)?;
        audit(
            &mut tx,
            &credential,
            "created",
            &new.created_by,
            serde_json::json!({
                "name": credential.name,
                "kind": credential.kind.as_str(),
                "scopes": credential.scopes,
                "expires_at": credential.expires_at,
            }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(credential)
    }

    /// One credential of `store_id`.
    pub async fn get_credential(&self, store_id: &str, id: &str) -> Result<StoredCredential> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM api_credentials WHERE store_id = $1 AND id = $2"
        ))
        .bind(store_id)
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(StoredCredential::from_row)
        .transpose()?
        .ok_or_else(|| StorageError::not_found("credential", id))
    }

    /// The credentials of `store_id`, oldest first, revoked ones included.
    pub async fn list_credentials(&self, store_id: &str) -> Result<Vec<StoredCredential>> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM api_credentials WHERE store_id = $1 ORDER BY id"
        ))
        .bind(store_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(StoredCredential::from_row)
        .collect()
    }

    /// The credential with this key prefix or client id, in any store.
    pub async fn find_credential(&self, public_id: &str) -> Result<Option<StoredCredential>> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM api_credentials WHERE public_id = $1"
        ))
        .bind(public_id)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(StoredCredential::from_row)
        .transpose()
    }

    /// Replaces the secret hash of an active credential, drops the access
    /// tokens issued with the old secret, and records `actor`'s rotation.
    pub async fn rotate_credential(
        &self,
        store_id: &str,
        id: &str,
        secret_hash: &str,
        actor: &str,
        now: UnixMillis,
    ) -> Result<StoredCredential> {
        let mut tx = self.writer().begin().await?;
        let current = self.locked_credential(&mut tx, store_id, id).await?;
        if !current.active {
            return Err(StorageError::Conflict(format!(
                "credential {id} is revoked; create a new one"
            )));
        }
        let row = sqlx::query(&format!(
            "UPDATE api_credentials SET secret_hash = $3, rotated_at = $4, updated_at = $4 \
             WHERE store_id = $1 AND id = $2 RETURNING {CREDENTIAL_COLUMNS}"
        ))
        .bind(store_id)
        .bind(id)
        .bind(secret_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let credential = StoredCredential::from_row(&row)?;
        sqlx::query("DELETE FROM credential_tokens WHERE credential_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            &credential,
            "rotated",
            actor,
            serde_json::json!({ "name": credential.name }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(credential)
    }

    /// Revokes an active credential for good, drops its access tokens, and
    /// records `actor`'s revocation. Revoking twice is a conflict.
    pub async fn revoke_credential(
        &self,
        store_id: &str,
        id: &str,
        actor: &str,
        now: UnixMillis,
    ) -> Result<StoredCredential> {
        let mut tx = self.writer().begin().await?;
        let current = self.locked_credential(&mut tx, store_id, id).await?;
        if !current.active {
            return Err(StorageError::Conflict(format!(
                "credential {id} is revoked already"
            )));
        }
        let row = sqlx::query(&format!(
            "UPDATE api_credentials SET active = $3, revoked_at = $4, updated_at = $4 \
             WHERE store_id = $1 AND id = $2 RETURNING {CREDENTIAL_COLUMNS}"
        ))
        .bind(store_id)
        .bind(id)
        .bind(false)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let credential = StoredCredential::from_row(&row)?;
        sqlx::query("DELETE FROM credential_tokens WHERE credential_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            &credential,
            "revoked",
            actor,
            serde_json::json!({ "name": credential.name }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(credential)
    }

    async fn locked_credential(
        &self,
        conn: &mut sqlx::AnyConnection,
        store_id: &str,
        id: &str,
    ) -> Result<StoredCredential> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM api_credentials WHERE store_id = $1 AND id = $2{}",
            self.backend().lock_row()
        ))
        .bind(store_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(StoredCredential::from_row)
        .transpose()?
        .ok_or_else(|| StorageError::not_found("credential", id))
    }

    /// Records when credentials were last used, in one transaction: each
    /// `(id, at)` moves `last_used_at` forward, never back. Returns how many
    /// rows changed.
    pub async fn record_credential_use(&self, uses: &[(String, UnixMillis)]) -> Result<u64> {
        if uses.is_empty() {
            return Ok(0);
        }
        let mut tx = self.writer().begin().await?;
        let mut changed = 0;
        for (id, at) in uses {
            changed += sqlx::query(
                "UPDATE api_credentials SET last_used_at = $2 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
            )
            .bind(id.as_str())
            .bind(*at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Stores an access token issued to client `credential_id` by the
    /// SHA-256 of the token.
    pub async fn insert_access_token(
        &self,
        token_hash: &str,
        credential: &StoredCredential,
        scopes: &[String],
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO credential_tokens \
             (token_hash, credential_id, store_id, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(credential.id.as_str())
        .bind(credential.store_id.as_str())
        .bind(to_json(&scopes))
        .bind(now)
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The access token with this hash and the state of its client, if any.
    pub async fn find_access_token(&self, token_hash: &str) -> Result<Option<StoredAccessToken>> {
        let Some(row) = sqlx::query(
            "SELECT t.credential_id, t.store_id, t.scopes, t.expires_at, \
             c.active AS credential_active, c.expires_at AS credential_expires_at \
             FROM credential_tokens t JOIN api_credentials c ON c.id = t.credential_id \
             WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.reader())
        .await?
        else {
            return Ok(None);
        };
        let credential_id: String = row.try_get("credential_id")?;
        Ok(Some(StoredAccessToken {
            store_id: row.try_get("store_id")?,
            scopes: json(&row, "scopes", &format!("access token of {credential_id}"))?,
            expires_at: row.try_get("expires_at")?,
            credential_active: flag(&row, "credential_active")?,
            credential_expires_at: row.try_get("credential_expires_at")?,
            credential_id,
        }))
    }

    /// Deletes access tokens expired before `now`; returns how many.
    pub async fn prune_access_tokens(&self, now: UnixMillis) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM credential_tokens WHERE expires_at <= $1")
                .bind(now)
                .execute(self.writer())
                .await?
                .rows_affected(),
        )
    }

    /// The audit log of `store_id`, newest first.
    pub async fn list_credential_audit(
        &self,
        store_id: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>> {
        let limit = page.limit.clamp(1, MAX_PAGE_SIZE) as usize;
        let mut sql = SqlBuilder::new(
            self.backend(),
            "SELECT id, store_id, credential_id, action, actor, detail, at \
             FROM credential_audit WHERE store_id = ",
        );
        sql.bind(store_id);
        if let Some(cursor) = &page.cursor {
            sql.push(" AND id < ").bind(cursor.as_str());
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(limit as i64 + 1);
        let mut items = sql
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(AuditEntry::from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|entry| entry.id.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

/// Appends one audit entry inside the transaction of the change it records.
async fn audit(
    conn: &mut sqlx::AnyConnection,
    credential: &StoredCredential,
    action: &str,
    actor: &str,
    detail: Value,
    now: UnixMillis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO credential_audit (id, store_id, credential_id, action, actor, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id("aud"))
    .bind(credential.store_id.as_str())
    .bind(credential.id.as_str())
    .bind(action)
    .bind(actor)
    .bind(to_json(&detail))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
