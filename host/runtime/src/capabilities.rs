//! The capabilities a connector receives for one configuration: its
//! credentials and its small key/value state.
//!
//! Both are traits so that the service backs them with the encrypted database
//! and `sluice connector invoke` with files and memory. An implementation is
//! already scoped to one configuration when it reaches the runtime, so a guest
//! has no way to name another configuration's data. The runtime adds the
//! manifest's restrictions on top (only declared credential keys; bounded
//! state keys and values).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use sluice_core::{SharedClock, UnixMillis};

/// A failure of a capability's backing store. The call traps and is recorded
/// as a host failure, which the delivery queue retries.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// The credentials of the configuration being run.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// The value stored for `key`, if set. The runtime only asks for keys the
    /// manifest declares.
    async fn get(&self, key: &str) -> Result<Option<String>, BackendError>;
}

/// Credentials held in memory, for the CLI and tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryCredentials(BTreeMap<String, String>);

impl MemoryCredentials {
    /// Credentials with the given values.
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self(values)
    }
}

#[async_trait]
impl Credentials for MemoryCredentials {
    async fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        Ok(self.0.get(key).cloned())
    }
}

/// Why a state write was refused; mirrors the WIT `state-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateRefusal {
    /// Empty key or longer than [`StateLimits::max_key_bytes`].
    #[error("key is empty or too long")]
    KeyTooLong,
    /// Value longer than [`StateLimits::max_value_bytes`].
    #[error("value is too large")]
    ValueTooLarge,
    /// The configuration holds [`StateLimits::max_keys`] keys already.
    #[error("too many keys")]
    QuotaExceeded,
}

/// Bounds on one configuration's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateLimits {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    pub max_value_bytes: usize,
    /// Most keys per configuration.
    pub max_keys: usize,
}

impl Default for StateLimits {
    fn default() -> Self {
        Self {
            max_key_bytes: 256,
            max_value_bytes: 64 * 1024,
            max_keys: 1_000,
        }
    }
}

/// A result of a state write.
pub type StateResult = Result<Result<(), StateRefusal>, BackendError>;

/// Small key/value state of the configuration being run.
///
/// `now` is the injected clock's time; values whose expiry is at or before
/// `now` are absent.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The live value under `key`.
    async fn get(&self, key: &str, now: UnixMillis) -> Result<Option<Vec<u8>>, BackendError>;
    /// Stores `value` under `key`, expiring at `expires_at` if given. Refuses
    /// with [`StateRefusal::QuotaExceeded`] when a new key would exceed `max_keys`.
    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        expires_at: Option<UnixMillis>,
        now: UnixMillis,
        max_keys: usize,
    ) -> StateResult;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> Result<(), BackendError>;
}

#[derive(Debug, Clone)]
struct StoredValue {
    value: Vec<u8>,
    expires_at: Option<UnixMillis>,
}

impl StoredValue {
    fn is_live(&self, now: UnixMillis) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// State held in memory, for the CLI and tests. Clones share the same map.
#[derive(Debug, Clone, Default)]
pub struct MemoryState(Arc<Mutex<HashMap<String, StoredValue>>>);

impl MemoryState {
    /// A snapshot of the live entries at `now`, for persisting between CLI runs.
    pub fn snapshot(&self, now: UnixMillis) -> BTreeMap<String, (Vec<u8>, Option<UnixMillis>)> {
        self.0
            .lock()
            .iter()
            .filter(|(_, v)| v.is_live(now))
            .map(|(k, v)| (k.clone(), (v.value.clone(), v.expires_at)))
            .collect()
    }

    /// State holding the given entries.
    pub fn from_entries(entries: BTreeMap<String, (Vec<u8>, Option<UnixMillis>)>) -> Self {
        let map = entries
            .into_iter()
            .map(|(k, (value, expires_at))| (k, StoredValue { value, expires_at }))
            .collect();
        Self(Arc::new(Mutex::new(map)))
    }
}

#[async_trait]
impl StateStore for MemoryState {
    async fn get(&self, key: &str, now: UnixMillis) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self
            .0
            .lock()
            .get(key)
            .filter(|v| v.is_live(now))
            .map(|v| v.value.clone()))
    }

    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        expires_at: Option<UnixMillis>,
        now: UnixMillis,
        max_keys: usize,
    ) -> StateResult {
        let mut map = self.0.lock();
        map.retain(|_, v| v.is_live(now));
        if !map.contains_key(key) && map.len() >= max_keys {
            return Ok(Err(StateRefusal::QuotaExceeded));
        }
        map.insert(key.to_owned(), StoredValue { value, expires_at });
        Ok(Ok(()))
    }

    async fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.0.lock().remove(key);
        Ok(())
    }
}

/// What one call may use: the configuration's credentials and state, and the
/// clock that decides expiry.
#[derive(Clone)]
pub struct Capabilities {
    /// The configuration's credentials.
    pub credentials: Arc<dyn Credentials>,
    /// The configuration's state.
    pub state: Arc<dyn StateStore>,
    /// The clock for state expiry and the guest's wall clock.
    pub clock: SharedClock,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_state_expires_values_and_enforces_the_key_quota() {
        let state = MemoryState::default();
        state
            .set("token", b"abc".to_vec(), Some(1_000), 0, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            state.get("token", 999).await.unwrap(),
            Some(b"abc".to_vec())
        );
        assert_eq!(state.get("token", 1_000).await.unwrap(), None);

        // The expired token no longer counts against the quota.
        state
            .set("a", vec![], None, 1_000, 2)
            .await
            .unwrap()
            .unwrap();
        state
            .set("b", vec![], None, 1_000, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            state.set("c", vec![], None, 1_000, 2).await.unwrap(),
            Err(StateRefusal::QuotaExceeded)
        );
        // Overwriting an existing key is not a new key.
        state
            .set("a", vec![1], None, 1_000, 2)
            .await
            .unwrap()
            .unwrap();
    }
}
