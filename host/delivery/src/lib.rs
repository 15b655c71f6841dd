//! Delivery: from a due row in the queue to a recorded attempt.
//!
//! - [`RetryPolicy`]: when a failed delivery is tried again, and when it is
//!   dead-lettered.
//! - [`Deliverer`]: one attempt, to a webhook (signed POST through the
//!   egress policy) or through a connector (a sandboxed call), and the
//!   verdict it leads to.
//! - [`DeliveryWorkers`]: the fair claim loop (stores and targets take
//!   turns, a per-target cap over every node), batched recording of attempts
//!   and of what they say about their target's health, graceful shutdown.
//! - Per-target rate limits (send slots shared by the nodes), 429 pauses and
//!   circuit breakers ([`CircuitConfig`]).
//! - [`system_events`]: `webhook.delivered`, `webhook.dead_lettered` and the
//!   circuits' `webhook.circuit_opened`, `webhook.circuit_closed` and
//!   `webhook.endpoint_disabled`.

mod attempt;
mod config;
mod pool;
mod retry;
pub mod system_events;
mod target_caps;
mod targets;

pub use attempt::Deliverer;
pub use config::{CircuitConfig, DeliveryConfig};
pub use pool::{DeliveryWorkers, Waker};
pub use retry::{NextStep, RetryPolicy};
pub use targets::TargetCache;
