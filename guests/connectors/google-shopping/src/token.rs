//! Access tokens: the service account's signed assertion traded at Google's
//! token endpoint, cached in the configuration's state until shortly before
//! it expires.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use sluice_guest::http::{HttpError, Request, Response};
use sluice_guest::{ConnectionCheck, DeliveryOutcome, RemoteError, log, state};

use crate::config::{KEY_CREDENTIAL, ServiceAccountKey};
use crate::jwt;

/// Google's OAuth token endpoint, also the assertion's audience.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The grant that trades a signed assertion for an access token.
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Why no access token could be had.
#[derive(Debug)]
pub enum TokenError {
    /// The key could not be used to sign; nothing was sent.
    Signing(String),
    /// The token endpoint could not be reached.
    Http(HttpError),
    /// Google refused the assertion: an OAuth error such as `invalid_grant`.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code.
        code: String,
        /// Google's `error_description`.
        description: String,
    },
    /// Google throttled or failed (429, 5xx); a later try may succeed.
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code, when there was one.
        code: Option<String>,
        /// Google's description, or the body.
        description: String,
        /// The delay `Retry-After` asks for.
        retry_after: Option<u32>,
    },
    /// Google answered 200 with no usable token.
    Malformed(String),
}

/// An OAuth answer from the token endpoint; only what is read.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The access tokens of one service account key, at the invocation's time.
pub struct Tokens<'a> {
    key: &'a ServiceAccountKey,
    now_ms: u64,
    cache_key: String,
}

impl<'a> Tokens<'a> {
    /// Tokens for `key`; `now_ms` is the invocation's time, which the
    /// assertion is issued at.
    pub fn new(key: &'a ServiceAccountKey, now_ms: u64) -> Self {
        // Named after the key, so that a replaced key never uses the token
        // of the one before it.
        let digest = Sha256::digest(format!("{}\n{}", key.client_email, key.private_key_id));
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            key,
            now_ms,
            cache_key: format!("google_access_token:{hex}"),
        }
    }

    /// The cached token, or a new one when there is none or it is about to
    /// expire.
    pub fn get(&self) -> Result<String, TokenError> {
        state::cached_token(&self.cache_key, || self.exchange())
    }

    /// Forgets the cached token, which Google refused, and gets a new one.
    pub fn refresh(&self) -> Result<String, TokenError> {
        state::invalidate_token(&self.cache_key);
        self.get()
    }

    /// Trades a new assertion for a token, caching it like [`get`](Self::get).
    pub fn fresh(&self) -> Result<String, TokenError> {
        self.refresh()
    }

    /// Signs an assertion and trades it for a token and its lifetime.
    fn exchange(&self) -> Result<(String, u32), TokenError> {
        let assertion =
            jwt::assertion(self.key, TOKEN_URL, self.now_ms / 1000).map_err(TokenError::Signing)?;
        let form = format!(
            "grant_type={}&assertion={assertion}",
            form_encode(JWT_BEARER_GRANT)
        );
        let response = Request::post(TOKEN_URL)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .map_err(TokenError::Http)?;
        let token = token_from(&response, self.now_ms)?;
        log::info(
            "exchanged the service account's assertion for an access token",
            &[
                ("client_email", &self.key.client_email),
                ("expires_in", &token.1.to_string()),
            ],
        );
        Ok(token)
    }
}

/// The token and lifetime in a token endpoint answer, or why there is none.
fn token_from(response: &Response, now_ms: u64) -> Result<(String, u32), TokenError> {
    let answer: Option<TokenAnswer> = response.json().ok();
    let status = response.status;
    if response.is_success() {
        return match answer {
            Some(TokenAnswer {
                access_token: Some(token),
                expires_in,
                ..
            }) if !token.is_empty() => {
                let expires_in = expires_in.unwrap_or(0).min(u64::from(u32::MAX)) as u32;
                Ok((token, expires_in))
            }
            _ => Err(TokenError::Malformed(
                "Google's token endpoint answered without an access_token".into(),
            )),
        };
    }
    let (code, description) = match answer {
        Some(answer) => (
            answer.error,
            answer
                .error_description
                .unwrap_or_else(|| response.text().trim().to_owned()),
        ),
        None => (None, response.text().trim().to_owned()),
    };
    if status == 429 || status >= 500 {
        Err(TokenError::Unavailable {
            status,
            code,
            description,
            retry_after: response.retry_after(now_ms),
        })
    } else {
        Err(TokenError::Refused {
            status,
            code: code.unwrap_or_else(|| format!("HTTP {status}")),
            description,
        })
    }
}

/// `application/x-www-form-urlencoded` encoding of a value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl TokenError {
    /// What Google answered, for the outcome's remote error.
    fn remote(&self) -> Option<RemoteError> {
        match self {
            Self::Refused {
                status,
                code,
                description,
            } => Some(
                RemoteError::http(*status)
                    .with_code(code)
                    .with_message(description),
            ),
            Self::Unavailable {
                status,
                code,
                description,
                ..
            } => {
                let remote = RemoteError::http(*status).with_message(description);
                Some(match code {
                    Some(code) => remote.with_code(code),
                    None => remote,
                })
            }
            _ => None,
        }
    }

    /// What the store admin should do about a refusal.
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

    /// The delivery outcome when no token could be had.
    pub fn outcome(&self, client_email: &str) -> DeliveryOutcome {
        let outcome = match self {
            Self::Signing(problem) => DeliveryOutcome::failed(format!(
                "credential `{KEY_CREDENTIAL}` cannot sign: {problem}"
            )),
            Self::Http(error) if error.is_retryable() => DeliveryOutcome::retry(
                format!("could not reach Google's token endpoint: {error}"),
                None,
            ),
            Self::Http(error) => DeliveryOutcome::failed(format!(
                "the request to Google's token endpoint failed: {error}"
            )),
            Self::Refused {
                code, description, ..
            } => DeliveryOutcome::failed(format!(
                "Google refused the key of service account {client_email}: {description} ({code}); {}",
                Self::hint(description)
            )),
            Self::Unavailable {
                status,
                retry_after,
                ..
            } => DeliveryOutcome::retry(
                format!("Google's token endpoint answered HTTP {status}"),
                *retry_after,
            ),
            Self::Malformed(problem) => DeliveryOutcome::retry(problem.clone(), None),
        };
        match self.remote() {
            Some(remote) => outcome.with_remote(remote),
            None => outcome,
        }
    }

    /// The connection check's verdict when no token could be had.
    pub fn check(&self, client_email: &str) -> ConnectionCheck {
        match self {
            Self::Signing(problem) => ConnectionCheck::misconfigured(format!(
                "Credential `{KEY_CREDENTIAL}` cannot sign: {problem}."
            ))
            .with_step("token", "not requested: the key cannot sign"),
            Self::Http(error) => ConnectionCheck::unreachable(format!(
                "Could not reach Google's token endpoint: {error}."
            ))
            .with_step("token", format!("request failed: {error}")),
            Self::Refused {
                code, description, ..
            } => ConnectionCheck::unauthorized(format!(
                "Google refused the key of service account {client_email}: {description} ({code}); {}.",
                Self::hint(description)
            ))
            .with_step("token", format!("refused: {code}: {description}")),
            Self::Unavailable {
                status,
                description,
                ..
            } => ConnectionCheck::unreachable(format!(
                "Google's token endpoint answered HTTP {status} ({description}); try again later."
            ))
            .with_step("token", format!("HTTP {status}")),
            Self::Malformed(problem) => ConnectionCheck::unreachable(format!("{problem}."))
                .with_step("token", problem.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response::new(status, headers, body)
    }

    #[test]
    fn a_token_answer_gives_the_token_and_its_lifetime() {
        let body = r#"{"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"}"#;
        assert_eq!(
            token_from(&response(200, &[], body), 0).unwrap(),
            ("ya29.abc".to_owned(), 3599)
        );
        assert!(matches!(
            token_from(&response(200, &[], "{}"), 0),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn an_invalid_grant_is_a_refusal_with_googles_words() {
        let body = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        let error = token_from(&response(400, &[], body), 0).unwrap_err();
        let DeliveryOutcome::Failed(failure) = error.outcome("sa@p.iam.gserviceaccount.com") else {
            panic!("expected a permanent failure");
        };
        assert!(
            failure
                .reason
                .contains("Invalid JWT Signature. (invalid_grant)"),
            "{}",
            failure.reason
        );
        let remote = failure.remote.unwrap();
        assert_eq!(remote.status, Some(400));
        assert_eq!(remote.code.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn throttling_and_outages_retry_honouring_retry_after() {
        let body = r#"{"error":"temporarily_unavailable","error_description":"down"}"#;
        let error = token_from(&response(503, &[("retry-after", "12")], body), 0).unwrap_err();
        let DeliveryOutcome::Retry(retry) = error.outcome("sa@p") else {
            panic!("expected a retry");
        };
        assert_eq!(retry.after_seconds, Some(12));
        assert_eq!(
            retry.remote.unwrap().code.as_deref(),
            Some("temporarily_unavailable")
        );
    }

    #[test]
    fn the_grant_type_is_form_encoded() {
        assert_eq!(
            form_encode(JWT_BEARER_GRANT),
            "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
        );
    }
}
