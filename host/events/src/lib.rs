//! Event ingest.
//!
//! - [`parse_events`]: the envelope of `POST /v1/events` (one event or a
//!   batch), every problem named by its field.
//! - [`payload`]: the schemas of the platform's known event types
//!   (`docs/events.md`), validated on ingest.
//! - [`Ingestor`]: group commit of events from concurrent requests, sync
//!   and inbound webhooks into storage, where fan-out happens in the same
//!   transaction.
//! - [`fair_queue`]: the queue those requests wait in, fair across stores.

mod envelope;
pub mod fair_queue;
mod ingestor;
pub mod payload;

pub use envelope::{FieldError, MAX_BATCH, MAX_PAYLOAD_BYTES, check_event, parse_events};
pub use ingestor::{Ingestor, OnCommit};
