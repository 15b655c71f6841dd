//! The built-in fake remote: one local server standing in for every origin
//! the manifest declares, answering each request as the scenario being run
//! says.
//!
//! The runtime reaches it exactly as it reaches a real API: the egress
//! settings' `resolve` map sends each declared `host:port` to the fake, and
//! for `https` origins the fake presents a certificate for the real host
//! names, issued by a CA generated for this run that the egress settings
//! trust (`ca_certificates`). Nothing else resolves, so a check never
//! reaches the network.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sluice_egress::{EgressSettings, OriginPattern, Scheme};
use sluice_manifest::Manifest;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// The status of the fake's client-error answer.
pub(crate) const CLIENT_ERROR_STATUS: u16 = 400;
/// The status of the fake's server-error answer.
pub(crate) const SERVER_ERROR_STATUS: u16 = 500;
/// The `Retry-After` of the fake's rate-limit answer, in seconds.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 7;

/// The fake's success body: enough of the common shapes (`ok`, `id`, Slack's
/// `ts`) that a connector reading one finds it.
const SUCCESS_BODY: &str = r#"{"ok":true,"id":"conformance-1","ts":"1767261600.000100"}"#;
/// What the fake's token endpoint grants.
const TOKEN_BODY: &str =
    r#"{"access_token":"conformance-access-token","token_type":"Bearer","expires_in":3600}"#;

/// How the fake answers the connector's requests (token requests are always
/// granted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// `200` with a JSON body.
    Success,
    /// [`SERVER_ERROR_STATUS`].
    ServerError,
    /// Reads the request and never answers.
    Hang,
    /// `429` with `Retry-After: 7`.
    RateLimited,
    /// [`CLIENT_ERROR_STATUS`] with an error body.
    ClientError,
}

/// One concrete origin the manifest declares, which the fake stands in for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MappedOrigin {
    /// As the manifest writes it, for example `https://hooks.slack.com`.
    origin: String,
    scheme: Scheme,
    /// Lower case; IPv6 literals in brackets.
    host: String,
    port: u16,
}

/// The manifest's origins: those the fake stands in for, and the wildcard
/// ones it cannot (no single host name to map).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origins {
    mapped: Vec<MappedOrigin>,
    unmapped: Vec<String>,
}

impl Origins {
    /// Sorts the manifest's allowed origins into mapped and unmapped.
    pub fn of(manifest: &Manifest) -> Self {
        let mut origins = Self::default();
        for pattern in manifest.allowed_origins.patterns() {
            match concrete(pattern) {
                Some(mapped) => origins.mapped.push(mapped),
                None => origins.unmapped.push(pattern.to_string()),
            }
        }
        origins
    }

    /// The first origin the fake stands in for.
    pub fn first_mapped(&self) -> Option<String> {
        self.mapped.first().map(|m| m.origin.clone())
    }

    /// Those of `origins` (as a credential's `auth.origins` writes them)
    /// that the fake stands in for, in their order.
    pub fn mapped_of(&self, origins: &[String]) -> Vec<String> {
        origins
            .iter()
            .filter_map(|text| {
                let wanted = OriginPattern::parse(text).ok().and_then(|p| concrete(&p))?;
                self.find(wanted.scheme, &wanted.host, wanted.port)
            })
            .map(|m| m.origin.clone())
            .collect()
    }

    /// Whether `url` is on one of `origins` and the fake stands in for it.
    pub fn maps_on(&self, url: &str, origins: &[String]) -> bool {
        let Ok(url) = url::Url::parse(url) else {
            return false;
        };
        let (Some(scheme), Some(host), Some(port)) = (
            Scheme::parse(url.scheme()),
            url.host_str(),
            url.port_or_known_default(),
        ) else {
            return false;
        };
        self.find(scheme, &host.to_ascii_lowercase(), port)
            .is_some_and(|m| self.mapped_of(origins).contains(&m.origin))
    }

    fn find(&self, scheme: Scheme, host: &str, port: u16) -> Option<&MappedOrigin> {
        self.mapped
            .iter()
            .find(|m| (m.scheme, m.host.as_str(), m.port) == (scheme, host, port))
    }

    /// The origins the fake stands in for, as the manifest writes them.
    pub fn mapped(&self) -> Vec<String> {
        self.mapped.iter().map(|m| m.origin.clone()).collect()
    }

    /// The wildcard origins the fake cannot stand in for.
    pub fn unmapped(&self) -> &[String] {
        &self.unmapped
    }
}

/// The scheme, host and port of a pattern naming one origin; none for a
/// `*.` wildcard.
fn concrete(pattern: &OriginPattern) -> Option<MappedOrigin> {
    let origin = pattern.to_string();
    if origin.contains("://*.") {
        return None;
    }
    let url = url::Url::parse(&origin).ok()?;
    Some(MappedOrigin {
        scheme: Scheme::parse(url.scheme())?,
        host: url.host_str()?.to_ascii_lowercase(),
        port: url.port_or_known_default()?,
        origin,
    })
}

/// The paths of the token endpoints the manifest's credentials name, which
/// the fake always answers with an access token.
pub(crate) fn token_paths(manifest: &Manifest) -> Vec<String> {
    manifest
        .credentials
        .iter()
        .filter_map(|c| c.auth.as_ref()?.scheme.token_url())
        .filter_map(|url| {
            if url.starts_with('/') {
                Some(url.to_owned())
            } else {
                url::Url::parse(url).ok().map(|u| u.path().to_owned())
            }
        })
        .collect()
}

/// Why the fake could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// No local port could be bound.
    #[error("binding a local port: {0}")]
    Bind(std::io::Error),
    /// The CA or the server certificate could not be made.
    #[error("issuing the fake's certificate: {0}")]
    Certificate(String),
    /// The CA certificate could not be written for the egress settings.
    #[error("writing the CA certificate: {0}")]
    WritePem(std::io::Error),
}

/// What the answering service shares with the fake's owner.
struct Shared {
    answer: Mutex<Answer>,
    token_paths: Vec<String>,
}

/// The running fake; its servers stop when it is dropped.
pub(crate) struct FakeRemote {
    shared: Arc<Shared>,
    resolve: BTreeMap<String, SocketAddr>,
    ca_pem: Option<(tempfile::TempDir, PathBuf)>,
    servers: Vec<JoinHandle<()>>,
}

impl FakeRemote {
    /// Starts a TLS server if any mapped origin is `https`, a plain one if
    /// any is `http`, both on `127.0.0.1`, answering [`Answer::Success`]
    /// until told otherwise.
    pub async fn start(origins: &Origins, token_paths: Vec<String>) -> Result<Self, StartError> {
        let shared = Arc::new(Shared {
            answer: Mutex::new(Answer::Success),
            token_paths,
        });
        let mut remote = Self {
            shared,
            resolve: BTreeMap::new(),
            ca_pem: None,
            servers: Vec::new(),
        };
        let https: Vec<&MappedOrigin> = origins
            .mapped
            .iter()
            .filter(|m| m.scheme == Scheme::Https)
            .collect();
        let http: Vec<&MappedOrigin> = origins
            .mapped
            .iter()
            .filter(|m| m.scheme == Scheme::Http)
            .collect();
        if !https.is_empty() {
            let names: Vec<String> = https
                .iter()
                .map(|m| {
                    m.host
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned()
                })
                .collect();
            let (config, ca_pem) = tls_config(&names)?;
            let dir = tempfile::tempdir().map_err(StartError::WritePem)?;
            let path = dir.path().join("sluice-conformance-ca.pem");
            std::fs::write(&path, ca_pem).map_err(StartError::WritePem)?;
            remote.ca_pem = Some((dir, path));
            let addr = remote.serve(Some(TlsAcceptor::from(config))).await?;
            remote.map(&https, addr);
        }
        if !http.is_empty() {
            let addr = remote.serve(None).await?;
            remote.map(&http, addr);
        }
        Ok(remote)
    }

    fn map(&mut self, origins: &[&MappedOrigin], addr: SocketAddr) {
        for origin in origins {
            self.resolve
                .insert(format!("{}:{}", origin.host, origin.port), addr);
        }
    }

    async fn serve(&mut self, tls: Option<TlsAcceptor>) -> Result<SocketAddr, StartError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        let shared = self.shared.clone();
        self.servers
            .push(tokio::spawn(accept_loop(listener, tls, shared)));
        Ok(addr)
    }

    /// Makes the fake answer the connector's next requests with `answer`.
    pub fn answer_with(&self, answer: Answer) {
        *self
            .shared
            .answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = answer;
    }

    /// Egress settings that send every mapped origin to the fake, trust
    /// its CA, and give up on an answer after `timeout_ms`.
    pub fn egress_settings(&self, timeout_ms: u64) -> EgressSettings {
        EgressSettings {
            resolve: self.resolve.clone(),
            ca_certificates: self.ca_pem.iter().map(|(_, path)| path.clone()).collect(),
            connect_timeout_ms: timeout_ms,
            request_timeout_ms: timeout_ms,
            read_timeout_ms: timeout_ms,
            ..EgressSettings::default()
        }
    }
}

impl Drop for FakeRemote {
    fn drop(&mut self) {
        // Each accept loop owns its connections; aborting it closes them,
        // hanging answers included.
        for server in &self.servers {
            server.abort();
        }
    }
}

/// A CA made for this run and a server configuration presenting a
/// certificate it issued for `names`; returns the CA certificate as PEM.
fn tls_config(names: &[String]) -> Result<(Arc<ServerConfig>, String), StartError> {
    let failed = |e: rcgen::Error| StartError::Certificate(e.to_string());
    let mut ca = CertificateParams::new(Vec::new()).map_err(failed)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Sluice conformance kit CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(failed)?).map_err(failed)?;

    let mut leaf = CertificateParams::new(names.to_vec()).map_err(failed)?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(failed)?;
    let certificate = leaf.signed_by(&key, &issuer).map_err(failed)?;

    let chain = vec![certificate.der().clone(), issuer.der().clone()];
    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| StartError::Certificate(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), issuer.pem()))
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, for example: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = shared.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, request).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn answer(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let token_request = request.method() == Method::POST
        && shared
            .token_paths
            .iter()
            .any(|path| path == request.uri().path());
    // The whole body is read first, as a real server does, so that the
    // connector's write completes before the answer (or the silence).
    let _ = request.into_body().collect().await;
    if token_request {
        return json(StatusCode::OK, TOKEN_BODY);
    }
    let answer = *shared.answer.lock().unwrap_or_else(PoisonError::into_inner);
    match answer {
        Answer::Success => json(StatusCode::OK, SUCCESS_BODY),
        Answer::ServerError => json(
            status(SERVER_ERROR_STATUS),
            r#"{"ok":false,"error":"internal_error","message":"the conformance kit's fake remote failed on purpose"}"#,
        ),
        Answer::RateLimited => {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"ok":false,"error":"rate_limited","message":"the conformance kit's fake remote is rate limiting on purpose"}"#,
            );
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
            response
        }
        Answer::ClientError => json(
            status(CLIENT_ERROR_STATUS),
            r#"{"ok":false,"error":"invalid_request","message":"the conformance kit's fake remote refused this request on purpose"}"#,
        ),
        Answer::Hang => std::future::pending().await,
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).expect("the fake's statuses are valid")
}

fn json(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
