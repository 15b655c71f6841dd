//! The egress client against local servers: TLS through an operator mapping,
//! refusals before any connection, caps and timeouts.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice_egress::{
    AllowList, CallScope, Egress, EgressError, EgressSettings, Refusal, Resolve, StaticResolver,
    SystemResolver, TimeoutPhase,
};
use tokio::net::TcpListener;

/// What a test server answers.
#[derive(Clone, Copy)]
enum Answer {
    /// 200 with this many bytes.
    Bytes(usize),
    /// Accept the connection and never answer.
    Never,
    /// Read the whole request body, then answer 200 with its length.
    CountBody,
}

struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

async fn serve(answer: Answer, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| async move {
                    match answer {
                        Answer::Bytes(n) => Ok::<_, std::convert::Infallible>(
                            hyper::Response::new(Full::new(Bytes::from(vec![b'x'; n]))),
                        ),
                        Answer::Never => std::future::pending().await,
                        Answer::CountBody => {
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            Ok(hyper::Response::new(Full::new(Bytes::from(
                                body.len().to_string(),
                            ))))
                        }
                    }
                });
                let builder = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(config) => {
                        let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await
                        else {
                            return;
                        };
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
        }
    });
    Server { addr, accepted }
}

struct Pki {
    _dir: tempfile::TempDir,
    ca_file: std::path::PathBuf,
    server: Arc<rustls::ServerConfig>,
}

fn pki(name: &str) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    Pki {
        _dir: dir,
        ca_file,
        server: Arc::new(server),
    }
}

fn settings() -> EgressSettings {
    EgressSettings {
        connect_timeout_ms: 500,
        request_timeout_ms: 500,
        read_timeout_ms: 500,
        ..EgressSettings::default()
    }
}

fn egress(settings: EgressSettings) -> Egress {
    Egress::new(settings, Arc::new(SystemResolver)).unwrap()
}

fn get(url: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(url).body(Empty::new()).unwrap()
}

#[tokio::test]
async fn mapped_host_is_reached_over_tls_verified_against_the_real_name() {
    let pki = pki("api.example.test");
    let server = serve(Answer::Bytes(5), Some(pki.server.clone())).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test:443".to_owned(), server.addr)]),
        ca_certificates: vec![pki.ca_file.clone()],
        ..settings()
    });
    let scope = egress.call_scope(
        Some(AllowList::parse(&["https://api.example.test"]).unwrap()),
        None,
    );

    let response = egress
        .send(get("https://api.example.test/v1/items?secret=1"), &scope)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.as_ref(), b"xxxxx");

    let log = scope.log().snapshot();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].origin, "https://api.example.test:443");
    assert_eq!(
        log[0].path, "/v1/items",
        "the query may carry secrets and is not logged"
    );
    assert_eq!(log[0].status, Some(200));
    assert_eq!(
        log[0].address.as_deref(),
        Some(server.addr.to_string().as_str())
    );
    assert_eq!(log[0].response_bytes, 5);
}

#[tokio::test]
async fn connections_are_kept_alive_and_reused() {
    let pki = pki("api.example.test");
    let server = serve(Answer::Bytes(1), Some(pki.server.clone())).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test".to_owned(), server.addr)]),
        ca_certificates: vec![pki.ca_file.clone()],
        ..settings()
    });
    for _ in 0..3 {
        let scope = egress.call_scope(None, None);
        let response = egress
            .send(get("https://api.example.test/"), &scope)
            .await
            .unwrap();
        response.into_body().collect().await.unwrap();
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_untrusted_or_misnamed_certificate_fails_tls() {
    let pki = pki("other.example.test");
    let server = serve(Answer::Bytes(1), Some(pki.server.clone())).await;
    // Trusted CA, but the certificate is for another name.
    let misnamed = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test:443".to_owned(), server.addr)]),
        ca_certificates: vec![pki.ca_file.clone()],
        ..settings()
    });
    let error = misnamed
        .send(
            get("https://api.example.test/"),
            &misnamed.call_scope(None, None),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, EgressError::Tls(_)), "{error:?}");

    // Right name, CA not trusted.
    let untrusted = egress(EgressSettings {
        resolve: BTreeMap::from([("other.example.test:443".to_owned(), server.addr)]),
        ..settings()
    });
    let scope = untrusted.call_scope(None, None);
    let error = untrusted
        .send(get("https://other.example.test/"), &scope)
        .await
        .unwrap_err();
    assert!(matches!(error, EgressError::Tls(_)), "{error:?}");
    assert!(scope.log().snapshot()[0].error.is_some());
}

#[tokio::test]
async fn origins_outside_the_allow_list_are_refused_before_connecting() {
    let server = serve(Answer::Bytes(1), None).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("evil.example.test".to_owned(), server.addr)]),
        ..settings()
    });
    let scope = egress.call_scope(
        Some(AllowList::parse(&["https://api.example.test"]).unwrap()),
        None,
    );
    let error = egress
        .send(get("http://evil.example.test/"), &scope)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        EgressError::Refused(Refusal::OriginNotAllowed {
            origin: "http://evil.example.test:80".into()
        })
    );
    assert_eq!(server.accepted.load(Ordering::SeqCst), 0);
    assert!(
        scope.log().snapshot()[0]
            .refused
            .as_deref()
            .unwrap()
            .contains("not in the connector's allowed origins")
    );
}

async fn refusal(egress: &Egress, url: &str) -> Refusal {
    match egress.send(get(url), &egress.call_scope(None, None)).await {
        Err(EgressError::Refused(refusal)) => refusal,
        other => panic!("{url}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn forbidden_addresses_are_refused_whether_literal_or_resolved() {
    let server = serve(Answer::Bytes(1), None).await;
    let port = server.addr.port();
    let resolver = StaticResolver::default()
        .with(
            "internal.example.test",
            &["10.0.0.5".parse::<IpAddr>().unwrap()],
        )
        .with(
            "loop.example.test",
            &["127.0.0.1".parse::<IpAddr>().unwrap()],
        )
        .with(
            "mixed.example.test",
            &[
                "93.184.216.34".parse::<IpAddr>().unwrap(),
                "192.168.1.1".parse().unwrap(),
            ],
        );
    let egress = Egress::new(settings(), Arc::new(resolver)).unwrap();
    for (url, range) in [
        (format!("http://127.0.0.1:{port}/"), "loopback"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "cloud metadata",
        ),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), "loopback"),
        (format!("http://[::1]:{port}/"), "loopback"),
        (format!("http://internal.example.test:{port}/"), "private"),
        (format!("http://loop.example.test:{port}/"), "loopback"),
        ("http://mixed.example.test/".to_owned(), "private"),
    ] {
        match refusal(&egress, &url).await {
            Refusal::ForbiddenAddress { range: found, .. } => assert_eq!(found, range, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(matches!(
        refusal(&egress, "http://0177.0.0.1/").await,
        Refusal::InvalidHost(_)
    ));
    assert!(matches!(
        refusal(&egress, "ftp://example.test/").await,
        Refusal::SchemeNotAllowed(_)
    ));
    assert_eq!(
        server.accepted.load(Ordering::SeqCst),
        0,
        "nothing may connect"
    );
}

#[tokio::test]
async fn the_system_resolver_is_checked_too() {
    let egress = egress(settings());
    assert!(matches!(
        refusal(&egress, "http://localhost:9/").await,
        Refusal::ForbiddenAddress {
            range: "loopback",
            ..
        }
    ));
}

#[tokio::test]
async fn an_operator_cidr_allows_a_private_range() {
    let server = serve(Answer::Bytes(2), None).await;
    let egress = egress(EgressSettings {
        allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        ..settings()
    });
    let url = format!("http://127.0.0.1:{}/", server.addr.port());
    let response = egress
        .send(get(&url), &egress.call_scope(None, None))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_request_cap_refuses_requests_beyond_it() {
    let server = serve(Answer::Bytes(1), None).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test".to_owned(), server.addr)]),
        max_requests_per_call: 5,
        ..settings()
    });
    // The call asks for fewer than the operator allows.
    let scope = egress.call_scope(None, Some(2));
    for _ in 0..2 {
        egress
            .send(get("http://api.example.test/"), &scope)
            .await
            .unwrap();
    }
    let error = egress
        .send(get("http://api.example.test/"), &scope)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        EgressError::Refused(Refusal::TooManyRequests { limit: 2 })
    );
    // And never more than the operator allows.
    let scope = egress.call_scope(None, Some(100));
    for _ in 0..5 {
        egress
            .send(get("http://api.example.test/"), &scope)
            .await
            .unwrap();
    }
    assert!(
        egress
            .send(get("http://api.example.test/"), &scope)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_body_over_the_cap_fails_while_reading_and_is_logged() {
    let server = serve(Answer::Bytes(64 * 1024), None).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test".to_owned(), server.addr)]),
        max_response_bytes: 1_000,
        ..settings()
    });
    let scope = egress.call_scope(None, None);
    let response = egress
        .send(get("http://api.example.test/"), &scope)
        .await
        .unwrap();
    let error = response.into_body().collect().await.unwrap_err();
    assert_eq!(
        EgressError::from(error),
        EgressError::ResponseTooLarge { limit: 1_000 }
    );
    let record = &scope.log().snapshot()[0];
    assert!(record.response_bytes > 1_000);
    assert!(
        record
            .error
            .as_deref()
            .unwrap()
            .contains("larger than 1000 bytes")
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = serve(Answer::Never, None).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test".to_owned(), server.addr)]),
        request_timeout_ms: 100,
        ..settings()
    });
    let error = egress
        .send(
            get("http://api.example.test/"),
            &egress.call_scope(None, None),
        )
        .await
        .unwrap_err();
    assert_eq!(error, EgressError::Timeout(TimeoutPhase::Response));
}

#[tokio::test]
async fn an_unresolvable_name_is_a_dns_failure() {
    let egress = Egress::new(
        settings(),
        Arc::new(StaticResolver::default()) as Arc<dyn Resolve>,
    )
    .unwrap();
    let error = egress
        .send(
            get("https://nowhere.example.test/"),
            &egress.call_scope(None, None),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, EgressError::DnsFailure(_)), "{error:?}");
}

#[test]
fn a_missing_ca_file_is_named() {
    let error = Egress::new(
        EgressSettings {
            ca_certificates: vec!["/nonexistent/ca.pem".into()],
            ..EgressSettings::default()
        },
        Arc::new(SystemResolver),
    )
    .err()
    .unwrap();
    assert!(
        error
            .to_string()
            .starts_with("egress.ca_certificates: /nonexistent/ca.pem"),
        "{error}"
    );
}

/// GETs `url` from a server that never answers, in a task; returns once the
/// server has accepted the connection, with the call's scope and the task.
async fn send_unanswered(url: &'static str) -> (CallScope, tokio::task::JoinHandle<()>) {
    let server = serve(Answer::Never, None).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test".to_owned(), server.addr)]),
        request_timeout_ms: 60_000,
        ..settings()
    });
    let scope = egress.call_scope(None, None);
    let sending = tokio::spawn({
        let scope = scope.clone();
        async move {
            let _ = egress.send(get(url), &scope).await;
        }
    });
    while server.accepted.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    (scope, sending)
}

#[tokio::test]
async fn a_request_still_in_flight_when_the_call_ends_is_recorded_as_unanswered() {
    let (scope, sending) = send_unanswered("http://api.example.test/v1/orders").await;

    let in_flight = scope.log().snapshot();
    assert_eq!(in_flight.len(), 1, "recorded as soon as it was sent");
    assert!(
        in_flight[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("no answer yet: in flight for"),
        "{in_flight:?}"
    );

    // The call ends (returned, trapped or timed out) with the request out.
    let closed = scope.log().close();
    sending.abort();
    let _ = sending.await;
    assert_eq!(closed.len(), 1);
    let record = &closed[0];
    assert_eq!(
        (record.method.as_str(), record.path.as_str()),
        ("GET", "/v1/orders")
    );
    assert_eq!(record.status, None);
    assert_eq!(
        record.error.as_deref(),
        Some("no answer: the call ended while the request was in flight")
    );
    assert_eq!(
        scope.log().snapshot(),
        closed,
        "the aborted send changes nothing"
    );
}

#[tokio::test]
async fn a_request_its_sender_stops_waiting_for_is_recorded_as_dropped() {
    let (scope, sending) = send_unanswered("http://api.example.test/").await;
    sending.abort();
    let _ = sending.await;
    let record = &scope.log().snapshot()[0];
    assert_eq!(
        record.error.as_deref(),
        Some("no answer: the request was dropped before its answer arrived")
    );
}

#[tokio::test]
async fn a_streamed_request_body_is_counted_as_it_is_sent() {
    let server = serve(Answer::CountBody, None).await;
    let egress = egress(EgressSettings {
        resolve: BTreeMap::from([("api.example.test".to_owned(), server.addr)]),
        ..settings()
    });
    let scope = egress.call_scope(None, None);
    // Chunks of unknown total size, as a guest writes its body.
    let chunks = (0..10)
        .map(|_| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![b'x'; 1_000]))));
    let body = StreamBody::new(futures::stream::iter(chunks));
    assert_eq!(body.size_hint().exact(), None);
    let request = http::Request::post("http://api.example.test/")
        .body(body)
        .unwrap();

    let response = egress.send(request, &scope).await.unwrap();
    let echoed = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(echoed.as_ref(), b"10000", "the server received every byte");
    assert_eq!(scope.log().snapshot()[0].request_bytes, 10_000);
}
