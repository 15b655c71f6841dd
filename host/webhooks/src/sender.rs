//! Sending one webhook attempt and classifying the answer.
//!
//! The request goes through the same egress policy as connectors (private
//! addresses refused unless the operator allows them, connection pinned to
//! the checked address, timeouts), without an origin allow-list: a
//! subscription names its own URL.
//!
//! Classification, following the Standard Webhooks recommendations:
//! 2xx delivered; 410 Gone disables the subscription; every other status
//! (3xx included: redirects are not followed), timeouts and connection
//! errors are retried, honouring `Retry-After`; a request the egress policy
//! refuses can never succeed and is not retried.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use sluice_egress::{Egress, EgressError};

use crate::secret::WebhookSecret;
use crate::signature::{SigningInput, sign};

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// A 2xx answer.
    Delivered,
    /// A 410 answer: the receiver wants no more deliveries.
    Gone,
    /// Any other answer or a transport failure: try again later.
    Retry,
    /// The egress policy refused the destination: retrying cannot help.
    Refused,
}

/// One attempt to send.
pub struct Outgoing<'a> {
    /// The subscription's URL.
    pub url: &'a str,
    /// The delivery id (`webhook-id`).
    pub delivery_id: &'a str,
    /// The event type (`X-Sluice-Event`).
    pub event_type: &'a str,
    /// The exact body.
    pub body: Bytes,
    /// The valid signing secrets, newest first.
    pub secrets: &'a [WebhookSecret],
    /// Unix seconds of this attempt (`webhook-timestamp`).
    pub timestamp: i64,
}

/// What happened, for the attempt log.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The verdict.
    pub classification: Classification,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// The headers sent (signatures are not secrets).
    pub request_headers: Vec<(String, String)>,
    /// The start of the response body, cut to the sender's limit.
    pub response_body: Option<String>,
    /// The delay the receiver asked for with `Retry-After`.
    pub retry_after: Option<Duration>,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

/// Sends webhooks through the egress policy.
#[derive(Clone)]
pub struct WebhookSender {
    egress: Egress,
    body_limit: usize,
}

impl WebhookSender {
    /// A sender keeping at most `body_limit` bytes of each response.
    pub fn new(egress: Egress, body_limit: usize) -> Self {
        Self { egress, body_limit }
    }

    /// Signs and sends one attempt.
    pub async fn send(&self, outgoing: Outgoing<'_>) -> Sent {
        let signed = sign(
            SigningInput {
                delivery_id: outgoing.delivery_id,
                event_type: outgoing.event_type,
                timestamp: outgoing.timestamp,
                body: &outgoing.body,
            },
            outgoing.secrets,
        );
        let mut request_headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "user-agent".to_owned(),
                concat!("Sluice/", env!("CARGO_PKG_VERSION")).to_owned(),
            ),
        ];
        request_headers.extend(signed.0.into_iter().map(|(n, v)| (n.to_owned(), v)));

        let mut sent = Sent {
            classification: Classification::Retry,
            status: None,
            request_headers,
            response_body: None,
            retry_after: None,
            error: None,
        };
        let mut builder = http::Request::post(outgoing.url);
        for (name, value) in &sent.request_headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = match builder.body(Full::new(outgoing.body)) {
            Ok(request) => request,
            Err(error) => {
                sent.classification = Classification::Refused;
                sent.error = Some(format!("the subscription URL is not usable: {error}"));
                return sent;
            }
        };

        let scope = self.egress.call_scope(None, None);
        let response = match self.egress.send(request, &scope).await {
            Ok(response) => response,
            Err(error) => {
                sent.classification = match error {
                    EgressError::Refused(_) => Classification::Refused,
                    _ => Classification::Retry,
                };
                sent.error = Some(error.to_string());
                return sent;
            }
        };
        let status = response.status();
        sent.status = Some(status.as_u16());
        sent.retry_after = retry_after(response.headers());
        sent.response_body = Some(self.start_of(response.into_body()).await);
        sent.classification = match status.as_u16() {
            200..=299 => Classification::Delivered,
            410 => Classification::Gone,
            _ => Classification::Retry,
        };
        if sent.classification != Classification::Delivered {
            sent.error = Some(format!("the endpoint answered HTTP {}", status.as_u16()));
        }
        sent
    }
}

impl WebhookSender {
    /// Reads the body up to the limit. It is only kept for the log: a
    /// receiver that answers with more, or breaks off, has still answered.
    async fn start_of<B>(&self, mut body: B) -> String
    where
        B: http_body::Body<Data = Bytes> + Unpin,
    {
        let mut kept = Vec::new();
        while kept.len() < self.body_limit {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let room = self.body_limit - kept.len();
                        kept.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                _ => break,
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    }
}

/// Reads `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let seconds = (date.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(seconds as u64))
}

/// The body of a webhook: the event envelope with its payload exactly as
/// it was accepted (never re-serialised, so receivers verify what was sent).
pub fn event_body(
    id: &str,
    event_type: &str,
    store_id: &str,
    occurred_at: &str,
    payload: &str,
) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "{{\"id\":{},\"type\":{},\"store_id\":{},\"occurred_at\":{},\"payload\":{}}}",
        quote(id),
        quote(event_type),
        quote(store_id),
        quote(occurred_at),
        payload
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_embeds_the_payload_byte_for_byte() {
        let payload = "{\"total\": 19.990, \"b\":1,\"a\":2}";
        let body = event_body(
            "evt_\"1",
            "order.placed",
            "s1",
            "2026-01-01T00:00:00.000Z",
            payload,
        );
        assert!(body.ends_with(&format!("\"payload\":{payload}}}")));
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["id"], "evt_\"1");
        assert_eq!(parsed["type"], "order.placed");
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let mut headers = http::HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(120);
        headers.insert("retry-after", later.to_rfc2822().parse().unwrap());
        let parsed = retry_after(&headers).unwrap().as_secs();
        assert!((118..=120).contains(&parsed), "{parsed}");
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
