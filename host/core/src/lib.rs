//! Vocabulary shared by every Sluice crate.
//!
//! - [`clock`]: time as a capability, so that a two-hour retry delay is tested
//!   in microseconds with a [`ManualClock`].
//! - [`id`]: prefixed, time-ordered identifiers.
//! - [`pattern`]: event-type names and subscription patterns (`order.*`).

pub mod clock;
pub mod id;
pub mod pattern;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock, UnixMillis};
pub use id::new_id;
pub use pattern::{EventTypePattern, PatternError, SYSTEM_PREFIX, validate_event_type};
