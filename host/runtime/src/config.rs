//! Operator settings of the runtime.

use std::path::PathBuf;

use serde::Deserialize;

use crate::bounds::GuestStringLimits;
use crate::capabilities::StateLimits;

/// How the runtime runs connectors. Every field has a default; the manifest
/// may ask for less time or memory than these ceilings, never more.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Directory of compiled artifacts; none compiles every component at load.
    pub cache_dir: Option<PathBuf>,
    /// Calls running at once; further calls wait for a slot (backpressure).
    pub max_concurrent_calls: u32,
    /// Ceiling on a call's linear memory, in MiB.
    pub max_memory_mib: u32,
    /// Ceiling on a call's duration, in milliseconds.
    pub max_timeout_ms: u32,
    /// Fuel given to each call; running out stops the call. Time is what the
    /// deadline limits; fuel is metered for the report and only a backstop,
    /// so the default lets a call run past the longest deadline.
    pub fuel_per_call: u64,
    /// Bytes of stdout and of stderr kept per call.
    pub output_limit_bytes: usize,
    /// Guest log records kept per call.
    pub max_log_records: usize,
    /// Longest guest log message kept, in bytes.
    pub max_log_message_bytes: usize,
    /// Bounds on each configuration's state.
    pub state: StateLimits,
    /// Bounds on the strings a connector returns (ids, reasons, messages).
    pub guest_strings: GuestStringLimits,
    /// Epoch tick, the granularity of time limits, in milliseconds.
    pub epoch_tick_ms: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_concurrent_calls: 128,
            max_memory_mib: 256,
            max_timeout_ms: 60_000,
            fuel_per_call: 2_000_000_000_000,
            output_limit_bytes: 64 * 1024,
            max_log_records: 100,
            max_log_message_bytes: 2_048,
            state: StateLimits::default(),
            guest_strings: GuestStringLimits::default(),
            epoch_tick_ms: 10,
        }
    }
}
