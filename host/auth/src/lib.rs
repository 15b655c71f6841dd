//! Host-managed authentication: the credentials of a configuration applied
//! to a connector's outgoing requests by the host, so that the component
//! never holds them.
//!
//! The manifest binds each such credential to the origins it may be sent to
//! and says how it is used ([`sluice_manifest::AuthScheme`]). A component
//! asks for it per request (the contract's `auth` interface gives it a
//! header to add); the runtime's `wasi:http` send hook hands the request
//! here, and [`HostAuth::send`]:
//!
//! 1. refuses the request if its origin is not one the credential is bound
//!    to (after the egress policy, which refuses what the manifest does not
//!    allow at all), recording why in the call's egress log;
//! 2. applies the credential: a bearer token, an API key in a header or the
//!    query, HTTP Basic, the whole URL of an incoming webhook, an HMAC-SHA256
//!    signature of the body, or an OAuth 2.0 access token that the host
//!    obtains itself (refresh-token or JWT-bearer grant, see [`tokens`]) and
//!    caches per configuration until shortly before it expires;
//! 3. sends it through the egress policy, which records the credential's key
//!    (never its value) with the request;
//! 4. on a 401 to a request carrying a cached access token, obtains a new
//!    token once and sends the request again.
//!
//! A token endpoint that refuses the credential, or a service-account key
//! that cannot be read, comes back to the component as a `401` answer from
//! the host (header [`AUTH_ERROR_HEADER`]), which every connector already
//! treats as "the credentials are wrong"; a token endpoint that fails comes
//! back as a `503`, which it retries.

pub mod jwt;
pub mod signature;
pub mod tokens;

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use sluice_core::Clock;
use sluice_egress::{
    AppliedCredential, BodyError, CallScope, Egress, EgressError, Refusal, ResponseBody, origin_of,
};
use sluice_manifest::{AuthScheme, CredentialAuth};

use crate::tokens::{TokenCache, TokenFailure};

/// The header of a `401` or `503` answer that the host made itself, because
/// it could not obtain an access token; its value says why in one word
/// (`token-refused`, `credential-unreadable`, `token-endpoint-failed`).
pub const AUTH_ERROR_HEADER: &str = "sluice-auth-error";

/// Largest request body the host reads to sign it or to send it again.
pub const MAX_AUTHENTICATED_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A response body as the host returns it: from the remote system, or
/// written by the host.
pub type AuthBody = UnsyncBoxBody<Bytes, BodyError>;

/// A boxed error, as request bodies carry.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One credential to apply, with what its scheme needs.
#[derive(Clone)]
pub struct CredentialUse {
    /// The configuration it belongs to; access tokens are cached per
    /// configuration and credential.
    pub configuration_id: String,
    /// The credential's key.
    pub key: String,
    /// How it is applied, from the manifest.
    pub auth: CredentialAuth,
    /// Its value.
    pub secret: String,
    /// The values of the other credentials the scheme reads (client id and
    /// secret, user name), by key.
    pub companions: BTreeMap<String, String>,
}

impl std::fmt::Debug for CredentialUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialUse")
            .field("configuration_id", &self.configuration_id)
            .field("key", &self.key)
            .field("scheme", &self.auth.scheme.name())
            .finish_non_exhaustive()
    }
}

impl CredentialUse {
    fn companion(&self, key: &str) -> Result<&str, AuthError> {
        self.companions
            .get(key)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| AuthError::MissingCompanion {
                key: self.key.clone(),
                companion: key.to_owned(),
            })
    }
}

/// Why an authenticated request was not sent, or not answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The request goes to an origin the credential is not bound to.
    #[error("credential '{key}' is not bound to {origin}; the host refused the request")]
    NotBound {
        /// The credential.
        key: String,
        /// Where the request was going.
        origin: String,
    },
    /// A credential the scheme needs beside this one is not set.
    #[error("credential '{key}' needs credential '{companion}', which is not set")]
    MissingCompanion {
        /// The credential applied.
        key: String,
        /// The one missing.
        companion: String,
    },
    /// The request body is larger than the host reads.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// [`MAX_AUTHENTICATED_BODY_BYTES`].
        limit: usize,
    },
    /// The component's request body failed while the host read it.
    #[error("reading the request body failed: {0}")]
    Body(String),
    /// The egress policy refused or the request failed.
    #[error(transparent)]
    Egress(#[from] EgressError),
}

/// Applies credentials and keeps the access tokens it obtained. One per
/// runtime, shared by every call.
pub struct HostAuth {
    egress: Egress,
    tokens: TokenCache,
}

impl HostAuth {
    /// Authentication sending through `egress`.
    pub fn new(egress: Egress) -> Self {
        Self {
            egress,
            tokens: TokenCache::default(),
        }
    }

    /// Sends `request` authenticated with `credential`, within the call's
    /// `scope` (its allowed origins, request budget and log); `clock` (the
    /// call's) decides when a cached token is due for renewal and stamps
    /// signatures.
    pub async fn send<B>(
        &self,
        request: Request<B>,
        credential: &CredentialUse,
        scope: &CallScope,
        clock: &dyn Clock,
    ) -> Result<Response<AuthBody>, AuthError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let uri = request.uri().clone();
        if !credential.auth.allow_list().allows_uri(&uri) {
            let origin = origin_of(&uri).unwrap_or_else(|| uri.to_string());
            // Outside the manifest's egress origins altogether, the egress
            // policy's refusal; within them, the binding's.
            let error = if scope.allows(&uri) {
                AuthError::NotBound {
                    key: credential.key.clone(),
                    origin,
                }
            } else {
                AuthError::Egress(EgressError::Refused(Refusal::OriginNotAllowed { origin }))
            };
            scope.record_refusal(request.method(), &uri, error.to_string());
            return Err(error);
        }
        match &credential.auth.scheme {
            AuthScheme::OAuth2RefreshToken {
                apply,
                renew_on_status,
                ..
            }
            | AuthScheme::OAuth2JwtBearer {
                apply,
                renew_on_status,
                ..
            } => {
                let origin = origin_of(&uri).unwrap_or_default();
                let (parts, body) = buffered(request).await?;
                let placement = (apply.header.as_str(), apply.prefix.as_str());
                let token = match self
                    .tokens
                    .token(&self.egress, clock, credential, &origin, scope)
                    .await
                {
                    Ok(token) => token,
                    Err(failure) => return Ok(host_answer(&credential.key, failure)),
                };
                let response = self
                    .send_with_token(&parts, &body, credential, placement, &token.value, scope)
                    .await?;
                if !token.cached || !renew_on_status.contains(&response.status().as_u16()) {
                    return Ok(response);
                }
                // The cached token may have been revoked early: one new
                // token, one more try, and the component sees that answer.
                self.tokens.forget(credential, &token.value);
                let token = match self
                    .tokens
                    .token(&self.egress, clock, credential, &origin, scope)
                    .await
                {
                    Ok(token) => token,
                    Err(failure) => return Ok(host_answer(&credential.key, failure)),
                };
                self.send_with_token(&parts, &body, credential, placement, &token.value, scope)
                    .await
            }
            AuthScheme::Hmac {
                header,
                prefix,
                encoding,
                timestamp_header,
            } => {
                let (mut parts, body) = buffered(request).await?;
                let timestamp = timestamp_header
                    .as_ref()
                    .map(|name| (name, (clock.now_ms() / 1000).to_string()));
                let signed = signature::sign(
                    credential.secret.as_bytes(),
                    timestamp.as_ref().map(|(_, at)| at.as_str()),
                    &body,
                    *encoding,
                );
                if let Some((name, at)) = timestamp {
                    set_header(&mut parts.headers, name, at)?;
                }
                set_header(&mut parts.headers, header, format!("{prefix}{signed}"))?;
                self.send_marked(Request::from_parts(parts, full(body)), credential, scope)
                    .await
            }
            scheme => {
                let (mut parts, body) = request.into_parts();
                apply_static(scheme, credential, &mut parts)?;
                self.send_marked(Request::from_parts(parts, body), credential, scope)
                    .await
            }
        }
    }

    async fn send_with_token(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
        credential: &CredentialUse,
        (header, prefix): (&str, &str),
        token: &str,
        scope: &CallScope,
    ) -> Result<Response<AuthBody>, AuthError> {
        let mut request = Request::from_parts(clone_parts(parts), full(body.clone()));
        set_header(request.headers_mut(), header, format!("{prefix}{token}"))?;
        self.send_marked(request, credential, scope).await
    }

    async fn send_marked<B>(
        &self,
        mut request: Request<B>,
        credential: &CredentialUse,
        scope: &CallScope,
    ) -> Result<Response<AuthBody>, AuthError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        request.extensions_mut().insert(AppliedCredential {
            key: credential.key.clone(),
            token_exchange: false,
            conceals_path: matches!(credential.auth.scheme, AuthScheme::Url),
        });
        let response = self.egress.send(request, scope).await?;
        Ok(response.map(|body: ResponseBody| body.boxed_unsync()))
    }
}

/// Applies the schemes that need nothing but the values.
fn apply_static(
    scheme: &AuthScheme,
    credential: &CredentialUse,
    parts: &mut http::request::Parts,
) -> Result<(), AuthError> {
    let secret = credential.secret.as_str();
    match scheme {
        AuthScheme::Bearer => set_header(
            &mut parts.headers,
            "authorization",
            format!("Bearer {secret}"),
        ),
        AuthScheme::Header { name, prefix } => {
            set_header(&mut parts.headers, name, format!("{prefix}{secret}"))
        }
        AuthScheme::Basic { username } => {
            let user = credential.companion(username)?;
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
            set_header(&mut parts.headers, "authorization", format!("Basic {pair}"))
        }
        AuthScheme::Query { name } => {
            parts.uri = with_query_parameter(&parts.uri, name, secret)?;
            Ok(())
        }
        AuthScheme::Url => {
            parts.uri = within_origin(&parts.uri, secret, credential)?;
            Ok(())
        }
        AuthScheme::OAuth2RefreshToken { .. }
        | AuthScheme::OAuth2JwtBearer { .. }
        | AuthScheme::Hmac { .. } => {
            unreachable!("applied with the request body")
        }
    }
}

/// `uri` with `name=value` added to its query.
fn with_query_parameter(uri: &Uri, name: &str, value: &str) -> Result<Uri, AuthError> {
    let encode = |text: &str| {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let pair = format!("{}={}", encode(name), encode(value));
    let path_and_query = match uri.query() {
        Some(query) if !query.is_empty() => format!("{}?{query}&{pair}", uri.path()),
        _ => format!("{}?{pair}", uri.path()),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| AuthError::Body("the query cannot carry the credential".into()))?,
    );
    Uri::from_parts(parts)
        .map_err(|_| AuthError::Body("the query cannot carry the credential".into()))
}

/// The credential's URL, provided its origin is the request's (so the
/// credential goes nowhere the request was not going anyway).
fn within_origin(uri: &Uri, secret: &str, credential: &CredentialUse) -> Result<Uri, AuthError> {
    let target: Uri = secret.parse().map_err(|_| AuthError::NotBound {
        key: credential.key.clone(),
        origin: "a value that is not a URL".to_owned(),
    })?;
    let origin = origin_of(&target);
    if origin.is_none() || origin != origin_of(uri) {
        return Err(AuthError::NotBound {
            key: credential.key.clone(),
            origin: format!(
                "{} (the request goes to {}; the credential's URL to another origin)",
                origin.unwrap_or_default(),
                origin_of(uri).unwrap_or_default()
            ),
        });
    }
    Ok(target)
}

fn set_header(headers: &mut http::HeaderMap, name: &str, value: String) -> Result<(), AuthError> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| AuthError::Body(format!("'{name}' is not a header name")))?;
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        AuthError::Body(format!(
            "the value for header {name} is not valid in a header"
        ))
    })?;
    value.set_sensitive(true);
    headers.insert(name, value);
    Ok(())
}

/// Reads the whole request body, bounded, so that it can be signed or sent
/// again.
async fn buffered<B>(request: Request<B>) -> Result<(http::request::Parts, Bytes), AuthError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let collected = Limited::new(body, MAX_AUTHENTICATED_BODY_BYTES)
        .collect()
        .await
        .map_err(|error| {
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                AuthError::BodyTooLarge {
                    limit: MAX_AUTHENTICATED_BODY_BYTES,
                }
            } else {
                AuthError::Body(error.to_string())
            }
        })?;
    Ok((parts, collected.to_bytes()))
}

fn full(bytes: Bytes) -> UnsyncBoxBody<Bytes, BoxError> {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn clone_parts(parts: &http::request::Parts) -> http::request::Parts {
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .version(parts.version)
        .body(())
        .expect("parts of a valid request");
    *request.headers_mut() = parts.headers.clone();
    request.into_parts().0
}

/// The host's own answer when it could not obtain an access token: `401`
/// when the credential was refused or cannot be read (a person must fix
/// it), `503` when the token endpoint failed (a later try may work).
fn host_answer(key: &str, failure: TokenFailure) -> Response<AuthBody> {
    let (status, code) = match &failure {
        TokenFailure::Refused { .. } => (StatusCode::UNAUTHORIZED, "token-refused"),
        TokenFailure::Unreadable(_) => (StatusCode::UNAUTHORIZED, "credential-unreadable"),
        TokenFailure::Endpoint { .. } => (StatusCode::SERVICE_UNAVAILABLE, "token-endpoint-failed"),
    };
    let mut body = serde_json::json!({
        "error": code,
        "error_description": format!("the host could not obtain an access token for credential '{key}': {failure}"),
    });
    // The token endpoint's own words, so that the connector can tell a
    // revoked grant from a wrong client.
    let mut retry_after = None;
    match &failure {
        TokenFailure::Refused {
            status,
            error,
            description,
        } => {
            body["token_endpoint"] = serde_json::json!({
                "status": status,
                "error": error,
                "error_description": description,
            });
        }
        TokenFailure::Endpoint {
            status: Some(status),
            error,
            description,
            retry_after: asked,
            ..
        } => {
            body["token_endpoint"] = serde_json::json!({
                "status": status,
                "error": error,
                "error_description": description,
            });
            retry_after = asked.clone();
        }
        _ => {}
    }
    let mut answer = Response::builder().status(status);
    if let Some(after) = retry_after {
        answer = answer.header(header::RETRY_AFTER, after);
    }
    answer
        .header(header::CONTENT_TYPE, "application/json")
        .header(AUTH_ERROR_HEADER, code)
        .body(
            Full::new(Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .expect("a valid response")
}

#[cfg(test)]
mod tests;
