//! The `wasi:http` send hook: every request a guest makes goes through the
//! egress policy of its manifest and the operator.

use http_body_util::BodyExt;
use sluice_egress::{AllowList, CallScope, Egress, EgressError, EgressLog, Refusal};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Sends a guest's requests through [`Egress`], within one call's scope.
pub(crate) struct EgressHooks {
    egress: Egress,
    scope: CallScope,
}

impl EgressHooks {
    /// Hooks allowing `allowed` origins and at most `max_requests` requests
    /// (the operator's cap applies when it is lower or when none is given).
    pub fn new(egress: Egress, allowed: AllowList, max_requests: Option<u32>) -> Self {
        let scope = egress.call_scope(Some(allowed), max_requests);
        Self { egress, scope }
    }

    /// The log of this call's requests and refusals.
    pub fn log(&self) -> EgressLog {
        self.scope.log().clone()
    }
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _request_errors: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        let egress = self.egress.clone();
        let scope = self.scope.clone();
        Box::new(async move {
            let response = egress.send(request, &scope).await.map_err(to_wasi_error)?;
            let response = response.map(|body| {
                body.map_err(|e| to_wasi_error(EgressError::from(e)))
                    .boxed_unsync()
            });
            // The egress client drives the connection itself; nothing is left
            // to report once the response has arrived.
            let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                Box::new(std::future::ready(Ok(())));
            Ok((response, done))
        })
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
