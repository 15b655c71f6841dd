//! The one error type of every storage operation.
//!
//! Messages are safe to show to API clients: they name the object and the
//! reason, never SQL text or driver internals. The driver error stays
//! reachable through [`std::error::Error::source`] for logs.

use sluice_secrets::OpenError;

/// Result of a storage operation.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist in this store.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked for, e.g. "webhook subscription".
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The object exists but its state forbids the operation.
    #[error("{0}")]
    Conflict(String),
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL: expected sqlite:<path> or postgres://...")]
    UnsupportedUrl,
    /// A sealed credential or signing secret could not be opened.
    #[error(transparent)]
    Secret(#[from] OpenError),
    /// A stored value does not have the shape this code writes.
    #[error("stored {what} is malformed: {reason}")]
    Corrupt {
        /// Which value, e.g. "event_types of webhook subscription whk_1".
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The schema could not be brought up to date.
    #[error("database migration failed")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// The database failed or could not be reached.
    #[error("database operation failed")]
    Database(#[source] sqlx::Error),
}

impl StorageError {
    /// A [`StorageError::NotFound`] for `kind` `id`.
    pub(crate) fn not_found(kind: &'static str, id: &str) -> Self {
        Self::NotFound {
            kind,
            id: id.to_owned(),
        }
    }

    /// A [`StorageError::Corrupt`] for `what`.
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}
