//! The JWT-bearer grant's assertion (RFC 7523), signed RS256 with a
//! service account's key, as Google's token endpoint expects it.

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

/// How long an assertion is valid, in seconds (Google's maximum).
const ASSERTION_LIFETIME_SECONDS: i64 = 3_600;

/// The fields of a service account's JSON key that the grant uses.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
}

/// A signed assertion for the service account whose JSON key is
/// `key_json`, asking `audience` (the token endpoint) for `scopes`, issued
/// at `now` (Unix seconds).
pub fn assertion(
    key_json: &str,
    audience: &str,
    scopes: &[String],
    now: i64,
) -> Result<String, String> {
    let key: ServiceAccountKey = serde_json::from_str(key_json).map_err(|e| {
        format!(
            "not a service account's JSON key (client_email and private_key): {}",
            json_problem(&e)
        )
    })?;
    let der = PrivatePkcs8KeyDer::from_pem_slice(key.private_key.as_bytes())
        .map_err(|e| format!("private_key is not a PKCS#8 PEM key: {e}"))?;
    let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|e| format!("private_key is not an RSA key ring accepts: {e}"))?;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
    if let Some(kid) = &key.private_key_id {
        header["kid"] = serde_json::Value::String(kid.clone());
    }
    let claims = serde_json::json!({
        "iss": key.client_email,
        "scope": scopes.join(" "),
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
    });
    let signing_input = format!(
        "{}.{}",
        encode(header.to_string().as_bytes()),
        encode(claims.to_string().as_bytes())
    );
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the assertion failed".to_owned())?;
    Ok(format!("{signing_input}.{}", encode(&signature)))
}

/// What is wrong with the key's JSON, without quoting any of it: serde's own
/// message may repeat the value, which is the secret.
fn json_problem(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let place = format!("line {} column {}", error.line(), error.column());
    match error.classify() {
        serde_json::error::Category::Data if message.starts_with("missing field") => message
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_owned(),
        serde_json::error::Category::Data => format!("a field has the wrong type ({place})"),
        serde_json::error::Category::Syntax => format!("not valid JSON ({place})"),
        serde_json::error::Category::Eof => "the JSON ends early".to_owned(),
        serde_json::error::Category::Io => "the key could not be read".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_is_not_a_service_account_key_is_described_without_quoting_it() {
        let secret = "-----BEGIN PRIVATE KEY-----MIIEsecret";
        for key in [
            format!("{:?}", format!(r#"{{"private_key":"{secret}"}}"#)),
            format!(r#"{{"client_email": 7, "private_key": "{secret}"}}"#),
            format!(r#"{{"private_key": "{secret}""#),
            format!("{secret} not json"),
        ] {
            let problem = assertion(&key, "https://oauth2.test/token", &[], 0).unwrap_err();
            assert!(!problem.contains("MIIE"), "{problem}");
            assert!(
                problem.starts_with("not a service account's JSON key"),
                "{problem}"
            );
        }
        let problem = assertion(
            r#"{"private_key":"x"}"#,
            "https://oauth2.test/token",
            &[],
            0,
        )
        .unwrap_err();
        assert!(
            problem.contains("missing field `client_email`"),
            "{problem}"
        );
    }
}
