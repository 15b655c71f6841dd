//! The {{id}} connector: POSTs each event's payload as JSON to setting `url`
//! and maps the answer onto a delivery outcome.

use sluice_guest::auth::{self, AuthError};
use sluice_guest::http::{Request, Response};
use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InvocationContext, RemoteError,
};

/// The credential the host applies, when the configuration sets it.
const API_KEY: &str = "api_key";

struct Connector;

sluice_guest::connector!(Connector, worlds: [delivery]);

impl Deliverer for Connector {
    fn deliver(context: InvocationContext, event: Event) -> DeliveryOutcome {
        let url = match context.require_setting("url") {
            Ok(url) => url,
            Err(missing) => return DeliveryOutcome::failed(missing.to_string()),
        };
        let mut request = Request::post(url)
            // The same event may be delivered again: the receiver can
            // recognise it by this key.
            .header("idempotency-key", &event.id)
            .header("x-event-type", &event.event_type)
            .json_raw(event.payload);
        match auth::request_header(API_KEY) {
            Ok(_) => request = request.authenticated(API_KEY),
            Err(AuthError::NotConfigured(_)) => {}
            Err(error) => return DeliveryOutcome::failed(error.to_string()),
        }
        match request.send() {
            Ok(response) => outcome(&response, context.now_ms),
            Err(error) => error.into(),
        }
    }
}

impl Connection for Connector {
    fn test_connection(context: InvocationContext) -> ConnectionCheck {
        match context.require_setting("url") {
            Ok(url) => ConnectionCheck::ok(format!("Events will be posted to {url}.")),
            Err(missing) => ConnectionCheck::misconfigured(missing.to_string()),
        }
    }
}

/// The outcome of the endpoint's answer; `now_ms` dates `Retry-After`.
fn outcome(response: &Response, now_ms: u64) -> DeliveryOutcome {
    let status = response.status;
    let remote = RemoteError::http(status).with_message(&response.text());
    match status {
        200..=299 => DeliveryOutcome::delivered(None),
        408 | 429 | 500..=599 => DeliveryOutcome::retry(
            format!("the endpoint answered HTTP {status}"),
            response.retry_after(now_ms),
        )
        .with_remote(remote),
        _ => DeliveryOutcome::failed(format!("the endpoint answered HTTP {status}"))
            .with_remote(remote),
    }
}

#[cfg(test)]
mod tests {
    use sluice_guest::types::{PermanentFailure, RetryLater};

    use super::*;

    fn retry(outcome: DeliveryOutcome) -> RetryLater {
        match outcome {
            DeliveryOutcome::Retry(retry) => retry,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    fn failed(outcome: DeliveryOutcome) -> PermanentFailure {
        match outcome {
            DeliveryOutcome::Failed(failure) => failure,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_2xx_is_delivered() {
        let answer = Response::new(202, &[], "accepted");
        assert!(matches!(outcome(&answer, 0), DeliveryOutcome::Delivered(_)));
    }

    #[test]
    fn a_429_retries_after_the_seconds_it_asks_for() {
        let answer = Response::new(429, &[("retry-after", "7")], "slow down");
        assert_eq!(retry(outcome(&answer, 0)).after_seconds, Some(7));
    }

    #[test]
    fn a_5xx_retries_and_a_4xx_fails_with_the_remote_error() {
        retry(outcome(&Response::new(503, &[], ""), 0));
        let failure = failed(outcome(&Response::new(422, &[], "bad field"), 0));
        let remote = failure.remote.unwrap();
        assert_eq!(remote.status, Some(422));
        assert_eq!(remote.message.as_deref(), Some("bad field"));
    }
}
