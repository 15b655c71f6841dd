//! eBay's OAuth: `POST /identity/v1/oauth2/token` with the client's
//! credentials in `Authorization: Basic` and the `refresh_token` grant in a
//! form, and the apps, refresh tokens and access tokens behind it.
//!
//! A refresh token carries the scopes the user consented to; a grant may
//! ask for those or fewer (`scope`, space-separated), never more, and gets
//! them all when it names none. eBay answers with an access token only: the
//! refresh token stays the same.
//!
//! Only the `refresh_token` grant is served; application tokens
//! (`client_credentials`) cannot call the Sell APIs and answer
//! `unsupported_grant_type`.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sluice_core::UnixMillis;

use super::EbayState;
use super::ids;
use crate::fakes::oauth::{
    AccessToken, AccessTokens, Clients, RefreshTokens, TokenParams, TokenRejection, error_response,
};

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/identity/v1/oauth2/token";

/// How long a user access token lives: two hours.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(7200);

/// An eBay application's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbayApp {
    /// The App ID (client id).
    pub client_id: String,
    /// The Cert ID (client secret).
    pub client_secret: String,
}

/// What a token grants: the app it was issued to and the scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The app's client id; call limits are counted per app.
    pub client_id: String,
    /// The OAuth scopes (`https://api.ebay.com/oauth/api_scope/sell.inventory`).
    pub scopes: Vec<String>,
}

/// A refusal from the token endpoint, in eBay's words. Also what tests
/// script ([`FakeEbay::fail_token_requests`](super::FakeEbay::fail_token_requests)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// 400 `invalid_request`: no `grant_type` or `refresh_token`.
    InvalidRequest,
    /// 401 `invalid_client`: no, malformed or wrong Basic credentials.
    InvalidClient,
    /// 400 `invalid_grant`: the refresh token is unknown, revoked, or was
    /// issued to another app.
    InvalidGrant,
    /// 400 `invalid_scope`: a scope the refresh token was not granted.
    InvalidScope,
    /// 400 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// 500 `server_error`.
    ServerError,
    /// 503 `temporarily_unavailable`.
    TemporarilyUnavailable,
}

impl TokenError {
    /// The HTTP status eBay answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidRequest
            | Self::InvalidGrant
            | Self::InvalidScope
            | Self::UnsupportedGrantType => StatusCode::BAD_REQUEST,
        }
    }

    /// The `error` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            Self::InvalidRequest => "request is missing a required parameter or malformed.",
            Self::InvalidClient => "client authentication failed",
            Self::InvalidGrant => {
                "the provided authorization refresh token is invalid or was issued to another \
                 client"
            }
            Self::InvalidScope => {
                "The requested scope is invalid, unknown, malformed, or exceeds the scope \
                 granted to the client"
            }
            Self::UnsupportedGrantType => {
                "grant type in request is not supported by the authorization server"
            }
            Self::ServerError => "There was an internal error in the authorization server.",
            Self::TemporarilyUnavailable => "The authorization server is temporarily unavailable.",
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        error_response(self.status(), self.code(), self.description())
    }
}

/// The apps, the refresh tokens users granted them, and the access tokens
/// issued.
#[derive(Default)]
pub(super) struct Identity {
    clients: Clients,
    refresh_tokens: RefreshTokens<Vec<String>>,
    access_tokens: AccessTokens<Grant>,
}

/// The client id and secret of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (client_id, client_secret) = decoded.split_once(':')?;
    Some((client_id.to_owned(), client_secret.to_owned()))
}

impl Identity {
    pub(super) fn register_app(&mut self) -> EbayApp {
        let app = EbayApp {
            client_id: ids::client_id(),
            client_secret: ids::client_secret(),
        };
        self.clients.register(&app.client_id, &app.client_secret);
        app
    }

    /// The user consents to `scopes` for the app `client_id`: a new refresh
    /// token.
    pub(super) fn grant(&mut self, client_id: &str, scopes: &[&str]) -> String {
        let token = ids::refresh_token();
        let scopes = scopes.iter().map(|scope| scope.to_string()).collect();
        self.refresh_tokens.issue(&token, client_id, scopes);
        token
    }

    pub(super) fn revoke_refresh_token(&mut self, token: &str) {
        self.refresh_tokens.revoke(token);
    }

    /// Runs a token request at `now`.
    fn exchange(
        &mut self,
        headers: &HeaderMap,
        params: &TokenParams,
        now: UnixMillis,
    ) -> Result<AccessToken<Grant>, TokenError> {
        let (client_id, client_secret) =
            basic_credentials(headers).ok_or(TokenError::InvalidClient)?;
        if !self.clients.authenticate(&client_id, &client_secret) {
            return Err(TokenError::InvalidClient);
        }
        match params.get("grant_type") {
            Some("refresh_token") => {}
            Some(_) => return Err(TokenError::UnsupportedGrantType),
            None => return Err(TokenError::InvalidRequest),
        }
        let refresh_token = params
            .get("refresh_token")
            .ok_or(TokenError::InvalidRequest)?;
        let granted = self
            .refresh_tokens
            .redeem(refresh_token, &client_id)
            .ok_or(TokenError::InvalidGrant)?;
        let scopes = match params.get("scope") {
            None => granted.clone(),
            Some(asked) => {
                let asked: Vec<String> = asked.split_whitespace().map(str::to_owned).collect();
                if !asked.iter().all(|scope| granted.contains(scope)) {
                    return Err(TokenError::InvalidScope);
                }
                asked
            }
        };
        let grant = Grant { client_id, scopes };
        Ok(self
            .access_tokens
            .issue(ids::access_token(), grant, now, ACCESS_TOKEN_LIFETIME))
    }

    /// The grant of the bearer token in an `Authorization` header, if it is
    /// live at `now`.
    pub(super) fn authenticate(
        &self,
        authorization: Option<&str>,
        now: UnixMillis,
    ) -> Result<&Grant, TokenRejection> {
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(TokenRejection::Unknown)?;
        self.access_tokens.check(token, now)
    }

    pub(super) fn access_tokens(&self) -> Vec<AccessToken<Grant>> {
        self.access_tokens.all()
    }

    pub(super) fn expire_access_token(&mut self, token: &str, now: UnixMillis) {
        self.access_tokens.expire(token, now);
    }
}

/// The token route.
pub(super) fn routes(ebay: EbayState) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(token))
        .with_state(ebay)
}

/// `POST /identity/v1/oauth2/token`.
async fn token(
    State(ebay): State<EbayState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, TokenError> {
    let params = TokenParams::from_form(&body);
    let issued = ebay
        .identity
        .lock()
        .exchange(&headers, &params, ebay.clock.now_ms())?;
    Ok(Json(json!({
        "access_token": issued.token,
        "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
        "token_type": "User Access Token",
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_700_000_000_000;
    const INVENTORY: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory";
    const FULFILLMENT: &str = "https://api.ebay.com/oauth/api_scope/sell.fulfillment";

    fn basic(app: &EbayApp) -> HeaderMap {
        let encoded = STANDARD.encode(format!("{}:{}", app.client_id, app.client_secret));
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, format!("Basic {encoded}").parse().unwrap());
        headers
    }

    fn refresh(token: &str, scope: Option<&str>) -> TokenParams {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", token);
        if let Some(scope) = scope {
            form.append_pair("scope", scope);
        }
        TokenParams::from_form(form.finish().as_bytes())
    }

    fn identity() -> (Identity, EbayApp, String) {
        let mut identity = Identity::default();
        let app = identity.register_app();
        let token = identity.grant(&app.client_id, &[INVENTORY, FULFILLMENT]);
        (identity, app, token)
    }

    #[test]
    fn a_grant_without_scope_gets_every_granted_scope() {
        let (mut identity, app, token) = identity();
        let issued = identity
            .exchange(&basic(&app), &refresh(&token, None), NOW)
            .unwrap();
        assert_eq!(issued.grant.scopes, [INVENTORY, FULFILLMENT]);
        assert_eq!(issued.expires_at, NOW + 7_200_000);
        let header = format!("Bearer {}", issued.token);
        assert_eq!(
            identity.authenticate(Some(&header), NOW).unwrap().client_id,
            app.client_id
        );
    }

    #[test]
    fn a_grant_may_narrow_the_scopes_but_not_widen_them() {
        let (mut identity, app, token) = identity();
        let narrowed = identity
            .exchange(&basic(&app), &refresh(&token, Some(INVENTORY)), NOW)
            .unwrap();
        assert_eq!(narrowed.grant.scopes, [INVENTORY]);
        let wider = format!("{INVENTORY} https://api.ebay.com/oauth/api_scope/sell.account");
        assert_eq!(
            identity.exchange(&basic(&app), &refresh(&token, Some(&wider)), NOW),
            Err(TokenError::InvalidScope)
        );
    }

    #[test]
    fn clients_and_grants_are_checked() {
        let (mut identity, app, token) = identity();
        let wrong = EbayApp {
            client_secret: "PRD-wrong".into(),
            ..app.clone()
        };
        assert_eq!(
            identity.exchange(&basic(&wrong), &refresh(&token, None), NOW),
            Err(TokenError::InvalidClient)
        );
        assert_eq!(
            identity.exchange(&HeaderMap::new(), &refresh(&token, None), NOW),
            Err(TokenError::InvalidClient)
        );
        assert_eq!(
            identity.exchange(&basic(&app), &refresh("v^1.1#forged", None), NOW),
            Err(TokenError::InvalidGrant)
        );
        let code_grant = TokenParams::from_form(b"grant_type=authorization_code&code=x");
        assert_eq!(
            identity.exchange(&basic(&app), &code_grant, NOW),
            Err(TokenError::UnsupportedGrantType)
        );
        identity.revoke_refresh_token(&token);
        assert_eq!(
            identity.exchange(&basic(&app), &refresh(&token, None), NOW),
            Err(TokenError::InvalidGrant)
        );
    }

    #[test]
    fn expired_and_unknown_tokens_do_not_authenticate() {
        let (mut identity, app, token) = identity();
        let issued = identity
            .exchange(&basic(&app), &refresh(&token, None), NOW)
            .unwrap();
        let header = format!("Bearer {}", issued.token);
        identity.expire_access_token(&issued.token, NOW);
        assert_eq!(
            identity.authenticate(Some(&header), NOW),
            Err(TokenRejection::Expired)
        );
        assert_eq!(
            identity.authenticate(None, NOW),
            Err(TokenRejection::Unknown)
        );
    }
}
