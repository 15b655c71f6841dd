//! Host authentication against a local recording server (plain HTTP on
//! loopback, which the egress settings allow here).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use sluice_core::ManualClock;
use sluice_egress::{AllowList, Egress, EgressSettings, StaticResolver};
use sluice_manifest::{AuthScheme, ClientAuth, CredentialAuth, SignatureEncoding, TokenPlacement};
use tokio::net::TcpListener;

use rustls_pki_types::pem::PemObject;

use super::*;

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: http::HeaderMap,
    body: String,
}

/// What the server answers: the token endpoint at `/token`, everything
/// else 200, or 401 while `reject_token` names the token presented.
#[derive(Default)]
struct Script {
    seen: Vec<Seen>,
    issued: u32,
    refuse_grant: bool,
    /// The status the token endpoint fails with, if it does.
    token_unavailable: Option<u16>,
    reject_token: Option<String>,
}

struct Server {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl Server {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = script.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let script = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(
                        move |request: http::Request<hyper::body::Incoming>| {
                            let script = script.clone();
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body.collect().await.unwrap().to_bytes();
                                let seen = Seen {
                                    method: parts.method.to_string(),
                                    uri: parts.uri.to_string(),
                                    headers: parts.headers.clone(),
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                };
                                let mut script = script.lock();
                                script.seen.push(seen);
                                let (status, text) = if parts.uri.path() == "/token" {
                                    if let Some(status) = script.token_unavailable {
                                        (status, r#"{"error":"temporarily_unavailable","error_description":"try later"}"#.to_owned())
                                    } else if script.refuse_grant {
                                        (400, r#"{"error":"invalid_grant","error_description":"revoked"}"#.to_owned())
                                    } else {
                                        script.issued += 1;
                                        (
                                            200,
                                            format!(
                                                r#"{{"access_token":"at-{}","expires_in":3600,"token_type":"bearer"}}"#,
                                                script.issued
                                            ),
                                        )
                                    }
                                } else {
                                    let presented = parts
                                        .headers
                                        .get("authorization")
                                        .and_then(|v| v.to_str().ok())
                                        .unwrap_or_default()
                                        .to_owned();
                                    if script
                                        .reject_token
                                        .as_deref()
                                        .is_some_and(|t| presented.contains(t))
                                    {
                                        (401, "{}".to_owned())
                                    } else {
                                        (200, "{}".to_owned())
                                    }
                                };
                                Ok::<_, std::convert::Infallible>(
                                    http::Response::builder()
                                        .status(status)
                                        .header("retry-after", "30")
                                        .body(Full::new(Bytes::from(text)))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self { addr, script }
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.lock().seen.clone()
    }

    fn exchanges(&self) -> usize {
        self.seen().iter().filter(|s| s.uri == "/token").count()
    }
}

/// Two names for the one server: `api.test` (where credentials are bound)
/// and `other.test` (allowed, not bound).
struct Setup {
    server: Server,
    auth: HostAuth,
    egress: Egress,
    clock: Arc<ManualClock>,
}

async fn setup() -> Setup {
    let server = Server::start().await;
    let mut resolve = BTreeMap::new();
    resolve.insert("api.test".to_owned(), server.addr);
    resolve.insert("other.test".to_owned(), server.addr);
    let settings = EgressSettings {
        resolve,
        allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        ..EgressSettings::default()
    };
    let egress = Egress::new(settings, Arc::new(StaticResolver::default())).unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    Setup {
        auth: HostAuth::new(egress.clone()),
        egress,
        clock,
        server,
    }
}

impl Setup {
    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.server.addr.port())
    }

    fn scope(&self) -> CallScope {
        let allowed = AllowList::parse(&[
            format!("http://api.test:{}", self.server.addr.port()),
            format!("http://other.test:{}", self.server.addr.port()),
        ])
        .unwrap();
        self.egress.call_scope(Some(allowed), None)
    }

    fn credential(&self, scheme: AuthScheme, secret: &str) -> CredentialUse {
        CredentialUse {
            configuration_id: "cfg_1".to_owned(),
            key: "token".to_owned(),
            auth: CredentialAuth {
                origins: vec![format!("http://api.test:{}", self.server.addr.port())],
                scheme,
            },
            secret: secret.to_owned(),
            companions: BTreeMap::from([
                ("client_id".to_owned(), "client-1".to_owned()),
                ("client_secret".to_owned(), "client-secret-1".to_owned()),
            ]),
        }
    }

    fn refresh(&self, client_auth: ClientAuth) -> CredentialUse {
        self.credential(
            AuthScheme::OAuth2RefreshToken {
                token_url: self.url("api.test", "/token"),
                client_id: "client_id".to_owned(),
                client_secret: "client_secret".to_owned(),
                client_auth,
                scopes: vec!["orders".to_owned()],
                apply: TokenPlacement::default(),
                renew_on_status: vec![401],
            },
            "refresh-secret",
        )
    }

    async fn send(
        &self,
        url: &str,
        credential: &CredentialUse,
        scope: &CallScope,
    ) -> Result<http::Response<AuthBody>, AuthError> {
        let request = http::Request::post(url)
            .body(Full::new(Bytes::from_static(b"{\"a\":1}")))
            .unwrap();
        self.auth
            .send(request, credential, scope, &*self.clock)
            .await
    }
}

fn header(seen: &Seen, name: &str) -> String {
    seen.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_bearer_token_is_applied_to_a_bound_origin_and_recorded_by_key() {
    let setup = setup().await;
    let scope = setup.scope();
    let credential = setup.credential(AuthScheme::Bearer, "xoxb-secret");
    let response = setup
        .send(&setup.url("api.test", "/post"), &credential, &scope)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = setup.server.seen();
    assert_eq!(header(&seen[0], "authorization"), "Bearer xoxb-secret");
    let log = scope.log().snapshot();
    assert_eq!(log[0].credential.as_deref(), Some("token"));
    assert!(
        !format!("{log:?}").contains("xoxb-secret"),
        "the log never holds the value"
    );
}

#[tokio::test]
async fn a_credential_sent_to_an_origin_it_is_not_bound_to_is_refused_and_nothing_is_sent() {
    let setup = setup().await;
    let scope = setup.scope();
    let credential = setup.credential(
        AuthScheme::Query {
            name: "api_key".into(),
        },
        "k-secret",
    );
    let error = setup
        .send(&setup.url("other.test", "/collect"), &credential, &scope)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::NotBound { .. }), "{error}");
    assert!(
        setup.server.seen().is_empty(),
        "the server received nothing"
    );
    let log = scope.log().snapshot();
    assert!(
        log[0]
            .refused
            .as_deref()
            .is_some_and(|r| r.contains("not bound")),
        "{log:?}"
    );

    let outside = setup
        .send("http://elsewhere.test/", &credential, &scope)
        .await
        .unwrap_err();
    assert!(matches!(outside, AuthError::Egress(_)), "{outside}");
}

#[tokio::test]
async fn header_query_basic_and_url_schemes_put_the_value_where_the_manifest_says() {
    let setup = setup().await;
    let scope = setup.scope();
    let cases = [
        setup.credential(
            AuthScheme::Header {
                name: "x-api-key".into(),
                prefix: "Key ".into(),
            },
            "h-secret",
        ),
        setup.credential(
            AuthScheme::Query {
                name: "api key".into(),
            },
            "q&secret",
        ),
        setup.credential(
            AuthScheme::Basic {
                username: "client_id".into(),
            },
            "b-secret",
        ),
        setup.credential(
            AuthScheme::Url,
            &setup.url("api.test", "/hooks/T1/B2/secretpath"),
        ),
    ];
    for credential in &cases {
        setup
            .send(&setup.url("api.test", "/start?x=1"), credential, &scope)
            .await
            .unwrap();
    }
    let seen = setup.server.seen();
    assert_eq!(header(&seen[0], "x-api-key"), "Key h-secret");
    assert_eq!(seen[1].uri, "/start?x=1&api%20key=q%26secret");
    assert_eq!(
        header(&seen[2], "authorization"),
        "Basic Y2xpZW50LTE6Yi1zZWNyZXQ="
    );
    assert_eq!(seen[3].uri, "/hooks/T1/B2/secretpath");
    assert!(seen.iter().all(|s| s.body == "{\"a\":1}"));

    // The report keeps no secret: the query is never recorded, and a URL
    // credential's path is named rather than shown.
    let paths: Vec<String> = scope.log().snapshot().into_iter().map(|r| r.path).collect();
    assert_eq!(paths[1], "/start");
    assert_eq!(paths[3], "(the URL of credential token)");
    assert!(paths.iter().all(|p| !p.contains("secret")), "{paths:?}");
}

#[tokio::test]
async fn a_url_credential_pointing_at_another_origin_is_not_used() {
    let setup = setup().await;
    let scope = setup.scope();
    let credential = setup.credential(AuthScheme::Url, &setup.url("other.test", "/hooks/x"));
    let error = setup
        .send(&setup.url("api.test", "/"), &credential, &scope)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::NotBound { .. }), "{error}");
    assert!(setup.server.seen().is_empty());
}

#[tokio::test]
async fn one_token_exchange_serves_many_requests_until_it_is_due_for_renewal() {
    let setup = setup().await;
    let credential = setup.refresh(ClientAuth::Body);
    for _ in 0..5 {
        let scope = setup.scope();
        let response = setup
            .send(&setup.url("api.test", "/orders"), &credential, &scope)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(setup.server.exchanges(), 1);
    let seen = setup.server.seen();
    let grant = seen.iter().find(|s| s.uri == "/token").unwrap();
    assert_eq!(grant.method, "POST");
    assert!(
        grant.body.contains("grant_type=refresh_token"),
        "{}",
        grant.body
    );
    assert!(
        grant.body.contains("client_secret=client-secret-1"),
        "{}",
        grant.body
    );
    assert!(grant.body.contains("scope=orders"), "{}", grant.body);
    assert!(
        seen.iter()
            .filter(|s| s.uri == "/orders")
            .all(|s| header(s, "authorization") == "Bearer at-1")
    );

    setup
        .clock
        .advance(std::time::Duration::from_secs(3_600 - 30));
    setup
        .send(
            &setup.url("api.test", "/orders"),
            &credential,
            &setup.scope(),
        )
        .await
        .unwrap();
    assert_eq!(
        setup.server.exchanges(),
        2,
        "renewed shortly before it expires"
    );
}

#[tokio::test]
async fn basic_client_authentication_goes_in_the_authorization_header() {
    let setup = setup().await;
    let credential = setup.refresh(ClientAuth::Basic);
    setup
        .send(
            &setup.url("api.test", "/orders"),
            &credential,
            &setup.scope(),
        )
        .await
        .unwrap();
    let seen = setup.server.seen();
    let grant = seen.iter().find(|s| s.uri == "/token").unwrap();
    assert_eq!(
        header(grant, "authorization"),
        "Basic Y2xpZW50LTE6Y2xpZW50LXNlY3JldC0x"
    );
    assert!(!grant.body.contains("client_secret"), "{}", grant.body);
}

#[tokio::test]
async fn a_401_to_a_cached_token_renews_it_once_and_sends_the_request_again() {
    let setup = setup().await;
    let credential = setup.refresh(ClientAuth::Body);
    setup
        .send(
            &setup.url("api.test", "/orders"),
            &credential,
            &setup.scope(),
        )
        .await
        .unwrap();
    setup.server.script.lock().reject_token = Some("Bearer at-1".into());
    let scope = setup.scope();
    let response = setup
        .send(&setup.url("api.test", "/orders"), &credential, &scope)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(setup.server.exchanges(), 2);
    let last = setup.server.seen().pop().unwrap();
    assert_eq!(header(&last, "authorization"), "Bearer at-2");
    assert_eq!(last.body, "{\"a\":1}", "the body is sent again");
    let log = scope.log().snapshot();
    assert_eq!(
        log.iter().filter(|r| r.token_exchange).count(),
        1,
        "{log:?}"
    );

    // Still refused with a new token: the component gets that 401, after
    // one renewal only.
    setup.server.script.lock().reject_token = Some("at-".into());
    let response = setup
        .send(
            &setup.url("api.test", "/orders"),
            &credential,
            &setup.scope(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(setup.server.exchanges(), 3);
}

#[tokio::test]
async fn a_token_just_obtained_and_refused_is_not_renewed() {
    let setup = setup().await;
    let credential = setup.refresh(ClientAuth::Body);
    // Refused for another reason than its age (another seller's data): a
    // second token would be refused the same way.
    setup.server.script.lock().reject_token = Some("at-".into());
    let response = setup
        .send(
            &setup.url("api.test", "/orders"),
            &credential,
            &setup.scope(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(setup.server.exchanges(), 1);
    assert_eq!(setup.server.seen().len(), 2, "one exchange, one request");
}

#[tokio::test]
async fn a_failing_or_throttling_token_endpoint_comes_back_as_a_503_with_its_retry_after() {
    for failing in [503, 429] {
        let setup = setup().await;
        setup.server.script.lock().token_unavailable = Some(failing);
        let credential = setup.refresh(ClientAuth::Body);
        let response = setup
            .send(
                &setup.url("api.test", "/orders"),
                &credential,
                &setup.scope(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "token endpoint {failing}");
        assert_eq!(
            response.headers()[AUTH_ERROR_HEADER],
            "token-endpoint-failed"
        );
        assert_eq!(response.headers()["retry-after"], "30");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["token_endpoint"]["status"], failing);
        assert_eq!(answer["token_endpoint"]["error"], "temporarily_unavailable");
        assert_eq!(answer["token_endpoint"]["error_description"], "try later");
    }
}

#[tokio::test]
async fn a_refused_grant_comes_back_as_the_hosts_401_naming_the_error() {
    let setup = setup().await;
    setup.server.script.lock().refuse_grant = true;
    let credential = setup.refresh(ClientAuth::Body);
    let response = setup
        .send(
            &setup.url("api.test", "/orders"),
            &credential,
            &setup.scope(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()[AUTH_ERROR_HEADER], "token-refused");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("refresh-secret"), "{text}");
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["token_endpoint"]["error"], "invalid_grant", "{text}");
    assert_eq!(answer["token_endpoint"]["status"], 400, "{text}");
    assert!(
        setup.server.seen().iter().all(|s| s.uri == "/token"),
        "the request itself was not sent"
    );
}

#[tokio::test]
async fn an_hmac_signature_covers_the_timestamp_and_the_body() {
    let setup = setup().await;
    let credential = setup.credential(
        AuthScheme::Hmac {
            header: "x-signature".into(),
            prefix: "sha256=".into(),
            encoding: SignatureEncoding::Hex,
            timestamp_header: Some("x-timestamp".into()),
        },
        "hmac-key",
    );
    setup
        .send(
            &setup.url("api.test", "/events"),
            &credential,
            &setup.scope(),
        )
        .await
        .unwrap();
    let seen = &setup.server.seen()[0];
    assert_eq!(header(seen, "x-timestamp"), "1000");
    let expected = signature::sign(
        b"hmac-key",
        Some("1000"),
        b"{\"a\":1}",
        SignatureEncoding::Hex,
    );
    assert_eq!(header(seen, "x-signature"), format!("sha256={expected}"));
}

#[test]
fn a_jwt_assertion_is_signed_rs256_by_the_service_account_key() {
    let pem = include_str!("../../../tests/src/fakes/google/keys/test-service-account.pem");
    let key = serde_json::json!({
        "client_email": "feed@project.iam.gserviceaccount.com",
        "private_key": pem,
        "private_key_id": "k1",
    });
    let assertion = jwt::assertion(
        &key.to_string(),
        "https://oauth2.googleapis.com/token",
        &["scope-a".into()],
        1_000,
    )
    .unwrap();
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let claims: serde_json::Value = serde_json::from_slice(&decode(parts[1])).unwrap();
    assert_eq!(claims["iss"], "feed@project.iam.gserviceaccount.com");
    assert_eq!(claims["exp"], 4_600);
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        ring::signature::KeyPair::public_key(&pair)
            .as_ref()
            .to_vec(),
    );
    public
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &decode(parts[2]),
        )
        .expect("the signature verifies with the account's public key");

    let error = jwt::assertion("{\"client_email\":\"x\"}", "https://t", &[], 0).unwrap_err();
    assert!(error.contains("private_key"), "{error}");
}
