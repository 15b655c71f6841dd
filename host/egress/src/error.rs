//! Why a request was refused or failed.

/// A request the policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The scheme is not http or https.
    #[error("scheme {0} is not allowed")]
    SchemeNotAllowed(String),
    /// The origin is not in the manifest's allowed origins.
    #[error("origin {origin} is not in the connector's allowed origins")]
    OriginNotAllowed {
        /// `scheme://host:port`.
        origin: String,
    },
    /// The host resolved to, or is, an address in a forbidden range.
    #[error("{host} resolves to {address}, a {range} address")]
    ForbiddenAddress {
        /// The host asked for.
        host: String,
        /// The address it resolved to.
        address: String,
        /// The forbidden range.
        range: &'static str,
    },
    /// The call already made as many requests as allowed.
    #[error("the limit of {limit} requests per call was reached")]
    TooManyRequests {
        /// The limit.
        limit: u32,
    },
    /// The URL has no host, or a host that only looks like an IP address.
    #[error("the URL's host {0:?} is not valid")]
    InvalidHost(String),
}

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing the connection.
    Connect,
    /// Waiting for the response headers.
    Response,
    /// Reading the response body.
    Read,
}

/// Why a request did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// The policy refused it; nothing was sent.
    #[error("refused by the egress policy: {0}")]
    Refused(Refusal),
    /// The host name could not be resolved.
    #[error("could not resolve {0}")]
    DnsFailure(String),
    /// No connection could be made.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The TLS handshake failed (for example an untrusted certificate).
    #[error("TLS failed: {0}")]
    Tls(String),
    /// A timeout ran out.
    #[error("timed out ({0:?})")]
    Timeout(TimeoutPhase),
    /// The response body was larger than allowed.
    #[error("the response body is larger than {limit} bytes")]
    ResponseTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The exchange broke off or was malformed.
    #[error("HTTP error: {0}")]
    Protocol(String),
}
