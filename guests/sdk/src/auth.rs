//! Requests the host authenticates with credentials the component never
//! holds.
//!
//! A credential whose manifest entry has an `auth` table (a bearer token, an
//! API key, an OAuth refresh token or service-account key, an HMAC secret,
//! an incoming-webhook URL) is applied by the host, and only to the origins
//! the manifest binds it to. Ask for it with
//! [`Request::authenticated`](crate::http::Request::authenticated):
//!
//! ```ignore
//! let response = Request::post("https://slack.com/api/chat.postMessage")
//!     .authenticated("bot_token")
//!     .json(&message)
//!     .send()?;
//! ```

use std::fmt;

use crate::bindings::sluice::connector::auth;

/// Why the host cannot authenticate a request with a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The manifest declares no such credential, or not with an `auth` table.
    NotHostManaged(String),
    /// The configuration leaves the credential unset.
    NotConfigured(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotHostManaged(key) => write!(
                f,
                "credential '{key}' is not applied by the host: the manifest gives it no [credentials.auth] table"
            ),
            Self::NotConfigured(key) => {
                write!(f, "credential '{key}' is not set in this configuration")
            }
        }
    }
}

impl std::error::Error for AuthError {}

/// The header (name, value) that asks the host to authenticate a request
/// with credential `key`.
pub fn request_header(key: &str) -> Result<(String, String), AuthError> {
    auth::request_header(key).map_err(|error| match error {
        auth::AuthError::NotHostManaged => AuthError::NotHostManaged(key.to_owned()),
        auth::AuthError::NotConfigured => AuthError::NotConfigured(key.to_owned()),
    })
}

/// The header on an answer the host wrote itself because it could not
/// obtain an access token for the request.
pub const HOST_AUTH_ERROR_HEADER: &str = "sluice-auth-error";

/// Why the host answered a request itself instead of sending it: it could
/// not obtain an access token with the credential the request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAuthFailure {
    /// What went wrong.
    pub reason: HostAuthReason,
    /// The host's explanation, naming the credential (never its value).
    pub description: String,
    /// The token endpoint's answer, when it gave one.
    pub token_endpoint: Option<TokenEndpointRefusal>,
}

/// What kept the host from obtaining an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAuthReason {
    /// The token endpoint refused the credential (a revoked grant, a wrong
    /// client): someone must change the configuration.
    TokenRefused,
    /// The credential's value cannot be used as the scheme needs (a
    /// service-account key that is not one).
    CredentialUnreadable,
    /// The token endpoint failed or could not be reached; a later attempt
    /// may succeed.
    TokenEndpointFailed,
}

/// A token endpoint's answer without a token: a refusal (RFC 6749 section
/// 5.2) or a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEndpointRefusal {
    /// Its HTTP status.
    pub status: u16,
    /// Its `error` code, for example `invalid_grant` or `invalid_client`;
    /// empty when it gave none.
    pub error: String,
    /// Its `error_description`, if any.
    pub description: Option<String>,
}

impl HostAuthFailure {
    /// The host's own answer in `response`, if it is one (header
    /// [`HOST_AUTH_ERROR_HEADER`]); answers from the remote system give
    /// `None`.
    pub fn from_response(response: &crate::http::Response) -> Option<Self> {
        let reason = match response.header(HOST_AUTH_ERROR_HEADER)? {
            "token-refused" => HostAuthReason::TokenRefused,
            "credential-unreadable" => HostAuthReason::CredentialUnreadable,
            _ => HostAuthReason::TokenEndpointFailed,
        };
        let body: serde_json::Value = response.json().unwrap_or_default();
        let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
        let token_endpoint = body
            .get("token_endpoint")
            .map(|refusal| TokenEndpointRefusal {
                status: refusal["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(response.status),
                error: text(&refusal["error"]).unwrap_or_default(),
                description: text(&refusal["error_description"]),
            });
        Some(Self {
            reason,
            description: text(&body["error_description"])
                .unwrap_or_else(|| response.text().into_owned()),
            token_endpoint,
        })
    }

    /// Whether a later attempt may succeed without anyone changing the
    /// configuration.
    pub fn is_retryable(&self) -> bool {
        self.reason == HostAuthReason::TokenEndpointFailed
    }

    /// The token endpoint's `error` code (`invalid_grant`,
    /// `temporarily_unavailable`), if it gave one.
    pub fn token_error(&self) -> Option<&str> {
        self.token_endpoint
            .as_ref()
            .map(|answer| answer.error.as_str())
            .filter(|error| !error.is_empty())
    }
}

impl fmt::Display for HostAuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Response;

    #[test]
    fn the_hosts_refusal_carries_the_token_endpoints_error() {
        let response = Response::new(
            401,
            &[(HOST_AUTH_ERROR_HEADER, "token-refused")],
            r#"{"error":"token-refused","error_description":"the host could not obtain an access token for credential 'refresh_token': the token endpoint answered 400: invalid_grant","token_endpoint":{"status":400,"error":"invalid_grant","error_description":"revoked"}}"#,
        );
        let failure = HostAuthFailure::from_response(&response).unwrap();
        assert_eq!(failure.reason, HostAuthReason::TokenRefused);
        assert_eq!(failure.token_error(), Some("invalid_grant"));
        assert_eq!(
            failure.token_endpoint.unwrap().description.as_deref(),
            Some("revoked")
        );
        assert!(
            !HostAuthFailure::from_response(&response)
                .unwrap()
                .is_retryable()
        );
    }

    #[test]
    fn a_failing_token_endpoint_is_retryable_and_a_remote_401_is_not_the_hosts() {
        let failed = Response::new(
            503,
            &[(HOST_AUTH_ERROR_HEADER, "token-endpoint-failed")],
            r#"{"error":"token-endpoint-failed","error_description":"connection refused"}"#,
        );
        let failure = HostAuthFailure::from_response(&failed).unwrap();
        assert!(failure.is_retryable());
        assert_eq!(failure.to_string(), "connection refused");
        assert_eq!(
            HostAuthFailure::from_response(&Response::new(401, &[], "{}")),
            None
        );
    }
}
