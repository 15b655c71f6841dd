//! How each kind of secret is sealed into its column, bound to its row.

use std::collections::BTreeMap;

use sluice_secrets::{SecretBox, SecretSlot, SecretString, Zeroizing};

use crate::{Result, StorageError};

/// Connector credentials: key → value.
pub type Credentials = BTreeMap<String, SecretString>;

/// Seals the webhook signing secret `secret_id`.
pub(crate) fn seal_webhook_secret(
    secrets: &SecretBox,
    secret_id: &str,
    secret: &SecretString,
) -> Vec<u8> {
    secrets.seal(
        secret.expose().as_bytes(),
        &SecretSlot::webhook_secret(secret_id),
    )
}

/// Opens the webhook signing secret `secret_id`.
pub(crate) fn open_webhook_secret(
    secrets: &SecretBox,
    secret_id: &str,
    sealed: &[u8],
) -> Result<SecretString> {
    let plaintext = secrets.open(sealed, &SecretSlot::webhook_secret(secret_id))?;
    let text = std::str::from_utf8(&plaintext)
        .map_err(|e| StorageError::corrupt(format!("webhook secret {secret_id}"), e))?;
    Ok(SecretString::new(text))
}

/// Seals the credentials of configuration `config_id` as one JSON object;
/// no credentials seal to nothing.
pub(crate) fn seal_credentials(
    secrets: &SecretBox,
    config_id: &str,
    credentials: &Credentials,
) -> Option<Vec<u8>> {
    if credentials.is_empty() {
        return None;
    }
    let plain: BTreeMap<&str, &str> = credentials
        .iter()
        .map(|(key, value)| (key.as_str(), value.expose()))
        .collect();
    let json = Zeroizing::new(serde_json::to_vec(&plain).expect("string maps always serialise"));
    Some(secrets.seal(&json, &SecretSlot::connector_credentials(config_id)))
}

/// Opens the credentials of configuration `config_id`.
pub(crate) fn open_credentials(
    secrets: &SecretBox,
    config_id: &str,
    sealed: Option<&[u8]>,
) -> Result<Credentials> {
    let Some(sealed) = sealed else {
        return Ok(Credentials::new());
    };
    let json = secrets.open(sealed, &SecretSlot::connector_credentials(config_id))?;
    let plain: BTreeMap<String, String> = serde_json::from_slice(&json)
        .map_err(|e| StorageError::corrupt(format!("credentials of {config_id}"), e))?;
    Ok(plain
        .into_iter()
        .map(|(key, value)| (key, SecretString::from(value)))
        .collect())
}
