//! OAuth 2.0 access tokens the host obtains and caches.
//!
//! A token is cached per configuration and credential, with a fingerprint
//! of everything it was obtained with (so a rotated refresh token or client
//! secret is never answered with the old token), until shortly before it
//! expires. Concurrent calls that need the same token wait for one exchange
//! instead of each making their own.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full, Limited};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sluice_core::{Clock, UnixMillis};
use sluice_egress::{AppliedCredential, CallScope, Egress};
use sluice_manifest::{AuthScheme, ClientAuth};

use crate::{CredentialUse, jwt};

/// Largest token endpoint answer read.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
/// Lifetime assumed when the endpoint does not say (`expires_in` absent).
const DEFAULT_LIFETIME_SECONDS: i64 = 3_600;
/// A token is renewed this long before it expires, or at half its life if
/// that is sooner.
const RENEW_BEFORE_MS: i64 = 60_000;

/// Why no access token could be obtained.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenFailure {
    /// The token endpoint refused the credential (RFC 6749 section 5.2).
    #[error("the token endpoint answered {status}: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// The `error` code, for example `invalid_grant`.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// The credential's value cannot be used (a service-account key that is
    /// not one, a client id that is missing).
    #[error("{0}")]
    Unreadable(String),
    /// The token endpoint failed or could not be reached.
    #[error("{message}")]
    Endpoint {
        /// What happened.
        message: String,
        /// The endpoint's status, if it answered.
        status: Option<u16>,
        /// Its `error` code, if it gave one (`temporarily_unavailable`).
        error: Option<String>,
        /// Its `error_description`, if it gave one.
        description: Option<String>,
        /// Its `Retry-After`, passed on so that the connector waits as long
        /// as the endpoint asks.
        retry_after: Option<String>,
    },
}

impl TokenFailure {
    fn endpoint(message: String) -> Self {
        Self::Endpoint {
            message,
            status: None,
            error: None,
            description: None,
            retry_after: None,
        }
    }
}

/// An access token, and whether it was cached before this request asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token.
    pub value: String,
    /// Whether it came from the cache (a token just obtained is never
    /// renewed on a refusal: a new one would be refused the same way).
    pub cached: bool,
}

#[derive(Clone)]
struct CachedToken {
    fingerprint: [u8; 32],
    token: String,
    renew_at: UnixMillis,
}

type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// Access tokens by configuration and credential.
#[derive(Default)]
pub struct TokenCache {
    slots: parking_lot::Mutex<HashMap<(String, String), Slot>>,
}

impl TokenCache {
    fn slot(&self, credential: &CredentialUse) -> Slot {
        self.slots
            .lock()
            .entry((credential.configuration_id.clone(), credential.key.clone()))
            .or_default()
            .clone()
    }

    /// A live access token for `credential`: the cached one, or a new one
    /// from its token endpoint (one exchange at a time per credential).
    pub async fn token(
        &self,
        egress: &Egress,
        clock: &dyn Clock,
        credential: &CredentialUse,
        origin: &str,
        scope: &CallScope,
    ) -> Result<AccessToken, TokenFailure> {
        let token_url = token_url(credential, origin)?;
        let slot = self.slot(credential);
        let mut cached = slot.lock().await;
        let fingerprint = fingerprint(credential, &token_url);
        if let Some(token) = cached.as_ref()
            && token.fingerprint == fingerprint
            && clock.now_ms() < token.renew_at
        {
            return Ok(AccessToken {
                value: token.token.clone(),
                cached: true,
            });
        }
        let granted = exchange(egress, clock, credential, &token_url, scope).await?;
        let lifetime_ms = granted.lifetime_seconds.max(1) * 1_000;
        let renew_at = clock.now_ms() + (lifetime_ms - RENEW_BEFORE_MS).max(lifetime_ms / 2);
        *cached = Some(CachedToken {
            fingerprint,
            token: granted.access_token.clone(),
            renew_at,
        });
        Ok(AccessToken {
            value: granted.access_token,
            cached: false,
        })
    }

    /// Forgets `token` for `credential`, if it is still the one cached (a
    /// call that already renewed it keeps the new one).
    pub fn forget(&self, credential: &CredentialUse, token: &str) {
        let slot = self.slot(credential);
        if let Ok(mut cached) = slot.try_lock()
            && cached.as_ref().is_some_and(|c| c.token == token)
        {
            *cached = None;
        }
    }
}

/// The credential's token endpoint: its absolute URL, or its path on
/// `origin` (the request's).
fn token_url(credential: &CredentialUse, origin: &str) -> Result<String, TokenFailure> {
    let url = credential.auth.scheme.token_url().ok_or_else(|| {
        TokenFailure::Unreadable(format!(
            "scheme {} has no token endpoint",
            credential.auth.scheme.name()
        ))
    })?;
    Ok(if url.starts_with('/') {
        format!("{origin}{url}")
    } else {
        url.to_owned()
    })
}

/// SHA-256 over what a token is obtained with.
fn fingerprint(credential: &CredentialUse, token_url: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(token_url.as_bytes());
    hash.update([0]);
    hash.update(credential.secret.as_bytes());
    for (key, value) in &credential.companions {
        hash.update([0]);
        hash.update(key.as_bytes());
        hash.update([0]);
        hash.update(value.as_bytes());
    }
    hash.update([0]);
    hash.update(serde_json::to_vec(&credential.auth.scheme).unwrap_or_default());
    hash.finalize().into()
}

struct Granted {
    access_token: String,
    lifetime_seconds: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Asks the credential's token endpoint for an access token.
async fn exchange(
    egress: &Egress,
    clock: &dyn Clock,
    credential: &CredentialUse,
    token_url: &str,
    scope: &CallScope,
) -> Result<Granted, TokenFailure> {
    let unreadable = |message: String| TokenFailure::Unreadable(message);
    let (form, basic) = match &credential.auth.scheme {
        AuthScheme::OAuth2RefreshToken {
            client_id,
            client_secret,
            client_auth,
            scopes,
            ..
        } => {
            let id = credential
                .companion(client_id)
                .map_err(|e| unreadable(e.to_string()))?;
            let secret = credential
                .companion(client_secret)
                .map_err(|e| unreadable(e.to_string()))?;
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", credential.secret.clone()),
            ];
            if !scopes.is_empty() {
                form.push(("scope", scopes.join(" ")));
            }
            let basic = match client_auth {
                ClientAuth::Body => {
                    form.push(("client_id", id.to_owned()));
                    form.push(("client_secret", secret.to_owned()));
                    None
                }
                ClientAuth::Basic => {
                    Some(base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
                }
            };
            (form, basic)
        }
        AuthScheme::OAuth2JwtBearer { scopes, .. } => {
            let assertion = jwt::assertion(
                &credential.secret,
                token_url,
                scopes,
                clock.now_ms() / 1_000,
            )
            .map_err(|e| unreadable(format!("credential '{}': {e}", credential.key)))?;
            let form = vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
                ),
                ("assertion", assertion),
            ];
            (form, None)
        }
        other => {
            return Err(unreadable(format!(
                "scheme {} has no token endpoint",
                other.name()
            )));
        }
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let mut request = Request::post(token_url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(pair) = basic {
        request = request.header(header::AUTHORIZATION, format!("Basic {pair}"));
    }
    let mut request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| unreadable(format!("token request: {e}")))?;
    request.extensions_mut().insert(AppliedCredential {
        key: credential.key.clone(),
        token_exchange: true,
        conceals_path: false,
    });
    let response = egress
        .send(request, scope)
        .await
        .map_err(|e| TokenFailure::endpoint(format!("the token endpoint failed: {e}")))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bytes = Limited::new(response.into_body(), MAX_TOKEN_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| TokenFailure::endpoint(format!("reading the token endpoint's answer: {e}")))?
        .to_bytes();
    let answer: Option<TokenAnswer> = serde_json::from_slice(&bytes).ok();
    match answer {
        Some(TokenAnswer {
            access_token: Some(access_token),
            expires_in,
            ..
        }) if status.is_success() && !access_token.is_empty() => Ok(Granted {
            access_token,
            lifetime_seconds: lifetime(expires_in.as_ref()),
        }),
        Some(TokenAnswer {
            error: Some(error),
            error_description,
            ..
        }) if status.is_client_error() && status != http::StatusCode::TOO_MANY_REQUESTS => {
            Err(TokenFailure::Refused {
                status: status.as_u16(),
                error,
                description: error_description,
            })
        }
        _ if status == http::StatusCode::UNAUTHORIZED => Err(TokenFailure::Refused {
            status: status.as_u16(),
            error: "unauthorized".to_owned(),
            description: None,
        }),
        answer => Err(TokenFailure::Endpoint {
            message: format!("the token endpoint answered {status} without an access token"),
            status: Some(status.as_u16()),
            error: answer.as_ref().and_then(|answer| answer.error.clone()),
            description: answer.and_then(|answer| answer.error_description),
            retry_after,
        }),
    }
}

/// `expires_in` as a number of seconds (some endpoints send a string).
fn lifetime(expires_in: Option<&serde_json::Value>) -> i64 {
    match expires_in {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|seconds| *seconds > 0)
    .unwrap_or(DEFAULT_LIFETIME_SECONDS)
}
