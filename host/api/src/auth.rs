//! Admin authentication: `Authorization: Bearer <token>`, checked against
//! the stored SHA-256 hashes of the admin tokens. The token's record goes
//! into the request's extensions, for handlers that record who acted.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::{AppState, Problem};

/// The stored form of an admin token: hex SHA-256. Tokens are random and
/// long, so a fast hash is enough and lets every request check in one lookup.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Lets the request through only with a known admin token.
pub async fn require_admin(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return unauthorized("an admin token is needed: Authorization: Bearer <token>");
    };
    match state.db.find_admin_token(&hash_token(token)).await {
        Ok(Some(admin)) => {
            // Handlers that record who did something read it.
            request.extensions_mut().insert(admin);
            next.run(request).await
        }
        Ok(None) => unauthorized("the admin token is not known"),
        Err(error) => Problem::from(error).into_response(),
    }
}

fn unauthorized(detail: &str) -> Response {
    let mut response =
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_are_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
