//! Running a store's connector configurations.
//!
//! The runtime knows components and capabilities; storage knows
//! configurations and their sealed credentials. This crate joins them:
//! [`call_context`] turns a stored configuration into the context of one
//! call, with credentials opened from storage and state kept in the
//! database, and [`install_directory`] loads the connectors bundled with the
//! service into the live catalog.

mod bundled;
mod capabilities;

pub use bundled::install_directory;
pub use capabilities::{DbState, StoredCredentials, call_context, wit_event};
