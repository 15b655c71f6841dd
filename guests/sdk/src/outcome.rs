//! Constructors for what the delivery, connection and sync exports return,
//! and how an HTTP failure maps onto each.

use crate::http::HttpError;
use crate::types::{
    CheckStatus, ConnectionCheck, Delivered, DeliveryOutcome, PermanentFailure, RemoteError,
    RetryLater, SyncError,
};

/// Longest remote message kept in a [`RemoteError`], in characters.
pub const MAX_REMOTE_MESSAGE_CHARS: usize = 1_000;

impl DeliveryOutcome {
    /// Delivered; `external_id` is the remote system's id for what was
    /// created, for example a Slack message `ts`.
    pub fn delivered(external_id: Option<String>) -> Self {
        Self::Delivered(Delivered { external_id })
    }

    /// Failed in a way that may succeed later; `after_seconds` asks for a
    /// delay before the next attempt (for example from `Retry-After`).
    pub fn retry(reason: impl Into<String>, after_seconds: Option<u32>) -> Self {
        Self::Retry(RetryLater {
            reason: reason.into(),
            after_seconds,
            remote: None,
        })
    }

    /// Failed in a way that retrying cannot fix; the delivery is
    /// dead-lettered.
    pub fn failed(reason: impl Into<String>) -> Self {
        Self::Failed(PermanentFailure {
            reason: reason.into(),
            remote: None,
        })
    }

    /// Attaches what the remote system answered to a retry or a failure; a
    /// delivered outcome is returned unchanged.
    pub fn with_remote(self, remote: RemoteError) -> Self {
        match self {
            Self::Retry(retry) => Self::Retry(RetryLater {
                remote: Some(remote),
                ..retry
            }),
            Self::Failed(failure) => Self::Failed(PermanentFailure {
                remote: Some(remote),
                ..failure
            }),
            delivered @ Self::Delivered(_) => delivered,
        }
    }
}

/// A request the host refused or that cannot be sent is a permanent failure;
/// network trouble is a retry.
impl From<HttpError> for DeliveryOutcome {
    fn from(error: HttpError) -> Self {
        if error.is_retryable() {
            Self::retry(error.to_string(), None)
        } else {
            Self::failed(error.to_string())
        }
    }
}

impl RemoteError {
    /// The remote system answered with HTTP `status`.
    pub fn http(status: u16) -> Self {
        Self {
            status: Some(status),
            code: None,
            message: None,
        }
    }

    /// Sets the remote system's own error code, for example
    /// `channel_not_found`.
    pub fn with_code(self, code: impl Into<String>) -> Self {
        Self {
            code: Some(code.into()),
            ..self
        }
    }

    /// Sets the remote system's message, cut to
    /// [`MAX_REMOTE_MESSAGE_CHARS`].
    pub fn with_message(self, message: &str) -> Self {
        let message = match message.char_indices().nth(MAX_REMOTE_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message.to_owned(),
        };
        Self {
            message: Some(message),
            ..self
        }
    }
}

impl ConnectionCheck {
    /// A check with `status` and a one-sentence `message` for the store admin.
    pub fn new(status: CheckStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            steps: Vec::new(),
        }
    }

    /// Everything checked works.
    pub fn ok(message: impl Into<String>) -> Self {
        Self::new(CheckStatus::Ok, message)
    }

    /// A setting or credential is missing or malformed; nothing was sent.
    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self::new(CheckStatus::Misconfigured, message)
    }

    /// The remote system refused the credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(CheckStatus::Unauthorized, message)
    }

    /// The remote system could not be reached or answered with an error.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(CheckStatus::Unreachable, message)
    }

    /// Appends what one step found, for example `("token", "accepted")`.
    pub fn with_step(mut self, step: impl Into<String>, finding: impl Into<String>) -> Self {
        self.steps.push((step.into(), finding.into()));
        self
    }
}

/// A check whose request failed reports the remote system unreachable.
impl From<HttpError> for ConnectionCheck {
    fn from(error: HttpError) -> Self {
        Self::unreachable(format!("could not reach the remote system: {error}"))
    }
}

impl SyncError {
    /// A failure a later run may not have.
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retryable: true,
            remote: None,
        }
    }

    /// A failure that needs someone to change the configuration.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retryable: false,
            remote: None,
        }
    }

    /// Attaches what the remote system answered.
    pub fn with_remote(self, remote: RemoteError) -> Self {
        Self {
            remote: Some(remote),
            ..self
        }
    }
}

impl From<HttpError> for SyncError {
    fn from(error: HttpError) -> Self {
        Self {
            retryable: error.is_retryable(),
            reason: error.to_string(),
            remote: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpErrorKind;

    #[test]
    fn with_remote_attaches_to_retries_and_failures_only() {
        let remote = RemoteError::http(429).with_code("ratelimited");
        let DeliveryOutcome::Retry(retry) =
            DeliveryOutcome::retry("slow down", Some(30)).with_remote(remote.clone())
        else {
            panic!("expected a retry");
        };
        assert_eq!(retry.after_seconds, Some(30));
        assert_eq!(retry.remote.unwrap().code.as_deref(), Some("ratelimited"));

        let DeliveryOutcome::Failed(failure) =
            DeliveryOutcome::failed("gone").with_remote(remote.clone())
        else {
            panic!("expected a failure");
        };
        assert_eq!(failure.remote.unwrap().status, Some(429));

        let delivered = DeliveryOutcome::delivered(Some("1.2".into())).with_remote(remote);
        assert!(
            matches!(delivered, DeliveryOutcome::Delivered(d) if d.external_id.as_deref() == Some("1.2"))
        );
    }

    #[test]
    fn remote_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_REMOTE_MESSAGE_CHARS + 10);
        let message = RemoteError::http(500).with_message(&long).message.unwrap();
        assert_eq!(message.chars().count(), MAX_REMOTE_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
        let short = RemoteError::http(500).with_message("boom").message.unwrap();
        assert_eq!(short, "boom");
    }

    #[test]
    fn refused_requests_fail_permanently_and_network_errors_retry() {
        let refused = HttpError::new(HttpErrorKind::Refused, "ErrorCode::HttpRequestDenied");
        match DeliveryOutcome::from(refused) {
            DeliveryOutcome::Failed(failure) => {
                assert!(failure.reason.contains("HttpRequestDenied"))
            }
            _ => panic!("a refused request must fail permanently"),
        }
        let timeout = HttpError::new(HttpErrorKind::Timeout, "ErrorCode::ConnectionTimeout");
        assert!(matches!(
            DeliveryOutcome::from(timeout),
            DeliveryOutcome::Retry(_)
        ));
    }

    #[test]
    fn sync_errors_from_http_keep_retryability() {
        let dns = HttpError::new(HttpErrorKind::Dns, "ErrorCode::DnsTimeout");
        assert!(SyncError::from(dns).retryable);
        let invalid = HttpError::new(HttpErrorKind::InvalidRequest, "bad url");
        assert!(!SyncError::from(invalid).retryable);
    }
}
