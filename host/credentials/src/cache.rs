//! The verified-credential cache: what was presented, by its SHA-256, to
//! the principal it was verified to be, so the slow hash is paid once per
//! credential and node rather than once per request, and an operator's
//! admin token is not read from the database on every request.
//!
//! An entry is *fresh* for `ttl` after its last check and answers without
//! touching the database. After that it is *stale*: the caller re-reads the
//! stored row, and if the stored hash is still the one the secret was
//! verified against and the credential is still usable, the entry is fresh
//! again without hashing. A rotation or revocation on this node evicts the
//! credential's entries at once; on another node the entry is re-read
//! within `ttl`, which bounds how long a revoked credential can still be
//! accepted anywhere. The cache holds at most `capacity` entries.

use std::collections::HashMap;

use parking_lot::Mutex;
use sluice_core::UnixMillis;

use crate::Principal;

/// A verified credential.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Who it is, with what it grants.
    pub(crate) principal: Principal,
    /// For keys and client secrets: the stored hash the secret matched.
    /// None for access and admin tokens (stored by a fast hash, re-read
    /// directly).
    pub(crate) verified_hash: Option<String>,
    /// When it stops being accepted (its own or its credential's expiry).
    pub(crate) not_after: Option<UnixMillis>,
    checked_at: UnixMillis,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// Checked within the TTL: accept.
    Fresh(Principal),
    /// Checked longer ago: re-read the stored row before accepting.
    Stale(Entry),
    /// Not verified on this node (or expired).
    Miss,
}

/// The cache of one node.
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    ttl_ms: i64,
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl VerifiedCache {
    pub(crate) fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self {
            ttl_ms,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn lookup(&self, fingerprint: &[u8; 32], now: UnixMillis) -> Lookup {
        let mut entries = self.entries.lock();
        let Some(entry) = entries.get(fingerprint) else {
            return Lookup::Miss;
        };
        if entry.not_after.is_some_and(|expiry| now >= expiry) {
            entries.remove(fingerprint);
            return Lookup::Miss;
        }
        if now < entry.checked_at + self.ttl_ms {
            Lookup::Fresh(entry.principal.clone())
        } else {
            Lookup::Stale(entry.clone())
        }
    }

    pub(crate) fn insert(
        &self,
        fingerprint: [u8; 32],
        principal: Principal,
        verified_hash: Option<String>,
        not_after: Option<UnixMillis>,
        now: UnixMillis,
    ) {
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&fingerprint) {
            let ttl = self.ttl_ms;
            entries.retain(|_, entry| now < entry.checked_at + ttl);
            if entries.len() >= self.capacity {
                // Still full of fresh entries: start over rather than grow.
                entries.clear();
            }
        }
        entries.insert(
            fingerprint,
            Entry {
                principal,
                verified_hash,
                not_after,
                checked_at: now,
            },
        );
    }

    pub(crate) fn remove(&self, fingerprint: &[u8; 32]) {
        self.entries.lock().remove(fingerprint);
    }

    /// Evicts every entry of credential `id` (its key, its client secret and
    /// the access tokens issued to it).
    pub(crate) fn evict_credential(&self, id: &str) {
        self.entries
            .lock()
            .retain(|_, entry| match &entry.principal {
                Principal::Store(access) => access.credential_id != id,
                Principal::Operator { .. } => true,
            });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{ScopeSet, StoreAccess, Via};

    fn access(id: &str) -> Principal {
        Principal::Store(Arc::new(StoreAccess {
            store_id: "s1".into(),
            credential_id: id.into(),
            scopes: ScopeSet::EMPTY,
            via: Via::ApiKey,
        }))
    }

    #[test]
    fn entries_are_fresh_then_stale_then_gone_at_expiry() {
        let cache = VerifiedCache::new(1_000, 10);
        cache.insert([1; 32], access("crd_1"), Some("h".into()), Some(5_000), 0);
        assert!(matches!(cache.lookup(&[1; 32], 999), Lookup::Fresh(_)));
        assert!(
            matches!(cache.lookup(&[1; 32], 1_000), Lookup::Stale(e) if e.verified_hash.as_deref() == Some("h"))
        );
        assert!(matches!(cache.lookup(&[1; 32], 5_000), Lookup::Miss));
        assert!(matches!(cache.lookup(&[2; 32], 0), Lookup::Miss));
    }

    #[test]
    fn evicting_a_credential_drops_all_its_entries() {
        let cache = VerifiedCache::new(1_000, 10);
        cache.insert([1; 32], access("crd_1"), None, None, 0);
        cache.insert([2; 32], access("crd_1"), None, None, 0);
        cache.insert([3; 32], access("crd_2"), None, None, 0);
        cache.evict_credential("crd_1");
        assert!(matches!(cache.lookup(&[1; 32], 1), Lookup::Miss));
        assert!(matches!(cache.lookup(&[2; 32], 1), Lookup::Miss));
        assert!(matches!(cache.lookup(&[3; 32], 1), Lookup::Fresh(_)));
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = VerifiedCache::new(1_000, 2);
        cache.insert([1; 32], access("crd_1"), None, None, 0);
        cache.insert([2; 32], access("crd_2"), None, None, 0);
        cache.insert([3; 32], access("crd_3"), None, None, 2_000);
        assert_eq!(cache.entries.lock().len(), 1, "stale entries made room");
        cache.insert([4; 32], access("crd_4"), None, None, 2_000);
        cache.insert([5; 32], access("crd_5"), None, None, 2_000);
        assert!(cache.entries.lock().len() <= 2);
    }
}
