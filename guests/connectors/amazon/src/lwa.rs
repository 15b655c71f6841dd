//! Login with Amazon, as far as the connector still deals with it.
//!
//! The host trades the seller's refresh token for access tokens
//! (`POST https://api.amazon.com/auth/o2/token`, grant `refresh_token`,
//! manifest credential `refresh_token`), caches them and renews one Amazon
//! refuses; the connector never sees the refresh token, the client secret or
//! an access token. When the host cannot get a token it answers the request
//! itself ([`HostAuthFailure`]), and this module says what that means to the
//! store admin, in Login with Amazon's terms.

use sluice_guest::RemoteError;
use sluice_guest::auth::{HostAuthFailure, HostAuthReason};

/// The credential the host applies to every SP-API request.
pub const CREDENTIAL: &str = "refresh_token";

/// Login with Amazon's `error` codes that mean the app's credentials or the
/// seller's grant were refused: someone must change the configuration.
const REFUSED_CREDENTIALS: [&str; 5] = [
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "access_denied",
    "invalid_scope",
];

/// Whether Login with Amazon refused the app's credentials or the refresh
/// token (rather than the request, or failing itself).
pub fn is_refused_credentials(failure: &HostAuthFailure) -> bool {
    failure.reason == HostAuthReason::TokenRefused
        && failure.token_error().is_none_or(|code| {
            // `unauthorized` is the host's word for a bare 401.
            REFUSED_CREDENTIALS.contains(&code) || code == "unauthorized"
        })
}

/// What went wrong and what to do about it, for the store admin.
pub fn explain(failure: &HostAuthFailure) -> String {
    match failure.reason {
        HostAuthReason::TokenRefused => match &failure.token_endpoint {
            Some(refusal) => {
                let code = refusal.error.as_str();
                let said = match refusal.description.as_deref() {
                    Some(description) if !description.trim().is_empty() => {
                        format!("{code}: {description}")
                    }
                    _ => code.to_owned(),
                };
                match code {
                    "invalid_client" | "unauthorized" => format!(
                        "Login with Amazon refused the app's client id or client secret ({said}); \
                         set the LWA client id and secret of the SP-API app"
                    ),
                    "invalid_grant" => format!(
                        "Login with Amazon refused the refresh token ({said}); the seller revoked \
                         the app's authorization or the token belongs to another app: authorize \
                         the app again and save the new refresh token"
                    ),
                    "unauthorized_client" | "access_denied" | "invalid_scope" => format!(
                        "Login with Amazon does not let this app use the refresh token ({said})"
                    ),
                    _ => format!(
                        "Login with Amazon refused the token request with HTTP {} ({said})",
                        refusal.status
                    ),
                }
            }
            None => format!("Login with Amazon refused the credentials: {failure}"),
        },
        HostAuthReason::CredentialUnreadable => format!(
            "Sluice cannot ask Login with Amazon for an access token with these credentials \
             ({failure}); set the LWA client id, client secret and refresh token"
        ),
        HostAuthReason::TokenEndpointFailed => {
            format!("Login with Amazon gave no access token: {failure}")
        }
    }
}

/// Login with Amazon's refusal, for the attempt log; none when it did not
/// answer with one.
pub fn remote(failure: &HostAuthFailure) -> Option<RemoteError> {
    let refusal = failure.token_endpoint.as_ref()?;
    let mut remote = RemoteError::http(refusal.status).with_code(&refusal.error);
    if let Some(description) = &refusal.description {
        remote = remote.with_message(description);
    }
    Some(remote)
}

#[cfg(test)]
pub(crate) mod tests {
    use sluice_guest::auth::HOST_AUTH_ERROR_HEADER;
    use sluice_guest::http::Response;

    use super::*;

    /// The host's answer when Login with Amazon refused the grant with
    /// `status` and `code`.
    pub(crate) fn refused(status: u16, code: &str) -> HostAuthFailure {
        let body = serde_json::json!({
            "error": "token-refused",
            "error_description": format!(
                "the host could not obtain an access token for credential 'refresh_token': \
                 the token endpoint answered {status}: {code}"
            ),
            "token_endpoint": {"status": status, "error": code, "error_description": "said LWA"},
        });
        let response = Response::new(
            401,
            &[(HOST_AUTH_ERROR_HEADER, "token-refused")],
            body.to_string(),
        );
        HostAuthFailure::from_response(&response).unwrap()
    }

    /// The host's answer when Login with Amazon failed.
    pub(crate) fn unavailable() -> HostAuthFailure {
        let response = Response::new(
            503,
            &[(HOST_AUTH_ERROR_HEADER, "token-endpoint-failed")],
            r#"{"error":"token-endpoint-failed","error_description":"the host could not obtain an access token for credential 'refresh_token': the token endpoint answered 503 Service Unavailable without an access token"}"#,
        );
        HostAuthFailure::from_response(&response).unwrap()
    }

    /// The host's answer when a credential the grant needs is not set.
    pub(crate) fn unreadable() -> HostAuthFailure {
        let response = Response::new(
            401,
            &[(HOST_AUTH_ERROR_HEADER, "credential-unreadable")],
            r#"{"error":"credential-unreadable","error_description":"credential 'refresh_token' needs credential 'client_id', which is not set"}"#,
        );
        HostAuthFailure::from_response(&response).unwrap()
    }

    #[test]
    fn a_revoked_grant_names_lwas_code_and_says_to_authorize_again() {
        let failure = refused(400, "invalid_grant");
        assert!(is_refused_credentials(&failure));
        let explained = explain(&failure);
        assert!(
            explained.starts_with(
                "Login with Amazon refused the refresh token (invalid_grant: said LWA)"
            ),
            "{explained}"
        );
        assert!(explained.contains("authorize the app again"), "{explained}");
        let remote = remote(&failure).unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));
        assert_eq!(remote.message.as_deref(), Some("said LWA"));
    }

    #[test]
    fn a_wrong_client_points_at_the_client_id_and_secret() {
        let failure = refused(401, "invalid_client");
        assert!(is_refused_credentials(&failure));
        assert!(
            explain(&failure).contains("client id or client secret (invalid_client"),
            "{}",
            explain(&failure)
        );
    }

    #[test]
    fn a_malformed_request_is_not_blamed_on_the_credentials() {
        let failure = refused(400, "invalid_request");
        assert!(!is_refused_credentials(&failure));
        assert!(
            explain(&failure).contains("with HTTP 400 (invalid_request: said LWA)"),
            "{}",
            explain(&failure)
        );
    }

    #[test]
    fn a_failing_token_endpoint_is_retryable_and_carries_no_remote_refusal() {
        let failure = unavailable();
        assert!(failure.is_retryable());
        assert!(!is_refused_credentials(&failure));
        assert!(
            explain(&failure).starts_with("Login with Amazon gave no access token: "),
            "{}",
            explain(&failure)
        );
        assert!(remote(&failure).is_none());
    }

    #[test]
    fn an_unset_companion_says_which_credentials_to_set() {
        let failure = unreadable();
        assert!(!failure.is_retryable());
        assert!(!is_refused_credentials(&failure));
        let explained = explain(&failure);
        assert!(explained.contains("'client_id'"), "{explained}");
        assert!(explained.contains("set the LWA client id"), "{explained}");
    }
}
