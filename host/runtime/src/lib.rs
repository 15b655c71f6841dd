//! The sandboxed connector runtime.
//!
//! A connector is a WebAssembly component implementing worlds of the
//! `sluice:connector` contract (see `wit/`). The [`Runtime`] compiles it once
//! (or loads the compiled artifact from its cache), pre-links it, and then
//! runs every call in a fresh instance:
//!
//! - **Time**: an epoch deadline (10 ms ticks) and a Tokio timeout around the
//!   whole call, so a guest stuck in a loop or waiting on the network stops.
//! - **Memory**: the pooling allocator plus a per-instance [`ResourceLimiter`]
//!   cap from the manifest, peak recorded.
//!   [`ResourceLimiter`]: wasmtime::ResourceLimiter
//! - **Fuel**: metered per call and reported.
//! - **No ambient authority**: WASI with no directories, environment,
//!   arguments or sockets; stdout and stderr go into bounded buffers.
//! - **Egress**: `wasi:http` requests go through [`sluice_egress`], limited to
//!   the manifest's origins and to public addresses.
//! - **Credentials**: applied by the host to requests going where the
//!   manifest binds them ([`sluice_auth`]); a component reads only those its
//!   manifest marks readable ([`Credentials`]).
//! - **State**: [`StateStore`] (bounded), scoped to one configuration.
//!
//! A trap, timeout or memory exhaustion ends that call only and comes back as
//! an [`InvocationFailure`] with an [`InvocationReport`].

pub mod bindings;
mod bounds;
mod cache;
mod call;
pub mod capabilities;
mod catalog;
mod clock;
mod config;
mod connector;
mod egress_hook;
mod host;
mod inspect;
mod limiter;
mod output;
mod report;
mod runtime;

pub use bindings::types;
pub use bounds::{CutString, GuestStringLimits};
pub use cache::{CompileSource, component_digest};
pub use call::CallContext;
pub use capabilities::{
    BackendError, Capabilities, Credentials, MemoryCredentials, MemoryState, StateLimits,
    StateRefusal, StateStore,
};
pub use catalog::Catalog;
pub use config::RuntimeConfig;
pub use connector::{LoadError, LoadedConnector, Offers};
pub use inspect::MemoryInspector;
pub use report::{Invocation, InvocationFailure, InvocationReport, LogLevel, LogRecord};
pub use runtime::{COMPONENT_FILE, Runtime};
