//! Secrets at rest.
//!
//! Connector credentials and webhook signing secrets are stored sealed with
//! XChaCha20-Poly1305 under one master key:
//!
//! - [`MasterKey`]: 32 bytes from `SLUICE_MASTER_KEY` (base64) or, for the
//!   embedded default, from a key file created with mode 0600 at first start.
//! - [`SecretBox`]: seals and opens values. A sealed value names the key it
//!   was sealed with, and its authentication binds it to the row and column it
//!   belongs to ([`SecretSlot`]), so a ciphertext copied into another row does
//!   not open.
//! - [`Rekey`]: rewrites a sealed value under a new master key.
//! - [`SecretString`]: a string that prints as `[redacted]` and is wiped from
//!   memory when dropped.

mod key;
mod rekey;
mod secret_box;
mod secret_string;

pub use key::{KEY_FILE_NAME, KeyError, KeyFingerprint, MASTER_KEY_ENV, MasterKey};
pub use rekey::Rekey;
pub use secret_box::{OpenError, SecretBox, SecretSlot};
pub use secret_string::SecretString;
pub use zeroize::Zeroizing;
