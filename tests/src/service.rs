//! The whole service started in-process for end-to-end tests: a fresh
//! database (SQLite file or a PostgreSQL schema), the bundled connectors,
//! a [`ManualClock`] the test moves, egress pointed at the fakes, and an
//! HTTP client holding the admin token.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_core::ManualClock;
use sluice_egress::SystemResolver;
use sluice_secrets::MasterKey;
use sluice_service::{Environment, Service, ServiceConfig};
use sqlx::Connection;

use crate::TestCa;
use crate::guests::bundled_connectors_dir;

/// Where the test PostgreSQL is, unless `SLUICE_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The database a test service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the data directory.
    Sqlite,
    /// A new schema of the test PostgreSQL database, dropped afterwards.
    Postgres,
}

/// How to start a test service.
pub struct Options {
    /// The database.
    pub backend: Backend,
    /// Host names mapped to fakes' addresses.
    pub resolve: BTreeMap<String, SocketAddr>,
    /// A CA to trust (the fakes' test CA).
    pub ca: Option<Arc<TestCa>>,
    /// Let webhooks and connectors reach loopback (the local sink).
    pub allow_loopback: bool,
    /// Test guests to install beside the bundled connectors, by folder
    /// under `guests/`, for example `test-guests/well-behaved`.
    pub extra_connectors: Vec<&'static str>,
    /// Changes to the configuration before start.
    pub configure: Box<dyn FnOnce(&mut ServiceConfig) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            resolve: BTreeMap::new(),
            ca: None,
            allow_loopback: true,
            extra_connectors: Vec::new(),
            configure: Box::new(|_| {}),
        }
    }
}

/// A running service and a client for it.
pub struct TestService {
    /// The service.
    pub service: Option<Service>,
    /// The clock every "now" of the service reads.
    pub clock: Arc<ManualClock>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The admin token.
    pub token: String,
    client: reqwest::Client,
    config: ServiceConfig,
    master_key: String,
    // Its PEM file must outlive restarts.
    _ca: Option<Arc<TestCa>>,
    postgres_schema: Option<String>,
    _data_dir: tempfile::TempDir,
}

/// An API answer.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// Every header.
    pub headers: reqwest::header::HeaderMap,
}

impl TestService {
    /// Starts a service with `options`.
    pub async fn start(options: Options) -> Self {
        let data_dir = tempfile::tempdir().expect("a data directory");
        let connectors_dir = if options.extra_connectors.is_empty() {
            bundled_connectors_dir()
        } else {
            connectors_with(data_dir.path(), &options.extra_connectors)
        };
        let mut config = ServiceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.path().join("data"),
            connectors_dir: Some(connectors_dir),
            ..ServiceConfig::default()
        };
        config.egress.resolve = options.resolve;
        if let Some(ca) = &options.ca {
            config.egress.ca_certificates = vec![ca.pem_path().to_owned()];
        }
        if options.allow_loopback {
            config.egress.allow_cidrs = vec!["127.0.0.0/8".parse().expect("a CIDR")];
        }
        config.retention.interval_minutes = 0;
        // Compiled components are keyed by digest and engine settings, and
        // written atomically: every test service can share them.
        config.runtime.cache_dir = Some(std::env::temp_dir().join("sluice-tests-compiled"));
        let mut postgres_schema = None;
        if options.backend == Backend::Postgres {
            let (url, schema) = new_postgres_schema().await;
            config.database_url = Some(url.clone());
            postgres_schema = Some(schema);
        }
        (options.configure)(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let token = format!("test-admin-{}", sluice_core::new_id("tok"));
        let master_key = MasterKey::generate().to_base64().expose().to_owned();
        let service = launch(&config, &clock, &master_key, &token).await;
        Self {
            base: format!("http://{}", service.addr),
            service: Some(service),
            clock,
            token,
            client: http_client(),
            config,
            master_key,
            _ca: options.ca,
            postgres_schema,
            _data_dir: data_dir,
        }
    }

    /// Stops the service gracefully and starts it again on the same
    /// database, data directory and clock.
    pub async fn restart(&mut self) {
        if let Some(service) = self.service.take() {
            service.shutdown().await;
        }
        let service = launch(&self.config, &self.clock, &self.master_key, &self.token).await;
        self.base = format!("http://{}", service.addr);
        self.service = Some(service);
    }

    /// Like [`restart`](Self::restart), with an empty compiled-artifact
    /// cache of its own and without waiting for the connectors: they
    /// compile again while the service already answers.
    pub async fn restart_with_connectors_loading(&mut self) {
        if let Some(service) = self.service.take() {
            service.shutdown().await;
        }
        let cache = self._data_dir.path().join(sluice_core::new_id("compiled"));
        self.config.runtime.cache_dir = Some(cache);
        let service = start_service(&self.config, &self.clock, &self.master_key, &self.token).await;
        self.base = format!("http://{}", service.addr);
        self.service = Some(service);
    }

    /// Starts a second node on the same database (and master key, admin
    /// token and clock), with a data directory of its own: what a cluster
    /// on PostgreSQL looks like. Stopping it leaves the database to `self`.
    pub async fn another_node(&self) -> TestService {
        let data_dir = tempfile::tempdir().expect("a data directory");
        let config = ServiceConfig {
            data_dir: data_dir.path().join("data"),
            ..self.config.clone()
        };
        let service = launch(&config, &self.clock, &self.master_key, &self.token).await;
        Self {
            base: format!("http://{}", service.addr),
            service: Some(service),
            clock: self.clock.clone(),
            token: self.token.clone(),
            client: http_client(),
            config,
            master_key: self.master_key.clone(),
            _ca: self._ca.clone(),
            postgres_schema: None,
            _data_dir: data_dir,
        }
    }

    /// Sends `method path` with the admin token and raw `bytes` as
    /// `application/octet-stream`, such as a connector package.
    pub async fn upload(&self, path: &str, bytes: Vec<u8>) -> Answer {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .expect("the API answers");
        Answer::read(response).await
    }

    /// Starts a service on `backend` with defaults otherwise.
    pub async fn on(backend: Backend) -> Self {
        Self::start(Options {
            backend,
            ..Options::default()
        })
        .await
    }

    /// Sends `method path` with the admin token and an optional JSON body.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        Answer::read(response).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST path` with `body`.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `PATCH path` with `body`.
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// A client without the admin token.
    pub fn anonymous(&self) -> &reqwest::Client {
        &self.client
    }

    /// Creates a webhook subscription and returns (id, secret).
    pub async fn subscribe(
        &self,
        store: &str,
        url: &str,
        event_types: &[&str],
    ) -> (String, String) {
        let answer = self
            .post(
                &format!("/v1/stores/{store}/webhooks"),
                serde_json::json!({ "name": "test", "url": url, "event_types": event_types }),
            )
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        (
            answer.body["id"].as_str().expect("an id").to_owned(),
            answer.body["secret"].as_str().expect("a secret").to_owned(),
        )
    }

    /// Sends events (an array) and asserts they were accepted.
    pub async fn send_events(&self, events: Value) -> Value {
        let answer = self.post("/v1/events", events).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
        answer.body
    }

    /// The deliveries of `store` matching the `query` string (`status=dead&...`).
    pub async fn deliveries(&self, store: &str, query: &str) -> Vec<Value> {
        let answer = self
            .get(&format!("/v1/stores/{store}/deliveries?limit=500&{query}"))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits (in real time, at most 20 s) until `store` has `count`
    /// deliveries matching `query`; the workers run on their own.
    pub async fn wait_for_deliveries(&self, store: &str, query: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.deliveries(store, query).await;
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} deliveries of {store} with {query}, found {}: {found:#?}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (in real time, at most 30 s) until the sync log of
    /// configuration `config` of `store` holds `count` runs; newest first.
    pub async fn wait_for_sync_runs(&self, store: &str, config: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self
                .get(&format!("/v1/stores/{store}/connectors/{config}/sync-runs"))
                .await;
            assert_eq!(log.status, 200, "{:?}", log.body);
            let runs = log.body["items"].as_array().cloned().unwrap_or_default();
            if runs.len() >= count {
                return runs;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} sync runs of {config}, found {}: {runs:#?}",
                runs.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One delivery with its attempts.
    pub async fn delivery(&self, store: &str, id: &str) -> Value {
        let answer = self
            .get(&format!("/v1/stores/{store}/deliveries/{id}"))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Stops the service and drops its PostgreSQL schema.
    pub async fn stop(mut self) {
        if let Some(service) = self.service.take() {
            service.shutdown().await;
        }
        if let Some(schema) = self.postgres_schema.take() {
            drop_postgres_schema(&schema).await;
        }
    }
}

impl Answer {
    /// Reads a response.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        Self {
            status,
            content_type,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}

/// Starts the service and waits until its connectors are loaded, as the
/// tests that use them right away need.
async fn launch(
    config: &ServiceConfig,
    clock: &Arc<ManualClock>,
    master_key: &str,
    token: &str,
) -> Service {
    let service = start_service(config, clock, master_key, token).await;
    service.connectors_loaded().await;
    service
}

/// Starts the service; its connectors may still be loading.
async fn start_service(
    config: &ServiceConfig,
    clock: &Arc<ManualClock>,
    master_key: &str,
    token: &str,
) -> Service {
    Service::start(
        config.clone(),
        Environment {
            clock: clock.clone(),
            resolver: Arc::new(SystemResolver),
            master_key: Some(master_key.to_owned()),
            admin_token: Some(token.to_owned()),
        },
    )
    .await
    .expect("the service starts")
}

/// A connectors directory holding the bundled connectors and `guests`
/// (folders under `guests/`), each as `connector.toml` + `connector.wasm`.
fn connectors_with(dir: &std::path::Path, guests: &[&str]) -> std::path::PathBuf {
    let connectors = dir.join("connectors");
    for entry in std::fs::read_dir(bundled_connectors_dir()).expect("bundled connectors") {
        let entry = entry.expect("a bundled connector");
        let target = connectors.join(entry.file_name());
        std::fs::create_dir_all(&target).expect("a connector folder");
        for file in ["connector.toml", "connector.wasm"] {
            std::fs::copy(entry.path().join(file), target.join(file)).expect("copy a connector");
        }
    }
    for folder in guests {
        let (manifest, wasm) = crate::guests::guest(folder);
        let target = connectors.join(&manifest.id);
        std::fs::create_dir_all(&target).expect("a connector folder");
        let source = crate::guests::guests_dir()
            .join(folder)
            .join("connector.toml");
        std::fs::copy(source, target.join("connector.toml")).expect("copy a manifest");
        std::fs::write(target.join("connector.wasm"), wasm).expect("write a component");
    }
    connectors
}

/// A plain HTTP client; reqwest needs a TLS provider chosen even for http.
fn http_client() -> reqwest::Client {
    // Installing twice fails harmlessly: another test installed the same one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn base_postgres_url() -> String {
    std::env::var("SLUICE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
}

/// Drops a schema [`new_postgres_schema`] created, with everything in it.
pub async fn drop_postgres_schema(schema: &str) {
    let mut admin = sqlx::AnyConnection::connect(&base_postgres_url())
        .await
        .expect("PostgreSQL");
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop the test schema");
}

/// Creates a schema for one test in the test PostgreSQL database; returns
/// a URL whose search path is it, and its name.
pub async fn new_postgres_schema() -> (String, String) {
    sqlx::any::install_default_drivers();
    let base = base_postgres_url();
    let mut admin =
        match tokio::time::timeout(Duration::from_secs(10), sqlx::AnyConnection::connect(&base))
            .await
        {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => panic!("PostgreSQL is unreachable at {base}: {error}"),
            Err(_) => panic!("PostgreSQL at {base} did not answer within 10 s"),
        };
    let schema = sluice_core::new_id("e2e").to_lowercase();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create a test schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    (
        format!("{base}{separator}options=-csearch_path%3D{schema}"),
        schema,
    )
}
