//! Access tokens, as the host obtains them: it signs the service account's
//! assertion, trades it at Google's token endpoint, caches the token and
//! renews it once when Google refuses it. When it cannot get one it answers
//! the request itself ([`HostAuthFailure`]); this module says what that
//! means for a delivery and for the connection check.

use sluice_guest::auth::{HostAuthFailure, HostAuthReason};
use sluice_guest::{ConnectionCheck, DeliveryOutcome, RemoteError};

use crate::config::KEY_CREDENTIAL;

/// What the store admin should do about a key Google refused, from the
/// token endpoint's `error_description`.
fn hint(description: &str) -> &'static str {
    if description.contains("Invalid JWT Signature") {
        "the key was deleted or does not belong to the service account; create a new JSON key"
    } else if description.contains("account not found") {
        "the service account in the key does not exist (it may have been deleted)"
    } else if description.contains("timeframe") {
        "the host's clock may be off"
    } else {
        "check the service account key"
    }
}

/// Why the key file cannot be used, and what to do about it.
fn unreadable(failure: &HostAuthFailure) -> String {
    format!(
        "credential `{KEY_CREDENTIAL}` is not a service account JSON key Sluice can sign in \
         with ({failure}); create a key of type JSON for the service account in the Google \
         Cloud console and paste the whole file"
    )
}

/// Google's refusal of the key: its `error_description`, its `error` code
/// and what to do, as `Invalid JWT Signature. (invalid_grant); create ...`.
fn refusal(failure: &HostAuthFailure) -> String {
    match &failure.token_endpoint {
        Some(refusal) => {
            let description = refusal.description.as_deref().unwrap_or("");
            let code = if refusal.error.is_empty() {
                format!("HTTP {}", refusal.status)
            } else {
                refusal.error.clone()
            };
            let described = if description.is_empty() {
                format!("({code})")
            } else {
                format!("{description} ({code})")
            };
            format!("{described}; {}", hint(description))
        }
        None => format!("{failure}; {}", hint("")),
    }
}

/// The token endpoint's answer, for an outcome's remote error.
fn remote(failure: &HostAuthFailure) -> Option<RemoteError> {
    let refusal = failure.token_endpoint.as_ref()?;
    let remote = RemoteError::http(refusal.status);
    let remote = if refusal.error.is_empty() {
        remote
    } else {
        remote.with_code(&refusal.error)
    };
    Some(match &refusal.description {
        Some(description) => remote.with_message(description),
        None => remote,
    })
}

/// The delivery outcome when the host could get no access token: a key
/// Google refused or that is no key fails (someone must replace it), a
/// failing token endpoint retries.
pub fn outcome(failure: &HostAuthFailure) -> DeliveryOutcome {
    let outcome = match failure.reason {
        HostAuthReason::TokenRefused => DeliveryOutcome::failed(format!(
            "Google refused the service account key in credential `{KEY_CREDENTIAL}`: {}",
            refusal(failure)
        )),
        HostAuthReason::CredentialUnreadable => DeliveryOutcome::failed(unreadable(failure)),
        HostAuthReason::TokenEndpointFailed => DeliveryOutcome::retry(
            format!("Google's token endpoint issued no access token: {failure}"),
            None,
        ),
    };
    match remote(failure) {
        Some(remote) => outcome.with_remote(remote),
        None => outcome,
    }
}

/// The connection check's verdict when the host could get no access token.
pub fn check(failure: &HostAuthFailure) -> ConnectionCheck {
    match failure.reason {
        HostAuthReason::TokenRefused => {
            let step = match failure.token_error() {
                Some(code) => format!("refused: {code}"),
                None => "refused".to_owned(),
            };
            ConnectionCheck::unauthorized(format!(
                "Google refused the service account key in credential `{KEY_CREDENTIAL}`: {}.",
                refusal(failure)
            ))
            .with_step("token", step)
        }
        HostAuthReason::CredentialUnreadable => {
            let mut message = unreadable(failure);
            // A check message reads as a sentence.
            if let Some(first) = message.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            ConnectionCheck::misconfigured(format!("{message}."))
                .with_step("token", "not requested: the key cannot be read")
        }
        HostAuthReason::TokenEndpointFailed => ConnectionCheck::unreachable(format!(
            "Google's token endpoint issued no access token ({failure}); try again later."
        ))
        .with_step("token", failure.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use sluice_guest::CheckStatus;
    use sluice_guest::auth::HOST_AUTH_ERROR_HEADER;
    use sluice_guest::http::Response;

    use super::*;

    /// The host's answer when Google's token endpoint refused the key.
    fn refused(error: &str, description: &str) -> HostAuthFailure {
        let body = serde_json::json!({
            "error": "token-refused",
            "error_description": format!(
                "the host could not obtain an access token for credential \
                 'service_account_key': the token endpoint answered 400: {error} ({description})"
            ),
            "token_endpoint": {"status": 400, "error": error, "error_description": description},
        });
        host_answer(401, "token-refused", &body.to_string())
    }

    fn host_answer(status: u16, reason: &str, body: &str) -> HostAuthFailure {
        let response = Response::new(status, &[(HOST_AUTH_ERROR_HEADER, reason)], body);
        HostAuthFailure::from_response(&response).expect("the host's answer")
    }

    #[test]
    fn a_key_google_refuses_fails_with_googles_words_code_and_what_to_do() {
        let DeliveryOutcome::Failed(failure) =
            outcome(&refused("invalid_grant", "Invalid JWT Signature."))
        else {
            panic!("expected a permanent failure");
        };
        assert_eq!(
            failure.reason,
            "Google refused the service account key in credential `service_account_key`: \
             Invalid JWT Signature. (invalid_grant); the key was deleted or does not belong to \
             the service account; create a new JSON key"
        );
        let remote = failure.remote.unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));
        assert_eq!(remote.message.as_deref(), Some("Invalid JWT Signature."));

        let DeliveryOutcome::Failed(failure) = outcome(&refused(
            "invalid_grant",
            "Invalid grant: account not found",
        )) else {
            panic!("expected a permanent failure");
        };
        assert!(
            failure.reason.contains("does not exist"),
            "{}",
            failure.reason
        );
    }

    #[test]
    fn a_key_that_is_no_key_fails_saying_how_to_get_one() {
        let failure = host_answer(
            401,
            "credential-unreadable",
            r#"{"error":"credential-unreadable","error_description":"the host could not obtain an access token for credential 'service_account_key': missing field `client_email`"}"#,
        );
        let DeliveryOutcome::Failed(failed) = outcome(&failure) else {
            panic!("expected a permanent failure");
        };
        assert!(
            failed
                .reason
                .starts_with("credential `service_account_key` is not a service account JSON key"),
            "{}",
            failed.reason
        );
        assert!(failed.reason.contains("missing field `client_email`"));
        assert!(failed.reason.ends_with("paste the whole file"));
        assert!(failed.remote.is_none(), "Google was not asked");

        let verdict = check(&failure);
        assert_eq!(verdict.status, CheckStatus::Misconfigured);
        assert!(
            verdict
                .message
                .starts_with("Credential `service_account_key` is not a service account JSON key"),
            "{}",
            verdict.message
        );
    }

    #[test]
    fn a_failing_token_endpoint_retries_and_is_unreachable() {
        let failure = host_answer(
            503,
            "token-endpoint-failed",
            r#"{"error":"token-endpoint-failed","error_description":"the token endpoint answered 503 Service Unavailable without an access token"}"#,
        );
        let DeliveryOutcome::Retry(retry) = outcome(&failure) else {
            panic!("expected a retry");
        };
        assert_eq!(
            retry.reason,
            "Google's token endpoint issued no access token: the token endpoint answered 503 \
             Service Unavailable without an access token"
        );
        assert_eq!(retry.after_seconds, None);
        assert_eq!(check(&failure).status, CheckStatus::Unreachable);
    }

    #[test]
    fn a_refused_key_is_unauthorized_in_the_check() {
        let verdict = check(&refused("invalid_grant", "Invalid JWT Signature."));
        assert_eq!(verdict.status, CheckStatus::Unauthorized);
        assert!(
            verdict
                .message
                .contains("Invalid JWT Signature. (invalid_grant)"),
            "{}",
            verdict.message
        );
        assert_eq!(
            verdict.steps,
            [("token".to_owned(), "refused: invalid_grant".to_owned())]
        );
    }
}
