//! Delivery: from a due row in the queue to a recorded attempt.
//!
//! - [`RetryPolicy`]: when a failed delivery is tried again, and when it is
//!   dead-lettered.
//! - [`Deliverer`]: one attempt, to a webhook (signed POST through the
//!   egress policy) or through a connector (a sandboxed call), and the
//!   verdict it leads to.
//! - [`DeliveryWorkers`]: the claim loop, bounded concurrency overall and per
//!   target, batched recording, graceful shutdown.
//! - [`system_events`]: `webhook.delivered` and `webhook.dead_lettered`.

mod attempt;
mod config;
mod pool;
mod retry;
pub mod system_events;
mod targets;

pub use attempt::Deliverer;
pub use config::DeliveryConfig;
pub use pool::{DeliveryWorkers, Waker};
pub use retry::{NextStep, RetryPolicy};
pub use targets::TargetCache;
