//! The master key: where it comes from and how it is named.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::SecretString;

/// The environment variable that holds the master key, base64-encoded.
pub const MASTER_KEY_ENV: &str = "SLUICE_MASTER_KEY";

/// The name of the key file in the data directory, used when
/// [`MASTER_KEY_ENV`] is not set.
pub const KEY_FILE_NAME: &str = "master.key";

const KEY_LEN: usize = 32;

/// Why a master key could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// An environment variable such as [`MASTER_KEY_ENV`] holds something
    /// that is not a base64 key.
    #[error(
        "{variable} must be 32 random bytes encoded as base64 \
         (for example from `openssl rand -base64 32`): {reason}"
    )]
    BadEnvValue {
        /// The variable.
        variable: String,
        /// What is wrong with the value (never the value itself).
        reason: String,
    },
    /// The key file does not hold a base64 key.
    #[error("master key file {path} must hold 32 bytes encoded as base64: {reason}")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with its content.
        reason: String,
    },
    /// The key file can be read or written by users other than its owner.
    #[error(
        "master key file {path} is accessible by other users (mode {mode:03o}); \
         restrict it with `chmod 600 {path}`"
    )]
    Exposed {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file could not be read or created.
    #[error("cannot read or create master key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying failure.
        source: io::Error,
    },
}

/// The first 8 bytes of a domain-separated SHA-256 of a master key: names a
/// key in sealed values and messages without revealing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint(pub [u8; 8]);

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

/// A 256-bit master key. Its bytes are wiped on drop and never printed;
/// `Debug` shows the fingerprint.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_bytes(rand::random())
    }

    /// The key made of `bytes`.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Decodes a base64 key (standard alphabet, padding, surrounding
    /// whitespace ignored). The error says what is wrong, never the value.
    fn from_base64(text: &str) -> Result<Self, String> {
        let decoded = Zeroizing::new(
            BASE64
                .decode(text.trim())
                .map_err(|e| format!("not valid base64 ({e})"))?,
        );
        let bytes: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| format!("decodes to {} bytes, expected {KEY_LEN}", decoded.len()))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key as base64, the format of [`MASTER_KEY_ENV`] and the key file
    /// (for printing a freshly generated key to the operator).
    pub fn to_base64(&self) -> SecretString {
        SecretString::new(BASE64.encode(self.bytes.as_slice()))
    }

    /// The raw key bytes, for the cipher.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// Names this key; stored in every value sealed with it.
    pub fn fingerprint(&self) -> KeyFingerprint {
        let digest = Sha256::new()
            .chain_update(b"sluice master key fingerprint v1\0")
            .chain_update(self.bytes.as_slice())
            .finalize();
        let mut fingerprint = [0; 8];
        fingerprint.copy_from_slice(&digest[..8]);
        KeyFingerprint(fingerprint)
    }

    /// The key from `value`, the content of the environment variable
    /// `variable` (usually [`MASTER_KEY_ENV`]); errors name the variable.
    pub fn from_env_value(variable: &str, value: &str) -> Result<Self, KeyError> {
        Self::from_base64(value).map_err(|reason| KeyError::BadEnvValue {
            variable: variable.to_owned(),
            reason,
        })
    }

    /// Loads the key file at `path`, or creates it with a fresh key and mode
    /// 0600 when it does not exist. An existing file that other users can
    /// access is refused. The parent directory must exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io_error = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match Self::load(path) {
            Err(KeyError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                let key = Self::generate();
                match create_owner_only(path) {
                    Ok(mut file) => {
                        let mut text = Zeroizing::new(key.to_base64().expose().to_owned());
                        text.push('\n');
                        file.write_all(text.as_bytes()).map_err(io_error)?;
                        file.sync_all().map_err(io_error)?;
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load(path),
                    Err(e) => Err(io_error(e)),
                }
            }
            other => other,
        }
    }

    /// The key in `SLUICE_MASTER_KEY` if set (`env_value`), otherwise the one
    /// in `data_dir`'s [`KEY_FILE_NAME`], created at first start.
    pub fn resolve(env_value: Option<&str>, data_dir: &Path) -> Result<Self, KeyError> {
        match env_value {
            Some(value) => Self::from_env_value(MASTER_KEY_ENV, value),
            None => Self::load_or_create(&data_dir.join(KEY_FILE_NAME)),
        }
    }

    fn load(path: &Path) -> Result<Self, KeyError> {
        let io_error = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let metadata = fs::metadata(path).map_err(io_error)?;
        refuse_if_exposed(path, &metadata)?;
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io_error)?);
        Self::from_base64(&text).map_err(|reason| KeyError::BadKeyFile {
            path: path.to_owned(),
            reason,
        })
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

#[cfg(unix)]
fn create_owner_only(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_owner_only(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn refuse_if_exposed(path: &Path, metadata: &fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_if_exposed(_path: &Path, _metadata: &fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_keeps_the_key() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(key.to_base64().expose()).unwrap();
        assert_eq!(key.bytes(), again.bytes());
        assert_eq!(key.fingerprint(), again.fingerprint());
    }

    #[test]
    fn bad_env_value_names_the_variable_and_not_the_value() {
        let short = BASE64.encode([7u8; 16]);
        let error = MasterKey::from_env_value(MASTER_KEY_ENV, &short)
            .unwrap_err()
            .to_string();
        assert!(error.contains("SLUICE_MASTER_KEY"), "{error}");
        assert!(
            error.contains("decodes to 16 bytes, expected 32"),
            "{error}"
        );
        assert!(!error.contains(&short), "{error}");

        let error = MasterKey::from_env_value(MASTER_KEY_ENV, "not base64!")
            .unwrap_err()
            .to_string();
        assert!(error.contains("SLUICE_MASTER_KEY"), "{error}");
        assert!(error.contains("not valid base64"), "{error}");
    }

    #[test]
    fn debug_shows_the_fingerprint_only() {
        let key = MasterKey::from_bytes([1; 32]);
        let debug = format!("{key:?}");
        assert!(debug.contains(&key.fingerprint().to_string()), "{debug}");
        assert!(!debug.contains(key.to_base64().expose()), "{debug}");
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_created_owner_only_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let created = MasterKey::resolve(None, dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let reused = MasterKey::resolve(None, dir.path()).unwrap();
        assert_eq!(created.fingerprint(), reused.fingerprint());
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_key_file_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        fs::write(&path, MasterKey::generate().to_base64().expose()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

        let error = MasterKey::load_or_create(&path).unwrap_err();
        assert!(
            matches!(error, KeyError::Exposed { mode: 0o644, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }

    #[test]
    fn env_value_wins_over_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::generate();
        let resolved = MasterKey::resolve(Some(key.to_base64().expose()), dir.path()).unwrap();
        assert_eq!(resolved.fingerprint(), key.fingerprint());
        assert!(!dir.path().join(KEY_FILE_NAME).exists());
    }

    #[test]
    fn corrupt_key_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        create_owner_only(&path)
            .unwrap()
            .write_all(b"short")
            .unwrap();
        let error = MasterKey::load_or_create(&path).unwrap_err();
        assert!(matches!(error, KeyError::BadKeyFile { .. }), "{error:?}");
        assert!(
            error.to_string().contains(&*path.to_string_lossy()),
            "{error}"
        );
    }
}
