//! API credentials for external consumers, and the one function that turns
//! whatever a request presents into a [`Principal`].
//!
//! A store issues **API keys** (`sk_<hex>_<secret>`, sent as
//! `Authorization: Bearer`) and **OAuth 2.0 client-credentials clients**
//! (`cli_<hex>` + `cs_<secret>`, exchanged at the token endpoint for
//! short-lived `sat_...` access tokens), each with `{resource}:{action}`
//! [`Scope`]s, an optional expiry, and a secret shown once and stored only as
//! an argon2id hash ([`hashing`]). Operators hold admin tokens (any other
//! bearer token), which act on every store.
//!
//! ## Authenticating a request (for the API and the console)
//!
//! ```text
//! let presented = Presented::from_headers(request.headers())?;   // or Presented::Bearer(key)
//! let source = state.credentials.config().source(request.headers(), peer_ip);
//! match state.credentials.authenticate(&presented, source).await {
//!     Ok(principal) => principal.allows(Some(store_id), Scope::DeliveriesRead)?, // Denied::OtherStore → 404
//!     Err(AuthError::Invalid(_)) => 401, Err(AuthError::Throttled(retry)) => 429,
//!     Err(AuthError::Busy(_)) => 503, Err(AuthError::Storage(e)) => 503,
//! }
//! ```
//!
//! [`Credentials::authenticate`] checks, in order: the source's failure
//! budget ([`limiter`]: refused sources cost nothing), the verified cache
//! ([`cache`]: a fresh hit costs one SHA-256 and a map lookup; a stale one a
//! row read), and only then the stored argon2id hash, through the bounded
//! [`hashing::HashGate`]. Unknown key prefixes and client ids fail without
//! hashing. Every failure counts against its source and in
//! `sluice_auth_refusals_total`. A store credential's use is noted in memory
//! and written as `last_used_at` by [`Credentials::flush_usage`], which
//! [`Credentials::maintain`] runs every `usage_flush_seconds`.
//!
//! Management ([`Credentials::create`], [`Credentials::rotate`],
//! [`Credentials::revoke`]) records an audit entry with each change; a store
//! credential can never grant (or learn by rotating) scopes it lacks.

pub mod cache;
pub mod config;
pub mod hashing;
pub mod limiter;
pub mod presented;
pub mod principal;
pub mod scope;
mod usage;

use std::net::IpAddr;
use std::sync::Arc;

use sluice_core::{SharedClock, UnixMillis};
use sluice_metrics::Metrics;
use sluice_storage::{CredentialKind, Db, NewCredential, StorageError, StoredCredential};
use tokio_util::sync::CancellationToken;

use crate::cache::{Lookup, VerifiedCache};
use crate::hashing::{HashGate, hash_secret, verify_secret};
use crate::limiter::FailureLimiter;
use crate::presented::{
    ACCESS_TOKEN_PREFIX, API_KEY_PREFIX, BearerKind, CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX,
    bearer_kind, new_public_id, new_secret,
};
use crate::usage::UsageLog;

pub use config::CredentialsConfig;
pub use hashing::Busy;
pub use limiter::RetryAfter;
pub use presented::{MalformedAuthorization, Presented, hash_token};
pub use principal::{Denied, Principal, StoreAccess, Via};
pub use scope::{Scope, ScopeSet, UnknownScopes};

/// Why a presented credential was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No such key, client, access token or admin token.
    Unknown,
    /// The key or client exists but the secret is wrong.
    Mismatch,
    /// Revoked (only said to whoever presents the right secret).
    Revoked,
    /// Past its expiry (only said to whoever presents the right secret).
    Expired,
}

impl Failure {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Mismatch => "mismatch",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// What the caller is told; unknown and wrong secrets look the same.
    pub fn message(self) -> &'static str {
        match self {
            Self::Unknown | Self::Mismatch => "the credential is not valid",
            Self::Revoked => "the credential was revoked",
            Self::Expired => "the credential has expired",
        }
    }
}

/// Why [`Credentials::authenticate`] did not yield a principal.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credential is not accepted (401).
    #[error("{}", .0.message())]
    Invalid(Failure),
    /// The source failed too often: refused without checking (429).
    #[error("too many failed authentication attempts from this source; retry in {} s", .0.0)]
    Throttled(RetryAfter),
    /// Hash verification is at capacity (503).
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The database failed (503).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A credential to create.
#[derive(Debug, Clone)]
pub struct CredentialRequest {
    /// API key or OAuth client.
    pub kind: CredentialKind,
    /// A label for people.
    pub name: String,
    /// Its scopes (at least one).
    pub scopes: ScopeSet,
    /// When it stops being accepted, if ever.
    pub expires_at: Option<UnixMillis>,
}

/// A credential with its secret, as shown once at creation or rotation.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The stored credential (its `public_id` is the key prefix or client id).
    pub credential: StoredCredential,
    /// The whole API key (`sk_...`), or the client secret (`cs_...`).
    pub secret: String,
}

/// Why a management action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// A store credential tried to grant or obtain scopes it does not hold.
    #[error("a credential cannot grant or obtain scopes it does not hold itself: {0}")]
    Escalation(ScopeSet),
    /// Hashing is at capacity.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// Not found, conflict, or the database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An access token issued by the token endpoint.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// `sat_...`.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// What it grants.
    pub scopes: ScopeSet,
}

/// Why the token endpoint issued nothing.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The client did not authenticate (RFC 6749 `invalid_client`), or the
    /// source is throttled, or checking is at capacity.
    #[error(transparent)]
    Auth(AuthError),
    /// Scopes the client does not hold (RFC 6749 `invalid_scope`).
    #[error("the client does not hold {0}")]
    ScopeNotHeld(ScopeSet),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Credential checking and management for one node.
pub struct Credentials {
    db: Db,
    clock: SharedClock,
    metrics: Arc<Metrics>,
    config: CredentialsConfig,
    gate: HashGate,
    limiter: FailureLimiter,
    cache: VerifiedCache,
    usage: UsageLog,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The scopes stored for a credential; names no longer known grant nothing.
fn stored_scopes(credential_id: &str, names: &[String]) -> ScopeSet {
    names
        .iter()
        .filter_map(|name| {
            let scope = Scope::parse(name);
            if scope.is_none() {
                tracing::warn!(credential_id, scope = %name, "ignoring an unknown stored scope");
            }
            scope
        })
        .collect()
}

impl Credentials {
    /// Checking and management on `db`, timed by `clock`.
    pub fn new(
        db: Db,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        config: CredentialsConfig,
    ) -> Self {
        Self {
            gate: HashGate::new(config.max_concurrent_hashes, config.max_queued_hashes),
            limiter: FailureLimiter::new(
                config.failure_limit,
                i64::from(config.failure_window_seconds) * 1000,
                config.max_tracked_sources,
            ),
            cache: VerifiedCache::new(
                i64::try_from(config.cache_ttl_ms).unwrap_or(i64::MAX),
                config.cache_capacity,
            ),
            usage: UsageLog::default(),
            db,
            clock,
            metrics,
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &CredentialsConfig {
        &self.config
    }

    /// Who presents `presented` from `source`: an operator, a store
    /// credential, or an error. See the crate documentation for the order of
    /// checks and what each costs.
    pub async fn authenticate(
        &self,
        presented: &Presented,
        source: IpAddr,
    ) -> Result<Principal, AuthError> {
        let now = self.clock.now_ms();
        if let Err(retry) = self.limiter.check(source, now) {
            self.refused("throttled");
            return Err(AuthError::Throttled(retry));
        }
        match self.check(presented, now).await {
            Ok(principal) => {
                if let Principal::Store(access) = &principal {
                    self.usage.note(&access.credential_id, now);
                }
                Ok(principal)
            }
            Err(AuthError::Invalid(failure)) => {
                self.refused(failure.as_str());
                if let Some(retry) = self.limiter.record_failure(source, now) {
                    tracing::warn!(%source, retry_after_s = retry.0, "authentication failures over the limit; refusing the source");
                }
                Err(AuthError::Invalid(failure))
            }
            Err(AuthError::Busy(busy)) => {
                self.refused("busy");
                Err(AuthError::Busy(busy))
            }
            Err(other) => Err(other),
        }
    }

    fn refused(&self, reason: &str) {
        self.metrics
            .auth_refusals
            .with_label_values(&[reason])
            .inc();
    }

    /// The principal cached for `fingerprint` if it was checked within the
    /// TTL; counts the lookup as a hit or a miss.
    fn fresh(&self, fingerprint: &[u8; 32], now: UnixMillis) -> Option<Principal> {
        if let Lookup::Fresh(principal) = self.cache.lookup(fingerprint, now) {
            self.cache_lookup("hit");
            return Some(principal);
        }
        self.cache_lookup("miss");
        None
    }

    /// The stored row of a token read by its hash; when there is none, the
    /// token is unknown and its cache entry goes.
    fn known<T>(&self, fingerprint: &[u8; 32], found: Option<T>) -> Result<T, AuthError> {
        found.ok_or_else(|| {
            self.cache.remove(fingerprint);
            AuthError::Invalid(Failure::Unknown)
        })
    }

    fn cache_lookup(&self, result: &str) {
        self.metrics
            .credential_cache_lookups
            .with_label_values(&[result])
            .inc();
    }

    async fn check(&self, presented: &Presented, now: UnixMillis) -> Result<Principal, AuthError> {
        match presented {
            Presented::Bearer(token) => match bearer_kind(token) {
                BearerKind::ApiKey { public_id, secret } => {
                    self.check_secret(presented, public_id, secret, Via::ApiKey, now)
                        .await
                }
                BearerKind::AccessToken => self.check_access_token(presented, token, now).await,
                BearerKind::Other => self.check_admin_token(presented, token, now).await,
            },
            Presented::ClientSecret { client_id, secret } => {
                self.check_secret(presented, client_id, secret, Via::ClientSecret, now)
                    .await
            }
        }
    }

    async fn check_secret(
        &self,
        presented: &Presented,
        public_id: &str,
        secret: &str,
        via: Via,
        now: UnixMillis,
    ) -> Result<Principal, AuthError> {
        let fingerprint = presented.fingerprint();
        let row = match self.cache.lookup(&fingerprint, now) {
            Lookup::Fresh(principal) => {
                self.cache_lookup("hit");
                return Ok(principal);
            }
            Lookup::Stale(entry) => {
                let row = self.db.find_credential(public_id).await?;
                if let Some(row) = &row
                    && entry.verified_hash.as_deref() == Some(row.secret_hash.as_str())
                    && row.usable_at(now)
                {
                    self.cache_lookup("revalidated");
                    let principal = entry.principal.clone();
                    self.cache.insert(
                        fingerprint,
                        entry.principal,
                        entry.verified_hash,
                        row.expires_at,
                        now,
                    );
                    return Ok(principal);
                }
                self.cache.remove(&fingerprint);
                row
            }
            Lookup::Miss => self.db.find_credential(public_id).await?,
        };
        self.cache_lookup("miss");
        let expected = match via {
            Via::ClientSecret => CredentialKind::OauthClient,
            _ => CredentialKind::ApiKey,
        };
        let Some(row) = row.filter(|row| row.kind == expected) else {
            return Err(AuthError::Invalid(Failure::Unknown));
        };
        let stored = row.secret_hash.clone();
        let secret = secret.to_owned();
        let matched = self
            .gate
            .run(move || verify_secret(&secret, &stored))
            .await?;
        self.metrics
            .credential_hashes
            .with_label_values(&[if matched { "match" } else { "mismatch" }])
            .inc();
        if !matched {
            return Err(AuthError::Invalid(Failure::Mismatch));
        }
        if !row.active {
            return Err(AuthError::Invalid(Failure::Revoked));
        }
        if !row.usable_at(now) {
            return Err(AuthError::Invalid(Failure::Expired));
        }
        let access = Arc::new(StoreAccess {
            scopes: stored_scopes(&row.id, &row.scopes),
            store_id: row.store_id,
            credential_id: row.id,
            via,
        });
        let principal = Principal::Store(access);
        self.cache.insert(
            fingerprint,
            principal.clone(),
            Some(row.secret_hash),
            row.expires_at,
            now,
        );
        Ok(principal)
    }

    /// An operator's admin token, read from the database at most once per
    /// cache TTL: admin tokens are only ever added, and a row removed by
    /// hand stops being accepted within the TTL.
    async fn check_admin_token(
        &self,
        presented: &Presented,
        token: &str,
        now: UnixMillis,
    ) -> Result<Principal, AuthError> {
        let fingerprint = presented.fingerprint();
        if let Some(principal) = self.fresh(&fingerprint, now) {
            return Ok(principal);
        }
        let found = self.db.find_admin_token(&hash_token(token)).await?;
        let admin = self.known(&fingerprint, found)?;
        let principal = Principal::Operator { token_id: admin.id };
        self.cache
            .insert(fingerprint, principal.clone(), None, None, now);
        Ok(principal)
    }

    async fn check_access_token(
        &self,
        presented: &Presented,
        token: &str,
        now: UnixMillis,
    ) -> Result<Principal, AuthError> {
        let fingerprint = presented.fingerprint();
        if let Some(principal) = self.fresh(&fingerprint, now) {
            return Ok(principal);
        }
        let found = self.db.find_access_token(&hash_token(token)).await?;
        let stored = self.known(&fingerprint, found)?;
        if !stored.usable_at(now) {
            self.cache.remove(&fingerprint);
            return Err(AuthError::Invalid(if stored.credential_active {
                Failure::Expired
            } else {
                Failure::Revoked
            }));
        }
        let not_after = stored
            .credential_expires_at
            .map_or(stored.expires_at, |expiry| expiry.min(stored.expires_at));
        let access = Arc::new(StoreAccess {
            scopes: stored_scopes(&stored.credential_id, &stored.scopes),
            store_id: stored.store_id,
            credential_id: stored.credential_id,
            via: Via::AccessToken,
        });
        let principal = Principal::Store(access);
        self.cache
            .insert(fingerprint, principal.clone(), None, Some(not_after), now);
        Ok(principal)
    }

    /// Creates a credential of `store_id` for `actor` and returns it with
    /// its secret, which is not kept anywhere.
    pub async fn create(
        &self,
        store_id: &str,
        request: CredentialRequest,
        actor: &Principal,
    ) -> Result<Issued, ManageError> {
        let missing = request.scopes.without(actor.scopes());
        if !missing.is_empty() {
            return Err(ManageError::Escalation(missing));
        }
        let (public_id, secret, shown) = new_pair(request.kind);
        let secret_hash = self.gate.run(move || hash_secret(&secret)).await?;
        let credential = self
            .db
            .create_credential(
                store_id,
                &NewCredential {
                    kind: request.kind,
                    name: request.name,
                    public_id,
                    secret_hash,
                    scopes: request.scopes.names(),
                    expires_at: request.expires_at,
                    created_by: actor.actor(),
                },
                self.clock.now_ms(),
            )
            .await?;
        Ok(Issued {
            credential,
            secret: shown,
        })
    }

    /// Replaces the secret of credential `id` (the key prefix or client id
    /// stays); the old secret and the access tokens issued with it stop
    /// working at once on this node and within `cache_ttl_ms` on others.
    pub async fn rotate(
        &self,
        store_id: &str,
        id: &str,
        actor: &Principal,
    ) -> Result<Issued, ManageError> {
        let current = self.db.get_credential(store_id, id).await?;
        let missing = stored_scopes(id, &current.scopes).without(actor.scopes());
        if !missing.is_empty() {
            return Err(ManageError::Escalation(missing));
        }
        let secret = match current.kind {
            CredentialKind::ApiKey => new_secret(""),
            CredentialKind::OauthClient => new_secret(CLIENT_SECRET_PREFIX),
        };
        let shown = match current.kind {
            CredentialKind::ApiKey => format!("{}_{secret}", current.public_id),
            CredentialKind::OauthClient => secret.clone(),
        };
        let secret_hash = self.gate.run(move || hash_secret(&secret)).await?;
        let credential = self
            .db
            .rotate_credential(
                store_id,
                id,
                &secret_hash,
                &actor.actor(),
                self.clock.now_ms(),
            )
            .await?;
        self.cache.evict_credential(id);
        Ok(Issued {
            credential,
            secret: shown,
        })
    }

    /// Revokes credential `id` for good: it and its access tokens stop
    /// working at once on this node and within `cache_ttl_ms` on others.
    pub async fn revoke(
        &self,
        store_id: &str,
        id: &str,
        actor: &Principal,
    ) -> Result<StoredCredential, ManageError> {
        let credential = self
            .db
            .revoke_credential(store_id, id, &actor.actor(), self.clock.now_ms())
            .await?;
        self.cache.evict_credential(id);
        Ok(credential)
    }

    /// The client-credentials grant (RFC 6749 §4.4): authenticates the
    /// client from `source` and issues an access token for `requested`
    /// scopes (all of the client's when none are asked for).
    pub async fn issue_token(
        &self,
        client_id: &str,
        secret: &str,
        requested: Option<ScopeSet>,
        source: IpAddr,
    ) -> Result<IssuedToken, TokenError> {
        let presented = Presented::ClientSecret {
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
        };
        let access = match self
            .authenticate(&presented, source)
            .await
            .map_err(TokenError::Auth)?
        {
            Principal::Store(access) => access,
            Principal::Operator { .. } => {
                return Err(TokenError::Auth(AuthError::Invalid(Failure::Unknown)));
            }
        };
        let scopes = match requested {
            Some(asked) if !asked.is_empty() => {
                let missing = asked.without(access.scopes);
                if !missing.is_empty() {
                    return Err(TokenError::ScopeNotHeld(missing));
                }
                asked
            }
            _ => access.scopes,
        };
        let credential = self
            .db
            .get_credential(&access.store_id, &access.credential_id)
            .await?;
        let now = self.clock.now_ms();
        let lifetime = i64::from(self.config.access_token_seconds) * 1000;
        let expires_at = credential
            .expires_at
            .map_or(now + lifetime, |expiry| expiry.min(now + lifetime));
        let token = new_secret(ACCESS_TOKEN_PREFIX);
        self.db
            .insert_access_token(
                &hash_token(&token),
                &credential,
                &scopes.names(),
                now,
                expires_at,
            )
            .await?;
        Ok(IssuedToken {
            access_token: token,
            expires_in: u64::try_from((expires_at - now) / 1000).unwrap_or(0),
            scopes,
        })
    }

    /// Writes the `last_used_at` of every credential used since the last
    /// flush, in one transaction; returns the rows written.
    pub async fn flush_usage(&self) -> Result<u64, StorageError> {
        let uses = self.usage.take();
        if uses.is_empty() {
            return Ok(0);
        }
        match self.db.record_credential_use(&uses).await {
            Ok(written) => {
                self.metrics
                    .credential_last_used_writes
                    .with_label_values::<&str>(&[])
                    .inc_by(written);
                Ok(written)
            }
            Err(error) => {
                self.usage.restore(uses);
                Err(error)
            }
        }
    }

    /// Flushes `last_used_at` and prunes expired access tokens every
    /// `usage_flush_seconds` (on the injected clock) until `stop`, then
    /// flushes once more.
    pub async fn maintain(self: Arc<Self>, stop: CancellationToken) {
        let every = i64::from(self.config.usage_flush_seconds) * 1000;
        loop {
            let next = self.clock.now_ms() + every;
            tokio::select! {
                _ = self.clock.sleep_until(next) => {}
                _ = stop.cancelled() => break,
            }
            if let Err(error) = self.flush_usage().await {
                tracing::warn!(%error, "cannot record credential use; will retry");
            }
            if let Err(error) = self.db.prune_access_tokens(self.clock.now_ms()).await {
                tracing::warn!(%error, "cannot prune expired access tokens");
            }
        }
        if let Err(error) = self.flush_usage().await {
            tracing::warn!(%error, "cannot record credential use at shutdown");
        }
    }
}

/// A new public id, the secret to hash, and what the holder is shown.
fn new_pair(kind: CredentialKind) -> (String, String, String) {
    match kind {
        CredentialKind::ApiKey => {
            let public_id = new_public_id(API_KEY_PREFIX);
            let secret = new_secret("");
            let shown = format!("{public_id}_{secret}");
            (public_id, secret, shown)
        }
        CredentialKind::OauthClient => {
            let secret = new_secret(CLIENT_SECRET_PREFIX);
            (new_public_id(CLIENT_ID_PREFIX), secret.clone(), secret)
        }
    }
}
