//! The egress client: checks a request against its call's scope, sends it
//! over a pooled connection to a checked address, and records it.

use std::error::Error as StdError;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_rustls::TlsConnector;

use crate::connect::{ConnectedAddress, Destination, PinnedConnector};
use crate::error::{EgressError, Refusal, TimeoutPhase};
use crate::log::{ABANDONED, EgressLog, EgressRecord};
use crate::origin::AllowList;
use crate::resolve::Resolve;
use crate::settings::EgressSettings;

type BoxError = Box<dyn StdError + Send + Sync>;
type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

/// Why the settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EgressConfigError {
    /// A CA file could not be read or holds no certificate.
    #[error("egress.ca_certificates: {path}: {reason}")]
    CaCertificate {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A setting is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The outbound HTTP client of the service. Cheap to clone.
#[derive(Clone)]
pub struct Egress {
    settings: Arc<EgressSettings>,
    client: Client<PinnedConnector, RequestBody>,
}

impl Egress {
    /// A client applying `settings`, resolving names with `resolver`.
    pub fn new(
        settings: EgressSettings,
        resolver: Arc<dyn Resolve>,
    ) -> Result<Self, EgressConfigError> {
        settings.validate().map_err(EgressConfigError::Invalid)?;
        let tls = tls_config(&settings.ca_certificates)?;
        let settings = Arc::new(settings);
        let connector = PinnedConnector {
            settings: settings.clone(),
            resolver,
            tls: TlsConnector::from(Arc::new(tls)),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(connector);
        Ok(Self { settings, client })
    }

    /// The settings in force.
    pub fn settings(&self) -> &EgressSettings {
        &self.settings
    }

    /// A scope for one call: the origins it may reach (none means any
    /// origin, still subject to the address ranges) and its request cap (the
    /// operator's cap applies when it is lower or none is given).
    pub fn call_scope(&self, allow: Option<AllowList>, max_requests: Option<u32>) -> CallScope {
        let operator = self.settings.max_requests_per_call;
        let limit = max_requests.map_or(operator, |m| m.min(operator));
        CallScope {
            allow: allow.map(Arc::new),
            limit,
            sent: Arc::new(AtomicU32::new(0)),
            log: EgressLog::default(),
        }
    }

    /// Sends `request` (with an absolute URI) within `scope`. The response
    /// body enforces the size cap and the read timeout as it is read.
    pub async fn send<B>(
        &self,
        request: http::Request<B>,
        scope: &CallScope,
    ) -> Result<http::Response<ResponseBody>, EgressError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let started = Instant::now();
        let applied = request.extensions().get::<AppliedCredential>();
        let mut record = EgressRecord {
            method: request.method().to_string(),
            origin: String::new(),
            path: match applied {
                Some(applied) if applied.conceals_path => {
                    format!("(the URL of credential {})", applied.key)
                }
                _ => request.uri().path().to_owned(),
            },
            credential: applied.map(|a| a.key.clone()),
            token_exchange: applied.is_some_and(|a| a.token_exchange),
            ..EgressRecord::default()
        };
        let result = self.check(&request, scope, &mut record);
        if let Err(refusal) = result {
            record.refused = Some(refusal.to_string());
            // Never sent: what the body would have been, when known.
            record.request_bytes = request.body().size_hint().exact().unwrap_or(0);
            scope.log.push(record);
            return Err(EgressError::Refused(refusal));
        }
        // Recorded now, not when the answer comes: a call that ends while
        // the request is in flight still reports it.
        let index = scope.log.push_in_flight(record, started);
        let in_flight = InFlight {
            log: scope.log.clone(),
            index,
            started,
            settled: false,
        };
        let log = scope.log.clone();
        let request = request.map(|body| {
            CountingBody {
                inner: body.map_err(Into::into).boxed_unsync(),
                sent: 0,
                log,
                index,
            }
            .boxed_unsync()
        });
        let sent = tokio::time::timeout(
            self.settings.request_timeout(),
            self.client.request(request),
        )
        .await;
        let response = match sent {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                let error = classify(&error);
                in_flight.settle(|record| match &error {
                    EgressError::Refused(refusal) => record.refused = Some(refusal.to_string()),
                    other => record.error = Some(other.to_string()),
                });
                return Err(error);
            }
            Err(_) => {
                let error = EgressError::Timeout(TimeoutPhase::Response);
                in_flight.settle(|record| record.error = Some(error.to_string()));
                return Err(error);
            }
        };
        let address = response
            .extensions()
            .get::<ConnectedAddress>()
            .map(|a| a.0.to_string());
        let status = response.status().as_u16();
        in_flight.settle(|record| {
            record.status = Some(status);
            record.address = address;
        });
        let limit = self.settings.max_response_bytes;
        let read_timeout = self.settings.read_timeout();
        let log = scope.log.clone();
        Ok(response.map(|incoming| ResponseBody {
            incoming,
            limit,
            read: 0,
            read_timeout,
            deadline: None,
            log,
            index,
        }))
    }

    fn check<B>(
        &self,
        request: &http::Request<B>,
        scope: &CallScope,
        record: &mut EgressRecord,
    ) -> Result<(), Refusal> {
        let destination = Destination::of(request.uri())?;
        record.origin = destination.origin();
        if let Some(allow) = &scope.allow
            && !allow.allows(destination.scheme, &destination.host, destination.port)
        {
            return Err(Refusal::OriginNotAllowed {
                origin: destination.origin(),
            });
        }
        if scope.sent.fetch_add(1, Ordering::Relaxed) >= scope.limit {
            return Err(Refusal::TooManyRequests { limit: scope.limit });
        }
        Ok(())
    }
}

/// A request whose record waits for its answer. Dropped unsettled (the
/// sender stopped waiting, or the call ended), it records that no answer
/// came.
struct InFlight {
    log: EgressLog,
    index: usize,
    started: Instant,
    settled: bool,
}

impl InFlight {
    /// Records how the request ended, with the time it took.
    fn settle(mut self, change: impl FnOnce(&mut EgressRecord)) {
        self.settled = true;
        let duration_ms = self.started.elapsed().as_millis() as u64;
        self.log.settle(self.index, |record| {
            record.duration_ms = duration_ms;
            change(record);
        });
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.settled {
            let duration_ms = self.started.elapsed().as_millis() as u64;
            self.log.settle(self.index, |record| {
                record.duration_ms = duration_ms;
                record.error = Some(ABANDONED.to_owned());
            });
        }
    }
}

/// A request body that counts the bytes sent into its record as they
/// stream: a guest's body has no size known in advance.
struct CountingBody {
    inner: RequestBody,
    sent: u64,
    log: EgressLog,
    index: usize,
}

impl Body for CountingBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            this.sent += data.len() as u64;
            let sent = this.sent;
            this.log
                .update(this.index, |record| record.request_bytes = sent);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Marks a request the host authenticated: [`Egress::send`] records the
/// credential's key (never its value) with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCredential {
    /// The credential's key.
    pub key: String,
    /// Whether the host sends the request itself to obtain a token.
    pub token_exchange: bool,
    /// Whether the request's path is the credential itself (an incoming
    /// webhook's URL), so that the record names the credential instead.
    pub conceals_path: bool,
}

/// The policy and record of one call: allowed origins, request budget, log.
#[derive(Clone)]
pub struct CallScope {
    allow: Option<Arc<AllowList>>,
    limit: u32,
    sent: Arc<AtomicU32>,
    log: EgressLog,
}

impl CallScope {
    /// The requests and refusals of this call so far.
    pub fn log(&self) -> &EgressLog {
        &self.log
    }

    /// Whether the call's policy lets requests go to `uri`'s origin.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        Destination::of(uri).is_ok()
            && self
                .allow
                .as_ref()
                .is_none_or(|allow| allow.allows_uri(uri))
    }

    /// Records a request refused before it reached the egress policy (by
    /// the host's authentication, for example), with the reason.
    pub fn record_refusal(&self, method: &http::Method, uri: &http::Uri, reason: String) {
        self.log.push(EgressRecord {
            method: method.to_string(),
            origin: Destination::of(uri)
                .map(|d| d.origin())
                .unwrap_or_else(|_| uri.to_string()),
            path: uri.path().to_owned(),
            refused: Some(reason),
            ..EgressRecord::default()
        });
    }
}

/// Finds the egress error behind a client error: the connector's own error
/// when the connection failed, else a protocol error.
fn classify(error: &hyper_util::client::legacy::Error) -> EgressError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(egress) = current.downcast_ref::<EgressError>() {
            return egress.clone();
        }
        source = current.source();
    }
    EgressError::Protocol(format!(
        "{error}: {}",
        error.source().map(|s| s.to_string()).unwrap_or_default()
    ))
}

fn tls_config(ca_files: &[impl AsRef<Path>]) -> Result<rustls::ClientConfig, EgressConfigError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for path in ca_files {
        let path = path.as_ref();
        let fail = |reason: String| EgressConfigError::CaCertificate {
            path: path.display().to_string(),
            reason,
        };
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| fail(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| fail(e.to_string()))?;
        if certificates.is_empty() {
            return Err(fail("holds no PEM certificate".to_owned()));
        }
        for certificate in certificates {
            roots.add(certificate).map_err(|e| fail(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EgressConfigError::Invalid(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Why reading a response body stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the cap.
    #[error("the response body is larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
    /// The sender went silent for longer than the read timeout.
    #[error("the response body stalled")]
    Timeout,
    /// The connection broke.
    #[error("reading the response body failed: {0}")]
    Io(String),
}

impl From<BodyError> for EgressError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge { limit } => EgressError::ResponseTooLarge { limit },
            BodyError::Timeout => EgressError::Timeout(TimeoutPhase::Read),
            BodyError::Io(message) => EgressError::Protocol(message),
        }
    }
}

/// A response body that counts what is read into the log, stops at the size
/// cap and fails when the sender stalls.
pub struct ResponseBody {
    incoming: hyper::body::Incoming,
    limit: u64,
    read: u64,
    read_timeout: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    log: EgressLog,
    index: usize,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("read", &self.read)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.deadline = None;
                let Some(frame) = frame else {
                    return Poll::Ready(None);
                };
                let frame = frame.map_err(|e| BodyError::Io(e.to_string()))?;
                if let Some(data) = frame.data_ref() {
                    this.read += data.len() as u64;
                    let read = this.read;
                    this.log.update(this.index, |r| r.response_bytes = read);
                    if this.read > this.limit {
                        let limit = this.limit;
                        this.log.update(this.index, |r| {
                            r.error = Some(format!("response body larger than {limit} bytes"));
                        });
                        return Poll::Ready(Some(Err(BodyError::TooLarge { limit })));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                let timeout = this.read_timeout;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(deadline.as_mut().poll(cx));
                Poll::Ready(Some(Err(BodyError::Timeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
