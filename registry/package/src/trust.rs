//! The operator's trust policy: whose signatures count, for which
//! connectors, and what is revoked or yanked.
//!
//! ```toml
//! # Development only: accept packages that carry no trusted signature.
//! allow_unsigned = false
//! # Keys whose signatures are refused, by key id.
//! revoked_keys = ["0123456789abcdef"]
//! # Packages refused whatever their signatures: the package digest or the
//! # statement digest (which covers every signing of the same release).
//! yanked = ["sha256:…"]
//!
//! [[publishers]]
//! name = "Acme"
//! public_key = "base64 of the 32-byte Ed25519 key"
//! key_id = "0123456789abcdef"   # optional; checked against the key
//! connectors = ["slack", "acme-*"]
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::archive::Package;
use crate::keys::{KeyError, PublicKey, decode_signature, parse_toml};

/// A trusted publisher key and the connector ids it may sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// The publisher's name, shown as who signed a package.
    pub name: String,
    /// The publisher's key.
    pub key: PublicKey,
    /// Connector ids (globs with `*` and `?`) this key may sign.
    pub connectors: Vec<String>,
}

/// Who signed a package, as the trust policy knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// The key's id.
    pub key_id: String,
    /// The publisher's name from the trust policy.
    pub publisher: String,
}

/// Whose signatures an operator accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    allow_unsigned: bool,
    publishers: Vec<Publisher>,
    revoked_keys: BTreeSet<String>,
    yanked: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    allow_unsigned: bool,
    #[serde(default)]
    publishers: Vec<RawPublisher>,
    #[serde(default)]
    revoked_keys: Vec<String>,
    #[serde(default)]
    yanked: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublisher {
    name: String,
    public_key: String,
    key_id: Option<String>,
    connectors: Vec<String>,
}

/// Why a package's signatures are refused: the `signature` step (a signature
/// is missing, malformed or does not verify).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Refused at the `signature` step.
    #[error("{0}")]
    Signature(String),
    /// Refused at the `trust` step.
    #[error("{0}")]
    Trust(TrustError),
}

/// Why the trust policy refuses a package whose signatures are intact
/// (the `trust` step).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The package is yanked.
    #[error("package {digest} is yanked by the trust policy")]
    Yanked {
        /// The yanked digest that matched.
        digest: String,
    },
    /// A signature is by a revoked key.
    #[error("signed by revoked key {key_id}")]
    RevokedKey {
        /// The revoked key.
        key_id: String,
    },
    /// Trusted keys signed, but none may sign this connector id.
    #[error(
        "key {key_id} of publisher {publisher} may not sign connector '{connector}' (it may sign: {allowed})"
    )]
    NotAllowed {
        /// The key.
        key_id: String,
        /// Its publisher.
        publisher: String,
        /// The package's connector id.
        connector: String,
        /// The key's globs, comma-separated.
        allowed: String,
    },
    /// Only keys the trust policy does not list signed.
    #[error("signed only by keys the trust policy does not list: {key_ids}")]
    UnknownKeys {
        /// The keys, comma-separated.
        key_ids: String,
    },
}

impl TrustPolicy {
    /// Reads a trust policy file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text)
    }

    /// Parses a trust policy; errors name the field (`publishers[1].public_key`).
    pub fn from_toml(text: &str) -> Result<Self, KeyError> {
        let raw: RawPolicy = parse_toml(text)?;
        let mut publishers = Vec::new();
        for (i, p) in raw.publishers.into_iter().enumerate() {
            let field = |name: &str| format!("publishers[{i}].{name}");
            if p.name.trim().is_empty() {
                return Err(KeyError::invalid(field("name"), "must not be empty"));
            }
            let key = PublicKey::parse(&p.public_key)
                .map_err(|e| KeyError::invalid(field("public_key"), e))?;
            if let Some(id) = &p.key_id
                && *id != key.key_id()
            {
                return Err(KeyError::invalid(
                    field("key_id"),
                    format!("is {id} but public_key's id is {}", key.key_id()),
                ));
            }
            if p.connectors.is_empty() {
                return Err(KeyError::invalid(
                    field("connectors"),
                    "must list the connector ids (globs) this key may sign",
                ));
            }
            for (j, glob) in p.connectors.iter().enumerate() {
                if glob.is_empty()
                    || !glob.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-*?".contains(&b)
                    })
                {
                    return Err(KeyError::invalid(
                        field(&format!("connectors[{j}]")),
                        "must be a connector id glob: a-z, 0-9, '-', '*' and '?'",
                    ));
                }
            }
            publishers.push(Publisher {
                name: p.name,
                key,
                connectors: p.connectors,
            });
        }
        for (i, digest) in raw.yanked.iter().enumerate() {
            let hex = digest.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                return Err(KeyError::invalid(
                    format!("yanked[{i}]"),
                    "must be sha256:<64 lower-case hex digits>",
                ));
            }
        }
        Ok(Self {
            allow_unsigned: raw.allow_unsigned,
            publishers,
            revoked_keys: raw.revoked_keys.into_iter().collect(),
            yanked: raw.yanked.into_iter().collect(),
        })
    }

    /// Whether the development switch that accepts packages without a
    /// trusted signature is on.
    pub fn allow_unsigned(&self) -> bool {
        self.allow_unsigned
    }

    /// The trusted publisher keys.
    pub fn publishers(&self) -> &[Publisher] {
        &self.publishers
    }

    /// Checks `package`'s signatures (the `signature` step), then the policy
    /// (the `trust` step), returning the trusted signers. `package_digest`
    /// is the digest of the package file, checked against `yanked` together
    /// with the statement digest.
    ///
    /// With `allow_unsigned`, a package with no signature or with signatures
    /// only from unlisted keys is accepted with the signers the policy does
    /// know; a signature that does not verify, a revoked key or a yanked
    /// digest is refused even then.
    pub fn check(&self, package: &Package, package_digest: &str) -> Result<Vec<Signer>, Refusal> {
        let signatures = package.signatures();
        if signatures.is_empty() && !self.allow_unsigned {
            return Err(Refusal::Signature(
                "the package is not signed (sign it with `sluice connector sign`; unsigned packages need allow_unsigned in the trust policy)".to_owned(),
            ));
        }
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for signature in signatures {
            let bytes = decode_signature(signature).map_err(|e| {
                Refusal::Signature(format!("signature by key {}: {e}", signature.key_id))
            })?;
            match self
                .publishers
                .iter()
                .find(|p| p.key.key_id() == signature.key_id)
            {
                Some(publisher) => {
                    if !publisher.key.verify(package.statement_bytes(), &bytes) {
                        return Err(Refusal::Signature(format!(
                            "the signature by key {} ({}) does not verify: the statement was changed or signed by another key",
                            signature.key_id, publisher.name
                        )));
                    }
                    known.push(publisher);
                }
                None => unknown.push(signature.key_id.as_str()),
            }
        }

        let trust = |e| Err(Refusal::Trust(e));
        for digest in [package_digest.to_owned(), package.statement_digest()] {
            if self.yanked.contains(&digest) {
                return trust(TrustError::Yanked { digest });
            }
        }
        if let Some(revoked) = signatures
            .iter()
            .find(|s| self.revoked_keys.contains(&s.key_id))
        {
            return trust(TrustError::RevokedKey {
                key_id: revoked.key_id.clone(),
            });
        }
        let connector = &package.statement().id;
        let signers: Vec<Signer> = known
            .iter()
            .filter(|p| {
                p.connectors
                    .iter()
                    .any(|glob| glob_matches(glob, connector))
            })
            .map(|p| Signer {
                key_id: p.key.key_id(),
                publisher: p.name.clone(),
            })
            .collect();
        if signers.is_empty() && !self.allow_unsigned {
            if let Some(p) = known.first() {
                return trust(TrustError::NotAllowed {
                    key_id: p.key.key_id(),
                    publisher: p.name.clone(),
                    connector: connector.clone(),
                    allowed: p.connectors.join(", "),
                });
            }
            return trust(TrustError::UnknownKeys {
                key_ids: unknown.join(", "),
            });
        }
        Ok(signers)
    }
}

/// Whether `text` matches `glob`, where `*` matches any run of characters
/// and `?` any one character.
fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text) = (glob.as_bytes(), text.as_bytes());
    let (mut g, mut t) = (0, 0);
    // Where the last `*` was, and how much of `text` it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) => {
                    g = star_g + 1;
                    t = star_t + 1;
                    star = Some((star_g, star_t + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod glob_tests {
    use super::glob_matches;

    #[test]
    fn globs_match_whole_connector_ids() {
        assert!(glob_matches("slack", "slack"));
        assert!(!glob_matches("slack", "slack-2"));
        assert!(glob_matches("acme-*", "acme-orders"));
        assert!(glob_matches("acme-*", "acme-"));
        assert!(!glob_matches("acme-*", "slack"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("*-sync", "ebay-sync"));
        assert!(!glob_matches("*-sync", "ebay-sync-2"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
        assert!(glob_matches("sl?ck", "slack"));
        assert!(!glob_matches("sl?ck", "slck"));
    }
}
