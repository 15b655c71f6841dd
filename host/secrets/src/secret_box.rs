//! Sealing and opening values with the master key.
//!
//! A sealed value is `version (1) ‖ key fingerprint (8) ‖ nonce (24) ‖
//! ciphertext with tag`. The associated data is the header (version and
//! fingerprint) followed by the [`SecretSlot`] label, so neither the header nor
//! the value's place in the database can be changed without failing
//! authentication.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::{KeyFingerprint, MasterKey};

/// The format version written by [`SecretBox::seal`].
const VERSION: u8 = 1;
const FINGERPRINT_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + FINGERPRINT_LEN;
const TAG_LEN: usize = 16;

/// Where a sealed value lives: `<table>:<row id>:<column>`. It is
/// authenticated with the value, so a ciphertext only opens in its own slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretSlot(String);

impl SecretSlot {
    /// The slot of `column` in the row `row_id` of `table`.
    pub fn new(table: &str, row_id: &str, column: &str) -> Self {
        Self(format!("{table}:{row_id}:{column}"))
    }

    /// The credentials of connector configuration `config_id`.
    pub fn connector_credentials(config_id: &str) -> Self {
        Self::new("connector_config", config_id, "credentials")
    }

    /// The webhook signing secret `secret_id`.
    pub fn webhook_secret(secret_id: &str) -> Self {
        Self::new("webhook_secret", secret_id, "secret")
    }
}

impl fmt::Display for SecretSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Shorter than any sealed value can be.
    #[error("sealed value for {slot} is truncated ({len} bytes)")]
    Truncated {
        /// Where the value was read from.
        slot: SecretSlot,
        /// Its length.
        len: usize,
    },
    /// Written by a format this build does not know.
    #[error("sealed value for {slot} has unknown format version {version}")]
    UnknownVersion {
        /// Where the value was read from.
        slot: SecretSlot,
        /// The version byte found.
        version: u8,
    },
    /// Sealed under another master key.
    #[error(
        "the key fingerprint does not match: {slot} was sealed under master key {sealed_with}, \
         the current master key is {current}"
    )]
    WrongKey {
        /// Where the value was read from.
        slot: SecretSlot,
        /// The fingerprint recorded in the value.
        sealed_with: KeyFingerprint,
        /// The fingerprint of the key that tried to open it.
        current: KeyFingerprint,
    },
    /// Authentication failed: the value was altered or belongs to another slot.
    #[error("sealed value for {slot} failed authentication: it was altered or belongs elsewhere")]
    Forged {
        /// Where the value was read from.
        slot: SecretSlot,
    },
}

/// Seals and opens values under one master key with XChaCha20-Poly1305.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    fingerprint: KeyFingerprint,
}

impl SecretBox {
    /// A box sealing with `key`.
    pub fn new(key: &MasterKey) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.bytes().into()),
            fingerprint: key.fingerprint(),
        }
    }

    /// The fingerprint of this box's key.
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.fingerprint
    }

    /// Seals `plaintext` for `slot` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], slot: &SecretSlot) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let header = self.header();
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &associated_data(&header, slot),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
        let mut sealed = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&header);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens a value sealed for `slot`. Fails with [`OpenError::WrongKey`] when
    /// it was sealed under another key.
    pub fn open(&self, sealed: &[u8], slot: &SecretSlot) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let sealed_with = sealed_fingerprint(sealed, slot)?;
        if sealed_with != self.fingerprint {
            return Err(OpenError::WrongKey {
                slot: slot.clone(),
                sealed_with,
                current: self.fingerprint,
            });
        }
        let (header, rest) = sealed.split_at(HEADER_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &associated_data(header, slot),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Forged { slot: slot.clone() })
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        let mut header = [0; HEADER_LEN];
        header[0] = VERSION;
        header[1..].copy_from_slice(&self.fingerprint.0);
        header
    }
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The fingerprint of the key `sealed` was sealed with, after checking its
/// length and version.
pub(crate) fn sealed_fingerprint(
    sealed: &[u8],
    slot: &SecretSlot,
) -> Result<KeyFingerprint, OpenError> {
    if sealed.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
        return Err(OpenError::Truncated {
            slot: slot.clone(),
            len: sealed.len(),
        });
    }
    if sealed[0] != VERSION {
        return Err(OpenError::UnknownVersion {
            slot: slot.clone(),
            version: sealed[0],
        });
    }
    let mut fingerprint = [0; FINGERPRINT_LEN];
    fingerprint.copy_from_slice(&sealed[1..HEADER_LEN]);
    Ok(KeyFingerprint(fingerprint))
}

fn associated_data(header: &[u8], slot: &SecretSlot) -> Vec<u8> {
    [header, slot.0.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> SecretBox {
        SecretBox::new(&MasterKey::generate())
    }

    #[test]
    fn sealed_values_open_to_the_same_plaintext() {
        let secrets = sealer();
        let slot = SecretSlot::connector_credentials("cfg_1");
        let sealed = secrets.seal(b"{\"api_key\":\"k\"}", &slot);
        assert_eq!(sealed[0], VERSION);
        assert_eq!(&sealed[1..HEADER_LEN], &secrets.fingerprint().0);
        assert_eq!(
            &**secrets.open(&sealed, &slot).unwrap(),
            b"{\"api_key\":\"k\"}"
        );
    }

    #[test]
    fn sealing_twice_uses_fresh_nonces() {
        let secrets = sealer();
        let slot = SecretSlot::webhook_secret("whs_1");
        assert_ne!(secrets.seal(b"same", &slot), secrets.seal(b"same", &slot));
    }

    #[test]
    fn another_key_is_refused_by_fingerprint() {
        let slot = SecretSlot::webhook_secret("whs_1");
        let sealed = sealer().seal(b"secret", &slot);
        let error = sealer().open(&sealed, &slot).unwrap_err();
        assert!(matches!(error, OpenError::WrongKey { .. }), "{error:?}");
        assert!(
            error.to_string().contains("fingerprint does not match"),
            "{error}"
        );
    }

    #[test]
    fn any_altered_byte_fails_authentication() {
        let secrets = sealer();
        let slot = SecretSlot::webhook_secret("whs_1");
        let sealed = secrets.seal(b"secret", &slot);
        for index in HEADER_LEN..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            assert_eq!(
                secrets.open(&tampered, &slot),
                Err(OpenError::Forged { slot: slot.clone() }),
                "flipping byte {index} went unnoticed"
            );
        }
    }

    #[test]
    fn a_value_moved_to_another_row_or_column_does_not_open() {
        let secrets = sealer();
        let sealed = secrets.seal(b"secret", &SecretSlot::connector_credentials("cfg_1"));
        for elsewhere in [
            SecretSlot::connector_credentials("cfg_2"),
            SecretSlot::new("connector_config", "cfg_1", "settings"),
            SecretSlot::webhook_secret("cfg_1"),
        ] {
            assert_eq!(
                secrets.open(&sealed, &elsewhere),
                Err(OpenError::Forged {
                    slot: elsewhere.clone()
                })
            );
        }
    }

    #[test]
    fn malformed_values_are_refused_before_decryption() {
        let secrets = sealer();
        let slot = SecretSlot::webhook_secret("whs_1");
        assert!(matches!(
            secrets.open(&[VERSION; 10], &slot),
            Err(OpenError::Truncated { len: 10, .. })
        ));
        let mut future = secrets.seal(b"secret", &slot);
        future[0] = 2;
        assert!(matches!(
            secrets.open(&future, &slot),
            Err(OpenError::UnknownVersion { version: 2, .. })
        ));
    }
}
