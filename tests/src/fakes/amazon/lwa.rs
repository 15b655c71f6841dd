//! Login with Amazon: `POST https://api.amazon.com/auth/o2/token` with the
//! `refresh_token` grant, form-encoded or JSON, and the apps, refresh tokens
//! and access tokens behind it. Every token is bound to the seller who
//! authorized the app, so a token of one seller cannot act for another.
//!
//! Only the `refresh_token` grant is served; grantless (`client_credentials`)
//! calls are outside what the connectors do and answer
//! `unsupported_grant_type`.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sluice_core::UnixMillis;

use super::AmazonState;
use super::ids;
use super::sp_api_error::SpApiError;
use crate::fakes::oauth::{
    AccessToken, AccessTokens, Clients, RefreshTokens, TokenParams, TokenRejection, error_response,
};

/// The token endpoint's path on `api.amazon.com`.
pub const TOKEN_PATH: &str = "/auth/o2/token";

/// How long an access token lives: an hour, as `expires_in: 3600` says.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// An LWA application (the connector's developer registration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LwaApp {
    /// `amzn1.application-oa2-client.<hex>`.
    pub client_id: String,
    /// `amzn1.oa2-cs.v1.<hex>`.
    pub client_secret: String,
}

/// A refusal from the token endpoint, in LWA's words. Also what tests script
/// ([`FakeAmazon::fail_token_requests`](super::FakeAmazon::fail_token_requests)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LwaError {
    /// 400 `invalid_request`: parameter `missing` is absent, or the body is
    /// neither a form nor a JSON object.
    InvalidRequest {
        /// The missing parameter.
        missing: &'static str,
    },
    /// 401 `invalid_client`: unknown `client_id` or wrong `client_secret`.
    InvalidClient,
    /// 400 `invalid_grant`: the refresh token is unknown, revoked, or was
    /// granted to another app.
    InvalidGrant,
    /// 400 `unsupported_grant_type`: a grant other than `refresh_token`.
    UnsupportedGrantType,
    /// 500 `server_error`.
    ServerError,
    /// 503 `temporarily_unavailable`.
    TemporarilyUnavailable,
}

impl LwaError {
    /// The HTTP status LWA answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidRequest { .. } | Self::InvalidGrant | Self::UnsupportedGrantType => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// The `error` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest { .. } => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The `error_description`.
    pub fn description(self) -> String {
        match self {
            Self::InvalidRequest { missing } => {
                format!("The request is missing a required parameter : {missing}")
            }
            Self::InvalidClient => "Client authentication failed".into(),
            Self::InvalidGrant => "The request has an invalid grant parameter : refresh_token. \
                User may have revoked or didn't grant the permission."
                .into(),
            Self::UnsupportedGrantType => {
                "The authorization grant type is not supported by the authorization server".into()
            }
            Self::ServerError => "The authorization server encountered an unexpected error".into(),
            Self::TemporarilyUnavailable => {
                "The authorization server is temporarily unavailable".into()
            }
        }
    }
}

impl IntoResponse for LwaError {
    fn into_response(self) -> Response {
        error_response(self.status(), self.code(), &self.description())
    }
}

/// The LWA apps, the refresh tokens sellers granted them, and the access
/// tokens issued; every token's grant is the seller id.
#[derive(Default)]
pub(super) struct Identity {
    clients: Clients,
    refresh_tokens: RefreshTokens<String>,
    access_tokens: AccessTokens<String>,
}

impl Identity {
    pub(super) fn register_app(&mut self) -> LwaApp {
        let app = LwaApp {
            client_id: ids::client_id(),
            client_secret: ids::client_secret(),
        };
        self.clients.register(&app.client_id, &app.client_secret);
        app
    }

    /// Seller `seller_id` authorizes the app `client_id`: a new refresh token.
    pub(super) fn authorize(&mut self, client_id: &str, seller_id: &str) -> String {
        let token = ids::refresh_token();
        self.refresh_tokens
            .issue(&token, client_id, seller_id.to_owned());
        token
    }

    pub(super) fn revoke_refresh_token(&mut self, token: &str) {
        self.refresh_tokens.revoke(token);
    }

    /// Runs the `refresh_token` grant at `now`.
    fn refresh(
        &mut self,
        params: &TokenParams,
        now: UnixMillis,
    ) -> Result<AccessToken<String>, LwaError> {
        let required = |name: &'static str| {
            params
                .get(name)
                .ok_or(LwaError::InvalidRequest { missing: name })
        };
        if required("grant_type")? != "refresh_token" {
            return Err(LwaError::UnsupportedGrantType);
        }
        let client_id = params.get("client_id").ok_or(LwaError::InvalidClient)?;
        let client_secret = params.get("client_secret").ok_or(LwaError::InvalidClient)?;
        if !self.clients.authenticate(client_id, client_secret) {
            return Err(LwaError::InvalidClient);
        }
        let refresh_token = required("refresh_token")?;
        let seller_id = self
            .refresh_tokens
            .redeem(refresh_token, client_id)
            .ok_or(LwaError::InvalidGrant)?
            .clone();
        Ok(self
            .access_tokens
            .issue(ids::access_token(), seller_id, now, ACCESS_TOKEN_LIFETIME))
    }

    /// The seller an `x-amz-access-token` value acts for, or the 403 Amazon
    /// answers with.
    pub(super) fn seller_of(
        &self,
        access_token: Option<&str>,
        now: UnixMillis,
    ) -> Result<String, SpApiError> {
        let token = access_token
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                SpApiError::unauthorized("Access token is missing in the request header.")
            })?;
        self.access_tokens
            .check(token, now)
            .cloned()
            .map_err(|rejection| {
                SpApiError::unauthorized(match rejection {
                    TokenRejection::Expired => "The access token you provided has expired.",
                    TokenRejection::Unknown | TokenRejection::Revoked => {
                        "The access token you provided is revoked, malformed or invalid."
                    }
                })
            })
    }

    pub(super) fn access_tokens(&self) -> Vec<AccessToken<String>> {
        self.access_tokens.all()
    }

    pub(super) fn expire_access_token(&mut self, token: &str, now: UnixMillis) {
        self.access_tokens.expire(token, now);
    }

    pub(super) fn revoke_access_token(&mut self, token: &str) {
        self.access_tokens.revoke(token);
    }
}

/// The token route, on `api.amazon.com`.
pub(super) fn routes(amazon: AmazonState) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(token))
        .with_state(amazon)
}

/// The parameters from a JSON body when `Content-Type` says JSON, else from
/// a form.
fn token_params(headers: &HeaderMap, body: &[u8]) -> Result<TokenParams, LwaError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    if is_json {
        TokenParams::from_json(body).ok_or(LwaError::InvalidRequest {
            missing: "grant_type",
        })
    } else {
        Ok(TokenParams::from_form(body))
    }
}

/// `POST /auth/o2/token`.
async fn token(
    State(amazon): State<AmazonState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, LwaError> {
    let params = token_params(&headers, &body)?;
    let issued = amazon
        .identity
        .lock()
        .refresh(&params, amazon.clock.now_ms())?;
    Ok(Json(json!({
        "access_token": issued.token,
        "refresh_token": params.get("refresh_token"),
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_700_000_000_000;

    fn grant(app: &LwaApp, refresh_token: &str) -> TokenParams {
        TokenParams::from_form(
            format!(
                "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
                urlencode(refresh_token),
                app.client_id,
                app.client_secret
            )
            .as_bytes(),
        )
    }

    fn urlencode(text: &str) -> String {
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    fn identity_with_seller() -> (Identity, LwaApp, String) {
        let mut identity = Identity::default();
        let app = identity.register_app();
        let refresh_token = identity.authorize(&app.client_id, "A1SELLER");
        (identity, app, refresh_token)
    }

    #[test]
    fn a_refresh_grant_issues_a_token_bound_to_the_seller() {
        let (mut identity, app, refresh_token) = identity_with_seller();
        let issued = identity.refresh(&grant(&app, &refresh_token), NOW).unwrap();
        assert!(issued.token.starts_with("Atza|"));
        assert_eq!(issued.expires_at, NOW + 3_600_000);
        assert_eq!(
            identity.seller_of(Some(&issued.token), NOW),
            Ok("A1SELLER".to_owned())
        );
    }

    #[test]
    fn grants_are_refused_in_lwas_order() {
        let (mut identity, app, refresh_token) = identity_with_seller();
        let wrong_secret = LwaApp {
            client_secret: "amzn1.oa2-cs.v1.wrong".into(),
            ..app.clone()
        };
        assert_eq!(
            identity.refresh(&grant(&wrong_secret, &refresh_token), NOW),
            Err(LwaError::InvalidClient)
        );
        assert_eq!(
            identity.refresh(&grant(&app, "Atzr|unknown"), NOW),
            Err(LwaError::InvalidGrant)
        );
        assert_eq!(
            identity.refresh(
                &TokenParams::from_form(b"grant_type=client_credentials"),
                NOW
            ),
            Err(LwaError::UnsupportedGrantType)
        );
        assert_eq!(
            identity.refresh(&TokenParams::default(), NOW),
            Err(LwaError::InvalidRequest {
                missing: "grant_type"
            })
        );
        identity.revoke_refresh_token(&refresh_token);
        assert_eq!(
            identity.refresh(&grant(&app, &refresh_token), NOW),
            Err(LwaError::InvalidGrant)
        );
    }

    #[test]
    fn another_apps_refresh_token_is_an_invalid_grant() {
        let (mut identity, _app, refresh_token) = identity_with_seller();
        let other_app = identity.register_app();
        assert_eq!(
            identity.refresh(&grant(&other_app, &refresh_token), NOW),
            Err(LwaError::InvalidGrant)
        );
    }

    #[test]
    fn sp_api_refusals_say_why_in_details() {
        let (mut identity, app, refresh_token) = identity_with_seller();
        let token = identity
            .refresh(&grant(&app, &refresh_token), NOW)
            .unwrap()
            .token;
        let details = |identity: &Identity, token: Option<&str>| {
            identity.seller_of(token, NOW).unwrap_err().details
        };
        assert_eq!(
            details(&identity, None),
            "Access token is missing in the request header."
        );
        assert_eq!(
            details(&identity, Some("Atza|forged")),
            "The access token you provided is revoked, malformed or invalid."
        );
        identity.expire_access_token(&token, NOW);
        assert_eq!(
            details(&identity, Some(&token)),
            "The access token you provided has expired."
        );
    }

    #[test]
    fn json_bodies_are_read_when_declared() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let params = token_params(&headers, br#"{"grant_type":"refresh_token"}"#).unwrap();
        assert_eq!(params.get("grant_type"), Some("refresh_token"));
        assert_eq!(
            token_params(&headers, b"grant_type=refresh_token"),
            Err(LwaError::InvalidRequest {
                missing: "grant_type"
            })
        );
    }

    #[test]
    fn errors_carry_lwas_status_and_code() {
        assert_eq!(LwaError::InvalidClient.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(LwaError::InvalidGrant.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            LwaError::InvalidRequest {
                missing: "refresh_token"
            }
            .description(),
            "The request is missing a required parameter : refresh_token"
        );
    }
}
