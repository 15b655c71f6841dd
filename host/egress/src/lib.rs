//! The outbound HTTP policy shared by connectors and webhooks.
//!
//! Every request a connector makes (through the `wasi:http` send hook) and
//! every webhook Sluice sends goes through an [`Egress`] client, which:
//!
//! 1. checks the origin (`scheme://host:port`) against the call's allowed
//!    origins ([`AllowList`], from the connector manifest; webhooks have
//!    none) and the call's request budget;
//! 2. resolves the host itself (the operator's `resolve` map first, which is
//!    trusted; then DNS), and refuses the request if any address falls in a
//!    forbidden range ([`forbidden_range`]: loopback, private, link-local,
//!    carrier-grade NAT, metadata, multicast, reserved, and IPv6 forms
//!    embedding such IPv4 addresses) unless an operator CIDR allows it;
//! 3. connects to exactly the address it checked (no second lookup, so no
//!    DNS rebinding) and verifies TLS against the real host name, trusting
//!    the web PKI plus the operator's extra CAs;
//! 4. bounds the connect time, the time to the response headers, silences
//!    while reading the body, and the body size;
//! 5. records every request and refusal in the call's [`EgressLog`].
//!
//! Connections are pooled per origin; a pooled connection is always one
//! that passed the checks.

mod address;
mod client;
mod connect;
mod error;
mod log;
pub mod origin;
mod resolve;
mod settings;

pub use address::{check_address, forbidden_range};
pub use client::{
    AppliedCredential, BodyError, CallScope, Egress, EgressConfigError, ResponseBody,
};
pub use connect::ConnectedAddress;
pub use error::{EgressError, Refusal, TimeoutPhase};
pub use log::{EgressLog, EgressRecord};
pub use origin::{AllowList, OriginError, OriginPattern, Scheme, origin_of};
pub use resolve::{Resolve, StaticResolver, SystemResolver};
pub use settings::EgressSettings;
