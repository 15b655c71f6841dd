//! Checking a service account's JWT assertion the way Google's token endpoint
//! does: structure, issuer, RS256 signature with the account's key, audience,
//! lifetime and scope.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::TOKEN_URI;
use super::token_error::TokenError;

/// The longest lifetime Google accepts for an assertion, in seconds.
const MAX_LIFETIME_SECS: i64 = 3600;
/// How far ahead of the server's clock `iat` may be, in seconds.
const CLOCK_SKEW_SECS: i64 = 300;
/// Every Google API scope starts with this.
const GOOGLE_SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";

/// A service account key the endpoint verifies with.
pub(super) struct AccountKey {
    /// The `kid` that names the key.
    pub key_id: String,
    /// DER `RSAPublicKey`.
    pub public_key: Vec<u8>,
}

/// A JWT split into its parts, not yet trusted.
#[derive(Debug)]
pub(super) struct Assertion {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Assertion {
    /// Splits and decodes `jwt`; checks nothing but its shape.
    pub(super) fn decode(jwt: &str) -> Result<Self, TokenError> {
        let [header, claims, signature]: [&str; 3] = jwt
            .split('.')
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| TokenError::MalformedAssertion)?;
        Ok(Self {
            header: decode_object(header)?,
            claims: decode_object(claims)?,
            signing_input: format!("{header}.{claims}"),
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .map_err(|_| TokenError::MalformedAssertion)?,
        })
    }

    /// The service account the assertion claims to come from (`iss`).
    pub(super) fn issuer(&self) -> Result<&str, TokenError> {
        self.claims
            .get("iss")
            .and_then(Value::as_str)
            .filter(|iss| iss.contains('@'))
            .ok_or(TokenError::NotAValidEmail)
    }

    /// Verifies the assertion with the issuer's `key` at `now` (Unix
    /// seconds) and returns the scopes it asks for.
    pub(super) fn verify(&self, key: &AccountKey, now: i64) -> Result<Vec<String>, TokenError> {
        self.verify_signature(key)?;
        if self.claims.get("aud").and_then(Value::as_str) != Some(TOKEN_URI) {
            return Err(TokenError::FailedAudienceCheck);
        }
        self.check_timeframe(now)?;
        self.scopes()
    }

    fn verify_signature(&self, key: &AccountKey) -> Result<(), TokenError> {
        let header = |name: &str| self.header.get(name).and_then(Value::as_str);
        // An unsigned ("alg":"none") or HMAC token must never get past here.
        let header_ok = header("alg") == Some("RS256")
            && header("typ") == Some("JWT")
            && header("kid") == Some(key.key_id.as_str());
        let public_key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.public_key);
        if header_ok
            && public_key
                .verify(self.signing_input.as_bytes(), &self.signature)
                .is_ok()
        {
            Ok(())
        } else {
            Err(TokenError::InvalidSignature)
        }
    }

    fn check_timeframe(&self, now: i64) -> Result<(), TokenError> {
        let seconds = |name: &str| self.claims.get(name).and_then(Value::as_i64);
        let (Some(iat), Some(exp)) = (seconds("iat"), seconds("exp")) else {
            return Err(TokenError::InvalidTimeframe);
        };
        let short_lived = iat < exp && exp - iat <= MAX_LIFETIME_SECS;
        let current = iat - CLOCK_SKEW_SECS <= now && now <= exp;
        if short_lived && current {
            Ok(())
        } else {
            Err(TokenError::InvalidTimeframe)
        }
    }

    fn scopes(&self) -> Result<Vec<String>, TokenError> {
        let scopes: Vec<String> = self
            .claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if scopes.is_empty()
            || scopes
                .iter()
                .any(|scope| !scope.starts_with(GOOGLE_SCOPE_PREFIX))
        {
            return Err(TokenError::InvalidScope);
        }
        Ok(scopes)
    }
}

fn decode_object(part: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::MalformedAssertion)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::MalformedAssertion)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::CONTENT_SCOPE;
    use super::super::service_account::ServiceAccount;
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn key_of(account: &ServiceAccount) -> AccountKey {
        AccountKey {
            key_id: account.private_key_id().to_owned(),
            public_key: account.public_key_der(),
        }
    }

    /// Verifies an assertion the test account signs over `header` and
    /// `claims`, against the test account's key.
    fn verify(header: Value, claims: Value) -> Result<Vec<String>, TokenError> {
        let account = ServiceAccount::test_account();
        let jwt = account.sign_jwt(&header, &claims);
        Assertion::decode(&jwt)?.verify(&key_of(&account), NOW)
    }

    fn with(base: Value, name: &str, value: Value) -> Value {
        let mut changed = base;
        changed[name] = value;
        changed
    }

    #[test]
    fn a_correct_assertion_yields_its_scopes() {
        let account = ServiceAccount::test_account();
        assert_eq!(
            verify(account.header(), account.claims(NOW)),
            Ok(vec![CONTENT_SCOPE.to_owned()])
        );
    }

    #[test]
    fn the_issuer_must_be_an_email() {
        let account = ServiceAccount::test_account();
        let decoded = Assertion::decode(&account.assertion(NOW)).unwrap();
        assert_eq!(decoded.issuer(), Ok(account.client_email()));
        let nameless = account.sign_jwt(&account.header(), &json!({"aud": TOKEN_URI}));
        assert_eq!(
            Assertion::decode(&nameless).unwrap().issuer(),
            Err(TokenError::NotAValidEmail)
        );
    }

    #[test]
    fn headers_other_than_rs256_jwt_with_the_right_kid_fail_as_signature_errors() {
        let account = ServiceAccount::test_account();
        let header = account.header();
        for wrong in [
            with(header.clone(), "alg", json!("none")),
            with(header.clone(), "alg", json!("HS256")),
            with(header.clone(), "typ", json!("JOSE")),
            with(
                header.clone(),
                "kid",
                json!("0000000000000000000000000000000000000000"),
            ),
            json!({"alg": "RS256", "typ": "JWT"}),
        ] {
            assert_eq!(
                verify(wrong.clone(), account.claims(NOW)),
                Err(TokenError::InvalidSignature),
                "{wrong}"
            );
        }
    }

    #[test]
    fn a_signature_by_another_key_does_not_verify() {
        let account = ServiceAccount::test_account();
        let forged = ServiceAccount::stranger().sign_jwt(&account.header(), &account.claims(NOW));
        let decoded = Assertion::decode(&forged).unwrap();
        assert_eq!(
            decoded.verify(&key_of(&account), NOW),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn an_unsigned_token_is_refused_even_with_an_empty_signature() {
        let account = ServiceAccount::test_account();
        let signed = account.sign_jwt(
            &with(account.header(), "alg", json!("none")),
            &account.claims(NOW),
        );
        let unsigned = format!("{}.", signed.rsplit_once('.').unwrap().0);
        let decoded = Assertion::decode(&unsigned).unwrap();
        assert_eq!(
            decoded.verify(&key_of(&account), NOW),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn the_audience_must_be_the_token_endpoint() {
        let account = ServiceAccount::test_account();
        let old_endpoint = with(
            account.claims(NOW),
            "aud",
            json!("https://accounts.google.com/o/oauth2/token"),
        );
        assert_eq!(
            verify(account.header(), old_endpoint),
            Err(TokenError::FailedAudienceCheck)
        );
    }

    #[test]
    fn lifetimes_over_an_hour_or_outside_now_are_refused() {
        let account = ServiceAccount::test_account();
        let window = |iat: i64, exp: i64| {
            let claims = with(account.claims(NOW), "iat", json!(iat));
            verify(account.header(), with(claims, "exp", json!(exp)))
        };
        assert!(window(NOW, NOW + 3600).is_ok());
        assert!(window(NOW + 300, NOW + 600).is_ok(), "iat within the skew");
        assert!(window(NOW - 3600, NOW).is_ok(), "expiring this second");
        let refused = Err(TokenError::InvalidTimeframe);
        assert_eq!(window(NOW, NOW + 3601), refused, "too long");
        assert_eq!(window(NOW - 3600, NOW - 1), refused, "expired");
        assert_eq!(
            window(NOW + 301, NOW + 600),
            refused,
            "issued in the future"
        );
        assert_eq!(window(NOW, NOW), refused, "exp not after iat");
        let text_iat = with(account.claims(NOW), "iat", json!(NOW.to_string()));
        assert_eq!(
            verify(account.header(), text_iat),
            refused,
            "iat as a string"
        );
    }

    #[test]
    fn scopes_must_be_present_and_google_scopes() {
        let account = ServiceAccount::test_account();
        let scoped =
            |scope: Value| verify(account.header(), with(account.claims(NOW), "scope", scope));
        let two = format!("{CONTENT_SCOPE} https://www.googleapis.com/auth/cloud-platform");
        assert_eq!(scoped(json!(two)).unwrap().len(), 2);
        assert_eq!(scoped(json!("")), Err(TokenError::InvalidScope));
        assert_eq!(scoped(Value::Null), Err(TokenError::InvalidScope));
        assert_eq!(scoped(json!("content")), Err(TokenError::InvalidScope));
    }

    #[test]
    fn anything_but_three_base64url_json_parts_is_malformed() {
        for jwt in ["", "a.b", "a.b.c.d", "e30.e30.***", "bm90IGpzb24.e30.AA"] {
            assert_eq!(
                Assertion::decode(jwt).unwrap_err(),
                TokenError::MalformedAssertion,
                "{jwt}"
            );
        }
    }
}
