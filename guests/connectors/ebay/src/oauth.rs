//! eBay's OAuth, as far as the connector still sees it.
//!
//! The host holds the app's keys and the seller's refresh token: it trades
//! the refresh token for a user access token at
//! `/identity/v1/oauth2/token` of the API host the request goes to (Basic
//! client authentication, the sell.inventory and sell.fulfillment scopes;
//! the manifest's `[credentials.auth]`), caches the token until shortly
//! before it expires, and renews it once when eBay answers 401. A request
//! only names the credential ([`REFRESH_TOKEN`]); when the host cannot get
//! a token it answers the request itself, and [`TokenFailure`] says what a
//! store admin should do about that answer.

use sluice_guest::auth::{HostAuthFailure, HostAuthReason};
use sluice_guest::http::Response;
use sluice_guest::{CheckStatus, DeliveryOutcome, RemoteError, SyncError};

use crate::config::{Account, Environment};

/// The credential the host authenticates Sell API calls with: the seller's
/// refresh token, with `client_id` and `client_secret` as its companions.
pub const REFRESH_TOKEN: &str = "refresh_token";

/// The OAuth `error` codes that mean the app's keys or the seller's consent
/// must change.
const UNAUTHORIZED_CODES: [&str; 4] = [
    "invalid_client",
    "invalid_grant",
    "invalid_scope",
    "unauthorized_client",
];

/// Why the host could get no access token for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFailure {
    failure: HostAuthFailure,
    /// The token endpoint's `Retry-After`, which the host passes on, in
    /// seconds.
    retry_after: Option<u32>,
}

impl TokenFailure {
    /// The host's own answer in `response`, if it is one; eBay's answers
    /// (a 401 errorId 1001 included) give `None`. `now_ms` dates its
    /// `Retry-After`.
    pub fn from_response(response: &Response, now_ms: u64) -> Option<Self> {
        HostAuthFailure::from_response(response).map(|failure| Self {
            failure,
            retry_after: response.retry_after(now_ms),
        })
    }

    /// Whether a later attempt may succeed: the token endpoint failed, as
    /// opposed to refusing the credentials.
    pub fn is_retryable(&self) -> bool {
        self.failure.is_retryable()
    }

    /// eBay's OAuth `error` code, when its token endpoint gave one
    /// (`invalid_grant`, `invalid_client`, `temporarily_unavailable`, ...).
    pub fn code(&self) -> Option<&str> {
        self.failure.token_error().filter(|code| !code.is_empty())
    }

    /// Whether eBay refused the app's keys or the seller's consent.
    pub fn is_unauthorized(&self) -> bool {
        self.code()
            .is_some_and(|code| UNAUTHORIZED_CODES.contains(&code))
    }

    /// eBay's `error_description`, or else the host's explanation.
    fn description(&self) -> &str {
        self.failure
            .token_endpoint
            .as_ref()
            .and_then(|refusal| refusal.description.as_deref())
            .unwrap_or(&self.failure.description)
    }

    /// One sentence for the store admin: what is wrong and what to fix.
    pub fn explain(&self, account: &Account) -> String {
        match (self.failure.reason, self.code()) {
            (HostAuthReason::TokenRefused, Some("invalid_client")) => {
                let (environment, tag, other) = match account.environment {
                    Environment::Production => ("production", "PRD", "SBX"),
                    Environment::Sandbox => ("sandbox", "SBX", "PRD"),
                };
                format!(
                    "eBay refused the app's client id or client secret (invalid_client); check the App ID and Cert ID of the {environment} keyset (its App ID contains -{tag}-; one containing -{other}- is of the other environment's keyset, so set environment to match or use the {environment} keyset)."
                )
            }
            (HostAuthReason::TokenRefused, Some("invalid_grant")) => "eBay refused the refresh token (invalid_grant): it was revoked, has expired or was issued to another app; have the seller grant access again and set the new refresh token.".to_owned(),
            (HostAuthReason::TokenRefused, Some("invalid_scope")) => "eBay refused the scopes asked for (invalid_scope): the refresh token must grant sell.inventory and sell.fulfillment; have the seller grant access to both.".to_owned(),
            (HostAuthReason::TokenRefused, Some(code)) => {
                format!("eBay refused the token request ({code}): {}", self.description())
            }
            (HostAuthReason::TokenRefused, None) => {
                format!("eBay refused the token request: {}", self.description())
            }
            // The host names the credential that is missing or unusable.
            (HostAuthReason::CredentialUnreadable, _) => {
                format!("{}; nothing was sent to eBay.", self.failure.description)
            }
            (HostAuthReason::TokenEndpointFailed, code) => {
                let answer = self.failure.token_endpoint.as_ref();
                let said = answer.and_then(|answer| answer.description.as_deref());
                match (answer.map(|answer| answer.status), code, said) {
                    (Some(status), Some(code), Some(said)) => {
                        format!("eBay's token endpoint answered HTTP {status} ({code}): {said}")
                    }
                    (Some(status), Some(code), None) => format!(
                        "eBay's token endpoint answered HTTP {status} ({code}) without an access token."
                    ),
                    (Some(status), None, _) => format!(
                        "eBay's token endpoint answered HTTP {status} without an access token."
                    ),
                    // It could not be reached: the host says why.
                    (None, _, _) => format!(
                        "eBay's token endpoint issued no access token: {}",
                        self.failure.description
                    ),
                }
            }
        }
    }

    /// eBay's token endpoint's answer, when the host passed it on (the
    /// host's own 401 or 503 is not eBay's).
    pub fn remote(&self) -> Option<RemoteError> {
        let refusal = self.failure.token_endpoint.as_ref()?;
        let remote = RemoteError::http(refusal.status);
        let remote = match self.code() {
            Some(code) => remote.with_code(code),
            None => remote,
        };
        Some(match &refusal.description {
            Some(description) => remote.with_message(description),
            None => remote,
        })
    }

    /// The delivery outcome: a retry or a permanent failure.
    pub fn outcome(&self, account: &Account) -> DeliveryOutcome {
        let reason = self.explain(account);
        let outcome = if self.is_retryable() {
            DeliveryOutcome::retry(reason, self.retry_after)
        } else {
            DeliveryOutcome::failed(reason)
        };
        match self.remote() {
            Some(remote) => outcome.with_remote(remote),
            None => outcome,
        }
    }

    /// The sync error.
    pub fn sync_error(&self, account: &Account) -> SyncError {
        let reason = self.explain(account);
        let error = if self.is_retryable() {
            SyncError::retryable(reason)
        } else {
            SyncError::permanent(reason)
        };
        match self.remote() {
            Some(remote) => error.with_remote(remote),
            None => error,
        }
    }

    /// The connection check's status: unauthorized for refused keys or
    /// consent, unreachable when eBay failed, misconfigured otherwise.
    pub fn check_status(&self) -> CheckStatus {
        if self.is_unauthorized() {
            CheckStatus::Unauthorized
        } else if self.is_retryable() {
            CheckStatus::Unreachable
        } else {
            CheckStatus::Misconfigured
        }
    }

    /// The connection check's finding for its `token` step.
    pub fn finding(&self) -> String {
        match (self.is_retryable(), self.code()) {
            (true, Some(code)) => format!("failed: {code}"),
            (true, None) => "failed".to_owned(),
            (false, Some(code)) => format!("refused: {code}"),
            (false, None) => "not requested: the host could not use the credentials".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use sluice_guest::auth::HOST_AUTH_ERROR_HEADER;

    use super::*;

    const NOW_MS: u64 = 1_767_225_600_000;

    fn production() -> Account {
        Account {
            environment: Environment::Production,
        }
    }

    /// The host's answer when eBay's token endpoint refused the grant.
    fn refused(status: u16, code: &str, description: &str) -> TokenFailure {
        let body = serde_json::json!({
            "error": "token-refused",
            "error_description": format!("the host could not obtain an access token for credential 'refresh_token': the token endpoint answered {status}: {code} ({description})"),
            "token_endpoint": {"status": status, "error": code, "error_description": description},
        });
        let response = Response::new(
            401,
            &[(HOST_AUTH_ERROR_HEADER, "token-refused")],
            body.to_string(),
        );
        TokenFailure::from_response(&response, NOW_MS).unwrap()
    }

    /// The host's answer when eBay's token endpoint failed with `answer`
    /// (`{"status","error"}`), or could not be reached (`None`).
    fn endpoint_failed(
        answer: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> TokenFailure {
        let mut body = serde_json::json!({
            "error": "token-endpoint-failed",
            "error_description": "the host could not obtain an access token for credential 'refresh_token': the token endpoint failed: connection refused",
        });
        if let Some(answer) = answer {
            body["token_endpoint"] = answer;
        }
        let mut headers = headers.to_vec();
        headers.push((HOST_AUTH_ERROR_HEADER, "token-endpoint-failed"));
        let response = Response::new(503, &headers, body.to_string());
        TokenFailure::from_response(&response, NOW_MS).unwrap()
    }

    #[test]
    fn ebays_own_401_is_not_a_token_failure() {
        let response = Response::new(
            401,
            &[],
            r#"{"errors":[{"errorId":1001,"domain":"OAuth","message":"Invalid access token"}]}"#,
        );
        assert_eq!(TokenFailure::from_response(&response, NOW_MS), None);
    }

    #[test]
    fn a_revoked_refresh_token_fails_for_good_and_says_to_grant_again() {
        let failure = refused(400, "invalid_grant", "the refresh token is invalid");
        assert!(!failure.is_retryable());
        assert!(matches!(failure.check_status(), CheckStatus::Unauthorized));
        assert_eq!(failure.finding(), "refused: invalid_grant");
        let DeliveryOutcome::Failed(failed) = failure.outcome(&production()) else {
            panic!("expected a permanent failure");
        };
        assert!(
            failed
                .reason
                .starts_with("eBay refused the refresh token (invalid_grant)")
        );
        assert!(failed.reason.contains("have the seller grant access again"));
        let remote = failed.remote.unwrap();
        assert_eq!(
            (
                remote.status,
                remote.code.as_deref(),
                remote.message.as_deref()
            ),
            (
                Some(400),
                Some("invalid_grant"),
                Some("the refresh token is invalid")
            )
        );
    }

    #[test]
    fn refused_app_keys_name_the_keyset_of_the_environment() {
        let failure = refused(401, "invalid_client", "client authentication failed");
        assert!(matches!(failure.check_status(), CheckStatus::Unauthorized));
        let production = failure.explain(&production());
        assert!(
            production.starts_with("eBay refused the app's client id or client secret (invalid_client); check the App ID and Cert ID of the production keyset (its App ID contains -PRD-;"),
            "{production}"
        );
        let sandbox = failure.explain(&Account {
            environment: Environment::Sandbox,
        });
        assert!(
            sandbox.contains("sandbox keyset (its App ID contains -SBX-;"),
            "{sandbox}"
        );
    }

    #[test]
    fn missing_scopes_say_which_to_grant_and_other_codes_are_quoted() {
        let scope = refused(400, "invalid_scope", "exceeds the granted scope");
        assert!(
            scope
                .explain(&production())
                .contains("sell.inventory and sell.fulfillment")
        );
        let other = refused(400, "unsupported_grant_type", "not supported");
        assert_eq!(
            other.explain(&production()),
            "eBay refused the token request (unsupported_grant_type): not supported"
        );
        assert!(matches!(other.check_status(), CheckStatus::Misconfigured));
    }

    #[test]
    fn a_failing_token_endpoint_is_retried_when_it_asks_with_its_code() {
        let failure = endpoint_failed(
            Some(serde_json::json!({"status": 503, "error": "temporarily_unavailable"})),
            &[("retry-after", "120")],
        );
        assert!(failure.is_retryable());
        assert!(!failure.is_unauthorized());
        assert!(matches!(failure.check_status(), CheckStatus::Unreachable));
        assert_eq!(failure.finding(), "failed: temporarily_unavailable");
        let DeliveryOutcome::Retry(retry) = failure.outcome(&production()) else {
            panic!("expected a retry");
        };
        assert_eq!(
            retry.reason,
            "eBay's token endpoint answered HTTP 503 (temporarily_unavailable) without an access token."
        );
        assert_eq!(retry.after_seconds, Some(120));
        let remote = retry.remote.unwrap();
        assert_eq!(
            (remote.status, remote.code.as_deref()),
            (Some(503), Some("temporarily_unavailable"))
        );
        assert!(failure.sync_error(&production()).retryable);
    }

    #[test]
    fn an_unreachable_token_endpoint_is_retried_without_claiming_an_ebay_answer() {
        let failure = endpoint_failed(None, &[]);
        assert!(failure.is_retryable());
        assert_eq!(failure.finding(), "failed");
        assert!(failure.remote().is_none());
        let SyncError {
            reason, retryable, ..
        } = failure.sync_error(&production());
        assert!(retryable);
        assert_eq!(
            reason,
            "eBay's token endpoint issued no access token: the host could not obtain an access token for credential 'refresh_token': the token endpoint failed: connection refused"
        );
    }

    #[test]
    fn incomplete_credentials_are_a_permanent_misconfiguration() {
        let response = Response::new(
            401,
            &[(HOST_AUTH_ERROR_HEADER, "credential-unreadable")],
            r#"{"error":"credential-unreadable","error_description":"the host could not obtain an access token for credential 'refresh_token': credential 'refresh_token' needs credential 'client_id', which is not set"}"#,
        );
        let failure = TokenFailure::from_response(&response, NOW_MS).unwrap();
        assert!(!failure.is_retryable());
        assert!(matches!(failure.check_status(), CheckStatus::Misconfigured));
        assert_eq!(
            failure.explain(&production()),
            "the host could not obtain an access token for credential 'refresh_token': credential 'refresh_token' needs credential 'client_id', which is not set; nothing was sent to eBay."
        );
        assert!(matches!(
            failure.outcome(&production()),
            DeliveryOutcome::Failed(_)
        ));
    }
}
