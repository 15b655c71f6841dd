//! The `wasi:http` send hook: every request a guest makes goes through the
//! egress policy of its manifest and the operator, and a request the guest
//! asked the host to authenticate (header [`AUTH_REQUEST_HEADER`]) through
//! [`HostAuth`], which applies the credential only where it is bound.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
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
        let request = request.map(|body| DrainOnDrop::new(body).boxed_unsync());
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

/// A guest's request body that, when the host lets go of it before its end
/// (the request was refused, the connection failed, the server answered
/// early), goes on reading it and discards what comes. The guest's writes
/// then succeed, and it learns why the request failed from the response
/// future, as every HTTP client expects; dropped, the body would close the
/// guest's stream under it, which some guests misreport (a closed stream
/// taken for a failed delivery) or do not survive (StarlingMonkey traps).
/// The draining ends when the guest finishes or drops the body, at the
/// latest when its call ends.
struct DrainOnDrop {
    body: Option<WasiBody>,
    ended: bool,
}

impl DrainOnDrop {
    fn new(body: WasiBody) -> Self {
        Self {
            body: Some(body),
            ended: false,
        }
    }
}

impl Body for DrainOnDrop {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let Some(body) = self.body.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = std::task::ready!(Pin::new(body).poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            self.ended = true;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(mut body) = self.body.take() else {
            return;
        };
        if self.ended || body.is_end_stream() {
            return;
        }
        // Outside a Tokio runtime there is no call left to serve.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { while let Some(Ok(_)) = body.frame().await {} });
        }
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

#[cfg(test)]
mod tests {
    use futures::{SinkExt, StreamExt};
    use http_body_util::StreamBody;

    use super::*;

    #[tokio::test]
    async fn a_body_let_go_of_early_is_drained_so_the_guest_can_finish_writing_it() {
        // A one-chunk channel, as between a guest's output stream and hyper.
        let (mut guest, receiver) = futures::channel::mpsc::channel::<Bytes>(1);
        let body: WasiBody =
            StreamBody::new(receiver.map(|chunk| Ok(Frame::data(chunk)))).boxed_unsync();
        let mut body = DrainOnDrop::new(body);
        guest.send(Bytes::from_static(b"first")).await.unwrap();
        assert!(body.frame().await.is_some());
        // The host refuses the request and drops it, body and all.
        drop(body);

        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        for _ in 0..64 {
            tokio::time::timeout(std::time::Duration::from_secs(5), guest.send(chunk.clone()))
                .await
                .expect("the host keeps reading")
                .expect("the stream stays open for the guest");
        }
    }
}
