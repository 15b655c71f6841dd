//! A webhook receiver for end-to-end tests: records every POST and answers
//! with scripted responses (200 once the script runs out).

use std::collections::VecDeque;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::StatusCode;
use parking_lot::Mutex;

use crate::{FakeServer, RequestRecorder, StartError};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// Extra headers, such as `Retry-After`.
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// An answer with `status` and no extra headers.
    pub fn status(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A local webhook receiver on plain HTTP.
pub struct WebhookSink {
    server: FakeServer,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl WebhookSink {
    /// Starts a receiver on `127.0.0.1`, any path.
    pub async fn start() -> Result<Self, StartError> {
        let script: Arc<Mutex<VecDeque<Answer>>> = Arc::default();
        let app = Router::new()
            .route("/{*path}", post(answer))
            .with_state(script.clone());
        let server = FakeServer::start_plain(&["sink.test"], app).await?;
        Ok(Self { server, script })
    }

    /// A target URL on the sink.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://{}/{}",
            self.server.addr(),
            path.trim_start_matches('/')
        )
    }

    /// Answers the next requests with `answers`, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.script.lock().extend(answers);
    }

    /// What the sink received.
    pub fn recorder(&self) -> &RequestRecorder {
        self.server.recorder()
    }
}

async fn answer(State(script): State<Arc<Mutex<VecDeque<Answer>>>>) -> Response {
    let Some(answer) = script.lock().pop_front() else {
        return (StatusCode::OK, "ok").into_response();
    };
    let mut response = (answer.status, "scripted").into_response();
    for (name, value) in answer.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("a valid header value"));
    }
    response
}
