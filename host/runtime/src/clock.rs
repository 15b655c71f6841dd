//! The guest's `wasi:clocks/wall-clock`, driven by the injected clock so
//! that a connector's idea of "now" (token expiry, signature windows) is the
//! same as the host's, in production and in tests.

use std::time::Duration;

use sluice_core::SharedClock;
use wasmtime_wasi::HostWallClock;

/// A wall clock reading the host's [`sluice_core::Clock`].
pub(crate) struct GuestWallClock(pub SharedClock);

impl HostWallClock for GuestWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_ms()).unwrap_or(0))
    }
}
