//! Requests the host authenticates with credentials the component never
//! holds.
//!
//! A credential whose manifest entry has an `auth` table (a bearer token, an
//! API key, an OAuth refresh token or service-account key, an HMAC secret,
//! an incoming-webhook URL) is applied by the host, and only to the origins
//! the manifest binds it to. Ask for it with
//! [`Request::authenticated`](crate::http::Request::authenticated):
//!
//! ```ignore
//! let response = Request::post("https://slack.com/api/chat.postMessage")
//!     .authenticated("bot_token")
//!     .json(&message)
//!     .send()?;
//! ```

use std::fmt;

use crate::bindings::sluice::connector::auth;

/// Why the host cannot authenticate a request with a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The manifest declares no such credential, or not with an `auth` table.
    NotHostManaged(String),
    /// The configuration leaves the credential unset.
    NotConfigured(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotHostManaged(key) => write!(
                f,
                "credential '{key}' is not applied by the host: the manifest gives it no [credentials.auth] table"
            ),
            Self::NotConfigured(key) => {
                write!(f, "credential '{key}' is not set in this configuration")
            }
        }
    }
}

impl std::error::Error for AuthError {}

/// The header (name, value) that asks the host to authenticate a request
/// with credential `key`.
pub fn request_header(key: &str) -> Result<(String, String), AuthError> {
    auth::request_header(key).map_err(|error| match error {
        auth::AuthError::NotHostManaged => AuthError::NotHostManaged(key.to_owned()),
        auth::AuthError::NotConfigured => AuthError::NotConfigured(key.to_owned()),
    })
}
