//! Login with Amazon: trading the seller's refresh token for an access token
//! (`POST https://api.amazon.com/auth/o2/token`, grant `refresh_token`), and
//! keeping that token in the configuration's state until shortly before it
//! expires, so that a burst of deliveries exchanges the refresh token once.
//!
//! The cache key is derived from the client id and refresh token, so a
//! configuration whose credentials change never uses a token issued for the
//! old ones.

use std::fmt::Write as _;

use serde::Deserialize;
use sluice_guest::http::{HttpError, Request, Response};
use sluice_guest::{RemoteError, encode, log, signature, state};

use crate::config::Config;

/// Login with Amazon's token endpoint.
pub const TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// An access token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The `x-amz-access-token` value (`Atza|...`).
    pub value: String,
    /// Whether it came from the cache rather than an exchange in this call.
    pub cached: bool,
}

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Login with Amazon answered, but not with a token.
    Lwa {
        /// The HTTP status.
        status: u16,
        /// LWA's `error` code (`invalid_grant`, `invalid_client`, ...).
        code: Option<String>,
        /// LWA's `error_description`, or the body when it was not LWA's JSON.
        description: String,
    },
    /// Login with Amazon could not be reached, or the host refused the request.
    Http(HttpError),
}

impl TokenError {
    /// Whether a later attempt may get a token: LWA's server errors,
    /// throttling and network trouble. Refused credentials need someone to
    /// change the configuration.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Lwa { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || (200..300).contains(status)
                    || matches!(
                        code.as_deref(),
                        Some("server_error" | "temporarily_unavailable")
                    )
            }
            Self::Http(error) => error.is_retryable(),
        }
    }

    /// Whether LWA refused the app's credentials or the refresh token.
    pub fn is_refused_credentials(&self) -> bool {
        matches!(
            self,
            Self::Lwa { code: Some(code), .. } if matches!(
                code.as_str(),
                "invalid_client" | "invalid_grant" | "unauthorized_client" | "access_denied"
                    | "invalid_scope"
            )
        )
    }

    /// What went wrong and what to do about it, for the store admin.
    pub fn explain(&self) -> String {
        match self {
            Self::Lwa {
                code,
                description,
                status,
            } => match code.as_deref() {
                Some("invalid_client") => format!(
                    "Login with Amazon refused the app's client id or client secret \
                     (invalid_client: {description}); set the LWA client id and secret of the \
                     SP-API app"
                ),
                Some("invalid_grant") => format!(
                    "Login with Amazon refused the refresh token (invalid_grant: {description}); \
                     the seller revoked the app's authorization or the token belongs to another \
                     app: authorize the app again and save the new refresh token"
                ),
                Some("unauthorized_client" | "access_denied" | "invalid_scope") => format!(
                    "Login with Amazon does not let this app use the refresh token ({}: \
                     {description})",
                    code.as_deref().unwrap_or_default()
                ),
                Some(code) => format!(
                    "Login with Amazon refused the token request with HTTP {status} \
                     ({code}: {description})"
                ),
                None => format!(
                    "Login with Amazon answered the token request with HTTP {status} and no \
                     token"
                ),
            },
            Self::Http(error) if error.is_refused() => {
                format!("Sluice refused to send the token request to Login with Amazon: {error}")
            }
            Self::Http(error) => format!("could not reach Login with Amazon: {error}"),
        }
    }

    /// LWA's answer, for the attempt log.
    pub fn remote(&self) -> Option<RemoteError> {
        match self {
            Self::Lwa {
                status,
                code,
                description,
            } => {
                let mut remote = RemoteError::http(*status).with_message(description);
                if let Some(code) = code {
                    remote = remote.with_code(code);
                }
                Some(remote)
            }
            Self::Http(_) => None,
        }
    }
}

/// The state key the configuration's access token is cached under.
fn cache_key(config: &Config) -> String {
    let digest = signature::hmac_sha256(
        config.client_id.as_bytes(),
        &[config.refresh_token.as_bytes()],
    );
    let mut key = String::from("lwa_token.");
    for byte in &digest[..12] {
        let _ = write!(key, "{byte:02x}");
    }
    key
}

/// The cached access token, or a new one from Login with Amazon.
pub fn access_token(config: &Config) -> Result<AccessToken, TokenError> {
    let key = cache_key(config);
    if let Some(value) = state::get_string(&key) {
        return Ok(AccessToken {
            value,
            cached: true,
        });
    }
    let value = state::cached_token(&key, || exchange(config))?;
    Ok(AccessToken {
        value,
        cached: false,
    })
}

/// A new access token, replacing the cached one (which Amazon refused).
pub fn refreshed_token(config: &Config) -> Result<AccessToken, TokenError> {
    state::invalidate_token(&cache_key(config));
    access_token(config)
}

/// The token endpoint's answer to a good request.
#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: Option<u32>,
}

/// The token endpoint's answer to a refused request.
#[derive(Deserialize)]
struct Refused {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// How long a token lives when LWA does not say: its documented hour.
const DEFAULT_EXPIRES_IN: u32 = 3600;

/// Runs the `refresh_token` grant and returns the token and its lifetime.
fn exchange(config: &Config) -> Result<(String, u32), TokenError> {
    let body = encode::pairs(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &config.refresh_token),
        ("client_id", &config.client_id),
        ("client_secret", &config.client_secret),
    ]);
    let response = Request::post(TOKEN_URL)
        .header(
            "content-type",
            "application/x-www-form-urlencoded;charset=UTF-8",
        )
        .header("accept", "application/json")
        .body(body)
        .send()
        .map_err(TokenError::Http)?;
    let granted = read_grant(&response)?;
    log::debug(
        "exchanged the refresh token for an access token",
        &[("expires_in", &granted.1.to_string())],
    );
    Ok(granted)
}

/// The token and lifetime in a token-endpoint answer, or why there is none.
fn read_grant(response: &Response) -> Result<(String, u32), TokenError> {
    if response.is_success()
        && let Ok(granted) = response.json::<Granted>()
        && !granted.access_token.is_empty()
    {
        return Ok((
            granted.access_token,
            granted.expires_in.unwrap_or(DEFAULT_EXPIRES_IN),
        ));
    }
    Err(match response.json::<Refused>() {
        Ok(refused) => TokenError::Lwa {
            status: response.status,
            code: Some(refused.error),
            description: refused.error_description,
        },
        Err(_) => TokenError::Lwa {
            status: response.status,
            code: None,
            description: response.text().trim().to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response::new(status, &[], body)
    }

    #[test]
    fn a_grant_yields_the_token_and_its_lifetime() {
        let body = r#"{"access_token":"Atza|abc","token_type":"bearer","expires_in":3600,"refresh_token":"Atzr|x"}"#;
        assert_eq!(
            read_grant(&response(200, body)),
            Ok(("Atza|abc".to_owned(), 3600))
        );
    }

    #[test]
    fn refusals_carry_lwas_code_and_description() {
        let body = r#"{"error":"invalid_grant","error_description":"revoked"}"#;
        let error = read_grant(&response(400, body)).unwrap_err();
        assert!(!error.is_retryable());
        assert!(error.is_refused_credentials());
        assert!(
            error.explain().contains("invalid_grant"),
            "{}",
            error.explain()
        );
        let remote = error.remote().unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn server_errors_are_retryable() {
        let body = r#"{"error":"temporarily_unavailable","error_description":"later"}"#;
        assert!(read_grant(&response(503, body)).unwrap_err().is_retryable());
        assert!(
            read_grant(&response(502, "<html>"))
                .unwrap_err()
                .is_retryable()
        );
        assert!(read_grant(&response(200, "{}")).unwrap_err().is_retryable());
    }
}
