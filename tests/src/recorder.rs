//! Every request a fake receives, kept in arrival order.
//!
//! [`FakeServer`](crate::server::FakeServer) puts [`record`] in front of every
//! fake, so a test can assert on exactly what a connector sent (headers, raw
//! body) even when the fake answered with an error.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use crate::hosts::request_host;
use crate::journal::{Journal, WaitTimeout};

/// Bodies larger than this are refused with 413 rather than buffered.
const MAX_RECORDED_BODY: usize = 16 * 1024 * 1024;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: Method,
    /// The hostname addressed (from `Host` or the URI), without port.
    pub host: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Every header as sent.
    pub headers: HeaderMap,
    /// The body, byte for byte.
    pub body: Bytes,
    /// When the fake received the request.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The value of header `name`, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

/// The ordered record of a fake's requests; clones share it.
#[derive(Clone, Default)]
pub struct RequestRecorder {
    journal: Journal<RecordedRequest>,
}

impl RequestRecorder {
    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.journal.entries()
    }

    /// How many requests have arrived.
    pub fn len(&self) -> usize {
        self.journal.len()
    }

    /// Whether no request has arrived yet.
    pub fn is_empty(&self) -> bool {
        self.journal.is_empty()
    }

    /// Waits until at least `count` requests have arrived and returns them all.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>, WaitTimeout> {
        self.journal.wait_for(count, timeout).await
    }

    /// Waits until `done` holds for the requests so far and returns them.
    pub async fn wait_until(
        &self,
        done: impl Fn(&[RecordedRequest]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>, WaitTimeout> {
        self.journal.wait_until(done, timeout).await
    }

    fn push(&self, request: RecordedRequest) {
        self.journal.push(request);
    }
}

/// Middleware that buffers the body, records the request, then passes it on.
pub async fn record(
    State(recorder): State<RequestRecorder>,
    request: Request,
    next: Next,
) -> Response {
    let received_at = Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_RECORDED_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body over the fake's 16 MiB limit",
        )
            .into_response();
    };
    let request = Request::from_parts(parts, Body::from(body.clone()));
    recorder.push(RecordedRequest {
        method: request.method().clone(),
        host: request_host(&request),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        headers: request.headers().clone(),
        body,
        received_at,
    });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt;

    #[tokio::test]
    async fn records_the_request_and_still_passes_the_body_on() {
        let recorder = RequestRecorder::default();
        let app = Router::new()
            .route("/echo", post(|body: Bytes| async move { body }))
            .layer(axum::middleware::from_fn_with_state(
                recorder.clone(),
                record,
            ));
        let request = http::Request::post("/echo?x=1")
            .header("host", "slack.com")
            .header("x-trace", "abc")
            .body(Body::from("{\"a\":1}"))
            .unwrap();

        let response = app.oneshot(request).await.unwrap();

        let echoed = axum::body::to_bytes(response.into_body(), 64)
            .await
            .unwrap();
        assert_eq!(&echoed[..], b"{\"a\":1}");
        let [seen] = recorder.requests().try_into().unwrap();
        assert_eq!(seen.method, Method::POST);
        assert_eq!(seen.host, "slack.com");
        assert_eq!(seen.path, "/echo");
        assert_eq!(seen.query.as_deref(), Some("x=1"));
        assert_eq!(seen.header("x-trace"), Some("abc"));
        assert_eq!(seen.json().unwrap()["a"], 1);
    }
}
