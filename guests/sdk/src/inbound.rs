//! Helpers for the inbound-handler export: reading the request, building the
//! answer and the events.

use crate::types::{
    EmittedEvent, InboundAccepted, InboundRejection, InboundRequest, InboundResponse,
};

impl InboundRequest {
    /// The first value of header `name` (any case), or `None`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl InboundResponse {
    /// An answer with `status` and no body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `text/plain` answer.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }

    /// An `application/json` answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

impl InboundAccepted {
    /// Accepted with `response` and no events yet.
    pub fn new(response: InboundResponse) -> Self {
        Self {
            response,
            events: Vec::new(),
        }
    }

    /// Adds an event for the store.
    pub fn with_event(mut self, event: EmittedEvent) -> Self {
        self.events.push(event);
        self
    }
}

impl InboundRejection {
    /// Refused with `status` (for example 401) and a reason for the log.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

impl EmittedEvent {
    /// An event with the remote system's own `id` (so that a redelivered
    /// webhook creates nothing new), a dotted `event_type` and a JSON
    /// payload; it happened now unless [`Self::at`] says otherwise.
    pub fn new(
        id: impl Into<String>,
        event_type: impl Into<String>,
        payload: &serde_json::Value,
    ) -> Self {
        Self {
            id: id.into(),
            event_type: event_type.into(),
            occurred_at: None,
            payload: payload.to_string(),
        }
    }

    /// Sets when the event happened, RFC 3339.
    pub fn at(self, occurred_at: impl Into<String>) -> Self {
        Self {
            occurred_at: Some(occurred_at.into()),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_in_any_case() {
        let request = InboundRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![("x-slack-signature".into(), "v0=ab".into())],
            body: Vec::new(),
        };
        assert_eq!(request.header("X-Slack-Signature"), Some("v0=ab"));
        assert_eq!(request.header("x-slack-request-timestamp"), None);
    }

    #[test]
    fn json_answers_carry_their_content_type() {
        let response = InboundResponse::json(200, &serde_json::json!({"challenge": "c"}));
        assert_eq!(response.body, br#"{"challenge":"c"}"#);
        assert_eq!(response.headers[0].1, "application/json");
    }
}
