//! The record of every outbound request and refusal of one call.

use std::sync::Arc;

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
    /// Time to the response headers, or to the failure, in milliseconds.
    pub duration_ms: u64,
    /// Request body size, in bytes, when known.
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
    /// What went wrong otherwise.
    pub error: Option<String>,
}

/// The records of one call, shared between the sender and whoever reports.
#[derive(Debug, Clone, Default)]
pub struct EgressLog(Arc<Mutex<Vec<EgressRecord>>>);

impl EgressLog {
    /// A copy of the records so far, in order.
    pub fn snapshot(&self) -> Vec<EgressRecord> {
        self.0.lock().clone()
    }

    pub(crate) fn push(&self, record: EgressRecord) -> usize {
        let mut records = self.0.lock();
        records.push(record);
        records.len() - 1
    }

    pub(crate) fn update(&self, index: usize, change: impl FnOnce(&mut EgressRecord)) {
        if let Some(record) = self.0.lock().get_mut(index) {
            change(record);
        }
    }
}
