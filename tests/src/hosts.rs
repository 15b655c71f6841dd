//! Several hostnames on one listener.
//!
//! A fake such as Slack answers for `hooks.slack.com` and `slack.com`; the
//! certificate names both, and requests are dispatched on the `Host` header
//! (or the URI authority under HTTP/2) to each hostname's own router.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tower::ServiceExt;

/// The hostname a request is addressed to, without a port, lowercased; empty
/// when the request names none.
pub fn request_host<B>(request: &http::Request<B>) -> String {
    let authority = request
        .headers()
        .get(http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        })
        .unwrap_or_default();
    strip_port(authority).to_ascii_lowercase()
}

fn strip_port(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        // An IPv6 literal keeps its colons inside the brackets.
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    }
}

/// A router that hands each request to the router of the hostname it is
/// addressed to; other hostnames get `421 Misdirected Request`.
pub fn route_by_host<'a>(routes: impl IntoIterator<Item = (&'a str, Router)>) -> Router {
    let routes: Arc<HashMap<String, Router>> = Arc::new(
        routes
            .into_iter()
            .map(|(host, router)| (host.to_ascii_lowercase(), router))
            .collect(),
    );
    Router::new().fallback(move |request: Request| {
        let routes = Arc::clone(&routes);
        async move { dispatch(&routes, request).await }
    })
}

async fn dispatch(routes: &HashMap<String, Router>, request: Request) -> Response {
    let host = request_host(&request);
    match routes.get(&host) {
        Some(router) => match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => (
            StatusCode::MISDIRECTED_REQUEST,
            format!("this server does not serve host {host:?}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;

    fn request_to(host: &str) -> Request {
        http::Request::get("/which")
            .header(http::header::HOST, host)
            .body(Body::empty())
            .unwrap()
    }

    async fn body_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn request_host_drops_the_port_and_case() {
        assert_eq!(request_host(&request_to("Slack.COM:443")), "slack.com");
        assert_eq!(request_host(&request_to("[::1]:8080")), "[::1]");
        assert_eq!(request_host(&request_to("[::1]")), "[::1]");
    }

    #[test]
    fn request_host_falls_back_to_the_uri_authority() {
        let request = http::Request::get("https://api.ebay.com/x")
            .body(())
            .unwrap();
        assert_eq!(request_host(&request), "api.ebay.com");
    }

    #[tokio::test]
    async fn requests_reach_the_router_of_their_host() {
        let app = route_by_host([
            (
                "slack.com",
                Router::new().route("/which", get(|| async { "api" })),
            ),
            (
                "hooks.slack.com",
                Router::new().route("/which", get(|| async { "hooks" })),
            ),
        ]);
        let api = app.clone().oneshot(request_to("slack.com")).await.unwrap();
        let hooks = app.oneshot(request_to("hooks.slack.com")).await.unwrap();
        assert_eq!(body_of(api).await, "api");
        assert_eq!(body_of(hooks).await, "hooks");
    }

    #[tokio::test]
    async fn unknown_hosts_are_misdirected() {
        let app = route_by_host([("slack.com", Router::new())]);
        let response = app.oneshot(request_to("evil.example")).await.unwrap();
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
    }
}
