//! Webhook subscriptions and their signing secrets.
//!
//! A subscription has one or more sealed signing secrets. Signing uses every
//! unexpired one, newest first, so that during a rotation receivers accept
//! messages with either secret; rotating gives the older ones
//! [`SECRET_ROTATION_OVERLAP_MS`] more to live.

use sluice_core::{EventTypePattern, UnixMillis, new_id};
use sluice_secrets::SecretString;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sealing::{open_webhook_secret, seal_webhook_secret};
use crate::sql::{SqlBuilder, flag, json, to_json};
use crate::{Db, Result, StorageError};

/// How long secrets replaced by a rotation keep signing: 24 hours.
pub const SECRET_ROTATION_OVERLAP_MS: UnixMillis = 24 * 60 * 60 * 1000;

const SUBSCRIPTION_COLUMNS: &str = "id, store_id, name, url, event_types, active, \
    disabled_reason, created_at, updated_at, rate_limit_per_second";

/// A store's subscription to events, delivered as signed HTTP POSTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    /// `whk_...`.
    pub id: String,
    /// The store it belongs to.
    pub store_id: String,
    /// A label chosen by the store admin.
    pub name: String,
    /// Where events are posted.
    pub url: String,
    /// Which event types it receives.
    pub event_types: Vec<EventTypePattern>,
    /// Whether new events fan out to it.
    pub active: bool,
    /// Why Sluice deactivated it, if it did.
    pub disabled_reason: Option<String>,
    /// The most requests per second its receiver accepts, if it declared it.
    pub rate_limit_per_second: Option<u32>,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it last changed.
    pub updated_at: UnixMillis,
}

impl WebhookSubscription {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let id: String = row.try_get("id")?;
        Ok(Self {
            store_id: row.try_get("store_id")?,
            name: row.try_get("name")?,
            url: row.try_get("url")?,
            event_types: json(row, "event_types", &format!("webhook subscription {id}"))?,
            active: flag(row, "active")?,
            disabled_reason: row.try_get("disabled_reason")?,
            rate_limit_per_second: crate::sql::optional_narrow(row, "rate_limit_per_second")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            id,
        })
    }
}

/// A subscription to create; it starts active.
#[derive(Debug, Clone)]
pub struct NewWebhookSubscription {
    /// A label.
    pub name: String,
    /// Where events are posted (validated by the caller).
    pub url: String,
    /// Which event types it receives.
    pub event_types: Vec<EventTypePattern>,
    /// Its first signing secret (`whsec_...`).
    pub signing_secret: SecretString,
    /// The most requests per second its receiver accepts, if any.
    pub rate_limit_per_second: Option<u32>,
}

/// Changes to a subscription; unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookSubscriptionUpdate {
    /// A new label.
    pub name: Option<String>,
    /// A new URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<EventTypePattern>>,
    /// Activate or deactivate; either clears `disabled_reason`.
    pub active: Option<bool>,
    /// A new rate limit (`Some(None)` removes it).
    pub rate_limit_per_second: Option<Option<u32>>,
}

/// A signing secret's metadata; the secret itself is never read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecretInfo {
    /// `whs_...`.
    pub id: String,
    /// When it was added.
    pub created_at: UnixMillis,
    /// When it stops signing, if scheduled.
    pub expires_at: Option<UnixMillis>,
}

/// What a worker needs to deliver to a subscription.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    /// The subscription.
    pub subscription: WebhookSubscription,
    /// Its unexpired signing secrets, newest first.
    pub signing_secrets: Vec<SecretString>,
}

impl Db {
    /// Creates an active subscription for `store_id` with its first signing secret.
    pub async fn create_webhook_subscription(
        &self,
        store_id: &str,
        new: &NewWebhookSubscription,
        now: UnixMillis,
    ) -> Result<WebhookSubscription> {
        let id = new_id("whk");
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO webhook_subscriptions ({SUBSCRIPTION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7, $8) RETURNING {SUBSCRIPTION_COLUMNS}"
        ))
        .bind(id.as_str())
        .bind(store_id)
        .bind(new.name.as_str())
        .bind(new.url.as_str())
        .bind(to_json(&new.event_types))
        .bind(true)
        .bind(now)
        .bind(new.rate_limit_per_second.map(i64::from))
        .fetch_one(&mut *tx)
        .await?;
        self.insert_secret(&mut tx, store_id, &id, &new.signing_secret, now)
            .await?;
        tx.commit().await?;
        WebhookSubscription::from_row(&row)
    }

    /// The subscriptions of `store_id`, oldest first.
    pub async fn list_webhook_subscriptions(
        &self,
        store_id: &str,
    ) -> Result<Vec<WebhookSubscription>> {
        sqlx::query(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions \
             WHERE store_id = $1 ORDER BY id"
        ))
        .bind(store_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(WebhookSubscription::from_row)
        .collect()
    }

    /// The subscription `id` of `store_id`.
    pub async fn get_webhook_subscription(
        &self,
        store_id: &str,
        id: &str,
    ) -> Result<WebhookSubscription> {
        let row = sqlx::query(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions \
             WHERE store_id = $1 AND id = $2"
        ))
        .bind(store_id)
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| StorageError::not_found("webhook subscription", id))?;
        WebhookSubscription::from_row(&row)
    }

    /// Applies `update` to the subscription `id` of `store_id`.
    pub async fn update_webhook_subscription(
        &self,
        store_id: &str,
        id: &str,
        update: &WebhookSubscriptionUpdate,
        now: UnixMillis,
    ) -> Result<WebhookSubscription> {
        let mut sql = SqlBuilder::new(
            self.backend(),
            "UPDATE webhook_subscriptions SET updated_at = ",
        );
        sql.bind(now);
        if let Some(name) = &update.name {
            sql.push(", name = ").bind(name.as_str());
        }
        if let Some(url) = &update.url {
            sql.push(", url = ").bind(url.as_str());
        }
        if let Some(event_types) = &update.event_types {
            sql.push(", event_types = ").bind(to_json(event_types));
        }
        if let Some(active) = update.active {
            sql.push(", disabled_reason = NULL, active = ").bind(active);
        }
        if let Some(rate) = update.rate_limit_per_second {
            sql.push(", rate_limit_per_second = ")
                .bind(rate.map(i64::from));
        }
        sql.push(" WHERE store_id = ")
            .bind(store_id)
            .push(" AND id = ")
            .bind(id)
            .push(&format!(" RETURNING {SUBSCRIPTION_COLUMNS}"));
        let row = sql
            .fetch_optional(self.writer())
            .await?
            .ok_or_else(|| StorageError::not_found("webhook subscription", id))?;
        WebhookSubscription::from_row(&row)
    }

    /// Deactivates the subscription `id` of `store_id`, recording why (for
    /// example, its endpoint kept failing).
    pub async fn deactivate_webhook_subscription(
        &self,
        store_id: &str,
        id: &str,
        reason: &str,
        now: UnixMillis,
    ) -> Result<WebhookSubscription> {
        let row = sqlx::query(&format!(
            "UPDATE webhook_subscriptions SET active = $1, disabled_reason = $2, updated_at = $3 \
             WHERE store_id = $4 AND id = $5 RETURNING {SUBSCRIPTION_COLUMNS}"
        ))
        .bind(false)
        .bind(reason)
        .bind(now)
        .bind(store_id)
        .bind(id)
        .fetch_optional(self.writer())
        .await?
        .ok_or_else(|| StorageError::not_found("webhook subscription", id))?;
        WebhookSubscription::from_row(&row)
    }

    /// Deletes the subscription `id` of `store_id` and its secrets. Its
    /// deliveries stay, as history.
    pub async fn delete_webhook_subscription(&self, store_id: &str, id: &str) -> Result<()> {
        let deleted =
            sqlx::query("DELETE FROM webhook_subscriptions WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(id)
                .execute(self.writer())
                .await?
                .rows_affected();
        if deleted == 0 {
            return Err(StorageError::not_found("webhook subscription", id));
        }
        Ok(())
    }

    /// Adds `secret` as the newest signing secret of subscription `id` of
    /// `store_id`; the others expire [`SECRET_ROTATION_OVERLAP_MS`] after
    /// `now` (or earlier, if they were due to). Secrets already expired are
    /// deleted.
    pub async fn rotate_webhook_secret(
        &self,
        store_id: &str,
        id: &str,
        secret: &SecretString,
        now: UnixMillis,
    ) -> Result<WebhookSecretInfo> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(&format!(
            "SELECT id FROM webhook_subscriptions WHERE store_id = $1 AND id = $2{}",
            self.backend().lock_row()
        ))
        .bind(store_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StorageError::not_found("webhook subscription", id))?;
        sqlx::query(
            "DELETE FROM webhook_secrets WHERE subscription_id = $1 AND store_id = $2 \
             AND expires_at <= $3",
        )
        .bind(id)
        .bind(store_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let overlap_end = now.saturating_add(SECRET_ROTATION_OVERLAP_MS);
        sqlx::query(
            "UPDATE webhook_secrets SET expires_at = $1 WHERE subscription_id = $2 \
             AND store_id = $3 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(overlap_end)
        .bind(id)
        .bind(store_id)
        .execute(&mut *tx)
        .await?;
        let info = self
            .insert_secret(&mut tx, store_id, id, secret, now)
            .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// The subscription `id` of `store_id` with its signing secrets unexpired
    /// at `now`, opened.
    pub async fn webhook_target(
        &self,
        store_id: &str,
        id: &str,
        now: UnixMillis,
    ) -> Result<WebhookTarget> {
        let subscription = self.get_webhook_subscription(store_id, id).await?;
        let rows = sqlx::query(
            "SELECT id, sealed FROM webhook_secrets WHERE subscription_id = $1 \
             AND store_id = $2 AND (expires_at IS NULL OR expires_at > $3) \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(id)
        .bind(store_id)
        .bind(now)
        .fetch_all(self.reader())
        .await?;
        let signing_secrets = rows
            .iter()
            .map(|row| {
                let secret_id: String = row.try_get("id")?;
                let sealed: Vec<u8> = row.try_get("sealed")?;
                open_webhook_secret(self.secrets(), &secret_id, &sealed)
            })
            .collect::<Result<_>>()?;
        Ok(WebhookTarget {
            subscription,
            signing_secrets,
        })
    }

    async fn insert_secret(
        &self,
        conn: &mut sqlx::AnyConnection,
        store_id: &str,
        subscription_id: &str,
        secret: &SecretString,
        now: UnixMillis,
    ) -> Result<WebhookSecretInfo> {
        let id = new_id("whs");
        sqlx::query(
            "INSERT INTO webhook_secrets (id, subscription_id, store_id, sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(subscription_id)
        .bind(store_id)
        .bind(seal_webhook_secret(self.secrets(), &id, secret))
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(WebhookSecretInfo {
            id,
            created_at: now,
            expires_at: None,
        })
    }
}
