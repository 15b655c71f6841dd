//! Calling the Selling Partner API: the host puts the access token in
//! `x-amz-access-token` (and renews it once when Amazon refuses a cached
//! one), and Amazon's error envelope
//! (`{"errors":[{"code","message","details"}]}`) is read here.

use serde::Deserialize;
use serde_json::Value;
use sluice_guest::RemoteError;
use sluice_guest::auth::HostAuthFailure;
use sluice_guest::http::{HttpError, Method, Request, Response};

use crate::config::Config;
use crate::lwa;

/// The `User-Agent` Amazon asks SP-API clients to send.
const USER_AGENT: &str = "Sluice/0.1.0 (Language=Rust; Platform=wasm32-wasip2)";

/// An SP-API operation the connector calls, with its documented usage plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `putListingsItem`: 5 requests per second.
    PutListingsItem,
    /// `patchListingsItem`: 5 requests per second.
    PatchListingsItem,
    /// `confirmShipment`: 2 requests per second.
    ConfirmShipment,
    /// `getOrders`: one request a minute.
    GetOrders,
}

impl Operation {
    /// The operation's name in Amazon's models.
    pub fn name(self) -> &'static str {
        match self {
            Self::PutListingsItem => "putListingsItem",
            Self::PatchListingsItem => "patchListingsItem",
            Self::ConfirmShipment => "confirmShipment",
            Self::GetOrders => "getOrders",
        }
    }

    /// Seconds the usage plan takes to restore one request: the shortest
    /// sensible wait after `QuotaExceeded`.
    fn restore_seconds(self) -> u32 {
        match self {
            Self::PutListingsItem | Self::PatchListingsItem => 1,
            Self::ConfirmShipment => 1,
            Self::GetOrders => 60,
        }
    }
}

/// The shortest delay the connector asks for after `QuotaExceeded`.
pub const MIN_QUOTA_BACKOFF_SECONDS: u32 = 2;
/// The longest delay the connector asks for after `QuotaExceeded`.
pub const MAX_QUOTA_BACKOFF_SECONDS: u32 = 900;

/// The delay to ask for after Amazon answered `QuotaExceeded` to attempt
/// `attempt` (1-based; 0 outside deliveries) of `operation`.
///
/// Amazon sends no `Retry-After` with its 429, so the connector backs off on
/// its own: the time the operation's usage plan takes to restore a request
/// (at least [`MIN_QUOTA_BACKOFF_SECONDS`]), doubled with every attempt, up
/// to [`MAX_QUOTA_BACKOFF_SECONDS`].
pub fn quota_backoff_seconds(operation: Operation, attempt: u32) -> u32 {
    let base = operation.restore_seconds().max(MIN_QUOTA_BACKOFF_SECONDS);
    let doublings = attempt.saturating_sub(1).min(16);
    base.saturating_mul(1 << doublings)
        .min(MAX_QUOTA_BACKOFF_SECONDS)
}

/// Why a call brought no answer from the SP-API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The host could not obtain an access token from Login with Amazon,
    /// so the request was not sent.
    Auth(HostAuthFailure),
    /// The request could not be sent or answered.
    Http(HttpError),
}

/// A client of the configured SP-API endpoint.
pub struct SpApi<'a> {
    config: &'a Config,
}

impl<'a> SpApi<'a> {
    /// A client for `config`.
    pub fn new(config: &'a Config) -> Self {
        Self { config }
    }

    /// The full URL of `path_and_query` on the configured endpoint.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.config.endpoint)
    }

    /// Sends `method path_and_query` with `body` (JSON), authenticated by
    /// the host with the seller's refresh token, and returns Amazon's answer,
    /// whatever its status.
    pub fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Response, CallError> {
        let mut request = Request::new(method, self.url(path_and_query))
            .authenticated(lwa::CREDENTIAL)
            .header("accept", "application/json")
            .header("user-agent", USER_AGENT);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().map_err(CallError::Http)?;
        match HostAuthFailure::from_response(&response) {
            Some(failure) => Err(CallError::Auth(failure)),
            None => Ok(response),
        }
    }
}

/// One entry of Amazon's error envelope.
#[derive(Debug, Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
    details: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

/// What Amazon answered to a call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmazonError {
    /// The HTTP status.
    pub status: u16,
    /// The first error's `code` (`QuotaExceeded`, `Unauthorized`, `InvalidInput`).
    pub code: Option<String>,
    /// The first error's `message`.
    pub message: Option<String>,
    /// The first error's `details`, when not empty.
    pub details: Option<String>,
    /// Amazon's `x-amzn-RequestId`, to quote to Amazon's support.
    pub request_id: Option<String>,
}

impl AmazonError {
    /// Reads Amazon's error envelope from `response`; a body that is not one
    /// leaves code and details empty and becomes the message.
    pub fn from_response(response: &Response) -> Self {
        let first = response
            .json::<ErrorEnvelope>()
            .ok()
            .and_then(|envelope| envelope.errors.into_iter().next());
        let non_empty = |text: Option<String>| text.filter(|text| !text.trim().is_empty());
        let (code, message, details) = match first {
            Some(entry) => (
                non_empty(entry.code),
                non_empty(entry.message),
                non_empty(entry.details),
            ),
            None => {
                let body = response.text();
                let body = body.trim();
                (None, (!body.is_empty()).then(|| body.to_owned()), None)
            }
        };
        Self {
            status: response.status,
            code,
            message,
            details,
            request_id: response.header("x-amzn-requestid").map(str::to_owned),
        }
    }

    /// `Code: message (details)`, with whatever Amazon gave.
    pub fn summary(&self) -> String {
        let mut summary = match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => format!("HTTP {}", self.status),
        };
        if let Some(details) = &self.details {
            summary.push_str(&format!(" ({details})"));
        }
        summary
    }

    /// Amazon's answer as the contract's remote error: status, code, and the
    /// message with its details.
    pub fn remote(&self) -> RemoteError {
        let mut remote = RemoteError::http(self.status);
        if let Some(code) = &self.code {
            remote = remote.with_code(code);
        }
        let message = match (&self.message, &self.details) {
            (Some(message), Some(details)) => Some(format!("{message} ({details})")),
            (Some(message), None) => Some(message.clone()),
            (None, Some(details)) => Some(details.clone()),
            (None, None) => None,
        };
        if let Some(message) = message {
            remote = remote.with_message(&message);
        }
        remote
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response::new(status, &[("x-amzn-requestid", "req-1")], body)
    }

    #[test]
    fn errors_are_read_from_amazons_envelope() {
        let error = AmazonError::from_response(&response(
            403,
            r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":"The access token you provided has expired."}]}"#,
        ));
        assert_eq!(error.code.as_deref(), Some("Unauthorized"));
        assert_eq!(
            error.summary(),
            "Unauthorized: Access to requested resource is denied. \
             (The access token you provided has expired.)"
        );
        assert_eq!(error.request_id.as_deref(), Some("req-1"));
        let remote = error.remote();
        assert_eq!(remote.status, Some(403));
        assert_eq!(remote.code.as_deref(), Some("Unauthorized"));
    }

    #[test]
    fn empty_details_are_left_out() {
        let error = AmazonError::from_response(&response(
            429,
            r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]}"#,
        ));
        assert_eq!(error.details, None);
        assert_eq!(
            error.summary(),
            "QuotaExceeded: You exceeded your quota for the requested resource."
        );
    }

    #[test]
    fn bodies_that_are_not_the_envelope_become_the_message() {
        let error = AmazonError::from_response(&response(502, "Bad Gateway"));
        assert_eq!(error.code, None);
        assert_eq!(error.summary(), "Bad Gateway");
        assert_eq!(
            AmazonError::from_response(&response(500, "")).summary(),
            "HTTP 500"
        );
    }

    #[test]
    fn quota_backoff_doubles_from_the_usage_plan_up_to_a_cap() {
        assert_eq!(quota_backoff_seconds(Operation::PutListingsItem, 0), 2);
        assert_eq!(quota_backoff_seconds(Operation::PutListingsItem, 1), 2);
        assert_eq!(quota_backoff_seconds(Operation::PutListingsItem, 2), 4);
        assert_eq!(quota_backoff_seconds(Operation::PutListingsItem, 4), 16);
        assert_eq!(quota_backoff_seconds(Operation::GetOrders, 1), 60);
        assert_eq!(quota_backoff_seconds(Operation::GetOrders, 5), 900);
        assert_eq!(
            quota_backoff_seconds(Operation::ConfirmShipment, u32::MAX),
            MAX_QUOTA_BACKOFF_SECONDS
        );
    }
}
