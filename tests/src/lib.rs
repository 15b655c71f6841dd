//! Test support for Sluice: fake external APIs, end-to-end tests and benchmarks.
//!
//! The connectors under test are the wasm components that ship. The host's
//! egress settings map real hostnames (`slack.com:443`, ...) to a fake's local
//! address and trust an extra CA, so a connector talks TLS to what it believes
//! is the real service. The pieces every fake shares:
//!
//! - [`tls`]: a [`TestCa`] generated at test time that issues certificates for
//!   the real hostnames.
//! - [`server`]: serves an axum router over TLS or plain HTTP on `127.0.0.1:0`
//!   and yields the egress override map.
//! - [`hosts`]: one listener, several hostnames, routed by `Host`.
//! - [`recorder`] and [`journal`]: every request a fake receives, in order,
//!   awaitable without polling.
//! - [`failures`]: scripted failures for the next N matching requests, in the
//!   vocabulary of each fake's real API.
//! - [`rate_limit`]: the token bucket fakes throttle with, on an injectable
//!   clock.
//!
//! The fakes themselves live under [`fakes`]; [`browser`] drives a headless
//! Chromium for the console's tests; [`guests`] finds the built
//! components (connectors and test guests); [`service`] starts the whole
//! service in-process on an injected clock, and [`sink`] receives its
//! webhooks; [`bus`] gives a test its own streams on the real NATS
//! JetStream server, and [`private_postgres`] a PostgreSQL server it may
//! stop. [`packages`] makes signed connector packages and the trust
//! policy that accepts them. [`polyglot`] finds the connectors written in
//! other languages and holds the suite the Slack webhook connector runs in
//! each of them.

pub mod browser;
pub mod bus;
pub mod failures;
pub mod fakes;
pub mod guests;
pub mod hosts;
pub mod journal;
pub mod oci_registry;
pub mod packages;
pub mod polyglot;
pub mod private_postgres;
pub mod process;
pub mod rate_limit;
pub mod recorder;
pub mod sandbox;
pub mod server;
pub mod service;
pub mod sink;
pub mod tls;

pub use failures::{FailureScript, RequestMatch};
pub use journal::{Journal, WaitTimeout};
pub use rate_limit::{RateLimit, RateLimiter, RetryAfter};
pub use recorder::{RecordedRequest, RequestRecorder};
pub use server::{FakeServer, StartError};
pub use tls::{IssuedCertificate, TestCa, TestCaError};
