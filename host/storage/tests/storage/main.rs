//! The storage suite. Every test runs twice, on SQLite and on PostgreSQL
//! (see `support`), because the two backends must behave the same.

#[macro_use]
mod support;

mod admin_tokens;
mod bus;
mod connectors;
mod credentials;
mod deliveries;
mod fairness;
mod ingest;
mod queue;
mod registry;
mod rekey;
mod retention;
mod state;
mod sync;
mod tenancy;
mod throughput;
mod vacuum;
mod webhooks;
