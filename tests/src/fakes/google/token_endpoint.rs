//! `POST https://oauth2.googleapis.com/token`: the JWT bearer grant that
//! trades a service account's signed assertion for an access token.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use super::credentials::ACCESS_TOKEN_LIFETIME;
use super::token_error::TokenError;
use super::{GoogleState, JWT_BEARER_GRANT};

/// The token route, on `oauth2.googleapis.com`.
pub(super) fn routes(google: GoogleState) -> Router {
    Router::new()
        .route("/token", post(token))
        .with_state(google)
}

/// `POST /token` with a form body.
async fn token(State(google): State<GoogleState>, body: Bytes) -> Result<Json<Value>, TokenError> {
    let mut grant_type = None;
    let mut assertion = None;
    for (name, value) in url::form_urlencoded::parse(&body) {
        match name.as_ref() {
            "grant_type" => grant_type = Some(value.into_owned()),
            "assertion" => assertion = Some(value.into_owned()),
            _ => {}
        }
    }
    if grant_type.as_deref() != Some(JWT_BEARER_GRANT) {
        return Err(TokenError::UnsupportedGrantType);
    }
    let assertion = assertion
        .filter(|assertion| !assertion.is_empty())
        .ok_or(TokenError::MissingAssertion)?;
    let issued = google
        .credentials
        .lock()
        .exchange(&assertion, google.clock.now_ms())?;
    Ok(Json(json!({
        "access_token": issued.token,
        "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
        "token_type": "Bearer",
    })))
}
