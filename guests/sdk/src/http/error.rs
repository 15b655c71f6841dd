//! Why an HTTP request failed.

use std::fmt;

use crate::bindings::wasi::http::types::ErrorCode;

/// The kind of an [`HttpError`], which decides what a connector does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// The host refused to send the request: its origin is not among the
    /// manifest's allowed origins, it resolves to a forbidden address, or the
    /// call already sent as many requests as it may. Retrying cannot help.
    Refused,
    /// The host name could not be resolved.
    Dns,
    /// Connecting, or waiting for the answer, took too long.
    Timeout,
    /// The connection could not be made or broke off.
    Connection,
    /// The TLS handshake failed, for example on an untrusted certificate.
    Tls,
    /// The response (headers or body) is larger than allowed.
    ResponseTooLarge,
    /// The request itself is malformed: a bad URL, header or body.
    InvalidRequest,
    /// The remote system broke the HTTP protocol, or the host failed.
    Protocol,
}

impl HttpErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Refused => "request refused by the host's egress policy",
            Self::Dns => "DNS lookup failed",
            Self::Timeout => "request timed out",
            Self::Connection => "connection failed",
            Self::Tls => "TLS failed",
            Self::ResponseTooLarge => "response too large",
            Self::InvalidRequest => "invalid request",
            Self::Protocol => "HTTP protocol error",
        }
    }
}

/// A failed HTTP request: its [kind](HttpErrorKind) and the details, which
/// for failures reported by the host name the `wasi:http` error code, for
/// example `ErrorCode::HttpRequestDenied`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    kind: HttpErrorKind,
    detail: String,
}

impl HttpError {
    /// An error of `kind` with `detail`.
    pub fn new(kind: HttpErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> HttpErrorKind {
        self.kind
    }

    /// The details, for example `ErrorCode::DestinationIpProhibited`.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Whether the host refused to send the request.
    pub fn is_refused(&self) -> bool {
        self.kind == HttpErrorKind::Refused
    }

    /// Whether sending the same request later may succeed: true for network
    /// trouble, false for refusals, malformed requests and oversized answers.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            HttpErrorKind::Dns
                | HttpErrorKind::Timeout
                | HttpErrorKind::Connection
                | HttpErrorKind::Tls
                | HttpErrorKind::Protocol
        )
    }

    /// The error for a `wasi:http` error code reported by the host.
    pub(crate) fn from_code(code: ErrorCode) -> Self {
        Self::new(kind_of(&code), format!("{code:?}"))
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.describe(), self.detail)
    }
}

impl std::error::Error for HttpError {}

/// Sorts the `wasi:http` error codes into kinds. Sluice's host reports an
/// origin outside the allow-list as `HttpRequestDenied`, a forbidden address
/// as `DestinationIpProhibited` and the per-call request cap as
/// `ConnectionLimitReached`: all three are refusals.
fn kind_of(code: &ErrorCode) -> HttpErrorKind {
    use ErrorCode as E;
    use HttpErrorKind as K;
    match code {
        E::HttpRequestDenied | E::DestinationIpProhibited | E::ConnectionLimitReached => K::Refused,
        E::DnsTimeout | E::DnsError(_) | E::DestinationNotFound => K::Dns,
        E::ConnectionTimeout
        | E::ConnectionReadTimeout
        | E::ConnectionWriteTimeout
        | E::HttpResponseTimeout => K::Timeout,
        E::DestinationUnavailable
        | E::DestinationIpUnroutable
        | E::ConnectionRefused
        | E::ConnectionTerminated
        | E::HttpResponseIncomplete => K::Connection,
        E::TlsProtocolError | E::TlsCertificateError | E::TlsAlertReceived(_) => K::Tls,
        E::HttpResponseHeaderSectionSize(_)
        | E::HttpResponseHeaderSize(_)
        | E::HttpResponseBodySize(_)
        | E::HttpResponseTrailerSectionSize(_)
        | E::HttpResponseTrailerSize(_) => K::ResponseTooLarge,
        E::HttpRequestLengthRequired
        | E::HttpRequestBodySize(_)
        | E::HttpRequestMethodInvalid
        | E::HttpRequestUriInvalid
        | E::HttpRequestUriTooLong
        | E::HttpRequestHeaderSectionSize(_)
        | E::HttpRequestHeaderSize(_)
        | E::HttpRequestTrailerSectionSize(_)
        | E::HttpRequestTrailerSize(_)
        | E::ConfigurationError => K::InvalidRequest,
        E::HttpResponseTransferCoding(_)
        | E::HttpResponseContentCoding(_)
        | E::HttpUpgradeFailed
        | E::HttpProtocolError
        | E::LoopDetected
        | E::InternalError(_) => K::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refusals_are_refused_and_not_retryable() {
        for code in [
            ErrorCode::HttpRequestDenied,
            ErrorCode::DestinationIpProhibited,
            ErrorCode::ConnectionLimitReached,
        ] {
            let error = HttpError::from_code(code);
            assert!(error.is_refused(), "{error}");
            assert!(!error.is_retryable(), "{error}");
        }
    }

    #[test]
    fn the_error_names_the_host_error_code() {
        let error = HttpError::from_code(ErrorCode::DestinationIpProhibited);
        assert_eq!(
            error.to_string(),
            "request refused by the host's egress policy: ErrorCode::DestinationIpProhibited"
        );
    }

    #[test]
    fn network_trouble_is_retryable() {
        for code in [
            ErrorCode::DnsTimeout,
            ErrorCode::ConnectionRefused,
            ErrorCode::ConnectionTimeout,
            ErrorCode::TlsCertificateError,
            ErrorCode::InternalError(Some("reset".into())),
        ] {
            assert!(HttpError::from_code(code).is_retryable());
        }
    }

    #[test]
    fn an_oversized_response_is_not_retryable() {
        let error = HttpError::from_code(ErrorCode::HttpResponseBodySize(Some(1024)));
        assert_eq!(error.kind(), HttpErrorKind::ResponseTooLarge);
        assert!(!error.is_retryable());
        assert!(error.detail().contains("1024"));
    }
}
