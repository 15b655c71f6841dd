//! A test guest that does nothing: `deliver` answers delivered at once,
//! without any HTTP, reading no credential, state or setting, and
//! `test-connection` answers ok. A call into it costs only what the host
//! costs, so that the benchmark can set the runtime (fresh instance, limits,
//! capabilities, report) beside wasmtime's own floor (a fresh store,
//! instantiation from a pre-linked component and one call).

use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InvocationContext,
};

struct Minimal;

sluice_guest::connector!(Minimal, worlds: [delivery]);

impl Deliverer for Minimal {
    fn deliver(_context: InvocationContext, _event: Event) -> DeliveryOutcome {
        DeliveryOutcome::delivered(None)
    }
}

impl Connection for Minimal {
    fn test_connection(_context: InvocationContext) -> ConnectionCheck {
        ConnectionCheck::ok("The minimal guest has nothing to check.")
    }
}
