//! A test guest for the conformance kit: a delivery connector that follows
//! the contract, except for the one flaw its setting `flaw` names, so that
//! the kit's tests can show each kind of wrong answer is caught.
//!
//! `deliver` POSTs the event's payload to setting `endpoint`, authenticated
//! by the host with credential `api_key`, and maps the answer: 2xx
//! delivered, 429 and 5xx retry (honouring `Retry-After`), other statuses
//! failed with the remote's status; transport errors retry, refusals fail.
//! The flaws:
//!
//! - `delivered-on-5xx`: a 5xx answer is reported as delivered, so the
//!   platform would drop an event the remote never took;
//! - `trap-on-malformed-event`: the payload is parsed with `expect`, so a
//!   payload that is not JSON, or `{}`, traps instead of failing.
//!
//! `test-connection` always answers ok.

use sluice_guest::http::Request;
use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InvocationContext, RemoteError,
};

/// The credential the host applies to every request.
const API_KEY: &str = "api_key";

struct Nonconforming;

sluice_guest::connector!(Nonconforming, worlds: [delivery]);

/// Which rule of the contract the guest breaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    DeliveredOn5xx,
    TrapOnMalformedEvent,
}

impl Flaw {
    fn of(context: &InvocationContext) -> Result<Self, String> {
        match context.setting("flaw").unwrap_or("none") {
            "none" => Ok(Self::None),
            "delivered-on-5xx" => Ok(Self::DeliveredOn5xx),
            "trap-on-malformed-event" => Ok(Self::TrapOnMalformedEvent),
            other => Err(format!("setting `flaw` names no known flaw: {other:?}")),
        }
    }
}

impl Deliverer for Nonconforming {
    fn deliver(context: InvocationContext, event: Event) -> DeliveryOutcome {
        let flaw = match Flaw::of(&context) {
            Ok(flaw) => flaw,
            Err(problem) => return DeliveryOutcome::failed(problem),
        };
        if flaw == Flaw::TrapOnMalformedEvent {
            let payload: serde_json::Value =
                serde_json::from_str(&event.payload).expect("the payload is JSON");
            assert!(
                payload.as_object().is_some_and(|fields| !fields.is_empty()),
                "the payload has fields"
            );
        }
        let endpoint = match context.require_setting("endpoint") {
            Ok(endpoint) => endpoint,
            Err(missing) => return DeliveryOutcome::failed(missing.to_string()),
        };
        let sent = Request::post(endpoint)
            .authenticated(API_KEY)
            .header("idempotency-key", &event.id)
            .json_raw(event.payload)
            .send();
        let response = match sent {
            Ok(response) => response,
            Err(error) => return error.into(),
        };
        let status = response.status;
        let remote = RemoteError::http(status).with_message(&response.text());
        match status {
            200..=299 => DeliveryOutcome::delivered(None),
            500..=599 if flaw == Flaw::DeliveredOn5xx => DeliveryOutcome::delivered(None),
            429 | 500..=599 => DeliveryOutcome::retry(
                format!("the remote answered HTTP {status}"),
                response.retry_after(context.now_ms),
            )
            .with_remote(remote),
            _ => DeliveryOutcome::failed(format!("the remote answered HTTP {status}"))
                .with_remote(remote),
        }
    }
}

impl Connection for Nonconforming {
    fn test_connection(_context: InvocationContext) -> ConnectionCheck {
        ConnectionCheck::ok("The nonconforming guest has nothing to check.")
    }
}
