//! Moving sealed values from one master key to another.

use crate::secret_box::sealed_fingerprint;
use crate::{MasterKey, OpenError, SecretBox, SecretSlot};

/// Rewrites values sealed under an old master key so that they are sealed
/// under a new one.
#[derive(Debug)]
pub struct Rekey {
    old: SecretBox,
    new: SecretBox,
}

impl Rekey {
    /// Re-keying from `old` to `new`.
    pub fn new(old: &MasterKey, new: &MasterKey) -> Self {
        Self {
            old: SecretBox::new(old),
            new: SecretBox::new(new),
        }
    }

    /// `sealed` (for `slot`) sealed under the new key. A value already sealed
    /// under the new key is checked and returned unchanged, so an interrupted
    /// re-key can simply be run again.
    pub fn reseal(&self, sealed: &[u8], slot: &SecretSlot) -> Result<Vec<u8>, OpenError> {
        if sealed_fingerprint(sealed, slot)? == self.new.fingerprint() {
            self.new.open(sealed, slot)?;
            return Ok(sealed.to_vec());
        }
        let plaintext = self.old.open(sealed, slot)?;
        Ok(self.new.seal(&plaintext, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resealed_values_open_with_the_new_key_only() {
        let (old, new) = (MasterKey::generate(), MasterKey::generate());
        let slot = SecretSlot::webhook_secret("whs_1");
        let sealed = SecretBox::new(&old).seal(b"secret", &slot);

        let resealed = Rekey::new(&old, &new).reseal(&sealed, &slot).unwrap();
        assert_eq!(
            &**SecretBox::new(&new).open(&resealed, &slot).unwrap(),
            b"secret"
        );
        assert!(matches!(
            SecretBox::new(&old).open(&resealed, &slot),
            Err(OpenError::WrongKey { .. })
        ));
    }

    #[test]
    fn values_already_under_the_new_key_are_kept() {
        let (old, new) = (MasterKey::generate(), MasterKey::generate());
        let slot = SecretSlot::connector_credentials("cfg_1");
        let sealed = SecretBox::new(&new).seal(b"secret", &slot);
        assert_eq!(
            Rekey::new(&old, &new).reseal(&sealed, &slot).unwrap(),
            sealed
        );
    }

    #[test]
    fn values_under_a_third_key_are_refused() {
        let slot = SecretSlot::connector_credentials("cfg_1");
        let sealed = SecretBox::new(&MasterKey::generate()).seal(b"secret", &slot);
        let rekey = Rekey::new(&MasterKey::generate(), &MasterKey::generate());
        assert!(matches!(
            rekey.reseal(&sealed, &slot),
            Err(OpenError::WrongKey { .. })
        ));
    }
}
