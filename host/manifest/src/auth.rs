//! Host-managed authentication: how a credential is applied to outgoing
//! requests, and the origins it may be sent to.
//!
//! A credential with an `auth` table is never handed to the component: the
//! component asks the host (the `auth` interface of the contract) to
//! authenticate a request with it, and the host applies it only when the
//! request goes to one of the credential's `origins`.
//!
//! ```toml
//! [[credentials]]
//! key = "refresh_token"
//! label = "Refresh token"
//! kind = "secret"
//!
//! [credentials.auth]
//! scheme = "oauth2-refresh-token"
//! origins = ["https://sellingpartnerapi-eu.amazon.com"]
//! token_url = "https://api.amazon.com/auth/o2/token"
//! client_id = "client_id"          # keys of other credentials
//! client_secret = "client_secret"
//! apply = { header = "x-amz-access-token", prefix = "" }
//! ```

use serde::{Deserialize, Serialize};
use sluice_egress::{AllowList, OriginPattern};

use crate::{FieldError, FieldSpec};

/// The request header through which a component asks the host to
/// authenticate a request; its value names the credential. The host removes
/// it before anything is sent.
pub const AUTH_REQUEST_HEADER: &str = "sluice-auth";

/// How a credential is applied and where it may go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialAuth {
    /// Origins (`https://host[:port]`, `*.` wildcards allowed) the credential
    /// may be sent to; each within the manifest's egress origins.
    pub origins: Vec<String>,
    /// How it is applied.
    #[serde(flatten)]
    pub scheme: AuthScheme,
}

/// The ways the host authenticates a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AuthScheme {
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// `<name>: <prefix><value>`, for API keys sent in a header.
    Header {
        /// The header's name.
        name: String,
        /// Text before the value, for example `Token `.
        #[serde(default)]
        prefix: String,
    },
    /// `?<name>=<value>` added to the query.
    Query {
        /// The query parameter's name.
        name: String,
    },
    /// The credential is a whole URL whose path or query is the secret (an
    /// incoming webhook's): the component sends to the URL's origin, and the
    /// host replaces the request's path and query with the credential's.
    Url,
    /// HTTP Basic with this credential as the password.
    Basic {
        /// The key of the credential holding the user name.
        username: String,
    },
    /// An OAuth 2.0 refresh-token grant (RFC 6749 section 6): this
    /// credential is the refresh token; the access token obtained is cached
    /// by the host and applied as `apply` says.
    #[serde(rename = "oauth2-refresh-token")]
    OAuth2RefreshToken {
        /// The token endpoint: an absolute `https` URL, or a path on the
        /// origin of the request being authenticated (for APIs whose
        /// sandbox and production each have their own).
        token_url: String,
        /// The key of the credential holding the client id.
        client_id: String,
        /// The key of the credential holding the client secret.
        client_secret: String,
        /// How the client authenticates to the token endpoint.
        #[serde(default)]
        client_auth: ClientAuth,
        /// Scopes asked for, if the endpoint wants them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        scopes: Vec<String>,
        /// Where the access token goes.
        #[serde(default)]
        apply: TokenPlacement,
        /// Answers that mean the access token was refused (renewed once).
        #[serde(default = "default_renew_on_status")]
        renew_on_status: Vec<u16>,
    },
    /// An OAuth 2.0 JWT-bearer grant (RFC 7523) signed RS256 with a service
    /// account's key: this credential is the service account's JSON key
    /// file (`client_email`, `private_key`).
    #[serde(rename = "oauth2-jwt-bearer")]
    OAuth2JwtBearer {
        /// The token endpoint, also the assertion's audience.
        token_url: String,
        /// Scopes asked for.
        scopes: Vec<String>,
        /// Where the access token goes.
        #[serde(default)]
        apply: TokenPlacement,
        /// Answers that mean the access token was refused (renewed once).
        #[serde(default = "default_renew_on_status")]
        renew_on_status: Vec<u16>,
    },
    /// An HMAC-SHA256 signature of the request body (preceded by a Unix
    /// timestamp and `.` when `timestamp_header` is set), with this
    /// credential as the key.
    Hmac {
        /// The header carrying the signature.
        header: String,
        /// Text before the signature, for example `sha256=`.
        #[serde(default)]
        prefix: String,
        /// How the signature is written.
        #[serde(default)]
        encoding: SignatureEncoding,
        /// The header carrying the timestamp that is signed with the body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp_header: Option<String>,
    },
}

fn default_renew_on_status() -> Vec<u16> {
    vec![401]
}

/// How an OAuth client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    #[default]
    Body,
    /// HTTP Basic (`client_secret_basic`).
    Basic,
}

/// Where an access token is put on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenPlacement {
    /// The header.
    pub header: String,
    /// Text before the token.
    #[serde(default)]
    pub prefix: String,
}

impl Default for TokenPlacement {
    fn default() -> Self {
        Self {
            header: "authorization".to_owned(),
            prefix: "Bearer ".to_owned(),
        }
    }
}

/// How a signature is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureEncoding {
    /// Lower-case hexadecimal.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl AuthScheme {
    /// The scheme's name, as the manifest writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Header { .. } => "header",
            Self::Query { .. } => "query",
            Self::Url => "url",
            Self::Basic { .. } => "basic",
            Self::OAuth2RefreshToken { .. } => "oauth2-refresh-token",
            Self::OAuth2JwtBearer { .. } => "oauth2-jwt-bearer",
            Self::Hmac { .. } => "hmac",
        }
    }

    /// The other credentials the scheme reads (client id and secret, user
    /// name).
    pub fn companions(&self) -> Vec<&str> {
        match self {
            Self::Basic { username } => vec![username.as_str()],
            Self::OAuth2RefreshToken {
                client_id,
                client_secret,
                ..
            } => vec![client_id.as_str(), client_secret.as_str()],
            _ => Vec::new(),
        }
    }

    /// The token endpoint the host itself calls, if any.
    pub fn token_url(&self) -> Option<&str> {
        match self {
            Self::OAuth2RefreshToken { token_url, .. }
            | Self::OAuth2JwtBearer { token_url, .. } => Some(token_url),
            _ => None,
        }
    }
}

impl CredentialAuth {
    /// The origins as an allow list (valid once the manifest validated).
    pub fn allow_list(&self) -> AllowList {
        AllowList::parse(&self.origins).unwrap_or_else(|_| AllowList::new(Vec::new()))
    }
}

/// Checks the `auth` tables of `credentials` against each other and the
/// egress origins.
pub(crate) fn validate(
    credentials: &[FieldSpec],
    egress: &[OriginPattern],
    errors: &mut Vec<FieldError>,
) {
    for (i, credential) in credentials.iter().enumerate() {
        let Some(auth) = &credential.auth else {
            continue;
        };
        let at = |name: &str| format!("credentials[{i}].auth.{name}");
        if auth.origins.is_empty() {
            errors.push(FieldError::new(
                at("origins"),
                "must name at least one origin the credential may be sent to",
            ));
        }
        for (j, text) in auth.origins.iter().enumerate() {
            let field = format!("credentials[{i}].auth.origins[{j}]");
            match OriginPattern::parse(text) {
                Ok(origin) if !egress.iter().any(|allowed| origin.is_within(allowed)) => {
                    errors.push(FieldError::new(
                        field,
                        format!("'{text}' is not within egress.allowed_origins"),
                    ));
                }
                Ok(_) => {}
                Err(e) => errors.push(FieldError::new(field, e.to_string())),
            }
        }
        for companion in auth.scheme.companions() {
            let declared = credentials.iter().any(|c| c.key == companion);
            if companion == credential.key || !declared {
                let field = match &auth.scheme {
                    AuthScheme::Basic { .. } => "username",
                    AuthScheme::OAuth2RefreshToken { client_id, .. } if client_id == companion => {
                        "client_id"
                    }
                    _ => "client_secret",
                };
                errors.push(FieldError::new(
                    at(field),
                    format!("'{companion}' must be the key of another declared credential"),
                ));
            }
        }
        if let Some(url) = auth.scheme.token_url() {
            check_token_url(url, egress, &at("token_url"), errors);
        }
        let headers: Vec<(&str, &str)> = match &auth.scheme {
            AuthScheme::Header { name, .. } => vec![("name", name)],
            AuthScheme::Hmac {
                header,
                timestamp_header,
                ..
            } => std::iter::once(("header", header.as_str()))
                .chain(timestamp_header.as_deref().map(|h| ("timestamp_header", h)))
                .collect(),
            AuthScheme::OAuth2RefreshToken { apply, .. }
            | AuthScheme::OAuth2JwtBearer { apply, .. } => vec![("apply.header", &apply.header)],
            _ => Vec::new(),
        };
        for (field, name) in headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(FieldError::new(at(field), "not a valid HTTP header name"));
            } else if name.eq_ignore_ascii_case(AUTH_REQUEST_HEADER) {
                errors.push(FieldError::new(
                    at(field),
                    format!("'{AUTH_REQUEST_HEADER}' is the host's own header"),
                ));
            }
        }
        if let AuthScheme::Query { name } = &auth.scheme
            && name.trim().is_empty()
        {
            errors.push(FieldError::new(at("name"), "must not be empty"));
        }
        if let AuthScheme::OAuth2JwtBearer { scopes, .. } = &auth.scheme
            && scopes.is_empty()
        {
            errors.push(FieldError::new(
                at("scopes"),
                "must name at least one scope",
            ));
        }
    }
}

fn check_token_url(url: &str, egress: &[OriginPattern], field: &str, errors: &mut Vec<FieldError>) {
    if url.starts_with('/') {
        // A path on the origin of the request being authenticated, which
        // the binding already allows.
        return;
    }
    let parsed = match url::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host_str().is_some() => parsed,
        _ => {
            errors.push(FieldError::new(
                field,
                "must be an absolute https URL, or a path on the request's origin",
            ));
            return;
        }
    };
    let origin = parsed.origin().ascii_serialization();
    let within = OriginPattern::parse(&origin)
        .is_ok_and(|o| egress.iter().any(|allowed| o.is_within(allowed)));
    if !within {
        errors.push(FieldError::new(
            field,
            format!("its origin '{origin}' is not within egress.allowed_origins"),
        ));
    }
}

/// What the host checks on a webhook before the connector's inbound handler
/// sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundSpec {
    /// An HMAC-SHA256 signature the sender puts on each request.
    pub signature: InboundSignature,
}

/// An HMAC-SHA256 request signature, checked by the host with a credential
/// the connector never reads. Slack's `v0`:
///
/// ```toml
/// [inbound.signature]
/// credential = "signing_secret"
/// header = "x-slack-signature"
/// prefix = "v0="
/// timestamp_header = "x-slack-request-timestamp"
/// message = "v0:{timestamp}:{body}"
/// tolerance_seconds = 300
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundSignature {
    /// The key of the credential holding the signing secret.
    pub credential: String,
    /// The header carrying the signature.
    pub header: String,
    /// Text before the signature in that header, for example `v0=`.
    #[serde(default)]
    pub prefix: String,
    /// How the signature is written.
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// What is signed: `{body}` is the raw body, `{timestamp}` the value of
    /// `timestamp_header`.
    #[serde(default = "InboundSignature::default_message")]
    pub message: String,
    /// The header carrying the Unix time the request was signed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
    /// How far that time may be from now, in seconds, against replays.
    #[serde(default = "InboundSignature::default_tolerance")]
    pub tolerance_seconds: u32,
}

impl InboundSignature {
    fn default_message() -> String {
        "{body}".to_owned()
    }

    fn default_tolerance() -> u32 {
        300
    }
}

/// Checks the inbound signature against the declared credentials.
pub(crate) fn validate_inbound(
    inbound: &InboundSpec,
    credentials: &[FieldSpec],
    errors: &mut Vec<FieldError>,
) {
    let signature = &inbound.signature;
    let at = |name: &str| format!("inbound.signature.{name}");
    if !credentials.iter().any(|c| c.key == signature.credential) {
        errors.push(FieldError::new(
            at("credential"),
            format!("'{}' is not a declared credential", signature.credential),
        ));
    }
    if !signature.message.contains("{body}") {
        errors.push(FieldError::new(at("message"), "must contain {body}"));
    }
    match (
        &signature.timestamp_header,
        signature.message.contains("{timestamp}"),
    ) {
        (None, true) => errors.push(FieldError::new(
            at("timestamp_header"),
            "is required when the message contains {timestamp}",
        )),
        (Some(_), false) => errors.push(FieldError::new(
            at("message"),
            "must contain {timestamp} when timestamp_header is set, or the timestamp is not signed",
        )),
        _ => {}
    }
    for (field, name) in std::iter::once(("header", &signature.header)).chain(
        signature
            .timestamp_header
            .iter()
            .map(|h| ("timestamp_header", h)),
    ) {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            errors.push(FieldError::new(at(field), "not a valid HTTP header name"));
        }
    }
}
