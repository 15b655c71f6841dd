//! `whsec_` signing secrets, in the Standard Webhooks format.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of key material in a generated secret.
pub const GENERATED_KEY_BYTES: usize = 32;

/// Why a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// It does not start with `whsec_`.
    #[error("must start with whsec_")]
    MissingPrefix,
    /// What follows the prefix is not base64.
    #[error("must be whsec_ followed by base64")]
    NotBase64,
    /// The key is shorter than 24 or longer than 64 bytes.
    #[error("key must be 24 to 64 bytes, found {0}")]
    BadLength(usize),
}

/// A webhook signing key. Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// A new random secret of [`GENERATED_KEY_BYTES`] bytes.
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        Self { key }
    }

    /// Parses `whsec_<base64>` with 24 to 64 bytes of key.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        if !(24..=64).contains(&key.len()) {
            return Err(SecretError::BadLength(key.len()));
        }
        Ok(Self { key })
    }

    /// The `whsec_` form, shown to the subscriber once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// The raw key bytes.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = WebhookSecret::generate();
        let b = WebhookSecret::generate();
        assert_ne!(a, b);
        assert_eq!(WebhookSecret::parse(&a.expose()).unwrap(), a);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(format!("{a:?}"), "WebhookSecret([redacted])");
    }

    #[test]
    fn malformed_secrets_are_refused_with_a_reason() {
        assert_eq!(WebhookSecret::parse("abc"), Err(SecretError::MissingPrefix));
        assert_eq!(
            WebhookSecret::parse("whsec_***"),
            Err(SecretError::NotBase64)
        );
        assert_eq!(
            WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 8]))),
            Err(SecretError::BadLength(8))
        );
    }
}
