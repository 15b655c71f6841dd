//! Ed25519 publisher keys and key files.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand::TryRngCore as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::archive::PackageSignature;

/// The signature algorithm of every Sluice package signature.
pub(crate) const ALGORITHM: &str = "ed25519";
const KEY_FORMAT: &str = "sluice.key/v1";

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// A key file or key is malformed; `field` names what is wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, for example `secret_key` or `publishers[0].public_key`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl KeyError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An Ed25519 public key of a publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a base64-encoded 32-byte Ed25519 public key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("an Ed25519 public key is 32 bytes, not {}", b.len()))?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "not a valid Ed25519 public key".to_owned())
    }

    /// The key, base64.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0.as_bytes())
    }

    /// The key's id: the first 8 bytes of the SHA-256 of the key, as 16 hex
    /// digits. Signatures and trust policies refer to keys by it.
    pub fn key_id(&self) -> String {
        hex::encode(&Sha256::digest(self.0.as_bytes())[..8])
    }

    /// Whether `signature` (base64) is this key's signature over `message`.
    /// Uses strict verification (no malleable or small-order signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

/// A publisher's private signing key with the publisher's name, as stored
/// in the 0600 key file `sluice keys generate` writes.
pub struct SigningKeyFile {
    publisher: String,
    key: SigningKey,
}

impl std::fmt::Debug for SigningKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyFile")
            .field("publisher", &self.publisher)
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyFile {
    format: String,
    publisher: String,
    key_id: String,
    secret_key: String,
}

impl SigningKeyFile {
    /// A new random key for `publisher`, from the operating system's
    /// random source.
    pub fn generate(publisher: &str) -> Result<Self, KeyError> {
        check_publisher(publisher)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(&mut *seed)
            .map_err(|e| KeyError::Io {
                path: "<operating system random source>".to_owned(),
                message: e.to_string(),
            })?;
        Ok(Self {
            publisher: publisher.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| KeyError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?);
        Self::from_toml(&text).map_err(|e| match e {
            KeyError::Invalid { field, message } => KeyError::Invalid {
                field: format!("{}: {field}", path.display()),
                message,
            },
            other => other,
        })
    }

    /// Parses the text of a key file.
    pub fn from_toml(text: &str) -> Result<Self, KeyError> {
        let raw: RawKeyFile = parse_toml(text)?;
        let secret_key = Zeroizing::new(raw.secret_key);
        if raw.format != KEY_FORMAT {
            return Err(KeyError::invalid(
                "format",
                format!("must be \"{KEY_FORMAT}\""),
            ));
        }
        check_publisher(&raw.publisher)?;
        let seed = Zeroizing::new(
            BASE64
                .decode(secret_key.trim())
                .map_err(|e| KeyError::invalid("secret_key", format!("not base64: {e}")))?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::invalid("secret_key", "an Ed25519 secret key is 32 bytes"))?;
        let key = Self {
            publisher: raw.publisher,
            key: SigningKey::from_bytes(seed),
        };
        if key.key_id() != raw.key_id {
            return Err(KeyError::invalid(
                "key_id",
                format!(
                    "is {} but the secret key's id is {}",
                    raw.key_id,
                    key.key_id()
                ),
            ));
        }
        Ok(key)
    }

    /// The text of the private key file.
    pub fn to_toml(&self) -> Zeroizing<String> {
        let secret = Zeroizing::new(BASE64.encode(self.key.to_bytes()));
        Zeroizing::new(format!(
            "# Sluice publisher signing key. Keep this file secret: it signs connector packages.\n\
             format = \"{KEY_FORMAT}\"\n\
             publisher = {}\n\
             key_id = \"{}\"\n\
             secret_key = \"{}\"\n",
            toml_string(&self.publisher),
            self.key_id(),
            *secret
        ))
    }

    /// The text of the public key file: a `[[publishers]]` entry ready to be
    /// added to an operator's trust policy once its `connectors` are filled in.
    pub fn public_toml(&self) -> String {
        format!(
            "# Public key of publisher {name}. Add this entry to a Sluice trust policy and\n\
             # list the connector ids (globs such as \"acme-*\") this key may sign.\n\
             [[publishers]]\n\
             name = {name}\n\
             key_id = \"{id}\"\n\
             public_key = \"{key}\"\n\
             connectors = []\n",
            name = toml_string(&self.publisher),
            id = self.key_id(),
            key = self.public_key().to_base64(),
        )
    }

    /// Writes `<prefix>.key` (mode 0600, never overwriting) and
    /// `<prefix>.pub`, returning both paths.
    pub fn write(&self, prefix: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
        let with_extension = |ext: &str| {
            let mut name = prefix.as_os_str().to_owned();
            name.push(ext);
            PathBuf::from(name)
        };
        let (private, public) = (with_extension(".key"), with_extension(".pub"));
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |e: std::io::Error| KeyError::Io {
                path,
                message: e.to_string(),
            }
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&private).map_err(io(&private))?;
        file.write_all(self.to_toml().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io(&private))?;
        std::fs::write(&public, self.public_toml()).map_err(io(&public))?;
        Ok((private, public))
    }

    /// The publisher's name.
    pub fn publisher(&self) -> &str {
        &self.publisher
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// The key's id (see [`PublicKey::key_id`]).
    pub fn key_id(&self) -> String {
        self.public_key().key_id()
    }

    /// Signs a statement's bytes.
    pub(crate) fn sign_statement(&self, statement: &[u8]) -> PackageSignature {
        PackageSignature {
            key_id: self.key_id(),
            algorithm: ALGORITHM.to_owned(),
            signature: BASE64.encode(self.key.sign(statement).to_bytes()),
        }
    }
}

/// Decodes a package signature's bytes.
pub(crate) fn decode_signature(signature: &PackageSignature) -> Result<[u8; 64], String> {
    if signature.algorithm != ALGORITHM {
        return Err(format!(
            "algorithm '{}' is not supported (only {ALGORITHM})",
            signature.algorithm
        ));
    }
    BASE64
        .decode(&signature.signature)
        .map_err(|e| format!("not base64: {e}"))?
        .try_into()
        .map_err(|b: Vec<u8>| format!("an Ed25519 signature is 64 bytes, not {}", b.len()))
}

fn check_publisher(name: &str) -> Result<(), KeyError> {
    if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(KeyError::invalid(
            "publisher",
            "must be 1 to 128 printable characters",
        ));
    }
    Ok(())
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Parses TOML into `T`, naming the field of the first error.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, KeyError> {
    let deserializer = toml::Deserializer::parse(text)
        .map_err(|e| KeyError::invalid("<file>", format!("not valid TOML: {}", e.message())))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "<file>".to_owned()
        } else {
            path
        };
        KeyError::invalid(field, e.into_inner().message().to_owned())
    })
}
