//! The service account's assertion: a JWT signed with RS256 inside the
//! component, as Google's client libraries build it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::OsRng;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use serde_json::json;
use sha2::Sha256;

use crate::config::ServiceAccountKey;

/// The scope the Merchant API requires.
pub const CONTENT_SCOPE: &str = "https://www.googleapis.com/auth/content";

/// How long an assertion is valid, the most Google accepts.
const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// The assertion `key` signs at `now_secs` (Unix seconds) for `audience`,
/// the token endpoint.
pub fn assertion(key: &ServiceAccountKey, audience: &str, now_secs: u64) -> Result<String, String> {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.private_key_id});
    let claims = json!({
        "iss": key.client_email,
        "scope": CONTENT_SCOPE,
        "aud": audience,
        "iat": now_secs,
        "exp": now_secs + ASSERTION_LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // Blinded with randomness from the host, so the signing time does not
    // depend on the key.
    let signature = SigningKey::<Sha256>::new(key.private_key.clone())
        .try_sign_with_rng(&mut OsRng, signing_input.as_bytes())
        .map_err(|error| format!("the assertion could not be signed with the key: {error}"))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use rsa::RsaPublicKey;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use serde_json::Value;

    use super::*;

    /// A small key, fast to generate; Google's are 2048 bits.
    fn key() -> ServiceAccountKey {
        ServiceAccountKey {
            client_email: "sa@project.iam.gserviceaccount.com".into(),
            private_key_id: "kid-1".into(),
            private_key: rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap(),
        }
    }

    fn part(text: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
    }

    #[test]
    fn the_assertion_carries_googles_header_and_claims_and_verifies() {
        let key = key();
        let jwt = assertion(&key, "https://oauth2.googleapis.com/token", 1_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            part(parts[0]),
            json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"})
        );
        assert_eq!(
            part(parts[1]),
            json!({
                "iss": "sa@project.iam.gserviceaccount.com",
                "scope": CONTENT_SCOPE,
                "aud": "https://oauth2.googleapis.com/token",
                "iat": 1_000,
                "exp": 4_600,
            })
        );
        let signature =
            Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        let verifying = VerifyingKey::<Sha256>::new(RsaPublicKey::from(&key.private_key));
        let signed = format!("{}.{}", parts[0], parts[1]);
        verifying.verify(signed.as_bytes(), &signature).unwrap();
    }
}
