//! Calling the Merchant API as the service account, whose access token the
//! host applies (and renews once when Google refuses it), and reading
//! Google's `google.rpc.Status` errors:
//! `{"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT"}}`.

use serde::Deserialize;
use sluice_guest::auth::HostAuthFailure;
use sluice_guest::http::{HttpError, Request, Response};
use sluice_guest::{DeliveryOutcome, RemoteError};

use crate::config::KEY_CREDENTIAL;
use crate::token;

/// Where the Merchant API lives.
pub const MERCHANT_API: &str = "https://merchantapi.googleapis.com";

/// A Merchant API answer that is not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleError {
    /// The HTTP status.
    pub http_status: u16,
    /// The canonical status name (`INVALID_ARGUMENT`), when the body is
    /// Google's error envelope.
    pub status: Option<String>,
    /// Google's message, or the body.
    pub message: String,
    /// The delay `Retry-After` asks for, when given.
    pub retry_after: Option<u32>,
}

/// What to do about a [`GoogleError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Quota, an outage or a conflict: a later attempt may succeed.
    Retry,
    /// The request, the account or the product is wrong: retrying cannot help.
    Permanent,
    /// The access token was refused.
    Unauthenticated,
}

#[derive(Deserialize)]
struct Envelope {
    error: Status,
}

#[derive(Deserialize)]
struct Status {
    message: Option<String>,
    status: Option<String>,
}

impl GoogleError {
    /// Reads a failed `response`; `now_ms` is the invocation's time, for
    /// `Retry-After` dates.
    pub fn from_response(response: &Response, now_ms: u64) -> Self {
        let envelope: Option<Envelope> = response.json().ok();
        let (status, message) = match envelope {
            Some(Envelope { error }) => (
                error.status.filter(|status| !status.is_empty()),
                error.message.unwrap_or_default(),
            ),
            None => (None, response.text().trim().to_owned()),
        };
        Self {
            http_status: response.status,
            status,
            message,
            retry_after: response.retry_after(now_ms),
        }
    }

    /// What to do about it.
    pub fn class(&self) -> ErrorClass {
        match (self.status.as_deref(), self.http_status) {
            (Some("UNAUTHENTICATED"), _) | (None, 401) => ErrorClass::Unauthenticated,
            (
                Some(
                    "RESOURCE_EXHAUSTED" | "UNAVAILABLE" | "INTERNAL" | "ABORTED"
                    | "DEADLINE_EXCEEDED" | "UNKNOWN",
                ),
                _,
            ) => ErrorClass::Retry,
            (_, 408 | 429 | 500..=599) => ErrorClass::Retry,
            _ => ErrorClass::Permanent,
        }
    }

    /// `STATUS: message`, or `HTTP 502: body` without the envelope.
    pub fn summary(&self) -> String {
        let name = self
            .status
            .clone()
            .unwrap_or_else(|| format!("HTTP {}", self.http_status));
        if self.message.is_empty() {
            name
        } else {
            format!("{name}: {}", self.message)
        }
    }

    /// Google's answer, for an outcome.
    pub fn remote(&self) -> RemoteError {
        let remote = RemoteError::http(self.http_status).with_message(&self.message);
        match &self.status {
            Some(status) => remote.with_code(status),
            None => remote,
        }
    }
}

/// Why a Merchant API call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// The host could get no access token, and answered itself.
    Auth(HostAuthFailure),
    /// The request could not be sent or no answer came back.
    Http(HttpError),
    /// Google answered with an error.
    Google(GoogleError),
}

/// Sends `request` with the service account's access token, which the host
/// adds; `now_ms` is the invocation's time, for `Retry-After` dates.
pub fn call(request: Request, now_ms: u64) -> Result<Response, CallError> {
    let response = request
        .authenticated(KEY_CREDENTIAL)
        .send()
        .map_err(CallError::Http)?;
    answer(response, now_ms)
}

/// The success in `response`, or who refused: the host or Google.
fn answer(response: Response, now_ms: u64) -> Result<Response, CallError> {
    if response.is_success() {
        return Ok(response);
    }
    // The host's own answer first: its 401 is not Google's.
    match HostAuthFailure::from_response(&response) {
        Some(failure) => Err(CallError::Auth(failure)),
        None => Err(CallError::Google(GoogleError::from_response(
            &response, now_ms,
        ))),
    }
}

impl CallError {
    /// The delivery outcome of a failed attempt to `what` (`insert product
    /// SKU-1`); `hint` adds what to do about a permanent error.
    pub fn outcome(
        &self,
        what: &str,
        hint: impl Fn(&GoogleError) -> Option<String>,
    ) -> DeliveryOutcome {
        match self {
            Self::Auth(failure) => token::outcome(failure),
            Self::Http(error) if error.is_retryable() => {
                DeliveryOutcome::retry(format!("could not reach Google to {what}: {error}"), None)
            }
            Self::Http(error) if error.is_refused() => DeliveryOutcome::failed(format!(
                "Sluice refused to send the request to {what} to Google: {error}"
            )),
            Self::Http(error) => {
                DeliveryOutcome::failed(format!("the request to {what} failed: {error}"))
            }
            Self::Google(error) => {
                let summary = error.summary();
                let outcome = match error.class() {
                    ErrorClass::Retry => DeliveryOutcome::retry(
                        format!("Google could not {what} right now: {summary}"),
                        error.retry_after,
                    ),
                    ErrorClass::Permanent => {
                        let reason = format!("Google refused to {what}: {summary}");
                        DeliveryOutcome::failed(match hint(error) {
                            Some(hint) => format!("{reason} ({hint})"),
                            None => reason,
                        })
                    }
                    // The host already renewed a cached token once.
                    ErrorClass::Unauthenticated => DeliveryOutcome::failed(format!(
                        "Google refused the service account's access token to {what}: \
                         {summary}; check that the service account and its key are enabled"
                    )),
                };
                outcome.with_remote(error.remote())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, headers: &[(&str, &str)], body: &str) -> GoogleError {
        GoogleError::from_response(&Response::new(status, headers, body), 0)
    }

    fn envelope(code: u16, status: &str, message: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": message, "status": status}})
            .to_string()
    }

    fn no_hint(_: &GoogleError) -> Option<String> {
        None
    }

    #[test]
    fn reads_googles_status_and_message() {
        let error = error(
            400,
            &[],
            &envelope(400, "INVALID_ARGUMENT", "offerId: required"),
        );
        assert_eq!(error.status.as_deref(), Some("INVALID_ARGUMENT"));
        assert_eq!(error.summary(), "INVALID_ARGUMENT: offerId: required");
        assert_eq!(error.class(), ErrorClass::Permanent);
    }

    #[test]
    fn quota_outages_and_server_errors_retry_honouring_retry_after() {
        for (code, status) in [
            (429, "RESOURCE_EXHAUSTED"),
            (503, "UNAVAILABLE"),
            (500, "INTERNAL"),
            (409, "ABORTED"),
        ] {
            let error = error(
                code,
                &[("retry-after", "17")],
                &envelope(code, status, "try later"),
            );
            assert_eq!(error.class(), ErrorClass::Retry, "{status}");
            let DeliveryOutcome::Retry(retry) =
                CallError::Google(error).outcome("insert product A", no_hint)
            else {
                panic!("expected a retry for {status}");
            };
            assert_eq!(retry.after_seconds, Some(17));
            let remote = retry.remote.unwrap();
            assert_eq!(remote.status, Some(code));
            assert_eq!(remote.code.as_deref(), Some(status));
        }
        let bare = error(502, &[], "<html>Bad Gateway</html>");
        assert_eq!(bare.class(), ErrorClass::Retry);
        assert_eq!(bare.summary(), "HTTP 502: <html>Bad Gateway</html>");
    }

    #[test]
    fn refusals_fail_with_googles_status_message_and_the_hint() {
        for (code, status) in [
            (400, "INVALID_ARGUMENT"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
        ] {
            let error = error(code, &[], &envelope(code, status, "nope"));
            let DeliveryOutcome::Failed(failure) =
                CallError::Google(error).outcome("insert product A", |_| Some("fix it".into()))
            else {
                panic!("expected a failure for {status}");
            };
            assert_eq!(
                failure.reason,
                format!("Google refused to insert product A: {status}: nope (fix it)")
            );
            assert_eq!(failure.remote.unwrap().code.as_deref(), Some(status));
        }
    }

    #[test]
    fn the_hosts_own_401_is_told_from_googles() {
        let host = Response::new(
            401,
            &[("sluice-auth-error", "token-refused")],
            r#"{"error":"token-refused","error_description":"refused","token_endpoint":{"status":400,"error":"invalid_grant","error_description":"Invalid JWT Signature."}}"#,
        );
        let Err(CallError::Auth(failure)) = answer(host, 0) else {
            panic!("expected the host's answer");
        };
        assert_eq!(failure.token_error(), Some("invalid_grant"));

        let google = Response::new(
            401,
            &[],
            envelope(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            ),
        );
        let Err(CallError::Google(error)) = answer(google, 0) else {
            panic!("expected Google's answer");
        };
        assert_eq!(error.class(), ErrorClass::Unauthenticated);
        let DeliveryOutcome::Failed(failure) =
            CallError::Google(error).outcome("insert product A", no_hint)
        else {
            panic!("expected a permanent failure");
        };
        assert!(
            failure
                .reason
                .starts_with("Google refused the service account's access token to insert product A: UNAUTHENTICATED"),
            "{}",
            failure.reason
        );
        assert!(answer(Response::new(200, &[], "{}"), 0).is_ok());
    }

    #[test]
    fn a_401_is_unauthenticated_with_or_without_the_envelope() {
        let error = error(
            401,
            &[],
            &envelope(401, "UNAUTHENTICATED", "bad credentials"),
        );
        assert_eq!(error.class(), ErrorClass::Unauthenticated);
        assert_eq!(
            super::GoogleError {
                status: None,
                ..error
            }
            .class(),
            ErrorClass::Unauthenticated
        );
    }
}
