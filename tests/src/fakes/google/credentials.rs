//! The fake's identity side: the service account it knows and the access
//! tokens it has issued.

use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use sluice_core::UnixMillis;

use super::jwt::{AccountKey, Assertion};
use super::service_account::ServiceAccount;
use super::token_error::TokenError;

/// How long an access token lives; Google's is an hour, reported as 3599
/// seconds.
pub(super) const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// An access token the fake issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token (`ya29....`).
    pub token: String,
    /// The scopes the assertion asked for.
    pub scopes: Vec<String>,
    /// When it was issued, on the fake's clock.
    pub issued_at: UnixMillis,
    /// When it stops being accepted, on the fake's clock.
    pub expires_at: UnixMillis,
    /// Whether a test revoked it.
    pub revoked: bool,
}

impl AccessToken {
    fn accepted_at(&self, now: UnixMillis) -> bool {
        !self.revoked && now < self.expires_at
    }
}

/// Why a Merchant API request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unauthenticated {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token the fake never issued, or one expired or revoked.
    Invalid,
}

/// The known service account and the issued tokens.
pub(super) struct Credentials {
    email: String,
    key: AccountKey,
    account_deleted: bool,
    /// In issue order; a handful per test, so a scan is enough.
    tokens: Vec<AccessToken>,
}

impl Credentials {
    pub(super) fn new(account: &ServiceAccount) -> Self {
        Self {
            email: account.client_email().to_owned(),
            key: AccountKey {
                key_id: account.private_key_id().to_owned(),
                public_key: account.public_key_der(),
            },
            account_deleted: false,
            tokens: Vec::new(),
        }
    }

    /// Exchanges a JWT `assertion` for an access token at `now`.
    pub(super) fn exchange(
        &mut self,
        assertion: &str,
        now: UnixMillis,
    ) -> Result<AccessToken, TokenError> {
        let assertion = Assertion::decode(assertion)?;
        if assertion.issuer()? != self.email || self.account_deleted {
            return Err(TokenError::AccountNotFound);
        }
        let scopes = assertion.verify(&self.key, now.div_euclid(1000))?;
        let token = AccessToken {
            token: format!("ya29.c.{}", random_suffix()),
            scopes,
            issued_at: now,
            expires_at: now + ACCESS_TOKEN_LIFETIME.as_millis() as i64,
            revoked: false,
        };
        self.tokens.push(token.clone());
        Ok(token)
    }

    /// The scopes of the live token in an `Authorization` header value.
    pub(super) fn authenticate(
        &self,
        authorization: Option<&str>,
        now: UnixMillis,
    ) -> Result<&[String], Unauthenticated> {
        let bearer = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Unauthenticated::Missing)?;
        self.tokens
            .iter()
            .find(|issued| issued.token == bearer && issued.accepted_at(now))
            .map(|issued| issued.scopes.as_slice())
            .ok_or(Unauthenticated::Invalid)
    }

    /// Every token issued so far, oldest first.
    pub(super) fn tokens(&self) -> Vec<AccessToken> {
        self.tokens.clone()
    }

    /// # Panics
    /// If the fake never issued `token`.
    pub(super) fn revoke(&mut self, token: &str) {
        let issued = self
            .tokens
            .iter_mut()
            .find(|issued| issued.token == token)
            .unwrap_or_else(|| panic!("fake Google never issued access token {token:?}"));
        issued.revoked = true;
    }

    /// From now on assertions of the account are refused as from an unknown
    /// account; tokens already issued keep working until they expire, as
    /// Google's do.
    pub(super) fn delete_account(&mut self) {
        self.account_deleted = true;
    }
}

/// Unguessable like Google's tokens, so a test cannot pass by guessing.
fn random_suffix() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: UnixMillis = 1_700_000_000_000;

    fn credentials() -> (Credentials, ServiceAccount) {
        let account = ServiceAccount::test_account();
        (Credentials::new(&account), account)
    }

    fn bearer(token: &AccessToken) -> String {
        format!("Bearer {}", token.token)
    }

    #[test]
    fn an_exchanged_token_authenticates_until_it_expires() {
        let (mut credentials, account) = credentials();
        let token = credentials
            .exchange(&account.assertion(NOW_MS / 1000), NOW_MS)
            .unwrap();
        assert!(token.token.starts_with("ya29."));
        assert_eq!(token.expires_at - token.issued_at, 3_599_000);

        let header = bearer(&token);
        assert!(credentials.authenticate(Some(&header), NOW_MS).is_ok());
        assert_eq!(
            credentials.authenticate(Some(&header), token.expires_at),
            Err(Unauthenticated::Invalid)
        );
    }

    #[test]
    fn revoked_unknown_and_missing_tokens_do_not_authenticate() {
        let (mut credentials, account) = credentials();
        let token = credentials
            .exchange(&account.assertion(NOW_MS / 1000), NOW_MS)
            .unwrap();
        credentials.revoke(&token.token);
        assert_eq!(
            credentials.authenticate(Some(&bearer(&token)), NOW_MS),
            Err(Unauthenticated::Invalid)
        );
        assert_eq!(
            credentials.authenticate(Some("Bearer ya29.forged"), NOW_MS),
            Err(Unauthenticated::Invalid)
        );
        assert_eq!(
            credentials.authenticate(Some("Basic dXNlcjpwYXNz"), NOW_MS),
            Err(Unauthenticated::Missing)
        );
        assert!(credentials.tokens()[0].revoked);
    }

    #[test]
    fn strangers_and_deleted_accounts_are_not_found() {
        let (mut credentials, account) = credentials();
        let stranger = ServiceAccount::stranger().assertion(NOW_MS / 1000);
        assert_eq!(
            credentials.exchange(&stranger, NOW_MS),
            Err(TokenError::AccountNotFound)
        );
        credentials.delete_account();
        assert_eq!(
            credentials.exchange(&account.assertion(NOW_MS / 1000), NOW_MS),
            Err(TokenError::AccountNotFound)
        );
        assert!(credentials.tokens().is_empty());
    }
}
