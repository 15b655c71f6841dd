//! eBay's OAuth refresh-token grant: `POST /identity/v1/oauth2/token` with
//! the app's keys in `Authorization: Basic` and the seller's refresh token
//! in a form. Access tokens live two hours; they are cached in the
//! configuration's state until shortly before they expire.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sluice_guest::http::{HttpError, Request, Response};
use sluice_guest::{DeliveryOutcome, RemoteError, SyncError, encode, log, state};

use crate::config::{Account, SCOPES};

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/identity/v1/oauth2/token";

/// An access token and how long it lives, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The user access token.
    pub access_token: String,
    /// `expires_in`.
    pub expires_in: u32,
}

/// Why no access token could be had.
#[derive(Debug, Clone)]
pub enum TokenFailure {
    /// eBay refused the request (HTTP 4xx with an OAuth `error`): bad keys,
    /// a revoked refresh token, missing scopes. Retrying cannot help.
    Refused {
        /// HTTP status.
        status: u16,
        /// `error`, for example `invalid_grant`.
        code: String,
        /// `error_description`.
        description: String,
    },
    /// eBay failed or throttled (HTTP 5xx or 429), or answered something
    /// that is not a token; a later attempt may succeed.
    Unavailable {
        /// HTTP status.
        status: u16,
        /// `error`, if any.
        code: Option<String>,
        /// `error_description`, or the start of the body.
        description: String,
    },
    /// The request did not get an answer.
    Transport(HttpError),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Trades the refresh token for an access token, without the cache.
pub fn exchange(account: &Account) -> Result<Issued, TokenFailure> {
    let basic = STANDARD.encode(format!("{}:{}", account.client_id, account.client_secret));
    let scope = SCOPES.join(" ");
    let body = encode::pairs(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &account.refresh_token),
        ("scope", &scope),
    ]);
    let response = Request::post(account.url(TOKEN_PATH))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .map_err(TokenFailure::Transport)?;
    read_answer(&response)
}

/// The token or the failure in a token endpoint's answer.
fn read_answer(response: &Response) -> Result<Issued, TokenFailure> {
    let status = response.status;
    if response.is_success() {
        return match response.json::<TokenAnswer>() {
            Ok(answer) if !answer.access_token.is_empty() => Ok(Issued {
                access_token: answer.access_token,
                // eBay's user tokens live 7200 s; assume so if it says nothing.
                expires_in: answer
                    .expires_in
                    .map_or(7_200, |seconds| u32::try_from(seconds).unwrap_or(u32::MAX)),
            }),
            _ => Err(TokenFailure::Unavailable {
                status,
                code: None,
                description: "the token endpoint answered without an access token".into(),
            }),
        };
    }
    let error = response.json::<OAuthError>().ok();
    match (status, error) {
        (400..=499, Some(error)) if status != 429 => Err(TokenFailure::Refused {
            status,
            code: error.error,
            description: error.error_description,
        }),
        (_, error) => Err(TokenFailure::Unavailable {
            status,
            code: error.as_ref().map(|e| e.error.clone()),
            description: error.map_or_else(
                || response.text().chars().take(200).collect(),
                |e| e.error_description,
            ),
        }),
    }
}

/// The state key of the cached token: per app, refresh token and
/// environment, so that new credentials never use an old token.
pub fn cache_key(account: &Account) -> String {
    let digest = Sha256::digest(format!(
        "{}\n{}\n{}",
        account.environment.name(),
        account.client_id,
        account.refresh_token
    ));
    format!("token:{}", &hex::encode(digest)[..16])
}

/// An access token: the cached one, or a new one (then cached).
pub fn access_token(account: &Account) -> Result<String, TokenFailure> {
    state::cached_token(&cache_key(account), || {
        exchange(account).map(|issued| {
            log::info(
                "exchanged the refresh token for an access token",
                &[("expires_in", &issued.expires_in.to_string())],
            );
            (issued.access_token, issued.expires_in)
        })
    })
}

/// A new access token, replacing the cached one (which eBay refused).
pub fn fresh_access_token(account: &Account) -> Result<String, TokenFailure> {
    state::invalidate_token(&cache_key(account));
    access_token(account)
}

/// Keeps `issued` as the cached token, as [`access_token`] would.
pub fn remember(account: &Account, issued: &Issued) {
    let key = cache_key(account);
    state::invalidate_token(&key);
    let token = issued.access_token.clone();
    let _ = state::cached_token::<()>(&key, || Ok((token, issued.expires_in)));
}

impl TokenFailure {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Refused { .. } => false,
            Self::Unavailable { .. } => true,
            Self::Transport(error) => error.is_retryable(),
        }
    }

    /// Whether eBay refused the app's keys or the seller's consent.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Refused { code, .. }
            if matches!(code.as_str(), "invalid_client" | "invalid_grant" | "invalid_scope" | "unauthorized_client"))
    }

    /// One sentence for the store admin: what is wrong and what to fix.
    pub fn explain(&self, account: &Account) -> String {
        match self {
            Self::Refused { code, .. } if code == "invalid_client" => format!(
                "eBay refused the app's client id or client secret (invalid_client); check the App ID and Cert ID of the {} keyset.{}",
                account.environment.name(),
                account.keyset_hint().unwrap_or_default()
            ),
            Self::Refused { code, .. } if code == "invalid_grant" => "eBay refused the refresh token (invalid_grant): it was revoked, has expired or was issued to another app; have the seller grant access again and set the new refresh token.".to_owned(),
            Self::Refused { code, .. } if code == "invalid_scope" => "eBay refused the scopes asked for (invalid_scope): the refresh token must grant sell.inventory and sell.fulfillment; have the seller grant access to both.".to_owned(),
            Self::Refused { code, description, .. } => {
                format!("eBay refused the token request ({code}): {description}")
            }
            Self::Unavailable { status, code, description } => match code {
                Some(code) => format!(
                    "eBay's token endpoint answered HTTP {status} ({code}): {description}"
                ),
                None => format!("eBay's token endpoint answered HTTP {status}: {description}"),
            },
            Self::Transport(error) => format!("could not reach eBay's token endpoint: {error}"),
        }
    }

    /// eBay's answer, when there was one.
    pub fn remote(&self) -> Option<RemoteError> {
        match self {
            Self::Refused {
                status,
                code,
                description,
            } => Some(
                RemoteError::http(*status)
                    .with_code(code.as_str())
                    .with_message(description),
            ),
            Self::Unavailable {
                status,
                code,
                description,
            } => {
                let remote = RemoteError::http(*status).with_message(description);
                Some(match code {
                    Some(code) => remote.with_code(code.as_str()),
                    None => remote,
                })
            }
            Self::Transport(_) => None,
        }
    }

    /// The delivery outcome: a retry or a permanent failure.
    pub fn outcome(&self, account: &Account) -> DeliveryOutcome {
        let reason = self.explain(account);
        let outcome = if self.is_retryable() {
            DeliveryOutcome::retry(reason, None)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response::new(status, &[], body)
    }

    #[test]
    fn a_token_answer_gives_the_token_and_its_lifetime() {
        let issued = read_answer(&response(
            200,
            r#"{"access_token":"v^1.1#abc","expires_in":7200,"token_type":"User Access Token"}"#,
        ))
        .unwrap();
        assert_eq!(issued.access_token, "v^1.1#abc");
        assert_eq!(issued.expires_in, 7200);
    }

    #[test]
    fn oauth_errors_are_refusals_and_server_errors_are_retryable() {
        let refused = read_answer(&response(
            400,
            r#"{"error":"invalid_grant","error_description":"revoked"}"#,
        ))
        .unwrap_err();
        assert!(!refused.is_retryable());
        assert!(refused.is_unauthorized());
        let unavailable = read_answer(&response(
            503,
            r#"{"error":"temporarily_unavailable","error_description":"later"}"#,
        ))
        .unwrap_err();
        assert!(unavailable.is_retryable());
        let html = read_answer(&response(502, "<html>bad gateway</html>")).unwrap_err();
        assert!(html.is_retryable());
        let empty = read_answer(&response(200, "{}")).unwrap_err();
        assert!(empty.is_retryable());
    }
}
