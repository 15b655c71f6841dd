//! Posting a message and reading Slack's answer.
//!
//! Incoming webhooks answer `200 ok` in plain text, and errors as a status
//! with a plain-text code (`404 channel_not_found`). `chat.postMessage`
//! answers HTTP 200 for success and failure alike, with
//! `{"ok": true, "ts": ...}` or `{"ok": false, "error": "<code>"}`. Both
//! answer 429 with `Retry-After` when rate limited.

use serde::Deserialize;
use sluice_guest::http::{HttpError, Request, Response};
use sluice_guest::{DeliveryOutcome, RemoteError};

use crate::blocks::Message;
use crate::destination::Destination;
use crate::slack_errors::{self, ErrorClass};

/// The Web API method that posts a message as the bot.
pub const POST_MESSAGE_URL: &str = "https://slack.com/api/chat.postMessage";

/// Where an incoming-webhook message is sent: the host replaces the path
/// with the one of the configuration's webhook URL, which the connector
/// never sees.
pub const WEBHOOK_ORIGIN: &str = "https://hooks.slack.com/";

/// Posts `message` to `destination` and says how it went; `now_ms` is the
/// invocation's time, for `Retry-After` dates.
pub fn send(destination: &Destination, message: &Message, now_ms: u64) -> DeliveryOutcome {
    let request = match destination {
        Destination::Webhook => Request::post(WEBHOOK_ORIGIN).json(message),
        Destination::Bot { channel } => {
            Request::post(POST_MESSAGE_URL).json(&message.to_channel(channel))
        }
    };
    match (
        request.authenticated(destination.credential()).send(),
        destination,
    ) {
        (Ok(response), Destination::Webhook) => webhook_outcome(&response, now_ms),
        (Ok(response), Destination::Bot { .. }) => api_outcome(&response, now_ms),
        (Err(error), _) => transport_failure(&error),
    }
}

/// The outcome of an incoming-webhook answer.
fn webhook_outcome(response: &Response, now_ms: u64) -> DeliveryOutcome {
    let status = response.status;
    let text = response.text();
    let body = text.trim();
    let code = webhook_error_code(body);
    let code = code.as_deref();
    let mut remote = RemoteError::http(status).with_message(body);
    if let Some(code) = code {
        remote = remote.with_code(code);
    }
    let retry_after = response.retry_after(now_ms);
    match (status, code) {
        (200..=299, _) => DeliveryOutcome::delivered(None),
        (429, _) => DeliveryOutcome::retry("Slack is rate limiting this webhook", retry_after)
            .with_remote(remote),
        (500..=599, _) => {
            DeliveryOutcome::retry(format!("Slack answered HTTP {status}"), retry_after)
                .with_remote(remote)
        }
        (_, Some(code)) => outcome_for_code(code, remote, retry_after),
        (_, None) => {
            DeliveryOutcome::failed(format!("Slack answered HTTP {status}")).with_remote(remote)
        }
    }
}

/// Slack's error code in an incoming-webhook answer: the plain-text body
/// (`channel_not_found`), or the `error` of the JSON body Slack sends with a
/// rate limit (`{"ok":false,"error":"rate_limited"}`).
fn webhook_error_code(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorAnswer {
        error: String,
    }
    if slack_errors::is_code(body) {
        return Some(body.to_owned());
    }
    serde_json::from_str::<ErrorAnswer>(body)
        .ok()
        .map(|answer| answer.error)
        .filter(|code| slack_errors::is_code(code))
}

/// A Web API answer; only what the connector reads.
#[derive(Debug, Deserialize)]
struct ApiAnswer {
    ok: bool,
    error: Option<String>,
    ts: Option<String>,
    response_metadata: Option<ResponseMetadata>,
}

#[derive(Debug, Deserialize)]
struct ResponseMetadata {
    #[serde(default)]
    messages: Vec<String>,
}

/// The outcome of a `chat.postMessage` answer.
fn api_outcome(response: &Response, now_ms: u64) -> DeliveryOutcome {
    let status = response.status;
    let answer: Option<ApiAnswer> = response.json().ok();
    let details = answer
        .as_ref()
        .and_then(|a| a.response_metadata.as_ref())
        .map(|m| m.messages.join("; "))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| response.text().into_owned());
    let code = answer.as_ref().and_then(|a| a.error.clone());
    let mut remote = RemoteError::http(status).with_message(&details);
    if let Some(code) = &code {
        remote = remote.with_code(code);
    }
    let retry_after = response.retry_after(now_ms);
    match (status, answer, code) {
        (429, _, _) => {
            DeliveryOutcome::retry("Slack is rate limiting chat.postMessage", retry_after)
                .with_remote(remote)
        }
        (500..=599, _, _) => {
            DeliveryOutcome::retry(format!("Slack answered HTTP {status}"), retry_after)
                .with_remote(remote)
        }
        (200..=299, Some(ApiAnswer { ok: true, ts, .. }), _) => DeliveryOutcome::delivered(ts),
        (_, _, Some(code)) => outcome_for_code(&code, remote, retry_after),
        (200..=299, _, None) => DeliveryOutcome::retry(
            "Slack answered chat.postMessage with something other than a Web API answer",
            None,
        )
        .with_remote(remote),
        (_, _, None) => {
            DeliveryOutcome::failed(format!("Slack answered HTTP {status}")).with_remote(remote)
        }
    }
}

/// The outcome for Slack error `code`, known or not.
fn outcome_for_code(code: &str, remote: RemoteError, retry_after: Option<u32>) -> DeliveryOutcome {
    match slack_errors::classify(code) {
        Some(ErrorClass::Permanent(hint)) => {
            DeliveryOutcome::failed(format!("Slack refused the message: {hint} ({code})"))
        }
        Some(ErrorClass::Transient) => DeliveryOutcome::retry(
            format!("Slack could not post the message ({code})"),
            retry_after,
        ),
        None => DeliveryOutcome::failed(format!("Slack refused the message with error {code}")),
    }
    .with_remote(remote)
}

/// The outcome when no answer came back.
fn transport_failure(error: &HttpError) -> DeliveryOutcome {
    if error.is_retryable() {
        DeliveryOutcome::retry(format!("could not reach Slack: {error}"), None)
    } else if error.is_refused() {
        DeliveryOutcome::failed(format!(
            "Sluice refused to send the message to Slack: {error}"
        ))
    } else {
        DeliveryOutcome::failed(format!("the request to Slack failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use sluice_guest::http::HttpErrorKind;
    use sluice_guest::types::{Delivered, PermanentFailure, RetryLater};

    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response::new(status, headers, body)
    }

    fn failure(outcome: DeliveryOutcome) -> PermanentFailure {
        match outcome {
            DeliveryOutcome::Failed(failure) => failure,
            other => panic!("expected a permanent failure, got {other:?}"),
        }
    }

    fn delivered(outcome: DeliveryOutcome) -> Delivered {
        match outcome {
            DeliveryOutcome::Delivered(delivered) => delivered,
            other => panic!("expected delivered, got {other:?}"),
        }
    }

    fn retry(outcome: DeliveryOutcome) -> RetryLater {
        match outcome {
            DeliveryOutcome::Retry(retry) => retry,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn webhook_ok_is_delivered_without_an_id() {
        let delivered = delivered(webhook_outcome(&response(200, &[], "ok"), 0));
        assert_eq!(delivered.external_id, None);
    }

    #[test]
    fn webhook_429_retries_after_retry_after() {
        let retry = retry(webhook_outcome(
            &response(429, &[("retry-after", "7")], "rate_limited"),
            0,
        ));
        assert_eq!(retry.after_seconds, Some(7));
        assert_eq!(retry.remote.unwrap().status, Some(429));
    }

    #[test]
    fn webhook_429_reads_the_code_from_slacks_json_answer() {
        let body = r#"{"ok":false,"error":"rate_limited","retry_after":7}"#;
        let retry = retry(webhook_outcome(
            &response(429, &[("retry-after", "7")], body),
            0,
        ));
        let remote = retry.remote.unwrap();
        assert_eq!(remote.code.as_deref(), Some("rate_limited"));
        assert_eq!(remote.message.as_deref(), Some(body));
    }

    #[test]
    fn webhook_5xx_retries() {
        let retry = retry(webhook_outcome(&response(500, &[], "rollup_error"), 0));
        assert_eq!(retry.remote.unwrap().code.as_deref(), Some("rollup_error"));
    }

    #[test]
    fn webhook_error_codes_fail_permanently_with_slacks_code() {
        for (status, code) in [
            (400, "invalid_payload"),
            (400, "no_text"),
            (403, "action_prohibited"),
            (404, "channel_not_found"),
            (404, "no_service"),
            (410, "channel_is_archived"),
        ] {
            let failure = failure(webhook_outcome(&response(status, &[], code), 0));
            let remote = failure.remote.unwrap();
            assert_eq!(remote.status, Some(status));
            assert_eq!(remote.code.as_deref(), Some(code));
            assert_eq!(remote.message.as_deref(), Some(code));
            assert!(failure.reason.contains(code), "{}", failure.reason);
        }
    }

    #[test]
    fn webhook_errors_without_a_code_fail_with_the_status() {
        let failure = failure(webhook_outcome(&response(400, &[], "Bad Request"), 0));
        assert_eq!(failure.reason, "Slack answered HTTP 400");
        assert_eq!(failure.remote.unwrap().code, None);
    }

    #[test]
    fn api_ok_is_delivered_with_the_message_ts() {
        let body = r#"{"ok":true,"channel":"C123","ts":"1503435956.000247"}"#;
        let delivered = delivered(api_outcome(&response(200, &[], body), 0));
        assert_eq!(delivered.external_id.as_deref(), Some("1503435956.000247"));
    }

    #[test]
    fn api_errors_fail_permanently_with_slacks_code() {
        for code in [
            "invalid_auth",
            "not_authed",
            "token_revoked",
            "channel_not_found",
            "not_in_channel",
            "is_archived",
            "msg_too_long",
            "no_text",
            "missing_scope",
        ] {
            let body = format!(r#"{{"ok":false,"error":"{code}"}}"#);
            let failure = failure(api_outcome(&response(200, &[], &body), 0));
            let remote = failure.remote.unwrap();
            assert_eq!(remote.status, Some(200));
            assert_eq!(remote.code.as_deref(), Some(code));
        }
    }

    #[test]
    fn api_rate_limits_retry_after_retry_after() {
        let body = r#"{"ok":false,"error":"ratelimited"}"#;
        let retry = retry(api_outcome(
            &response(429, &[("retry-after", "30")], body),
            0,
        ));
        assert_eq!(retry.after_seconds, Some(30));
        assert_eq!(retry.remote.unwrap().code.as_deref(), Some("ratelimited"));
    }

    #[test]
    fn api_5xx_retries() {
        retry(api_outcome(&response(503, &[], "upstream down"), 0));
    }

    #[test]
    fn api_unknown_codes_fail_with_slacks_details() {
        let body = r#"{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] bad block"]}}"#;
        let failure = failure(api_outcome(&response(200, &[], body), 0));
        let remote = failure.remote.unwrap();
        assert_eq!(remote.code.as_deref(), Some("invalid_blocks"));
        assert_eq!(remote.message.as_deref(), Some("[ERROR] bad block"));
    }

    #[test]
    fn api_answers_that_are_not_json_retry() {
        retry(api_outcome(&response(200, &[], "<html>proxy</html>"), 0));
    }

    #[test]
    fn refusals_by_the_host_fail_and_network_errors_retry() {
        let refused = HttpError::new(HttpErrorKind::Refused, "ErrorCode::HttpRequestDenied");
        let failure = failure(transport_failure(&refused));
        assert!(
            failure.reason.starts_with("Sluice refused"),
            "{}",
            failure.reason
        );
        assert!(
            failure.reason.contains("HttpRequestDenied"),
            "{}",
            failure.reason
        );
        let timeout = HttpError::new(HttpErrorKind::Timeout, "ErrorCode::ConnectionTimeout");
        retry(transport_failure(&timeout));
    }
}
