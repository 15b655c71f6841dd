//! The shapes of credentials on the wire, and how a request presents one.
//!
//! - API key: `sk_<16 hex>_<43 base64url>`; `sk_<16 hex>` is the public key
//!   prefix that finds the stored row, the rest is the secret.
//! - OAuth client: id `cli_<16 hex>`, secret `cs_<43 base64url>`.
//! - Access token (from the token endpoint): `sat_<43 base64url>`.
//!
//! A request presents them as `Authorization: Bearer <api key | access
//! token | admin token>` or `Authorization: Basic base64(client_id:secret)`
//! (RFC 6749 §2.3.1: both parts form-urlencoded first).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "sk_";
/// Prefix of OAuth client ids.
pub const CLIENT_ID_PREFIX: &str = "cli_";
/// Prefix of OAuth client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "cs_";
/// Prefix of access tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "sat_";

/// Hex characters of the public part of a key or client id.
const PUBLIC_HEX: usize = 16;
/// Characters of a 32-byte secret in unpadded base64url.
const SECRET_CHARS: usize = 43;

/// How a request presented a credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Presented {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic ...` or a form's `client_id` + `client_secret`.
    ClientSecret {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
    },
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(***)"),
            Self::ClientSecret { client_id, .. } => write!(f, "ClientSecret({client_id}, ***)"),
        }
    }
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedAuthorization {
    /// Not `Bearer` or `Basic`.
    #[error("the Authorization scheme must be Bearer or Basic")]
    Scheme,
    /// `Basic` whose value is not base64 of `id:secret`.
    #[error("Basic credentials must be base64 of client_id:client_secret")]
    Basic,
}

impl Presented {
    /// The credential of an `Authorization` header value; `Ok(None)` when
    /// the value is empty.
    pub fn from_authorization(value: &str) -> Result<Option<Self>, MalformedAuthorization> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return Ok((!rest.is_empty()).then(|| Self::Bearer(rest.to_owned())));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(MalformedAuthorization::Basic)?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or(MalformedAuthorization::Basic)?;
            let decode = |part: &str| {
                percent_encoding::percent_decode_str(&part.replace('+', " "))
                    .decode_utf8()
                    .map(|text| text.into_owned())
                    .map_err(|_| MalformedAuthorization::Basic)
            };
            return Ok(Some(Self::ClientSecret {
                client_id: decode(id)?,
                secret: decode(secret)?,
            }));
        }
        Err(MalformedAuthorization::Scheme)
    }

    /// The credential of a request's `Authorization` header, if any.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, MalformedAuthorization> {
        match headers.get(http::header::AUTHORIZATION) {
            None => Ok(None),
            Some(value) => match value.to_str() {
                Ok(text) => Self::from_authorization(text),
                Err(_) => Err(MalformedAuthorization::Scheme),
            },
        }
    }

    /// The SHA-256 of what was presented: the key of the verified cache.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        match self {
            Self::Bearer(token) => {
                hasher.update(b"bearer\0");
                hasher.update(token.as_bytes());
            }
            Self::ClientSecret { client_id, secret } => {
                hasher.update(b"client\0");
                hasher.update(client_id.as_bytes());
                hasher.update(b"\0");
                hasher.update(secret.as_bytes());
            }
        }
        hasher.finalize().into()
    }
}

/// A presented bearer token, by its shape.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BearerKind<'a> {
    /// An API key: its public prefix and its secret.
    ApiKey {
        /// `sk_<hex>`.
        public_id: &'a str,
        /// The secret after it.
        secret: &'a str,
    },
    /// An access token.
    AccessToken,
    /// Anything else: possibly an operator's admin token.
    Other,
}

/// Recognises the shape of a bearer token.
pub(crate) fn bearer_kind(token: &str) -> BearerKind<'_> {
    let public_len = API_KEY_PREFIX.len() + PUBLIC_HEX;
    if token.starts_with(API_KEY_PREFIX)
        && token.len() == public_len + 1 + SECRET_CHARS
        && token.as_bytes()[public_len] == b'_'
        && token[API_KEY_PREFIX.len()..public_len]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    {
        return BearerKind::ApiKey {
            public_id: &token[..public_len],
            secret: &token[public_len + 1..],
        };
    }
    if token.starts_with(ACCESS_TOKEN_PREFIX)
        && token.len() == ACCESS_TOKEN_PREFIX.len() + SECRET_CHARS
    {
        return BearerKind::AccessToken;
    }
    BearerKind::Other
}

fn random_text(bytes: usize) -> Vec<u8> {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer
}

/// A new public id: `prefix` and 16 random hex characters.
pub(crate) fn new_public_id(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(random_text(PUBLIC_HEX / 2)))
}

/// 32 random bytes in unpadded base64url, after `prefix`.
pub(crate) fn new_secret(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_text(32)))
}

/// The hex SHA-256 of a high-entropy token: how admin and access tokens are
/// stored. They are random and long, so a fast hash is enough.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_headers_are_read() {
        assert_eq!(
            Presented::from_authorization("Bearer abc").unwrap(),
            Some(Presented::Bearer("abc".into()))
        );
        let basic = format!("Basic {}", STANDARD.encode("cli_1%3Ax:s+e%2Fcret"));
        assert_eq!(
            Presented::from_authorization(&basic).unwrap(),
            Some(Presented::ClientSecret {
                client_id: "cli_1:x".into(),
                secret: "s e/cret".into()
            })
        );
        assert_eq!(Presented::from_authorization("Bearer ").unwrap(), None);
        assert_eq!(
            Presented::from_authorization("Digest x"),
            Err(MalformedAuthorization::Scheme)
        );
        assert_eq!(
            Presented::from_authorization("Basic !!!"),
            Err(MalformedAuthorization::Basic)
        );
    }

    #[test]
    fn generated_keys_have_the_shape_they_are_recognised_by() {
        let public_id = new_public_id(API_KEY_PREFIX);
        let secret = new_secret("");
        let key = format!("{public_id}_{secret}");
        assert_eq!(
            bearer_kind(&key),
            BearerKind::ApiKey {
                public_id: &public_id,
                secret: &secret
            }
        );
        assert_eq!(
            bearer_kind(&new_secret(ACCESS_TOKEN_PREFIX)),
            BearerKind::AccessToken
        );
        assert_eq!(bearer_kind("slk_admin-token"), BearerKind::Other);
        assert_eq!(bearer_kind("sk_short_x"), BearerKind::Other);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let shown = format!(
            "{:?} {:?}",
            Presented::Bearer("sk_secret".into()),
            Presented::ClientSecret {
                client_id: "cli_1".into(),
                secret: "cs_secret".into()
            }
        );
        assert!(
            !shown.contains("sk_secret") && !shown.contains("cs_secret"),
            "{shown}"
        );
    }
}
