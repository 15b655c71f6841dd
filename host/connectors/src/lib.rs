//! Running a store's connector configurations.
//!
//! The runtime knows components and capabilities; storage knows
//! configurations and their sealed credentials. This crate joins them:
//! [`call_context`] turns a stored configuration into the context of one
//! call, with credentials opened from storage and state kept in the
//! database, and the [`Installer`] installs, activates and rolls back
//! connector versions (the bundled ones included) and keeps the live catalog
//! on the active versions.

mod capabilities;
mod installer;

pub use capabilities::{DbState, StoredCredentials, call_context, wit_event};
pub use installer::{
    BUNDLED_INSTALLER, BrokenConfiguration, Change, InstallError, InstallPolicy, Installer,
    Outcome, render_diff, spawn_watcher,
};
