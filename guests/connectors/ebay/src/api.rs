//! Calling the Sell APIs: each request authenticated by the host with the
//! seller's refresh token ([`crate::oauth`]), and eBay's error envelope read
//! into outcomes.
//!
//! Every Sell API error is `{"errors":[{"errorId","domain","category",
//! "message","longMessage","parameters":[{"name","value"}]}]}`. A bad or
//! expired token is 401 errorId 1001 (the host renews a cached token once
//! and sends the request again, so the connector sees a 401 only for a
//! token just obtained), a missing scope 403 errorId 1100, a throttled call
//! 429.

use serde::Deserialize;
use sluice_guest::http::{HttpError, Request, Response};
use sluice_guest::{DeliveryOutcome, RemoteError, SyncError};

use crate::config::Account;
use crate::oauth::{REFRESH_TOKEN, TokenFailure};

/// The Inventory API's base path.
pub const INVENTORY: &str = "/sell/inventory/v1";
/// The Fulfillment API's base path.
pub const FULFILLMENT: &str = "/sell/fulfillment/v1";

/// errorId of a token without the API's scope.
const INSUFFICIENT_PERMISSIONS: u64 = 1100;
/// errorIds of eBay's own failures (Inventory, Fulfillment).
const SYSTEM_ERRORS: [u64; 2] = [25001, 30500];

/// Why a call got no answer from eBay.
#[derive(Debug)]
pub enum CallError {
    /// The host could get no access token, and answered itself.
    Token(TokenFailure),
    /// No answer.
    Http(HttpError),
}

/// Calls to the Sell APIs of one account.
pub struct Session<'a> {
    account: &'a Account,
    /// The invocation's time, which dates a `Retry-After`.
    now_ms: u64,
}

impl<'a> Session<'a> {
    /// A session for `account` at `now_ms`.
    pub fn new(account: &'a Account, now_ms: u64) -> Self {
        Self { account, now_ms }
    }

    /// The account.
    pub fn account(&self) -> &'a Account {
        self.account
    }

    /// `https://<host><path>`.
    pub fn url(&self, path: &str) -> String {
        self.account.url(path)
    }

    /// Sends `request` with the access token the host applies; the host's
    /// own answer, when it could get no token, is a [`CallError::Token`].
    pub fn send(&self, request: Request) -> Result<Response, CallError> {
        let response = request
            .header("accept", "application/json")
            .authenticated(REFRESH_TOKEN)
            .send()
            .map_err(CallError::Http)?;
        match TokenFailure::from_response(&response, self.now_ms) {
            Some(failure) => Err(CallError::Token(failure)),
            None => Ok(response),
        }
    }
}

impl CallError {
    /// The delivery outcome.
    pub fn outcome(&self, account: &Account, action: &str) -> DeliveryOutcome {
        match self {
            Self::Token(failure) => failure.outcome(account),
            Self::Http(error) if error.is_retryable() => {
                DeliveryOutcome::retry(format!("could not reach eBay to {action}: {error}"), None)
            }
            Self::Http(error) if error.is_refused() => DeliveryOutcome::failed(format!(
                "Sluice refused to send the request to {action}: {error}"
            )),
            Self::Http(error) => {
                DeliveryOutcome::failed(format!("the request to {action} failed: {error}"))
            }
        }
    }

    /// The sync error.
    pub fn sync_error(&self, account: &Account, action: &str) -> SyncError {
        match self {
            Self::Token(failure) => failure.sync_error(account),
            Self::Http(error) => SyncError {
                reason: format!("could not reach eBay to {action}: {error}"),
                retryable: error.is_retryable(),
                remote: None,
            },
        }
    }
}

/// One `name`/`value` of an error.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Parameter {
    /// `name`.
    #[serde(default)]
    pub name: String,
    /// `value`.
    #[serde(default)]
    pub value: String,
}

/// One entry of `errors`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// `errorId`.
    #[serde(default)]
    pub error_id: Option<u64>,
    /// `category`: `REQUEST`, `APPLICATION` or `BUSINESS`.
    #[serde(default)]
    pub category: Option<String>,
    /// `message`.
    #[serde(default)]
    pub message: Option<String>,
    /// `longMessage`.
    #[serde(default)]
    pub long_message: Option<String>,
    /// `parameters`.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

impl ApiError {
    /// The value of parameter `name`.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|parameter| parameter.name == name)
            .map(|parameter| parameter.value.as_str())
    }

    /// `25002: Offer entity already exists [offerId=5005317010]`.
    pub fn describe(&self) -> String {
        let message = self
            .message
            .as_deref()
            .or(self.long_message.as_deref())
            .unwrap_or("no message");
        let mut text = match self.error_id {
            Some(id) => format!("{id}: {message}"),
            None => message.to_owned(),
        };
        let parameters: Vec<String> = self
            .parameters
            .iter()
            .filter(|parameter| !parameter.name.is_empty())
            .map(|parameter| format!("{}={}", parameter.name, parameter.value))
            .collect();
        if !parameters.is_empty() {
            text.push_str(&format!(" [{}]", parameters.join(", ")));
        }
        text
    }
}

/// The `errors` of an answer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ErrorList {
    /// The entries.
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

impl ErrorList {
    /// The errors in `response`'s body; none when it has no envelope.
    pub fn read(response: &Response) -> Self {
        response.json().unwrap_or_default()
    }

    /// Whether one of the errors has `error_id`.
    pub fn has(&self, error_id: u64) -> bool {
        self.find(error_id).is_some()
    }

    /// The first error with `error_id`.
    pub fn find(&self, error_id: u64) -> Option<&ApiError> {
        self.errors
            .iter()
            .find(|error| error.error_id == Some(error_id))
    }

    /// Every error described, joined with `; `.
    pub fn summary(&self) -> Option<String> {
        if self.errors.is_empty() {
            None
        } else {
            Some(
                self.errors
                    .iter()
                    .map(ApiError::describe)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        }
    }

    /// The first errorId, as a remote error code.
    pub fn first_id(&self) -> Option<String> {
        self.errors
            .iter()
            .find_map(|error| error.error_id)
            .map(|id| id.to_string())
    }
}

/// An answer that is not the success the caller expected.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// eBay's errors.
    pub errors: ErrorList,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u32>,
    /// The start of the body, when it holds no errors.
    pub body: String,
}

impl Refusal {
    /// Reads `response`; `now_ms` dates `Retry-After`.
    pub fn read(response: &Response, now_ms: u64) -> Self {
        let errors = ErrorList::read(response);
        let body = if errors.errors.is_empty() {
            response.text().chars().take(300).collect()
        } else {
            String::new()
        };
        Self {
            status: response.status,
            errors,
            retry_after: response.retry_after(now_ms),
            body,
        }
    }

    /// What eBay said, for the outcome's `remote`.
    pub fn remote(&self) -> RemoteError {
        let remote = RemoteError::http(self.status);
        let remote = match self.errors.first_id() {
            Some(code) => remote.with_code(code),
            None => remote,
        };
        match self.errors.summary() {
            Some(summary) => remote.with_message(&summary),
            None if !self.body.trim().is_empty() => remote.with_message(self.body.trim()),
            None => remote,
        }
    }

    /// Whether a later attempt may succeed: throttling, eBay's own
    /// failures, and a token refused even after the host renewed it.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 401 | 408 | 429 | 500..=599)
            || SYSTEM_ERRORS.iter().any(|id| self.errors.has(*id))
    }

    /// Why the call to `action` failed, in one sentence.
    pub fn reason(&self, action: &str) -> String {
        let said = self
            .errors
            .summary()
            .unwrap_or_else(|| format!("HTTP {}", self.status));
        match self.status {
            429 => format!("eBay is throttling calls (HTTP 429) and did not {action}"),
            401 => format!("eBay refused a newly issued access token and did not {action}: {said}"),
            403 if self.errors.has(INSUFFICIENT_PERMISSIONS) => format!(
                "the access token lacks the scope to {action}: {said}; have the seller grant sell.inventory and sell.fulfillment again"
            ),
            500..=599 => format!("eBay failed (HTTP {}) to {action}: {said}", self.status),
            _ if self.is_retryable() => format!("eBay failed to {action}: {said}"),
            _ => format!("eBay refused to {action}: {said}"),
        }
    }

    /// The delivery outcome.
    pub fn outcome(&self, action: &str) -> DeliveryOutcome {
        let reason = self.reason(action);
        if self.is_retryable() {
            DeliveryOutcome::retry(reason, self.retry_after)
        } else {
            DeliveryOutcome::failed(reason)
        }
        .with_remote(self.remote())
    }

    /// The sync error.
    pub fn sync_error(&self, action: &str) -> SyncError {
        let reason = self.reason(action);
        if self.is_retryable() {
            SyncError::retryable(reason)
        } else {
            SyncError::permanent(reason)
        }
        .with_remote(self.remote())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response::new(status, &[], body)
    }

    const PUBLISH_BLOCKERS: &str = r#"{"errors":[
        {"errorId":25005,"domain":"API_INVENTORY","category":"REQUEST","message":"The offer has no category.","parameters":[{"name":"fieldName","value":"categoryId"}]},
        {"errorId":25007,"domain":"API_INVENTORY","category":"REQUEST","message":"The fulfillment policy is missing or unknown."}]}"#;

    #[test]
    fn validation_errors_fail_with_every_error_described() {
        let refusal = Refusal::read(&response(400, PUBLISH_BLOCKERS), 0);
        assert!(!refusal.is_retryable());
        assert_eq!(
            refusal.reason("publish offer 1"),
            "eBay refused to publish offer 1: 25005: The offer has no category. [fieldName=categoryId]; 25007: The fulfillment policy is missing or unknown."
        );
        let remote = refusal.remote();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("25005"));
    }

    #[test]
    fn throttling_and_server_errors_retry() {
        let throttled = Refusal::read(
            &response(
                429,
                r#"{"errors":[{"errorId":2001,"message":"Too many requests."}]}"#,
            ),
            0,
        );
        assert!(throttled.is_retryable());
        let system = Refusal::read(
            &response(
                500,
                r#"{"errors":[{"errorId":25001,"message":"A system error has occurred."}]}"#,
            ),
            0,
        );
        assert!(system.is_retryable());
        let gateway = Refusal::read(&response(502, "<html>Bad Gateway</html>"), 0);
        assert!(gateway.is_retryable());
        assert_eq!(
            gateway.remote().message.as_deref(),
            Some("<html>Bad Gateway</html>")
        );
    }

    #[test]
    fn a_token_refused_after_the_hosts_renewal_is_retried() {
        let refusal = Refusal::read(
            &response(
                401,
                r#"{"errors":[{"errorId":1001,"domain":"OAuth","category":"REQUEST","message":"Invalid access token"}]}"#,
            ),
            0,
        );
        assert!(refusal.is_retryable());
        assert_eq!(
            refusal.reason("list orders"),
            "eBay refused a newly issued access token and did not list orders: 1001: Invalid access token"
        );
        assert_eq!(refusal.remote().code.as_deref(), Some("1001"));
    }

    #[test]
    fn a_missing_scope_says_what_to_grant() {
        let refusal = Refusal::read(
            &response(
                403,
                r#"{"errors":[{"errorId":1100,"domain":"ACCESS","message":"Access denied"}]}"#,
            ),
            0,
        );
        assert!(!refusal.is_retryable());
        assert!(
            refusal
                .reason("list orders")
                .contains("grant sell.inventory")
        );
    }
}
