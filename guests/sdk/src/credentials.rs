//! The configuration's credentials that the component reads itself.
//!
//! A connector reads only the credentials its manifest marks
//! `readable = true`, and only the values of the configuration it is
//! running for; every other credential is applied by the host
//! ([`crate::auth`]). Never log a value.

use crate::MissingField;
use crate::bindings::sluice::connector::credentials;

/// The value of credential `key`, or `None` when the manifest does not
/// declare it readable or the configuration leaves it unset or empty.
pub fn get(key: &str) -> Option<String> {
    credentials::get(key).filter(|value| !value.is_empty())
}

/// The value of credential `key`, or an error naming it.
pub fn require(key: &str) -> Result<String, MissingField> {
    get(key).ok_or_else(|| MissingField::credential(key))
}
