//! Slack's Events API: verifying requests and turning them into events.
//!
//! Slack signs each request with the app's signing secret:
//! `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<raw body>")>`
//! with `X-Slack-Request-Timestamp: <timestamp>`. A request more than
//! [`TOLERANCE_SECONDS`] away from the host's clock is refused as a replay.
//! The first request, `url_verification`, is answered with its challenge;
//! each `event_callback` becomes one `slack.<event type>` platform event whose
//! id is Slack's `event_id`, so that Slack's redeliveries
//! (`X-Slack-Retry-Num`) create nothing new.

use serde_json::{Value, json};
use sluice_guest::time::format_rfc3339;
use sluice_guest::{
    EmittedEvent, InboundAccepted, InboundRejection, InboundRequest, InboundResponse, log,
    signature,
};

/// The credential holding the app's signing secret.
pub const SIGNING_SECRET: &str = "signing_secret";

/// How far a request's timestamp may be from now, in seconds.
pub const TOLERANCE_SECONDS: u64 = 300;

/// Verifies `request` with `signing_secret` at `now_ms` (the host's time)
/// and answers it.
pub fn handle(
    request: &InboundRequest,
    signing_secret: Option<&str>,
    now_ms: u64,
) -> Result<InboundAccepted, InboundRejection> {
    if request.method != "POST" {
        return Err(InboundRejection::new(
            405,
            format!(
                "Slack sends Events API requests with POST, not {}",
                request.method
            ),
        ));
    }
    let secret = signing_secret.ok_or_else(|| {
        InboundRejection::new(
            500,
            format!(
                "credential `{SIGNING_SECRET}` is not set, so Slack's requests cannot be verified"
            ),
        )
    })?;
    verify(request, secret, now_ms)?;
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|error| InboundRejection::new(400, format!("the body is not JSON: {error}")))?;
    match body.get("type").and_then(Value::as_str) {
        Some("url_verification") => url_verification(&body),
        Some("event_callback") => event_callback(&body, request),
        other => {
            log::info(
                "Events API request without events acknowledged",
                &[("type", other.unwrap_or("<none>"))],
            );
            Ok(InboundAccepted::new(InboundResponse::empty(200)))
        }
    }
}

/// Checks the timestamp's freshness and the `v0` signature.
fn verify(request: &InboundRequest, secret: &str, now_ms: u64) -> Result<(), InboundRejection> {
    let refuse = |reason: String| InboundRejection::new(401, reason);
    let timestamp = request
        .header("x-slack-request-timestamp")
        .ok_or_else(|| refuse("the X-Slack-Request-Timestamp header is missing".into()))?;
    let seconds: i64 = timestamp.trim().parse().map_err(|_| {
        refuse(format!(
            "X-Slack-Request-Timestamp {timestamp:?} is not a unix time"
        ))
    })?;
    if !signature::is_fresh(seconds, now_ms, TOLERANCE_SECONDS) {
        return Err(refuse(format!(
            "X-Slack-Request-Timestamp is more than {TOLERANCE_SECONDS} s away from now: \
             the request is stale or replayed"
        )));
    }
    let given = request
        .header("x-slack-signature")
        .ok_or_else(|| refuse("the X-Slack-Signature header is missing".into()))?;
    let hex = given
        .strip_prefix("v0=")
        .ok_or_else(|| refuse("X-Slack-Signature is not a v0 signature".into()))?;
    let parts: [&[u8]; 4] = [b"v0:", timestamp.as_bytes(), b":", &request.body];
    if signature::verify_hex(secret.as_bytes(), &parts, hex) {
        Ok(())
    } else {
        Err(refuse(
            "X-Slack-Signature does not match the request".into(),
        ))
    }
}

/// Answers the challenge Slack sends when the request URL is set.
fn url_verification(body: &Value) -> Result<InboundAccepted, InboundRejection> {
    let challenge = body
        .get("challenge")
        .and_then(Value::as_str)
        .ok_or_else(|| InboundRejection::new(400, "url_verification without a challenge"))?;
    Ok(InboundAccepted::new(InboundResponse::text(200, challenge)))
}

/// Turns an `event_callback` into a `slack.<type>` event.
fn event_callback(
    body: &Value,
    request: &InboundRequest,
) -> Result<InboundAccepted, InboundRejection> {
    let malformed =
        |what: &str| InboundRejection::new(400, format!("event_callback without {what}"));
    let event_id = body
        .get("event_id")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("an event_id"))?;
    let inner = body
        .get("event")
        .filter(|event| event.is_object())
        .ok_or_else(|| malformed("an event object"))?;
    let inner_type = inner
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed("an event type"))?;
    let event_time = body.get("event_time");
    let payload = json!({
        "team_id": body.get("team_id"),
        "api_app_id": body.get("api_app_id"),
        "event_id": event_id,
        "event_time": event_time,
        "event": inner,
    });
    let mut event = EmittedEvent::new(event_id, event_type(inner_type), &payload);
    if let Some(seconds) = event_time.and_then(Value::as_u64) {
        event = event.at(format_rfc3339(seconds));
    }
    if let Some(retry) = request.header("x-slack-retry-num") {
        let reason = request.header("x-slack-retry-reason").unwrap_or("unknown");
        log::info(
            "Slack redelivered an event",
            &[
                ("event_id", event_id),
                ("retry_num", retry),
                ("retry_reason", reason),
            ],
        );
    }
    Ok(InboundAccepted::new(InboundResponse::empty(200)).with_event(event))
}

/// `slack.<type>`, with anything an event-type segment cannot hold replaced
/// by `_`.
fn event_type(slack_type: &str) -> String {
    let segment: String = slack_type
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("slack.{segment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const NOW_SECONDS: u64 = 1_531_420_618;
    const NOW_MS: u64 = NOW_SECONDS * 1000;

    fn signed(body: &str, timestamp: u64) -> InboundRequest {
        let timestamp = timestamp.to_string();
        let mac = signature::hmac_sha256(
            SECRET.as_bytes(),
            &[b"v0:", timestamp.as_bytes(), b":", body.as_bytes()],
        );
        InboundRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![
                ("x-slack-request-timestamp".into(), timestamp),
                (
                    "x-slack-signature".into(),
                    format!("v0={}", hex_encode(&mac)),
                ),
                ("content-type".into(), "application/json".into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    fn hex_encode(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn rejection(result: Result<InboundAccepted, InboundRejection>) -> InboundRejection {
        match result {
            Err(rejection) => rejection,
            Ok(accepted) => panic!("expected a rejection, got {accepted:?}"),
        }
    }

    const CALLBACK: &str = r#"{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev08MFMKH6J","event_time":1531420600,"event":{"type":"app_mention","user":"U1","text":"<@U0> hi","channel":"C1","ts":"1531420600.000100"}}"#;

    #[test]
    fn slacks_documented_example_signature_verifies() {
        // From Slack's "Verifying requests from Slack" guide.
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let request = InboundRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![
                ("x-slack-request-timestamp".into(), "1531420618".into()),
                (
                    "x-slack-signature".into(),
                    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503".into(),
                ),
            ],
            body: body.as_bytes().to_vec(),
        };
        assert!(verify(&request, SECRET, NOW_MS).is_ok());
    }

    #[test]
    fn url_verification_is_answered_with_the_challenge_and_no_events() {
        let body = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let accepted = handle(&signed(body, NOW_SECONDS), Some(SECRET), NOW_MS).unwrap();
        assert_eq!(accepted.response.status, 200);
        assert_eq!(
            accepted.response.body,
            b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        );
        assert!(accepted.events.is_empty());
    }

    #[test]
    fn event_callbacks_become_slack_events_keyed_by_event_id() {
        let accepted = handle(&signed(CALLBACK, NOW_SECONDS), Some(SECRET), NOW_MS).unwrap();
        assert_eq!(accepted.response.status, 200);
        let [event] = accepted.events.as_slice() else {
            panic!("expected one event, got {:?}", accepted.events);
        };
        assert_eq!(event.id, "Ev08MFMKH6J");
        assert_eq!(event.event_type, "slack.app_mention");
        assert_eq!(event.occurred_at.as_deref(), Some("2018-07-12T18:36:40Z"));
        let payload: Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(payload["team_id"], "T1");
        assert_eq!(payload["api_app_id"], "A1");
        assert_eq!(payload["event_id"], "Ev08MFMKH6J");
        assert_eq!(payload["event_time"], 1_531_420_600);
        assert_eq!(payload["event"]["text"], "<@U0> hi");
        assert!(
            payload.get("token").is_none(),
            "the verification token must not leak into events"
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let mut request = signed(CALLBACK, NOW_SECONDS);
        request.body.extend_from_slice(b" ");
        let rejection = rejection(handle(&request, Some(SECRET), NOW_MS));
        assert_eq!(rejection.status, 401);
        assert!(
            rejection.reason.contains("does not match"),
            "{}",
            rejection.reason
        );
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let rejection = rejection(handle(
            &signed(CALLBACK, NOW_SECONDS),
            Some("other"),
            NOW_MS,
        ));
        assert_eq!(rejection.status, 401);
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        for timestamp in [
            NOW_SECONDS - TOLERANCE_SECONDS - 1,
            NOW_SECONDS + TOLERANCE_SECONDS + 1,
        ] {
            let rejection = rejection(handle(&signed(CALLBACK, timestamp), Some(SECRET), NOW_MS));
            assert_eq!(rejection.status, 401);
            assert!(rejection.reason.contains("stale"), "{}", rejection.reason);
        }
        assert!(
            handle(
                &signed(CALLBACK, NOW_SECONDS - TOLERANCE_SECONDS),
                Some(SECRET),
                NOW_MS
            )
            .is_ok()
        );
    }

    #[test]
    fn missing_headers_are_refused_naming_them() {
        for header in ["x-slack-request-timestamp", "x-slack-signature"] {
            let mut request = signed(CALLBACK, NOW_SECONDS);
            request.headers.retain(|(name, _)| name != header);
            let rejection = rejection(handle(&request, Some(SECRET), NOW_MS));
            assert_eq!(rejection.status, 401);
            assert!(
                rejection.reason.to_lowercase().contains(header),
                "{}",
                rejection.reason
            );
        }
    }

    #[test]
    fn other_methods_are_refused_with_405() {
        let mut request = signed(CALLBACK, NOW_SECONDS);
        request.method = "GET".into();
        assert_eq!(
            rejection(handle(&request, Some(SECRET), NOW_MS)).status,
            405
        );
    }

    #[test]
    fn a_signed_body_that_is_not_json_is_refused_with_400() {
        let rejection = rejection(handle(
            &signed("not json", NOW_SECONDS),
            Some(SECRET),
            NOW_MS,
        ));
        assert_eq!(rejection.status, 400);
    }

    #[test]
    fn without_a_signing_secret_nothing_is_accepted() {
        let rejection = rejection(handle(&signed(CALLBACK, NOW_SECONDS), None, NOW_MS));
        assert!(
            rejection.reason.contains("signing_secret"),
            "{}",
            rejection.reason
        );
    }

    #[test]
    fn event_types_are_made_valid() {
        assert_eq!(event_type("message"), "slack.message");
        assert_eq!(event_type("Team.Join"), "slack.team_join");
    }
}
