//! A test guest that misbehaves on purpose, so that the host's tests can show
//! each attack is contained and reported.
//!
//! `deliver` runs the attack named by setting `attack` (see [`attack`]) and
//! reports what happened through its outcome and log records: an attack the
//! host stops at the boundary comes back as a permanent failure whose reason
//! carries the host's `wasi:http` error code (`ErrorCode::HttpRequestDenied`,
//! `ErrorCode::DestinationIpProhibited`, ...); a probe of ambient authority
//! comes back as delivered with what it saw in the external id. Loops,
//! memory growth and panics never return: the host must end them.
//! `test-connection` always answers ok.

mod ambient;
mod attack;
mod egress;
mod exhaustion;

use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InvocationContext, log,
};

use crate::attack::Attack;

struct Hostile;

sluice_guest::connector!(Hostile, worlds: [delivery]);

impl Deliverer for Hostile {
    fn deliver(context: InvocationContext, _event: Event) -> DeliveryOutcome {
        let name = match context.require_setting("attack") {
            Ok(name) => name,
            Err(missing) => return DeliveryOutcome::failed(missing.to_string()),
        };
        let Some(attack) = Attack::parse(name) else {
            return DeliveryOutcome::failed(format!(
                "setting `attack` names no known attack: {name:?}"
            ));
        };
        log::info("hostile attack starting", &[("attack", name)]);
        attack.run(&context)
    }
}

impl Connection for Hostile {
    fn test_connection(_context: InvocationContext) -> ConnectionCheck {
        ConnectionCheck::ok("The hostile guest misbehaves only when delivering.")
    }
}
