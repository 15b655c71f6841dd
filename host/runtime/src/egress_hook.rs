//! The `wasi:http` send hook: every request a guest makes goes through the
//! egress policy of its manifest and the operator, and a request the guest
//! asked the host to authenticate (header [`AUTH_REQUEST_HEADER`]) through
//! [`HostAuth`], which applies the credential only where it is bound.

use std::collections::BTreeMap;
use std::sync::Arc;

use http_body_util::BodyExt;
use sluice_auth::{AuthError, CredentialUse, HostAuth};
use sluice_core::SharedClock;
use sluice_egress::{AllowList, CallScope, Egress, EgressError, EgressLog, Refusal};
use sluice_manifest::{AUTH_REQUEST_HEADER, Manifest};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::capabilities::Credentials;

/// What the hook needs to authenticate a call's requests.
#[derive(Clone)]
pub(crate) struct CallAuth {
    pub auth: Arc<HostAuth>,
    pub manifest: Arc<Manifest>,
    pub credentials: Arc<dyn Credentials>,
    pub configuration_id: String,
    pub clock: SharedClock,
}

/// Sends a guest's requests through [`Egress`], within one call's scope.
pub(crate) struct EgressHooks {
    egress: Egress,
    scope: CallScope,
    auth: CallAuth,
}

impl EgressHooks {
    /// Hooks allowing `allowed` origins and at most `max_requests` requests
    /// (the operator's cap applies when it is lower or when none is given).
    pub fn new(
        egress: Egress,
        allowed: AllowList,
        max_requests: Option<u32>,
        auth: CallAuth,
    ) -> Self {
        let scope = egress.call_scope(Some(allowed), max_requests);
        Self {
            egress,
            scope,
            auth,
        }
    }

    /// The log of this call's requests and refusals.
    pub fn log(&self) -> EgressLog {
        self.scope.log().clone()
    }
}

type Sent = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _request_errors: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        let egress = self.egress.clone();
        let scope = self.scope.clone();
        let auth = self.auth.clone();
        // The guest's own marker never leaves the host.
        let asked: Vec<String> = request
            .headers()
            .get_all(AUTH_REQUEST_HEADER)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        request.headers_mut().remove(AUTH_REQUEST_HEADER);
        Box::new(async move {
            let response = match asked.as_slice() {
                [] => egress
                    .send(request, &scope)
                    .await
                    .map_err(to_wasi_error)?
                    .map(|body| {
                        body.map_err(|e| to_wasi_error(EgressError::from(e)))
                            .boxed_unsync()
                    }),
                [key] => {
                    let credential = match credential_use(&auth, key).await {
                        Ok(credential) => credential,
                        Err(reason) => {
                            scope.record_refusal(request.method(), request.uri(), reason);
                            return Err(HttpError::HttpRequestDenied);
                        }
                    };
                    auth.auth
                        .send(request, &credential, &scope, &*auth.clock)
                        .await
                        .map_err(auth_to_wasi_error)?
                        .map(|body| {
                            body.map_err(|e| to_wasi_error(EgressError::from(e)))
                                .boxed_unsync()
                        })
                }
                _ => {
                    scope.record_refusal(
                        request.method(),
                        request.uri(),
                        format!(
                            "the request asks for {} credentials at once ({}); one at most",
                            asked.len(),
                            asked.join(", ")
                        ),
                    );
                    return Err(HttpError::HttpRequestDenied);
                }
            };
            // The egress client drives the connection itself; nothing is left
            // to report once the response has arrived.
            let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                Box::new(std::future::ready(Ok(())));
            Ok((response, done))
        })
    }
}

/// The credential `key` with the values its scheme needs, or why the host
/// will not apply it.
async fn credential_use(auth: &CallAuth, key: &str) -> Result<CredentialUse, String> {
    let spec = auth
        .manifest
        .credential(key)
        .and_then(|c| c.auth.clone())
        .ok_or_else(|| {
            format!("credential '{key}' is not applied by the host (no auth table in the manifest)")
        })?;
    let read = |key: String| async move {
        match auth.credentials.get(&key).await {
            Ok(Some(value)) if !value.is_empty() => Ok(Some(value)),
            Ok(_) => Ok(None),
            Err(error) => Err(format!("reading credential '{key}' failed: {error}")),
        }
    };
    let secret = read(key.to_owned())
        .await?
        .ok_or_else(|| format!("credential '{key}' is not set in this configuration"))?;
    let mut companions = BTreeMap::new();
    for companion in spec.scheme.companions() {
        if let Some(value) = read(companion.to_owned()).await? {
            companions.insert(companion.to_owned(), value);
        }
    }
    Ok(CredentialUse {
        configuration_id: auth.configuration_id.clone(),
        key: key.to_owned(),
        auth: spec,
        secret,
        companions,
    })
}

fn auth_to_wasi_error(error: AuthError) -> HttpError {
    match error {
        AuthError::Egress(error) => to_wasi_error(error),
        AuthError::NotBound { .. } | AuthError::MissingCompanion { .. } => {
            HttpError::HttpRequestDenied
        }
        AuthError::BodyTooLarge { limit } => HttpError::HttpRequestBodySize(Some(limit as u64)),
        AuthError::Body(message) => HttpError::InternalError(Some(message)),
    }
}

/// Maps an egress failure onto the `wasi:http` error code the guest sees.
fn to_wasi_error(error: EgressError) -> HttpError {
    match error {
        EgressError::Refused(Refusal::ForbiddenAddress { .. }) => {
            HttpError::DestinationIpProhibited
        }
        EgressError::Refused(_) => HttpError::HttpRequestDenied,
        EgressError::DnsFailure(message) => HttpError::DnsError {
            rcode: Some(message),
            info_code: None,
        },
        EgressError::Connect(_) => HttpError::ConnectionRefused,
        EgressError::Tls(_) => HttpError::TlsCertificateError,
        EgressError::Timeout(_) => HttpError::ConnectionTimeout,
        EgressError::ResponseTooLarge { limit } => HttpError::HttpResponseBodySize(Some(limit)),
        EgressError::Protocol(message) => HttpError::InternalError(Some(message)),
    }
}
