//! The headers Amazon puts on SP-API responses: `x-amzn-RequestId` on every
//! one, and `x-amzn-RateLimit-Limit` (the operation's rate in requests per
//! second, `"5.0"`) only on successes, 400 and 404, never on 403, 429 or
//! 5xx. Applied outside the failure script, so scripted failures carry them
//! too.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode};

use super::ids;
use super::operation::Operation;
use crate::rate_limit::RateLimit;

/// The request id header.
pub const REQUEST_ID: &str = "x-amzn-requestid";
/// The usage plan header.
pub const RATE_LIMIT: &str = "x-amzn-ratelimit-limit";

/// The `x-amzn-RateLimit-Limit` value of each operation. An unthrottled
/// operation still reports its documented rate, so the header is there
/// whenever Amazon would send it.
#[derive(Debug, Clone, Default)]
pub(super) struct ReportedRates(HashMap<Operation, HeaderValue>);

impl ReportedRates {
    /// The values for `rate_of` each operation.
    pub(super) fn new(rate_of: impl Fn(Operation) -> RateLimit) -> Self {
        let values = Operation::ALL
            .into_iter()
            .filter_map(|operation| {
                let per_second = match rate_of(operation) {
                    RateLimit::TokenBucket { per_second, .. } => per_second,
                    RateLimit::Unlimited => match operation.documented_rate() {
                        RateLimit::TokenBucket { per_second, .. } => per_second,
                        RateLimit::Unlimited => return None,
                    },
                };
                // `{:?}` writes 5.0 as "5.0" and 0.0167 as "0.0167", as Amazon does.
                let value = HeaderValue::from_str(&format!("{per_second:?}")).ok()?;
                Some((operation, value))
            })
            .collect();
        Self(values)
    }
}

/// Whether Amazon reports the usage plan on an answer with `status`.
fn reports_rate(status: StatusCode) -> bool {
    status.is_success() || status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND
}

/// Middleware adding the headers to every response.
pub(super) async fn add(
    State(rates): State<Arc<ReportedRates>>,
    request: Request,
    next: Next,
) -> Response {
    let operation = Operation::of(request.method(), request.uri().path());
    let mut response = next.run(request).await;
    let rate = operation
        .filter(|_| reports_rate(response.status()))
        .and_then(|operation| rates.0.get(&operation).cloned());
    let headers = response.headers_mut();
    if let Ok(request_id) = HeaderValue::from_str(&ids::uuid()) {
        headers.insert(REQUEST_ID, request_id);
    }
    if let Some(rate) = rate {
        headers.insert(RATE_LIMIT, rate);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::put;
    use tower::ServiceExt;

    fn app(status: StatusCode) -> Router {
        let rates = Arc::new(ReportedRates::new(Operation::documented_rate));
        Router::new()
            .route(
                "/listings/2021-08-01/items/{seller}/{sku}",
                put(move || async move { status }),
            )
            .layer(axum::middleware::from_fn_with_state(rates, add))
    }

    async fn headers_for(status: StatusCode) -> http::HeaderMap {
        let request = http::Request::put("/listings/2021-08-01/items/A1/SKU")
            .body(Body::empty())
            .unwrap();
        app(status)
            .oneshot(request)
            .await
            .unwrap()
            .headers()
            .clone()
    }

    #[tokio::test]
    async fn successes_and_client_errors_report_the_operations_rate() {
        for status in [
            StatusCode::OK,
            StatusCode::BAD_REQUEST,
            StatusCode::NOT_FOUND,
        ] {
            let headers = headers_for(status).await;
            assert_eq!(headers[RATE_LIMIT], "5.0", "{status}");
            assert!(headers.contains_key(REQUEST_ID));
        }
    }

    #[tokio::test]
    async fn throttled_refused_and_failed_answers_carry_only_the_request_id() {
        for status in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::FORBIDDEN,
            StatusCode::INTERNAL_SERVER_ERROR,
        ] {
            let headers = headers_for(status).await;
            assert!(!headers.contains_key(RATE_LIMIT), "{status}");
            assert_eq!(headers[REQUEST_ID].len(), 36);
        }
    }

    #[test]
    fn rates_are_written_as_amazon_does_and_unlimited_ones_as_documented() {
        let rates = ReportedRates::new(|operation| match operation {
            Operation::ConfirmShipment => RateLimit::per_second(0.5, 1),
            _ => RateLimit::Unlimited,
        });
        assert_eq!(rates.0.len(), Operation::ALL.len());
        assert_eq!(rates.0[&Operation::ConfirmShipment], "0.5");
        assert_eq!(rates.0[&Operation::GetOrders], "0.0167");
        assert_eq!(rates.0[&Operation::PutListingsItem], "5.0");
    }
}
