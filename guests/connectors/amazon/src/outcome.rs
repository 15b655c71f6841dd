//! How a failed call maps onto the contract's outcomes: delivery outcomes
//! and sync errors.
//!
//! - 429 `QuotaExceeded` (sent without `Retry-After`): retry after the
//!   connector's own backoff ([`quota_backoff_seconds`]);
//! - 5xx and 408: retry, after `Retry-After` when Amazon sends one;
//! - 403: permanent, Amazon denies the seller or the app access (the host
//!   has already renewed a cached access token Amazon refused);
//! - other 4xx: permanent, with Amazon's code and message;
//! - the host's answer that Login with Amazon refused the credentials:
//!   permanent, with LWA's code; LWA's own trouble: retry;
//! - a request the host's egress policy refused: permanent, pointing at the
//!   `endpoint` setting.

use sluice_guest::auth::HostAuthFailure;
use sluice_guest::http::HttpError;
use sluice_guest::{DeliveryOutcome, SyncError, log};

use crate::lwa;
use crate::sp_api::{AmazonError, CallError, Operation, quota_backoff_seconds};

/// What a failed call was for, to word the reasons: `"the listing of SKU
/// MUG-1"`.
pub struct Attempt<'a> {
    /// The operation called.
    pub operation: Operation,
    /// What it was about, for the store admin.
    pub subject: &'a str,
    /// The delivery attempt, 1-based; 0 outside deliveries.
    pub attempt: u32,
    /// The endpoint called.
    pub endpoint: &'a str,
}

/// How a non-2xx SP-API answer is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Throttled: retry after the connector's backoff.
    Throttled,
    /// Amazon's trouble: retry.
    Transient,
    /// Refused: do not retry.
    Permanent,
}

fn classify(status: u16) -> Class {
    match status {
        429 => Class::Throttled,
        408 | 500..=599 => Class::Transient,
        _ => Class::Permanent,
    }
}

/// Why Amazon refused, in words for the store admin.
fn refusal_reason(error: &AmazonError, attempt: &Attempt<'_>) -> String {
    let summary = error.summary();
    let operation = attempt.operation.name();
    let subject = attempt.subject;
    match error.status {
        403 => format!(
            "Amazon denied access to {subject} ({operation}, {summary}); check that setting \
             `seller_id` is the merchant token of the seller who authorized the app and that \
             the app has the role the operation needs"
        ),
        404 => format!("Amazon does not know {subject} ({operation}, {summary})"),
        status => format!("Amazon refused {subject} with HTTP {status} ({operation}, {summary})"),
    }
}

/// Records Amazon's refusal of `operation` in the invocation report.
pub fn log_refusal(error: &AmazonError, operation: Operation) {
    log::warn(
        "Amazon refused the call",
        &[
            ("operation", operation.name()),
            ("status", &error.status.to_string()),
            ("error", &error.summary()),
            (
                "request_id",
                error.request_id.as_deref().unwrap_or_default(),
            ),
        ],
    );
}

/// The outcome of a delivery whose call Amazon answered with `error`.
pub fn api_failure(
    error: &AmazonError,
    attempt: &Attempt<'_>,
    retry_after: Option<u32>,
) -> DeliveryOutcome {
    let operation = attempt.operation.name();
    let subject = attempt.subject;
    let summary = error.summary();
    match classify(error.status) {
        Class::Throttled => {
            let delay = retry_after
                .unwrap_or_else(|| quota_backoff_seconds(attempt.operation, attempt.attempt));
            DeliveryOutcome::retry(
                format!(
                    "Amazon throttled {operation} for {subject} ({summary}); retrying in {delay} s"
                ),
                Some(delay),
            )
        }
        Class::Transient => DeliveryOutcome::retry(
            format!(
                "Amazon failed {operation} for {subject} with HTTP {} ({summary})",
                error.status
            ),
            retry_after,
        ),
        Class::Permanent => DeliveryOutcome::failed(refusal_reason(error, attempt)),
    }
    .with_remote(error.remote())
}

/// The outcome of a delivery whose call brought no answer.
pub fn call_failure(error: &CallError, attempt: &Attempt<'_>) -> DeliveryOutcome {
    match error {
        CallError::Auth(failure) => auth_failure(failure),
        CallError::Http(error) => transport_failure(error, attempt),
    }
}

/// The outcome of a delivery the host could get no access token for.
fn auth_failure(failure: &HostAuthFailure) -> DeliveryOutcome {
    let reason = lwa::explain(failure);
    let outcome = if failure.is_retryable() {
        DeliveryOutcome::retry(reason, None)
    } else {
        DeliveryOutcome::failed(reason)
    };
    match lwa::remote(failure) {
        Some(remote) => outcome.with_remote(remote),
        None => outcome,
    }
}

/// The outcome of a delivery whose SP-API request was not answered.
fn transport_failure(error: &HttpError, attempt: &Attempt<'_>) -> DeliveryOutcome {
    if error.is_retryable() {
        DeliveryOutcome::retry(
            format!("could not reach {}: {error}", attempt.endpoint),
            None,
        )
    } else {
        DeliveryOutcome::failed(transport_reason(error, attempt.endpoint))
    }
}

/// Why a request that could not be sent will never be.
fn transport_reason(error: &HttpError, endpoint: &str) -> String {
    if error.is_refused() {
        format!(
            "Sluice refused to send the request to {endpoint}: {error}; set `endpoint` to one of \
             Amazon's Selling Partner API endpoints"
        )
    } else {
        format!("the request to {endpoint} failed: {error}")
    }
}

/// The sync error for a call Amazon answered with `error`.
pub fn sync_api_failure(error: &AmazonError, attempt: &Attempt<'_>) -> SyncError {
    let operation = attempt.operation.name();
    let summary = error.summary();
    match classify(error.status) {
        Class::Throttled => SyncError::retryable(format!(
            "Amazon throttled {operation} ({summary}); the next run continues from the same \
             cursor"
        )),
        Class::Transient => SyncError::retryable(format!(
            "Amazon failed {operation} with HTTP {} ({summary})",
            error.status
        )),
        Class::Permanent => SyncError::permanent(refusal_reason(error, attempt)),
    }
    .with_remote(error.remote())
}

/// The sync error for a call that brought no answer.
pub fn sync_call_failure(error: &CallError, attempt: &Attempt<'_>) -> SyncError {
    match error {
        CallError::Auth(failure) => {
            let reason = lwa::explain(failure);
            let sync_error = if failure.is_retryable() {
                SyncError::retryable(reason)
            } else {
                SyncError::permanent(reason)
            };
            match lwa::remote(failure) {
                Some(remote) => sync_error.with_remote(remote),
                None => sync_error,
            }
        }
        CallError::Http(error) if error.is_retryable() => {
            SyncError::retryable(format!("could not reach {}: {error}", attempt.endpoint))
        }
        CallError::Http(error) => SyncError::permanent(transport_reason(error, attempt.endpoint)),
    }
}

#[cfg(test)]
mod tests {
    use sluice_guest::http::HttpErrorKind;

    use super::*;

    fn attempt(operation: Operation, attempt: u32) -> Attempt<'static> {
        Attempt {
            operation,
            subject: "the listing of SKU MUG-1",
            attempt,
            endpoint: "https://sellingpartnerapi-na.amazon.com",
        }
    }

    fn error(status: u16, code: &str, message: &str) -> AmazonError {
        AmazonError {
            status,
            code: Some(code.into()),
            message: Some(message.into()),
            details: None,
            request_id: None,
        }
    }

    #[test]
    fn quota_exceeded_retries_after_the_connectors_backoff() {
        let outcome = api_failure(
            &error(429, "QuotaExceeded", "You exceeded your quota."),
            &attempt(Operation::PutListingsItem, 3),
            None,
        );
        let DeliveryOutcome::Retry(retry) = outcome else {
            panic!("expected a retry, got {outcome:?}");
        };
        assert_eq!(retry.after_seconds, Some(8));
        assert_eq!(retry.remote.unwrap().code.as_deref(), Some("QuotaExceeded"));
    }

    #[test]
    fn server_errors_retry_and_client_errors_fail() {
        let retry = api_failure(
            &error(503, "ServiceUnavailable", "later"),
            &attempt(Operation::PutListingsItem, 1),
            Some(30),
        );
        assert!(matches!(retry, DeliveryOutcome::Retry(ref r) if r.after_seconds == Some(30)));
        let failed = api_failure(
            &error(400, "InvalidInput", "bad"),
            &attempt(Operation::ConfirmShipment, 1),
            None,
        );
        let DeliveryOutcome::Failed(failure) = failed else {
            panic!("expected a failure");
        };
        assert!(
            failure.reason.contains("InvalidInput: bad"),
            "{}",
            failure.reason
        );
    }

    #[test]
    fn a_refused_request_points_at_the_endpoint_setting() {
        let refused = CallError::Http(HttpError::new(
            HttpErrorKind::Refused,
            "ErrorCode::HttpRequestDenied",
        ));
        let DeliveryOutcome::Failed(failure) =
            call_failure(&refused, &attempt(Operation::PutListingsItem, 1))
        else {
            panic!("expected a failure");
        };
        assert!(failure.reason.contains("`endpoint`"), "{}", failure.reason);
    }

    #[test]
    fn a_refused_grant_fails_permanently_with_lwas_code() {
        let refused = CallError::Auth(lwa::tests::refused(400, "invalid_grant"));
        let outcome = call_failure(&refused, &attempt(Operation::PatchListingsItem, 1));
        let DeliveryOutcome::Failed(failure) = outcome else {
            panic!("expected a failure, got {outcome:?}");
        };
        assert!(
            failure
                .reason
                .starts_with("Login with Amazon refused the refresh token (invalid_grant"),
            "{}",
            failure.reason
        );
        let remote = failure.remote.unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));

        let sync = sync_call_failure(&refused, &attempt(Operation::GetOrders, 0));
        assert!(!sync.retryable);
        assert_eq!(sync.remote.unwrap().code.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn an_unavailable_token_endpoint_retries() {
        let unavailable = CallError::Auth(lwa::tests::unavailable());
        let outcome = call_failure(&unavailable, &attempt(Operation::PutListingsItem, 1));
        let DeliveryOutcome::Retry(retry) = outcome else {
            panic!("expected a retry, got {outcome:?}");
        };
        assert!(
            retry
                .reason
                .starts_with("Login with Amazon gave no access token"),
            "{}",
            retry.reason
        );
        assert_eq!(retry.after_seconds, None);
        assert!(sync_call_failure(&unavailable, &attempt(Operation::GetOrders, 0)).retryable);
    }

    #[test]
    fn an_unset_client_id_fails_permanently() {
        let unreadable = CallError::Auth(lwa::tests::unreadable());
        let outcome = call_failure(&unreadable, &attempt(Operation::ConfirmShipment, 1));
        assert!(matches!(outcome, DeliveryOutcome::Failed(_)), "{outcome:?}");
    }
}
