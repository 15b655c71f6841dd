//! Fakes of the external services the bundled connectors talk to.
//!
//! Each fake is built from the shared harness: a [`FakeServer`] serving it
//! over TLS for the real hostnames, a [`FailureScript`] of the fake's own
//! failure enum, and [`RateLimiter`]s where the real service throttles.
//!
//! [`FakeServer`]: crate::server::FakeServer
//! [`FailureScript`]: crate::failures::FailureScript
//! [`RateLimiter`]: crate::rate_limit::RateLimiter

pub mod amazon;
pub mod ebay;
pub mod google;
pub mod money;
pub mod oauth;
pub mod slack;
pub mod spec;
