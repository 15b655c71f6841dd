//! Slow salted hashes of credential secrets, and the gate that bounds what
//! computing them may cost.
//!
//! Secrets are hashed with argon2id (19 MiB, 2 passes, 1 lane: the OWASP
//! minimum), each with its own random salt, stored as a PHC string. One
//! verification costs tens of milliseconds of CPU and 19 MiB of memory, so
//! an attacker sending wrong secrets must not be able to make the service
//! compute them without limit. The [`HashGate`] runs at most `concurrent`
//! of them at once on the blocking pool, lets at most `queued` more wait,
//! and refuses the rest at once ([`Busy`]); the per-source failure limiter
//! in front of it stops one source from filling it, and unknown key
//! prefixes never reach it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Memory cost of a hash, in KiB.
const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory.
const PASSES: u32 = 2;

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(MEMORY_KIB, PASSES, 1, None).expect("valid argon2 parameters"),
    )
}

/// Hashes `secret` with a fresh salt into a PHC string.
pub fn hash_secret(secret: &str) -> String {
    argon2()
        .hash_password(secret.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("hashing into a PHC string cannot fail with valid parameters")
        .to_string()
}

/// Whether `secret` matches the PHC string `stored` (in constant time). A
/// malformed stored hash matches nothing.
pub fn verify_secret(secret: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => argon2().verify_password(secret.as_bytes(), &hash).is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored credential hash is malformed");
            false
        }
    }
}

/// Too many hashes are being computed and waited for: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many credential checks are in progress; try again in a second")]
pub struct Busy;

/// Bounds the slow hashes computed at once and the callers waiting for one.
#[derive(Debug)]
pub struct HashGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Decrements the waiting count however the wait ends (also when the
/// request is dropped while waiting).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    /// At most `concurrent` (at least 1) hashes at once and `queued` callers waiting.
    pub fn new(concurrent: usize, queued: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: queued,
        }
    }

    /// Runs `work` (a hash computation) on the blocking pool once a slot is
    /// free, or refuses at once if the queue is full.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Busy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(Busy);
                }
                let _waiting = Waiting(&self.waiting);
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed")
            }
        };
        // The permit moves into the blocking task: a request dropped while
        // the hash runs does not free the slot before the CPU does.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "a credential hash task failed");
            Busy
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_secret_verifies_against_its_own_hash_only() {
        let stored = hash_secret("cs_right");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify_secret("cs_right", &stored));
        assert!(!verify_secret("cs_wrong", &stored));
        assert_ne!(
            hash_secret("cs_right"),
            stored,
            "every hash has its own salt"
        );
        assert!(!verify_secret("cs_right", "not a phc string"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_beyond_the_running_and_queued_bound_are_refused_at_once() {
        let gate = Arc::new(HashGate::new(1, 1));
        let (release, held) = mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let first = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.run(move || {
                    started.send(()).unwrap();
                    held.recv().unwrap();
                    1
                })
                .await
            }
        });
        running.await.unwrap();
        assert_eq!(gate.permits.available_permits(), 0);
        let second = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(|| 2).await }
        });
        // The second caller is queued; wait until it is counted.
        while gate.waiting.load(Ordering::Acquire) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(gate.run(|| 3).await, Err(Busy), "a third is refused");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(second.await.unwrap(), Ok(2));
        assert_eq!(gate.run(|| 4).await, Ok(4), "the gate is free again");
    }
}
