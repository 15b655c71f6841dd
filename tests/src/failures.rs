//! Scripted failures: "the next N matching requests fail like this".
//!
//! Each fake defines its failures as an enum in the real API's terms (Slack's
//! `rollup_error`, Amazon's `QuotaExceeded`, ...) that renders itself as the
//! real service would answer. A [`FailureScript`] of that enum sits in front
//! of the fake's handlers: a request matching a queued entry gets the failure
//! instead of reaching the handler, and the entry's count goes down by one.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::Method;
use parking_lot::Mutex;

/// Which requests a scripted failure applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMatch {
    method: Option<Method>,
    path: PathMatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatch {
    Any,
    Exact(String),
    Prefix(String),
}

impl RequestMatch {
    /// Every request.
    pub fn any() -> Self {
        Self {
            method: None,
            path: PathMatch::Any,
        }
    }

    /// Requests to exactly `path`, any method.
    pub fn path(path: impl Into<String>) -> Self {
        Self {
            method: None,
            path: PathMatch::Exact(path.into()),
        }
    }

    /// Requests whose path starts with `prefix`, any method.
    pub fn path_prefix(prefix: impl Into<String>) -> Self {
        Self {
            method: None,
            path: PathMatch::Prefix(prefix.into()),
        }
    }

    /// `POST`s to exactly `path`.
    pub fn post(path: impl Into<String>) -> Self {
        Self::path(path).with_method(Method::POST)
    }

    /// Narrows the match to requests with `method`.
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Whether a request with `method` to `path` matches.
    pub fn matches(&self, method: &Method, path: &str) -> bool {
        let method_matches = self.method.as_ref().is_none_or(|wanted| wanted == method);
        let path_matches = match &self.path {
            PathMatch::Any => true,
            PathMatch::Exact(wanted) => path == wanted,
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
        };
        method_matches && path_matches
    }
}

struct Scripted<F> {
    matching: RequestMatch,
    failure: F,
    remaining: usize,
}

/// A queue of failures for upcoming requests; clones share the queue.
pub struct FailureScript<F> {
    queue: Arc<Mutex<VecDeque<Scripted<F>>>>,
}

impl<F> Clone for FailureScript<F> {
    fn clone(&self) -> Self {
        Self {
            queue: Arc::clone(&self.queue),
        }
    }
}

impl<F> Default for FailureScript<F> {
    fn default() -> Self {
        Self {
            queue: Arc::default(),
        }
    }
}

impl<F: Clone> FailureScript<F> {
    /// An empty script: every request reaches the handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `times` requests matching `matching` fail with `failure`.
    /// Entries queued earlier take precedence over later ones.
    pub fn push(&self, matching: RequestMatch, failure: F, times: usize) {
        if times > 0 {
            self.queue.lock().push_back(Scripted {
                matching,
                failure,
                remaining: times,
            });
        }
    }

    /// The failure for a request with `method` to `path`, using up one
    /// occurrence of the first matching entry.
    pub fn take(&self, method: &Method, path: &str) -> Option<F> {
        let mut queue = self.queue.lock();
        let index = queue
            .iter()
            .position(|entry| entry.matching.matches(method, path))?;
        let entry = &mut queue[index];
        entry.remaining -= 1;
        let failure = entry.failure.clone();
        if entry.remaining == 0 {
            queue.remove(index);
        }
        Some(failure)
    }

    /// How many scripted failures are still to be served, over all entries.
    pub fn pending(&self) -> usize {
        self.queue.lock().iter().map(|entry| entry.remaining).sum()
    }

    /// Forgets every queued failure.
    pub fn clear(&self) {
        self.queue.lock().clear();
    }
}

impl<F> FailureScript<F>
where
    F: IntoResponse + Clone + Send + Sync + 'static,
{
    /// `router` with this script in front of its handlers.
    pub fn guard(&self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(
            self.clone(),
            inject::<F>,
        ))
    }
}

async fn inject<F>(State(script): State<FailureScript<F>>, request: Request, next: Next) -> Response
where
    F: IntoResponse + Clone + Send + Sync + 'static,
{
    match script.take(request.method(), request.uri().path()) {
        Some(failure) => failure.into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use http::StatusCode;
    use tower::ServiceExt;

    #[test]
    fn matches_by_method_and_path() {
        let post_chat = RequestMatch::post("/api/chat.postMessage");
        assert!(post_chat.matches(&Method::POST, "/api/chat.postMessage"));
        assert!(!post_chat.matches(&Method::GET, "/api/chat.postMessage"));
        assert!(!post_chat.matches(&Method::POST, "/api/auth.test"));

        let services = RequestMatch::path_prefix("/services/");
        assert!(services.matches(&Method::PUT, "/services/T1/B1/x"));
        assert!(!services.matches(&Method::PUT, "/api/x"));
        assert!(RequestMatch::any().matches(&Method::DELETE, "/anything"));
    }

    #[test]
    fn a_failure_is_served_as_many_times_as_queued() {
        let script = FailureScript::new();
        script.push(RequestMatch::any(), "boom", 2);
        assert_eq!(script.take(&Method::POST, "/"), Some("boom"));
        assert_eq!(script.pending(), 1);
        assert_eq!(script.take(&Method::POST, "/"), Some("boom"));
        assert_eq!(script.take(&Method::POST, "/"), None);
    }

    #[test]
    fn earlier_entries_win_and_non_matching_requests_pass() {
        let script = FailureScript::new();
        script.push(RequestMatch::path("/a"), "a", 1);
        script.push(RequestMatch::any(), "any", 1);
        assert_eq!(script.take(&Method::GET, "/b"), Some("any"));
        assert_eq!(script.take(&Method::GET, "/b"), None);
        assert_eq!(script.take(&Method::GET, "/a"), Some("a"));
    }

    #[test]
    fn zero_times_queues_nothing_and_clear_forgets_everything() {
        let script = FailureScript::new();
        script.push(RequestMatch::any(), "never", 0);
        assert_eq!(script.pending(), 0);
        script.push(RequestMatch::any(), "x", 3);
        script.clear();
        assert_eq!(script.take(&Method::GET, "/"), None);
    }

    #[tokio::test]
    async fn guard_answers_with_the_failure_instead_of_the_handler() {
        let script = FailureScript::new();
        script.push(
            RequestMatch::post("/send"),
            (StatusCode::SERVICE_UNAVAILABLE, "down"),
            1,
        );
        let app = script.guard(Router::new().route("/send", post(|| async { "sent" })));
        let send = || http::Request::post("/send").body(Body::empty()).unwrap();

        let failed = app.clone().oneshot(send()).await.unwrap();
        let passed = app.oneshot(send()).await.unwrap();

        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(passed.status(), StatusCode::OK);
    }
}
