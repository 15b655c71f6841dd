//! An append-only, ordered log that tests can wait on.
//!
//! Fakes append what they observe (requests, posted messages); tests read a
//! snapshot or wait until a condition holds. Waiting is driven by a
//! [`Notify`] woken on every append, never by sleeping in a loop.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// A wait on a [`Journal`] gave up before its condition held.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waited {waited:?} and saw {seen} entries without the condition holding")]
pub struct WaitTimeout {
    /// How long the wait lasted.
    pub waited: Duration,
    /// How many entries the journal held when the wait gave up.
    pub seen: usize,
}

/// An ordered log of `T`, cheap to clone (clones share the log).
pub struct Journal<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    entries: Mutex<Vec<T>>,
    appended: Notify,
}

impl<T> Clone for Journal<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Default for Journal<T> {
    fn default() -> Self {
        Self {
            shared: Arc::new(Shared {
                entries: Mutex::new(Vec::new()),
                appended: Notify::new(),
            }),
        }
    }
}

impl<T: Clone> Journal<T> {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `entry` and wakes every waiter.
    pub fn push(&self, entry: T) {
        self.shared.entries.lock().push(entry);
        self.shared.appended.notify_waiters();
    }

    /// A copy of every entry so far, oldest first.
    pub fn entries(&self) -> Vec<T> {
        self.shared.entries.lock().clone()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.shared.entries.lock().len()
    }

    /// Whether nothing has been appended yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least `count` entries exist and returns all of them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Result<Vec<T>, WaitTimeout> {
        self.wait_until(|entries| entries.len() >= count, timeout)
            .await
    }

    /// Waits until `done` holds for the entries and returns them.
    pub async fn wait_until(
        &self,
        done: impl Fn(&[T]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<T>, WaitTimeout> {
        let wait = async {
            loop {
                // Register interest before looking, so an append between the
                // look and the await still wakes this task.
                let appended = self.shared.appended.notified();
                let mut appended = std::pin::pin!(appended);
                appended.as_mut().enable();
                {
                    let entries = self.shared.entries.lock();
                    if done(&entries) {
                        return entries.clone();
                    }
                }
                appended.await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| WaitTimeout {
                waited: timeout,
                seen: self.len(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_for_returns_at_once_when_enough_entries_exist() {
        let journal = Journal::new();
        journal.push(1);
        journal.push(2);
        let entries = journal.wait_for(2, Duration::ZERO).await.unwrap();
        assert_eq!(entries, vec![1, 2]);
    }

    #[tokio::test]
    async fn wait_for_wakes_on_a_later_append() {
        let journal = Journal::new();
        let waiter = tokio::spawn({
            let journal = journal.clone();
            async move { journal.wait_for(2, Duration::from_secs(5)).await }
        });
        journal.push("a");
        tokio::task::yield_now().await;
        journal.push("b");
        assert_eq!(waiter.await.unwrap().unwrap(), vec!["a", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_times_out_reporting_what_it_saw() {
        let journal = Journal::new();
        journal.push(());
        let err = journal
            .wait_for(3, Duration::from_millis(250))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            WaitTimeout {
                waited: Duration::from_millis(250),
                seen: 1
            }
        );
    }

    #[tokio::test]
    async fn wait_until_checks_the_condition_on_the_entries() {
        let journal = Journal::new();
        let waiter = tokio::spawn({
            let journal = journal.clone();
            async move {
                journal
                    .wait_until(|seen| seen.contains(&"done"), Duration::from_secs(5))
                    .await
            }
        });
        journal.push("working");
        journal.push("done");
        assert_eq!(waiter.await.unwrap().unwrap(), vec!["working", "done"]);
    }
}
