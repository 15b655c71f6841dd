//! Structured, levelled logging into the invocation report.
//!
//! ```ignore
//! sluice_guest::log::info("message posted", &[("channel", channel), ("ts", &ts)]);
//! ```
//!
//! The host bounds the number and size of records kept per invocation. Never
//! log a credential.

use crate::bindings::sluice::connector::log;

pub use log::Level;

/// Records `message` at `level` with structured `fields`.
pub fn write(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    log::write(level, message, &fields);
}

/// Records `message` at [`Level::Trace`].
pub fn trace(message: &str, fields: &[(&str, &str)]) {
    write(Level::Trace, message, fields);
}

/// Records `message` at [`Level::Debug`].
pub fn debug(message: &str, fields: &[(&str, &str)]) {
    write(Level::Debug, message, fields);
}

/// Records `message` at [`Level::Info`].
pub fn info(message: &str, fields: &[(&str, &str)]) {
    write(Level::Info, message, fields);
}

/// Records `message` at [`Level::Warn`].
pub fn warn(message: &str, fields: &[(&str, &str)]) {
    write(Level::Warn, message, fields);
}

/// Records `message` at [`Level::Error`].
pub fn error(message: &str, fields: &[(&str, &str)]) {
    write(Level::Error, message, fields);
}
