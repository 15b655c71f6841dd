//! Slack's Events API: turning verified requests into events.
//!
//! Slack signs each request with the app's signing secret (`v0`); the host
//! checks that signature and the freshness of its timestamp, as the
//! manifest's `[inbound.signature]` says, before the connector sees the
//! request, so the connector never holds the secret. The first request,
//! `url_verification`, is answered with its challenge; each
//! `event_callback` becomes one `slack.<event type>` platform event whose id
//! is Slack's `event_id`, so that Slack's redeliveries (`X-Slack-Retry-Num`)
//! create nothing new.

use serde_json::{Value, json};
use sluice_guest::time::format_rfc3339;
use sluice_guest::{
    EmittedEvent, InboundAccepted, InboundRejection, InboundRequest, InboundResponse, log,
};

/// Answers `request`, whose signature the host has verified.
pub fn handle(request: &InboundRequest) -> Result<InboundAccepted, InboundRejection> {
    if request.method != "POST" {
        return Err(InboundRejection::new(
            405,
            format!(
                "Slack sends Events API requests with POST, not {}",
                request.method
            ),
        ));
    }
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

    fn request(body: &str) -> InboundRequest {
        InboundRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn rejection(result: Result<InboundAccepted, InboundRejection>) -> InboundRejection {
        match result {
            Err(rejection) => rejection,
            Ok(accepted) => panic!("expected a rejection, got {accepted:?}"),
        }
    }

    const CALLBACK: &str = r#"{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev08MFMKH6J","event_time":1531420600,"event":{"type":"app_mention","user":"U1","text":"<@U0> hi","channel":"C1","ts":"1531420600.000100"}}"#;

    #[test]
    fn url_verification_is_answered_with_the_challenge_and_no_events() {
        let body = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let accepted = handle(&request(body)).unwrap();
        assert_eq!(accepted.response.status, 200);
        assert_eq!(
            accepted.response.body,
            b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        );
        assert!(accepted.events.is_empty());
    }

    #[test]
    fn event_callbacks_become_slack_events_keyed_by_event_id() {
        let accepted = handle(&request(CALLBACK)).unwrap();
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
    fn callbacks_missing_their_parts_are_refused_naming_them() {
        for (body, missing) in [
            (
                r#"{"type":"event_callback","event":{"type":"message"}}"#,
                "event_id",
            ),
            (
                r#"{"type":"event_callback","event_id":"Ev1"}"#,
                "event object",
            ),
            (
                r#"{"type":"event_callback","event_id":"Ev1","event":{}}"#,
                "event type",
            ),
        ] {
            let rejection = rejection(handle(&request(body)));
            assert_eq!(rejection.status, 400);
            assert!(rejection.reason.contains(missing), "{}", rejection.reason);
        }
    }

    #[test]
    fn other_methods_are_refused_with_405() {
        let mut request = request(CALLBACK);
        request.method = "GET".into();
        assert_eq!(rejection(handle(&request)).status, 405);
    }

    #[test]
    fn a_body_that_is_not_json_is_refused_with_400() {
        assert_eq!(rejection(handle(&request("not json"))).status, 400);
    }

    #[test]
    fn event_types_are_made_valid() {
        assert_eq!(event_type("message"), "slack.message");
        assert_eq!(event_type("Team.Join"), "slack.team_join");
    }
}
