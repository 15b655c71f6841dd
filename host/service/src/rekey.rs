//! Moving every sealed secret to a new master key.

use anyhow::Context;
use sluice_secrets::{KEY_FILE_NAME, MASTER_KEY_ENV, MasterKey, Rekey, SecretBox};
use sluice_storage::{Db, RekeyReport};

use crate::ServiceConfig;

/// The environment variable holding the new key when keys come from the
/// environment.
pub const NEW_MASTER_KEY_ENV: &str = "SLUICE_NEW_MASTER_KEY";

/// Re-encrypts every credential and signing secret under a new master key,
/// in one transaction.
///
/// - With the key in `SLUICE_MASTER_KEY`, the new key comes from
///   `SLUICE_NEW_MASTER_KEY`; afterwards the operator sets
///   `SLUICE_MASTER_KEY` to it.
/// - With the key file, a new key is written beside it first
///   (`master.key.new`, mode 0600), the database is rewritten, then the new
///   file replaces the old. A run interrupted at any point can be run again:
///   values already under the new key are left as they are.
pub async fn rekey(
    config: &ServiceConfig,
    env_key: Option<&str>,
    env_new_key: Option<&str>,
) -> anyhow::Result<RekeyReport> {
    let url = config.database_url();
    let key_file = config.data_dir.join(KEY_FILE_NAME);
    let pending_file = config.data_dir.join(format!("{KEY_FILE_NAME}.new"));
    let (old, new) = match env_key {
        Some(value) => {
            let new = env_new_key.with_context(|| {
                format!(
                    "{MASTER_KEY_ENV} is set, so the new key must be given in {NEW_MASTER_KEY_ENV}"
                )
            })?;
            (
                MasterKey::from_env_value(MASTER_KEY_ENV, value)?,
                MasterKey::from_env_value(NEW_MASTER_KEY_ENV, new)?,
            )
        }
        None => (
            MasterKey::load_or_create(&key_file)?,
            MasterKey::load_or_create(&pending_file)?,
        ),
    };
    let db = Db::connect(&url, SecretBox::new(&old)).await?;
    let rekey = Rekey::new(&old, &new);
    let report = db.rekey(|sealed, slot| rekey.reseal(sealed, slot)).await?;
    db.close().await;
    if env_key.is_none() {
        std::fs::rename(&pending_file, &key_file).with_context(|| {
            format!(
                "the database now uses {}; move it to {} by hand",
                pending_file.display(),
                key_file.display()
            )
        })?;
    }
    Ok(report)
}
