//! The record of every outbound request and refusal of one call.
//!
//! A request is recorded when it is sent, not when its answer arrives: a
//! call that returns, traps or times out while a request is in flight still
//! shows that request, marked as never answered.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde::Serialize;

/// One outbound request, or one refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EgressRecord {
    /// HTTP method.
    pub method: String,
    /// `scheme://host:port` asked for.
    pub origin: String,
    /// Path, without the query (which may carry secrets).
    pub path: String,
    /// Response status, when one arrived.
    pub status: Option<u16>,
    /// The address connected to, when known.
    pub address: Option<String>,
    /// Time to the response headers, or to the failure, in milliseconds;
    /// for a request never answered, the time it was in flight.
    pub duration_ms: u64,
    /// Request body bytes sent, counted as the body streams out; for a
    /// refused request, its declared size when known.
    pub request_bytes: u64,
    /// Response body bytes read so far.
    pub response_bytes: u64,
    /// The credential the host applied to the request (its key, never its
    /// value), when the connector asked the host to authenticate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Whether the host itself made the request, to obtain an access token
    /// for `credential`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub token_exchange: bool,
    /// Why the policy refused the request, if it did.
    pub refused: Option<String>,
    /// What went wrong otherwise, including "no answer" for a request whose
    /// response never arrived.
    pub error: Option<String>,
}

/// What [`EgressLog::close`] records for a request still in flight.
pub(crate) const CALL_ENDED: &str = "no answer: the call ended while the request was in flight";
/// What is recorded for a request whose sender stopped waiting for it.
pub(crate) const ABANDONED: &str = "no answer: the request was dropped before its answer arrived";

/// A record, and since when it waits for its answer if it still does.
#[derive(Debug)]
struct Entry {
    record: EgressRecord,
    in_flight_since: Option<Instant>,
}

impl Entry {
    /// The record as it stands; a request in flight says so, with `message`.
    fn current(&self, message: impl FnOnce(u64) -> String) -> EgressRecord {
        let mut record = self.record.clone();
        if let Some(since) = self.in_flight_since {
            let waited = since.elapsed().as_millis() as u64;
            record.duration_ms = waited;
            record.error = Some(message(waited));
        }
        record
    }
}

#[derive(Debug, Default)]
struct Records {
    entries: Vec<Entry>,
    /// Set by [`EgressLog::close`]: later changes are not recorded.
    closed: bool,
}

/// The records of one call, shared between the sender and whoever reports.
#[derive(Debug, Clone, Default)]
pub struct EgressLog(Arc<Mutex<Records>>);

impl EgressLog {
    /// A copy of the records so far, in order. A request still waiting for
    /// its answer has no status, the time it has waited as `duration_ms`,
    /// and an `error` saying it is in flight.
    pub fn snapshot(&self) -> Vec<EgressRecord> {
        let records = self.0.lock();
        records
            .entries
            .iter()
            .map(|entry| entry.current(|ms| format!("no answer yet: in flight for {ms} ms")))
            .collect()
    }

    /// The final records of a call that has ended: a request still waiting
    /// for its answer is recorded as never answered, and nothing that
    /// happens to a request afterwards changes the log.
    pub fn close(&self) -> Vec<EgressRecord> {
        let mut records = self.0.lock();
        records.closed = true;
        for entry in &mut records.entries {
            entry.record = entry.current(|_| CALL_ENDED.to_owned());
            entry.in_flight_since = None;
        }
        records.entries.iter().map(|e| e.record.clone()).collect()
    }

    /// Records a request that is finished already (a refusal).
    pub(crate) fn push(&self, record: EgressRecord) -> usize {
        self.push_entry(Entry {
            record,
            in_flight_since: None,
        })
    }

    /// Records a request sent at `since` whose answer has not arrived.
    pub(crate) fn push_in_flight(&self, record: EgressRecord, since: Instant) -> usize {
        self.push_entry(Entry {
            record,
            in_flight_since: Some(since),
        })
    }

    fn push_entry(&self, entry: Entry) -> usize {
        let mut records = self.0.lock();
        if records.closed {
            // The call's report is written: nothing more is recorded, and
            // the index names no entry.
            return usize::MAX;
        }
        records.entries.push(entry);
        records.entries.len() - 1
    }

    /// Changes record `index` (bytes streamed, for example).
    pub(crate) fn update(&self, index: usize, change: impl FnOnce(&mut EgressRecord)) {
        let mut records = self.0.lock();
        if records.closed {
            return;
        }
        if let Some(entry) = records.entries.get_mut(index) {
            change(&mut entry.record);
        }
    }

    /// Records how the request at `index` ended: it is no longer in flight.
    pub(crate) fn settle(&self, index: usize, change: impl FnOnce(&mut EgressRecord)) {
        let mut records = self.0.lock();
        if records.closed {
            return;
        }
        if let Some(entry) = records.entries.get_mut(index) {
            entry.in_flight_since = None;
            change(&mut entry.record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> EgressRecord {
        EgressRecord {
            method: "POST".into(),
            origin: "https://example.test:443".into(),
            path: path.into(),
            ..EgressRecord::default()
        }
    }

    #[test]
    fn a_request_in_flight_shows_in_a_snapshot_as_not_answered_yet() {
        let log = EgressLog::default();
        log.push_in_flight(request("/slow"), Instant::now());
        let [record] = <[_; 1]>::try_from(log.snapshot()).unwrap();
        assert_eq!(record.status, None);
        let error = record.error.unwrap();
        assert!(
            error.starts_with("no answer yet: in flight for "),
            "{error}"
        );
    }

    #[test]
    fn closing_records_requests_in_flight_as_unanswered_and_freezes_the_log() {
        let log = EgressLog::default();
        let answered = log.push_in_flight(request("/fast"), Instant::now());
        let pending = log.push_in_flight(request("/slow"), Instant::now());
        log.settle(answered, |r| r.status = Some(200));
        log.update(pending, |r| r.request_bytes = 10);

        let closed = log.close();
        assert_eq!(closed[0].status, Some(200));
        assert_eq!(closed[0].error, None);
        assert_eq!(closed[1].status, None);
        assert_eq!(closed[1].error.as_deref(), Some(CALL_ENDED));
        assert_eq!(closed[1].request_bytes, 10);

        // An answer arriving after the call ended changes nothing.
        log.settle(pending, |r| r.status = Some(200));
        log.update(pending, |r| r.request_bytes = 20);
        assert_eq!(log.snapshot(), closed);
    }
}
