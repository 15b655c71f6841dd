//! A webhook receiver for end-to-end tests: records every POST and answers
//! with scripted responses (200 once the script runs out). It can hold
//! requests unanswered, as a slow receiver does, and counts how many it
//! was answering at once.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::StatusCode;
use parking_lot::Mutex;

use crate::{FakeServer, RecordedRequest, RequestRecorder, StartError};

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

/// What the handler shares with the test.
#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Answer>>,
    /// While true, requests wait unanswered.
    held: tokio::sync::watch::Sender<bool>,
    open: AtomicUsize,
    most_open: AtomicUsize,
}

/// A local webhook receiver on plain HTTP.
pub struct WebhookSink {
    server: FakeServer,
    shared: Arc<Shared>,
}

impl WebhookSink {
    /// Starts a receiver on `127.0.0.1`, any path.
    pub async fn start() -> Result<Self, StartError> {
        let shared: Arc<Shared> = Arc::default();
        let app = Router::new()
            .route("/{*path}", post(answer))
            .with_state(shared.clone());
        let server = FakeServer::start_plain(&["sink.test"], app).await?;
        Ok(Self { server, shared })
    }

    /// Leaves every request unanswered until [`release`](Self::release),
    /// like a receiver that takes its time.
    pub fn hold(&self) {
        self.shared.held.send_replace(true);
    }

    /// Answers the requests held and every later one.
    pub fn release(&self) {
        self.shared.held.send_replace(false);
    }

    /// The most requests the sink was answering at the same time.
    pub fn most_concurrent(&self) -> usize {
        self.shared.most_open.load(Ordering::SeqCst)
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
        self.shared.script.lock().extend(answers);
    }

    /// What the sink received.
    pub fn recorder(&self) -> &RequestRecorder {
        self.server.recorder()
    }
}

async fn answer(State(shared): State<Arc<Shared>>) -> Response {
    let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
    shared.most_open.fetch_max(open, Ordering::SeqCst);
    // The sender lives as long as the sink.
    let _ = shared.held.subscribe().wait_for(|held| !held).await;
    let response = scripted(&shared);
    shared.open.fetch_sub(1, Ordering::SeqCst);
    response
}

fn scripted(shared: &Shared) -> Response {
    let Some(answer) = shared.script.lock().pop_front() else {
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

/// The (path, event id) of each webhook delivery among `requests`, once
/// each however often it was repeated.
pub fn delivered_events(requests: &[RecordedRequest]) -> HashSet<(String, String)> {
    requests
        .iter()
        .map(|r| {
            let body = r.json().expect("a webhook delivery is JSON");
            let id = body["id"].as_str().expect("an event id").to_owned();
            (r.path.clone(), id)
        })
        .collect()
}
