//! `last_used_at` without a write per request: uses are noted in memory (the
//! latest time per credential) and written in one transaction per flush.
//! A crash loses at most one flush interval of `last_used_at` precision,
//! never a credential.

use std::collections::HashMap;

use parking_lot::Mutex;
use sluice_core::UnixMillis;

/// Uses noted since the last flush.
#[derive(Debug, Default)]
pub(crate) struct UsageLog {
    pending: Mutex<HashMap<String, UnixMillis>>,
}

impl UsageLog {
    /// Notes that credential `id` was accepted at `at`.
    pub(crate) fn note(&self, id: &str, at: UnixMillis) {
        let mut pending = self.pending.lock();
        match pending.get_mut(id) {
            Some(latest) => *latest = (*latest).max(at),
            None => {
                pending.insert(id.to_owned(), at);
            }
        }
    }

    /// Takes what was noted, to be written.
    pub(crate) fn take(&self) -> Vec<(String, UnixMillis)> {
        let mut uses: Vec<_> = std::mem::take(&mut *self.pending.lock())
            .into_iter()
            .collect();
        uses.sort();
        uses
    }

    /// Puts back uses whose write failed, unless newer ones were noted.
    pub(crate) fn restore(&self, uses: Vec<(String, UnixMillis)>) {
        for (id, at) in uses {
            self.note(&id, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_uses_become_one_latest_time_per_credential() {
        let log = UsageLog::default();
        for at in [5, 9, 7] {
            log.note("crd_a", at);
        }
        log.note("crd_b", 3);
        assert_eq!(log.take(), vec![("crd_a".into(), 9), ("crd_b".into(), 3)]);
        assert!(log.take().is_empty());
        log.note("crd_a", 12);
        log.restore(vec![("crd_a".into(), 9)]);
        assert_eq!(log.take(), vec![("crd_a".into(), 12)]);
    }
}
