//! The OAuth 2 pieces the marketplace fakes share (Amazon's Login with
//! Amazon, eBay's identity service): registered clients, refresh tokens bound
//! to the client they were granted to, access tokens that expire on the
//! fake's clock, the parameters of a token request, and the
//! `{"error":"...","error_description":"..."}` answer of RFC 6749 §5.2.
//!
//! Each fake keeps its own error vocabulary and token formats; what a grant
//! carries (a seller, a set of scopes) is the fake's type `G`.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};
use sluice_core::UnixMillis;

/// An OAuth error answer: `status` with
/// `{"error": code, "error_description": description}`.
pub fn error_response(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

/// `len` random alphanumeric characters: token material a test cannot guess.
pub fn random_alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The parameters of a token request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TokenParams {
    fields: HashMap<String, String>,
}

impl TokenParams {
    /// The fields of an `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Self {
        Self {
            fields: url::form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The string fields of a JSON object body, or `None` when the body is
    /// not a JSON object.
    pub fn from_json(body: &[u8]) -> Option<Self> {
        let Ok(Value::Object(object)) = serde_json::from_slice(body) else {
            return None;
        };
        let fields = object
            .into_iter()
            .filter_map(|(name, value)| match value {
                Value::String(text) => Some((name, text)),
                _ => None,
            })
            .collect();
        Some(Self { fields })
    }

    /// Parameter `name`, unless it is absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }
}

/// The registered OAuth clients and their secrets.
#[derive(Debug, Default)]
pub struct Clients {
    secrets: HashMap<String, String>,
}

impl Clients {
    /// Registers `client_id` with `client_secret`.
    pub fn register(&mut self, client_id: &str, client_secret: &str) {
        self.secrets
            .insert(client_id.to_owned(), client_secret.to_owned());
    }

    /// Whether `client_id` is registered with exactly `client_secret`.
    pub fn authenticate(&self, client_id: &str, client_secret: &str) -> bool {
        self.secrets
            .get(client_id)
            .is_some_and(|secret| secret == client_secret)
    }
}

#[derive(Debug)]
struct RefreshGrant<G> {
    client_id: String,
    grant: G,
    revoked: bool,
}

/// Refresh tokens, each granted to one client and carrying a grant `G`.
#[derive(Debug)]
pub struct RefreshTokens<G> {
    tokens: HashMap<String, RefreshGrant<G>>,
}

impl<G> Default for RefreshTokens<G> {
    fn default() -> Self {
        Self {
            tokens: HashMap::new(),
        }
    }
}

impl<G> RefreshTokens<G> {
    /// Records `token` as granted to `client_id` with `grant`.
    pub fn issue(&mut self, token: &str, client_id: &str, grant: G) {
        self.tokens.insert(
            token.to_owned(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                grant,
                revoked: false,
            },
        );
    }

    /// The grant behind `token` when `client_id` presents it; `None` when the
    /// token is unknown, revoked or was granted to another client, which
    /// providers answer alike (`invalid_grant`).
    pub fn redeem(&self, token: &str, client_id: &str) -> Option<&G> {
        self.tokens
            .get(token)
            .filter(|issued| !issued.revoked && issued.client_id == client_id)
            .map(|issued| &issued.grant)
    }

    /// Revokes `token`: it is refused from now on.
    ///
    /// # Panics
    /// If `token` was never issued.
    pub fn revoke(&mut self, token: &str) {
        self.tokens
            .get_mut(token)
            .unwrap_or_else(|| panic!("the fake never issued refresh token {token:?}"))
            .revoked = true;
    }
}

/// An access token a fake issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken<G> {
    /// The token itself, as sent back to the fake.
    pub token: String,
    /// What the token grants access to.
    pub grant: G,
    /// When it was issued, on the fake's clock.
    pub issued_at: UnixMillis,
    /// From when it is refused as expired, on the fake's clock.
    pub expires_at: UnixMillis,
    /// Whether a test revoked it.
    pub revoked: bool,
}

/// Why an access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// The fake never issued it (or it is malformed).
    Unknown,
    /// Its lifetime is over.
    Expired,
    /// A test revoked it.
    Revoked,
}

/// The access tokens a fake has issued, in issue order.
#[derive(Debug)]
pub struct AccessTokens<G> {
    issued: Vec<AccessToken<G>>,
    by_token: HashMap<String, usize>,
}

impl<G> Default for AccessTokens<G> {
    fn default() -> Self {
        Self {
            issued: Vec::new(),
            by_token: HashMap::new(),
        }
    }
}

impl<G: Clone> AccessTokens<G> {
    /// Records `token` carrying `grant`, issued at `now` and living `lifetime`.
    pub fn issue(
        &mut self,
        token: String,
        grant: G,
        now: UnixMillis,
        lifetime: Duration,
    ) -> AccessToken<G> {
        let lifetime_ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
        let issued = AccessToken {
            token: token.clone(),
            grant,
            issued_at: now,
            expires_at: now.saturating_add(lifetime_ms),
            revoked: false,
        };
        self.by_token.insert(token, self.issued.len());
        self.issued.push(issued.clone());
        issued
    }

    /// The grant of `token` if it is accepted at `now`.
    pub fn check(&self, token: &str, now: UnixMillis) -> Result<&G, TokenRejection> {
        let issued = self
            .by_token
            .get(token)
            .map(|&index| &self.issued[index])
            .ok_or(TokenRejection::Unknown)?;
        if issued.revoked {
            Err(TokenRejection::Revoked)
        } else if now >= issued.expires_at {
            Err(TokenRejection::Expired)
        } else {
            Ok(&issued.grant)
        }
    }

    /// Makes `token` expire at `now`, as if its lifetime had run out.
    ///
    /// # Panics
    /// If `token` was never issued.
    pub fn expire(&mut self, token: &str, now: UnixMillis) {
        let issued = self.issued_mut(token);
        issued.expires_at = issued.expires_at.min(now);
    }

    /// Revokes `token`.
    ///
    /// # Panics
    /// If `token` was never issued.
    pub fn revoke(&mut self, token: &str) {
        self.issued_mut(token).revoked = true;
    }

    /// Every token issued so far, oldest first.
    pub fn all(&self) -> Vec<AccessToken<G>> {
        self.issued.clone()
    }

    fn issued_mut(&mut self, token: &str) -> &mut AccessToken<G> {
        let index = *self
            .by_token
            .get(token)
            .unwrap_or_else(|| panic!("the fake never issued access token {token:?}"));
        &mut self.issued[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_700_000_000_000;
    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn form_and_json_parameters_read_alike_and_empty_means_absent() {
        let form =
            TokenParams::from_form(b"grant_type=refresh_token&refresh_token=Atzr%7Cx&scope=");
        let json = TokenParams::from_json(
            br#"{"grant_type":"refresh_token","refresh_token":"Atzr|x","scope":"","n":1}"#,
        )
        .unwrap();
        for params in [&form, &json] {
            assert_eq!(params.get("grant_type"), Some("refresh_token"));
            assert_eq!(params.get("refresh_token"), Some("Atzr|x"));
            assert_eq!(params.get("scope"), None);
        }
        assert_eq!(json.get("n"), None);
        assert_eq!(TokenParams::from_json(b"[1]"), None);
    }

    #[test]
    fn clients_authenticate_only_with_their_own_secret() {
        let mut clients = Clients::default();
        clients.register("app", "s3cret");
        assert!(clients.authenticate("app", "s3cret"));
        assert!(!clients.authenticate("app", "other"));
        assert!(!clients.authenticate("stranger", "s3cret"));
    }

    #[test]
    fn a_refresh_token_redeems_only_for_its_client_until_revoked() {
        let mut tokens = RefreshTokens::default();
        tokens.issue("r1", "app", "seller-1");
        assert_eq!(tokens.redeem("r1", "app"), Some(&"seller-1"));
        assert_eq!(tokens.redeem("r1", "other-app"), None);
        assert_eq!(tokens.redeem("r2", "app"), None);
        tokens.revoke("r1");
        assert_eq!(tokens.redeem("r1", "app"), None);
    }

    #[test]
    fn an_access_token_is_accepted_until_it_expires() {
        let mut tokens = AccessTokens::default();
        let issued = tokens.issue("a1".into(), 7, NOW, HOUR);
        assert_eq!(issued.expires_at, NOW + 3_600_000);
        assert_eq!(tokens.check("a1", NOW), Ok(&7));
        assert_eq!(tokens.check("a1", issued.expires_at - 1), Ok(&7));
        assert_eq!(
            tokens.check("a1", issued.expires_at),
            Err(TokenRejection::Expired)
        );
        assert_eq!(tokens.check("a2", NOW), Err(TokenRejection::Unknown));
    }

    #[test]
    fn expiring_and_revoking_take_effect_at_once() {
        let mut tokens = AccessTokens::default();
        tokens.issue("a1".into(), (), NOW, HOUR);
        tokens.issue("a2".into(), (), NOW, HOUR);
        tokens.expire("a1", NOW);
        tokens.revoke("a2");
        assert_eq!(tokens.check("a1", NOW), Err(TokenRejection::Expired));
        assert_eq!(tokens.check("a2", NOW), Err(TokenRejection::Revoked));
        let all = tokens.all();
        assert_eq!(all.len(), 2);
        assert!(all[1].revoked);
    }

    #[test]
    #[should_panic(expected = "never issued access token")]
    fn expiring_an_unknown_token_is_a_test_bug() {
        AccessTokens::<()>::default().expire("nope", NOW);
    }

    #[tokio::test]
    async fn errors_render_as_rfc_6749_json() {
        let response = error_response(StatusCode::BAD_REQUEST, "invalid_grant", "no such token");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({"error": "invalid_grant", "error_description": "no such token"})
        );
    }
}
